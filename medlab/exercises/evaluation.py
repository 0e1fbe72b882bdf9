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

__all__ = ["COUNTS", "SCREENING", "SMALL_SAMPLE", "SPLITS", "ROC_TASK", "CALIBRATION_TASK", "MCNEMAR_TASK",
           "DCA_TASK", "REPORT_TASK", "check_f1", "check_ppv_screening", "check_sensitivity_interval",
           "check_threshold_split", "check_auc_pairs", "check_ece", "check_mcnemar_statistic", "check_net_benefit",
           "check_report_gaps"]

#: Test-set counts of a classifier (positive = pneumonia).
COUNTS = dict(tp=372, fp=61, tn=173, fn=18)

#: A model with this sensitivity and specificity is used to screen a population with this prevalence.
SCREENING = dict(sensitivity=0.95, specificity=0.85, prevalence=0.02)

#: A sensitivity measured on few positives (BreastMNIST has 42 malignant test images).
SMALL_SAMPLE = dict(k=36, n=42, level=0.95)

#: Where may the decision threshold be chosen?
SPLITS = ("train", "validation", "test")

#: 07 §2: the scores of four pneumonia (positive) and five normal (negative) images; one tie across classes.
ROC_TASK = dict(pos=(0.9, 0.8, 0.55, 0.4), neg=(0.7, 0.55, 0.3, 0.2, 0.1))

#: 07 §5: twelve predicted probabilities, their true labels, and the number of equal-width bins for the ECE.
CALIBRATION_TASK = dict(prob=(0.05, 0.15, 0.3, 0.45, 0.55, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95),
                        y=(0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1), bins=2)

#: 07 §7: the paired correct/incorrect table of two models on the same 624 images:
#: rows CNN right / wrong, columns SVM right / wrong.
MCNEMAR_TASK = dict(table=((520, 31), (15, 58)))

#: 07 §8: 1,000 patients, 100 of them ill; treating when the model's probability is >= 0.2 treats these.
DCA_TASK = dict(n=1000, n_ill=100, tp=80, fp=150, threshold=0.2)

#: 07 §9: an abstract, the reporting items a reader needs (STARD 2015 / CLAIM), and, for the items the abstract
#: does state, the words that state it. The right answer is derived from this table.
REPORT_TASK = dict(
    abstract=("We trained a CNN on 5,232 paediatric chest X-rays labelled by two radiologists and tested it on "
              "624 held-out images (390 pneumonia, 234 normal). At a threshold of 0.5 it reached 92.6 % accuracy, "
              "95.1 % sensitivity and 88.5 % specificity; ROC AUC 0.96 (95 % CI 0.94-0.97)."),
    items={"test_counts": "the number of test images in each class (hence the prevalence)",
           "reference_standard": "how the labels (the reference standard) were obtained",
           "auc_interval": "a confidence interval for the ROC AUC",
           "sensitivity_interval": "confidence intervals for the sensitivity and specificity",
           "threshold_rule": "on which split and by which rule the decision threshold was chosen",
           "patient_split": "whether training and test images come from different patients",
           "calibration": "whether the predicted probabilities are calibrated"},
    stated={"test_counts": "390 pneumonia, 234 normal",
            "reference_standard": "labelled by two radiologists",
            "auc_interval": "95 % CI 0.94-0.97"},
)

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



def _scores_labels(pos: Any, neg: Any) -> tuple[Any, Any]:
    import numpy as np
    return np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[np.asarray(pos, float), np.asarray(neg, float)]


