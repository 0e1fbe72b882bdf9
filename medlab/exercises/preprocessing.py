"""Exercise checks for 04_preprocessing: equalisation, Otsu, region volume, Dice, the filter for salt and pepper.

Every right answer is computed here with :mod:`medlab.preprocess` or a reference library (scikit-image;
nothing is hard-coded), and typical mistakes get a specific hint. (01's checks are in
:mod:`medlab.exercises.medical_images`.)

>>> bool(check_dice(None))
False
>>> bool(check_dice(2 / 3))
True
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import Feedback, as_number

__all__ = [
    "EQ_TASK_IMAGE", "check_equalized_value", "check_equalize_function", "check_otsu_function", "VOLUME_TASK",
    "check_region_volume_ml", "DICE_TASK_A", "DICE_TASK_B", "check_dice", "SALT_TASK", "check_best_filter_for_salt",
    "VESSEL_TASK", "smallest_closing_radius", "check_closing_radius",
]


_number = as_number  # the one answer parser (medlab.exercises.as_number)


#: A tiny image whose equalised value of 20 the learner computes by hand.
EQ_TASK_IMAGE = np.array([[10, 10, 20, 20], [20, 30, 40, 40]], dtype=np.int16)


def check_equalized_value(answer: Any) -> Feedback:
    """The value that histogram equalisation gives the pixels of value 20 in :data:`EQ_TASK_IMAGE`."""
    from skimage.exposure import equalize_hist

    task = f"Equalise {EQ_TASK_IMAGE.tolist()}: which value do the pixels equal to 20 get?"
    if answer is None:
        return Feedback.unanswered(task)
    value = _number(answer, "answer")
    right = float(equalize_hist(EQ_TASK_IMAGE)[EQ_TASK_IMAGE == 20][0])
    if abs(value - right) < 1e-6:
        return Feedback(True, f"CDF(20) = (# pixels ≤ 20) / (# pixels) = {right:g}.")
    n = EQ_TASK_IMAGE.size
    if abs(value - (EQ_TASK_IMAGE < 20).sum() / n) < 1e-6:
        hint = "Count the pixels *equal* to 20 too: the CDF is P(value ≤ 20)."
    elif abs(value - (EQ_TASK_IMAGE == 20).sum() / n) < 1e-6:
        hint = "That is the histogram (share of pixels equal to 20); equalisation uses the cumulative sum."
    else:
        hint = "out = CDF(v) = (number of pixels with value ≤ v) / (number of pixels)."
    return Feedback(False, f"{value:g} is not it.", hint=hint)


def _function_check(fn: Any, task: str, cases: list, reference: Callable, compare: Callable,
                    name: str) -> Feedback:
    if fn is None:
        return Feedback.unanswered(task)
    if not callable(fn):
        raise TypeError(f"answer must be a function, got {type(fn).__name__}")
    for k, img in enumerate(cases):
        try:
            got = fn(img.copy())
        except Exception as exc:  # noqa: BLE001 - a learner's bug must not look like our crash
            return Feedback(False, f"your function raised {type(exc).__name__}: {exc} (test image {k}).",
                            hint="Run it on a small array first and print the intermediate results.")
        ok, hint = compare(got, reference(img), img)
        if not ok:
            return Feedback(False, f"test image {k} (shape {img.shape}, dtype {img.dtype}): {name} differs.",
                            hint=hint)
    return Feedback(True, f"your {name} agrees with the reference on {len(cases)} test images.")


def _test_images() -> list:
    rng = np.random.default_rng(7)
    return [
        rng.integers(0, 256, (32, 32)).astype(np.uint8),
        rng.integers(-1024, 400, (40, 30)).astype(np.int16),
        np.concatenate([rng.normal(-800, 60, 600), rng.normal(40, 30, 400)]).reshape(25, 40),
        rng.random((17, 23)),
    ]


def check_equalize_function(fn: Any) -> Feedback:
    """A learner's ``fn(image) -> equalised image``, compared with ``skimage.exposure.equalize_hist``."""
    from skimage.exposure import equalize_hist

    def compare(got, ref, img):
        got = np.asarray(got)
        if got.shape != img.shape:
            return False, f"return an image of the input's shape {img.shape}, got {got.shape}."
        if np.allclose(got, ref, atol=1e-6):
            return True, ""
        if np.allclose(got * 255, ref * 255, atol=1.0):
            return False, "Close but not equal: interpolate the CDF at the bin centres with np.interp."
        return False, ("Use medlab.preprocess.cdf(image) (or the histogram's cumulative sum divided by the "
                       "pixel count) and np.interp(image, bin_centres, cdf).")

    return _function_check(fn, "Write my_equalize(image) that maps every pixel through the image's CDF.",
                           _test_images(), equalize_hist, compare, "equalisation")


