"""Bad input for ``medlab.ops`` (units 02/03), one section per class of the issue-14 probe.

Classes: memory and time bombs · silently wrong numbers · unclear errors. Each case failed before its fix
(a MemoryError, a hang of many seconds, a huge number returned, ``'<' not supported``/``dtype object``
messages, or a wrong-type value reported as ValueError). The limits are ``ops.MAX_ELEMENTS``,
``ops.MAX_MACS``, ``ops.MAX_NAIVE_STEPS`` and ``ops.MAX_LEN``; every check runs before any allocation.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from medlab import ops

NAN = float("nan")
X = np.random.default_rng(0).random((16, 16))
W = np.ones((3, 3))


def _fast(call, seconds: float = 1.0):
    """Run ``call`` (which must raise) and require it to fail within ``seconds`` (no work before the check)."""
    t = time.perf_counter()
    try:
        call()
    finally:
        assert time.perf_counter() - t < seconds, "the check ran after the work had started"


# =============================================================================================
# 1. memory and time bombs: every size/count parameter is checked before work starts
# =============================================================================================
BOMBS = [
    # the examples
    ("im2col k=101 on 512^2 (12.9 GiB)", lambda: ops.im2col(np.zeros((512, 512)), 101), "im2col elements"),
    ("conv2d padding=10**5", lambda: ops.conv2d(X, W, padding=10**5), "padded-input elements"),
    # the same class across the module
    ("im2col padding=10**5", lambda: ops.im2col(X, 3, padding=10**5), "padded-input elements"),
    ("im2col kernel 10**6", lambda: ops.im2col(X, 10**6, padding=10**6), "padded-input elements|kernel_size"),
    ("conv2d k=101 'same' on 512^2", lambda: ops.conv2d(np.zeros((512, 512)), np.ones((101, 101)), padding="same"),
     "multiply-adds"),
    ("conv2d 64 channels, k=31", lambda: ops.conv2d(np.zeros((256, 256, 64)), np.ones((31, 31, 64, 64)),
                                                     padding="same"), "multiply-adds"),
    ("conv2d_naive 2000^2, k=31", lambda: ops.conv2d_naive(np.zeros((2000, 2000)), np.ones((31, 31))),
     "loop steps"),
    ("conv2d_naive padding=10**5", lambda: ops.conv2d_naive(X, W, padding=10**5), "padded-input elements"),
    ("conv2d_backward padding=10**5", lambda: ops.conv2d_backward(X, W, np.ones((1, 1)), padding=10**5), "padded-input elements"),
    ("conv2d_backward k=101 on 512^2", lambda: ops.conv2d_backward(np.zeros((512, 512)), np.ones((101, 101)),
                                                                   np.ones((412, 412))), "multiply-adds"),
    ("correlate2d full 4000^2, k=301", lambda: ops.correlate2d(np.zeros((4000, 4000)), np.ones((301, 301)), "full"),
     "padded-input elements|multiply-adds"),
    ("convolve2d_true same 2000^2, k=201", lambda: ops.convolve2d_true(np.zeros((2000, 2000)), np.ones((201, 201)),
                                                                       "same"), "multiply-adds"),
    ("pool2d 4000^2, size 1000, stride 1", lambda: ops.pool2d(np.zeros((4000, 4000)), 1000, 1, padding="same"),
     "pooling steps"),
    ("max_pool_winners 8000^2 size 1", lambda: ops.max_pool_winners(np.zeros((3000, 3000)), 64, 1),
     "window elements"),
    ("gaussian_kernel sigma=1e6", lambda: ops.gaussian_kernel(1e6), "sigma must be <="),
    ("gaussian_kernel size=100001", lambda: ops.gaussian_kernel(1.0, 100001), "size must be <="),
    ("receptive_field 10**6 layers", lambda: ops.receptive_field([("conv", 3)] * 10**6), "at most"),
    ("receptive_field stride overflow", lambda: ops.receptive_field([("conv", 3, 2**20)] * 40), "2\\*\\*53|<="),
    ("receptive_field kernel 10**30", lambda: ops.receptive_field([("conv", 10**30)]), "kernel must be <="),
    ("output_size n=10**30", lambda: ops.output_size(10**30, 3), "n must be <="),
    ("output_size padding=10**30", lambda: ops.output_size(256, 3, padding=10**30), "padding must be <="),
    ("conv_params 10**12", lambda: ops.conv_params(10**12, 3, 1, 1), "kh must be <="),
    ("dense_params n_out 10**15", lambda: ops.dense_params(10, 10**15), "n_out must be <="),
    ("explain_step padding=10**9", lambda: ops.explain_step(X, W, 0, 0, padding=10**9), "padding must be <="),
    ("formula decimals=10**6", lambda: ops.explain_step(X, W, 0, 0).formula(10**6), "decimals must be <="),
    ("dense 2**31 multiply-adds", lambda: ops.dense(np.ones((2**11, 2**10), np.float32),
                                                    np.ones((2**10, 2**11), np.float32)), "multiply-adds"),
]


@pytest.mark.parametrize("label,call,match", BOMBS, ids=[b[0] for b in BOMBS])
def test_bomb_refused_before_work(label, call, match):
    with pytest.raises(ValueError, match=match) as info:
        _fast(call)
    text = str(info.value)
    assert "limit" in text or "<=" in text or "at most" in text, text


def test_limit_message_says_limit_and_why():
    with pytest.raises(ValueError) as info:
        ops.im2col(np.zeros((512, 512)), 101)
    text = str(info.value)
    assert "limit" in text and "memory" in text and "smaller kernel" in text


def test_large_but_reasonable_work_still_runs():
    """The limits leave the course's real sizes alone (a 512² CT slice, a 256² 06 input, a 64-channel layer)."""
    assert ops.conv2d(np.zeros((512, 512)), np.ones((31, 31)), padding="same").shape == (512, 512)
    assert ops.im2col(np.zeros((256, 256)), 5).shape == (252 * 252, 25)
    assert ops.conv2d(np.zeros((2, 32, 32, 32)), np.ones((3, 3, 32, 64))).shape == (2, 30, 30, 64)
    assert ops.conv2d_naive(np.zeros((64, 64)), np.ones((3, 3))).shape == (62, 62)
    assert ops.correlate2d(np.zeros((64, 64)), np.ones((3, 3)), "full").shape == (66, 66)
    assert ops.output_size(256 * 256, 3) == 65534


