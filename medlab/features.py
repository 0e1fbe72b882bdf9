"""Hand-crafted image features: first-order statistics, GLCM texture, wavelets and shape.

A *feature* is a number computed from an image (or a region of it) by a fixed recipe:
its mean brightness, how rough its texture is, how round a segmented region is. A
classical classifier (see :mod:`medlab.classical`) is trained on a table of such numbers
instead of on the pixels.

What is taught here is hand-written and checked against a reference library:

* :func:`glcm` -- the grey-level co-occurrence matrix, same layout and values as
  ``skimage.feature.graycomatrix`` (counted with ``np.bincount`` over shifted pixel pairs);
* :func:`glcm_features` -- Haralick/IBSI texture features; the ones that
  ``skimage.feature.graycoprops`` also has agree with it;
* :func:`haar2d` -- one level of the 2-D Haar wavelet transform, equal to
  ``pywt.dwt2(image, "haar")``.

Library work is left to libraries: multi-level wavelets (PyWavelets), shape statistics
(SimpleITK ``LabelShapeStatisticsImageFilter``), percentiles/moments (numpy).

Grey levels are numbered ``0 .. levels-1`` as in scikit-image. IBSI and pyradiomics
number them ``1 .. levels``: the features that depend on the absolute level
(``joint_average``, ``sum_average``, ``autocorrelation``) are therefore shifted, all other
features are identical. Entropies use the natural logarithm by default (as scikit-image);
pass ``log_base=2`` for the IBSI/pyradiomics convention (bits). ``energy`` is scikit-image's
``sqrt(ASM)``; what IBSI calls the angular second moment and pyradiomics ``JointEnergy`` is
``sum p^2``, our ``ASM``.

>>> img = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 2, 2, 2], [2, 2, 3, 3]], np.uint8)
>>> P = glcm(img, distances=[1], angles=[0], levels=4)
>>> P[:, :, 0, 0].tolist()
[[2, 2, 1, 0], [0, 2, 0, 0], [0, 0, 3, 1], [0, 0, 0, 1]]
>>> round(float(glcm_features(P)["contrast"][0, 0]), 4)
0.5833
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "quantize", "glcm", "glcm_features", "GLCM_FEATURES", "first_order", "FIRST_ORDER_FEATURES",
    "shape_features", "haar2d", "wavelet_energies", "image_features", "extract_features",
    "feature_matrix", "DEFAULT_ANGLES", "glcm_offset", "glcm_pairs", "wavelet_coefficients", "parenchyma_box",
    "lung_slice_mask",
]

#: The four standard GLCM directions (0°, 45°, 90°, 135°) in radians.
DEFAULT_ANGLES: tuple[float, ...] = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)

#: Names returned by :func:`glcm_features`, in order.
GLCM_FEATURES: tuple[str, ...] = (
    "contrast", "dissimilarity", "homogeneity", "inverse_difference", "idn", "idmn", "inverse_variance",
    "ASM", "energy", "max_probability", "entropy", "correlation", "joint_average", "joint_variance",
    "autocorrelation", "cluster_tendency", "cluster_shade", "cluster_prominence",
    "sum_average", "sum_variance", "sum_entropy",
    "difference_average", "difference_variance", "difference_entropy", "imc1", "imc2",
)

#: Names returned by :func:`first_order` with the default percentiles, in order.
FIRST_ORDER_FEATURES: tuple[str, ...] = (
    "mean", "std", "skewness", "kurtosis", "min", "max", "range", "p10", "p25", "p50", "p75", "p90",
    "iqr", "mad", "rms", "entropy", "uniformity",
)


# ----------------------------------------------------------------------------- validation
#: Largest number of grey levels of a GLCM: the matrix has ``levels**2`` cells per offset and the feature
#: weights 7 x ``levels**2`` floats (1024 levels: 8 MiB per offset, 58 MiB of weights).
MAX_GLCM_LEVELS = 1024
#: Largest number of GLCM cells (images x offsets x levels**2) held at once: 2**24 int64 = 128 MiB, plus a
#: float copy of the same size while the features are computed.
MAX_GLCM_CELLS = 2 ** 24
#: Largest number of (distance, angle) offsets of one GLCM call.
MAX_OFFSETS = 1024


def _check_levels(levels, name: str = "levels", high: int = 65536) -> int:
    if isinstance(levels, (bool, np.bool_)) or not isinstance(levels, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 2, got {type(levels).__name__} {levels!r}")
    if levels < 2:
        raise ValueError(f"{name} must be an int >= 2 (at least two grey levels), got {levels}")
    if levels > high:
        why = ("a GLCM has levels**2 cells per offset; texture is usually measured with 8-256 levels"
               if high == MAX_GLCM_LEVELS else "histogram bins / uint16 grey levels")
        raise ValueError(f"{name} must be <= {high} ({why}), got {levels}")
    return int(levels)


def _check_glcm_cells(n_images: int, n_offsets: int, levels: int) -> None:
    """Refuse a GLCM computation that would hold more than :data:`MAX_GLCM_CELLS` counts at once."""
    from ._validate import check_limit

    check_limit(float(n_images) * n_offsets * levels * levels, MAX_GLCM_CELLS, "GLCM cells (images x "
                f"offsets x levels**2 = {n_images} x {n_offsets} x {levels}**2)",
                "use fewer grey levels (16-64 is typical), fewer distances/angles or a smaller chunk_size")


def _check_has_pairs(counts: np.ndarray, offs, where: str = "the image") -> None:
    """counts (K, L, L): every offset must have counted at least one pixel pair, else its features are
    meaningless (an all-zero matrix would give 'contrast 0, correlation 1')."""
    per = counts.reshape(counts.shape[0], -1).sum(1)
    if np.any(per == 0):
        k = int(np.argmax(per == 0))
        raise ValueError(f"no pixel pair at offset (d_row, d_col) = {offs[k]} lies inside {where}: the GLCM would "
                         "be all zeros and its features meaningless. Use a shorter distance (smaller than the "
                         "image/region size) or a larger region")


def _check_flag(value, name: str) -> bool:
    from ._validate import check_bool

    return check_bool(value, name)


def _as_image(image, name: str = "image", ndim: int = 2) -> np.ndarray:
    if isinstance(image, (str, bytes)) or image is None:
        raise TypeError(f"{name} must be a numeric array, got {type(image).__name__}")
    a = np.asarray(image)
    if a.dtype == bool:
        a = a.astype(np.uint8)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {a.shape}")
    if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values; fill or mask them first")
    return a


def _as_mask(mask, shape: tuple[int, ...], name: str = "mask") -> np.ndarray:
    if isinstance(mask, (str, bytes, dict)):
        raise TypeError(f"{name} must be a boolean array (or 0/1 numbers) of the image's shape, got "
                        f"{type(mask).__name__}")
    m = np.asarray(mask)
    if m.dtype == object:
        raise TypeError(f"{name} must be a boolean array (or 0/1 numbers), got an object array")
    if m.shape != tuple(shape):
        raise ValueError(f"{name} shape {m.shape} differs from image shape {tuple(shape)}")
    if not (m.dtype == bool or np.issubdtype(m.dtype, np.integer)):
        if not np.issubdtype(m.dtype, np.floating):
            raise TypeError(f"{name} must be boolean or 0/1 numbers, got dtype {m.dtype}")
        if not np.all((m == 0) | (m == 1)):
            raise ValueError(f"{name} must contain only 0 and 1 (or True/False), got other values")
    m = m.astype(bool)
    if not m.any():
        raise ValueError(f"{name} is empty (no foreground pixel): there is no region to describe")
    return m


def _round_half_away(x: float) -> int:
    # C's round(): what scikit-image's Cython loop uses for the pixel offset
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def _offsets(distances, angles) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    for nm, v in (("distances", distances), ("angles", angles)):
        if v is None or isinstance(v, (str, bytes, dict)):
            raise TypeError(f"{nm} must be a number or a list of numbers, got {type(v).__name__} {v!r}")
    try:
        d = np.atleast_1d(np.asarray(distances))
        a = np.atleast_1d(np.asarray(angles))
    except (TypeError, ValueError):
        raise TypeError(f"distances and angles must be lists of numbers, got {distances!r}, {angles!r}") from None
    for nm, v, orig in (("distances", d, distances), ("angles", a, angles)):
        if v.dtype == bool or not (np.issubdtype(v.dtype, np.integer) or np.issubdtype(v.dtype, np.floating)):
            raise TypeError(f"{nm} must be a list of real numbers, got {orig!r}")
    a = a.astype(np.float64)
    if d.size * a.size > MAX_OFFSETS:
        raise ValueError(f"distances x angles gives {d.size * a.size} offsets; at most {MAX_OFFSETS} are allowed "
                         "(each offset is one GLCM); 1-3 distances and the 4 standard angles are usual")
    if d.ndim != 1 or d.size == 0:
        raise ValueError(f"distances must be a non-empty 1-D list of pixel distances, got {distances!r}")
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"angles must be a non-empty 1-D list of angles in radians, got {angles!r}")
    if not np.issubdtype(d.dtype, np.number) or not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise ValueError(f"distances must be positive pixel distances, got {distances!r}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"angles must be finite (radians), got {angles!r}")
    if np.any(a < 0) or np.any(a > 2 * math.pi + 1e-9):
        raise ValueError(f"angles must be in radians in [0, 2*pi], got {angles!r}; for degrees use "
                         f"np.deg2rad(...), e.g. 45 degrees = np.pi / 4")
    if np.any(d > 2 ** 30):
        raise ValueError(f"distances must be <= 2**30 pixels (and smaller than the image), got {distances!r}")
    offs = [(_round_half_away(math.sin(t) * float(dist)), _round_half_away(math.cos(t) * float(dist)))
            for dist in d for t in a]
    if (0, 0) in offs:
        raise ValueError(f"distances {distances!r} round to a zero pixel offset (a pixel paired with itself); "
                         "use distances >= 1 pixel")
    return d, a, offs


# ----------------------------------------------------------------------------- quantisation
def quantize(image, levels: int, vmin: float | None = None, vmax: float | None = None,
             mask=None) -> np.ndarray:
    """Bin grey values into ``levels`` equal-width bins numbered ``0 .. levels-1``.

    ``bin = floor((x - vmin) / (vmax - vmin) * levels)``, clipped to ``[0, levels-1]``, so
    ``vmin`` falls in bin 0 and ``vmax`` in the last bin. ``vmin``/``vmax`` default to the
    image's (or the masked region's) minimum and maximum ("fixed bin number" in IBSI);
    give them explicitly (e.g. an HU range) to compare textures between images on the same
    scale ("fixed bin width"). A constant image maps to bin 0.

    Returns ``uint8`` for ``levels <= 256``, else ``uint16``.

    >>> quantize(np.array([[0.0, 0.5], [0.99, 1.0]]), levels=4).tolist()
    [[0, 2], [3, 3]]
    >>> quantize(np.array([-1000, -500, 0, 400]), levels=4, vmin=-1000, vmax=400).tolist()
    [0, 1, 2, 3]
    """
    levels = _check_levels(levels)
    if isinstance(image, (str, bytes)) or image is None:
        raise TypeError(f"image must be a numeric array, got {type(image).__name__}")
    a = np.asarray(image)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating) or a.dtype == bool):
        raise TypeError(f"image must be a numeric array, got dtype {a.dtype}")
    if a.size == 0 or a.ndim == 0:
        raise ValueError(f"image must be a non-empty array (not a single number), got shape {a.shape}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("image contains NaN or infinite values; fill or mask them first")
    region = a if mask is None else a[_as_mask(mask, a.shape)]
    _check_range(vmin, vmax)
    lo = float(region.min()) if vmin is None else float(vmin)
    hi = float(region.max()) if vmax is None else float(vmax)
    if hi < lo:
        raise ValueError(f"vmax must be greater than vmin, got vmin={lo:g}, vmax={hi:g}")
    out_dtype = np.uint8 if levels <= 256 else np.uint16
    if hi <= lo:  # constant region
        return np.zeros(a.shape, dtype=out_dtype)
    q = np.floor((a - lo) / (hi - lo) * levels)  # same expression as _quantize_batch
    np.clip(q, 0, levels - 1, out=q)
    return q.astype(out_dtype)


def _check_range(vmin, vmax) -> None:
    """``vmin``/``vmax``: None or finite real numbers, and ``vmax > vmin`` when both are given."""
    for name, v in (("vmin", vmin), ("vmax", vmax)):
        if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)):
            raise TypeError(f"{name} must be a number or None, got {type(v).__name__}")
    if any(v is not None and not np.isfinite(v) for v in (vmin, vmax)):
        raise ValueError(f"vmin and vmax must be finite, got vmin={vmin}, vmax={vmax}")
    if vmin is not None and vmax is not None and float(vmax) <= float(vmin):
        raise ValueError(f"vmax must be greater than vmin, got vmin={float(vmin):g}, vmax={float(vmax):g}")


def _check_log_base(log_base) -> None:
    if isinstance(log_base, (bool, np.bool_)) or not isinstance(log_base, numbers.Real):
        raise TypeError(f"log_base must be a number (math.e or 2), got {type(log_base).__name__} {log_base!r}")
    if not (math.isfinite(log_base) and log_base > 0 and log_base != 1):
        raise ValueError(f"log_base must be a finite positive number other than 1 (math.e or 2), got {log_base!r}")


def _quantize_batch(x: np.ndarray, levels: int, vmin, vmax) -> np.ndarray:
    """Quantise (N, H, W) images; ``None`` limits are per image."""
    xf = x.astype(np.float64)
    n = x.shape[0]
    lo = xf.reshape(n, -1).min(1) if vmin is None else np.full(n, float(vmin))
    hi = xf.reshape(n, -1).max(1) if vmax is None else np.full(n, float(vmax))
    span = hi - lo
    if (span < 0).any():  # only one limit given and an image lies entirely beyond it
        k = int(np.argmax(span < 0))
        raise ValueError(f"image {k}: vmax must be greater than vmin, got vmin={lo[k]:g}, vmax={hi[k]:g}")
    safe = np.where(span > 0, span, 1.0)[:, None, None]
    q = np.floor((xf - lo[:, None, None]) / safe * levels)
    q[span <= 0] = 0                                   # constant image -> bin 0
    np.clip(q, 0, levels - 1, out=q)
    return q.astype(np.uint8 if levels <= 256 else np.uint16)


# ----------------------------------------------------------------------------- GLCM
def _pair_counts(q: np.ndarray, offsets: Sequence[tuple[int, int]], levels: int,
                 mask: np.ndarray | None = None) -> np.ndarray:
    """Co-occurrence counts for a batch ``q`` (N, H, W) -> int64 (N, K, L, L), K = len(offsets).

    For each offset (dr, dc) the pairs are (q[r, c], q[r + dr, c + dc]) with both pixels
    inside the image (and inside ``mask``); the pair index ``(n*L + i)*L + j`` is counted
    with one ``np.bincount``.
    """
    n, h, w = q.shape
    L = levels
    out = np.zeros((n, len(offsets), L, L), dtype=np.int64)
    base = (np.arange(n, dtype=np.int64) * (L * L))[:, None, None]
    for k, (dr, dc) in enumerate(offsets):
        r0, r1 = max(0, -dr), min(h, h - dr)
        c0, c1 = max(0, -dc), min(w, w - dc)
        if r0 >= r1 or c0 >= c1:
            continue
        i = q[:, r0:r1, c0:c1].astype(np.int64)
        j = q[:, r0 + dr:r1 + dr, c0 + dc:c1 + dc]
        idx = base + i * L + j
        if mask is not None:
            valid = mask[:, r0:r1, c0:c1] & mask[:, r0 + dr:r1 + dr, c0 + dc:c1 + dc]
            idx = idx[valid]
        out[:, k] = np.bincount(idx.ravel(), minlength=n * L * L).reshape(n, L, L)
    return out


def glcm(image, distances: Iterable[float], angles: Iterable[float], levels: int = 256,
         symmetric: bool = False, normed: bool = False, mask=None) -> np.ndarray:
    """Grey-level co-occurrence matrix ``P[i, j, d, a]``, as ``skimage.feature.graycomatrix``.

    ``P[i, j, d, a]`` counts the pixel pairs with grey level ``i`` at ``(r, c)`` and ``j`` at
    ``(r + dr, c + dc)``, where ``dr = round(sin(angle) * distance)`` and
    ``dc = round(cos(angle) * distance)`` (angle 0 = right neighbour, pi/2 = the pixel one
    row down in array coordinates). ``symmetric=True`` adds the transpose (counts each pair
    both ways); ``normed=True`` divides each ``P[:, :, d, a]`` by its sum.
    With ``mask``, only pairs whose two pixels are both inside the mask are counted.
    An offset that leaves no pair (distance >= the image or region size, a one-pixel mask) raises a
    ValueError instead of returning an all-zero matrix; ``levels`` is at most :data:`MAX_GLCM_LEVELS`.

    Parameters: ``image`` 2-D integer array with values in ``[0, levels-1]`` (use
    :func:`quantize` first for CT/float images); ``distances`` in pixels; ``angles`` in
    radians. Returns uint32 counts, or float64 when ``normed``.

    >>> img = np.array([[0, 1], [1, 1]], np.uint8)
    >>> glcm(img, [1], [0], levels=2)[:, :, 0, 0].tolist()
    [[0, 1], [0, 1]]
    """
    a = _as_image(image)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"image must be an integer array of grey levels, got dtype {a.dtype}; "
                        f"bin it first with quantize(image, levels)")
    levels = _check_levels(levels, high=MAX_GLCM_LEVELS)
    symmetric, normed = _check_flag(symmetric, "symmetric"), _check_flag(normed, "normed")
    if a.min() < 0:
        raise ValueError(f"image must not contain negative grey levels, got minimum {a.min()}")
    if a.max() >= levels:
        raise ValueError(f"image values must be < levels={levels}, got maximum {a.max()}; "
                         f"increase levels or use quantize(image, levels)")
    d, ang, offs = _offsets(distances, angles)
    _check_glcm_cells(1, len(offs), levels)
    m = None if mask is None else _as_mask(mask, a.shape)[None]
    counts = _pair_counts(a[None], offs, levels, m)[0]          # (K, L, L)
    _check_has_pairs(counts, offs, "the image" if m is None else "the mask")
    P = counts.reshape(d.size, ang.size, levels, levels).transpose(2, 3, 0, 1)
    if symmetric:
        P = P + P.transpose(1, 0, 2, 3)
    if normed:
        P = P.astype(np.float64)
        sums = P.sum(axis=(0, 1), keepdims=True)
        sums[sums == 0] = 1
        return P / sums
    return np.ascontiguousarray(P.astype(np.uint32))


def glcm_offset(distance: float, angle: float) -> tuple[int, int]:
    """The pixel offset ``(d_row, d_col)`` of the GLCM neighbour at ``distance`` pixels and ``angle`` radians.

    ``d_row = round(sin(angle) * distance)``, ``d_col = round(cos(angle) * distance)`` (rounded half away
    from zero, as scikit-image), the offset :func:`glcm` and :func:`glcm_pairs` use. Used in 05 §2-3.

    >>> glcm_offset(1, 0), glcm_offset(1, np.pi / 4), glcm_offset(2, 3 * np.pi / 4)
    ((0, 1), (1, 1), (1, -1))
    """
    return _offsets([distance], [angle])[2][0]


def glcm_pairs(patch, distance: int = 1, angle_deg: float = 0, levels: int = 4,
               symmetric: bool = False) -> dict[str, np.ndarray | tuple[int, int]]:
    """The GLCM counted by pairs: every pixel pair :func:`glcm` counts, in scan order, and the counts.

    ``patch``: 2-D integer grey levels in ``0 .. levels-1``; ``angle_deg`` in degrees (0 = right
    neighbour, 90 = the pixel below). Returns ``{"offset": (d_row, d_col), "pairs": int (n, 4) array of
    (row, col, row2, col2), "counts": (levels, levels) int64}``; ``counts`` equals
    ``glcm(patch, [distance], [radians(angle_deg)], levels, symmetric)[:, :, 0, 0]`` (``P + P.T`` when
    ``symmetric``). A distance that leaves no pair inside the patch gives ``n = 0`` pairs and zero counts
    (at most ``patch.size`` pairs, whatever the distance).
    Bad arguments raise (TypeError for a wrong type, ValueError for a bad value). Used in 05 §2.

    >>> r = glcm_pairs(np.array([[0, 1], [1, 1]], np.uint8), 1, 0, levels=2)
    >>> r["offset"], r["pairs"].tolist(), r["counts"].tolist()
    ((0, 1), [[0, 0, 0, 1], [1, 0, 1, 1]], [[0, 1], [0, 1]])
    """
    from ._validate import check_array, check_bool, check_float, check_int

    p = check_array(patch, "patch", ndim=2, max_size=2**20)
    if not np.issubdtype(p.dtype, np.integer):
        raise TypeError(f"patch must be a 2-D array of integer grey levels, got dtype {p.dtype}; "
                        "bin it first with quantize(image, levels)")
    levels = _check_levels(levels, high=MAX_GLCM_LEVELS)
    if p.min() < 0 or p.max() >= levels:
        raise ValueError(f"patch grey levels must lie in 0..{levels - 1}, got {p.min()}..{p.max()}")
    distance = check_int(distance, "distance", low=1, high=2**30, why_high="pixels")
    angle_deg = check_float(angle_deg, "angle_deg", 0, 360)
    symmetric = check_bool(symmetric, "symmetric")
    dr, dc = glcm_offset(distance, math.radians(angle_deg))
    h, w = p.shape
    r, c = np.mgrid[:h, :w]
    r, c = r.ravel(), c.ravel()
    keep = (r + dr >= 0) & (r + dr < h) & (c + dc >= 0) & (c + dc < w)
    pairs = np.column_stack([r[keep], c[keep], r[keep] + dr, c[keep] + dc]).astype(np.int64)
    counts = np.zeros((levels, levels), dtype=np.int64)
    np.add.at(counts, (p[pairs[:, 0], pairs[:, 1]], p[pairs[:, 2], pairs[:, 3]]), 1)
    if symmetric:
        counts = counts + counts.T
    return {"offset": (dr, dc), "pairs": pairs, "counts": counts}


# ----------------------------------------------------------------------------- GLCM features
_MATS: dict[int, dict[str, np.ndarray]] = {}


def _glcm_mats(L: int) -> dict[str, np.ndarray]:
    """Weight matrices (flattened over i, j) reused for every GLCM with L levels."""
    if L in _MATS:
        return _MATS[L]
    i, j = np.meshgrid(np.arange(L, dtype=np.float64), np.arange(L, dtype=np.float64), indexing="ij")
    diff = i - j
    s = (i + j).astype(np.intp).ravel()          # k of p_{x+y} for each (i, j)
    k = np.abs(diff).astype(np.intp).ravel()     # k of p_{x-y}
    W = np.stack([
        (diff ** 2).ravel(),                     # contrast
        np.abs(diff).ravel(),                    # dissimilarity
        (1.0 / (1.0 + diff ** 2)).ravel(),       # homogeneity (IDM)
        (1.0 / (1.0 + np.abs(diff))).ravel(),    # inverse difference
        (1.0 / (1.0 + np.abs(diff) / L)).ravel(),        # IDN
        (1.0 / (1.0 + diff ** 2 / L ** 2)).ravel(),      # IDMN
        (i * j).ravel(),                         # autocorrelation
    ])
    mats = {"W": W, "plus": s, "minus": k, "i": i.ravel(), "j": j.ravel(),
            "lv": np.arange(L, dtype=np.float64)}
    if L <= 256:          # cache the small ones only (a 1024-level set is 58 MiB)
        _MATS[L] = mats
    return mats


def _sum_by_index(p: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """``out[k, m] = sum of p[r, m] over rows r with index[r] == k`` with one weighted
    ``np.bincount`` (O(L^2 M) memory, no dense (n, L^2) indicator matrix)."""
    M = p.shape[1]
    idx = index[:, None] * M + np.arange(M)
    return np.bincount(idx.ravel(), weights=p.ravel(), minlength=n * M).reshape(n, M)


def _xlogx(p: np.ndarray) -> np.ndarray:
    out = np.zeros_like(p)
    np.multiply(p, np.log(p, where=p > 0, out=np.zeros_like(p)), out=out, where=p > 0)
    return out


def _glcm_features_flat(P: np.ndarray, log_base: float = math.e) -> dict[str, np.ndarray]:
    """Features of GLCMs ``P`` shaped (L, L, M) -> dict of (M,) arrays (P normalised here)."""
    L = P.shape[0]
    M = P.shape[2]
    p = P.reshape(L * L, M).astype(np.float64)
    sums = p.sum(0)
    if np.any(sums == 0):
        raise ValueError(f"GLCM {int(np.argmax(sums == 0))} is all zeros (no pixel pair was counted): its "
                         "features are undefined. Use a shorter distance or a larger image/region")
    p = p / sums
    mats = _glcm_mats(L)
    lnb = math.log(log_base)
    lv = mats["lv"][:, None]
    w = mats["W"] @ p                                    # (7, M)
    p3 = p.reshape(L, L, M)
    px, py = p3.sum(1), p3.sum(0)                        # (L, M)
    mux, muy = (lv * px).sum(0), (lv * py).sum(0)
    varx, vary = ((lv - mux) ** 2 * px).sum(0), ((lv - muy) ** 2 * py).sum(0)
    sx, sy = np.sqrt(varx), np.sqrt(vary)
    cov = w[6] - mux * muy
    degenerate = (sx < 1e-15) | (sy < 1e-15)
    corr = np.where(degenerate, 1.0, cov / np.where(degenerate, 1.0, sx * sy))
    asm = (p * p).sum(0)
    hxy = -_xlogx(p).sum(0) / lnb
    hx, hy = -_xlogx(px).sum(0) / lnb, -_xlogx(py).sum(0) / lnb
    pplus = _sum_by_index(p, mats["plus"], 2 * L - 1)    # (2L-1, M), k = i + j
    pminus = _sum_by_index(p, mats["minus"], L)          # (L, M), k = |i - j|
    kp = np.arange(2 * L - 1, dtype=np.float64)[:, None]
    km = np.arange(L, dtype=np.float64)[:, None]
    centred = kp - (mux + muy)
    sum_avg = (kp * pplus).sum(0)
    diff_avg = (km * pminus).sum(0)
    inv_var = (pminus[1:] / km[1:] ** 2).sum(0)
    mi = np.maximum(hx + hy - hxy, 0.0)                 # mutual information = HXY1 - HXY = HXY2 - HXY
    hmax = np.maximum(hx, hy)
    imc1 = np.where(hmax > 0, -mi / np.where(hmax > 0, hmax, 1.0), 0.0)
    imc2 = np.sqrt(np.clip(1.0 - np.exp(-2.0 * mi), 0.0, 1.0))
    return {
        "contrast": w[0], "dissimilarity": w[1], "homogeneity": w[2], "inverse_difference": w[3],
        "idn": w[4], "idmn": w[5], "inverse_variance": inv_var,
        "ASM": asm, "energy": np.sqrt(asm), "max_probability": p.max(0), "entropy": hxy,
        "correlation": corr, "joint_average": mux, "joint_variance": varx, "autocorrelation": w[6],
        "cluster_tendency": (centred ** 2 * pplus).sum(0), "cluster_shade": (centred ** 3 * pplus).sum(0),
        "cluster_prominence": (centred ** 4 * pplus).sum(0),
        "sum_average": sum_avg, "sum_variance": ((kp - sum_avg) ** 2 * pplus).sum(0),
        "sum_entropy": -_xlogx(pplus).sum(0) / lnb,
        "difference_average": diff_avg, "difference_variance": ((km - diff_avg) ** 2 * pminus).sum(0),
        "difference_entropy": -_xlogx(pminus).sum(0) / lnb,
        "imc1": imc1, "imc2": imc2,
    }


def glcm_features(P, average: bool | str = False, log_base: float = math.e) -> dict[str, np.ndarray | float]:
    """Texture features of a GLCM ``P`` (L, L, n_distances, n_angles) or (L, L).

    Each ``P[:, :, d, a]`` is normalised to probabilities ``p(i, j)`` first (counts or
    already-normalised input give the same result). With marginals ``p_x(i) = sum_j p``,
    ``p_y(j)``, their means ``mu_x, mu_y`` and standard deviations ``sigma_x, sigma_y``,
    ``p_{x+y}(k) = sum_{i+j=k} p`` and ``p_{x-y}(k) = sum_{|i-j|=k} p``:

    ==================== =========================================================
    contrast             sum (i-j)^2 p                         (= skimage)
    dissimilarity        sum |i-j| p                           (= skimage)
    homogeneity          sum p / (1+(i-j)^2)  (IDM)            (= skimage)
    inverse_difference   sum p / (1+|i-j|)
    idn, idmn            as above with |i-j|/L and (i-j)^2/L^2
    inverse_variance     sum_{k>=1} p_{x-y}(k) / k^2
    ASM, energy          sum p^2, sqrt(ASM)                    (= skimage; IBSI/pyradiomics "energy" = ASM)
    max_probability      max p
    entropy              -sum p log p                          (= skimage, natural log)
    correlation          sum (i-mu_x)(j-mu_y) p / (sigma_x sigma_y); 1 if a sigma is 0 (= skimage)
    joint_average        mu_x = sum i p                        (= skimage "mean")
    joint_variance       sum (i-mu_x)^2 p                      (= skimage "variance")
    autocorrelation      sum i j p
    cluster_tendency     sum (i+j-mu_x-mu_y)^2 p; shade: ^3; prominence: ^4
    sum_average          sum k p_{x+y}(k); sum_variance, sum_entropy likewise
    difference_average   sum k p_{x-y}(k); difference_variance, difference_entropy likewise
    imc1                 (HXY - HXY1) / max(HX, HY)
    imc2                 sqrt(1 - exp(-2 (HXY2 - HXY)))
    ==================== =========================================================

    (HX, HY: entropies of the marginals; HXY = entropy; HXY1 = HXY2 = HX + HY.)

    ``average``: ``False`` -> arrays shaped (n_distances, n_angles); ``"angles"`` -> mean over
    angles, shape (n_distances,); ``True``/``"all"`` -> one float per feature (mean over
    distances and angles: rotation-invariant texture). ``log_base`` for the entropies
    (e by default, as scikit-image; 2 for IBSI/pyradiomics).

    >>> P = glcm(np.zeros((4, 4), np.uint8), [1], [0], levels=4)
    >>> f = glcm_features(P, average=True); f["contrast"], f["energy"]
    (0.0, 1.0)
    """
    if isinstance(P, (str, bytes)) or P is None:
        raise TypeError(f"P must be a numeric GLCM array, got {type(P).__name__}")
    A = np.asarray(P)
    if not (np.issubdtype(A.dtype, np.number) or A.dtype == bool):
        raise TypeError(f"P must be a numeric GLCM array, got dtype {A.dtype}")
    if A.ndim == 2:
        A = A[:, :, None, None]
    if A.ndim != 4:
        raise ValueError(f"P must be 4-D (levels, levels, n_distances, n_angles) or 2-D, got shape {A.shape}")
    if A.shape[0] != A.shape[1] or A.shape[0] < 2:
        raise ValueError(f"P must be square over its first two axes with >= 2 levels, got shape {A.shape}")
    if A.shape[2] == 0 or A.shape[3] == 0:
        raise ValueError(f"P must have at least one distance and one angle, got shape {A.shape}")
    if A.shape[0] > MAX_GLCM_LEVELS:
        raise ValueError(f"P has {A.shape[0]} grey levels; at most {MAX_GLCM_LEVELS} are allowed (the feature "
                         "weights need 7 x levels**2 floats); re-bin with fewer levels")
    if A.shape[2] * A.shape[3] > MAX_OFFSETS:
        raise ValueError(f"P has {A.shape[2] * A.shape[3]} matrices; at most {MAX_OFFSETS} are allowed")
    A = A.astype(np.float64)
    if not np.all(np.isfinite(A)) or np.any(A < 0):
        raise ValueError("P must contain finite, non-negative counts or probabilities (no NaN)")
    _check_log_base(log_base)
    if average not in (False, True, "angles", "all"):
        raise ValueError(f"average must be False, True, 'angles' or 'all', got {average!r}")
    L, _, nd, na = A.shape
    flat = _glcm_features_flat(A.reshape(L, L, nd * na), log_base=log_base)
    out: dict[str, np.ndarray | float] = {}
    for name in GLCM_FEATURES:
        v = flat[name].reshape(nd, na)
        if average == "angles":
            v = v.mean(axis=1)
        elif average is True or average == "all":
            v = float(v.mean())
        out[name] = v
    return out


# ----------------------------------------------------------------------------- first order
def _first_order_from_values(v: np.ndarray, q: np.ndarray, bins: int, percentiles, lnb: float) -> dict[str, float]:
    v = v.astype(np.float64)
    mean = v.mean()
    dev = v - mean
    var = float((dev ** 2).mean())
    std = math.sqrt(var)
    if std > 1e-12 * max(1.0, abs(mean)):
        skew = float((dev ** 3).mean() / var ** 1.5)
        kurt = float((dev ** 4).mean() / var ** 2 - 3.0)
    else:
        skew = kurt = 0.0
    pct = np.percentile(v, percentiles)
    hist = np.bincount(q.ravel(), minlength=bins).astype(np.float64) / q.size
    nz = hist[hist > 0]
    out = {"mean": float(mean), "std": std, "skewness": skew, "kurtosis": kurt,
           "min": float(v.min()), "max": float(v.max()), "range": float(v.max() - v.min())}
    for p_, val in zip(percentiles, pct):
        out[f"p{p_:g}"] = float(val)
    out["iqr"] = float(np.percentile(v, 75) - np.percentile(v, 25))
    out["mad"] = float(np.abs(dev).mean())
    out["rms"] = float(math.sqrt((v * v).mean()))
    out["entropy"] = float(-(nz * np.log(nz)).sum() / lnb)
    out["uniformity"] = float((hist * hist).sum())
    return out


def first_order(image, mask=None, bins: int = 32, vmin: float | None = None, vmax: float | None = None,
                percentiles: Sequence[float] = (10, 25, 50, 75, 90), log_base: float = math.e) -> dict[str, float]:
    """First-order (histogram) statistics of the pixels of ``image`` (inside ``mask``).

    mean, std (population, ``ddof=0``), skewness, kurtosis (*excess*: 0 for a Gaussian, as
    ``scipy.stats.kurtosis``; 0 and 0 for a constant region), min, max, range, percentiles
    ``p10 .. p90``, ``iqr`` (p75 - p25), ``mad`` (mean absolute deviation), ``rms``, and from the
    histogram of :func:`quantize` ``(image, bins, vmin, vmax)``: ``entropy`` ``-sum h log h``
    and ``uniformity`` ``sum h^2``. Units are those of the image (e.g. HU).

    >>> f = first_order(np.array([[0, 0], [10, 10]]))
    >>> f["mean"], f["std"], round(f["entropy"], 4), f["uniformity"]
    (5.0, 5.0, 0.6931, 0.5)
    """
    a = _as_image(image)
    bins = _check_levels(bins, "bins")
    if isinstance(percentiles, (str, bytes, dict)) or not hasattr(percentiles, "__len__"):
        raise TypeError(f"percentiles must be a list of numbers in [0, 100], got {percentiles!r}")
    pct = list(percentiles)
    if any(isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real) for p in pct):
        raise TypeError(f"percentiles must be a list of numbers in [0, 100], got {percentiles!r}")
    if not pct or len(pct) > 101 or any(not (0 <= p <= 100) for p in pct):
        raise ValueError(f"percentiles must be a non-empty list of at most 101 values in [0, 100], "
                         f"got {percentiles!r}")
    _check_log_base(log_base)
    m = None if mask is None else _as_mask(mask, a.shape)
    q = quantize(a, bins, vmin, vmax, mask=m)
    if m is not None:
        return _first_order_from_values(a[m], q[m], bins, pct, math.log(log_base))
    return _first_order_from_values(a.ravel(), q, bins, pct, math.log(log_base))


def _first_order_batch(x: np.ndarray, q: np.ndarray, bins: int, lnb: float) -> dict[str, np.ndarray]:
    """Vectorised :func:`first_order` over (N, H, W) without masks (default percentiles)."""
    n = x.shape[0]
    v = x.reshape(n, -1).astype(np.float64)
    mean = v.mean(1)
    dev = v - mean[:, None]
    d2 = dev * dev
    var = d2.mean(1)
    std = np.sqrt(var)
    ok = std > 1e-12 * np.maximum(1.0, np.abs(mean))
    safe = np.where(ok, var, 1.0)
    skew = np.where(ok, (d2 * dev).mean(1) / safe ** 1.5, 0.0)
    kurt = np.where(ok, (d2 * d2).mean(1) / safe ** 2 - 3.0, 0.0)
    pct = np.percentile(v, [10, 25, 50, 75, 90], axis=1)
    hist = np.bincount((np.arange(n)[:, None] * bins + q.reshape(n, -1)).ravel(),
                       minlength=n * bins).reshape(n, bins) / v.shape[1]
    vmin, vmax = v.min(1), v.max(1)
    return {"mean": mean, "std": std, "skewness": skew, "kurtosis": kurt, "min": vmin, "max": vmax,
            "range": vmax - vmin, "p10": pct[0], "p25": pct[1], "p50": pct[2], "p75": pct[3], "p90": pct[4],
            "iqr": pct[3] - pct[1], "mad": np.abs(dev).mean(1), "rms": np.sqrt((v * v).mean(1)),
            "entropy": -_xlogx(hist).sum(1) / lnb, "uniformity": (hist * hist).sum(1)}


# ----------------------------------------------------------------------------- shape
def _check_spacing(spacing, n: int) -> tuple[float, ...]:
    """``n`` finite positive pixel sizes in mm, SimpleITK order (x, y[, z])."""
    msg = f"spacing must be {n} positive sizes in mm (x, y[, z]), got {spacing!r}"
    if isinstance(spacing, (str, bytes)) or not isinstance(spacing, (tuple, list, np.ndarray)) \
            or np.ndim(spacing) != 1 or len(spacing) != n:
        raise ValueError(msg)
    if any(isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Real) for s in spacing):
        raise ValueError(msg)
    sp = tuple(float(s) for s in spacing)
    if not all(math.isfinite(s) and s > 0 for s in sp):
        raise ValueError(msg)
    return sp


def shape_features(mask, spacing: Sequence[float] | None = None, feret: bool | None = None) -> dict[str, float]:
    """Shape of the foreground of a 2-D or 3-D ``mask`` in physical units (SimpleITK).

    ``spacing`` is the pixel size in mm in SimpleITK order ``(x, y[, z])`` = (column, row
    [, slice]); default 1 mm. ``mask`` may be a numpy array (rows, cols) / (z, y, x) or a
    SimpleITK image (its own spacing is used). All non-zero voxels form one region.

    Returns ``size_mm`` (area in mm² for 2-D, volume in mm³ for 3-D), ``n_pixels``,
    ``perimeter_mm`` (perimeter in 2-D, surface area in 3-D), ``elongation`` (ratio of the
    two largest principal axes, ``sqrt(m_max / m_2nd)`` of the principal moments, >= 1),
    ``roundness`` (1 for a disc/ball), ``flatness`` (3-D only, ``sqrt(m_2nd / m_min)``, >= 1),
    ``equivalent_diameter_mm`` (diameter of the disc/ball with the same size) and
    ``feret_diameter_mm`` (largest distance between two boundary points). The Feret diameter
    compares all pairs of boundary voxels: instant in 2-D, minutes for a 3-D lung mask, so
    ``feret=None`` (default) computes it for 2-D masks only (``nan`` in 3-D); ``True``/``False``
    force it on/off; a 3-D Feret diameter is refused above :data:`MAX_FERET_VOXELS` foreground voxels.

    Degenerate regions: a region one pixel thin has a zero principal moment, and SimpleITK then reports
    elongation (or flatness) 0. Here the ratio is ``inf`` for a line (infinitely elongated at this pixel
    size) and 1 for a single pixel (no axis is longer than another), so the documented ``>= 1`` holds.
    For regions of a few pixels the perimeter estimate is coarse and ``roundness`` can exceed 1.

    >>> r, c = np.mgrid[:41, :41]
    >>> f = shape_features((r - 20) ** 2 + (c - 20) ** 2 <= 100, spacing=(0.5, 0.5))
    >>> round(f["equivalent_diameter_mm"], 1)
    10.0
    """
    import SimpleITK as sitk

    if feret is not None:
        feret = _check_flag(feret, "feret")
    if isinstance(mask, sitk.Image):
        img = sitk.Cast(mask != 0, sitk.sitkUInt8)
        if spacing is not None:
            img.SetSpacing(_check_spacing(spacing, img.GetDimension()))
        arr = sitk.GetArrayViewFromImage(img)
        if not arr.any():
            raise ValueError("mask is empty (no foreground pixel): there is no shape to describe")
    else:
        if mask is None or isinstance(mask, (str, bytes, dict)):
            raise TypeError(f"mask must be a boolean numpy array or a SimpleITK image, got {type(mask).__name__}")
        m = np.asarray(mask)
        if m.size > 2 ** 28:
            raise ValueError(f"mask has {m.size:,} voxels; at most {2 ** 28:,} are allowed (memory)")
        if m.ndim not in (2, 3):
            raise ValueError(f"mask must be 2-D or 3-D, got shape {m.shape}")
        m = _as_mask(m, m.shape)
        img = sitk.GetImageFromArray(m.astype(np.uint8))
        if spacing is not None:
            img.SetSpacing(_check_spacing(spacing, m.ndim))
    do_feret = (img.GetDimension() == 2) if feret is None else bool(feret)
    if do_feret and img.GetDimension() == 3:
        n_fg = int(np.count_nonzero(sitk.GetArrayViewFromImage(img)))
        if n_fg > MAX_FERET_VOXELS:
            raise ValueError(f"feret=True on a 3-D mask of {n_fg:,} voxels: the Feret diameter compares all pairs "
                             f"of boundary voxels (minutes to hours); the limit is {MAX_FERET_VOXELS:,} voxels. "
                             "Pass feret=False or measure it on a smaller (cropped/downsampled) mask")
    f = sitk.LabelShapeStatisticsImageFilter()
    f.SetComputePerimeter(True)
    f.SetComputeFeretDiameter(do_feret)
    f.Execute(img)
    size = f.GetPhysicalSize(1)
    eq_radius = f.GetEquivalentSphericalRadius(1)
    moments = sorted(float(v) for v in f.GetPrincipalMoments(1))     # ascending
    out = {
        "size_mm": float(size),
        "n_pixels": float(f.GetNumberOfPixels(1)),
        "perimeter_mm": float(f.GetPerimeter(1)),
        "elongation": _axis_ratio(moments[-1], moments[-2], f.GetElongation(1)),
        "roundness": float(f.GetRoundness(1)),
        "equivalent_diameter_mm": float(2 * eq_radius),
        "feret_diameter_mm": float(f.GetFeretDiameter(1)) if do_feret else float("nan"),
    }
    if img.GetDimension() == 3:
        out["flatness"] = _axis_ratio(moments[1], moments[0], f.GetFlatness(1))
    return out


#: Largest 3-D foreground (voxels) for which :func:`shape_features` computes a Feret diameter.
MAX_FERET_VOXELS = 200_000


def _axis_ratio(big: float, small: float, itk_value: float) -> float:
    """``sqrt(big / small)`` of two principal moments (SimpleITK's value when both are positive); ``inf``
    when only ``small`` is 0 (a line or plane), 1 when both are 0 (a single pixel)."""
    tol = 1e-12 * max(abs(big), 1e-300)
    if small > tol:
        return float(itk_value)
    return 1.0 if big <= 1e-300 else float("inf")


# ----------------------------------------------------------------------------- wavelets
def haar2d(image) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One level of the 2-D Haar wavelet transform, equal to ``pywt.dwt2(image, "haar")``.

    For each 2x2 block ``[[a, b], [c, d]]``:
    ``cA = (a+b+c+d)/2`` (approximation), ``cH = (a+b-c-d)/2`` (horizontal edges: top minus
    bottom), ``cV = (a-b+c-d)/2`` (vertical edges: left minus right), ``cD = (a-b-c+d)/2``
    (diagonal). An odd side is extended by repeating its last row/column (PyWavelets'
    default ``mode="symmetric"``). Works on (..., H, W) stacks.

    >>> cA, (cH, cV, cD) = haar2d(np.array([[1.0, 1.0], [3.0, 3.0]]))
    >>> cA.item(), cH.item(), cV.item(), cD.item()
    (4.0, -2.0, 0.0, 0.0)
    """
    if isinstance(image, (str, bytes)) or image is None:
        raise TypeError(f"image must be a numeric array, got {type(image).__name__}")
    x = np.asarray(image)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"image must be a real numeric array, got dtype {x.dtype}")
    if x.ndim < 2 or x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"image must be at least 2-D and non-empty, got shape {x.shape}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("image contains NaN or infinite values")
    if x.shape[-2] % 2:
        x = np.concatenate([x, x[..., -1:, :]], axis=-2)
    if x.shape[-1] % 2:
        x = np.concatenate([x, x[..., -1:]], axis=-1)
    a, b = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
    c, d = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
    return (a + b + c + d) / 2, ((a + b - c - d) / 2, (a - b + c - d) / 2, (a - b - c + d) / 2)


