"""The exercise checks of 04_preprocessing: right -> True, typical mistakes -> False with a specific hint,
None -> unanswered, nonsense type -> TypeError. (01's checks: tests/test_exercises_medical_images.py.)"""
from __future__ import annotations

import numpy as np
import pytest

from medlab import preprocess as pp
from medlab.exercises import preprocessing as ex


def _wrong(fb, hint_part):
    assert not fb and hint_part in fb.hint, (str(fb), hint_part)


@pytest.mark.parametrize("check", [ex.check_equalized_value, ex.check_equalize_function, ex.check_otsu_function,
                                   ex.check_region_volume_ml, ex.check_dice, ex.check_best_filter_for_salt])
def test_unanswered(check):
    fb = check(None)
    assert not fb and "no answer yet" in fb.message and "None" in fb.hint


def test_equalized_value():
    assert ex.check_equalized_value(5 / 8)
    _wrong(ex.check_equalized_value(2 / 8), "*equal*")
    _wrong(ex.check_equalized_value(3 / 8), "histogram")
    _wrong(ex.check_equalized_value(0.9), "CDF")


def test_equalize_function():
    assert ex.check_equalize_function(pp.equalize_hist)
    _wrong(ex.check_equalize_function(lambda im: im / im.max()), "cdf")
    _wrong(ex.check_equalize_function(lambda im: im[:2]), "shape")
    fb = ex.check_equalize_function(lambda im: 1 / 0)
    assert not fb and "ZeroDivisionError" in fb.message
    with pytest.raises(TypeError, match="answer must be a function"):
        ex.check_equalize_function(3)


def test_otsu_function():
    assert ex.check_otsu_function(pp.otsu_threshold)
    _wrong(ex.check_otsu_function(lambda im: float(np.mean(im))), "mean")
    _wrong(ex.check_otsu_function(lambda im: float(np.median(im)) + 1000), "w0")
    _wrong(ex.check_otsu_function(lambda im: "high"), "one number")


def test_region_volume():
    right = 12_000 * 0.646484375 ** 2 * 8 / 1000
    assert ex.check_region_volume_ml(right)
    assert ex.check_region_volume_ml(round(right, 1))
    _wrong(ex.check_region_volume_ml(right * 1000), "1000 mm³")
    _wrong(ex.check_region_volume_ml(right / 8), "slice spacing")
    _wrong(ex.check_region_volume_ml(1.0), "divide by 1000")


def test_dice():
    a, b = ex.DICE_TASK_A, ex.DICE_TASK_B
    right = 2 * (a & b).sum() / (a.sum() + b.sum())
    assert ex.check_dice(right)
    _wrong(ex.check_dice((a & b).sum() / (a | b).sum()), "IoU")
    _wrong(ex.check_dice(right / 2), "factor 2")
    _wrong(ex.check_dice(0.1), "Count")


def test_best_filter_for_salt():
    assert ex.check_best_filter_for_salt("median")
    _wrong(ex.check_best_filter_for_salt("gaussian"), "outliers")
    _wrong(ex.check_best_filter_for_salt("wiener"), "Choose from")
    with pytest.raises(TypeError, match="answer must be one of"):
        ex.check_best_filter_for_salt(1)


def test_closing_radius_is_computed_and_mistakes_get_their_hint():
    from medlab.exercises.preprocessing import VESSEL_TASK, check_closing_radius, smallest_closing_radius
    from medlab import preprocess as pp
    d_px = VESSEL_TASK["diameter_mm"] / VESSEL_TASK["pixel_mm"]
    right = smallest_closing_radius(d_px)
    # the reference: SciPy's closing with the same disk fills the hole from the same radius on
    from scipy import ndimage as ndi
    from medlab.exercises.preprocessing import _hole_mask
    hole = _hole_mask(d_px)
    def scipy_closed(r):  # pad wider than the disk, close, look at the original area only
        p = 2 * r + 2
        out = ndi.binary_closing(np.pad(hole, p, constant_values=True), structure=pp._disk(r, 2))
        return out[p:-p, p:-p]
    assert scipy_closed(right).all() and not scipy_closed(right - 1).all()
    assert check_closing_radius(right) and check_closing_radius(float(right))
    assert not check_closing_radius(None) and "Replace" in check_closing_radius(None).hint
    assert "millimetres" in check_closing_radius(VESSEL_TASK["diameter_mm"] / 2).hint
    assert "diameter" in check_closing_radius(round(d_px, 1)).hint
    assert "Too small" in check_closing_radius(right - 1).hint
    assert "not the smallest" in check_closing_radius(right + 6).hint
    with pytest.raises(TypeError):
        check_closing_radius("4")
    with pytest.raises(ValueError, match="diameter_px"):
        smallest_closing_radius(0)
