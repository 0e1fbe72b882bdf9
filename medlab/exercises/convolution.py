"""Exercise checks for 02_convolution.

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
    "STEP_TASK", "check_one_output_pixel",
    "FLIP_TASK", "check_flipped_kernel",
    "MULTICHANNEL_TASK", "check_multichannel_params",
    "IM2COL_TASK", "check_im2col_shape",
    "NAIVE_TASK", "check_naive_steps",
]

#: "A 256x256 CT slice, a 5x5 kernel, stride 2, padding 2 on each side: how wide is the output?"
OUTPUT_SIZE_TASK = dict(n=256, k=5, padding=2, stride=2)

#: "A Dense layer from a flattened 512x512 CT slice to 16 units: how many parameters?" (02 §1 prints the
#: 256x256 -> 32 case as its example, so the exercise asks a different one.)
DENSE_TASK = dict(height=512, width=512, units=16)

#: 02 §2: "the value of the one output pixel of conv2d(patch, kernel) ('valid', 3x3 on 3x3)".
STEP_TASK = dict(patch=((2, 0, 1), (4, 3, 1), (1, 5, 2)), kernel=((1, 0, -1), (2, 0, -2), (1, 0, -1)))

#: 02 §3: "which kernel must a CNN (cross-correlation) use to compute the true convolution with ``kernel``?"
FLIP_TASK = dict(kernel=((1, 2, 3), (4, 5, 6), (7, 8, 9)))

#: 02 §6: "a Conv2D layer with 8 filters of 5x5 on a 16-channel input: how many parameters?"
MULTICHANNEL_TASK = dict(k=5, c_in=16, c_out=8)

#: 02 §7: "the shape of im2col(x, 5) for a 64x64x4 input ('valid', stride 1)".
IM2COL_TASK = dict(height=64, width=64, channels=4, k=5)

#: 02 §8: "how many multiply-adds (= Python loop steps) does conv2d_naive do for a 5x5 kernel on a 256x256
#: image ('valid', stride 1)?"
NAIVE_TASK = dict(n=256, k=5)

def _as_int(answer: Any, what: str) -> int | None:
    """An int answer, or raise TypeError if it is not a whole number."""
    if isinstance(answer, bool):
        raise TypeError(f"{what} must be a whole number, got {answer!r}")
    if isinstance(answer, (int, np.integer)):
        return int(answer)                      # exact, however large (float() would overflow past 1e308)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a whole number, got {answer!r}") from None
    except OverflowError:
        return None
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
    except OverflowError:
        return Feedback(False, "a weight is too large for a float.", hint="Use ordinary finite numbers.")
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


def _as_matrix(answer: Any, what: str) -> np.ndarray:
    """``answer`` as a float array; TypeError if it cannot be read as numbers."""
    try:
        a = np.asarray(answer, dtype=float)
    except OverflowError:   # a whole number beyond float range: judged as infinite (wrong, with a hint)
        return np.full(np.shape(np.asarray(answer, dtype=object)), np.inf)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be an array (list of lists) of numbers, got {answer!r}") from None
    return a


def check_one_output_pixel(answer: Any) -> Feedback:
    """The single output value of ``conv2d(STEP_TASK["patch"], STEP_TASK["kernel"])`` (02 §2).

    >>> bool(check_one_output_pixel(6))
    True
    """
    t = STEP_TASK
    task = ("Apply the 3x3 kernel STEP_TASK['kernel'] to the 3x3 patch STEP_TASK['patch'] as a CNN does "
            "('valid': one output pixel). What is the output value?")
    if answer is None:
        return Feedback.unanswered(task)
    x, w = np.array(t["patch"], dtype=float), np.array(t["kernel"], dtype=float)
    right = float(ops.conv2d(x, w)[0, 0])
    a = _as_matrix(answer, "answer")
    if a.shape == (3, 3):
        if np.allclose(a, w * x):
            return Feedback(False, "that is the 3x3 array of products.",
                            hint="The output pixel is one number: add up all nine products.")
        return Feedback(False, f"your answer has shape {a.shape}.", hint="The output of a 3x3 kernel on a 3x3 "
                        "patch ('valid') is one number.")
    if a.shape not in ((), (1,), (1, 1)):
        return Feedback(False, f"your answer has shape {a.shape}.", hint="Give one number.")
    value = float(a.reshape(()))
    if not np.isfinite(value):
        return Feedback(False, f"{answer} is not a number.", hint="Give one finite number.")
    if np.isclose(value, right):
        return Feedback(True, f"sum of w[m, n]·x[m, n] = {right:g}.")
    mistakes = [
        (float(ops.convolve2d_true(x, w)[0, 0]), "That is the *true* convolution (kernel flipped). A CNN computes "
                                                 "cross-correlation: multiply w[m, n] with x[m, n], no flip."),
        (float(x.sum()), "You added the patch values; multiply each by its kernel weight first."),
        (float(np.abs(w * x).sum()), "Keep the signs: the right column of the kernel is negative."),
        (float((w * x)[1, 1]), "That is only the centre product; the sum runs over all nine positions."),
    ]
    hints = [h for v, h in mistakes if np.isclose(value, v) and not np.isclose(v, right)]
    return Feedback(False, f"{answer} is not the output value.",
                    hint=hints[0] if hints else "Multiply each kernel weight with the pixel under it and add the "
                                                "nine products: y = Σ w[m, n]·x[m, n].")


def check_flipped_kernel(answer: Any) -> Feedback:
    """The kernel a cross-correlating CNN needs to compute the true convolution with FLIP_TASK's kernel (02 §3).

    >>> bool(check_flipped_kernel([[9, 8, 7], [6, 5, 4], [3, 2, 1]]))
    True
    """
    task = ("A CNN computes cross-correlation. Which 3x3 kernel must it use so that its output equals the "
            "true convolution with FLIP_TASK['kernel']? Give it as a list of lists.")
    if answer is None:
        return Feedback.unanswered(task)
    w = np.array(FLIP_TASK["kernel"], dtype=float)
    a = _as_matrix(answer, "answer")
    if a.shape != w.shape:
        return Feedback(False, f"your answer has shape {a.shape}.", hint="Give a 3x3 list of lists.")
    if not np.all(np.isfinite(a)):
        return Feedback(False, "the kernel contains NaN, inf or a number too large for a float.",
                        hint="Use ordinary finite numbers: the entries of FLIP_TASK['kernel'], rearranged.")
    x = np.random.default_rng(0).random((8, 8))
    if np.allclose(ops.correlate2d(x, a), ops.convolve2d_true(x, w)):
        return Feedback(True, "w[::-1, ::-1]: flipped top-bottom *and* left-right (a 180° rotation).")
    if np.allclose(a, w):
        hint = "That is the kernel itself: correlation with it is not the convolution (the kernel is asymmetric)."
    elif np.allclose(a, w.T):
        hint = "A transpose mirrors along the diagonal; convolution flips both axes (a 180° rotation)."
    elif np.allclose(a, w[::-1]) or np.allclose(a, w[:, ::-1]):
        hint = "You flipped only one axis; flip both rows and columns: w[::-1, ::-1]."
    else:
        hint = "Convolution is correlation with the kernel rotated by 180°: w[::-1, ::-1]."
    return Feedback(False, "correlation with this kernel is not the true convolution.", hint=hint)


def check_multichannel_params(answer: Any) -> Feedback:
    """Parameters of a Conv2D layer (MULTICHANNEL_TASK: k x k, c_in -> c_out, with biases) (02 §6).

    >>> bool(check_multichannel_params(5 * 5 * 16 * 8 + 8))
    True
    """
    t = MULTICHANNEL_TASK
    k, ci, co = t["k"], t["c_in"], t["c_out"]
    task = (f"A Conv2D layer with {co} filters of {k}x{k} on a {ci}-channel input: how many trainable "
            "parameters (weights + biases)?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _as_int(answer, "answer")
    right = ops.conv_params(k, k, ci, co)
    if value == right:
        return Feedback(True, f"{k}·{k}·{ci}·{co} + {co} = {right:,}: each filter spans all {ci} channels.")
    mistakes = [
        (k * k * ci * co, "Each filter also has one bias."),
        (k * k * co + co, "A filter spans *all* input channels: it has k·k·C_in weights."),
        (k * k * ci + ci, "There are C_out filters, each with k·k·C_in weights and one bias."),
        (k * k * ci * co + ci, "One bias per *output* channel (filter), not per input channel."),
        (k * k * ci * co + k * k, "One bias per filter, not per kernel position."),
    ]
    hints = [h for v, h in mistakes if v == value]
    return Feedback(False, f"{answer} is not the parameter count.",
                    hint=hints[0] if hints else "Weights k·k·C_in·C_out, plus one bias per filter.")


def check_im2col_shape(answer: Any) -> Feedback:
    """Shape (rows, columns) of ``im2col(x, k)`` for IM2COL_TASK's input (02 §7).

    >>> bool(check_im2col_shape((3600, 100)))
    True
    """
    t = IM2COL_TASK
    h, w, c, k = t["height"], t["width"], t["channels"], t["k"]
    task = (f"x is {h}x{w}x{c}. What is the shape (rows, columns) of ops.im2col(x, {k}) ('valid', stride 1)?")
    if answer is None:
        return Feedback.unanswered(task)
    if not isinstance(answer, (tuple, list, np.ndarray)) or len(answer) != 2:
        return Feedback(False, f"{answer!r} is not a shape.", hint="Give a pair (rows, columns), e.g. (10, 20).")
    rows, cols = (_as_int(v, "each entry of the shape") for v in answer)
    oh, ow = ops.output_size(h, k), ops.output_size(w, k)
    right = (oh * ow, k * k * c)
    if (rows, cols) == right:
        return Feedback(True, f"one row per output pixel ({oh}·{ow} = {right[0]:,}), one column per value "
                              f"under the kernel ({k}·{k}·{c} = {right[1]}).")
    if (rows, cols) == right[::-1]:
        hint = "Rows and columns swapped: one *row* per output pixel."
    elif rows == h * w:
        hint = f"A 'valid' {k}x{k} kernel has only {oh}x{ow} positions: the output shrinks by k − 1."
    elif cols == k * k:
        hint = "Each patch spans all channels: k·k·C values per row."
    else:
        hint = "Rows: number of output pixels (output_size squared). Columns: k·k·C_in."
    return Feedback(False, f"{tuple(answer)} is not the shape.", hint=hint)


def check_naive_steps(answer: Any) -> Feedback:
    """Multiply-adds of ``conv2d_naive`` for NAIVE_TASK (k x k kernel on an n x n image, 'valid') (02 §8).

    >>> bool(check_naive_steps(252 * 252 * 25))
    True
    """
    t = NAIVE_TASK
    n, k = t["n"], t["k"]
    task = (f"How many multiply-adds (one Python loop step each) does conv2d_naive do for a {k}x{k} kernel "
            f"on a {n}x{n} image ('valid', stride 1)?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _as_int(answer, "answer")
    out = ops.output_size(n, k)
    right = out * out * k * k
    if value == right:
        return Feedback(True, f"{out}·{out} output pixels × {k}·{k} taps = {right:,}; at about half a "
                              "microsecond each that is most of a second in Python.")
    mistakes = [
        (n * n * k * k, f"A 'valid' kernel has only {out}x{out} positions, not {n}x{n}."),
        (out * out, "Each output pixel needs k·k multiply-adds, one per kernel tap."),
        (out * out * k, "The kernel has k·k taps (rows × columns), not k."),
    ]
    hints = [h for v, h in mistakes if v == value]
    return Feedback(False, f"{answer} is not the number of multiply-adds.",
                    hint=hints[0] if hints else "(number of output pixels) × (kernel taps per pixel).")
