"""Exercise checks for 02_convolution and 03_pooling_and_network.

Each check computes the right answer with :mod:`medlab.ops` (nothing is hard-coded) and
recognises the typical mistakes to give a specific hint.

>>> bool(check_output_size(None))
False
>>> bool(check_output_size(128))
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from . import Feedback

__all__ = [
    "OUTPUT_SIZE_TASK", "check_output_size",
    "check_dense_params", "DENSE_TASK",
    "check_horizontal_edge_kernel",
    "MAXPOOL_INPUT", "check_maxpool_output",
    "SEED_MODEL_INPUT", "check_seed_model_params", "check_flatten_size", "check_receptive_field",
]

#: "A 256x256 CT slice, a 5x5 kernel, stride 2, padding 2 on each side: how wide is the output?"
OUTPUT_SIZE_TASK = dict(n=256, k=5, padding=2, stride=2)

#: "A Dense layer from a flattened 256x256 grey image to 32 units: how many parameters?"
DENSE_TASK = dict(height=256, width=256, units=32)

#: The 4x4 feature map whose 2x2 / stride-2 max-pooled output the learner predicts.
MAXPOOL_INPUT = np.array([[1, 3, 2, 0],
                          [4, 6, 1, 5],
                          [7, 2, 9, 8],
                          [0, 1, 3, 4]], dtype=float)

#: Input shape (H, W, C) of the seed model
#: Conv2D(32,3) -> MaxPool(2) -> Conv2D(64,3) -> MaxPool(2) -> Flatten -> Dense(1).
SEED_MODEL_INPUT = (256, 256, 1)


def _as_int(answer: Any, what: str) -> int | None:
    """An int answer, or raise TypeError if it is not a whole number."""
    if isinstance(answer, bool):
        raise TypeError(f"{what} must be a whole number, got {answer!r}")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a whole number, got {answer!r}") from None
    if not np.isfinite(value) or value != int(value):
        return None
    return int(value)


def check_output_size(answer: Any) -> Feedback:
    """Output width for :data:`OUTPUT_SIZE_TASK` (n=256, k=5, padding=2, stride=2)."""
    t = OUTPUT_SIZE_TASK
    task = (f"Input {t['n']}x{t['n']}, kernel {t['k']}x{t['k']}, padding {t['padding']} on each side, "
            f"stride {t['stride']}: what is the output width?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _as_int(answer, "answer")
    right = ops.output_size(t["n"], t["k"], t["padding"], t["stride"])
    if value == right:
        return Feedback(True, f"floor(({t['n']} + 2·{t['padding']} − {t['k']}) / {t['stride']}) + 1 = {right}.")
    n, k, p, s = t["n"], t["k"], t["padding"], t["stride"]
    if value is None:
        return Feedback(False, f"{answer} is not the output width.",
                        hint="A size is a whole number: the division is rounded *down* (floor).")
    mistakes = [  # (what the typical mistake gives, the hint) -- several can coincide
        ((n + p - k) // s + 1, "Padding is added on *both* sides: use n + 2p."),
        ((n - k) // s + 1, "You left out the padding: the kernel slides over n + 2p pixels."),
        ((n + 2 * p - k) // s, "Don't forget the + 1: the first position of the kernel also counts."),
        (n + 2 * p - k + 1, "With stride s the kernel jumps s pixels at a time: divide by s."),
        (-(-(n + 2 * p - k) // s) + 1, "The division is rounded down (floor), not up: a partial step does not fit."),
    ]
    hints = [h for v, h in mistakes if v == value and v != right]
    hint = " Or: ".join(hints) if hints else "Use out = floor((n + 2p − k) / s) + 1."
    return Feedback(False, f"{answer} is not the output width.", hint=hint)


def check_dense_params(answer: Any) -> Feedback:
    """Number of parameters of a Dense layer from a flattened image (:data:`DENSE_TASK`)."""
    t = DENSE_TASK
    task = (f"A Dense layer maps a flattened {t['height']}x{t['width']} grey image to {t['units']} units. "
            "How many parameters (weights + biases)?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _as_int(answer, "answer")
    n_in = t["height"] * t["width"]
    right = ops.dense_params(n_in, t["units"])
    if value == right:
        conv = ops.conv_params(3, 3, 1, t["units"])
        return Feedback(True, f"{n_in}·{t['units']} + {t['units']} = {right:,} — a 3x3 conv with "
                              f"{t['units']} filters needs only {conv}.")
    if value == n_in * t["units"]:
        hint = "Each of the output units also has one bias."
    elif value == n_in + t["units"]:
        hint = "Every input is connected to every unit: multiply, don't add."
    else:
        hint = "Weights: (inputs) × (units); biases: one per unit."
    return Feedback(False, f"{answer} is not the parameter count.", hint=hint)


def _edge_images(size: int = 12) -> dict[str, np.ndarray]:
    flat = np.full((size, size), 5.0)
    horizontal = np.zeros((size, size))
    horizontal[size // 2:] = 1.0  # dark above, bright below: a horizontal edge
    return {"flat": flat, "horizontal": horizontal, "vertical": horizontal.T.copy()}


def check_horizontal_edge_kernel(kernel: Any) -> Feedback:
    """Is ``kernel`` (3x3) a horizontal-edge detector?

    Judged by applying it with :func:`medlab.ops.conv2d`: it must give 0 on a flat image,
    respond to a horizontal edge (|response| >= 1 for a unit step), and respond at most a
    tenth as strongly to a vertical edge.
    """
    task = "Design a 3x3 kernel that responds to horizontal edges (intensity changing from top to bottom)."
    if kernel is None:
        return Feedback.unanswered(task)
    try:
        k = np.asarray(kernel, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"kernel must be a 3x3 array of numbers, got {kernel!r}") from None
    if k.shape != (3, 3):
        return Feedback(False, f"kernel has shape {k.shape}.",
                        hint="Give a 3x3 array, e.g. a list of 3 rows of 3 numbers.")
    if not np.all(np.isfinite(k)):
        return Feedback(False, "kernel contains NaN or inf.", hint="Use ordinary finite numbers.")
    imgs = _edge_images()
    flat = np.abs(ops.conv2d(imgs["flat"], k)).max()
    horiz = np.abs(ops.conv2d(imgs["horizontal"], k)).max()
    vert = np.abs(ops.conv2d(imgs["vertical"], k)).max()
    if flat > 1e-9:
        return Feedback(False, f"a flat image gives {flat:.3g}, not 0.",
                        hint="An edge detector must ignore uniform regions: make the weights sum to 0.")
    if horiz < 1.0 and vert >= 1.0:
        return Feedback(False, "this kernel finds *vertical* edges.",
                        hint="Turn it by 90°: the weights should change from the top row to the bottom row.")
    if horiz < 1.0:
        return Feedback(False, f"a unit horizontal edge gives only {horiz:.3g}.",
                        hint="Put negative weights in the top row and positive weights in the bottom row.")
    if vert > 0.1 * horiz:
        return Feedback(False, f"it also responds to vertical edges ({vert:.3g} vs {horiz:.3g}).",
                        hint="Make every row constant (e.g. -1 -2 -1 / 0 0 0 / 1 2 1) so left-right changes cancel.")
    return Feedback(True, f"flat → 0, horizontal edge → {horiz:.3g}, vertical edge → {vert:.3g}.")


def check_maxpool_output(answer: Any) -> Feedback:
    """The 2x2 max-pool (stride 2) of :data:`MAXPOOL_INPUT`, as a 2x2 array."""
    task = "Predict the 2x2 max-pooling (stride 2) of MAXPOOL_INPUT as a 2x2 list of lists."
    if answer is None:
        return Feedback.unanswered(task)
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"answer must be a 2x2 array of numbers, got {answer!r}") from None
    right = ops.pool2d(MAXPOOL_INPUT, 2, 2, mode="max")
    if a.shape != right.shape:
        return Feedback(False, f"your answer has shape {a.shape}.",
                        hint="A 4x4 input pooled with 2x2 windows, stride 2, gives a 2x2 output (4 windows).")
    if np.allclose(a, right):
        return Feedback(True, f"each 2x2 block keeps its largest value: {right.astype(int).tolist()}.")
    if np.allclose(a, ops.pool2d(MAXPOOL_INPUT, 2, 2, mode="avg")):
        hint = "That is the *average* of each block; max pooling keeps the largest value."
    elif np.allclose(a, ops.pool2d(MAXPOOL_INPUT, 2, 1, mode="max")[::2, ::2]):
        hint = "The windows do not overlap with stride 2: rows 0-1 x cols 0-1, rows 0-1 x cols 2-3, ..."
    else:
        wrong = int((~np.isclose(a, right)).sum())
        hint = f"{wrong} of 4 values differ. Split the 4x4 input into four 2x2 blocks and take each block's maximum."
    return Feedback(False, "not the max-pooled output.", hint=hint)


def _seed_shapes():
    """Hand derivation of the seed model's shapes with ops.output_size."""
    h, w, c = SEED_MODEL_INPUT
    h1, w1 = ops.output_size(h, 3), ops.output_size(w, 3)
    h2, w2 = ops.output_size(h1, 2, stride=2), ops.output_size(w1, 2, stride=2)
    h3, w3 = ops.output_size(h2, 3), ops.output_size(w2, 3)
    h4, w4 = ops.output_size(h3, 2, stride=2), ops.output_size(w3, 2, stride=2)
    return (h1, w1), (h2, w2), (h3, w3), (h4, w4)


