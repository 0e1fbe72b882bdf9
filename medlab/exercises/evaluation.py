"""Exercise checks for 07_evaluation.

Each check computes the right answer with :mod:`medlab.evaluation` (nothing is hard-coded) and recognises
typical mistakes to give a specific hint. A wrong answer never raises; an answer of the wrong type does.

>>> bool(check_f1(None))
False
>>> c = COUNTS
>>> bool(check_f1(2 * c["tp"] / (2 * c["tp"] + c["fp"] + c["fn"])))
True
"""
from __future__ import annotations

from typing import Any

from .. import evaluation as E
from . import Feedback, as_number

__all__ = ["COUNTS", "SCREENING", "SMALL_SAMPLE", "SPLITS", "check_f1", "check_ppv_screening",
           "check_sensitivity_interval", "check_threshold_split"]

#: Test-set counts of a classifier (positive = pneumonia).
COUNTS = dict(tp=372, fp=61, tn=173, fn=18)

#: A model with this sensitivity and specificity is used to screen a population with this prevalence.
SCREENING = dict(sensitivity=0.95, specificity=0.85, prevalence=0.02)

#: A sensitivity measured on few positives (BreastMNIST has 42 malignant test images).
SMALL_SAMPLE = dict(k=36, n=42, level=0.95)

#: Where may the decision threshold be chosen?
SPLITS = ("train", "validation", "test")

_TOL = 5e-3


_number = as_number  # the one answer parser (medlab.exercises.as_number)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _TOL


def check_f1(answer: Any) -> Feedback:
    """F1 of :data:`COUNTS`."""
    task = "Compute the F1 score of COUNTS (the harmonic mean of precision and recall), a number in [0, 1]."
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    c = COUNTS
    m = E._from_counts(c["tp"], c["fp"], c["tn"], c["fn"])
    if _close(a, m["f1"]):
        return Feedback(True, f"F1 = 2·TP / (2·TP + FP + FN) = {m['f1']:.4f}; it ignores the {c['tn']} true negatives.")
    mistakes = [
        (m["accuracy"], "That is the accuracy. F1 combines precision (PPV) and recall (sensitivity) only."),
        (m["ppv"], "That is the precision alone; F1 is the harmonic mean of precision and recall."),
        (m["sensitivity"], "That is the recall alone; F1 is the harmonic mean of precision and recall."),
        ((m["ppv"] + m["sensitivity"]) / 2, "That is the arithmetic mean; F1 is the harmonic mean 2PR/(P+R)."),
        (m["balanced_accuracy"], "That is the balanced accuracy (mean of sensitivity and specificity)."),
    ]
    for value, hint in mistakes:
        if _close(a, value):
            return Feedback(False, f"{a:.4f} is not F1.", hint=hint)
    return Feedback(False, f"{a:.4f} is not F1.", hint="precision = TP/(TP+FP), recall = TP/(TP+FN), "
                                                       "F1 = 2·precision·recall/(precision + recall).")


def check_ppv_screening(answer: Any) -> Feedback:
    """PPV of the model of :data:`SCREENING` in the screening population (Bayes' rule)."""
    task = ("A model with SCREENING['sensitivity'] and SCREENING['specificity'] screens a population with "
            "SCREENING['prevalence']. What fraction of the positive calls are truly ill (the PPV)?")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    s = SCREENING
    pv = E.predictive_values(s["sensitivity"], s["specificity"], s["prevalence"])
    if _close(a, pv["ppv"]):
        return Feedback(True, f"PPV = {pv['ppv']:.4f}: at {s['prevalence']:.0%} prevalence most positive calls are "
                              f"false alarms, although the model is {s['sensitivity']:.0%} sensitive.")
    mistakes = [
        (s["sensitivity"], "That is the sensitivity, P(called positive | ill). The PPV is P(ill | called positive)."),
        (pv["npv"], "That is the NPV (the fraction of negative calls that are healthy)."),
        (E.predictive_values(s["sensitivity"], s["specificity"], 0.625)["ppv"],
         "You used the test split's prevalence (62.5 %); use the screening population's."),
        (1 - s["specificity"], "That is the false positive rate, 1 − specificity."),
    ]
    for value, hint in mistakes:
        if _close(a, value):
            return Feedback(False, f"{a:.4f} is not the PPV.", hint=hint)
    return Feedback(False, f"{a:.4f} is not the PPV.",
                    hint="PPV = Se·π / (Se·π + (1 − Sp)(1 − π)); out of 10,000 people count the true and the "
                         "false positives.")


