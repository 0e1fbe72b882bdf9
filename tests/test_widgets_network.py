"""The 03 widgets (medlab.widgets.network): compute functions against TensorFlow / Keras, renderers, and the
builders through ``.controls`` / ``.panes`` / ``.message`` (the wiring is covered by the contract test)."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from medlab import ops  # noqa: E402
from medlab.samples import (DENSE_TEMPLATES, NODULE_CENTRE, dense_template, dense_template_mean,  # noqa: E402
                            lung_slice, pixel_spacing, pneumonia_data)
from medlab.widgets import network as wn  # noqa: E402
from medlab.widgets._explorer import Explorer  # noqa: E402

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def ct():
    return lung_slice()


# ------------------------------------------------------------------------ 03 §1 pooling

@pytest.mark.parametrize("size,stride,mode", [(2, 2, "max"), (3, 2, "max"), (4, 4, "avg"), (2, 1, "avg")])
def test_pooling_explorer_compute_matches_tf(ct, size, stride, mode):
    r = wn.pooling_explorer_compute(ct, size, stride, mode, shift=2)
    assert r["ok"] and r["max_abs_diff_tf"] < 1e-6 and "<" not in r["message"]
    assert r["pooled"].shape == (ops.output_size(512, size, 0, stride),) * 2
    img = wn.render_pooling(ct, r)
    assert img.shape[0] == 512 and img.dtype == np.uint8


@pytest.mark.parametrize("kwargs,rule", [(dict(size=0), "size"), (dict(size=600), "pool window"),
                                         (dict(mode="min"), "mode must be"), (dict(shift=-1), "shift must be")])
def test_pooling_invalid_flagged(ct, kwargs, rule):
    r = wn.pooling_explorer_compute(ct, **kwargs)
    assert not r["ok"] and rule in r["message"]
    assert wn.render_pooling(ct, r).shape[0] == 512


def test_pooling_explorer_controls():
    pe = wn.pooling_explorer()
    before = pe.png
    pe.controls["size"].value = 4
    assert pe.png != before and "512×512 → 255×255 (max 4×4, stride 2)" in pe.readout.value
    pe.controls["image"].value = "chest X-ray"
    assert pe.message == "" and "max |ours − tf.nn.max_pool2d|" in pe.readout.value


# ------------------------------------------------------------------------ 03 §2 nodule

def test_render_nodule_on_real_slice(ct):
    small = ops.nodule_erasure(ct, 3.0, 5, centre=NODULE_CENTRE)
    assert small["retained"]["avg"][3] < 0.25 < ops.nodule_erasure(ct, 16.0, 5, centre=NODULE_CENTRE)["retained"]["avg"][3]
    img = wn.render_nodule(small, 2, "avg")
    assert img.shape == (256, 2 * 256 + 8, 3)


def test_nodule_pooling_reports_mm_only_where_the_data_has_a_spacing():
    """Issue 8: the chest X-ray was reported in mm with the CT's 0.6465 mm pixel size."""
    row_mm, _ = pixel_spacing("lung CT")
    ct_w = wn.nodule_pooling_explorer("lung CT")
    assert f"3 px = {3 * row_mm:.1f} mm" in ct_w.readout.value
    xr = wn.nodule_pooling_explorer("chest X-ray")
    assert "mm" not in xr.readout.value and "3 px" in xr.readout.value and "no pixel spacing" in xr.readout.value
    arr = wn.nodule_pooling_explorer(np.asarray(lung_slice()), spacing_mm=0.5)   # an array with a stated spacing
    assert "3 px = 1.5 mm" in arr.readout.value
    assert "mm" not in wn.nodule_pooling_explorer(np.asarray(lung_slice())).readout.value


def test_nodule_pooling_explorer_controls():
    ne = wn.nodule_pooling_explorer()
    assert set(ne.panes) == {"main", "chart"}
    chart, main = ne.panes["chart"].value, ne.png
    ne.controls["depth"].value = 4
    assert ne.png != main and ne.panes["chart"].value != chart and "depth 4" in ne.readout.value
    ne.controls["diameter"].value = 16.0
    assert "still visible" in ne.readout.value


