"""Tests for medlab.classical: metrics vs scikit-learn, no leakage, determinism, persistence."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from medlab import classical as C

GRID = [{"kernel": "linear", "C": 1.0}, {"kernel": "rbf", "C": 1.0, "gamma": "scale"}]


def toy(seed=0, n=300, d=4, shift=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + shift
    y = (X[:, 0] + 0.5 * X[:, 1] - 1.5 * shift + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(-5, 5, allow_nan=False)), min_size=2, max_size=60),
       st.floats(-2, 2), st.sampled_from([0, 1]))
def test_diagnostic_metrics_match_sklearn(pairs, threshold, pos):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs])
    if len(set(y)) < 2:
        with pytest.raises(ValueError, match="both classes"):
            C.diagnostic_metrics(y, s, threshold)
        return
    m = C.diagnostic_metrics(y, s, threshold, positive_label=pos)
    pred = (s >= threshold).astype(int)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["sensitivity"] == pytest.approx(recall_score(y, pred, pos_label=pos, zero_division=0))
    assert m["specificity"] == pytest.approx(recall_score(y, pred, pos_label=1 - pos, zero_division=0))
    assert m["precision"] == pytest.approx(precision_score(y, pred, pos_label=pos, zero_division=0))
    assert m["f1"] == pytest.approx(f1_score(y, pred, pos_label=pos, zero_division=0))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y == pos, s if pos == 1 else -s))
    assert m["tp"] + m["fp"] + m["tn"] + m["fn"] == len(y)


def test_diagnostic_metrics_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        C.diagnostic_metrics([0, 1], [0.1])
    with pytest.raises(ValueError, match="binary labels"):
        C.diagnostic_metrics([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="y_score contains NaN"):
        C.diagnostic_metrics([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="threshold"):
        C.diagnostic_metrics([0, 1], [0.1, 0.2], threshold=float("nan"))
    with pytest.raises(ValueError, match="positive_label"):
        C.diagnostic_metrics([0, 1], [0.1, 0.2], positive_label=2)


def test_scaler_is_fitted_on_train_only(monkeypatch):
    Xtr, ytr = toy(0, 200)
    Xva, yva = toy(1, 80, shift=1000.0)      # val and test rows are far away: easy to spot
    Xte, yte = toy(2, 80, shift=-1000.0)
    seen_scaler, seen_svm = [], []
    orig_fit, orig_svc_fit = StandardScaler.fit, SVC.fit

    def spy_fit(self, X, y=None, **kw):
        seen_scaler.append(np.array(X, copy=True))
        return orig_fit(self, X, y, **kw)

    def spy_svc_fit(self, X, y, **kw):
        seen_svm.append(len(X))
        return orig_svc_fit(self, X, y, **kw)

    monkeypatch.setattr(StandardScaler, "fit", spy_fit)
    monkeypatch.setattr(SVC, "fit", spy_svc_fit)
    res = C.svm_baseline(Xtr, ytr, Xva, yva, Xte, yte, grid=GRID, seed=3, n_train=150, importance_repeats=0)
    assert len(seen_scaler) == len(GRID) + 1            # one per grid entry + the final model
    for X in seen_scaler:
        assert X.shape == (150, 4)
        assert np.abs(X).max() < 100                    # no validation or test row reached fit
    assert seen_svm == [150] * (len(GRID) + 1)
    Xsub, _, _ = C.shuffle_split(Xtr, ytr, seed=3, n=150)
    scaler = res.model.named_steps["scale"]
    np.testing.assert_allclose(scaler.mean_, Xsub.mean(0))
    np.testing.assert_allclose(scaler.scale_, Xsub.std(0))
    assert not np.allclose(scaler.mean_, np.vstack([Xtr, Xva, Xte]).mean(0))


def test_baseline_is_deterministic_and_seed_matters():
    Xtr, ytr = toy(0, 300)
    Xva, yva = toy(1, 100)
    Xte, yte = toy(2, 100)
    a = C.svm_baseline(Xtr, ytr, Xva, yva, Xte, yte, grid=GRID, seed=1, n_train=100, importance_repeats=2)
    b = C.svm_baseline(Xtr, ytr, Xva, yva, Xte, yte, grid=GRID, seed=1, n_train=100, importance_repeats=2)
    c = C.svm_baseline(Xtr, ytr, Xva, yva, Xte, yte, grid=GRID, seed=2, n_train=100, importance_repeats=2)
    np.testing.assert_array_equal(a.y_score, b.y_score)
    assert a.test_metrics == b.test_metrics and a.importances == b.importances
    assert not np.array_equal(a.y_score, c.y_score)
    assert a.test_metrics["roc_auc"] > 0.85 and a.test_metrics["n"] == 100
    np.testing.assert_array_equal(a.y_true, yte)                       # test order preserved
    np.testing.assert_array_equal(a.y_pred, (a.y_score >= 0).astype(int))
    np.testing.assert_array_equal(a.y_pred, a.model.predict(Xte))
    assert a.importances[0]["feature"] == "f0"                          # the informative feature


def test_select_svm_picks_the_best_validation_entry():
    Xtr, ytr = toy(0, 200)
    Xva, yva = toy(1, 100)
    best, table = C.select_svm(Xtr, ytr, Xva, yva, grid=GRID + [{"kernel": "rbf", "C": 0.01, "gamma": 50.0}])
    assert len(table) == 3
    scores = [row["val_roc_auc"] for row in table]
    assert best == {k: v for k, v in table[int(np.argmax(scores))].items() if k in ("kernel", "C", "gamma")}


def test_save_and_load_roundtrip(tmp_path):
    Xtr, ytr = toy(0, 120)
    Xva, yva = toy(1, 50)
    Xte, yte = toy(2, 50)
    res = C.svm_baseline(Xtr, ytr, Xva, yva, Xte, yte, feature_names=list("abcd"), grid=GRID[:1],
                         importance_repeats=1)
    j, n = C.save_baseline(res, tmp_path / "sub" / "toy_svm.json", dataset="toy")
    assert j.name == "toy_svm.json" and n.name == "toy_svm.npz"
    doc = C.load_baseline(tmp_path / "sub" / "toy_svm")
    assert doc["dataset"] == "toy" and doc["feature_names"] == list("abcd")
    assert doc["test_metrics"]["accuracy"] == pytest.approx(res.test_metrics["accuracy"])
    np.testing.assert_array_equal(doc["y_score"], res.y_score)
    with pytest.raises(FileNotFoundError, match="save_baseline"):
        C.load_baseline(tmp_path / "missing")
    assert "ROC AUC" in res.summary()


def test_bad_input_errors():
    X, y = toy(0, 50)
    with pytest.raises(ValueError, match="kernel"):
        C.make_svm("cubic")
    with pytest.raises(ValueError, match="C must be a positive"):
        C.make_svm(C=0)
    with pytest.raises(ValueError, match="gamma"):
        C.make_svm(gamma=-1.0)
    with pytest.raises(ValueError, match="seed"):
        C.make_svm(seed=-1)
    with pytest.raises(ValueError, match="X_train contains NaN"):
        C.select_svm(np.full((4, 2), np.nan), [0, 1, 0, 1], X[:4, :2], y[:4])
    with pytest.raises(ValueError, match="y_train must have one label per row"):
        C.select_svm(X, y[:10], X, y)
    with pytest.raises(ValueError, match="X_val must have the same 4 features"):
        C.select_svm(X, y, X[:, :2], y)
    with pytest.raises(ValueError, match="metric"):
        C.select_svm(X, y, X, y, metric="auc")
    with pytest.raises(ValueError, match="n must be <= 50"):
        C.shuffle_split(X, y, n=1000)
    with pytest.raises(ValueError, match="feature_names"):
        C.svm_baseline(X, y, X, y, X, y, feature_names=["a"], grid=GRID[:1])
    with pytest.raises(ValueError, match="name must be one of"):
        C.dataset_features("mnist")


def test_pneumoniamnist_smoke():
    """Real data, small: features of 600 training and all validation images give a useful SVM."""
    from medlab.datasets import load_pneumoniamnist
    from medlab.features import extract_features, feature_matrix

    xtr, ytr = load_pneumoniamnist("train")
    xva, yva = load_pneumoniamnist("val")
    Xtr, names = feature_matrix(extract_features(xtr, progress=False))
    Xva, _ = feature_matrix(extract_features(xva, progress=False))
    Xs, ys, _ = C.shuffle_split(Xtr, ytr, seed=0, n=600)
    best, table = C.select_svm(Xs, ys, Xva, yva, grid=GRID)
    assert max(row["val_roc_auc"] for row in table) > 0.9


def test_select_svm_uses_positive_label_and_baseline_passes_it():
    """BreastMNIST: positive (malignant) = 0; metrics for model choice must be about class 0."""
    X, y = toy(3)
    Xv, yv = toy(4)
    grid = [{"kernel": "linear", "C": c} for c in (0.001, 0.01, 1.0)]
    for pos in (0, 1):
        _, table = C.select_svm(X, y, Xv, yv, grid=grid, metric="sensitivity", positive_label=pos)
        for entry, row in zip(grid, table):
            model = C.make_svm(**entry).fit(X, y)
            m = C.diagnostic_metrics(yv, model.decision_function(Xv), 0.0, positive_label=pos)
            assert row["val_sensitivity"] == pytest.approx(m["sensitivity"])
            assert row["val_f1"] == pytest.approx(m["f1"])
    calls = []
    real = C.select_svm

    def spy(*a, **k):
        calls.append(k.get("positive_label"))
        return real(*a, **k)

    import unittest.mock
    with unittest.mock.patch.object(C, "select_svm", spy):
        C.svm_baseline(X, y, Xv, yv, Xv, yv, grid=grid, metric="f1", positive_label=0, importance_repeats=0)
    assert calls == [0]
    with pytest.raises(ValueError, match="positive_label must be 0 or 1"):
        C.select_svm(X, y, Xv, yv, grid=grid, positive_label=2)


@pytest.mark.parametrize("fn", [C.select_svm, C.permutation_importances, C.save_baseline, C.load_baseline,
                                C.dataset_features])
def test_public_functions_have_a_runnable_example(fn):
    assert ">>>" in (fn.__doc__ or ""), f"{fn.__name__} has no doctest example"


# ----------------------------------------------------------------------------- the SVM written out (moved from widgets, 05 §7)
def _toy2(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [3.0, 0.5] + [10, -2]
    y = ((X[:, 0] - 10) / 3 + (X[:, 1] + 2) / 0.5 + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("gamma", ["scale", "auto", 0.7])
@pytest.mark.parametrize("d", [2, 5])
def test_svm_gamma_equals_sklearn(gamma, d):
    X, y = toy(3, n=150, d=d)
    X[:, -1] *= 40.0
    m = C.make_svm("rbf", 1.0, gamma).fit(X, y)
    # the reference: what SVC.fit computed (its private attribute) and the documented formula on the scaled rows
    assert C.svm_gamma(m) == pytest.approx(m.named_steps["svm"]._gamma, rel=1e-12)
    Z = m.named_steps["scale"].transform(X)
    if gamma == "scale":
        assert C.svm_gamma(m) == pytest.approx(1.0 / (d * Z.var()), rel=1e-12)


def test_svm_gamma_with_a_constant_feature_equals_sklearn():
    X, y = toy(4, n=120, d=3)
    X[:, 2] = 5.0                                  # a constant column: its scaled values are all 0
    m = C.make_svm("rbf").fit(X, y)
    assert C.svm_gamma(m) == pytest.approx(m.named_steps["svm"]._gamma, rel=1e-12)
    with pytest.raises(TypeError, match="make_svm"):
        C.svm_gamma(SVC())
    with pytest.raises(ValueError, match="not fitted"):
        C.svm_gamma(C.make_svm())


@pytest.mark.parametrize("kernel,gamma", [("linear", "scale"), ("rbf", 0.7), ("rbf", "scale"), ("rbf", "auto")])
def test_svm_decision_written_out_equals_sklearn(kernel, gamma):
    X, y = _toy2()
    m = C.make_svm(kernel, 2.0, gamma).fit(X, y)
    Xq = np.random.default_rng(2).normal(size=(50, 2)) * 3 + [10, -2]
    np.testing.assert_allclose(C.svm_decision(m, Xq), m.decision_function(Xq), rtol=1e-9, atol=1e-9)
    gx, gy = np.linspace(5, 15, 7), np.linspace(-3, -1, 5)
    GX, GY = np.meshgrid(gx, gy)
    np.testing.assert_allclose(C.svm_decision_grid(m, gx, gy),
                               m.decision_function(np.column_stack([GX.ravel(), GY.ravel()])).reshape(5, 7),
                               rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="feature columns"):
        C.svm_decision(m, np.zeros((3, 4)))


def test_fit_svm_2d():
    import warnings

    X, y = _toy2(0)
    Xt, yt = _toy2(1, 100)
    res = C.fit_svm_2d(X, y, Xt, yt, "rbf", 1.0, 0.5, grid_n=40)
    assert res["decision"].shape == (40, 40) and res["converged"] and res["gamma"] == 0.5
    assert res["metrics"] == C.diagnostic_metrics(yt, res["model"].decision_function(Xt), threshold=0.0)
    assert res["metrics"]["accuracy"] > 0.8
    x0, x1, y0, y1 = res["extent"]
    gx, gy = np.linspace(x0, x1, 40), np.linspace(y0, y1, 40)
    GX, GY = np.meshgrid(gx, gy)
    np.testing.assert_allclose(res["decision"], res["model"].decision_function(
        np.column_stack([GX.ravel(), GY.ravel()])).reshape(40, 40), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(res["support"], X[res["model"].named_steps["svm"].support_])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stopped = C.fit_svm_2d(X, y, Xt, yt, "linear", 100.0, max_iter=5)
    assert not stopped["converged"]
    with pytest.raises(ValueError, match="exactly 2 feature columns"):
        C.fit_svm_2d(np.zeros((10, 3)), y[:10], Xt, yt)
    with pytest.raises(ValueError, match="C must be a positive"):
        C.fit_svm_2d(X, y, Xt, yt, C=-1.0)
    with pytest.raises(ValueError, match="grid_n"):
        C.fit_svm_2d(X, y, Xt, yt, grid_n=10**6)
