"""A classical baseline: hand-crafted features + a support vector machine (scikit-learn).

The protocol mirrors what the CNN notebooks must do so the two can be compared honestly:

1. features are computed per image (:func:`medlab.features.extract_features`) -- no
   statistic is learned from the data, so no split can leak into another here;
2. the SVM is a ``Pipeline(StandardScaler, SVC)``: the scaler's mean and standard deviation
   are learned in ``fit`` from the **training** rows only;
3. kernel, ``C`` and ``gamma`` are chosen on the **validation** split;
4. the chosen model is evaluated **once** on the **test** split with :func:`diagnostic_metrics`,
   and its test scores are saved (:func:`save_baseline`) for the evaluation notebook.

The training split of PneumoniaMNIST in this kit is not in its official order: it is
shuffled with ``seed`` before fitting (and before taking the optional subset ``n_train``).

>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 3)); y = (X[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
>>> res = svm_baseline(X[:120], y[:120], X[120:160], y[120:160], X[160:], y[160:],
...                    grid=[{"kernel": "linear", "C": 1.0}], importance_repeats=0)
>>> res.test_metrics["accuracy"] > 0.8
True
"""
from __future__ import annotations

import json
import math
import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

__all__ = ["DEFAULT_GRID", "make_svm", "diagnostic_metrics", "shuffle_split", "select_svm",
           "permutation_importances", "BaselineResult", "svm_baseline", "save_baseline", "load_baseline",
           "dataset_features", "svm_gamma", "svm_decision", "svm_decision_grid", "fit_svm_2d"]

#: A modest grid (6 fits): linear SVMs with two C values, RBF SVMs with two C and two gamma values.
DEFAULT_GRID: tuple[dict, ...] = (
    {"kernel": "linear", "C": 0.1}, {"kernel": "linear", "C": 1.0},
    {"kernel": "rbf", "C": 1.0, "gamma": "scale"}, {"kernel": "rbf", "C": 10.0, "gamma": "scale"},
    {"kernel": "rbf", "C": 1.0, "gamma": 0.01}, {"kernel": "rbf", "C": 10.0, "gamma": 0.01},
)

#: Default and largest solver iteration limit of every SVM fit (libsvm has none by default: a huge ``C``
#: can run for hours). On the 4708 x 50 PneumoniaMNIST feature rows with C = 1e8, 200 000 iterations took
#: 2.0 s CPU (RBF, converged) and 9.2 s CPU (linear, not converged); measured on a shared, loaded machine.
DEFAULT_MAX_ITER = 200_000
MAX_ITER_LIMIT = 2_000_000
#: Largest ``C``: beyond it the soft margin is a hard margin in practice and libsvm only runs longer.
MAX_C = 1e8
#: Largest number of training rows of an SVM fit (kernel SVMs cost O(n^2) memory/time; subsample with n_train).
MAX_TRAIN_ROWS = 50_000
#: Largest hyper-parameter grid.
MAX_GRID = 200

_METRICS = ("accuracy", "sensitivity", "specificity", "precision", "npv", "f1", "balanced_accuracy", "roc_auc")


# ----------------------------------------------------------------------------- validation
def _check_xy(X, y, name: str) -> tuple[np.ndarray, np.ndarray]:
    from ._validate import check_array

    Xa = check_array(X, f"X_{name}", dtype=None)
    if Xa.ndim != 2 or Xa.shape[0] == 0 or Xa.shape[1] == 0:
        raise ValueError(f"X_{name} must be a non-empty 2-D array (n_samples, n_features), got shape {Xa.shape}")
    Xa = Xa.astype(np.float64)
    if not np.all(np.isfinite(Xa)):
        raise ValueError(f"X_{name} contains NaN or infinite values; an SVM needs finite features")
    ya = check_array(y, f"y_{name}", ndim=(1, 2), finite=False)
    if ya.ndim == 2 and 1 not in ya.shape:
        raise ValueError(f"y_{name} must be one label per row (shape (n,) or (n, 1)), got shape {ya.shape}")
    ya = ya.reshape(-1)
    if ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"y_{name} must have one label per row of X_{name} ({Xa.shape[0]}), "
                         f"got shape {np.shape(y)}")
    if not np.all(np.isin(ya, (0, 1))):
        raise ValueError(f"y_{name} must contain binary labels 0/1, got values {np.unique(ya)[:5]}")
    return Xa, ya.astype(np.int64)


def _check_seed(seed) -> int:
    from ._validate import check_seed

    return check_seed(seed)


def _check_max_iter(max_iter) -> int:
    from ._validate import check_int

    return check_int(max_iter, "max_iter", low=1, high=MAX_ITER_LIMIT, why_high="solver iterations: time")


def _check_class_weight(class_weight):
    if class_weight is None or class_weight == "balanced":
        return class_weight
    if isinstance(class_weight, dict):
        from ._validate import check_float

        if set(class_weight) - {0, 1}:
            raise ValueError(f"class_weight dict must have keys 0 and 1, got {sorted(map(repr, class_weight))}")
        return {k: check_float(v, f"class_weight[{k}]", 0, low_open=True) for k, v in class_weight.items()}
    raise ValueError(f"class_weight must be 'balanced', None or a dict {{0: w0, 1: w1}}, got {class_weight!r}")


