"""The widget contract, for every builder registered in ``medlab.widgets.WIDGETS``.

Build it on embedded data; ``.render()`` returns PNG bytes; ``.controls``, ``.panes``, ``.message``
exist; every control set to its minimum, maximum and middle / every option / both states (buttons:
clicked) raises nothing (the explorer's catch-all must not fire: a bad setting is flagged by the frame
with ``Frame(warning=...)``) and, for at least one of those values, changes a pane or shows a warning;
pairs of controls at their extremes raise nothing.
"""
from __future__ import annotations

import itertools

import pytest

pytest.importorskip("ipywidgets")

from medlab.widgets import WIDGETS  # noqa: E402
from medlab.widgets._explorer import Button, Choice, Explorer, Float, Int, spec_values  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
MAX_PAIRS = 15  # pairwise extremes of the first controls: bounded, so a widget with 10 controls stays quick


def _snapshot(ex: Explorer) -> tuple:
    return tuple(p.value for p in ex.panes.values()), ex.message


def _extremes(spec) -> list:
    if isinstance(spec, (Int, Float)):
        return [spec.min, spec.max]
    vals = spec_values(spec)
    return [vals[0], vals[-1]]


def _check_no_exception(ex: Explorer, what: str) -> None:
    assert ex.last_exception is None, f"{what}: the frame raised {ex.last_exception!r} (flag it with a Frame warning)"


@pytest.fixture(scope="module", params=sorted(WIDGETS))
def built(request):
    return request.param, WIDGETS[request.param]()


def test_registry_is_not_empty():
    assert len(WIDGETS) >= 2


def test_build_and_handle(built):
    name, ex = built
    assert isinstance(ex, Explorer), f"{name} must be built by explorer(), got {type(ex).__name__}"
    png = ex.render()
    assert isinstance(png, bytes) and png.startswith(PNG), f"{name}.render() must return PNG bytes"
    _check_no_exception(ex, f"{name} at build")
    assert ex.message == "", f"{name} shows a warning on its demo data: {ex.message}"
    assert set(ex.controls) == set(ex.specs) and ex.controls
    assert "main" in ex.panes
    assert hasattr(ex, "_repr_mimebundle_")


def test_every_control_value(built):
    name, ex = built
    defaults = dict(ex.values)
    for cname, spec in ex.specs.items():
        if isinstance(spec, Button):
            continue
        ex.set(**defaults)
        before = _snapshot(ex)
        effect = False
        for v in spec_values(spec):
            ex.controls[cname].value = v  # as a learner moves it: through the observer
            _check_no_exception(ex, f"{name}.{cname} = {v!r}")
            after = _snapshot(ex)
            effect |= after[0] != before[0] or bool(ex.message)
        assert effect, f"{name}.{cname}: no value of {spec_values(spec)} changed a pane or showed a warning"
    ex.set(**defaults)


def test_buttons(built):
    name, ex = built
    for cname, spec in ex.specs.items():
        if isinstance(spec, Button):
            before = _snapshot(ex)
            png = ex.click(cname)
            assert png.startswith(PNG)
            _check_no_exception(ex, f"{name}: click {cname}")
            assert _snapshot(ex)[0] != before[0] or ex.message or ex.readout.value, \
                f"{name}: clicking {cname!r} changed nothing"


def test_pairwise_extremes(built):
    name, ex = built
    defaults = dict(ex.values)
    names = [n for n, s in ex.specs.items() if not isinstance(s, Button)]
    for a, b in list(itertools.combinations(names, 2))[:MAX_PAIRS]:
        for va, vb in itertools.product(_extremes(ex.specs[a]), _extremes(ex.specs[b])):
            ex.set(**{a: va, b: vb})
            _check_no_exception(ex, f"{name}: {a}={va!r}, {b}={vb!r}")
        ex.set(**defaults)
    assert ex.render().startswith(PNG)


