"""Exercise checks for 01_medical_images: voxel volume, axis order, series order, Hounsfield units,
window contrast, isotropic resampling.

Every right answer is computed here with SimpleITK, pydicom, :mod:`medlab.io` or :mod:`medlab.render`
(nothing is hard-coded), and typical mistakes get a specific hint.

>>> bool(check_array_shape(None))
False
>>> bool(check_array_shape((24, 256, 320)))
True
>>> print(check_array_shape((320, 256, 24)))
❌ Not yet: (320, 256, 24) is SimpleITK's (x, y, z) order.
Hint: numpy stores the last index contiguously, ITK the first: the order is reversed.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import Feedback, as_number

__all__ = ["VOXEL_TASK", "lung_ct_spacing", "check_voxels_per_ml", "ARRAY_TASK", "check_array_shape",
           "SERIES_TASK", "check_series_index", "HU_TASK", "hu_task_rescale", "check_hu_value",
           "CONTRAST_TASK", "check_window_contrast", "ISO_TASK", "check_isotropic_size"]

#: 01 §1: how many voxels of the embedded chest CT make up 1 mL of tissue?
VOXEL_TASK = dict(folder="lung_ct_dicom", volume_ml=1.0)

#: 01 §2: SimpleITK size (x, y, z) of an MR series (not one of the embedded images, so nothing above
#: the exercise prints the answer); the learner gives the numpy shape.
ARRAY_TASK = dict(size_xyz=(320, 256, 24))

#: 01 §3: which array slice k does this file of the chest CT series become after sorting by position?
SERIES_TASK = dict(folder="lung_ct_dicom", file="1-05.dcm")

#: A stored DICOM value of CT_small.dcm; the learner converts it to HU with the file's rescale.
HU_TASK = dict(file="CT_small.dcm", stored=1000)

#: 01 §5: two tissues ``delta_hu`` apart, both inside the ``preset`` window: how many grey levels apart?
CONTRAST_TASK = dict(preset="mediastinum", delta_hu=50)

#: 01 §6: resample the embedded head CT to isotropic voxels of this spacing (mm): what is the new size?
ISO_TASK = dict(image="headsq_ct.nii.gz", new_spacing=2.0)


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
    """New (x, y, z) size of the head CT (:data:`ISO_TASK`) after resampling to isotropic spacing."""
    import SimpleITK as sitk

    from ..datasets import load_head_ct
    from ..io import resample_isotropic

    t = ISO_TASK
    head = load_head_ct()
    size, spacing = head.GetSize(), tuple(round(v, 3) for v in head.GetSpacing())
    task = (f"The head CT has size {size} (x, y, z) and spacing {spacing} mm. It is resampled to "
            f"{t['new_spacing']:g} mm isotropic voxels (same physical extent). What is the new size (x, y, z)?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _int_tuple(answer, 3, "answer")
    grid = sitk.Image(*size, sitk.sitkUInt8)       # the same geometry without the pixels: only the size matters
    grid.CopyInformation(head)
    right = tuple(resample_isotropic(grid, t["new_spacing"]).GetSize())
    if value == right:
        grow = [a for a, sp in zip("xyz", head.GetSpacing()) if sp > t["new_spacing"]]
        shrink = [a for a, sp in zip("xyz", head.GetSpacing()) if sp < t["new_spacing"]]
        return Feedback(True, f"size · spacing = extent in mm; extent / {t['new_spacing']:g} mm = {right}: "
                              f"more voxels along {', '.join(grow) or 'no axis'}, fewer along {', '.join(shrink) or 'no axis'}. "
                              "The extra voxels are interpolated: no detail is added.")
    if value[::-1] == right:
        return Feedback(False, "Right numbers, numpy order.", hint="Give SimpleITK's (x, y, z) order.")
    floor = tuple(int(np.floor(n * sp / t["new_spacing"])) for n, sp in zip(size, head.GetSpacing()))
    if value == floor:
        k = next(i for i in range(3) if floor[i] != right[i])
        return Feedback(False, f"{value} is not the new size.",
                        hint=f"Round to the nearest whole number of voxels, don't cut off ({size[k]} · "
                             f"{spacing[k]:g} / {t['new_spacing']:g} = {size[k] * spacing[k] / t['new_spacing']:g}).")
    return Feedback(False, f"{value} is not the new size.",
                    hint="For each axis: round(size · old_spacing / new_spacing); an axis with spacing below 2 mm "
                         "shrinks, one above grows.")


# --------------------------------------------------------------------------- §1 voxels
def lung_ct_spacing() -> tuple[float, float, float]:
    """(x, y, z) spacing of the embedded chest CT in mm, from its DICOM headers: PixelSpacing (row, column
    spacing) and the step between the sorted ImagePositionPatient z values.

    >>> lung_ct_spacing()
    (0.646484375, 0.646484375, 8.0)
    """
    from ..datasets import data_dir
    from ..io import dicom_info

    table = dicom_info(data_dir() / VOXEL_TASK["folder"])
    row_mm, col_mm = table[0].pixel_spacing_mm
    steps = np.unique(np.round(np.diff(sorted(table.column("slice_position_z_mm"))), 6))
    if len(steps) != 1:
        raise ValueError(f"the series in {VOXEL_TASK['folder']} has uneven slice steps {steps.tolist()}")
    return float(col_mm), float(row_mm), float(steps[0])


def check_voxels_per_ml(answer: Any) -> Feedback:
    """How many voxels of the chest CT (spacing from its headers) make up :data:`VOXEL_TASK` ``volume_ml``?"""
    task = ("The chest CT's voxels are 0.65 x 0.65 x 8 mm. How many of them make up 1 mL of tissue "
            "(1 mL = 1000 mm³)? A number, it need not be whole.")
    if answer is None:
        return Feedback.unanswered(task)
    v = as_number(answer, "answer")
    sx, sy, sz = lung_ct_spacing()
    voxel_mm3 = sx * sy * sz
    right = VOXEL_TASK["volume_ml"] * 1000.0 / voxel_mm3
    if abs(v - right) <= 1.0:
        return Feedback(True, f"one voxel is {sx:.4f} · {sy:.4f} · {sz:g} = {voxel_mm3:.3f} mm³, so 1000 mm³ / "
                              f"{voxel_mm3:.3f} mm³ = {right:.1f} voxels. Counting voxels measures volume.")
    hints = [(voxel_mm3 / 1000.0, "That is the volume of one voxel in mL; the question is how many voxels fill 1 mL."),
             (voxel_mm3, "That is one voxel's volume in mm³; divide 1000 mm³ by it."),
             (1000.0 / (sx * sy), "Include the 8 mm slice spacing: a voxel is a brick, not a square."),
             (1000.0, "Voxels are not 1 mm cubes: use the spacing."),
             (right / 1000.0, "1 mL is 1000 mm³ (a cube of 1 cm = 10 mm), not 1 mm³."),
             (100.0 / voxel_mm3, "1 mL is 1000 mm³ (10 mm x 10 mm x 10 mm), not 100 mm³.")]
    hint = next((h for ref, h in hints if abs(v - ref) <= max(0.02 * abs(ref), 1e-6)),
                "Number of voxels = volume / volume of one voxel = 1000 mm³ / (s_x · s_y · s_z).")
    return Feedback(False, f"{answer} voxels is not 1 mL.", hint=hint)


# --------------------------------------------------------------------------- §3 series order
def check_series_index(answer: Any) -> Feedback:
    """Array slice index (0-based, ``array[k]``) that :data:`SERIES_TASK` ``file`` becomes in the sorted series."""
    import SimpleITK as sitk

    from ..datasets import data_dir
    from ..io import dicom_info

    folder, file = data_dir() / SERIES_TASK["folder"], SERIES_TASK["file"]
    task = (f"After reading the series in {SERIES_TASK['folder']}, array[k] is which file? Give k for "
            f"{file} (a whole number, counting from 0).")
    if answer is None:
        return Feedback.unanswered(task)
    v = as_number(answer, "answer")
    if v != int(v):
        raise TypeError(f"answer must be a whole number (an array index), got {answer!r}")
    v = int(v)
    order = [p.rsplit("/", 1)[-1] for p in sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder))]
    right = order.index(file)
    rows = {r.file: r for r in dicom_info(folder)}
    z = rows[file].slice_position_z_mm
    zs = sorted(r.slice_position_z_mm for r in rows.values())
    z0, step = zs[0], float(np.median(np.diff(zs)))
    names = sorted(rows)
    if v == right:
        return Feedback(True, f"{file} has z = {z:g} mm; the reader sorts by position, lowest first (z = {z0:g} mm "
                              f"is array[0]), so k = ({z:g} - {z0:g}) / {step:g} = {right}.")
    if v in (names.index(file), rows[file].instance_number):
        hint = ("That is the file's place in file-name (or instance-number) order; the reader sorts by position "
                "along z, lowest slice first (here the file names run from the top down).")
    elif v == right + 1:
        hint = "numpy indices count from 0: array[0] is the lowest slice."
    else:
        hint = "Read the file's ImagePositionPatient z: k = (z - lowest z) / slice step."
    return Feedback(False, f"array[{v}] is not {file}.", hint=hint)


# --------------------------------------------------------------------------- §5 window contrast
def check_window_contrast(answer: Any) -> Feedback:
    """Grey levels (0..255) between two HU values :data:`CONTRAST_TASK` ``delta_hu`` apart inside the preset window."""
    from ..display import PRESETS
    from ..render import grey_window

    t = CONTRAST_TASK
    w, lvl = PRESETS[t["preset"]]
    d = t["delta_hu"]
    task = (f"Two tissues differ by {d} HU and both lie inside the {t['preset']} window (W {w:g}, L {lvl:g}). "
            "How many grey levels (of 0..255) apart are they on the screen?")
    if answer is None:
        return Feedback.unanswered(task)
    v = as_number(answer, "answer")
    exact = d * 255.0 / w
    pairs = np.arange(lvl - w / 2 + 1, lvl + w / 2 - d - 1, 7.0)          # pairs (hu, hu + d) across the window
    steps = (grey_window(pairs + d, w, lvl).astype(int) - grey_window(pairs, w, lvl).astype(int))
    if abs(v - exact) <= 1.0:
        return Feedback(True, f"{d} HU · 255 / {w:g} HU = {exact:.1f} grey levels (the widget's mapping gives "
                              f"{steps.min()} or {steps.max()} after rounding). Mapped over the whole HU range of the "
                              f"CT (printed above) the same {d} HU would be {d} · 255 / range, a handful of grey "
                              "levels: the window spends the grey levels where the contrast is.")
    if abs(v - d) <= 1e-6:
        hint = "HU are not grey levels: the window maps W HU onto 255 grey steps."
    elif abs(v - w / 255) <= 0.02 or abs(v - w / 256) <= 0.02:
        hint = f"That is HU per grey level; the question is how many grey levels {d} HU span."
    elif abs(v - d / w) <= 0.01:
        hint = "That is the fraction of the window; multiply by the 255 grey steps."
    elif d * 255 / 3000 <= v <= d * 255 / 2000:      # the CT's whole range is 2000-3000 HU wide
        hint = "That is the contrast without a window (the whole CT range mapped); use the window's W."
    else:
        hint = "grey = (HU - (L - W/2)) / W · 255, so a difference of ΔHU becomes ΔHU · 255 / W grey levels."
    return Feedback(False, f"{answer} grey levels is not right.", hint=hint)