def _fit_bounded(model: Pipeline, X: np.ndarray, y: np.ndarray) -> bool:
    """``model.fit(X, y)`` with its iteration limit; True if the solver converged (no ConvergenceWarning)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    if X.shape[0] > MAX_TRAIN_ROWS:
        raise ValueError(f"an SVM fit on {X.shape[0]:,} rows: the limit is {MAX_TRAIN_ROWS:,} (kernel SVMs cost "
                         "O(n^2) time and memory); subsample the training rows (n_train=...)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y)
    return not any(issubclass(c.category, ConvergenceWarning) for c in caught)


# ----------------------------------------------------------------------------- model
def make_svm(kernel: str = "rbf", C: float = 1.0, gamma: float | str = "scale",
             class_weight: str | None = "balanced", seed: int = 0, max_iter: int = DEFAULT_MAX_ITER) -> Pipeline:
    """``Pipeline([("scale", StandardScaler()), ("svm", SVC(...))])``.

    The scaler sits *inside* the pipeline so that ``fit`` learns the feature means and
    standard deviations from the training rows only and re-uses them on new data.
    ``class_weight="balanced"`` weights the classes inversely to their frequency (PneumoniaMNIST
    is 74 % pneumonia), so the decision threshold 0 is not pushed towards the majority.
    ``max_iter`` (at most :data:`MAX_ITER_LIMIT`) bounds the libsvm solver, so a huge ``C`` (at most
    :data:`MAX_C`) cannot run for hours; a fit that hits it warns (``ConvergenceWarning``).

    >>> make_svm("linear", C=0.5).named_steps["svm"].C
    0.5
    """
    if not isinstance(kernel, str) or kernel not in ("linear", "rbf", "poly", "sigmoid"):
        raise ValueError(f"kernel must be 'linear', 'rbf', 'poly' or 'sigmoid', got {kernel!r}")
    if isinstance(C, (bool, np.bool_)) or not isinstance(C, numbers.Real):
        raise TypeError(f"C must be a positive number (the penalty for margin violations), got "
                        f"{type(C).__name__} {C!r}")
    if not (C > 0 and math.isfinite(C)):
        raise ValueError(f"C must be a positive number (the penalty for margin violations), got {C!r}")
    if C > MAX_C:
        raise ValueError(f"C must be <= {MAX_C:g} (beyond it the margin is hard in practice and the solver only "
                         f"runs longer), got {C!r}")
    if isinstance(gamma, str):
        if gamma not in ("scale", "auto"):
            raise ValueError(f"gamma must be a positive number, 'scale' or 'auto', got {gamma!r}")
    elif isinstance(gamma, (bool, np.bool_)) or not isinstance(gamma, numbers.Real):
        raise TypeError(f"gamma must be a positive number, 'scale' or 'auto', got {type(gamma).__name__} {gamma!r}")
    elif not (gamma > 0 and math.isfinite(gamma)):
        raise ValueError(f"gamma must be a positive number, 'scale' or 'auto', got {gamma!r}")
    return Pipeline([("scale", StandardScaler()),
                     ("svm", SVC(kernel=kernel, C=float(C), gamma=gamma, class_weight=_check_class_weight(class_weight),
                                 random_state=_check_seed(seed), max_iter=_check_max_iter(max_iter)))])


# ----------------------------------------------------------------------------- metrics
def diagnostic_metrics(y_true, y_score, threshold: float = 0.5, positive_label: int = 1) -> dict[str, float]:
    """Accuracy, sensitivity, specificity, precision, NPV, F1, balanced accuracy, ROC AUC.

    ``y_score`` is a score for class 1 (a probability, a logit, an SVM decision value);
    a sample is predicted as class 1 when ``y_score >= threshold`` (use 0.5 for
    probabilities, 0.0 for SVM decision values and logits). ``positive_label`` says which
    class is the "disease" for sensitivity/specificity/precision/F1 (1 for PneumoniaMNIST
    pneumonia; 0 for BreastMNIST, where 0 = malignant). ROC AUC does not depend on the
    threshold. Counts ``tp, fp, tn, fn`` are returned too.

    >>> m = diagnostic_metrics([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], threshold=0.5)
    >>> m["accuracy"], m["sensitivity"], m["specificity"], m["roc_auc"]
    (0.5, 0.5, 0.5, 0.75)
    """
    from ._validate import check_array

    yt = check_array(y_true, "y_true", ndim=(1, 2), finite=False).reshape(-1)
    ys = check_array(y_score, "y_score", ndim=(1, 2), finite=False).astype(np.float64).reshape(-1)
    if yt.shape != ys.shape or yt.size == 0:
        raise ValueError(f"y_true and y_score must be non-empty and of equal length, got shapes "
                         f"{np.shape(y_true)} and {np.shape(y_score)}")
    if not np.all(np.isin(yt, (0, 1))):
        raise ValueError(f"y_true must contain binary labels 0/1, got values {np.unique(yt)[:5]}")
    if not np.all(np.isfinite(ys)):
        raise ValueError("y_score contains NaN or infinite values")
    positive_label = _check_positive_label(positive_label)
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a finite number, got {type(threshold).__name__} {threshold!r}")
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    if len(np.unique(yt)) < 2:
        raise ValueError("y_true must contain both classes: sensitivity, specificity and ROC AUC are "
                         "undefined with a single class")
    pred1 = ys >= threshold
    is_pos = yt == positive_label
    pred_pos = pred1 if positive_label == 1 else ~pred1
    tp = int(np.sum(pred_pos & is_pos))
    fn = int(np.sum(~pred_pos & is_pos))
    tn = int(np.sum(~pred_pos & ~is_pos))
    fp = int(np.sum(pred_pos & ~is_pos))

    def ratio(a: int, b: int) -> float:
        return a / b if b else 0.0

    sens, spec = ratio(tp, tp + fn), ratio(tn, tn + fp)
    prec = ratio(tp, tp + fp)
    auc = roc_auc_score(is_pos.astype(int), ys if positive_label == 1 else -ys)
    return {"n": int(yt.size), "n_positive": int(is_pos.sum()), "threshold": float(threshold),
            "positive_label": int(positive_label), "tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "accuracy": (tp + tn) / yt.size, "sensitivity": sens, "specificity": spec,
            "precision": prec, "npv": ratio(tn, tn + fn), "f1": ratio(2 * tp, 2 * tp + fp + fn),
            "balanced_accuracy": (sens + spec) / 2, "roc_auc": float(auc)}


def _check_positive_label(positive_label) -> int:
    if isinstance(positive_label, (bool, np.bool_)) or not isinstance(positive_label, numbers.Integral):
        raise TypeError(f"positive_label must be 0 or 1 (which class is the disease), got "
                        f"{type(positive_label).__name__} {positive_label!r}")
    if positive_label not in (0, 1):
        raise ValueError(f"positive_label must be 0 or 1 (which class is the disease), got {positive_label!r}")
    return int(positive_label)


# ----------------------------------------------------------------------------- protocol
def shuffle_split(X, y, seed: int = 0, n: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle rows with ``seed`` and keep the first ``n`` (all if ``None``): ``(X, y, index)``.

    >>> X, y, idx = shuffle_split(np.arange(10)[:, None], np.arange(10) % 2, seed=1, n=4)
    >>> X.shape, sorted(idx.tolist()) == sorted(set(idx.tolist()))
    ((4, 1), True)
    """
    from ._validate import check_array, check_int

    Xa = check_array(X, "X", finite=False)
    ya = check_array(y, "y", ndim=(1, 2), finite=False).reshape(-1)
    if Xa.ndim == 0 or Xa.shape[0] != ya.shape[0]:
        raise ValueError(f"X and y must have the same number of rows, got shapes {Xa.shape} and {ya.shape}")
    if n is not None:
        n = check_int(n, "n", low=2, high=len(ya), why_high="the number of rows")
    idx = np.random.default_rng(_check_seed(seed)).permutation(len(ya))
    if n is not None:
        idx = idx[:n]
    return Xa[idx], ya[idx], idx


