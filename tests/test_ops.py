"""medlab.ops checked against TensorFlow, Keras and scipy (property tests) plus bad-input errors."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import scipy.signal
import tensorflow as tf
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from medlab import ops

SETTINGS = settings(max_examples=40, deadline=None)


def _assert_close(ours, ref, scale):
    """Equal within 1e-5 relative to the magnitude of the summed terms (float32 reference)."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5 * max(1.0, float(scale)))


def _tf_padding(padding):
    if isinstance(padding, str):
        return padding.upper()
    if isinstance(padding, int):
        padding = ((padding, padding), (padding, padding))
    return [[0, 0], list(padding[0]), list(padding[1]), [0, 0]]


paddings = st.one_of(
    st.sampled_from(["valid", "same"]),
    st.integers(0, 2),
    st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)), st.tuples(st.integers(0, 2), st.integers(0, 2))),
)


# ------------------------------------------------------------------------------------ conv2d

@SETTINGS
@given(n=st.integers(1, 2), h=st.integers(3, 12), w=st.integers(3, 12), c_in=st.integers(1, 5),
       c_out=st.integers(1, 5), kh=st.integers(1, 4), kw=st.integers(1, 4), stride=st.integers(1, 3),
       dilation=st.integers(1, 2), padding=paddings, seed=st.integers(0, 2**31 - 1), bias=st.booleans())
def test_conv2d_matches_tf(n, h, w, c_in, c_out, kh, kw, stride, dilation, padding, seed, bias):
    if dilation > 1:
        stride = 1  # TensorFlow does not support stride > 1 together with dilation > 1
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c_in)).astype(np.float32)
    k = rng.standard_normal((kh, kw, c_in, c_out)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32) if bias else None
    try:
        ours = ops.conv2d(x, k, b, stride=stride, padding=padding, dilation=dilation)
    except ValueError as exc:  # kernel larger than the padded input: TF refuses or returns nothing
        assert "larger than the padded input" in str(exc)
        try:
            ref = tf.nn.conv2d(x, k, stride, _tf_padding(padding), dilations=dilation).numpy()
        except (tf.errors.InvalidArgumentError, ValueError):
            return
        assert ref.size == 0
        return
    ref = tf.nn.conv2d(x, k, stride, _tf_padding(padding), dilations=dilation).numpy()
    if bias:
        ref = ref + b
    _assert_close(ours, ref, np.abs(x).max() * np.abs(k).sum(axis=(0, 1, 2)).max())
    # the output-size formula predicts the shape
    (pt, pb), (pl, pr) = ops._padding_2d(padding, (h, w), (dilation * (kh - 1) + 1, dilation * (kw - 1) + 1),
                                         (stride, stride))
    assert ours.shape[1] == ops.output_size(h, kh, (pt, pb), stride, dilation)
    assert ours.shape[2] == ops.output_size(w, kw, (pl, pr), stride, dilation)


@SETTINGS
@given(h=st.integers(2, 9), w=st.integers(2, 9), kh=st.integers(1, 3), kw=st.integers(1, 3),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)), dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       padding=paddings, seed=st.integers(0, 2**31 - 1))
def test_conv2d_naive_equals_vectorised(h, w, kh, kw, stride, dilation, padding, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w))
    k = rng.standard_normal((kh, kw))
    try:
        fast = ops.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    except ValueError:
        with pytest.raises(ValueError, match="larger than the padded input"):
            ops.conv2d_naive(x, k, stride=stride, padding=padding, dilation=dilation)
        return
    slow = ops.conv2d_naive(x, k, stride=stride, padding=padding, dilation=dilation)
    np.testing.assert_allclose(slow, fast, rtol=1e-12, atol=1e-12)
    # one step explained: the sum of products is the output pixel
    i, j = rng.integers(fast.shape[0]), rng.integers(fast.shape[1])
    step = ops.explain_step(x, k, int(i), int(j), stride=stride, padding=padding, dilation=dilation, b=0.5)
    assert step.total == pytest.approx(fast[i, j] + 0.5, abs=1e-12)
    np.testing.assert_allclose(step.products, step.patch * k)
    assert step.formula().startswith(f"y[{i}, {j}] =")


