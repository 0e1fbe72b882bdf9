"""ops.conv2d_backward == tf.GradientTape == finite differences (property tests), and its bad inputs."""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medlab import ops

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@st.composite
def conv_case(draw):
    n = draw(st.integers(1, 2))
    c_in = draw(st.integers(1, 3))
    c_out = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["valid", "same", 0, 1, 2, ((0, 2), (1, 0))]))
    h = draw(st.integers(dh * (kh - 1) + 1, 9))
    w = draw(st.integers(dw * (kw - 1) + 1, 9))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, h, w, c_in))
    k = rng.normal(size=(kh, kw, c_in, c_out))
    return x, k, (sh, sw), padding, (dh, dw), rng


def _tf_padding(padding):
    if isinstance(padding, str):
        return padding.upper()
    if isinstance(padding, int):
        return [[0, 0], [padding, padding], [padding, padding], [0, 0]]
    (t, b), (l, r) = padding
    return [[0, 0], [t, b], [l, r], [0, 0]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_case())
def test_backward_equals_gradient_tape(case):
    import tensorflow as tf

    x, k, stride, padding, dilation, rng = case
    y = ops.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    dy = rng.normal(size=y.shape)
    dw, dx = ops.conv2d_backward(x, k, dy, stride=stride, padding=padding, dilation=dilation)
    xt, kt = tf.Variable(x), tf.Variable(k)
    kh, kw = k.shape[:2]
    dh, dw_ = dilation
    # TF's CPU kernels cannot back-propagate dilated convolutions: dilate the kernel explicitly (zeros between
    # the taps, built with selection matrices so the tape differentiates through it) -- the same function.
    sel_h = np.zeros((dh * (kh - 1) + 1, kh)); sel_h[np.arange(kh) * dh, np.arange(kh)] = 1
    sel_w = np.zeros((dw_ * (kw - 1) + 1, kw)); sel_w[np.arange(kw) * dw_, np.arange(kw)] = 1
    with tf.GradientTape() as tape:
        kd = tf.einsum("am,bq,mqco->abco", sel_h, sel_w, kt)
        yt = tf.nn.conv2d(xt, kd, strides=[1, *stride, 1], padding=_tf_padding(padding))
        loss = tf.reduce_sum(yt * dy)
    gx, gw = tape.gradient(loss, [xt, kt])
    np.testing.assert_allclose(yt.numpy(), y, atol=1e-10)
    np.testing.assert_allclose(dw, gw.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(dx, gx.numpy(), rtol=1e-9, atol=1e-10)
    assert dw.shape == k.shape and dx.shape == x.shape


@settings(max_examples=30, deadline=None)
@given(conv_case())
def test_backward_equals_finite_differences(case):
    x, k, stride, padding, dilation, rng = case
    y = ops.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    dy = rng.normal(size=y.shape)

    def loss(xx, kk):
        return float(np.sum(ops.conv2d(xx, kk, stride=stride, padding=padding, dilation=dilation) * dy))

    dw, dx = ops.conv2d_backward(x, k, dy, stride=stride, padding=padding, dilation=dilation)
    eps = 1e-6
    for _ in range(4):                                   # random coordinates of w and of x
        i = tuple(rng.integers(0, s) for s in k.shape)
        kp, km = k.copy(), k.copy()
        kp[i] += eps
        km[i] -= eps
        assert abs((loss(x, kp) - loss(x, km)) / (2 * eps) - dw[i]) < 1e-5 * max(1.0, abs(dw[i]))
        j = tuple(rng.integers(0, s) for s in x.shape)
        xp, xm = x.copy(), x.copy()
        xp[j] += eps
        xm[j] -= eps
        assert abs((loss(xp, k) - loss(xm, k)) / (2 * eps) - dx[j]) < 1e-5 * max(1.0, abs(dx[j]))


def test_backward_2d_layouts_and_example():
    x = np.arange(16.0).reshape(4, 4)
    dw, dx = ops.conv2d_backward(x, np.ones((3, 3)), np.ones((2, 2)))
    assert dw.shape == (3, 3) and dx.shape == (4, 4)
    # dL/dw for dy = 1 is the sum of the input under each tap; dL/dx counts how often a pixel is read
    assert dw[0, 0] == x[:2, :2].sum()
    assert dx.tolist() == [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]
    # (H, W, C) input with HWIO kernel keeps the (H, W, C) layout
    dw3, dx3 = ops.conv2d_backward(np.ones((5, 5, 2)), np.ones((3, 3, 2, 4)), np.ones((3, 3, 4)))
    assert dw3.shape == (3, 3, 2, 4) and dx3.shape == (5, 5, 2)


def test_backward_float32_stays_float32():
    x = np.ones((6, 6), np.float32)
    dw, dx = ops.conv2d_backward(x, np.ones((3, 3), np.float32), np.ones((4, 4), np.float32))
    assert dw.dtype == np.float32 and dx.dtype == np.float32


def test_backward_bad_inputs():
    x, w = np.ones((5, 5)), np.ones((3, 3))
    with pytest.raises(ValueError, match="dy must have the shape"):
        ops.conv2d_backward(x, w, np.ones((2, 2)))
    with pytest.raises(ValueError, match="stride"):
        ops.conv2d_backward(x, w, np.ones((3, 3)), stride=0)
    with pytest.raises(ValueError, match="channel mismatch"):
        ops.conv2d_backward(np.ones((5, 5, 2)), np.ones((3, 3, 3, 1)), np.ones((3, 3, 1)))
    with pytest.raises(ValueError):
        ops.conv2d_backward(x, w, np.full((3, 3), np.nan))
    with pytest.raises(TypeError):
        ops.conv2d_backward(x, w, "dy")