def _wavelet_energies_any(x: np.ndarray, wavelet: str, level: int, mode: str) -> dict[str, np.ndarray]:
    import pywt

    coeffs = pywt.wavedec2(x.astype(np.float64), wavelet, mode=mode, level=level, axes=(-2, -1))
    out = {f"wavelet_A{level}": (coeffs[0] ** 2).mean(axis=(-2, -1))}
    for k, bands in enumerate(coeffs[1:]):
        lev = level - k
        for name, c in zip("HVD", bands):
            out[f"wavelet_L{lev}_{name}"] = (c ** 2).mean(axis=(-2, -1))
    return dict(sorted(out.items()))


def _check_wavelet(wavelet, level, mode, shape) -> tuple[str, int, str]:
    import pywt

    if not isinstance(wavelet, str):
        raise TypeError(f"wavelet must be a PyWavelets name such as 'haar' or 'db2', got {type(wavelet).__name__}")
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise ValueError(f"wavelet must be a discrete PyWavelets name such as 'haar', 'db2', 'sym4', "
                         f"'coif1', 'bior2.2', got {wavelet!r}")
    if not isinstance(mode, str) or mode not in pywt.Modes.modes:
        raise ValueError(f"mode must be one of {pywt.Modes.modes}, got {mode!r}")
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, numbers.Integral):
        raise TypeError(f"level must be a positive int, got {type(level).__name__} {level!r}")
    if level < 1:
        raise ValueError(f"level must be a positive int, got {level!r}")
    max_level = pywt.dwt_max_level(min(shape[-2:]), pywt.Wavelet(wavelet).dec_len)
    if level > max(1, max_level):
        raise ValueError(f"level must be <= {max(1, max_level)} for a {shape[-2]}x{shape[-1]} image and "
                         f"wavelet {wavelet!r}, got {level}")
    return wavelet, int(level), mode


