"""Pure compute/render functions of the convolution/pooling widgets, on the real lung CT, plus the builders."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from medlab import ops
from medlab.widgets import conv as wc


@pytest.fixture(scope="module")
def ct():
    return wc.lung_slice()


def test_lung_slice_and_patch(ct):
    assert ct.shape == (512, 512) and ct.dtype == np.float32 and 0 <= ct.min() and ct.max() <= 1
    patch = wc.stepper_patch()
    assert patch.shape == (8, 8)
    # the patch straddles the tumour edge: dark lung at the top, brighter tissue at the bottom
    assert patch[-1].mean() > patch[0].mean() + 0.2
    with pytest.raises(ValueError, match="index must be a slice"):
        wc.lung_slice(99)


# ------------------------------------------------------------------------ stepper

@pytest.mark.parametrize("step,stride,padding,dilation", [(0, 1, 0, 1), (20, 1, 1, 2), (3, 2, 2, 1), (999, 3, 1, 1)])
def test_conv_step_matches_conv2d(step, stride, padding, dilation):
    x = wc.stepper_patch()
    k = ops.KERNELS["sobel_y"]
    r = wc.conv_step(x, k, step, stride, padding, dilation)
    full = ops.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    assert r["ok"] and r["out_shape"] == full.shape
    assert r["out_shape"][0] == ops.output_size(8, 3, padding, stride, dilation)
    assert r["formula"].endswith(f"= {full.shape[0]}")
    assert r["step"] == min(step, r["n_steps"] - 1)
    assert r["explanation"].total == pytest.approx(full[r["i"], r["j"]])
    done = np.isfinite(r["output"])
    assert done.sum() == r["step"] + 1
    np.testing.assert_allclose(r["output"][done], full[done])
    img = wc.render_conv_step(x, r, k)
    assert img.dtype == np.uint8 and img.ndim == 3
    # the padded input grid is drawn with 40-px cells
    assert img.shape[0] >= (8 + 2 * padding) * 40


@pytest.mark.parametrize("stride,padding,dilation,rule", [(1, 0, 4, "larger than the padded input"),
                                                          (0, 0, 1, "stride must be")])
def test_conv_step_invalid_is_flagged_not_raised(stride, padding, dilation, rule):
    x = wc.stepper_patch()
    r = wc.conv_step(x, ops.KERNELS["box"], 0, stride, padding, dilation)
    assert not r["ok"] and "⚠" in r["message"] and rule in r["message"]
    img = wc.render_conv_step(x, r, ops.KERNELS["box"])  # still draws the input
    assert img.shape[:2] == (8 * 40, 8 * 40)


# ------------------------------------------------------------------------ kernel explorer

@pytest.mark.parametrize("name", ["sobel_y", "gaussian", "sharpen", "emboss"])
def test_kernel_explorer_equals_tensorflow(ct, name):
    k = ops.KERNELS[name]
    r = wc.kernel_explorer_compute(ct, k)
    assert r["ok"] and r["max_abs_diff"] < 1e-5
    np.testing.assert_allclose(r["ours"], ops.conv2d(ct, k.astype(np.float32), padding="same"))
    assert r["ours"].shape == ct.shape
    img = wc.render_kernel_explorer(ct, r, k)
    assert img.shape == (512, 3 * 512 + 16) and img.dtype == np.uint8
    assert "max |ours − tf.nn.conv2d|" in r["message"]


def test_kernel_explorer_images_by_name():
    r = wc.kernel_explorer_compute("chest X-ray", ops.KERNELS["box"])
    assert r["ok"] and r["ours"].shape == (512, 512)
    with pytest.raises(ValueError, match="image must be"):
        wc.kernel_explorer_compute("MRI", ops.KERNELS["box"])


@pytest.mark.parametrize("kernel,rule", [(np.full((3, 3), np.nan), "finite"), (np.ones((2, 2)), "odd sides"),
                                         (np.ones(3), "odd sides")])
def test_kernel_explorer_invalid_kernel_flagged(ct, kernel, rule):
    r = wc.kernel_explorer_compute(ct, kernel)
    assert not r["ok"] and rule in r["message"] and "⚠" in r["message"]
    assert wc.render_kernel_explorer(ct, r, kernel).shape == (512, 512)


# ------------------------------------------------------------------------ pooling

@pytest.mark.parametrize("size,stride,mode", [(2, 2, "max"), (3, 2, "max"), (4, 4, "avg"), (2, 1, "avg")])
def test_pooling_compute_matches_tf(ct, size, stride, mode):
    r = wc.pooling_compute(ct, size, stride, mode, shift=2)
    assert r["ok"] and r["max_abs_diff_tf"] < 1e-6
    assert r["pooled"].shape == (ops.output_size(512, size, 0, stride),) * 2
    if mode == "max":
        assert set(np.unique(ct[r["winners"]])) == set(np.unique(r["pooled"]))
    else:
        assert r["winners"] is None
    img = wc.render_pooling(ct, r)
    assert img.shape[0] == 512 and img.dtype == np.uint8


def test_pooling_translation_demo(ct):
    still = wc.pooling_compute(ct, 2, 2, "max", shift=0)
    assert still["raw_change"] == 0 and still["pooled_change"] == 0 and still["unchanged_fraction"] == 1
    moved = wc.pooling_compute(ct, 2, 2, "max", shift=1)
    assert 0 < moved["unchanged_fraction"] < 1
    # max pooling absorbs part of a one-pixel shift: the pooled maps differ less than the raw images
    assert moved["pooled_change"] < moved["raw_change"]


@pytest.mark.parametrize("kwargs,rule", [(dict(size=0), "size must be"), (dict(size=600), "pool window"),
                                         (dict(mode="min"), "mode must be"), (dict(shift=-1), "shift must be")])
def test_pooling_invalid_flagged(ct, kwargs, rule):
    r = wc.pooling_compute(ct, **kwargs)
    assert not r["ok"] and rule in r["message"]
    assert wc.render_pooling(ct, r).shape[0] == 512


def test_nodule_erasure_on_real_slice(ct):
    small = wc.nodule_erasure(ct, 3.0, 5)
    big = wc.nodule_erasure(ct, 16.0, 5)
    assert small["ok"] and small["retained"]["avg"][0] == pytest.approx(1.0)
    avg_small = np.array(small["retained"]["avg"])
    assert np.all(np.diff(avg_small) <= 1e-9)           # averaging only ever dilutes
    assert avg_small[3] < 0.25                         # a 3-px nodule is gone after 3 average poolings
    assert big["retained"]["avg"][3] > 0.5             # a 16-px one survives them
    assert small["retained"]["max"][3] > avg_small[3]  # max pooling keeps the bright spot longer
    img = wc.render_nodule(small, 2, "avg")
    assert img.shape == (256, 2 * 256 + 8, 3)
    bad = wc.nodule_erasure(ct, -2.0)
    assert not bad["ok"] and "diameter must be" in bad["message"]


# ------------------------------------------------------------------------ receptive field

@pytest.mark.parametrize("blocks,kernel,convs,dil,pool", [(2, 3, 1, 1, True), (3, 5, 2, 1, True), (1, 3, 3, 2, False)])
def test_receptive_field_compute(ct, blocks, kernel, convs, dil, pool):
    layers = wc.build_stack(blocks, kernel, convs, dil, pool)
    r = wc.receptive_field_compute(layers)
    assert r["ok"] and r["table"][-1] == ops.receptive_field(layers, input_size=512)
    n = 512
    for layer in layers:
        n = ops.output_size(n, layer[1], 0, layer[2], layer[3] if layer[0] == "conv" else 1)
    assert r["out_size"] == n
    assert all(0 <= p < n for p in r["pixel"])
    img = wc.render_receptive_field(ct, r)
    assert img.shape == (512, 512, 3)
    assert (img[..., 0] != img[..., 2]).any()  # coloured boxes drawn


@pytest.mark.parametrize("layers,rule", [([], "empty"),
                                         (wc.build_stack(6, 7, 3, 4, True), "larger than the padded input")])
def test_receptive_field_invalid_flagged(ct, layers, rule):
    r = wc.receptive_field_compute(layers)
    assert not r["ok"] and rule in r["message"]
    assert wc.render_receptive_field(ct, r).shape == (512, 512, 3)


# ------------------------------------------------------------------------ builders (no kernel needed)

def test_builders_render_and_update():
    from medlab.widgets import conv_stepper, kernel_explorer, nodule_pooling_explorer, pooling_explorer, \
        receptive_field_explorer

    st = conv_stepper()
    first = st.render()
    assert first[:4] == b"\x89PNG"
    st.controls["step"].value = 5
    assert st.render() != first
    st.controls["dilation"].value = 4  # invalid on an 8x8 patch: flagged, not raised
    assert "⚠" in st.children[2].value
    st.controls["dilation"].value = 1
    st.controls["next"].click()

    ke = kernel_explorer()
    before = ke.render()
    ke.controls["preset"].value = "gaussian"
    assert ke.render() != before
    ke.controls["cells"][4].value = 3.0
    assert "max |ours" in ke.children[1].value

    for builder, name, value in [(pooling_explorer, "size", 4), (nodule_pooling_explorer, "depth", 4),
                                 (receptive_field_explorer, "blocks", 3)]:
        wdg = builder()
        a = wdg.render()
        wdg.controls[name].value = value
        assert wdg.render() != a


# ======================================================================== round 2 widgets

def test_param_count_compute_matches_keras():
    import keras

    r = wc.param_count_compute(64, 5, 3, 8, 16)
    dense = keras.layers.Dense(16)
    dense.build((None, 64 * 64 * 3))
    conv = keras.layers.Conv2D(8, 5)
    conv.build((None, 64, 64, 3))
    assert r["ok"] and r["params"][0] == dense.count_params() and r["params"][2] == conv.count_params()
    assert r["params"][1] == ops.dense_params(64 * 64 * 3, 64 * 64 * 8)
    assert r["bytes"] == [4 * p for p in r["params"]]
    # the conv count does not depend on the image size, the dense ones grow with it
    big = wc.param_count_compute(512, 5, 3, 8, 16)
    assert big["params"][2] == r["params"][2] and big["params"][0] > r["params"][0]


@pytest.mark.parametrize("kwargs,rule", [(dict(kernel_size=33, image_size=32), "larger than the image"),
                                         (dict(c_in=0), "c_in must be"), (dict(units=2.5), "units must be")])
def test_param_count_invalid_flagged(kwargs, rule):
    r = wc.param_count_compute(**kwargs)
    assert not r["ok"] and rule in r["message"] and "⚠" in r["message"]


@pytest.mark.parametrize("name,offset", [("off-centre 1", 4), ("emboss", 1), ("sobel_x", 1), ("gaussian", 1)])
def test_flip_compute_against_scipy(ct, name, offset):
    import scipy.signal

    k = wc.flip_kernel(name, offset)
    r = wc.flip_compute(ct, k)
    assert r["ok"] and r["diff_flip"] < 1e-12 and r["diff_scipy"] < 1e-12
    np.testing.assert_allclose(r["corr"], scipy.signal.correlate2d(r["x"], k, "same"), atol=1e-12)
    assert r["symmetric"] == (name == "gaussian") and r["antisymmetric"] == (name == "sobel_x")
    if name in ("off-centre 1", "emboss"):
        assert r["diff_corr_conv"] > 0.1
    img = wc.render_flip(r)
    assert img.dtype == np.uint8 and img.shape[0] == 2 * wc.FLIP_CROP[2] + 24


def test_flip_off_centre_shifts_opposite_ways(ct):
    r = wc.flip_compute(ct, wc.flip_kernel("off-centre 1", 3))
    x = r["x"]
    # correlation reads x[i-3, j-3] (the image moves down-right), convolution x[i+3, j+3] (up-left)
    np.testing.assert_allclose(r["corr"][3:, 3:], x[:-3, :-3])
    np.testing.assert_allclose(r["conv"][:-3, :-3], x[3:, 3:])


@pytest.mark.parametrize("kernel,rule", [(np.ones((200, 3)), "larger than"), (np.full((3, 3), np.inf), "finite")])
def test_flip_invalid_flagged(ct, kernel, rule):
    r = wc.flip_compute(ct, kernel)
    assert not r["ok"] and rule in r["message"]
    assert wc.render_flip(r).shape[0] == 2 * wc.FLIP_CROP[2] + 24
    with pytest.raises(ValueError, match="offset must be"):
        wc.flip_kernel("off-centre 1", 0)


@pytest.mark.parametrize("n,k,p,s,d", [(7, 3, 0, 2, 1), (8, 3, 1, 2, 2), (16, 5, 2, 3, 1), (5, 1, 0, 1, 1),
                                       (9, 3, 3, 4, 3)])
def test_output_size_compute_matches_tf(n, k, p, s, d):
    tf = wc._tf()
    r = wc.output_size_compute(n, k, p, s, d)
    x = np.ones((1, n, n, 1), np.float32)
    ref = tf.nn.conv2d(x, np.ones((k, k, 1, 1), np.float32), s, [[0, 0], [p, p], [p, p], [0, 0]], dilations=d)
    assert r["ok"] and r["n_out"] == ref.shape[1] and r["formula"].endswith(f"= {ref.shape[1]}")
    assert r["starts"] == list(range(0, s * r["n_out"], s))
    assert r["starts"][-1] + r["taps"][-1] <= n + 2 * p - 1          # the last window fits
    # the pixels never read: brute force with im2col on an image of pixel numbers (0 = padding)
    ids = np.arange(1, n * n + 1, dtype=np.float64).reshape(n, n)
    read = set(np.unique(ops.im2col(ids, k, s, p, d)).astype(int)) - {0}
    assert n * n - len(read) == n * n - (n - r["unused"]) ** 2
    img = wc.render_output_size(r, window=r["n_out"] ** 2 - 1)
    assert img.dtype == np.uint8 and img.shape[0] == (n + 2 * p) * 32


@pytest.mark.parametrize("args,rule", [((8, 3, 0, 1, 4), "larger than the padded input"),
                                       ((8, 3, 0, 0, 1), "stride must be"), ((0, 3, 0, 1, 1), "n must be"),
                                       ((8, 3, -1, 1, 1), "padding must be")])
def test_output_size_invalid_flagged(args, rule):
    r = wc.output_size_compute(*args)
    assert not r["ok"] and rule in r["message"] and "⚠" in r["message"]
    assert wc.render_output_size(r).dtype == np.uint8


def test_channel_mix_is_a_1x1_conv():
    x3 = wc.ct_channels()
    assert x3.shape == (512, 512, 3) and 0 <= x3.min() and x3.max() <= 1
    np.testing.assert_allclose(x3[..., 0], wc.lung_slice(), atol=1e-6)   # channel 0 = the lung window
    r = wc.channel_mix_compute(x3, [0.5, -0.25, 1.0], 0.1)
    assert r["ok"] and r["max_abs_diff"] < 1e-5
    np.testing.assert_allclose(r["y"], x3 @ np.array([0.5, -0.25, 1.0], np.float32) + 0.1, atol=1e-5)
    assert r["lo"] == pytest.approx(-0.15) and r["hi"] == pytest.approx(1.6)
    assert wc.render_channel_mix(x3, r).shape == (512, 256 + 10 + 512)
    bad = wc.channel_mix_compute(x3, [1.0, np.nan, 0.0])
    assert not bad["ok"] and "finite" in bad["message"]
    assert not wc.channel_mix_compute(x3[..., :2], [1, 1, 1])["ok"]


@pytest.mark.parametrize("k,s,pixel", [(3, 1, 14), (2, 2, 5), (5, 3, 3), (1, 1, 63), (3, 2, 999)])
def test_im2col_compute(k, s, pixel):
    x = wc.stepper_patch()
    r = wc.im2col_compute(x, k, s, pixel)
    n_out = ops.output_size(8, k, 0, s)
    assert r["ok"] and r["cols"].shape == (n_out * n_out, k * k) and r["row"] == min(pixel, n_out * n_out - 1)
    window = x[np.ix_(r["rows"], r["cols_idx"])]
    np.testing.assert_allclose(r["cols"][r["row"]], window.ravel())
    assert r["dot"] == pytest.approx(r["conv"]) == pytest.approx(window.mean())
    img = wc.render_im2col(r)
    assert img.dtype == np.uint8 and img.shape[0] >= 8 * 40


def test_im2col_invalid_flagged():
    r = wc.im2col_compute(wc.stepper_patch(), 9, 1)
    assert not r["ok"] and "larger than the padded input" in r["message"]
    assert wc.render_im2col(r).shape[:2] == (320, 320)


def test_speed_compute_small_and_capped(ct):
    small = wc.speed_compute(ct, 32, 3, repeats=1)
    assert small["ok"] and all(m is not None and m > 0 for m in small["ms"]) and small["max_abs_diff"] < 1e-5
    assert small["macs"] == 30 * 30 * 9
    big = wc.speed_compute(ct, 256, 3, repeats=1)
    assert big["ok"] and big["ms"][0] is None and "skipped" in big["message"]
    for kwargs, rule in ((dict(size=4), "size must be"), (dict(kernel_size=0), "kernel_size must be"),
                         (dict(repeats=0), "repeats must be")):
        bad = wc.speed_compute(ct, **{"size": 32, "kernel_size": 3, **kwargs})
        assert not bad["ok"] and rule in bad["message"]


def test_dense_neuron_compute():
    import keras

    xte, yte = wc.pneumonia_data()["test"]
    t = wc.dense_template(wc.DENSE_TEMPLATES[0])
    xtr, _ = wc.pneumonia_data()["train"]
    assert (xtr.reshape(len(xtr), -1) @ t.ravel()).std() == pytest.approx(1.0, rel=1e-4)
    layer = keras.layers.Dense(1, activation="sigmoid")
    layer.build((None, 784))
    layer.set_weights([t.reshape(784, 1), np.array([-3.0], np.float32)])
    scores = xte.reshape(len(xte), -1) @ t.ravel()
    r = wc.dense_neuron_compute(xte[0], t, -3.0, scores, yte)
    assert r["ok"] and r["p"] == pytest.approx(float(np.asarray(layer(xte[:1].reshape(1, -1)))[0, 0]), abs=1e-5)
    assert r["z"] == pytest.approx(float(r["products"].sum()) - 3.0)
    # the class-mean template centred on the training mean beats always saying "pneumonia"
    centred = wc.dense_neuron_compute(xte[0], t, -wc.dense_template_mean(wc.DENSE_TEMPLATES[0]), scores, yte)
    assert centred["accuracy"] > yte.mean() + 0.05
    img = wc.render_dense_neuron(xte[0], t, r)
    assert img.shape == (224, 3 * 224 + 24, 3)
    bad = wc.dense_neuron_compute(xte[0], np.ones((27, 28)))
    assert not bad["ok"] and "must match" in bad["message"]
    with pytest.raises(ValueError, match="template must be"):
        wc.dense_template("nope")


@pytest.fixture(scope="module")
def small_model():
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    x = ops.pool2d(wc.lung_slice()[256:320, 128:192], 2, mode="avg")[None, :, :, None].astype(np.float32)
    return model, x


def test_feature_maps_match_keras(small_model):
    import keras

    model, x = small_model
    r = wc.feature_maps_compute(model, x)
    probe = keras.Model(model.inputs[0], [layer.output for layer in model.layers])
    for ours, ref, layer, p in zip(r["outputs"], probe(x), model.layers, r["params"]):
        np.testing.assert_allclose(ours, np.asarray(ref)[0], atol=1e-5)
        assert p == layer.count_params()
    for layer, channel in ((0, 3), (1, 0), (2, 0), (3, 0)):
        img, txt = wc.render_feature_map(r, layer, channel, size=96)
        assert img.shape == (96, 2 * 96 + 12, 3) and "parameters" in txt
    assert "channel must be" in wc.render_feature_map(r, 0, 4, size=96)[1]
    assert "layer must be" in wc.render_feature_map(r, 9, 0, size=96)[1]
    bad = wc.feature_maps_compute(model, x, steps=[("a", x)])
    assert not bad["ok"] and "steps has 1 entries" in bad["message"]


def test_round2_builders_render_and_update(small_model):
    from medlab.widgets import (channel_mix_explorer, dense_neuron_explorer, feature_map_explorer, flip_explorer,
                                im2col_explorer, output_size_explorer, param_count_explorer, speed_explorer)

    for builder, name, value in [(param_count_explorer, "size", 512), (flip_explorer, "kernel", "emboss"),
                                 (output_size_explorer, "dilation", 2), (channel_mix_explorer, "bone", 0.5),
                                 (im2col_explorer, "pixel", 7), (dense_neuron_explorer, "image", 5),
                                 (lambda: feature_map_explorer(*small_model), "channel", 2)]:
        wdg = builder()
        a = wdg.render()
        wdg.controls[name].value = value
        assert wdg.render() != a, builder
    dn = dense_neuron_explorer()
    chart = dn.children[3].children[1]
    before = chart.value
    dn.controls["bias"].value = dn.controls["bias"].value + 2.0   # the histograms move past the threshold
    assert chart.value != before
    ose = output_size_explorer()
    ose.controls["dilation"].value = 4
    ose.controls["k"].value = 7   # does not fit: flagged, not raised
    assert "⚠" in ose.children[2].value
    sp = speed_explorer()
    sp.controls["size"].value = 32
    assert "press" in sp.children[1].value
    before = sp.children[2].value
    sp.controls["measure"].click()
    assert sp.children[2].value != before and "32×32 crop" in sp.children[1].value
