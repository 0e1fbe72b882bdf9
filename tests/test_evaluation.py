"""medlab.evaluation against scikit-learn and statsmodels, on Hypothesis-generated inputs (ties included)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn import calibration as skcal, metrics as skm
from sklearn.linear_model import LogisticRegression
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportion_confint

from medlab import evaluation as E


# ----------------------------------------------------------------------------- strategies
@st.composite
def labelled_scores(draw, min_size=4, max_size=60, probabilities=True, both=True, n_scores=1):
    """(y, score[, score_b]) with both classes; scores drawn from a coarse grid so that ties are common."""
    n = draw(st.integers(min_size, max_size))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    if both and len(np.unique(y)) < 2:
        y[0], y[1] = 0, 1
    levels = draw(st.sampled_from([3, 5, 11, 101, 10_001]))
    out = [y]
    for _ in range(n_scores):
        k = np.array(draw(st.lists(st.integers(0, levels - 1), min_size=n, max_size=n)))
        s = k / (levels - 1)
        if not probabilities:
            s = (s - 0.5) * draw(st.sampled_from([1.0, 7.0, 100.0]))
        out.append(s)
    return tuple(out)


positives = st.sampled_from([0, 1])
thresholds = st.sampled_from([0.0, 0.25, 0.5, 0.5001, 0.9, 1.0])


# ----------------------------------------------------------------------------- counts and metrics
@given(labelled_scores(), thresholds, positives)
def test_confusion_and_metrics_equal_sklearn(data, t, positive):
    y, s = data
    pred = (s >= t).astype(int)
    c = E.confusion(y, s, threshold=t, positive=positive)
    ref = skm.confusion_matrix(y == positive, pred == positive, labels=[False, True])
    assert np.array_equal(c["matrix"], ref)
    assert (c["tn"], c["fp"], c["fn"], c["tp"]) == tuple(int(v) for v in ref.ravel())
    m = E.metrics(y, s, threshold=t, positive=positive)
    kw = dict(pos_label=positive, zero_division=0)
    assert np.isclose(m["accuracy"], skm.accuracy_score(y, pred))
    assert np.isclose(m["sensitivity"], skm.recall_score(y, pred, **kw)) and m["recall"] == m["sensitivity"]
    assert np.isclose(m["specificity"], skm.recall_score(y, pred, pos_label=1 - positive, zero_division=0))
    assert np.isclose(m["ppv"], skm.precision_score(y, pred, **kw)) and m["precision"] == m["ppv"]
    assert np.isclose(m["npv"], skm.precision_score(y, pred, pos_label=1 - positive, zero_division=0))
    assert np.isclose(m["f1"], skm.f1_score(y, pred, **kw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isclose(m["balanced_accuracy"], skm.balanced_accuracy_score(y, pred))
        assert np.isclose(m["mcc"], skm.matthews_corrcoef(y, pred))
    assert np.isclose(m["youden_j"], m["sensitivity"] + m["specificity"] - 1)
    assert m["n"] == len(y) and m["n_positive"] == int(np.sum(y == positive))


def test_breastmnist_positive_is_label_0():
    y = np.array([0, 0, 0, 1, 1, 1, 1])          # 0 = malignant
    p1 = np.array([0.1, 0.2, 0.7, 0.6, 0.9, 0.8, 0.3])   # P(label 1 = benign)
    m = E.metrics(y, p1, positive=0)
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (2, 1, 1, 3)
    assert m["sensitivity"] == 2 / 3 and m["specificity"] == 3 / 4


def test_metric_intervals_are_wilson_per_denominator():
    c = {"tp": 30, "fn": 12, "tn": 100, "fp": 14}
    iv = E.metric_intervals(c)
    assert np.allclose(iv["sensitivity"], proportion_confint(30, 42, method="wilson"))
    assert np.allclose(iv["specificity"], proportion_confint(100, 114, method="wilson"))
    assert np.allclose(iv["ppv"], proportion_confint(30, 44, method="wilson"))
    assert np.allclose(iv["accuracy"], proportion_confint(130, 156, method="wilson"))
    assert E.metric_intervals({"tp": 0, "fp": 0, "tn": 5, "fn": 3})["ppv"] == (0.0, 1.0)


# ----------------------------------------------------------------------------- curves
@given(labelled_scores(probabilities=False), positives, st.booleans())
def test_roc_curve_equals_sklearn(data, positive, drop):
    y, s = data
    fpr, tpr, thr = E.roc_curve(y, s, positive=positive, drop_intermediate=drop)
    rf, rt, rthr = skm.roc_curve(y == positive, s if positive == 1 else -s, drop_intermediate=drop)
    assert np.allclose(fpr, rf) and np.allclose(tpr, rt) and np.array_equal(thr, rthr)


@given(labelled_scores(probabilities=False), positives)
def test_auc_and_pr_equal_sklearn(data, positive):
    y, s = data
    sp = s if positive == 1 else -s
    assert np.isclose(E.roc_auc(y, s, positive=positive), skm.roc_auc_score(y == positive, sp))
    p, r, t = E.pr_curve(y, s, positive=positive)
    rp, rr, rt = skm.precision_recall_curve(y, sp, pos_label=positive)
    assert np.allclose(p, rp) and np.allclose(r, rr) and np.allclose(t, rt)
    assert np.isclose(E.average_precision(y, s, positive=positive),
                      skm.average_precision_score(y == positive, sp))


@given(labelled_scores())
def test_auc_does_not_depend_on_which_class_is_positive(data):
    y, s = data
    assert np.isclose(E.roc_auc(y, s, positive=0), E.roc_auc(y, s, positive=1))


# ----------------------------------------------------------------------------- intervals
@given(st.integers(1, 500), st.data(), st.sampled_from(["wilson", "normal", "agresti_coull", "beta", "jeffreys"]),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_proportion_ci_equals_statsmodels(n, data, method, level):
    k = data.draw(st.integers(0, n))
    low, high = E.proportion_ci(k, n, method=method, level=level)
    rl, rh = proportion_confint(k, n, alpha=1 - level, method=method)
    assert np.isclose(low, rl, atol=1e-12) and np.isclose(high, rh, atol=1e-12)
    assert 0 <= low <= high <= 1
    if method != "jeffreys":                    # Jeffreys' interval need not contain 0/n or n/n
        assert low - 1e-12 <= k / n <= high + 1e-12


def _delong_direct(y, scores):
    """DeLong et al. (1988) with the O(m n) placement values (Heaviside kernel, ties count 1/2)."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    psi = (pos[:, :, None] > neg[:, None, :]) + 0.5 * (pos[:, :, None] == neg[:, None, :])
    v10, v01 = psi.mean(axis=2), psi.mean(axis=1)
    return psi.mean(axis=(1, 2)), np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n


