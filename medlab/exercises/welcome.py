"""Exercise checks for 00_welcome: checksums, the article's frame, window/level arithmetic, voxel aspect.

Every right answer is computed here (hashlib on the real data file, :mod:`medlab.datasets`,
:mod:`medlab.display`); typical mistakes get a specific hint, and a wrong answer never raises.

>>> bool(check_window_for_range(400, 40))
True
>>> bool(check_hex_digits_changed(None))
False
"""
from __future__ import annotations

import hashlib
from typing import Any

from . import Feedback, as_number

__all__ = ["check_window_for_range", "TARGET_RANGE", "CHECKSUM_TASK", "check_hex_digits_changed",
           "flipped_bit_digest_change", "FRAME_LINKS", "FRAME_TASK", "check_frame_links",
           "ASPECT_TASK", "sagittal_stretch", "check_sagittal_stretch"]

#: The HU range the exercise asks for: soft tissue from fat-ish to contrast-enhanced vessels.
TARGET_RANGE = (-160.0, 240.0)

#: 00 §1: "one bit of a data file flips: how many of the 64 hex digits of its SHA-256 change?"
#: The check shows it on this embedded file (a copy in memory; nothing is written).
CHECKSUM_TASK = dict(file="chest_xray/00000001_000.png", byte=1000, bit=0)

#: The four links of the article's chain, in order (00 §2).
FRAME_LINKS = ("image", "features", "model", "diagnosis")

#: 00 §2: the steps to place on the chain (letter -> step). The links are in ``_FRAME_KEY``, so printing the
#: task does not print its answer.
FRAME_TASK: dict[str, str] = {
    "a": "convert the stored CT values to Hounsfield units with the rescale tags",
    "b": "segment the lungs by region growing",
    "c": "compute the GLCM texture contrast of the tumour region",
    "d": "fit an SVM on the texture values of labelled patients",
    "e": "report sensitivity and specificity on the test patients, with 95 % intervals",
}
_FRAME_KEY: dict[str, tuple[str, str]] = {
    "a": ("image", "it changes how the image's numbers are read, not what is measured from them"),
    "b": ("image", "it cleans the image / selects the region to analyse; nothing is measured or decided yet"),
    "c": ("features", "a texture value *describes* the image; it is the input of a model, not a decision"),
    "d": ("model", "the SVM is the classifier that learns from the features"),
    "e": ("diagnosis", "it judges the predictions against the truth: evaluation belongs to the diagnosis link"),
}

#: 00 §4: the head CT's sagittal view drawn to scale: by what factor is z stretched relative to y?
ASPECT_TASK = dict(image="head CT (headsq_ct.nii.gz)", view="sagittal")


def check_window_for_range(window, level) -> Feedback:
    """Is ``(window, level)`` the display window that maps exactly ``TARGET_RANGE`` to black..white?"""
    lo, hi = TARGET_RANGE
    task = f"Find W and L so that HU {lo:.0f} is black and HU {hi:.0f} is white."
    if window is None or level is None:
        return Feedback.unanswered(task)
    try:
        window, level = float(window), float(level)
    except (TypeError, ValueError):
        raise TypeError(f"window and level must be numbers (HU), got {window!r} and {level!r}") from None
    if abs(window - (hi - lo)) < 1e-6 and abs(level - (hi + lo) / 2) < 1e-6:
        return Feedback(True, f"W={window:g}, L={level:g} shows HU {lo:.0f} to {hi:.0f}.")
    shown = (level - window / 2, level + window / 2)
    if abs(window - (hi - lo)) >= 1e-6:
        hint = "The window W is the *width* of the HU range: W = upper - lower."
    else:
        hint = "The level L is the *centre* of the HU range: L = (lower + upper) / 2."
    return Feedback(False, f"W={window:g}, L={level:g} shows HU {shown[0]:g} to {shown[1]:g}.", hint=hint)


