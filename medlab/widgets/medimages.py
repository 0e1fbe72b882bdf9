"""Widgets for 01_medical_images: voxels and their position, a DICOM series, HU profiles, resampling.

Every widget is a pure compute/render function (numpy / SimpleITK in; dict, numpy array or
PNG bytes out; testable without a kernel) plus a thin ipywidgets builder. Images are composed
in numpy and shown as PNG in an ``ipywidgets.Image``; the HU profile chart is one
:class:`~medlab.widgets._render.FigureRenderer` figure built once, whose tissue bands and axes
are drawn once and whose profile line is blitted on a saved background at every update.
Invalid settings (an index outside the image, a non-positive spacing, an unknown
interpolator) come back *flagged* in the result (``"valid": False`` and a ``"message"``) so
a slider can never crash the kernel. Update times: ``benchmarks/bench_medimages.py``
(budget 100 ms per update on the 512x512 CT).

>>> img = sitk.Image(4, 3, 2, sitk.sitkInt16); img.SetSpacing((0.5, 0.5, 2.0)); img.SetOrigin((10, 20, 30))
>>> d = compute_voxel(img, 1, 2, 3)
>>> d["valid"], d["physical_mm"]
(True, (11.5, 21.0, 32.0))
>>> compute_voxel(img, 5, 0, 0)["valid"]
False
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import SimpleITK as sitk
from PIL import Image as PILImage
from PIL import ImageDraw

from .. import io as mio
from ..display import PRESETS, window_range
from ._controls import image_view as _img
from ._controls import slider
from ._render import font as _font
from ._render import grey_window
from ._render import FigureRenderer, scale_nearest, to_png, to_uint8

__all__ = [
    "TISSUE_BANDS", "INTERPOLATORS", "index_to_physical", "compute_voxel", "render_neighbourhood",
    "render_crosshair", "DicomSeries", "load_dicom_series", "compute_dicom_file", "compute_hu_profile",
    "ProfileChart", "coronal_plane_resampled", "compute_resampled_coronal",
    "voxel_inspector", "dicom_series_browser", "hu_profile_explorer", "resampling_explorer",
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
INTERPOLATORS = ("nearest", "linear", "bspline")
_SITK_INTERP = {"nearest": sitk.sitkNearestNeighbor, "linear": sitk.sitkLinear, "bspline": sitk.sitkBSpline}


def _invalid(message: str, **extra) -> dict:
    return {"valid": False, "message": message, **extra}


def _image_and_boxes(image: Any) -> tuple[sitk.Image, list]:
    boxes = list(getattr(image, "boxes", []) or [])
    if hasattr(image, "image") and isinstance(image.image, sitk.Image):
        image = image.image
    if not isinstance(image, sitk.Image):
        raise TypeError(f"image must be a LungCT or a SimpleITK.Image, got {type(image).__name__}")
    if image.GetDimension() != 3:
        raise ValueError(f"image must be 3-D, got a {image.GetDimension()}-D SimpleITK image")
    return image, boxes


# =============================================================================================
# 1 · voxel inspector
# =============================================================================================
def index_to_physical(image: sitk.Image, index_xyz: Sequence[float]) -> tuple[float, ...]:
    """Physical point (mm) of a voxel index ``(i, j, k)`` (ITK order x, y, z):
    ``p = origin + D · diag(spacing) · index``, written out by hand (the taught formula).

    >>> img = sitk.Image(2, 2, 2, sitk.sitkUInt8); img.SetSpacing((2.0, 3.0, 4.0))
    >>> index_to_physical(img, (1, 1, 1))
    (2.0, 3.0, 4.0)
    """
    o = np.asarray(image.GetOrigin(), dtype=np.float64)
    d = np.asarray(image.GetDirection(), dtype=np.float64).reshape(image.GetDimension(), -1)
    s = np.asarray(image.GetSpacing(), dtype=np.float64)
    p = o + d @ (s * np.asarray(index_xyz, dtype=np.float64))
    return tuple(float(v) for v in p)


def compute_voxel(image: sitk.Image, z: int, y: int, x: int, radius: int = 3,
                  array: np.ndarray | None = None) -> dict:
    """The voxel at numpy index ``(z, y, x)``: its value, the ``(2r+1)²`` in-plane neighbourhood
    (clamped at the image border, ``center`` gives the voxel's place in it), and its physical
    position in mm from origin/spacing/direction. Pass ``array`` (the image as (z, y, x)
    numpy) to avoid a copy per call. An index outside the image is flagged, not raised.
    """
    if array is None:
        array = sitk.GetArrayViewFromImage(image)
    nz, ny, nx = array.shape
    for name, v, n in (("z", z, nz), ("y", y, ny), ("x", x, nx)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            return _invalid(f"{name} must be an int index, got {v!r}")
        if not 0 <= v < n:
            return _invalid(f"{name}={v} is outside 0..{n - 1}")
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        return _invalid(f"radius must be an int >= 0, got {radius!r}")
    r0, r1 = max(0, y - radius), min(ny, y + radius + 1)
    c0, c1 = max(0, x - radius), min(nx, x + radius + 1)
    return {"valid": True, "message": "", "value": array[z, y, x].item(),
            "neighbourhood": np.array(array[z, r0:r1, c0:c1]), "corner": (r0, c0), "center": (y - r0, x - c0),
            "index_xyz": (int(x), int(y), int(z)), "physical_mm": index_to_physical(image, (x, y, z))}


def render_neighbourhood(values: np.ndarray, center: Sequence[int] | None = None, window: float = 1500,
                         level: float = -600, cell: int = 54) -> np.ndarray:
    """RGB image of a small grid of HU values: each cell grey by window/level with its number
    printed in it (black on light cells, white on dark), the ``center`` cell outlined in cyan.

    >>> render_neighbourhood(np.array([[-1000, 0], [40, 400]]), (0, 0), cell=40).shape
    (80, 80, 3)
    """
    v = np.asarray(values)
    if v.ndim != 2 or v.size == 0:
        raise ValueError(f"values must be a non-empty 2-D array, got shape {v.shape}")
    lo, hi = window_range(window, level)
    grey = to_uint8(v, lo, hi)
    big = np.repeat(np.repeat(grey, cell, axis=0), cell, axis=1)
    pil = PILImage.fromarray(np.repeat(big[..., None], 3, axis=2))
    draw = ImageDraw.Draw(pil)
    font = _font(max(9, cell // 4))
    for (r, c), val in np.ndenumerate(v):
        text = f"{val:.0f}" if np.issubdtype(v.dtype, np.integer) or float(val).is_integer() else f"{val:.1f}"
        fill = (0, 0, 0) if grey[r, c] > 110 else (255, 255, 255)
        draw.text((c * cell + cell / 2, r * cell + cell / 2), text, fill=fill, font=font, anchor="mm")
        draw.rectangle([c * cell, r * cell, (c + 1) * cell - 1, (r + 1) * cell - 1], outline=(90, 90, 90))
    if center is not None:
        r, c = int(center[0]), int(center[1])
        draw.rectangle([c * cell, r * cell, (c + 1) * cell - 1, (r + 1) * cell - 1], outline=(0, 255, 255), width=3)
    return np.asarray(pil)


def render_crosshair(grey: np.ndarray, y: int, x: int, radius: int = 3, color: Sequence[int] = (0, 255, 255),
                     gap: int = 6) -> np.ndarray:
    """uint8 grey slice -> RGB with a crosshair at ``(y, x)`` (a gap left around the voxel) and
    the outline of the ``(2r+1)²`` neighbourhood shown in the zoom."""
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


# =============================================================================================
# 3 · DICOM series browser
# =============================================================================================
_KEY_TAGS = ("InstanceNumber", "ImagePositionPatient", "SliceLocation", "SliceThickness", "RescaleSlope",
             "RescaleIntercept", "PixelRepresentation", "BitsStored")


@dataclass
class DicomSeries:
    """Every file of a DICOM series in *file-name* order: key tags, stored pixel values and
    the index each file gets when the slices are sorted by position (what a reader must do)."""

    files: list[str]
    tags: list[dict]
    stored: list[np.ndarray]
    z_mm: np.ndarray          # ImagePositionPatient z of each file (mm)
    sorted_index: np.ndarray  # position of each file in the stack sorted by z (0 = lowest)

    def __len__(self) -> int:
        return len(self.files)


def load_dicom_series(folder: str | Path) -> DicomSeries:
    """Read every DICOM file of ``folder`` once (headers and stored pixels), in file-name order.
    Non-DICOM files (a licence text) are skipped; an empty folder raises ``ValueError``."""
    import pydicom

    p = Path(folder)
    if not p.is_dir():
        raise ValueError(f"folder {p} is not a directory")
    files = sorted(f for f in p.iterdir() if f.is_file() and mio.is_dicom_file(f))
    if not files:
        raise ValueError(f"folder {p} contains no DICOM file")
    tags, stored, z = [], [], []
    for f in files:
        ds = pydicom.dcmread(str(f))
        t = {}
        for kw in _KEY_TAGS:
            v = ds.get(kw)
            t[kw] = [float(u) for u in v] if kw == "ImagePositionPatient" and v is not None else \
                (None if v is None else (float(v) if kw in ("SliceLocation", "SliceThickness", "RescaleSlope",
                                                            "RescaleIntercept") else int(v)))
        tags.append(t)
        stored.append(ds.pixel_array)
        ipp = t["ImagePositionPatient"]
        z.append(ipp[2] if ipp else (t["SliceLocation"] if t["SliceLocation"] is not None else np.nan))
    z_mm = np.asarray(z, dtype=np.float64)
    order = np.argsort(z_mm, kind="stable")
    sorted_index = np.empty(len(files), dtype=int)
    sorted_index[order] = np.arange(len(files))
    return DicomSeries([f.name for f in files], tags, stored, z_mm, sorted_index)


def compute_dicom_file(series: DicomSeries, index: int, window: float = 1500, level: float = -600,
                       thumb: int = 2) -> dict:
    """File ``index`` (file-name order) of a series: its tags, stored and HU value ranges,
    the slice it becomes after sorting by position, and two uint8 thumbnails (every ``thumb``-th
    pixel) drawn with the same window: the stored numbers *as if* they were HU, and the HU.
    An index outside the series is flagged, not raised."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(series):
        return _invalid(f"index must be an int in 0..{len(series) - 1}, got {index!r}")
    t = series.tags[index]
    stored = series.stored[index]
    slope = t["RescaleSlope"] if t["RescaleSlope"] is not None else 1.0
    intercept = t["RescaleIntercept"] if t["RescaleIntercept"] is not None else 0.0
    hu = stored.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    lo, hi = window_range(window, level)
    step = max(1, int(thumb))
    return {"valid": True, "message": "", "file": series.files[index], "tags": t,
            "sorted_index": int(series.sorted_index[index]), "z_mm": float(series.z_mm[index]),
            "stored_range": (stored.min().item(), stored.max().item()), "stored_dtype": str(stored.dtype),
            "hu_range": (float(hu.min()), float(hu.max())), "slope": slope, "intercept": intercept,
            "stored_thumb": to_uint8(stored[::step, ::step], lo, hi),
            "hu_thumb": to_uint8(hu[::step, ::step], lo, hi), "hu": hu}


class _BlitChart:
    """A FigureRenderer whose static part (axes, bands, labels) is drawn once and saved; the
    animated artists are drawn on the restored background at each :meth:`png`."""

    def __init__(self, figsize, dpi=80):
        self.renderer = FigureRenderer(figsize=figsize, dpi=dpi)
        self.fig = self.renderer.fig
        self.animated: list = []
        self._background = None

    def png(self) -> bytes:
        canvas = self.renderer.canvas
        if self._background is None:
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self.animated:
            artist.axes.draw_artist(artist)
        return to_png(np.asarray(canvas.buffer_rgba())[..., :3].copy())


class _PositionChart(_BlitChart):
    """z position (mm) of every file in file-name order, the current file marked."""

    def __init__(self, series: DicomSeries):
        super().__init__(figsize=(4.6, 2.6))
        ax = self.fig.add_subplot()
        self.fig.subplots_adjust(left=0.17, right=0.97, bottom=0.2, top=0.87)
        n = np.arange(1, len(series) + 1)
        ax.plot(n, series.z_mm, "o", color="0.5", ms=3.5)
        ax.set_xlabel("file, in file-name order")
        ax.set_ylabel("z position (mm)")
        ax.set_title("ImagePositionPatient z of each file", fontsize=10)
        (self.marker,) = ax.plot([1], [series.z_mm[0]], "o", color="tab:red", ms=8, animated=True)
        self.animated = [self.marker]

    def set_current(self, index: int, z: float) -> None:
        self.marker.set_data([index + 1], [z])


# =============================================================================================
# 4 · HU profile
# =============================================================================================
def compute_hu_profile(plane: np.ndarray, row: int, spacing_x: float = 1.0) -> dict:
    """HU values along image row ``row`` of a 2-D slice, with the position in mm along the row
    and the fraction of the row's pixels in each of :data:`TISSUE_BANDS`. A row outside the
    slice is flagged, not raised.

    >>> d = compute_hu_profile(np.array([[-1000, -100, 0, 40], [0, 0, 0, 0]]), 0, 0.5)
    >>> d["x_mm"].tolist(), d["fractions"]["fat"], d["fractions"]["bone"]
    ([0.0, 0.5, 1.0, 1.5], 0.25, 0.0)
    """
    a = np.asarray(plane)
    if a.ndim != 2:
        return _invalid(f"plane must be 2-D, got shape {a.shape}")
    if isinstance(row, bool) or not isinstance(row, (int, np.integer)) or not 0 <= row < a.shape[0]:
        return _invalid(f"row must be an int in 0..{a.shape[0] - 1}, got {row!r}")
    if not np.isfinite(spacing_x) or spacing_x <= 0:
        return _invalid(f"spacing_x must be a positive number of mm, got {spacing_x}")
    prof = a[row].astype(np.float64)
    fr = {name: float(((prof >= lo) & (prof <= hi)).mean()) for name, lo, hi, _ in TISSUE_BANDS}
    return {"valid": True, "message": "", "row": int(row), "x_mm": np.arange(a.shape[1]) * float(spacing_x),
            "hu": prof, "fractions": fr, "min": float(prof.min()), "max": float(prof.max())}


class ProfileChart(_BlitChart):
    """HU along a row, over shaded tissue bands (drawn once); the profile line is blitted."""

    def __init__(self, width_mm: float, figsize: tuple[float, float] = (6.6, 3.4), ylim=(-1100.0, 1700.0)):
        super().__init__(figsize=figsize)
        self.fig.subplots_adjust(left=0.12, right=0.72, bottom=0.15, top=0.93)
        ax = self.ax = self.fig.add_subplot()
        for name, lo, hi, colour in TISSUE_BANDS:
            ax.axhspan(lo, hi, color=colour, alpha=0.75, lw=0, label=f"{name} {lo:+.0f}…{hi:+.0f}")
        ax.axhline(0, color="#3182bd", lw=0.6)
        ax.set_xlim(0, width_mm)
        ax.set_ylim(*ylim)
        ax.set_xlabel("position along the row (mm)")
        ax.set_ylabel("HU")
        self.title = ax.set_title("", fontsize=10)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5, title="tissue (HU)",
                  title_fontsize=8, frameon=False)
        (self.line,) = ax.plot([], [], color="black", lw=1.0, animated=True)
        self.animated = [self.line]

    def set_profile(self, x_mm: np.ndarray, hu: np.ndarray) -> None:
        self.line.set_data(x_mm, np.clip(hu, *self.ax.get_ylim()))


