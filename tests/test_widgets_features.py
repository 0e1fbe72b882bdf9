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


# ----------------------------------------------------------------------------- round 2: one widget per section
def test_compute_first_order_view_matches_core_and_numpy():
    rng = np.random.default_rng(4)
    img = rng.normal(-500, 200, (96, 96))
    roi = (10, 20, 49, 69)
    r = W.compute_first_order_view(img, roi, bins=16, vmin=-1000, vmax=400)
    crop = img[10:50, 20:70]
    assert r["error"] is None and r["panel"].shape == (256, 512, 3)
    assert r["features"] == F.first_order(crop, bins=16, vmin=-1000, vmax=400)
    assert r["features"]["mean"] == pytest.approx(crop.mean())
    assert r["counts"].sum() == crop.size and len(r["edges"]) == 17
    h = r["counts"][r["counts"] > 0] / crop.size                    # the histogram the entropy comes from
    assert r["features"]["entropy"] == pytest.approx(-(h * np.log(h)).sum())
    inside = (crop >= -1000) & (crop <= 400)
    np.testing.assert_array_equal(r["counts"][1:-1], np.histogram(crop[inside], r["edges"])[0][1:-1])
    # reachable bad settings are flagged, never raised
    assert "bins" in W.compute_first_order_view(img, (0, 0, 3, 3), bins=256)["warnings"][0]
    assert "roi" in W.compute_first_order_view(img, (0, 0, 200, 10))["error"]
    assert "bins" in W.compute_first_order_view(img, roi, bins=0)["error"]


@pytest.mark.parametrize("distance,angle", [(1, 0), (1, 45), (2, 90), (1, 135), (3, 45)])
@pytest.mark.parametrize("symmetric", [False, True])
def test_glcm_pairs_equal_glcm_and_skimage(distance, angle, symmetric):
    patch = np.random.default_rng(distance + angle).integers(0, 4, (6, 5)).astype(np.uint8)
    r = W.glcm_pairs(patch, distance, angle, levels=4, symmetric=symmetric)
    assert r["error"] is None
    ref = graycomatrix(patch, [distance], [np.deg2rad(angle)], levels=4, symmetric=symmetric)[:, :, 0, 0]
    np.testing.assert_array_equal(r["counts"], ref)
    np.testing.assert_array_equal(r["counts"], F.glcm(patch, [distance], [np.deg2rad(angle)], levels=4,
                                                      symmetric=symmetric)[:, :, 0, 0])
    dr, dc = r["offset"]
    assert np.all(r["pairs"][:, 2] - r["pairs"][:, 0] == dr) and np.all(r["pairs"][:, 3] - r["pairs"][:, 1] == dc)
    assert len(r["pairs"]) == (6 - abs(dr)) * (5 - abs(dc))
    img = W.render_glcm_pairs(patch, r, k=3, levels=4, symmetric=symmetric)
    assert img.dtype == np.uint8 and img.shape == (400, 740, 3)
    assert (img == (230, 30, 30)).all(axis=2).any()                  # the last pair / its cell boxed in red


def test_glcm_pairs_on_the_exercise_and_flags():
    from medlab.exercises.features import EXAMPLE_4X4, check_glcm_4x4

    r = W.glcm_pairs(EXAMPLE_4X4, 1, 0)
    assert len(r["pairs"]) == 12 and check_glcm_4x4(r["counts"])
    gone = W.glcm_pairs(EXAMPLE_4X4, 4, 0)
    assert "no pixel pair" in gone["error"] and gone["counts"].sum() == 0
    assert "grey levels" in W.glcm_pairs(EXAMPLE_4X4, 1, 0, levels=2)["error"]
    assert "integer" in W.glcm_pairs(EXAMPLE_4X4.astype(float), 1, 0)["error"]
    assert "distances" in W.glcm_pairs(EXAMPLE_4X4, 0, 0)["error"]