def _params(p: dict, k: int = 0) -> dict:
    if not isinstance(p, dict):
        raise TypeError(f"grid[{k}] must be a dict such as {{'kernel': 'rbf', 'C': 1.0, 'gamma': 'scale'}}, "
                        f"got {type(p).__name__} {p!r}")
    unknown = set(p) - {"kernel", "C", "gamma"}
    if unknown:
        raise ValueError(f"grid[{k}] has unknown keys {sorted(map(str, unknown))}; allowed: kernel, C, gamma")
    q = {"kernel": p.get("kernel", "rbf"), "C": p.get("C", 1.0)}
    if q["kernel"] != "linear":
        q["gamma"] = p.get("gamma", "scale")
    try:
        make_svm(**q)          # validates kernel, C and gamma with the argument's name
    except (TypeError, ValueError) as e:
        raise type(e)(f"grid[{k}]: {e}") from None
    q["C"] = float(q["C"])
    return q


def _check_grid(grid) -> list[dict]:
    if grid is None or isinstance(grid, (str, bytes, dict)) or not hasattr(grid, "__iter__"):
        raise TypeError(f"grid must be a list of dicts {{'kernel', 'C', 'gamma'}}, got {type(grid).__name__}")
    entries = list(grid)
    if not entries:
        raise ValueError("grid must contain at least one {'kernel', 'C', 'gamma'} entry")
    if len(entries) > MAX_GRID:
        raise ValueError(f"grid has {len(entries)} entries; at most {MAX_GRID} fits are allowed (time)")
    return [_params(e, k) for k, e in enumerate(entries)]


