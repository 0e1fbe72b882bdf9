"""Slice viewer and dataset browser: the two widgets every notebook of the series uses.

Each widget is a pure render function (numpy in, RGB uint8 / PNG bytes out; callable and
testable without a kernel) plus a thin ipywidgets builder that wires controls to it.

>>> vol = np.zeros((4, 8, 8), np.int16); vol[2, 2:6, 2:6] = 100
>>> render_slice(vol, (1.0, 1.0, 2.0), "coronal", 3, window=200, level=0).shape
(8, 8, 3)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import SimpleITK as sitk

from ..display import window_range
from ._controls import window_preset_buttons
from ._render import draw_boxes, overlay_mask, scale_nearest, to_png

__all__ = ["VIEWS", "render_slice", "slice_viewer", "browse_dataset", "dataset_browser"]

#: View name -> the numpy axis (of a z, y, x array) that the slider moves along.
VIEWS = {"axial": 0, "coronal": 1, "sagittal": 2}


def _as_volume(image: Any) -> tuple[np.ndarray, tuple[float, float, float], list]:
    """Accept a LungCT-like object, a SimpleITK image, or a numpy (z, y, x) array."""
    boxes = list(getattr(image, "boxes", []) or [])
    if hasattr(image, "image") and isinstance(image.image, sitk.Image):
        image = image.image
    if isinstance(image, sitk.Image):
        if image.GetDimension() != 3:
            raise ValueError(f"image must be 3-D, got a {image.GetDimension()}-D SimpleITK image")
        # a copy: an array view would dangle once the caller drops the image
        return sitk.GetArrayFromImage(image), tuple(image.GetSpacing()), boxes
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"image must be a 3-D (z, y, x) array or SimpleITK image, got shape {arr.shape}")
    return arr, (1.0, 1.0, 1.0), boxes


def _box_tuple(b: Any) -> tuple[int, int, int, int, int]:
    if hasattr(b, "slice_index"):
        return (b.slice_index, b.row0, b.col0, b.row1, b.col1)
    z, r0, c0, r1, c1 = b
    return (int(z), int(r0), int(c0), int(r1), int(c1))


def _plane(volume: np.ndarray, view: str, index: int) -> np.ndarray:
    """The 2-D plane shown for ``view`` at ``index``; superior (high z) is drawn at the top."""
    if view == "axial":
        return volume[index]
    if view == "coronal":
        return volume[::-1, index, :]
    return volume[::-1, :, index]


def render_slice(volume: np.ndarray, spacing: Sequence[float], view: str, index: int, window: float,
                 level: float, mask: np.ndarray | None = None, boxes: Sequence[Any] = (),
                 opacity: float = 0.4) -> np.ndarray:
    """Render one plane of a (z, y, x) volume as RGB uint8 with physical aspect ratio.

    ``spacing`` is (x, y, z) in mm, as SimpleITK reports it. Coronal and sagittal planes are
    stretched along z by ``spacing_z / spacing_x`` so an 8 mm x 0.65 mm voxel looks 12x taller
    than wide, as it is. ``mask`` (same shape as ``volume``) is blended in red with
    ``opacity``; ``boxes`` (TumourBox or (z, row0, col0, row1, col1)) are drawn in yellow.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {list(VIEWS)}, got {view!r}")
    n = volume.shape[VIEWS[view]]
    if not 0 <= index < n:
        raise ValueError(f"index {index} is outside the {view} range 0..{n - 1}")
    lo, hi = window_range(window, level)
    plane = _plane(volume, view, index)
    # grey = (HU - lo) / W * 255, done in float32 on one plane: ~1 ms for 512x512
    grey = np.empty(plane.shape, np.float32)
    np.subtract(plane, lo, out=grey, dtype=np.float32)
    grey *= np.float32(255.0 / (hi - lo))
    np.clip(grey, 0, 255, out=grey)
    grey += np.float32(0.5)  # round half up (values are >= 0), cheaper than np.rint
    grey = grey.astype(np.uint8)
    if mask is not None:
        if mask.shape != volume.shape:
            raise ValueError(f"mask shape {mask.shape} differs from image shape {volume.shape}")
        rgb = overlay_mask(grey, _plane(mask, view, index) > 0, opacity=opacity)
    else:
        rgb = np.repeat(grey[..., None], 3, axis=2)
    sx, sy, sz = (float(s) for s in spacing)
    nz = volume.shape[0]
    rects = []
    for z, r0, c0, r1, c1 in (_box_tuple(b) for b in boxes):
        zr = nz - 1 - z  # display row of slice z after the superior-up flip
        if view == "axial" and z == index:
            rects.append((r0, c0, r1, c1))
        elif view == "coronal" and r0 <= index <= r1:
            rects.append((zr, c0, zr, c1))
        elif view == "sagittal" and c0 <= index <= c1:
            rects.append((zr, r0, zr, r1))
    if view == "axial":
        row_scale = sy / sx
        if rects:
            draw_boxes(rgb, rects)
        return scale_nearest(rgb, row_scale) if abs(row_scale - 1) > 1e-3 else rgb
    col_mm = sx if view == "coronal" else sy
    row_scale = sz / col_mm
    out = scale_nearest(rgb, row_scale)
    if rects:  # draw after scaling so a one-slice box is as tall as its slice
        scaled = [(int(r0 * row_scale), c0, int((r1 + 1) * row_scale) - 1, c1) for r0, c0, r1, c1 in rects]
        draw_boxes(out, scaled, thickness=1)
    return out