def test_lung_slice_mask_and_shape_view():
    s = np.full((80, 80), 40.0)                   # soft tissue
    s[:4, :] = -1000                              # outside air, touches the border: not lung
    r, c = np.mgrid[:80, :80]
    disc = (r - 40) ** 2 + (c - 25) ** 2 <= 14 ** 2
    s[disc] = -850
    s[40, 25] = 30                                # a vessel inside the lung: filled
    small = (r - 40) ** 2 + (c - 62) ** 2 <= 13 ** 2
    s[small] = -850
    m = W.lung_slice_mask(s, -320)
    assert m[40, 25] and not m[:4].any() and m.sum() == disc.sum() + small.sum()
    assert W.lung_slice_mask(s, -320, min_pixels=550).sum() == disc.sum()     # too small a part is dropped
    v = W.compute_shape_view(s, "lungs", -320, spacing=(0.5, 0.5))
    assert v["error"] is None and v["panel"].shape == (80, 80, 3)
    assert v["features"] == F.shape_features(v["mask"], spacing=(0.5, 0.5))
    assert v["features"]["size_mm"] == pytest.approx(m.sum() * 0.25)
    t = W.compute_shape_view(s, "tumour", -900, spacing=(0.5, 0.5), box=(26, 11, 54, 39), upper=-800)
    assert t["error"] is None
    np.testing.assert_array_equal(t["mask"], disc & (s == -850))          # the 30 HU vessel is not grown into
    assert t["features"]["roundness"] > 0.8
    assert "box edge" in t["warnings"][0]                                   # the disc fills the box exactly
    roomy = W.compute_shape_view(s, "tumour", -900, spacing=(0.5, 0.5), box=(20, 5, 60, 45), upper=-800)
    assert roomy["warnings"] == [] and roomy["features"] == t["features"]
    # flagged, not raised
    assert "empty" in W.compute_shape_view(s, "lungs", -2000, spacing=(0.5, 0.5))["error"]
    assert "structure" in W.compute_shape_view(s, "heart", -320)["error"]
    assert "box" in W.compute_shape_view(s, "tumour", -320)["error"]
    assert "upper" in W.compute_shape_view(s, "tumour", 500, box=(26, 11, 54, 39))["error"]


def test_shape_view_on_the_ct_tumour_matches_regionprops():
    from skimage.measure import regionprops

    vol, boxes = W._ct_data()
    b = W._largest_box(boxes)
    sx, sy, _ = W._ct_spacing()
    v = W.compute_shape_view(vol[b.slice_index], "tumour", -300, (sx, sy), box=(b.row0, b.col0, b.row1, b.col1))
    assert v["error"] is None
    props = regionprops(v["mask"].astype(np.uint8))[0]
    assert v["features"]["equivalent_diameter_mm"] == pytest.approx(props.equivalent_diameter_area * sx, rel=1e-6)
    assert v["features"]["n_pixels"] == v["mask"].sum()


def test_feature_separation_auc_and_densities():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 600)
    v = rng.normal(size=600) + 1.5 * y
    r = W.feature_separation(v, y, bins=20)
    assert r["error"] is None
    assert r["auc"] == pytest.approx(roc_auc_score(y, v)) and r["auc"] > 0.8
    assert W.feature_separation(-v, y)["separability"] == pytest.approx(r["separability"])
    w = np.diff(r["edges"])
    assert (r["density0"] * w).sum() == pytest.approx(1.0) and (r["density1"] * w).sum() == pytest.approx(1.0)
    assert r["mean"] == pytest.approx(v.mean()) and r["sd"] == pytest.approx(v.std())
    v2 = v.copy()
    v2[0] = 1e6
    assert "beyond" in W.feature_separation(v2, y)["warnings"][0]
    assert "constant" in W.feature_separation(np.ones(600), y)["error"]
    assert "NaN" in W.feature_separation(np.full(600, np.nan), y)["error"]
    assert "both labels" in W.feature_separation(v, np.zeros(600, int))["error"]
    assert "bins" in W.feature_separation(v, y, bins=1)["error"]


