"""Fast rendering: numpy/matplotlib -> PNG bytes (core; no ipywidgets), used by every widget.

Design choice for the whole series (measured in ``benchmarks/bench_viewer.py``):
images are composed in numpy (window/level, colour overlay) and encoded once as PNG
with the fastest zlib level, then sent as bytes to an ``ipywidgets.Image``. This needs
no frontend extension (works in JupyterLab, Notebook 7, VS Code, Voila) and costs a few
milliseconds for 512x512, whereas re-creating a matplotlib figure costs ~100 ms.
Charts (histograms, curves) use :class:`FigureRenderer`: one matplotlib figure built
once, artists updated in place, drawn with the Agg canvas to PNG.

Charts (histograms, curves) use :class:`Chart`: one Agg figure whose static part is drawn once and
cached; each update restores that background and draws only the animated artists (a few ms instead of
the ~50-100 ms of a full matplotlib draw).

This module imports no ipywidgets so it is usable (and testable) without a kernel.
"""
from __future__ import annotations

import io
import re
from typing import Any, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

__all__ = ["to_png", "to_uint8", "to_rgb", "overlay_mask", "draw_boxes", "draw_seed", "render_overlay",
           "FigureRenderer", "Chart", "scale_nearest", "zoom", "font", "grey_window", "hstack", "vstack",
           "titled", "diverging", "heatmap_rgb", "blend"]

_FONTS: dict = {}


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def font(size: int, text: str = ""):
    """The font for text drawn into PNGs at ``size`` px (cached).

    Pillow's default TrueType font (DejaVu Sans), except when ``medlab.set_language("zh")`` is in force or
    ``text`` holds Chinese characters: then a CJK font (Noto Sans CJK, found by ``medlab.i18n.cjk_font_path``),
    so 中文 is drawn as glyphs, not as empty boxes. Without a CJK font installed it falls back to the default.

    >>> font(12) is font(12)
    True
    """
    from .i18n import cjk_font_path, get_language

    path = cjk_font_path() if (get_language() == "zh" or _CJK.search(text or "")) else None
    key = (size, path)
    if key not in _FONTS:
        from PIL import ImageFont

        if path is not None:
            _FONTS[key] = _truetype_sc(path, size)
        else:
            try:
                _FONTS[key] = ImageFont.load_default(size=size)
            except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
                _FONTS[key] = ImageFont.load_default()
    return _FONTS[key]


def _truetype_sc(path: str, size: int):
    """A TrueType font; in a .ttc collection the Simplified Chinese face (the article's script) if there is one."""
    from PIL import ImageFont

    if not path.lower().endswith(".ttc"):
        return ImageFont.truetype(path, size)
    first = None
    for index in range(10):
        try:
            f = ImageFont.truetype(path, size, index=index)
        except OSError:
            break
        first = first or f
        if " SC" in " ".join(f.getname()):
            return f
    return first if first is not None else ImageFont.truetype(path, size)