@given(labelled_scores(min_size=6, probabilities=False, n_scores=2))
def test_delong_fast_equals_direct_definition(data):
    y, a, b = data
    if min(np.sum(y == 0), np.sum(y == 1)) < 2:
        y[:4] = [0, 0, 1, 1]
    aucs, cov = _delong_direct(y, np.stack([a, b]))
    assert np.isclose(E.delong_variance(y, a), cov[0, 0])
    assert np.isclose(aucs[0], skm.roc_auc_score(y, a))
    r = E.delong_test(y, a, b)
    assert np.isclose(r["delta"], aucs[0] - aucs[1])
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    if var > 1e-12:
        assert np.isclose(r["z"], r["delta"] / np.sqrt(var))
        assert 0 <= r["p"] <= 1
    ci = E.roc_auc_ci(y, a)
    assert ci["method"] == "delong" and 0 <= ci["low"] <= ci["auc"] <= ci["high"] <= 1


def test_delong_variance_matches_a_bootstrap_on_a_large_sample():
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.4).astype(int)
    s = rng.normal(size=3000) + 1.0 * y
    s = np.round(s, 1)                          # ties
    var_delong = E.delong_variance(y, s)
    boots = E.bootstrap_aucs(y, s, n_boot=2000, seed=1)
    assert abs(np.var(boots, ddof=1) / var_delong - 1) < 0.1
    assert abs(boots.mean() - E.roc_auc(y, s)) < 0.002


