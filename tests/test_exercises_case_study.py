"""Tests for medlab.exercises.case_study (09): right -> True, typical mistakes -> False with a specific hint,
None -> unanswered, an unjudgeable type -> TypeError."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from statsmodels.stats.proportion import proportion_confint

from medlab import lungct as L
from medlab.exercises import Feedback
from medlab.exercises import case_study as X


def _case():
    hu = np.full((6, 40, 40), -850.0, np.float32)
    lung = np.zeros(hu.shape, bool)
    lung[:, 5:35, 5:35] = True
    return L.CTCase("X", hu, 1.0, 5.0, np.arange(6) * 5.0, (0.0, 0.0), [(2, 10, 10, 20, 20)], (2, 4), lung,
                    (1.0, 1.0, 5.0))


def test_unanswered_for_every_check():
    y = np.array([0, 1])
    calls = [lambda: X.check_patch_mm(None), lambda: X.check_negative_rule(None, _case()),
             lambda: X.check_leakage_gap(None, 0.9, 0.7), lambda: X.check_stride_ratio(None, 40, 10),
             lambda: X.check_volume_ml(None, 10, (1, 1, 5)), lambda: X.check_pixel_reduction(None, 512, 0.6465),
             lambda: X.check_consistent_winner(None, [(y, y, y)]), lambda: X.check_sphere_diameter(None, 10.0),
             lambda: X.check_patient_sensitivity_bound(None, 2, 2)]
    for call in calls:
        fb = call()
        assert isinstance(fb, Feedback) and not fb and "no answer yet" in fb.message and fb.hint


def test_pixel_reduction_follows_prepares_rule():
    # prepare() makes round(512 * 0.6465 / 1) = 331 pixels per row for A0002
    n_new = int(round(512 * X.A0002_PIXEL_MM / 1.0))
    assert n_new == 331
    right = 512 ** 2 / n_new ** 2
    assert X.check_pixel_reduction(right, 512, X.A0002_PIXEL_MM)
    assert X.check_pixel_reduction(round(right, 2), 512, X.A0002_PIXEL_MM)
    fb = X.check_pixel_reduction(512 / n_new, 512, X.A0002_PIXEL_MM)
    assert not fb and "rows and columns" in fb.hint
    fb = X.check_pixel_reduction(1 / right, 512, X.A0002_PIXEL_MM)
    assert not fb and "divided by the new" in fb.hint
    fb = X.check_pixel_reduction(3.0, 512, X.A0002_PIXEL_MM)
    assert not fb and "round(512" in fb.hint
    with pytest.raises(TypeError, match="number"):
        X.check_pixel_reduction("2.4", 512, X.A0002_PIXEL_MM)


def test_pixel_reduction_matches_the_resampled_grid():
    import SimpleITK as sitk

    class CT:  # a LungCT-like object: 512 x 512 pixels of 0.6465 mm
        patient = "A0002"
        files: list = []

        def __init__(self):
            img = sitk.GetImageFromArray(np.full((3, 512, 512), -800, np.int16))
            img.SetSpacing((X.A0002_PIXEL_MM, X.A0002_PIXEL_MM, 8.0))
            self.image = img
            self.boxes = []

    case = L.prepare(CT())
    assert X.check_pixel_reduction(512 * 512 / (case.hu.shape[1] * case.hu.shape[2]), 512, X.A0002_PIXEL_MM)


def _scores(seed, shift_cnn, shift_svm, n=300):
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 4 == 0).astype(int)
    return y, rng.normal(size=n) + shift_cnn * y, rng.normal(size=n) + shift_svm * y


def test_consistent_winner():
    strong = [_scores(0, 3.0, 0.2), _scores(1, 3.0, 0.2)]        # CNN much better in both directions
    assert X.check_consistent_winner("CNN", strong)
    assert X.check_consistent_winner(" cnn ", strong)
    fb = X.check_consistent_winner("neither", strong)
    assert not fb and "sign of ΔAUC" in fb.hint
    fb = X.check_consistent_winner("SVM", strong)
    assert not fb and "CNN − SVM" in fb.hint
    mixed = [_scores(0, 3.0, 0.2), _scores(1, 0.2, 3.0)]         # each model wins one direction
    assert X.check_consistent_winner("neither", mixed)
    fb = X.check_consistent_winner("CNN", mixed)
    assert not fb and "each test patient" in fb.hint
    close = [_scores(0, 3.0, 0.2), _scores(1, 1.0, 0.95)]        # CNN higher both times, p large once
    assert X.check_consistent_winner("neither", close)
    fb = X.check_consistent_winner("CNN", close)
    assert not fb and "DeLong p" in fb.hint
    fb = X.check_consistent_winner("the CNN", strong)
    assert not fb and "choices" in fb.message
    with pytest.raises(TypeError, match="CNN"):
        X.check_consistent_winner(1, strong)
    # the AUCs it compares are sklearn's
    y, a, b = strong[0]
    assert roc_auc_score(y, a) > roc_auc_score(y, b)


def test_sphere_diameter():
    v_ml = 120.98657354354859
    right = (6 * v_ml * 1000 / np.pi) ** (1 / 3)
    assert abs(right - 61.4) < 0.1
    assert X.check_sphere_diameter(right, v_ml)
    assert X.check_sphere_diameter(round(right, 1), v_ml)
    fb = X.check_sphere_diameter(right / 2, v_ml)
    assert not fb and "twice the radius" in fb.hint
    fb = X.check_sphere_diameter((6 * v_ml / np.pi) ** (1 / 3), v_ml)
    assert not fb and "1000 mm³" in fb.hint
    fb = X.check_sphere_diameter(102.9, v_ml)
    assert not fb and "(6 V / π)" in fb.hint
    with pytest.raises(TypeError, match="number"):
        X.check_sphere_diameter("61", v_ml)


def test_patient_sensitivity_bound_is_statsmodels_wilson():
    low = proportion_confint(2, 2, alpha=0.05, method="wilson")[0]
    assert abs(low - 0.342) < 1e-3
    assert X.check_patient_sensitivity_bound(low, 2, 2)
    assert X.check_patient_sensitivity_bound(round(low, 3), 2, 2)
    fb = X.check_patient_sensitivity_bound(1.0, 2, 2)
    assert not fb and "proportion_ci" in fb.hint
    fb = X.check_patient_sensitivity_bound(proportion_confint(2, 2, method="beta")[0], 2, 2)
    assert not fb and "Wilson" in fb.hint
    fb = X.check_patient_sensitivity_bound(0.8, 2, 2)
    assert not fb and "Per patient" in fb.hint
    # Wald collapses to [1, 1] for 2/2, which is the point estimate: that hint comes first; at 1/2 it differs
    wald = proportion_confint(1, 2, method="normal")[0]
    fb = X.check_patient_sensitivity_bound(wald, 1, 2)
    assert not fb and "method='wilson'" in fb.hint
    with pytest.raises(TypeError, match="number"):
        X.check_patient_sensitivity_bound([0.34], 2, 2)


def test_older_checks_right_and_typical_mistakes():
    assert X.check_patch_mm(32 * X.A0002_PIXEL_MM)
    fb = X.check_patch_mm(32.0)
    assert not fb and "pixel spacing" in fb.hint
    assert X.check_leakage_gap(0.2, 0.9, 0.7)
    assert not X.check_leakage_gap(-0.2, 0.9, 0.7)
    assert X.check_stride_ratio(4.0, 40, 10)
    assert "2 × 2" in X.check_stride_ratio(2.0, 40, 10).hint
    assert X.check_volume_ml(0.05, 10, (1, 1, 5))
    assert "1000 mm³" in X.check_volume_ml(50.0, 10, (1, 1, 5)).hint
    case = _case()

    def right(c, k, r, col):
        return bool(c.lung[k, r, col]) and all(abs(k - t) > 1 for t in c.tumour_slices)

    assert X.check_negative_rule(right, case)
    fb = X.check_negative_rule(lambda c, k, r, col: bool(c.lung[k, r, col]), case)
    assert not fb and "tumour_slices" in fb.hint
    fb = X.check_negative_rule(lambda c, k, r, col: 1 / 0, case)
    assert not fb and "ZeroDivisionError" in fb.message
    with pytest.raises(TypeError, match="function"):
        X.check_negative_rule(3, case)
