"""medlab.widgets.medical_images: the compute/render functions against SimpleITK / pydicom, invalid
settings flagged (result contract, not raised), and what each widget shows through ``.controls``,
``.panes``, ``.readout`` and ``.message`` (the generic wiring is covered by test_widget_contract.py)."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st

from medlab import io as mio
from medlab.datasets import DATA_DIR, load_lung_ct
from medlab.display import PRESETS
from medlab.widgets import medical_images as mm

DICOM_DIR = DATA_DIR / "lung_ct_dicom"


@pytest.fixture(scope="module")
def ct():
    return load_lung_ct()


@pytest.fixture(scope="module")
def series():
    return mio.load_dicom_series(DICOM_DIR)


def _rotated_image():
    img = sitk.Image(7, 5, 4, sitk.sitkInt16)
    img.SetSpacing((0.7, 1.3, 4.0))
    img.SetOrigin((-12.5, 40.0, 101.0))
    rot = sitk.VersorTransform((0.2, -0.4, 0.9), 0.7).GetMatrix()  # a non-trivial direction matrix
    img.SetDirection(rot)
    arr = np.arange(7 * 5 * 4, dtype=np.int16).reshape(4, 5, 7)
    out = sitk.GetImageFromArray(arr)
    out.CopyInformation(img)
    return out


# ------------------------------------------------------------------ voxel inspector
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 3), st.integers(0, 4), st.integers(0, 6))
def test_voxel_position_equals_simpleitk(z, y, x):
    img = _rotated_image()
    d = mm.compute_voxel(img, z, y, x, radius=1)
    assert d["ok"]
    np.testing.assert_allclose(d["physical_mm"], img.TransformIndexToPhysicalPoint((x, y, z)), atol=1e-9)
    assert d["value"] == img.GetPixel(x, y, z)
    nb, (r0, c0), (cr, cc) = d["neighbourhood"], d["corner"], d["center"]
    assert nb[cr, cc] == d["value"]
    np.testing.assert_array_equal(nb, sitk.GetArrayFromImage(img)[z, r0:r0 + nb.shape[0], c0:c0 + nb.shape[1]])
    assert nb.shape == (min(5, y + 2) - max(0, y - 1), min(7, x + 2) - max(0, x - 1))  # clamped at the border


def test_voxel_on_the_ct(ct):
    d = mm.compute_voxel(ct.image, 17, 292, 170, radius=3)
    np.testing.assert_allclose(d["physical_mm"], ct.image.TransformIndexToPhysicalPoint((170, 292, 17)))
    assert d["value"] == ct.image.GetPixel(170, 292, 17) == ct.array[17, 292, 170]
    assert d["neighbourhood"].shape == (7, 7) and d["center"] == (3, 3) and d["index_xyz"] == (170, 292, 17)


@pytest.mark.parametrize("args, msg", [((30, 0, 0), "z=30 is outside 0..29"), ((0, -1, 0), "y=-1 is outside"),
                                       ((0, 0, 512), "x=512 is outside"), ((0, 1.5, 0), "y must be an int")])
def test_voxel_invalid_is_flagged(ct, args, msg):
    d = mm.compute_voxel(ct.image, *args)
    assert d["ok"] is False and msg in d["message"]
    assert mm.compute_voxel(ct.image, 0, 0, 0, radius=-1)["ok"] is False


def test_render_neighbourhood_and_crosshair():
    vals = np.array([[-1000, 0, 40], [400, 1500, -600], [7, 8, 9]])
    rgb = mm.render_neighbourhood(vals, (1, 1), 1500, -600, cell=30)
    assert rgb.shape == (90, 90, 3) and rgb.dtype == np.uint8
    assert rgb[32, 45].tolist() == [0, 255, 255]           # centre outline
    dark = rgb[5:25, 5:25]                                   # -1000 HU cell: dark with white digits
    assert dark.min() < 100 and dark.max() > 200
    plain = mm.render_neighbourhood(np.full((3, 3), -1000), None, cell=30)
    assert (plain[0:30, 0:30] > 200).any()                   # the number is printed
    with pytest.raises(ValueError, match="values must be a non-empty 2-D array"):
        mm.render_neighbourhood(np.zeros(3))
    ch = mm.render_crosshair(np.zeros((64, 64), np.uint8), 30, 20, radius=3)
    assert ch[30, 20].tolist() == [0, 0, 0] and ch[30, 10].tolist() == [0, 255, 255]
    assert ch[26, 20].tolist() == [255, 215, 0]              # neighbourhood outline


# ------------------------------------------------------------------ DICOM series
def test_dicom_series_matches_pydicom_and_simpleitk(series, ct):
    assert len(series) == 30 and series.files[0] == "1-01.dcm"
    ds = pydicom.dcmread(DICOM_DIR / "1-01.dcm")
    d0 = mm.compute_dicom_file(series, 0)
    assert d0["info"].instance_number == ds.InstanceNumber and d0["file"] == "1-01.dcm"
    assert d0["info"].image_position_mm == tuple(float(v) for v in ds.ImagePositionPatient)
    # sorting by position, as SimpleITK's reader does: array[k] is the file with sorted_index k
    arr = np.array(ct.array)
    for i in (0, 7, 29):
        d = mm.compute_dicom_file(series, i)
        np.testing.assert_array_equal(d["hu"], mio.hu_from_dicom(DICOM_DIR / series.files[i]))
        np.testing.assert_array_equal(d["hu"], arr[d["sorted_index"]].astype(np.float32))
        assert d["z_mm"] == pytest.approx(ct.image.TransformIndexToPhysicalPoint((0, 0, d["sorted_index"]))[2])
    assert mm.compute_dicom_file(series, 0)["sorted_index"] == 29   # first file by name is the top slice
    d = mm.compute_dicom_file(series, 3, thumb=2)
    assert d["stored_thumb"].shape == (256, 256) and d["stored_thumb"].mean() > d["hu_thumb"].mean()
    assert d["intercept"] == -1024 and d["stored_range"][0] - 1024 == d["hu_range"][0]


def test_dicom_invalid_is_flagged(series):
    for bad in (30, -1, 2.0, True):
        d = mm.compute_dicom_file(series, bad)
        assert d["ok"] is False and "index must be an int in 0..29" in d["message"] and d["warnings"] == []
    assert "thumb must be an int" in mm.compute_dicom_file(series, 0, thumb=0)["message"]


# ------------------------------------------------------------------ HU profile
def test_hu_profile(ct):
    plane = np.array(ct.array[17])
    d = mm.compute_hu_profile(plane, 292, ct.spacing[0])
    np.testing.assert_array_equal(d["hu"], plane[292])
    assert d["x_mm"][-1] == pytest.approx(511 * ct.spacing[0])
    assert d["fractions"]["lung"] == pytest.approx(((plane[292] >= -900) & (plane[292] <= -500)).mean())
    assert d["fractions"]["lung"] > 0.1 and d["fractions"]["soft tissue"] > 0.05  # lung and tumour on this row
    assert mm.compute_hu_profile(plane, 512)["ok"] is False
    assert "row must be an int in 0..511" in mm.compute_hu_profile(plane, -3)["message"]
    assert mm.compute_hu_profile(plane, 3, spacing_x=0)["ok"] is False
    assert mm.compute_hu_profile(plane[0], 0)["ok"] is False
    chart, line = mm._profile_chart(331.0)
    line.set_data(d["x_mm"], d["hu"])
    a = chart.png()
    bg = dict(chart._backgrounds)
    line.set_data(d["x_mm"], plane[100].astype(float))
    assert chart.png() != a and chart._backgrounds == bg  # the line is blitted on the saved bands


# ------------------------------------------------------------------ resampling
@pytest.mark.parametrize("interp", ["nearest", "linear"])
@pytest.mark.parametrize("spacing", [1.3, 2.0, 4.7])
def test_coronal_plane_equals_full_resample(ct, interp, spacing):
    y_mm = 300 * ct.spacing[1]
    d = mm.compute_resampled_coronal(ct.image, spacing, y_mm, interp)
    full = mio.resample_isotropic(ct.image, spacing, interp)
    assert d["new_size"] == full.GetSize()
    np.testing.assert_array_equal(d["plane"], mio.to_array(full)[::-1, d["row_j"], :])
    plane_pt = full.TransformIndexToPhysicalPoint((0, d["row_j"], 0))
    assert plane_pt[1] - ct.image.GetOrigin()[1] == pytest.approx(d["plane_y_mm"])
    assert abs(d["plane_y_mm"] - y_mm) <= spacing / 2 + 1e-9          # the grid row nearest to y_mm
    assert d["memory_mb"] == pytest.approx(np.prod(full.GetSize()) * 2 / 1e6)


@pytest.mark.parametrize("spacing, y_mm", [(4.0, 150.0), (2.0, 194.0)])
def test_coronal_plane_bspline_close_to_simpleitk(ct, spacing, y_mm):
    # the separable B-spline of a thin slab vs SimpleITK's B-spline resample of the whole volume
    d = mm.compute_resampled_coronal(ct.image, spacing, y_mm, "bspline")
    full = mio.to_array(mio.resample_isotropic(ct.image, spacing, "bspline"))[::-1, d["row_j"], :]
    diff = np.abs(d["plane"].astype(int) - full)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.001   # int16 truncation of values a hair from an integer


@pytest.mark.parametrize("spacing, interp, msg", [(0, "linear", "spacing must be a positive"),
                                                  (-2.0, "linear", "spacing must be a positive"),
                                                  (float("nan"), "linear", "spacing must be a positive"),
                                                  (2.0, "cubic", "interpolator must be one of"),
                                                  (0.01, "linear", "too many")])
def test_resampled_invalid_is_flagged(ct, spacing, interp, msg):
    d = mm.compute_resampled_coronal(ct.image, spacing, 100.0, interp)
    assert d["ok"] is False and msg in d["message"]


# ------------------------------------------------------------------ widgets (through .controls / .panes)
def test_voxel_inspector(ct):
    w = mm.voxel_inspector(ct, start_zyx=(17, 292, 170))
    assert set(w.panes) == {"main", "zoom"} and all(p.value[:4] == b"\x89PNG" for p in w.panes.values())
    assert "HU" in w.readout.value and w.message == ""
    before = w.panes["main"].value
    w.controls["x"].value = 171
    assert w.panes["main"].value != before
    w.controls["z"].value = 5
    p = ct.image.TransformIndexToPhysicalPoint((171, 292, 5))
    assert f"{p[2]:.2f} mm" in w.readout.value and f"{ct.array[5, 292, 171]} HU" in w.readout.value
    with pytest.raises(ValueError, match="start_zyx: z=40 is outside 0..29"):
        mm.voxel_inspector(ct, start_zyx=(40, 0, 0))


def test_voxel_inspector_takes_arrays_and_images():
    # one converter (io.as_volume) for LungCT / SimpleITK image / array: an array is an image with spacing 1 mm
    vol = np.arange(3 * 8 * 8, dtype=np.int16).reshape(3, 8, 8)
    w = mm.voxel_inspector(vol)
    assert w.message == "" and w.values == {"z": 1, "y": 4, "x": 4}
    assert f"{vol[1, 4, 4]} HU" in w.readout.value
    img = _rotated_image()
    w = mm.voxel_inspector(img, start_zyx=(2, 3, 4))
    p = img.TransformIndexToPhysicalPoint((4, 3, 2))
    assert f"= {p[0]:.2f} mm" in w.readout.value


def test_dicom_series_browser(series):
    w = mm.dicom_series_browser(series=series)
    assert set(w.panes) == {"main", "stored", "hu"}
    assert w.controls["file"].min == 1 and w.controls["file"].max == 30 and "1-01.dcm" in w.readout.value
    before = {n: p.value for n, p in w.panes.items()}
    w.controls["file"].value = 30
    assert all(w.panes[n].value != before[n] for n in before)
    assert "1-30.dcm" in w.readout.value and "array[0]" in w.readout.value and w.message == ""
    with pytest.raises(ValueError, match="give folder"):
        mm.dicom_series_browser()
    with pytest.raises(TypeError, match="series must be a medlab.io.DicomSeries"):
        mm.dicom_series_browser(series={"files": []})


def test_dicom_series_browser_escapes_file_names(tmp_path):
    # bug class of issue 8: text from the data (file names, tags) went into the HTML unescaped
    from pydicom.data import get_testdata_file
    import shutil

    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "<img src=x onerror=alert(1)>.dcm")
    w = mm.dicom_series_browser(tmp_path)
    assert "<img" not in w.readout.value and "&lt;img src=x onerror=alert(1)&gt;.dcm" in w.readout.value


def test_hu_profile_explorer(ct):
    w = mm.hu_profile_explorer(ct)
    assert set(w.panes) == {"main", "profile"}
    before = w.panes["profile"].value
    w.controls["row"].value = 200
    assert w.panes["profile"].value != before
    assert "lung" in w.readout.value and "row 200" in w.readout.value
    before = w.panes["main"].value
    w.controls["slice"].value = 3
    assert w.panes["main"].value != before and w.message == ""


def test_window_level_explorer(ct):
    w = mm.window_level_explorer(ct)
    assert set(w.panes) == {"main", "histogram"} and w.controls["slice"].value == ct.boxes[len(ct.boxes) // 2].slice_index
    assert "shown HU range [-1350, 150]" in w.readout.value
    w.controls["window"].value = 400.0
    assert "shown HU range [-800, -400]" in w.readout.value
    before = w.panes["histogram"].value
    w.controls["slice"].value = 2
    assert w.panes["histogram"].value != before


def test_window_level_preset_renders_once(ct):
    # bug class of issue 8 (slice_viewer): a preset set window, then level -> two renders, the first a mixed state
    w = mm.window_level_explorer(ct)
    n = w.renders
    w.controls["preset"].value = "bone"
    assert w.renders == n + 1 and (w.controls["window"].value, w.controls["level"].value) == PRESETS["bone"]
    lo, hi = PRESETS["bone"][1] - PRESETS["bone"][0] / 2, PRESETS["bone"][1] + PRESETS["bone"][0] / 2
    assert f"shown HU range [{lo:.0f}, {hi:.0f}]" in w.readout.value
    w.controls["level"].value = 100.0
    assert w.controls["preset"].value is None  # released when a slider moves away from the preset


def test_window_level_explorer_grey_equals_simpleitk(ct):
    w = mm.window_level_explorer(ct)
    w.set(slice=17, window=350.0, level=50.0)
    from PIL import Image
    import io

    shown = np.asarray(Image.open(io.BytesIO(w.panes["main"].value))).astype(float)
    ref = sitk.GetArrayFromImage(sitk.IntensityWindowing(sitk.Cast(ct.image[:, :, 17], sitk.sitkFloat32),
                                                         50 - 175, 50 + 175, 0.0, 255.0))
    assert np.abs(shown - ref).max() <= 0.5 + 1e-6


def test_resampling_explorer(ct):
    w = mm.resampling_explorer(ct)
    assert set(w.panes) == {"main", "original"}
    original = w.panes["original"].value
    before = w.panes["main"].value
    w.controls["spacing"].value = 4.0
    assert w.panes["main"].value != before and "83 × 83 × 60" in w.readout.value
    before = w.panes["main"].value
    w.controls["interpolator"].value = "nearest"
    assert w.panes["main"].value != before and w.panes["original"].value == original and w.message == ""
    with pytest.raises(ValueError, match="row must be in 0..511"):
        mm.resampling_explorer(ct, row=600)


def test_builders_bad_input():
    with pytest.raises(TypeError, match="image must be a LungCT, a 3-D SimpleITK image or a"):
        mm.voxel_inspector("ct.nii")
    with pytest.raises(ValueError, match="image must be 3-D"):
        mm.hu_profile_explorer(sitk.Image(4, 4, sitk.sitkInt16))
    with pytest.raises(ValueError, match="image must be a 3-D"):
        mm.window_level_explorer(np.zeros((2, 2, 2, 2)))


def test_voxel_inspector_says_when_the_grid_is_tilted(ct):
    # the readout spelled p = origin + index x spacing per axis even when D was not the identity
    assert "D is the identity here" in mm.voxel_inspector(ct).readout.value
    w = mm.voxel_inspector(_rotated_image(), start_zyx=(1, 1, 1))
    assert "D is not the identity" in w.readout.value and "-12.50 + 1 ×" not in w.readout.value