def select_svm(X_train, y_train, X_val, y_val, grid: Sequence[dict] = DEFAULT_GRID, metric: str = "roc_auc",
               seed: int = 0, class_weight: str | None = "balanced",
               positive_label: int = 1, max_iter: int = DEFAULT_MAX_ITER) -> tuple[dict, list[dict]]:
    """Fit one pipeline per grid entry on train, score it on validation; return ``(best, table)``.

    ``metric`` is one of ``roc_auc`` (default, threshold-free), ``balanced_accuracy``,
    ``accuracy``, ``f1``, ``sensitivity``, ... computed with :func:`diagnostic_metrics` at
    threshold 0 with ``positive_label`` as the diseased class (0 for BreastMNIST, where 0 =
    malignant). Ties keep the earlier (simpler) grid entry. The table has one row per entry
    with the validation metrics, the fit time in seconds and ``converged`` (False when the solver stopped at
    ``max_iter``; the entry is still scored). Grid entries, ``C`` (<= :data:`MAX_C`), ``max_iter``
    (<= :data:`MAX_ITER_LIMIT`) and the training size are checked before the first fit.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 3)); y = (X[:, 0] > 0).astype(int)
    >>> grid = [{"kernel": "linear", "C": 0.01}, {"kernel": "linear", "C": 1.0}]
    >>> best, table = select_svm(X[:80], y[:80], X[80:], y[80:], grid=grid)
    >>> best, len(table), round(table[1]["val_roc_auc"], 2)
    ({'kernel': 'linear', 'C': 1.0}, 2, 0.98)
    """
    Xt, yt = _check_xy(X_train, y_train, "train")
    Xv, yv = _check_xy(X_val, y_val, "val")
    if Xv.shape[1] != Xt.shape[1]:
        raise ValueError(f"X_val must have the same {Xt.shape[1]} features as X_train, got {Xv.shape[1]}")
    if not isinstance(metric, str) or metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
    params_list = _check_grid(grid)
    positive_label = _check_positive_label(positive_label)
    max_iter = _check_max_iter(max_iter)
    class_weight = _check_class_weight(class_weight)
    seed = _check_seed(seed)
    if Xt.shape[0] > MAX_TRAIN_ROWS:
        raise ValueError(f"X_train has {Xt.shape[0]:,} rows: the limit is {MAX_TRAIN_ROWS:,} (kernel SVMs cost "
                         "O(n^2) time and memory); subsample the training rows")
    table, best, best_score = [], None, -np.inf
    for params in params_list:
        model = make_svm(**params, class_weight=class_weight, seed=seed, max_iter=max_iter)
        t0 = time.perf_counter()
        converged = _fit_bounded(model, Xt, yt)
        fit_s = time.perf_counter() - t0
        m = diagnostic_metrics(yv, model.decision_function(Xv), threshold=0.0, positive_label=positive_label)
        table.append({**params, **{f"val_{k}": m[k] for k in _METRICS}, "fit_s": fit_s, "converged": converged})
        if m[metric] > best_score:
            best, best_score = params, m[metric]
    return dict(best), table


def permutation_importances(model, X, y, feature_names: Sequence[str], n_repeats: int = 5, seed: int = 0,
                            scoring: str = "roc_auc") -> list[dict]:
    """Drop in ``scoring`` when one feature column is shuffled (``sklearn.inspection``).

    Returns rows ``{"feature", "mean", "std"}`` sorted by decreasing mean drop. Compute it
    on held-out data (validation), not on the rows the model was fitted on.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 3)); y = (X[:, 0] > 0).astype(int)   # only column 0 matters
    >>> model = make_svm("linear").fit(X[:80], y[:80])
    >>> rows = permutation_importances(model, X[80:], y[80:], ["signal", "noise1", "noise2"], n_repeats=3)
    >>> rows[0]["feature"], rows[0]["mean"] > 0.1
    ('signal', True)
    """
    from sklearn.inspection import permutation_importance

    from ._validate import check_int

    Xa, ya = _check_xy(X, y, "importance")
    names = _check_names(feature_names, Xa.shape[1])
    n_repeats = check_int(n_repeats, "n_repeats", low=1, high=1000, why_high="one scoring pass per repeat and column")
    if not isinstance(scoring, str) or scoring not in ("roc_auc", "accuracy", "balanced_accuracy", "f1"):
        raise ValueError(f"scoring must be one of 'roc_auc', 'accuracy', 'balanced_accuracy', 'f1', got {scoring!r}")
    if not hasattr(model, "predict"):
        raise TypeError(f"model must be a fitted scikit-learn estimator (e.g. from make_svm().fit), got "
                        f"{type(model).__name__}")
    r = permutation_importance(model, Xa, ya, scoring=scoring, n_repeats=int(n_repeats),
                               random_state=_check_seed(seed), n_jobs=1)
    rows = [{"feature": n, "mean": float(m), "std": float(s)}
            for n, m, s in zip(names, r.importances_mean, r.importances_std)]
    return sorted(rows, key=lambda row: -row["mean"])


def _check_names(feature_names, n: int) -> list[str]:
    if feature_names is None or isinstance(feature_names, (str, bytes, dict)) \
            or not hasattr(feature_names, "__iter__"):
        raise TypeError(f"feature_names must be a list of {n} column names, got {type(feature_names).__name__}")
    names = [str(v) for v in feature_names]
    if len(names) != n:
        raise ValueError(f"feature_names must name all {n} columns, got {len(names)} names")
    return names


@dataclass
class BaselineResult:
    """Everything the SVM baseline produced; ``save_baseline`` writes it to disk."""

    model: Pipeline
    params: dict
    validation: list[dict]
    test_metrics: dict
    y_true: np.ndarray
    y_score: np.ndarray
    y_pred: np.ndarray
    feature_names: list[str]
    seed: int
    n_train: int
    importances: list[dict] = field(default_factory=list)
    threshold: float = 0.0
    info: dict = field(default_factory=dict)

    def summary(self) -> str:
        m = self.test_metrics
        p = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return (f"SVM ({p}), trained on {self.n_train} images, seed {self.seed}\n"
                f"test: accuracy {m['accuracy']:.3f}, sensitivity {m['sensitivity']:.3f}, "
                f"specificity {m['specificity']:.3f}, F1 {m['f1']:.3f}, ROC AUC {m['roc_auc']:.3f}")

    def __repr__(self) -> str:
        return self.summary()