# --------------------------------------------------------------------------- §1 checksums
def flipped_bit_digest_change(file: str | None = None, byte: int | None = None, bit: int | None = None
                              ) -> tuple[int, int]:
    """Flip one bit of an embedded data file (in memory) and compare SHA-256 digests.

    Returns ``(hex digits that differ out of 64, bits that differ out of 256)``. The file is verified
    first (:func:`medlab.datasets.verify`) and only read.

    >>> digits, bits = flipped_bit_digest_change()
    >>> 40 < digits <= 64 and 64 < bits < 192
    True
    """
    from ..datasets import verify

    t = CHECKSUM_TASK
    file, byte, bit = (t["file"] if file is None else file, t["byte"] if byte is None else byte,
                       t["bit"] if bit is None else bit)
    data = bytearray(verify(file).read_bytes())
    if not 0 <= byte < len(data) or not 0 <= bit < 8:
        raise ValueError(f"byte must be in 0..{len(data) - 1} and bit in 0..7, got byte={byte}, bit={bit}")
    before = hashlib.sha256(data).hexdigest()
    data[byte] ^= 1 << bit
    after = hashlib.sha256(data).hexdigest()
    digits = sum(a != b for a, b in zip(before, after))
    bits = bin(int(before, 16) ^ int(after, 16)).count("1")
    return digits, bits


def check_hex_digits_changed(answer: Any) -> Feedback:
    """Expected number of the 64 hex digits of a SHA-256 that change when one bit of the file flips."""
    task = ("A SHA-256 digest is 64 hex digits (256 bits). If one bit of a data file flips, how many of the "
            "64 hex digits would you expect to change?")
    if answer is None:
        return Feedback.unanswered(task)
    v = as_number(answer, "answer")
    # a good hash changes each output bit with probability 1/2; a hex digit (4 bits) stays only if all 4 stay
    p_digit = 1.0 - 0.5 ** 4
    expected = 64 * p_digit
    sd = (64 * p_digit * (1 - p_digit)) ** 0.5
    digits, bits = flipped_bit_digest_change()
    shown = (f"On {CHECKSUM_TASK['file']} with one bit flipped, {digits} of 64 hex digits ({bits} of 256 bits) "
             f"changed.")
    if abs(v - expected) <= 3 * sd and v <= 64:
        return Feedback(True, f"each of the 256 bits flips with probability 1/2, so a hex digit stays the same only "
                              f"with probability (1/2)^4 = 1/16: 64 · 15/16 = {expected:g} digits on average. "
                              f"{shown} A checksum is not a sum: any change scrambles it, which is why a damaged "
                              "file is never used silently.")
    if v <= 4:
        hint = ("A cryptographic hash is not a sum that changes a little: one flipped input bit changes each "
                "output bit with probability 1/2.")
    elif abs(v - 32) <= 2:
        hint = ("Half of the *bits* change; but a hex digit holds 4 bits and stays the same only if all 4 stay "
                "(probability 1/16).")
    elif abs(v - 128) <= 8 or abs(v - 256) <= 8:
        hint = "Count hex digits (64 of them), not bits (256)."
    elif v > 64:
        hint = "There are only 64 hex digits."
    else:
        hint = "Each hex digit stays the same with probability (1/2)^4: multiply 64 by the chance that it changes."
    return Feedback(False, f"{answer} digits is not the expectation.", hint=hint)


