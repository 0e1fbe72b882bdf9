"""The 02 widgets (medlab.widgets.convolution): compute functions against TensorFlow / Keras / scipy, renderers,
and the builders through ``.controls`` / ``.panes`` / ``.message`` (the wiring is covered by the contract test)."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from medlab import ops  # noqa: E402
from medlab.samples import ct_channels, lung_slice, stepper_patch  # noqa: E402
from medlab.widgets import convolution as wc  # noqa: E402

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def ct():
    return lung_slice()


# ------------------------------------------------------------------------ 02 §2 stepper

@pytest.mark.parametrize("step,stride,padding,dilation", [(0, 1, 0, 1), (20, 1, 1, 2), (3, 2, 2, 1), (999, 3, 1, 1)])
def test_conv_step_matches_conv2d(step, stride, padding, dilation):
    x = stepper_patch()
    k = ops.KERNELS["sobel_y"]
    r = wc.conv_step(x, k, step, stride, padding, dilation)
    full = ops.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    assert r["ok"] and r["out_shape"] == full.shape and r["warnings"] == []
    assert r["out_shape"][0] == ops.output_size(8, 3, padding, stride, dilation)
    assert r["formula"].endswith(f"= {full.shape[0]}")
    assert r["step"] == min(step, r["n_steps"] - 1)
    assert r["message"] == f"Output pixel ({r['i']}, {r['j']}) — step {r['step'] + 1} of {r['n_steps']}"
    assert r["explanation"].total == pytest.approx(full[r["i"], r["j"]])
    done = np.isfinite(r["output"])
    assert done.sum() == r["step"] + 1
    np.testing.assert_allclose(r["output"][done], full[done])
    img = wc.render_conv_step(x, r, k)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[0] >= (8 + 2 * padding) * 40


@pytest.mark.parametrize("stride,padding,dilation,rule", [(1, 0, 4, "larger than the padded input"),
                                                          (0, 0, 1, "stride must be")])
def test_conv_step_invalid_is_flagged_not_raised(stride, padding, dilation, rule):
    x = stepper_patch()
    r = wc.conv_step(x, ops.KERNELS["box"], 0, stride, padding, dilation)
    assert not r["ok"] and rule in r["message"] and "<" not in r["message"]   # plain text
    assert wc.render_conv_step(x, r, ops.KERNELS["box"]).shape[:2] == (8 * 40, 8 * 40)   # still draws the input


def test_conv_stepper_counter_is_the_step_shown():
    """Issue 14: the Step slider said 0 while the readout said "step 1 of 36" (off by one)."""
    st = wc.conv_stepper()
    step = st.controls["step"]
    n = wc.conv_step(stepper_patch(), ops.KERNELS["sobel_y"])["n_steps"]
    assert (step.min, step.max, step.value) == (1, n, 1)
    assert f"step 1 of {n}" in st.readout.value and "Output pixel (0, 0)" in st.readout.value
    step.value = n
    assert f"step {n} of {n}" in st.readout.value and "Output pixel (5, 5)" in st.readout.value
    st.click("next")                     # wraps around to the first step
    assert step.value == 1 and f"step 1 of {n}" in st.readout.value
    st.click("next")
    assert step.value == 2 and f"step 2 of {n}" in st.readout.value and "Output pixel (0, 1)" in st.readout.value
    st.set(padding=1)                    # 10x10 padded input -> 64 steps: the range follows
    assert step.max == 64
    st.set(padding=0, dilation=4)        # invalid on an 8x8 patch: flagged, not raised
    assert "larger than the padded input" in st.message and st.last_exception is None
    st.controls["dilation"].value = 1
    assert st.message == ""


# ------------------------------------------------------------------------ 02 §5 kernel explorer

@pytest.mark.parametrize("name", ["sobel_y", "gaussian", "sharpen", "emboss"])
def test_kernel_explorer_equals_tensorflow(ct, name):
    k = ops.KERNELS[name]
    r = wc.kernel_explorer_compute(ct, k)
    assert r["ok"] and r["max_abs_diff"] < 1e-5
    np.testing.assert_allclose(r["ours"], ops.conv2d(ct, k.astype(np.float32), padding="same"))
    img = wc.render_kernel_explorer(ct, r, k)
    assert img.shape == (512, 3 * 512 + 16) and img.dtype == np.uint8
    assert "max |ours − tf.nn.conv2d|" in r["message"]


def test_kernel_explorer_images_by_name():
    r = wc.kernel_explorer_compute("chest X-ray", ops.KERNELS["box"])
    assert r["ok"] and r["ours"].shape == (512, 512)
    with pytest.raises(ValueError, match="name must be one of"):
        wc.kernel_explorer_compute("MRI", ops.KERNELS["box"])


@pytest.mark.parametrize("kernel,rule", [(np.full((3, 3), np.nan), "finite"), (np.ones((2, 2)), "odd sides"),
                                         (np.ones(3), "odd sides")])
def test_kernel_explorer_invalid_kernel_flagged(ct, kernel, rule):
    r = wc.kernel_explorer_compute(ct, kernel)
    assert not r["ok"] and rule in r["message"]
    assert wc.render_kernel_explorer(ct, r, kernel).shape == (512, 512)


def test_kernel_explorer_times_a_warm_tensorflow_call(monkeypatch):
    """Issue 14: the first tf.nn.conv2d call for a shape builds its kernels (~200 ms vs ~3 ms warm); the readout
    timed that cold call. Simulate a cold first call of 300 ms: the reported time must be the warm one."""
    import time

    import tensorflow as tf

    real = tf.nn.conv2d
    calls = []

    def cold_first(*args, **kwargs):
        if not calls:
            time.sleep(0.3)
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tf.nn, "conv2d", cold_first)
    wc._TF_WARM.clear()
    img = np.random.default_rng(0).random((37, 41)).astype(np.float32)   # a shape not used before
    r = wc.kernel_explorer_compute(img, ops.KERNELS["sobel_x"])
    assert r["ok"] and r["ms_tf"] < 150 and len(calls) == 2 and "(warm)" in r["message"]
    r2 = wc.kernel_explorer_compute(img, ops.KERNELS["gaussian"])
    assert len(calls) == 3 and r2["ms_tf"] < 150    # warmed once per shape


def test_kernel_explorer_preset_sets_the_cells_in_one_render():
    ke = wc.kernel_explorer()
    assert [ke.controls[f"w{r}{c}"].value for r in range(3) for c in range(3)] == \
        ops.KERNELS["sobel_y"].ravel().tolist()
    before, renders = ke.png, ke.renders
    ke.controls["preset"].value = "gaussian"
    assert ke.renders == renders + 1 and ke.png != before
    np.testing.assert_allclose([ke.controls[f"w{r}{c}"].value for r in range(3) for c in range(3)],
                               np.round(ops.KERNELS["gaussian"].ravel(), 4))
    ke.controls["w11"].value = 3.0         # a hand edit releases the preset
    assert ke.controls["preset"].value is None and "max |ours" in ke.readout.value


# ------------------------------------------------------------------------ 02 §1 parameter counts

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
    big = wc.param_count_compute(512, 5, 3, 8, 16)   # the conv count does not depend on the image size
    assert big["params"][2] == r["params"][2] and big["params"][0] > r["params"][0]


@pytest.mark.parametrize("kwargs,rule", [(dict(kernel_size=33, image_size=32), "larger than the image"),
                                         (dict(c_in=0), "c_in must be"), (dict(units=2.5), "units must be")])
def test_param_count_invalid_flagged(kwargs, rule):
    r = wc.param_count_compute(**kwargs)
    assert not r["ok"] and rule in r["message"]


def test_param_count_explorer_chart_follows_the_size():
    pc = wc.param_count_explorer()
    before = pc.png
    pc.controls["size"].value = 512
    assert pc.png != before and "512×512×1 = 262,144 numbers" in pc.readout.value


# ------------------------------------------------------------------------ 02 §3 flip

@pytest.mark.parametrize("name,offset", [("off-centre 1", 4), ("emboss", 1), ("sobel_x", 1), ("gaussian", 1)])
def test_flip_compute_against_scipy(ct, name, offset):
    import scipy.signal

    k = ops.flip_kernel(name, offset)
    r = wc.flip_compute(ct, k)
    assert r["ok"] and r["diff_flip"] < 1e-12 and r["diff_scipy"] < 1e-12
    np.testing.assert_allclose(r["corr"], scipy.signal.correlate2d(r["x"], k, "same"), atol=1e-12)
    assert r["symmetric"] == (name == "gaussian") and r["antisymmetric"] == (name == "sobel_x")
    if name in ("off-centre 1", "emboss"):
        assert r["diff_corr_conv"] > 0.1
    img = wc.render_flip(r)
    assert img.dtype == np.uint8 and img.shape[0] == 2 * wc.FLIP_CROP[2] + 24


@pytest.mark.parametrize("kernel,rule", [(np.ones((200, 3)), "larger than"), (np.full((3, 3), np.inf), "finite")])
def test_flip_invalid_flagged(ct, kernel, rule):
    r = wc.flip_compute(ct, kernel)
    assert not r["ok"] and rule in r["message"]
    assert wc.render_flip(r).shape[0] == 2 * wc.FLIP_CROP[2] + 24


def test_flip_explorer_offset_moves_the_picture():
    fl = wc.flip_explorer()
    before = fl.png
    fl.controls["offset"].value = 3
    assert fl.png != before and "neither symmetric" in fl.readout.value
    fl.controls["kernel"].value = "gaussian"
    assert "convolution = correlation" in fl.readout.value and "off-centre kernel only" in fl.readout.value


# ------------------------------------------------------------------------ 02 §4 output size

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
    ids = np.arange(1, n * n + 1, dtype=np.float64).reshape(n, n)   # pixels never read, by brute force
    read = set(np.unique(ops.im2col(ids, k, s, p, d)).astype(int)) - {0}
    assert n * n - len(read) == n * n - (n - r["unused"]) ** 2
    img = wc.render_output_size(r, window=r["n_out"] ** 2 - 1)
    assert img.dtype == np.uint8 and img.shape[0] == (n + 2 * p) * 32


@pytest.mark.parametrize("args,rule", [((8, 3, 0, 1, 4), "larger than the padded input"),
                                       ((8, 3, 0, 0, 1), "stride must be"), ((0, 3, 0, 1, 1), "n must be"),
                                       ((8, 3, -1, 1, 1), "padding must be")])
def test_output_size_invalid_flagged(args, rule):
    r = wc.output_size_compute(*args)
    assert not r["ok"] and rule in r["message"]
    assert wc.render_output_size(r).dtype == np.uint8


def test_output_size_explorer_window_range_and_flags():
    ose = wc.output_size_explorer()
    assert ose.controls["window"].max == 8          # 3x3 windows for n=7, k=3, s=2
    ose.set(window=8, stride=1)                     # 5x5 windows: the range grows, the value is kept
    assert ose.controls["window"].max == 24 and ose.controls["window"].value == 8
    ose.controls["dilation"].value = 4
    ose.controls["k"].value = 7                     # does not fit: flagged, not raised
    assert "larger than the padded input" in ose.message and ose.controls["window"].max == 0


# ------------------------------------------------------------------------ 02 §6 channel mix

def test_channel_mix_is_a_1x1_conv():
    x3 = ct_channels()
    r = wc.channel_mix_compute(x3, [0.5, -0.25, 1.0], 0.1)
    assert r["ok"] and r["max_abs_diff"] < 1e-5
    np.testing.assert_allclose(r["y"], x3 @ np.array([0.5, -0.25, 1.0], np.float32) + 0.1, atol=1e-5)
    assert r["lo"] == pytest.approx(-0.15) and r["hi"] == pytest.approx(1.6)
    assert wc.render_channel_mix(x3, r).shape == (512, 256 + 10 + 512)
    bad = wc.channel_mix_compute(x3, [1.0, np.nan, 0.0])
    assert not bad["ok"] and "finite" in bad["message"]
    assert not wc.channel_mix_compute(x3[..., :2], [1, 1, 1])["ok"]


def test_channel_mix_explorer_bone_weight():
    cm = wc.channel_mix_explorer()
    before = cm.png
    cm.controls["bone"].value = 0.5
    assert cm.png != before and "+0.50·bone" in cm.readout.value


# ------------------------------------------------------------------------ 02 §7 im2col

@pytest.mark.parametrize("k,s,pixel", [(3, 1, 14), (2, 2, 5), (5, 3, 3), (1, 1, 63), (3, 2, 999)])
def test_im2col_compute(k, s, pixel):
    x = stepper_patch()
    r = wc.im2col_compute(x, k, s, pixel)
    n_out = ops.output_size(8, k, 0, s)
    assert r["ok"] and r["cols"].shape == (n_out * n_out, k * k) and r["row"] == min(pixel, n_out * n_out - 1)
    window = x[np.ix_(r["rows"], r["cols_idx"])]
    np.testing.assert_allclose(r["cols"][r["row"]], window.ravel())
    assert r["dot"] == pytest.approx(r["conv"]) == pytest.approx(window.mean())
    img = wc.render_im2col(r)
    assert img.dtype == np.uint8 and img.shape[0] >= 8 * 40


def test_im2col_invalid_flagged_and_explorer_range():
    r = wc.im2col_compute(stepper_patch(), 9, 1)
    assert not r["ok"] and "larger than the padded input" in r["message"]
    assert wc.render_im2col(r).shape[:2] == (320, 320)
    ic = wc.im2col_explorer()
    assert ic.controls["pixel"].max == 35
    ic.controls["pixel"].value = 35
    ic.controls["kernel"].value = 5                 # 4x4 output: the pixel is clamped to 15
    assert ic.controls["pixel"].max == 15 and ic.controls["pixel"].value == 15 and "row 15" in ic.readout.value


# ------------------------------------------------------------------------ 02 §8 speed

def test_speed_compute_small_and_capped(ct):
    small = wc.speed_compute(ct, 32, 3, repeats=1)
    assert small["ok"] and all(m is not None and m > 0 for m in small["ms"]) and small["max_abs_diff"] < 1e-5
    assert small["macs"] == 30 * 30 * 9
    big = wc.speed_compute(ct, 256, 3, repeats=1)
    assert big["ok"] and big["ms"][0] is None and "skipped" in big["message"]
    for kwargs, rule in ((dict(size=4), "size must be"), (dict(kernel_size=0), "kernel_size must be"),
                         (dict(repeats=0), "repeats must be"), (dict(repeats=10**6), "repeats must be")):
        bad = wc.speed_compute(ct, **{"size": 32, "kernel_size": 3, **kwargs})
        assert not bad["ok"] and rule in bad["message"]


def test_speed_explorer_measures_on_click_only():
    sp = wc.speed_explorer()
    assert sp.png.startswith(PNG) and "128×128 crop" in sp.readout.value   # measured once at build
    first = sp.png
    sp.controls["size"].value = 32
    assert "press <b>Measure</b>" in sp.readout.value and sp.png != first   # greyed: not this setting
    sp.click("measure")
    assert "32×32 crop" in sp.readout.value and sp.state["measured"][:2] == (32, 3)