def svm_baseline(X_train, y_train, X_val, y_val, X_test, y_test, feature_names: Sequence[str] | None = None,
                 grid: Sequence[dict] = DEFAULT_GRID, metric: str = "roc_auc", seed: int = 0,
                 n_train: int | None = None, importance_repeats: int = 5, positive_label: int = 1,
                 class_weight: str | None = "balanced", max_iter: int = DEFAULT_MAX_ITER) -> BaselineResult:
    """The whole protocol: shuffle train (seed), choose on validation, fit, test **once**.

    The final model is fitted on the (shuffled, optionally subsampled to ``n_train``)
    training rows only; validation rows choose the hyper-parameters and are used for
    the permutation importances (``importance_repeats=0`` skips them); the test rows are
    touched exactly once, at the end, to compute :func:`diagnostic_metrics` (threshold 0
    on the SVM decision value). Test predictions stay in the test split's given order so a
    CNN evaluated on the same split can be compared sample by sample.
    """
    seed = _check_seed(seed)
    Xt, yt = _check_xy(X_train, y_train, "train")
    Xv, yv = _check_xy(X_val, y_val, "val")
    Xs, ys = _check_xy(X_test, y_test, "test")
    for nm, A in (("X_val", Xv), ("X_test", Xs)):
        if A.shape[1] != Xt.shape[1]:
            raise ValueError(f"{nm} must have the same {Xt.shape[1]} features as X_train, got {A.shape[1]}")
    names = ([f"f{k}" for k in range(Xt.shape[1])] if feature_names is None
             else _check_names(feature_names, Xt.shape[1]))
    from ._validate import check_int

    importance_repeats = check_int(importance_repeats, "importance_repeats", low=0, high=1000,
                                   why_high="one scoring pass per repeat and column")
    Xt, yt, _ = shuffle_split(Xt, yt, seed=seed, n=n_train)
    best, table = select_svm(Xt, yt, Xv, yv, grid=grid, metric=metric, seed=seed, class_weight=class_weight,
                             positive_label=positive_label, max_iter=max_iter)
    model = make_svm(**best, class_weight=class_weight, seed=seed, max_iter=max_iter)
    converged = _fit_bounded(model, Xt, yt)
    imps = (permutation_importances(model, Xv, yv, names, n_repeats=importance_repeats, seed=seed)
            if importance_repeats else [])
    score = model.decision_function(Xs)                       # the one and only look at test
    metrics = diagnostic_metrics(ys, score, threshold=0.0, positive_label=positive_label)
    return BaselineResult(model=model, params=best, validation=table, test_metrics=metrics, y_true=ys,
                          y_score=score, y_pred=(score >= 0.0).astype(np.int64), feature_names=names,
                          seed=seed, n_train=len(yt), importances=imps, threshold=0.0,
                          info={"selection_metric": metric, "class_weight": class_weight,
                                "n_val": len(yv), "n_test": len(ys), "max_iter": max_iter,
                                "converged": converged})


# ----------------------------------------------------------------------------- persistence
def _json_safe(v: Any):
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def save_baseline(result: BaselineResult, path, dataset: str = "", extra: dict | None = None) -> tuple[Path, Path]:
    """Write ``<path>.json`` (params, metrics, validation table, importances) and ``<path>.npz``
    (``y_true``, ``y_score``, ``y_pred`` in test order). Parent folders are created.

    ``path`` is chosen by the caller (e.g. ``notebooks/results/pneumoniamnist_svm``); a
    ``.json``/``.npz`` suffix is replaced. Returns the two paths. Both files are checked with
    :func:`medlab._validate.check_output_path` *before* anything is written: nothing is ever written into a
    data folder (``datasets/``) or over an existing data file, whatever ``path`` says.

    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(90, 2)); y = (X[:, 0] > 0).astype(int)
    >>> res = svm_baseline(X[:50], y[:50], X[50:70], y[50:70], X[70:], y[70:],
    ...                    grid=[{"kernel": "linear", "C": 1.0}], importance_repeats=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     jpath, npath = save_baseline(res, Path(tmp) / "toy_svm", dataset="toy")
    ...     doc = load_baseline(jpath)
    >>> jpath.name, npath.name, doc["dataset"], bool((doc["y_score"] == res.y_score).all())
    ('toy_svm.json', 'toy_svm.npz', 'toy', True)
    """
    from ._validate import check_output_dir, check_output_path

    if not isinstance(result, BaselineResult):
        raise TypeError(f"result must be a BaselineResult from svm_baseline(), got {type(result).__name__}")
    if not isinstance(dataset, str):
        raise TypeError(f"dataset must be a string (the dataset's name), got {type(dataset).__name__}")
    if extra is not None and not isinstance(extra, dict):
        raise TypeError(f"extra must be None or a dict of JSON-serialisable values, got {type(extra).__name__}")
    base = _base_path(path)
    jpath, npath = base.with_name(base.name + ".json"), base.with_name(base.name + ".npz")
    check_output_dir(base.parent, "path (its folder)")
    jpath = check_output_path(jpath, "path (.json)")
    npath = check_output_path(npath, "path (.npz)")
    doc = {"model": "StandardScaler + SVC", "dataset": dataset, "params": result.params, "seed": result.seed,
           "n_train": result.n_train, "threshold": result.threshold, "test_metrics": result.test_metrics,
           "validation": result.validation, "importances": result.importances,
           "feature_names": result.feature_names, "info": result.info, "extra": extra or {}}
    try:
        text = json.dumps(_json_safe(doc), indent=1, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"the results cannot be written as JSON ({e}); extra must hold only numbers, strings, "
                         "lists and dicts, and the metrics must be finite") from None
    base.parent.mkdir(parents=True, exist_ok=True)
    jpath.write_text(text)
    with open(npath, "wb") as fh:         # a file object: np.savez cannot append a second suffix
        np.savez(fh, y_true=result.y_true, y_score=result.y_score, y_pred=result.y_pred)
    return jpath, npath