def check_otsu_function(fn: Any) -> Feedback:
    """A learner's ``fn(image) -> threshold`` compared with ``skimage.filters.threshold_otsu``
    (any threshold giving the same foreground ``image > t`` counts)."""
    from skimage.filters import threshold_otsu

    def compare(got, ref, img):
        try:
            t = float(got)
        except (TypeError, ValueError):
            return False, f"return one number (the threshold), got {got!r}."
        if np.array_equal(img > t, img > ref):
            return True, ""
        if abs(t - float(np.mean(img))) < 1e-9:
            return False, "The mean is not Otsu's threshold: maximise w0·w1·(mu0 − mu1)² over all thresholds."
        return False, ("For every candidate t compute the class weights w0, w1 and means mu0, mu1 from the "
                       "histogram; return the t with the largest w0·w1·(mu0 − mu1)².")

    return _function_check(fn, "Write my_otsu(image) returning the threshold that maximises the "
                               "between-class variance.", _test_images(), threshold_otsu, compare, "threshold")


#: A region of this many voxels in a CT with this spacing (x, y, z mm): what is its volume in mL?
VOLUME_TASK = dict(voxels=12_000, spacing_xyz=(0.646484375, 0.646484375, 8.0))


def check_region_volume_ml(answer: Any) -> Feedback:
    """Volume in mL of :data:`VOLUME_TASK` (1 mL = 1000 mm³)."""
    t = VOLUME_TASK
    task = f"A grown region has {t['voxels']} voxels of {t['spacing_xyz']} mm. What is its volume in mL?"
    if answer is None:
        return Feedback.unanswered(task)
    value = _number(answer, "answer")
    vox_mm3 = float(np.prod(t["spacing_xyz"]))
    right = t["voxels"] * vox_mm3 / 1000.0
    if abs(value - right) <= 0.01 * right:
        return Feedback(True, f"{t['voxels']} × {vox_mm3:.3f} mm³ = {right * 1000:.0f} mm³ = {right:.1f} mL.")
    sx, sy, _ = t["spacing_xyz"]
    if abs(value - right * 1000) <= 0.01 * right * 1000:
        hint = "That is mm³; 1 mL = 1 cm³ = 1000 mm³."
    elif abs(value - t["voxels"] * sx * sy / 1000) <= 0.01 * right:
        hint = "A voxel has three sides: multiply by the slice spacing (z) too."
    else:
        hint = "volume = voxels × spacing_x × spacing_y × spacing_z (mm³), then divide by 1000."
    return Feedback(False, f"{value:g} mL is not right.", hint=hint)


#: 04 §5: a vessel crossing the lung leaves a round hole of this diameter in the air mask; pixels of 04's CT.
VESSEL_TASK = dict(diameter_mm=5.0, pixel_mm=0.646484375)


def _hole_mask(diameter_px: float) -> np.ndarray:
    r = int(np.ceil(diameter_px)) + 2
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    mask = np.ones(yy.shape, dtype=bool)
    mask[xx ** 2 + yy ** 2 <= (diameter_px / 2.0) ** 2] = False
    return mask


def smallest_closing_radius(diameter_px: float, max_radius: int = 20) -> int:
    """The smallest disk radius (pixels) for which :func:`medlab.preprocess.binary_close` fills a round hole of
    ``diameter_px`` pixels in an otherwise full mask (found by trying radii 1, 2, ...).

    >>> smallest_closing_radius(5.0)
    3
    """
    from .. import preprocess as pp

    d = float(diameter_px)
    if not (0 < d <= 2 * max_radius):
        raise ValueError(f"diameter_px must be in (0, {2 * max_radius}] pixels, got {diameter_px!r}")
    mask = _hole_mask(d)
    for r in range(1, max_radius + 1):
        if pp.binary_close(mask, r).all():
            return r
    raise ValueError(f"no radius up to {max_radius} fills a hole of {d} px")  # pragma: no cover - d is bounded