# =============================================================================================
# 6 · resampling one coronal plane
# =============================================================================================
def _cubic_bspline(u: float) -> float:
    u = abs(u)
    if u < 1.0:
        return 2.0 / 3.0 - u * u + u ** 3 / 2.0
    return (2.0 - u) ** 3 / 6.0 if u < 2.0 else 0.0


def _continuous_index(image: sitk.Image, spacing: float, grid_origin: Sequence[float]) -> np.ndarray:
    """Old-grid continuous index (x, y, z) of new-grid voxel (0, 0, 0); new voxel n is at this + t·n/s."""
    d = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
    off = d.T @ (np.asarray(grid_origin, dtype=float) - np.asarray(image.GetOrigin(), dtype=float))
    return off / np.asarray(image.GetSpacing(), dtype=float)


def _bspline_plane(image: sitk.Image, j: int, spacing: float, new_size: Sequence[int],
                   grid_origin: Sequence[float], default_value: float, margin: int) -> np.ndarray:
    """Cubic B-spline values on coronal row ``j`` of the resampled grid, as (z, x) float64.

    SimpleITK evaluates 4x4x4 = 64 coefficients per output point (70-140 ms for the finest plane);
    B-splines are separable and the plane has one y, so the slab's coefficients (scipy
    ``spline_filter``, mirror boundary like ITK) are first combined along y with the 4 weights
    β³(y - m), then the 2-D plane is interpolated with 16 coefficients per point."""
    from scipy import ndimage as ndi

    size = np.array(image.GetSize(), dtype=float)
    old = np.array(image.GetSpacing(), dtype=float)
    c0 = _continuous_index(image, spacing, grid_origin)
    yc = c0[1] + j * spacing / old[1]
    lo = int(max(0, np.floor(yc) - margin))
    hi = int(min(size[1], np.ceil(yc) + margin + 1))
    slab = np.asarray(sitk.GetArrayViewFromImage(image)[:, lo:hi, :], dtype=np.float64)
    coef = ndi.spline_filter(slab, order=3, mode="mirror")
    t = yc - lo
    n = coef.shape[1]
    plane = np.zeros((coef.shape[0], coef.shape[2]))
    for m in range(int(np.floor(t)) - 1, int(np.floor(t)) + 3):
        mm = -m if m < 0 else (2 * (n - 1) - m if m >= n else m)  # mirror, as the coefficients are
        plane += _cubic_bspline(t - m) * coef[:, mm, :]
    zc = c0[2] + np.arange(new_size[2]) * spacing / old[2]
    xc = c0[0] + np.arange(new_size[0]) * spacing / old[0]
    zz, xx = np.meshgrid(zc, xc, indexing="ij")
    vals = ndi.map_coordinates(plane, [zz, xx], order=3, prefilter=False, mode="mirror")
    # ITK: a point is inside when its continuous index lies in [-0.5, size - 0.5)
    inside = (zz >= -0.5) & (zz < size[2] - 0.5) & (xx >= -0.5) & (xx < size[0] - 0.5)
    return np.where(inside, vals, default_value)


