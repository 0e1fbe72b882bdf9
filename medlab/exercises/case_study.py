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
           "check_volume_ml", "check_pixel_reduction", "check_consistent_winner", "check_sphere_diameter",
           "check_patient_sensitivity_bound"]

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


def check_pixel_reduction(answer: Any, n_pixels: int, spacing_mm: float, pixel_mm: float = 1.0) -> Feedback:
    """Ex. 2.1: how many times fewer pixels does one resampled slice have than the original?

    ``n_pixels`` per row and column of the original square slice at ``spacing_mm``, resampled to ``pixel_mm``
    on a grid of the same physical extent (the rule of :func:`medlab.lungct.prepare`:
    ``n' = round(n * spacing / pixel)``).

    >>> bool(check_pixel_reduction(512 ** 2 / 331 ** 2, 512, 0.646484375))
    True
    """
    task = ("By what factor does resampling to the common pixel size reduce the number of pixels of one "
            "A0002 slice?")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    n = int(n_pixels)
    n_new = int(round(n * float(spacing_mm) / float(pixel_mm)))
    right = n * n / (n_new * n_new)
    linear = n / n_new
    if abs(a - right) <= 0.02 * right:
        return Feedback(True, f"{right:.2f}× fewer ({n}² → {n_new}² pixels): a slice is two-dimensional, so the "
                              f"factor is the square of the per-axis {linear:.2f}. Each 1 mm pixel averages about "
                              f"{right:.1f} original pixels — finer detail than 1 mm is gone.")
    if abs(a - linear) <= 0.02 * linear:
        return Feedback(False, f"{linear:.2f} is the factor along one axis.",
                        hint="A slice has rows and columns: both shrink by that factor.")
    if right > 1 and abs(a - 1 / right) <= 0.02 / right:
        return Feedback(False, "that is the inverse (new / old).", hint="Old number of pixels divided by the new.")
    return Feedback(False, f"{a:g} is not the factor.",
                    hint=f"Pixels per row after resampling: round({n} × {float(spacing_mm):g} / {float(pixel_mm):g}); "
                         "then compare the two pixel counts of a whole slice.")


def _winner(comparisons: Any, alpha: float) -> tuple[str, list[tuple[float, float]]]:
    from ..evaluation import delong_test

    stats = []
    for y, score_cnn, score_svm in comparisons:
        d = delong_test(y, score_cnn, score_svm)
        stats.append((float(d["delta"]), float(d["p"])))
    if all(dl > 0 and p < alpha for dl, p in stats):
        return "CNN", stats
    if all(dl < 0 and p < alpha for dl, p in stats):
        return "SVM", stats
    return "neither", stats


def check_consistent_winner(answer: Any, comparisons: Any, alpha: float = 0.05) -> Feedback:
    """Ex. 6.1: does one model beat the other in *every* patient-split direction (DeLong, level ``alpha``)?

    ``comparisons``: one ``(y_true, cnn_scores, svm_scores)`` per test patient (the same test patches for
    both models). The right answer is ``"CNN"`` or ``"SVM"`` when that model's AUC is higher with DeLong
    p < ``alpha`` in every direction, else ``"neither"``; computed with :func:`medlab.evaluation.delong_test`.

    >>> y = [0, 0, 0, 1, 1, 1]
    >>> bool(check_consistent_winner("neither", [(y, [.1, .5, .3, .4, .8, .9], [.2, .1, .6, .5, .4, .9])]))
    True
    """
    task = 'Which model wins in both directions at the 5 % level: "CNN", "SVM" or "neither"?'
    if answer is None:
        return Feedback.unanswered(task)
    if not isinstance(answer, str):
        raise TypeError(f'answer must be "CNN", "SVM" or "neither", got {answer!r}')
    a = answer.strip().upper()
    a = "neither" if a in ("NEITHER", "NONE", "NO") else a
    if a not in ("CNN", "SVM", "neither"):
        return Feedback(False, f"{answer!r} is not one of the choices.", hint='Answer "CNN", "SVM" or "neither".')
    comparisons = list(comparisons)
    right, stats = _winner(comparisons, alpha)
    detail = "; ".join(f"ΔAUC (CNN − SVM) {dl:+.3f}, p = {p:.3g}" for dl, p in stats)
    if a == right:
        if right == "neither":
            return Feedback(True, f"neither ({detail}). With one test patient per direction, a difference that "
                                  "holds in one direction and not the other is not a finding.")
        return Feedback(True, f"{right} ({detail}) — and still on two patients only.")
    higher = ["CNN" if dl > 0 else "SVM" for dl, _ in stats]
    if a != "neither" and a in higher:
        if any(p >= alpha for _, p in stats):
            return Feedback(False, f"{a} has the higher AUC somewhere, but not with p < {alpha:g} in every "
                                   "direction.", hint="Read the DeLong p of both test patients, not only the AUCs.")
        return Feedback(False, f"{a} wins in one direction only.",
                        hint="A model 'wins' only if it is significantly better for each test patient.")
    if a == "neither":
        return Feedback(False, "one model is significantly better in both directions.",
                        hint="Look at the sign of ΔAUC and the DeLong p of each test patient.")
    return Feedback(False, f"{a} never has the higher AUC here.", hint="ΔAUC is CNN − SVM: check its sign.")