def check_closing_radius(answer: Any) -> Feedback:
    """04 §5: the smallest closing radius in *pixels* that fills :data:`VESSEL_TASK`'s vessel hole."""
    t = VESSEL_TASK
    task = (f"A vessel leaves a round hole {t['diameter_mm']:g} mm across in the lung mask; pixels are "
            f"{t['pixel_mm']:.3f} mm. What is the smallest radius r (in pixels) for which "
            "pp.binary_close(mask, r) fills it?")
    if answer is None:
        return Feedback.unanswered(task)
    value = _number(answer, "answer")
    d_px = t["diameter_mm"] / t["pixel_mm"]
    right = smallest_closing_radius(d_px)
    if value == right:
        return Feedback(True, f"{t['diameter_mm']:g} mm = {d_px:.1f} px; a disk of radius {right} px no longer fits "
                              f"inside the hole, so dilation covers it and erosion cannot open it again.")
    if abs(value - t["diameter_mm"] / 2) < 0.01 or abs(value - t["diameter_mm"]) < 0.01:
        hint = "That is in millimetres: convert to pixels first (divide by the pixel size)."
    elif abs(value - d_px) < 1.0:
        hint = f"{d_px:.1f} px is the hole's diameter; the structuring element is described by its radius."
    elif value < right:
        hint = (f"Too small: a disk of radius {value:g} px still fits inside a hole of {d_px:.1f} px, and erosion "
                "re-opens what dilation closed. Try it: pp.binary_close on a small mask with a hole.")
    else:
        hint = "That works but is not the smallest: a bigger disk also erases real details (e.g. narrow airways)."
    return Feedback(False, f"r = {value:g} px is not the smallest radius that fills it.", hint=hint)


#: Two masks (e.g. a grown region and a reference) for the Dice exercise.
DICE_TASK_A = np.array([[0, 1, 1, 1], [0, 1, 1, 1], [0, 0, 0, 0]], dtype=bool)
DICE_TASK_B = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=bool)


def check_dice(answer: Any) -> Feedback:
    """Dice coefficient of :data:`DICE_TASK_A` and :data:`DICE_TASK_B`."""
    from ..preprocess import dice, iou

    task = "Compute the Dice coefficient 2|A∩B| / (|A| + |B|) of DICE_TASK_A and DICE_TASK_B."
    if answer is None:
        return Feedback.unanswered(task)
    value = _number(answer, "answer")
    right = dice(DICE_TASK_A, DICE_TASK_B)
    if abs(value - right) < 1e-6:
        return Feedback(True, f"|A∩B| = {int((DICE_TASK_A & DICE_TASK_B).sum())}, |A| + |B| = "
                              f"{int(DICE_TASK_A.sum() + DICE_TASK_B.sum())}: Dice = {right:.4g}.")
    if abs(value - iou(DICE_TASK_A, DICE_TASK_B)) < 1e-6:
        hint = "That is the IoU |A∩B| / |A∪B|. Dice puts |A| + |B| below and 2|A∩B| above."
    elif abs(value - right / 2) < 1e-6:
        hint = "Don't forget the factor 2 in 2|A∩B|."
    else:
        hint = "Count the voxels: |A∩B| (in both), |A| and |B|."
    return Feedback(False, f"{value:g} is not the Dice coefficient.", hint=hint)


#: Salt-and-pepper noise on a slice of the embedded CT; which filter restores it best (PSNR)?
SALT_TASK = dict(slice_index=15, level=0.05, seed=0, options=("median", "gaussian", "curvature_flow"), size=1)


def check_best_filter_for_salt(answer: Any) -> Feedback:
    """Which filter of ``SALT_TASK['options']`` gives the highest PSNR on the salted CT slice."""
    from ..datasets import load_lung_ct
    from ..preprocess import add_noise, denoise, psnr

    t = SALT_TASK
    task = (f"Salt-and-pepper noise ({t['level']:.0%} of the pixels) on CT slice {t['slice_index']}: which of "
            f"{list(t['options'])} (size {t['size']}) restores it best (highest PSNR)?")
    if answer is None:
        return Feedback.unanswered(task)
    if not isinstance(answer, str):
        raise TypeError(f"answer must be one of {list(t['options'])} (a string), got {answer!r}")
    if answer not in t["options"]:
        return Feedback(False, f"{answer!r} is not one of the options.", hint=f"Choose from {list(t['options'])}.")
    clean = np.array(load_lung_ct().array[t["slice_index"]], dtype=np.float64)  # .array is a copy
    noisy = add_noise(clean, "salt_pepper", t["level"], seed=t["seed"])
    rng = float(clean.max() - clean.min())
    scores = {k: psnr(clean, denoise(noisy, k, t["size"]), rng) for k in t["options"]}
    best = max(scores, key=scores.get)
    table = ", ".join(f"{k} {v:.1f} dB" for k, v in scores.items())
    if answer == best:
        return Feedback(True, f"PSNR: {table}. A salt pixel is an outlier: the median ignores it, a weighted "
                              "average (Gaussian) spreads it over its neighbours.")
    return Feedback(False, f"{answer} gives {scores[answer]:.1f} dB.",
                    hint="Salt and pepper are extreme outliers. Which statistic of a window ignores outliers?")
