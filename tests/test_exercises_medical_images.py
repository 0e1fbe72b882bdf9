"""The exercise checks of 01_medical_images: right -> True, typical mistakes -> False with a specific
hint, None -> unanswered, nonsense type -> TypeError."""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from medlab import io as mio
from medlab.exercises import medical_images as ex


def _wrong(fb, hint_part):
    assert not fb and hint_part in fb.hint, (str(fb), hint_part)


@pytest.mark.parametrize("check", [ex.check_array_shape, ex.check_hu_value, ex.check_isotropic_size])
def test_unanswered(check):
    fb = check(None)
    assert not fb and "no answer yet" in fb.message and "None" in fb.hint


def test_array_shape():
    assert ex.check_array_shape((30, 512, 512))
    assert ex.check_array_shape([30, 512, 512])
    assert ex.check_array_shape(np.array([30, 512, 512]))
    _wrong(ex.check_array_shape((512, 512, 30)), "reversed")
    _wrong(ex.check_array_shape((512, 30, 512)), "order")
    with pytest.raises(TypeError, match="answer must be a tuple of 3"):
        ex.check_array_shape(30)
    with pytest.raises(TypeError, match="whole numbers"):
        ex.check_array_shape((30.5, 512, 512))


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


def test_isotropic_size():
    assert ex.check_isotropic_size((166, 166, 120))
    _wrong(ex.check_isotropic_size((120, 166, 166)), "(x, y, z)")
    _wrong(ex.check_isotropic_size((512, 512, 120)), "round(size")
    # the right answer is SimpleITK's size after resampling, not a stored number
    img = sitk.Image(*ex.ISO_TASK["size_xyz"], sitk.sitkUInt8)
    img.SetSpacing(ex.ISO_TASK["spacing_xyz"])
    assert mio.resample_isotropic(img, ex.ISO_TASK["new_spacing"]).GetSize() == (166, 166, 120)
