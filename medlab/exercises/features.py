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
from . import Feedback

__all__ = ["EXAMPLE_4X4", "HAAR_BLOCK", "CONFUSION", "SCALER_CHOICES",
           "check_glcm_4x4", "check_glcm_contrast", "check_haar_block", "check_sens_spec", "check_scaler_fit"]

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


def _number(answer: Any, what: str) -> float:
    if isinstance(answer, (bool, str, bytes)):
        raise TypeError(f"{what} must be a number, got {answer!r}")
    try:
        return float(answer)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number, got {answer!r}") from None


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
                              "comes from train; validation and test are new patients.")
    if a not in SCALER_CHOICES:
        return Feedback(False, f"{answer!r} is not one of {SCALER_CHOICES}.", hint="Pick one of the listed strings.")
    return Feedback(False, f"{answer!r} leaks information from data the model should not have seen.",
                    hint="The test patients must look new to every fitted step; validation only chooses C/gamma.")
