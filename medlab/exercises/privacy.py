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
           "check_unique_fraction", "VISIT_DATES", "CANDIDATES", "check_identifying", "check_tool_gap",
           "check_uid_runs", "check_dp_factor"]

#: Two visits of one patient (for the date-shift exercise).
VISIT_DATES = ("20190304", "20190611")

#: Attributes of pydicom's example CT (for the §1 exercise): which of them can identify a person?
CANDIDATES = ("StationName", "DeviceSerialNumber", "SeriesInstanceUID", "AcquisitionDate", "AdditionalPatientHistory",
              "PatientWeight", "SliceThickness", "KVP", "ConvolutionKernel", "Modality")

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
    if abs(v - want * 100) < 0.5 and want > 0:
        return Feedback(False, "that looks like a percentage.", hint="Give a fraction between 0 and 1.")
    if abs(v - (1 - want)) < 0.005:
        return Feedback(False, "that is the fraction that is *not* unique.",
                        hint="Count the records whose combination appears exactly once (k = 1).")
    return Feedback(False, f"not {v:g}.", hint="Count the records whose combination of values appears only once "
                    "(privacy.uniqueness).")


def _keywords(answer: Any, what: str) -> set[str]:
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__iter__"):
        raise TypeError(f"{what} must be a list (or set) of attribute keywords, got {answer!r}")
    items = list(answer)
    if not all(isinstance(k, str) for k in items):
        raise TypeError(f"{what} must hold attribute keywords as strings, got {answer!r}")
    return {k.strip() for k in items}


def _identifies(keyword: str) -> bool:
    """In Table E.1-1 with a Basic Profile action other than K (keep)."""
    try:
        return privacy.profile_action(keyword)[0] != "K"
    except ValueError:          # not in the table: the profile keeps it
        return False


def check_identifying(answer: Any, candidates: Sequence[str] = CANDIDATES) -> Feedback:
    """11 §1: which of ``candidates`` can identify a person? Judged by the standard: the attributes that
    PS3.15 Table E.1-1 lists with an action other than K (keep)."""
    right = {k for k in candidates if _identifies(k)}
    if answer is None:
        return Feedback.unanswered(f"List the attributes of {list(candidates)} that can identify a patient.")
    a = _keywords(answer, "answer")
    unknown = sorted(a - set(candidates))
    if unknown:
        return Feedback(False, f"{unknown} are not among the candidates.", hint="Pick keywords from CANDIDATES.")
    if a == right:
        return Feedback(True, f"{sorted(right)}: Table E.1-1 lists each of them (device names, UIDs, dates, free "
                              "text and body measures all narrow down who and where); the others are not in the "
                              "table — the profile keeps them.")
    extra, missing = sorted(a - right), sorted(right - a)
    if extra:
        return Feedback(False, f"{extra[0]} does not identify anyone.", hint="An acquisition parameter (slice "
                        "thickness, tube voltage, kernel, modality) is the same for thousands of patients.")
    hints = {"uid": "UIDs link the file to the hospital's archive (and often embed its root and a timestamp).",
             "date": "Dates, with age and sex, single people out.",
             "history": "Free text can contain anything, names included.",
             "device": "A station name or serial number names the hospital, and with a date the visit.",
             "body": "Weight and size are patient characteristics: with age and sex they narrow the search."}
    k = missing[0]
    topic = ("uid" if k.endswith("UID") else "date" if "Date" in k or "Time" in k else
             "history" if "History" in k or "Comment" in k or "Description" in k else
             "device" if "Station" in k or "Device" in k or "Serial" in k else "body")
    return Feedback(False, f"you left out {len(missing)} that can identify (one is {k}).", hint=hints[topic])