@SETTINGS
@given(h=st.integers(3, 10), w=st.integers(3, 10), c=st.integers(1, 3), kh=st.integers(1, 3),
       kw=st.integers(1, 3), stride=st.integers(1, 2), padding=paddings, seed=st.integers(0, 2**31 - 1))
def test_im2col_matmul_equals_conv2d(h, w, c, kh, kw, stride, padding, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w, c))
    k = rng.standard_normal((kh, kw, c, 2))
    y = ops.conv2d(x, k, stride=stride, padding=padding)
    cols = ops.im2col(x, (kh, kw), stride=stride, padding=padding)
    assert cols.shape == (y.shape[0] * y.shape[1], kh * kw * c)
    np.testing.assert_allclose((cols @ k.reshape(-1, 2)).reshape(y.shape), y, atol=1e-10)


@pytest.mark.parametrize("cfg", [
    dict(filters=4, kernel_size=3, strides=1, padding="valid", dilation_rate=1),
    dict(filters=3, kernel_size=(2, 4), strides=(2, 1), padding="same", dilation_rate=1),
    dict(filters=2, kernel_size=3, strides=1, padding="same", dilation_rate=2),
    dict(filters=32, kernel_size=3, strides=2, padding="valid", dilation_rate=1),
])
def test_conv2d_matches_keras_conv2d(cfg):
    import keras
    keras.utils.set_random_seed(3)
    layer = keras.layers.Conv2D(**cfg, use_bias=True, bias_initializer="random_normal")
    x = np.random.default_rng(1).standard_normal((2, 11, 13, 3)).astype(np.float32)
    ref = np.asarray(layer(x))
    kernel, bias = layer.get_weights()
    ours = ops.conv2d(x, kernel, bias, stride=cfg["strides"], padding=cfg["padding"], dilation=cfg["dilation_rate"])
    _assert_close(ours, ref, np.abs(x).max() * np.abs(kernel).sum(axis=(0, 1, 2)).max())


def test_conv2d_layouts_and_dtype():
    rng = np.random.default_rng(0)
    img = rng.standard_normal((6, 7)).astype(np.float32)
    k2 = rng.standard_normal((3, 3)).astype(np.float32)
    y2 = ops.conv2d(img, k2)
    assert y2.shape == (4, 5) and y2.dtype == np.float32
    y3 = ops.conv2d(img[..., None], k2[:, :, None, None])
    assert y3.shape == (4, 5, 1)
    np.testing.assert_allclose(y3[..., 0], y2)
    assert ops.conv2d(img.astype(np.int16), k2.astype(np.float64)).dtype == np.float64
    np.testing.assert_allclose(ops.conv2d(img, ops.KERNELS["identity"], padding="same"), img, atol=1e-6)


@SETTINGS
@given(h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4),
       mode=st.sampled_from(["full", "same", "valid"]), seed=st.integers(0, 2**31 - 1))
def test_correlate_and_convolve_match_scipy(h, w, kh, kw, mode, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w))
    k = rng.standard_normal((kh, kw))
    if mode == "valid" and (kh > h or kw > w):
        with pytest.raises(ValueError, match="larger than the padded input"):
            ops.correlate2d(x, k, mode)
        return
    np.testing.assert_allclose(ops.correlate2d(x, k, mode), scipy.signal.correlate2d(x, k, mode), atol=1e-12)
    np.testing.assert_allclose(ops.convolve2d_true(x, k, mode), scipy.signal.convolve2d(x, k, mode), atol=1e-12)
    # the kernel flip: true convolution == correlation with the kernel rotated by 180 degrees
    np.testing.assert_allclose(ops.convolve2d_true(x, k, "full"), ops.correlate2d(x, k[::-1, ::-1], "full"))


def test_symmetric_kernel_convolution_equals_correlation_but_sobel_flips_sign():
    x = np.random.default_rng(2).standard_normal((8, 8))
    g = ops.KERNELS["gaussian"]
    np.testing.assert_allclose(ops.convolve2d_true(x, g), ops.correlate2d(x, g))
    s = ops.KERNELS["sobel_x"]
    np.testing.assert_allclose(ops.convolve2d_true(x, s), -ops.correlate2d(x, s))


# ------------------------------------------------------------------------------------ pooling

