"""medlab.widgets.preprocessing (04): the compute functions (result contract) against the libraries, the
histogram chart, and each builder through its handle (``.controls``, ``.panes``, ``.message``, ``.click``).
The contract test covers the wiring of every control generically."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from skimage import exposure, filters

from medlab import datasets
from medlab import preprocess as pp
from medlab.display import window_level
from medlab.io import hu_histogram
from medlab.render import grey_window, render_overlay
from medlab.widgets import preprocessing as wp


@pytest.fixture(scope="module")
def ct():
    return datasets.load_lung_ct()


@pytest.fixture(scope="module")
def vol(ct):
    return np.array(ct.array)


# ------------------------------------------------------------------ core render helpers as 04 uses them
def test_grey_window_matches_display_and_simpleitk(vol):
    plane = vol[15]
    g = grey_window(plane, 1500, -600)
    assert g.dtype == np.uint8 and g.shape == plane.shape
    np.testing.assert_allclose(g, window_level(plane, 1500, -600) * 255, atol=0.51)
    ref = sitk.GetArrayFromImage(sitk.IntensityWindowing(sitk.Cast(sitk.GetImageFromArray(plane), sitk.sitkFloat32),
                                                         -1350, 150, 0, 255))
    assert np.abs(g.astype(float) - ref).max() <= 0.51


def test_render_overlay_colours():
    grey = np.full((20, 30), 100, np.uint8)
    mask = np.zeros((20, 30), bool)
    mask[5:10, 5:10] = True
    rgb = render_overlay(grey, mask, seed=(15, 20), boxes=[(1, 1, 18, 28)])
    assert rgb.shape == (20, 30, 3)
    assert rgb[7, 7, 0] > rgb[7, 7, 1]          # red overlay
    assert rgb[15, 20].tolist() == [0, 255, 255]  # seed cross
    assert rgb[1, 10].tolist() == [255, 215, 0]   # box outline
    assert rgb[12, 3].tolist() == [100, 100, 100]


# ------------------------------------------------------------------ compute functions
def test_compute_enhancement(vol):
    plane = vol[15]
    d = wp.compute_enhancement(plane, "equalize", in_range=(-1000, 400))
    assert d["ok"] and d["message"] == "" and d["warnings"] == []
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
    with pytest.raises(ValueError, match="image must be a 2-D array"):
        wp.compute_enhancement(vol[:2], "none")


def test_compute_noise_filter(vol):
    clean = vol[15, 128:384, 128:384].astype(float)
    d = wp.compute_noise_filter(clean, "salt_pepper", 0.05, "median", 1, seed=3)
    assert d["ok"] and d["psnr_filtered"] > d["psnr_noisy"] + 5 and d["ssim_filtered"] > d["ssim_noisy"]
    assert d["psnr_noisy"] == pytest.approx(pp.psnr(clean, d["noisy"], d["data_range"]))
    again = wp.compute_noise_filter(clean, "salt_pepper", 0.05, "gaussian", 1, seed=3)
    np.testing.assert_array_equal(again["noisy"], d["noisy"])  # same seed, same noise
    reuse = wp.compute_noise_filter(clean, "gaussian", 0.2, "median", 1, noisy=d["noisy"])
    np.testing.assert_array_equal(reuse["filtered"], d["filtered"])  # the given noisy image is used
    with pytest.raises(ValueError, match="noisy shape"):
        wp.compute_noise_filter(clean, noisy=np.zeros((3, 3)))


def test_compute_box_growth_equals_grow_from_box(ct, vol):
    box = ct.mask().astype(bool)
    k = ct.boxes[5].slice_index
    d = wp.compute_box_growth(vol[k], box[k], -300, 200, constrain=True, spacing=ct.spacing)
    ref = pp.grow_from_box(vol[k], box[k], -300, 200, roi_margin=0)
    np.testing.assert_array_equal(d["region"], ref.region)
    assert d["ok"] and d["dice"] == pytest.approx(pp.dice(ref.region, box[k]))
    assert d["iou"] == pytest.approx(pp.iou(ref.region, box[k]))
    assert d["dice"] == pytest.approx(2 * d["iou"] / (1 + d["iou"]))
    assert d["area_mm2"] == pytest.approx(d["voxels"] * ct.spacing[0] * ct.spacing[1])
    assert d["volume_ml"] == pytest.approx(d["area_mm2"] * ct.spacing[2] / 1000)  # the slab
    assert d["inside_box"] == 1.0                         # constrained: nothing outside the box
    free = wp.compute_box_growth(vol[k], box[k], -300, 200, constrain=False, spacing=ct.spacing)
    assert free["voxels"] >= d["voxels"] and free["inside_box"] < 1.0   # this slice leaks into the mediastinum
    d3 = wp.compute_box_growth(vol, box, -300, 200, constrain=True, spacing=ct.spacing)
    held = pp.grow_from_box(vol, box, -300, 200, roi_margin=0)
    assert d3["voxels"] == held.voxels and d3["dice"] == pytest.approx(held.dice)
    assert d3["volume_ml"] == pytest.approx(held.voxels * np.prod(ct.spacing) / 1000)
    assert d3["slices"] == (12, 21) and d3["area_mm2"] is None


def test_compute_box_growth_invalid_is_flagged(ct, vol):
    box = ct.mask().astype(bool)
    k = ct.boxes[0].slice_index
    d = wp.compute_box_growth(vol[k], box[k], 200, -300)
    assert d["ok"] is False and d["message"] == "lower (200) must be <= upper (-300)"
    d = wp.compute_box_growth(vol[k], box[k], 1400, 1500)
    assert d["ok"] is False and "no voxel inside the box" in d["message"]
    d = wp.compute_box_growth(vol[0], box[0], -300, 200)
    assert d["ok"] is False and "no annotated box" in d["message"]
    assert all("<" not in r["message"] for r in (d,))  # plain text, no HTML
    with pytest.raises(ValueError, match="box_mask shape"):
        wp.compute_box_growth(vol[k], box, -300, 200)


def test_histogram_chart_blits(vol):
    c, n = hu_histogram(vol[15])
    chart = wp.HistogramChart(c, n, "HU", vlines={"t": ("tab:red", "t")}, curve_label="grey",
                              xlim=(-1100, 1700), ylim=(0, 6))
    chart.vline("t", -500)
    chart.set_curve([-1000, 0], [0, 1])
    a = chart.png()
    bg = dict(chart.chart._backgrounds)
    chart.vline("t", 200)
    b = chart.png()
    assert a[:4] == b"\x89PNG" and a != b
    chart.set_hist(*hu_histogram(vol[5]))
    assert chart.png() != b and chart.chart._backgrounds == bg  # fixed axes: only the artists are redrawn
    with pytest.raises(ValueError, match="name must be one of"):
        chart.vline("nope", 0)
    plain = wp.HistogramChart(c, n, "HU", xlim=(-1100, 1700), ylim=(0, 6))
    with pytest.raises(ValueError, match="without a curve axis"):
        plain.set_curve([0], [0])


# ------------------------------------------------------------------ builders through their handles
def test_equalization_explorer(vol):
    w = wp.equalization_explorer(vol[15], in_range=(-1000, 400))
    assert set(w.panes) == {"main", "before", "histogram before", "histogram after"}
    main, hist = w.panes["main"].value, w.panes["histogram after"].value
    w.controls["method"].value = "clahe"
    assert w.panes["main"].value != main and w.panes["histogram after"].value != hist and w.message == ""
    shown = w.panes["main"].value
    w.controls["clip"].value = 0.1
    assert w.panes["main"].value != shown
    w.controls["method"].value = "gamma"  # the clip limit no longer acts: say so
    assert "clip limit acts only on method CLAHE" in w.message
    w.controls["gamma"].value = 2.0
    assert "gamma acts only" not in w.message
    w.controls["clip"].value = 0.01
    assert w.message == ""
    with pytest.raises(ValueError, match="image must be a 2-D array"):
        wp.equalization_explorer(np.zeros((2, 8, 8)))


def test_equalization_explorer_reuses_a_method_seen_before_exactly(vol):
    """Results are cached per (method, its own parameter): coming back to CLAHE at the same clip limit shows
    the very same image as computing it afresh; a new clip limit is computed."""
    w = wp.equalization_explorer(vol[15], in_range=(-1000, 400))
    w.controls["method"].value = "clahe"
    first = w.panes["main"].value
    for m in ("equalize", "gamma", "clahe"):
        w.controls["method"].value = m
    assert w.panes["main"].value == first
    fresh = wp.equalization_explorer(vol[15], in_range=(-1000, 400))
    fresh.controls["method"].value = "clahe"
    assert fresh.panes["main"].value == first
    w.controls["clip"].value = 0.2
    assert w.panes["main"].value != first


def test_denoise_explorer_keeps_the_noise_while_only_the_filter_changes(vol):
    w = wp.denoise_explorer(vol[15], in_range=(-1000, 400))
    assert set(w.panes) == {"main", "clean", "noisy"} and w.message == ""
    assert "PSNR" in w.readout.value and "256×256" in w.readout.value
    noisy, filtered = w.panes["noisy"].value, w.panes["main"].value
    w.controls["filter"].value = "gaussian"
    w.controls["size"].value = 2
    assert w.panes["noisy"].value == noisy and w.panes["main"].value != filtered
    w.controls["level"].value = 0.2
    assert w.panes["noisy"].value != noisy
    w.controls["level"].value = 0.05  # the same setting gives the same (seeded) noise
    w.controls["filter"].value = "median"
    assert w.panes["noisy"].value == noisy
    w.controls["noise"].value = "poisson"
    w.controls["level"].value = 0.0   # no noise at all: PSNR is infinite, not an error
    assert w.message == "" and w.last_exception is None
    with pytest.raises(ValueError, match="at least 7x7"):
        wp.denoise_explorer(np.zeros((5, 5)))


def test_threshold_explorer(ct, vol):
    w = wp.threshold_explorer(ct)
    k = w.controls["slice"].value
    assert k == ct.boxes[len(ct.boxes) // 2].slice_index
    assert w.controls["threshold"].value == pytest.approx(pp.otsu_threshold(vol[k]))
    assert w.controls["threshold"].value == filters.threshold_otsu(vol[k])
    before = w.panes["main"].value
    w.controls["threshold"].value = -200
    assert w.panes["main"].value != before
    assert f"HU &gt; -200: {(vol[k] > -200).mean():.1%} of the slice" in w.readout.value
    w.controls["slice"].value = 3
    n = w.renders
    w.click("otsu")
    assert w.controls["threshold"].value == pytest.approx(pp.otsu_threshold(vol[3]))
    assert w.renders == n + 1  # the slider jumps and the picture is drawn once


def test_region_grow_explorer_2d_preview_and_3d_region(ct, vol):
    w = wp.region_grow_explorer(ct)
    b = ct.boxes[0]
    assert (w.controls["slice"].value, w.controls["row"].value, w.controls["col"].value) == \
        (b.slice_index, (b.row0 + b.row1) // 2, (b.col0 + b.col1) // 2)
    assert w.controls["col"].description == "Seed column (x)"
    before = w.panes["main"].value
    w.controls["col"].value += 3  # the seed cross moves
    assert w.panes["main"].value != before and "slab volume" in w.readout.value
    w.click("grow3d")
    assert "3-D region" in w.readout.value and "mL" in w.readout.value
    assert w.state["grown"]["mask"].sum() == pp.region_grow(vol, (b.slice_index, w.controls["row"].value,
                                                                  w.controls["col"].value), -300, 200).sum()
    w.controls["slice"].value = b.slice_index + 1
    assert "3-D region" in w.readout.value  # browsing keeps the 3-D result
    w.controls["lower"].value = -250
    assert "3-D region" not in w.readout.value and "slab volume" in w.readout.value  # back to the 2-D preview
    w.controls["lower"].value = 300  # above upper: flagged, no exception
    assert "range is empty" in w.message and w.last_exception is None


def test_region_grow_explorer_bad_seed():
    with pytest.raises(ValueError, match=r"seed_zyx\[0\] must be <= 1"):
        wp.region_grow_explorer(np.zeros((2, 8, 8)), seed_zyx=(5, 0, 0))
    with pytest.raises(ValueError, match="seed_zyx must be a"):
        wp.region_grow_explorer(np.zeros((2, 8, 8)), seed_zyx=(1, 0))


def test_lung_segmentation_stepper(ct, vol):
    hu = vol[8:14]
    seg = pp.lung_mask(hu, ct.spacing)
    w = wp.lung_segmentation_stepper(hu, seg=seg)
    first = w.panes["main"].value
    w.controls["step"].value = 2
    assert w.panes["main"].value != first and "mL in the whole volume" in w.readout.value
    assert w.controls["step"].max == len(seg.steps) and w.controls["slice"].max == 5
    with pytest.raises(ValueError, match="seg was computed on a volume of shape"):
        wp.lung_segmentation_stepper(vol[8:12], seg=seg)
    with pytest.raises(TypeError, match="seg must be a LungSegmentation"):
        wp.lung_segmentation_stepper(hu, seg=seg.mask)


def test_box_grow_explorer(ct):
    w = wp.box_grow_explorer(ct)
    ks = [b.slice_index for b in ct.boxes]
    assert (w.controls["slice"].min, w.controls["slice"].max) == (min(ks), max(ks))
    assert set(w.panes) == {"main", "zoom"}
    assert "Dice with the box" in w.readout.value
    before = w.panes["zoom"].value
    w.controls["constrain"].value = False
    assert w.panes["zoom"].value != before
    w.controls["lower"].value = 400
    assert "must be <=" in w.message and w.last_exception is None  # flagged, no exception
    w.controls["lower"].value = -300
    assert w.message == ""
    w.click("grow3d")
    assert "3-D region" in w.readout.value and "mL" in w.readout.value
    w.controls["slice"].value = ks[0]
    assert "3-D region" in w.readout.value          # browsing keeps the 3-D result
    w.controls["upper"].value = 150
    assert "3-D region" not in w.readout.value and "Dice with the box" in w.readout.value
    with pytest.raises(ValueError, match="annotated boxes"):
        wp.box_grow_explorer(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="outside the image"):
        wp.box_grow_explorer(np.zeros((2, 8, 8)), boxes=[(0, 2, 2, 9, 4)])


def test_box_grow_explorer_slices_without_a_box(ct):
    # bug (issue 8): a slice between the first and the last annotated slice without a box of its own raised
    # TypeError (the second patient of the case study has such gaps; here they are made by dropping two boxes)
    gap = datasets.LungCT(ct.image, [b for b in ct.boxes if b.slice_index not in (15, 16)], ct.files)
    w = wp.box_grow_explorer(gap)
    w.controls["slice"].value = 15
    assert w.last_exception is None and w.message == ""
    assert "slice 15 has no annotated box" in w.readout.value
    w.controls["constrain"].value = False
    w.click("grow3d")  # unconstrained, the 3-D region passes through the gap: browse it there
    w.controls["slice"].value = 16
    assert w.last_exception is None and "3-D region" in w.readout.value
    assert w.state["grown"]["d"]["region"][16].any()


def test_box_grow_explorer_array_with_gap_in_its_boxes():
    vol = np.full((6, 40, 40), -800, np.int16)
    vol[1:5, 10:20, 10:20] = 40  # a "tumour" through slices 1..4
    boxes = [(1, 8, 8, 21, 21), (4, 8, 8, 21, 21)]  # annotated on slices 1 and 4 only
    w = wp.box_grow_explorer(vol, boxes=boxes, margin=5)
    assert (w.controls["slice"].min, w.controls["slice"].max) == (1, 4)
    for k in (2, 3, 4, 1):
        w.controls["slice"].value = k
        assert w.last_exception is None and w.message == ""
    assert "Dice with the box" in w.readout.value
    w.controls["constrain"].value = False
    w.click("grow3d")
    assert w.state["grown"]["d"]["voxels"] == 400  # the whole tumour, through the unannotated slices
    w.controls["slice"].value = 2
    assert w.last_exception is None and "showing the 3-D region on slice 2" in w.readout.value
