"""Bad input across the public API, one section per class of the issue-14 probe.

Classes: data loss · silently wrong pixels · silently wrong numbers · memory and time bombs · unclear errors.
Each test states the bad input and the error it must give; each failed before its fix. Part A covers io,
preprocess, display, datasets and _validate; part B appends its modules (ops, features, classical...) to the
same sections.
"""
from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from medlab import _validate, datasets


# =============================================================================================
# 1. data loss: nothing may ever write into the data folder or over an existing data file
# =============================================================================================
@pytest.mark.parametrize("target", ["pneumoniamnist.npz", "pneumoniamnist", "results/x.json",
                                    "lung_ct_dicom/1-01.dcm", "."])
def test_output_path_inside_data_folder_refused(target):
    with pytest.raises(ValueError, match="inside the data folder"):
        _validate.check_output_path(datasets.data_dir() / target)


def test_output_dir_inside_data_folder_refused():
    with pytest.raises(ValueError, match="inside the data folder"):
        _validate.check_output_dir(datasets.data_dir() / "runs")
    with pytest.raises(ValueError, match="inside the data folder"):
        datasets.check_output_path(datasets.DATA_DIR / "breastmnist.npz")


def test_output_path_refuses_any_folder_with_checksums(tmp_path):
    copy = tmp_path / "my_data"
    copy.mkdir()
    (copy / "SHA256SUMS").write_text("")
    with pytest.raises(ValueError, match="inside the data folder"):
        _validate.check_output_path(copy / "sub" / "out.json")


def test_output_path_refuses_copy_of_a_data_file(tmp_path):
    dst = tmp_path / "pneu.npz"
    shutil.copy(datasets.verify("breastmnist.npz"), dst)
    with pytest.raises(ValueError, match="copy of an embedded data file"):
        _validate.check_output_path(dst)
    assert dst.stat().st_size > 100_000  # untouched


def test_output_path_refuses_dicom_and_existing_when_no_overwrite(tmp_path):
    dcm = tmp_path / "x.dcm"
    shutil.copy(datasets.verify("lung_ct_dicom/1-01.dcm"), dcm)
    with open(dcm, "ab") as f:  # no longer a byte copy of the data file: still a DICOM file
        f.write(b"\0")
    with pytest.raises(ValueError, match="existing DICOM file"):
        _validate.check_output_path(dcm)
    res = tmp_path / "r.json"
    res.write_text("{}")
    assert _validate.check_output_path(res) == res.resolve()        # own results may be replaced
    with pytest.raises(ValueError, match="overwrite=False"):
        _validate.check_output_path(res, overwrite=False)
    with pytest.raises(ValueError, match="existing folder"):
        _validate.check_output_path(tmp_path)


@pytest.mark.parametrize("bad, exc", [(None, TypeError), (3, TypeError), ("", ValueError), (True, TypeError)])
def test_output_path_bad_types(bad, exc):
    with pytest.raises(exc, match="path"):
        _validate.check_output_path(bad)


# =============================================================================================
# 2. silently wrong pixels: a damaged file must not read as a plausible image
# =============================================================================================
import struct  # noqa: E402

from medlab import io as mio  # noqa: E402


@pytest.fixture(scope="module")
def head_nii_bytes():
    return gzip.decompress(datasets.verify("headsq_ct.nii.gz").read_bytes())


@pytest.mark.parametrize("fraction", [0.6, 0.99])
@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_truncated_nifti_refused(tmp_path, head_nii_bytes, fraction, ext):
    cut = head_nii_bytes[:int(len(head_nii_bytes) * fraction)]
    p = tmp_path / f"cut{ext}"
    p.write_bytes(gzip.compress(cut) if ext.endswith(".gz") else cut)
    with pytest.raises(ValueError, match="truncated NIfTI"):
        mio.read_image(p)


