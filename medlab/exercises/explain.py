"""Exercise checks for 08_explainability.

Each check computes the right answer with :mod:`medlab.explain` or numpy (nothing is hard-coded) and
recognises the typical mistakes to give a specific hint.

>>> bool(check_occlusion_windows(None))
False
>>> bool(check_occlusion_windows(144))
True
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from . import Feedback, as_number

__all__ = ["OCCLUSION_TASK", "check_occlusion_windows", "GRAD_CAM_ACTS", "GRAD_CAM_GRADS",
           "check_grad_cam_by_hand", "IG_TASK", "check_ig_sum", "check_failed_sanity_check",
           "SALIENCY_TASK", "check_probability_gradient", "SMOOTHGRAD_TASK", "check_smoothgrad_samples",
           "OUTCOME_TASK", "check_outcome_shift", "DELETION_TASK", "check_deletion_auc",
           "check_marker_only_accuracy", "INSIDE_TASK", "check_share_inside"]

#: "A 28 x 28 image, a 6 x 6 occlusion patch moved with stride 2 (plus a window touching the far border if
#: the last step does not reach it): how many occluded images does the model score?" (08 §4 runs 4 x 4 /
#: stride 2 and prints its window count, so the exercise asks another patch.)
OCCLUSION_TASK = dict(size=28, patch=6, stride=2)

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
    s, p, st = t["size"], t["patch"], t["stride"]
    task = f"A {s} x {s} image, a {p} x {p} patch, stride {st}: how many occluded images are scored?"
    if answer is None:
        return Feedback.unanswered(task)
    value = _number(answer, "answer")
    starts = occlusion_starts(s, p, st)
    n_axis = len(starts)
    right = n_axis ** 2
    if value == right:
        return Feedback(True, f"starts {starts[0]}, {starts[1]}, ..., {starts[-1]}: {n_axis} positions per axis, "
                              f"{n_axis}² = {right} forward passes -- one per occluded copy, batched.")
    hints = {
        ((s - p) // st) ** 2: "Don't forget the + 1: the first position (start 0) also counts.",
        (s // st) ** 2: f"The patch must fit inside the image: the last start is {s} - {p} = {s - p}, "
                        f"not {s - st}.",
        (s // p) ** 2: "That is for stride = patch (no overlap); here the patch moves "
                       f"{st} pixels at a time.",
        n_axis: "That is one axis: the patch moves over rows *and* columns.",
    }
    return Feedback(False, f"{answer} is not the number of windows.",
                    hint=hints.get(int(value) if float(value).is_integer() else -1,
                                   f"Count the starts along one axis: 0, {st}, {2 * st}, ..., up to {s} - {p}; "
                                   f"then square."))


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


# ----------------------------------------------------------------------------- 08 §1, §2, §6, §8, §9, §10
#: 08 §1: a confident prediction and the gradient of the *logit* at one pixel.
SALIENCY_TASK = dict(probability=0.97, logit_gradient=0.8)

#: 08 §2: SmoothGrad with ``n`` samples; by which factor should the sampling noise of the map shrink?
SMOOTHGRAD_TASK = dict(n=25, shrink=2)

#: 08 §6: the threshold is lowered from ``old`` to ``new`` on the test images.
OUTCOME_TASK = dict(old=0.5, new=0.3)

#: 08 §8: a deletion curve: the probability after deleting each fraction of the top-ranked pixels.
DELETION_TASK = dict(fractions=(0.0, 0.25, 0.5, 0.75, 1.0), probability=(0.95, 0.6, 0.3, 0.2, 0.1))

#: 08 §10: a 4 x 4 attribution map (signed) and a mask (the "lung fields").
INSIDE_TASK = dict(attribution=((0.0, 2.0, -1.0, 0.0),
                                (1.0, 3.0, 0.0, -2.0),
                                (0.0, 0.0, 1.0, 0.0),
                                (-1.0, 0.0, 0.0, 2.0)),
                   mask=((False, True, True, False),
                         (False, True, True, False),
                         (False, True, True, False),
                         (False, False, False, False)))


def _rel_close(a: float, b: float, rtol: float = 0.01) -> bool:
    return abs(a - b) <= rtol * abs(b) + 1e-12


def check_probability_gradient(answer: Any) -> Feedback:
    """08 §1: ∂p/∂x at a pixel where ∂z/∂x and p are those of :data:`SALIENCY_TASK` (chain rule through the
    sigmoid, σ'(z) = σ(z)(1 − σ(z)); the unit tests compare with ``tf.GradientTape``)."""
    t = SALIENCY_TASK
    p, g = t["probability"], t["logit_gradient"]
    task = (f"The model says p = {p} and the gradient of the logit at a pixel is dz/dx = {g}. What is dp/dx at that "
            f"pixel?")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    right = p * (1 - p) * g
    if _rel_close(a, right):
        return Feedback(True, f"dp/dx = p(1 − p)·dz/dx = {p}·{1 - p:.2g}·{g} = {right:.4g}: {1 / (p * (1 - p)):.0f} "
                              f"times smaller than dz/dx. A map of dp/dx fades as the model grows confident; "
                              f"that is why saliency is taken of the logit.")
    mistakes = [
        (g, "That is dz/dx itself; the sigmoid's slope p(1 − p) multiplies it (chain rule)."),
        (p * g, "The sigmoid's slope is p(1 − p), not p."),
        ((1 - p) * g, "The sigmoid's slope is p(1 − p), not 1 − p."),
        (p * (1 - p), "That is the sigmoid's slope alone; multiply by dz/dx."),
        (g / (p * (1 - p)), "The other way round: dp/dx = p(1 − p)·dz/dx is *smaller* than dz/dx."),
        (1 / (1 + np.exp(-g)), "That is σ(dz/dx); the chain rule multiplies the slope σ'(z) = p(1 − p) by dz/dx."),
    ]
    for value, hint in mistakes:
        if _rel_close(a, value):
            return Feedback(False, f"{a:.4g} is not dp/dx.", hint=hint)
    return Feedback(False, f"{a:.4g} is not dp/dx.", hint="p = σ(z) and σ'(z) = σ(z)(1 − σ(z)): "
                                                          "dp/dx = σ'(z)·dz/dx.")


def check_smoothgrad_samples(answer: Any) -> Feedback:
    """08 §2: how many samples shrink the sampling noise of a SmoothGrad map :data:`SMOOTHGRAD_TASK` ``shrink``
    times compared with ``n`` samples (the standard error of a mean of n independent draws is σ/√n)."""
    t = SMOOTHGRAD_TASK
    n, k = t["n"], t["shrink"]
    task = (f"Each noisy copy's gradient at a pixel = a fixed value + independent noise. SmoothGrad averages n "
            f"copies. How many copies make the map's noise {k} times smaller than with n = {n}?")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    right = n * k ** 2
    if a == right:
        return Feedback(True, f"the noise of a mean of n independent draws is σ/√n: {k} times less noise needs "
                              f"{k}² = {k ** 2} times the samples, n = {right} (and {k ** 2} times the compute).")
    mistakes = {n * k: f"Averaging n draws divides the noise by √n, not by n: {k} times smaller needs "
                       f"{k}² times the samples.",
                n * k ** 4: "You squared twice: the noise falls like 1/√n.",
                n / k: "More samples reduce the noise; fewer increase it.",
                round(n * np.sqrt(k)): "The noise falls like 1/√n, so n must grow like the *square* of the factor."}
    return Feedback(False, f"{answer} copies are not enough or too many.",
                    hint=mistakes.get(a, "The standard error of a mean of n independent draws is σ/√n; solve "
                                         f"σ/√n_new = σ/({k}·√{n})."))


def _outcome_counts(y: np.ndarray, prob: np.ndarray, threshold: float) -> dict[str, int]:
    from sklearn.metrics import confusion_matrix
    tn, fp, fn, tp = confusion_matrix(y, (prob >= threshold).astype(int), labels=[0, 1]).ravel()
    return {"TP": int(tp), "FP": int(fp), "FN": int(fn), "TN": int(tn)}


def check_outcome_shift(answer: Any, y_true: Any, prob: Any) -> Feedback:
    """08 §6: how many images move from FN to TP when the threshold goes from :data:`OUTCOME_TASK` ``old`` to
    ``new`` (pneumonia images with new ≤ p < old). Outcome counts by scikit-learn's ``confusion_matrix``."""
    t = OUTCOME_TASK
    y = np.asarray(y_true).ravel()
    p = np.asarray(prob, dtype=float).ravel()
    if y.shape != p.shape or y.size == 0 or not np.all(np.isin(y, (0, 1))):
        raise TypeError("y_true must be 0/1 labels and prob the probabilities of the same images (1-d, same length)")
    task = (f"Lower the threshold from {t['old']} to {t['new']}: how many test images change from FN (missed "
            f"pneumonia) to TP?")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    before, after = _outcome_counts(y, p, t["old"]), _outcome_counts(y, p, t["new"])
    right = before["FN"] - after["FN"]
    tn_to_fp = after["FP"] - before["FP"]
    if a == right:
        return Feedback(True, f"{right} pneumonia images with {t['new']} ≤ p < {t['old']} are now found (TP "
                              f"{before['TP']} → {after['TP']}); the price: {tn_to_fp} normal images become false "
                              f"alarms (FP {before['FP']} → {after['FP']}). The maps of an image do not change — "
                              f"only its outcome label does.")
    mistakes = {
        right + tn_to_fp: "That counts every image whose call changes; only the *pneumonia* images move from FN "
                          "to TP (the normal ones move from TN to FP).",
        tn_to_fp: "That is the number of normal images that become false positives (TN → FP).",
        before["FN"]: "That is every FN at the old threshold; only those with p ≥ the new threshold become TP.",
        after["FN"]: "That is what remains FN at the new threshold; the question asks how many *moved*.",
        after["TP"]: "That is the number of TP at the new threshold; count only the ones that changed.",
    }
    hint = mistakes.get(a, f"An image moves from FN to TP when its label is 1 and {t['new']} ≤ p < {t['old']}.")
    return Feedback(False, f"{answer} is not the number of images that move from FN to TP.", hint=hint)


def check_deletion_auc(answer: Any) -> Feedback:
    """08 §8: the area under :data:`DELETION_TASK`'s deletion curve (trapezoidal rule, as
    :func:`medlab.explain.deletion_insertion`); the right answer is ``sklearn.metrics.auc``."""
    from sklearn.metrics import auc

    t = DELETION_TASK
    f, q = np.asarray(t["fractions"], float), np.asarray(t["probability"], float)
    task = ("Give the area under DELETION_TASK's deletion curve (probability against the deleted fraction), by "
            "the trapezoidal rule.")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    right = float(auc(f, q))
    if abs(a - right) <= 5e-3:
        return Feedback(True, f"area = {right:.4f} (= sklearn.metrics.auc). A small deletion area means the top-"
                              f"ranked pixels carry the prediction; compare it with a random pixel order, which "
                              f"every map must beat.")
    dx = np.diff(f)
    mistakes = [
        (float(np.mean(q)), "The mean of the points is not the trapezoidal area: the two end points count half."),
        (float(np.sum(dx * q[:-1])), "That is the left Riemann sum; the trapezoidal rule averages both ends of "
                                     "each step."),
        (float(np.sum(dx * q[1:])), "That is the right Riemann sum; the trapezoidal rule averages both ends of "
                                    "each step."),
        (float(np.sum(q)), "Multiply by the step width (0.25): the fractions run from 0 to 1."),
        (1 - right, "That is the area *above* the curve."),
    ]
    for value, hint in mistakes:
        if abs(a - value) <= 5e-3:
            return Feedback(False, f"{a:.4f} is not the deletion area.", hint=hint)
    return Feedback(False, f"{a:.4f} is not the deletion area.",
                    hint="Trapezoidal rule: Σ (f_(k+1) − f_k)·(p_k + p_(k+1))/2.")


def check_marker_only_accuracy(answer: Any, y_true: Any) -> Feedback:
    """08 §9: the accuracy on the *clean* test images of a model that only uses the marker (it calls an image
    pneumonia exactly when the marker is there, so every clean image "normal"); by ``sklearn.metrics.accuracy_score``."""
    from sklearn.metrics import accuracy_score

    y = np.asarray(y_true).ravel()
    if y.size == 0 or not np.all(np.isin(y, (0, 1))):
        raise TypeError("y_true must be the 0/1 labels of the test images")
    task = ("A model that has learned *only* the marker calls an image pneumonia exactly when the marker is "
            "there. What is its accuracy on the clean (unmarked) test images, y_test?")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    right = float(accuracy_score(y, np.zeros_like(y)))
    if abs(a - right) <= 5e-3:
        return Feedback(True, f"no clean image has the marker, so it calls all {y.size} normal: accuracy = the "
                              f"share of normal images, {right:.3f}. A real shortcut model is rarely that pure; "
                              f"compare with what the trained marker model gets on clean images.")
    mistakes = [(1 - right, "That is the share of *pneumonia* images; without a marker the model calls every "
                            "image normal."),
                (0.5, "Not chance: the model answers the same for every clean image. Which answer, and how "
                      "many images is it right for?"),
                (1.0, "On marked images it is perfect; the clean images have no marker."),
                (0.0, "It is right for every image it calls correctly: which label do the clean images get?")]
    for value, hint in mistakes:
        if abs(a - value) <= 5e-3:
            return Feedback(False, f"{a:.3f} is not that accuracy.", hint=hint)
    return Feedback(False, f"{a:.3f} is not that accuracy.", hint="Which class does it call every clean image? "
                                                                  "Count the test images of that class.")


def check_share_inside(answer: Any) -> Feedback:
    """08 §10: the share of :data:`INSIDE_TASK`'s *positive* attribution that lies inside its mask, computed
    by :func:`medlab.explain.attribution_inside`."""
    from ..explain import attribution_inside

    t = INSIDE_TASK
    amap, mask = np.asarray(t["attribution"], float), np.asarray(t["mask"], bool)
    task = ("Which share of INSIDE_TASK's positive attribution (negative values count 0) lies inside its "
            "mask? A number in [0, 1].")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    r = attribution_inside(amap, mask)
    if abs(a - r["inside"]) <= 5e-3:
        return Feedback(True, f"{np.maximum(amap, 0)[mask].sum():g} of {np.maximum(amap, 0).sum():g} = "
                              f"{r['inside']:.3f} inside a mask covering {r['area']:.3f} of the image: ratio "
                              f"{r['ratio']:.2f} (> 1: the map prefers the mask).")
    mistakes = [
        (amap[mask].sum() / amap.sum(), "Negative values are evidence *against* the class: set them to 0 before "
                                        "adding (max(map, 0))."),
        (np.abs(amap)[mask].sum() / np.abs(amap).sum(), "That uses |map|: negative values count 0 here, not "
                                                        "their size."),
        (r["area"], "That is the mask's share of the image (what an evenly spread map would give)."),
        (r["ratio"], "That is the ratio inside / area; the task asks for the share inside."),
        (1 - r["inside"], "That is the share *outside* the mask."),
    ]
    for value, hint in mistakes:
        if abs(a - float(value)) <= 5e-3:
            return Feedback(False, f"{a:.3f} is not the share inside.", hint=hint)
    return Feedback(False, f"{a:.3f} is not the share inside.",
                    hint="share inside = Σ_mask max(map, 0) / Σ_image max(map, 0).")