def coronal_plane_resampled(image: sitk.Image, spacing: float, y_mm: float, interpolator: str = "linear",
                            default_value: float | None = None, margin: int = 8) -> tuple[np.ndarray, int]:
    """Just the coronal plane of ``mio.resample_isotropic(image, spacing, interpolator)`` nearest to
    ``y_mm`` (mm from the origin along the image's y axis) on that function's grid
    (:func:`medlab.io.isotropic_grid`); returns (the plane as a (z, x) array, z from the grid
    origin upwards, and its row index ``j`` in the full resampled grid).

    Only a slab of ``2·margin+1`` input rows around the plane is used (the full resample takes
    0.1-0.2 s linear, 2-3 s B-spline). Nearest and linear: SimpleITK ``Resample`` of the slab onto
    the plane's grid, values identical to the full resample. B-spline: see :func:`_bspline_plane`;
    prefiltering the slab instead of the volume changes values by far less than 1 HU with an
    8-row margin (the prefilter decays as 0.27^n), so the plane agrees with SimpleITK's full
    B-spline resample to within 1 HU (int16 truncation).
    """
    new_size, grid_origin = mio.isotropic_grid(image, float(spacing))
    c0 = _continuous_index(image, spacing, grid_origin)
    old = np.array(image.GetSpacing(), dtype=float)
    j = int(np.clip(round((y_mm / old[1] - c0[1]) * old[1] / spacing), 0, new_size[1] - 1))
    if default_value is None:
        stats = sitk.MinimumMaximumImageFilter()
        stats.Execute(image)
        default_value = stats.GetMinimum()
    dtype = sitk.GetArrayViewFromImage(image[:1, :1, :1]).dtype
    if interpolator == "bspline":
        vals = _bspline_plane(image, j, float(spacing), new_size, grid_origin, float(default_value), margin)
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            vals = np.clip(np.trunc(vals), info.min, info.max)  # ITK casts by truncation
        return vals.astype(dtype), j
    y_cont = c0[1] + j * spacing / old[1]
    lo = int(max(0, np.floor(y_cont) - margin))
    hi = int(min(image.GetSize()[1], np.ceil(y_cont) + margin + 1))
    slab = image[:, lo:hi, :]
    d = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
    origin = np.asarray(grid_origin, dtype=float) + d @ np.array([0.0, j * spacing, 0.0])
    out = sitk.Resample(slab, [new_size[0], 1, new_size[2]], sitk.Transform(), _SITK_INTERP[interpolator],
                        tuple(origin), (float(spacing),) * 3, image.GetDirection(), float(default_value),
                        image.GetPixelID())
    return sitk.GetArrayFromImage(out)[:, 0, :], j