def test_cut_gzip_stream_refused(tmp_path):
    gz = datasets.verify("headsq_ct.nii.gz").read_bytes()
    p = tmp_path / "cut.nii.gz"
    p.write_bytes(gz[:len(gz) // 2])
    with pytest.raises(ValueError, match="gzip stream is damaged or cut off"):
        mio.read_image(p)


def test_vox_offset_past_end_refused(tmp_path, head_nii_bytes):
    b = bytearray(head_nii_bytes)
    b[108:112] = struct.pack("<f", float(len(b) + 1024))
    p = tmp_path / "off.nii"
    p.write_bytes(bytes(b))
    with pytest.raises(ValueError, match="vox_offset .* points past the end"):
        mio.read_image(p)


@pytest.mark.parametrize("value", [0.0, float("nan"), float("inf")])
@pytest.mark.parametrize("axis", [1, 3])
def test_nifti_pixdim_zero_or_nan_refused(tmp_path, head_nii_bytes, value, axis):
    b = bytearray(head_nii_bytes)
    b[76 + 4 * axis:80 + 4 * axis] = struct.pack("<f", value)
    p = tmp_path / "pix.nii"
    p.write_bytes(bytes(b))
    with pytest.raises(ValueError, match="pixdim"):
        mio.read_image(p)


def test_intact_nifti_still_reads(tmp_path, head_nii_bytes):
    p = tmp_path / "ok.nii"
    p.write_bytes(head_nii_bytes)
    assert mio.read_image(p).GetSize() == (64, 64, 93)


def test_duplicate_slice_refused(tmp_path):
    for name in ("a.dcm", "b.dcm"):
        shutil.copy(datasets.verify("lung_ct_dicom/1-01.dcm"), tmp_path / name)
    with pytest.raises(ValueError, match="same slice position"):
        mio.read_image(tmp_path)
    with pytest.raises(ValueError, match="same slice position"):
        mio.load_dicom_series(tmp_path)


def test_rgb_is_not_a_volume():
    with pytest.raises(ValueError, match="colour"):
        mio.as_volume(np.zeros((64, 64, 3), np.uint8))
    rgb = sitk.Image([8, 8, 2], sitk.sitkVectorUInt8, 3)
    with pytest.raises(ValueError, match="components per pixel"):
        mio.as_volume(rgb)
    assert mio.as_volume(np.zeros((3, 64, 64)))[0].shape == (3, 64, 64)   # 3 slices stay 3 slices


def test_as_volume_nan_refused():
    with pytest.raises(ValueError, match="NaN"):
        mio.as_volume(np.full((2, 8, 8), np.nan))


# =============================================================================================
# 4. memory and time bombs: sizes are bounded before any work starts
# =============================================================================================
@pytest.fixture()
def huge_header_dicom(tmp_path):
    import pydicom

    ds = pydicom.dcmread(datasets.verify("lung_ct_dicom/1-01.dcm"))
    ds.Rows, ds.Columns = 65535, 65535
    ds.PixelData = ds.PixelData[:39000]
    p = tmp_path / "big.dcm"
    ds.save_as(p)
    return p


def test_huge_dicom_header_on_tiny_file(huge_header_dicom):
    assert huge_header_dicom.stat().st_size < 50_000
    for f in (mio.read_image, mio.hu_from_dicom):
        with pytest.raises(ValueError, match="declares 65535 x 65535"):
            f(huge_header_dicom)
    with pytest.raises(ValueError, match="declares 65535 x 65535"):
        mio.load_dicom_series(huge_header_dicom.parent)


def test_dicom_header_larger_than_file(tmp_path):
    import pydicom

    ds = pydicom.dcmread(datasets.verify("lung_ct_dicom/1-01.dcm"))
    ds.Rows = 1024                       # 1024 x 512 int16 = 1 MiB, the file holds 0.5 MiB
    p = tmp_path / "x.dcm"
    ds.save_as(p)
    with pytest.raises(ValueError, match="bytes of uncompressed pixels"):
        mio.hu_from_dicom(p)


@pytest.mark.parametrize("spacing", [(2.0 ** 21, 2.0 ** 21, 2.0 ** 22), (1e200, 1.0, 1.0)])
def test_resample_voxel_guard_not_bypassed_by_overflow(spacing):
    # 2**21 * 2**21 * 2**22 = 2**64 voxels: np.prod in int64 wraps to 0 and passed the old guard
    img = sitk.Image(1, 1, 1, sitk.sitkInt16)
    img.SetSpacing(spacing)
    with pytest.raises(ValueError, match="voxels"):
        mio.resample_isotropic(img, 1.0)
    with pytest.raises(ValueError, match="voxels"):
        mio.isotropic_grid(img, 1e-300)


@pytest.mark.parametrize("spacing", [1e-300, 1e-6])
def test_resample_tiny_spacing(spacing):
    img = sitk.Image(4, 4, 4, sitk.sitkInt16)
    with pytest.raises(ValueError, match="use a larger spacing"):
        mio.resample_isotropic(img, spacing)
