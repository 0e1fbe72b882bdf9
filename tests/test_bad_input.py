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


# =============================================================================================
# 3. silently wrong numbers: a result computed from input that cannot mean what it says
# =============================================================================================
from medlab import display  # noqa: E402
from medlab import preprocess as pp  # noqa: E402

_SQ = np.zeros((8, 8))
_SQ[2:6, 2:6] = 1


@pytest.mark.parametrize("f", [pp.dice, pp.iou, pp.hausdorff, pp.hd95, pp.assd])
@pytest.mark.parametrize("bad", [_SQ * 0.7, np.where(_SQ > 0, np.nan, 0.0), _SQ * 255, _SQ - 2])
def test_overlap_metrics_need_binary_masks(f, bad):
    with pytest.raises(ValueError, match="binary mask"):
        f(bad, _SQ)
    with pytest.raises(ValueError, match="binary mask"):
        f(_SQ, bad)


def test_binary_mask_functions_refuse_probabilities():
    for f in (pp.binary_open, pp.binary_close, pp.fill_holes, pp.largest_components):
        with pytest.raises(ValueError, match="binary mask"):
            f(_SQ * 0.5)
    with pytest.raises(ValueError, match="binary mask"):
        pp.region_size(_SQ * 3)


@pytest.mark.parametrize("f", [pp.otsu_threshold, pp.equalize_hist, pp.median_filter, pp.normalise,
                               lambda a: pp.add_noise(a, "gaussian"), pp.curvature_flow])
def test_rgb_image_is_not_a_three_slice_volume(f):
    rgb = np.random.default_rng(0).integers(0, 255, (32, 32, 3)).astype(np.uint8)
    with pytest.raises(ValueError, match="colour"):
        f(rgb)


def test_rgb_sitk_image_refused():
    rgb = sitk.Image([16, 16], sitk.sitkVectorUInt8, 3)
    with pytest.raises(ValueError, match="components per pixel"):
        pp.otsu_threshold(rgb)


@pytest.mark.parametrize("time_step", [10.0, 0.2])
def test_curvature_flow_unstable_time_step(time_step):
    with pytest.raises(ValueError, match="stability limit"):
        pp.curvature_flow(np.random.default_rng(0).random((16, 16)), 5, time_step)
    with pytest.raises(ValueError, match="stability limit"):
        pp.curvature_flow(np.zeros((4, 16, 16)), 5, 0.1)          # 3-D limit 0.0625
    assert pp.curvature_flow(np.zeros((4, 16, 16)), 2).shape == (4, 16, 16)   # default: the 3-D limit


def test_curvature_flow_stable_step_stays_bounded():
    img = np.random.default_rng(0).random((32, 32))
    out = pp.curvature_flow(img, 50, 0.125)
    assert img.min() - 1e-6 <= out.min() and out.max() <= img.max() + 1e-6


@pytest.mark.parametrize("call", [
    lambda hu: pp.body_mask(hu, air_hu=float("nan")),
    lambda hu: pp.lung_mask(hu, min_lung_ml=float("nan")),
    lambda hu: pp.lung_mask(hu, airway_max_mm2=float("nan")),
    lambda hu: pp.threshold(hu, lower=float("nan")),
    lambda hu: pp.region_grow(hu, (0, 0, 0), float("nan"), 0),
    lambda hu: pp.normalise(hu, in_range=(float("nan"), 0)),
])
def test_nan_parameters_never_give_empty_masks(call):
    hu = np.full((2, 16, 16), -1000.0)
    hu[:, 2:14, 2:14] = 40
    with pytest.raises(ValueError, match="NaN|nan|finite"):
        call(hu)