def wavelet_energies(image, wavelet: str = "haar", level: int = 2, mode: str = "symmetric") -> dict[str, float]:
    """Mean squared coefficient of every sub-band of ``pywt.wavedec2(image, wavelet, level)``.

    Keys ``wavelet_A{level}`` (approximation) and ``wavelet_L{k}_{H,V,D}`` for detail level
    ``k`` (1 = finest). The mean (not the sum) keeps energies comparable across image sizes.

    >>> e = wavelet_energies(np.ones((8, 8)), "haar", level=1)
    >>> round(e["wavelet_A1"], 6), round(e["wavelet_L1_H"], 6)
    (4.0, 0.0)
    """
    a = _as_image(image)
    wavelet, level, mode = _check_wavelet(wavelet, level, mode, a.shape)
    return {k: float(v) for k, v in _wavelet_energies_any(a, wavelet, level, mode).items()}


def wavelet_coefficients(image, wavelet: str = "haar", level: int = 2, mode: str = "symmetric") -> list:
    """``pywt.wavedec2(image, wavelet, mode, level)`` after checking the arguments (a float image keeps its
    dtype; integers become float64): ``[cA_level, (cH, cV, cD)_level, ..., (cH, cV, cD)_1]``.

    Too many levels for the image size raise a ValueError that says the largest possible level. Used in 05 §4.

    >>> cA, level2, level1 = wavelet_coefficients(np.ones((8, 8)), "haar", 2)
    >>> cA.shape, [c.shape for c in level2], [c.shape for c in level1]
    ((2, 2), [(2, 2), (2, 2), (2, 2)], [(4, 4), (4, 4), (4, 4)])
    """
    import pywt

    a = _as_image(image)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    wavelet, level, mode = _check_wavelet(wavelet, level, mode, a.shape)
    return pywt.wavedec2(a, wavelet, mode=mode, level=level)


