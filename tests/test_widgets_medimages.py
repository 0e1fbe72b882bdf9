"""medlab.widgets.medimages: the pure compute/render functions against SimpleITK / pydicom,
invalid settings flagged (not raised), and that every builder renders at once and re-renders
when a control moves."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st

from medlab import io as mio
from medlab.datasets import DATA_DIR, load_lung_ct
from medlab.widgets import medimages as mm
from widget_helpers import images as _images, moves_image as _moves_image

DICOM_DIR = DATA_DIR / "lung_ct_dicom"


@pytest.fixture(scope="module")
def ct():
    return load_lung_ct()


@pytest.fixture(scope="module")
def series():
    return mm.load_dicom_series(DICOM_DIR)


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
    assert d["valid"]
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
    assert d["valid"] is False and msg in d["message"]
    assert mm.compute_voxel(ct.image, 0, 0, 0, radius=-1)["valid"] is False


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
    assert series.tags[0]["InstanceNumber"] == ds.InstanceNumber
    assert series.tags[0]["ImagePositionPatient"] == [float(v) for v in ds.ImagePositionPatient]
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


def test_dicom_invalid(series, tmp_path):
    for bad in (30, -1, 2.0):
        d = mm.compute_dicom_file(series, bad)
        assert d["valid"] is False and "index must be an int in 0..29" in d["message"]
    with pytest.raises(ValueError, match="contains no DICOM file"):
        mm.load_dicom_series(tmp_path)
    with pytest.raises(ValueError, match="is not a directory"):
        mm.load_dicom_series(tmp_path / "nope")


# ------------------------------------------------------------------ HU profile
def test_hu_profile(ct):
    plane = np.array(ct.array[17])
    d = mm.compute_hu_profile(plane, 292, ct.spacing[0])
    np.testing.assert_array_equal(d["hu"], plane[292])
    assert d["x_mm"][-1] == pytest.approx(511 * ct.spacing[0])
    assert d["fractions"]["lung"] == pytest.approx(((plane[292] >= -900) & (plane[292] <= -500)).mean())
    assert d["fractions"]["lung"] > 0.1 and d["fractions"]["soft tissue"] > 0.05  # lung and tumour on this row
    assert mm.compute_hu_profile(plane, 512)["valid"] is False
    assert "row must be an int in 0..511" in mm.compute_hu_profile(plane, -3)["message"]
    assert mm.compute_hu_profile(plane, 3, spacing_x=0)["valid"] is False
    assert mm.compute_hu_profile(plane[0], 0)["valid"] is False
    chart = mm.ProfileChart(331.0)
    chart.set_profile(d["x_mm"], d["hu"])
    a = chart.png()
    bg = chart._background
    chart.set_profile(d["x_mm"], plane[100].astype(float))
    assert chart.png() != a and chart._background is bg  # the line is blitted on the saved bands


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
    assert d["valid"] is False and msg in d["message"]


# ------------------------------------------------------------------ builders
def test_voxel_inspector(ct):
    w = mm.voxel_inspector(ct, start_zyx=(17, 292, 170))
    assert len(_images(w)) == 2 and all(im.value[:4] == b"\x89PNG" for im in _images(w))
    assert "HU" in w.children[1].children[1].value
    assert _moves_image(w, w.controls["x"], 171)
    assert _moves_image(w, w.controls["z"], 5)
    p = ct.image.TransformIndexToPhysicalPoint((171, 292, 5))
    assert f"{p[2]:.2f} mm" in w.children[1].children[1].value


def test_dicom_series_browser(series):
    w = mm.dicom_series_browser(series=series)
    assert len(_images(w)) == 3
    assert w.controls["file"].min == 1 and "1-01.dcm" in w.children[-1].value
    assert _moves_image(w, w.controls["file"], 30)
    assert "1-30.dcm" in w.children[-1].value and "array[0]" in w.children[-1].value
    with pytest.raises(ValueError, match="give folder"):
        mm.dicom_series_browser()


def test_hu_profile_explorer(ct):
    w = mm.hu_profile_explorer(ct)
    assert _moves_image(w, w.controls["row"], 200)
    assert "lung" in w.children[-1].value and "row 200" in w.children[-1].value
    assert _moves_image(w, w.controls["slice"], 3)


def test_resampling_explorer(ct):
    w = mm.resampling_explorer(ct)
    assert _moves_image(w, w.controls["spacing"], 4.0)
    assert "83 × 83 × 60" in w.children[-1].value
    assert _moves_image(w, w.controls["interpolator"], "nearest")
    with pytest.raises(ValueError, match="row must be in 0..511"):
        mm.resampling_explorer(ct, row=600)


def test_builders_bad_input():
    with pytest.raises(TypeError, match="image must be a LungCT or a SimpleITK.Image"):
        mm.voxel_inspector(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="image must be 3-D"):
        mm.hu_profile_explorer(sitk.Image(4, 4, sitk.sitkInt16))