def check_flatten_size(answer: Any) -> Feedback:
    """Length of the Flatten output of the seed model (input 256x256x1)."""
    task = "How many numbers does Flatten pass to the Dense layer in the seed model?"
    if answer is None:
        return Feedback.unanswered(task)
    value = _as_int(answer, "answer")
    _, _, (h3, _), (h4, w4) = _seed_shapes()
    right = h4 * w4 * 64
    if value == right:
        return Feedback(True, f"{h4}·{w4}·64 = {right:,}.")
    if value == (h3 / 2) ** 2 * 64 or value == 63 * 63 * 64:
        hint = f"The second conv gives {h3}x{h3}; pooling by 2 rounds *down*: floor({h3}/2) = {h3 // 2}."
    elif value == 64 * 64 * 64:
        hint = "A 'valid' 3x3 conv shrinks the image by 2 pixels: 256 → 254, then pool → 127, ..."
    elif value == h4 * w4:
        hint = "Flatten keeps every channel: multiply by the 64 filters of the last conv."
    else:
        hint = ("Follow the shape layer by layer: 256 → conv 254 → pool 127 → conv ? → pool ? ; "
                "times 64 channels.")
    return Feedback(False, f"{answer} is not the flattened length.", hint=hint)


def check_seed_model_params(answer: Any) -> Feedback:
    """Total trainable parameters of the seed model (input 256x256x1)."""
    task = "How many trainable parameters does the seed model have in total?"
    if answer is None:
        return Feedback.unanswered(task)
    value = _as_int(answer, "answer")
    _, _, _, (h4, w4) = _seed_shapes()
    p1, p2 = ops.conv_params(3, 3, 1, 32), ops.conv_params(3, 3, 32, 64)
    p3 = ops.dense_params(h4 * w4 * 64, 1)
    right = p1 + p2 + p3
    if value == right:
        return Feedback(True, f"{p1} + {p2} + {p3:,} = {right:,}; the Dense layer holds {p3 / right:.0%} of them.")
    if value == right - (32 + 64 + 1):
        hint = "Each filter and the Dense unit also has a bias."
    elif value == p1 + p2:
        hint = "Don't forget the Dense layer: one weight per flattened input, plus a bias."
    elif value is not None and abs(value - right) < right * 0.05:
        hint = "Close: check the flattened size (floor after each pooling) and the 3·3·32·64 second conv."
    else:
        hint = "Conv: kh·kw·C_in·C_out + C_out. Pooling and Flatten: 0. Dense: n_in·n_out + n_out."
    return Feedback(False, f"{answer} is not the total parameter count.", hint=hint)


def check_receptive_field(answer: Any) -> Feedback:
    """Receptive field (pixels, one axis) of one output pixel of the seed model's last pooling layer."""
    task = "How many input pixels wide is the receptive field of one pixel after the second MaxPool?"
    if answer is None:
        return Feedback.unanswered(task)
    value = _as_int(answer, "answer")
    right = ops.receptive_field([("conv", 3), ("pool", 2), ("conv", 3), ("pool", 2)]).size
    if value == right:
        return Feedback(True, f"3 → 4 → 8 → {right}: each layer adds (k − 1) × (product of earlier strides).")
    if value == 1 + (3 - 1) + (2 - 1) + (3 - 1) + (2 - 1):
        hint = "Layers after a pooling layer step 2 input pixels at a time: multiply their growth by the jump."
    elif value == 3 * 2 * 3 * 2:
        hint = "Receptive fields grow by addition, not multiplication: r ← r + (k − 1)·jump."
    else:
        hint = "Start with r = 1, jump = 1; for each layer: r ← r + (k − 1)·jump, then jump ← jump·stride."
    return Feedback(False, f"{answer} is not the receptive field.", hint=hint)
