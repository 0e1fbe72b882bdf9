"""Exercise checks of 03 (medlab.exercises.network): right → True, typical wrong answers → False with a
specific hint, None → unanswered."""
from __future__ import annotations

import numpy as np
import pytest

from medlab import ops
from medlab.exercises import network as ex


@pytest.mark.parametrize("check", [ex.check_maxpool_output, ex.check_flatten_size, ex.check_seed_model_params,
                                   ex.check_receptive_field])
def test_unanswered(check):
    fb = check(None)
    assert not fb and "no answer yet" in fb.message and "None" in fb.hint


def test_maxpool_output():
    right = [[6, 5], [7, 9]]
    assert np.array_equal(ops.pool2d(ex.MAXPOOL_INPUT), np.array(right, float))
    assert ex.check_maxpool_output(right)
    fb = ex.check_maxpool_output(ops.pool2d(ex.MAXPOOL_INPUT, mode="avg"))
    assert not fb and "average" in fb.hint
    fb = ex.check_maxpool_output([[6, 5], [7, 8]])
    assert not fb and "1 of 4" in fb.hint
    fb = ex.check_maxpool_output([6, 5, 7, 9])
    assert not fb and "2x2 output" in fb.hint


def test_seed_model_checks_agree_with_keras():
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    model = keras.Sequential([keras.Input(ex.SEED_MODEL_INPUT), keras.layers.Conv2D(32, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Conv2D(64, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    assert ex.check_seed_model_params(model.count_params())
    assert ex.check_flatten_size(model.layers[4].output.shape[-1])
    assert "bias" in ex.check_seed_model_params(model.count_params() - 97).hint
    assert "Dense" in ex.check_seed_model_params(320 + 18496).hint
    assert "rounds *down*" in ex.check_flatten_size(63 * 63 * 64).hint
    assert "64 filters" in ex.check_flatten_size(62 * 62).hint
    assert ex.check_receptive_field(10)
    assert "jump" in ex.check_receptive_field(7).hint
    assert "addition" in ex.check_receptive_field(36).hint


def test_pooled_conv_macs():
    t = ex.POOLED_CONV_TASK
    n, k, ci, co = t["n"], t["k"], t["c_in"], t["c_out"]
    out = ops.output_size(n, k)
    right = out * out * k * k * ci * co
    # the reference: the im2col matrix product has exactly these multiply-adds (rows · columns · C_out)
    rows, cols = ops.im2col(np.zeros((n, n, ci), np.float32), k).shape
    assert rows * cols * co == right
    assert ex.check_pooled_conv_macs(right)
    assert "positions per axis" in ex.check_pooled_conv_macs(n * n * k * k * ci * co).hint
    assert "C_in" in ex.check_pooled_conv_macs(out * out * k * k * co).hint
    assert not ex.check_pooled_conv_macs(None)
    with pytest.raises(TypeError, match="whole number"):
        ex.check_pooled_conv_macs("many")


def test_flatten_index():
    import keras
    (h, w, c), (r, col, ch) = ex.FLATTEN_TASK["shape"], ex.FLATTEN_TASK["position"]
    x = np.zeros((1, h, w, c), np.float32)
    x[0, r, col, ch] = 1.0
    right = int(np.flatnonzero(np.asarray(keras.layers.Flatten()(x))[0])[0])   # the reference: Keras Flatten
    assert ex.check_flatten_index(right)
    assert "channels-first" in ex.check_flatten_index(ch * h * w + r * w + col).hint
    assert "row-major" in ex.check_flatten_index((col * h + r) * c + ch).hint
    assert "start at 0" in ex.check_flatten_index(right + 1).hint
    assert "multiply the pixel index" in ex.check_flatten_index(r * w + col).hint
    assert not ex.check_flatten_index(None)