def compute_resampled_coronal(image: sitk.Image, spacing: float, y_mm: float, interpolator: str = "linear",
                              default_value: float | None = None) -> dict:
    """The coronal plane (rows = z from superior at the top, columns = x) of the volume resampled
    to isotropic ``spacing`` mm, the new full-volume size and its memory. Invalid settings
    (spacing <= 0 or too fine for memory, unknown interpolator) are flagged, not raised."""
    if interpolator not in INTERPOLATORS:
        return _invalid(f"interpolator must be one of {INTERPOLATORS}, got {interpolator!r}")
    if isinstance(spacing, bool) or not isinstance(spacing, (int, float, np.integer, np.floating)) \
            or not np.isfinite(spacing) or spacing <= 0:
        return _invalid(f"spacing must be a positive number of mm, got {spacing!r}")
    size = np.array(image.GetSize(), dtype=float)
    old = np.array(image.GetSpacing(), dtype=float)
    new_size = tuple(max(1, int(round(n * s / spacing))) for n, s in zip(size, old))
    voxels = int(np.prod(new_size))
    if voxels > 2_000_000_000:
        return _invalid(f"spacing {spacing} mm gives {new_size} = {voxels:,} voxels: too many")
    plane, j = coronal_plane_resampled(image, float(spacing), y_mm, interpolator, default_value)
    plane = plane[::-1]                                                 # superior at the top
    _, grid_origin = mio.isotropic_grid(image, float(spacing))
    plane_y = float(_continuous_index(image, spacing, grid_origin)[1] * old[1] + j * spacing)
    bpv = np.dtype(sitk.GetArrayViewFromImage(image[:1, :1, :1]).dtype).itemsize
    return {"valid": True, "message": "", "plane": plane, "row_j": j, "plane_y_mm": plane_y,
            "new_size": new_size, "voxels": voxels,
            "memory_mb": voxels * bpv / 1e6, "old_size": tuple(int(v) for v in size),
            "old_memory_mb": float(np.prod(size)) * bpv / 1e6, "spacing": float(spacing)}


