"""Image preprocessing: enhancement, denoising, segmentation and overlap metrics.

Three families, each taught with a small own implementation that is checked against a
reference library (tests and notebook ``04_preprocessing``):

* **Enhancement** - :func:`equalize_hist` maps every grey value through the image's own
  cumulative distribution function (CDF), ``out = CDF(value)``, which spreads the most
  frequent grey values apart (agrees with ``skimage.exposure.equalize_hist``).
  :func:`clahe` (scikit-image) does it in tiles with a clip limit; :func:`contrast_stretch`
  and :func:`gamma_correct` are point operations.
* **Denoising** - :func:`add_noise` (Gaussian, salt-and-pepper, Poisson on a projection) and
  :func:`ct_quantum_noise` (Poisson on CT projections, then filtered back-projection), then the median
  (non-linear: the *median* of the window instead of a weighted *sum*), Gaussian and
  curvature-flow filters of SimpleITK; :func:`psnr` and :func:`ssim` measure the result.
* **Segmentation** - :func:`threshold`, :func:`otsu_threshold` (maximises the between-class
  variance; agrees with scikit-image and SimpleITK), :func:`region_grow` (own queue / label
  implementation, identical to SimpleITK ``ConnectedThreshold``), :func:`confidence_connected`,
  morphology, :func:`lung_mask` for the chest CT with every intermediate step, and the overlap
  metrics :func:`dice`, :func:`iou`, :func:`hausdorff`.

Arrays are numpy in (z, y, x) / (row, col) order; seeds are index tuples in the same order.

>>> img = np.array([[0, 0, 10], [0, 10, 10], [10, 10, 10]])
>>> region_grow(img, seed=(2, 0), lower=5, upper=15).astype(int).tolist()
[[0, 0, 1], [0, 1, 1], [1, 1, 1]]
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import SimpleITK as sitk
from scipy import ndimage as ndi

from ._validate import check_finite_number, check_int, check_limit, check_not_rgb, check_seed

__all__ = [
    "histogram", "cdf", "equalize_hist", "clahe", "contrast_stretch", "gamma_correct",
    "add_noise", "median_filter", "gaussian_filter", "curvature_flow", "denoise", "psnr", "ssim",
    "NOISE_KINDS", "FILTER_KINDS",
    "threshold", "otsu_threshold", "between_class_variance", "region_grow", "connected_threshold_sitk",
    "confidence_connected", "binary_open", "binary_close", "fill_holes", "largest_components",
    "lung_mask", "LungSegmentation", "body_mask", "dice", "iou", "hausdorff", "box_seed",
    "grow_from_box", "TumourGrowth", "normalise", "crop_center", "region_size",
    "RegionSize", "surface_distances", "hd95", "assd", "ct_quantum_noise", "MAX_WORK",
]

#: Most elementary operations (pixels x window size x iterations) one filter call may cost: ~10-30 s on 2 cores.
MAX_WORK = 2e9

NOISE_KINDS = ("gaussian", "salt_pepper", "poisson")
FILTER_KINDS = ("none", "median", "gaussian", "curvature_flow")


# =============================================================================================
# input checks
# =============================================================================================
def _array(image, name: str = "image", ndims: Sequence[int] = (2, 3)) -> np.ndarray:
    if isinstance(image, sitk.Image):
        if image.GetNumberOfComponentsPerPixel() != 1:
            raise ValueError(f"{name} has {image.GetNumberOfComponentsPerPixel()} components per pixel (colour or "
                             "vector image); convert it to one grey value per pixel first")
        image = sitk.GetArrayFromImage(image)  # a copy: a view dies with a temporary image
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array or SimpleITK.Image, got {type(image).__name__}")
    if image.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"{name} is empty (shape {image.shape})")
    if image.dtype == bool or not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise TypeError(f"{name} must hold numbers (int or float), got dtype {image.dtype}")
    if np.issubdtype(image.dtype, np.floating) and not np.isfinite(image).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return check_not_rgb(image, name)


def _mask(mask, name: str = "mask", ndims: Sequence[int] = (2, 3)) -> np.ndarray:
    if isinstance(mask, sitk.Image):
        mask = sitk.GetArrayFromImage(mask)
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(mask).__name__}")
    if mask.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {mask.shape}")
    if mask.size == 0:
        raise ValueError(f"{name} is empty (shape {mask.shape})")
    if mask.dtype != bool:
        if not (np.issubdtype(mask.dtype, np.integer) or np.issubdtype(mask.dtype, np.floating)):
            raise TypeError(f"{name} must be boolean or 0/1 numbers, got dtype {mask.dtype}")
        binary = (mask == 0) | (mask == 1)
        if not binary.all():
            bad = mask[~binary]
            kind = "NaN" if np.issubdtype(mask.dtype, np.floating) and np.isnan(bad).any() else \
                f"values such as {bad.ravel()[:3].tolist()}"
            raise ValueError(f"{name} must be a binary mask (bool or 0/1), got {kind}; threshold it first, e.g. "
                             f"{name} >= 0.5 for probabilities or {name} > 0 for a label image")
        mask = mask != 0
    return mask


def _positive(value, name: str, integer: bool = False, allow_zero: bool = False):
    ok_types = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, ok_types):
        kind = "an int" if integer else "a number"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        rule = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {rule}, got {value}")
    return value


def _number(value, name: str):
    """A real number (int/float/numpy scalar, +-inf allowed as an open bound), not NaN."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number (in the image's units, e.g. HU), got {value!r}")
    if np.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    return value


def _bounds(lower, upper) -> None:
    _number(lower, "lower")
    _number(upper, "upper")
    if lower > upper:
        raise ValueError(f"lower must be <= upper, got lower={lower}, upper={upper}")


def _spacing(spacing, n: int, name: str = "spacing", order: str = "x, y, z") -> tuple[float, ...]:
    """``n`` finite positive voxel sizes in mm -> tuple of floats; errors name ``name`` and ``order``."""
    if isinstance(spacing, (str, bytes)) or not isinstance(spacing, (tuple, list, np.ndarray)) \
            or np.ndim(spacing) != 1 or len(spacing) != n:
        raise ValueError(f"{name} must have {n} entries ({order}) in mm, got {spacing!r}")
    for s in spacing:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must hold numbers (voxel sizes in mm, order {order}), got {spacing!r}")
    out = tuple(float(s) for s in spacing)
    if not all(np.isfinite(s) and s > 0 for s in out):
        raise ValueError(f"{name} must be finite positive voxel sizes in mm ({order}), got {spacing!r}")
    return out


def _connectivity(connectivity, ndim: int) -> int:
    """'face' -> 1 (4/6 neighbours), 'full' -> ndim (8/26 neighbours); also accepts 4, 6, 8, 26."""
    table = {"face": 1, "full": ndim, 4: 1, 6: 1, 8: ndim, 26: ndim}
    if isinstance(connectivity, bool) or not isinstance(connectivity, (str, int, np.integer)):
        raise TypeError(f"connectivity must be 'face', 'full' or a neighbour count, got {connectivity!r}")
    if connectivity not in table or (connectivity in (4, 8) and ndim != 2) or (connectivity in (6, 26) and ndim != 3):
        allowed = "'face', 'full', 4, 8" if ndim == 2 else "'face', 'full', 6, 26"
        raise ValueError(f"connectivity must be one of {allowed} for a {ndim}-D image, got {connectivity!r}")
    return table[connectivity]


# =============================================================================================
# enhancement
# =============================================================================================
_MAX_INT_BINS = 2 ** 16


