"""Exercise checks for 00_welcome: window/level arithmetic.

>>> bool(check_window_for_range(400, 40))
True
"""
from __future__ import annotations

from . import Feedback

__all__ = ["check_window_for_range", "TARGET_RANGE"]

#: The HU range the exercise asks for: soft tissue from fat-ish to contrast-enhanced vessels.
TARGET_RANGE = (-160.0, 240.0)


def check_window_for_range(window, level) -> Feedback:
    """Is ``(window, level)`` the display window that maps exactly ``TARGET_RANGE`` to black..white?"""
    lo, hi = TARGET_RANGE
    task = f"Find W and L so that HU {lo:.0f} is black and HU {hi:.0f} is white."
    if window is None or level is None:
        return Feedback.unanswered(task)
    try:
        window, level = float(window), float(level)
    except (TypeError, ValueError):
        raise TypeError(f"window and level must be numbers (HU), got {window!r} and {level!r}") from None
    if abs(window - (hi - lo)) < 1e-6 and abs(level - (hi + lo) / 2) < 1e-6:
        return Feedback(True, f"W={window:g}, L={level:g} shows HU {lo:.0f} to {hi:.0f}.")
    shown = (level - window / 2, level + window / 2)
    if abs(window - (hi - lo)) >= 1e-6:
        hint = "The window W is the *width* of the HU range: W = upper - lower."
    else:
        hint = "The level L is the *centre* of the HU range: L = (lower + upper) / 2."
    return Feedback(False, f"W={window:g}, L={level:g} shows HU {shown[0]:g} to {shown[1]:g}.", hint=hint)