# =============================================================================================
# builders
# =============================================================================================
def _slider(w, kind, description, width="380px", **kw):
    return slider(w, kind, description, width=width, label_width="120px", **kw)


def _start(image: sitk.Image, boxes) -> tuple[int, int, int]:
    if boxes:
        b = boxes[len(boxes) // 2]
        return int(b.slice_index), (b.row0 + b.row1) // 2, (b.col0 + b.col1) // 2
    nx, ny, nz = image.GetSize()
    return nz // 2, ny // 2, nx // 2


def voxel_inspector(image: Any, start_zyx: Sequence[int] | None = None, radius: int = 3, window: float = 1500,
                    level: float = -600, width: int = 420) -> Any:
    """Sliders z, y, x -> the voxel's HU value, its 7x7 neighbourhood with the numbers printed, and
    its physical position ``origin + D·diag(spacing)·(x, y, z)`` in mm. ``image``: LungCT or 3-D
    SimpleITK image."""
    import ipywidgets as w

    img, boxes = _image_and_boxes(image)
    arr = sitk.GetArrayFromImage(img)
    z0, y0, x0 = start_zyx if start_zyx is not None else _start(img, boxes)
    nz, ny, nx = arr.shape
    z_w = _slider(w, "IntSlider", "Slice z", value=int(z0), min=0, max=nz - 1)
    y_w = _slider(w, "IntSlider", "Row y", value=int(y0), min=0, max=ny - 1)
    x_w = _slider(w, "IntSlider", "Column x", value=int(x0), min=0, max=nx - 1)
    slice_w, zoom_w, info_w = _img(w, width), _img(w, 7 * 46), w.HTML()
    state = {"z": None, "grey": None}
    o, s = img.GetOrigin(), img.GetSpacing()

    def render(_=None):
        z, y, x = z_w.value, y_w.value, x_w.value
        d = compute_voxel(img, z, y, x, radius, array=arr)
        if not d["valid"]:
            info_w.value = f"<b style='color:#b00'>{d['message']}</b>"
            return
        if state["z"] != z:
            state["z"], state["grey"] = z, grey_window(arr[z], window, level)
        slice_w.value = to_png(render_crosshair(state["grey"], y, x, radius))
        zoom_w.value = to_png(render_neighbourhood(d["neighbourhood"], d["center"], window, level, cell=46))
        p = d["physical_mm"]
        info_w.value = (
            "<table style='font-family:monospace;font-size:12px;line-height:1.25'>"
            f"<tr><td>numpy array[z, y, x]</td><td>[{z}, {y}, {x}]</td></tr>"
            f"<tr><td>ITK index (i, j, k)</td><td>({x}, {y}, {z})</td></tr>"
            f"<tr><td><b>value</b></td><td><b>{d['value']} HU</b></td></tr>"
            f"<tr><td>x: {o[0]:.2f} + {x} × {s[0]:.4f}</td><td>= {p[0]:.2f} mm (→ left)</td></tr>"
            f"<tr><td>y: {o[1]:.2f} + {y} × {s[1]:.4f}</td><td>= {p[1]:.2f} mm (→ posterior)</td></tr>"
            f"<tr><td>z: {o[2]:.2f} + {z} × {s[2]:.4f}</td><td>= {p[2]:.2f} mm (→ superior)</td></tr></table>"
            "<div style='font-size:12px;line-height:1.3'>p = origin + D·diag(spacing)·(i, j, k); D is the identity "
            f"here, so each axis is origin + index × spacing. Zoom: the {2 * radius + 1}×{2 * radius + 1} voxels in "
            "the yellow square, the inspected one outlined in cyan.</div>")

    for c in (z_w, y_w, x_w):
        c.observe(render, names="value")
    render()
    box = w.HBox([w.VBox([z_w, y_w, x_w, slice_w]), w.VBox([zoom_w, info_w], layout=w.Layout(width="470px"))])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"z": z_w, "y": y_w, "x": x_w}  # type: ignore[attr-defined]
    return box


