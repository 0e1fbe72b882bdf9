"""Automatic checks for notebook exercises.

Every ``check_*`` function returns a :class:`Feedback`: truthy when the answer is right,
with a hint when it is not. It never raises on a wrong answer (a learner's wrong answer
must not look like a crash); it raises ``TypeError`` only when the answer has the wrong
type or shape to be judged at all.

>>> fb = Feedback(False, "Not yet.", hint="Count the padding twice: once per side.")
>>> bool(fb)
False
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Feedback", "NOT_ANSWERED", "as_number"]

NOT_ANSWERED = None  # exercises start as ``answer = None`` in the notebooks


def as_number(answer: Any, what: str) -> float:
    """A learner's numeric answer as a float; ``TypeError`` naming ``what`` if it is not a number.

    Booleans, strings and ``None`` are not numbers here (``True`` would silently be 1, ``"3"`` hides a typo).

    >>> as_number(3, "the padding")
    3.0
    >>> as_number("3", "the padding")
    Traceback (most recent call last):
    ...
    TypeError: the padding must be a number, got '3'
    """
    if answer is None or isinstance(answer, (bool, str, bytes)):
        raise TypeError(f"{what} must be a number, got {answer!r}")
    try:
        return float(answer)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number, got {answer!r}") from None


@dataclass(frozen=True)
class Feedback:
    """The result of an exercise check: ``correct`` plus a message and an optional hint."""

    correct: bool
    message: str
    hint: str = ""

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        from ..i18n import t  # 中文/English: medlab.set_language
        mark = f"✅ {t('Correct')}" if self.correct else f"❌ {t('Not yet')}"
        text = f"{mark}: {self.message}"
        if self.hint and not self.correct:
            text += f"\n{t('Hint')}: {self.hint}"
        return text

    def _repr_markdown_(self) -> str:
        return str(self).replace("\n", "  \n")

    __repr__ = __str__

    @classmethod
    def unanswered(cls, task: str) -> "Feedback":
        return cls(False, f"no answer yet. {task}", hint="Replace `None` with your answer and run the cell again.")