def slice_viewer(image: Any, mask: Any = None, boxes: Sequence[Any] | None = None,
                 view: str = "axial", window: float = 1500, level: float = -600,
                 width: int = 512) -> Any:
    """Interactive axial/coronal/sagittal viewer with window/level and mask/box overlay.

    ``image``: a :class:`medlab.datasets.LungCT` (its boxes are used), a 3-D SimpleITK image,
    or a (z, y, x) array. ``mask``: array or SimpleITK image of the same size.
    Returns an ``ipywidgets.VBox``; its ``.render()`` attribute re-draws and returns PNG bytes.
    """
    import ipywidgets as w

    volume, spacing, own_boxes = _as_volume(image)
    boxes = own_boxes if boxes is None else list(boxes)
    if isinstance(mask, sitk.Image):
        mask = sitk.GetArrayFromImage(mask)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != volume.shape:
            raise ValueError(f"mask shape {mask.shape} differs from image shape {volume.shape}")
    vmin, vmax = float(volume.min()), float(volume.max())
    start = {"axial": volume.shape[0] // 2, "coronal": volume.shape[1] // 2,
             "sagittal": volume.shape[2] // 2}
    if boxes:  # open on the middle annotated slice, where there is something to see
        mid = _box_tuple(boxes[len(boxes) // 2])
        start = {"axial": mid[0], "coronal": (mid[1] + mid[3]) // 2, "sagittal": (mid[2] + mid[4]) // 2}

    view_w = w.ToggleButtons(options=[("Axial", "axial"), ("Coronal", "coronal"), ("Sagittal", "sagittal")],
                             value=view, description="View", style={"button_width": "102px"})
    slice_w = w.IntSlider(value=start[view], min=0, max=volume.shape[VIEWS[view]] - 1,
                          description="Slice", continuous_update=True)
    span = max(vmax - vmin, 1.0)
    window_w = w.FloatSlider(value=window, min=1, max=max(span, 4000), step=1, description="Window (HU)",
                             style={"description_width": "90px"})
    level_w = w.FloatSlider(value=level, min=min(vmin, -1024), max=max(vmax, 3000), step=1,
                            description="Level (HU)", style={"description_width": "90px"})
    preset_w = window_preset_buttons(window_w, level_w)
    controls: list = [view_w, slice_w, window_w, level_w, preset_w]
    opacity_w = w.FloatSlider(value=0.4, min=0, max=1, step=0.05, description="Mask opacity",
                              style={"description_width": "90px"})
    boxes_w = w.Checkbox(value=True, description="Show tumour boxes", indent=False)
    if mask is not None:
        controls.append(opacity_w)
    if boxes:
        controls.append(boxes_w)
    img_w = w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto"))
    info_w = w.HTML()

    def render() -> bytes:
        rgb = render_slice(volume, spacing, view_w.value, slice_w.value, window_w.value, level_w.value,
                           mask=mask, boxes=boxes if boxes_w.value else (), opacity=opacity_w.value)
        png = to_png(rgb)
        img_w.value = png
        lo, hi = window_range(window_w.value, level_w.value)
        axis_mm = {"axial": ("z", spacing[2]), "coronal": ("y", spacing[1]), "sagittal": ("x", spacing[0])}
        name, step = axis_mm[view_w.value]
        info_w.value = (f"<code>{view_w.value} slice {slice_w.value}/{volume.shape[VIEWS[view_w.value]] - 1}"
                        f" &middot; {name}-spacing {step:.3g} mm &middot; shown HU range [{lo:.0f}, {hi:.0f}]</code>")
        return png

    def on_view(change):
        n = volume.shape[VIEWS[change["new"]]]
        with slice_w.hold_trait_notifications():
            slice_w.max = n - 1
            slice_w.value = min(start[change["new"]], n - 1)
        render()

    view_w.observe(on_view, names="value")
    for c in (slice_w, window_w, level_w, opacity_w, boxes_w):
        c.observe(lambda _: render(), names="value")
    render()
    box = w.HBox([w.VBox(controls + [info_w], layout=w.Layout(width="430px")), img_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"view": view_w, "slice": slice_w, "window": window_w, "level": level_w,  # type: ignore[attr-defined]
                    "preset": preset_w, "opacity": opacity_w, "boxes": boxes_w}
    return box


# --------------------------------------------------------------------------- dataset browser
_LOADERS = {"pneumoniamnist": "load_pneumoniamnist", "breastmnist": "load_breastmnist"}


def browse_dataset(name: str, split: str = "train", label: int | None = None, index: int = 0,
                   zoom: int = 8, data: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Pure compute for the dataset browser: one image (enlarged) with its label and class counts.

    Returns ``{"image": uint8 (28*zoom, 28*zoom), "label": int, "label_name": str,
    "n": images of that class in the split, "counts": {class name: count}}``. ``data``: the split's
    ``(images, labels)`` if already loaded (the widget passes them so a slider move reads no file).

    >>> r = browse_dataset("breastmnist", "val", label=0, index=0)
    >>> r["image"].shape, r["label_name"], r["counts"]
    ((224, 224), 'malignant', {'malignant': 21, 'normal/benign': 57})
    """
    from .. import datasets

    if name not in _LOADERS:
        raise ValueError(f"name must be one of {sorted(_LOADERS)}, got {name!r}")
    images, labels = getattr(datasets, _LOADERS[name])(split) if data is None else data
    names = datasets.CLASS_NAMES[name]
    if label is not None and label not in names:
        raise ValueError(f"label must be None or one of {sorted(names)}, got {label!r}")
    idx = np.flatnonzero(labels == label) if label is not None else np.arange(len(labels))
    if not 0 <= index < len(idx):
        raise ValueError(f"index must be in 0..{len(idx) - 1} for this split/class, got {index}")
    k = int(idx[index])
    image = np.kron(images[k], np.ones((zoom, zoom), np.uint8)) if zoom > 1 else images[k]
    counts = {names[c]: int((labels == c).sum()) for c in sorted(names)}
    return {"image": image, "label": int(labels[k]), "label_name": names[int(labels[k])],
            "n": len(idx), "position": k, "counts": counts}


def dataset_browser(name: str = "pneumoniamnist") -> Any:
    """Browse a MedMNIST dataset: split, class and index -> image, label and class counts."""
    import ipywidgets as w
    from .. import datasets

    if name not in _LOADERS:
        raise ValueError(f"name must be one of {sorted(_LOADERS)}, got {name!r}")
    names = datasets.CLASS_NAMES[name]
    split_w = w.ToggleButtons(options=["train", "val", "test"], value="train", description="Split")
    class_w = w.Dropdown(options=[("all classes", None)] + [(v, k) for k, v in names.items()],
                         value=None, description="Class")
    index_w = w.IntSlider(value=0, min=0, max=1, description="Index")
    img_w = w.Image(format="png", layout=w.Layout(width="224px", height="224px"))
    info_w = w.HTML()

    loaded: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # split -> (images, labels), read once

    def render(*_):
        split = split_w.value
        if split not in loaded:
            loaded[split] = getattr(datasets, _LOADERS[name])(split)
        r = browse_dataset(name, split, class_w.value, min(index_w.value, index_w.max), data=loaded[split])
        with index_w.hold_trait_notifications():
            index_w.max = r["n"] - 1
        img_w.value = to_png(r["image"])
        rows = "".join(f"<tr><td>{c}</td><td style='text-align:right'>{n:,}</td></tr>"
                       for c, n in r["counts"].items())
        info_w.value = (f"<b>label {r['label']} = {r['label_name']}</b> (image #{r['position']} of the "
                        f"{split_w.value} split)<br><table><tr><th>class</th><th>images in {split_w.value}"
                        f"</th></tr>{rows}</table>")

    split_w.observe(render, names="value")
    class_w.observe(render, names="value")
    index_w.observe(render, names="value")
    render()
    box = w.HBox([w.VBox([split_w, class_w, index_w, info_w]), img_w])
    box.render = render  # type: ignore[attr-defined]
    return box