def dicom_series_browser(folder: str | Path | None = None, series: DicomSeries | None = None,
                         window: float = 1500, level: float = -600, width: int = 256) -> Any:
    """File slider over a DICOM folder in file-name order -> the file's key tags, where it lands
    after sorting by position, and its stored values vs HU with the same window."""
    import ipywidgets as w

    if series is None:
        if folder is None:
            raise ValueError("give folder (a DICOM series folder) or series (from load_dicom_series)")
        series = load_dicom_series(folder)
    file_w = _slider(w, "IntSlider", "File (by name)", value=1, min=1, max=len(series))
    stored_w, hu_w, chart_w = _img(w, width), _img(w, width), _img(w, 368)
    tags_w, info_w = w.HTML(), w.HTML()
    chart = _PositionChart(series)
    order = np.argsort(series.z_mm, kind="stable")

    def render(_=None):
        i = file_w.value - 1  # the slider counts files from 1, like their names
        d = compute_dicom_file(series, i, window, level)
        if not d["valid"]:
            info_w.value = f"<b style='color:#b00'>{d['message']}</b>"
            return
        t = d["tags"]
        stored_w.value = to_png(d["stored_thumb"])
        hu_w.value = to_png(d["hu_thumb"])
        chart.set_current(i, d["z_mm"])
        chart_w.value = chart.png()
        rows = "".join(f"<tr><td>{k}</td><td>{t[k] if t[k] is not None else '—'}</td></tr>" for k in _KEY_TAGS)
        tags_w.value = f"<table style='font-family:monospace;font-size:12px'>{rows}</table>"
        below = series.files[order[d["sorted_index"] - 1]] if d["sorted_index"] > 0 else "—"
        info_w.value = (
            f"<b>{d['file']}</b> is file {i + 1} by name but slice <b>array[{d['sorted_index']}]</b> after sorting by "
            f"position (z = {d['z_mm']:.0f} mm; the slice just below it comes from {below}).<br>"
            f"stored {d['stored_dtype']} {d['stored_range'][0]}…{d['stored_range'][1]} → HU = stored × "
            f"{d['slope']:g} + ({d['intercept']:g}) = {d['hu_range'][0]:.0f}…{d['hu_range'][1]:.0f}.<br>"
            f"<small>Both thumbnails use the same window (W {window:g}, L {level:g}) on their numbers: "
            "the stored values are "
            f"{-d['intercept']:g} too high to be HU, so on the left even the lungs come out white.</small>")

    file_w.observe(render, names="value")
    render()
    box = w.VBox([file_w, w.HBox([tags_w, chart_w]),
                  w.HBox([w.VBox([w.HTML("<b>stored values, read as if HU</b>"), stored_w]),
                          w.VBox([w.HTML("<b>HU = stored·slope + intercept</b>"), hu_w])]), info_w])
    box.render = render  # type: ignore[attr-defined]
    box.series = series  # type: ignore[attr-defined]
    box.controls = {"file": file_w}  # type: ignore[attr-defined]
    return box