# ----------------------------------------------------------------------------- extraction
def _bbox(m: np.ndarray) -> tuple[slice, slice]:
    rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def image_features(image, mask=None, levels: int = 16, distances: Sequence[float] = (1,),
                   angles: Sequence[float] = DEFAULT_ANGLES, vmin: float | None = None, vmax: float | None = None,
                   wavelet: str = "haar", wavelet_level: int = 2, spacing: Sequence[float] | None = None,
                   log_base: float = math.e) -> dict[str, float]:
    """All features of one 2-D image (or the region ``mask`` of it) as ``{name: float}``.

    ``fo_*`` first-order statistics (histogram with ``levels`` bins), ``glcm_*`` GLCM features
    averaged over ``distances`` and ``angles`` (symmetric GLCM of the image quantised to
    ``levels`` between ``vmin`` and ``vmax``; only pairs inside the mask), ``wavelet_*``
    sub-band energies of the mask's bounding box, and with a mask ``shape_*`` features
    (``spacing`` = (x, y) pixel size in mm).

    >>> f = image_features(np.arange(64).reshape(8, 8) % 7, levels=8)
    >>> round(f["fo_mean"], 3), "glcm_contrast" in f, "shape_size_mm" in f
    (2.953, True, False)
    """
    a = _as_image(image)
    levels = _check_levels(levels, high=MAX_GLCM_LEVELS)
    _check_log_base(log_base)
    _, _, offs = _offsets(distances, angles)
    _check_glcm_cells(1, len(offs), levels)
    m = None if mask is None else _as_mask(mask, a.shape)
    if spacing is not None:
        spacing = _check_spacing(spacing, 2)
    q = quantize(a, levels, vmin, vmax, mask=m)
    out = {f"fo_{k}": v for k, v in first_order(a, m, bins=levels, vmin=vmin, vmax=vmax,
                                                  log_base=log_base).items()}
    counts = _pair_counts(q[None], offs, levels, None if m is None else m[None])[0]   # (K, L, L)
    _check_has_pairs(counts, offs, "the image" if m is None else "the mask")
    sym = counts + counts.transpose(0, 2, 1)
    g = _glcm_features_flat(sym.transpose(1, 2, 0), log_base=log_base)
    out.update({f"glcm_{k}": float(v.mean()) for k, v in g.items()})
    crop = a if m is None else a[_bbox(m)]
    wavelet, wavelet_level, mode = _check_wavelet(wavelet, wavelet_level, "symmetric", crop.shape)
    out.update({k: float(v) for k, v in _wavelet_energies_any(crop, wavelet, wavelet_level, mode).items()})
    if m is not None:
        out.update({f"shape_{k}": v for k, v in shape_features(m, spacing).items()})
    return out