@SETTINGS
@given(n=st.integers(1, 2), h=st.integers(1, 11), w=st.integers(1, 11), c=st.integers(1, 3),
       size=st.tuples(st.integers(1, 4), st.integers(1, 4)), stride=st.one_of(st.none(), st.integers(1, 3)),
       padding=st.sampled_from(["valid", "same"]), mode=st.sampled_from(["max", "avg"]),
       seed=st.integers(0, 2**31 - 1))
def test_pool2d_matches_tf(n, h, w, c, size, stride, padding, mode, seed):
    assume(padding == "same" or (size[0] <= h and size[1] <= w))
    x = np.random.default_rng(seed).standard_normal((n, h, w, c)).astype(np.float32)
    ours = ops.pool2d(x, size, stride, padding, mode)
    fn = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    ref = fn(x, size, size if stride is None else stride, padding.upper()).numpy()
    _assert_close(ours, ref, np.abs(x).max())


def test_pool2d_layouts_and_global_average():
    x = np.random.default_rng(0).standard_normal((2, 6, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(ops.pool2d(x[0, :, :, 0]), ops.pool2d(x)[0, :, :, 0])
    np.testing.assert_allclose(ops.pool2d(x[0]), ops.pool2d(x)[0])
    import keras
    ref = np.asarray(keras.layers.GlobalAveragePooling2D()(x))
    np.testing.assert_allclose(ops.global_avg_pool(x), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.global_avg_pool(x[0]), ref[0], rtol=1e-5, atol=1e-6)
    assert float(ops.global_avg_pool(x[0, :, :, 0])) == pytest.approx(float(x[0, :, :, 0].mean()), rel=1e-5)


@SETTINGS
@given(h=st.integers(2, 10), w=st.integers(2, 10), size=st.integers(1, 3), stride=st.integers(1, 3),
       seed=st.integers(0, 2**31 - 1))
def test_max_pool_winners_are_the_pooled_values(h, w, size, stride, seed):
    assume(size <= min(h, w))
    x = np.random.default_rng(seed).permutation(h * w).reshape(h, w).astype(float)  # no ties
    mask = ops.max_pool_winners(x, size, stride)
    pooled = ops.pool2d(x, size, stride)
    assert set(x[mask].tolist()) == set(pooled.ravel().tolist())
    _, arg = tf.nn.max_pool_with_argmax(x[None, :, :, None].astype(np.float32), size, stride, "VALID")
    tf_mask = np.zeros(h * w, bool)
    tf_mask[arg.numpy().ravel()] = True
    np.testing.assert_array_equal(mask.ravel(), tf_mask)


@SETTINGS
@given(h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4),
       sh=st.integers(1, 3), sw=st.integers(1, 3), levels=st.integers(1, 3), seed=st.integers(0, 2**31 - 1))
def test_max_pool_winners_break_ties_at_the_first_maximum_in_row_major_order(h, w, kh, kw, sh, sw, levels, seed):
    """With ties (few grey levels), every window's winner is its first maximum in row-major order (brute force)."""
    assume(kh <= h and kw <= w)
    x = np.random.default_rng(seed).integers(0, levels, (h, w)).astype(float)
    expected = np.zeros((h, w), bool)
    for i in range(0, h - kh + 1, sh):
        for j in range(0, w - kw + 1, sw):
            r, c = divmod(int(np.argmax(x[i:i + kh, j:j + kw])), kw)
            expected[i + r, j + c] = True
    np.testing.assert_array_equal(ops.max_pool_winners(x, (kh, kw), (sh, sw)), expected)


# ------------------------------------------------------------------------------------ sizes, params

@pytest.mark.parametrize("n,k,p,s,d,expected", [
    (256, 3, 0, 1, 1, 254), (256, 3, 1, 1, 1, 256), (256, 3, 0, 2, 1, 127), (7, 3, "same", 2, 1, 4),
    (10, 3, 0, 1, 2, 6), (5, 5, 0, 1, 1, 1), (6, 2, (0, 1), 2, 1, 3),
])
def test_output_size_table(n, k, p, s, d, expected):
    assert ops.output_size(n, k, p, s, d) == expected


@pytest.mark.parametrize("args", [(3, 3, 1, 32), (3, 3, 32, 64), (5, 1, 4, 7), (1, 1, 64, 16)])
def test_conv_params_match_keras(args):
    import keras
    kh, kw, c_in, c_out = args
    layer = keras.layers.Conv2D(c_out, (kh, kw))
    layer.build((None, 16, 16, c_in))
    assert ops.conv_params(kh, kw, c_in, c_out) == layer.count_params()
    assert ops.conv_params(kh, kw, c_in, c_out, bias=False) == layer.count_params() - c_out
    dense = keras.layers.Dense(c_out)
    dense.build((None, c_in * 10))
    assert ops.dense_params(c_in * 10, c_out) == dense.count_params()


# ------------------------------------------------------------------------------------ receptive field

def _brute_force_rf(layers, length=96):
    """Send an impulse through the stack from every input position; return the set of input
    positions that reach the central output pixel (all-positive kernels, so nothing cancels)."""
    x = np.eye(length)[:, None, :, None]  # (N=length, H=1, W=length, C=1): impulse at column p in image p
    for kind, k, s, d, pad in layers:
        if kind == "conv":
            x = ops.conv2d(x, np.ones((1, k, 1, 1)), stride=(1, s), dilation=(1, d), padding=((0, 0), (pad, pad)))
        else:
            x = ops.pool2d(x, (1, k), (1, s), padding=((0, 0), (pad, pad)), mode="max")
    centre = x.shape[2] // 2
    hits = np.flatnonzero(x[:, 0, centre, 0] > 0)
    return hits, centre


layer_st = st.one_of(
    st.tuples(st.just("conv"), st.integers(1, 5), st.integers(1, 2), st.integers(1, 3), st.integers(0, 1)),
    st.tuples(st.just("pool"), st.integers(2, 3), st.integers(1, 3), st.just(1), st.just(0)),
)


@settings(max_examples=40, deadline=None)
@given(layers=st.lists(layer_st, min_size=1, max_size=4))
def test_receptive_field_matches_impulse_response(layers):
    try:
        hits, centre = _brute_force_rf(layers)
    except ValueError:
        assume(False)
    rf = ops.receptive_field(layers)
    lo = rf.start + centre * rf.jump - (rf.size - 1) / 2
    assume(lo >= 0 and lo + rf.size <= 96)  # the field must lie inside the test image (not in padding)
    # the field has holes when taps skip pixels (dilation > 1, stride > kernel); its extent is always rf.size
    assert hits.max() - hits.min() + 1 == rf.size
    assert (hits.min() + hits.max()) / 2 == pytest.approx(rf.start + centre * rf.jump)
    if all(d == 1 and s <= k for _, k, s, d, _ in layers):
        assert len(hits) == rf.size


def test_receptive_field_seed_model_and_keras_layers():
    import keras
    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(2, 3), keras.layers.MaxPooling2D(2),
                              keras.layers.Conv2D(2, 3), keras.layers.MaxPooling2D(2)])
    spec = [("conv", 3), ("pool", 2), ("conv", 3), ("pool", 2)]
    assert ops.receptive_field(model.layers) == ops.receptive_field(spec).__class__(
        10, 4, ops.receptive_field(spec).start, model.layers[-1].name)
    assert [r.size for r in ops.receptive_field_table(spec)] == [3, 4, 8, 10]
    assert ops.receptive_field([{"kind": "conv", "kernel": 3, "dilation": 2}]).size == 5