def to_uint8(array: np.ndarray, vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """Linearly map ``array`` to 0..255 (clipping outside ``[vmin, vmax]``).

    >>> to_uint8(np.array([0.0, 0.5, 1.0])).tolist()
    [0, 128, 255]
    """
    a = np.asarray(array, dtype=np.float32)
    lo = float(np.nanmin(a)) if vmin is None else float(vmin)
    hi = float(np.nanmax(a)) if vmax is None else float(vmax)
    if hi <= lo:
        return np.zeros(a.shape, dtype=np.uint8)
    out = (a - lo) * (255.0 / (hi - lo))
    np.clip(out, 0, 255, out=out)
    return np.rint(out).astype(np.uint8)


def to_png(image: np.ndarray, compress_level: int = 1) -> bytes:
    """Encode a uint8 grey (H, W) or RGB (H, W, 3) array as PNG bytes.

    >>> to_png(np.zeros((4, 4), np.uint8))[:4]
    b'\\x89PNG'
    """
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"image must be uint8 (got {img.dtype}); convert with to_uint8() first")
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)):
        raise ValueError(f"image must be (H, W), (H, W, 3) or (H, W, 4); got shape {img.shape}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def scale_nearest(image: np.ndarray, row_scale: float, col_scale: float = 1.0) -> np.ndarray:
    """Resize by nearest neighbour so each pixel is drawn with its physical aspect ratio.

    A coronal CT view has 8 mm rows and 0.65 mm columns: ``row_scale = 8 / 0.65``
    repeats each row ~12 times so the anatomy is not squashed.

    >>> scale_nearest(np.arange(4).reshape(2, 2), 2.0).shape
    (4, 2)
    """
    h, w = image.shape[:2]
    nh, nw = max(1, int(round(h * row_scale))), max(1, int(round(w * col_scale)))
    rows = np.minimum((np.arange(nh) / row_scale).astype(np.intp), h - 1)
    cols = np.minimum((np.arange(nw) / col_scale).astype(np.intp), w - 1)
    return image[rows][:, cols]


def overlay_mask(grey: np.ndarray, mask: np.ndarray, color: Sequence[int] = (255, 60, 60),
                 opacity: float = 0.4) -> np.ndarray:
    """Blend a boolean ``mask`` in ``color`` over a uint8 grey image; returns RGB uint8.

    >>> overlay_mask(np.zeros((2, 2), np.uint8), np.eye(2, dtype=bool), opacity=1.0)[0, 0].tolist()
    [255, 60, 60]
    """
    if grey.shape != mask.shape:
        raise ValueError(f"mask shape {mask.shape} differs from image shape {grey.shape}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    rgb = np.repeat(grey[..., None], 3, axis=2)
    m = mask.astype(bool)
    if opacity > 0 and m.any():
        c = np.asarray(color, dtype=np.float32)
        rgb[m] = np.rint(rgb[m] * (1.0 - opacity) + c * opacity).astype(np.uint8)
    return rgb


def draw_boxes(rgb: np.ndarray, boxes: Sequence[Sequence[int]], color: Sequence[int] = (255, 215, 0),
               thickness: int = 2) -> np.ndarray:
    """Draw rectangle outlines ``(row0, col0, row1, col1)`` (inclusive) into an RGB image, in place."""
    h, w = rgb.shape[:2]
    for r0, c0, r1, c1 in boxes:
        r0, r1 = max(0, int(r0)), min(h - 1, int(r1))
        c0, c1 = max(0, int(c0)), min(w - 1, int(c1))
        if r0 > r1 or c0 > c1:
            continue
        t = thickness
        rgb[r0:min(r0 + t, r1 + 1), c0:c1 + 1] = color
        rgb[max(r1 - t + 1, r0):r1 + 1, c0:c1 + 1] = color
        rgb[r0:r1 + 1, c0:min(c0 + t, c1 + 1)] = color
        rgb[r0:r1 + 1, max(c1 - t + 1, c0):c1 + 1] = color
    return rgb


class FigureRenderer:
    """A matplotlib figure built once and re-drawn to PNG bytes after artists change.

    Build artists on ``renderer.fig`` once, then on each update call ``line.set_data(...)``
    (or ``im.set_data``) and ``renderer.png()``. No pyplot, so nothing leaks into the
    notebook's inline output and figures are never accumulated.

    >>> r = FigureRenderer(figsize=(2, 1)); ax = r.fig.add_subplot(); _ = ax.plot([0, 1])
    >>> r.png()[:4]
    b'\\x89PNG'
    """

    def __init__(self, figsize: tuple[float, float] = (5, 3), dpi: int = 80, **fig_kw):
        self.fig = Figure(figsize=figsize, dpi=dpi, **fig_kw)
        self.canvas = FigureCanvasAgg(self.fig)

    def rgba(self) -> np.ndarray:
        """Draw and return the RGBA pixel buffer (H, W, 4)."""
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())

    def png(self) -> bytes:
        """Draw and return PNG bytes."""
        return to_png(self.rgba()[..., :3].copy())


def grey_window(plane: np.ndarray, window: float, level: float) -> np.ndarray:
    """HU plane -> uint8 grey with window ``W`` and level ``L`` (black below L-W/2, white above L+W/2).

    >>> grey_window(np.array([[-1000, -600, -150]]), 1500, -600).tolist()
    [[60, 128, 204]]
    """
    from .display import window_range

    lo, hi = window_range(window, level)
    return to_uint8(plane, lo, hi)


def to_rgb(array: np.ndarray, vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """Grey (H, W) of any dtype -> RGB uint8 (H, W, 3); uint8 RGB passes through unchanged.

    >>> to_rgb(np.array([[0.0, 1.0]])).shape
    (1, 2, 3)
    """
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 3 and a.dtype == np.uint8:
        return a
    if a.ndim != 2:
        raise ValueError(f"array must be a grey (H, W) image or uint8 RGB (H, W, 3), got shape {a.shape}")
    g = a if (a.dtype == np.uint8 and vmin is None and vmax is None) else to_uint8(a, vmin, vmax)
    return np.repeat(g[..., None], 3, axis=2)


def zoom(image: np.ndarray, factor: int) -> np.ndarray:
    """Enlarge by an integer ``factor`` (pixel replication: small images stay crisp).

    >>> zoom(np.eye(2, dtype=np.uint8), 3).shape
    (6, 6)
    """
    f = int(factor)
    if f < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    return image if f == 1 else np.repeat(np.repeat(image, f, axis=0), f, axis=1)


def draw_seed(rgb: np.ndarray, seed: Sequence[int], color: Sequence[int] = (0, 255, 255)) -> np.ndarray:
    """Draw a cross at ``seed`` = (row, col) into an RGB image, in place."""
    r, c = int(seed[0]), int(seed[1])
    h, w = rgb.shape[:2]
    arm = max(3, min(h, w) // 40)
    if 0 <= r < h:
        rgb[r, max(0, c - arm):min(w, c + arm + 1)] = color
    if 0 <= c < w:
        rgb[max(0, r - arm):min(h, r + arm + 1), c] = color
    return rgb


def render_overlay(grey: np.ndarray, mask: np.ndarray | None = None, seed: Sequence[int] | None = None,
                   boxes: Sequence[Sequence[int]] = (), color: Sequence[int] = (255, 60, 60),
                   opacity: float = 0.45) -> np.ndarray:
    """uint8 grey (H, W) -> RGB with an optional mask overlay, a seed cross and box outlines.

    >>> render_overlay(np.zeros((5, 5), np.uint8), seed=(2, 2))[2, 2].tolist()
    [0, 255, 255]
    """
    rgb = overlay_mask(grey, mask, color=color, opacity=opacity) if mask is not None \
        else np.repeat(grey[..., None], 3, axis=2)
    if boxes:
        draw_boxes(rgb, boxes, thickness=1)
    if seed is not None:
        draw_seed(rgb, seed)
    return rgb


def _pad_to(panel: np.ndarray, h: int | None = None, w: int | None = None, fill: int = 255) -> np.ndarray:
    p = to_rgb(panel) if panel.ndim == 2 else panel
    ph, pw = p.shape[:2]
    h, w = max(h or ph, ph), max(w or pw, pw)
    if (ph, pw) == (h, w):
        return p
    out = np.full((h, w, 3), fill, np.uint8)
    out[:ph, :pw] = p
    return out


def hstack(panels: Sequence[np.ndarray], gap: int = 8, fill: int = 255) -> np.ndarray:
    """Panels (grey uint8 or RGB) side by side, top-aligned, ``gap`` px of ``fill`` between them.

    >>> hstack([np.zeros((2, 2), np.uint8), np.zeros((3, 1, 3), np.uint8)], gap=1).shape
    (3, 4, 3)
    """
    if not panels:
        raise ValueError("panels must hold at least one image")
    h = max(p.shape[0] for p in panels)
    out = []
    for k, p in enumerate(panels):
        out.append(_pad_to(p, h=h, fill=fill))
        if k < len(panels) - 1 and gap > 0:
            out.append(np.full((h, gap, 3), fill, np.uint8))
    return np.concatenate(out, axis=1)


def vstack(panels: Sequence[np.ndarray], gap: int = 8, fill: int = 255) -> np.ndarray:
    """Panels one above the other, left-aligned.

    >>> vstack([np.zeros((2, 2), np.uint8), np.zeros((1, 3, 3), np.uint8)], gap=0).shape
    (3, 3, 3)
    """
    if not panels:
        raise ValueError("panels must hold at least one image")
    w = max(p.shape[1] for p in panels)
    out = []
    for k, p in enumerate(panels):
        out.append(_pad_to(p, w=w, fill=fill))
        if k < len(panels) - 1 and gap > 0:
            out.append(np.full((gap, w, 3), fill, np.uint8))
    return np.concatenate(out, axis=0)


def titled(panel: np.ndarray, title: str, height: int = 24, size: int = 15) -> np.ndarray:
    """``panel`` (grey or RGB) with ``title`` centred in a white strip above it.

    >>> titled(np.zeros((10, 40), np.uint8), "x").shape
    (34, 40, 3)
    """
    from PIL import ImageDraw

    from .i18n import t

    p = to_rgb(panel) if panel.ndim == 2 else panel
    title = t(title)  # 中文 when medlab.set_language("zh") is in force and the title has a translation
    strip = Image.new("RGB", (p.shape[1], height), (255, 255, 255))
    ImageDraw.Draw(strip).text((p.shape[1] / 2, height / 2), title, fill=(0, 0, 0), font=font(size, title),
                               anchor="mm")
    return np.concatenate([np.asarray(strip), p], axis=0)


def diverging(a: np.ndarray, m: float | None = None) -> np.ndarray:
    """Signed values as RGB: blue < 0 < red on white, saturating at +-``m`` (default: max |a|).

    >>> diverging(np.array([[-1.0, 0.0, 1.0]]))[0].tolist()
    [[55, 55, 255], [255, 255, 255], [255, 55, 55]]
    """
    a = np.asarray(a, dtype=np.float32)
    m = float(np.abs(a).max()) if m is None else float(m)
    v = np.clip(a / (m if m > 0 else 1.0), -1, 1)
    red, blue = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    return np.stack([255 - 200 * blue, 255 - 200 * (red + blue), 255 - 200 * red], -1).astype(np.uint8)


_COLORMAPS: dict = {}


def heatmap_rgb(values: np.ndarray, vmin: float | None = None, vmax: float | None = None,
                cmap: str = "jet") -> np.ndarray:
    """A 2-D map -> RGB uint8 through a matplotlib colormap (lookup table cached).

    >>> heatmap_rgb(np.array([[0.0, 1.0]])).shape
    (1, 2, 3)
    """
    if cmap not in _COLORMAPS:
        import matplotlib

        _COLORMAPS[cmap] = (matplotlib.colormaps[cmap](np.arange(256))[:, :3] * 255).astype(np.uint8)
    return _COLORMAPS[cmap][to_uint8(values, vmin, vmax)]


def blend(base_rgb: np.ndarray, over_rgb: np.ndarray, opacity: float) -> np.ndarray:
    """``(1 - opacity) * base + opacity * over`` for two RGB uint8 images of one shape.

    >>> blend(np.zeros((1, 1, 3), np.uint8), np.full((1, 1, 3), 200, np.uint8), 0.5)[0, 0].tolist()
    [100, 100, 100]
    """
    if base_rgb.shape != over_rgb.shape:
        raise ValueError(f"images differ in shape: {base_rgb.shape} vs {over_rgb.shape}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    out = base_rgb.astype(np.float32) * (1 - opacity) + over_rgb.astype(np.float32) * opacity
    return np.rint(out).astype(np.uint8)


class Chart:
    """The one fast chart: a figure whose static part is drawn once; updates redraw only animated artists.

    Build axes and artists on ``chart.fig``; pass the artists that change to :meth:`animate`; on every
    update change them (``set_data`` ...) and call :meth:`png`. The background (axes, ticks, static
    lines) is cached per ``key``: when a change of the static part is needed (e.g. new axis limits from a
    small fixed ladder), use a new key, or :meth:`invalidate`. This is the measured fast path of the series
    (one Agg figure, restore background, draw animated artists, PNG).

    >>> c = Chart(figsize=(2, 1)); ax = c.fig.add_subplot(); line, = ax.plot([0, 1], [0, 1])
    >>> c.animate(line); line.set_ydata([1, 0]); c.png()[:4]
    b'\\x89PNG'
    """

    def __init__(self, figsize: tuple[float, float] = (5, 3), dpi: int = 80, **fig_kw):
        self.renderer = FigureRenderer(figsize=figsize, dpi=dpi, **fig_kw)
        self.fig, self.canvas = self.renderer.fig, self.renderer.canvas
        self.artists: list = []
        self._backgrounds: dict = {}

    def animate(self, *artists: Any) -> None:
        """Mark ``artists`` as the ones redrawn at each :meth:`png` (they are left out of the background)."""
        for a in artists:
            a.set_animated(True)
            self.artists.append(a)

    def invalidate(self) -> None:
        """Forget the cached backgrounds (after changing a static artist or axis limits)."""
        self._backgrounds.clear()

    def rgb(self, key: Any = None) -> np.ndarray:
        """Draw (blit) and return the RGB pixels (H, W, 3) as a new array."""
        if key not in self._backgrounds:
            self.canvas.draw()
            self._backgrounds[key] = self.canvas.copy_from_bbox(self.fig.bbox)
        else:
            self.canvas.restore_region(self._backgrounds[key])
        for a in self.artists:
            if a.get_visible():
                a.axes.draw_artist(a)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def png(self, key: Any = None) -> bytes:
        """Draw (blit) and return PNG bytes."""
        return to_png(self.rgb(key))
