"""The two widgets every notebook of the series uses: the slice viewer and the dataset browser.

Both are a pure frame function plus control specs (see :mod:`medlab.widgets._explorer`). The slice
rendering itself is core: :func:`medlab.display.render_slice`.

>>> r = browse_dataset("breastmnist", "val", label=0, index=0)
>>> r["ok"], r["image"].shape, r["label_name"]
(True, (224, 224), 'malignant')
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import SimpleITK as sitk

from ..display import PRESETS, VIEWS, box_tuple, render_slice, window_range
from ..i18n import t
from ..io import as_volume
from ._explorer import Check, Choice, Float, Frame, Int, explorer, register, result

__all__ = ["slice_viewer", "dataset_browser", "browse_dataset", "window_preset"]


def window_preset(label: str = "Preset") -> Choice:
    """The one window-preset control: toggle buttons that set ``window`` and ``level`` in one render,
    released when a slider moves away from the preset (so clicking it again re-applies it)."""
    return Choice(label, [(k.capitalize(), k) for k in PRESETS], value=None, style="toggle",
                  sets=lambda name: dict(zip(("window", "level"), PRESETS[name])), release=True,
                  button_width="112px")  # "Mediastinum" needs 104 px with padding


def _lung_ct_demo() -> dict:
    from ..datasets import load_lung_ct

    return {"image": load_lung_ct()}


@register(demo=_lung_ct_demo)
def slice_viewer(image: Any, mask: Any = None, boxes: Sequence[Any] | None = None,
                 view: str = "axial", window: float = 1500, level: float = -600, width: int = 512) -> Any:
    """Axial/coronal/sagittal viewer at physical aspect, window/level with presets, mask and box overlay.

    ``image``: a :class:`medlab.datasets.LungCT` (its boxes are used), a 3-D SimpleITK image, or a
    (z, y, x) array. ``mask``: array or SimpleITK image of the same size. Used in 00 §4, 01 §2, 04 §6.
    """
    volume, spacing, own_boxes = as_volume(image)
    boxes = own_boxes if boxes is None else list(boxes)
    if isinstance(mask, sitk.Image):
        mask = sitk.GetArrayFromImage(mask)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != volume.shape:
            raise ValueError(f"mask shape {mask.shape} differs from image shape {volume.shape}")
    if view not in VIEWS:
        raise ValueError(f"view must be one of {list(VIEWS)}, got {view!r}")
    vmin, vmax = float(volume.min()), float(volume.max())
    start = {v: volume.shape[a] // 2 for v, a in VIEWS.items()}
    if boxes:  # open on the middle annotated slice, where there is something to see
        mid = box_tuple(boxes[len(boxes) // 2])
        start = {"axial": mid[0], "coronal": (mid[1] + mid[3]) // 2, "sagittal": (mid[2] + mid[4]) // 2}
    axis_mm = {"axial": ("z", spacing[2]), "coronal": ("y", spacing[1]), "sagittal": ("x", spacing[0])}

    def frame(view: str, slice: int, window: float, level: float, preset: Any = None,
              opacity: float = 0.4, show_boxes: bool = True) -> Frame:
        rgb = render_slice(volume, spacing, view, slice, window, level, mask=mask,
                           boxes=boxes if show_boxes else (), opacity=opacity)
        lo, hi = window_range(window, level)
        name, step = axis_mm[view]
        text = t("{0} slice {1}/{2} &middot; {3}-spacing {4:.3g} mm &middot; shown HU range [{5:.0f}, {6:.0f}]")
        return Frame(image=rgb, readout=("<code>" + text.format(t(view), slice, volume.shape[VIEWS[view]] - 1,
                                                                name, step, lo, hi) + "</code>"))

    span = max(vmax - vmin, 1.0)
    controls = {
        "view": Choice("View", [("Axial", "axial"), ("Coronal", "coronal"), ("Sagittal", "sagittal")],
                       value=view, style="toggle", sets=lambda v: {"slice": start[v]}, button_width="102px"),
        "slice": Int("Slice", 0, volume.shape[VIEWS[view]] - 1, value=min(start[view], volume.shape[VIEWS[view]] - 1)),
        "window": Float("Window (HU)", 1, max(span, 4000), value=window, step=1, format=".0f"),
        "level": Float("Level (HU)", min(vmin, -1024), max(vmax, 3000), value=level, step=1, format=".0f"),
        "preset": window_preset(),
    }
    if mask is not None:
        controls["opacity"] = Float("Mask opacity", 0, 1, value=0.4, step=0.05)
    if boxes:
        controls["show_boxes"] = Check("Show tumour boxes", value=True)
    return explorer(frame, controls, width=width,
                    limits=lambda view, **_: {"slice": {"max": volume.shape[VIEWS[view]] - 1}})


# --------------------------------------------------------------------------- dataset browser
_LOADERS = {"pneumoniamnist": "load_pneumoniamnist", "breastmnist": "load_breastmnist"}


def browse_dataset(name: str, split: str = "train", label: int | None = None, index: int = 0,
                   zoom: int = 8, data: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Pure compute for the dataset browser: one image (enlarged) with its label and class counts.

    Returns the result contract (``ok``, ``message``, ``warnings``) with ``image`` uint8 (28*zoom)²,
    ``label``, ``label_name``, ``n`` (images of that class in the split), ``position`` and ``counts``.
    An ``index`` past the selection is flagged (``ok=False``), not clamped silently. ``data``: the split's
    ``(images, labels)`` if already loaded (the widget passes them so a slider move reads no file).
    """
    from .. import datasets

    if name not in _LOADERS:
        raise ValueError(f"name must be one of {sorted(_LOADERS)}, got {name!r}")
    images, labels = getattr(datasets, _LOADERS[name])(split) if data is None else data
    names = datasets.CLASS_NAMES[name]
    if label is not None and label not in names:
        raise ValueError(f"label must be None or one of {sorted(names)}, got {label!r}")
    idx = np.flatnonzero(labels == label) if label is not None else np.arange(len(labels))
    counts = {names[c]: int((labels == c).sum()) for c in sorted(names)}
    if not 0 <= index < len(idx):
        return result(False, f"index must be in 0..{len(idx) - 1} for this split/class, got {index}",
                      n=len(idx), counts=counts)
    k = int(idx[index])
    image = np.kron(images[k], np.ones((zoom, zoom), np.uint8)) if zoom > 1 else images[k]
    return result(image=image, label=int(labels[k]), label_name=names[int(labels[k])], n=len(idx),
                  position=k, counts=counts)