def test_roc_auc_ci_bootstrap_is_seeded_and_stratified():
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.3).astype(int)
    s = rng.random(300) + 0.3 * y
    a = E.roc_auc_ci(y, s, method="bootstrap", seed=7, n_boot=500)
    b = E.roc_auc_ci(y, s, method="bootstrap", seed=7, n_boot=500)
    c = E.roc_auc_ci(y, s, method="bootstrap", seed=8, n_boot=500)
    assert a == b and a != c and a["method"] == "bootstrap"
    boots = E.bootstrap_aucs(y, s, n_boot=500, seed=7)
    assert np.allclose(np.quantile(boots, [0.025, 0.975]), [a["low"], a["high"]])
    assert np.array_equal(E.bootstrap_aucs(y, s, n_boot=100, seed=7), boots[:100])
    d = E.roc_auc_ci(y, s)
    assert abs((d["high"] - d["low"]) - (a["high"] - a["low"])) < 0.03


def test_delong_test_identical_and_inverted_scores():
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    assert E.delong_test(y, s, s) == {"delta": 0.0, "z": 0.0, "p": 1.0}
    perfect = y.astype(float)
    r = E.delong_test(y, perfect, 1 - perfect)
    assert r["delta"] == 1.0 and r["p"] == 0.0 and r["z"] == np.inf


# ----------------------------------------------------------------------------- McNemar
@given(st.integers(1, 80), st.data(), st.booleans(), st.booleans())
def test_mcnemar_equals_statsmodels(n, data, exact, correction):
    draw = lambda: np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    y, a, b = draw(), draw(), draw()
    r = E.mcnemar(y, a, b, exact=exact, correction=correction)
    ra, rb = a == y, b == y
    table = [[np.sum(ra & rb), np.sum(ra & ~rb)], [np.sum(~ra & rb), np.sum(~ra & ~rb)]]
    assert np.array_equal(r["table"], table)
    ref = sm_mcnemar(np.array(table), exact=exact, correction=correction)
    if r["table"][0, 1] + r["table"][1, 0] == 0 and not exact:   # statsmodels: 0/0 = NaN
        assert (r["statistic"], r["p"]) == (0.0, 1.0)
    else:
        assert np.isclose(r["statistic"], ref.statistic) and np.isclose(r["p"], ref.pvalue)


# ----------------------------------------------------------------------------- calibration
@given(labelled_scores(both=False), st.integers(2, 15), st.sampled_from(["uniform", "quantile"]))
def test_calibration_curve_brier_ece_equal_sklearn(data, bins, strategy):
    y, p = data
    frac, mean_p = E.calibration_curve(y, p, bins, strategy=strategy)
    rf, rp = skcal.calibration_curve(y, p, n_bins=bins, strategy=strategy, pos_label=1)
    assert np.allclose(frac, rf) and np.allclose(mean_p, rp)
    cc = E.calibration_curve(y, p, bins, strategy=strategy)
    assert cc.counts.sum() == len(y)
    assert np.isclose(E.brier_score(y, p), skm.brier_score_loss(y, p, pos_label=1))
    ece = E.expected_calibration_error(y, p, bins, strategy=strategy)
    # reference: per-sample gap of its bin (sklearn's binning), averaged
    edges = np.linspace(0, 1, bins + 1) if strategy == "uniform" else np.percentile(p, np.linspace(0, 1, bins + 1) * 100)
    ids = np.searchsorted(edges[1:-1], p)
    ref = sum(abs(y[ids == b].mean() - p[ids == b].mean()) * np.sum(ids == b) for b in np.unique(ids)) / len(y)
    assert np.isclose(ece, ref)


@given(labelled_scores(min_size=10, max_size=80))
@settings(max_examples=40)
def test_temperature_scale_equals_logistic_regression_without_intercept(data):
    y, p = data
    p = np.clip(p, 0.02, 0.98)
    z = np.log(p / (1 - p))
    lr = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000).fit(z[:, None], y)
    coef = lr.coef_[0, 0]
    rec = E.temperature_scale(y, p)
    if 1e-4 <= coef <= 1e4:
        nll = lambda a: np.sum(np.logaddexp(0, a * z) - y * a * z)
        assert nll(rec.a) <= nll(coef) + 1e-6 * max(1.0, nll(coef))
        separable = z[y == 1].min() >= z[y == 0].max() if 0 < y.sum() < len(y) else True
        if not separable:                       # otherwise the optimum is at a = inf: only the loss compares
            assert np.isclose(rec.a, coef, rtol=1e-3, atol=1e-4)
    assert np.allclose(rec(p), 1 / (1 + np.exp(-rec.a * z)))
    assert rec.b == 0.0 and np.isclose(rec.temperature, 1 / rec.a)