def test_tf_dataset_refuses_nan_and_unscaled():
    x = np.random.default_rng(0).random((8, 28, 28)).astype(np.float32)
    y = np.zeros(8)
    x[3, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        datasets.as_tf_dataset(x, y)
    with pytest.raises(ValueError, match="NaN"):
        datasets.as_tf_dataset(np.zeros((8, 28, 28), np.uint8), np.full(8, np.nan))
    with pytest.raises(ValueError, match=r"scaled to \[0, 1\]"):
        datasets.as_tf_dataset(np.full((8, 28, 28), 1000.0), y)


def test_window_level_nan_and_none():
    with pytest.raises(ValueError, match="NaN"):
        display.window_level(np.array([np.nan, 0.0]), 400, 40)
    with pytest.raises(TypeError, match="array must be a numeric array"):
        display.window_level(None, 400, 40)


# =============================================================================================
# 4. (continued) memory and time bombs in preprocess / display / datasets
# =============================================================================================
@pytest.mark.parametrize("call, match", [
    (lambda: pp.curvature_flow(np.zeros((64, 64)), 10 ** 7), "iterations must be <="),
    (lambda: pp.curvature_flow(np.zeros((400, 512, 512), np.float32), 400), "operations"),
    (lambda: pp.median_filter(np.zeros((64, 64)), 10 ** 6), "radius must be <="),
    (lambda: pp.median_filter(np.zeros((60, 512, 512), np.float32), 20), "operations"),
    (lambda: pp.gaussian_filter(np.zeros((64, 64)), 1e6), "sigma must be <="),
    (lambda: pp.binary_close(np.zeros((64, 64), bool), 10 ** 5), "radius must be <="),
    (lambda: pp.binary_open(np.zeros((64, 64), bool), 10 ** 5), "radius must be <="),
    (lambda: pp.histogram(np.zeros(10), 10 ** 12), "nbins must be <="),
    (lambda: pp.confidence_connected(np.zeros((8, 8)), (1, 1), iterations=10 ** 9), "iterations must be <="),
    (lambda: pp.lung_mask(np.zeros((2, 8, 8)), close_radius=10 ** 6), "close_radius must be <="),
    (lambda: pp.grow_from_box(np.zeros((8, 8)), _SQ, -1, 1, roi_margin=10 ** 6), "roi_margin must be <="),
    (lambda: pp.ct_quantum_noise(np.zeros((4096, 64))), "at most 1024"),
    (lambda: pp.ct_quantum_noise(np.zeros((64, 64)), n_angles=10 ** 8), "n_angles must be <="),
    (lambda: pp.clahe(np.zeros((16, 16)), kernel_size=10 ** 9), "kernel_size must be <="),
    (lambda: display.show_images([np.eye(3)], size=1e5), "size must be <="),
    (lambda: display.show_images([np.eye(3)] * 1000), "must be <= 64"),
    (lambda: datasets.as_tf_dataset(np.zeros((4, 8, 8), np.uint8), np.zeros(4), batch_size=10 ** 9),
     "batch_size must be <="),
])
def test_size_and_iteration_parameters_are_bounded(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# =============================================================================================
# 5. unclear errors: a string, None or a list where a number is expected names the argument
# =============================================================================================
@pytest.mark.parametrize("call, exc, match", [
    (lambda: pp.histogram(np.zeros(4), "256"), TypeError, "nbins"),
    (lambda: pp.add_noise(np.zeros((4, 4)), "gaussian", 0.1, seed="0"), TypeError, "seed"),
    (lambda: pp.add_noise(np.zeros((4, 4)), "gaussian", 0.1, seed=-1), ValueError, "seed"),
    (lambda: pp.add_noise(np.zeros((4, 4)), ["gaussian"]), ValueError, "kind must be one of"),
    (lambda: pp.denoise(np.zeros((4, 4)), "median", "1"), TypeError, "size"),
    (lambda: pp.denoise(np.zeros((4, 4)), None), ValueError, "kind must be one of"),
    (lambda: pp.largest_components(np.zeros((4, 4), bool), 1, ["face"]), TypeError, "connectivity"),
    (lambda: pp.normalise(np.zeros(4), in_range=("a", "b")), TypeError, r"in_range\[0\]"),
    (lambda: pp.body_mask(np.zeros((4, 4)), air_hu="-320"), TypeError, "air_hu"),
    (lambda: pp.lung_mask(np.zeros((2, 4, 4)), air_hu=None), TypeError, "air_hu"),
    (lambda: pp.dice(None, _SQ), TypeError, "a must be"),
    (lambda: display.window_level(np.zeros(3), None, 40), ValueError, "window and level are required"),
    (lambda: display.window_level(np.zeros(3), [400], 40), TypeError, "window must be a number"),
    (lambda: display.window_level(np.zeros(3), preset=["lung"]), ValueError, "preset must be one of"),
    (lambda: display.show_images([np.eye(3)], ncols="2"), TypeError, "ncols"),
    (lambda: display.show_images([np.eye(3)], titles="eye"), TypeError, "titles"),
    (lambda: display.show_images([None]), TypeError, r"images\[0\]"),
    (lambda: display.box_tuple((1, 2, 3)), ValueError, "a box must be"),
    (lambda: display.box_tuple(("a", 1, 2, 3, 4)), TypeError, "box z"),
    (lambda: display.plane(np.zeros((2, 3, 4)), "sideways", 0), ValueError, "view must be one of"),
    (lambda: display.plane(np.zeros((2, 3, 4)), "axial", 5), ValueError, "index must be <="),
    (lambda: display.render_slice(np.zeros((2, 8, 8)), (1, 1, 1), "axial", "0", 400, 40), TypeError, "index"),
    (lambda: display.render_slice(np.zeros((2, 8, 8)), None, "axial", 0, 400, 40), ValueError, "spacing"),
    (lambda: display.render_slice(np.zeros((2, 8, 8)), (1, 1, 1), "axial", 0, 400, 40, opacity=float("nan")),
     ValueError, "opacity"),
    (lambda: datasets.as_tf_dataset(None, None), TypeError, "images"),
    (lambda: datasets.as_tf_dataset(np.zeros((4, 8, 8)), np.zeros(4), batch_size="8"), TypeError, "batch_size"),
    (lambda: datasets.as_tf_dataset(np.zeros((4, 8, 8)), np.zeros(4), shuffle="yes"), TypeError, "shuffle"),
    (lambda: datasets.verify(["breastmnist.npz"]), TypeError, "rel must be"),
    (lambda: datasets.load_breastmnist(["val"]), ValueError, "split must be one of"),
    (lambda: datasets.load_head_ct("no"), TypeError, "approx_hu"),
    (lambda: mio.resample_isotropic(sitk.Image(4, 4, 4, sitk.sitkInt16), "1"), TypeError, "spacing"),
])
def test_errors_name_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_damaged_dicom_names_the_file(tmp_path):
    src = datasets.verify("lung_ct_dicom/1-01.dcm").read_bytes()
    p = tmp_path / "cut.dcm"
    p.write_bytes(src[:300])                            # preamble + part of the meta header
    for f in (mio.hu_from_dicom, mio.read_image):
        with pytest.raises(ValueError, match="cut.dcm"):
            f(p)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"default_value": float("nan")}, ValueError, "default_value"),
    ({"default_value": "air"}, TypeError, "default_value"),
    ({"interpolator": ["linear"]}, ValueError, "interpolator must be one of"),
])
def test_resample_arguments_named(kwargs, exc, match):
    img = sitk.Image(4, 4, 4, sitk.sitkFloat32)
    with pytest.raises(exc, match=match):
        mio.resample_isotropic(img, 1.0, **kwargs)
