"""Widgets of 04_preprocessing: enhancement, denoising, thresholding, region growing, the lung mask and the
tumour grown from its annotated box.

Each builder is a pure frame function plus control specs handed to :func:`~medlab.widgets._explorer.explorer`
(see that module's docstring); the domain code is core (:mod:`medlab.preprocess`, :mod:`medlab.render`,
:func:`medlab.io.as_volume`, :func:`medlab.io.hu_histogram`). Compute functions here return the one result
contract (``ok``, plain-text ``message``, ``warnings``, data).

Where a computation is too slow for the 100 ms budget it runs on what is visible and the widget says so:
the denoising widget works on a 256x256 crop of the slice (a 5x5 median of a full 512x512 float slice alone
takes ~100 ms), and region growing previews on the shown slice (2-D, a few ms) with a button for the whole
3-D region. Two widgets keep mode state through the explorer's ``state=`` hook: the region-growing and the
box-growing widgets keep their 3-D region while only the slice slider moves (any other change returns to
the 2-D preview).

Seeds are placed with sliders: ``ipywidgets.Image`` has no click event, and the optional ``ipyevents``
package that would add one is not part of MedLab's environment.

>>> r = compute_box_growth(np.array([[-800, 40], [40, 40]]), np.ones((2, 2), bool), -300, 200)
>>> r["ok"], r["voxels"], r["dice"]
(True, 3, 0.8571428571428571)
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.transforms import blended_transform_factory

from .. import preprocess as pp
from .._validate import check_array, check_int
from ..display import box_tuple
from ..io import as_volume, hu_histogram
from ..render import Chart, grey_window, render_overlay, scale_nearest, to_png, to_uint8
from ..i18n import t
from ._explorer import Button, Check, Choice, Float, Frame, Int, esc, explorer, html_table, register, result

__all__ = [
    "equalization_explorer", "denoise_explorer", "threshold_explorer", "region_grow_explorer",
    "lung_segmentation_stepper", "box_grow_explorer",
    "compute_enhancement", "compute_noise_filter", "compute_box_growth",
    "HistogramChart", "ENHANCEMENTS",
]

ENHANCEMENTS = ("none", "equalize", "clahe", "stretch", "gamma")


# =============================================================================================
# compute functions (the result contract: ok, message, warnings, data)
# =============================================================================================
def compute_enhancement(image: np.ndarray, method: str = "equalize", clip_limit: float = 0.01,
                        gamma: float = 1.0, in_range: tuple[float, float] | None = None,
                        nbins: int = 128) -> dict:
    """Enhance a 2-D image: before/after images in [0, 1] with their histograms and CDFs.

    ``method``: ``"none"``, ``"equalize"`` (own, global), ``"clahe"`` (scikit-image, tiles, ``clip_limit``),
    ``"stretch"`` (2-98 % percentiles), ``"gamma"``. ``in_range`` maps the input to [0, 1] for display and
    CLAHE/gamma (e.g. a CT window); default min..max. Histograms use ``nbins`` bins on [0, 1].

    >>> d = compute_enhancement(np.array([[0, 0], [0, 9]]), "equalize")
    >>> d["ok"], d["after"].tolist()
    (True, [[0.75, 0.75], [0.75, 1.0]])
    """
    a = check_array(image, "image", ndim=2)
    if method not in ENHANCEMENTS:
        raise ValueError(f"method must be one of {ENHANCEMENTS}, got {method!r}")
    check_int(nbins, "nbins", low=2, high=4096)
    before = pp.normalise(a, in_range)
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
    return result(before=before, after=after, centres=(edges[:-1] + edges[1:]) / 2, hist_before=hb,
                  hist_after=ha, cdf_before=np.cumsum(hb) / hb.sum(), cdf_after=np.cumsum(ha) / ha.sum())


def compute_noise_filter(clean: np.ndarray, noise_kind: str = "gaussian", noise_level: float = 0.05,
                         filter_kind: str = "median", filter_size: int = 1, seed: int = 0,
                         noisy: np.ndarray | None = None) -> dict:
    """Add noise to ``clean``, filter it, and measure PSNR/SSIM of noisy and filtered against clean.

    Pass a previously returned ``noisy`` to skip re-generating the noise (the widget does this while only
    the filter changes). The data range for the metrics is that of ``clean``.

    >>> d = compute_noise_filter(np.tile(np.linspace(0, 1, 16), (16, 1)), "salt_pepper", 0.1, "median", 1)
    >>> d["ok"], d["psnr_filtered"] > d["psnr_noisy"]
    (True, True)
    """
    c = check_array(clean, "clean", ndim=2).astype(np.float64)
    if noisy is None:
        noisy = pp.add_noise(c, noise_kind, noise_level, seed=seed)
    elif np.shape(noisy) != c.shape:
        raise ValueError(f"noisy shape {np.shape(noisy)} differs from clean shape {c.shape}")
    filtered = pp.denoise(noisy, filter_kind, filter_size)
    rng = float(c.max() - c.min()) or 1.0
    c32 = c.astype(np.float32)
    return result(clean=c, noisy=noisy, filtered=filtered, data_range=rng,
                  psnr_noisy=pp.psnr(c, noisy, rng), psnr_filtered=pp.psnr(c, filtered, rng),
                  ssim_noisy=pp.ssim(c32, noisy.astype(np.float32), rng),
                  ssim_filtered=pp.ssim(c32, filtered.astype(np.float32), rng))


def compute_box_growth(image: np.ndarray, box_mask: np.ndarray, lower: float, upper: float,
                       constrain: bool = True, spacing: Sequence[float] = (1.0, 1.0, 1.0)) -> dict:
    """:func:`medlab.preprocess.grow_from_box` on one slice (2-D) or the whole volume (3-D), with Dice/IoU
    against the box and the region's size (:func:`medlab.preprocess.region_size`: ``area_mm2`` and slab
    ``volume_ml`` for a slice, ``volume_ml`` and ``slices`` for a volume).

    ``constrain`` restricts growth to the box (``roi_margin=0``), else it grows freely. Settings that cannot
    grow anything (``lower > upper``, no voxel of the box in the range, an empty box) give ``ok=False`` and a
    plain-text message instead of raising.

    >>> img = np.full((8, 8), -800); img[2:5, 2:5] = 40; box = np.zeros((8, 8), bool); box[1:6, 1:6] = True
    >>> d = compute_box_growth(img, box, -300, 200)
    >>> d["ok"], d["voxels"], round(d["dice"], 3)
    (True, 9, 0.529)
    >>> compute_box_growth(img, box, 300, 200)["message"]
    'lower (300) must be <= upper (200)'
    """
    a = check_array(image, "image", ndim=(2, 3))
    m = check_array(box_mask, "box_mask", ndim=(2, 3)) != 0
    if m.shape != a.shape:
        raise ValueError(f"box_mask shape {m.shape} differs from image shape {a.shape}")
    if lower > upper:
        return result(False, f"lower ({lower:g}) must be <= upper ({upper:g})")
    if not m.any():
        return result(False, "no annotated box here (box_mask is empty)")
    try:
        g = pp.grow_from_box(a, m, lower, upper, roi_margin=0 if constrain else None)
    except ValueError as exc:  # no in-range voxel inside the box
        return result(False, str(exc))
    size = pp.region_size(g.region, spacing)
    return result(region=g.region, seed=g.seed, dice=g.dice, iou=g.iou, inside_box=g.inside_box,
                  box_covered=g.box_covered, voxels=g.voxels, volume_ml=size.volume_ml, area_mm2=size.area_mm2,
                  slices=size.slices)


# =============================================================================================
# the histogram chart (on the one render.Chart)
# =============================================================================================
def _log_counts(counts: np.ndarray) -> np.ndarray:
    return np.log10(1.0 + np.asarray(counts, dtype=np.float64))


def _log_top(plane: np.ndarray) -> float:
    """Fixed y limit for log10(1 + count) histograms of a plane: no bin can exceed the pixel count."""
    return float(np.log10(1.0 + np.asarray(plane).size)) * 1.05


class HistogramChart:
    """A histogram (``log10(1 + count)``) on fixed axes with named vertical lines, a shaded span and an
    optional second curve on a [0, 1] right axis (a CDF or a grey-level ramp).

    Built once on a :class:`medlab.render.Chart`: axes, labels and legend are the cached background; the
    histogram, lines, span and curve are animated artists, so an update (a new histogram, a moved
    threshold) redraws only them (a few ms; a true log axis would cost ~70 ms more per draw).
    """

    def __init__(self, centres: np.ndarray, counts: np.ndarray, xlabel: str, title: str = "", *,
                 xlim: tuple[float, float], ylim: tuple[float, float], figsize: tuple[float, float] = (5.2, 2.6),
                 curve_label: str | None = None, vlines: dict[str, tuple[str, str]] | None = None):
        self.chart = Chart(figsize=figsize, dpi=80)
        fig = self.chart.fig
        fig.subplots_adjust(left=0.13, right=0.87 if curve_label else 0.97, bottom=0.2, top=0.86)
        self.ax = ax = fig.add_subplot()
        (self.line,) = ax.plot(centres, _log_counts(counts), drawstyle="steps-mid", color="0.35", lw=1,
                               animated=True)
        ax.set_xlabel(t(xlabel))
        ax.set_ylabel(t("log₁₀(1 + pixels)"))
        ax.set_title(t(title), fontsize=10)
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        self.span = Rectangle((0, 0), 0, 1, transform=trans, color="tab:orange", alpha=0.25, visible=False,
                              animated=True)
        ax.add_patch(self.span)
        self.lines: dict[str, Any] = {name: ax.axvline(0, color=color, lw=1.5, label=t(label), animated=True)
                                      for name, (color, label) in (vlines or {}).items()}
        if self.lines:
            ax.legend(handles=list(self.lines.values()), loc="upper right", fontsize=8, framealpha=0.8)
        self.curve = None
        if curve_label:
            curve_ax = ax.twinx()
            curve_ax.set_ylim(-0.02, 1.02)
            curve_ax.set_ylabel(t(curve_label), color="tab:blue")
            (self.curve,) = curve_ax.plot([], [], color="tab:blue", lw=1.5, animated=True)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        self.chart.animate(self.line, self.span, *self.lines.values(), *([self.curve] if self.curve else []))

    def set_hist(self, centres: np.ndarray, counts: np.ndarray) -> None:
        """New histogram data (blitted: the axes stay)."""
        self.line.set_data(centres, _log_counts(counts))

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

    def png(self) -> bytes:
        return self.chart.png()


# =============================================================================================
# builders
# =============================================================================================
def _lung_ct_demo() -> dict:
    from ..datasets import load_lung_ct

    return {"image": load_lung_ct()}


def _start_slice(volume: np.ndarray, boxes: Sequence[Any]) -> int:
    """The middle annotated slice (where there is something to see), else the middle slice."""
    if boxes:
        return int(box_tuple(boxes[len(boxes) // 2])[0])
    return volume.shape[0] // 2


def _image_2d(image: Any, min_side: int = 1) -> np.ndarray:
    a = check_array(image, "image", ndim=2)
    if min(a.shape) < min_side:
        raise ValueError(f"image must be at least {min_side}x{min_side} pixels, got shape {a.shape}")
    return a


def _pane_width(ex: Any, px: int, *names: str) -> Any:
    """Display the named panes ``px`` wide (the main image's width is ``explorer(width=...)``)."""
    for n in names:
        ex.panes[n].layout.width = f"{px}px"
    return ex


_METHODS = [("None", "none"), ("Equalise", "equalize"), ("CLAHE", "clahe"), ("Stretch", "stretch"),
            ("Gamma", "gamma")]


def _xray_demo() -> dict:
    from ..datasets import load_chest_xray

    return {"image": load_chest_xray()}


@register(demo=_xray_demo)
def equalization_explorer(image: np.ndarray, in_range: tuple[float, float] | None = None, width: int = 340) -> Any:
    """Before/after images with their histograms and CDFs for global equalisation, CLAHE, contrast stretch
    and gamma. ``image`` is 2-D (an X-ray, or a CT slice in HU with ``in_range`` as the display window).
    Used in 04 §1."""
    a = _image_2d(image)
    d0 = compute_enhancement(a, "none", in_range=in_range)
    before_png = to_png(to_uint8(d0["before"], 0, 1))
    ylim = (0.0, _log_top(a))
    chart_b = HistogramChart(d0["centres"], d0["hist_before"], "grey level (0..1)", "before", figsize=(4.25, 2.4),
                             curve_label="CDF", xlim=(0.0, 1.0), ylim=ylim)
    chart_b.set_curve(d0["centres"], d0["cdf_before"])
    hist_before_png = chart_b.png()
    chart_a = HistogramChart(d0["centres"], d0["hist_before"], "grey level (0..1)", "after (method as chosen)",
                             figsize=(4.25, 2.4), curve_label="CDF", xlim=(0.0, 1.0), ylim=ylim)
    gap_before = float(np.abs(d0["cdf_before"] - d0["centres"]).max())
    names = dict((v, k) for k, v in _METHODS)

    # CLAHE on a 512 x 512 slice takes ~35 ms: toggling back to a method already seen reuses its result. One
    # entry per method (~4 MB each on a 512 x 512 slice), so the cache stays small next to the 600 MiB budget
    enhanced = functools.lru_cache(maxsize=len(ENHANCEMENTS))(
        lambda method, clip, gamma: compute_enhancement(a, method, clip, gamma, in_range))

    def frame(method: str, clip: float, gamma: float) -> Frame:
        d = enhanced(method, clip, gamma)
        chart_a.set_hist(d["centres"], d["hist_after"])
        chart_a.set_curve(d["centres"], d["cdf_after"])
        straight = float(np.abs(d["cdf_after"] - d["centres"]).max())
        idle = [t("{0} acts only on method {1} (now: {2})").format(t(what), t(target), t(names[method]))
                for what, target, moved in (("the CLAHE clip limit", "CLAHE", clip != 0.01 and method != "clahe"),
                                            ("gamma", "Gamma", gamma != 1.0 and method != "gamma")) if moved]
        return Frame(image=to_uint8(d["after"], 0, 1),
                     panes={"before": before_png, "histogram before": hist_before_png,
                            "histogram after": chart_a.png()},
                     readout=("<code>" + t("max |CDF(v) − v| after = {0:.3f} (0 = perfectly flat histogram; "
                                           "before: {1:.3f})").format(straight, gap_before)
                              + "</code><br><small>" + t("Main image: after; below: before, and the histograms "
                                                         "with their CDFs.") + "</small>"),
                     warning="; ".join(idle))

    ex = explorer(frame, {"method": Choice("Method", _METHODS, value="equalize", style="toggle", button_width="84px"),
                          "clip": Float("CLAHE clip limit", 0.001, 1.0, value=0.01, log=True, step=0.1),
                          "gamma": Float("Gamma", 0.2, 3.0, value=1.0, step=0.05, format=".2f")},
                  layout="column", width=width)
    return _pane_width(ex, width, "before", "histogram before", "histogram after")


_NOISES = [("Gaussian", "gaussian"), ("Salt & pepper", "salt_pepper"), ("Poisson", "poisson")]
_FILTERS = [("None", "none"), ("Median", "median"), ("Gaussian", "gaussian"), ("Curvature flow", "curvature_flow")]
_SIZE_MEANS = {"median": "radius (window 2r+1)", "gaussian": "sigma (px)", "curvature_flow": "iterations",
               "none": "-"}


def _denoise_demo() -> dict:
    from ..samples import tumour_slice

    return {"image": tumour_slice(), "in_range": (-1000, 400)}


@register(demo=_denoise_demo)
def denoise_explorer(image: np.ndarray, in_range: tuple[float, float] | None = None, crop: int = 256,
                     center: Sequence[int] | None = None, seed: int = 0, width: int = 300) -> Any:
    """Noise kind/level x filter kind/size with PSNR and SSIM readouts. Used in 04 §2.

    Works on a ``crop`` x ``crop`` region of ``image`` (around ``center``, default the middle) so that each
    update stays under 100 ms and the noise pixels are visible when enlarged; metrics are for that region.
    The noise depends only on (kind, level, ``seed``): it is generated once per setting and kept while only
    the filter changes."""
    full = _image_2d(image, min_side=7)  # SSIM uses 7x7 windows
    check_int(crop, "crop", low=7, high=2048)
    clean, (r0, c0) = pp.crop_center(full, crop, center)
    clean = clean.astype(np.float64)
    disp = in_range or (float(clean.min()), float(clean.max()))
    clean_png = to_png(to_uint8(clean, *disp))

    @functools.lru_cache(maxsize=8)
    def noisy_for(kind: str, level: float) -> tuple[np.ndarray, bytes]:
        noisy = pp.add_noise(clean, kind, level, seed=seed)
        return noisy, to_png(to_uint8(noisy, *disp))

    def frame(noise: str, level: float, filter: str, size: int) -> Frame:
        noisy, noisy_png = noisy_for(noise, float(level))
        d = compute_noise_filter(clean, noise, level, filter, size, seed, noisy=noisy)
        table = html_table([("noisy", f"{d['psnr_noisy']:.2f}", f"{d['ssim_noisy']:.3f}"),
                            ("filtered", f"{d['psnr_filtered']:.2f}", f"{d['ssim_filtered']:.3f}")],
                           header=("", "PSNR (dB)", "SSIM"))
        return Frame(image=to_uint8(d["filtered"], *disp), panes={"clean": clean_png, "noisy": noisy_png},
                     readout=(f"{table}<small>" + t("Filter size = {0}. Computed on the {1}×{2} region at row {3}, "
                                                    "column {4} (shown enlarged) to keep updates under 100 ms. Main "
                                                    "image: filtered; below: clean · noisy.").format(
                                  esc(t(_SIZE_MEANS[filter])), clean.shape[1], clean.shape[0], r0, c0)
                              + "</small>"))

    ex = explorer(frame, {"noise": Choice("Noise", _NOISES, value="salt_pepper", style="toggle", button_width="120px"),
                          "level": Float("Noise level", 0.0, 0.3, value=0.05, step=0.01, format=".2f"),
                          "filter": Choice("Filter", _FILTERS, value="median", style="toggle", button_width="128px"),
                          "size": Int("Filter size", 1, 3, value=1)},
                  layout="column", width=width)
    return _pane_width(ex, width, "clean", "noisy")


@register(demo=_lung_ct_demo)
def threshold_explorer(image: Any, threshold: float | None = None, window: float = 1500, level: float = -600,
                       width: int = 420) -> Any:
    """Threshold slider on a CT slice: mask ``HU > t`` in red, the slice's histogram with ``t`` and Otsu's
    value; a button jumps to Otsu's threshold. ``image``: LungCT, 3-D SimpleITK image or array. Used in 04 §3."""
    volume, _, boxes = as_volume(image)
    k0 = _start_slice(volume, boxes)
    otsu_of = functools.lru_cache(maxsize=None)(lambda k: pp.otsu_threshold(volume[k]))
    hists = functools.lru_cache(maxsize=None)(lambda k: hu_histogram(volume[k]))
    chart = HistogramChart(*hists(k0), xlabel="HU", title=t("histogram, threshold and Otsu"),
                           vlines={"threshold": ("tab:red", "threshold"), "otsu": ("tab:green", "Otsu")},
                           xlim=(-1100, 1700), ylim=(0.0, _log_top(volume[k0])))
    t0 = otsu_of(k0) if threshold is None else float(threshold)

    def frame(slice: int, threshold: float, otsu: bool) -> Frame:
        t_otsu = otsu_of(slice)
        target = float(np.clip(t_otsu, -1024, 1500))
        if otsu and threshold != target:  # the explorer sets the slider and draws once more
            return Frame(values={"threshold": target})
        plane = volume[slice]
        mask = plane > threshold
        chart.set_hist(*hists(slice))
        chart.vline("threshold", threshold)
        chart.vline("otsu", t_otsu)
        return Frame(image=render_overlay(grey_window(plane, window, level), mask),
                     panes={"histogram": chart.png()},
                     readout=("<code>" + t("HU &gt; {0:.0f}: {1:.1%} of the slice (red). Otsu's threshold for "
                                           "this slice: {2:.0f} HU").format(threshold, mask.mean(), t_otsu)
                              + "</code>"))

    return explorer(frame, {"slice": Int("Slice", 0, volume.shape[0] - 1, value=k0),
                            "threshold": Float("Threshold (HU)", -1024, 1500, value=t0, step=1, format=".0f"),
                            "otsu": Button("Jump to Otsu")},
                    width=width)


_CONNECTIVITY = [("Face (4/6)", "face"), ("Full (8/26)", "full")]


def _region_demo() -> dict:
    # lung parenchyma of slice 15: here diagonal neighbours matter (4191 px face- vs 5141 px full-connected);
    # on the isolated nodule the notebook seeds, both give the same region
    return {**_lung_ct_demo(), "seed_zyx": (15, 250, 120), "lower": -900, "upper": -700}


@register(demo=_region_demo)
def region_grow_explorer(image: Any, seed_zyx: Sequence[int] | None = None, lower: float = -300,
                         upper: float = 200, window: float = 1500, level: float = -600, width: int = 480) -> Any:
    """Region growing: seed slice/row/column sliders, lower/upper HU, connectivity; a live 2-D region on the
    shown slice with its slab volume, and a button that grows the 3-D region, which the slice slider then
    browses (any other change returns to the 2-D preview). Used in 04 §4."""
    volume, spacing, boxes = as_volume(image)
    if seed_zyx is None:
        if boxes:
            z, r0, c0, r1, c1 = box_tuple(boxes[0])
            seed_zyx = (z, (r0 + r1) // 2, (c0 + c1) // 2)
        else:
            seed_zyx = tuple(n // 2 for n in volume.shape)
    if not isinstance(seed_zyx, (tuple, list, np.ndarray)) or len(seed_zyx) != 3:
        raise ValueError(f"seed_zyx must be a (z, y, x) index triple, got {seed_zyx!r}")
    seed_zyx = tuple(check_int(s, f"seed_zyx[{i}]", 0, n - 1) for i, (s, n) in enumerate(zip(seed_zyx, volume.shape)))
    rects: dict[int, list] = {}
    for b in boxes:
        z, r0, c0, r1, c1 = box_tuple(b)
        rects.setdefault(z, []).append((r0, c0, r1, c1))
    note = ("<br><small>" + t("Seed by sliders: <code>ipywidgets.Image</code> has no click event (the <code>ipyevents"
                              "</code> package would add one; it is not installed). The preview grows on the shown "
                              "slice only (a few ms); <b>{0}</b> grows through the whole volume (~0.1 s).").format(
                t("Grow in 3-D")) + "</small>")

    def frame(slice: int, row: int, col: int, lower: float, upper: float, connectivity: str, grow3d: bool,
              state: dict) -> Frame:
        seed, key = (row, col), (row, col, lower, upper, connectivity)
        plane = volume[slice]
        v = float(plane[seed])
        if lower > upper:
            state["grown"] = None
            return Frame(image=render_overlay(grey_window(plane, window, level), seed=seed,
                                              boxes=rects.get(slice, [])),
                         warning=t("Lower ({0:g} HU) is above Upper ({1:g} HU): the range is empty").format(lower,
                                                                                                           upper))
        inside = t("inside" if lower <= v <= upper else "OUTSIDE (empty region)")
        if grow3d:
            mask3d = pp.region_grow(volume, (slice, row, col), lower, upper, connectivity)
            size = pp.region_size(mask3d, spacing)
            span = t("slices {0}..{1}").format(*size.slices) if size.slices else t("no slice")
            state["grown"] = {"key": key, "mask": mask3d,
                              "text": t("<b>3-D region from (z={0}, y={1}, x={2}): {3} voxels = {4:.1f} mL, {5}.</b> "
                                        "Move the slice slider to browse it; any other change returns to the 2-D "
                                        "preview.").format(slice, row, col, size.voxels, size.volume_ml, span)}
        grown = state.get("grown")
        if grown is not None and grown["key"] != key:  # the seed, range or connectivity moved: back to 2-D
            state["grown"] = grown = None
        if grown is not None:
            mask = grown["mask"][slice]
            text = ("<code>" + t("showing the 3-D region on slice {0} (seed {1:.0f} HU, {2})").format(slice, v, inside)
                    + f"</code><br>{grown['text']}")
        else:
            mask = pp.region_grow(plane, seed, lower, upper, connectivity)
            size = pp.region_size(mask, spacing)
            text = ("<code>" + t("seed (z={0}, y={1}, x={2}) = {3:.0f} HU, {4} [{5:.0f}, {6:.0f}] · 2-D region on "
                                 "this slice: {7} px = {8:.1f} cm² → slab volume {9:.2f} mL (× {10:g} mm slice)").format(
                slice, row, col, v, inside, lower, upper, size.voxels, size.area_mm2 / 100, round(size.volume_ml, 4),
                spacing[2]) + "</code>")
        return Frame(image=render_overlay(grey_window(plane, window, level), mask, seed=seed,
                                          boxes=rects.get(slice, [])),
                     readout=text + note)

    nz, ny, nx = volume.shape
    controls = {"slice": Int("Slice (z)", 0, nz - 1, value=seed_zyx[0]),
                "row": Int("Seed row (y)", 0, ny - 1, value=seed_zyx[1]),
                "col": Int("Seed column (x)", 0, nx - 1, value=seed_zyx[2]),
                "lower": Float("Lower (HU)", -1020, 1500, value=lower, step=5, format=".0f"),  # on round HU
                "upper": Float("Upper (HU)", -1020, 1500, value=upper, step=5, format=".0f"),
                "connectivity": Choice("Neighbours", _CONNECTIVITY, style="toggle", button_width="120px"),
                "grow3d": Button("Grow in 3-D", style="info")}
    return explorer(frame, controls, width=width, state={"grown": None})


_STEP_TEXT = [
    "Every voxel below the air threshold: lungs, but also the air around the patient and under the table.",
    "Air regions touching the image border are removed slice by slice: what is left is inside the body.",
    "3-D connected components; the lungs are separated (thin bridges cut by a 1-px erosion), the two "
    "largest kept, the trachea and main bronchi cut off. Vessels are still holes.",
    "Each lung closed (disk) and its holes filled per slice: vessels and nodules inside the lung now count as lung.",
]


@register(demo=_lung_ct_demo)
def lung_segmentation_stepper(image: Any, seg: pp.LungSegmentation | None = None, window: float = 1500,
                              level: float = -600, width: int = 460) -> Any:
    """Step through :func:`medlab.preprocess.lung_mask` (computed once when built, ~2 s, unless ``seg`` is
    given) slice by slice. Used in 04 §5."""
    volume, spacing, boxes = as_volume(image)
    if seg is None:
        seg = pp.lung_mask(volume, spacing)
    elif not isinstance(seg, pp.LungSegmentation):
        raise TypeError(f"seg must be a LungSegmentation from medlab.preprocess.lung_mask, got {type(seg).__name__}")
    elif seg.mask.shape != volume.shape:
        raise ValueError(f"seg was computed on a volume of shape {seg.mask.shape}, not on image {volume.shape}")
    names = list(seg.steps)
    vols = [float(m.sum()) * seg.voxel_volume_ml for m in seg.steps.values()]

    def frame(step: int, slice: int) -> Frame:
        name = names[step - 1]
        text = t(_STEP_TEXT[step - 1]) if len(names) == len(_STEP_TEXT) else ""
        return Frame(image=render_overlay(grey_window(volume[slice], window, level), seg.steps[name][slice]),
                     readout=(t("<b>{0}</b> — {1:.0f} mL in the whole volume").format(esc(t(name)), vols[step - 1])
                              + f"<br><small>{esc(text)}</small>"))

    return explorer(frame, {"step": Int("Step", 1, len(names), value=1),
                            "slice": Int("Slice", 0, volume.shape[0] - 1, value=_start_slice(volume, boxes))},
                    width=width)


@register(demo=_lung_ct_demo)
def box_grow_explorer(image: Any, lower: float = -300, upper: float = 200, constrain: bool = True,
                      window: float = 1500, level: float = -600, width: int = 360, margin: int = 50,
                      boxes: Sequence[Any] | None = None) -> Any:
    """Grow the tumour from its annotated boxes: lower/upper HU sliders and a 'constrain to box' checkbox ->
    the region on the shown slice (2-D, a few ms) against the box, with Dice, IoU and size; a button grows
    in 3-D through the whole volume (~0.5 s) and the slice slider then browses that result (any other
    change returns to the 2-D preview). Main image: the whole slice (shows leaks); second: the box enlarged.

    ``image``: a LungCT (its boxes are used), or a SimpleITK image / (z, y, x) array with ``boxes`` given as
    TumourBox objects or ``(z, row0, col0, row1, col1)``. Slices between annotated slices that have no box
    of their own are shown (the 3-D region passes through them) with nothing to grow in 2-D. Used in 04 §6.
    """
    volume, spacing, own_boxes = as_volume(image)
    boxes = own_boxes if boxes is None else list(boxes)
    if not boxes:
        raise ValueError("image must carry annotated boxes (a LungCT from medlab.datasets.load_lung_ct), "
                         "or pass boxes=[(z, row0, col0, row1, col1), ...]")
    check_int(margin, "margin", low=0, high=512)
    nz, ny, nx = volume.shape
    box_mask = np.zeros(volume.shape, dtype=bool)
    rects: dict[int, tuple[int, int, int, int]] = {}
    for b in boxes:
        z, r0, c0, r1, c1 = box_tuple(b)
        if not (0 <= z < nz and 0 <= r0 <= r1 < ny and 0 <= c0 <= c1 < nx):
            raise ValueError(f"box {(z, r0, c0, r1, c1)} (z, row0, col0, row1, col1) is outside the image of "
                             f"shape {volume.shape} or has row1 < row0 / col1 < col0")
        box_mask[z, r0:r1 + 1, c0:c1 + 1] = True
        rects[z] = (r0, c0, r1, c1)
    ks = sorted(rects)
    grey = functools.lru_cache(maxsize=None)(lambda k: grey_window(volume[k], window, level))
    empty = np.zeros(volume.shape[1:], bool)
    note = ("<div style='font-size:12px;line-height:1.3'>"
            + t("Preview: grown on the shown slice only, from the in-range pixel nearest the box centre (cyan cross). "
                "<b>{0}</b> grows through the whole volume (about 0.5 s). Yellow: the annotated box; red: the "
                "region.").format(t("Grow in 3-D")) + "</div>")

    def pictures(k: int, mask: np.ndarray, seed: Sequence[int] | None) -> tuple[np.ndarray, np.ndarray]:
        rect = rects.get(k)
        # a slice without a box of its own: frame the zoom on the nearest annotated slice's box, draw none
        frame_rect = rect if rect is not None else rects[min(ks, key=lambda z: (abs(z - k), z))]
        g = grey(k)
        # whole slice at half resolution (it is shown `width` px wide): a quarter of the blending and PNG work
        half_seed = None if seed is None else (seed[0] // 2, seed[1] // 2)
        full = render_overlay(g[::2, ::2], mask[::2, ::2], seed=half_seed,
                              boxes=[tuple(v // 2 for v in rect)] if rect is not None else ())
        # the box and its surroundings at full resolution, enlarged
        r0, c0, r1, c1 = frame_rect
        r0, c0 = max(0, r0 - margin), max(0, c0 - margin)
        r1, c1 = min(g.shape[0], r1 + margin + 1), min(g.shape[1], c1 + margin + 1)
        crop_seed = None if seed is None else (seed[0] - r0, seed[1] - c0)
        crop = render_overlay(g[r0:r1, c0:c1], mask[r0:r1, c0:c1], seed=crop_seed,
                              boxes=[(rect[0] - r0, rect[1] - c0, rect[2] - r0, rect[3] - c0)] if rect is not None
                              else ())
        f = width / crop.shape[1]
        return full, np.ascontiguousarray(scale_nearest(crop, f, f))

    def frame(slice: int, lower: float, upper: float, constrain: bool, grow3d: bool, state: dict) -> Frame:
        k, key = slice, (lower, upper, constrain)
        warning = ""
        if grow3d:
            d3 = compute_box_growth(volume, box_mask, lower, upper, constrain, spacing)
            if d3["ok"]:
                zs = d3["slices"]
                state["grown"] = {"key": key, "d": d3, "text": t(
                    "<b>3-D region: {0} voxels = {1:.1f} mL, slices {2}..{3} · Dice {4:.3f} · IoU {5:.3f} · {6:.0%} "
                    "inside the boxes.</b> Move the slice slider to browse it; any other change returns to the 2-D "
                    "preview.").format(d3["voxels"], d3["volume_ml"], zs[0], zs[1], d3["dice"], d3["iou"],
                                       d3["inside_box"])}
            else:
                state["grown"], warning = None, f"3-D: {d3['message']}"
        grown = state.get("grown")
        if grown is not None and grown["key"] != key:  # the range or the constraint moved: back to 2-D
            state["grown"] = grown = None
        if grown is not None:
            d3 = grown["d"]
            seed = d3["seed"][1:] if d3["seed"][0] == k else None
            full, zoom = pictures(k, d3["region"][k], seed)
            return Frame(image=full, panes={"zoom": zoom},
                         readout=("<code>" + t("showing the 3-D region on slice {0}").format(k)
                                  + f"</code><br>{grown['text']}{note}"))
        if k not in rects:
            full, zoom = pictures(k, empty, None)
            return Frame(image=full, panes={"zoom": zoom}, warning=warning,
                         readout=("<code>" + t("slice {0} has no annotated box (the annotation skips it): nothing "
                                               "to grow in 2-D here; {1} shows what the volume's region does on "
                                               "it").format(k, t("Grow in 3-D")) + f"</code>{note}"))
        d = compute_box_growth(volume[k], box_mask[k], lower, upper, constrain, spacing)
        if not d["ok"]:
            full, zoom = pictures(k, empty, None)
            return Frame(image=full, panes={"zoom": zoom}, readout=note, warning=d["message"])
        full, zoom = pictures(k, d["region"], d["seed"])
        return Frame(image=full, panes={"zoom": zoom}, warning=warning, readout=(
            "<code>" + t("slice {0}: region {1} px = {2:.2f} cm² (slab {3:.2f} mL) · Dice with the box {4:.3f} · "
                         "IoU {5:.3f} · {6:.0%} of the region inside the box · covers {7:.0%} of the box").format(
                k, d["voxels"], d["area_mm2"] / 100, d["volume_ml"], d["dice"], d["iou"], d["inside_box"],
                d["box_covered"]) + f"</code>{note}"))

    controls = {"slice": Int("Slice (z)", ks[0], ks[-1], value=ks[len(ks) // 2]),
                "lower": Float("Lower (HU)", -1020, 1000, value=lower, step=10, format=".0f"),
                "upper": Float("Upper (HU)", -1020, 1000, value=upper, step=10, format=".0f"),
                "constrain": Check("constrain to box", value=constrain),
                "grow3d": Button("Grow in 3-D", style="info")}
    return explorer(frame, controls, layout="column", width=width, state={"grown": None})