@given(labelled_scores(min_size=10, max_size=80, probabilities=False))
@settings(max_examples=40)
def test_platt_scale_equals_sklearn(data):
    y, s = data
    from sklearn.calibration import _sigmoid_calibration
    A, B = _sigmoid_calibration(s, y)           # sklearn: P = 1 / (1 + exp(A s + B))
    rec = E.platt_scale(y, s)
    assert np.allclose(rec(s), 1 / (1 + np.exp(A * s + B)), atol=1e-4)


def test_platt_scale_unsmoothed_is_a_logistic_regression():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(int)
    s = rng.normal(size=400) * 3 + 2 * y
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(s[:, None], y)
    rec = E.platt_scale(y, s, smooth=False)
    assert np.isclose(rec.a, lr.coef_[0, 0], rtol=1e-4) and np.isclose(rec.b, lr.intercept_[0], rtol=1e-4, atol=1e-5)


def test_temperature_scaling_fixes_an_overconfident_model_and_keeps_auc():
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.5).astype(int)
    logit_true = rng.normal(size=2000) * 1.5 + (2 * y - 1) * 0.8
    y = (rng.random(2000) < 1 / (1 + np.exp(-logit_true))).astype(int)
    over = 1 / (1 + np.exp(-3 * logit_true))    # temperature 1/3: over-confident
    rec = E.temperature_scale(y[:1000], over[:1000])
    assert 2.5 < rec.temperature < 3.6
    fixed = rec(over[1000:])
    assert E.expected_calibration_error(y[1000:], fixed) < E.expected_calibration_error(y[1000:], over[1000:]) / 2
    assert np.isclose(E.roc_auc(y[1000:], fixed), E.roc_auc(y[1000:], over[1000:]))


# ----------------------------------------------------------------------------- thresholds
@given(labelled_scores(), positives)
def test_choose_threshold_youden_is_the_best_on_validation(data, positive):
    y, p = data
    t = E.choose_threshold(y, p, positive=positive)
    best = E.metrics(y, p, t, positive)["youden_j"]
    for c in np.unique(p):
        assert E.metrics(y, p, c, positive)["youden_j"] <= best + 1e-12
    fpr, tpr, _ = skm.roc_curve(y == positive, p if positive == 1 else -p)
    assert np.isclose(best, np.max(tpr - fpr))


@given(labelled_scores(), st.sampled_from([0.5, 0.8, 0.9, 0.95]))
def test_choose_threshold_target_sensitivity(data, target):
    y, p = data
    t = E.choose_threshold(y, p, rule="sensitivity", target_sensitivity=target)
    m = E.metrics(y, p, t)
    assert m["sensitivity"] >= target
    for c in np.unique(p):
        mc = E.metrics(y, p, c)
        if mc["sensitivity"] >= target:
            assert mc["specificity"] <= m["specificity"]


@given(labelled_scores())
def test_choose_threshold_accuracy(data):
    y, p = data
    t = E.choose_threshold(y, p, rule="accuracy")
    assert all(E.metrics(y, p, c)["accuracy"] <= E.metrics(y, p, t)["accuracy"] for c in np.unique(p))


# ----------------------------------------------------------------------------- decisions
@given(st.floats(0, 1), st.floats(0, 1), st.floats(0.01, 0.99))
def test_predictive_values_equal_sklearn_on_a_population(se, sp, prev):
    # a population of 10,000 with these rates, rounded to whole people
    P = int(round(10_000 * prev)); N = 10_000 - P
    tp = int(round(se * P)); tn = int(round(sp * N))
    y = np.r_[np.ones(P), np.zeros(N)].astype(int)
    pred = np.r_[np.ones(tp), np.zeros(P - tp), np.zeros(tn), np.ones(N - tn)].astype(int)
    pv = E.predictive_values(tp / P, tn / N, P / 10_000)
    assert np.isclose(pv["ppv"], skm.precision_score(y, pred, zero_division=0))
    assert np.isclose(pv["npv"], skm.precision_score(y, pred, pos_label=0, zero_division=0))


