"""Exercise checks for 06_training_cnn.

Each check computes the right answer with :mod:`medlab.ops` / :mod:`medlab.training` (nothing is hard-coded)
and recognises typical mistakes to give a specific hint. A wrong answer never raises.

>>> bool(check_bce(None))
False
>>> bool(check_lr_limit(2 / 10))
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .. import training as T
from . import Feedback, as_number

__all__ = ["BCE_TASK", "check_bce", "check_lr_limit", "check_dense_head_params", "check_always_pneumonia",
           "check_kernel_gradient", "KERNEL_GRAD_TASK"]

#: "Three X-rays with labels y and predicted probabilities p: what is the mean binary cross-entropy?"
BCE_TASK = {"y": [1, 0, 1], "p": [0.9, 0.2, 0.6]}

#: "x (3x3) convolved with a 2x2 kernel w gives y (2x2); dL/dy is all ones: what is dL/dw?"
KERNEL_GRAD_TASK = {"x": np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0]]),
                    "w": np.array([[1.0, -1.0], [0.5, 0.0]])}


def _number(answer: Any, what: str) -> float | None:
    v = as_number(answer, what)
    return v if np.isfinite(v) else None


def check_bce(answer: Any) -> Feedback:
    """Mean binary cross-entropy of :data:`BCE_TASK` (natural log)."""
    y, p = BCE_TASK["y"], BCE_TASK["p"]
    task = f"labels y = {y}, probabilities p = {p}: compute the mean binary cross-entropy (natural log)."
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    right = T.bce_loss(y, p)
    if v is not None and abs(v - right) < 5e-4:
        return Feedback(True, f"-(ln 0.9 + ln 0.8 + ln 0.6) / 3 = {right:.4f}.")
    ya, pa = np.array(y, float), np.array(p, float)
    terms = -(ya * np.log(pa) + (1 - ya) * np.log(1 - pa))
    hints = {
        round(float(terms.sum()), 4): "That is the sum; the loss is the *mean* over the three images.",
        round(float(-np.mean(np.log(pa))), 4): "For a label 0 the term is ln(1 - p), not ln p.",
        round(float(np.mean(-(ya * np.log10(pa) + (1 - ya) * np.log10(1 - pa)))), 4):
            "Use the natural logarithm (np.log), not log10.",
        round(-right, 4): "Mind the sign: the loss is the *negative* log-likelihood, so it is positive.",
    }
    hint = next((h for k, h in hints.items() if v is not None and abs(v - k) < 2e-3), "")
    return Feedback(False, f"{answer} is not the mean BCE.",
                    hint=hint or "Per image: -[y ln p + (1 - y) ln(1 - p)]; then average.")


def check_lr_limit(answer: Any) -> Feedback:
    """Largest learning rate for which plain gradient descent converges on the "bowl" surface."""
    task = ("For f = 5 (x-1)^2 + 0.5 (y-0.5)^2 (curvatures 10 and 1), above which learning rate does plain "
            "gradient descent diverge?")
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    right = 2.0 / 10.0
    if v is not None and abs(v - right) < 1e-3:
        ok = np.isfinite(T.gradient_descent("bowl", 0.95 * right, 300)[1][-1])
        bad = not np.isfinite(T.gradient_descent("bowl", 1.05 * right, 300)[1][-1])
        return Feedback(True, f"2 / 10 = {right:g}: along the steep axis each step multiplies the error by "
                              f"(1 - 10 lr), which exceeds 1 in size above 0.2 (checked: 0.95x converges "
                              f"{ok}, 1.05x diverges {bad}).")
    hint = ""
    if v is not None and abs(v - 2.0) < 1e-3:
        hint = "The steep axis (curvature 10) diverges first, not the flat one (curvature 1)."
    elif v is not None and abs(v - 0.1) < 1e-3:
        hint = "1 / curvature is the *fastest* step (one-step convergence); divergence starts at twice that."
    return Feedback(False, f"{answer} is not the limit.",
                    hint=hint or "One step multiplies the error along an axis of curvature c by (1 - lr c).")


def check_dense_head_params(answer: Any) -> Feedback:
    """Parameters of the Dense(1) head of the article's model at 256x256x1."""
    task = "How many parameters does the final Dense(1) layer of the article's model have at 256x256x1?"
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    h = ops.output_size(ops.output_size(ops.output_size(ops.output_size(256, 3), 2, stride=2), 3), 2, stride=2)
    right = ops.dense_params(h * h * 64, 1)
    if v == right:
        return Feedback(True, f"256 -> 254 -> 127 -> 125 -> 62: 62 x 62 x 64 = {h * h * 64:,} inputs + 1 bias "
                              f"= {right:,}.")
    hints = {h * h * 64: "Each Dense unit also has a bias.",
             63 * 63 * 64 + 1: "Pooling 125 by 2 gives floor(125 / 2) = 62, not 63.",
             64 * 64 * 64 + 1: "A 3x3 'valid' convolution shrinks each side by 2 before every pooling.",
             h * h * 32 + 1: "The last convolution has 64 filters: the flattened vector has 64 channels."}
    return Feedback(False, f"{answer} is not the count.",
                    hint=hints.get(v, "Follow the size: conv 3x3 (-2), pool 2 (floor /2), twice; then x 64 + 1."))


def check_always_pneumonia(answer: Any) -> Feedback:
    """Test accuracy of the constant classifier "always pneumonia" on PneumoniaMNIST."""
    from ..datasets import load_pneumoniamnist

    task = "What test accuracy does a model reach that answers 'pneumonia' for every PneumoniaMNIST test image?"
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    _, y = load_pneumoniamnist("test")
    right = float(np.mean(y == 1))
    if v is not None and (abs(v - right) < 5e-4 or abs(v - 100 * right) < 5e-2):
        return Feedback(True, f"{int(y.sum())} / {len(y)} = {right:.3f}: any accuracy must be compared with this.")
    _, ytr = load_pneumoniamnist("train")
    hint = ("That is the *training* prevalence; the test split has a different one." if v is not None and
            abs(v - float(np.mean(ytr == 1))) < 5e-3 else "Count the pneumonia labels of the test split.")
    return Feedback(False, f"{answer} is not the accuracy of 'always pneumonia'.", hint=hint)


def check_kernel_gradient(answer: Any) -> Feedback:
    """dL/dw for :data:`KERNEL_GRAD_TASK` with dL/dy = ones (compare ops.conv2d_backward)."""
    x, w = KERNEL_GRAD_TASK["x"], KERNEL_GRAD_TASK["w"]
    task = "x (3x3) * w (2x2) -> y (2x2), dL/dy = all ones: fill in dL/dw as a 2x2 array."
    if answer is None:
        return Feedback.unanswered(task)
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"answer must be a 2x2 array of numbers, got {answer!r}") from None
    if a.shape != (2, 2):
        raise TypeError(f"answer must be a 2x2 array, got shape {a.shape}")
    right, _ = ops.conv2d_backward(x, w, np.ones((2, 2)))
    if np.allclose(a, right):
        return Feedback(True, "each weight's gradient is the sum of the 2x2 input block it multiplies: "
                              f"{right.tolist()}.")
    hint = "Weight (m, n) multiplies x[i+m, j+n] for every output (i, j): add those inputs (dy = 1)."
    if np.allclose(a, right[::-1, ::-1]):
        hint = "Flipped: in a CNN 'convolution' (cross-correlation) weight (0, 0) meets the top-left pixels."
    return Feedback(False, "not dL/dw yet.", hint=hint)