# ------------------------------------------------------------------------ 03 §3 receptive field

@pytest.mark.parametrize("blocks,kernel,convs,dil,pool", [(2, 3, 1, 1, True), (3, 5, 2, 1, True), (1, 3, 3, 2, False)])
def test_receptive_field_compute(ct, blocks, kernel, convs, dil, pool):
    layers = ops.build_stack(blocks, kernel, convs, dil, pool)
    r = wn.receptive_field_compute(layers, spacing_mm=pixel_spacing("lung CT"))
    assert r["ok"] and r["table"][-1] == ops.receptive_field(layers, input_size=512)
    n = 512
    for layer in layers:
        n = ops.output_size(n, layer[1], 0, layer[2], layer[3] if layer[0] == "conv" else 1)
    assert r["out_size"] == n and all(0 <= p < n for p in r["pixel"])
    assert r["size_mm"] == pytest.approx(r["table"][-1].size * pixel_spacing("lung CT")[0])
    img = wn.render_receptive_field(ct, r)
    assert img.shape == (512, 512, 3) and (img[..., 0] != img[..., 2]).any()  # coloured boxes drawn


@pytest.mark.parametrize("layers,rule", [([], "empty"),
                                         (ops.build_stack(6, 7, 3, 4, True), "larger than the padded input")])
def test_receptive_field_invalid_flagged(ct, layers, rule):
    r = wn.receptive_field_compute(layers)
    assert not r["ok"] and rule in r["message"]
    assert wn.render_receptive_field(ct, r).shape == (512, 512, 3)


def test_receptive_field_reports_mm_only_where_the_data_has_a_spacing():
    """Issue 8: the receptive field on the chest X-ray was given in mm using the CT's pixel size."""
    layers = ops.build_stack(2, 3)
    assert wn.receptive_field_compute(layers)["size_mm"] is None
    assert "mm" not in wn.receptive_field_compute(layers)["message"]
    rf = ops.receptive_field(layers).size
    row_mm, _ = pixel_spacing("lung CT")
    ct_w = wn.receptive_field_explorer("lung CT")
    assert f"{rf} px = {rf * row_mm:.1f} mm" in ct_w.readout.value
    xr = wn.receptive_field_explorer("chest X-ray")
    assert "mm" not in xr.readout.value and f"sees {rf}×{rf} input pixels" in xr.readout.value
    assert "no pixel spacing" in xr.readout.value
    r = wn.receptive_field_compute(layers, spacing_mm=(0.5, 0.25))
    assert r["size_mm"] == (rf * 0.5, rf * 0.25) and "mm (rows)" in r["message"]
    assert "spacing_mm must be" in wn.receptive_field_compute(layers, spacing_mm=-1)["message"]


def test_receptive_field_explorer_controls():
    rf = wn.receptive_field_explorer()
    before = rf.png
    rf.controls["blocks"].value = 3
    assert rf.png != before and "<table" in rf.readout.value
    rf.set(blocks=6, kernel=7, convs=3)     # shrinks the image to nothing: flagged
    assert "Invalid stack" in rf.message and rf.last_exception is None


# ------------------------------------------------------------------------ 03 §4 dense neuron

def test_dense_neuron_compute_matches_keras():
    import keras

    xte, yte = pneumonia_data()["test"]
    t = dense_template(DENSE_TEMPLATES[0])
    layer = keras.layers.Dense(1, activation="sigmoid")
    layer.build((None, 784))
    layer.set_weights([t.reshape(784, 1), np.array([-3.0], np.float32)])
    scores = xte.reshape(len(xte), -1) @ t.ravel()
    r = wn.dense_neuron_compute(xte[0], t, -3.0, scores, yte)
    assert r["ok"] and r["p"] == pytest.approx(float(np.asarray(layer(xte[:1].reshape(1, -1)))[0, 0]), abs=1e-5)
    assert r["z"] == pytest.approx(float(r["products"].sum()) - 3.0)
    assert r["baseline"] == pytest.approx(float(yte.mean()))
    centred = wn.dense_neuron_compute(xte[0], t, -dense_template_mean(DENSE_TEMPLATES[0]), scores, yte)
    assert centred["accuracy"] > yte.mean() + 0.05   # beats always saying "pneumonia"
    assert wn.render_dense_neuron(xte[0], t, r).shape == (224, 3 * 224 + 24, 3)
    bad = wn.dense_neuron_compute(xte[0], np.ones((27, 28)))
    assert not bad["ok"] and "must match" in bad["message"]
    assert not wn.dense_neuron_compute(xte[0], t, float("nan"))["ok"]


