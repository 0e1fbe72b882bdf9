"""Tests for medlab.io: reading DICOM/NIfTI/MHA/NRRD/PNG, array order, HU, resampling, headers."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from pydicom.uid import generate_uid

from medlab import datasets
from medlab import io as mio

ROOT = Path(__file__).resolve().parents[1]
CT_DIR = ROOT / "datasets" / "lung_ct_dicom"
HEAD = ROOT / "datasets" / "headsq_ct.nii.gz"
XRAY = ROOT / "datasets" / "chest_xray" / "00000001_000.png"
CT_SMALL = get_testdata_file("CT_small.dcm")


@pytest.fixture(scope="module")
def ct():
    return mio.read_image(CT_DIR)


# ---------------------------------------------------------------- the embedded chest CT
def test_embedded_ct_geometry_and_hu(ct):
    assert ct.GetSize() == (512, 512, 30)
    np.testing.assert_allclose(ct.GetSpacing(), (0.6465, 0.6465, 8.0), atol=1e-4)
    assert ct.GetPixelID() == sitk.sitkInt16
    arr = mio.to_array(ct)
    assert arr.shape == (30, 512, 512)
    assert int(arr.min()) == -1024 and int(arr.max()) == 1548
    # air outside the body is about -1000 HU, soft tissue around 0..100 HU
    assert np.median(arr[:, :20, :20]) < -900


def test_series_is_sorted_by_position(ct):
    table = mio.dicom_info(CT_DIR)
    z_file = sorted(r.slice_position_z_mm for r in table)
    z_img = [ct.TransformIndexToPhysicalPoint((0, 0, k))[2] for k in range(30)]
    np.testing.assert_allclose(z_img, z_file)


def test_hu_by_hand_equals_simpleitk_on_a_slice(ct):
    table = mio.dicom_info(CT_DIR)
    row = table[0]  # instance 1, the highest slice (z = 312 mm)
    hu = mio.hu_from_dicom(CT_DIR / row.file)
    k = int(round((row.slice_position_z_mm - ct.GetOrigin()[2]) / ct.GetSpacing()[2]))
    np.testing.assert_array_equal(hu, mio.to_array(ct)[k].astype(np.float32))
    ds = pydicom.dcmread(CT_DIR / row.file)
    assert ds.RescaleIntercept == -1024 and ds.RescaleSlope == 1
    assert hu.min() >= -1024 and ds.pixel_array.min() >= 0  # stored values are unsigned-like


def test_dicom_info_table(ct):
    table = mio.dicom_info(CT_DIR)
    assert len(table) == 30  # the licence text file is skipped
    r = table[0]
    assert (r.modality, r.manufacturer, r.kernel) == ("CT", "SIEMENS", "B40f")
    assert r.slice_thickness_mm == 8.0 and r.rescale_intercept == -1024.0 and r.rescale_slope == 1.0
    np.testing.assert_allclose(r.pixel_spacing_mm, (0.646484375, 0.646484375))
    assert r.transfer_syntax == "Explicit VR Little Endian"
    assert table.column("instance_number") == list(range(1, 31))
    assert "B40f" in str(table) and "<table>" in table._repr_html_() and "more rows" in str(table)
    with pytest.raises(ValueError, match="name must be one of"):
        table.column("nope")


# ---------------------------------------------------------------- pydicom's CT_small.dcm
def test_ct_small_read_correctly():
    img = mio.read_image(CT_SMALL)
    assert img.GetSize() == (128, 128, 1)
    np.testing.assert_allclose(img.GetSpacing(), (0.661468, 0.661468, 5.0))
    ds = pydicom.dcmread(CT_SMALL)
    np.testing.assert_allclose(img.GetOrigin(), [float(v) for v in ds.ImagePositionPatient])
    expected = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_array_equal(mio.to_array(img)[0], expected)
    np.testing.assert_array_equal(mio.hu_from_dicom(CT_SMALL), expected.astype(np.float32))
    np.testing.assert_array_equal(mio.hu_from_dicom(ds), expected.astype(np.float32))
    info = mio.dicom_info(CT_SMALL)[0]
    assert info.modality == "CT" and info.manufacturer == "GE MEDICAL SYSTEMS"
    assert info.rescale_intercept == -1024.0 and info.slice_thickness_mm == 5.0


# ---------------------------------------------------------------- other formats
def test_png_and_nifti():
    xr = mio.read_image(XRAY)
    assert xr.GetDimension() == 2 and xr.GetSize() == (512, 512)
    assert mio.to_array(xr).dtype == np.uint8
    head = mio.read_image(HEAD)
    assert head.GetSize() == (64, 64, 93)
    np.testing.assert_allclose(head.GetSpacing(), (3.2, 3.2, 1.5), rtol=1e-6)


@pytest.mark.parametrize("suffix", [".mha", ".nrrd", ".nii.gz", ".png"])
def test_roundtrip_formats(tmp_path, suffix):
    rng = np.random.default_rng(0)
    if suffix == ".png":
        arr = rng.integers(0, 255, (20, 30), dtype=np.uint8)
        spacing = (1.0, 1.0)
    else:
        arr = rng.integers(-1000, 1000, (4, 20, 30)).astype(np.int16)
        spacing = (0.5, 0.7, 2.5)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing)
    path = tmp_path / f"img{suffix}"
    sitk.WriteImage(img, str(path))
    back = mio.read_image(path)
    np.testing.assert_array_equal(mio.to_array(back), arr)
    np.testing.assert_allclose(back.GetSpacing(), spacing, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)), st.integers(0, 2**31 - 1))
def test_to_array_orders_match_getpixel(shape_xyz, seed):
    rng = np.random.default_rng(seed)
    arr_zyx = rng.integers(-100, 100, shape_xyz[::-1]).astype(np.int16)
    img = sitk.GetImageFromArray(arr_zyx)
    xyz = mio.to_array(img, order="xyz")
    assert img.GetSize() == xyz.shape == shape_xyz
    x, y, z = (int(rng.integers(0, n)) for n in shape_xyz)
    assert img.GetPixel(x, y, z) == xyz[x, y, z] == mio.to_array(img)[z, y, x]


def test_resample_isotropic(ct):
    iso = mio.resample_isotropic(ct, 2.0)
    assert iso.GetSpacing() == (2.0, 2.0, 2.0)
    assert iso.GetSize() == (166, 166, 120)
    _assert_extent_kept(ct, iso)
    a = mio.to_array(iso)
    # no output slice lies outside the input (all default value = fake air)
    assert (a.reshape(a.shape[0], -1) > -1024).any(axis=1).all()
    assert a.min() >= -1024 and a.max() <= 1548
    # the mean HU is preserved by linear interpolation (same physical extent)
    assert abs(float(a.mean()) - float(mio.to_array(ct).mean())) < 15
    # default spacing = finest spacing; nearest keeps the label set
    small = sitk.GetImageFromArray(np.arange(8, dtype=np.uint8).reshape(2, 2, 2))
    small.SetSpacing((1.0, 1.0, 3.0))
    out = mio.resample_isotropic(small, interpolator="nearest")
    assert out.GetSize() == (2, 2, 6) and set(np.unique(mio.to_array(out))) <= set(range(8))


def _extent(img):
    """Per axis (low edge, high edge) in index-aligned mm: [o - s/2, o + (n - 1/2) s] along D."""
    o = np.array(img.GetOrigin()) @ np.array(img.GetDirection()).reshape(3, 3)  # D^T o (D orthonormal)
    s, n = np.array(img.GetSpacing()), np.array(img.GetSize())
    return o - s / 2, o + (n - 0.5) * s


def _assert_extent_kept(old, new):
    (lo0, hi0), (lo1, hi1) = _extent(old), _extent(new)
    half = np.array(new.GetSpacing()) / 2 + 1e-6
    assert (np.abs(lo1 - lo0) <= half).all() and (np.abs(hi1 - hi0) <= half).all()


@pytest.mark.parametrize("spacing", [0.5, 1.0, 2.0, 3.0, 5.0])
@pytest.mark.parametrize("flip", [False, True])
def test_resample_isotropic_keeps_physical_extent(spacing, flip):
    """A constant image must stay constant: no slice beyond the input filled with default_value."""
    img = sitk.GetImageFromArray(np.full((3, 6, 5), 100, dtype=np.int16))  # (z, y, x)
    img.SetSpacing((1.0, 1.5, 8.0))
    img.SetOrigin((-10.0, 20.0, 300.0))
    if flip:  # a non-identity direction (x and z reversed)
        img.SetDirection((-1, 0, 0, 0, 1, 0, 0, 0, -1))
    for interp in ("nearest", "linear"):
        out = mio.resample_isotropic(img, spacing, interp, default_value=0)
        _assert_extent_kept(img, out)
        np.testing.assert_array_equal(mio.to_array(out), 100)
        size, origin = mio.isotropic_grid(img, spacing)
        assert size == out.GetSize()
        np.testing.assert_allclose(origin, out.GetOrigin())


def test_image_info(ct):
    info = mio.image_info(ct)
    assert info["array_shape_zyx"] == (30, 512, 512)
    assert info["extent_mm"] == (331.0, 331.0, 240.0)
    assert info["voxel_volume_mm3"] == pytest.approx(0.646484375 ** 2 * 8)


# ---------------------------------------------------------------- bad input
def test_missing_path():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mio.read_image("/no/such/file.dcm")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mio.dicom_info("/no/such/folder")


def test_empty_folder(tmp_path):
    with pytest.raises(ValueError, match=r"folder .* is empty"):
        mio.read_image(tmp_path)
    with pytest.raises(ValueError, match=r"folder .* is empty"):
        mio.dicom_info(tmp_path)


def test_folder_without_dicom(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="no DICOM series"):
        mio.read_image(tmp_path)
    with pytest.raises(ValueError, match="none is DICOM"):
        mio.dicom_info(tmp_path)


@pytest.mark.parametrize("name", ["scan.png", "scan.dcm", "scan.nii.gz", "scan.txt"])
def test_not_an_image(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"this is a text file, not pixels\n" * 10)
    with pytest.raises(ValueError, match=r"scan\..*(not an image|could not read)"):
        mio.read_image(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.nii.gz"
    p.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.nii\.gz is empty"):
        mio.read_image(p)


def test_hu_from_non_dicom(tmp_path):
    p = tmp_path / "x.dcm"
    p.write_bytes(b"hello")
    with pytest.raises(ValueError, match=r"x\.dcm is not a DICOM file"):
        mio.hu_from_dicom(p)
    with pytest.raises(ValueError, match=r"x\.dcm is not a DICOM file"):
        mio.dicom_info(p)
    with pytest.raises(TypeError, match="path_or_dataset"):
        mio.hu_from_dicom(42)


def _two_series(folder: Path) -> tuple[str, str]:
    ds = pydicom.dcmread(CT_SMALL)
    uid_a = str(ds.SeriesInstanceUID)
    shutil.copy(CT_SMALL, folder / "a.dcm")
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["medlab-test-series-b"])
    ds.SOPInstanceUID = generate_uid(entropy_srcs=["medlab-test-sop-b"])
    ds.PixelData = (ds.pixel_array + 7).astype(ds.pixel_array.dtype).tobytes()
    ds.save_as(folder / "b.dcm")
    return uid_a, str(ds.SeriesInstanceUID)


def test_several_series_need_a_choice(tmp_path):
    uid_a, uid_b = _two_series(tmp_path)
    with pytest.raises(ValueError, match=r"holds 2 DICOM series.*series_uid="):
        mio.read_image(tmp_path)
    a = mio.to_array(mio.read_image(tmp_path, series_uid=uid_a))
    b = mio.to_array(mio.read_image(tmp_path, series_uid=uid_b))
    np.testing.assert_array_equal(b - a, 7)
    with pytest.raises(ValueError, match="series_uid '1.2.3' is not in folder"):
        mio.read_image(tmp_path, series_uid="1.2.3")
    with pytest.raises(TypeError, match="series_uid must be a str"):
        mio.read_image(tmp_path, series_uid=5)


def test_unreadable_compression(tmp_path):
    """HTJ2K-compressed pixels: GDCM has no decoder, the error names the syntax and the fix."""
    ds = pydicom.dcmread(CT_SMALL)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.201"
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\x00" * 64])
    ds["PixelData"].VR = "OB"
    p = tmp_path / "htj2k.dcm"
    ds.save_as(p, enforce_file_format=True)
    with pytest.raises(ValueError, match=r"htj2k\.dcm.*High-Throughput JPEG 2000.*gdcmconv --raw"):
        mio.read_image(p)
    with pytest.raises(ValueError, match=r"cannot decode the pixel data of .*htj2k\.dcm"):
        mio.hu_from_dicom(p)
    # the header is still readable
    assert "JPEG 2000" in mio.dicom_info(p)[0].transfer_syntax


def test_argument_errors(ct):
    with pytest.raises(TypeError, match="path must be"):
        mio.read_image(None)
    with pytest.raises(TypeError, match="image must be a SimpleITK.Image"):
        mio.to_array(np.zeros(3))
    with pytest.raises(ValueError, match="order must be"):
        mio.to_array(ct, order="yxz")
    with pytest.raises(ValueError, match="spacing must be a positive"):
        mio.resample_isotropic(ct, 0)
    with pytest.raises(TypeError, match="spacing must be"):
        mio.resample_isotropic(ct, "2")
    with pytest.raises(ValueError, match="interpolator must be one of"):
        mio.resample_isotropic(ct, 2.0, interpolator="cubic")


def test_series_with_a_missing_slice_is_rejected(tmp_path):
    """1-03 missing: SimpleITK would return 4 slices with z spacing 10.67 mm instead of 8."""
    for name in ("1-01.dcm", "1-02.dcm", "1-04.dcm", "1-05.dcm"):
        shutil.copy(CT_DIR / name, tmp_path / name)
    z3 = float(pydicom.dcmread(CT_DIR / "1-03.dcm", stop_before_pixels=True).ImagePositionPatient[2])
    with pytest.raises(ValueError, match=rf"not evenly spaced.*missing z = {z3:g} mm") as err:
        mio.read_image(tmp_path)
    assert str(tmp_path) in str(err.value) and "1-02.dcm" in str(err.value)
    shutil.copy(CT_DIR / "1-03.dcm", tmp_path / "1-03.dcm")  # complete again: reads fine
    img = mio.read_image(tmp_path)
    assert img.GetSize() == (512, 512, 5)
    np.testing.assert_allclose(img.GetSpacing()[2], 8.0, atol=1e-4)


def test_is_dicom_file_has_a_runnable_example():
    assert ">>>" in (mio.is_dicom_file.__doc__ or "")


# ---------------------------------------------------------------- moved from the 01 widgets (issue 8)
def _rotated_image(seed: int = 0):
    arr = np.random.default_rng(seed).integers(-1024, 2000, size=(4, 5, 7)).astype(np.int16)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.7, 1.3, 4.0))
    img.SetOrigin((-12.5, 40.0, 101.0))
    img.SetDirection(sitk.VersorTransform((0.2, -0.4, 0.9), 0.7).GetMatrix())  # a non-trivial direction
    return img


@settings(max_examples=40, deadline=None)
@given(st.floats(-3, 9), st.floats(-3, 9), st.floats(-3, 9))
def test_index_to_physical_equals_simpleitk(i, j, k):
    img = _rotated_image()
    np.testing.assert_allclose(mio.index_to_physical(img, (i, j, k)),
                               img.TransformContinuousIndexToPhysicalPoint((i, j, k)), atol=1e-9)


def test_index_to_physical_errors():
    img = _rotated_image()
    with pytest.raises(TypeError, match="image must be a SimpleITK.Image"):
        mio.index_to_physical(np.zeros((2, 2, 2)), (0, 0, 0))
    with pytest.raises(ValueError, match=r"index_xyz must have shape \(3\)"):
        mio.index_to_physical(img, (1, 2))
    with pytest.raises(ValueError, match="index_xyz contains NaN"):
        mio.index_to_physical(img, (1, float("nan"), 0))
    with pytest.raises(TypeError, match="index_xyz must be a numeric array"):
        mio.index_to_physical(img, "1, 2, 3")


def test_load_dicom_series_one_header_model():
    series = mio.load_dicom_series(CT_DIR)
    table = mio.dicom_info(CT_DIR)
    assert len(series) == 30 and series.files == sorted(series.files) and series.files[0] == "1-01.dcm"
    # the same DicomInfo rows as dicom_info (which sorts by InstanceNumber), in file-name order
    assert isinstance(series.info, mio.DicomTable) and sorted(series.info, key=lambda r: r.file) == \
        sorted(table, key=lambda r: r.file)
    ds = pydicom.dcmread(CT_DIR / "1-07.dcm")
    row = series.info[series.files.index("1-07.dcm")]
    assert row.image_position_mm == tuple(float(v) for v in ds.ImagePositionPatient)
    assert row.slice_location_mm == pytest.approx(float(ds.SliceLocation))
    assert (row.bits_stored, row.pixel_representation) == (ds.BitsStored, ds.PixelRepresentation)
    k = series.files.index("1-07.dcm")
    np.testing.assert_array_equal(series.stored[k], ds.pixel_array)
    np.testing.assert_array_equal(series.hu(k), mio.hu_from_dicom(CT_DIR / "1-07.dcm"))
    # sorted_index = the slice SimpleITK's series reader puts the file at
    vol = mio.to_array(mio.read_image(CT_DIR))
    for i in (0, 7, 29):
        np.testing.assert_array_equal(series.hu(i), vol[series.sorted_index[i]].astype(np.float32))
    assert series.sorted_index[0] == 29 and not series.stored[0].flags.writeable
    with pytest.raises(ValueError, match="index must be <= 29"):
        series.hu(30)


def test_load_dicom_series_errors(tmp_path):
    with pytest.raises(TypeError, match="folder must be a str or os.PathLike"):
        mio.load_dicom_series(None)
    with pytest.raises(ValueError, match="is not a directory"):
        mio.load_dicom_series(tmp_path / "nope")
    (tmp_path / "LICENSE.txt").write_text("not DICOM")
    with pytest.raises(ValueError, match="contains no DICOM file"):
        mio.load_dicom_series(tmp_path)
    for name in ("1-01.dcm", "1-02.dcm"):
        shutil.copy(CT_DIR / name, tmp_path / name)
    assert len(mio.load_dicom_series(tmp_path)) == 2  # the licence text is skipped
    with pytest.raises(ValueError, match="holds 2 DICOM files; at most max_files=1"):
        mio.load_dicom_series(tmp_path, max_files=1)
    with pytest.raises(ValueError, match="max_files must be <= 2000"):
        mio.load_dicom_series(tmp_path, max_files=10**6)
    ds = pydicom.dcmread(CT_SMALL)
    del ds.PixelData
    ds.save_as(tmp_path / "1-03.dcm")
    with pytest.raises(ValueError, match="1-03.dcm has no pixel data"):
        mio.load_dicom_series(tmp_path)


@pytest.mark.parametrize("interp", ["nearest", "linear"])
@pytest.mark.parametrize("spacing", [1.3, 4.7])
def test_coronal_plane_equals_full_resample(ct, interp, spacing):
    y_mm = 300 * ct.GetSpacing()[1]
    plane, j = mio.coronal_plane_resampled(ct, spacing, y_mm, interp)
    full = mio.resample_isotropic(ct, spacing, interp)
    np.testing.assert_array_equal(plane, mio.to_array(full)[:, j, :])
    y_plane = full.TransformIndexToPhysicalPoint((0, j, 0))[1] - ct.GetOrigin()[1]
    assert abs(y_plane - y_mm) <= spacing / 2 + 1e-9  # the grid row nearest to y_mm


def test_coronal_plane_bspline_close_to_simpleitk_on_a_rotated_image():
    img = _rotated_image(3)
    for y_mm in (0.0, 2.0, 5.0):
        plane, j = mio.coronal_plane_resampled(img, 1.1, y_mm, "bspline")  # slab = all 5 rows
        full = mio.to_array(mio.resample_isotropic(img, 1.1, "bspline"))[:, j, :]
        assert np.abs(plane.astype(int) - full).max() <= 1


def test_coronal_plane_errors(ct):
    with pytest.raises(TypeError, match="image must be a SimpleITK.Image"):
        mio.coronal_plane_resampled(np.zeros((3, 3, 3)), 1.0, 0.0)
    with pytest.raises(ValueError, match="interpolator must be one of"):
        mio.coronal_plane_resampled(ct, 2.0, 0.0, "cubic")
    with pytest.raises(ValueError, match="spacing must be a positive"):
        mio.coronal_plane_resampled(ct, -1.0, 0.0)
    with pytest.raises(ValueError, match="y_mm must be a finite number"):
        mio.coronal_plane_resampled(ct, 2.0, float("nan"))
    with pytest.raises(ValueError, match="pixels for one plane"):
        mio.coronal_plane_resampled(ct, 0.05, 0.0)
    with pytest.raises(ValueError, match="image must be a 3-D scalar image"):
        mio.coronal_plane_resampled(sitk.Image(4, 4, sitk.sitkInt16), 1.0, 0.0)


def test_hu_histogram_equals_numpy(ct):
    plane = mio.to_array(ct)[15]
    c, n = mio.hu_histogram(plane)
    assert n.sum() == plane.size and len(c) == len(mio.HU_BINS) - 1
    ref, _ = np.histogram(np.clip(plane, -1024, 1600 - 1e-6), bins=mio.HU_BINS)
    np.testing.assert_array_equal(n, ref)
    np.testing.assert_allclose(c, (mio.HU_BINS[:-1] + mio.HU_BINS[1:]) / 2)
    with pytest.raises(ValueError, match="bins must be strictly increasing"):
        mio.hu_histogram(plane, [0, 0, 1])
    with pytest.raises(TypeError, match="plane must be a numeric array"):
        mio.hu_histogram(None)


# --------------------------------------------------------------------------- issue 14: 01 content
def test_hu_exercise_feedback_matches_the_tissue_bands():
    """Exercise 2's answer (-24 HU) is between the fat and water bands, not 'fat or soft tissue'."""
    from medlab.exercises.medical_images import check_hu_value, hu_task_rescale
    from medlab.widgets.medical_images import TISSUE_BANDS

    slope, intercept = hu_task_rescale()
    right = 1000 * slope + intercept
    fb = check_hu_value(right)
    assert fb
    assert not any(lo <= right <= hi for _, lo, hi, _ in TISSUE_BANDS)
    assert "in none of them" in fb.message and "fat or soft tissue" not in fb.message


def test_head_ct_lps_ras_one_voxel_both_ways():
    """SimpleITK (LPS: origin/spacing/direction) and nibabel (RAS: affine) place a voxel at the same point."""
    import nibabel as nib

    path = datasets.verify("headsq_ct.nii.gz")
    img_nib, img_itk = nib.load(str(path)), mio.read_image(path)
    flip = np.diag([-1.0, -1.0, 1.0])
    for ijk in [(0, 0, 0), (10, 20, 30), (63, 63, 92)]:
        p_lps = np.array(img_itk.TransformIndexToPhysicalPoint(ijk))
        p_ras = nib.affines.apply_affine(img_nib.affine, ijk)
        np.testing.assert_allclose(p_ras, flip @ p_lps, atol=1e-4)
        assert img_nib.dataobj[ijk] == sitk.GetArrayViewFromImage(img_itk)[ijk[::-1]]