def check_auc_pairs(answer: Any) -> Feedback:
    """07 §2: the ROC AUC of :data:`ROC_TASK` as the fraction of correctly ranked (positive, negative) pairs,
    ties counting one half. The right answer is scikit-learn's ``roc_auc_score``."""
    from sklearn.metrics import roc_auc_score

    t = ROC_TASK
    task = ("Count the (pneumonia, normal) pairs of ROC_TASK in which the pneumonia image scores higher (a tie "
            "counts one half) and divide by the number of pairs: the ROC AUC, a number in [0, 1].")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    y, s = _scores_labels(t["pos"], t["neg"])
    right = float(roc_auc_score(y, s))
    n_pairs = len(t["pos"]) * len(t["neg"])
    wins = sum(p > q for p in t["pos"] for q in t["neg"])
    ties = sum(p == q for p in t["pos"] for q in t["neg"])
    if _close(a, right):
        return Feedback(True, f"({wins} + ½·{ties}) / {n_pairs} = {right:.3f} = sklearn.metrics.roc_auc_score. "
                              f"No threshold was needed: the AUC only looks at the ranking.")
    m = E.metrics(y, s, 0.5)
    mistakes = [
        (wins / n_pairs, "You counted the tie as 0: a tie is a coin flip and counts one half."),
        ((wins + ties) / n_pairs, "You counted the tie as a win: a tie counts one half."),
        (1 - right, "That is 1 − AUC: count the pairs where the *pneumonia* image scores higher."),
        (m["accuracy"], "That is the accuracy at threshold 0.5; the AUC compares every pneumonia image with every "
                        "normal one, with no threshold."),
        (wins, "That is the number of correctly ranked pairs; divide by the number of pairs."),
    ]
    for value, hint in mistakes:
        if _close(a, value):
            return Feedback(False, f"{a:.4f} is not the AUC.", hint=hint)
    return Feedback(False, f"{a:.4f} is not the AUC.",
                    hint=f"There are {len(t['pos'])} × {len(t['neg'])} = {n_pairs} pairs; for each pneumonia "
                         f"score count the normal scores below it.")


def check_ece(answer: Any) -> Feedback:
    """07 §5: the expected calibration error of :data:`CALIBRATION_TASK` with its equal-width bins, computed by
    :func:`medlab.evaluation.expected_calibration_error` (bins as in scikit-learn's ``calibration_curve``)."""
    import numpy as np

    t = CALIBRATION_TASK
    task = (f"Split CALIBRATION_TASK's predictions into {t['bins']} equal-width bins of [0, 1]; in each bin compare "
            f"the fraction of positives with the mean prediction; weight each gap by the bin's share of the "
            f"predictions and add up: the ECE.")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    y, p = np.asarray(t["y"]), np.asarray(t["prob"], float)
    right = E.expected_calibration_error(y, p, t["bins"])
    cc = E.calibration_curve(y, p, t["bins"])
    gaps = cc.prob_true - cc.prob_pred
    if _close(a, right):
        parts = " + ".join(f"{n}/{len(y)}·{abs(g):.4f}" for n, g in zip(cc.counts, gaps))
        return Feedback(True, f"ECE = {parts} = {right:.4f}. With 10 bins the same predictions give "
                              f"{E.expected_calibration_error(y, p, 10):.4f}: always say how many bins.")
    mistakes = [
        (float(np.mean(np.abs(gaps))), "You averaged the bins' gaps equally; weight each gap by n_b / N (the bins "
                                        "hold different numbers of predictions)."),
        (float(np.sum(cc.counts * gaps) / len(y)), "Take the absolute value of each bin's gap before adding: "
                                                   "over- and under-confidence must not cancel."),
        (float(np.mean((p - y) ** 2)), "That is the Brier score (the mean squared error), not the ECE."),
        (float(np.mean(np.abs(p - y))), "That compares each prediction with its own 0/1 label; the ECE compares "
                                        "averages within bins."),
        (float(abs(p.mean() - y.mean())), "That is the gap of one bin holding everything; use "
                                          f"{t['bins']} bins."),
        (E.expected_calibration_error(y, p, 10), "That is the ECE with 10 bins; the task asks for "
                                                 f"{t['bins']}."),
    ]
    for value, hint in mistakes:
        if _close(a, value):
            return Feedback(False, f"{a:.4f} is not the ECE.", hint=hint)
    return Feedback(False, f"{a:.4f} is not the ECE.",
                    hint=f"The {t['bins']} bins are [0, 0.5) and [0.5, 1]; for each bin compute the fraction of "
                         f"label 1 and the mean probability.")


