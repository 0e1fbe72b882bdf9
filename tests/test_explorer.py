"""The declarative widget layer itself: one observer, one catch-all, limits, batching, presets, state."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from medlab.widgets._explorer import (Button, Check, Choice, Float, Frame, Int, esc, explorer, html_table,  # noqa: E402
                                      result, spec_values)

PNG = b"\x89PNG\r\n\x1a\n"


def _img(v: int) -> np.ndarray:
    return np.full((4, 4), v, np.uint8)


def test_frame_called_once_per_change_and_png_returned():
    calls = []

    def frame(a: int, on: bool) -> Frame:
        calls.append((a, on))
        return Frame(image=_img(a), readout=f"a={a}")

    ex = explorer(frame, {"a": Int("A", 0, 10, value=3), "on": Check("On")})
    assert calls == [(3, False)]
    ex.controls["a"].value = 5
    assert calls[-1] == (5, False) and len(calls) == 2
    assert ex.render().startswith(PNG) and ex.readout.value == "a=5"
    assert ex.values == {"a": 5, "on": False}


def test_unexpected_exception_becomes_warning_and_keeps_last_image():
    def frame(a: int) -> Frame:
        if a > 5:
            raise ValueError("a too large")
        return Frame(image=_img(a * 10))

    ex = explorer(frame, {"a": Int("A", 0, 10, value=1)})
    good = ex.png
    ex.controls["a"].value = 8
    assert ex.message == "ValueError: a too large" and isinstance(ex.last_exception, ValueError)
    assert ex.png == good and ex.panes["main"].value == good
    ex.controls["a"].value = 2
    assert ex.message == "" and ex.last_exception is None and ex.png != good


def test_frame_warning_is_plain_text_escaped():
    ex = explorer(lambda a: Frame(warning="<b>x</b> & y" if a else ""), {"a": Int("A", 0, 1)})
    assert ex.png.startswith(PNG)  # placeholder until a first image exists
    ex.controls["a"].value = 1
    assert ex.message == "<b>x</b> & y"
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in ex.warning_html.value


def test_dependent_limits_from_frame_clamp_and_rerender_once():
    seen = []

    def frame(n: int, step: int) -> Frame:
        seen.append((n, step))
        return Frame(image=_img(step), limits={"step": {"max": n - 1}})

    ex = explorer(frame, {"n": Int("N", 1, 20, value=20), "step": Int("Step", 0, 19, value=0)})
    ex.controls["step"].value = 15
    seen.clear()
    ex.controls["n"].value = 5  # step 15 is clamped to 4, drawn once more
    assert ex.controls["step"].value == 4 and ex.controls["step"].max == 4
    assert seen == [(5, 15), (5, 4)]


def test_limits_function_applies_before_frame():
    seen = []

    def frame(n: int, step: int) -> Frame:
        assert step <= n - 1
        seen.append((n, step))
        return Frame(image=_img(step))

    ex = explorer(frame, {"n": Int("N", 1, 20, value=20), "step": Int("Step", 0, 19, value=15)},
                  limits=lambda n, **_: {"step": {"max": n - 1}})
    seen.clear()
    ex.controls["n"].value = 5
    assert seen == [(5, 4)] and ex.last_exception is None


def test_preset_batches_and_is_released():
    calls = []
    presets = {"lung": (1500.0, -600.0), "bone": (1800.0, 400.0)}

    def frame(window: float, level: float, preset=None) -> Frame:
        calls.append((window, level))
        return Frame(image=_img(int(window) % 256))

    ex = explorer(frame, {"window": Float("W", 1, 4000, value=400), "level": Float("L", -1000, 1000, value=0),
                          "preset": Choice("Preset", list(presets), value=None, style="toggle",
                                           sets=lambda k: dict(zip(("window", "level"), presets[k])),
                                           release=True)})
    calls.clear()
    ex.controls["preset"].value = "bone"
    assert calls == [(1800.0, 400.0)]  # one render with both values, no mixed state
    ex.controls["window"].value = 1000
    assert ex.controls["preset"].value is None  # released: clicking "bone" again re-applies it
    ex.controls["preset"].value = "bone"
    assert ex.values["window"] == 1800.0


def test_set_is_one_render_and_requested_values_survive_old_limits():
    calls = []

    def frame(view: str, slice: int) -> Frame:
        calls.append((view, slice))
        return Frame(image=_img(slice % 256))

    sizes = {"axial": 30, "coronal": 512}
    ex = explorer(frame, {"view": Choice("View", list(sizes), style="toggle"), "slice": Int("Slice", 0, 29)},
                  limits=lambda view, **_: {"slice": {"max": sizes[view] - 1}})
    calls.clear()
    ex.set(view="coronal", slice=300)
    assert calls == [("coronal", 300)]
    with pytest.raises(ValueError, match="unknown control"):
        ex.set(nope=1)


def test_state_and_button_and_panes():
    def frame(state: dict, go: bool, k: int) -> Frame:
        state["n"] = state.get("n", 0) + (1 if go else 0)
        return Frame(image=_img(k), panes={"count": _img(state["n"])}, readout=str(state["n"]))

    ex = explorer(frame, {"go": Button("Go"), "k": Int("K", 0, 3)}, state={})
    assert ex.state["explorer"] is ex
    ex.click("go")
    ex.controls["go"].click()
    assert ex.state["n"] == 2 and set(ex.panes) == {"main", "count"}
    with pytest.raises(ValueError, match="not a button"):
        ex.click("k")


def test_frame_must_return_frame_and_controls_are_checked():
    ex = explorer(lambda a: 42, {"a": Int("A", 0, 1)})
    assert "must return a Frame" in ex.message
    with pytest.raises(TypeError, match="does not take"):
        explorer(lambda a: Frame(), {"b": Int("B", 0, 1)})
    with pytest.raises(TypeError, match="must be Int"):
        explorer(lambda a: Frame(), {"a": 3})
    ex = explorer(lambda a: Frame(image=np.zeros((2, 2))), {"a": Int("A", 0, 1)})
    assert "uint8" in ex.message


def test_log_slider_and_spec_values():
    ex = explorer(lambda lr: Frame(image=_img(1)), {"lr": Float("LR", 1e-4, 1, value=1e-2, log=True)})
    assert abs(ex.controls["lr"].value - 1e-2) < 1e-12
    assert spec_values(Float("LR", 1e-4, 1, log=True)) == [1e-4, pytest.approx(1e-2), 1]
    assert spec_values(Choice("c", [("A", 1), ("B", 2)])) == [1, 2]


def test_result_contract_and_html_helpers():
    assert result(x=1) == {"ok": True, "message": "", "warnings": [], "x": 1}
    with pytest.raises(TypeError):
        result(message=None)
    assert esc("<") == "&lt;"
    assert "&lt;x&gt;" in html_table([["<x>", 1]], header=("a", "b"))
