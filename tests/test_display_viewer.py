"""medlab.display, the render helpers, the slice viewer and the dataset browser (no kernel needed)."""
from __future__ import annotations

import io

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from medlab import datasets
from medlab.display import PRESETS, show_images, window_level, window_range
from medlab.display import render_slice
from medlab.widgets import dataset_browser, slice_viewer
from medlab.widgets.viewer import browse_dataset
from medlab.render import FigureRenderer, draw_boxes, overlay_mask, scale_nearest, to_png, to_uint8


@settings(max_examples=50, deadline=None)
@given(window=st.floats(1, 4000), level=st.floats(-1024, 3000),
       seed=st.integers(0, 2**16))
def test_window_level_equals_simpleitk(window, level, seed):
    hu = np.random.default_rng(seed).integers(-1024, 3000, size=(16, 16)).astype(np.int16)
    ours = window_level(hu, window, level)
    ref = sitk.GetArrayFromImage(sitk.IntensityWindowing(
        sitk.Cast(sitk.GetImageFromArray(hu), sitk.sitkFloat32), windowMinimum=level - window / 2,
        windowMaximum=level + window / 2, outputMinimum=0.0, outputMaximum=1.0))
    assert np.allclose(ours, ref, atol=1e-4)


def test_window_level_presets_and_errors():
    assert PRESETS["lung"] == (1500, -600) and PRESETS["brain"] == (80, 40)
    assert window_level(np.array([-125.0, 50, 225]), preset="mediastinum").tolist() == [0.0, 0.5, 1.0]
    assert window_range(1800, 400) == (-500.0, 1300.0)
    with pytest.raises(ValueError, match="window must be a positive width"):
        window_level(np.zeros(3), 0, 40)
    with pytest.raises(ValueError, match="preset must be one of"):
        window_level(np.zeros(3), preset="liver")
    with pytest.raises(ValueError, match="either preset or window/level"):
        window_level(np.zeros(3), 100, 0, preset="lung")
    with pytest.raises(ValueError, match="window and level are required"):
        window_level(np.zeros(3))


def test_show_images_grid_and_errors():
    fig = show_images([np.eye(4)] * 5, titles=list("abcde"), ncols=2, colorbar=True)
    assert len([a for a in fig.axes if a.get_title()]) == 5
    with pytest.raises(ValueError, match="titles has 1 entries for 2 images"):
        show_images([np.eye(2)] * 2, titles=["x"])
    with pytest.raises(ValueError, match="empty"):
        show_images([])
    with pytest.raises(ValueError, match=r"images\[0\] must be 2-D"):
        show_images([np.zeros(3)])