def histogram(image: np.ndarray, nbins: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin centres. Integer images get one bin per integer value (``nbins`` is
    ignored, as in ``skimage.exposure.histogram``); float images get ``nbins`` equal bins
    between their minimum and maximum. An integer image whose values span more than
    ``2**16`` integers is rejected (one bin per integer would not fit in memory): convert
    it to float (``image.astype(float)``) to use ``nbins`` bins, or rescale it.

    >>> histogram(np.array([0, 1, 1, 3]))
    (array([1, 2, 0, 1]), array([0, 1, 2, 3]))
    """
    a = _array(image, ndims=(1, 2, 3))
    _positive(nbins, "nbins", integer=True)
    check_int(nbins, "nbins", low=1, high=_MAX_INT_BINS, why_high="more bins than a 16-bit image has values")
    if np.issubdtype(a.dtype, np.integer):
        lo, hi = int(a.min()), int(a.max())
        if hi - lo + 1 > _MAX_INT_BINS:
            raise ValueError(f"image integer values span {lo}..{hi} ({hi - lo + 1} values, more than 2**16 = "
                             f"{_MAX_INT_BINS}): one histogram bin per integer would not fit in memory; "
                             "use a float image (image.astype(float)) to get nbins bins, or rescale it")
        counts = np.bincount((a.astype(np.int64) - lo).ravel(), minlength=hi - lo + 1)
        return counts, np.arange(lo, hi + 1)
    counts, edges = np.histogram(a, bins=int(nbins), range=(float(a.min()), float(a.max())))
    return counts, (edges[:-1] + edges[1:]) / 2.0


def cdf(image: np.ndarray, nbins: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative distribution: fraction of pixels with a value <= each bin centre.

    >>> cdf(np.array([0, 1, 1, 3]))[0].tolist()
    [0.25, 0.75, 0.75, 1.0]
    """
    counts, centres = histogram(image, nbins)
    c = np.cumsum(counts)
    return c / float(c[-1]), centres


def equalize_hist(image: np.ndarray, nbins: int = 256) -> np.ndarray:
    """Histogram equalisation: replace every value ``v`` by ``CDF(v)`` (linear interpolation
    between bin centres). Output is float64 in [0, 1] and its histogram is as flat as the
    discrete input allows.

    >>> equalize_hist(np.array([[0, 1], [1, 3]])).tolist()
    [[0.25, 0.75], [0.75, 1.0]]
    """
    a = _array(image)
    c, centres = cdf(a, nbins)
    return np.interp(a.ravel(), centres, c).reshape(a.shape)


def _normalise(a: np.ndarray, in_range: tuple[float, float] | None, name: str = "in_range") -> np.ndarray:
    if in_range is None:
        lo, hi = float(a.min()), float(a.max())
    else:
        if not (isinstance(in_range, (tuple, list)) and len(in_range) == 2):
            raise TypeError(f"{name} must be a (low, high) pair, got {in_range!r}")
        lo = check_finite_number(in_range[0], f"{name}[0]", "a number in the image's units")
        hi = check_finite_number(in_range[1], f"{name}[1]", "a number in the image's units")
        if not hi > lo:
            raise ValueError(f"{name} must have high > low, got {in_range}")
    if hi <= lo:
        return np.zeros(a.shape, dtype=np.float64)
    return np.clip((a.astype(np.float64) - lo) / (hi - lo), 0.0, 1.0)


def normalise(image: np.ndarray, in_range: tuple[float, float] | None = None) -> np.ndarray:
    """Map ``image`` linearly to [0, 1]: ``in_range`` (e.g. a CT window in HU) to 0..1, clipping outside;
    default its min..max (a constant image gives zeros). float64. The "before" of every enhancement in 04 §1.

    >>> normalise(np.array([-1000, -300, 400]), in_range=(-1000, 400)).tolist()
    [0.0, 0.5, 1.0]
    """
    return _normalise(_array(image, ndims=(1, 2, 3)), in_range)


def crop_center(image: np.ndarray, size: int,
                center: Sequence[int] | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """A ``size`` x ``size`` crop around ``center`` = (row, col) (default: the middle), shifted to stay
    inside the image; returns the crop (a view) and its top-left corner (row, col). An image no larger
    than ``size`` is returned whole. Used in 04 §2 (the denoising zoom).

    >>> crop_center(np.arange(16).reshape(4, 4), 2)[0].tolist()
    [[5, 6], [9, 10]]
    >>> crop_center(np.zeros((10, 10)), 4, center=(0, 9))[1]
    (0, 6)
    """
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
        raise TypeError(f"image must be a 2-D (or (H, W, C)) numpy array, got "
                        f"{type(image).__name__}{getattr(image, 'shape', '')}")
    _positive(size, "size", integer=True)
    h, w = image.shape[:2]
    if center is None:
        cr, cc = h // 2, w // 2
    else:
        if not isinstance(center, (tuple, list, np.ndarray)) or len(center) != 2:
            raise ValueError(f"center must be a (row, col) pair, got {center!r}")
        for v in center:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"center must hold integer pixel indices (row, col), got {center!r}")
        cr, cc = int(center[0]), int(center[1])
        if not (0 <= cr < h and 0 <= cc < w):
            raise ValueError(f"center {(cr, cc)} is outside the image of shape {(h, w)}")
    if size >= h and size >= w:
        return image, (0, 0)
    r0 = int(np.clip(cr - size // 2, 0, max(0, h - size)))
    c0 = int(np.clip(cc - size // 2, 0, max(0, w - size)))
    return image[r0:r0 + size, c0:c0 + size], (r0, c0)


def clahe(image: np.ndarray, clip_limit: float = 0.01, kernel_size: int | None = None,
          in_range: tuple[float, float] | None = None, nbins: int = 256) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation of a 2-D image (scikit-image).

    The image is first mapped linearly to [0, 1] using ``in_range`` (e.g. a CT window in
    HU; default: its min..max). ``kernel_size`` is the tile size in pixels (default 1/8 of
    the image), ``clip_limit`` in (0, 1] limits how much a tile's histogram may peak
    (i.e. how much noise is amplified). Only 2-D: ITK's 3-D adaptive equalisation takes
    about a minute for a 512x512x100 CT.

    >>> clahe(np.arange(64.0).reshape(8, 8), kernel_size=4).shape
    (8, 8)
    """
    from skimage.exposure import equalize_adapthist

    a = _array(image, ndims=(2,))
    _positive(clip_limit, "clip_limit")
    if clip_limit > 1:
        raise ValueError(f"clip_limit must be in (0, 1], got {clip_limit}")
    if kernel_size is not None:
        _positive(kernel_size, "kernel_size", integer=True)
        check_int(kernel_size, "kernel_size", low=1, high=max(a.shape), why_high="a tile larger than the image")
    check_int(nbins, "nbins", low=2, high=_MAX_INT_BINS, why_high="memory")
    return equalize_adapthist(_normalise(a, in_range), kernel_size=kernel_size, clip_limit=clip_limit,
                              nbins=nbins)


def contrast_stretch(image: np.ndarray, p_low: float = 2.0, p_high: float = 98.0) -> np.ndarray:
    """Map the ``p_low``..``p_high`` percentiles linearly to 0..1 (clipping outside).

    >>> contrast_stretch(np.arange(101.0), 10, 90)[[0, 50, 100]].tolist()
    [0.0, 0.5, 1.0]
    """
    a = _array(image, ndims=(1, 2, 3))
    for v, n in ((p_low, "p_low"), (p_high, "p_high")):
        _positive(v, n, allow_zero=True)
        if v > 100:
            raise ValueError(f"{n} must be a percentile in [0, 100], got {v}")
    if not p_high > p_low:
        raise ValueError(f"p_high must be > p_low, got p_low={p_low}, p_high={p_high}")
    lo, hi = np.percentile(a, [p_low, p_high])
    return _normalise(a, None) if hi <= lo else _normalise(a, (float(lo), float(hi)))


def gamma_correct(image: np.ndarray, gamma: float = 1.0, in_range: tuple[float, float] | None = None) -> np.ndarray:
    """Normalise to [0, 1] (``in_range``, default min..max) and raise to the power ``gamma``:
    gamma < 1 brightens dark values, gamma > 1 darkens them.

    >>> gamma_correct(np.array([0.0, 0.25, 1.0]), 0.5).tolist()
    [0.0, 0.5, 1.0]
    """
    a = _array(image, ndims=(1, 2, 3))
    _positive(gamma, "gamma")
    return _normalise(a, in_range) ** float(gamma)


# =============================================================================================
# denoising
# =============================================================================================
def add_noise(image: np.ndarray, kind: str = "gaussian", level: float = 0.05, seed: int = 0, *,
              attenuation: float = 4.0) -> np.ndarray:
    """Add synthetic noise; returns float64. ``level`` is relative to the data range ``R``:

    * ``"gaussian"``: ``x + N(0, (level*R)^2)`` (electronic noise; ``level`` <= 10);
    * ``"salt_pepper"``: a fraction ``level`` of pixels set to the min or max (half each);
    * ``"poisson"``: quantum (photon-counting) noise of a **projection** image (a radiograph), with a stated
      dose model. The image is read as a map of line integrals of attenuation,
      ``p = attenuation * (x - min) / R``: the brightest pixel (bone, mediastinum) has ``p = attenuation``
      (default 4: ``e^-4`` = 1.8 % of the photons get through), the darkest ``p = 0`` (open beam). Each
      detector pixel receives ``N0 = 1 / level^2`` photons without the patient (the dose); behind it
      ``N ~ Poisson(N0 e^-p)`` and the measured projection is ``p_hat = -ln(N / N0)`` (a count of 0 becomes
      0.5). The noise std of ``p_hat`` is about ``e^(p/2) / sqrt(N0) = level * e^(p/2)``: the *bright*,
      attenuating regions receive the fewest photons and are the noisiest (``e^2`` = 7.4 times the open beam
      at the default). Simplifications: one photon energy, no scatter, no electronic noise, no detector blur,
      grey value linear in ``p``. For CT, where a pixel's noise depends on every ray through it and not on its
      own HU, use :func:`ct_quantum_noise`. ``level`` in [1e-9, 1].

    Same ``seed`` -> same noise.

    >>> img = np.zeros((64, 64)); img[:, 32:] = 1.0           # data range R = 1
    >>> round(float((add_noise(img, "gaussian", 0.1) - img).std()), 2)   # std = level * R
    0.1
    >>> grey = np.full((64, 64), 0.5); grey[0, :2] = 0.0, 1.0          # min 0, max 1
    >>> round(float((add_noise(grey, "salt_pepper", 0.2) != grey).mean()), 1)  # 20 % set to 0 or 1
    0.2
    >>> noisy = add_noise(img, "poisson", 0.01)           # 10,000 photons per pixel in the open beam
    >>> dark, bright = float(noisy[:, :32].std()), float(noisy[:, 32:].std())
    >>> round(dark * 4 / 0.01, 1), 7 < bright / dark < 8.2   # level in the open beam, ~e^2 = 7.4 x where p = 4
    (1.0, True)
    >>> bool((add_noise(img, seed=3) == add_noise(img, seed=3)).all())   # reproducible
    True
    """
    a = _array(image)
    if not isinstance(kind, str) or kind not in NOISE_KINDS:
        raise ValueError(f"kind must be one of {NOISE_KINDS}, got {kind!r}")
    _positive(level, "level", allow_zero=True)
    if kind == "salt_pepper" and level > 1:
        raise ValueError(f"level must be a fraction in [0, 1] for salt_pepper, got {level}")
    if kind == "gaussian" and level > 10:
        raise ValueError(f"level must be <= 10 (noise std in units of the data range) for gaussian, got {level}")
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    x = a.astype(np.float64)
    lo, hi = float(x.min()), float(x.max())
    rng_range = hi - lo if hi > lo else 1.0
    if kind == "poisson":
        attenuation = check_finite_number(attenuation, "attenuation", "a line integral, e.g. 4")
        if not 0 < attenuation <= 20:
            raise ValueError(f"attenuation must be in (0, 20] (the line integral at the brightest pixel; e^-20 "
                             f"lets 2e-9 of the photons through), got {attenuation}")
        if level != 0 and not 1e-9 <= level <= 1:
            raise ValueError(f"level must be in [1e-9, 1] for poisson noise (N0 = 1/level^2 photons per pixel "
                             f"in the open beam, between 1 and 1e18), got {level}")
    if level == 0:
        return x.copy()
    if kind == "gaussian":
        return x + rng.normal(0.0, level * rng_range, size=x.shape)
    if kind == "salt_pepper":
        out = x.copy()
        u = rng.random(x.shape)
        out[u < level / 2] = lo
        out[(u >= level / 2) & (u < level)] = hi
        return out
    n0 = 1.0 / level ** 2
    p = (x - lo) / rng_range * attenuation
    counts = rng.poisson(n0 * np.exp(-p)).astype(np.float64)
    p_hat = -np.log(np.maximum(counts, 0.5) / n0)
    return p_hat / attenuation * rng_range + lo


#: Linear attenuation of water (1/mm) at an effective energy of about 70 keV: HU = 1000 (mu / MU_WATER - 1).
MU_WATER = 0.0193


def ct_quantum_noise(hu: np.ndarray, photons: float = 1e5, pixel_mm: float = 1.0, n_angles: int | None = None,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """CT quantum noise done where it arises, on the projections: ``(noisy_hu, reference_hu)`` of a 2-D HU slice.

    1. HU -> attenuation ``mu = MU_WATER (1 + HU/1000)`` (1/mm, >= 0);
    2. parallel-beam projections (``skimage.transform.radon``, ``n_angles`` over 180°, default one per pixel
       column): line integrals ``p = Σ mu · pixel_mm`` along each ray;
    3. **dose model**: ``photons`` per detector bin without the patient, ``N ~ Poisson(photons · e^-p)``,
       measured ``p_hat = -ln(N / photons)`` (a count of 0 becomes 0.5);
    4. filtered back-projection (``iradon``, ramp filter) of ``p_hat`` -> mu -> HU.

    ``reference_hu`` is step 4 applied to the noiseless projections: the fair clean image (it shares the
    reconstruction's own small errors), so ``noisy_hu - reference_hu`` is the quantum noise alone. A pixel's
    noise depends on the photons along *every* ray through it: rays through the whole body (shoulders,
    mediastinum) carry fewest photons and streak; a voxel's own HU hardly matters. Halving the dose multiplies
    the noise std by about ``sqrt(2)``. Simplifications: 2-D parallel beam (scanners use fan/helical
    geometry), one photon energy (no beam hardening), no scatter, no electronic noise, plain ramp filter.
    Used in 04 §2.

    >>> hu = np.full((64, 64), -1000.0); yy, xx = np.mgrid[:64, :64]
    >>> hu[(yy - 32) ** 2 + (xx - 32) ** 2 < 24 ** 2] = 0.0                 # a water cylinder, 48 px wide
    >>> lo = ct_quantum_noise(hu, 1e4, pixel_mm=2.0); hi = ct_quantum_noise(hu, 4e4, pixel_mm=2.0)
    >>> s_lo, s_hi = ((n - r)[24:40, 24:40].std() for n, r in (lo, hi))
    >>> round(float(s_lo / s_hi), 1)                       # 4x the photons: half the noise
    2.0
    """
    from skimage.transform import iradon, radon

    a = _array(hu, "hu", ndims=(2,))
    photons = check_finite_number(photons, "photons", "photons per detector bin")
    if not 1 <= photons <= 1e12:
        raise ValueError(f"photons must be in [1, 1e12] per detector bin, got {photons}")
    pixel_mm = check_finite_number(pixel_mm, "pixel_mm", "a pixel size in mm")
    if not 0 < pixel_mm <= 10:
        raise ValueError(f"pixel_mm must be in (0, 10] mm, got {pixel_mm}")
    if max(a.shape) > 1024:
        raise ValueError(f"hu must be at most 1024 pixels along each axis (projection and back-projection time), "
                         f"got {a.shape}; downsample it first")
    n_angles = max(a.shape) if n_angles is None else check_int(n_angles, "n_angles", low=8, high=2048,
                                                                why_high="time")
    seed = check_seed(seed)
    mu = np.clip(MU_WATER * (1.0 + a.astype(np.float64) / 1000.0), 0.0, None)
    theta = np.linspace(0.0, 180.0, n_angles, endpoint=False)
    p = radon(mu, theta=theta, circle=False) * pixel_mm
    counts = np.random.default_rng(seed).poisson(photons * np.exp(-p)).astype(np.float64)
    p_hat = -np.log(np.maximum(counts, 0.5) / photons)

    def back(sino: np.ndarray) -> np.ndarray:
        rec = iradon(sino / pixel_mm, theta=theta, circle=False, filter_name="ramp", output_size=max(a.shape))
        r0, c0 = (rec.shape[0] - a.shape[0]) // 2, (rec.shape[1] - a.shape[1]) // 2
        return 1000.0 * (rec[r0:r0 + a.shape[0], c0:c0 + a.shape[1]] / MU_WATER - 1.0)

    return back(p_hat), back(p)


def _to_sitk_float(a: np.ndarray) -> sitk.Image:
    return sitk.GetImageFromArray(np.ascontiguousarray(a, dtype=np.float32))


#: Largest radius (pixels) of the median filter and of morphology disks.
MAX_RADIUS = 50
#: Largest Gaussian sigma (pixels).
MAX_SIGMA = 200.0


def median_filter(image: np.ndarray, radius: int = 1) -> np.ndarray:
    """Median of each ``(2r+1)`` x ``(2r+1)`` (x ``(2r+1)``) window (SimpleITK ``Median``).

    Like a convolution it slides a window, but it *sorts* instead of weighting and summing:
    non-linear, so an isolated outlier (salt) is removed instead of smeared.

    >>> float(median_filter(np.array([[0, 0, 0], [0, 9, 0], [0, 0, 0]]), 1)[1, 1])
    0.0
    """
    a = _array(image)
    _positive(radius, "radius", integer=True, allow_zero=True)
    check_int(radius, "radius", low=0, high=MAX_RADIUS, why_high="a wider window costs time and erases structure")
    check_limit(float(a.size) * (2 * int(radius) + 1) ** a.ndim, MAX_WORK, "operations",
                "median filter: use a smaller radius or a smaller image")
    if radius == 0:
        return a.astype(np.float32)
    return sitk.GetArrayFromImage(sitk.Median(_to_sitk_float(a), [int(radius)] * a.ndim))


def gaussian_filter(image: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian smoothing with standard deviation ``sigma`` in pixels (SimpleITK,
    ``DiscreteGaussian`` = convolution with a sampled Gaussian kernel).

    SimpleITK's ``DiscreteGaussian`` returns all-NaN for very large sigma (about 27 px and
    above); then the result comes from ``scipy.ndimage.gaussian_filter`` (same zero-flux,
    i.e. replicate-edge, boundary) instead, so the output is always finite.

    >>> float(gaussian_filter(np.ones((5, 5)), 1.0).mean())
    1.0
    >>> bool(np.isfinite(gaussian_filter(np.eye(8), 50.0)).all())
    True
    """
    a = _array(image)
    _positive(sigma, "sigma", allow_zero=True)
    if sigma > MAX_SIGMA:
        raise ValueError(f"sigma must be <= {MAX_SIGMA:g} pixels (a wider kernel costs time and leaves a flat "
                         f"image), got {sigma}")
    if sigma == 0:
        return a.astype(np.float32)
    out = sitk.GetArrayFromImage(sitk.DiscreteGaussian(_to_sitk_float(a), variance=float(sigma) ** 2,
                                                       maximumKernelWidth=64, useImageSpacing=False))
    if not np.isfinite(out).all():  # ITK's kernel breaks down for variance >= ~27**2
        out = ndi.gaussian_filter(a.astype(np.float64), float(sigma), mode="nearest").astype(np.float32)
    if not np.isfinite(out).all():
        raise ValueError(f"gaussian_filter produced non-finite values for sigma={sigma}")
    return out


#: Most curvature-flow iterations (at the stable time step 0.125 the image is long flat by then).
MAX_CURVATURE_ITERATIONS = 500


def curvature_flow(image: np.ndarray, iterations: int = 5, time_step: float | None = 0.125) -> np.ndarray:
    """Edge-preserving smoothing: iso-intensity curves move with their curvature (SimpleITK
    ``CurvatureFlow``). ``time_step`` <= 0.125 (2-D) / 0.0625 (3-D) keeps the explicit scheme stable and
    larger steps are refused (``time_step=10`` returned values of ±1e81); ``None`` takes that limit. A 3-D image
    with the default 0.125 is run at 0.0625. ``iterations`` <= 500.

    >>> curvature_flow(np.ones((4, 4)), 2).shape
    (4, 4)
    """
    a = _array(image)
    _positive(iterations, "iterations", integer=True, allow_zero=True)
    check_int(iterations, "iterations", low=0, high=MAX_CURVATURE_ITERATIONS,
              why_high="more iterations only blur further and cost time")
    limit = 0.125 if a.ndim == 2 else 0.0625
    if time_step is None or (a.ndim == 3 and isinstance(time_step, float) and time_step == 0.125):
        time_step = limit
    _positive(time_step, "time_step")
    if time_step > limit:
        raise ValueError(f"time_step must be <= {limit} for a {a.ndim}-D image (the stability limit of the explicit "
                         f"scheme: larger steps blow up, e.g. time_step=10 gives values of 1e81), got {time_step}")
    check_limit(float(a.size) * int(iterations) * 27, MAX_WORK, "operations",
                "curvature flow on this image: use fewer iterations or a smaller image")
    if iterations == 0:
        return a.astype(np.float32)
    return sitk.GetArrayFromImage(sitk.CurvatureFlow(_to_sitk_float(a), timeStep=float(time_step),
                                                     numberOfIterations=int(iterations)))


def denoise(image: np.ndarray, kind: str = "median", size: int = 1) -> np.ndarray:
    """One entry point for the widgets: ``kind`` in :data:`FILTER_KINDS`, ``size`` = median
    radius, Gaussian sigma or curvature-flow iterations.

    >>> denoise(np.ones((3, 3)), "none").dtype
    dtype('float32')
    """
    if not isinstance(kind, str) or kind not in FILTER_KINDS:
        raise ValueError(f"kind must be one of {FILTER_KINDS}, got {kind!r}")
    if kind != "gaussian":
        _positive(size, "size", integer=True, allow_zero=True)
    if kind == "none":
        return _array(image).astype(np.float32)
    if kind == "median":
        return median_filter(image, size)
    if kind == "gaussian":
        return gaussian_filter(image, float(size))
    return curvature_flow(image, iterations=int(size))


def _pair(reference, test, ref_name="reference", test_name="test"):
    r = _array(reference, ref_name, ndims=(1, 2, 3))
    t = _array(test, test_name, ndims=(1, 2, 3))
    if r.shape != t.shape:
        raise ValueError(f"{test_name} shape {t.shape} differs from {ref_name} shape {r.shape}")
    return r, t


def _data_range(r: np.ndarray, data_range) -> float:
    if data_range is None:
        data_range = float(r.max()) - float(r.min())
        if data_range == 0:
            raise ValueError(f"reference is constant (every value {float(r.min()):g}), so its range is 0: "
                             "pass data_range (e.g. 1.0 for [0, 1] images, 255 for 8-bit)")
    _positive(data_range, "data_range")
    return data_range


def psnr(reference: np.ndarray, test: np.ndarray, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB: ``10 log10(R^2 / MSE)``; ``inf`` for identical images.
    ``data_range`` R defaults to ``reference.max() - reference.min()``.

    >>> round(psnr(np.array([0.0, 1.0]), np.array([0.0, 0.9])), 2)
    23.01
    """
    r, t = _pair(reference, test)
    data_range = _data_range(r, data_range)
    mse = float(np.mean((r.astype(np.float64) - t.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(data_range ** 2 / mse))


def ssim(reference: np.ndarray, test: np.ndarray, data_range: float | None = None) -> float:
    """Structural similarity (scikit-image, 7x7 windows), 1.0 for identical images.

    >>> ssim(np.eye(8), np.eye(8))
    1.0
    """
    from skimage.metrics import structural_similarity

    r, t = _pair(reference, test)
    if min(r.shape) < 7:
        raise ValueError(f"reference must be at least 7 pixels along every axis for SSIM, got {r.shape}")
    data_range = _data_range(r, data_range)
    return float(structural_similarity(r.astype(np.float64), t.astype(np.float64), data_range=data_range))


# =============================================================================================
# thresholding
# =============================================================================================
def threshold(image: np.ndarray, lower: float | None = None, upper: float | None = None) -> np.ndarray:
    """Boolean mask of ``lower <= image <= upper`` (a missing bound is open).

    >>> threshold(np.array([-1000, -500, 40]), upper=-320).tolist()
    [True, True, False]
    """
    a = _array(image, ndims=(1, 2, 3))
    if lower is None and upper is None:
        raise ValueError("give lower and/or upper (in the image's units, e.g. HU)")
    for v, n in ((lower, "lower"), (upper, "upper")):
        if v is not None:
            _number(v, n)
    if lower is not None and upper is not None and lower > upper:
        raise ValueError(f"lower must be <= upper, got lower={lower}, upper={upper}")
    m = np.ones(a.shape, dtype=bool)
    if lower is not None:
        m &= a >= lower
    if upper is not None:
        m &= a <= upper
    return m


def between_class_variance(image: np.ndarray, nbins: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Otsu's criterion for every candidate threshold ``t`` (class 0: values <= t).

    ``sigma_B^2(t) = w0(t) w1(t) (mu0(t) - mu1(t))^2`` with class weights ``w`` (pixel
    counts) and class means ``mu``. Returns ``(centres[:-1], sigma_B^2)`` (the last centre
    leaves class 1 empty). Same histogram as :func:`histogram`.

    >>> centres, var = between_class_variance(np.array([0, 1, 2, 10, 11, 12]))
    >>> int(centres[np.argmax(var)])        # Otsu's threshold = the first maximum
    2
    """
    counts, centres = histogram(image, nbins)
    counts = counts.astype(np.float64)
    w0 = np.cumsum(counts)                      # pixels <= t
    w1 = np.cumsum(counts[::-1])[::-1]          # pixels >= t
    with np.errstate(invalid="ignore", divide="ignore"):
        mu0 = np.cumsum(counts * centres) / w0
        mu1 = (np.cumsum((counts * centres)[::-1]) / w1[::-1])[::-1]
    # threshold between bin i and i+1: class 0 = bins 0..i, class 1 = bins i+1..
    var = w0[:-1] * w1[1:] * (mu0[:-1] - mu1[1:]) ** 2
    return centres[:-1], np.nan_to_num(var, nan=0.0)


def otsu_threshold(image: np.ndarray, nbins: int = 256) -> float:
    """Otsu's threshold: the ``t`` maximising the between-class variance (foreground ``> t``).

    Integer images (e.g. HU) use one histogram bin per integer, float images ``nbins`` bins;
    identical to ``skimage.filters.threshold_otsu`` and within one bin of SimpleITK's
    ``OtsuThreshold``.

    >>> otsu_threshold(np.array([0, 1, 2, 10, 11, 12]))
    2.0
    """
    a = _array(image, ndims=(1, 2, 3))
    if a.min() == a.max():
        raise ValueError(f"image has a single value ({a.min()}): there are no two classes to separate")
    centres, var = between_class_variance(a, nbins)
    return float(centres[int(np.argmax(var))])


# =============================================================================================
# region growing
# =============================================================================================
def _check_seed(seed, shape) -> tuple[int, ...]:
    if not isinstance(seed, (tuple, list, np.ndarray)) or len(seed) != len(shape):
        raise ValueError(f"seed must be an index tuple with {len(shape)} entries (numpy order), got {seed!r}")
    out = []
    for s, n in zip(seed, shape):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"seed entries must be ints, got {seed!r}")
        if not 0 <= s < n:
            raise ValueError(f"seed {tuple(int(v) for v in seed)} is outside the image of shape {shape}")
        out.append(int(s))
    return tuple(out)


def _neighbour_offsets(ndim: int, conn: int) -> list[tuple[int, ...]]:
    grid = np.indices((3,) * ndim).reshape(ndim, -1).T - 1
    return [tuple(int(v) for v in o) for o in grid if 0 < np.abs(o).sum() <= conn]


def region_grow(image: np.ndarray, seed: Sequence[int], lower: float, upper: float,
                connectivity: str | int = "face", method: str = "label") -> np.ndarray:
    """All pixels connected to ``seed`` through pixels with ``lower <= value <= upper``.

    ``connectivity``: ``"face"`` (4 neighbours in 2-D, 6 in 3-D) or ``"full"`` (8 / 26).
    ``method="queue"`` is the textbook breadth-first flood fill (a FIFO of pixels to visit,
    each in-range unvisited neighbour is added); ``method="label"`` gives the same mask
    faster: label the connected components of the in-range mask (scipy) and keep the seed's
    one. Both equal SimpleITK ``ConnectedThreshold``. A seed outside the range gives an
    empty mask.

    >>> region_grow(np.array([[5, 0, 5], [5, 5, 0]]), (0, 0), 4, 6, method="queue").astype(int).tolist()
    [[1, 0, 0], [1, 1, 0]]
    """
    a = _array(image)
    seed = _check_seed(seed, a.shape)
    conn = _connectivity(connectivity, a.ndim)
    _bounds(lower, upper)
    if method not in ("label", "queue"):
        raise ValueError(f"method must be 'label' or 'queue', got {method!r}")
    inside = (a >= lower) & (a <= upper)
    out = np.zeros(a.shape, dtype=bool)
    if not inside[seed]:
        return out
    if method == "label":
        labels, _ = ndi.label(inside, structure=ndi.generate_binary_structure(a.ndim, conn))
        return labels == labels[seed]
    offsets = _neighbour_offsets(a.ndim, conn)
    shape = a.shape
    out[seed] = True
    queue = deque([seed])
    while queue:
        p = queue.popleft()
        for o in offsets:
            q = tuple(pi + oi for pi, oi in zip(p, o))
            if all(0 <= qi < n for qi, n in zip(q, shape)) and inside[q] and not out[q]:
                out[q] = True
                queue.append(q)
    return out


def connected_threshold_sitk(image: np.ndarray, seed: Sequence[int], lower: float, upper: float,
                             connectivity: str | int = "face") -> np.ndarray:
    """SimpleITK ``ConnectedThreshold`` with the same arguments as :func:`region_grow`
    (seed in numpy order; SimpleITK wants (x, y[, z]), so it is reversed here).

    >>> img = np.zeros((5, 5)); img[1:4, 1:4] = 10; img[0, 0] = 10     # (0, 0) is not connected
    >>> grown = connected_threshold_sitk(img, (2, 2), 5, 15)
    >>> int(grown.sum()), bool((grown == region_grow(img, (2, 2), 5, 15)).all())
    (9, True)
    """
    a = _array(image)
    seed = _check_seed(seed, a.shape)
    conn = _connectivity(connectivity, a.ndim)
    _bounds(lower, upper)
    f = sitk.ConnectedThresholdImageFilter()
    f.SetSeedList([tuple(reversed(seed))])
    f.SetLower(float(lower))
    f.SetUpper(float(upper))
    f.SetReplaceValue(1)
    f.SetConnectivity(f.FaceConnectivity if conn == 1 else f.FullConnectivity)
    img = sitk.GetImageFromArray(np.ascontiguousarray(a, dtype=np.float64))
    return sitk.GetArrayFromImage(f.Execute(img)).astype(bool)


def confidence_connected(image: np.ndarray, seed: Sequence[int], multiplier: float = 2.5,
                         iterations: int = 5, initial_radius: int = 2) -> np.ndarray:
    """SimpleITK ``ConfidenceConnected``: the range is learnt from the data, ``mean +-
    multiplier * std`` of the current region (first a ``initial_radius`` neighbourhood of
    the seed), re-estimated ``iterations`` times.

    >>> img = np.zeros((20, 20)); img[5:15, 5:15] = 100 + np.arange(100).reshape(10, 10) % 3
    >>> int(confidence_connected(img, (10, 10)).sum())
    100
    """
    a = _array(image)
    seed = _check_seed(seed, a.shape)
    _positive(multiplier, "multiplier")
    _positive(iterations, "iterations", integer=True, allow_zero=True)
    check_int(iterations, "iterations", low=0, high=100, why_high="the range settles within a few iterations")
    _positive(initial_radius, "initial_radius", integer=True)
    check_int(initial_radius, "initial_radius", low=1, high=MAX_RADIUS, why_high="time")
    img = sitk.GetImageFromArray(np.ascontiguousarray(a, dtype=np.float32))
    out = sitk.ConfidenceConnected(img, seedList=[tuple(reversed(seed))], numberOfIterations=int(iterations),
                                   multiplier=float(multiplier), initialNeighborhoodRadius=int(initial_radius),
                                   replaceValue=1)
    return sitk.GetArrayFromImage(out).astype(bool)


# =============================================================================================
# morphology
# =============================================================================================
def _disk(radius: int, ndim: int) -> np.ndarray:
    """A disk in the (y, x) plane; for 3-D a (1, 2r+1, 2r+1) in-plane element (CT slices are
    much thicker than pixels are wide, so morphology is applied within each slice)."""
    r = int(radius)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    d = xx ** 2 + yy ** 2 <= r * r
    return d if ndim == 2 else d[None]


def _check_radius(radius, m: np.ndarray, name: str = "radius") -> int:
    _positive(radius, name, integer=True, allow_zero=True)
    check_int(radius, name, low=0, high=MAX_RADIUS, why_high="a larger disk costs time and erases the structure")
    check_limit(float(m.size) * (2 * int(radius) + 1) ** 2, MAX_WORK, "operations",
                f"morphology with {name} {int(radius)}: use a smaller radius")
    return int(radius)


def binary_open(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    """Erosion then dilation with a disk of ``radius`` pixels: removes specks and thin bridges.

    >>> m = np.zeros((7, 7), bool); m[1:6, 1:6] = True; m[0, 0] = True
    >>> bool(binary_open(m, 1)[0, 0]), bool(binary_open(m, 1)[3, 3])
    (False, True)
    """
    m = _mask(mask)
    _check_radius(radius, m)
    if radius == 0:
        return m.copy()
    return ndi.binary_opening(m, structure=_disk(radius, m.ndim))


def binary_close(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    """Dilation then erosion with a disk of ``radius`` pixels: closes gaps and notches.
    The mask is padded first so objects touching the border are not eaten.

    >>> m = np.ones((5, 5), bool); m[2, 2] = False
    >>> bool(binary_close(m, 1)[2, 2])
    True
    """
    m = _mask(mask)
    _check_radius(radius, m)
    if radius == 0:
        return m.copy()
    r = int(radius)
    pad = [(0, 0)] * (m.ndim - 2) + [(r, r), (r, r)]
    closed = ndi.binary_closing(np.pad(m, pad, mode="edge"), structure=_disk(r, m.ndim))
    return closed[tuple(slice(p[0], closed.shape[i] - p[1]) for i, p in enumerate(pad))]


def fill_holes(mask: np.ndarray, per_slice: bool = True) -> np.ndarray:
    """Fill background regions not connected to the border; for 3-D, per axial slice
    (default) or in 3-D.

    >>> m = np.ones((3, 3), bool); m[1, 1] = False
    >>> bool(fill_holes(m)[1, 1])
    True
    """
    m = _mask(mask)
    if m.ndim == 3 and per_slice:
        return np.stack([ndi.binary_fill_holes(s) for s in m])
    return ndi.binary_fill_holes(m)


def largest_components(mask: np.ndarray, n: int = 1, connectivity: str | int = "face") -> np.ndarray:
    """Keep the ``n`` largest connected components (fewer if there are fewer).

    >>> m = np.array([[1, 1, 0, 1], [1, 0, 0, 0]], bool)
    >>> largest_components(m, 1).astype(int).tolist()
    [[1, 1, 0, 0], [1, 0, 0, 0]]
    """
    m = _mask(mask)
    _positive(n, "n", integer=True)
    conn = _connectivity(connectivity, m.ndim)
    labels, count = ndi.label(m, structure=ndi.generate_binary_structure(m.ndim, conn))
    if count == 0:
        return m.copy()
    sizes = _label_sizes(labels, count)
    keep = np.argsort(sizes)[::-1][: int(n)]
    keep = keep[sizes[keep] > 0]
    return _select_labels(labels, keep, count)


def _label_sizes(labels: np.ndarray, count: int | None = None) -> np.ndarray:
    """Voxels per label, 0 for the background: counted over the labelled voxels only (``np.bincount`` of a
    whole int32 volume first copies it to int64, 63 MiB for 04's CT)."""
    n = (int(labels.max()) if count is None else int(count)) + 1
    return np.bincount(labels[labels > 0], minlength=n)


def _select_labels(labels: np.ndarray, keep: np.ndarray, count: int) -> np.ndarray:
    """``np.isin(labels, keep)`` through a lookup table: no sorted int64 copies of a whole CT volume."""
    lut = np.zeros(int(count) + 1, dtype=bool)
    lut[np.asarray(keep, dtype=np.int64)] = True
    return lut[labels]


# =============================================================================================
# lung segmentation
# =============================================================================================
def _clear_border_2d(m: np.ndarray) -> np.ndarray:
    labels, count = ndi.label(m)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return m & ~_select_labels(labels, border[border > 0], count)


def body_mask(hu: np.ndarray, air_hu: float = -320.0) -> np.ndarray:
    """The patient's body on each slice: the largest non-air region, holes (lungs) filled.

    >>> hu = np.full((1, 9, 9), -1000); hu[0, 2:7, 2:7] = 40
    >>> int(body_mask(hu).sum())
    25
    """
    a = _array(hu, "hu", ndims=(2, 3))
    air_hu = check_finite_number(air_hu, "air_hu", "a HU threshold between -1000 and 0")
    if not -1000 < air_hu < 0:
        raise ValueError(f"air_hu must be between -1000 and 0 HU (air is about -1000, soft tissue 0..100), "
                         f"got {air_hu}")
    vol = a[None] if a.ndim == 2 else a
    out = np.zeros(vol.shape, dtype=bool)
    for k, s in enumerate(vol):
        dense = s > air_hu
        if dense.any():
            out[k] = ndi.binary_fill_holes(largest_components(dense, 1))
    return out[0] if a.ndim == 2 else out


def _central_airway(mask: np.ndarray, body: np.ndarray, spacing: Sequence[float],
                    max_area_mm2: float) -> np.ndarray:
    """Per slice: small 2-D pieces of ``mask`` in the middle of the body (trachea, bronchi)."""
    out = np.zeros(mask.shape, dtype=bool)
    px_mm2 = float(spacing[0]) * float(spacing[1])
    for k in range(mask.shape[0]):
        cols = np.nonzero(body[k].any(0))[0]
        if len(cols) == 0 or not mask[k].any():
            continue
        centre, width = (cols[0] + cols[-1]) / 2.0, cols[-1] - cols[0] + 1
        labels, count = ndi.label(mask[k])
        if count == 0:
            continue
        areas = np.bincount(labels.ravel())
        xs = ndi.mean(np.broadcast_to(np.arange(mask.shape[2]), mask[k].shape), labels, np.arange(1, count + 1))
        for lab, cx in enumerate(xs, start=1):
            if areas[lab] * px_mm2 < max_area_mm2 and abs(cx - centre) < 0.15 * width:
                out[k] |= labels == lab
    return out


def _close_and_fill(part: np.ndarray, radius: int) -> np.ndarray:
    """binary_close + per-slice fill_holes, computed on the bounding box only (fast)."""
    out = np.zeros(part.shape, dtype=bool)
    if not part.any():
        return out
    # bounding box from per-axis projections (np.argwhere would hold 24 bytes per lung voxel)
    ax = [np.nonzero(part.any(axis=tuple(j for j in range(3) if j != i)))[0] for i in range(3)]
    lo = np.maximum(np.array([a[0] for a in ax]) - [0, radius + 1, radius + 1], 0)
    hi = np.array([a[-1] for a in ax]) + [1, radius + 2, radius + 2]
    box = tuple(slice(int(l), int(h)) for l, h in zip(lo, hi))
    out[box] = fill_holes(binary_close(part[box], radius), per_slice=True)
    return out


@dataclass
class LungSegmentation:
    """Result of :func:`lung_mask`: the final ``mask``, every intermediate step (in order,
    name -> boolean array), the ``body`` mask and volumes in mL."""

    mask: np.ndarray
    steps: dict[str, np.ndarray]
    body: np.ndarray
    voxel_volume_ml: float
    component_volumes_ml: list[float] = field(default_factory=list)

    @property
    def volume_ml(self) -> float:
        return float(self.mask.sum() * self.voxel_volume_ml)

    def __repr__(self) -> str:
        vols = ", ".join(f"{v:.0f}" for v in self.component_volumes_ml)
        return (f"LungSegmentation(total {self.volume_ml:.0f} mL, components [{vols}] mL, "
                f"steps {list(self.steps)})")


def lung_mask(hu: np.ndarray, spacing: Sequence[float] = (1.0, 1.0, 1.0), air_hu: float = -320.0,
              close_radius: int = 4, min_lung_ml: float = 100.0,
              airway_max_mm2: float = 600.0) -> LungSegmentation:
    """Segment both lungs of a chest CT in HU (array z, y, x); ``spacing`` (x, y, z) in mm.

    Steps (all kept in ``result.steps``):

    1. **air**: ``HU < air_hu`` (lungs are about -850 HU, soft tissue -100..+100);
    2. **air inside the body**: drop, on every slice, air regions touching the image border
       (the air around the patient and under the table);
    3. **two lungs**: 3-D components; the left and right lung can touch through the airways
       or a thin junction, so the mask is eroded in-plane (1, 2, 3 pixels) until two large
       components appear, these two are kept and grown back inside the step-2 mask (voxels
       claimed by both are dropped, which cuts the bridge). Bowel gas goes; the trachea and
       main bronchi still attached to a lung are cut off slice by slice: a 2-D piece smaller
       than ``airway_max_mm2`` whose centre lies in the middle 30 % of the body's width.
    4. **vessels filled**: each lung is closed with a disk of ``close_radius`` pixels and its
       holes are filled slice by slice, so vessels and nodules inside the lung count as lung.

    A phantom: air around a soft-tissue body holding two air-filled "lungs" (20x18 pixels of
    2x2 mm on 4 slices of 5 mm = 28.8 mL each):

    >>> hu = np.full((4, 40, 60), -1000, dtype=np.int16); hu[:, 4:36, 4:56] = 40
    >>> hu[:, 10:30, 8:26] = -850; hu[:, 10:30, 34:52] = -850
    >>> seg = lung_mask(hu, spacing=(2.0, 2.0, 5.0), min_lung_ml=1.0)
    >>> seg.component_volumes_ml, bool(seg.mask[:, 0, 0].any())     # outside air dropped
    ([28.8, 28.8], False)
    """
    a = _array(hu, "hu", ndims=(3,))
    if not (isinstance(spacing, (tuple, list, np.ndarray)) and len(spacing) == 3):
        raise ValueError(f"spacing must be three numbers (x, y, z) in mm, got {spacing!r}")
    spacing = _spacing(spacing, 3)
    _positive(close_radius, "close_radius", integer=True, allow_zero=True)
    check_int(close_radius, "close_radius", low=0, high=20, why_high="vessels are a few pixels wide; time")
    air_hu = check_finite_number(air_hu, "air_hu", "a HU threshold between -1000 and 0")
    min_lung_ml = check_finite_number(min_lung_ml, "min_lung_ml", "a volume in mL")
    airway_max_mm2 = check_finite_number(airway_max_mm2, "airway_max_mm2", "an area in mm^2")
    if min_lung_ml < 0 or airway_max_mm2 < 0:
        raise ValueError(f"min_lung_ml and airway_max_mm2 must be >= 0, got {min_lung_ml}, {airway_max_mm2}")
    if not (-1000 < air_hu < 0):
        raise ValueError(f"air_hu must be between -1000 and 0 HU, got {air_hu}")
    voxel_ml = float(np.prod(spacing)) / 1000.0

    air = a < air_hu
    inner = np.stack([_clear_border_2d(s) for s in air])

    six = ndi.generate_binary_structure(3, 1)
    min_voxels = min_lung_ml / voxel_ml
    lungs_labels = None
    for r in (0, 1, 2, 3):
        eroded = inner if r == 0 else ndi.binary_erosion(inner, structure=_disk(r, 3))
        labels, count = ndi.label(eroded, structure=six)
        sizes = _label_sizes(labels, count)
        big = np.argsort(sizes)[::-1][:2]
        if count >= 2 and sizes[big[1]] >= min_voxels * 0.5:
            lungs_labels = (labels, big, r)
            break
    if lungs_labels is None:  # one lung visible (or lungs fused): keep the largest component
        lab1 = largest_components(inner, 1)
        parts = [lab1] if lab1.sum() >= min_voxels else []
    else:
        labels, big, r = lungs_labels
        parts = []
        for k in big:
            p = labels == k
            if r > 0:
                p = ndi.binary_dilation(p, structure=_disk(r, 3)) & inner
            parts.append(p)
        if len(parts) == 2:
            both = parts[0] & parts[1]
            parts = [p & ~both for p in parts]
            # keep the main body of each part (dilation may re-attach small pockets)
            parts = [largest_components(p, 1) for p in parts]
        parts = [p for p in parts if p.sum() >= min_voxels]
    # free the label volume (int32, 4 bytes a voxel) and the erosion before the next steps: peak memory
    lungs_labels = labels = eroded = None
    two = np.zeros(a.shape, dtype=bool)
    for p in parts:
        two |= p
    body = body_mask(a, air_hu)
    airway = _central_airway(two, body, spacing, max_area_mm2=airway_max_mm2)
    parts = [p & ~airway for p in parts]
    two &= ~airway
    del airway

    closed = [_close_and_fill(p, close_radius) & body for p in parts]
    del parts
    if len(closed) == 2:
        # closing must not glue the lungs together again: lung A loses every voxel that
        # touches (6-neighbourhood) lung B, so the two stay separate components
        closed[0] &= ~ndi.binary_dilation(closed[1], structure=six)
    filled = np.zeros(a.shape, dtype=bool)
    for c in closed:
        filled |= c
    del closed
    filled &= body
    labels, _ = ndi.label(filled, structure=six)
    vols = sorted((float(v) * voxel_ml for v in _label_sizes(labels)[1:] if v * voxel_ml >= 1.0),
                  reverse=True)
    steps = {
        f"1 air (HU < {air_hu:g})": air,
        "2 air inside the body": inner,
        "3 two lungs (airways, gas removed)": two,
        f"4 vessels filled (closing r={close_radius}, fill holes)": filled,
    }
    return LungSegmentation(mask=filled, steps=steps, body=body, voxel_volume_ml=voxel_ml,
                            component_volumes_ml=vols)


@dataclass(frozen=True)
class RegionSize:
    """Result of :func:`region_size`: the voxel count and the physical size of a mask.

    ``volume_ml``: for a 3-D mask its volume; for one slice (2-D) the *slab* volume, area x slice spacing.
    ``area_mm2``: the in-plane area (2-D masks only). ``slices``: first and last slice the region
    touches (3-D masks only; ``None`` if empty).
    """

    voxels: int
    volume_ml: float
    area_mm2: float | None = None
    slices: tuple[int, int] | None = None


def region_size(mask: np.ndarray, spacing: Sequence[float] = (1.0, 1.0, 1.0)) -> RegionSize:
    """Size of a (grown) region: voxels x voxel volume, 1 mL = 1000 mm^3. ``spacing`` is (x, y, z) mm
    (``LungCT.spacing``); a 2-D mask is one slice of that volume (area, and slab volume with the z
    spacing). Used in 04 §4 (exercise 4) and §6.

    >>> m = np.zeros((4, 10, 10), bool); m[1:3, 2:7, 2:6] = True       # 2 slices of 5 x 4 voxels
    >>> region_size(m, (0.5, 0.5, 2.0))
    RegionSize(voxels=40, volume_ml=0.02, area_mm2=None, slices=(1, 2))
    >>> region_size(m[1], (0.5, 0.5, 2.0))                              # one slice: 20 px of 0.25 mm^2
    RegionSize(voxels=20, volume_ml=0.01, area_mm2=5.0, slices=None)
    """
    m = _mask(mask, "mask", ndims=(2, 3))
    sx, sy, sz = _spacing(spacing, 3)
    n = int(np.count_nonzero(m))
    if m.ndim == 2:
        area = n * sx * sy
        return RegionSize(voxels=n, volume_ml=area * sz / 1000.0, area_mm2=area)
    zs = np.flatnonzero(m.any(axis=(1, 2)))
    return RegionSize(voxels=n, volume_ml=n * sx * sy * sz / 1000.0,
                      slices=(int(zs[0]), int(zs[-1])) if zs.size else None)


# =============================================================================================
# overlap metrics
# =============================================================================================
def _two_masks(a, b):
    ma = _mask(a, "a", ndims=(1, 2, 3))
    mb = _mask(b, "b", ndims=(1, 2, 3))
    if ma.shape != mb.shape:
        raise ValueError(f"b shape {mb.shape} differs from a shape {ma.shape}")
    return ma, mb


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient ``2|A∩B| / (|A| + |B|)``; 1.0 when both masks are empty.

    >>> dice(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
    0.6666666666666666
    """
    ma, mb = _two_masks(a, b)
    total = int(ma.sum()) + int(mb.sum())
    return 1.0 if total == 0 else 2.0 * int((ma & mb).sum()) / total


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union (Jaccard) ``|A∩B| / |A∪B|``; 1.0 when both masks are empty.

    >>> iou(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
    0.5
    """
    ma, mb = _two_masks(a, b)
    union = int((ma | mb).sum())
    return 1.0 if union == 0 else int((ma & mb).sum()) / union


def hausdorff(a: np.ndarray, b: np.ndarray, spacing: Sequence[float] | None = None, *,
              spacing_xyz: Sequence[float] | None = None) -> float:
    """Symmetric Hausdorff distance between the voxel sets of two masks: the largest distance
    from a voxel of one mask to the nearest voxel of the other; in mm when a spacing is
    given, else in pixels.

    Two ways to give the voxel size (at most one):

    * ``spacing_xyz`` - SimpleITK order ``(x, y[, z])``, as ``lung_mask``, ``shape_features``
      and ``LungCT.spacing`` use (pass ``ct.spacing`` here);
    * ``spacing`` - **numpy order** ``((z,) y, x)``, the axis order of the arrays (kept for
      existing code; ``spacing=ct.spacing[::-1]`` equals ``spacing_xyz=ct.spacing``).

    Computed with Euclidean distance transforms; equals SimpleITK ``HausdorffDistance``
    and ``scipy.spatial.distance.directed_hausdorff`` (both directions).

    >>> a = np.zeros((5, 5), bool); a[1, 1] = True; b = np.zeros((5, 5), bool); b[1, 4] = True
    >>> hausdorff(a, b)
    3.0
    >>> hausdorff(a, b, spacing_xyz=(0.5, 2.0))   # x (columns) 0.5 mm, y (rows) 2 mm
    1.5
    """
    ma, mb = _two_masks(a, b)
    if not ma.any() or not mb.any():
        raise ValueError("hausdorff needs two non-empty masks (a or b has no foreground voxel)")
    axes = "z, y, x" if ma.ndim == 3 else "y, x"
    if spacing is not None and spacing_xyz is not None:
        raise ValueError("give spacing (numpy order) or spacing_xyz (SimpleITK order), not both")
    if spacing_xyz is not None:
        spacing = _spacing(spacing_xyz, ma.ndim, "spacing_xyz", ", ".join(reversed(axes.split(", "))))[::-1]
    elif spacing is None:
        spacing = (1.0,) * ma.ndim
    else:
        spacing = _spacing(spacing, ma.ndim, "spacing", f"numpy order {axes}")
    ma, mb = _joint_crop(ma, mb)
    d_to_b = ndi.distance_transform_edt(~mb, sampling=spacing)
    d_to_a = ndi.distance_transform_edt(~ma, sampling=spacing)
    return float(max(d_to_b[ma].max(), d_to_a[mb].max()))


def _joint_crop(ma: np.ndarray, mb: np.ndarray, margin: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Both masks cut to the bounding box of their union (plus ``margin``).

    Every voxel of either mask lies inside it, so nearest-voxel distances and surfaces are unchanged; the
    distance transforms then run on the box instead of the whole volume (04's tumour vs box: 300 MiB less).
    """
    idx = np.nonzero(ma | mb)
    sl = tuple(slice(max(int(i.min()) - margin, 0), int(i.max()) + margin + 1) for i in idx)
    return ma[sl], mb[sl]


def _spacing_numpy(ndim: int, spacing, spacing_xyz) -> tuple[float, ...]:
    axes = "z, y, x" if ndim == 3 else ("y, x" if ndim == 2 else "x")
    if spacing is not None and spacing_xyz is not None:
        raise ValueError("give spacing (numpy order) or spacing_xyz (SimpleITK order), not both")
    if spacing_xyz is not None:
        return _spacing(spacing_xyz, ndim, "spacing_xyz", ", ".join(reversed(axes.split(", "))))[::-1]
    if spacing is None:
        return (1.0,) * ndim
    return _spacing(spacing, ndim, "spacing", f"numpy order {axes}")


def _surface(m: np.ndarray) -> np.ndarray:
    """Boundary voxels: in the mask with at least one face neighbour outside it (outside the array counts)."""
    return m & ~ndi.binary_erosion(m, structure=ndi.generate_binary_structure(m.ndim, 1), border_value=0)


def surface_distances(a: np.ndarray, b: np.ndarray, spacing: Sequence[float] | None = None, *,
                      spacing_xyz: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distances from every surface voxel of ``a`` to the nearest surface voxel of ``b``, and back.

    The surface of a mask is its voxels with a face neighbour outside it. Returns ``(d_ab, d_ba)`` (mm with a
    spacing, else voxels; same spacing conventions as :func:`hausdorff`). The basis of :func:`hd95` and
    :func:`assd`; checked against a brute-force ``scipy.spatial.distance.cdist`` over SimpleITK's contour
    voxels (``BinaryContour``) in the tests. Used in 04 §6.

    >>> a = np.zeros((6, 6), bool); a[1:4, 1:4] = True; b = np.zeros((6, 6), bool); b[1:4, 2:5] = True
    >>> d_ab, d_ba = surface_distances(a, b)
    >>> sorted(d_ab.tolist())      # 8 surface voxels of a; the column x=1 and a's (2, 3) are 1 px off b's surface
    [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    """
    ma, mb = _two_masks(a, b)
    if not ma.any() or not mb.any():
        raise ValueError("surface distances need two non-empty masks (a or b has no foreground voxel)")
    sp = _spacing_numpy(ma.ndim, spacing, spacing_xyz)
    ma, mb = _joint_crop(ma, mb)
    sa, sb = _surface(ma), _surface(mb)
    d_ab = ndi.distance_transform_edt(~sb, sampling=sp)[sa]
    d_ba = ndi.distance_transform_edt(~sa, sampling=sp)[sb]
    return d_ab, d_ba


def hd95(a: np.ndarray, b: np.ndarray, spacing: Sequence[float] | None = None, *,
         spacing_xyz: Sequence[float] | None = None) -> float:
    """95th-percentile Hausdorff distance: the 95th percentile of all surface distances in both directions
    (pooled, as MedPy's ``hd95``). Unlike :func:`hausdorff` (the maximum), one stray voxel cannot dominate it.
    Used in 04 §6.

    >>> a = np.zeros((20, 20), bool); a[5:15, 5:15] = True
    >>> b = a.copy(); b[0, 0] = True                          # one stray voxel 7 px away
    >>> hausdorff(a, b) > 7, hd95(a, b)
    (True, 0.0)
    """
    d_ab, d_ba = surface_distances(a, b, spacing, spacing_xyz=spacing_xyz)
    return float(np.percentile(np.concatenate([d_ab, d_ba]), 95))


def assd(a: np.ndarray, b: np.ndarray, spacing: Sequence[float] | None = None, *,
         spacing_xyz: Sequence[float] | None = None) -> float:
    """Average symmetric surface distance: the mean of all surface distances of ``a`` to ``b`` and ``b`` to
    ``a``, ``(Σ d_ab + Σ d_ba) / (|S_a| + |S_b|)``; 0 for identical masks. Used in 04 §6.

    >>> a = np.zeros((6, 6), bool); a[1:4, 1:4] = True; b = np.zeros((6, 6), bool); b[1:4, 2:5] = True
    >>> assd(a, b)                 # 8 of the 16 surface distances are 1 px
    0.5
    """
    d_ab, d_ba = surface_distances(a, b, spacing, spacing_xyz=spacing_xyz)
    return float((d_ab.sum() + d_ba.sum()) / (d_ab.size + d_ba.size))


# =============================================================================================
# tumour region growing from an annotated box
# =============================================================================================
def box_seed(image: np.ndarray, box_mask: np.ndarray, lower: float, upper: float) -> tuple[int, ...]:
    """A seed inside the box: the in-range voxel of the box closest to the box centre.

    >>> img = np.zeros((5, 5)); img[2, 3] = 50; box = np.zeros((5, 5), bool); box[1:4, 1:4] = True
    >>> box_seed(img, box, 10, 100)
    (2, 3)
    """
    a = _array(image)
    m = _mask(box_mask, "box_mask")
    if m.shape != a.shape:
        raise ValueError(f"box_mask shape {m.shape} differs from image shape {a.shape}")
    if not m.any():
        raise ValueError("box_mask is empty: it must mark the annotated box")
    _bounds(lower, upper)
    idx = np.argwhere(m)
    centre = (idx.min(0) + idx.max(0)) / 2.0
    cand = np.argwhere(m & (a >= lower) & (a <= upper))
    if len(cand) == 0:
        raise ValueError(f"no voxel inside the box has a value in [{lower}, {upper}]; widen the range")
    best = cand[np.argmin(((cand - centre) ** 2).sum(1))]
    return tuple(int(v) for v in best)


@dataclass
class TumourGrowth:
    """Result of :func:`grow_from_box`."""

    region: np.ndarray
    seed: tuple[int, ...]
    dice: float
    iou: float
    inside_box: float     # fraction of the region that lies inside the box
    box_covered: float    # fraction of the box covered by the region
    voxels: int


def grow_from_box(image: np.ndarray, box_mask: np.ndarray, lower: float = -300.0, upper: float = 200.0,
                  roi_margin: int | None = None, connectivity: str | int = "face",
                  seed: Sequence[int] | None = None) -> TumourGrowth:
    """Grow a tumour region from a seed inside an annotated box and compare it with the box.

    ``roi_margin=None`` grows freely (on this CT the tumour touches the mediastinum, so the
    region leaks); an int restricts growth to the box dilated in-plane by that many pixels
    (voxels outside are set below ``lower``). A box is *not* a segmentation: even a perfect
    tumour mask has Dice < 1 with its bounding box.

    >>> img = np.full((20, 20), -800.0); img[5:15, 5:15] = 30       # a 10x10 "tumour" in lung
    >>> box = np.zeros((20, 20), bool); box[4:16, 4:16] = True      # a 12x12 annotation box
    >>> g = grow_from_box(img, box)
    >>> g.voxels, g.inside_box, round(g.dice, 2)     # the whole tumour, Dice < 1 vs the box
    (100, 1.0, 0.82)
    """
    a = _array(image)
    m = _mask(box_mask, "box_mask")
    if m.shape != a.shape:
        raise ValueError(f"box_mask shape {m.shape} differs from image shape {a.shape}")
    if not m.any():
        raise ValueError("box_mask is empty: it must mark the annotated box")
    _bounds(lower, upper)
    if seed is None:
        seed = box_seed(a, m, lower, upper)
    work = a
    if roi_margin is not None:
        _positive(roi_margin, "roi_margin", integer=True, allow_zero=True)
        check_int(roi_margin, "roi_margin", low=0, high=MAX_RADIUS, why_high="time; use None to grow freely")
        roi = m if roi_margin == 0 else ndi.binary_dilation(m, structure=_disk(roi_margin, a.ndim))
        fill = float(lower) - 1.0
        # keep the image's dtype when the fill value fits it (int16 HU: no float64 copy of the CT)
        dtype = a.dtype if (np.issubdtype(a.dtype, np.integer) and fill.is_integer()
                            and np.iinfo(a.dtype).min <= fill <= np.iinfo(a.dtype).max) else np.float64
        work = np.where(roi, a, np.array(fill, dtype=dtype)).astype(dtype, copy=False)
    region = region_grow(work, seed, lower, upper, connectivity)
    inter = int((region & m).sum())
    n = int(region.sum())
    return TumourGrowth(region=region, seed=tuple(int(v) for v in seed), dice=dice(region, m), iou=iou(region, m),
                        inside_box=inter / n if n else 0.0, box_covered=inter / int(m.sum()), voxels=n)
