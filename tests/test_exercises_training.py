"""The exercise checks of 06_training_cnn: right -> True, typical mistakes -> False with a specific hint,
None -> unanswered, nonsense type -> TypeError. Right answers are compared with Keras / TensorFlow /
scikit-learn / statsmodels, not with stored numbers."""
from __future__ import annotations

import numpy as np
import pytest

from medlab import training as T
from medlab.datasets import load_pneumoniamnist
from medlab.exercises import training as ex


def _wrong(fb, hint_part):
    assert not fb and hint_part in fb.hint, (str(fb), hint_part)


@pytest.fixture(scope="module")
def test_split():
    """The test labels and a fixed, seeded score vector (a stand-in for the notebook's 2-epoch model)."""
    _, yt = load_pneumoniamnist("test")
    rng = np.random.default_rng(0)
    prob = np.clip(0.35 * yt + rng.uniform(0, 0.65, len(yt)), 0, 1)
    return yt, prob


SIMPLE = [ex.check_bce, ex.check_lr_limit, ex.check_kernel_gradient, ex.check_adam_first_step,
          ex.check_class_weight, ex.check_always_pneumonia, ex.check_dense_head_params, ex.check_finetune_params]


@pytest.mark.parametrize("check", SIMPLE, ids=lambda c: c.__name__)
def test_unanswered(check):
    fb = check(None)
    assert not fb and "no answer yet" in fb.message and "None" in fb.hint


@pytest.mark.parametrize("check", [c for c in SIMPLE if c is not ex.check_kernel_gradient], ids=lambda c: c.__name__)
def test_a_string_is_not_judged(check):
    with pytest.raises(TypeError, match="answer must be a number"):
        check("0.5")


def test_bce():
    import keras

    y, p = ex.BCE_TASK["y"], ex.BCE_TASK["p"]
    right = float(keras.losses.BinaryCrossentropy()(np.array(y, float), np.array(p, float)))
    assert ex.check_bce(right)
    ya, pa = np.array(y, float), np.array(p, float)
    terms = -(ya * np.log(pa) + (1 - ya) * np.log(1 - pa))
    _wrong(ex.check_bce(terms.sum()), "the sum")
    _wrong(ex.check_bce(-np.mean(np.log(pa))), "ln(1 - p)")
    _wrong(ex.check_bce(-right), "sign")
    _wrong(ex.check_bce(np.mean(-(ya * np.log10(pa) + (1 - ya) * np.log10(1 - pa)))), "log10")


def test_lr_limit():
    scale = ex.LR_TASK["scale"]
    right = 2 / (10 * scale)
    assert ex.check_lr_limit(right)
    _wrong(ex.check_lr_limit(0.2), "old limit")
    _wrong(ex.check_lr_limit(0.2 * scale), "smaller")
    _wrong(ex.check_lr_limit(right / 2), "twice")
    _wrong(ex.check_lr_limit(0.5), "(1 - lr c)")
    # the limit is where gradient descent starts to diverge on the scaled bowl
    s = T.SURFACES["bowl"]
    scaled = T.LossSurface("scaled", lambda t: scale * s.f(t), lambda t: scale * s.grad(t), s.start, s.minimum, s.box)
    assert np.isfinite(T.optimize(scaled, "sgd", 0.99 * right, 2000)[-1]).all()
    assert not np.isfinite(T.optimize(scaled, "sgd", 1.01 * right, 2000)[-1]).all()
    # and the unscaled bowl's limit is the 0.2 the stepper widget prints
    assert ex._largest_curvature(s) == pytest.approx(10.0)


def test_kernel_gradient():
    import tensorflow as tf

    x, w = ex.KERNEL_GRAD_TASK["x"], ex.KERNEL_GRAD_TASK["w"]
    wt = tf.Variable(w[:, :, None, None])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.nn.conv2d(x[None, :, :, None], wt, 1, "VALID"))
    right = tape.gradient(loss, wt).numpy()[:, :, 0, 0]
    assert ex.check_kernel_gradient(right) and ex.check_kernel_gradient(right.tolist())
    _wrong(ex.check_kernel_gradient(right[::-1, ::-1]), "Flipped")
    _wrong(ex.check_kernel_gradient(np.zeros((2, 2))), "Weight (m, n)")
    with pytest.raises(TypeError, match="2x2"):
        ex.check_kernel_gradient(np.zeros(3))
    with pytest.raises(TypeError, match="2x2 array of numbers"):
        ex.check_kernel_gradient("[[1, 2], [3, 4]]x")


