"""Widgets for 01_medical_images and 04_preprocessing.

Every widget is a pure compute/render function (numpy in, numpy / PNG bytes / dict out,
testable without a kernel) plus a thin ipywidgets builder. Images are composed in numpy and
shown as PNG in an ``ipywidgets.Image``; charts are :class:`~medlab.widgets._render.FigureRenderer`
figures built once and updated in place. Update times are measured in
``benchmarks/bench_preprocess.py`` (budget: 100 ms per update on a 512x512 slice).

Where a computation is too slow for that budget it runs on what is visible and the widget
says so: the denoising widget works on a 256x256 zoom of the slice (a 5x5 median of a full
512x512 float slice alone takes ~100 ms), and region growing previews on the current slice
(2-D, a few ms) with a button for the full 3-D region (~100-200 ms).

Seeds are placed with sliders: ``ipywidgets.Image`` has no click event, and the optional
``ipyevents`` package that would add one is not part of MedLab's environment.

>>> vol = np.full((3, 16, 16), -1000, np.int16); vol[:, 4:12, 4:12] = 40
>>> r = compute_region_2d(vol[1], (8, 8), -100, 100, spacing=(1.0, 1.0, 5.0))
>>> r["pixels"], r["slab_ml"]
(64, 0.32)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import SimpleITK as sitk
from matplotlib.patches import Rectangle
from matplotlib.transforms import blended_transform_factory

from .. import preprocess as pp
from ..display import window_range
from ._controls import image_view as _img
from ._controls import slider as _slider
from ._controls import window_preset_buttons
from ._render import grey_window  # noqa: F401  (re-exported: notebooks use it from here)
from ._render import FigureRenderer, draw_boxes, overlay_mask, scale_nearest, to_png, to_uint8

__all__ = [
    "grey_window", "hu_histogram", "render_overlay", "compute_enhancement", "compute_noise_filter",
    "compute_threshold", "compute_region_2d", "compute_region_3d", "render_lung_step", "crop_center",
    "HistogramChart", "ENHANCEMENTS",
    "window_level_explorer", "equalization_explorer", "denoise_explorer", "threshold_explorer",
    "region_grow_explorer", "lung_segmentation_stepper", "compute_box_growth", "box_grow_explorer",
]

ENHANCEMENTS = ("none", "equalize", "clahe", "stretch", "gamma")
HU_BINS = np.arange(-1024, 1601, 16)  # chart bins for CT slices (HU)
_RAMP_X = np.linspace(-1100, 1700, 281)


# =============================================================================================
# pure helpers
# =============================================================================================
def _volume(image: Any) -> tuple[np.ndarray, tuple[float, float, float], list]:
    """(z, y, x) array, spacing (x, y, z) mm and boxes from a LungCT, SimpleITK image or array."""
    boxes = list(getattr(image, "boxes", []) or [])
    if hasattr(image, "image") and isinstance(image.image, sitk.Image):
        image = image.image
    if isinstance(image, sitk.Image):
        if image.GetDimension() != 3:
            raise ValueError(f"image must be 3-D, got a {image.GetDimension()}-D SimpleITK image")
        return sitk.GetArrayFromImage(image), tuple(image.GetSpacing()), boxes
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a LungCT, SimpleITK.Image or numpy array, got {type(image).__name__}")
    arr = image[None] if image.ndim == 2 else image
    if arr.ndim != 3:
        raise ValueError(f"image must be a 2-D or 3-D (z, y, x) array, got shape {image.shape}")
    return arr, (1.0, 1.0, 1.0), boxes


def hu_histogram(plane: np.ndarray, bins: np.ndarray = HU_BINS) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, counts) of a HU plane on fixed bins (values outside go to the end bins).

    >>> c, n = hu_histogram(np.array([-1024, 0, 0, 1600]), np.array([-1024, 0, 1601]))
    >>> c.tolist(), n.tolist()
    ([-512.0, 800.5], [1, 3])
    """
    edges = np.asarray(bins, dtype=np.float64)
    counts, _ = np.histogram(np.clip(plane, edges[0], edges[-1] - 1e-6), bins=edges)
    return (edges[:-1] + edges[1:]) / 2.0, counts


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
        r, c = int(seed[0]), int(seed[1])
        h, w = grey.shape
        arm = max(3, min(h, w) // 40)
        rgb[r, max(0, c - arm):min(w, c + arm + 1)] = (0, 255, 255)
        rgb[max(0, r - arm):min(h, r + arm + 1), c] = (0, 255, 255)
    return rgb


def crop_center(image: np.ndarray, size: int,
                center: Sequence[int] | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """A ``size`` x ``size`` crop (clamped to the image) around ``center`` (default: the middle);
    returns the crop and its top-left corner.

    >>> crop_center(np.arange(16).reshape(4, 4), 2)[0].tolist()
    [[5, 6], [9, 10]]
    """
    h, w = image.shape[:2]
    if size >= h and size >= w:
        return image, (0, 0)
    cr, cc = (h // 2, w // 2) if center is None else (int(center[0]), int(center[1]))
    r0 = int(np.clip(cr - size // 2, 0, max(0, h - size)))
    c0 = int(np.clip(cc - size // 2, 0, max(0, w - size)))
    return image[r0:r0 + size, c0:c0 + size], (r0, c0)


def compute_enhancement(image: np.ndarray, method: str = "equalize", clip_limit: float = 0.01,
                        gamma: float = 1.0, in_range: tuple[float, float] | None = None,
                        nbins: int = 128) -> dict:
    """Enhance a 2-D image and return before/after images in [0, 1] with their histograms and CDFs.

    ``method``: ``"none"``, ``"equalize"`` (own, global), ``"clahe"`` (scikit-image, tiles,
    ``clip_limit``), ``"stretch"`` (2-98 % percentiles), ``"gamma"``. ``in_range`` maps the
    input to [0, 1] for display and CLAHE/gamma (e.g. a CT window); default min..max.
    Histograms use ``nbins`` bins on [0, 1].

    >>> d = compute_enhancement(np.array([[0, 0], [0, 9]]), "equalize")
    >>> d["after"].tolist()
    [[0.75, 0.75], [0.75, 1.0]]
    """
    a = pp._array(image, ndims=(2,))
    if method not in ENHANCEMENTS:
        raise ValueError(f"method must be one of {ENHANCEMENTS}, got {method!r}")
    before = pp._normalise(a, in_range)
    if method == "none":
        after = before
    elif method == "equalize":
        after = pp.equalize_hist(a)
    elif method == "clahe":
        after = pp.clahe(a, clip_limit=clip_limit, in_range=in_range)
    elif method == "stretch":
        after = pp.contrast_stretch(a, 2, 98)
    else:
        after = pp.gamma_correct(a, gamma, in_range=in_range)
    edges = np.linspace(0.0, 1.0, nbins + 1)
    hb, _ = np.histogram(before, bins=edges)
    ha, _ = np.histogram(after, bins=edges)
    return {"before": before, "after": after, "centres": (edges[:-1] + edges[1:]) / 2,
            "hist_before": hb, "hist_after": ha,
            "cdf_before": np.cumsum(hb) / hb.sum(), "cdf_after": np.cumsum(ha) / ha.sum()}


def compute_noise_filter(clean: np.ndarray, noise_kind: str = "gaussian", noise_level: float = 0.05,
                         filter_kind: str = "median", filter_size: int = 1, seed: int = 0,
                         noisy: np.ndarray | None = None) -> dict:
    """Add noise to ``clean``, filter it, and measure PSNR/SSIM of noisy and filtered vs clean.

    Pass a previously returned ``noisy`` to skip re-generating the noise (the widget does
    this when only the filter changes). The data range for the metrics is that of ``clean``.

    >>> d = compute_noise_filter(np.tile(np.linspace(0, 1, 16), (16, 1)), "salt_pepper", 0.1, "median", 1)
    >>> d["psnr_filtered"] > d["psnr_noisy"]
    True
    """
    c = pp._array(clean, "clean", ndims=(2,)).astype(np.float64)
    if noisy is None:
        noisy = pp.add_noise(c, noise_kind, noise_level, seed=seed)
    elif noisy.shape != c.shape:
        raise ValueError(f"noisy shape {noisy.shape} differs from clean shape {c.shape}")
    filtered = pp.denoise(noisy, filter_kind, filter_size)
    rng = float(c.max() - c.min()) or 1.0
    c32 = c.astype(np.float32)
    return {"clean": c, "noisy": noisy, "filtered": filtered, "data_range": rng,
            "psnr_noisy": pp.psnr(c, noisy, rng), "psnr_filtered": pp.psnr(c, filtered, rng),
            "ssim_noisy": pp.ssim(c32, noisy.astype(np.float32), rng),
            "ssim_filtered": pp.ssim(c32, filtered.astype(np.float32), rng)}


def compute_threshold(plane: np.ndarray, t: float) -> dict:
    """Mask ``plane > t``, its pixel fraction, and Otsu's threshold for the plane.

    >>> compute_threshold(np.array([[0, 0], [10, 10]]), 5)["fraction"]
    0.5
    """
    a = pp._array(plane, "plane", ndims=(2,))
    mask = a > t
    return {"mask": mask, "fraction": float(mask.mean()), "otsu": pp.otsu_threshold(a)}


def compute_region_2d(plane: np.ndarray, seed_rc: Sequence[int], lower: float, upper: float,
                      connectivity: str = "face", spacing: Sequence[float] = (1.0, 1.0, 1.0)) -> dict:
    """Region growing on one slice; area in mm² and the slab volume (area x slice spacing) in mL."""
    a = pp._array(plane, "plane", ndims=(2,))
    mask = pp.region_grow(a, tuple(seed_rc), lower, upper, connectivity)
    n = int(mask.sum())
    area = n * float(spacing[0]) * float(spacing[1])
    return {"mask": mask, "pixels": n, "area_mm2": area, "slab_ml": round(area * float(spacing[2]) / 1000.0, 4),
            "seed_value": float(a[tuple(seed_rc)])}


def compute_region_3d(volume: np.ndarray, seed_zyx: Sequence[int], lower: float, upper: float,
                      connectivity: str = "face", spacing: Sequence[float] = (1.0, 1.0, 1.0)) -> dict:
    """Region growing in the whole volume; voxel count, volume in mL and the slices it spans."""
    a = pp._array(volume, "volume", ndims=(3,))
    mask = pp.region_grow(a, tuple(seed_zyx), lower, upper, connectivity)
    n = int(mask.sum())
    zs = np.nonzero(mask.any(axis=(1, 2)))[0]
    return {"mask": mask, "voxels": n, "volume_ml": n * float(np.prod(spacing)) / 1000.0,
            "slices": (int(zs[0]), int(zs[-1])) if len(zs) else None}


def compute_box_growth(image: np.ndarray, box_mask: np.ndarray, lower: float, upper: float,
                       constrain: bool = True, spacing: Sequence[float] = (1.0, 1.0, 1.0)) -> dict:
    """:func:`medlab.preprocess.grow_from_box` on one slice (2-D) or the whole volume (3-D), with
    Dice/IoU against the box and the region's size (mm² and slab mL for a slice, mL for a volume).

    ``constrain`` restricts growth to the box (``roi_margin=0``), else it grows freely. Settings
    that cannot grow anything (``lower > upper``, no voxel of the box in the range, an empty box)
    are flagged with ``valid=False`` and a message instead of raising.

    >>> img = np.full((8, 8), -800); img[2:5, 2:5] = 40; box = np.zeros((8, 8), bool); box[1:6, 1:6] = True
    >>> d = compute_box_growth(img, box, -300, 200)
    >>> d["valid"], d["voxels"], round(d["dice"], 3)
    (True, 9, 0.529)
    >>> compute_box_growth(img, box, 300, 200)["message"]
    'lower (300) must be <= upper (200)'
    """
    a = pp._array(image, ndims=(2, 3))
    m = pp._mask(box_mask, "box_mask", ndims=(2, 3))
    if m.shape != a.shape:
        raise ValueError(f"box_mask shape {m.shape} differs from image shape {a.shape}")
    if lower > upper:
        return {"valid": False, "message": f"lower ({lower:g}) must be <= upper ({upper:g})"}
    if not m.any():
        return {"valid": False, "message": "no annotated box here (box_mask is empty)"}
    try:
        g = pp.grow_from_box(a, m, lower, upper, roi_margin=0 if constrain else None)
    except ValueError as exc:  # no in-range voxel inside the box
        return {"valid": False, "message": str(exc)}
    sx, sy, sz = (float(v) for v in spacing)
    out = {"valid": True, "message": "", "region": g.region, "seed": g.seed, "dice": g.dice, "iou": g.iou,
           "inside_box": g.inside_box, "box_covered": g.box_covered, "voxels": g.voxels}
    if a.ndim == 2:
        area = g.voxels * sx * sy
        out.update(area_mm2=area, slab_ml=area * sz / 1000.0)
    else:
        out["volume_ml"] = g.voxels * sx * sy * sz / 1000.0
    return out


def render_lung_step(volume: np.ndarray, seg: pp.LungSegmentation, step: int, index: int,
                     window: float = 1500, level: float = -600) -> np.ndarray:
    """RGB of slice ``index`` with the mask of step ``step`` (1-based) of a lung segmentation."""
    names = list(seg.steps)
    if not 1 <= step <= len(names):
        raise ValueError(f"step must be in 1..{len(names)}, got {step}")
    if not 0 <= index < volume.shape[0]:
        raise ValueError(f"index {index} is outside the slice range 0..{volume.shape[0] - 1}")
    return render_overlay(grey_window(volume[index], window, level), seg.steps[names[step - 1]][index])


# =============================================================================================
# charts
# =============================================================================================
class HistogramChart:
    """A histogram with named vertical lines, a shaded span and an optional second curve on a
    [0, 1] right axis (a CDF or a grey-level ramp).

    Built once. Counts are drawn as ``log10(1 + count)`` on a linear axis when ``log`` (a
    true log axis costs ~70 ms more per draw). The histogram and axes are the *static*
    background, drawn only when the histogram changes; lines, span and curve are *animated*
    artists blitted on a saved copy of the background, so moving a threshold costs a few ms.
    """

    def __init__(self, centres: np.ndarray, counts: np.ndarray, xlabel: str, title: str = "",
                 figsize: tuple[float, float] = (5.2, 2.6), log: bool = True, curve_label: str | None = None,
                 vlines: dict[str, tuple[str, str]] | None = None, xlim: tuple[float, float] | None = None,
                 ylim: tuple[float, float] | None = None):
        self.renderer = FigureRenderer(figsize=figsize, dpi=80)
        fig = self.renderer.fig
        fig.subplots_adjust(left=0.13, right=0.87 if curve_label else 0.97, bottom=0.2, top=0.86)
        self.ax = ax = fig.add_subplot()
        self.log = log
        self.xlim, self.ylim = xlim, ylim
        # with fixed limits the histogram itself is animated: a new histogram is only blitted
        (self.line,) = ax.plot(centres, self._y(counts), drawstyle="steps-mid", color="0.35", lw=1,
                               animated=ylim is not None and xlim is not None)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("log₁₀(1 + pixels)" if log else "pixels")
        self.title = ax.set_title(title, fontsize=10)
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        self.span = Rectangle((0, 0), 0, 1, transform=trans, color="tab:orange", alpha=0.25, visible=False,
                              animated=True)
        ax.add_patch(self.span)
        self.lines: dict[str, Any] = {}
        for name, (color, label) in (vlines or {}).items():
            self.lines[name] = ax.axvline(0, color=color, lw=1.5, label=label, animated=True)
        if self.lines:
            ax.legend(handles=list(self.lines.values()), loc="upper right", fontsize=8, framealpha=0.8)
        self.curve_ax = None
        self.curve = None
        if curve_label:
            self.curve_ax = ax.twinx()
            self.curve_ax.set_ylim(-0.02, 1.02)
            self.curve_ax.set_ylabel(curve_label, color="tab:blue")
            (self.curve,) = self.curve_ax.plot([], [], color="tab:blue", lw=1.5, animated=True)
        self._background = None
        self._autoscale()

    def _y(self, counts):
        return np.log10(1.0 + np.asarray(counts, dtype=np.float64)) if self.log else counts

    def _autoscale(self):
        if self.line.get_animated():
            self.ax.set_xlim(*self.xlim)
            self.ax.set_ylim(*self.ylim)
            return
        self.ax.relim()
        self.ax.autoscale_view()
        if self.xlim is not None:
            self.ax.set_xlim(*self.xlim)
        if self.ylim is not None:
            self.ax.set_ylim(*self.ylim)
        self._background = None

    def set_hist(self, centres: np.ndarray, counts: np.ndarray) -> None:
        """New histogram data: the background is redrawn at the next :meth:`png`."""
        self.line.set_data(centres, self._y(counts))
        self._autoscale()

    def set_title(self, title: str) -> None:
        if title != self.title.get_text():
            self.title.set_text(title)
            self._background = None

    def vline(self, name: str, x: float) -> None:
        if name not in self.lines:
            raise ValueError(f"name must be one of {list(self.lines)}, got {name!r}")
        self.lines[name].set_xdata([x, x])
        self.lines[name].set_visible(True)

    def set_span(self, lo: float, hi: float) -> None:
        self.span.set_x(lo)
        self.span.set_width(hi - lo)
        self.span.set_visible(True)

    def set_curve(self, x: np.ndarray, y: np.ndarray) -> None:
        if self.curve is None:
            raise ValueError("this chart was built without a curve axis (curve_label=None)")
        self.curve.set_data(x, y)

    def rgba(self) -> np.ndarray:
        canvas = self.renderer.canvas
        if self._background is None:
            canvas.draw()  # static parts only: animated artists are skipped
            self._background = canvas.copy_from_bbox(self.renderer.fig.bbox)
        else:
            canvas.restore_region(self._background)
        if self.line.get_animated():
            self.ax.draw_artist(self.line)
        self.ax.draw_artist(self.span)
        for ln in self.lines.values():
            if ln.get_visible():
                self.ax.draw_artist(ln)
        if self.curve is not None:
            self.curve_ax.draw_artist(self.curve)
        return np.asarray(canvas.buffer_rgba())

    def png(self) -> bytes:
        return to_png(self.rgba()[..., :3].copy())


# =============================================================================================
# builders
# =============================================================================================
def _log_top(plane: np.ndarray) -> float:
    """Fixed y limit for log10(1 + count) histograms of a plane: no bin can exceed the pixel count."""
    return float(np.log10(1.0 + plane.size)) * 1.05


def _start_slice(volume, boxes):
    if boxes:
        return int(boxes[len(boxes) // 2].slice_index)
    return volume.shape[0] // 2


def window_level_explorer(image: Any, window: float = 1500, level: float = -600, width: int = 420) -> Any:
    """CT slice with window/level sliders and presets, next to the slice's HU histogram with the
    window shaded and the HU -> grey ramp drawn. ``image``: LungCT, 3-D SimpleITK image or array."""
    import ipywidgets as w

    volume, _, boxes = _volume(image)
    k0 = _start_slice(volume, boxes)
    slice_w = _slider(w, "IntSlider", "Slice", value=k0, min=0, max=volume.shape[0] - 1)
    window_w = _slider(w, "FloatSlider", "Window W (HU)", value=window, min=1, max=4000, step=1)
    level_w = _slider(w, "FloatSlider", "Level L (HU)", value=level, min=-1024, max=3000, step=1)
    preset_w = window_preset_buttons(window_w, level_w, button_width="104px")
    img_w, chart_w, info_w = _img(w, width), _img(w, 420), w.HTML()
    chart = HistogramChart(*hu_histogram(volume[k0]), xlabel="HU", title="HU histogram of the slice",
                           curve_label="grey level (0 black, 1 white)", xlim=(-1100, 1700),
                           ylim=(0.0, _log_top(volume[k0])))

    def render_image():
        img_w.value = to_png(grey_window(volume[slice_w.value], window_w.value, level_w.value))

    def render_chart():
        lo, hi = window_range(window_w.value, level_w.value)
        chart.set_span(lo, hi)
        chart.set_curve(_RAMP_X, np.clip((_RAMP_X - lo) / (hi - lo), 0.0, 1.0))
        chart_w.value = chart.png()
        plane = volume[slice_w.value]
        shown = float(((plane >= lo) & (plane <= hi)).mean())
        info_w.value = (f"<code>shown HU range [{lo:.0f}, {hi:.0f}]: {shown:.0%} of the pixels get a grey level "
                        f"between black and white; {256 / window_w.value:.2f} grey steps per HU</code>")

    def render(_=None):
        render_image()
        render_chart()

    def on_slice(_):
        chart.set_hist(*hu_histogram(volume[slice_w.value]))
        render()

    slice_w.observe(on_slice, names="value")
    window_w.observe(render, names="value")
    level_w.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([w.VBox([slice_w, window_w, level_w]), preset_w]), w.HBox([img_w, chart_w]), info_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {  # type: ignore[attr-defined]
        "slice": slice_w, "window": window_w, "level": level_w, "preset": preset_w}
    return box


def equalization_explorer(image: np.ndarray, in_range: tuple[float, float] | None = None, width: int = 340) -> Any:
    """Before/after images with their histograms and CDFs for global equalisation, CLAHE,
    contrast stretch and gamma. ``image`` is 2-D (a CT slice in HU with ``in_range`` as the
    display window, or an X-ray)."""
    import ipywidgets as w

    a = pp._array(image, ndims=(2,))
    method_w = w.ToggleButtons(options=[("None", "none"), ("Equalise", "equalize"), ("CLAHE", "clahe"),
                                        ("Stretch", "stretch"), ("Gamma", "gamma")], value="equalize",
                               description="Method", style={"button_width": "84px"})
    clip_w = _slider(w, "FloatLogSlider", "CLAHE clip limit", value=0.01, base=10, min=-3, max=0, step=0.1)
    gamma_w = _slider(w, "FloatSlider", "Gamma", value=1.0, min=0.2, max=3.0, step=0.05)
    before_w, after_w, chart_b_w, chart_a_w = (_img(w, width) for _ in range(4))
    info_w = w.HTML()
    d0 = compute_enhancement(a, "none", in_range=in_range)
    before_w.value = to_png(to_uint8(d0["before"], 0, 1))
    chart_b = HistogramChart(d0["centres"], d0["hist_before"], "grey level (0..1)", "before",
                             figsize=(4.25, 2.4), curve_label="CDF", xlim=(0.0, 1.0), ylim=(0.0, _log_top(a)))
    chart_b.set_curve(d0["centres"], d0["cdf_before"])
    chart_b_w.value = chart_b.png()
    chart_a = HistogramChart(d0["centres"], d0["hist_before"], "grey level (0..1)", "after (method as chosen)",
                             figsize=(4.25, 2.4), curve_label="CDF", xlim=(0.0, 1.0), ylim=(0.0, _log_top(a)))

    def render(_=None):
        d = compute_enhancement(a, method_w.value, clip_w.value, gamma_w.value, in_range)
        after_w.value = to_png(to_uint8(d["after"], 0, 1))
        chart_a.set_hist(d["centres"], d["hist_after"])
        chart_a.set_curve(d["centres"], d["cdf_after"])
        chart_a_w.value = chart_a.png()
        straight = float(np.abs(d["cdf_after"] - d["centres"]).max())
        info_w.value = (f"<code>max |CDF(v) − v| after = {straight:.3f} (0 = perfectly flat histogram; "
                        f"before: {float(np.abs(d['cdf_before'] - d['centres']).max()):.3f})</code>")

    for c in (method_w, clip_w, gamma_w):
        c.observe(render, names="value")
    render()
    box = w.VBox([method_w, w.HBox([clip_w, gamma_w]), w.HBox([before_w, after_w]),
                  w.HBox([chart_b_w, chart_a_w]), info_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"method": method_w, "clip": clip_w, "gamma": gamma_w}  # type: ignore[attr-defined]
    return box


def denoise_explorer(image: np.ndarray, in_range: tuple[float, float] | None = None, crop: int = 256,
                     center: Sequence[int] | None = None, seed: int = 0, width: int = 300) -> Any:
    """Noise kind/level x filter kind/size with PSNR and SSIM readouts.

    Works on a ``crop`` x ``crop`` zoom of ``image`` (around ``center``) so that each update
    stays under 100 ms and the noise pixels are visible; metrics are for that region."""
    import ipywidgets as w

    full = pp._array(image, ndims=(2,))
    clean, (r0, c0) = crop_center(full, crop, center)
    clean = clean.astype(np.float64)
    disp = in_range or (float(clean.min()), float(clean.max()))
    noise_w = w.ToggleButtons(options=[("Gaussian", "gaussian"), ("Salt & pepper", "salt_pepper"),
                                       ("Poisson", "poisson")], value="salt_pepper", description="Noise",
                              style={"button_width": "120px"})
    level_w = _slider(w, "FloatSlider", "Noise level", value=0.05, min=0.0, max=0.3, step=0.01)
    filt_w = w.ToggleButtons(options=[("None", "none"), ("Median", "median"), ("Gaussian", "gaussian"),
                                      ("Curvature flow", "curvature_flow")], value="median", description="Filter",
                             style={"button_width": "128px"})
    size_w = _slider(w, "IntSlider", "Filter size", value=1, min=1, max=3)
    imgs = [_img(w, width) for _ in range(3)]
    info_w = w.HTML()
    state: dict = {"noisy": None}

    def render(_=None, new_noise: bool = True):
        if new_noise:
            state["noisy"] = None  # compute_noise_filter draws fresh noise when given none
        d = compute_noise_filter(clean, noise_w.value, level_w.value, filt_w.value, size_w.value, seed,
                                 noisy=state["noisy"])
        state["noisy"] = d["noisy"]
        if new_noise:
            imgs[1].value = to_png(to_uint8(d["noisy"], *disp))
        imgs[2].value = to_png(to_uint8(d["filtered"], *disp))
        what = {"median": "radius (window 2r+1)", "gaussian": "sigma (px)", "curvature_flow": "iterations",
                "none": "-"}[filt_w.value]
        info_w.value = (
            "<table style='font-family:monospace'><tr><th></th><th>PSNR (dB)</th><th>SSIM</th></tr>"
            f"<tr><td>noisy</td><td>{d['psnr_noisy']:.2f}</td><td>{d['ssim_noisy']:.3f}</td></tr>"
            f"<tr><td>filtered</td><td>{d['psnr_filtered']:.2f}</td><td>{d['ssim_filtered']:.3f}</td></tr></table>"
            f"<small>Filter size = {what}. Computed on the {clean.shape[1]}×{clean.shape[0]} region at row {r0}, "
            f"column {c0} (shown enlarged) to keep updates under 100 ms. Panels: clean · noisy · filtered.</small>")

    imgs[0].value = to_png(to_uint8(clean, *disp))
    noise_w.observe(lambda _: render(new_noise=True), names="value")
    level_w.observe(lambda _: render(new_noise=True), names="value")
    filt_w.observe(lambda _: render(new_noise=False), names="value")
    size_w.observe(lambda _: render(new_noise=False), names="value")
    render()
    box = w.VBox([noise_w, level_w, filt_w, size_w, w.HBox(imgs), info_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"noise": noise_w, "level": level_w, "filter": filt_w, "size": size_w}  # type: ignore[attr-defined]
    return box


def threshold_explorer(image: Any, threshold: float | None = None, window: float = 1500, level: float = -600,
                       width: int = 420) -> Any:
    """Threshold slider on a CT slice: mask ``HU > t`` in red, histogram with ``t`` and Otsu's value."""
    import ipywidgets as w

    volume, _, boxes = _volume(image)
    k0 = _start_slice(volume, boxes)
    slice_w = _slider(w, "IntSlider", "Slice", value=k0, min=0, max=volume.shape[0] - 1)
    d0 = compute_threshold(volume[k0], 0)
    t_w = _slider(w, "FloatSlider", "Threshold (HU)", value=d0["otsu"] if threshold is None else threshold,
                  min=-1024, max=1500, step=1)
    otsu_b = w.Button(description="Jump to Otsu")
    img_w, chart_w, info_w = _img(w, width), _img(w, 420), w.HTML()
    chart = HistogramChart(*hu_histogram(volume[k0]), xlabel="HU", title="histogram, threshold and Otsu",
                           vlines={"threshold": ("tab:red", "threshold"), "otsu": ("tab:green", "Otsu")},
                           xlim=(-1100, 1700), ylim=(0.0, _log_top(volume[k0])))
    state = {"otsu": d0["otsu"]}

    def render(_=None):
        plane = volume[slice_w.value]
        mask = plane > t_w.value
        img_w.value = to_png(render_overlay(grey_window(plane, window, level), mask))
        chart.vline("threshold", t_w.value)
        chart.vline("otsu", state["otsu"])
        chart_w.value = chart.png()
        info_w.value = (f"<code>HU &gt; {t_w.value:.0f}: {mask.mean():.1%} of the slice (red). "
                        f"Otsu's threshold for this slice: {state['otsu']:.0f} HU</code>")

    def on_slice(_):
        plane = volume[slice_w.value]
        state["otsu"] = pp.otsu_threshold(plane)
        chart.set_hist(*hu_histogram(plane))
        render()

    slice_w.observe(on_slice, names="value")
    t_w.observe(render, names="value")
    otsu_b.on_click(lambda _: setattr(t_w, "value", state["otsu"]))
    render()
    box = w.VBox([slice_w, w.HBox([t_w, otsu_b]), w.HBox([img_w, chart_w]), info_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"slice": slice_w, "threshold": t_w, "otsu": otsu_b}  # type: ignore[attr-defined]
    return box


def region_grow_explorer(image: Any, seed_zyx: Sequence[int] | None = None, lower: float = -300,
                         upper: float = 200, window: float = 1500, level: float = -600, width: int = 480) -> Any:
    """Region growing: seed row/column/slice sliders, lower/upper HU, connectivity; live 2-D
    overlay on the current slice with its slab volume, and a button for the full 3-D region."""
    import ipywidgets as w

    volume, spacing, boxes = _volume(image)
    if seed_zyx is None:
        if boxes:
            b = boxes[0]
            seed_zyx = (b.slice_index, (b.row0 + b.row1) // 2, (b.col0 + b.col1) // 2)
        else:
            seed_zyx = tuple(n // 2 for n in volume.shape)
    seed_zyx = pp._check_seed(tuple(seed_zyx), volume.shape)
    slice_w = _slider(w, "IntSlider", "Slice (z)", value=seed_zyx[0], min=0, max=volume.shape[0] - 1)
    row_w = _slider(w, "IntSlider", "Seed row (y)", value=seed_zyx[1], min=0, max=volume.shape[1] - 1)
    col_w = _slider(w, "IntSlider", "Seed column (x)", value=seed_zyx[2], min=0, max=volume.shape[2] - 1)
    lo_w = _slider(w, "FloatSlider", "Lower (HU)", value=lower, min=-1020, max=1500, step=5)  # on round HU
    hi_w = _slider(w, "FloatSlider", "Upper (HU)", value=upper, min=-1020, max=1500, step=5)
    conn_w = w.ToggleButtons(options=[("Face (4/6)", "face"), ("Full (8/26)", "full")], value="face",
                             description="Neighbours", style={"button_width": "90px"})
    grow3d_b = w.Button(description="Grow in 3-D", button_style="info")
    img_w, info_w, info3d_w = _img(w, width), w.HTML(), w.HTML()
    note = w.HTML("<small>Seed by sliders: <code>ipywidgets.Image</code> has no click event (the "
                  "<code>ipyevents</code> package would add one; it is not installed). The preview grows on the "
                  "shown slice only (a few ms); <b>Grow in 3-D</b> grows through the whole volume (~0.1 s).</small>")
    box_rects = {b.slice_index: (b.row0, b.col0, b.row1, b.col1) for b in boxes}
    state: dict = {"mask3d": None}

    def render(_=None, keep3d: bool = False):
        if not keep3d:
            state["mask3d"] = None
            info3d_w.value = ""
        lo, hi = min(lo_w.value, hi_w.value), max(lo_w.value, hi_w.value)
        k, seed = slice_w.value, (row_w.value, col_w.value)
        plane = volume[k]
        if state["mask3d"] is not None:
            mask = state["mask3d"][k]
            d = None
        else:
            d = compute_region_2d(plane, seed, lo, hi, conn_w.value, spacing)
            mask = d["mask"]
        rects = [box_rects[k]] if k in box_rects else []
        img_w.value = to_png(render_overlay(grey_window(plane, window, level), mask, seed=seed, boxes=rects))
        v = float(plane[seed])
        inside = "inside" if lo <= v <= hi else "OUTSIDE (empty region)"
        if d is not None:
            info_w.value = (f"<code>seed (z={k}, y={seed[0]}, x={seed[1]}) = {v:.0f} HU, {inside} "
                            f"[{lo:.0f}, {hi:.0f}] · "
                            f"2-D region on this slice: {d['pixels']} px = {d['area_mm2'] / 100:.1f} cm² "
                            f"→ slab volume {d['slab_ml']:.2f} mL (× {spacing[2]:g} mm slice)</code>")
        else:
            info_w.value = f"<code>showing the 3-D region on slice {k} (seed {v:.0f} HU, {inside})</code>"

    def grow3d(_=None):
        lo, hi = min(lo_w.value, hi_w.value), max(lo_w.value, hi_w.value)
        d = compute_region_3d(volume, (slice_w.value, row_w.value, col_w.value), lo, hi, conn_w.value, spacing)
        state["mask3d"] = d["mask"]
        span = f"slices {d['slices'][0]}..{d['slices'][1]}" if d["slices"] else "no slice"
        info3d_w.value = (f"<b>3-D region: {d['voxels']} voxels = {d['volume_ml']:.1f} mL, {span}.</b> "
                          "Move the slice slider to browse it; any other change returns to the 2-D preview.")
        render(keep3d=True)

    def on_slice(_):
        if state["mask3d"] is not None:  # browse the 3-D result; the seed moves with the slice
            render(keep3d=True)
        else:
            render()

    slice_w.observe(on_slice, names="value")
    for c in (row_w, col_w, lo_w, hi_w, conn_w):
        c.observe(render, names="value")
    grow3d_b.on_click(grow3d)
    render()
    controls = w.VBox([slice_w, row_w, col_w, lo_w, hi_w, conn_w, grow3d_b, note], layout=w.Layout(width="380px"))
    box = w.VBox([w.HBox([controls, img_w]), info_w, info3d_w])
    box.render = render  # type: ignore[attr-defined]
    box.grow3d = grow3d  # type: ignore[attr-defined]
    box.controls = {  # type: ignore[attr-defined]
        "slice": slice_w, "row": row_w, "col": col_w, "lower": lo_w, "upper": hi_w,
        "connectivity": conn_w, "grow3d": grow3d_b}
    return box


_STEP_TEXT = [
    "Every voxel below the air threshold: lungs, but also the air around the patient and under the table.",
    "Air regions touching the image border are removed slice by slice: what is left is inside the body.",
    "3-D connected components; the lungs are separated (thin bridges cut by a 1-px erosion), the two "
    "largest kept, the trachea and main bronchi cut off. Vessels are still holes.",
    "Each lung closed (disk) and its holes filled per slice: vessels and nodules inside the lung now count as lung.",
]


def lung_segmentation_stepper(image: Any, seg: pp.LungSegmentation | None = None, window: float = 1500,
                              level: float = -600, width: int = 460) -> Any:
    """Step through :func:`medlab.preprocess.lung_mask` (computed once, ~2 s) slice by slice."""
    import ipywidgets as w

    volume, spacing, boxes = _volume(image)
    if seg is None:
        seg = pp.lung_mask(volume, spacing)
    names = list(seg.steps)
    k0 = _start_slice(volume, boxes)
    step_w = _slider(w, "IntSlider", "Step", value=1, min=1, max=len(names))
    slice_w = _slider(w, "IntSlider", "Slice", value=k0, min=0, max=volume.shape[0] - 1)
    img_w, info_w = _img(w, width), w.HTML()
    vols = [float(m.sum()) * seg.voxel_volume_ml for m in seg.steps.values()]

    def render(_=None):
        s = step_w.value
        img_w.value = to_png(render_lung_step(volume, seg, s, slice_w.value, window, level))
        text = _STEP_TEXT[s - 1] if len(names) == len(_STEP_TEXT) else ""
        info_w.value = (f"<b>{names[s - 1]}</b> — {vols[s - 1]:.0f} mL in the whole volume<br><small>{text}</small>")

    step_w.observe(render, names="value")
    slice_w.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([w.VBox([step_w, slice_w, info_w], layout=w.Layout(width="380px")), img_w])])
    box.render = render  # type: ignore[attr-defined]
    box.seg = seg  # type: ignore[attr-defined]
    box.controls = {"step": step_w, "slice": slice_w}  # type: ignore[attr-defined]
    return box


def box_grow_explorer(image: Any, lower: float = -300, upper: float = 200, constrain: bool = True,
                      window: float = 1500, level: float = -600, width: int = 360, margin: int = 50) -> Any:
    """Grow the tumour from its annotated box: lower/upper HU sliders and a 'constrain to box'
    checkbox -> the region on the current box slice (2-D, a few ms) against the box, with Dice,
    IoU and size; a button grows in 3-D through the whole volume (~0.5 s) and the slice
    slider then browses that result. Left: the whole slice (shows leaks); right: the box enlarged."""
    import ipywidgets as w

    volume, spacing, boxes = _volume(image)
    if not boxes:
        raise ValueError("image must carry annotated boxes (a LungCT from medlab.datasets.load_lung_ct)")
    box_mask = np.zeros(volume.shape, dtype=bool)
    rects = {}
    for b in boxes:
        box_mask[b.slice_index, b.row0:b.row1 + 1, b.col0:b.col1 + 1] = True
        rects[b.slice_index] = (b.row0, b.col0, b.row1, b.col1)
    ks = sorted(rects)
    slice_w = _slider(w, "IntSlider", "Slice (z)", value=ks[len(ks) // 2], min=ks[0], max=ks[-1])
    lo_w = _slider(w, "FloatSlider", "Lower (HU)", value=lower, min=-1020, max=1000, step=10)
    hi_w = _slider(w, "FloatSlider", "Upper (HU)", value=upper, min=-1020, max=1000, step=10)
    roi_w = w.Checkbox(value=constrain, description="constrain to box", indent=False)
    grow3d_b = w.Button(description="Grow in 3-D", button_style="info")
    full_w, zoom_w, info_w, info3d_w = _img(w, width), _img(w, width), w.HTML(), w.HTML()
    state: dict = {"d3": None, "grey_k": None, "grey": None}

    def _grey(k):
        if state["grey_k"] != k:
            state["grey_k"], state["grey"] = k, grey_window(volume[k], window, level)
        return state["grey"]

    def render(_=None, keep3d: bool = False):
        if not keep3d:
            state["d3"] = None
            info3d_w.value = ""
        k = slice_w.value
        rect = rects.get(k)
        d3 = state["d3"]
        if d3 is not None:
            mask = d3["region"][k]
            d = None
        else:
            d = compute_box_growth(volume[k], box_mask[k], lo_w.value, hi_w.value, roi_w.value, spacing)
            mask = d["region"] if d["valid"] else np.zeros(volume.shape[1:], bool)
        seed = (d3["seed"][1:] if d3["seed"][0] == k else None) if d3 is not None else (d["seed"] if d["valid"]
                                                                                          else None)
        grey = _grey(k)
        # whole slice at half resolution (it is shown 360 px wide): a quarter of the blending and PNG work
        half_seed = None if seed is None else (seed[0] // 2, seed[1] // 2)
        full_w.value = to_png(render_overlay(grey[::2, ::2], mask[::2, ::2], seed=half_seed,
                                             boxes=[tuple(v // 2 for v in rect)]))
        # the box and its surroundings at full resolution, enlarged
        r0, c0, r1, c1 = rect
        r0, c0 = max(0, r0 - margin), max(0, c0 - margin)
        r1, c1 = min(grey.shape[0], r1 + margin + 1), min(grey.shape[1], c1 + margin + 1)
        crop_seed = None if seed is None else (seed[0] - r0, seed[1] - c0)
        crop = render_overlay(grey[r0:r1, c0:c1], mask[r0:r1, c0:c1], seed=crop_seed,
                              boxes=[(rect[0] - r0, rect[1] - c0, rect[2] - r0, rect[3] - c0)])
        f = width / crop.shape[1]
        zoom_w.value = to_png(np.ascontiguousarray(scale_nearest(crop, f, f)))
        if d3 is not None:
            info_w.value = f"<code>showing the 3-D region on slice {k}</code>"
        elif not d["valid"]:
            info_w.value = f"<b style='color:#b00'>{d['message']}</b>"
        else:
            info_w.value = (
                f"<code>slice {k}: region {d['voxels']} px = {d['area_mm2'] / 100:.2f} cm² "
                f"(slab {d['slab_ml']:.2f} mL) · Dice with the box {d['dice']:.3f} · IoU {d['iou']:.3f} · "
                f"{d['inside_box']:.0%} of the region inside the box · "
                f"covers {d['box_covered']:.0%} of the box</code>")

    def grow3d(_=None):
        d3 = compute_box_growth(volume, box_mask, lo_w.value, hi_w.value, roi_w.value, spacing)
        if not d3["valid"]:
            info3d_w.value = f"<b style='color:#b00'>3-D: {d3['message']}</b>"
            return
        state["d3"] = d3
        zs = np.nonzero(d3["region"].any(axis=(1, 2)))[0]
        info3d_w.value = (
            f"<b>3-D region: {d3['voxels']} voxels = {d3['volume_ml']:.1f} mL, slices {zs[0]}..{zs[-1]} · "
            f"Dice {d3['dice']:.3f} · IoU {d3['iou']:.3f} · {d3['inside_box']:.0%} inside the boxes.</b> "
            "Move the slice slider to browse it; any other change returns to the 2-D preview.")
        render(keep3d=True)

    slice_w.observe(lambda _: render(keep3d=state["d3"] is not None), names="value")
    for c in (lo_w, hi_w, roi_w):
        c.observe(render, names="value")
    grow3d_b.on_click(grow3d)
    render()
    note = w.HTML("<div style='font-size:12px;line-height:1.3'>Preview: grown on the shown slice only, from the "
                  "in-range pixel nearest the box centre (cyan cross). <b>Grow in 3-D</b> grows through the whole "
                  "volume (about 0.5 s). Yellow: the annotated box; red: the region.</div>")
    controls = w.VBox([slice_w, lo_w, hi_w, w.HBox([roi_w, grow3d_b]), note], layout=w.Layout(width="400px"))
    box = w.VBox([controls, w.HBox([full_w, zoom_w]), info_w, info3d_w])
    box.render = render  # type: ignore[attr-defined]
    box.grow3d = grow3d  # type: ignore[attr-defined]
    box.box_mask = box_mask  # type: ignore[attr-defined]
    box.controls = {  # type: ignore[attr-defined]
        "slice": slice_w, "lower": lo_w, "upper": hi_w, "constrain": roi_w, "grow3d": grow3d_b}
    return box
