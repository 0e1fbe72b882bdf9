"""medlab.widgets.preprocess: the pure compute/render functions, the chart, and that every
builder renders at once and re-renders when a control moves."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from skimage import exposure, filters

from medlab import preprocess as pp
from medlab.datasets import load_lung_ct
from medlab.display import window_level
from medlab.widgets import preprocess as wp
from widget_helpers import images as _images, moves_image as _moves_image


@pytest.fixture(scope="module")
def ct():
    return load_lung_ct()


@pytest.fixture(scope="module")
def vol(ct):
    return np.array(ct.array)


# ------------------------------------------------------------------ pure functions
def test_grey_window_matches_display_and_simpleitk(vol):
    plane = vol[15]
    g = wp.grey_window(plane, 1500, -600)
    assert g.dtype == np.uint8 and g.shape == plane.shape
    np.testing.assert_allclose(g, window_level(plane, 1500, -600) * 255, atol=0.51)
    ref = sitk.GetArrayFromImage(sitk.IntensityWindowing(sitk.Cast(sitk.GetImageFromArray(plane), sitk.sitkFloat32),
                                                         -1350, 150, 0, 255))
    assert np.abs(g.astype(float) - ref).max() <= 0.51


def test_hu_histogram(vol):
    c, n = wp.hu_histogram(vol[15])
    assert n.sum() == vol[15].size and len(c) == len(wp.HU_BINS) - 1
    ref, _ = np.histogram(np.clip(vol[15], -1024, 1600 - 1e-6), bins=wp.HU_BINS)
    np.testing.assert_array_equal(n, ref)


def test_render_overlay_and_crop():
    grey = np.full((20, 30), 100, np.uint8)
    mask = np.zeros((20, 30), bool)
    mask[5:10, 5:10] = True
    rgb = wp.render_overlay(grey, mask, seed=(15, 20), boxes=[(1, 1, 18, 28)])
    assert rgb.shape == (20, 30, 3)
    assert rgb[7, 7, 0] > rgb[7, 7, 1]          # red overlay
    assert rgb[15, 20].tolist() == [0, 255, 255]  # seed cross
    assert rgb[1, 10].tolist() == [255, 215, 0]   # box outline
    assert rgb[12, 3].tolist() == [100, 100, 100]
    crop, (r0, c0) = wp.crop_center(np.arange(100).reshape(10, 10), 4, center=(0, 9))
    assert crop.shape == (4, 4) and (r0, c0) == (0, 6)
    full, corner = wp.crop_center(np.zeros((5, 5)), 8)
    assert full.shape == (5, 5) and corner == (0, 0)


def test_compute_enhancement(vol):
    plane = vol[15]
    d = wp.compute_enhancement(plane, "equalize", in_range=(-1000, 400))
    np.testing.assert_allclose(d["after"], exposure.equalize_hist(plane))
    # equalised CDF is close to the identity line, the original is not
    gap_after = np.abs(d["cdf_after"] - d["centres"]).max()
    gap_before = np.abs(d["cdf_before"] - d["centres"]).max()
    assert gap_after < 0.1 < gap_before
    assert d["hist_after"].sum() == plane.size
    c = wp.compute_enhancement(plane, "clahe", clip_limit=0.02, in_range=(-1000, 400))
    np.testing.assert_allclose(c["after"], exposure.equalize_adapthist(np.clip((plane + 1000) / 1400, 0, 1),
                                                                       clip_limit=0.02))
    n = wp.compute_enhancement(plane, "none", in_range=(-1000, 400))
    np.testing.assert_array_equal(n["after"], n["before"])
    g = wp.compute_enhancement(plane, "gamma", gamma=2.0, in_range=(-1000, 400))
    np.testing.assert_allclose(g["after"], n["before"] ** 2)
    with pytest.raises(ValueError, match="method must be one of"):
        wp.compute_enhancement(plane, "sharpen")


def test_compute_noise_filter(vol):
    clean = vol[15, 128:384, 128:384].astype(float)
    d = wp.compute_noise_filter(clean, "salt_pepper", 0.05, "median", 1, seed=3)
    assert d["psnr_filtered"] > d["psnr_noisy"] + 5 and d["ssim_filtered"] > d["ssim_noisy"]
    assert d["psnr_noisy"] == pytest.approx(pp.psnr(clean, d["noisy"], d["data_range"]))
    again = wp.compute_noise_filter(clean, "salt_pepper", 0.05, "gaussian", 1, seed=3)
    np.testing.assert_array_equal(again["noisy"], d["noisy"])  # same seed, same noise
    reuse = wp.compute_noise_filter(clean, "gaussian", 0.2, "median", 1, noisy=d["noisy"])
    np.testing.assert_array_equal(reuse["filtered"], d["filtered"])  # the given noisy image is used
    with pytest.raises(ValueError, match="noisy shape"):
        wp.compute_noise_filter(clean, noisy=np.zeros((3, 3)))


def test_compute_threshold(vol):
    d = wp.compute_threshold(vol[15], -400)
    assert d["otsu"] == filters.threshold_otsu(vol[15])
    assert d["fraction"] == pytest.approx((vol[15] > -400).mean())


def test_compute_region_2d_and_3d(ct, vol):
    b = ct.boxes[0]
    seed = ((b.row0 + b.row1) // 2, (b.col0 + b.col1) // 2)
    d = wp.compute_region_2d(vol[b.slice_index], seed, -300, 200, "face", ct.spacing)
    ref = pp.connected_threshold_sitk(vol[b.slice_index], seed, -300, 200)
    np.testing.assert_array_equal(d["mask"], ref)
    assert d["slab_ml"] == pytest.approx(d["pixels"] * ct.spacing[0] * ct.spacing[1] * 8 / 1000, abs=1e-4)
    assert d["seed_value"] == vol[b.slice_index][seed]
    seed3 = (15, 250, 120)  # lung
    d3 = wp.compute_region_3d(vol, seed3, -1024, -500, "face", ct.spacing)
    np.testing.assert_array_equal(d3["mask"], pp.connected_threshold_sitk(vol, seed3, -1024, -500))
    assert d3["volume_ml"] == pytest.approx(d3["voxels"] * np.prod(ct.spacing) / 1000)
    assert d3["slices"][0] < 15 < d3["slices"][1]
    empty = wp.compute_region_3d(vol, seed3, 0, 100, spacing=ct.spacing)
    assert empty["voxels"] == 0 and empty["slices"] is None


def test_render_lung_step():
    hu = np.full((3, 40, 60), -1000, np.int16)
    hu[:, 4:36, 4:56] = 40
    hu[:, 10:30, 8:26] = -850
    hu[:, 10:30, 34:52] = -850
    seg = pp.lung_mask(hu, (2.0, 2.0, 5.0), min_lung_ml=0.5)
    one = wp.render_lung_step(hu, seg, 1, 1)
    four = wp.render_lung_step(hu, seg, 4, 1)
    assert one.shape == (40, 60, 3)
    assert not np.array_equal(one, four)  # step 1 also marks the air outside the body
    with pytest.raises(ValueError, match="step must be in 1..4"):
        wp.render_lung_step(hu, seg, 5, 1)
    with pytest.raises(ValueError, match="index 7 is outside"):
        wp.render_lung_step(hu, seg, 1, 7)


def test_histogram_chart_blits(vol):
    c, n = wp.hu_histogram(vol[15])
    chart = wp.HistogramChart(c, n, "HU", vlines={"t": ("tab:red", "t")}, curve_label="grey")
    chart.vline("t", -500)
    chart.set_curve([-1000, 0], [0, 1])
    a = chart.png()
    assert chart._background is not None
    chart.vline("t", 200)
    b = chart.png()
    assert a[:4] == b"\x89PNG" and a != b
    chart.set_hist(*wp.hu_histogram(vol[5]))
    assert chart._background is None  # new data -> static part is redrawn
    assert chart.png() != b
    with pytest.raises(ValueError, match="name must be one of"):
        chart.vline("nope", 0)
    fixed = wp.HistogramChart(c, n, "HU", xlim=(-1100, 1700), ylim=(0, 6))
    first = fixed.png()
    bg = fixed._background
    fixed.set_hist(*wp.hu_histogram(vol[5]))
    assert fixed._background is bg  # fixed limits: the histogram itself is blitted, no full redraw
    assert fixed.png() != first
    plain = wp.HistogramChart(c, n, "HU")
    with pytest.raises(ValueError, match="without a curve axis"):
        plain.set_curve([0], [0])


# ------------------------------------------------------------------ builders
def test_window_level_explorer(ct):
    w = wp.window_level_explorer(ct)
    assert all(im.value[:4] == b"\x89PNG" for im in _images(w))
    assert w.controls["level"].description == "Level L (HU)"
    assert _moves_image(w, w.controls["level"], -500)
    assert _moves_image(w, w.controls["slice"], 3)
    w.controls["preset"].value = "bone"
    assert (w.controls["window"].value, w.controls["level"].value) == (1800, 400)


def test_equalization_explorer(vol):
    w = wp.equalization_explorer(vol[15], in_range=(-1000, 400))
    assert len(_images(w)) == 4
    assert _moves_image(w, w.controls["method"], "clahe")
    assert _moves_image(w, w.controls["clip"], 0.1)
    w.controls["method"].value = "gamma"
    assert _moves_image(w, w.controls["gamma"], 2.0)


def test_denoise_explorer(vol):
    w = wp.denoise_explorer(vol[15], in_range=(-1000, 400))
    ims = _images(w)
    assert len(ims) == 3 and all(im.value for im in ims)
    assert "PSNR" in w.children[-1].value and "256×256" in w.children[-1].value
    assert _moves_image(w, w.controls["level"], 0.2)
    assert _moves_image(w, w.controls["size"], 2)
    assert _moves_image(w, w.controls["filter"], "gaussian")


def test_threshold_explorer(ct, vol):
    w = wp.threshold_explorer(ct)
    k = w.controls["slice"].value
    assert w.controls["threshold"].value == pytest.approx(pp.otsu_threshold(vol[k]))
    assert _moves_image(w, w.controls["threshold"], -200)
    w.controls["otsu"].click()
    assert w.controls["threshold"].value == pytest.approx(pp.otsu_threshold(vol[k]))


def test_region_grow_explorer(ct):
    w = wp.region_grow_explorer(ct)
    b = ct.boxes[0]
    assert w.controls["slice"].value == b.slice_index
    assert "Seed column (x)" == w.controls["col"].description
    assert _moves_image(w, w.controls["col"], w.controls["col"].value + 3)  # the seed cross moves
    assert "slab volume" in w.children[1].value
    w.grow3d()
    assert "3-D region" in w.children[2].value and "mL" in w.children[2].value
    assert _moves_image(w, w.controls["slice"], b.slice_index + 1)
    assert "3-D region" in w.children[2].value  # browsing keeps the 3-D result
    w.controls["lower"].value = -250
    assert w.children[2].value == ""  # any other change returns to the 2-D preview


def test_lung_segmentation_stepper(ct, vol):
    hu = vol[8:14]
    seg = pp.lung_mask(hu, ct.spacing)
    w = wp.lung_segmentation_stepper(hu, seg=seg)
    assert w.seg is seg
    assert _moves_image(w, w.controls["step"], 2)
    assert "mL" in w.children[0].children[0].children[2].value


def test_builder_bad_input():
    with pytest.raises(TypeError, match="image must be a LungCT"):
        wp.window_level_explorer([1, 2, 3])
    with pytest.raises(ValueError, match="seed .* is outside"):
        wp.region_grow_explorer(np.zeros((2, 8, 8)), seed_zyx=(5, 0, 0))
    with pytest.raises(ValueError, match="image must have 2 dimensions"):
        wp.equalization_explorer(np.zeros((2, 8, 8)))


# ------------------------------------------------------------------ tumour region grown from the box (§6)
def test_compute_box_growth_equals_grow_from_box(ct, vol):
    box = ct.mask().astype(bool)
    k = ct.boxes[5].slice_index
    d = wp.compute_box_growth(vol[k], box[k], -300, 200, constrain=True, spacing=ct.spacing)
    ref = pp.grow_from_box(vol[k], box[k], -300, 200, roi_margin=0)
    np.testing.assert_array_equal(d["region"], ref.region)
    assert d["dice"] == pytest.approx(pp.dice(ref.region, box[k]))
    assert d["iou"] == pytest.approx(pp.iou(ref.region, box[k]))
    assert d["dice"] == pytest.approx(2 * d["iou"] / (1 + d["iou"]))
    assert d["area_mm2"] == pytest.approx(d["voxels"] * ct.spacing[0] * ct.spacing[1])
    assert d["inside_box"] == 1.0                         # constrained: nothing outside the box
    free = wp.compute_box_growth(vol[k], box[k], -300, 200, constrain=False, spacing=ct.spacing)
    assert free["voxels"] >= d["voxels"] and free["inside_box"] < 1.0   # this slice leaks into the mediastinum
    d3 = wp.compute_box_growth(vol, box, -300, 200, constrain=True, spacing=ct.spacing)
    held = pp.grow_from_box(vol, box, -300, 200, roi_margin=0)
    assert d3["voxels"] == held.voxels and d3["dice"] == pytest.approx(held.dice)
    assert d3["volume_ml"] == pytest.approx(held.voxels * np.prod(ct.spacing) / 1000)


def test_compute_box_growth_invalid_is_flagged(ct, vol):
    box = ct.mask().astype(bool)
    k = ct.boxes[0].slice_index
    d = wp.compute_box_growth(vol[k], box[k], 200, -300)
    assert d["valid"] is False and "lower (200) must be <= upper (-300)" in d["message"]
    d = wp.compute_box_growth(vol[k], box[k], 1400, 1500)
    assert d["valid"] is False and "no voxel inside the box" in d["message"]
    d = wp.compute_box_growth(vol[0], box[0], -300, 200)
    assert d["valid"] is False and "no annotated box" in d["message"]
    with pytest.raises(ValueError, match="box_mask shape"):
        wp.compute_box_growth(vol[k], box, -300, 200)


def test_box_grow_explorer(ct):
    w = wp.box_grow_explorer(ct)
    ks = [b.slice_index for b in ct.boxes]
    assert (w.controls["slice"].min, w.controls["slice"].max) == (min(ks), max(ks))
    assert "Dice with the box" in w.children[2].value
    assert _moves_image(w, w.controls["constrain"], False)
    assert _moves_image(w, w.controls["lower"], -200)
    w.controls["lower"].value = 400
    assert "must be <=" in w.children[2].value          # flagged in the readout, no exception
    w.controls["lower"].value = -300
    w.grow3d()
    assert "3-D region" in w.children[3].value and "mL" in w.children[3].value
    assert _moves_image(w, w.controls["slice"], ks[0])
    assert "3-D region" in w.children[3].value          # browsing keeps the 3-D result
    w.controls["upper"].value = 150
    assert w.children[3].value == ""
    with pytest.raises(ValueError, match="annotated boxes"):
        wp.box_grow_explorer(np.zeros((2, 8, 8)))