def hu_profile_explorer(image: Any, window: float = 1800, level: float = -200, width: int = 400) -> Any:
    """Row (and slice) sliders on a CT: the HU profile along the row over shaded tissue bands,
    the row marked in red on the slice, and the share of the row in each band."""
    import ipywidgets as w

    img, boxes = _image_and_boxes(image)
    arr = sitk.GetArrayFromImage(img)
    z0, y0, _ = _start(img, boxes)
    sx = float(img.GetSpacing()[0])
    slice_w = _slider(w, "IntSlider", "Slice", value=z0, min=0, max=arr.shape[0] - 1)
    row_w = _slider(w, "IntSlider", "Row", value=y0, min=0, max=arr.shape[1] - 1)
    img_w, chart_w, info_w = _img(w, width), _img(w, 528), w.HTML()
    chart = ProfileChart(arr.shape[2] * sx)
    state = {"z": None, "grey": None}

    def render(_=None):
        z, r = slice_w.value, row_w.value
        d = compute_hu_profile(arr[z], r, sx)
        if not d["valid"]:
            info_w.value = f"<b style='color:#b00'>{d['message']}</b>"
            return
        if state["z"] != z:
            state["z"], state["grey"] = z, grey_window(arr[z], window, level)
        rgb = np.repeat(state["grey"][..., None], 3, axis=2)
        rgb[max(0, r - 1):r + 2] = (255, 40, 40)
        img_w.value = to_png(rgb)
        chart.set_profile(d["x_mm"], d["hu"])
        chart_w.value = chart.png()
        parts = " · ".join(f"{k} {v:.0%}" for k, v in d["fractions"].items())
        info_w.value = (f"<code>slice {z}, row {r}: HU {d['min']:.0f}…{d['max']:.0f}; share of the row per band: "
                        f"{parts}</code><br><small>Pixels between bands (e.g. −500…−150) are "
                        "partial-volume mixtures "
                        "or tissue outside these textbook ranges.</small>")

    slice_w.observe(render, names="value")
    row_w.observe(render, names="value")
    render()
    box = w.VBox([slice_w, row_w, w.HBox([img_w, chart_w]), info_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"slice": slice_w, "row": row_w}  # type: ignore[attr-defined]
    return box


def resampling_explorer(image: Any, spacing: float = 2.0, row: int = 300, window: float | None = None,
                        level: float | None = None, width: int = 480) -> Any:
    """Target-spacing slider + interpolator -> the coronal plane at image row ``row`` of the volume
    resampled to isotropic voxels, drawn pixel for pixel enlarged to ``width`` px, with the new
    volume size and memory. Only that plane is resampled at each update (from a thin slab, see
    :func:`coronal_plane_resampled`), never the whole volume."""
    import ipywidgets as w

    img, _ = _image_and_boxes(image)
    if not 0 <= row < img.GetSize()[1]:
        raise ValueError(f"row must be in 0..{img.GetSize()[1] - 1}, got {row}")
    if window is None or level is None:
        window, level = PRESETS["lung"]
    lo, hi = window_range(window, level)
    stats = sitk.MinimumMaximumImageFilter()
    stats.Execute(img)
    default = stats.GetMinimum()
    y_mm = row * img.GetSpacing()[1]
    spacing_w = _slider(w, "FloatSlider", "Spacing (mm)", value=spacing, min=0.65, max=10.0, step=0.05,
                        readout_format=".2f")
    interp_w = w.Dropdown(options=[("linear", "linear"), ("nearest neighbour", "nearest"), ("B-spline (cubic)",
                                                                                        "bspline")],
                          value="linear", description="Interpolator", style={"description_width": "120px"},
                          layout=w.Layout(width="380px"))
    img_w, info_w = _img(w, width), w.HTML()
    # the original grid, drawn with its physical aspect (rows 8 mm, columns 0.65 mm), for comparison
    arr = sitk.GetArrayViewFromImage(img)
    orig = to_uint8(np.array(arr[::-1, row, :]), lo, hi)
    sx, sz = img.GetSpacing()[0], img.GetSpacing()[2]
    orig_w = _img(w, width)
    orig_w.value = to_png(scale_nearest(orig, sz / sx))

    def render(_=None):
        d = compute_resampled_coronal(img, spacing_w.value, y_mm, interp_w.value, default)
        if not d["valid"]:
            info_w.value = f"<b style='color:#b00'>{d['message']}</b>"
            return
        grey = to_uint8(d["plane"], lo, hi)
        f = width / grey.shape[1]
        img_w.value = to_png(scale_nearest(grey, f, f))
        nx, ny, nz = d["new_size"]
        ox, oy, oz = d["old_size"]
        info_w.value = (
            f"<table style='font-family:monospace;font-size:13px'>"
            f"<tr><td></td><td>size (x, y, z)</td><td>voxels</td><td>memory (int16)</td></tr>"
            f"<tr><td>original</td><td>{ox} × {oy} × {oz}</td><td>{ox * oy * oz:,}</td>"
            f"<td>{d['old_memory_mb']:.1f} MB</td></tr>"
            f"<tr><td>{d['spacing']:.2f} mm iso</td><td>{nx} × {ny} × {nz}</td><td>{d['voxels']:,}</td>"
            f"<td>{d['memory_mb']:.1f} MB ({d['memory_mb'] / d['old_memory_mb']:.2f}×)</td></tr></table>"
            f"<small>Shown: coronal row {d['row_j']} of the resampled grid ({d['plane_y_mm']:.1f} mm from the "
            f"origin along y), {nx} × {nz} pixels drawn {f:.1f}× enlarged. Only this plane is resampled at each move "
            "(from a slab of 17 input rows around it); the full volume is never built here.</small>")

    spacing_w.observe(render, names="value")
    interp_w.observe(render, names="value")
    render()
    box = w.VBox([spacing_w, interp_w, w.HBox([
        w.VBox([w.HTML("<b>resampled, isotropic</b>"), img_w]),
        w.VBox([w.HTML(f"<b>original grid ({sz:g} mm rows), stretched to its true aspect</b>"), orig_w])]),
        info_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"spacing": spacing_w, "interpolator": interp_w}  # type: ignore[attr-defined]
    return box