def check_mcnemar_statistic(answer: Any) -> Feedback:
    """07 §7: McNemar's χ² statistic with continuity correction for :data:`MCNEMAR_TASK`; the right answer is
    statsmodels' ``mcnemar(table, exact=False, correction=True).statistic``."""
    import numpy as np
    from statsmodels.stats.contingency_tables import mcnemar

    table = np.asarray(MCNEMAR_TASK["table"])
    task = ("From MCNEMAR_TASK['table'] (rows CNN right / wrong, columns SVM right / wrong) compute McNemar's "
            "χ² statistic with continuity correction, (|b − c| − 1)² / (b + c).")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    ref = mcnemar(table, exact=False, correction=True)
    right = float(ref.statistic)
    (n11, b), (c, n22) = table.tolist()
    if _close(a, right):
        exact = mcnemar(table, exact=True)
        return Feedback(True, f"(|{b} − {c}| − 1)² / ({b} + {c}) = {right:.3f}, p = {ref.pvalue:.4f} (exact test: "
                              f"p = {exact.pvalue:.4f}). The {n11 + n22} images both models got right or both got "
                              f"wrong say nothing about which model is better.")
    mistakes = [
        ((b - c) ** 2 / (b + c), "Apply the continuity correction: subtract 1 from |b − c| before squaring."),
        (float(ref.pvalue), "That is the p-value; the task asks for the statistic."),
        ((abs(b - c) - 1) ** 2 / table.sum(), "Divide by the discordant images b + c only, not by all images."),
        ((b - c) ** 2 / table.sum(), "Only the discordant images count, and the statistic divides by b + c."),
        ((abs(n11 - n22) - 1) ** 2 / (n11 + n22), "b and c are the discordant cells (one model right, the other "
                                                   "wrong): the off-diagonal of the table."),
    ]
    for value, hint in mistakes:
        if _close(a, value):
            return Feedback(False, f"{a:.4f} is not McNemar's statistic.", hint=hint)
    return Feedback(False, f"{a:.4f} is not McNemar's statistic.",
                    hint="b = CNN right and SVM wrong, c = CNN wrong and SVM right; χ² = (|b − c| − 1)² / (b + c).")


def _dca_arrays() -> tuple[Any, Any]:
    """Labels and 0/1 'probabilities' that reproduce :data:`DCA_TASK`'s counts at its threshold."""
    import numpy as np
    t = DCA_TASK
    n_healthy = t["n"] - t["n_ill"]
    y = np.r_[np.ones(t["n_ill"]), np.zeros(n_healthy)]
    treated = np.r_[np.arange(t["n_ill"]) < t["tp"], np.arange(n_healthy) < t["fp"]]
    return y, treated.astype(float)