# --------------------------------------------------------------------------- §2 the frame
def check_frame_links(answer: Any) -> Feedback:
    """``answer``: dict step letter -> link name (one of :data:`FRAME_LINKS`) for every step of FRAME_TASK."""
    task = ("Place each step of FRAME_TASK on its link of image -> features -> model -> diagnosis: "
            "answer = {'a': 'image', ...}.")
    if answer is None:
        return Feedback.unanswered(task)
    if not isinstance(answer, dict):
        raise TypeError(f"answer must be a dict {{step letter: link name}}, got {type(answer).__name__}")
    given = {str(k).strip().lower(): v for k, v in answer.items()}
    missing = [k for k in FRAME_TASK if k not in given]
    if missing:
        return Feedback(False, f"steps {missing} have no link yet.",
                        hint=f"Give every step {sorted(FRAME_TASK)} one of {list(FRAME_LINKS)}.")
    for k, v in given.items():
        if not isinstance(v, str):
            raise TypeError(f"answer[{k!r}] must be a link name (str), got {v!r}")
    unknown = {k: v for k, v in given.items() if v.strip().lower() not in FRAME_LINKS}
    if unknown:
        return Feedback(False, f"{unknown} are not links of the chain.",
                        hint=f"Use the link names {list(FRAME_LINKS)}.")
    wrong = [k for k, (link, _) in _FRAME_KEY.items() if given[k].strip().lower() != link]
    if not wrong:
        return Feedback(True, "; ".join(f"{k}: {link} ({why})" for k, (link, why) in _FRAME_KEY.items()) + ".")
    k = wrong[0]
    step, (link, _) = FRAME_TASK[k], _FRAME_KEY[k]
    said = given[k].strip().lower()
    if FRAME_LINKS.index(said) > FRAME_LINKS.index(link):
        hint = (f"Step {k} ({step}) comes earlier in the chain than '{said}': ask what it takes in and what it "
                "hands on.")
    else:
        hint = (f"Step {k} ({step}) comes later in the chain than '{said}': ask what it takes in and what it "
                "hands on.")
    return Feedback(False, f"{len(wrong)} of {len(FRAME_TASK)} steps are on the wrong link.", hint=hint)


# --------------------------------------------------------------------------- §4 voxels drawn to scale
def sagittal_stretch() -> tuple[float, tuple[float, float, float], tuple[int, int], tuple[int, int]]:
    """(z stretch relative to y for the head CT, its spacing (x, y, z), the sagittal plane's (z, y) voxel
    count, and the shape :func:`medlab.display.render_slice` draws it at).

    >>> factor, spacing, voxels, drawn = sagittal_stretch()
    >>> round(factor, 3), voxels, drawn
    (0.469, (93, 64), (44, 64))
    """
    import numpy as np

    from ..datasets import load_head_ct
    from ..display import render_slice

    head = load_head_ct()
    sx, sy, sz = head.GetSpacing()
    import SimpleITK as sitk

    vol = sitk.GetArrayViewFromImage(head)
    rgb = render_slice(np.asarray(vol), (sx, sy, sz), "sagittal", vol.shape[2] // 2, 1800, 400)
    return sz / sy, (sx, sy, sz), (vol.shape[0], vol.shape[1]), rgb.shape[:2]


def check_sagittal_stretch(answer: Any) -> Feedback:
    """Factor by which the viewer stretches z relative to y in the head CT's sagittal view (to keep proportions)."""
    task = ("The head CT's voxels are 3.2 x 3.2 mm in-plane and 1.5 mm apart along z. In the sagittal view, by what "
            "factor must one slice (z) be drawn taller than one in-plane pixel (y), so the head keeps its "
            "proportions? (Below 1 means shorter.)")
    if answer is None:
        return Feedback.unanswered(task)
    v = as_number(answer, "answer")
    right, (sx, sy, sz), voxels, shape = sagittal_stretch()
    if abs(v - right) <= 0.01:
        return Feedback(True, f"s_z / s_y = {sz:g} / {sy:.1f} = {right:.3f}: a 1.5 mm slice is thinner than a 3.2 mm "
                              f"pixel, so it is drawn shorter (the viewer draws the sagittal plane's {voxels[0]} x {voxels[1]} voxels "
                              f"as {shape[0]} x {shape[1]} pixels). The chest CT's 8 mm slices go the other way, "
                              "~12x taller.")
    if abs(v - 1 / right) <= 0.05:
        hint = "Upside down: divide the z spacing by the in-plane spacing (a thin slice is drawn *shorter*)."
    elif abs(v - 8.0 / 0.646484375) <= 0.2:
        hint = "That is the chest CT's factor; this is the head CT."
    elif abs(v - 1.0) <= 1e-6:
        hint = "These voxels are not cubes: 1.5 mm along z, 3.2 mm in-plane."
    else:
        hint = "Drawn size is proportional to physical size: compare the z spacing with the y spacing."
    return Feedback(False, f"{answer} is not the factor.", hint=hint)