def check_sphere_diameter(answer: Any, volume_ml: float) -> Feedback:
    """Ex. 8.1: the diameter in mm of a sphere with the findings card's tumour volume (``volume_ml`` in mL).

    >>> bool(check_sphere_diameter((6 * 1000 / 3.141592653589793) ** (1 / 3), 1.0))
    True
    """
    task = "What is the diameter (mm) of a sphere with the same volume as the grown region?"
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    v_mm3 = float(volume_ml) * 1000.0
    right = (6.0 * v_mm3 / np.pi) ** (1.0 / 3.0)
    if abs(a - right) <= 0.01 * right:
        return Feedback(True, f"{right:.1f} mm. A sphere of that volume is much narrower than the largest axial "
                              "diameter: the grown region is elongated (and bounded by the boxes), so one "
                              "diameter does not describe its size.")
    if abs(a - right / 2) <= 0.01 * right:
        return Feedback(False, "that is the radius.", hint="The diameter is twice the radius.")
    if abs(a - right / 10) <= 0.01 * right / 10:
        return Feedback(False, "the volume is in mL, not mm³.", hint="1 mL = 1000 mm³: convert before the cube root.")
    return Feedback(False, f"{a:g} mm is not it.", hint="V = π d³ / 6, so d = (6 V / π)^(1/3), with V in mm³.")


def check_patient_sensitivity_bound(answer: Any, found: int, patients: int) -> Feedback:
    """Ex. 9.1: the 95 % Wilson lower bound of a per-patient sensitivity of ``found`` out of ``patients``.

    Computed with :func:`medlab.evaluation.proportion_ci` (statsmodels' ``proportion_confint``).

    >>> bool(check_patient_sensitivity_bound(0.3424, 2, 2))
    True
    """
    from ..evaluation import proportion_ci

    task = "Give the lower end of the 95 % Wilson interval of the per-patient sensitivity."
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    k, n = int(found), int(patients)
    low, high = proportion_ci(k, n, "wilson")
    if abs(a - low) < 5e-3:
        return Feedback(True, f"{low:.2f}: with {n} patients, {k}/{n} found is compatible with a sensitivity as "
                              f"low as {low:.0%} (95 % Wilson interval {low:.2f}–{high:.2f}). Hundreds of patients "
                              "are needed for a useful interval.")
    if abs(a - k / n) < 5e-3:
        return Feedback(False, "that is the point estimate, not the lower end of the interval.",
                        hint="Use E.proportion_ci(k, n) (Wilson) and take its first value.")
    normal = proportion_ci(k, n, "normal")[0]
    if abs(a - normal) < 5e-3:
        return Feedback(False, "that is the Wald (normal) interval, which collapses when k = 0 or k = n.",
                        hint="The Wilson interval: E.proportion_ci(k, n, method='wilson').")
    exact = proportion_ci(k, n, "beta")[0]
    if abs(a - exact) < 5e-3:
        return Feedback(False, "that is the exact (Clopper–Pearson) bound.", hint="The question asks for Wilson.")
    return Feedback(False, f"{a:g} is not the Wilson lower bound.",
                    hint="Per patient, not per patch: k = patients whose tumour was found, n = patients.")
