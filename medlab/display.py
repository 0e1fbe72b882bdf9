"""Showing medical images: window/level and image grids.

CT voxels are Hounsfield units (HU) from about -1000 (air) to +3000 (dense bone), far more
than the ~256 grey levels a screen (or an eye) separates. *Window/level* picks the HU
range that matters: grey = (HU - (L - W/2)) / W, clipped to [0, 1].

>>> [round(float(v), 3) for v in window_level(np.array([-1000, -600, 150]), window=1500, level=-600)]
[0.233, 0.5, 1.0]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._validate import check_array, check_choice, check_finite_number, check_float, check_int, check_not_rgb

__all__ = ["PRESETS", "VIEWS", "window_level", "window_range", "show_images", "render_slice", "plane", "box_tuple"]

#: Standard CT display windows as (window W, level L) in HU.
PRESETS: dict[str, tuple[float, float]] = {
    "lung": (1500.0, -600.0),
    "mediastinum": (350.0, 50.0),
    "bone": (1800.0, 400.0),
    "brain": (80.0, 40.0),
}


def window_range(window: float, level: float) -> tuple[float, float]:
    """The HU interval ``(L - W/2, L + W/2)`` shown from black to white.

    >>> window_range(350, 50)
    (-125.0, 225.0)
    """
    for name, value in (("window", window), ("level", level)):
        check_finite_number(value, name, "a number in HU")
    if window <= 0:
        raise ValueError(f"window must be a positive width in HU, got {window}")
    if not np.isfinite(level):
        raise ValueError(f"level must be a finite HU value, got {level}")
    return (float(level) - float(window) / 2.0, float(level) + float(window) / 2.0)


def window_level(array: np.ndarray, window: float | None = None, level: float | None = None,
                 preset: str | None = None) -> np.ndarray:
    """Map HU values to display grey levels in [0, 1] (float32).

    Give ``window`` and ``level`` in HU, or a ``preset`` name from :data:`PRESETS`.

    >>> window_level(np.array([-125, 50, 225]), preset="mediastinum").tolist()
    [0.0, 0.5, 1.0]
    """
    if preset is not None:
        if not isinstance(preset, str) or preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
        if window is not None or level is not None:
            raise ValueError("give either preset or window/level, not both")
        window, level = PRESETS[preset]
    if window is None or level is None:
        raise ValueError("window and level are required (in HU), e.g. window=1500, level=-600, "
                         "or preset='lung'")
    lo, _ = window_range(window, level)
    arr = check_array(array, "array", finite=True, max_size=None)
    out = (arr.astype(np.float32) - np.float32(lo)) * np.float32(1.0 / window)
    return np.clip(out, 0.0, 1.0, out=out)


def show_images(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, ncols: int = 4,
                cmap: str = "gray", colorbar: bool = False, vmin: float | None = None,
                vmax: float | None = None, size: float = 3.0, suptitle: str | None = None):
    """Show 2-D images in a grid with optional titles and colour bars; returns the figure.

    >>> fig = show_images([np.eye(3), np.ones((3, 3))], titles=["eye", "ones"])
    >>> len(fig.axes)
    2
    """
    import matplotlib.pyplot as plt

    if images is None or isinstance(images, (str, bytes, np.ndarray)) and np.ndim(images) < 3:
        raise TypeError(f"images must be a list of 2-D arrays, got {type(images).__name__}")
    images = list(images)
    if not images:
        raise ValueError("images is empty: pass at least one 2-D array")
    check_int(len(images), "the number of images", high=64, why_high="one figure; memory")
    if titles is not None:
        if isinstance(titles, str):
            raise TypeError("titles must be a list of strings, one per image, not one string")
        titles = list(titles)
        if len(titles) != len(images):
            raise ValueError(f"titles has {len(titles)} entries for {len(images)} images")
    ncols = check_int(ncols, "ncols", low=1, high=64)
    size = check_float(size, "size", low=0.5, high=20.0)  # inches per panel: a huge figure is a memory bomb
    for name, v in (("vmin", vmin), ("vmax", vmax)):
        if v is not None:
            check_finite_number(v, name, "a display value")
    for k, im in enumerate(images):
        a = check_array(im, f"images[{k}]", finite=False)
        if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
            raise ValueError(f"images[{k}] must be 2-D or an RGB(A) picture (H, W, 3|4), got shape {a.shape}; "
                             "show one slice of a volume, e.g. volume[k]")
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat[len(images):]:
        ax.remove()
    for k, (ax, im) in enumerate(zip(axes.flat, images)):
        h = ax.imshow(im, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[k], fontsize=10)
        if colorbar:
            fig.colorbar(h, ax=ax, fraction=0.046, pad=0.04)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


#: View name -> the numpy axis (of a z, y, x array) that the slider moves along.
VIEWS = {"axial": 0, "coronal": 1, "sagittal": 2}


def box_tuple(b: Any) -> tuple[int, int, int, int, int]:
    """A TumourBox or ``(z, row0, col0, row1, col1)`` as a tuple of ints."""
    if hasattr(b, "slice_index"):
        return (b.slice_index, b.row0, b.col0, b.row1, b.col1)
    if isinstance(b, (str, bytes)) or not hasattr(b, "__len__") or len(b) != 5:
        raise ValueError(f"a box must be a TumourBox or (z, row0, col0, row1, col1), got {b!r}")
    out = tuple(check_int(v, f"box {name}", low=0) for v, name in zip(b, ("z", "row0", "col0", "row1", "col1")))
    if out[3] < out[1] or out[4] < out[2]:
        raise ValueError(f"box {b!r} has row1 < row0 or col1 < col0")
    return out


def plane(volume: np.ndarray, view: str, index: int) -> np.ndarray:
    """The 2-D plane shown for ``view`` at ``index``; superior (high z) is drawn at the top.

    >>> plane(np.arange(8).reshape(2, 2, 2), "coronal", 0).tolist()
    [[4, 5], [0, 1]]
    """
    check_choice(view, "view", list(VIEWS))
    if not isinstance(volume, np.ndarray) or volume.ndim != 3:
        raise ValueError(f"volume must be a 3-D (z, y, x) numpy array, got "
                         f"{type(volume).__name__} {getattr(volume, 'shape', '')}")
    index = check_int(index, "index", low=0, high=volume.shape[VIEWS[view]] - 1)
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
    check_choice(view, "view", list(VIEWS))
    volume = check_array(volume, "volume", ndim=3, finite=False, max_size=None)
    check_not_rgb(volume, "volume")
    n = volume.shape[VIEWS[view]]
    index = check_int(index, "index")
    if not 0 <= index < n:
        raise ValueError(f"index {index} is outside the {view} range 0..{n - 1}")
    opacity = check_float(opacity, "opacity", 0.0, 1.0)
    if isinstance(spacing, (str, bytes)) or not hasattr(spacing, "__len__") or len(spacing) != 3:
        raise ValueError(f"spacing must be three voxel sizes (x, y, z) in mm, got {spacing!r}")
    for k, v in enumerate(spacing):
        check_float(v, f"spacing[{k}]", 0.0, 100.0, low_open=True)
    from .render import draw_boxes, overlay_mask, scale_nearest

    lo, hi = window_range(window, level)
    pl = plane(volume, view, index)
    # grey = (HU - lo) / W * 255, done in float32 on one plane: ~1 ms for 512x512
    grey = np.empty(pl.shape, np.float32)
    np.subtract(pl, lo, out=grey, dtype=np.float32)
    grey *= np.float32(255.0 / (hi - lo))
    np.clip(grey, 0, 255, out=grey)
    grey += np.float32(0.5)  # round half up (values are >= 0), cheaper than np.rint
    grey = grey.astype(np.uint8)
    if mask is not None:
        mask = check_array(mask, "mask", finite=True, max_size=None)
        if mask.shape != volume.shape:
            raise ValueError(f"mask shape {mask.shape} differs from image shape {volume.shape}")
        rgb = overlay_mask(grey, plane(mask, view, index) > 0, opacity=opacity)
    else:
        rgb = np.repeat(grey[..., None], 3, axis=2)
    sx, sy, sz = (float(s) for s in spacing)
    nz = volume.shape[0]
    rects = []
    for z, r0, c0, r1, c1 in (box_tuple(b) for b in boxes):
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
