"""Exercise checks for 09_lung_ct_case_study.

Each check computes the right answer from the data or from :mod:`medlab.lungct` (nothing hard-coded) and
answers in well under a second, without widgets or training.

>>> bool(check_patch_mm(None))
False
>>> bool(check_patch_mm(32 * 0.646484375))
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import Feedback, as_number

__all__ = ["A0002_PIXEL_MM", "check_patch_mm", "check_negative_rule", "check_leakage_gap", "check_stride_ratio",
           "check_volume_ml"]

#: A0002's pixel spacing in mm (from the DICOM header, PixelSpacing).
A0002_PIXEL_MM = 0.646484375


_number = as_number  # the one answer parser (medlab.exercises.as_number)


def check_patch_mm(answer: Any) -> Feedback:
    """Ex. 2: a 32-*pixel* patch cut from A0002's original grid is how many mm wide?"""
    task = "How many millimetres wide is a 32-pixel patch on A0002's original 0.646 mm grid?"
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    right = 32 * A0002_PIXEL_MM
    if abs(a - right) < 0.05:
        return Feedback(True, f"{right:.1f} mm — on A0001's 0.842 mm grid the same 32 pixels are "
                              f"{32 * 0.841796875:.1f} mm: different anatomy. Hence resampling first.")
    if abs(a - 32 * 0.841796875) < 0.05:
        return Feedback(False, "that is A0001's pixel size.", hint="A0002's pixels are 0.646 mm.")
    if abs(a - 32) < 0.05:
        return Feedback(False, "32 mm would be right after resampling to 1 mm, not on the original grid.",
                        hint="Multiply the number of pixels by the pixel spacing.")
    return Feedback(False, f"{a:g} mm is not it.", hint="width in mm = pixels × pixel spacing (mm/pixel).")


def check_negative_rule(fn: Any, case: Any) -> Feedback:
    """Ex. 4: ``fn(case, slice, row, col) -> bool``: may a tumour-free (label 0) patch be centred here?"""
    task = "Write `may_be_negative(case, k, r, c)` that applies the two rules for negatives."
    if fn is None:
        return Feedback.unanswered(task)
    if not callable(fn):
        raise TypeError(f"answer must be a function (case, slice, row, col) -> bool, got {fn!r}")
    rng = np.random.default_rng(0)
    nz, ny, nx = case.hu.shape
    excluded = {k + d for k in case.tumour_slices for d in (-1, 0, 1)}
    cases = [(k, int(rng.integers(ny)), int(rng.integers(nx))) for k in rng.integers(0, nz, 60)]
    cases += [(k, ny // 2, nx // 4) for k in sorted(excluded) if 0 <= k < nz]  # the tricky slices
    lung_pts = np.argwhere(case.lung)
    cases += [tuple(int(v) for v in lung_pts[i]) for i in rng.integers(0, len(lung_pts), 60)]
    for k, r, c in cases:
        right = bool(case.lung[k, r, c]) and k not in excluded
        try:
            got = bool(fn(case, k, r, c))
        except Exception as exc:  # a learner's bug must get a hint, not a traceback
            return Feedback(False, f"your function raised {type(exc).__name__}: {exc}",
                            hint="It gets the CTCase, a slice index and a row/column in the resampled grid.")
        if got != right:
            if k in excluded and got:
                return Feedback(False, f"slice {k} shows the tumour or touches a slice that does.",
                                hint="Exclude every slice within one slice of case.tumour_slices "
                                     "(boxed or not).")
            return Feedback(False, f"wrong at slice {k}, row {r}, col {c}: expected {right}.",
                            hint="Both rules: inside case.lung, and one slice away from every tumour slice.")
    return Feedback(True, f"all {len(cases)} test positions agree with the rules of patch_dataset.")


def check_leakage_gap(answer: Any, random_auc: float, patient_auc: float) -> Feedback:
    """Ex. 5: the optimism of the random split: random-split AUC minus patient-split AUC."""
    task = "Compute the AUC gap: random split minus patient split (same test patient)."
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    right = float(random_auc) - float(patient_auc)
    if abs(a - right) < 5e-3:
        return Feedback(True, f"{right:+.3f}: that much of the random split's AUC is leakage from "
                              "overlapping patches of one patient, not skill.")
    if abs(a + right) < 5e-3:
        return Feedback(False, "the sign is flipped.", hint="random minus patient.")
    return Feedback(False, f"{a:.3f} is not the gap.", hint="Use the two AUCs printed above for one patient.")


def check_stride_ratio(answer: Any, n_fine: int, n_coarse: int) -> Feedback:
    """Ex. 6: how many times more patches does halving the stride score?"""
    task = "How many times more patches does a 4 mm stride score than an 8 mm stride?"
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    right = n_fine / n_coarse
    if abs(a - right) < 0.15:
        return Feedback(True, f"{right:.2f}× (about 2² = 4: the grid is two-dimensional), and so is the time.")
    if abs(a - 2) < 0.2:
        return Feedback(False, "halving the stride doubles the points along each axis.",
                        hint="Both rows and columns: 2 × 2.")
    return Feedback(False, f"{a:g} is not the ratio.", hint="Divide the two counts printed above.")


def check_volume_ml(answer: Any, voxels: int, spacing_xyz: tuple[float, float, float]) -> Feedback:
    """Ex. 7: the volume in mL of ``voxels`` voxels of ``spacing_xyz`` mm."""
    task = "Convert the region's voxel count to millilitres."
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    right = voxels * float(np.prod(spacing_xyz)) / 1000.0
    if abs(a - right) <= 0.01 * right:
        return Feedback(True, f"{right:.1f} mL (1 mL = 1000 mm³).")
    if abs(a - right * 1000) <= 0.01 * right * 1000:
        return Feedback(False, "that is mm³.", hint="1 mL = 1 cm³ = 1000 mm³.")
    return Feedback(False, f"{a:g} mL is not it.", hint="voxels × (x × y × z spacing in mm) / 1000.")