# ------------------------------------------------------------------------------------ whole model

def test_forward_sequential_equals_keras_seed_model_shape():
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((40, 40, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", bias_initializer="random_normal"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, activation="relu", padding="same", strides=2),
        keras.layers.AveragePooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(5, activation="tanh"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    x = np.random.default_rng(0).random((3, 40, 40, 1)).astype(np.float32)
    ref = model.predict(x, verbose=0)
    ours = ops.forward_sequential(model, x)
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    steps = ops.forward_sequential(model, x[0], return_all=True)
    assert [name for name, _ in steps] == [layer.name for layer in model.layers]
    assert [out.shape[1:] for _, out in steps] == [tuple(layer.output.shape[1:]) for layer in model.layers]


def test_forward_sequential_rejects_unknown_layers():
    import keras
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3), keras.layers.UpSampling2D()])
    with pytest.raises(ValueError, match="UpSampling2D is not supported"):
        ops.forward_sequential(model, np.zeros((1, 8, 8, 1)))
    with pytest.raises(TypeError, match="model must be a Keras Sequential"):
        ops.forward_sequential(object(), np.zeros((1, 8, 8, 1)))


def test_receptive_field_rejects_non_square_keras_layers():
    import keras
    for layer in (keras.layers.Conv2D(1, (1, 5)), keras.layers.Conv2D(1, 3, strides=(1, 2)),
                  keras.layers.Conv2D(1, 3, dilation_rate=(2, 1)), keras.layers.MaxPooling2D((2, 3))):
        with pytest.raises(ValueError, match=r"layers\[0\]: .*not square"):
            ops.receptive_field([layer])
    assert ops.receptive_field([keras.layers.Conv2D(1, (5, 5))]).size == 5   # square: fine