def test_threshold_view_matches_sklearn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 300)
    s = rng.normal(size=300) + y
    for t in (-1.0, 0.0, 0.7):
        r = W.threshold_view(y, s, t)
        pred = (s >= t).astype(int)
        assert r["confusion"] == skm.confusion_matrix(y, pred).tolist()
        assert r["tpr"] == pytest.approx(skm.recall_score(y, pred))
        assert r["metrics"]["f1"] == pytest.approx(skm.f1_score(y, pred))
        fpr, tpr, thr = skm.roc_curve(y, s, drop_intermediate=False)
        k = np.flatnonzero(thr >= t)[-1]                          # the ROC vertex of this threshold
        assert (r["fpr"], r["tpr"]) == pytest.approx((fpr[k], tpr[k]))
    assert "no image is called positive" in W.threshold_view(y, s, 100.0)["warnings"][0]
    assert "every image" in W.threshold_view(y, s, -100.0)["warnings"][0]
    assert "threshold" in W.threshold_view(y, s, float("nan"))["error"]


def test_round2_builders_render_and_react():
    pytest.importorskip("ipywidgets")
    img = np.random.default_rng(7).normal(size=(128, 128))
    fo = W.first_order_explorer(img, roi=(10, 10, 60, 40))
    assert (fo.controls["height"].value, fo.controls["width"].value) == (51, 31)
    before = fo.chart.value
    fo.controls["bins"].value = 8
    assert fo.chart.value != before and fo.chart.value[:4] == b"\x89PNG"
    fo.controls["height"].value = 2
    fo.controls["width"].value = 2
    fo.controls["bins"].value = 256
    assert "bins" in fo.message.value                               # flagged in the widget, no exception
    g = W.glcm_by_hand()
    before = g.image.value
    g.controls["distance"].value = 2
    assert g.image.value != before and g.controls["step"].max == 8   # 4x4 patch, offset (0, 2): 4 x 2 pairs
    g.controls["step"].value = 3
    assert "pair 3" in g.children[2].value
    g.controls["distance"].value = 4
    assert "no pixel pair" in g.message.value
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 400)
    X = np.column_stack([rng.normal(size=400) + y, rng.normal(size=400), np.ones(400)])
    fh = W.feature_histograms(X, y, ["good", "noise", "const"])
    assert fh.controls["feature"].value == "good"                   # sorted by separability
    before = fh.image.value
    fh.controls["feature"].value = "noise"
    assert fh.image.value != before
    fh.controls["feature"].value = "const"
    assert "constant" in fh.message.value
    bt = W.baseline_threshold_explorer(y, X[:, 0])
    before = bt.image.value
    bt.controls["threshold"].value = 1.0
    assert bt.image.value != before


def test_shape_explorer_on_the_ct():
    pytest.importorskip("ipywidgets")
    s = W.shape_explorer()
    before = s.image.value
    s.controls["threshold"].value = -200
    assert s.image.value != before
    s.controls["structure"].value = "lungs"
    assert s.controls["threshold"].value == -320 and s.image.value[:4] == b"\x89PNG"
    s.controls["threshold"].value = -900
    assert "empty" in s.message.value or s.message.value == ""


def test_wavelet_viewer_flags_too_many_levels_for_a_small_image():
    from medlab.widgets.features import wavelet_viewer

    v = wavelet_viewer(np.random.default_rng(0).random((28, 28)))
    v.controls["wavelet"].value = "db4"  # level 2 still fits: a new, valid picture
    shown = v.image.value
    v.controls["level"].value = 4  # more levels than a 28x28 image allows for db4
    assert v.image.value == shown  # the last valid picture stays
    assert "⚠" in v.children[0].children[3].value