def _base_path(path) -> Path:
    import os

    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or pathlib.Path, without suffix), got "
                        f"{type(path).__name__} {path!r}")
    if str(path).strip() == "":
        raise ValueError(f"path must be a non-empty file path (without suffix), got {path!r}")
    base = Path(path).expanduser()
    if base.suffix in (".json", ".npz"):
        base = base.with_suffix("")
    if base.name in ("", ".", ".."):
        raise ValueError(f"path must name a file (e.g. notebooks/results/pneumoniamnist_svm), got {path!r}")
    return base


#: What :func:`load_baseline` needs in the JSON file and the npz file.
_BASELINE_KEYS = ("params", "test_metrics", "threshold", "feature_names")
_BASELINE_ARRAYS = ("y_true", "y_score", "y_pred")


def load_baseline(path) -> dict:
    """Read what :func:`save_baseline` wrote: the JSON dict plus ``y_true``, ``y_score``, ``y_pred``.

    ``path`` may carry the ``.json`` or ``.npz`` suffix or none.

    >>> import tempfile
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(90, 2)); y = (X[:, 1] > 0).astype(int)
    >>> res = svm_baseline(X[:50], y[:50], X[50:70], y[50:70], X[70:], y[70:],
    ...                    grid=[{"kernel": "linear", "C": 1.0}], importance_repeats=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = save_baseline(res, Path(tmp) / "run")
    ...     doc = load_baseline(Path(tmp) / "run")
    >>> doc["params"], doc["y_true"].shape, doc["test_metrics"]["accuracy"] == res.test_metrics["accuracy"]
    ({'kernel': 'linear', 'C': 1.0}, (20,), True)
    """
    import zipfile

    base = _base_path(path)
    jpath, npath = base.with_name(base.name + ".json"), base.with_name(base.name + ".npz")
    if not jpath.exists() or not npath.exists():
        raise FileNotFoundError(f"no saved baseline at {base} (expected {jpath.name} and {npath.name}); "
                                f"run save_baseline() first")
    again = "; save it again with save_baseline() (notebook 05 §8)"
    try:
        doc = json.loads(jpath.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{jpath} is not a saved baseline: not valid JSON ({e}){again}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{jpath} is not a saved baseline: expected a JSON object, got {type(doc).__name__}{again}")
    missing = [k for k in _BASELINE_KEYS if k not in doc]
    if missing:
        raise ValueError(f"{jpath} is not a complete saved baseline: missing {missing} (expected the keys "
                         f"{list(_BASELINE_KEYS)}){again}")
    try:
        with np.load(npath, allow_pickle=False) as z:
            absent = [k for k in _BASELINE_ARRAYS if k not in z.files]
            if absent:
                raise ValueError(f"{npath} is not a complete saved baseline: missing arrays {absent} (expected "
                                 f"{list(_BASELINE_ARRAYS)}, found {z.files}){again}")
            arrays = {k: z[k] for k in _BASELINE_ARRAYS}
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"{npath} is not a saved baseline: not a readable .npz file ({e}){again}") from None
    except ValueError as e:
        if "saved baseline" in str(e):
            raise
        raise ValueError(f"{npath} is not a saved baseline: not a readable .npz file ({e}){again}") from None
    n = {k: v.shape for k, v in arrays.items()}
    if any(v.ndim != 1 for v in arrays.values()) or len({v.shape for v in arrays.values()}) != 1:
        raise ValueError(f"{npath}: y_true, y_score and y_pred must be 1-D of equal length, got shapes {n}{again}")
    doc.update(arrays)
    return doc