def test_forward_sequential_rejects_relu_variants_it_does_not_implement():
    import keras
    x = np.linspace(-3, 3, 2 * 4 * 4).reshape(2, 4, 4, 1)
    for kw in ({"max_value": 1.0}, {"negative_slope": 0.1}, {"threshold": 0.5}):
        model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.ReLU(**kw)])
        with pytest.raises(ValueError, match="ReLU with .* is not supported"):
            ops.forward_sequential(model, x)
    plain = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.ReLU()])
    np.testing.assert_allclose(ops.forward_sequential(plain, x), plain.predict(x, verbose=0), atol=1e-6)


# ------------------------------------------------------------------------------------ kernels

def test_kernels_named_and_frozen():
    assert {"identity", "box", "gaussian", "sharpen", "sobel_x", "sobel_y", "prewitt_x", "prewitt_y",
            "laplacian", "emboss"} <= set(ops.KERNELS)
    assert ops.KERNELS["box"].sum() == pytest.approx(1.0)
    assert ops.KERNELS["gaussian"].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ops.KERNELS["box"][0, 0] = 5.0
    # sobel_y responds to a horizontal edge (dark above, bright below), sobel_x does not
    step = np.zeros((8, 8))
    step[4:] = 1.0
    assert ops.conv2d(step, ops.KERNELS["sobel_y"]).max() == 4.0
    assert np.abs(ops.conv2d(step, ops.KERNELS["sobel_x"])).max() == 0.0
    g = ops.gaussian_kernel(2.0)
    assert g.shape == (9, 9) and g[4, 4] == g.max()


