"""Exercise checks of 07 added for issue 13 (medlab.exercises.evaluation, §2, §5, §7, §8, §9): the right answer
(from scikit-learn / statsmodels / medlab.evaluation) passes, typical wrong answers fail with their specific
hint, None is unanswered, a wrong type raises TypeError."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score
from statsmodels.stats.contingency_tables import mcnemar

from medlab.exercises import Feedback
from medlab.exercises import evaluation as X

NEW = [X.check_auc_pairs, X.check_ece, X.check_mcnemar_statistic, X.check_net_benefit, X.check_report_gaps]


@pytest.mark.parametrize("check", NEW, ids=lambda c: c.__name__)
def test_unanswered(check):
    fb = check(None)
    assert isinstance(fb, Feedback) and not fb and "no answer yet" in fb.message and "None" in fb.hint


@pytest.mark.parametrize("check", NEW[:4], ids=lambda c: c.__name__)
def test_numeric_checks_refuse_a_non_number_and_never_raise_on_a_wrong_number(check):
    with pytest.raises(TypeError, match="must be a number"):
        check("0.5")
    for wrong in (-3.0, 0.0, 0.5, 1.0, 1e6):
        fb = check(wrong)
        assert isinstance(fb, Feedback) and fb.message


def test_auc_pairs():
    t = X.ROC_TASK
    y = np.r_[np.ones(len(t["pos"])), np.zeros(len(t["neg"]))]
    s = np.r_[t["pos"], t["neg"]]
    right = roc_auc_score(y, s)
    pos, neg = np.array(t["pos"]), np.array(t["neg"])
    by_pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert by_pairs == pytest.approx(right)
    assert X.check_auc_pairs(right) and X.check_auc_pairs(round(right, 3))
    n = pos.size * neg.size
    wins, ties = (pos[:, None] > neg[None, :]).sum(), (pos[:, None] == neg[None, :]).sum()
    assert ties >= 1                                   # the task is about the half-count of a tie
    assert "tie as 0" in X.check_auc_pairs(wins / n).hint
    assert "tie as a win" in X.check_auc_pairs((wins + ties) / n).hint
    assert "1 − AUC" in X.check_auc_pairs(1 - right).hint
    acc = np.mean((s >= 0.5) == (y == 1))
    assert "accuracy" in X.check_auc_pairs(acc).hint
    assert not X.check_auc_pairs(0.99)


def test_ece():
    t = X.CALIBRATION_TASK
    y, p = np.array(t["y"]), np.array(t["prob"])
    frac, mean_p = calibration_curve(y, p, n_bins=t["bins"], strategy="uniform")     # scikit-learn's bins
    counts = np.histogram(p, bins=np.linspace(0, 1, t["bins"] + 1))[0]
    right = float(np.sum(counts * np.abs(frac - mean_p)) / len(y))
    assert X.check_ece(right)
    assert "weight each gap" in X.check_ece(np.mean(np.abs(frac - mean_p))).hint
    assert "absolute value" in X.check_ece(np.sum(counts * (frac - mean_p)) / len(y)).hint
    assert "Brier" in X.check_ece(np.mean((p - y) ** 2)).hint
    assert "10 bins" in X.check_ece(X.E.expected_calibration_error(y, p, 10)).hint
    assert not X.check_ece(0.9)


def test_mcnemar_statistic():
    table = np.array(X.MCNEMAR_TASK["table"])
    ref = mcnemar(table, exact=False, correction=True)
    assert X.check_mcnemar_statistic(ref.statistic)
    b, c = table[0, 1], table[1, 0]
    assert ref.statistic == pytest.approx((abs(b - c) - 1) ** 2 / (b + c))
    assert "continuity correction" in X.check_mcnemar_statistic((b - c) ** 2 / (b + c)).hint
    assert "p-value" in X.check_mcnemar_statistic(ref.pvalue).hint
    assert "b + c only" in X.check_mcnemar_statistic((abs(b - c) - 1) ** 2 / table.sum()).hint
    assert "off-diagonal" in X.check_mcnemar_statistic(
        (abs(table[0, 0] - table[1, 1]) - 1) ** 2 / (table[0, 0] + table[1, 1])).hint
    assert not X.check_mcnemar_statistic(1.0)


def test_net_benefit_matches_the_formula_and_the_core():
    t = X.DCA_TASK
    pt, n = t["threshold"], t["n"]
    right = t["tp"] / n - t["fp"] / n * pt / (1 - pt)
    y, prob = X._dca_arrays()
    assert int(((prob >= pt) & (y == 1)).sum()) == t["tp"] and int(((prob >= pt) & (y == 0)).sum()) == t["fp"]
    assert X.check_net_benefit(right)
    assert "not by p_t" in X.check_net_benefit(t["tp"] / n - t["fp"] / n * pt).hint
    assert "unnecessary" in X.check_net_benefit(t["tp"] / n - t["fp"] / n * (1 - pt) / pt).hint
    assert "charged" in X.check_net_benefit(t["tp"] / n).hint
    pi = t["n_ill"] / n
    assert "treating everybody" in X.check_net_benefit(pi - (1 - pi) * pt / (1 - pt)).hint
    assert not X.check_net_benefit(0.3)


def test_report_gaps():
    t = X.REPORT_TASK
    for key, phrase in t["stated"].items():              # every "stated" item is really in the abstract
        assert key in t["items"] and phrase in t["abstract"]
    right = set(t["items"]) - set(t["stated"])
    assert len(right) >= 3
    assert X.check_report_gaps(right) and X.check_report_gaps(sorted(right))
    fb = X.check_report_gaps(right | {"test_counts"})
    assert not fb and "390 pneumonia" in fb.hint
    fb = X.check_report_gaps({"threshold_rule"})
    assert not fb and "more missing" in fb.message
    assert not X.check_report_gaps(right - {"patient_split"}) and \
        "Held-out" in X.check_report_gaps(right - {"patient_split"}).hint
    assert "not item names" in X.check_report_gaps({"ethics"}).message
    assert not X.check_report_gaps("calibration")       # one name is read as a set of one
    with pytest.raises(TypeError, match="set of item names"):
        X.check_report_gaps(3)
    with pytest.raises(TypeError, match="set of item names"):
        X.check_report_gaps({1, 2})
