"""Exercise checks of 08 added for issue 13 (medlab.exercises.explain, §1, §2, §6, §8, §9, §10): the right
answer (from tf.GradientTape / scikit-learn / medlab.explain / a simulation) passes, typical wrong answers fail
with their specific hint, None is unanswered, a wrong type raises TypeError."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, auc, confusion_matrix

from medlab import explain as ex
from medlab.exercises import Feedback
from medlab.exercises import explain as E

Y = np.r_[np.ones(10), np.zeros(6)].astype(int)
P = np.r_[np.linspace(0.2, 0.9, 10), [0.1, 0.2, 0.32, 0.35, 0.45, 0.55]]


def _checks():
    return [E.check_probability_gradient, E.check_smoothgrad_samples, lambda a: E.check_outcome_shift(a, Y, P),
            E.check_deletion_auc, lambda a: E.check_marker_only_accuracy(a, Y), E.check_share_inside]


@pytest.mark.parametrize("k", range(6))
def test_unanswered_wrong_type_and_wrong_numbers(k):
    check = _checks()[k]
    fb = check(None)
    assert isinstance(fb, Feedback) and not fb and "no answer yet" in fb.message and "None" in fb.hint
    with pytest.raises(TypeError, match="must be a number"):
        check("1")
    for wrong in (-1.0, 0.0, 0.123, 7.0, 1e9):
        assert isinstance(check(wrong), Feedback)


def test_probability_gradient_against_gradient_tape():
    import tensorflow as tf
    t = E.SALIENCY_TASK
    p, g = t["probability"], t["logit_gradient"]
    x = tf.Variable(0.3, dtype=tf.float64)                     # a one-pixel "model": z = g·x + b, p = σ(z)
    b = float(np.log(p / (1 - p))) - g * 0.3
    with tf.GradientTape() as tape:
        prob = tf.sigmoid(g * x + b)
    right = float(tape.gradient(prob, x))
    assert float(prob) == pytest.approx(p)
    assert E.check_probability_gradient(right)
    assert "dz/dx itself" in E.check_probability_gradient(g).hint
    assert "not p." in E.check_probability_gradient(p * g).hint
    assert "not 1 − p" in E.check_probability_gradient((1 - p) * g).hint
    assert "alone" in E.check_probability_gradient(p * (1 - p)).hint
    assert "other way round" in E.check_probability_gradient(g / (p * (1 - p))).hint


def test_smoothgrad_samples_against_a_simulation():
    t = E.SMOOTHGRAD_TASK
    n, k = t["n"], t["shrink"]
    rng = np.random.default_rng(0)
    sd = lambda m: rng.standard_normal((4000, m)).mean(axis=1).std()       # noise of a mean of m draws
    assert sd(n) / sd(n * k ** 2) == pytest.approx(k, rel=0.08)
    assert E.check_smoothgrad_samples(n * k ** 2)
    assert "not by n" in E.check_smoothgrad_samples(n * k).hint
    assert "fewer increase" in E.check_smoothgrad_samples(n / k).hint
    assert not E.check_smoothgrad_samples(n * k ** 2 + 1)


def test_outcome_shift_against_confusion_matrix():
    t = E.OUTCOME_TASK
    fn = lambda thr: confusion_matrix(Y, (P >= thr).astype(int)).ravel()[2]
    fp = lambda thr: confusion_matrix(Y, (P >= thr).astype(int)).ravel()[1]
    right = fn(t["old"]) - fn(t["new"])
    assert right == int(np.sum((Y == 1) & (P >= t["new"]) & (P < t["old"]))) and right > 0
    assert E.check_outcome_shift(right, Y, P)
    assert "TN → FP" in E.check_outcome_shift(fp(t["new"]) - fp(t["old"]), Y, P).hint
    assert "every FN" in E.check_outcome_shift(fn(t["old"]), Y, P).hint
    with pytest.raises(TypeError, match="same length"):
        E.check_outcome_shift(1, Y, P[:-1])
    with pytest.raises(TypeError, match="0/1"):
        E.check_outcome_shift(1, Y + 2, P)


def test_deletion_auc_against_sklearn_and_the_core_rule():
    t = E.DELETION_TASK
    f, q = np.array(t["fractions"]), np.array(t["probability"])
    right = auc(f, q)
    assert right == pytest.approx(np.trapezoid(q, f))                 # the rule deletion_insertion uses
    assert E.check_deletion_auc(right)
    assert "end points count half" in E.check_deletion_auc(q.mean()).hint
    assert "left Riemann" in E.check_deletion_auc(np.sum(np.diff(f) * q[:-1])).hint
    assert "step width" in E.check_deletion_auc(q.sum()).hint
    assert "above" in E.check_deletion_auc(1 - right).hint


def test_marker_only_accuracy():
    right = accuracy_score(Y, np.zeros_like(Y))
    assert E.check_marker_only_accuracy(right, Y)
    assert "pneumonia" in E.check_marker_only_accuracy(1 - right, Y).hint
    assert "chance" in E.check_marker_only_accuracy(0.5, Y).hint
    with pytest.raises(TypeError, match="0/1 labels"):
        E.check_marker_only_accuracy(0.5, [0, 3])


def test_share_inside_against_the_core():
    t = E.INSIDE_TASK
    amap, mask = np.array(t["attribution"]), np.array(t["mask"])
    r = ex.attribution_inside(amap, mask)
    assert E.check_share_inside(r["inside"])
    assert r["inside"] == pytest.approx(np.maximum(amap, 0)[mask].sum() / np.maximum(amap, 0).sum())
    assert "set them to 0" in E.check_share_inside(amap[mask].sum() / amap.sum()).hint
    assert "|map|" in E.check_share_inside(np.abs(amap)[mask].sum() / np.abs(amap).sum()).hint
    assert "evenly spread" in E.check_share_inside(r["area"]).hint
    assert "outside" in E.check_share_inside(1 - r["inside"]).hint