# ------------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize("call,exc,match", [
    (lambda: ops.conv2d(np.zeros((2, 2, 2, 2, 2)), np.ones((3, 3))), ValueError, "x must be"),
    (lambda: ops.conv2d(np.zeros((5, 5)), np.ones(3)), ValueError, "w must be"),
    (lambda: ops.conv2d(np.zeros((5, 5, 2)), np.ones((3, 3, 3, 1))), ValueError, "channel mismatch"),
    (lambda: ops.conv2d(np.zeros((5, 5)), np.ones((7, 7))), ValueError, "larger than the padded input"),
    (lambda: ops.conv2d(np.zeros((5, 5)), np.ones((3, 3)), dilation=3), ValueError, "dilation 3"),
    (lambda: ops.conv2d(np.zeros((5, 5)), np.ones((3, 3)), stride=0), ValueError, "stride must be a positive int"),
    (lambda: ops.conv2d(np.zeros((5, 5)), np.ones((3, 3)), stride=1.5), TypeError, "stride"),  # wrong type
    (lambda: ops.conv2d(np.zeros((5, 5)), np.ones((3, 3)), dilation=(1, 0)), ValueError, "dilation"),
    (lambda: ops.conv2d(np.zeros((5, 5)), np.ones((3, 3)), padding="full"), ValueError, "padding must be"),
    (lambda: ops.conv2d(np.zeros((5, 5)), np.ones((3, 3)), padding=-1), ValueError, "padding must be >= 0"),
    (lambda: ops.conv2d(np.array([[np.nan, 1.0], [1, 1]]), np.ones((1, 1))), ValueError, "x must contain only finite"),
    (lambda: ops.conv2d(np.zeros((5, 5)), np.full((3, 3), np.inf)), ValueError, "w must contain only finite"),
    (lambda: ops.conv2d(np.zeros((5, 5)), np.ones((3, 3)), b=np.ones(2)), ValueError, "b must have shape"),
    (lambda: ops.conv2d(np.zeros((0, 5)), np.ones((1, 1))), ValueError, "x must not be empty"),
    (lambda: ops.conv2d(np.array([["a"]]), np.ones((1, 1))), TypeError, "x must hold real numbers"),
    (lambda: ops.conv2d(np.zeros((3, 3), complex), np.ones((1, 1))), TypeError, "x must hold real numbers"),
    (lambda: ops.conv2d_naive(np.zeros((5, 5, 1)), np.ones((3, 3))), ValueError, "x must be a 2-D image"),
    (lambda: ops.conv2d_naive(np.zeros((5, 5)), np.ones((6, 1))), ValueError, "larger than the padded input"),
    (lambda: ops.correlate2d(np.zeros((5, 5)), np.ones((3, 3)), "circular"), ValueError, "mode must be"),
    (lambda: ops.convolve2d_true(np.zeros((5,)), np.ones((3, 3))), ValueError, "x must be a 2-D image"),
    (lambda: ops.pool2d(np.zeros((5, 5)), mode="min"), ValueError, "mode must be"),
    (lambda: ops.pool2d(np.zeros((5, 5)), size=0), ValueError, "size must be a positive int"),
    (lambda: ops.pool2d(np.zeros((5, 5)), size=6), ValueError, "pool window"),
    (lambda: ops.pool2d(np.zeros((5, 5)), stride=-1), ValueError, "stride must be"),
    (lambda: ops.pool2d(np.full((4, 4), np.inf)), ValueError, "finite"),
    (lambda: ops.pool2d(np.ones((2, 2)), size=1, padding=1), ValueError,
     "padding must be smaller than size: a window would contain only padding"),
    (lambda: ops.pool2d(np.ones((2, 2)), size=1, padding=1, mode="avg"), ValueError,
     "padding must be smaller than size"),
    (lambda: ops.pool2d(np.ones((4, 4)), size=2, padding=((0, 0), (0, 2)), mode="avg"), ValueError,
     "padding must be smaller than size"),
    (lambda: ops.pool2d(np.ones((4, 4)), size=2, padding=((3, 0), (0, 0))), ValueError,
     "padding must be smaller than size"),
    (lambda: ops.global_avg_pool(np.zeros(4)), ValueError, "x must be"),
    (lambda: ops.output_size(0, 3), ValueError, "n must be a positive int"),
    (lambda: ops.output_size(5, 3, stride=0), ValueError, "stride must be a positive int"),
    (lambda: ops.output_size(4, 3, dilation=2), ValueError, "larger than the padded input"),
    (lambda: ops.output_size(4, 3, padding="bogus"), ValueError, "padding must be"),
    (lambda: ops.conv_params(3, 3, 0, 8), ValueError, "c_in must be a positive int"),
    (lambda: ops.dense_params(10, 0), ValueError, "n_out must be a positive int"),
    (lambda: ops.explain_step(np.zeros((5, 5)), np.ones((3, 3)), 3, 0), ValueError,
     r"i must be an output row in \[0, 2\]"),
    (lambda: ops.explain_step(np.zeros((5, 5)), np.ones((3, 3)), 0, -1), ValueError, "j must be an output column"),
    (lambda: ops.explain_step(np.zeros((5, 5)), np.ones((3, 3)), 0, 0, b=np.nan), ValueError, "b must be a finite"),
    (lambda: ops.receptive_field([]), ValueError, "at least one"),
    (lambda: ops.receptive_field([("fc", 3)]), ValueError, r"layers\[0\]"),
    (lambda: ops.receptive_field([("conv", 0)]), ValueError, "kernel must be a positive int"),
    (lambda: ops.receptive_field([("conv", 3, 2, 1, "same")]), ValueError, "pass input_size"),
    (lambda: ops.gaussian_kernel(-1.0), ValueError, "sigma must be a positive"),
    (lambda: ops.gaussian_kernel(1.0, 4), ValueError, "size must be a positive odd"),
    (lambda: ops.dense(np.ones(3), np.ones((4, 2))), ValueError, "x has 3 features"),
    (lambda: ops.im2col(np.zeros((2, 2, 2, 2)), 2), ValueError, "x must be"),
    (lambda: ops.max_pool_winners(np.zeros((3, 3)), 4), ValueError, "pool window"),
])
def test_bad_input_raises_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_gaussian_kernel_accepts_numpy_scalars():
    for sigma in (np.float32(1.0), np.float64(1.0), np.int64(1)):
        np.testing.assert_allclose(ops.gaussian_kernel(sigma), ops.gaussian_kernel(1.0))
    with pytest.raises(ValueError, match="sigma must be a positive number"):
        ops.gaussian_kernel(np.float32(-1.0))
    with pytest.raises(TypeError, match="sigma must be a positive number"):  # a bool is a wrong type
        ops.gaussian_kernel(True)


