"""Tests for medlab.widgets.features: pure compute functions vs the core/reference libraries, builders."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from skimage.feature import graycomatrix

from medlab import features as F
from medlab.classical import diagnostic_metrics, make_svm
from medlab.widgets import features as W


def test_compute_glcm_view_matches_skimage():
    rng = np.random.default_rng(0)
    img = rng.normal(0, 100, (120, 100))
    roi = (10, 20, 59, 79)
    r = W.compute_glcm_view(img, roi, distance=2, angle_deg=45, levels=8, vmin=-300, vmax=300)
    q = F.quantize(img[10:60, 20:80], 8, vmin=-300, vmax=300)
    ref = graycomatrix(q, [2], [np.pi / 4], levels=8, symmetric=True, normed=True)[:, :, 0, 0]
    np.testing.assert_allclose(r["glcm"], ref)
    assert r["features"]["contrast"] == pytest.approx(float(F.glcm_features(ref, average=True)["contrast"]))
    assert r["panel"].shape == (256, 768, 3) and r["panel"].dtype == np.uint8
    assert r["offset"] == (1, 1)
    with pytest.raises(ValueError, match="roi"):
        W.compute_glcm_view(img, (0, 0, 200, 10))
    with pytest.raises(ValueError, match="at least 2x2"):
        W.compute_glcm_view(img, (5, 5, 5, 9))
    with pytest.raises(ValueError, match="angle_deg"):
        W.compute_glcm_view(img, roi, angle_deg=float("nan"))
    with pytest.raises(ValueError, match="2-D"):
        W.compute_glcm_view(np.zeros((2, 8, 8)), roi)


def test_parenchyma_box_prefers_lung_and_respects_exclude():
    s = np.zeros((64, 64))
    s[5:25, 5:25] = -800
    s[40:60, 40:60] = -800
    assert W.parenchyma_box(s, (10, 10), stride=1) == (5, 5, 14, 14)
    assert W.parenchyma_box(s, (10, 10), exclude=(0, 0, 30, 30), stride=1) == (40, 40, 49, 49)
    with pytest.raises(ValueError, match="size"):
        W.parenchyma_box(s, (100, 10))


def test_texture_comparison_on_the_ct():
    vol, boxes = W._ct_data()
    b = W._largest_box(boxes)
    sl = vol[b.slice_index]
    tumour = (b.row0, b.col0, b.row1, b.col1)
    lung = W.parenchyma_box(sl, (b.row1 - b.row0 + 1, b.col1 - b.col0 + 1), exclude=tumour)
    r0, c0, r1, c1 = lung
    assert np.mean(sl[r0:r1 + 1, c0:c1 + 1] < -600) > 0.7        # the box is mostly aerated lung
    res = W.compare_textures(sl, tumour, lung, distance=1, levels=16)
    q = F.quantize(sl[b.row0:b.row1 + 1, b.col0:b.col1 + 1], 16, vmin=-1000, vmax=400)
    ref = F.glcm_features(graycomatrix(q, [1], F.DEFAULT_ANGLES, levels=16, symmetric=True), average=True)
    assert res["features_a"]["homogeneity"] == pytest.approx(ref["homogeneity"])
    # the solid tumour is denser than the parenchyma around it
    assert res["features_a"]["joint_average"] > res["features_b"]["joint_average"]
    assert res["panel"].shape == (256, 768, 3)


@pytest.mark.parametrize("wavelet,level", [("haar", 1), ("db2", 3), ("bior2.2", 2)])
def test_render_wavelet_energies_equal_core(wavelet, level):
    img = np.random.default_rng(1).normal(size=(96, 80)).astype(np.float32)
    r = W.render_wavelet(img, wavelet, level, size=128)
    assert r["mosaic"].shape == (128, 128) and r["mosaic"].dtype == np.uint8
    ref = F.wavelet_energies(img, wavelet, level)
    assert set(r["energies"]) == set(ref)
    for k in ref:
        assert r["energies"][k] == pytest.approx(ref[k], rel=1e-5)
    with pytest.raises(ValueError, match="wavelet must be"):
        W.render_wavelet(img, "fourier", 1)


def _toy(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [3.0, 0.5] + [10, -2]
    y = ((X[:, 0] - 10) / 3 + (X[:, 1] + 2) / 0.5 + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("kernel,gamma", [("linear", "scale"), ("rbf", 0.7), ("rbf", "scale")])
def test_svm_decision_written_out_equals_sklearn(kernel, gamma):
    X, y = _toy()
    m = make_svm(kernel, 2.0, gamma).fit(X, y)
    Xq = np.random.default_rng(2).normal(size=(50, 2)) * 3 + [10, -2]
    np.testing.assert_allclose(W.svm_decision(m, Xq), m.decision_function(Xq), rtol=1e-9, atol=1e-9)
    gx, gy = np.linspace(5, 15, 7), np.linspace(-3, -1, 5)
    GX, GY = np.meshgrid(gx, gy)
    np.testing.assert_allclose(W.svm_decision_grid(m, gx, gy),
                               m.decision_function(np.column_stack([GX.ravel(), GY.ravel()])).reshape(5, 7),
                               rtol=1e-9, atol=1e-9)


def test_fit_svm_2d_and_render():
    X, y = _toy(0)
    Xt, yt = _toy(1, 100)
    res = W.fit_svm_2d(X, y, Xt, yt, "rbf", 1.0, 0.5, grid_n=40)
    assert res["decision"].shape == (40, 40) and res["converged"]
    assert res["metrics"] == diagnostic_metrics(yt, res["model"].decision_function(Xt), threshold=0.0)
    assert res["metrics"]["accuracy"] > 0.8
    img = W.render_svm(res, X, y, size=200)
    assert img.shape == (200, 200, 3) and img.dtype == np.uint8
    assert (img == 0).all(axis=2).any()                           # boundary / rings drawn in black
    assert (img == W._CLASS_RGB[1]).all(axis=2).any()             # class-1 points drawn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stopped = W.fit_svm_2d(X, y, Xt, yt, "linear", 100.0, max_iter=5)
    assert not stopped["converged"]
    with pytest.raises(ValueError, match="exactly 2 feature columns"):
        W.fit_svm_2d(np.zeros((10, 3)), y[:10], Xt, yt)
    with pytest.raises(ValueError, match="C must be a positive"):
        W.fit_svm_2d(X, y, Xt, yt, C=-1.0)


def test_builders_render_and_react():
    pytest.importorskip("ipywidgets")
    img = np.random.default_rng(3).integers(0, 256, (128, 128)).astype(np.uint8)
    img[:, 64:] //= 4
    g = W.glcm_explorer(img, roi=(10, 10, 100, 100))
    first = g.image.value
    assert first[:4] == b"\x89PNG"
    g.controls["distance"].value = 3
    assert g.image.value != first
    wv = W.wavelet_viewer(img)
    before = wv.image.value
    wv.controls["level"].value = 3
    assert wv.image.value != before
    X, y = _toy(0, 150)
    Xt, yt = _toy(1, 60)
    sv = W.svm_explorer(X, y, Xt, yt, feature_names=["a", "b"], class_names=("no", "yes"), n_train=100)
    before = sv.image.value
    sv.controls["C"].value = 10.0
    assert sv.image.value != before
    with pytest.raises(ValueError, match="x_feature"):
        W.svm_explorer(X, y, Xt, yt, feature_names=["a", "b"], x_feature="c")


def test_default_builders_on_the_embedded_data():
    pytest.importorskip("ipywidgets")
    g = W.glcm_explorer()
    assert len(g.controls["source"].options) == 3
    g.controls["source"].value = g.controls["source"].options[2]      # the X-ray
    assert g.image.value[:4] == b"\x89PNG"
    tc = W.texture_comparison()
    before = tc.image.value
    tc.controls["distance"].value = 2
    assert tc.image.value != before
