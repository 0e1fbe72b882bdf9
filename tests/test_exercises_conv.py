"""Exercise checks of 02/03: right → True, typical wrong answers → False with a specific hint,
None → unanswered."""
from __future__ import annotations

import numpy as np
import pytest

from medlab import ops
from medlab.exercises import conv as ex


@pytest.mark.parametrize("check", [ex.check_output_size, ex.check_dense_params, ex.check_horizontal_edge_kernel,
                                   ex.check_maxpool_output, ex.check_flatten_size, ex.check_seed_model_params,
                                   ex.check_receptive_field])
def test_unanswered(check):
    fb = check(None)
    assert not fb and "no answer yet" in fb.message and "None" in fb.hint


def test_output_size():
    assert ex.check_output_size(128)
    assert ex.check_output_size(128.0)
    for wrong, hint in [(127, "both"), (126, "left out the padding"), (127.5, "floor"), (127, "+ 1"),
                        (256, "divide by s")]:
        fb = ex.check_output_size(wrong)
        assert not fb and hint in fb.hint, (wrong, fb)
    fb = ex.check_output_size(3)
    assert not fb and "floor((n + 2p" in fb.hint
    with pytest.raises(TypeError, match="whole number"):
        ex.check_output_size("many")


def test_dense_params():
    assert ex.check_dense_params(256 * 256 * 32 + 32)
    assert "bias" in ex.check_dense_params(256 * 256 * 32).hint
    assert "multiply" in ex.check_dense_params(256 * 256 + 32).hint
    assert not ex.check_dense_params(7)


def test_horizontal_edge_kernel():
    assert ex.check_horizontal_edge_kernel(ops.KERNELS["sobel_y"])
    assert ex.check_horizontal_edge_kernel([[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    fb = ex.check_horizontal_edge_kernel(ops.KERNELS["sobel_x"])
    assert not fb and "90°" in fb.hint
    fb = ex.check_horizontal_edge_kernel(ops.KERNELS["box"])
    assert not fb and "sum to 0" in fb.hint
    fb = ex.check_horizontal_edge_kernel(ops.KERNELS["laplacian"])
    assert not fb and "vertical" in fb.message
    fb = ex.check_horizontal_edge_kernel(np.zeros((3, 3)))
    assert not fb and "top row" in fb.hint
    fb = ex.check_horizontal_edge_kernel(np.ones((2, 2)))
    assert not fb and "3x3" in fb.hint


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