def test_render_helpers():
    png = to_png(np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), np.arange(12).reshape(3, 4))
    with pytest.raises(ValueError, match="must be uint8"):
        to_png(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        to_png(np.zeros((2, 2, 5), np.uint8))
    assert to_uint8(np.array([2.0, 2.0])).tolist() == [0, 0]
    assert scale_nearest(np.arange(6).reshape(2, 3), 2.5).shape == (5, 3)
    rgb = overlay_mask(np.full((4, 4), 100, np.uint8), np.eye(4, dtype=bool), color=(200, 0, 0), opacity=0.5)
    assert rgb[0, 0].tolist() == [150, 50, 50] and rgb[0, 1].tolist() == [100, 100, 100]
    with pytest.raises(ValueError, match="opacity"):
        overlay_mask(np.zeros((2, 2), np.uint8), np.zeros((2, 2), bool), opacity=2)
    box = draw_boxes(np.zeros((10, 10, 3), np.uint8), [(2, 2, 7, 7)], color=(1, 2, 3), thickness=1)
    assert box[2, 4].tolist() == [1, 2, 3] and box[4, 4].tolist() == [0, 0, 0]
    r = FigureRenderer(figsize=(2, 2), dpi=50)
    line, = r.fig.add_subplot().plot([0, 1], [0, 1])
    a = r.rgba().copy()
    line.set_data([0, 1], [1, 0])
    assert r.rgba().shape == (100, 100, 4) and not np.array_equal(a, r.rgba())


@pytest.fixture(scope="module")
def ct():
    return datasets.load_lung_ct()


def test_render_slice_views_have_physical_aspect(ct):
    axial = render_slice(ct.array, ct.spacing, "axial", 15, 1500, -600)
    coronal = render_slice(ct.array, ct.spacing, "coronal", 300, 1500, -600)
    sagittal = render_slice(ct.array, ct.spacing, "sagittal", 180, 1500, -600)
    assert axial.shape == (512, 512, 3)
    # 30 slices of 8 mm = 240 mm = 371 pixels of 0.6465 mm: not squashed to 30 rows
    assert coronal.shape == (371, 512, 3) and sagittal.shape == (371, 512, 3)
    # grey values are the window/level mapping of the plane
    expected = window_level(ct.array[15], 1500, -600) * 255
    assert np.abs(axial[..., 0] - expected).max() <= 0.5 + 1e-3  # rounded to the nearest grey level
    # superior is up: the top row of the coronal view is the last (highest z) slice
    assert np.abs(coronal[0, :, 0] - window_level(ct.array[29, 300], 1500, -600) * 255).max() <= 0.501


def test_render_slice_overlays(ct):
    mask = ct.mask()
    b = ct.boxes[3]
    plain = render_slice(ct.array, ct.spacing, "axial", b.slice_index, 1500, -600)
    masked = render_slice(ct.array, ct.spacing, "axial", b.slice_index, 1500, -600, mask=mask, opacity=1.0)
    inside = (b.row0 + b.row1) // 2, (b.col0 + b.col1) // 2
    assert masked[inside].tolist() == [255, 60, 60] and plain[inside][0] == plain[inside][1]
    boxed = render_slice(ct.array, ct.spacing, "axial", b.slice_index, 1500, -600, boxes=ct.boxes)
    assert boxed[b.row0, inside[1]].tolist() == [255, 215, 0]
    other = render_slice(ct.array, ct.spacing, "axial", 2, 1500, -600, boxes=ct.boxes)
    assert not (other == [255, 215, 0]).all(axis=2).any(), "boxes of other slices must not be drawn"
    cor = render_slice(ct.array, ct.spacing, "coronal", inside[0], 1500, -600, boxes=ct.boxes)
    assert (cor == [255, 215, 0]).all(axis=2).sum() > 100


@pytest.mark.parametrize("kwargs,match", [
    (dict(view="oblique"), "view must be one of"),
    (dict(index=30), "outside the axial range 0..29"),
    (dict(window=-5), "window must be a positive"),
    (dict(mask=np.zeros((2, 2, 2))), "mask shape"),
])
def test_render_slice_bad_input(ct, kwargs, match):
    args = dict(volume=ct.array, spacing=ct.spacing, view="axial", index=0, window=1500, level=-600)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        render_slice(**args)


def test_slice_viewer_updates_image(ct):
    v = slice_viewer(ct, mask=ct.mask())
    img = v.panes["main"]
    first = img.value
    v.controls["slice"].value = 3
    assert img.value != first
    v.controls["view"].value = "sagittal"
    assert v.controls["slice"].max == 511
    v.controls["preset"].value = "bone"
    assert (v.controls["window"].value, v.controls["level"].value) == PRESETS["bone"]
    # numpy and SimpleITK inputs work too
    slice_viewer(np.zeros((3, 8, 8), np.int16))
    slice_viewer(datasets.load_head_ct(), view="coronal")
    with pytest.raises(ValueError, match="mask shape"):
        slice_viewer(ct, mask=np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="3-D"):
        slice_viewer(np.zeros((2, 2, 2, 2)))


def test_browse_dataset_and_widget():
    r = browse_dataset("pneumoniamnist", "test", label=1, index=0)
    x, y = datasets.load_pneumoniamnist("test")
    k = int(np.flatnonzero(y == 1)[0])
    assert r["position"] == k and r["label"] == 1 and r["label_name"] == "pneumonia" and r["n"] == 390
    assert np.array_equal(r["image"][::8, ::8], x[k]) and r["image"].shape == (224, 224)
    assert r["counts"] == {"normal": 234, "pneumonia": 390}
    flagged = browse_dataset("pneumoniamnist", "test", label=1, index=390)
    assert not flagged["ok"] and "index must be in 0..389" in flagged["message"]
    with pytest.raises(ValueError, match="label must be None or one of"):
        browse_dataset("pneumoniamnist", "test", label=2)
    with pytest.raises(ValueError, match="name must be one of"):
        browse_dataset("chestmnist")
    w = dataset_browser("breastmnist")
    img = w.panes["main"]
    before = img.value
    w.controls["index"].value = 5
    assert img.value != before and w.controls["index"].max == 545


def test_window_level_rejects_non_numbers():
    with pytest.raises(TypeError, match="window must be a number in HU, got str '1500'"):
        window_level(np.zeros(3), "1500", -600)
    with pytest.raises(TypeError, match="level must be a number"):
        window_level(np.zeros(3), 1500, "-600")


def test_preset_buttons_release_when_a_slider_moves(ct):
    v = slice_viewer(ct)
    c = v.controls
    c["preset"].value = "mediastinum"
    assert (c["window"].value, c["level"].value) == PRESETS["mediastinum"]
    shown = v.panes["main"].value
    c["level"].value = 60.0  # the picture no longer shows the preset ...
    assert c["preset"].value is None  # ... so the button is released
    assert v.panes["main"].value != shown
    c["preset"].value = "mediastinum"  # and clicking it again restores the preset
    assert c["level"].value == PRESETS["mediastinum"][1]


def test_dataset_browser_reads_each_split_once(monkeypatch):
    calls = []
    real = datasets.load_breastmnist
    monkeypatch.setattr(datasets, "load_breastmnist", lambda split: calls.append(split) or real(split))
    w = dataset_browser("breastmnist")
    for k in range(1, 6):
        w.controls["index"].value = k
    w.controls["split"].value = "test"
    w.controls["split"].value = "train"
    assert calls == ["train", "test"]


def test_dataset_browser_clamps_index_to_the_new_selection():
    # bug: Index 3000 on PneumoniaMNIST train, then class "normal" raised from the observer
    w = dataset_browser("pneumoniamnist")
    w.controls["index"].value = 3000
    w.controls["label"].value = 0
    assert w.controls["index"].value == 1213 and w.controls["index"].max == 1213 and w.message == ""
    w.controls["label"].value = None
    w.controls["index"].value = 1000
    w.controls["split"].value = "val"
    assert w.controls["index"].value == 523 and w.message == "" and w.last_exception is None


def test_slice_viewer_renders_once_per_view_change_and_preset(ct):
    v = slice_viewer(ct)
    n = v.renders
    v.controls["view"].value = "coronal"
    assert v.renders == n + 1 and v.controls["slice"].max == 511
    v.controls["preset"].value = "bone"
    assert v.renders == n + 2
