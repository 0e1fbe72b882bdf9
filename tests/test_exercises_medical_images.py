"""The exercise checks of 01_medical_images: right -> True, typical mistakes -> False with a specific
hint, None -> unanswered, nonsense type -> TypeError."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from medlab import datasets
from medlab import io as mio
from medlab.exercises import medical_images as ex


def _wrong(fb, hint_part):
    assert not fb and hint_part in fb.hint, (str(fb), hint_part)


CHECKS = [ex.check_voxels_per_ml, ex.check_array_shape, ex.check_series_index, ex.check_hu_value,
          ex.check_window_contrast, ex.check_isotropic_size]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_unanswered(check):
    fb = check(None)
    assert not fb and "no answer yet" in fb.message and "None" in fb.hint


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_a_string_is_not_judged(check):
    with pytest.raises(TypeError, match="answer must"):
        check("twelve")


def test_voxels_per_ml():
    ct = datasets.load_lung_ct()
    assert ex.lung_ct_spacing() == pytest.approx(ct.spacing)        # headers == SimpleITK's geometry
    right = 1000.0 / float(np.prod(ct.spacing))
    assert 299 < right < 300
    assert ex.check_voxels_per_ml(right) and ex.check_voxels_per_ml(299) and ex.check_voxels_per_ml(300)
    _wrong(ex.check_voxels_per_ml(np.prod(ct.spacing) / 1000), "volume of one voxel in mL")
    _wrong(ex.check_voxels_per_ml(np.prod(ct.spacing)), "divide 1000")
    _wrong(ex.check_voxels_per_ml(1000 / (ct.spacing[0] * ct.spacing[1])), "8 mm slice spacing")
    _wrong(ex.check_voxels_per_ml(1000), "not 1 mm cubes")
    _wrong(ex.check_voxels_per_ml(right / 1000), "not 1 mm³")
    _wrong(ex.check_voxels_per_ml(right / 10), "not 100 mm³")
    _wrong(ex.check_voxels_per_ml(42), "1000 mm³ / (s_x")
    with pytest.raises(TypeError):
        ex.check_voxels_per_ml(True)


def test_array_shape():
    assert ex.check_array_shape((24, 256, 320))
    assert ex.check_array_shape([24, 256, 320])
    assert ex.check_array_shape(np.array([24, 256, 320]))
    _wrong(ex.check_array_shape((320, 256, 24)), "reversed")
    _wrong(ex.check_array_shape((256, 320, 24)), "order")
    # the right answer is SimpleITK's own array shape
    assert sitk.GetArrayFromImage(sitk.Image(*ex.ARRAY_TASK["size_xyz"], sitk.sitkUInt8)).shape == (24, 256, 320)
    with pytest.raises(TypeError, match="answer must be a tuple of 3"):
        ex.check_array_shape(30)
    with pytest.raises(TypeError, match="whole numbers"):
        ex.check_array_shape((24.5, 256, 320))


def test_array_shape_task_is_not_an_embedded_image():
    """Nothing above the exercise may print its answer: the task's size is none of the notebook's images."""
    sizes = {mio.read_image(datasets.DATA_DIR / "lung_ct_dicom").GetSize(), datasets.load_head_ct().GetSize()}
    assert ex.ARRAY_TASK["size_xyz"] not in sizes


def test_series_index():
    ct_image = mio.read_image(datasets.DATA_DIR / "lung_ct_dicom")
    file = ex.SERIES_TASK["file"]
    hu = mio.hu_from_dicom(datasets.DATA_DIR / "lung_ct_dicom" / file)
    arr = mio.to_array(ct_image)
    k = [i for i in range(arr.shape[0]) if np.array_equal(arr[i].astype(np.float32), hu)]
    assert k == [25]                                   # the file's pixels are array[25], nothing else
    assert ex.check_series_index(25) and ex.check_series_index(25.0)
    _wrong(ex.check_series_index(4), "file-name")      # its place in sorted(os.listdir())
    _wrong(ex.check_series_index(5), "file-name")      # its InstanceNumber
    _wrong(ex.check_series_index(26), "count from 0")
    _wrong(ex.check_series_index(29 - 25), "file-name")
    _wrong(ex.check_series_index(12), "ImagePositionPatient")
    with pytest.raises(TypeError, match="whole number"):
        ex.check_series_index(25.5)


def test_series_index_other_files(monkeypatch):
    for file, k in (("1-10.dcm", 20), ("1-30.dcm", 0), ("1-01.dcm", 29)):
        monkeypatch.setitem(ex.SERIES_TASK, "file", file)
        assert ex.check_series_index(k), file
    _wrong(ex.check_series_index(0), "file-name")


def test_hu_value():
    slope, intercept = ex.hu_task_rescale()
    assert (slope, intercept) == (1.0, -1024.0)
    assert ex.check_hu_value(-24)
    _wrong(ex.check_hu_value(2024), "Add the intercept")
    _wrong(ex.check_hu_value(1000), "not yet in HU")
    _wrong(ex.check_hu_value(7), "RescaleSlope")
    with pytest.raises(TypeError, match="answer must be a number"):
        ex.check_hu_value("minus 24")
    with pytest.raises(TypeError, match="answer must be a number"):
        ex.check_hu_value(True)


def test_hu_value_agrees_with_hu_from_dicom():
    from pydicom.data import get_testdata_file

    slope, intercept = ex.hu_task_rescale()
    hu = mio.hu_from_dicom(get_testdata_file(ex.HU_TASK["file"]))
    import pydicom

    stored = pydicom.dcmread(get_testdata_file(ex.HU_TASK["file"])).pixel_array
    np.testing.assert_array_equal(hu, stored.astype(np.float32) * slope + intercept)


def test_window_contrast():
    from medlab.display import PRESETS

    w, lvl = PRESETS["mediastinum"]
    assert (w, lvl) == (350, 50)
    # SimpleITK's IntensityWindowing gives the same grey difference for two HU 50 apart in the window
    img = sitk.GetImageFromArray(np.array([[lvl - 25.0, lvl + 25.0]], np.float32))
    g = sitk.GetArrayFromImage(sitk.IntensityWindowing(img, lvl - w / 2, lvl + w / 2, 0.0, 255.0))[0]
    assert g[1] - g[0] == pytest.approx(50 * 255 / 350)
    assert ex.check_window_contrast(36) and ex.check_window_contrast(36.43) and ex.check_window_contrast(37)
    _wrong(ex.check_window_contrast(50), "HU are not grey levels")
    _wrong(ex.check_window_contrast(350 / 255), "HU per grey level")
    _wrong(ex.check_window_contrast(50 / 350), "fraction of the window")
    _wrong(ex.check_window_contrast(50 * 255 / 2573), "without a window")
    _wrong(ex.check_window_contrast(20), "ΔHU · 255 / W")


def test_isotropic_size():
    assert ex.check_isotropic_size((102, 102, 70))
    _wrong(ex.check_isotropic_size((70, 102, 102)), "(x, y, z)")
    _wrong(ex.check_isotropic_size((102, 102, 69)), "don't cut off")
    _wrong(ex.check_isotropic_size((64, 64, 70)), "round(size")
    # the right answer is SimpleITK's size after resampling the real head CT, not a stored number
    head = datasets.load_head_ct()
    assert mio.resample_isotropic(head, ex.ISO_TASK["new_spacing"]).GetSize() == (102, 102, 70)
    # and it is not the chest CT's resampled size that 01 §6 prints above the exercise
    assert mio.resample_isotropic(mio.read_image(datasets.DATA_DIR / "lung_ct_dicom"), 2.0).GetSize() != (102, 102, 70)
