"""中文 readout prose (group a: viewer, medical_images, convolution, network, preprocessing, features).

Every registered widget of these modules is built in Chinese (its default frame, then each control moved to one
other value); the readout's prose, tables and tags removed, must hold no run of three English words except the
notation allowed below. English readouts stay byte-identical (a few exact strings).
"""
from __future__ import annotations

import html
import re

import pytest

import medlab

MODULES = {"viewer", "medical_images", "convolution", "network", "preprocessing", "features"}

#: notation and identifiers that may stay English in a 中文 readout (function, layer and file names are matched
#: by ENGLISH_WORD's exclusions: a word with a digit, "_", "." or "(" is not counted)
ALLOWED = ("ROC AUC", "max |conv − corr", "max |ours − tf", "mean |Δ| ")
ENGLISH_WORD = r"(?<![\w.])[A-Za-z]{2,}(?![\w.(\[])"
RUN = re.compile(rf"{ENGLISH_WORD}(?:[\s,;:·]+{ENGLISH_WORD}){{2,}}")


def english_runs(readout: str) -> list[str]:
    """Runs of >= 3 English words in a readout's prose (tables and tags removed).

    >>> english_runs("<b>切片 3</b> ops.conv2d · shown HU range<table><tr><td>a b c d</td></tr></table>")
    ['shown HU range']
    """
    text = re.sub(r"<table.*?</table>", " ", readout or "", flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    for allowed in ALLOWED:
        text = text.replace(allowed, " ")
    return RUN.findall(text)


def _builders():
    from medlab.widgets import WIDGETS, _explorer

    len(WIDGETS)  # loads every widget module
    return sorted((name, WIDGETS[name]) for name, (_, _, module) in _explorer.REGISTRY.items()
                  if module.rsplit(".", 1)[-1] in MODULES)


def _readouts(build):
    """The readout of the default frame, then of each control moved to one other value (and back)."""
    from medlab.widgets._explorer import Button, spec_values

    ex = build()
    yield "default", ex.readout.value
    for key, spec in getattr(ex, "specs", {}).items():
        if isinstance(spec, Button):
            ex.click(key)
            yield f"{key} (clicked)", ex.readout.value
            continue
        start = ex.controls[key].value
        other = next((v for v in spec_values(spec) if v != start), None)
        if other is None:
            continue
        ex.controls[key].value = other
        yield f"{key}={other!r}", ex.readout.value
        ex.controls[key].value = start


def test_the_group_has_its_widgets():
    names = [n for n, _ in _builders()]
    assert len(names) >= 30 and {"slice_viewer", "window_level_explorer", "svm_explorer"} <= set(names), names


def test_the_checker_finds_english_prose():
    assert english_runs("<code>shown HU range [-1350, 150]: 97% of the pixels</code>")
    assert not english_runs("显示的 HU 范围 [-1350, 150] · max |ours − tf.nn.conv2d| = 0 · ROC AUC 0.9 · F1 0.8")


@pytest.mark.parametrize("name", [n for n, _ in _builders()])
def test_readout_prose_is_chinese(zh, name):
    build = dict(_builders())[name]
    gaps = {where: runs for where, value in _readouts(build) if (runs := english_runs(value))}
    assert not gaps, f"{name}: English prose left in the 中文 readout: {gaps}"


def test_english_readouts_are_unchanged():
    from medlab.widgets import WIDGETS

    medlab.set_language("en")
    wl = WIDGETS["window_level_explorer"]()
    assert wl.readout.value == ("<code>shown HU range [-1350, 150]: 97% of the pixels get a grey level between "
                                "black and white; 0.17 grey steps per HU</code>")
    sv = WIDGETS["slice_viewer"]()
    assert sv.readout.value == ("<code>axial slice 17/29 &middot; z-spacing 8 mm &middot; shown HU range "
                                "[-1350, 150]</code>")
    rf = WIDGETS["receptive_field_explorer"]()
    assert rf.readout.value.startswith("output 126×126; one output pixel sees 10×10 input pixels (10 px = 6.5 mm); "
                                       "neighbouring output pixels are 4 px apart")


def test_chinese_readouts_keep_the_numbers(zh):
    from medlab.widgets import WIDGETS

    wl = WIDGETS["window_level_explorer"]()
    assert wl.readout.value == ("<code>显示的 HU 范围 [-1350, 150]：97% 的像素得到介于黑白之间的灰度；"
                                "每 HU 0.17 个灰度级</code>")
    assert "轴位切片 17/29" in WIDGETS["slice_viewer"]().readout.value
