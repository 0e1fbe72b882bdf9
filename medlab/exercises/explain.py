"""Exercise checks for 08_explainability.

Each check computes the right answer with :mod:`medlab.explain` or numpy (nothing is hard-coded) and
recognises the typical mistakes to give a specific hint.

>>> bool(check_occlusion_windows(None))
False
>>> bool(check_occlusion_windows(169))
True
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from . import Feedback, as_number

__all__ = ["OCCLUSION_TASK", "check_occlusion_windows", "GRAD_CAM_ACTS", "GRAD_CAM_GRADS",
           "check_grad_cam_by_hand", "IG_TASK", "check_ig_sum", "check_failed_sanity_check"]

#: "A 28 x 28 image, a 4 x 4 occlusion patch moved with stride 2 (plus a window touching the far border if
#: the last step does not reach it): how many occluded images does the model score?"
OCCLUSION_TASK = dict(size=28, patch=4, stride=2)

#: Two 3 x 3 feature maps A^1, A^2 of a convolution layer (axis 0 = channel) ...
GRAD_CAM_ACTS = np.array([[[0, 1, 2], [0, 3, 1], [0, 0, 0]],
                          [[2, 2, 0], [1, 0, 0], [0, 0, 4]]], dtype=float)
#: ... and the gradient of the logit with respect to them, dz/dA^k_ij (same layout).
GRAD_CAM_GRADS = np.array([[[1, 1, 1], [1, 1, 1], [1, 1, 1]],
                           [[-2, 0, -1], [0, -1, 0], [-1, 0, -4]]], dtype=float)

#: "The logit of an image is z(x) = 2.3, the logit of the black baseline z(0) = -0.9: what do exact
#: integrated-gradients attributions add up to?"
IG_TASK = dict(logit_x=2.3, logit_baseline=-0.9)


_number = as_number  # the one answer parser (medlab.exercises.as_number)


def check_occlusion_windows(answer: Any) -> Feedback:
    """How many windows :func:`medlab.explain.occlusion` scores for :data:`OCCLUSION_TASK`."""
    from ..explain import occlusion_starts

    t = OCCLUSION_TASK
    task = (f"A {t['size']} x {t['size']} image, a {t['patch']} x {t['patch']} patch, stride {t['stride']}: "
            f"how many occluded images are scored?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _number(answer, "answer")
    n_axis = len(occlusion_starts(t["size"], t["patch"], t["stride"]))
    right = n_axis ** 2
    if value == right:
        return Feedback(True, f"{n_axis} positions per axis ((28 - 4) / 2 + 1 = 13), {n_axis}² = {right} "
                              f"forward passes -- one per occluded copy, batched.")
    s, p, st = t["size"], t["patch"], t["stride"]
    hints = {
        n_axis: "That is one axis: the patch moves over rows *and* columns.",
        ((s - p) // st) ** 2: "Don't forget the + 1: the first position (start 0) also counts.",
        (s // st) ** 2: "The patch must fit inside the image: the last start is 28 - 4 = 24, not 26.",
        (s // p) ** 2: "That is for stride = patch (no overlap); here the patch moves 2 pixels at a time.",
    }
    return Feedback(False, f"{answer} is not the number of windows.",
                    hint=hints.get(int(value) if float(value).is_integer() else -1,
                                   "Count the starts along one axis: 0, 2, 4, ..., 24; then square."))


def grad_cam_reference(acts: np.ndarray = GRAD_CAM_ACTS, grads: np.ndarray = GRAD_CAM_GRADS) -> np.ndarray:
    """Grad-CAM from feature maps (K, h, w) and their gradients: ReLU(sum_k mean(grad_k) * A_k)."""
    alpha = grads.mean(axis=(1, 2))
    return np.maximum(np.tensordot(alpha, acts, axes=(0, 0)), 0.0)


def check_grad_cam_by_hand(answer: Any) -> Feedback:
    """The raw 3 x 3 Grad-CAM of :data:`GRAD_CAM_ACTS` with :data:`GRAD_CAM_GRADS`."""
    task = ("Compute alpha_k = the mean of dz/dA^k over the 9 positions, then ReLU(alpha_1 A^1 + alpha_2 A^2) "
            "(a 3 x 3 array).")
    if answer is None:
        return Feedback.unanswered(task)
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"answer must be a 3 x 3 array of numbers, got {answer!r}") from None
    if a.shape != (3, 3):
        raise TypeError(f"answer must be a 3 x 3 array, got shape {a.shape}")
    right = grad_cam_reference()
    if np.allclose(a, right, atol=1e-6):
        alpha = GRAD_CAM_GRADS.mean(axis=(1, 2))
        return Feedback(True, f"alpha = ({alpha[0]:.3g}, {alpha[1]:.3g}); channel 2 argues *against* the "
                              f"class, so where it is active the map is cut to 0 by the ReLU.")
    alpha = GRAD_CAM_GRADS.mean(axis=(1, 2))
    no_relu = np.tensordot(alpha, GRAD_CAM_ACTS, axes=(0, 0))
    sums = np.maximum(np.tensordot(GRAD_CAM_GRADS.sum(axis=(1, 2)), GRAD_CAM_ACTS, axes=(0, 0)), 0)
    pointwise = np.maximum((GRAD_CAM_GRADS * GRAD_CAM_ACTS).sum(axis=0), 0)
    if np.allclose(a, no_relu, atol=1e-6):
        hint = "Apply the ReLU at the end: negative values (evidence against the class) become 0."
    elif np.allclose(a, sums, atol=1e-6):
        hint = "alpha_k is the *mean* of the gradient over the 9 positions, not the sum."
    elif np.allclose(a, pointwise, atol=1e-6):
        hint = ("You multiplied each activation by its own gradient (that is gradient x activation); Grad-CAM "
                "first averages the gradient over the positions, giving one weight per channel.")
    else:
        hint = "alpha_1 = mean of the first gradient map (all ones), alpha_2 = mean of the second (-1); then weight."
    return Feedback(False, "not the Grad-CAM map yet.", hint=hint)


def check_ig_sum(answer: Any) -> Feedback:
    """The completeness axiom: exact IG attributions add up to z(x) - z(baseline) (:data:`IG_TASK`)."""
    t = IG_TASK
    task = (f"z(x) = {t['logit_x']}, z(baseline) = {t['logit_baseline']}: what do exact integrated-gradients "
            f"attributions add up to?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _number(answer, "answer")
    right = t["logit_x"] - t["logit_baseline"]
    if np.isclose(value, right, atol=1e-6):
        return Feedback(True, f"{t['logit_x']} - ({t['logit_baseline']}) = {right:.1f}: completeness. With a "
                              f"finite number of steps the sum misses this by the completeness error.")
    if np.isclose(value, t["logit_x"] + t["logit_baseline"]):
        hint = "The baseline's logit is subtracted, and it is negative here: minus a negative number."
    elif np.isclose(value, t["logit_x"]):
        hint = "That would hold only if the baseline's logit were 0; here it is not."
    elif np.isclose(value, 1 / (1 + np.exp(-t["logit_x"])) - 1 / (1 + np.exp(-t["logit_baseline"]))):
        hint = "This kit explains the logit, not the probability: use the logits directly."
    else:
        hint = "Completeness: sum_i IG_i = F(x) - F(baseline), with F the explained output (here the logit)."
    return Feedback(False, f"{answer} is not the sum.", hint=hint)


def check_failed_sanity_check(answer: Any, cascade: Mapping[str, Any]) -> Feedback:
    """Which method of a :func:`medlab.explain.cascading_randomization` result fails the test: the one whose
    final map (all layers randomised) stays most similar (Spearman of |map|) to the trained model's map."""
    if not isinstance(cascade, Mapping) or "spearman_abs" not in cascade:
        raise TypeError("cascade must be the dict returned by medlab.explain.cascading_randomization")
    final = {m: float(v[-1]) for m, v in cascade["spearman_abs"].items()}
    task = f"Name the method (one of {sorted(final)}) whose map survives the randomisation of every layer."
    if answer is None:
        return Feedback.unanswered(task)
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a method name (str), got {type(answer).__name__}")
    if answer not in final:
        return Feedback(False, f"{answer!r} is not one of the methods compared.", hint=f"Pick one of {sorted(final)}.")
    best = max(final, key=final.get)
    if answer == best:
        return Feedback(True, f"{answer}: Spearman {final[answer]:.2f} with the trained map even with every "
                              f"weight random -- it shows the input's edges, not what the model learned.")
    return Feedback(False, f"{answer} ends at Spearman {final[answer]:.2f}; another method stays closer.",
                    hint="Read the last point of each curve in the cascade chart (all layers randomised): "
                         "the highest one fails.")
