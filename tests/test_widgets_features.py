"""Tests for medlab.widgets.features (05): compute functions vs core / reference libraries, builders through
``.controls`` / ``.panes`` / ``.message`` (the generic wiring is covered by tests/test_widget_contract.py)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from skimage.feature import graycomatrix

from medlab import features as F
from medlab.samples import ct_largest_tumour, ct_pixel_spacing_xy
from medlab.widgets import features as W

PNG = b"\x89PNG"
SOURCE = Path(W.__file__)


# ----------------------------------------------------------------------------- layering
def test_widget_module_imports_no_exercises_and_no_private_core_helpers():
    tree = ast.parse(SOURCE.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            assert "exercises" not in module, f"line {node.lineno}: widgets never import exercises"
            assert module != "_render", f"line {node.lineno}: widgets/_render.py is to be deleted"
            if node.level >= 2 and module != "_validate":  # core: only public names (and the shared validators)
                assert all(not a.name.startswith("_") for a in node.names), f"line {node.lineno}: private core name"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "F":
            assert not node.attr.startswith("_"), f"line {node.lineno}: F.{node.attr} is private to core"


# ----------------------------------------------------------------------------- compute functions
def test_compute_glcm_view_matches_skimage():
    rng = np.random.default_rng(0)
    img = rng.normal(0, 100, (120, 100))
    roi = (10, 20, 59, 79)
    r = W.compute_glcm_view(img, roi, distance=2, angle_deg=45, levels=8, vmin=-300, vmax=300)
    assert r["ok"] and r["message"] == "" and r["warnings"] == []
    q = F.quantize(img[10:60, 20:80], 8, vmin=-300, vmax=300)
    ref = graycomatrix(q, [2], [np.pi / 4], levels=8, symmetric=True, normed=True)[:, :, 0, 0]
    np.testing.assert_allclose(r["glcm"], ref)
    assert r["features"]["contrast"] == pytest.approx(float(F.glcm_features(ref, average=True)["contrast"]))
    assert r["panel"].shape == (256, 768, 3) and r["panel"].dtype == np.uint8
    assert r["offset"] == (1, 1)
    # bad settings are flagged in the result contract (plain text), not raised
    for bad, words in [(dict(roi=(0, 0, 200, 10)), "roi"), (dict(roi=(5, 5, 5, 9)), "at least 2x2"),
                       (dict(angle_deg=float("nan")), "angle_deg"), (dict(levels=1), "levels")]:
        kw = {"roi": roi, **bad}
        out = W.compute_glcm_view(img, **kw)
        assert not out["ok"] and words in out["message"] and not re.search(r"<[a-z/]", out["message"])
    assert "2-D" in W.compute_glcm_view(np.zeros((2, 8, 8)), roi)["message"]


def test_texture_comparison_on_the_ct():
    reg = ct_largest_tumour()
    res = W.compare_textures(reg.hu, reg.tumour, reg.lung, distance=1, levels=16)
    assert res["ok"]
    r0, c0, r1, c1 = reg.tumour
    q = F.quantize(reg.hu[r0:r1 + 1, c0:c1 + 1], 16, vmin=-1000, vmax=400)
    ref = F.glcm_features(graycomatrix(q, [1], F.DEFAULT_ANGLES, levels=16, symmetric=True), average=True)
    assert res["features_a"]["homogeneity"] == pytest.approx(ref["homogeneity"])
    # the solid tumour is denser than the parenchyma around it
    assert res["features_a"]["joint_average"] > res["features_b"]["joint_average"]
    assert res["panel"].shape == (256, 768, 3)
    assert "box_b" in W.compare_textures(reg.hu, reg.tumour, (0, 0, 600, 5))["message"]


@pytest.mark.parametrize("wavelet,level", [("haar", 1), ("db2", 3), ("bior2.2", 2)])
def test_render_wavelet_energies_equal_core(wavelet, level):
    img = np.random.default_rng(1).normal(size=(96, 80)).astype(np.float32)
    r = W.render_wavelet(img, wavelet, level, size=128)
    assert r["ok"] and r["mosaic"].shape == (128, 128) and r["mosaic"].dtype == np.uint8
    ref = F.wavelet_energies(img, wavelet, level)
    assert set(r["energies"]) == set(ref)
    for k in ref:
        assert r["energies"][k] == pytest.approx(ref[k], rel=1e-5)
    bad = W.render_wavelet(img, "fourier", 1)
    assert not bad["ok"] and "wavelet must be" in bad["message"]


def _toy(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) * [3.0, 0.5] + [10, -2]
    y = ((X[:, 0] - 10) / 3 + (X[:, 1] + 2) / 0.5 + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


def test_render_svm():
    from medlab.classical import fit_svm_2d

    X, y = _toy(0)
    Xt, yt = _toy(1, 100)
    res = fit_svm_2d(X, y, Xt, yt, "rbf", 1.0, 0.5, grid_n=40)
    img = W.render_svm(res, X, y, size=200)
    assert img.shape == (200, 200, 3) and img.dtype == np.uint8
    assert (img == 0).all(axis=2).any()                           # boundary / rings drawn in black
    assert (img == W._CLASS_RGB[1]).all(axis=2).any()             # class-1 points drawn


def test_compute_first_order_view_matches_core_and_numpy():
    rng = np.random.default_rng(4)
    img = rng.normal(-500, 200, (96, 96))
    roi = (10, 20, 49, 69)
    r = W.compute_first_order_view(img, roi, bins=16, vmin=-1000, vmax=400)
    crop = img[10:50, 20:70]
    assert r["ok"] and r["panel"].shape == (256, 512, 3)
    assert r["features"] == F.first_order(crop, bins=16, vmin=-1000, vmax=400)
    assert r["features"]["mean"] == pytest.approx(crop.mean())
    assert r["counts"].sum() == crop.size and len(r["edges"]) == 17
    h = r["counts"][r["counts"] > 0] / crop.size                    # the histogram the entropy comes from
    assert r["features"]["entropy"] == pytest.approx(-(h * np.log(h)).sum())
    inside = (crop >= -1000) & (crop <= 400)
    np.testing.assert_array_equal(r["counts"][1:-1], np.histogram(crop[inside], r["edges"])[0][1:-1])
    # reachable bad settings are flagged, never raised
    assert "bins" in W.compute_first_order_view(img, (0, 0, 3, 3), bins=256)["warnings"][0]
    assert "roi" in W.compute_first_order_view(img, (0, 0, 200, 10))["message"]
    assert "bins" in W.compute_first_order_view(img, roi, bins=0)["message"]
    one = W.compute_first_order_view(img, (5, 5, 5, 5), bins=4)     # a single pixel is a region too
    assert one["ok"] and one["counts"].sum() == 1


def test_shape_view():
    s = np.full((80, 80), 40.0)
    s[:4, :] = -1000
    r, c = np.mgrid[:80, :80]
    disc = (r - 40) ** 2 + (c - 25) ** 2 <= 14 ** 2
    s[disc] = -850
    s[40, 25] = 30
    v = W.compute_shape_view(s, "lungs", -320, spacing=(0.5, 0.5))
    assert v["ok"] and v["panel"].shape == (80, 80, 3)
    np.testing.assert_array_equal(v["mask"], F.lung_slice_mask(s, -320))
    assert v["features"] == F.shape_features(v["mask"], spacing=(0.5, 0.5))
    t = W.compute_shape_view(s, "tumour", -900, spacing=(0.5, 0.5), box=(26, 11, 54, 39), upper=-800)
    assert t["ok"]
    np.testing.assert_array_equal(t["mask"], disc & (s == -850))          # the 30 HU vessel is not grown into
    assert t["features"]["roundness"] > 0.8
    assert "box edge" in t["warnings"][0]                                   # the disc fills the box exactly
    roomy = W.compute_shape_view(s, "tumour", -900, spacing=(0.5, 0.5), box=(20, 5, 60, 45), upper=-800)
    assert roomy["warnings"] == [] and roomy["features"] == t["features"]
    assert "empty" in W.compute_shape_view(s, "lungs", -2000, spacing=(0.5, 0.5))["message"]
    assert "structure" in W.compute_shape_view(s, "heart", -320)["message"]
    assert "box" in W.compute_shape_view(s, "tumour", -320)["message"]
    assert "upper" in W.compute_shape_view(s, "tumour", 500, box=(26, 11, 54, 39))["message"]


def test_shape_view_on_the_ct_tumour_matches_regionprops():
    from skimage.measure import regionprops

    reg = ct_largest_tumour()
    sx, sy = ct_pixel_spacing_xy()
    v = W.compute_shape_view(reg.hu, "tumour", -300, (sx, sy), box=reg.tumour)
    assert v["ok"]
    props = regionprops(v["mask"].astype(np.uint8))[0]
    assert v["features"]["equivalent_diameter_mm"] == pytest.approx(props.equivalent_diameter_area * sx, rel=1e-6)
    assert v["features"]["n_pixels"] == v["mask"].sum()


def test_feature_separation_auc_and_densities():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 600)
    v = rng.normal(size=600) + 1.5 * y
    r = W.feature_separation(v, y, bins=20)
    assert r["ok"]
    assert r["auc"] == pytest.approx(roc_auc_score(y, v)) and r["auc"] > 0.8
    assert W.feature_separation(-v, y)["separability"] == pytest.approx(r["separability"])
    w = np.diff(r["edges"])
    assert (r["density0"] * w).sum() == pytest.approx(1.0) and (r["density1"] * w).sum() == pytest.approx(1.0)
    assert r["mean"] == pytest.approx(v.mean()) and r["sd"] == pytest.approx(v.std())
    v2 = v.copy()
    v2[0] = 1e6
    assert "beyond" in W.feature_separation(v2, y)["warnings"][0]
    assert "constant" in W.feature_separation(np.ones(600), y)["message"]
    assert "NaN" in W.feature_separation(np.full(600, np.nan), y)["message"]
    assert "both labels" in W.feature_separation(v, np.zeros(600, int))["message"]
    assert "bins" in W.feature_separation(v, y, bins=1)["message"]
    assert "bins" in W.feature_separation(v, y, bins=10**9)["message"]         # checked upper limit


def test_threshold_view_matches_sklearn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 300)
    s = rng.normal(size=300) + y
    for t in (-1.0, 0.0, 0.7):
        r = W.threshold_view(y, s, t)
        pred = (s >= t).astype(int)
        assert r["ok"] and r["confusion"] == skm.confusion_matrix(y, pred).tolist()
        assert r["tpr"] == pytest.approx(skm.recall_score(y, pred))
        assert r["metrics"]["f1"] == pytest.approx(skm.f1_score(y, pred))
        fpr, tpr, thr = skm.roc_curve(y, s, drop_intermediate=False)
        k = np.flatnonzero(thr >= t)[-1]                          # the ROC vertex of this threshold
        assert (r["fpr"], r["tpr"]) == pytest.approx((fpr[k], tpr[k]))
    assert "no image is called positive" in W.threshold_view(y, s, 100.0)["warnings"][0]
    assert "every image" in W.threshold_view(y, s, -100.0)["warnings"][0]
    assert "threshold" in W.threshold_view(y, s, float("nan"))["message"]


def test_render_glcm_pairs():
    patch = np.random.default_rng(3).integers(0, 4, (6, 5)).astype(np.uint8)
    for symmetric in (False, True):
        r = F.glcm_pairs(patch, 1, 45, levels=4, symmetric=symmetric)
        img = W.render_glcm_pairs(patch, r, k=3, levels=4, symmetric=symmetric)
        assert img.dtype == np.uint8 and img.shape == (400, 740, 3)
        assert (img == (230, 30, 30)).all(axis=2).any()                  # the last pair / its cell boxed in red


# ----------------------------------------------------------------------------- builders
pytest.importorskip("ipywidgets")


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (2, 2), (3, 3), (5, 2), (4, 7), (9, 3)])
def test_first_order_explorer_builds_on_any_small_image(shape):
    """Issue 8: ``first_order_explorer(image=<3x3 array>)`` raised ``TraitError: setting max < min`` at
    build time (ROI sliders 2..H//2). Any image of at least one pixel must build, and every slider range be
    valid (min <= value <= max) whatever the learner moves."""
    img = np.random.default_rng(sum(shape)).normal(size=shape)
    fo = W.first_order_explorer(img)
    assert fo.render()[:4] == PNG and fo.last_exception is None and fo.message == ""
    h, w = shape
    c = fo.controls
    for name in ("height", "width", "row", "col"):
        assert c[name].min <= c[name].value <= c[name].max
    assert c["height"].max == h and c["width"].max == w
    for name, v in (("height", 1), ("width", 10**6), ("row", 10**6), ("col", 10**6), ("height", 10**6)):
        fo.set(**{name: v})
        assert fo.last_exception is None, fo.last_exception
        assert c["row"].value + c["height"].value <= h and c["col"].value + c["width"].value <= w
    fo.controls["bins"].value = 256
    assert fo.last_exception is None and "bins" in fo.readout.value   # a remark, the histogram is shown


def test_first_order_explorer_on_a_constant_image_and_its_roi():
    fo = W.first_order_explorer(np.full((3, 3), 7.0))
    assert fo.message == "" and fo.panes["histogram"].value[:4] == PNG
    img = np.random.default_rng(7).normal(size=(128, 128))
    fo = W.first_order_explorer(img, roi=(10, 10, 60, 40))
    assert (fo.controls["height"].value, fo.controls["width"].value, fo.controls["row"].value) == (51, 31, 10)
    before = fo.panes["histogram"].value
    fo.controls["bins"].value = 8
    assert fo.panes["histogram"].value != before
    fo.set(height=2, width=2, bins=256)
    assert "256 bins for 4 pixels" in fo.readout.value and fo.message == ""


def test_first_order_explorer_regions_on_the_embedded_data():
    fo = W.first_order_explorer()
    c = fo.controls
    assert len(c["source"].options) == 3
    reg = ct_largest_tumour()
    assert (c["row"].value, c["col"].value) == reg.tumour[:2]
    c["source"].value = "Chest X-ray"                             # the X-ray's 100x100 patch at (180, 120)
    assert (c["row"].value, c["col"].value, c["height"].value, c["width"].value) == (180, 120, 100, 100)
    assert "grey value" not in fo.readout.value and fo.message == ""
    assert fo.renders >= 1


def test_glcm_explorer_on_your_image():
    img = np.random.default_rng(3).integers(0, 256, (128, 128)).astype(np.uint8)
    g = W.glcm_explorer(img, roi=(10, 10, 100, 100))
    first = g.render()
    assert first[:4] == PNG and g.controls["row"].max == 128 - 1 - 90
    g.controls["distance"].value = 3
    assert g.panes["main"].value != first and "row +0, col +3" in g.readout.value
    with pytest.raises(ValueError, match="at least 2x2"):
        W.glcm_explorer(np.zeros((1, 5)))
    tiny = W.glcm_explorer(np.arange(4).reshape(2, 2))              # the smallest image with pixel pairs
    assert tiny.message == "" and tiny.controls["row"].max == 0


def test_glcm_explorer_source_sets_the_roi():
    g = W.glcm_explorer()
    names = list(g.controls["source"].options)
    g.controls["source"].value = names[2][1] if isinstance(names[2], tuple) else names[2]
    assert (g.controls["row"].value, g.controls["col"].value) == (180, 120)
    assert g.controls["row"].max == 512 - 1 - 99 and g.message == ""


def test_texture_comparison_slices():
    tc = W.texture_comparison()
    assert (tc.controls["slice"].min, tc.controls["slice"].max) == (12, 21)
    before = tc.panes["main"].value
    tc.controls["distance"].value = 2
    assert tc.panes["main"].value != before and "parenchyma" in tc.readout.value
    with pytest.raises(ValueError, match="levels"):
        W.texture_comparison(levels=5)


def test_wavelet_viewer_flags_too_many_levels_for_a_small_image():
    v = W.wavelet_viewer(np.random.default_rng(0).random((28, 28)))
    v.controls["wavelet"].value = "db4"  # level 2 still fits: a new, valid picture
    shown = v.panes["main"].value
    assert v.message == ""
    v.controls["level"].value = 4  # more levels than a 28x28 image allows for db4
    assert v.panes["main"].value == shown  # the last valid picture stays
    assert "level must be <=" in v.message and v.last_exception is None
    v.controls["level"].value = 1
    assert v.message == ""


def test_svm_explorer_reacts_and_escapes():
    X, y = _toy(0, 150)
    Xt, yt = _toy(1, 60)
    sv = W.svm_explorer(X, y, Xt, yt, feature_names=["a", "b"], class_names=("<no>", "yes"), n_train=100)
    before = sv.panes["main"].value
    sv.controls["C"].value = 10.0
    assert sv.panes["main"].value != before
    assert "&lt;no&gt;" in sv.readout.value and "<no>" not in sv.readout.value
    sv.controls["kernel"].value = "linear"
    assert "no gamma" in sv.readout.value
    with pytest.raises(ValueError, match="x_feature"):
        W.svm_explorer(X, y, Xt, yt, feature_names=["a", "b"], x_feature="c")
    with pytest.raises(ValueError, match="y_train must contain only the labels 0 and 1"):
        W.svm_explorer(X, y + 1, Xt, yt)
    with pytest.raises(ValueError, match="X_test must have shape"):
        W.svm_explorer(X, y, Xt[:, :1], yt)
    with pytest.raises(ValueError, match="one entry per sample"):
        W.svm_explorer(X, y[:-1], Xt, yt)
    with pytest.raises(ValueError, match="feature_names"):
        W.svm_explorer(X, y, Xt, yt, feature_names=["a"])


def test_glcm_by_hand_steps_follow_the_offset():
    g = W.glcm_by_hand()
    assert g.controls["step"].max == 12 and g.controls["step"].value == 12    # 4x4, offset (0, 1): 4 x 3 pairs
    before = g.panes["main"].value
    g.controls["distance"].value = 2
    assert g.panes["main"].value != before and g.controls["step"].max == 8   # offset (0, 2): 4 x 2 pairs
    assert g.controls["step"].value == 8                                      # clamped: still all pairs
    g.controls["step"].value = 3
    assert "pair 3:" in g.readout.value
    g.controls["distance"].value = 4
    assert "no pixel pair" in g.message and g.last_exception is None
    g.controls["distance"].value = 1                                          # back: all 12 pairs again
    assert g.message == "" and g.controls["step"].max == 12 and g.controls["step"].value == 12
    g.controls["step"].value = 5
    g.controls["symmetric"].value = True                                      # same pairs: the replay stays
    assert g.controls["step"].value == 5 and "P[" in g.readout.value
    g.controls["angle"].value = 90                                            # a new offset: all its pairs
    assert g.controls["step"].value == g.controls["step"].max == 12
    g.controls["step"].value = 2
    g.controls["patch"].value = "6×6 checkerboard"
    assert g.controls["step"].value == g.controls["step"].max == 30
    with pytest.raises(ValueError, match="grey levels"):
        W.glcm_by_hand(np.array([[0, 5], [1, 2]]))
    own = W.glcm_by_hand(np.array([[0, 1, 2]]), levels=3)                     # one row: no vertical pair
    own.controls["angle"].value = 90
    assert "no pixel pair" in own.message


def test_shape_explorer_structure_sets_threshold_and_range():
    s = W.shape_explorer()
    before = s.panes["main"].value
    s.controls["threshold"].value = -200
    assert s.panes["main"].value != before
    s.controls["structure"].value = "lungs"
    t = s.controls["threshold"]
    assert (t.value, t.min, t.max) == (-320, -900, -100) and s.message == ""
    s.controls["threshold"].value = -900
    assert s.last_exception is None
    s.controls["structure"].value = "tumour"
    assert (t.value, t.min, t.max) == (-300, -700, 100)


def test_feature_histograms_sorted_and_flagged():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 400)
    X = np.column_stack([rng.normal(size=400) + y, rng.normal(size=400), np.ones(400)])
    fh = W.feature_histograms(X, y, ["good", "noise", "const"])
    assert fh.controls["feature"].value == "good"                   # sorted by separability
    assert [v for _, v in fh.controls["feature"].options] == ["good", "noise", "const"]
    before = fh.panes["main"].value
    fh.controls["feature"].value = "noise"
    assert fh.panes["main"].value != before
    fh.controls["feature"].value = "const"
    assert "constant" in fh.message and fh.last_exception is None
    with pytest.raises(ValueError, match="feature must be"):
        W.feature_histograms(X, y, ["good", "noise", "const"], feature="other")
    with pytest.raises(ValueError, match="one entry per sample"):
        W.feature_histograms(X, y[:-1], ["good", "noise", "const"])
    with pytest.raises(TypeError, match="X must be a numeric array"):
        W.feature_histograms("table.csv", y)


def test_baseline_threshold_explorer():
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 400)
    s = y + rng.normal(scale=0.3, size=400)
    s[:4] = y[:4] + rng.normal(scale=0.01, size=4)
    bt = W.baseline_threshold_explorer(y, s)
    before = bt.panes["main"].value
    bt.controls["threshold"].value = 1.0
    assert bt.panes["main"].value != before and "sensitivity" in bt.readout.value
    flat = W.baseline_threshold_explorer(y, y + rng.normal(scale=0.01, size=400))  # slider max above every score
    flat.controls["threshold"].value = flat.controls["threshold"].max
    assert "no image is called positive" in flat.readout.value and flat.message == ""
    with pytest.raises(ValueError, match="both classes"):
        W.baseline_threshold_explorer(np.ones(10, int), np.zeros(10))
