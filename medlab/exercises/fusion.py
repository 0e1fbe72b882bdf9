"""Exercise checks for 10_multimodal_fusion (each computes its answer; none needs training).

>>> bool(check_late_fusion(None))
False
>>> bool(check_late_fusion(0.3 * 0.9 + 0.7 * 0.4))
True
"""
from __future__ import annotations

from typing import Any, Sequence

from . import Feedback, as_number

__all__ = ["LATE_EXAMPLE", "check_late_fusion", "check_n_models", "check_leak_name"]

#: One image's probabilities from two models and the fusion weight of the first.
LATE_EXAMPLE = {"p_cnn": 0.9, "p_svm": 0.4, "weight": 0.3}


_number = as_number  # the one answer parser (medlab.exercises.as_number)


def check_late_fusion(answer: Any) -> Feedback:
    """Ex. 1: the late-fusion probability of :data:`LATE_EXAMPLE`."""
    if answer is None:
        return Feedback.unanswered("Compute w · p_cnn + (1 − w) · p_svm for LATE_EXAMPLE.")
    a = _number(answer, "answer")
    e = LATE_EXAMPLE
    right = e["weight"] * e["p_cnn"] + (1 - e["weight"]) * e["p_svm"]
    if abs(a - right) < 1e-6:
        return Feedback(True, f"{right:.2f}: a weighted average stays a probability in [0, 1].")
    if abs(a - ((1 - e["weight"]) * e["p_cnn"] + e["weight"] * e["p_svm"])) < 1e-6:
        return Feedback(False, "the weights are swapped.", hint="w multiplies the CNN's probability.")
    return Feedback(False, f"{a:g} is not it.", hint="w · p_cnn + (1 − w) · p_svm.")


def check_n_models(answer: Any, k: int) -> Feedback:
    """Ex. 3: how many logistic regressions does the early-fusion explorer fit for ``k`` groups?"""
    if answer is None:
        return Feedback.unanswered(f"How many non-empty subsets do {k} feature groups have?")
    a = _number(answer, "answer")
    right = 2 ** k - 1
    if a == right:
        return Feedback(True, f"2^{k} − 1 = {right}: each group is in or out, minus the empty choice.")
    if a == 2 ** k:
        return Feedback(False, "the empty subset is not a model.", hint="Subtract one.")
    return Feedback(False, f"{a:g} is not it.", hint="Each group is either in or out.")


def check_leak_name(answer: Any, screen: Sequence[dict]) -> Feedback:
    """Ex. 4: which column is the leak? ``screen`` is :func:`medlab.fusion.screen_features`' output."""
    if answer is None:
        return Feedback.unanswered("Name the feature the screen flags.")
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a feature name (str), got {answer!r}")
    flagged = [r["feature"] for r in screen if r["alarm"]]
    if answer in flagged:
        return Feedback(True, f"{answer!r}: alone it separates the classes almost perfectly — recorded because "
                              "of the diagnosis, it cannot help make one.")
    return Feedback(False, f"{answer!r} is not flagged.", hint="Look for alarm=True in the screen's table.")
