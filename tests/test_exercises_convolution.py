"""Exercise checks of 02 (medlab.exercises.convolution): right → True, typical wrong answers → False with a
specific hint, None → unanswered."""
from __future__ import annotations

import numpy as np
import pytest

from medlab import ops
from medlab.exercises import convolution as ex


@pytest.mark.parametrize("check", [ex.check_output_size, ex.check_dense_params, ex.check_horizontal_edge_kernel,
                                   ex.check_one_output_pixel, ex.check_flipped_kernel, ex.check_multichannel_params,
                                   ex.check_im2col_shape, ex.check_naive_steps])
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
    t = ex.DENSE_TASK
    n_in, u = t["height"] * t["width"], t["units"]
    assert ex.check_dense_params(n_in * u + u)
    assert "bias" in ex.check_dense_params(n_in * u).hint
    assert "multiply" in ex.check_dense_params(n_in + u).hint
    assert not ex.check_dense_params(7)
    # 02 §1 prints the 256x256 -> 32 example and its widget starts there: the exercise must ask another layer
    assert not ex.check_dense_params(ops.dense_params(256 * 256, 32))


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


def test_one_output_pixel():
    x, w = np.array(ex.STEP_TASK["patch"], float), np.array(ex.STEP_TASK["kernel"], float)
    right = float(ops.conv2d(x, w)[0, 0])
    assert ex.check_one_output_pixel(right) and ex.check_one_output_pixel([[right]])
    assert "flipped" in ex.check_one_output_pixel(float(ops.convolve2d_true(x, w)[0, 0])).hint
    assert "added the patch" in ex.check_one_output_pixel(float(x.sum())).hint
    assert "signs" in ex.check_one_output_pixel(float(np.abs(w * x).sum())).hint
    assert "add up all nine" in ex.check_one_output_pixel((w * x).tolist()).hint
    assert not ex.check_one_output_pixel(float("nan"))
    with pytest.raises(TypeError, match="numbers"):
        ex.check_one_output_pixel("six")


def test_flipped_kernel():
    w = np.array(ex.FLIP_TASK["kernel"], float)
    assert ex.check_flipped_kernel(w[::-1, ::-1]) and ex.check_flipped_kernel(np.rot90(w, 2).tolist())
    assert "itself" in ex.check_flipped_kernel(w).hint
    assert "transpose" in ex.check_flipped_kernel(w.T).hint
    assert "only one axis" in ex.check_flipped_kernel(w[::-1]).hint
    assert "only one axis" in ex.check_flipped_kernel(w[:, ::-1]).hint
    assert "3x3" in ex.check_flipped_kernel([1, 2]).hint
    with pytest.raises(TypeError):
        ex.check_flipped_kernel([["a"] * 3] * 3)


def test_multichannel_params():
    t = ex.MULTICHANNEL_TASK
    k, ci, co = t["k"], t["c_in"], t["c_out"]
    assert ex.check_multichannel_params(ops.conv_params(k, k, ci, co))
    import keras
    layer = keras.layers.Conv2D(co, k)
    layer.build((None, 32, 32, ci))
    assert ex.check_multichannel_params(layer.count_params())          # the reference: Keras
    assert "bias" in ex.check_multichannel_params(k * k * ci * co).hint
    assert "input channels: it has" in ex.check_multichannel_params(k * k * co + co).hint
    assert "output" in ex.check_multichannel_params(k * k * ci * co + ci).hint
    assert not ex.check_multichannel_params(1)


def test_im2col_shape():
    t = ex.IM2COL_TASK
    x = np.zeros((t["height"], t["width"], t["channels"]))
    right = ops.im2col(x, t["k"]).shape
    assert ex.check_im2col_shape(right) and ex.check_im2col_shape(list(right))
    assert "swapped" in ex.check_im2col_shape(right[::-1]).hint
    assert "shrinks" in ex.check_im2col_shape((t["height"] * t["width"], right[1])).hint
    assert "all channels" in ex.check_im2col_shape((right[0], t["k"] ** 2)).hint
    assert "pair" in ex.check_im2col_shape(5).hint
    with pytest.raises(TypeError, match="whole number"):
        ex.check_im2col_shape(("a", "b"))


def test_naive_steps():
    n, k = ex.NAIVE_TASK["n"], ex.NAIVE_TASK["k"]
    out = ops.output_size(n, k)
    assert ex.check_naive_steps(out * out * k * k)
    assert "positions" in ex.check_naive_steps(n * n * k * k).hint
    assert "k·k multiply-adds" in ex.check_naive_steps(out * out).hint
    assert "k·k taps" in ex.check_naive_steps(out * out * k).hint
    with pytest.raises(TypeError, match="whole number"):
        ex.check_naive_steps("lots")


@pytest.mark.parametrize("check", [ex.check_output_size, ex.check_dense_params, ex.check_multichannel_params,
                                   ex.check_naive_steps])
def test_huge_or_odd_numbers_give_feedback_not_a_crash(check):
    from fractions import Fraction
    for value in (10**400, -10**400, float("inf"), float("nan"), Fraction(10**400, 3), np.int64(2**62)):
        fb = check(value)
        assert not fb and fb.hint, (value, fb)


def test_array_answers_with_huge_numbers_give_feedback():
    from medlab.exercises import network as exn
    big = 10**400
    assert not ex.check_one_output_pixel(big) and not ex.check_one_output_pixel([[big]])
    assert not ex.check_flipped_kernel([[big] * 3] * 3)
    assert not ex.check_flipped_kernel([[float("nan")] * 3] * 3)
    assert not ex.check_horizontal_edge_kernel([[big] * 3] * 3)
    assert not exn.check_maxpool_output([[big, 1], [1, 1]])
