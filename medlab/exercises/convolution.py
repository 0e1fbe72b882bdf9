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
]

#: "A 256x256 CT slice, a 5x5 kernel, stride 2, padding 2 on each side: how wide is the output?"
OUTPUT_SIZE_TASK = dict(n=256, k=5, padding=2, stride=2)

#: "A Dense layer from a flattened 256x256 grey image to 32 units: how many parameters?"
DENSE_TASK = dict(height=256, width=256, units=32)

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