def test_predictive_values_vectorised_and_prevalence_shift():
    prev = np.array([0.74, 0.625])
    pv = E.predictive_values(0.9, 0.8, prev)
    assert pv["ppv"].shape == (2,) and pv["ppv"][0] > pv["ppv"][1] and pv["npv"][0] < pv["npv"][1]


@given(labelled_scores(both=False), positives)
def test_net_benefit_from_counts(data, positive):
    y, p = data
    t = np.array([0.0, 0.1, 0.3, 0.5, 0.75, 0.99])
    nb = E.net_benefit(y, p, t, positive=positive)
    disease = p if positive == 1 else 1 - p
    n = len(y)
    for i, pt in enumerate(t):
        cm = skm.confusion_matrix(y == positive, disease >= pt, labels=[False, True])
        tn, fp, fn, tp = cm.ravel()
        assert np.isclose(nb["model"][i], tp / n - fp / n * pt / (1 - pt))
        prev = np.mean(y == positive)
        assert np.isclose(nb["treat_all"][i], prev - (1 - prev) * pt / (1 - pt))
    assert np.all(nb["treat_none"] == 0)
    assert np.isclose(nb["model"][0], nb["treat_all"][0])      # p_t = 0: the model treats everyone


# ----------------------------------------------------------------------------- bad input
Y, S = [0, 1, 0, 1], [0.1, 0.8, 0.3, 0.7]

