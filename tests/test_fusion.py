"""Fusion core: early/late/stacking/joint fusion, the leaky feature and the screen that catches it."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from medlab import evaluation as E
from medlab import fusion as FU


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = y[:, None] * 1.0 + rng.normal(0, 1.2, (n, 3))
    b = y[:, None] * 0.8 + rng.normal(0, 1.2, (n, 2))
    return y, a, b


def test_early_fusion_equals_sklearn_on_the_concatenation():
    y, a, b = _data()
    m = FU.early_fusion({"a": a, "b": b}, y, C=0.5)
    X = np.c_[a, b]
    ref = LogisticRegression(C=0.5, max_iter=2000).fit(StandardScaler().fit_transform(X), y)
    expect = ref.predict_proba(StandardScaler().fit(X).transform(X))[:, 1]
    assert np.allclose(m.predict_proba(X), expect, atol=1e-6)
    assert m.columns == ["a:0", "a:1", "a:2", "b:0", "b:1"]


def test_fusion_beats_each_block_alone_on_independent_signals():
    y, a, b = _data(2000, seed=1)
    ytr, yte = y[:1000], y[1000:]
    auc = {}
    for name, blocks in (("a", {"a": a}), ("b", {"b": b}), ("ab", {"a": a, "b": b})):
        m = FU.early_fusion({k: v[:1000] for k, v in blocks.items()}, ytr)
        auc[name] = E.roc_auc(yte, m.predict_proba(np.column_stack([v[1000:] for v in blocks.values()])))
    assert auc["ab"] > max(auc["a"], auc["b"])


def test_late_fusion_and_weight_chosen_on_validation():
    assert FU.late_fusion([0.2, 0.8], [0.6, 0.4], 1.0).tolist() == [0.2, 0.8]
    assert FU.late_fusion([0.2, 0.8], [0.6, 0.4], 0.0).tolist() == [0.6, 0.4]
    y = np.array([0, 0, 1, 1] * 25)
    good = np.clip(y * 0.6 + 0.2 + np.random.default_rng(0).normal(0, 0.1, 100), 0, 1)
    noise = np.random.default_rng(1).random(100)
    w = FU.late_fusion_weight(y, good, noise)
    assert len(w["auc"]) == 21 and w["weight"] > 0.5
    j = int(np.argmin(np.abs(w["weights"] - w["weight"])))
    assert w["auc"][j] == w["auc"].max() > w["auc"][0]  # the best on validation, better than noise alone
    with pytest.raises(ValueError, match="probabilities"):
        FU.late_fusion([0.2, 1.5], [0.1, 0.2], 0.5)
    with pytest.raises(ValueError, match="one per image"):
        FU.late_fusion([0.2], [0.1, 0.2], 0.5)
    with pytest.raises(ValueError, match="weight must be"):
        FU.late_fusion([0.2], [0.1], 1.5)


def test_stacking_is_a_logistic_regression_on_scores():
    y, a, _ = _data()
    s1, s2 = a[:, 0], a[:, 1]
    m = FU.stacking(y, {"s1": s1, "s2": s2})
    assert m.predict_proba(np.c_[s1, s2]).shape == (len(y),)


def test_leaky_feature_is_caught_by_the_screen():
    y, a, b = _data(400)
    leak = FU.leaky_clinical_feature(y, agreement=0.95, seed=0)
    rows = FU.screen_features(np.c_[a, leak], y, ["a0", "a1", "a2", "clinical"])
    assert rows[0]["feature"] == "clinical" and rows[0]["alarm"]
    assert not any(r["alarm"] for r in rows[1:])
    assert np.array_equal(FU.leaky_clinical_feature(y, 0.9, seed=3), FU.leaky_clinical_feature(y, 0.9, seed=3))


def test_bad_input_is_a_clear_error():
    y, a, b = _data(50)
    with pytest.raises(ValueError, match="one class only"):
        FU.early_fusion({"a": a}, np.zeros(50, int))
    with pytest.raises(ValueError, match="rows"):
        FU.early_fusion({"a": a}, y[:10])
    with pytest.raises(ValueError, match="at least one"):
        FU.early_fusion({}, y)
    with pytest.raises(ValueError, match="NaN"):
        FU.early_fusion({"a": np.full((50, 2), np.nan)}, y)
    with pytest.raises(ValueError, match="names has"):
        FU.screen_features(a, y, ["x"])
    with pytest.raises(ValueError, match="agreement"):
        FU.leaky_clinical_feature(y, agreement=2)


def test_joint_model_is_reproducible_with_a_seed():
    pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    x, f = rng.random((16, 12, 12, 1)).astype("float32"), rng.random((16, 4)).astype("float32")
    outs = []
    for _ in range(2):
        m = FU.joint_model((12, 12), 4, seed=7)
        outs.append(m.predict({"image": x, "features": f}, verbose=0))
    assert np.array_equal(outs[0], outs[1]) and outs[0].shape == (16, 1)
    assert [i.name for i in m.inputs] == ["image", "features"]


def test_embedding_is_the_global_average_of_the_last_conv_maps():
    pytest.importorskip("tensorflow")
    import keras

    from medlab.training import seed_cnn

    model = seed_cnn((28, 28, 1), seed=0)
    imgs = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    emb = FU.embedding(model, imgs)
    assert emb.shape == (5, 64)
    last = keras.Model(model.inputs, model.get_layer("pool2").output)
    direct = last.predict(imgs[..., None] / 255.0, verbose=0).mean(axis=(1, 2))
    assert np.allclose(emb, direct, atol=1e-5)