def test_step_formula_shows_large_weights_without_exponent():
    x = np.arange(4.0).reshape(2, 2)
    w = np.array([[125.0, -1500.0], [0.5, 2.0]])
    text = ops.explain_step(x, w, 0, 0).formula()
    assert "e+" not in text and "125×0.00" in text and "-1500×1.00" in text and "0.5×2.00" in text
    assert text.endswith(f"= {ops.conv2d(x, w)[0, 0]:.2f}")
    assert "1.2e+05×" in ops.explain_step(x, w * 1000, 0, 0).formula()   # |w| >= 1e4 keeps the exponent


# ------------------------------------------------------------------------ 02/03 teaching helpers (moved from widgets)

def test_flip_kernel_flips_the_image_shift_against_scipy():
    x = np.random.default_rng(1).random((20, 20))
    k = ops.flip_kernel("off-centre 1", 2)
    assert k.shape == (5, 5) and k.sum() == 1 and k[0, 0] == 1
    corr, conv = ops.correlate2d(x, k, "same"), ops.convolve2d_true(x, k, "same")
    np.testing.assert_allclose(corr, scipy.signal.correlate2d(x, k, "same"))
    np.testing.assert_allclose(conv, scipy.signal.convolve2d(x, k, "same"))
    np.testing.assert_allclose(corr[2:, 2:], x[:-2, :-2])   # correlation moves the image down-right
    np.testing.assert_allclose(conv[:-2, :-2], x[2:, 2:])   # true convolution up-left
    np.testing.assert_array_equal(ops.flip_kernel("sobel_x"), ops.KERNELS["sobel_x"])
    for bad, exc in ((dict(name="nope"), ValueError), (dict(name="off-centre 1", offset=0), ValueError),
                     (dict(name="off-centre 1", offset=17), ValueError), (dict(name="off-centre 1", offset="3"),
                                                                         TypeError)):
        with pytest.raises(exc, match="name must be|offset must be"):
            ops.flip_kernel(**bad)


def test_build_stack_receptive_field_matches_tf_impulse():
    layers = ops.build_stack(2, 3, 2, 1, True)
    assert layers == [("conv", 3, 1, 1)] * 2 + [("pool", 2, 2)] + [("conv", 3, 1, 1)] * 2 + [("pool", 2, 2)]
    assert ops.build_stack(1, 5, 1, 2, False) == [("conv", 5, 1, 2)]
    # impulse response through the same stack with TensorFlow (ones kernels, max pools)
    x = np.eye(64, dtype=np.float32)[:, None, :, None]
    y = tf.constant(x)
    for kind, k, s, *d in layers:
        y = (tf.nn.conv2d(y, tf.ones((1, k, 1, 1)), 1, "VALID") if kind == "conv"
             else tf.nn.max_pool2d(y, (1, k), (1, s), "VALID"))
    reach = np.flatnonzero(y.numpy()[:, 0, 2, 0] > 0)
    assert len(reach) == ops.receptive_field(layers).size
    with pytest.raises(ValueError, match="blocks must be <= 64"):
        ops.build_stack(10**6)
    with pytest.raises(TypeError, match="pool must be True or False"):
        ops.build_stack(pool="yes")