def _pair(answer: Any) -> tuple[float, float]:
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__len__") or len(answer) != 2:
        raise TypeError(f"answer must be a pair (low, high), got {answer!r}")
    return _number(answer[0], "low"), _number(answer[1], "high")


def check_sensitivity_interval(answer: Any) -> Feedback:
    """The 95 % Wilson interval of the sensitivity ``k / n`` of :data:`SMALL_SAMPLE`."""
    task = "Give the 95 % Wilson interval (low, high) of a sensitivity of SMALL_SAMPLE['k'] / SMALL_SAMPLE['n']."
    if answer is None:
        return Feedback.unanswered(task)
    lo, hi = _pair(answer)
    s = SMALL_SAMPLE
    ref = E.proportion_ci(s["k"], s["n"], "wilson", s["level"])
    if _close(lo, ref[0]) and _close(hi, ref[1]):
        return Feedback(True, f"[{ref[0]:.3f}, {ref[1]:.3f}]: {ref[1] - ref[0]:.0%} wide from {s['n']} positives. "
                              f"A sensitivity of {s['k'] / s['n']:.1%} on so few cases is compatible with a much "
                              f"worse model.")
    mistakes = [
        (E.proportion_ci(s["k"], s["n"], "normal", s["level"]),
         "That is the Wald (normal) interval p ± 1.96·sqrt(p(1−p)/n); Wilson's centre is pulled towards ½."),
        (E.proportion_ci(s["k"], s["n"], "wilson", 0.90), "That is the 90 % interval; use z = 1.96 for 95 %."),
        (E.proportion_ci(s["k"], s["n"], "beta", s["level"]), "That is Clopper-Pearson (exact); the task asks for Wilson."),
    ]
    for value, hint in mistakes:
        if _close(lo, value[0]) and _close(hi, value[1]):
            return Feedback(False, f"[{lo:.3f}, {hi:.3f}] is not the Wilson interval.", hint=hint)
    return Feedback(False, f"[{lo:.3f}, {hi:.3f}] is not the 95 % Wilson interval.",
                    hint="centre (p + z²/2n)/(1 + z²/n), half-width z·sqrt(p(1−p)/n + z²/4n²)/(1 + z²/n), z = 1.96.")


def check_threshold_split(answer: Any) -> Feedback:
    """Which split may choose the decision threshold (one of :data:`SPLITS`)?"""
    task = f"On which split may the decision threshold be chosen? One of {SPLITS}."
    if answer is None:
        return Feedback.unanswered(task)
    if not isinstance(answer, str):
        raise TypeError(f"answer must be one of {SPLITS}, got {answer!r}")
    a = answer.strip().lower()
    if a in ("validation", "val"):
        return Feedback(True, "The threshold is a parameter of the model: choose it on validation, then report the "
                              "test split once at that threshold.")
    hints = {"test": "Choosing on test tunes the reported number to the test images: it is no longer an estimate "
                     "for new patients (07 §6 measures the optimism).",
             "train": "On the training images the model's scores are over-confident (it has seen them); the "
                      "threshold would not transfer to new images."}
    if a in hints:
        return Feedback(False, f"not {a}.", hint=hints[a])
    return Feedback(False, f"{answer!r} is not one of {SPLITS}.", hint="Pick one of the three split names.")