def test_dense_neuron_explorer_template_centres_the_bias_in_one_render():
    dn = wn.dense_neuron_explorer()
    assert dn.controls["bias"].value == -round(4 * dense_template_mean(DENSE_TEMPLATES[0])) / 4
    chart = dn.panes["chart"].value
    dn.controls["bias"].value = dn.controls["bias"].value + 2.0   # the histograms move past the threshold
    assert dn.panes["chart"].value != chart
    renders = dn.renders
    dn.controls["template"].value = DENSE_TEMPLATES[1]
    assert dn.renders == renders + 1
    assert dn.controls["bias"].value == -round(4 * dense_template_mean(DENSE_TEMPLATES[1])) / 4


# ------------------------------------------------------------------------ 03 §5 feature maps

@pytest.fixture(scope="module")
def small_model():
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    x = ops.pool2d(lung_slice()[256:320, 128:192], 2, mode="avg")[None, :, :, None].astype(np.float32)
    return model, x


def test_feature_maps_match_keras(small_model):
    import keras

    model, x = small_model
    r = wn.feature_maps_compute(model, x)
    probe = keras.Model(model.inputs[0], [layer.output for layer in model.layers])
    for ours, ref, layer, p in zip(r["outputs"], probe(x), model.layers, r["params"]):
        np.testing.assert_allclose(ours, np.asarray(ref)[0], atol=1e-5)
        assert p == layer.count_params()
    for layer, channel in ((0, 3), (1, 0), (2, 0), (3, 0)):
        img, txt, warning = wn.render_feature_map(r, layer, channel, size=96)
        assert img.shape == (96, 2 * 96 + 12, 3) and "parameters" in txt and warning == ""
    assert "channel must be" in wn.render_feature_map(r, 0, 4, size=96)[2]
    assert "layer must be" in wn.render_feature_map(r, 9, 0, size=96)[2]
    bad = wn.feature_maps_compute(model, x, steps=[("a", x)])
    assert not bad["ok"] and "steps has 1 entries" in bad["message"]


def test_feature_map_explorer_channel_range_follows_the_layer(small_model):
    fm = wn.feature_map_explorer(*small_model)
    assert fm.controls["channel"].max == 3
    before = fm.png
    fm.controls["channel"].value = 2
    assert fm.png != before
    fm.controls["layer"].value = 2          # Flatten: no channels
    assert fm.controls["channel"].max == 0 and fm.controls["channel"].value == 0 and fm.message == ""


@pytest.mark.parametrize("model", [None, "not a model", object()])
def test_feature_map_explorer_without_a_runnable_model_is_an_explorer(small_model, model):
    """Issue 8: it returned a bare box without .render/.controls when the model could not run."""
    fm = wn.feature_map_explorer(model, small_model[1])
    assert isinstance(fm, Explorer) and fm.render().startswith(PNG)
    assert set(fm.controls) == {"layer", "channel"} and "main" in fm.panes
    assert fm.message.startswith("Cannot run the model") and fm.last_exception is None


def test_feature_map_explorer_wrong_input_is_shown_not_raised(small_model):
    model, x = small_model
    fm = wn.feature_map_explorer(model, x[..., 0])          # (1, 32, 32): no channel axis
    assert isinstance(fm, Explorer) and "Cannot run the model" in fm.message