def test_pooling_compute_against_tf_and_shift():
    rng = np.random.default_rng(0)
    img = rng.random((64, 64)).astype(np.float32)
    for size, stride, mode in ((2, 2, "max"), (3, 2, "max"), (4, 4, "avg")):
        r = ops.pooling_compute(img, size, stride, mode, shift=2)
        fn = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
        ref = fn(img[None, :, :, None], size, stride, "VALID").numpy()[0, :, :, 0]
        np.testing.assert_allclose(r["pooled"], ref, atol=1e-6)
        if mode == "max":
            assert set(np.unique(img[r["winners"]])) == set(np.unique(r["pooled"]))
        else:
            assert r["winners"] is None
    still = ops.pooling_compute(img, 2, 2, "max", shift=0)
    assert still["raw_change"] == still["pooled_change"] == 0 and still["unchanged_fraction"] == 1
    moved = ops.pooling_compute(img, 2, 2, "max", shift=1)
    assert moved["pooled_change"] < moved["raw_change"] and moved["shift"] == 1
    for kwargs, exc, match in ((dict(mode="min"), ValueError, "mode must be"), (dict(shift=17), ValueError, "shift"),
                               (dict(shift=1.5), TypeError, "shift must be an integer"),
                               (dict(size=0), ValueError, "size")):
        with pytest.raises(exc, match=match):
            ops.pooling_compute(img, **kwargs)
    with pytest.raises(ValueError, match="at least 17 pixels wide"):
        ops.pooling_compute(np.zeros((8, 8)))
    with pytest.raises(TypeError, match="image must be a numeric array"):
        ops.pooling_compute("lung CT")


def test_nodule_erasure_avg_only_dilutes_and_max_keeps_longer():
    rng = np.random.default_rng(2)
    img = (0.2 * rng.random((128, 128))).astype(np.float32)
    small = ops.nodule_erasure(img, 3.0, 5, centre=(60, 70))
    big = ops.nodule_erasure(img, 16.0, 5, centre=(60, 70))
    avg = np.array(small["retained"]["avg"])
    assert avg[0] == pytest.approx(1.0) and np.all(np.diff(avg) <= 1e-9) and avg[3] < 0.25
    assert big["retained"]["avg"][3] > 0.5
    assert small["retained"]["max"][3] > avg[3]   # max pooling keeps the bright spot longer
    # the retained contrast at depth 1 equals the pooled difference computed with TensorFlow
    d = tf.nn.avg_pool2d((small["with_nodule"] - img)[None, :, :, None], 2, 2, "VALID").numpy()
    assert small["retained"]["avg"][1] == pytest.approx(float(np.abs(d).max()) / float(np.abs(small["with_nodule"]
                                                                                           - img).max()), rel=1e-5)
    assert small["with_nodule"].dtype == np.float32 and small["centre"] == (60, 70)
    for kwargs, exc, match in ((dict(diameter=-2.0), ValueError, "diameter must be"),
                               (dict(diameter="3"), TypeError, "diameter must be a number"),
                               (dict(max_depth=8), ValueError, "max_depth must be <= 7"),
                               (dict(centre=(500, 10)), ValueError, "centre row must be"),
                               (dict(centre=5), TypeError, "centre must be")):
        args = {"diameter": 3.0, "centre": (60, 70), **kwargs}
        with pytest.raises(exc, match=match):
            ops.nodule_erasure(img, **args)
    with pytest.raises(ValueError, match="too small"):
        ops.nodule_erasure(np.zeros((16, 16)), 2.0, 5, centre=(8, 8))


def test_conv2d_sparse_kernels_skip_zero_taps_exactly():
    """Zero taps are skipped (02's off-centre kernel: one non-zero of 625): the result still equals scipy's,
    for single- and multi-channel kernels, and an all-zero kernel gives zeros (plus the bias)."""
    import scipy.signal

    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 37))
    w = rng.normal(size=(7, 9)) * (rng.random((7, 9)) < 0.2)
    w[0, 0] = 1.0
    assert np.allclose(ops.conv2d(x, w), scipy.signal.correlate2d(x, w, "valid"), atol=1e-12)
    k = np.zeros((25, 25)); k[0, 0] = 1.0
    assert np.allclose(ops.correlate2d(x[:30, :30], k, "same"), scipy.signal.correlate2d(x[:30, :30], k, "same"))
    xc = rng.normal(size=(2, 12, 12, 3))
    wc = rng.normal(size=(3, 3, 3, 2)); wc[1, 2] = 0.0; wc[0, 0] = 0.0
    ref = sum(scipy.signal.correlate(xc[..., ci], wc[None, :, :, ci, co], "valid")[..., None] * (np.arange(2) == co)
              for ci in range(3) for co in range(2))
    assert np.allclose(ops.conv2d(xc, wc), ref, atol=1e-12)
    assert np.array_equal(ops.conv2d(x, np.zeros((3, 3)), b=0.5), np.full((38, 35), 0.5))
