"""Exercise checks for 03_pooling_and_network.

Each check computes the right answer with :mod:`medlab.ops` (nothing is hard-coded) and
recognises the typical mistakes to give a specific hint.

>>> bool(check_maxpool_output([[6, 5], [7, 9]]))
True
>>> bool(check_receptive_field(None))
False
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from . import Feedback
from .convolution import _as_int

__all__ = [
    "MAXPOOL_INPUT", "check_maxpool_output",
    "SEED_MODEL_INPUT", "check_seed_model_params", "check_flatten_size", "check_receptive_field",
    "POOLED_CONV_TASK", "check_pooled_conv_macs",
    "FLATTEN_TASK", "check_flatten_index",
]

#: 03 §2: "after the seed model's second 2x2 pooling the maps are 62x62x64; a third 3x3 conv (64 -> 64,
#: 'valid') runs on them. How many multiply-adds does it need?"
POOLED_CONV_TASK = dict(n=62, k=3, c_in=64, c_out=64)

#: 03 §4: "Flatten turns a (6, 6, 4) map into a vector (numpy/Keras order). At which index of the vector is
#: the value at row 2, column 3, channel 1?"
FLATTEN_TASK = dict(shape=(6, 6, 4), position=(2, 3, 1))

#: The 4x4 feature map whose 2x2 / stride-2 max-pooled output the learner predicts.
MAXPOOL_INPUT = np.array([[1, 3, 2, 0],
                          [4, 6, 1, 5],
                          [7, 2, 9, 8],
                          [0, 1, 3, 4]], dtype=float)

#: Input shape (H, W, C) of the seed model
#: Conv2D(32,3) -> MaxPool(2) -> Conv2D(64,3) -> MaxPool(2) -> Flatten -> Dense(1).
SEED_MODEL_INPUT = (256, 256, 1)


def check_maxpool_output(answer: Any) -> Feedback:
    """The 2x2 max-pool (stride 2) of :data:`MAXPOOL_INPUT`, as a 2x2 array."""
    task = "Predict the 2x2 max-pooling (stride 2) of MAXPOOL_INPUT as a 2x2 list of lists."
    if answer is None:
        return Feedback.unanswered(task)
    try:
        a = np.asarray(answer, dtype=float)
    except OverflowError:
        return Feedback(False, "a value is too large for a float.",
                        hint="Every pooled value is one of the 16 input values.")
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


def check_pooled_conv_macs(answer: Any) -> Feedback:
    """Multiply-adds of a k x k conv (c_in -> c_out, 'valid') on POOLED_CONV_TASK's n x n maps (03 §2).

    >>> bool(check_pooled_conv_macs(60 * 60 * 3 * 3 * 64 * 64))
    True
    """
    t = POOLED_CONV_TASK
    n, k, ci, co = t["n"], t["k"], t["c_in"], t["c_out"]
    task = (f"A {k}x{k} conv layer ({ci} -> {co} channels, 'valid', stride 1) runs on the {n}x{n}x{ci} maps "
            "after the second pooling. How many multiply-adds does it need?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _as_int(answer, "answer")
    out = ops.output_size(n, k)
    right = out * out * k * k * ci * co
    if value == right:
        no_pool = ops.output_size(2 * n + k - 1, k)   # the same layer on maps that had not been pooled
        return Feedback(True, f"{out}·{out} positions × {k}·{k}·{ci} inputs × {co} filters = {right:,} — "
                              f"about {no_pool ** 2 / out ** 2:.1f}x fewer than without the pooling before it.")
    mistakes = [
        (n * n * k * k * ci * co, f"'valid' conv: {n} − {k} + 1 = {out} positions per axis, not {n}."),
        (out * out * k * k * co, "Every filter sums over all input channels: multiply by C_in as well."),
        (out * out * k * k * ci, "There are C_out filters, each doing the full sum: multiply by C_out."),
        (out * out * ci * co, "Each output needs k·k taps per input channel."),
        ((out // 2) ** 2 * k * k * ci * co, "The pooling has already happened: the maps are n x n as given."),
    ]
    hints = [h for v, h in mistakes if v == value]
    return Feedback(False, f"{answer} is not the number of multiply-adds.",
                    hint=hints[0] if hints else "(output positions) × (k·k·C_in per output) × (C_out filters).")


def check_flatten_index(answer: Any) -> Feedback:
    """Index of FLATTEN_TASK's (row, col, channel) in the flattened vector (row-major, channels fastest) (03 §4).

    >>> bool(check_flatten_index(61))
    True
    """
    t = FLATTEN_TASK
    (h, w, c), (r, col, ch) = t["shape"], t["position"]
    task = (f"Flatten turns a ({h}, {w}, {c}) feature map into a vector of {h * w * c} numbers (as "
            f"np.reshape and keras Flatten do). At which index (0-based) is the value at row {r}, column {col}, "
            f"channel {ch}?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _as_int(answer, "answer")
    grid = np.arange(h * w * c).reshape(h, w, c)          # what Flatten does to every position
    right = int(grid[r, col, ch])
    if value == right:
        return Feedback(True, f"(row·{w} + column)·{c} + channel = ({r}·{w} + {col})·{c} + {ch} = {right}: "
                              "the channels vary fastest.")
    mistakes = [
        (ch * h * w + r * w + col, "That is channels-first order (PyTorch's layout); Keras is channels-last: "
                                   "the channel index varies fastest."),
        ((col * h + r) * c + ch, "Rows come before columns: numpy reads row by row (row-major)."),
        (right + 1, "Indices start at 0."),
        (r * w + col, "Each pixel holds C numbers: multiply the pixel index by the number of channels, then add "
                      "the channel."),
    ]
    hints = [h_ for v, h_ in mistakes if v == value]
    return Feedback(False, f"{answer} is not the index.",
                    hint=hints[0] if hints else "index = (row·W + column)·C + channel.")
