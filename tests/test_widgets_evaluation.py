"""Widgets of 07 (medlab.widgets.evaluation) on synthetic scores: what they show equals medlab.evaluation."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from medlab import evaluation as E  # noqa: E402
from medlab.widgets import WIDGETS  # noqa: E402
from medlab.widgets import evaluation as W  # noqa: E402

rng = np.random.default_rng(0)
Y = (rng.random(300) < 0.6).astype(int)
A = 1 / (1 + np.exp(-(rng.normal(size=300) * 1.5 + 2 * (2 * Y - 1))))
B = 1 / (1 + np.exp(-(rng.normal(size=300) * 2 + 1.2 * (2 * Y - 1))))
YV = (rng.random(200) < 0.7).astype(int)
AV = 1 / (1 + np.exp(-(rng.normal(size=200) * 1.5 + 2 * (2 * YV - 1))))


def test_all_five_are_registered():
    for name in ("threshold_lab", "prevalence_explorer", "calibration_explorer", "bootstrap_explorer",
                 "decision_curve"):
        assert name in WIDGETS


@pytest.mark.parametrize("positive", [0, 1])
def test_threshold_lab_shows_the_confusion_counts_and_moves(positive):
    ex = W.threshold_lab(Y, {"CNN": A, "SVM": B}, positive=positive)
    for t in (0.3, 0.7):
        before = ex.panes["main"].value
        ex.controls["threshold"].value = t
        assert ex.panes["main"].value != before and ex.message == ""
        for p in (A, B):
            c = E.confusion(Y, p, t, positive)
            assert f"{c['tp']} / {c['fp']} / {c['tn']} / {c['fn']}" in ex.readout.value
        lo, hi = E.metric_intervals(E.metrics(Y, A, t, positive))["sensitivity"]
        assert f"[{lo:.3f}, {hi:.3f}]" in ex.readout.value


def test_threshold_lab_bad_input():
    with pytest.raises(TypeError, match="dict"):
        W.threshold_lab(Y, A)
    with pytest.raises(ValueError, match="probabilities"):
        W.threshold_lab(Y, {"SVM": A * 3 - 1})
    with pytest.raises(ValueError, match="one entry per sample"):
        W.threshold_lab(Y, {"CNN": A[:10]})
    with pytest.raises(ValueError, match="at most 3"):
        W.threshold_lab(Y, {str(k): A for k in range(4)})


def test_prevalence_explorer_is_bayes():
    ex = W.prevalence_explorer(0.9, 0.8, 0.625)
    for prev in (0.05, 0.74):
        before = ex.panes["main"].value
        ex.controls["prevalence"].value = prev
        assert ex.panes["main"].value != before
        pv = E.predictive_values(0.9, 0.8, prev)
        assert f"{pv['ppv']:.1%}" in ex.readout.value and f"{pv['npv']:.1%}" in ex.readout.value


def test_calibration_explorer_fits_on_validation_only():
    ex = W.calibration_explorer(YV, {"CNN": AV}, Y, {"CNN": A})
    ex.controls["recalibration"].value = "temperature"
    t = E.temperature_scale(YV, AV).temperature
    assert f"T = {t:.3f}" in ex.readout.value
    ece = E.expected_calibration_error(Y, E.temperature_scale(YV, AV)(A), 10)
    assert f"{ece:.4f}" in ex.readout.value
    before = ex.panes["main"].value
    ex.controls["bins"].value = 4
    assert ex.panes["main"].value != before
    with pytest.raises(ValueError, match="same models"):
        W.calibration_explorer(YV, {"CNN": AV}, Y, {"SVM": A})


def test_bootstrap_explorer_uses_the_first_n_resamples():
    ex = W.bootstrap_explorer(Y, A, max_resamples=500, seed=3)
    ex.controls["resamples"].value = 200
    lo, hi = np.quantile(E.bootstrap_aucs(Y, A, n_boot=200, seed=3), [0.025, 0.975])
    assert f"[{lo:.4f}, {hi:.4f}]" in ex.readout.value
    d = E.roc_auc_ci(Y, A)
    assert f"[{d['low']:.4f}, {d['high']:.4f}]" in ex.readout.value
    with pytest.raises(ValueError, match="max_resamples must be <="):
        W.bootstrap_explorer(Y, A, max_resamples=10**6)


def test_decision_curve_reads_net_benefit():
    ex = W.decision_curve(Y, {"CNN": A, "SVM": B})
    ex.controls["p_t"].value = 0.2
    for p in (A, B):
        assert f"{E.net_benefit(Y, p, [0.2])['model'][0]:.4f}" in ex.readout.value
    assert f"{E.net_benefit(Y, A, [0.2])['treat_all'][0]:.4f}" in ex.readout.value
    before = ex.panes["main"].value
    ex.controls["treat_all"].value = False
    assert ex.panes["main"].value != before


@pytest.mark.parametrize("positive", [0, 1])
def test_threshold_lab_bootstrap_intervals_equal_a_loop_over_resamples(positive):
    from sklearn import metrics as skm
    index = W._boot_index(Y, 60, seed=2)
    assert index.shape == (60, len(Y))
    assert all(np.sum(Y[row] == 1) == np.sum(Y == 1) for row in index)      # stratified: class counts kept
    t = 0.4
    pred1 = A >= t
    iv = W._boot_intervals(Y, pred1 if positive == 1 else ~pred1, index, positive, 0.9)
    ref = {"f1": [], "balanced_accuracy": [], "mcc": [], "youden_j": []}
    for row in index:
        m = E.metrics(Y[row], A[row], t, positive)
        for k in ref:
            ref[k].append(m[k])
        assert np.isclose(m["mcc"], skm.matthews_corrcoef(Y[row], pred1[row].astype(int)))
    for k, vals in ref.items():
        assert np.allclose(iv[k], np.quantile(vals, [0.05, 0.95])), k
    ex = W.threshold_lab(Y, {"CNN": A}, positive=positive, n_boot=60, seed=2, level=0.9, threshold=t)
    lo, hi = W._boot_intervals(Y, pred1 if positive == 1 else ~pred1, index, positive, 0.9)["f1"]
    assert f"[{lo:.3f}, {hi:.3f}]" in ex.readout.value


def test_prevalence_registry_demo_is_a_model_worth_reading():
    """The registry demo's CNN (2 epochs) uses a threshold chosen on validation: at 0.5 it called almost every
    test image positive (specificity ~0), which makes PPV/NPV a poor lesson."""
    demo = W._demo_prevalence()
    assert demo["sensitivity"] >= 0.5 and demo["specificity"] >= 0.5, demo
    assert demo["name"] == "CNN at the validation threshold"