def test_conv2d_many_channels_without_im2col_copy_matches():
    """When the im2col copy would be too large, conv2d uses the per-tap product: same numbers."""
    rng = np.random.default_rng(1)
    x, w = rng.random((1, 20, 20, 8)), rng.random((3, 3, 8, 4))
    ref = ops.conv2d(x, w)
    old = ops.MAX_ELEMENTS
    try:
        ops.MAX_ELEMENTS = 20 * 20 * 8 * 2  # enough for the input, not for the 9x copy
        np.testing.assert_allclose(ops.conv2d(x, w), ref, rtol=1e-12)
    finally:
        ops.MAX_ELEMENTS = old


# =============================================================================================
# 2. silently wrong numbers: NaN inputs or parameters are never passed on
# =============================================================================================
NANS = [
    ("conv2d x", lambda: ops.conv2d(np.full((4, 4), NAN), W)),
    ("conv2d w", lambda: ops.conv2d(X, np.full((3, 3), NAN))),
    ("conv2d b", lambda: ops.conv2d(X, W, b=NAN)),
    ("conv2d_naive x", lambda: ops.conv2d_naive(np.full((4, 4), NAN), W)),
    ("im2col x", lambda: ops.im2col(np.full((4, 4), NAN), 2)),
    ("correlate2d w", lambda: ops.correlate2d(X, np.full((3, 3), np.inf))),
    ("pool2d x", lambda: ops.pool2d(np.full((4, 4), NAN))),
    ("max_pool_winners x", lambda: ops.max_pool_winners(np.full((4, 4), NAN))),
    ("global_avg_pool x", lambda: ops.global_avg_pool(np.full((4, 4), NAN))),
    ("relu x", lambda: ops.relu(np.array([NAN]))),
    ("sigmoid x", lambda: ops.sigmoid(np.array([NAN]))),
    ("dense b", lambda: ops.dense(np.ones(3), np.ones((3, 1)), np.array([NAN]))),
    ("explain_step b", lambda: ops.explain_step(X, W, 0, 0, b=NAN)),
    ("gaussian_kernel sigma", lambda: ops.gaussian_kernel(NAN)),
    ("output_size padding", lambda: ops.output_size(256, 3, padding=NAN)),
    ("pool2d stride", lambda: ops.pool2d(X, 2, NAN)),
    ("receptive_field input_size", lambda: ops.receptive_field([("conv", 3)], input_size=NAN)),
    ("insert_nodule value", lambda: ops.insert_nodule(np.zeros((5, 5)), 2, (2, 2), NAN)),
    ("insert_nodule diameter", lambda: ops.insert_nodule(np.zeros((5, 5)), NAN, (2, 2))),
    ("nodule_erasure image", lambda: ops.nodule_erasure(np.full((64, 64), NAN), 2.0, 2, centre=(32, 32))),
    ("conv2d_backward dy", lambda: ops.conv2d_backward(X, W, np.full((14, 14), NAN))),
]


