"""Evaluating a diagnostic model: counts, curves, intervals, paired tests, calibration, thresholds, decisions.

Taught in ``notebooks/07_evaluation.ipynb``. NumPy and SciPy only; every function is checked against
scikit-learn or statsmodels in ``tests/test_evaluation.py``.

Conventions (the whole module follows them):

* ``y_true`` holds the labels 0/1 as stored in the dataset. ``positive`` says which label is the *disease*
  (1 = pneumonia in PneumoniaMNIST; **0 = malignant in BreastMNIST**). Sensitivity, PPV, F1, ... are about
  that class.
* ``score`` is what the model outputs: a score for **label 1** (a sigmoid probability, an SVM decision
  value). An image is *predicted label 1* when ``score >= threshold``. With ``positive=0`` the positive
  prediction is therefore ``score < threshold`` and the ranking functions use ``-score`` (ROC AUC does not
  change; the ROC and PR curves are those of the positive class).
* Functions with a ``threshold`` (and calibration, net benefit) need probabilities in [0, 1]; the ranking
  functions (ROC, PR, AUC, DeLong, bootstrap) accept any finite score.
* A ratio that is 0/0 (PPV when nothing is called positive) is reported as 0.0, like scikit-learn's
  ``zero_division=0``; a quantity that needs both classes (AUC, sensitivity *and* specificity) raises a
  ``ValueError`` when ``y_true`` has only one, instead of returning NaN.

>>> y = [0, 0, 1, 1]; p = [0.1, 0.6, 0.4, 0.9]
>>> m = metrics(y, p, threshold=0.5)
>>> m["accuracy"], m["sensitivity"], m["specificity"], roc_auc(y, p)
(0.5, 0.5, 0.5, 0.75)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from ._validate import (check_array, check_binary_labels, check_both_classes, check_choice, check_float,
                        check_int, check_limit, check_probabilities, check_same_length, check_seed)

__all__ = ["confusion", "metrics", "metric_intervals", "roc_curve", "roc_auc", "pr_curve", "average_precision",
           "proportion_ci", "delong_variance", "roc_auc_ci", "bootstrap_aucs", "delong_test", "mcnemar",
           "CalibrationCurve", "calibration_curve", "brier_score", "expected_calibration_error",
           "logit", "Recalibration", "temperature_scale", "platt_scale", "choose_threshold", "predictive_values",
           "net_benefit", "PairedScores", "paired_models", "DATASETS"]

#: Upper limits, checked before any work starts.
MAX_BOOT = 100_000          # bootstrap resamples
MAX_BOOT_ELEMENTS = 5e7     # resamples x images (memory/time of the bootstrap)
MAX_BINS = 10_000
MAX_THRESHOLDS = 100_000
_CHUNK = 250_000            # elements ranked at once in the bootstrap (~2 MB per array: the peak stays low)


# ----------------------------------------------------------------------------- input checks
def _positive(positive: Any) -> int:
    return check_int(positive, "positive", low=0, high=1)


def _labels_scores(y_true: Any, score: Any, *, probabilities: bool, score_name: str = "score",
                   y_name: str = "y_true") -> tuple[np.ndarray, np.ndarray]:
    y = check_binary_labels(y_true, y_name)
    s = (check_probabilities(score, score_name) if probabilities
         else check_array(score, score_name, ndim=1, dtype=np.float64))
    check_same_length(**{y_name: y, score_name: s})
    return y, s


def _threshold(threshold: Any) -> float:
    return check_float(threshold, "threshold", 0.0, 1.0)


def _level(level: Any) -> float:
    return check_float(level, "level", 0.0, 1.0, low_open=True, high_open=True)


@functools.lru_cache(maxsize=64)
def _z(level: float) -> float:
    """The two-sided normal quantile z_{1-(1-level)/2} (cached: scipy's isf costs ~0.1 ms a call)."""
    return float(stats.norm.isf((1.0 - level) / 2))


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else 0.0


def _pos_view(y: np.ndarray, s: np.ndarray, positive: int) -> tuple[np.ndarray, np.ndarray]:
    """(is_positive 0/1, score of the positive class) -- the ranking functions work on these."""
    return (y == positive).astype(np.int64), (s if positive == 1 else -s)


# ----------------------------------------------------------------------------- counts and metrics
def confusion(y_true: Any, score: Any, threshold: float = 0.5, positive: int = 1) -> dict[str, Any]:
    """The confusion matrix at ``threshold``: ``{"tp", "fp", "tn", "fn", "matrix"}``.

    ``score`` are probabilities of label 1 in [0, 1] (hard 0/1 predictions work too); an image is
    predicted label 1 when ``score >= threshold``. ``matrix`` is ``[[tn, fp], [fn, tp]]`` (rows: truly
    negative / positive; columns: predicted negative / positive), the layout of
    ``sklearn.metrics.confusion_matrix(y_true == positive, predicted == positive)``. Used in 07 §1.

    >>> c = confusion([0, 0, 1, 1, 1], [0.2, 0.7, 0.9, 0.4, 0.8])
    >>> c["tp"], c["fp"], c["tn"], c["fn"], c["matrix"].tolist()
    (2, 1, 1, 1, [[1, 1], [1, 2]])
    >>> confusion([0, 1], [0.2, 0.8], positive=0)["tp"]     # label 0 is the disease: predicted 0, truly 0
    1
    """
    y, s = _labels_scores(y_true, score, probabilities=True)
    t, pos = _threshold(threshold), _positive(positive)
    pred1 = s >= t
    pred_pos = pred1 if pos == 1 else ~pred1
    is_pos = y == pos
    tp = int(np.count_nonzero(pred_pos & is_pos))
    fn = int(np.count_nonzero(~pred_pos & is_pos))
    fp = int(np.count_nonzero(pred_pos & ~is_pos))
    tn = int(np.count_nonzero(~pred_pos & ~is_pos))
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "matrix": np.array([[tn, fp], [fn, tp]], dtype=np.int64)}