# ----------------------------------------------------------------------------- the SVM written out
def svm_gamma(model: Pipeline) -> float:
    """The RBF ``gamma`` a fitted :func:`make_svm` pipeline uses, as a number.

    A number is returned as given; ``"scale"`` is ``1 / (n_features * Var(z))`` with ``z`` the standardised
    training rows the SVC saw (``Var`` over all their entries, here from the scaler's statistics: 1 unless a
    feature is constant), ``"auto"`` is ``1 / n_features``; as scikit-learn computes them in ``SVC.fit``.
    Used in 05 §7.

    >>> X = np.random.default_rng(0).normal(size=(40, 2)); y = (X[:, 0] > 0).astype(int)
    >>> round(svm_gamma(make_svm("rbf", gamma="scale").fit(X, y)), 6), svm_gamma(make_svm(gamma=0.5).fit(X, y))
    (0.5, 0.5)
    """
    scaler, svc = _svm_steps(model)
    if not isinstance(svc.gamma, str):
        return float(svc.gamma)
    n_features = int(scaler.n_features_in_)
    if svc.gamma == "auto":
        return 1.0 / n_features
    scale = scaler.scale_ if scaler.scale_ is not None else np.ones(n_features)
    var = scaler.var_ if scaler.var_ is not None else np.zeros(n_features)
    mean = scaler.mean_ if scaler.mean_ is not None else np.zeros(n_features)
    centred_mean = np.zeros(n_features) if scaler.with_mean else mean / scale
    # Var over all entries of z = mean of the per-feature variances + variance of the per-feature means
    var_z = float(np.mean(var / scale ** 2) + np.var(centred_mean))
    return 1.0 / (n_features * var_z) if var_z != 0 else 1.0


def _svm_steps(model: Any) -> tuple[StandardScaler, SVC]:
    steps = getattr(model, "named_steps", None)
    if not steps or not isinstance(steps.get("scale"), StandardScaler) or not isinstance(steps.get("svm"), SVC):
        raise TypeError(f"model must be a make_svm() pipeline (StandardScaler 'scale' + SVC 'svm'), "
                        f"got {type(model).__name__}")
    if not hasattr(steps["svm"], "support_vectors_"):
        raise ValueError("model is not fitted yet: call model.fit(X_train, y_train) first")
    return steps["scale"], steps["svm"]


def svm_decision(model: Pipeline, X) -> np.ndarray:
    """``model.decision_function(X)`` written out for a fitted :func:`make_svm` pipeline (linear or RBF).

    ``f(x) = sum_i alpha_i y_i K(z_i, z) + b`` with ``z = (x - mean) / std``, ``K(u, v) = u.v`` (linear)
    or ``exp(-gamma |u - v|^2)`` (RBF, ``gamma`` from :func:`svm_gamma`): a weighted vote of the support
    vectors. Other kernels fall back to scikit-learn. Used in 05 §7.

    >>> X = np.random.default_rng(0).normal(size=(40, 2)); y = (X[:, 0] > 0).astype(int)
    >>> m = make_svm("rbf").fit(X, y)
    >>> bool(np.allclose(svm_decision(m, X), m.decision_function(X)))
    True
    """
    scaler, svc = _svm_steps(model)
    from ._validate import check_array

    Xa = check_array(X, "X", ndim=2, dtype=np.float64)
    if Xa.shape[1] != scaler.n_features_in_:
        raise ValueError(f"X has {Xa.shape[1]} feature columns, the model was fitted on {scaler.n_features_in_}")
    Z = (Xa - scaler.mean_) / scaler.scale_
    sv = svc.support_vectors_
    if svc.kernel == "linear":
        K = Z @ sv.T
    elif svc.kernel == "rbf":
        d2 = (Z * Z).sum(1)[:, None] + (sv * sv).sum(1)[None, :] - 2.0 * Z @ sv.T
        K = np.exp(-svm_gamma(model) * np.maximum(d2, 0.0))
    else:
        return model.decision_function(Xa)
    return K @ svc.dual_coef_[0] + svc.intercept_[0]


def svm_decision_grid(model: Pipeline, gx, gy) -> np.ndarray:
    """Decision values of a fitted 2-feature :func:`make_svm` pipeline on the grid ``gx`` x ``gy``:
    shape ``(len(gy), len(gx))`` (row k = ``gy[k]``).

    The RBF kernel factorises over the two axes, ``exp(-g(dx^2 + dy^2)) = exp(-g dx^2) exp(-g dy^2)``,
    so the whole grid is one matrix product ``Ey @ diag(alpha) @ Ex.T`` instead of one kernel row per
    grid point (equal to :func:`svm_decision` on the mesh; tested). Used in 05 §7.

    >>> X = np.random.default_rng(0).normal(size=(40, 2)); y = (X[:, 0] > 0).astype(int)
    >>> svm_decision_grid(make_svm("linear").fit(X, y), np.linspace(-1, 1, 5), np.linspace(-1, 1, 3)).shape
    (3, 5)
    """
    from ._validate import check_array

    scaler, svc = _svm_steps(model)
    if scaler.n_features_in_ != 2:
        raise ValueError(f"model must be fitted on exactly 2 features for a grid, got {scaler.n_features_in_}")
    gx = check_array(gx, "gx", ndim=1, dtype=np.float64, max_size=10_000)
    gy = check_array(gy, "gy", ndim=1, dtype=np.float64, max_size=10_000)
    zx = (gx - scaler.mean_[0]) / scaler.scale_[0]
    zy = (gy - scaler.mean_[1]) / scaler.scale_[1]
    sv, alpha, b = svc.support_vectors_, svc.dual_coef_[0], svc.intercept_[0]
    if svc.kernel == "linear":
        w = alpha @ sv
        return zy[:, None] * w[1] + zx[None, :] * w[0] + b
    if svc.kernel == "rbf":
        g = svm_gamma(model)
        from threadpoolctl import threadpool_limits

        ex = np.exp(-g * (zx[:, None] - sv[None, :, 0]) ** 2)     # (nx, n_sv)
        ey = np.exp(-g * (zy[:, None] - sv[None, :, 1]) ** 2)     # (ny, n_sv)
        with threadpool_limits(1, "blas"):  # a small product: BLAS threads cost more than they save (measured)
            return (ey * alpha) @ ex.T + b
    GX, GY = np.meshgrid(gx, gy)
    return model.decision_function(np.column_stack([GX.ravel(), GY.ravel()])).reshape(len(gy), len(gx))