BAD = [
    # one class only: AUC and friends are undefined -> say so, never NaN
    (E.roc_auc, ([1, 1, 1], [0.2, 0.5, 0.9]), ValueError, "only the label 1"),
    (E.roc_curve, ([0, 0], [0.2, 0.5]), ValueError, "each class"),
    (E.pr_curve, ([0, 0], [0.2, 0.5]), ValueError, "each class"),
    (E.average_precision, ([1, 1], [0.2, 0.5]), ValueError, "each class"),
    (E.roc_auc_ci, ([1, 1, 1], [0.2, 0.5, 0.9]), ValueError, "each class"),
    (E.delong_test, ([1, 1], [0.2, 0.5], [0.1, 0.3]), ValueError, "each class"),
    (E.metrics, ([1, 1], [0.2, 0.5]), ValueError, "sensitivity and specificity"),
    (E.choose_threshold, ([1, 1], [0.2, 0.5]), ValueError, "each class"),
    (E.temperature_scale, ([0, 0, 0], [0.2, 0.5, 0.4]), ValueError, "fitting a temperature needs"),
    (E.platt_scale, ([1, 1, 1], [0.2, 5.0, -1.0]), ValueError, "Platt scaling needs"),
    # probabilities outside [0, 1] where they are required
    (E.confusion, (Y, [0.1, 1.2, 0.3, 0.7]), ValueError, "probabilities in \\[0, 1\\]"),
    (E.metrics, (Y, [-0.1, 0.8, 0.3, 0.7]), ValueError, "score must be probabilities"),
    (E.calibration_curve, (Y, [0.1, 1.8, 0.3, 0.7]), ValueError, "prob must be probabilities"),
    (E.brier_score, (Y, [0.1, 1.8, 0.3, 0.7]), ValueError, "probabilities"),
    (E.temperature_scale, (Y, [0.1, 1.8, 0.3, 0.7]), ValueError, "prob_val must be probabilities"),
    (E.net_benefit, (Y, [0.1, 1.8, 0.3, 0.7], [0.2]), ValueError, "probabilities"),
    # length mismatch
    (E.roc_auc, (Y, [0.1, 0.2]), ValueError, "one entry per sample"),
    (E.confusion, (Y, [0.1, 0.2, 0.3]), ValueError, "one entry per sample"),
    (E.delong_test, (Y, S, [0.1, 0.2]), ValueError, "one entry per sample"),
    (E.mcnemar, (Y, [0, 1, 0, 1], [0, 1]), ValueError, "one entry per sample"),
    (E.brier_score, (Y, [0.1]), ValueError, "one entry per sample"),
    # NaN scores
    (E.roc_auc, (Y, [0.1, np.nan, 0.3, 0.7]), ValueError, "NaN"),
    (E.metrics, (Y, [0.1, np.nan, 0.3, 0.7]), ValueError, "NaN"),
    (E.roc_auc_ci, (Y, [0.1, np.nan, 0.3, 0.7]), ValueError, "NaN"),
    (E.calibration_curve, (Y, [0.1, np.nan, 0.3, 0.7]), ValueError, "NaN"),
    (E.platt_scale, (Y, [0.1, np.inf, 0.3, 0.7]), ValueError, "NaN or infinite"),
    # thresholds outside [0, 1]
    (E.confusion, (Y, S, 1.5), ValueError, "threshold must be <= 1"),
    (E.metrics, (Y, S, -0.1), ValueError, "threshold must be >= 0"),
    (E.metrics, (Y, S, float("nan")), ValueError, "threshold must be a finite number"),
    (E.net_benefit, (Y, S, [0.2, 1.0]), ValueError, "thresholds must be probabilities in \\[0, 1\\)"),
    # bins < 2
    (E.calibration_curve, (Y, S, 1), ValueError, "bins must be >= 2"),
    (E.expected_calibration_error, (Y, S, 0), ValueError, "bins must be >= 2"),
    (E.calibration_curve, (Y, S, 10**6), ValueError, "bins must be <= "),
    # other bad values and types
    (E.confusion, ([0, 2, 1], [0.1, 0.2, 0.3]), ValueError, "only the labels 0 and 1"),
    (E.metrics, (Y, S, 0.5, 2), ValueError, "positive must be <= 1"),
    (E.metrics, (Y, S, 0.5, True), TypeError, "positive must be an integer"),
    (E.confusion, (Y, "0.5 0.2"), TypeError, "score must be a numeric array"),
    (E.confusion, (Y, S, "0.5"), TypeError, "threshold must be a number"),
    (E.proportion_ci, (5, 3), ValueError, "k must be <= 3"),
    (E.proportion_ci, (1, 0), ValueError, "n must be >= 1"),
    (E.proportion_ci, (1, 10, "exact"), ValueError, "method must be one of"),
    (E.proportion_ci, (1, 10, "wilson", 1.0), ValueError, "level must be < 1"),
    (E.roc_auc_ci, (Y, S, "bootstrp"), ValueError, "method must be one of"),
    (E.roc_auc_ci, (Y, S, "bootstrap", 0.95, -1), ValueError, "seed must be >= 0"),
    (E.roc_auc_ci, (Y, S, "bootstrap", 0.95, 0, 10**7), ValueError, "n_boot must be <= "),
    (E.bootstrap_aucs, (np.r_[np.zeros(50_000), np.ones(50_000)], np.zeros(100_000), 50_000), ValueError,
     "bootstrap elements"),
    (E.roc_auc_ci, ([0, 1, 1], [0.1, 0.5, 0.9]), ValueError, "at least 2 images of each class"),
    (E.mcnemar, (Y, [0, 1, 0, 3], Y), ValueError, "pred_a must contain only the labels 0 and 1"),
    (E.choose_threshold, (Y, S, "sensitivity"), ValueError, "needs target_sensitivity"),
    (E.choose_threshold, (Y, S, "sensitivity", 1.5), ValueError, "target_sensitivity must be <= 1"),
    (E.choose_threshold, (Y, S, "youden", 0.9), ValueError, "only used with rule='sensitivity'"),
    (E.choose_threshold, (Y, S, "f1"), ValueError, "rule must be one of"),
    (E.predictive_values, (0.9, 0.8, 0.0), ValueError, "prevalence must be strictly between 0 and 1"),
    (E.predictive_values, (1.2, 0.8, 0.5), ValueError, "sensitivity must be in \\[0, 1\\]"),
    (E.predictive_values, ([0.9, 0.8], 0.8, [0.1, 0.2, 0.3]), ValueError, "broadcast"),
    (E.metric_intervals, ([30, 12],), TypeError, "counts must be a dict"),
    (E.metric_intervals, ({"tp": 1},), ValueError, "lacks"),
    (E.roc_auc, (Y, []), ValueError, "at least 1 element"),
    (E.roc_auc, (None, S), TypeError, "y_true must be a numeric array"),
]


