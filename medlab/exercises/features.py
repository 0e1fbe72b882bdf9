"""Exercise checks for 05_features_svm.

Each check computes the right answer with :mod:`medlab.features` / :mod:`medlab.classical`
(nothing is hard-coded) and recognises typical mistakes to give a specific hint.

>>> bool(check_glcm_4x4(None))
False
>>> from medlab.features import glcm
>>> bool(check_glcm_4x4(glcm(EXAMPLE_4X4, [1], [0], levels=4)[:, :, 0, 0]))
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import classical, features
from ..samples import glcm_example_4x4
from . import Feedback, as_number

__all__ = ["EXAMPLE_4X4", "HAAR_BLOCK", "CONFUSION", "SCALER_CHOICES", "FO_VALUES", "SHAPE_MASK", "SHAPE_SPACING",
           "PATIENT_SPLIT", "DISCORDANT",
           "check_glcm_4x4", "check_glcm_contrast", "check_haar_block", "check_sens_spec", "check_scaler_fit",
           "check_first_order", "check_shape_disc", "check_patient_overlap", "check_mcnemar"]

#: The 4x4 image (grey levels 0..3) whose GLCM the learner counts by hand: a writable copy of
#: :func:`medlab.samples.glcm_example_4x4` (the patch the 05 §2 widget shows; scikit-image's Cython
#: ``graycomatrix`` refuses read-only arrays).
EXAMPLE_4X4 = np.array(glcm_example_4x4())

#: The 2x2 block for one step of the Haar transform.
HAAR_BLOCK = np.array([[6.0, 2.0],
                       [4.0, 0.0]])

#: Test-set counts of a classifier (positive = pneumonia).
CONFUSION = dict(tp=360, fn=30, tn=180, fp=54)

#: Possible answers for "which rows may StandardScaler.fit see?".
SCALER_CHOICES = ("train", "train+val", "train+val+test", "test")


def _matrix(answer: Any, shape: tuple[int, int], what: str) -> np.ndarray:
    try:
        a = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a {shape[0]}x{shape[1]} array of numbers, got {answer!r}") from None
    if a.shape != shape:
        raise TypeError(f"{what} must have shape {shape}, got shape {a.shape}")
    return a


_number = as_number  # the one answer parser (medlab.exercises.as_number)


def _glcm0(symmetric: bool = False, normed: bool = False, angle: float = 0.0) -> np.ndarray:
    return features.glcm(EXAMPLE_4X4, [1], [angle], levels=4, symmetric=symmetric, normed=normed)[:, :, 0, 0]


def check_glcm_4x4(answer: Any) -> Feedback:
    """The (non-symmetric, un-normalised) GLCM of :data:`EXAMPLE_4X4` for the right neighbour."""
    task = ("Count, for EXAMPLE_4X4, how often grey level j is the right-hand neighbour of grey level i "
            "(distance 1, angle 0): a 4x4 array P with P[i, j] = count.")
    if answer is None:
        return Feedback.unanswered(task)
    a = _matrix(answer, (4, 4), "answer")
    right = _glcm0()
    if np.array_equal(a, right):
        return Feedback(True, f"{int(right.sum())} pixel pairs (4 rows x 3 pairs), e.g. P[1, 1] = {int(right[1, 1])}.")
    mistakes = [
        (right.T, "You counted (right pixel, left pixel): P[i, j] has i = the pixel, j = its right neighbour."),
        (_glcm0(symmetric=True), "Not symmetric here: count each pair once, in the order (left, right)."),
        (_glcm0(normed=True), "Give counts, not probabilities: don't divide by the number of pairs."),
        (_glcm0(angle=np.pi / 2), "Angle 0 means the neighbour to the right, not the one below."),
    ]
    for value, hint in mistakes:
        if np.allclose(a, value):
            return Feedback(False, "Not the co-occurrence counts for the right neighbour.", hint=hint)
    wrong = int(np.sum(a != right))
    return Feedback(False, f"{wrong} of the 16 entries differ.",
                    hint=f"There are 4 rows x 3 horizontal pairs = 12 pairs; your entries sum to {a.sum():g}. "
                         f"Go row by row and tally (left value, right value).")


def check_glcm_contrast(answer: Any) -> Feedback:
    """Contrast of the symmetric, normalised right-neighbour GLCM of :data:`EXAMPLE_4X4`."""
    task = "Compute the contrast sum_ij (i - j)^2 p(i, j) of the normalised symmetric GLCM (distance 1, angle 0)."
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    P = _glcm0(symmetric=True, normed=True)
    right = float(features.glcm_features(P, average=True)["contrast"])
    if np.isclose(v, right, atol=1e-6):
        return Feedback(True, f"contrast = {right:.4f}.")
    counts = _glcm0(symmetric=True)
    i, j = np.indices(P.shape)
    mistakes = [
        (float(((i - j) ** 2 * counts).sum()), "Normalise first: divide the counts by their total so p sums to 1."),
        (float((np.abs(i - j) * P).sum()), "That is the dissimilarity (|i - j|); contrast squares the difference."),
        (float(((i - j) ** 2 * _glcm0(symmetric=True)).sum() / 12),
         "The symmetric GLCM counts every pair twice: divide by 24, not 12."),
    ]
    for value, hint in mistakes:
        if np.isclose(v, value, atol=1e-6):
            return Feedback(False, f"{v:g} is not the contrast.", hint=hint)
    return Feedback(False, f"{v:g} is not the contrast.",
                    hint="Weight every cell p(i, j) by (i - j)^2 and add up; the diagonal contributes 0.")


def check_haar_block(answer: Any) -> Feedback:
    """``(cA, cH, cV, cD)`` of one Haar step on :data:`HAAR_BLOCK`."""
    task = "Give (cA, cH, cV, cD) of the 2-D Haar transform of HAAR_BLOCK [[a, b], [c, d]]."
    if answer is None:
        return Feedback.unanswered(task)
    try:
        a = np.asarray(answer, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"answer must be four numbers (cA, cH, cV, cD), got {answer!r}") from None
    if a.size != 4:
        raise TypeError(f"answer must be four numbers (cA, cH, cV, cD), got {a.size}")
    cA, (cH, cV, cD) = features.haar2d(HAAR_BLOCK)
    right = np.array([cA.item(), cH.item(), cV.item(), cD.item()])
    if np.allclose(a, right):
        return Feedback(True, f"(cA, cH, cV, cD) = {tuple(right.tolist())}; note sum of squares is kept: "
                              f"{(right ** 2).sum():g} = {(HAAR_BLOCK ** 2).sum():g}.")
    if np.allclose(a, right / 2):
        return Feedback(False, "Close: right signs, wrong scale.",
                        hint="The orthonormal Haar transform divides by 2 (= sqrt(2) per direction), not by 4.")
    if np.allclose(np.abs(a), np.abs(right)):
        return Feedback(False, "The sizes are right but a sign is not.",
                        hint="PyWavelets: cH = (a + b - c - d)/2 (top minus bottom), cV = (a - b + c - d)/2 "
                             "(left minus right), cD = (a - b - c + d)/2.")
    if np.allclose(a[[0, 2, 1, 3]], right):
        return Feedback(False, "cH and cV are swapped.",
                        hint="cH (horizontal detail) responds to horizontal edges: top row minus bottom row.")
    return Feedback(False, "Not the Haar coefficients.", hint="cA = (a + b + c + d) / 2 is the scaled block average.")


def check_sens_spec(answer: Any) -> Feedback:
    """``(sensitivity, specificity)`` from :data:`CONFUSION`."""
    task = "From CONFUSION (tp, fn, tn, fp) give the pair (sensitivity, specificity)."
    if answer is None:
        return Feedback.unanswered(task)
    try:
        a = np.asarray(answer, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"answer must be two numbers (sensitivity, specificity), got {answer!r}") from None
    if a.size != 2:
        raise TypeError(f"answer must be two numbers (sensitivity, specificity), got {a.size}")
    c = CONFUSION
    y = np.r_[np.ones(c["tp"] + c["fn"]), np.zeros(c["tn"] + c["fp"])].astype(int)
    s = np.r_[np.ones(c["tp"]), -np.ones(c["fn"]), -np.ones(c["tn"]), np.ones(c["fp"])]
    m = classical.diagnostic_metrics(y, s, threshold=0.0)
    right = np.array([m["sensitivity"], m["specificity"]])
    if np.allclose(a, right, atol=1e-3):
        return Feedback(True, f"sensitivity = TP/(TP+FN) = {right[0]:.3f}, specificity = TN/(TN+FP) = {right[1]:.3f}.")
    if np.allclose(a, right[::-1], atol=1e-3):
        return Feedback(False, "Swapped.", hint="Sensitivity is about the sick (positives), specificity about the healthy.")
    if np.isclose(a[0], m["precision"], atol=1e-3):
        return Feedback(False, "Your first number is the precision (TP / (TP + FP)).",
                        hint="Sensitivity divides by all truly positive cases: TP + FN.")
    return Feedback(False, "Not yet.", hint="sensitivity = TP / (TP + FN), specificity = TN / (TN + FP).")


def check_scaler_fit(answer: Any) -> Feedback:
    """Which rows may ``StandardScaler.fit`` see? One of :data:`SCALER_CHOICES`."""
    task = f"Which split(s) may the StandardScaler learn its mean and std from? One of {SCALER_CHOICES}."
    if answer is None:
        return Feedback.unanswered(task)
    if not isinstance(answer, str):
        raise TypeError(f"answer must be one of the strings {SCALER_CHOICES}, got {answer!r}")
    a = answer.strip().lower().replace(" ", "")
    if a == "train":
        return Feedback(True, "Only the training rows: everything the model learns, the scaler included, "
                              "comes from train; validation and test must stay images the model has not seen. "
                              "(Whether they are also new *patients* depends on how the splits were made: "
                              "PneumoniaMNIST's validation images may share patients with train, see 05 §6.)")
    if a not in SCALER_CHOICES:
        return Feedback(False, f"{answer!r} is not one of {SCALER_CHOICES}.", hint="Pick one of the listed strings.")
    return Feedback(False, f"{answer!r} leaks information from data the model should not have seen.",
                    hint="The test images must look new to every fitted step; validation only chooses C/gamma.")


# ----------------------------------------------------------------------------- 05 §1, §5, §6, §9
#: Four HU values of a tiny region (05 §1): three lung pixels and one vessel.
FO_VALUES = np.array([-800.0, -750.0, -700.0, 50.0])  # a 1-D list; first_order sees it as a 1 x 4 image

#: A disc of radius 6 pixels on a 21 x 21 grid (05 §5) and its pixel size in mm (x, y).
SHAPE_MASK = (np.add.outer((np.arange(21) - 10) ** 2, (np.arange(21) - 10) ** 2) <= 36)
SHAPE_SPACING = (0.7, 0.7)

#: Patient id of every image in a toy train/validation split (05 §6): several images per patient.
PATIENT_SPLIT = {"train": ["p1", "p1", "p2", "p3", "p3", "p3", "p4"], "val": ["p3", "p5", "p1", "p6"]}

#: Paired test results of two classifiers on the same images (05 §9): ``b`` = images only model A gets right,
#: ``c`` = images only model B gets right.
DISCORDANT = dict(b=25, c=12)


def _numbers(answer: Any, n: int, what: str) -> np.ndarray:
    if isinstance(answer, (str, bytes, dict)):
        raise TypeError(f"answer must be {what}, got {answer!r}")
    try:
        a = np.asarray(answer, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"answer must be {what}, got {answer!r}") from None
    if a.size != n:
        raise TypeError(f"answer must be {what} ({n} numbers), got {a.size}")
    return a


def check_first_order(answer: Any) -> Feedback:
    """``(mean, std)`` of :data:`FO_VALUES`, std the population one (``ddof=0``) as :func:`features.first_order`."""
    task = "Give (mean, std) of FO_VALUES, the standard deviation with 1/N as in first_order (ddof=0)."
    if answer is None:
        return Feedback.unanswered(task)
    a = _numbers(answer, 2, "two numbers (mean, std)")
    f = features.first_order(FO_VALUES[None, :])
    right = np.array([f["mean"], f["std"]])
    if np.allclose(a, right, atol=1e-3):
        return Feedback(True, f"mean {right[0]:g} HU, std {right[1]:.2f} HU: one vessel pixel pulls the mean "
                              f"{right[0] - np.median(FO_VALUES):+.0f} HU away from the median.")
    if np.isclose(a[1], FO_VALUES.std(ddof=1), atol=1e-3):
        return Feedback(False, "Your std divides by N - 1.", hint="first_order uses the population std: "
                                                                "divide the squared deviations by N = 4.")
    if np.isclose(a[0], np.median(FO_VALUES), atol=1e-3):
        return Feedback(False, "Your first number is the median.", hint="The mean is the sum divided by N.")
    if np.isclose(a[1], FO_VALUES.var(), atol=1e-2):
        return Feedback(False, "Your second number is the variance.", hint="Take the square root.")
    return Feedback(False, "Not yet.", hint="mean = sum / N; std = sqrt(sum (x - mean)^2 / N).")


def check_shape_disc(answer: Any) -> Feedback:
    """``(area_mm2, equivalent_diameter_mm)`` of :data:`SHAPE_MASK` with pixel size :data:`SHAPE_SPACING`."""
    task = ("Give (area in mm², equivalent diameter in mm) of SHAPE_MASK with pixels of SHAPE_SPACING mm: "
            "area = pixels x pixel area, d = 2 sqrt(area / pi).")
    if answer is None:
        return Feedback.unanswered(task)
    a = _numbers(answer, 2, "two numbers (area_mm2, diameter_mm)")
    f = features.shape_features(SHAPE_MASK, spacing=SHAPE_SPACING)
    right = np.array([f["size_mm"], f["equivalent_diameter_mm"]])
    n = f["n_pixels"]
    if np.allclose(a, right, rtol=1e-3):
        return Feedback(True, f"{int(n)} pixels x {SHAPE_SPACING[0] * SHAPE_SPACING[1]:.2f} mm² = {right[0]:.2f} mm²; "
                              f"d = {right[1]:.2f} mm.")
    if np.isclose(a[0], n, rtol=1e-3):
        return Feedback(False, "Your area is in pixels.", hint="Multiply the pixel count by the pixel area "
                                                              "(0.7 mm x 0.7 mm).")
    if np.isclose(a[0], n * SHAPE_SPACING[0], rtol=1e-3):
        return Feedback(False, "Your area uses the pixel size once.", hint="A pixel's area is x-size times y-size.")
    if np.isclose(a[1], right[1] / 2, rtol=1e-3):
        return Feedback(False, "Your second number is the radius.", hint="The diameter is twice the radius.")
    return Feedback(False, "Not yet.", hint="Count the True pixels (SHAPE_MASK.sum()), multiply by 0.49 mm², "
                                            "then d = 2 * sqrt(area / pi).")


def check_patient_overlap(answer: Any) -> Feedback:
    """How many *validation images* of :data:`PATIENT_SPLIT` belong to a patient who is also in train."""
    task = "How many images of PATIENT_SPLIT['val'] come from a patient who also has images in PATIENT_SPLIT['train']?"
    if answer is None:
        return Feedback.unanswered(task)
    if isinstance(answer, (bool, str, bytes)) or not isinstance(answer, (int, np.integer, float)):
        raise TypeError(f"answer must be a whole number of images, got {answer!r}")
    train = set(PATIENT_SPLIT["train"])
    right = sum(p in train for p in PATIENT_SPLIT["val"])
    if answer == right:
        return Feedback(True, f"{right} of {len(PATIENT_SPLIT['val'])} validation images come from training "
                              "patients: a model can score well on them by recognising the patient, not the "
                              "disease. Split by patient id, not by image.")
    shared = train & set(PATIENT_SPLIT["val"])
    if answer == sum(p in shared for p in PATIENT_SPLIT["train"]):
        return Feedback(False, "You counted training images.", hint="Count the validation images.")
    if answer == 0:
        return Feedback(False, "There is overlap.", hint="Look for ids that appear in both lists.")
    return Feedback(False, f"{answer} is not the count.", hint="For each id in val, ask: is it in train? "
                                                               "Count the yes answers.")


def check_mcnemar(answer: Any) -> Feedback:
    """McNemar's statistic with continuity correction, ``(|b - c| - 1)^2 / (b + c)``, for :data:`DISCORDANT`."""
    task = "Compute McNemar's chi² with continuity correction, (|b - c| - 1)² / (b + c), for DISCORDANT."
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    from statsmodels.stats.contingency_tables import mcnemar

    b, c = DISCORDANT["b"], DISCORDANT["c"]
    r = mcnemar([[0, b], [c, 0]], exact=False, correction=True)
    right = float(r.statistic)
    if np.isclose(v, right, atol=1e-3):
        return Feedback(True, f"chi² = {right:.3f}, p = {r.pvalue:.3f} (1 degree of freedom): only the images "
                              "the two models disagree on count.")
    if np.isclose(v, (b - c) ** 2 / (b + c), atol=1e-3):
        return Feedback(False, "That is McNemar without the continuity correction.", hint="Subtract 1 from |b - c| "
                                                                                        "before squaring.")
    if np.isclose(v, float(r.pvalue), atol=1e-3):
        return Feedback(False, "That is the p-value.", hint="The statistic is (|b - c| - 1)² / (b + c).")
    return Feedback(False, f"{v:g} is not the statistic.", hint="Use only the discordant counts b and c.")
