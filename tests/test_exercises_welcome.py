"""The exercise checks of 00_welcome (the window/level one is also covered in test_environment_course.py):
right -> True, typical mistakes -> False with a specific hint, None -> unanswered, wrong type -> TypeError."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from medlab import datasets
from medlab.exercises import welcome as ex


def _wrong(fb, hint_part):
    assert not fb and hint_part in fb.hint, (str(fb), hint_part)


@pytest.mark.parametrize("check", [ex.check_hex_digits_changed, ex.check_frame_links, ex.check_sagittal_stretch],
                         ids=lambda c: c.__name__)
def test_unanswered(check):
    fb = check(None)
    assert not fb and "no answer yet" in fb.message and "None" in fb.hint


def test_flipped_bit_changes_the_digest_and_leaves_the_file_alone():
    path = datasets.verify(ex.CHECKSUM_TASK["file"])
    before = path.read_bytes()
    digits, bits = ex.flipped_bit_digest_change()
    assert path.read_bytes() == before and hashlib.sha256(before).hexdigest() == datasets.CHECKSUMS[
        ex.CHECKSUM_TASK["file"]]
    assert 0 < digits <= 64 and 0 < bits <= 256
    # over many flipped bits the averages approach 64 * 15/16 digits and 128 bits
    runs = [ex.flipped_bit_digest_change(byte=b, bit=b % 8) for b in range(0, 64000, 1000)]
    d, b = np.mean([r[0] for r in runs]), np.mean([r[1] for r in runs])
    assert abs(d - 60) < 1.5 and abs(b - 128) < 5, (d, b)
    with pytest.raises(ValueError, match="byte must be"):
        ex.flipped_bit_digest_change(byte=10 ** 9)


def test_hex_digits_changed():
    assert ex.check_hex_digits_changed(60) and ex.check_hex_digits_changed(64 * 15 / 16)
    assert ex.check_hex_digits_changed(57)          # one experiment's count is a fine answer too
    _wrong(ex.check_hex_digits_changed(1), "not a sum")
    _wrong(ex.check_hex_digits_changed(32), "4 bits")
    _wrong(ex.check_hex_digits_changed(128), "hex digits (64")
    _wrong(ex.check_hex_digits_changed(100), "only 64")
    _wrong(ex.check_hex_digits_changed(45), "(1/2)^4")
    with pytest.raises(TypeError, match="answer must be a number"):
        ex.check_hex_digits_changed("sixty")


RIGHT = {k: link for k, (link, _) in ex._FRAME_KEY.items()}


def test_frame_links():
    assert set(RIGHT.values()) == set(ex.FRAME_LINKS)           # every link is used at least once
    assert set(RIGHT) == set(ex.FRAME_TASK)
    assert not any(link in step.split() for step in ex.FRAME_TASK.values() for link in ex.FRAME_LINKS)
    assert ex.check_frame_links(RIGHT)
    assert ex.check_frame_links({k.upper(): v.upper() + " " for k, v in RIGHT.items()})
    early = dict(RIGHT, b="features")                          # segmentation called a feature
    _wrong(ex.check_frame_links(early), "Step b")
    assert "earlier" in ex.check_frame_links(early).hint
    late = dict(RIGHT, d="features")                           # the SVM called a feature
    assert "later" in ex.check_frame_links(late).hint
    _wrong(ex.check_frame_links({"a": "image"}), "Give every step")
    _wrong(ex.check_frame_links(dict(RIGHT, e="evaluation")), "link names")
    with pytest.raises(TypeError, match="dict"):
        ex.check_frame_links(["image", "features"])
    with pytest.raises(TypeError, match="link name"):
        ex.check_frame_links(dict(RIGHT, a=1))


def test_frame_links_agree_with_the_notebook_table():
    """The steps' links are those the learning-path table of 00 §2 gives their units."""
    import json

    from medlab.course import NOTEBOOK_DIR

    text = "".join("".join(c["source"]) for c in json.loads((NOTEBOOK_DIR / "00_welcome.ipynb").read_text())["cells"])
    for link in ex.FRAME_LINKS:
        assert f"| **{link}** |" in text, link


def test_sagittal_stretch():
    head = datasets.load_head_ct()
    sx, sy, sz = head.GetSpacing()
    right = sz / sy
    factor, _, voxels, drawn = ex.sagittal_stretch()
    assert factor == pytest.approx(right)
    assert drawn[0] / voxels[0] / (drawn[1] / voxels[1]) == pytest.approx(right, abs=0.01)   # the viewer does it
    assert ex.check_sagittal_stretch(right) and ex.check_sagittal_stretch(0.47) and ex.check_sagittal_stretch(15 / 32)
    _wrong(ex.check_sagittal_stretch(1 / right), "Upside down")
    _wrong(ex.check_sagittal_stretch(8 / 0.646484375), "chest CT")
    _wrong(ex.check_sagittal_stretch(1), "not cubes")
    _wrong(ex.check_sagittal_stretch(3), "Drawn size")
    with pytest.raises(TypeError, match="answer must be a number"):
        ex.check_sagittal_stretch(None or "1.5/3.2")