@pytest.mark.parametrize("func, args, exc, match", BAD, ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_gives_a_clear_error(func, args, exc, match):
    with pytest.raises(exc, match=match):
        func(*args)


def test_no_nan_anywhere_on_degenerate_but_valid_inputs():
    y = np.array([0, 1, 0, 1])
    for t in (0.0, 1.0):                               # nothing or everything called positive
        m = E.metrics(y, [0.2, 0.4, 0.3, 0.6], t)
        assert all(np.isfinite(v) for k, v in m.items() if isinstance(v, float))
    r = E.mcnemar(y, y, y, exact=False)
    assert (r["statistic"], r["p"]) == (0.0, 1.0)
    ci = E.roc_auc_ci([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert (ci["auc"], ci["low"], ci["high"]) == (1.0, 1.0, 1.0)
    assert np.isfinite(E.predictive_values(0.0, 1.0, 0.5)["ppv"])


# ----------------------------------------------------------------------------- the paired models of 07
def test_paired_models_same_images_and_seeded():
    pytest.importorskip("tensorflow")
    from sklearn.svm import SVC  # noqa: F401  (the SVM of 05)
    grid = [{"kernel": "linear", "C": 1.0}]
    a = E.paired_models("breastmnist", seed=1, n_train=120, epochs=1, svm_grid=grid)
    b = E.paired_models("breastmnist", seed=1, n_train=120, epochs=1, svm_grid=grid)
    from medlab.datasets import load_breastmnist
    assert np.array_equal(a.y_test, load_breastmnist("test")[1]) and np.array_equal(a.y_val, load_breastmnist("val")[1])
    assert a.positive == 0 and a.info["n_train"] == 120
    for name in ("cnn_val", "cnn_test", "svm_val", "svm_test", "svm_decision_test"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name     # same seed -> same numbers
    assert a.cnn_test.shape == a.svm_test.shape == a.y_test.shape
    assert np.all((a.svm_test >= 0) & (a.svm_test <= 1))
    # Platt is monotone: the SVM's AUC is that of its decision values
    assert np.isclose(E.roc_auc(a.y_test, a.svm_test), E.roc_auc(a.y_test, a.svm_decision_test))
    assert np.array_equal(a.scores("svm", "val"), a.svm_val)
    with pytest.raises(ValueError, match="dataset must be one of"):
        E.paired_models("mnist")


# ----------------------------------------------------------------------------- exercises of 07
def test_exercise_checks_accept_the_right_answer_and_hint_at_mistakes():
    from medlab.exercises import evaluation as X
    c = X.COUNTS
    assert X.check_f1(2 * c["tp"] / (2 * c["tp"] + c["fp"] + c["fn"]))
    wrong = X.check_f1((c["tp"] + c["tn"]) / sum(c.values()))
    assert not wrong and "accuracy" in wrong.hint
    s = X.SCREENING
    se, sp, pi = s["sensitivity"], s["specificity"], s["prevalence"]
    assert X.check_ppv_screening(se * pi / (se * pi + (1 - sp) * (1 - pi)))
    assert "sensitivity" in X.check_ppv_screening(se).hint
    k, n = X.SMALL_SAMPLE["k"], X.SMALL_SAMPLE["n"]
    from statsmodels.stats.proportion import proportion_confint
    assert X.check_sensitivity_interval(proportion_confint(k, n, method="wilson"))
    assert "Wald" in X.check_sensitivity_interval(proportion_confint(k, n, method="normal")).hint
    assert X.check_threshold_split("validation") and not X.check_threshold_split("test")
    for check in (X.check_f1, X.check_ppv_screening, X.check_sensitivity_interval, X.check_threshold_split):
        assert not check(None)
    with pytest.raises(TypeError):
        X.check_sensitivity_interval(0.5)
    with pytest.raises(TypeError):
        X.check_f1("0.9")
