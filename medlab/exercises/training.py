"""Exercise checks for 06_training_cnn.

Each check computes the right answer with :mod:`medlab.ops` / :mod:`medlab.training` (nothing is hard-coded)
and recognises typical mistakes to give a specific hint. A wrong answer never raises.

>>> bool(check_bce(None))
False
>>> bool(check_lr_limit(2 / 100))
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .. import training as T
from . import Feedback, as_number

__all__ = ["BCE_TASK", "check_bce", "LR_TASK", "check_lr_limit", "KERNEL_GRAD_TASK", "check_kernel_gradient",
           "ADAM_TASK", "adam_first_step", "check_adam_first_step", "check_class_weight", "check_always_pneumonia",
           "DENSE_TASK", "check_dense_head_params", "check_accuracy_se", "finetune_param_counts",
           "check_finetune_params"]

#: "Three X-rays with labels y and predicted probabilities p: what is the mean binary cross-entropy?"
BCE_TASK = {"y": [1, 0, 1], "p": [0.9, 0.2, 0.6]}

#: "x (3x3) convolved with a 2x2 kernel w gives y (2x2); dL/dy is all ones: what is dL/dw?"
KERNEL_GRAD_TASK = {"x": np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0]]),
                    "w": np.array([[1.0, -1.0], [0.5, 0.0]])}

#: 06 §2: "the bowl's loss is multiplied by ``scale``: above which learning rate does gradient descent diverge?"
#: (the bowl's own limit, 0.2, is printed by the stepper widget above the exercise).
LR_TASK = {"surface": "bowl", "scale": 10.0}

#: 06 §4: "Adam (Keras defaults) takes its first step on a parameter whose gradient is ``grad``: how far does
#: the parameter move?"
ADAM_TASK = {"lr": 0.01, "grad": 1000.0}

#: 06 §6: "how many parameters has the Dense(1) head of the article's model at ``size`` x ``size`` x 1?"
#: (not 256, whose count the section's text gives).
DENSE_TASK = {"size": 224}


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


def _scaled_surface(name: str, scale: float) -> "T.LossSurface":
    s = T.SURFACES[name]
    return T.LossSurface(f"{scale:g} x {name}", lambda t: scale * s.f(t), lambda t: scale * s.grad(t), s.start,
                         s.minimum, s.box)


def _largest_curvature(surface: "T.LossSurface", h: float = 1e-4) -> float:
    """Largest eigenvalue of the Hessian at the minimum, by central differences of the gradient."""
    m = np.array(surface.minimum, dtype=float)
    H = np.zeros((m.size, m.size))
    for k in range(m.size):
        e = np.zeros_like(m)
        e[k] = h
        H[:, k] = (surface.grad(m + e) - surface.grad(m - e)) / (2 * h)
    return float(np.linalg.eigvalsh((H + H.T) / 2)[-1])


def check_lr_limit(answer: Any) -> Feedback:
    """Largest stable learning rate of plain gradient descent on the bowl whose loss is scaled by
    :data:`LR_TASK` ``scale`` (a sum over that many images instead of a mean)."""
    name, scale = LR_TASK["surface"], LR_TASK["scale"]
    c_base = _largest_curvature(T.SURFACES[name])
    task = (f"The {name} diverges above lr = 2 / {c_base:g} = {2 / c_base:g}. If its loss is multiplied by {scale:g} "
            f"(a sum over {scale:g} images instead of their mean), above which learning rate does gradient descent "
            "diverge?")
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    scaled = _scaled_surface(name, scale)
    right = 2.0 / _largest_curvature(scaled)
    if v is not None and abs(v - right) <= 1e-3 * right:
        ok = bool(np.isfinite(T.optimize(scaled, "sgd", 0.95 * right, 300)[-1]).all())
        bad = not np.isfinite(T.optimize(scaled, "sgd", 1.05 * right, 300)[-1]).all()
        return Feedback(True, f"every curvature is {scale:g}x larger ({c_base:g} -> {c_base * scale:g}), so the "
                              f"limit 2 / c shrinks {scale:g}x to {right:g} (checked: 0.95x converges {ok}, 1.05x "
                              f"diverges {bad}). Summing instead of averaging the loss is the same as a "
                              f"{scale:g}x larger learning rate: that is why losses are means.")
    hints = [(2.0 / c_base, "Scaling the loss scales its gradient and every curvature: the old limit no longer holds."),
             (2.0 / c_base * scale, "A larger curvature means a *smaller* limit: lr < 2 / c."),
             (1.0 / (c_base * scale), "1 / curvature is the fastest step (one-step convergence); divergence starts "
                                      "at twice that.")]
    hint = next((h for ref, h in hints if v is not None and abs(v - ref) <= 1e-3 * ref),
                "One step multiplies the error along an axis of curvature c by (1 - lr c); what is c now?")
    return Feedback(False, f"{answer} is not the limit.", hint=hint)


def _flattened(size: int) -> tuple[int, list[int]]:
    """Side after conv 3x3 -> pool 2 -> conv 3x3 -> pool 2 and the sizes on the way (medlab.ops formulas)."""
    a = ops.output_size(size, 3)
    b = ops.output_size(a, 2, stride=2)
    c = ops.output_size(b, 3)
    d = ops.output_size(c, 2, stride=2)
    return d, [size, a, b, c, d]


def check_dense_head_params(answer: Any) -> Feedback:
    """Parameters of the Dense(1) head of the article's model at :data:`DENSE_TASK` ``size`` (square, 1 channel)."""
    n = DENSE_TASK["size"]
    task = f"How many parameters does the final Dense(1) layer of the article's model have at {n}x{n}x1?"
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    h, sizes = _flattened(n)
    right = ops.dense_params(h * h * 64, 1)
    if v == right:
        return Feedback(True, f"{' -> '.join(map(str, sizes))}: {h} x {h} x 64 = {h * h * 64:,} inputs + 1 bias "
                              f"= {right:,}.")
    ceil_h = -(-(-(-(n - 2) // 2) - 2) // 2)            # ceil instead of floor at both poolings
    hints = {h * h * 64: "Each Dense unit also has a bias.",
             ceil_h * ceil_h * 64 + 1: "Pooling an odd size by 2 floors: floor(n / 2), it does not round up.",
             (n // 4) ** 2 * 64 + 1: "A 3x3 'valid' convolution shrinks each side by 2 before every pooling.",
             h * h * 32 + 1: "The last convolution has 64 filters: the flattened vector has 64 channels.",
             264833 if n != 256 else -1: f"That is the 256x256 model; this question is about {n}x{n}."}
    hints.pop(right, None)
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


# --------------------------------------------------------------------------- §4 Adam
def adam_first_step(lr: float | None = None, grad: float | None = None) -> float:
    """Size of Adam's first update for a constant gradient ``grad`` (Keras' defaults), via :func:`medlab.training.optimize`.

    >>> round(adam_first_step(0.01, 1000.0), 6), round(adam_first_step(0.01, 0.001), 4)
    (0.01, 0.01)
    """
    lr = ADAM_TASK["lr"] if lr is None else lr
    grad = ADAM_TASK["grad"] if grad is None else grad
    surface = T.LossSurface("linear", lambda t: grad * t[0], lambda t: np.array([grad]), (0.0,), (0.0,), (-1.0, 1.0))
    path = T.optimize(surface, "adam", lr=lr, steps=1)
    return float(abs(path[1, 0] - path[0, 0]))


def check_adam_first_step(answer: Any) -> Feedback:
    """How far Adam's first step moves a parameter whose gradient is :data:`ADAM_TASK` ``grad``."""
    lr, g = ADAM_TASK["lr"], ADAM_TASK["grad"]
    task = (f"Adam (learning rate {lr:g}, beta_1 0.9, beta_2 0.999) takes its first step on a parameter whose "
            f"gradient is {g:g}. How far does the parameter move (the size of the step)?")
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    right = adam_first_step(lr, g)
    small = adam_first_step(lr, 1e-3)
    if v is not None and abs(abs(v) - right) <= 0.02 * right:
        return Feedback(True, f"m = 0.1 g and v = 0.001 g², bias-corrected to g and g²: the step is "
                              f"lr · g / |g| = {right:.4g}, whatever the gradient's size (for g = 0.001 it is "
                              f"{small:.4g}). SGD would move lr · g = {lr * g:g}.")
    hints = [(lr * g, "That is SGD's step lr · g. Adam divides by the running root mean square of the gradient."),
             (lr * 0.1, "Without the bias correction m is only 0.1 g; Adam divides by (1 - beta_1^t) = 0.1 at t = 1."),
             (lr * 0.1 / 0.001 ** 0.5, "Without the bias corrections: sqrt(1 - beta_2^t) / (1 - beta_1^t) is applied "
                                       "at t = 1 too."),
             (lr * g * 0.1, "That is a momentum-like step; Adam also divides by sqrt(v).")]
    hint = next((h for ref, h in hints if v is not None and abs(abs(v) - ref) <= 0.02 * ref),
                "Write m_1 and v_1 after one step from m = v = 0, apply both bias corrections, then lr · m / sqrt(v).")
    return Feedback(False, f"{answer} is not the step.", hint=hint)


# --------------------------------------------------------------------------- §5 class weights
def check_class_weight(answer: Any) -> Feedback:
    """Balanced class weight N / (2 N_0) of the *normal* class (label 0) on the full PneumoniaMNIST train split."""
    from ..datasets import load_pneumoniamnist

    task = ("With class_weight='balanced' (w_c = N / (2 N_c)), what weight does a *normal* image (label 0) get "
            "on the full PneumoniaMNIST train split?")
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    _, y = load_pneumoniamnist("train")
    w = T.class_weights(y)
    n, n0 = len(y), int(np.sum(y == 0))
    right = w[0]
    if v is not None and abs(v - right) <= 5e-3:
        return Feedback(True, f"{n} / (2 · {n0}) = {right:.3f} (pneumonia: {w[1]:.3f}): each normal image counts "
                              f"{right / w[1]:.1f}x a pneumonia image, so both classes add up to the same weight.")
    hints = [(w[1], "That is the pneumonia class's weight; the question asks for label 0 (normal)."),
             (n0 / n, "That is the share of normal images; the weight is its inverse, halved: N / (2 N_0)."),
             (n / n0, "Almost: divide by 2 N_0, so that the two classes' weights average to 1."),
             (1 / n0, "Multiply by N: w_0 = N / (2 N_0).")]
    hint = next((h for ref, h in hints if v is not None and abs(v - ref) <= 0.01 * ref),
                "Count the normal images N_0 of the train split: w_0 = N / (2 N_0).")
    return Feedback(False, f"{answer} is not the weight.", hint=hint)


# --------------------------------------------------------------------------- §7 honest comparison
def check_accuracy_se(answer: Any, y_true: Any, prob: Any, threshold: float = 0.5) -> Feedback:
    """Standard error sqrt(a (1 - a) / n) of the test accuracy ``a`` of ``prob`` at ``threshold`` on ``y_true``."""
    task = ("This notebook's 2-epoch model has a test accuracy a on n test images. What is the standard error "
            "of that accuracy, sqrt(a (1 - a) / n)?")
    y = np.asarray(y_true).reshape(-1)
    p = np.asarray(prob, dtype=float).reshape(-1)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"y_true and prob must be the same non-empty length, got {y.shape} and {p.shape}")
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    n = y.size
    a = T.evaluate(y, p, threshold)["accuracy"]
    right = float(np.sqrt(a * (1 - a) / n))
    if v is not None and abs(v - right) <= 0.02 * right:
        return Feedback(True, f"a = {a:.3f}, n = {n}: sqrt({a:.3f} · {1 - a:.3f} / {n}) = {right:.4f}, so a 95 % "
                              f"interval is about ±{1.96 * right:.3f}. A difference of 0.02 between two models is "
                              f"only {0.02 / right:.1f} standard errors of one of them: it needs a paired test on the "
                              "same images (unit 07), not a glance at the table.")
    from ..datasets import load_pneumoniamnist

    n_train = len(load_pneumoniamnist("train")[1])
    hints = [(a * (1 - a) / n, "That is the variance; the standard error is its square root."),
             (1.96 * right, "That is the 95 % half-width (1.96 standard errors); give one standard error."),
             (100 * right, "Give it as a fraction (like the accuracy), not in percent."),
             (np.sqrt(a * (1 - a) / n_train), "Use n = the number of *test* images the accuracy was measured on."),
             (np.sqrt(a * (1 - a)) / n, "The square root covers the division by n too: sqrt(a (1 - a) / n)."),
             (np.sqrt(0.25 / n), "Use this model's accuracy a, not 0.5.")]
    hint = next((h for ref, h in hints if v is not None and abs(v - ref) <= 0.02 * ref),
                "a = the test accuracy at 0.5 (T.evaluate), n = len(yt); then sqrt(a (1 - a) / n).")
    return Feedback(False, f"{answer} is not the standard error.", hint=hint)


# --------------------------------------------------------------------------- §8 transfer learning
def finetune_param_counts() -> dict[str, int]:
    """Parameter counts of ``transfer_model(medlab_cnn())`` (the 06 §8 model): frozen/unfrozen trainable, and total.

    Builds the two small models (no training, well under a second once TensorFlow is imported).
    """
    def n(weights) -> int:
        return int(sum(int(np.prod(w.shape)) for w in weights))

    tm = T.transfer_model(T.medlab_cnn(seed=0), freeze=True, seed=0)
    frozen = n(tm.trainable_weights)
    T.set_backbone_trainable(tm, True)
    return {"frozen_trainable": frozen, "finetune_trainable": n(tm.trainable_weights),
            "non_trainable": n(tm.non_trainable_weights), "total": int(tm.count_params())}


def check_finetune_params(answer: Any) -> Feedback:
    """How many parameters gradient descent updates in phase 2 (backbone unfrozen) of 06 §8."""
    task = ("In phase 2 the whole network is unfrozen and fine-tuned. How many of its parameters does gradient "
            "descent update?")
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    c = finetune_param_counts()
    right = c["finetune_trainable"]
    if v == right:
        return Feedback(True, f"{right:,} of {c['total']:,}: every convolution kernel, every BatchNorm scale and "
                              f"shift, and the head. The other {c['non_trainable']:,} are BatchNorm's moving means and "
                              "variances, updated by averaging during training, never by a gradient.")
    hints = {c["total"]: "BatchNorm's moving mean and variance are parameters too, but no gradient updates them.",
             c["frozen_trainable"]: "That is phase 1 (frozen backbone); in phase 2 the backbone trains too.",
             right - c["frozen_trainable"]: "The new head keeps training in phase 2 as well.",
             c["total"] - c["frozen_trainable"]: "The head trains too, and BatchNorm's moving statistics do not."}
    return Feedback(False, f"{answer} is not the count.",
                    hint=hints.get(v, "Count the weights with trainable=True after set_backbone_trainable(tm, True): "
                                      "kernels, BatchNorm gamma and beta, the head's weights and bias."))