@pytest.mark.parametrize("label,call", NANS, ids=[n[0] for n in NANS])
def test_nan_refused(label, call):
    with pytest.raises((ValueError, TypeError), match="finite|NaN|nan|must be"):
        call()


# =============================================================================================
# 3. unclear errors: a string or None where a number or array is expected
# =============================================================================================
UNCLEAR = [
    # (label, call, exception, the argument the message must name)
    ("conv2d x None", lambda: ops.conv2d(None, W), TypeError, "x"),
    ("conv2d w None", lambda: ops.conv2d(X, None), TypeError, "w"),
    ("conv2d x str", lambda: ops.conv2d("image.png", W), TypeError, "x"),
    ("conv2d stride str", lambda: ops.conv2d(X, W, stride="2"), TypeError, "stride"),
    ("conv2d stride None", lambda: ops.conv2d(X, W, stride=None), TypeError, "stride"),
    ("conv2d stride 1.5", lambda: ops.conv2d(X, W, stride=1.5), TypeError, "stride"),
    ("conv2d dilation str", lambda: ops.conv2d(X, W, dilation="1"), TypeError, "dilation"),
    ("conv2d padding None", lambda: ops.conv2d(X, W, padding=None), TypeError, "padding"),
    ("conv2d padding 1.5", lambda: ops.conv2d(X, W, padding=1.5), TypeError, "padding"),
    ("conv2d b str", lambda: ops.conv2d(X, W, b="1"), TypeError, "b"),
    ("conv2d_naive x None", lambda: ops.conv2d_naive(None, W), TypeError, "x"),
    ("im2col kernel None", lambda: ops.im2col(X, None), TypeError, "kernel_size"),
    ("im2col kernel str", lambda: ops.im2col(X, "3"), TypeError, "kernel_size"),
    ("correlate2d mode None", lambda: ops.correlate2d(X, W, None), TypeError, "mode"),
    ("convolve2d_true x None", lambda: ops.convolve2d_true(None, W), TypeError, "x"),
    ("explain_step i str", lambda: ops.explain_step(X, W, "1", 1), TypeError, "i"),
    ("explain_step j None", lambda: ops.explain_step(X, W, 1, None), TypeError, "j"),
    ("explain_step b None", lambda: ops.explain_step(X, W, 1, 1, b=None), TypeError, "b"),
    ("explain_step b str", lambda: ops.explain_step(X, W, 1, 1, b="0.5"), TypeError, "b"),
    ("formula decimals str", lambda: ops.explain_step(X, W, 0, 0).formula("2"), TypeError, "decimals"),
    ("pool2d x None", lambda: ops.pool2d(None), TypeError, "x"),
    ("pool2d size str", lambda: ops.pool2d(X, "2"), TypeError, "size"),
    ("pool2d mode None", lambda: ops.pool2d(X, mode=None), TypeError, "mode"),
    ("max_pool_winners size None", lambda: ops.max_pool_winners(X, None), TypeError, "size"),
    ("global_avg_pool x str", lambda: ops.global_avg_pool("x"), TypeError, "x"),
    ("output_size n str", lambda: ops.output_size("256", 3), TypeError, "n"),
    ("output_size k None", lambda: ops.output_size(256, None), TypeError, "k"),
    ("conv_params kh str", lambda: ops.conv_params("3", 3, 1, 1), TypeError, "kh"),
    ("conv_params bias str", lambda: ops.conv_params(3, 3, 1, 1, bias="no"), TypeError, "bias"),
    ("dense_params bias None", lambda: ops.dense_params(3, 1, bias=None), TypeError, "bias"),
    ("gaussian_kernel sigma str", lambda: ops.gaussian_kernel("1"), TypeError, "sigma"),
    ("gaussian_kernel size str", lambda: ops.gaussian_kernel(1.0, "3"), TypeError, "size"),
    ("receptive_field None", lambda: ops.receptive_field(None), TypeError, "layers"),
    ("receptive_field str", lambda: ops.receptive_field("conv3"), TypeError, "layers"),
    ("receptive_field input_size str", lambda: ops.receptive_field([("conv", 3)], input_size="256"), TypeError,
     "input_size"),
    ("receptive_field kernel str", lambda: ops.receptive_field([("conv", "3")]), TypeError, "kernel"),
    ("relu None", lambda: ops.relu(None), TypeError, "x"),
    ("sigmoid str", lambda: ops.sigmoid("0"), TypeError, "x"),
    ("dense x None", lambda: ops.dense(None, np.ones((3, 1))), TypeError, "x"),
    ("forward_sequential return_all str",
     lambda: ops.forward_sequential(type("M", (), {"layers": []})(), np.ones((1, 4, 4, 1)), return_all="yes"),
     TypeError, "return_all"),
    ("pooling_compute size None", lambda: ops.pooling_compute(np.zeros((32, 32)), None), TypeError, "size"),
    ("insert_nodule centre None", lambda: ops.insert_nodule(np.zeros((5, 5)), 2, None), TypeError, "centre"),
    ("nodule_erasure image None", lambda: ops.nodule_erasure(None, 2.0, 2, centre=(2, 2)), TypeError, "image"),
    ("conv2d_backward dy None", lambda: ops.conv2d_backward(X, W, None), TypeError, "dy"),
]


@pytest.mark.parametrize("label,call,exc,arg", UNCLEAR, ids=[u[0] for u in UNCLEAR])
def test_wrong_type_names_argument_and_expectation(label, call, exc, arg):
    with pytest.raises(exc) as info:
        call()
    text = str(info.value)
    assert text.startswith(arg + " ") or f" {arg} " in text or text.startswith(arg + ":"), text
    assert "must" in text, text                       # what was expected
    assert "not supported" not in text and "dtype object" not in text, text   # no numpy/python internals


def test_none_array_message_says_what_to_pass():
    with pytest.raises(TypeError, match=r"x must be .*array.*got NoneType None"):
        ops.conv2d(None, W)


def test_pooling_compute_too_large_window_names_the_shift_region():
    with pytest.raises(ValueError, match="size .* shift test"):
        ops.pooling_compute(np.zeros((32, 32)), 20)