def check_tool_gap(answer: Any, differences: Sequence[dict], left_by_tool: Sequence[Any],
                   ours: str = "medlab", tool: str = "dicognito") -> Feedback:
    """11 §3: name an attribute that ``tool`` *kept* unchanged where ``ours`` removed or emptied it, and that
    the audit still flags in the tool's output. ``differences``: :func:`medlab.privacy.compare_outputs` rows
    (names ``(ours, tool)``); ``left_by_tool``: :func:`medlab.privacy.audit` findings of the tool's output."""
    if not isinstance(answer, (str, type(None))):
        raise TypeError(f"answer must be an attribute keyword (str), got {answer!r}")
    kept = {r["keyword"] for r in differences if r.get(tool) == "kept" and r.get(ours) in ("removed", "emptied")}
    flagged = {f.keyword for f in left_by_tool}
    right = kept & flagged
    if answer is None:
        return Feedback.unanswered(f"Find a row where {tool} says 'kept' and {ours} 'removed' or 'emptied', "
                                   "then check whether the audit flags it.")
    a = answer.strip()
    rows = {r["keyword"]: r for r in differences}
    if a in right:
        kind = next(f.kind for f in left_by_tool if f.keyword == a)
        return Feedback(True, f"{a} [{kind}] is still in {tool}'s output: a second tool is a cross-check, "
                              "not a guarantee — run the audit on whatever you release.")
    if a not in rows:
        return Feedback(False, f"{a!r} is not a row of the comparison.", hint="Pick a keyword from tool_diff.")
    if rows[a].get(tool) != "kept":
        return Feedback(False, f"{tool} {rows[a].get(tool)} {a}, it did not keep it.",
                        hint=f"Look for rows where {tool} says 'kept'.")
    if a in kept:
        return Feedback(False, f"{tool} kept {a}, but the audit does not flag it.",
                        hint="List the keywords of the audit's findings on the tool's output and compare.")
    return Feedback(False, f"{ours} did not remove or empty {a}.", hint=f"Look for rows where {ours} says "
                    "'removed' or 'emptied'.")


def check_uid_runs(answer: Any, uid: str, keys: Sequence[str]) -> Feedback:
    """11 §4: how many different UIDs does ``uid`` become when de-identified once with each of ``keys``?"""
    if not isinstance(uid, str) or not keys:
        raise TypeError("uid must be a UID string and keys a non-empty list of keys")
    outs = {privacy.keyed_uid(uid, k) for k in keys}
    right = len(outs)
    if answer is None:
        return Feedback.unanswered(f"De-identify with the keys {list(keys)}: how many different UIDs come out?")
    a = as_number(answer, "answer")
    if a == right:
        return Feedback(True, f"{right}: the keyed hash is deterministic — the same key gives the same UID in "
                              "every run (a series stays a series, runs can be merged) — and another key gives "
                              "an unlinkable one.")
    if a == len(keys) and len(keys) != right:
        return Feedback(False, "the UIDs are not drawn at random.", hint="The same UID and the same key always "
                        "give the same output UID.")
    if a == 1 and right != 1:
        return Feedback(False, "the key matters.", hint="A different key gives a different, unlinkable UID.")
    return Feedback(False, f"{a:g} is not it.", hint="Count the different keys: each gives one output UID.")


def check_dp_factor(answer: Any, epsilon: float) -> Feedback:
    """11 §9: with (ε, δ ≈ 0)-DP, by what factor at most can one patient make any outcome more likely?
    Accepts e^ε for ε rounded to two decimals."""
    import math
    from .._validate import check_float

    eps = check_float(epsilon, "epsilon", 0, 700)
    right = math.exp(eps)
    if answer is None:
        return Feedback.unanswered(f"ε = {eps:.3f}: by what factor at most may one patient make an outcome "
                                   "more likely (ignore δ)?")
    a = as_number(answer, "answer")
    if a > 0 and abs(math.log(a) - eps) <= 0.006:
        return Feedback(True, f"e^{eps:.2f} ≈ {right:.3g}: any outcome of training (including 'this patient "
                              "was in the data') may become up to that many times more likely — "
                              + ("a strong guarantee." if eps <= 1 else "a weak one, though still a bound."))
    if abs(a - eps) < 0.01:
        return Feedback(False, "that is ε itself.", hint="The bound is P[M(D) ∈ S] ≤ e^ε · P[M(D') ∈ S].")
    if a > 0 and abs(math.log(a) + eps) <= 0.006:
        return Feedback(False, "that is e^−ε.", hint="The bound says at most e^ε times *more* likely.")
    if a > 0 and abs(math.log10(a) - eps) <= 0.006:
        return Feedback(False, "that is 10^ε.", hint="The exponent is the natural one: e^ε (math.exp).")
    if abs(a - (1 + eps)) < 0.01:
        return Feedback(False, "1 + ε is only the small-ε approximation of e^ε.", hint="Use math.exp(ε).")
    return Feedback(False, f"{a:g} is not it.", hint="The factor is e^ε (math.exp).")
