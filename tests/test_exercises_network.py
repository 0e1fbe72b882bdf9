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
