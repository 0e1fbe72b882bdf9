"""中文 readout prose (group b): training, evaluation, explain, case_study, fusion and privacy widgets.

Every registered widget whose builder lives in one of these modules is built in Chinese; its default frame and one
other value of each non-button control are drawn, and the readout (tables removed: their headers and row names are
checked in ``tests/test_i18n.py``, their cells are data) and the warning must hold no run of three or more English
words, except notation and identifiers in :data:`ALLOWED`. English output stays exactly what it was.
"""
from __future__ import annotations

import html
import re

import pytest

pytest.importorskip("ipywidgets")

import medlab  # noqa: E402
from medlab import i18n  # noqa: E402
from medlab.widgets import WIDGETS  # noqa: E402
from medlab.widgets._explorer import REGISTRY, Button, spec_values  # noqa: E402

MODULES = {"training", "evaluation", "explain", "case_study", "fusion", "privacy"}
NAMES = sorted(n for n in WIDGETS if REGISTRY[n][2].rsplit(".", 1)[-1] in MODULES)

#: words that stay English in 中文: method names and notation (kept as they are in the article too)
ALLOWED = {"AUC", "PPV", "NPV", "MCC", "ECE", "DeLong", "Wilson", "Bootstrap", "Platt", "UID", "UIDs", "HU",
           "sgd", "momentum", "adam", "rmsprop", "label", "logit", "sigmoid", "x"}   # x: times, in formulas
RUN = re.compile(r"[A-Za-z]+(?:[ ,;:'-]+[A-Za-z]+){2,}")


def english_runs(readout: str) -> list[str]:
    """Runs of >= 3 English words left in a readout's prose (tables and tags removed, allowed words dropped).

    >>> english_runs("<b>阳性类别：肺炎</b> AUC DeLong Wilson <table><tr><td>not counted here</td></tr></table>")
    []
    >>> english_runs("At prevalence 62.5%: of those called positive")
    ['of those called positive']
    """
    text = re.sub(r"<table.*?</table>", " ", readout, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"[A-Za-z]+", lambda m: " # " if m.group(0) in ALLOWED else m.group(0), text)
    return RUN.findall(text)


def test_the_group_has_its_widgets():
    assert len(NAMES) >= 20, NAMES
    assert {"threshold_lab", "prevalence_explorer", "dp_explorer", "date_shift_explorer"} <= set(NAMES)


def test_english_runs_finds_prose():
    assert english_runs("intervals preserved now") == ["intervals preserved now"]
    assert english_runs("AUC 0.9, PPV 0.5; DeLong") == []


def _other(spec, current):
    """The last value of the sweep that differs from the current one (extremes and last options reach the
    branches with a warning: divergence, an empty outcome, a leaking feature group)."""
    others = [v for v in spec_values(spec) if v != current]
    return others[-1] if others else None


@pytest.mark.parametrize("name", NAMES)
def test_readout_prose_is_chinese(zh, name):
    ex = WIDGETS[name]()
    seen = {"default": (ex.readout.value, ex.message)}
    defaults = dict(ex.values)
    for cname, spec in ex.specs.items():
        if isinstance(spec, Button):
            continue
        v = _other(spec, defaults.get(cname))
        if v is None:
            continue
        ex.set(**defaults)
        ex.controls[cname].value = v
        seen[f"{cname}={v!r}"] = (ex.readout.value, ex.message if ex.last_exception is None else "")
    gaps = {k: runs for k, (readout, warning) in seen.items()
            if (runs := english_runs(readout) + english_runs(warning))}
    assert not gaps, f"{name}: English prose left in 中文: {gaps}"


def test_english_readouts_are_unchanged():
    assert i18n.get_language() == "en"
    ex = WIDGETS["prevalence_explorer"]()
    assert ex.readout.value == ("At prevalence 62.5%: of those called positive, 81.8% are ill (PPV = 456 / "
                                "(456 + 101)); of those called negative, 61.9% are healthy (NPV). Sensitivity and "
                                "specificity did not change.")
    ex = WIDGETS["date_shift_explorer"]()
    assert ex.readout.value == "<code>intervals preserved</code>"
    ex.controls["naive"].value = True
    assert ex.readout.value == "<code>intervals changed: follow-up times are now wrong</code>"
    ex = WIDGETS["dp_explorer"]()
    assert ex.readout.value == ("<code>clip C = 1, noise multiplier σ = 1: ε = 4.7 at δ = 1e-05 (16 steps, sampling "
                                "rate 0.125). Nearest precomputed run: C = 1, σ = 1 → AUC 0.539.</code>")


def test_chinese_readouts_keep_the_numbers(zh):
    ex = WIDGETS["prevalence_explorer"]()
    assert ex.readout.value.startswith("患病率为 62.5% 时") and "PPV = 456 / (456 + 101)" in ex.readout.value
    assert WIDGETS["date_shift_explorer"]().readout.value == "<code>就诊间隔保持不变</code>"


def test_sentence_cells_of_the_findings_card_are_chinese(zh):
    """Table cells are data, but a cell that is a sentence (the card's position) is translated too."""
    readout = WIDGETS["findings_card_viewer"]().readout.value
    assert "三分之一（按 z 近似）" in readout and "third of the lung" not in readout