@register(demo=lambda: {})
def dataset_browser(name: str = "pneumoniamnist") -> Any:
    """Browse a MedMNIST dataset: split, class and index -> image, label and class counts. Used in 00 §5."""
    from .. import datasets
    from ._explorer import esc, html_table

    if name not in _LOADERS:
        raise ValueError(f"name must be one of {sorted(_LOADERS)}, got {name!r}")
    names = datasets.CLASS_NAMES[name]
    loaded: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # split -> (images, labels), each read once

    def data(split: str) -> tuple[np.ndarray, np.ndarray]:
        if split not in loaded:
            loaded[split] = getattr(datasets, _LOADERS[name])(split)
        return loaded[split]

    def n_selected(split: str, label: Any) -> int:
        labels = data(split)[1]
        return int(len(labels) if label is None else (labels == label).sum())

    def frame(split: str, label: Any, index: int) -> Frame:
        r = browse_dataset(name, split, label, index, data=data(split))
        if not r["ok"]:
            return Frame(warning=r["message"])
        table = html_table(list(r["counts"].items()), header=("class", f"images in {split}"))
        text = t("<b>label {0} = {1}</b> (image #{2} of the {3} split)")
        return Frame(image=r["image"], readout=(text.format(r["label"], esc(t(r["label_name"])), r["position"],
                                                            esc(t(split))) + f"<br>{table}"))

    controls = {"split": Choice("Split", ["train", "val", "test"], style="toggle"),
                "label": Choice("Class", [("all classes", None)] + [(v, k) for k, v in names.items()],
                                value=None),
                "index": Int("Index", 0, n_selected("train", None) - 1)}
    # the index range follows the selection: Index 3000 on train, then class "normal" -> clamped to 1213
    return explorer(frame, controls, width=224,
                    limits=lambda split, label, **_: {"index": {"max": n_selected(split, label) - 1}})
