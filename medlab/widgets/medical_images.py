"""Widgets for 01_medical_images: voxels and their position, a DICOM series, HU profiles, window/level,
resampling.

Each builder is a pure frame function plus control specs handed to :func:`~medlab.widgets._explorer.explorer`
(see that module for the API). The domain code is core: :func:`medlab.io.index_to_physical`,
:func:`medlab.io.load_dicom_series`, :func:`medlab.io.coronal_plane_resampled`, :func:`medlab.io.hu_histogram`.
The compute functions here return the result contract of :func:`~medlab.widgets._explorer.result`
(``ok``, plain-text ``message``, ``warnings``, data): an index outside the image, a non-positive spacing or
an unknown interpolator is flagged, not raised. Charts are :class:`medlab.render.Chart` figures (static part
drawn once, the changing line blitted). Update times: ``benchmarks/bench_widgets.py``.

>>> img = sitk.Image(4, 3, 2, sitk.sitkInt16); img.SetSpacing((0.5, 0.5, 2.0)); img.SetOrigin((10, 20, 30))
>>> d = compute_voxel(img, 1, 2, 3)
>>> d["ok"], d["physical_mm"]
(True, (11.5, 21.0, 32.0))
>>> compute_voxel(img, 5, 0, 0)["message"]
'z=5 is outside 0..1'
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import SimpleITK as sitk
from matplotlib.patches import Rectangle
from matplotlib.transforms import blended_transform_factory
from PIL import Image as PILImage
from PIL import ImageDraw

from .. import io as mio
from ..display import PRESETS, window_range
from ..render import Chart, font, grey_window, scale_nearest, to_png, to_uint8
from ..i18n import get_language, t
from ._explorer import Choice, Float, Frame, Int, esc, explorer, html_table, register, result
from .viewer import window_preset

__all__ = [
    "TISSUE_BANDS", "compute_voxel", "render_neighbourhood", "render_crosshair", "compute_dicom_file",
    "compute_hu_profile", "compute_resampled_coronal",
    "voxel_inspector", "dicom_series_browser", "hu_profile_explorer", "window_level_explorer",
    "resampling_explorer",
]

#: (name, lower HU, upper HU, colour) of the tissue bands shaded on the HU profile chart.
TISSUE_BANDS: tuple[tuple[str, float, float, str], ...] = (
    ("air", -1100.0, -900.0, "#9ecae1"),
    ("lung", -900.0, -500.0, "#c6dbef"),
    ("fat", -150.0, -50.0, "#fdd49e"),
    ("water", -10.0, 10.0, "#6baed6"),
    ("soft tissue", 20.0, 80.0, "#fc9272"),
    ("bone", 400.0, 1900.0, "#d9d9d9"),
)
_RAMP_X = np.linspace(-1100, 1700, 281)  # HU axis of the grey-level ramp on the window/level chart


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _image(image: Any) -> tuple[sitk.Image, np.ndarray, list]:
    """(SimpleITK image, its (z, y, x) array, boxes) of a LungCT, 3-D SimpleITK image or (z, y, x) array.

    The array comes from :func:`medlab.io.as_volume`; an array input becomes an image with spacing 1 mm."""
    volume, spacing, boxes = mio.as_volume(image)
    img = image.image if isinstance(getattr(image, "image", None), sitk.Image) else image
    if not isinstance(img, sitk.Image):
        img = sitk.GetImageFromArray(volume)
        img.SetSpacing(spacing)
    return img, volume, boxes


def _start(volume: np.ndarray, boxes: Sequence[Any]) -> tuple[int, int, int]:
    """(z, y, x) to open on: the centre of the middle annotated box, else the volume's centre."""
    if boxes:
        b = boxes[len(boxes) // 2]
        return int(b.slice_index), (b.row0 + b.row1) // 2, (b.col0 + b.col1) // 2
    nz, ny, nx = volume.shape
    return nz // 2, ny // 2, nx // 2


def _lung_ct_demo() -> dict:
    from ..datasets import load_lung_ct

    return {"image": load_lung_ct()}


# =============================================================================================
# voxel inspector
# =============================================================================================
def compute_voxel(image: sitk.Image, z: int, y: int, x: int, radius: int = 3,
                  array: np.ndarray | None = None) -> dict:
    """The voxel at numpy index ``(z, y, x)``: its value, the ``(2r+1)²`` in-plane neighbourhood
    (clamped at the image border, ``center`` gives the voxel's place in it), and its physical
    position in mm from origin/spacing/direction (:func:`medlab.io.index_to_physical`). Pass ``array``
    (the image as (z, y, x) numpy) to avoid a copy per call. An index outside the image is flagged.
    """
    if array is None:
        array = sitk.GetArrayViewFromImage(image)
    nz, ny, nx = array.shape
    for name, v, n in (("z", z, nz), ("y", y, ny), ("x", x, nx)):
        if not _is_int(v):
            return result(False, f"{name} must be an int index, got {v!r}")
        if not 0 <= v < n:
            return result(False, f"{name}={v} is outside 0..{n - 1}")
    if not _is_int(radius) or radius < 0:
        return result(False, f"radius must be an int >= 0, got {radius!r}")
    r0, r1 = max(0, y - radius), min(ny, y + radius + 1)
    c0, c1 = max(0, x - radius), min(nx, x + radius + 1)
    return result(value=array[z, y, x].item(), neighbourhood=np.array(array[z, r0:r1, c0:c1]), corner=(r0, c0),
                  center=(y - r0, x - c0), index_xyz=(int(x), int(y), int(z)),
                  physical_mm=mio.index_to_physical(image, (x, y, z)))


def render_neighbourhood(values: np.ndarray, center: Sequence[int] | None = None, window: float = 1500,
                         level: float = -600, cell: int = 54) -> np.ndarray:
    """RGB image of a small grid of HU values: each cell grey by window/level with its number
    printed in it (black on light cells, white on dark), the ``center`` cell outlined in cyan.

    >>> render_neighbourhood(np.array([[-1000, 0], [40, 400]]), (0, 0), cell=40).shape
    (80, 80, 3)
    """
    v = np.asarray(values)
    if v.ndim != 2 or v.size == 0 or v.size > 400:
        raise ValueError(f"values must be a non-empty 2-D array of at most 400 cells, got shape {v.shape}")
    cell = int(cell)
    if not 12 <= cell <= 200:
        raise ValueError(f"cell must be 12..200 px, got {cell}")
    lo, hi = window_range(window, level)
    grey = to_uint8(v, lo, hi)
    out = np.empty((v.shape[0] * cell, v.shape[1] * cell, 3), np.uint8)
    for (r, c), val in np.ndenumerate(v):
        text = f"{val:.0f}" if np.issubdtype(v.dtype, np.integer) or float(val).is_integer() else f"{val:.1f}"
        out[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = _number_cell(text, int(grey[r, c]), cell)
    if center is not None:
        r, c = int(center[0]), int(center[1])
        pil = PILImage.fromarray(out)
        ImageDraw.Draw(pil).rectangle([c * cell, r * cell, (c + 1) * cell - 1, (r + 1) * cell - 1],
                                      outline=(0, 255, 255), width=3)
        out = np.asarray(pil)
    return out


@functools.lru_cache(maxsize=4096)
def _number_cell(text: str, grey: int, cell: int) -> np.ndarray:
    """One cell of :func:`render_neighbourhood`: grey background, the number (black on light, white on
    dark), a dark outline. Cached: moving the inspected voxel by one re-uses most of the 49 cells."""
    pil = PILImage.new("RGB", (cell, cell), (grey, grey, grey))
    draw = ImageDraw.Draw(pil)
    fill = (0, 0, 0) if grey > 110 else (255, 255, 255)
    draw.text((cell / 2, cell / 2), text, fill=fill, font=font(max(9, cell // 4)), anchor="mm")
    draw.rectangle([0, 0, cell - 1, cell - 1], outline=(90, 90, 90))
    out = np.asarray(pil)
    out.flags.writeable = False
    return out


def render_crosshair(grey: np.ndarray, y: int, x: int, radius: int = 3, color: Sequence[int] = (0, 255, 255),
                     gap: int = 6) -> np.ndarray:
    """uint8 grey slice -> RGB with a crosshair at ``(y, x)`` (a gap left around the voxel) and
    the outline of the ``(2r+1)²`` neighbourhood shown in the zoom.

    >>> render_crosshair(np.zeros((64, 64), np.uint8), 30, 20)[30, 10].tolist()
    [0, 255, 255]
    """
    h, w = grey.shape
    rgb = np.repeat(grey[..., None], 3, axis=2)
    arm = max(gap + 4, min(h, w) // 10)
    rgb[y, max(0, x - arm):max(0, x - gap)] = color
    rgb[y, min(w, x + gap + 1):min(w, x + arm + 1)] = color
    rgb[max(0, y - arm):max(0, y - gap), x] = color
    rgb[min(h, y + gap + 1):min(h, y + arm + 1), x] = color
    r0, r1 = max(0, y - radius - 1), min(h - 1, y + radius + 1)
    c0, c1 = max(0, x - radius - 1), min(w - 1, x + radius + 1)
    rgb[[r0, r1], c0:c1 + 1] = (255, 215, 0)
    rgb[r0:r1 + 1, [c0, c1]] = (255, 215, 0)
    return rgb


@register(demo=lambda: {**_lung_ct_demo(), "start_zyx": (17, 292, 170)})
def voxel_inspector(image: Any, start_zyx: Sequence[int] | None = None, radius: int = 3, window: float = 1500,
                    level: float = -600, width: int = 420) -> Any:
    """Sliders z, y, x -> the voxel's HU value, its 7x7 neighbourhood with the numbers printed, and its
    physical position ``origin + D·diag(spacing)·(x, y, z)`` in mm. Used in 01 §1.

    ``image``: a LungCT, a 3-D SimpleITK image (its origin, spacing and direction are used) or a
    (z, y, x) array (origin 0, spacing 1 mm).
    """
    img, volume, boxes = _image(image)
    nz, ny, nx = volume.shape
    z0, y0, x0 = _start(volume, boxes) if start_zyx is None else (int(v) for v in start_zyx)
    for name, v, n in (("z", z0, nz), ("y", y0, ny), ("x", x0, nx)):
        if not 0 <= v < n:
            raise ValueError(f"start_zyx: {name}={v} is outside 0..{n - 1}")
    o, s = img.GetOrigin(), img.GetSpacing()
    identity = bool(np.allclose(np.asarray(img.GetDirection()).reshape(3, 3), np.eye(3)))
    grey = functools.lru_cache(maxsize=4)(lambda z: grey_window(volume[z], window, level))

    def frame(z: int, y: int, x: int) -> Frame:
        d = compute_voxel(img, z, y, x, radius, array=volume)
        if not d["ok"]:
            return Frame(warning=d["message"])
        p = d["physical_mm"]
        n = 2 * radius + 1
        axes = [(f"{o[a]:.2f} + {v} × {s[a]:.4f}" if identity else f"p{'xyz'[a]}", p[a], towards)
                for a, v, towards in ((0, x, "left"), (1, y, "posterior"), (2, z, "superior"))]
        rows = [("numpy array[z, y, x]", f"[{z}, {y}, {x}]"), ("ITK index (i, j, k)", f"({x}, {y}, {z})"),
                ("value", f"{d['value']} HU")]
        rows += [(f"{'xyz'[a]}: {label}", f"= {pa:.2f} mm (→ {towards})") for a, (label, pa, towards) in enumerate(axes)]
        how = t("D is the identity here, so each axis is origin + index × spacing" if identity else
                "D is not the identity here (a tilted grid): each coordinate mixes all three indices")
        readout = (f"<div style='font-family:monospace;font-size:12px'>{html_table(rows)}</div>"
                   "<div style='font-size:12px;line-height:1.3;max-width:460px'>"
                   + t("p = origin + D·diag(spacing)·(i, j, k); {0}. Zoom (below): the {1}×{1} voxels in the "
                       "yellow square, the inspected one outlined in cyan.").format(how, n) + "</div>")
        return Frame(image=render_crosshair(grey(z), y, x, radius),
                     panes={"zoom": render_neighbourhood(d["neighbourhood"], d["center"], window, level, cell=46)},
                     readout=readout)

    return explorer(frame, {"z": Int("Slice z", 0, nz - 1, value=z0), "y": Int("Row y", 0, ny - 1, value=y0),
                            "x": Int("Column x", 0, nx - 1, value=x0)}, width=width)


# =============================================================================================
# DICOM series browser
# =============================================================================================
def compute_dicom_file(series: mio.DicomSeries, index: int, window: float = 1500, level: float = -600,
                       thumb: int = 2) -> dict:
    """File ``index`` (file-name order) of a :class:`medlab.io.DicomSeries`: its header row, stored and HU
    value ranges, the slice it becomes after sorting by position, and two uint8 thumbnails (every
    ``thumb``-th pixel) drawn with the same window: the stored numbers *as if* they were HU, and the HU.
    An index outside the series is flagged.
    """
    if not _is_int(index) or not 0 <= index < len(series):
        return result(False, f"index must be an int in 0..{len(series) - 1}, got {index!r}")
    if not _is_int(thumb) or not 1 <= thumb <= 64:
        return result(False, f"thumb must be an int in 1..64, got {thumb!r}")
    row = series.info[index]
    stored = series.stored[index]
    hu = series.hu(index)
    lo, hi = window_range(window, level)
    return result(file=row.file, info=row, sorted_index=int(series.sorted_index[index]),
                  z_mm=float(series.z_mm[index]), stored_range=(stored.min().item(), stored.max().item()),
                  stored_dtype=str(stored.dtype), hu_range=(float(hu.min()), float(hu.max())),
                  slope=row.rescale_slope if row.rescale_slope is not None else 1.0,
                  intercept=row.rescale_intercept if row.rescale_intercept is not None else 0.0,
                  stored_thumb=to_uint8(stored[::thumb, ::thumb], lo, hi),
                  hu_thumb=to_uint8(hu[::thumb, ::thumb], lo, hi), hu=hu)


def _position_chart(series: mio.DicomSeries) -> tuple[Chart, Any]:
    """z position (mm) of every file in file-name order (drawn once); the returned marker is blitted."""
    chart = Chart(figsize=(4.6, 2.6))
    ax = chart.fig.add_subplot()
    chart.fig.subplots_adjust(left=0.17, right=0.97, bottom=0.2, top=0.87)
    ax.plot(np.arange(1, len(series) + 1), series.z_mm, "o", color="0.5", ms=3.5)
    ax.set_xlabel(t("file, in file-name order"))
    ax.set_ylabel(t("z position (mm)"))
    ax.set_title(t("ImagePositionPatient z of each file"), fontsize=10)
    (marker,) = ax.plot([1], [series.z_mm[0]], "o", color="tab:red", ms=8)
    chart.animate(marker)
    return chart, marker


def _fmt_tag(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, tuple):
        return "(" + ", ".join(f"{x:g}" for x in v) + ")"
    return f"{v:g}" if isinstance(v, float) else str(v)


_TAG_ROWS = (("InstanceNumber", "instance_number"), ("ImagePositionPatient", "image_position_mm"),
             ("SliceLocation", "slice_location_mm"), ("SliceThickness", "slice_thickness_mm"),
             ("RescaleSlope", "rescale_slope"), ("RescaleIntercept", "rescale_intercept"),
             ("PixelRepresentation", "pixel_representation"), ("BitsStored", "bits_stored"))


def _dicom_demo() -> dict:
    from ..datasets import DATA_DIR

    return {"folder": DATA_DIR / "lung_ct_dicom"}


@register(demo=_dicom_demo)
def dicom_series_browser(folder: str | Path | None = None, series: mio.DicomSeries | None = None,
                         window: float = 1500, level: float = -600, width: int = 256) -> Any:
    """File slider over a DICOM folder in file-name order -> the file's key tags, where it lands after
    sorting by position, and its stored values vs HU with the same window. Used in 01 §3.

    ``folder``: a DICOM series folder (read once with :func:`medlab.io.load_dicom_series`), or ``series``
    already loaded.
    """
    if series is None:
        if folder is None:
            raise ValueError("give folder (a DICOM series folder) or series (from medlab.io.load_dicom_series)")
        series = mio.load_dicom_series(folder)
    elif not isinstance(series, mio.DicomSeries):
        raise TypeError(f"series must be a medlab.io.DicomSeries, got {type(series).__name__}")
    chart, marker = _position_chart(series)
    order = np.argsort(series.z_mm, kind="stable")

    def frame(file: int) -> Frame:
        i = file - 1  # the slider counts files from 1, like their names
        d = compute_dicom_file(series, i, window, level)
        if not d["ok"]:
            return Frame(warning=d["message"])
        marker.set_data([i + 1], [d["z_mm"]])
        tags = html_table([(tag, _fmt_tag(getattr(d["info"], attr))) for tag, attr in _TAG_ROWS])
        k = d["sorted_index"]
        below = series.files[order[k - 1]] if k > 0 else "—"
        (s0, s1), (h0, h1) = d["stored_range"], d["hu_range"]
        readout = (
            f"<div style='font-family:monospace;font-size:12px'>{tags}</div>"
            "<div style='font-size:13px;max-width:440px'>"
            + t("<b>{0}</b> is file {1} by name but slice <b>array[{2}]</b> after sorting by position (z = {3:.0f} mm; "
                "the slice just below it comes from {4}).").format(esc(d["file"]), file, k, d["z_mm"], esc(below))
            + "<br>" + t("stored {0} {1}…{2} → HU = stored × {3:g} + ({4:g}) = {5:.0f}…{6:.0f}.").format(
                esc(d["stored_dtype"]), s0, s1, d["slope"], d["intercept"], h0, h1)
            + "<br><small>" + t("Right: the position of every file (red: this one). Below it, left: the <b>stored "
                                "values, read as if HU</b>; right: <b>HU = stored·slope + intercept</b>. Both use the "
                                "same window (W {0:g}, L {1:g}) on their numbers: the stored values are {2:g} too "
                                "high to be HU, so on the left even the lungs come out white.").format(
                window, level, -d["intercept"])
            + "</small></div>")
        return Frame(image=chart.png(), panes={"stored": d["stored_thumb"], "hu": d["hu_thumb"]}, readout=readout)

    return explorer(frame, {"file": Int("File (by name)", 1, len(series), value=1)}, width=368)


# =============================================================================================
# HU profile
# =============================================================================================
def compute_hu_profile(plane: np.ndarray, row: int, spacing_x: float = 1.0) -> dict:
    """HU values along image row ``row`` of a 2-D slice, with the position in mm along the row
    and the fraction of the row's pixels in each of :data:`TISSUE_BANDS`. A row outside the
    slice is flagged.

    >>> d = compute_hu_profile(np.array([[-1000, -100, 0, 40], [0, 0, 0, 0]]), 0, 0.5)
    >>> d["x_mm"].tolist(), d["fractions"]["fat"], d["fractions"]["bone"]
    ([0.0, 0.5, 1.0, 1.5], 0.25, 0.0)
    """
    a = np.asarray(plane)
    if a.ndim != 2:
        return result(False, f"plane must be 2-D, got shape {a.shape}")
    if not _is_int(row) or not 0 <= row < a.shape[0]:
        return result(False, f"row must be an int in 0..{a.shape[0] - 1}, got {row!r}")
    if isinstance(spacing_x, bool) or not isinstance(spacing_x, (int, float, np.integer, np.floating)) \
            or not np.isfinite(spacing_x) or spacing_x <= 0:
        return result(False, f"spacing_x must be a positive number of mm, got {spacing_x!r}")
    prof = a[row].astype(np.float64)
    fr = {name: float(((prof >= lo) & (prof <= hi)).mean()) for name, lo, hi, _ in TISSUE_BANDS}
    return result(row=int(row), x_mm=np.arange(a.shape[1]) * float(spacing_x), hu=prof, fractions=fr,
                  min=float(prof.min()), max=float(prof.max()))


def _band_name(name: str) -> str:
    """A tissue band's name in the current language. Own keys ("lung (HU band)"): ``t("lung")`` is the lung
    *window* (肺窗), not the tissue."""
    if get_language() == "en":
        return name
    return {"air": t("air (HU band)"), "lung": t("lung (HU band)"), "fat": t("fat (HU band)"),
            "water": t("water (HU band)"), "soft tissue": t("soft tissue (HU band)"),
            "bone": t("bone (HU band)")}.get(name, t(name))


def _profile_chart(width_mm: float, figsize: tuple[float, float] = (6.6, 3.4),
                   ylim: tuple[float, float] = (-1100.0, 1700.0)) -> tuple[Chart, Any]:
    """HU along a row over shaded tissue bands (drawn once); the returned profile line is blitted."""
    chart = Chart(figsize=figsize)
    chart.fig.subplots_adjust(left=0.12, right=0.72, bottom=0.15, top=0.93)
    ax = chart.fig.add_subplot()
    for name, lo, hi, colour in TISSUE_BANDS:
        ax.axhspan(lo, hi, color=colour, alpha=0.75, lw=0, label=f"{_band_name(name)} {lo:+.0f}…{hi:+.0f}")
    ax.axhline(0, color="#3182bd", lw=0.6)
    ax.set_xlim(0, width_mm)
    ax.set_ylim(*ylim)
    ax.set_xlabel(t("position along the row (mm)"))
    ax.set_ylabel("HU")
    ax.set_title("", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5, title=t("tissue (HU)"),
              title_fontsize=8, frameon=False)
    (line,) = ax.plot([], [], color="black", lw=1.0)
    chart.animate(line)
    return chart, line


@register(demo=_lung_ct_demo)
def hu_profile_explorer(image: Any, window: float = 1800, level: float = -200, width: int = 400) -> Any:
    """Row (and slice) sliders on a CT: the HU profile along the row over shaded tissue bands, the row
    marked in red on the slice, and the share of the row in each band. Used in 01 §4.

    ``image``: a LungCT, a 3-D SimpleITK image or a (z, y, x) array (spacing 1 mm).
    """
    img, volume, boxes = _image(image)
    z0, y0, _ = _start(volume, boxes)
    sx = float(img.GetSpacing()[0])
    chart, line = _profile_chart(volume.shape[2] * sx)
    ylim = chart.fig.axes[0].get_ylim()
    grey = functools.lru_cache(maxsize=4)(lambda z: grey_window(volume[z], window, level))

    def frame(slice: int, row: int) -> Frame:
        d = compute_hu_profile(volume[slice], row, sx)
        if not d["ok"]:
            return Frame(warning=d["message"])
        rgb = np.repeat(grey(slice)[..., None], 3, axis=2)
        rgb[max(0, row - 1):row + 2] = (255, 40, 40)
        line.set_data(d["x_mm"], np.clip(d["hu"], *ylim))
        parts = " · ".join(f"{esc(_band_name(k))} {v:.0%}" for k, v in d["fractions"].items())
        readout = ("<code>" + t("slice {0}, row {1}: HU {2:.0f}…{3:.0f}; share of the row per band: {4}").format(
                       slice, row, d["min"], d["max"], parts)
                   + "</code><br><small>" + t("Pixels between bands (e.g. −500…−150) are partial-volume mixtures "
                                              "or tissue outside these textbook ranges.") + "</small>")
        return Frame(image=rgb, panes={"profile": chart.png()}, readout=readout)

    return explorer(frame, {"slice": Int("Slice", 0, volume.shape[0] - 1, value=z0),
                            "row": Int("Row", 0, volume.shape[1] - 1, value=y0)}, width=width)


# =============================================================================================
# window / level
# =============================================================================================
def _window_chart(centres: np.ndarray, counts: np.ndarray, ymax: float) -> tuple[Chart, dict]:
    """The slice's HU histogram (log counts), the shown window shaded and the HU -> grey ramp.

    Axes fixed, so the histogram line, the span and the ramp are all blitted on one background."""
    chart = Chart(figsize=(5.2, 2.6))
    fig = chart.fig
    fig.subplots_adjust(left=0.13, right=0.87, bottom=0.2, top=0.86)
    ax = fig.add_subplot()
    (hist,) = ax.plot(centres, np.log10(1.0 + counts), drawstyle="steps-mid", color="0.35", lw=1)
    ax.set_xlabel("HU")
    ax.set_ylabel(t("log₁₀(1 + pixels)"))
    ax.set_title(t("HU histogram of the slice"), fontsize=10)
    span = Rectangle((0, 0), 0, 1, transform=blended_transform_factory(ax.transData, ax.transAxes),
                     color="tab:orange", alpha=0.25)
    ax.add_patch(span)
    ramp_ax = ax.twinx()
    ramp_ax.set_ylim(-0.02, 1.02)
    ramp_ax.set_ylabel(t("grey level (0 black, 1 white)"), color="tab:blue")
    (ramp,) = ramp_ax.plot([], [], color="tab:blue", lw=1.5)
    ax.set_xlim(-1100, 1700)
    ax.set_ylim(0.0, ymax)
    chart.animate(hist, span, ramp)
    return chart, {"hist": hist, "span": span, "ramp": ramp}


@register(demo=_lung_ct_demo)
def window_level_explorer(image: Any, window: float = 1500, level: float = -600, width: int = 420) -> Any:
    """CT slice with window/level sliders and presets, next to the slice's HU histogram with the window
    shaded and the HU -> grey ramp drawn. Used in 01 §5.

    ``image``: a LungCT, a 3-D SimpleITK image or a (z, y, x) array.
    """
    volume, _, boxes = mio.as_volume(image)
    k0 = _start(volume, boxes)[0]
    hist = functools.lru_cache(maxsize=64)(lambda k: mio.hu_histogram(volume[k]))
    # no bin can exceed the pixel count: a fixed y limit keeps every slice's histogram comparable
    chart, art = _window_chart(*hist(k0), ymax=float(np.log10(1.0 + volume[0].size)) * 1.05)

    def frame(slice: int, window: float, level: float, preset: Any = None) -> Frame:
        lo, hi = window_range(window, level)
        centres, counts = hist(slice)
        art["hist"].set_data(centres, np.log10(1.0 + counts))
        art["span"].set_x(lo)
        art["span"].set_width(hi - lo)
        art["ramp"].set_data(_RAMP_X, np.clip((_RAMP_X - lo) / (hi - lo), 0.0, 1.0))
        plane = volume[slice]
        shown = float(((plane >= lo) & (plane <= hi)).mean())
        return Frame(image=grey_window(plane, window, level), panes={"histogram": chart.png()},
                     readout=("<code>" + t("shown HU range [{0:.0f}, {1:.0f}]: {2:.0%} of the pixels get a grey "
                                           "level between black and white; {3:.2f} grey steps per HU").format(
                                  lo, hi, shown, 256 / window) + "</code>"))

    return explorer(frame, {"slice": Int("Slice", 0, volume.shape[0] - 1, value=k0),
                            "window": Float("Window W (HU)", 1, 4000, value=window, step=1, format=".0f"),
                            "level": Float("Level L (HU)", -1024, 3000, value=level, step=1, format=".0f"),
                            "preset": window_preset()}, width=width)


# =============================================================================================
# resampling one coronal plane
# =============================================================================================
#: Most voxels the resampled volume may have (its size and memory are reported, never built here).
_MAX_VOXELS = 2_000_000_000


def compute_resampled_coronal(image: sitk.Image, spacing: float, y_mm: float, interpolator: str = "linear",
                              default_value: float | None = None) -> dict:
    """The coronal plane (rows = z from superior at the top, columns = x) of the volume resampled
    to isotropic ``spacing`` mm (:func:`medlab.io.coronal_plane_resampled`), the new full-volume size
    and its memory. Invalid settings (spacing <= 0 or too fine, unknown interpolator) are flagged.
    """
    if interpolator not in mio.INTERPOLATORS:
        return result(False, f"interpolator must be one of {mio.INTERPOLATORS}, got {interpolator!r}")
    if isinstance(spacing, bool) or not isinstance(spacing, (int, float, np.integer, np.floating)) \
            or not np.isfinite(spacing) or spacing <= 0:
        return result(False, f"spacing must be a positive number of mm, got {spacing!r}")
    size = np.array(image.GetSize(), dtype=float)
    old = np.array(image.GetSpacing(), dtype=float)
    new_size, grid_origin = mio.isotropic_grid(image, float(spacing))
    voxels = int(np.prod(new_size))
    if voxels > _MAX_VOXELS or new_size[0] * new_size[2] > mio.MAX_PLANE_PIXELS:
        return result(False, f"spacing {spacing} mm gives {new_size} = {voxels:,} voxels: too many; "
                             "use a larger spacing")
    plane, j = mio.coronal_plane_resampled(image, float(spacing), y_mm, interpolator, default_value)
    d = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
    offset = d.T @ (np.asarray(grid_origin) - np.asarray(image.GetOrigin()))  # grid origin in image axes (mm)
    bpv = np.dtype(plane.dtype).itemsize
    return result(plane=plane[::-1], row_j=j, plane_y_mm=float(offset[1] + j * float(spacing)),
                  new_size=new_size, voxels=voxels, memory_mb=voxels * bpv / 1e6,
                  old_size=tuple(int(v) for v in size), old_memory_mb=float(np.prod(size)) * bpv / 1e6,
                  spacing=float(spacing), old_spacing=tuple(float(v) for v in old))


@register(demo=_lung_ct_demo)
def resampling_explorer(image: Any, spacing: float = 2.0, row: int = 300, window: float | None = None,
                        level: float | None = None, width: int = 480) -> Any:
    """Target-spacing slider + interpolator -> the coronal plane at image row ``row`` of the volume
    resampled to isotropic voxels, drawn pixel for pixel enlarged to ``width`` px, with the new volume
    size and memory. Only that plane is resampled at each update (from a thin slab, see
    :func:`medlab.io.coronal_plane_resampled`), never the whole volume. Used in 01 §6.

    ``image``: a LungCT, a 3-D SimpleITK image or a (z, y, x) array (spacing 1 mm).
    """
    img, volume, _ = _image(image)
    ny = img.GetSize()[1]
    if not _is_int(row) or not 0 <= row < ny:
        raise ValueError(f"row must be in 0..{ny - 1}, got {row!r}")
    if window is None or level is None:
        window, level = PRESETS["lung"]
    lo, hi = window_range(window, level)
    default = float(volume.min())
    y_mm = row * img.GetSpacing()[1]
    sx, sz = img.GetSpacing()[0], img.GetSpacing()[2]
    # the original grid, drawn with its physical aspect (rows 8 mm, columns 0.65 mm), for comparison
    original = to_png(scale_nearest(to_uint8(volume[::-1, row, :], lo, hi), sz / sx))

    def frame(spacing: float, interpolator: str) -> Frame:
        d = compute_resampled_coronal(img, spacing, y_mm, interpolator, default)
        if not d["ok"]:
            return Frame(warning=d["message"])
        grey = to_uint8(d["plane"], lo, hi)
        f = width / grey.shape[1]
        (nx, nyy, nz), (ox, oy, oz) = d["new_size"], d["old_size"]
        table = html_table([("original", f"{ox} × {oy} × {oz}", f"{ox * oy * oz:,}", f"{d['old_memory_mb']:.1f} MB"),
                            (f"{d['spacing']:.2f} mm iso", f"{nx} × {nyy} × {nz}", f"{d['voxels']:,}",
                             f"{d['memory_mb']:.1f} MB ({d['memory_mb'] / d['old_memory_mb']:.2f}×)")],
                           header=("", "size (x, y, z)", "voxels", f"memory ({esc(d['plane'].dtype)})"))
        readout = (f"<div style='font-family:monospace;font-size:13px'>{table}</div><small>"
                   + t("Top: coronal row {0} of the resampled grid ({1:.1f} mm from the origin along y), "
                       "{2} × {3} pixels drawn {4:.1f}× enlarged. Below: the original grid ({5:g} mm rows), "
                       "stretched to its true aspect. Only this plane is resampled at each move (from a slab of 17 "
                       "input rows around it); the full volume is never built here.").format(
                       d["row_j"], d["plane_y_mm"], nx, nz, f, sz) + "</small>")
        return Frame(image=scale_nearest(grey, f, f), panes={"original": original}, readout=readout)

    return explorer(frame, {"spacing": Float("Spacing (mm)", 0.65, 10.0, value=spacing, step=0.05, format=".2f"),
                            "interpolator": Choice("Interpolator", [("linear", "linear"), ("nearest neighbour",
                                                                                           "nearest"),
                                                                    ("B-spline (cubic)", "bspline")])},
                    width=width)