def check_net_benefit(answer: Any) -> Feedback:
    """07 §8: the net benefit of treating as in :data:`DCA_TASK`, from :func:`medlab.evaluation.net_benefit`."""
    t = DCA_TASK
    task = (f"Of {t['n']} patients ({t['n_ill']} ill) the model's rule treats {t['tp']} ill and {t['fp']} healthy "
            f"patients at the threshold probability p_t = {t['threshold']}. What is its net benefit?")
    if answer is None:
        return Feedback.unanswered(task)
    a = _number(answer, "answer")
    y, prob = _dca_arrays()
    nb = E.net_benefit(y, prob, [t["threshold"]])
    right, treat_all = float(nb["model"][0]), float(nb["treat_all"][0])
    pt, n = t["threshold"], t["n"]
    odds = pt / (1 - pt)
    if _close(a, right):
        return Feedback(True, f"NB = {t['tp']}/{n} − {t['fp']}/{n} · {pt}/{1 - pt:g} = {right:.4f}: like finding "
                              f"{right * n:.1f} ill patients per {n} with no false alarm. Treat all: "
                              f"{treat_all:.4f}, treat none: 0 — "
                              + ("the model beats both at this p_t." if right > max(treat_all, 0.0) else
                                 "at this p_t the model does not beat both references."))
    mistakes = [
        (t["tp"] / n - t["fp"] / n * pt, "Weight the false positives by the odds p_t / (1 − p_t), not by p_t."),
        (t["tp"] / n - t["fp"] / n * (1 - pt) / pt,
         f"The odds are p_t / (1 − p_t) = {odds:.3g}: a missed case costs as much as {1 / odds:.3g} unnecessary "
         f"treatments, so each false positive counts {odds:.3g}, not {1 / odds:.3g}."),
        (t["tp"] / n, "The false positives are charged too: subtract FP/N · p_t / (1 − p_t)."),
        ((t["tp"] - t["fp"]) / n, "False positives count at the odds p_t / (1 − p_t), not one for one."),
        (treat_all, "That is the net benefit of treating everybody; the task asks for the model's rule."),
        (t["tp"] / t["n_ill"] - t["fp"] / (n - t["n_ill"]) * odds, "Divide both counts by all N patients, not by "
                                                                  "the ill and the healthy separately."),
    ]
    for value, hint in mistakes:
        if _close(a, value):
            return Feedback(False, f"{a:.4f} is not the net benefit.", hint=hint)
    return Feedback(False, f"{a:.4f} is not the net benefit.", hint="NB(p_t) = TP/N − FP/N · p_t / (1 − p_t).")


def check_report_gaps(answer: Any) -> Feedback:
    """07 §9: which of :data:`REPORT_TASK`'s items the abstract leaves out (a set of item keys). The right answer
    is the items without a stating phrase in ``REPORT_TASK["stated"]``."""
    t = REPORT_TASK
    items, stated = t["items"], t["stated"]
    task = f"Name the REPORT_TASK['items'] keys the abstract does not state, as a set of strings, e.g. {{'key_a', 'key_b'}}."
    if answer is None:
        return Feedback.unanswered(task)
    if isinstance(answer, str):
        answer = {answer}
    if not isinstance(answer, (set, frozenset, list, tuple)) or not all(isinstance(k, str) for k in answer):
        raise TypeError(f"answer must be a set of item names (str), got {answer!r}")
    given = {k.strip() for k in answer}
    unknown = sorted(given - set(items))
    if unknown:
        return Feedback(False, f"{unknown} are not item names.", hint=f"Use the keys of REPORT_TASK['items']: "
                                                                     f"{sorted(items)}.")
    right = set(items) - set(stated)
    if given == right:
        return Feedback(True, f"the abstract leaves out {len(right)} of {len(items)} items: "
                              + "; ".join(items[k] for k in sorted(right)) + ". Without them a reader cannot "
                              "tell whether 95.1 % sensitivity would hold for new patients.")
    extra = sorted(given & set(stated))
    if extra:
        k = extra[0]
        return Feedback(False, f"the abstract does state {k}.", hint=f"Read again: “{stated[k]}”.")
    missing = sorted(right - given)
    hints = {"sensitivity_interval": "Which of the reported numbers come with an interval, and which without?",
             "threshold_rule": "The abstract names a threshold; does it say where that threshold came from?",
             "patient_split": "“Held-out images”: held out how? Can one child have images in both sets?",
             "calibration": "A model with probabilities: does the abstract say whether 0.9 means 90 %?"}
    return Feedback(False, f"{len(given)} found, {len(missing)} more missing.",
                    hint=hints.get(missing[0], f"Look again at: {items[missing[0]]}."))