def fit_svm_2d(X_train, y_train, X_test, y_test, kernel: str = "rbf", C: float = 1.0,
               gamma: float | str = "scale", grid_n: int = 180, seed: int = 0,
               max_iter: int = 20_000) -> dict[str, Any]:
    """Fit :func:`make_svm` on two features and evaluate it on a grid and on the test rows.

    Returns ``{"decision": (grid_n, grid_n) decision values over "extent" (x0, x1, y0, y1) (row 0 = y0),
    "metrics": diagnostic_metrics on test at threshold 0, "support": support vectors in feature units,
    "converged": bool, "gamma": the RBF gamma used (:func:`svm_gamma`), "model": the fitted pipeline}``.
    The grid spans the 1st..99th percentile of the training rows (+5 %). ``max_iter`` bounds the solver
    so a huge ``C`` cannot freeze a widget (``converged`` is then False). Used in 05 §7.

    >>> rng = np.random.default_rng(0); X = rng.normal(size=(60, 2)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> r = fit_svm_2d(X[:40], y[:40], X[40:], y[40:], "linear", grid_n=20)
    >>> r["decision"].shape, r["converged"], r["metrics"]["accuracy"] > 0.8
    ((20, 20), True, True)
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from ._validate import check_int

    Xt, yt = _check_xy(X_train, y_train, "train")
    Xs, ys = _check_xy(X_test, y_test, "test")
    if Xt.shape[1] != 2 or Xs.shape[1] != 2:
        raise ValueError(f"X_train and X_test must have exactly 2 feature columns, got shapes {Xt.shape} "
                         f"and {Xs.shape}")
    grid_n = check_int(grid_n, "grid_n", low=2, high=2000, why_high="grid_n**2 decision values")
    max_iter = check_int(max_iter, "max_iter", low=1, high=10_000_000, why_high="solver time")
    model = make_svm(kernel, C, gamma, seed=seed, max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(Xt, yt)
    converged = not any(issubclass(c.category, ConvergenceWarning) for c in caught)
    lo = np.percentile(Xt, 1, axis=0)
    hi = np.percentile(Xt, 99, axis=0)
    pad = 0.05 * np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - pad, hi + pad
    dec = svm_decision_grid(model, np.linspace(lo[0], hi[0], grid_n), np.linspace(lo[1], hi[1], grid_n))
    metrics = diagnostic_metrics(ys, svm_decision(model, Xs), threshold=0.0)
    scaler, svc = model.named_steps["scale"], model.named_steps["svm"]
    support = scaler.inverse_transform(svc.support_vectors_)
    return {"decision": dec, "extent": (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])),
            "metrics": metrics, "support": support, "converged": converged, "gamma": svm_gamma(model),
            "model": model}


# ----------------------------------------------------------------------------- data
def dataset_features(name: str = "pneumoniamnist", splits: Sequence[str] = ("train", "val", "test"),
                     progress: bool = True, **feature_kw) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[str]]:
    """Features of a MedMNIST dataset: ``({split: (X, y)}, feature_names)``.

    ``name`` is ``"pneumoniamnist"`` or ``"breastmnist"``; ``feature_kw`` go to
    :func:`medlab.features.extract_features`. Splits keep their stored order.

    >>> data, names = dataset_features("breastmnist", splits=("val",), progress=False)
    >>> data["val"][0].shape, data["val"][1].shape, names[0]
    ((78, 50), (78,), 'fo_mean')
    """
    from . import datasets
    from .features import extract_features, feature_matrix

    loaders = {"pneumoniamnist": datasets.load_pneumoniamnist, "breastmnist": datasets.load_breastmnist}
    if not isinstance(name, str) or name not in loaders:
        raise ValueError(f"name must be one of {sorted(loaders)}, got {name!r}")
    if isinstance(splits, (str, bytes)) or not hasattr(splits, "__iter__"):
        raise TypeError(f"splits must be a list such as ('train', 'val', 'test'), got {splits!r}; for one split "
                        "write ('val',)")
    splits = list(splits)
    bad = [sp for sp in splits if sp not in ("train", "val", "test")]
    if not splits or bad:
        raise ValueError(f"splits must be a non-empty list of 'train', 'val', 'test', got {splits!r}")
    out, names = {}, None
    for split in splits:
        images, labels = loaders[name](split)
        table = extract_features(images, progress=progress, **feature_kw)
        X, names = feature_matrix(table, names)
        out[split] = (X, labels)
    return out, list(names)
