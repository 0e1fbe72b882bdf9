"""Exercise checks for 11_privacy.

Each check computes the right answer with :mod:`medlab.privacy` (the encoded PS3.15 table, the date
shift, the accountant) and recognises typical mistakes to give a specific hint. A wrong answer never
raises; an answer of the wrong type raises ``TypeError``.

>>> bool(check_profile_action("PatientName", None))
False
>>> bool(check_profile_action("PatientName", "Z"))
True
>>> bool(check_fedavg_weights([600, 300, 100], [0.6, 0.3, 0.1]))
True
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import privacy
from . import Feedback, as_number

__all__ = ["check_profile_action", "check_shifted_interval", "check_fedavg_weights", "check_epsilon_order",
           "check_unique_fraction", "VISIT_DATES"]

#: Two visits of one patient (for the date-shift exercise).
VISIT_DATES = ("20190304", "20190611")

_CODES = {"D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"}


_number = as_number  # the one answer parser (medlab.exercises.as_number)


def check_profile_action(keyword: str, answer: Any, options: Sequence[str] = ()) -> Feedback:
    """The Table E.1-1 code of ``keyword`` in the Basic Profile (or the action with ``options``)."""
    code, action = privacy.profile_action(keyword, options)
    want = action if options else code
    task = (f"Give the action code for {keyword}" + (f" with options {list(options)}" if options else
                                                       " in the Basic Profile (column 'Basic Prof.')") +
            ", e.g. 'X', 'Z', 'D', 'U', 'K', 'C' or a combined code like 'X/Z'.")
    if answer is None:
        return Feedback.unanswered(task)
    if not isinstance(answer, str):
        raise TypeError(f"answer must be an action code as a string, got {answer!r}")
    a = answer.strip().upper()
    if a == want:
        return Feedback(True, f"{keyword}: {want}" + (f" (applied here as {action})" if action != want else "") + ".")
    if a not in _CODES:
        return Feedback(False, f"{answer!r} is not an action code.", hint="Codes: D, Z, X, K, C, U, Z/D, X/Z, X/D, "
                        "X/Z/D, X/Z/U*.")
    if options and a == code:
        return Feedback(False, f"{a} is the Basic Profile code; an option changes it.",
                        hint="Look at the option's column in Table E.1-1: K keeps, C cleans (dates: shifted).")
    if not options and a == action:
        return Feedback(False, f"{a} is what medlab applies, not the table's code.",
                        hint="The table gives a combined code here; medlab resolves it (see profile_action).")
    return Feedback(False, f"not {a}.", hint="Look the attribute up with profile_action(keyword), or in the tag "
                    "browser's 'action (table code)' column.")


def check_shifted_interval(answer: Any, key: str = "classroom-key", patient: str = "PAT-EX") -> Feedback:
    """Days between the two :data:`VISIT_DATES` after the per-patient date shift of ``patient``."""
    import datetime as dt
    a, b = (dt.datetime.strptime(d, "%Y%m%d") for d in VISIT_DATES)
    shift = privacy.date_shift_days(key, patient)
    sa, sb = (dt.datetime.strptime(privacy.shift_date(d, shift), "%Y%m%d") for d in VISIT_DATES)
    want = (sb - sa).days
    task = f"How many days lie between the two visits {VISIT_DATES} after shifting both for patient {patient}?"
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    if v == want:
        return Feedback(True, f"{want} days: one shift per patient ({shift} d) keeps every interval.")
    if v == shift or v == -shift:
        return Feedback(False, "that is the shift itself, not the interval.",
                        hint="Both dates move by the same number of days.")
    return Feedback(False, f"not {v:g}.", hint=f"Count the days from {a.date()} to {b.date()}: a shift applied to "
                    "both dates does not change their difference.")


def check_fedavg_weights(sizes: Sequence[int], answer: Any) -> Feedback:
    """FedAvg's client weights n_k / n for clients of the given sizes."""
    n = np.asarray(sizes, dtype=float)
    want = n / n.sum()
    task = f"Give the FedAvg weight of each client (sizes {list(sizes)}) as a list of fractions."
    if answer is None:
        return Feedback.unanswered(task)
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"answer must be a list of numbers, got {answer!r}") from None
    if a.shape != want.shape:
        raise TypeError(f"answer must have one weight per client ({len(want)}), got shape {a.shape}")
    if np.allclose(a, want, atol=1e-3):
        return Feedback(True, "weights n_k / n: a larger hospital counts more.")
    if np.allclose(a, 1 / len(n), atol=1e-3):
        return Feedback(False, "equal weights are the 'equal' variant, not FedAvg's.",
                        hint="FedAvg weights each client by its share of all training examples.")
    if not np.isclose(a.sum(), 1.0, atol=1e-3):
        return Feedback(False, "the weights must sum to 1.", hint="Divide each size by the total.")
    return Feedback(False, "not these weights.", hint="weight_k = size_k / sum of sizes.")


def check_epsilon_order(answer: Any, noises: Sequence[float] = (0.5, 1.0, 2.0), sample_rate: float = 0.25,
                        steps: int = 8, delta: float = 1e-5) -> Feedback:
    """Order the noise multipliers from the strongest privacy (smallest epsilon) to the weakest."""
    eps = {s: privacy.dp_epsilon(s, sample_rate, steps, delta) for s in noises}
    want = sorted(noises, key=lambda s: eps[s])
    task = f"Order the noise multipliers {list(noises)} from the smallest epsilon (most private) to the largest."
    if answer is None:
        return Feedback.unanswered(task)
    try:
        a = [float(v) for v in answer]
    except (TypeError, ValueError):
        raise TypeError(f"answer must be a list of numbers, got {answer!r}") from None
    if sorted(a) != sorted(float(s) for s in noises):
        raise TypeError(f"answer must contain exactly {list(noises)}, got {answer!r}")
    if a == [float(s) for s in want]:
        return Feedback(True, "more noise, smaller epsilon: " + ", ".join(f"σ={s:g}: ε={eps[s]:.3g}" for s in want))
    if a == [float(s) for s in want[::-1]]:
        return Feedback(False, "reversed.", hint="Epsilon bounds what one patient can change: more noise hides more.")
    return Feedback(False, "not this order.", hint="Compute privacy.dp_epsilon for each noise multiplier.")


def check_unique_fraction(records: Sequence[dict], columns: Sequence[str], answer: Any) -> Feedback:
    """The fraction of ``records`` that are unique on ``columns`` (k = 1)."""
    want = privacy.uniqueness(records, columns)["unique_fraction"]
    task = f"What fraction of the records is unique on {list(columns)}?"
    if answer is None:
        return Feedback.unanswered(task)
    v = _number(answer, "answer")
    if abs(v - want) < 0.005:
        return Feedback(True, f"{want:.3f} of the records can be singled out by {', '.join(columns)}.")
    if abs(v - want * 100) < 0.5:
        return Feedback(False, "that looks like a percentage.", hint="Give a fraction between 0 and 1.")
    return Feedback(False, f"not {v:g}.", hint="Count the records whose combination of values appears only once "
                    "(privacy.uniqueness).")
