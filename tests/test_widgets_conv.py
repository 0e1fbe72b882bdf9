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