def test_adam_first_step_matches_keras():
    import keras
    import tensorflow as tf

    lr, g = ex.ADAM_TASK["lr"], ex.ADAM_TASK["grad"]
    v = tf.Variable([0.0], dtype=tf.float64)
    keras.optimizers.Adam(lr).apply_gradients([(tf.constant([g], tf.float64), v)])
    keras_step = abs(float(v.numpy()[0]))
    assert ex.adam_first_step() == pytest.approx(keras_step, rel=1e-5)
    assert ex.check_adam_first_step(keras_step) and ex.check_adam_first_step(-keras_step)
    _wrong(ex.check_adam_first_step(lr * g), "SGD")
    _wrong(ex.check_adam_first_step(lr * 0.1), "bias correction")
    _wrong(ex.check_adam_first_step(lr * 0.1 / np.sqrt(0.001)), "bias corrections")
    _wrong(ex.check_adam_first_step(0.5), "m_1 and v_1")
    # the point of the exercise: the first step does not depend on the gradient's scale
    assert ex.adam_first_step(lr, 1e-3) == pytest.approx(keras_step, rel=0.01)


def test_class_weight_matches_sklearn():
    from sklearn.utils.class_weight import compute_class_weight

    _, y = load_pneumoniamnist("train")
    w0, w1 = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    assert ex.check_class_weight(w0) and ex.check_class_weight(round(w0, 2))
    _wrong(ex.check_class_weight(w1), "pneumonia class")
    _wrong(ex.check_class_weight(np.mean(y == 0)), "inverse")
    _wrong(ex.check_class_weight(len(y) / np.sum(y == 0)), "2 N_0")
    _wrong(ex.check_class_weight(1 / np.sum(y == 0)), "Multiply by N")
    _wrong(ex.check_class_weight(1.0), "Count the normal images")


def test_always_pneumonia():
    _, yt = load_pneumoniamnist("test")
    _, ytr = load_pneumoniamnist("train")
    assert ex.check_always_pneumonia(np.mean(yt == 1)) and ex.check_always_pneumonia(100 * np.mean(yt == 1))
    _wrong(ex.check_always_pneumonia(np.mean(ytr == 1)), "training")
    _wrong(ex.check_always_pneumonia(0.5), "Count the pneumonia labels")


def test_dense_head_params_matches_keras():
    n = ex.DENSE_TASK["size"]
    assert n != 256                                   # 06 §6's text gives the 256x256 count
    model = T.seed_cnn((n, n, 1))
    right = model.get_layer("dense").count_params()
    assert right == 186625
    assert ex.check_dense_head_params(right)
    _wrong(ex.check_dense_head_params(right - 1), "bias")
    _wrong(ex.check_dense_head_params(55 * 55 * 64 + 1), "floors")
    _wrong(ex.check_dense_head_params(56 * 56 * 64 + 1), "shrinks each side by 2")
    _wrong(ex.check_dense_head_params(54 * 54 * 32 + 1), "64 filters")
    _wrong(ex.check_dense_head_params(264833), "256x256 model")
    _wrong(ex.check_dense_head_params(1000), "Follow the size")


def test_accuracy_se(test_split):
    from statsmodels.stats.proportion import proportion_confint

    yt, prob = test_split
    a = T.evaluate(yt, prob)["accuracy"]
    k, n = int(round(a * len(yt))), len(yt)
    lo, hi = proportion_confint(k, n, alpha=0.05, method="normal")
    se = (hi - lo) / 2 / 1.959963984540054            # statsmodels' normal interval is ±1.96 SE
    assert ex.check_accuracy_se(se, yt, prob)
    _wrong(ex.check_accuracy_se(se ** 2, yt, prob), "variance")
    _wrong(ex.check_accuracy_se(1.96 * se, yt, prob), "half-width")
    _wrong(ex.check_accuracy_se(100 * se, yt, prob), "percent")
    _wrong(ex.check_accuracy_se(np.sqrt(a * (1 - a) / 4708), yt, prob), "test")
    _wrong(ex.check_accuracy_se(np.sqrt(a * (1 - a)) / n, yt, prob), "square root covers")
    _wrong(ex.check_accuracy_se(0.5, yt, prob), "sqrt(a (1 - a) / n)")
    assert not ex.check_accuracy_se(None, yt, prob)
    with pytest.raises(TypeError, match="answer must be a number"):
        ex.check_accuracy_se("small", yt, prob)
    with pytest.raises(ValueError, match="same non-empty length"):
        ex.check_accuracy_se(se, yt, prob[:-1])


def test_finetune_params_matches_keras():
    c = ex.finetune_param_counts()
    src = T.medlab_cnn(seed=0)
    # the trainable count is every weight except BatchNorm's moving statistics (2 per channel, 16 + 32 + 64)
    assert c["total"] == src.count_params() == 23697
    assert c["non_trainable"] == 2 * (16 + 32 + 64)
    assert c["frozen_trainable"] == 65
    right = c["finetune_trainable"]
    assert right == c["total"] - c["non_trainable"]
    assert ex.check_finetune_params(right)
    _wrong(ex.check_finetune_params(c["total"]), "moving mean")
    _wrong(ex.check_finetune_params(65), "phase 1")
    _wrong(ex.check_finetune_params(right - 65), "head keeps training")
    _wrong(ex.check_finetune_params(c["total"] - 65), "moving statistics")
    _wrong(ex.check_finetune_params(12345), "trainable=True")
