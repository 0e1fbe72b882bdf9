"""Exercise checks for 01_medical_images: axis order, Hounsfield units, isotropic resampling.

Every right answer is computed here with SimpleITK, pydicom or :mod:`medlab.io` (nothing is
hard-coded), and typical mistakes get a specific hint.

>>> bool(check_array_shape(None))
False
>>> bool(check_array_shape((30, 512, 512)))
True
>>> print(check_array_shape((512, 512, 30)))
❌ Not yet: (512, 512, 30) is SimpleITK's (x, y, z) order.
Hint: numpy stores the last index contiguously, ITK the first: the order is reversed.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import Feedback, as_number

__all__ = ["ARRAY_TASK", "check_array_shape", "HU_TASK", "hu_task_rescale", "check_hu_value",
           "ISO_TASK", "check_isotropic_size"]

#: SimpleITK size (x, y, z) of the embedded chest CT; the learner gives the numpy shape.
ARRAY_TASK = dict(size_xyz=(512, 512, 30))

#: A stored DICOM value of CT_small.dcm; the learner converts it to HU with the file's rescale.
HU_TASK = dict(file="CT_small.dcm", stored=1000)

#: Resample the embedded CT to isotropic voxels of this spacing (mm): what is the new size?
ISO_TASK = dict(size_xyz=(512, 512, 30), spacing_xyz=(0.646484375, 0.646484375, 8.0), new_spacing=2.0)


_number = as_number  # the one answer parser (medlab.exercises.as_number)


def _int_tuple(answer: Any, n: int, what: str) -> tuple[int, ...]:
    if isinstance(answer, np.ndarray):
        answer = answer.tolist()
    if not isinstance(answer, (tuple, list)) or len(answer) != n:
        raise TypeError(f"{what} must be a tuple of {n} whole numbers, got {answer!r}")
    out = []
    for v in answer:
        x = _number(v, what)
        if x != int(x):
            raise TypeError(f"{what} must hold whole numbers, got {answer!r}")
        out.append(int(x))
    return tuple(out)


def check_array_shape(answer: Any) -> Feedback:
    """Shape of ``to_array(image)`` for an image whose ``GetSize()`` is :data:`ARRAY_TASK`."""
    size = ARRAY_TASK["size_xyz"]
    task = f"image.GetSize() is {size}. What is to_array(image).shape?"
    if answer is None:
        return Feedback.unanswered(task)
    value = _int_tuple(answer, 3, "answer")
    import SimpleITK as sitk

    right = sitk.GetArrayFromImage(sitk.Image(*size, sitk.sitkUInt8)).shape
    if value == tuple(right):
        return Feedback(True, f"numpy reverses the order: (z, y, x) = {tuple(right)}, so array[k] is slice k.")
    if value == tuple(size):
        return Feedback(False, f"{value} is SimpleITK's (x, y, z) order.",
                        hint="numpy stores the last index contiguously, ITK the first: the order is reversed.")
    return Feedback(False, f"{value} is not the shape.", hint="Same three numbers, different order.")


def hu_task_rescale() -> tuple[float, float]:
    """(RescaleSlope, RescaleIntercept) of the file in :data:`HU_TASK`, read with pydicom."""
    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file(HU_TASK["file"]), stop_before_pixels=True)
    return float(ds.RescaleSlope), float(ds.RescaleIntercept)


def _hu_band_text(hu: float) -> str:
    """Where ``hu`` lies among the notebook's tissue bands (the ones the HU profile chart of 01 §4 shades)."""
    from ..widgets.medical_images import TISSUE_BANDS  # one table: the chart's bands are the notebook's bands

    bands = sorted(TISSUE_BANDS, key=lambda b: b[1])
    for name, lo, hi, _ in bands:
        if lo <= hu <= hi:
            return f"inside the {name} band ({lo:g} to {hi:g} HU)."
    below = [b for b in bands if b[2] < hu]
    above = [b for b in bands if b[1] > hu]
    if below and above:
        lo_b, hi_b = below[-1], above[0]
        return (f"between the {lo_b[0]} band ({lo_b[1]:g} to {lo_b[2]:g} HU) and the {hi_b[0]} band ({hi_b[1]:g} "
                f"to {hi_b[2]:g} HU), in none of them: such a value is typically a partial-volume mix of the two "
                "tissues at an edge, or noise, not a tissue of its own.")
    return "outside every tissue band."


def check_hu_value(answer: Any) -> Feedback:
    """HU of the stored value ``HU_TASK['stored']`` in CT_small.dcm."""
    slope, intercept = hu_task_rescale()
    stored = HU_TASK["stored"]
    task = (f"In {HU_TASK['file']} (RescaleSlope {slope:g}, RescaleIntercept {intercept:g}) a pixel stores "
            f"{stored}. What is its value in HU?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _number(answer, "answer")
    right = stored * slope + intercept
    if abs(value - right) < 1e-6:
        return Feedback(True, f"HU = {stored}·{slope:g} + ({intercept:g}) = {right:g} HU: {_hu_band_text(right)}")
    if abs(value - (stored * slope - intercept)) < 1e-6:
        hint = "Add the intercept (it is negative here), don't subtract it."
    elif abs(value - stored) < 1e-6:
        hint = "The stored value is not yet in HU: apply HU = stored · slope + intercept."
    else:
        hint = "HU = stored · RescaleSlope + RescaleIntercept."
    return Feedback(False, f"{value:g} HU is not right.", hint=hint)


def check_isotropic_size(answer: Any) -> Feedback:
    """New (x, y, z) size after resampling :data:`ISO_TASK` to isotropic spacing."""
    t = ISO_TASK
    task = (f"An image of size {t['size_xyz']} with spacing {t['spacing_xyz']} mm is resampled to "
            f"{t['new_spacing']} mm isotropic voxels (same physical extent). What is the new size (x, y, z)?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _int_tuple(answer, 3, "answer")
    import SimpleITK as sitk

    from ..io import resample_isotropic

    img = sitk.Image(*t["size_xyz"], sitk.sitkUInt8)
    img.SetSpacing(t["spacing_xyz"])
    right = resample_isotropic(img, t["new_spacing"]).GetSize()
    if value == tuple(right):
        return Feedback(True, f"size · spacing = extent in mm; extent / {t['new_spacing']} mm = {tuple(right)}.")
    if value[::-1] == tuple(right):
        return Feedback(False, "Right numbers, numpy order.", hint="Give SimpleITK's (x, y, z) order.")
    return Feedback(False, f"{value} is not the new size.",
                    hint="For each axis: round(size · old_spacing / new_spacing). The z axis grows, x and y shrink.")