def extract_features(images, masks=None, levels: int = 16, distances: Sequence[float] = (1,),
                     angles: Sequence[float] = DEFAULT_ANGLES, vmin: float | None = None,
                     vmax: float | None = None, wavelet: str = "haar", wavelet_level: int = 2,
                     spacing: Sequence[float] | None = None, log_base: float = math.e,
                     chunk_size: int = 512, progress: bool = True) -> dict[str, np.ndarray]:
    """Feature table for many images: ``{feature name: float64 array (N,)}`` (no pandas needed).

    ``images``: an (N, H, W) array or a list of 2-D arrays (sizes may differ); ``masks``: the
    same shapes, boolean, or ``None`` for whole images. The features are those of
    :func:`image_features` (same parameters). Without masks, an (N, H, W) array is processed in
    vectorised chunks of ``chunk_size`` images (one ``np.bincount`` per GLCM offset per chunk),
    which gives the same numbers as the image-by-image path. ``progress`` shows a tqdm bar.

    >>> x = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    >>> table = extract_features(x, progress=False)
    >>> table["glcm_contrast"].shape, len(table) > 40
    ((5,), True)
    """
    from tqdm.auto import tqdm

    from ._validate import check_int

    levels = _check_levels(levels, high=MAX_GLCM_LEVELS)
    _check_range(vmin, vmax)
    _check_log_base(log_base)
    chunk_size = check_int(chunk_size, "chunk_size", low=1, high=1_000_000, why_high="images per chunk")
    progress = _check_flag(progress, "progress")
    if isinstance(images, (str, bytes, dict)) or images is None:
        raise TypeError(f"images must be an (N, H, W) array or a list of 2-D arrays, got {type(images).__name__}")
    if not hasattr(images, "__len__"):
        raise TypeError(f"images must be an (N, H, W) array or a list of 2-D arrays, got {type(images).__name__}")
    if masks is not None and (isinstance(masks, (str, bytes, dict)) or not hasattr(masks, "__len__")):
        raise TypeError(f"masks must be None or one boolean mask per image, got {type(masks).__name__}")
    _, _, offs = _offsets(distances, angles)
    _check_glcm_cells(1, len(offs), levels)
    if spacing is not None:
        spacing = _check_spacing(spacing, 2)
    batch = isinstance(images, np.ndarray) and images.ndim == 3 and masks is None
    if isinstance(images, np.ndarray) and images.ndim not in (2, 3):
        raise ValueError(f"images must be an (N, H, W) array or a list of 2-D arrays, got shape {images.shape}")
    if isinstance(images, np.ndarray) and images.ndim == 2:
        raise ValueError(f"images must be a stack (N, H, W); for one image use images[None] or "
                         f"image_features(), got shape {images.shape}")
    n = len(images)
    if n == 0:
        raise ValueError("images is empty: nothing to extract")
    if masks is not None and len(masks) != n:
        raise ValueError(f"masks must have one mask per image: got {len(masks)} masks for {n} images")

    cols: dict[str, list] = {}
    # leave=True: a bar that closes itself closes its widget, and a dashboard that renders the output later
    # (Voilà) then shows "Error displaying widget: model not found" in its place
    bar = tqdm(total=n, desc="features", unit="img", disable=not progress, leave=True)
    try:
        if batch:
            x = images
            if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating) or x.dtype == bool):
                raise TypeError(f"images must be numeric, got dtype {x.dtype}")
            if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
                raise ValueError("images contain NaN or infinite values; fill or mask them first")
            if x.shape[1] == 0 or x.shape[2] == 0:
                raise ValueError(f"images must not be empty, got shape {x.shape}")
            wavelet, wavelet_level, mode = _check_wavelet(wavelet, wavelet_level, "symmetric", x.shape)
            h, w = x.shape[1:]
            bad = [o for o in offs if abs(o[0]) >= h or abs(o[1]) >= w]
            if bad:
                raise ValueError(f"no pixel pair at offset (d_row, d_col) = {bad[0]} fits in a {h}x{w} image: the "
                                 "GLCM would be all zeros and its features meaningless. Use distances smaller "
                                 "than the image size")
            lnb = math.log(log_base)
            # memory: at most MAX_GLCM_CELLS counts and 2**24 float pixels per chunk, whatever chunk_size says
            step = max(1, min(chunk_size, MAX_GLCM_CELLS // (len(offs) * levels * levels), 2 ** 24 // (h * w)))
            for s in range(0, n, step):
                xc = x[s:s + step]
                q = _quantize_batch(xc, levels, vmin, vmax)
                part = {f"fo_{k}": v for k, v in _first_order_batch(xc, q, levels, lnb).items()}
                counts = _pair_counts(q, offs, levels)                      # (n, K, L, L)
                sym = counts + counts.transpose(0, 1, 3, 2)
                nc, K = sym.shape[:2]
                g = _glcm_features_flat(sym.reshape(nc * K, levels, levels).transpose(1, 2, 0), log_base)
                part.update({f"glcm_{k}": v.reshape(nc, K).mean(1) for k, v in g.items()})
                part.update(_wavelet_energies_any(xc, wavelet, wavelet_level, mode))
                for k, v in part.items():
                    cols.setdefault(k, []).append(np.asarray(v, dtype=np.float64))
                bar.update(len(xc))
        else:
            for idx in range(n):
                try:
                    f = image_features(images[idx], None if masks is None else masks[idx], levels=levels,
                                       distances=distances, angles=angles, vmin=vmin, vmax=vmax,
                                       wavelet=wavelet, wavelet_level=wavelet_level, spacing=spacing,
                                       log_base=log_base)
                except (ValueError, TypeError) as e:
                    raise type(e)(f"image {idx}: {e}") from e
                for k, v in f.items():
                    cols.setdefault(k, []).append(np.atleast_1d(np.float64(v)))
                bar.update(1)
    finally:
        bar.close()
    return {k: np.concatenate(v) for k, v in cols.items()}


def feature_matrix(table: dict[str, np.ndarray], names: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Stack a feature table into ``X`` (N, n_features) float64 and the list of column names.

    >>> X, names = feature_matrix({"a": np.zeros(3), "b": np.ones(3)})
    >>> X.shape, names
    ((3, 2), ['a', 'b'])
    """
    if not isinstance(table, dict):
        raise TypeError(f"table must be a dict {{feature name: array (N,)}} from extract_features, got "
                        f"{type(table).__name__}")
    if not table:
        raise ValueError("table must be a non-empty dict {feature name: array (N,)}")
    if names is not None and (isinstance(names, (str, bytes)) or not hasattr(names, "__iter__")):
        raise TypeError(f"names must be None or a list of feature names, got {names!r}")
    names = list(table) if names is None else list(names)
    if not names:
        raise ValueError("names must list at least one feature")
    missing = [k for k in names if k not in table]
    if missing:
        raise ValueError(f"names contains features not in table: {missing[:5]}")
    from ._validate import check_array

    cols = [check_array(table[k], f"table[{k!r}]", ndim=1, dtype=np.float64) for k in names]
    lengths = {len(c) for c in cols}
    if len(lengths) != 1:
        raise ValueError(f"all features in table must have the same length, got lengths {sorted(lengths)}")
    return np.column_stack(cols), names


# ----------------------------------------------------------------------------- regions to measure
def parenchyma_box(slice_hu, size: tuple[int, int], exclude: Sequence[int] | None = None,
                   lo: float = -950.0, hi: float = -600.0, stride: int = 4) -> tuple[int, int, int, int]:
    """A box of ``size`` (rows, cols) in aerated lung: the position with the largest fraction of
    pixels in ``[lo, hi]`` HU (normal lung parenchyma), not overlapping ``exclude``.

    Returns ``(row0, col0, row1, col1)`` inclusive. Found with an integral image (summed-area table)
    over all positions on a ``stride`` grid: the reference region a tumour's texture is compared with.
    The choice is biased by design (the cleanest, most aerated lung on the slice, not a matched or typical
    region): an illustration, not a control for a study. Used in 05 §1, §3.

    >>> s = np.full((64, 64), 0.0); s[30:50, 5:30] = -800
    >>> parenchyma_box(s, (10, 10), stride=1)
    (30, 5, 39, 14)
    """
    from ._validate import check_array, check_float, check_int

    a = check_array(slice_hu, "slice_hu", ndim=2, dtype=np.float64)
    if isinstance(size, (str, bytes)) or np.ndim(size) != 1 or len(size) != 2:
        raise TypeError(f"size must be (rows, cols), got {size!r}")
    h = check_int(size[0], "size[0] (rows)", low=1)
    w = check_int(size[1], "size[1] (cols)", low=1)
    if h > a.shape[0] or w > a.shape[1]:
        raise ValueError(f"size must fit inside the {a.shape} slice, got {tuple(size)}")
    lo, hi = check_float(lo, "lo"), check_float(hi, "hi")
    if lo > hi:
        raise ValueError(f"lo must be <= hi, got lo={lo:g}, hi={hi:g}")
    stride = check_int(stride, "stride", low=1)
    inside = ((a >= lo) & (a <= hi)).astype(np.float64)
    S = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    S[1:, 1:] = inside.cumsum(0).cumsum(1)
    rows = np.arange(0, a.shape[0] - h + 1, stride)
    cols = np.arange(0, a.shape[1] - w + 1, stride)
    R, C = np.meshgrid(rows, cols, indexing="ij")
    frac = (S[R + h, C + w] - S[R, C + w] - S[R + h, C] + S[R, C]) / (h * w)
    if exclude is not None:
        if isinstance(exclude, (str, bytes)) or np.ndim(exclude) != 1 or len(exclude) != 4:
            raise TypeError(f"exclude must be None or (row0, col0, row1, col1), got {exclude!r}")
        e0, f0, e1, f1 = (check_int(v, "exclude") for v in exclude)
        overlap = (R <= e1) & (R + h - 1 >= e0) & (C <= f1) & (C + w - 1 >= f0)
        frac[overlap] = -1
    k = np.unravel_index(int(np.argmax(frac)), frac.shape)
    r, c = int(R[k]), int(C[k])
    return (r, c, r + h - 1, c + w - 1)


def lung_slice_mask(hu_slice, threshold: float = -320.0, min_pixels: int = 500) -> np.ndarray:
    """A 2-D lung mask for one axial slice: the 2-D version of :func:`medlab.preprocess.lung_mask`.

    Air ``HU < threshold`` -> drop air regions touching the image border (outside the body) ->
    keep the (up to) two largest remaining components of at least ``min_pixels`` -> fill holes
    (vessels). Milliseconds on 512x512, so a widget can re-run it on every slider move: the mask whose
    shape features are measured. Returns a boolean array (all False when nothing qualifies). Used in 05 §5.

    >>> s = np.zeros((40, 40)); s[5:15, 5:15] = s[20:35, 20:35] = -800; s[0:3, :] = -1000
    >>> int(lung_slice_mask(s, -320, min_pixels=10).sum())
    325
    """
    from scipy import ndimage as ndi

    from ._validate import check_array, check_float, check_int

    a = check_array(hu_slice, "hu_slice", ndim=2)
    threshold = check_float(threshold, "threshold")
    min_pixels = check_int(min_pixels, "min_pixels", low=1)
    lab, n = ndi.label(a < threshold)
    if n == 0:
        return np.zeros(a.shape, dtype=bool)
    border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    sizes[0] = 0
    sizes[border] = 0
    keep = [k for k in np.argsort(sizes)[::-1][:2] if sizes[k] >= min_pixels]
    out = np.zeros(a.shape, dtype=bool)
    objs = ndi.find_objects(lab)
    for k in keep:
        sl = objs[k - 1]                         # fill holes inside the component's bounding box only
        out[sl] |= ndi.binary_fill_holes(lab[sl] == k)
    return out