def _from_counts(tp: int, fp: int, tn: int, fn: int) -> dict[str, float]:
    n = tp + fp + tn + fn
    sens, spec = _ratio(tp, tp + fn), _ratio(tn, tn + fp)
    ppv, npv = _ratio(tp, tp + fp), _ratio(tn, tn + fn)
    den = float(tp + fp) * float(tp + fn) * float(tn + fp) * float(tn + fn)
    mcc = (float(tp) * tn - float(fp) * fn) / np.sqrt(den) if den > 0 else 0.0
    return {"accuracy": _ratio(tp + tn, n), "sensitivity": sens, "recall": sens, "specificity": spec,
            "ppv": ppv, "precision": ppv, "npv": npv, "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "balanced_accuracy": (sens + spec) / 2, "mcc": float(mcc), "youden_j": sens + spec - 1}


def metrics(y_true: Any, score: Any, threshold: float = 0.5, positive: int = 1) -> dict[str, Any]:
    """Every threshold metric at once, from the confusion counts.

    Keys: ``accuracy``, ``sensitivity`` (= ``recall``), ``specificity``, ``ppv`` (= ``precision``), ``npv``,
    ``f1``, ``balanced_accuracy``, ``mcc`` (Matthews), ``youden_j`` (sensitivity + specificity - 1), the counts
    ``tp``, ``fp``, ``tn``, ``fn``, and ``n``, ``n_positive``, ``threshold``, ``positive``. A 0/0 ratio is
    0.0 (scikit-learn's ``zero_division=0``). Both classes must be present in ``y_true`` (otherwise
    sensitivity or specificity is undefined). Used in 07 §1-§2.

    >>> m = metrics([1, 1, 1, 0, 0], [0.9, 0.8, 0.3, 0.6, 0.1])
    >>> m["sensitivity"], m["specificity"], m["ppv"], round(m["f1"], 3)
    (0.6666666666666666, 0.5, 0.6666666666666666, 0.667)
    """
    y, _ = _labels_scores(y_true, score, probabilities=True)
    pos = _positive(positive)
    check_both_classes(y, "y_true", "sensitivity and specificity")
    c = confusion(y_true, score, threshold, pos)
    out: dict[str, Any] = {k: c[k] for k in ("tp", "fp", "tn", "fn")}
    out.update(_from_counts(c["tp"], c["fp"], c["tn"], c["fn"]))
    out.update({"n": int(y.size), "n_positive": int(np.count_nonzero(y == pos)),
                "threshold": float(threshold), "positive": pos})
    return out


def metric_intervals(counts: dict, level: float = 0.95, method: str = "wilson") -> dict[str, tuple[float, float]]:
    """Confidence intervals of the proportion metrics from the counts of :func:`confusion` / :func:`metrics`.

    ``{"accuracy", "sensitivity", "specificity", "ppv", "npv"}`` each ``(low, high)`` by
    :func:`proportion_ci` with the metric's own denominator (sensitivity: the positives, ``tp + fn``).
    A metric whose denominator is 0 gets ``(0.0, 1.0)``: the data say nothing about it. Used in 07 §4.

    >>> iv = metric_intervals({"tp": 30, "fn": 12, "tn": 100, "fp": 14})
    >>> [round(v, 3) for v in iv["sensitivity"]]
    [0.564, 0.828]
    """
    if not isinstance(counts, dict):
        raise TypeError(f"counts must be a dict with tp, fp, tn, fn (from confusion() or metrics()), "
                        f"got {type(counts).__name__}")
    missing = [k for k in ("tp", "fp", "tn", "fn") if k not in counts]
    if missing:
        raise ValueError(f"counts lacks {missing}; pass the dict returned by confusion() or metrics()")
    tp, fp, tn, fn = (check_int(counts[k], k, low=0) for k in ("tp", "fp", "tn", "fn"))
    pairs = {"accuracy": (tp + tn, tp + fp + tn + fn), "sensitivity": (tp, tp + fn),
             "specificity": (tn, tn + fp), "ppv": (tp, tp + fp), "npv": (tn, tn + fn)}
    return {k: (proportion_ci(a, b, method=method, level=level) if b else (0.0, 1.0))
            for k, (a, b) in pairs.items()}


# ----------------------------------------------------------------------------- curves
def _clf_curve(is_pos: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative (fps, tps, thresholds) at each distinct score, from the highest down (as scikit-learn)."""
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], is_pos[order].astype(np.float64)
    distinct = np.where(np.diff(s_sorted))[0]
    idx = np.r_[distinct, y_sorted.size - 1]
    tps = np.cumsum(y_sorted)[idx]
    fps = 1 + idx - tps
    return fps, tps, s_sorted[idx]


def roc_curve(y_true: Any, score: Any, positive: int = 1,
              drop_intermediate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` of the ROC curve, equal to ``sklearn.metrics.roc_curve``.

    One point per distinct score (collinear points dropped when ``drop_intermediate``), starting at (0, 0)
    with threshold ``inf``. ``thresholds`` are of the positive class's score (``score``, or ``-score`` when
    ``positive=0``). Used in 07 §2.

    >>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    y, s = _labels_scores(y_true, score, probabilities=False)
    pos = _positive(positive)
    check_both_classes(y, "y_true", "the ROC curve")
    is_pos, sp = _pos_view(y, s, pos)
    fps, tps, thr = _clf_curve(is_pos, sp)
    if drop_intermediate and fps.size > 2:
        keep = np.where(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])[0]
        fps, tps, thr = fps[keep], tps[keep], thr[keep]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thr]


def roc_auc(y_true: Any, score: Any, positive: int = 1) -> float:
    """Area under the ROC curve = P(score of a random positive > score of a random negative) + ½ P(tie).

    Computed from mid-ranks (Mann-Whitney U); equal to ``sklearn.metrics.roc_auc_score``. The same for
    ``positive=0`` and ``positive=1`` (swapping the classes and negating the score changes nothing).
    Used in 07 §2.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc([1, 1], [0.2, 0.9])
    Traceback (most recent call last):
    ValueError: y_true contains only the label 1: ROC AUC needs at least one image of each class (0 and 1)
    """
    y, s = _labels_scores(y_true, score, probabilities=False)
    pos = _positive(positive)
    check_both_classes(y, "y_true", "ROC AUC")
    is_pos, sp = _pos_view(y, s, pos)
    m, n = int(is_pos.sum()), int(is_pos.size - is_pos.sum())
    ranks = stats.rankdata(sp)
    return float((ranks[is_pos == 1].sum() - m * (m + 1) / 2) / (m * n))


def pr_curve(y_true: Any, score: Any, positive: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(precision, recall, thresholds)``, equal to ``sklearn.metrics.precision_recall_curve``.

    Recall decreases along the arrays; the last point is (precision 1, recall 0) and has no threshold,
    so ``thresholds`` is one shorter. Used in 07 §2.

    >>> p, r, t = pr_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> [round(float(v), 3) for v in p], r.tolist(), t.tolist()
    ([0.5, 0.667, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0], [0.1, 0.35, 0.4, 0.8])
    """
    y, s = _labels_scores(y_true, score, probabilities=False)
    pos = _positive(positive)
    check_both_classes(y, "y_true", "the precision-recall curve")
    is_pos, sp = _pos_view(y, s, pos)
    fps, tps, thr = _clf_curve(is_pos, sp)
    ps = tps + fps
    precision = np.divide(tps, ps, out=np.zeros_like(tps), where=ps != 0)
    recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thr[::-1]


def average_precision(y_true: Any, score: Any, positive: int = 1) -> float:
    """AP = Σ (R_k − R_{k−1}) P_k over the PR curve's points (no interpolation), equal to
    ``sklearn.metrics.average_precision_score``. Used in 07 §2.

    >>> round(average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    precision, recall, _ = pr_curve(y_true, score, positive)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


# ----------------------------------------------------------------------------- intervals
def proportion_ci(k: int, n: int, method: str = "wilson", level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of a proportion ``k / n``: ``(low, high)``, equal to statsmodels'
    ``proportion_confint(k, n, alpha=1 - level, method=method)``.

    ``method``: ``"wilson"`` (score interval, the default: good coverage even for small ``n`` or a
    proportion near 0 or 1), ``"normal"`` (Wald, ``p ± z·sqrt(p(1−p)/n)``, clipped to [0, 1]; poor for
    small n), ``"agresti_coull"``, ``"beta"`` (Clopper-Pearson, exact and conservative), ``"jeffreys"``.
    Used in 07 §4.

    >>> [round(v, 3) for v in proportion_ci(36, 42)]        # sensitivity 36/42 on BreastMNIST-sized data
    [0.722, 0.933]
    """
    method = check_choice(method, "method", ("wilson", "normal", "agresti_coull", "beta", "jeffreys"))
    n = check_int(n, "n", low=1)
    k = check_int(k, "k", low=0, high=n)
    alpha = 1.0 - _level(level)
    z = _z(1.0 - alpha)
    q = k / n
    if method == "normal":
        d = z * np.sqrt(q * (1 - q) / n)
        low, high = q - d, q + d
    elif method == "wilson":
        denom = 1 + z * z / n
        center = (q + z * z / (2 * n)) / denom
        d = z * np.sqrt(q * (1 - q) / n + z * z / (4 * n * n)) / denom
        low, high = center - d, center + d
    elif method == "agresti_coull":
        nc = n + z * z
        qc = (k + z * z / 2) / nc
        d = z * np.sqrt(qc * (1 - qc) / nc)
        low, high = qc - d, qc + d
    elif method == "beta":
        low = 0.0 if k == 0 else stats.beta.ppf(alpha / 2, k, n - k + 1)
        high = 1.0 if k == n else stats.beta.isf(alpha / 2, k + 1, n - k)
    else:  # jeffreys
        low = stats.beta.ppf(alpha / 2, k + 0.5, n - k + 0.5)
        high = stats.beta.isf(alpha / 2, k + 0.5, n - k + 0.5)
    return float(np.clip(low, 0, 1)), float(np.clip(high, 0, 1))


def _delong_parts(is_pos: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs (k,) and their covariance (k, k) by the fast DeLong algorithm of Sun & Xu (2014).

    ``scores`` is (k, N), one row per model, for the positive class. With mid-ranks ``tx`` within the
    positives, ``ty`` within the negatives and ``tz`` in the pooled sample: AUC = (mean tz[pos] − (m+1)/2)/n,
    the structural components V10 = (tz[pos] − tx)/n and V01 = 1 − (tz[neg] − ty)/m, and
    Cov = S10/m + S01/n with S the sample covariances of the components.
    """
    pos = is_pos == 1
    X, Y = scores[:, pos], scores[:, ~pos]
    m, n = X.shape[1], Y.shape[1]
    if m < 2 or n < 2:
        raise ValueError(f"DeLong needs at least 2 images of each class, got {m} positive and {n} negative; "
                         f"use more images (or method='bootstrap')")
    tx = stats.rankdata(X, axis=1)
    ty = stats.rankdata(Y, axis=1)
    tz = stats.rankdata(np.concatenate([X, Y], axis=1), axis=1)
    aucs = (tz[:, :m].sum(axis=1) / m - (m + 1) / 2) / n
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, cov


def delong_variance(y_true: Any, score: Any, positive: int = 1) -> float:
    """The DeLong (1988) estimate of Var(AUC), computed by Sun & Xu's (2014) mid-rank algorithm.

    Needs at least two images of each class. Used in 07 §4.

    >>> round(delong_variance([0, 0, 0, 1, 1, 1], [0.1, 0.5, 0.3, 0.4, 0.8, 0.9]), 5)
    0.02469
    """
    y, s = _labels_scores(y_true, score, probabilities=False)
    pos = _positive(positive)
    check_both_classes(y, "y_true", "ROC AUC")
    is_pos, sp = _pos_view(y, s, pos)
    return float(_delong_parts(is_pos, sp[None, :])[1][0, 0])


def bootstrap_aucs(y_true: Any, score: Any, n_boot: int = 2000, seed: int = 0, positive: int = 1) -> np.ndarray:
    """ROC AUC on ``n_boot`` stratified bootstrap resamples (positives and negatives resampled separately,
    with replacement, each keeping its count), seeded; shape ``(n_boot,)``. The first ``b`` values are those
    of a run with ``n_boot=b``. Used in 07 §4.

    >>> a = bootstrap_aucs([0, 0, 0, 1, 1, 1], [0.1, 0.5, 0.3, 0.4, 0.8, 0.9], n_boot=5, seed=0)
    >>> a.shape, bool(np.all((a >= 0) & (a <= 1)))
    ((5,), True)
    """
    y, s = _labels_scores(y_true, score, probabilities=False)
    pos = _positive(positive)
    check_both_classes(y, "y_true", "ROC AUC")
    n_boot = check_int(n_boot, "n_boot", low=1, high=MAX_BOOT, why_high="time")
    check_limit(float(n_boot) * y.size, MAX_BOOT_ELEMENTS, "bootstrap elements (n_boot x images)",
                "use fewer resamples")
    rng = np.random.default_rng(check_seed(seed))
    is_pos, sp = _pos_view(y, s, pos)
    sx, sy = sp[is_pos == 1], sp[is_pos == 0]
    m, n = sx.size, sy.size
    out = np.empty(n_boot)
    step = max(1, _CHUNK // (m + n))
    for a in range(0, n_boot, step):      # one row of uniforms per resample: a prefix is a shorter run
        b = min(n_boot, a + step)
        u = rng.random((b - a, m + n))
        ix = np.minimum((u[:, :m] * m).astype(np.int64), m - 1)
        iy = np.minimum((u[:, m:] * n).astype(np.int64), n - 1)
        ranks = stats.rankdata(np.concatenate([sx[ix], sy[iy]], axis=1), axis=1)
        out[a:b] = (ranks[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)
    return out


def roc_auc_ci(y_true: Any, score: Any, method: str = "delong", level: float = 0.95, seed: int = 0,
               n_boot: int = 2000, positive: int = 1) -> dict[str, Any]:
    """ROC AUC with a confidence interval: ``{"auc", "low", "high", "method"}``.

    ``"delong"``: AUC ± z·sqrt(Var_DeLong), clipped to [0, 1]. ``"bootstrap"``: the percentile interval of
    ``n_boot`` stratified resamples (:func:`bootstrap_aucs`, seeded by ``seed``). Used in 07 §4.

    >>> r = roc_auc_ci([0, 0, 0, 1, 1, 1], [0.1, 0.5, 0.3, 0.4, 0.8, 0.9])
    >>> r["method"], round(r["auc"], 3), round(r["low"], 3), round(r["high"], 3)
    ('delong', 0.889, 0.581, 1.0)
    """
    method = check_choice(method, "method", ("delong", "bootstrap"))
    lv = _level(level)
    auc = roc_auc(y_true, score, positive)
    if method == "delong":
        se = np.sqrt(max(delong_variance(y_true, score, positive), 0.0))
        z = _z(lv)
        low, high = auc - z * se, auc + z * se
    else:
        boots = bootstrap_aucs(y_true, score, n_boot=n_boot, seed=seed, positive=positive)
        low, high = np.quantile(boots, [(1 - lv) / 2, 1 - (1 - lv) / 2])
    return {"auc": auc, "low": float(np.clip(low, 0, 1)), "high": float(np.clip(high, 0, 1)), "method": method}


# ----------------------------------------------------------------------------- paired comparison
def delong_test(y_true: Any, score_a: Any, score_b: Any, positive: int = 1) -> dict[str, float]:
    """DeLong's test of two correlated AUCs (two models scored on the **same** images):
    ``{"delta", "z", "p"}`` with ``delta = AUC_a − AUC_b``, ``z = delta / sqrt(Var a + Var b − 2 Cov)`` and
    the two-sided normal ``p``. When the variance of the difference is 0 (identical rankings), ``z`` is 0
    and ``p`` 1 if ``delta`` is 0, else ``z = ±inf`` and ``p = 0``. Used in 07 §7.

    >>> r = delong_test([0, 0, 0, 1, 1, 1], [0.1, 0.5, 0.3, 0.4, 0.8, 0.9], [0.2, 0.1, 0.6, 0.5, 0.4, 0.9])
    >>> round(r["delta"], 3), round(r["z"], 3), round(r["p"], 3)
    (0.111, 0.354, 0.724)
    """
    y, sa = _labels_scores(y_true, score_a, probabilities=False, score_name="score_a")
    _, sb = _labels_scores(y_true, score_b, probabilities=False, score_name="score_b")
    pos = _positive(positive)
    check_both_classes(y, "y_true", "ROC AUC")
    is_pos = (y == pos).astype(np.int64)
    both = np.stack([sa, sb]) if pos == 1 else -np.stack([sa, sb])
    aucs, cov = _delong_parts(is_pos, both)
    delta = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    if var <= 1e-15:
        if abs(delta) < 1e-12:
            return {"delta": delta, "z": 0.0, "p": 1.0}
        return {"delta": delta, "z": float(np.copysign(np.inf, delta)), "p": 0.0}
    z = delta / np.sqrt(var)
    return {"delta": delta, "z": float(z), "p": float(2 * stats.norm.sf(abs(z)))}


def mcnemar(y_true: Any, pred_a: Any, pred_b: Any, exact: bool = True, correction: bool = True) -> dict[str, Any]:
    """McNemar's test: do two classifiers make *different* errors on the same images?

    ``table`` is 2×2 of correctness, ``[[both right, a right & b wrong], [a wrong & b right, both wrong]]``.
    Only the discordant cells ``b = table[0, 1]`` and ``c = table[1, 0]`` matter. ``exact`` (default, as
    statsmodels): statistic ``min(b, c)``, p from the binomial(b + c, ½) distribution; otherwise the χ²
    statistic ``(|b − c| − correction)² / (b + c)`` with 1 degree of freedom. Returns
    ``{"statistic", "p", "table"}``, equal to ``statsmodels.stats.contingency_tables.mcnemar(table, exact,
    correction)`` -- except that with no discordant pair at all (b + c = 0) the χ² version returns
    statistic 0 and p 1 where statsmodels gives NaN. Used in 07 §7.

    >>> r = mcnemar([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0], [1, 1, 0, 0, 0, 1])
    >>> r["table"].tolist(), r["statistic"], r["p"]
    ([[2, 2], [2, 0]], 2.0, 1.0)
    """
    y = check_binary_labels(y_true, "y_true")
    a = check_binary_labels(pred_a, "pred_a")
    b = check_binary_labels(pred_b, "pred_b")
    check_same_length(y_true=y, pred_a=a, pred_b=b)
    from ._validate import check_bool
    exact, correction = check_bool(exact, "exact"), check_bool(correction, "correction")
    ra, rb = a == y, b == y
    table = np.array([[np.sum(ra & rb), np.sum(ra & ~rb)], [np.sum(~ra & rb), np.sum(~ra & ~rb)]], dtype=np.int64)
    n1, n2 = int(table[0, 1]), int(table[1, 0])
    if exact:
        statistic = float(min(n1, n2))
        p = min(1.0, 2 * float(stats.binom.cdf(statistic, n1 + n2, 0.5)))
    elif n1 + n2 == 0:
        statistic, p = 0.0, 1.0
    else:
        statistic = (abs(n1 - n2) - int(correction)) ** 2 / (n1 + n2)
        p = float(stats.chi2.sf(statistic, 1))
    return {"statistic": float(statistic), "p": float(p), "table": table}


# ----------------------------------------------------------------------------- calibration
class CalibrationCurve(tuple):
    """``(prob_true, prob_pred)`` of the non-empty bins (unpacks like scikit-learn's result), plus
    ``.counts`` (images per non-empty bin), ``.bin_index`` (which bin each entry is) and ``.edges``."""

    prob_true: np.ndarray
    prob_pred: np.ndarray
    counts: np.ndarray
    bin_index: np.ndarray
    edges: np.ndarray

    def __new__(cls, prob_true, prob_pred, counts, bin_index, edges):
        self = super().__new__(cls, (prob_true, prob_pred))
        self.prob_true, self.prob_pred, self.counts = prob_true, prob_pred, counts
        self.bin_index, self.edges = bin_index, edges
        return self


def _bins(bins: Any) -> int:
    return check_int(bins, "bins", low=2, high=MAX_BINS, why_high="a reliability diagram needs no more")


def calibration_curve(y_true: Any, prob: Any, bins: int = 10, strategy: str = "uniform") -> CalibrationCurve:
    """Reliability-diagram data: per bin of predicted probability, the observed fraction of label 1
    (``prob_true``) and the mean prediction (``prob_pred``). Equal to ``sklearn.calibration.calibration_curve
    (y_true, prob, n_bins=bins, strategy=strategy)``; ``strategy`` is ``"uniform"`` (equal-width bins on
    [0, 1]) or ``"quantile"`` (equal-count bins). Empty bins are left out. Used in 07 §5.

    >>> frac, mean_p = calibration_curve([0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.8, 0.9], bins=2)
    >>> frac.tolist(), [round(float(v), 3) for v in mean_p]
    ([0.0, 1.0], [0.2, 0.767])
    """
    y, p = _labels_scores(y_true, prob, probabilities=True, score_name="prob")
    nb = _bins(bins)
    strategy = check_choice(strategy, "strategy", ("uniform", "quantile"))
    edges = (np.linspace(0.0, 1.0, nb + 1) if strategy == "uniform"
             else np.percentile(p, np.linspace(0, 1, nb + 1) * 100))
    ids = np.searchsorted(edges[1:-1], p)
    total = np.bincount(ids, minlength=nb)
    sums = np.bincount(ids, weights=p, minlength=nb)
    true = np.bincount(ids, weights=y, minlength=nb)
    nz = total != 0
    return CalibrationCurve(true[nz] / total[nz], sums[nz] / total[nz], total[nz], np.flatnonzero(nz), edges)


def brier_score(y_true: Any, prob: Any) -> float:
    """Mean squared error of the probabilities, ``mean((p − y)²)`` (0 is perfect; always predicting the
    prevalence π gives π(1 − π)). Equal to ``sklearn.metrics.brier_score_loss``. Used in 07 §5.

    >>> brier_score([0, 1, 1], [0.1, 0.8, 0.6])
    0.07
    """
    y, p = _labels_scores(y_true, prob, probabilities=True, score_name="prob")
    return float(np.round(np.mean((p - y) ** 2), 15))


def expected_calibration_error(y_true: Any, prob: Any, bins: int = 10, strategy: str = "uniform") -> float:
    """ECE = Σ_b (n_b / N) · |observed fraction_b − mean prediction_b| over the bins of
    :func:`calibration_curve`. Depends on the binning: always say how many bins. Used in 07 §5.

    >>> round(expected_calibration_error([0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.8, 0.9], bins=2), 3)
    0.22
    """
    cc = calibration_curve(y_true, prob, bins, strategy)
    return float(np.sum(cc.counts * np.abs(cc.prob_true - cc.prob_pred)) / np.sum(cc.counts))


_EPS = 1e-15


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.log(q) - np.log1p(-q)


def logit(prob: Any) -> np.ndarray:
    """``log(p / (1 − p))``, the inverse of the sigmoid, with ``p`` clipped to [1e-15, 1 − 1e-15] so that a
    saturated 0 or 1 gives ±34.5 instead of ±inf. Used in 07 §5 (Platt scaling of the CNN's logit).

    >>> logit([0.5, 0.8807970779778823]).round(6).tolist()
    [0.0, 2.0]
    """
    return _logit(check_probabilities(check_array(prob, "prob", ndim=(0, 1), dtype=np.float64).reshape(-1), "prob"))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


@dataclass(frozen=True)
class Recalibration:
    """A fitted recalibration map ``p = sigmoid(a · x + b)``; call it on new scores.

    ``method="temperature"``: ``x = logit(probability)``, ``b = 0`` and ``a = 1 / temperature``.
    ``method="platt"``: ``x`` is the raw score (an SVM decision value, a logit, or a probability).
    """

    method: str
    a: float
    b: float

    @property
    def temperature(self) -> float:
        """``1 / a`` (only meaningful for temperature scaling)."""
        return 1.0 / self.a

    def __call__(self, values: Any) -> np.ndarray:
        if self.method == "temperature":
            x = _logit(check_probabilities(check_array(values, "values", ndim=(0, 1), dtype=np.float64).reshape(-1),
                                           "values"))
        else:
            x = check_array(values, "values", ndim=(0, 1), dtype=np.float64).reshape(-1)
        return _sigmoid(self.a * x + self.b)


def _fit_logistic(x: np.ndarray, target: np.ndarray, intercept: bool, bounds=None) -> tuple[float, float]:
    """Minimise the binomial cross-entropy of sigmoid(a x + b) against (possibly soft) targets."""
    shift = float(np.mean(x)) if intercept else 0.0
    scale = float(np.sqrt(np.mean((x - shift) ** 2)))        # std (with intercept) or RMS (without)
    if not scale > 1e-12 * max(1.0, abs(shift)):
        scale = 1.0
    u = (x - shift) / scale

    def loss_grad(w):
        a, b = w[0], (w[1] if intercept else 0.0)
        z = a * u + b
        loss = np.sum(np.logaddexp(0.0, z) - target * z)
        r = _sigmoid(z) - target
        g = [r @ u, r.sum()] if intercept else [r @ u]
        return loss, np.asarray(g)

    w0 = np.array([1.0, 0.0]) if intercept else np.array([scale])
    b_ = None if bounds is None else [(bounds[0] * scale, bounds[1] * scale)]
    res = optimize.minimize(loss_grad, w0, jac=True, method="L-BFGS-B", bounds=b_,
                            options={"maxiter": 1000, "gtol": 1e-10, "ftol": 1e-14})
    a_u = float(res.x[0])
    b_u = float(res.x[1]) if intercept else 0.0
    return a_u / scale, b_u - a_u * shift / scale


def temperature_scale(y_val: Any, prob_val: Any) -> Recalibration:
    """Fit one temperature T on the **validation** split: ``p' = sigmoid(logit(p) / T)``, T minimising the
    validation cross-entropy. T > 1 softens an over-confident model; the ranking (AUC) is unchanged.
    Equal to a logistic regression without intercept or penalty on ``logit(p)`` (coefficient 1/T), the
    search bounded to T in [1e-4, 1e4]. Used in 07 §5.

    >>> rec = temperature_scale([0, 1, 0, 1, 1, 0], [0.05, 0.99, 0.9, 0.6, 0.97, 0.2])
    >>> round(rec.temperature, 2), rec([0.99]).round(3).tolist()
    (1.69, [0.938])
    """
    y, p = _labels_scores(y_val, prob_val, probabilities=True, y_name="y_val", score_name="prob_val")
    check_both_classes(y, "y_val", "fitting a temperature")
    a, _ = _fit_logistic(_logit(p), y.astype(np.float64), intercept=False, bounds=(1e-4, 1e4))
    return Recalibration("temperature", a, 0.0)


def platt_scale(y_val: Any, score_val: Any, smooth: bool = True) -> Recalibration:
    """Platt scaling fitted on the **validation** split: ``p = sigmoid(a · score + b)``.

    ``smooth=True`` uses Platt's (1999) targets ``(N₊ + 1)/(N₊ + 2)`` and ``1/(N₋ + 2)`` instead of 1 and 0
    (as scikit-learn's ``CalibratedClassifierCV(method="sigmoid")``; it keeps ``a`` finite when the classes are
    separable); ``smooth=False`` is a plain logistic regression on the score. Used in 07 §5 and §7 (SVM
    decision values → probabilities).

    >>> rec = platt_scale([0, 0, 1, 1, 0, 1], [-2.0, -0.5, 0.3, 1.5, 0.2, -0.1])
    >>> round(rec.a, 3), round(rec.b, 3)
    (0.857, 0.066)
    """
    from ._validate import check_bool
    y, s = _labels_scores(y_val, score_val, probabilities=False, y_name="y_val", score_name="score_val")
    smooth = check_bool(smooth, "smooth")
    check_both_classes(y, "y_val", "Platt scaling")
    t = y.astype(np.float64)
    if smooth:
        n1 = float(t.sum()); n0 = t.size - n1
        t = np.where(y == 1, (n1 + 1) / (n1 + 2), 1 / (n0 + 2))
    a, b = _fit_logistic(s, t, intercept=True)
    return Recalibration("platt", a, b)


# ----------------------------------------------------------------------------- thresholds
def choose_threshold(y_val: Any, prob_val: Any, rule: str = "youden", target_sensitivity: float | None = None,
                     positive: int = 1) -> float:
    """A decision threshold chosen on the **validation** split (never on test).

    Candidates are the distinct validation scores (predict label 1 when ``score >= t``). ``rule``:
    ``"youden"`` maximises J = sensitivity + specificity − 1; ``"sensitivity"`` keeps the thresholds whose
    sensitivity is at least ``target_sensitivity`` and takes the most specific; ``"accuracy"`` maximises
    accuracy (the rule whose optimism 07 §6 measures when it is, wrongly, applied to the test split). Ties
    go to the lowest threshold. Used in 07 §6.

    >>> choose_threshold([0, 0, 1, 1, 0, 1], [0.1, 0.3, 0.35, 0.8, 0.4, 0.7])   # J = 2/3 at 0.35 and at 0.7
    0.35
    >>> choose_threshold([0, 0, 1, 1, 0, 1], [0.1, 0.3, 0.35, 0.8, 0.4, 0.7], "sensitivity", target_sensitivity=0.6)
    0.7
    """
    y, p = _labels_scores(y_val, prob_val, probabilities=True, y_name="y_val", score_name="prob_val")
    pos = _positive(positive)
    rule = check_choice(rule, "rule", ("youden", "sensitivity", "accuracy"))
    check_both_classes(y, "y_val", "choosing a threshold")
    if rule == "sensitivity":
        if target_sensitivity is None:
            raise ValueError("rule='sensitivity' needs target_sensitivity (a number in [0, 1], e.g. 0.95)")
        target = check_float(target_sensitivity, "target_sensitivity", 0.0, 1.0)
    elif target_sensitivity is not None:
        raise ValueError(f"target_sensitivity is only used with rule='sensitivity', got rule={rule!r}")
    cand = np.unique(p)
    above = np.nextafter(cand[-1], np.inf)
    if above <= 1.0:
        cand = np.r_[cand, above]
    s1 = np.sort(p[y == 1]); s0 = np.sort(p[y == 0])
    ge1 = s1.size - np.searchsorted(s1, cand, side="left")    # label-1 images with score >= t
    ge0 = s0.size - np.searchsorted(s0, cand, side="left")
    if pos == 1:
        tp, fp = ge1, ge0
        P, N = s1.size, s0.size
    else:
        tp, fp = s0.size - ge0, s1.size - ge1                 # predicted label 0 when score < t
        P, N = s0.size, s1.size
    sens, spec = tp / P, (N - fp) / N
    if rule == "youden":
        k = int(np.argmax(sens + spec))
    elif rule == "accuracy":
        k = int(np.argmax(tp + N - fp))
    else:
        ok = sens >= target - 1e-12
        if not ok.any():
            raise ValueError(f"no threshold in [0, 1] reaches sensitivity {target} on these scores "
                             f"(the highest is {sens.max():.3f}); lower target_sensitivity")
        k = int(np.argmax(np.where(ok, spec, -1.0)))
    return float(cand[k])


# ----------------------------------------------------------------------------- decisions
def predictive_values(sensitivity: Any, specificity: Any, prevalence: Any) -> dict[str, Any]:
    """PPV and NPV by Bayes' rule at a given prevalence π: ``{"ppv", "npv"}``.

    PPV = Se·π / (Se·π + (1 − Sp)(1 − π)), NPV = Sp(1 − π) / (Sp(1 − π) + (1 − Se)π). Arguments may be
    arrays (broadcast); floats in, floats out. ``prevalence`` must lie strictly between 0 and 1; a 0/0
    value (nothing is ever called positive) is 0.0. Used in 07 §3.

    >>> {k: round(v, 3) for k, v in predictive_values(0.9, 0.8, 0.74).items()}    # PneumoniaMNIST's prevalence
    {'ppv': 0.928, 'npv': 0.738}
    >>> {k: round(v, 3) for k, v in predictive_values(0.9, 0.8, 0.05).items()}    # a screening population
    {'ppv': 0.191, 'npv': 0.993}
    """
    def arr(v, name, open_=False):
        a = check_array(v, name, ndim=None, dtype=np.float64, max_size=10**7)
        if a.min() < 0 or a.max() > 1 or (open_ and (a.min() <= 0 or a.max() >= 1)):
            what = "strictly between 0 and 1" if open_ else "in [0, 1]"
            raise ValueError(f"{name} must be {what}, got values from {a.min():.3g} to {a.max():.3g}")
        return a

    se, sp, pi = arr(sensitivity, "sensitivity"), arr(specificity, "specificity"), arr(prevalence, "prevalence", True)
    try:
        se, sp, pi = np.broadcast_arrays(se, sp, pi)
    except ValueError:
        raise ValueError(f"sensitivity, specificity and prevalence must broadcast together, got shapes "
                         f"{se.shape}, {sp.shape}, {pi.shape}") from None
    tp, fp = se * pi, (1 - sp) * (1 - pi)
    tn, fn = sp * (1 - pi), (1 - se) * pi
    ppv = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    npv = np.divide(tn, tn + fn, out=np.zeros_like(tn), where=(tn + fn) > 0)
    if ppv.ndim == 0:
        return {"ppv": float(ppv), "npv": float(npv)}
    return {"ppv": ppv, "npv": npv}


def net_benefit(y_true: Any, prob: Any, thresholds: Any, positive: int = 1) -> dict[str, np.ndarray]:
    """Decision curve analysis (Vickers & Elkin 2006): net benefit at each threshold probability p_t.

    A patient is treated when the model's probability of **disease** is at least p_t (``prob`` is the
    probability of label 1; with ``positive=0`` the probability of disease is ``1 − prob``).
    NB(p_t) = TP/N − FP/N · p_t/(1 − p_t): true positives minus false positives weighted by the odds at
    which one would accept treating a healthy patient. References: ``treat_all`` (π − (1 − π)·p_t/(1 − p_t))
    and ``treat_none`` (0). ``thresholds`` in [0, 1). Returns ``{"threshold", "model", "treat_all",
    "treat_none"}`` arrays. Used in 07 §8.

    >>> nb = net_benefit([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], [0.2, 0.5])
    >>> nb["model"].tolist(), nb["treat_all"].round(3).tolist()
    ([0.4375, 0.0], [0.375, 0.0])
    """
    y, p = _labels_scores(y_true, prob, probabilities=True, score_name="prob")
    pos = _positive(positive)
    t = check_array(thresholds, "thresholds", ndim=(0, 1), dtype=np.float64, max_size=MAX_THRESHOLDS).reshape(-1)
    if t.min() < 0 or t.max() >= 1:
        raise ValueError(f"thresholds must be probabilities in [0, 1) (at 1 the odds p/(1-p) are infinite), "
                         f"got values from {t.min():.3g} to {t.max():.3g}")
    disease = p if pos == 1 else 1.0 - p
    is_pos = y == pos
    n = y.size
    d_pos, d_neg = np.sort(disease[is_pos]), np.sort(disease[~is_pos])
    tp = d_pos.size - np.searchsorted(d_pos, t, side="left")
    fp = d_neg.size - np.searchsorted(d_neg, t, side="left")
    odds = t / (1 - t)
    prev = is_pos.mean()
    return {"threshold": t, "model": tp / n - fp / n * odds, "treat_all": prev - (1 - prev) * odds,
            "treat_none": np.zeros_like(t)}


# ----------------------------------------------------------------------------- the two models of 07
#: The two MedMNIST sets of the kit: positive (disease) label and class names (label 0, label 1).
DATASETS: dict[str, dict[str, Any]] = {
    "pneumoniamnist": {"positive": 1, "class_names": ("normal", "pneumonia"), "n_train": 2000, "epochs": 3},
    "breastmnist": {"positive": 0, "class_names": ("malignant", "normal/benign"), "n_train": None, "epochs": 10},
}


@dataclass
class PairedScores:
    """Validation and test scores of the CNN and the SVM on the **same** images, in split order.

    All scores are probabilities of **label 1**: the CNN's sigmoid output, and the SVM's decision value mapped
    by Platt scaling fitted on the validation split (``svm_decision_*`` keep the raw values). ``positive`` is
    the disease label (0 for BreastMNIST). ``info`` records what was trained and how long it took.
    """

    dataset: str
    positive: int
    class_names: tuple[str, str]
    y_val: np.ndarray
    y_test: np.ndarray
    cnn_val: np.ndarray
    cnn_test: np.ndarray
    svm_val: np.ndarray
    svm_test: np.ndarray
    svm_decision_val: np.ndarray
    svm_decision_test: np.ndarray
    info: dict

    def scores(self, model: str, split: str = "test") -> np.ndarray:
        """``scores("cnn" | "svm", "val" | "test")``."""
        check_choice(model, "model", ("cnn", "svm"))
        check_choice(split, "split", ("val", "test"))
        return getattr(self, f"{model}_{split}")


def paired_models(dataset: str = "pneumoniamnist", seed: int = 0, n_train: int | None | str = "default",
                  epochs: int | None = None, svm_grid: Any = None) -> PairedScores:
    """Train the article's CNN (:func:`medlab.training.seed_cnn`, a few seeded epochs) and the SVM of 05
    (:func:`medlab.classical.svm_baseline`, chosen on validation) on the **same** shuffled training images,
    and score both on the same validation and test images.

    ``n_train``: how many (seed-shuffled) training images both models see (``"default"``: 2,000 for
    PneumoniaMNIST, all 546 for BreastMNIST; ``None``: all). ``epochs``: CNN epochs (default 3 / 10).
    ``svm_grid``: the SVM grid (default :data:`medlab.classical.DEFAULT_GRID`). The SVM's decision values are
    turned into probabilities by :func:`platt_scale` fitted on validation. Imports TensorFlow (lazily). The
    training run is written to a temporary folder and removed. Used in 07 (all sections) and
    ``benchmarks/bench_evaluation.py``.
    """
    import tempfile
    import time

    from . import classical, datasets, features, training

    dataset = check_choice(dataset, "dataset", sorted(DATASETS))
    cfg = DATASETS[dataset]
    seed = check_seed(seed)
    loader = {"pneumoniamnist": datasets.load_pneumoniamnist, "breastmnist": datasets.load_breastmnist}[dataset]
    (xt, yt), (xv, yv), (xs, ys) = (loader(s) for s in ("train", "val", "test"))
    if n_train == "default":
        n_train = cfg["n_train"]
    n = len(yt) if n_train is None else check_int(n_train, "n_train", low=20, high=len(yt))
    epochs = cfg["epochs"] if epochs is None else check_int(epochs, "epochs", low=1, high=50)
    idx = np.random.default_rng(seed).permutation(len(yt))[:n]
    xt, yt = xt[idx], yt[idx]
    info: dict[str, Any] = {"dataset": dataset, "seed": seed, "n_train": n, "n_val": len(yv), "n_test": len(ys)}

    t0 = time.perf_counter()
    X = {}
    for split, images in (("train", xt), ("val", xv), ("test", xs)):
        table = features.extract_features(images, progress=False)
        X[split], names = features.feature_matrix(table, None if split == "train" else names)
    grid = classical.DEFAULT_GRID if svm_grid is None else svm_grid
    svm = classical.svm_baseline(X["train"], yt, X["val"], yv, X["test"], ys, names, grid=grid, seed=seed,
                                 importance_repeats=0, positive_label=cfg["positive"])
    dv, ds = svm.model.decision_function(X["val"]), svm.y_score
    platt = platt_scale(yv, dv)
    info["svm"] = {"params": svm.params, "platt_a": platt.a, "platt_b": platt.b,
                   "seconds": time.perf_counter() - t0}

    t0 = time.perf_counter()
    model = training.seed_cnn((28, 28, 1), seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        run = training.fit(model, (xt, yt), (xv, yv), epochs=epochs, batch_size=64, seed=seed, run_dir=tmp)
    cnn_val, cnn_test = run.predict(xv), run.predict(xs)
    info["cnn"] = {"model": "seed_cnn", "epochs": epochs, "batch_size": 64, "history": run.history,
                   "seconds": time.perf_counter() - t0}
    return PairedScores(dataset=dataset, positive=cfg["positive"], class_names=cfg["class_names"],
                        y_val=yv.astype(np.int64), y_test=ys.astype(np.int64),
                        cnn_val=np.clip(cnn_val, 0.0, 1.0), cnn_test=np.clip(cnn_test, 0.0, 1.0),
                        svm_val=platt(dv), svm_test=platt(ds), svm_decision_val=dv, svm_decision_test=ds, info=info)
