"""Unit 06: the chestxray256 data, medlab.training (models, fit, runs, augmentation, transfer learning)."""
from __future__ import annotations

import csv
import hashlib
import re

import numpy as np
import pytest

from medlab import datasets
from medlab.datasets import DatasetError


# --------------------------------------------------------------------------- chestxray256
@pytest.mark.parametrize("split,n,counts,subtypes", [("train", 400, [200, 200], [200, 133, 67]),
                                                     ("val", 90, [45, 45], [45, 30, 15]),
                                                     ("test", 180, [90, 90], [90, 60, 30])])
def test_chestxray256_shapes_and_counts(split, n, counts, subtypes):
    x, y, sub, pid = datasets.load_chestxray256(split)
    assert x.shape == (n, 256, 256) and x.dtype == np.uint8
    assert y.shape == sub.shape == pid.shape == (n,)
    assert np.bincount(y).tolist() == counts
    assert np.bincount(sub).tolist() == subtypes
    assert np.array_equal(y, (sub > 0).astype(y.dtype))      # subtype 1/2 is pneumonia
    assert len(set(pid.tolist())) == n                         # one image per patient
    assert 0 < x.std() and x.min() < 30 and x.max() > 220      # real images, not blank


def _person(p: str) -> str:
    """personNNN_bacteria and personNNN_virus are the same child: group on personNNN."""
    return re.sub(r"_(bacteria|virus)$", "", p)


def test_chestxray256_patient_disjoint_splits():
    pats = {s: set(datasets.load_chestxray256(s)[3].tolist()) for s in ("train", "val", "test")}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not pats[a] & pats[b]
        assert not {_person(p) for p in pats[a]} & {_person(p) for p in pats[b]}


def test_chestxray256_no_identical_image_across_splits():
    digests = {s: {hashlib.sha1(im.tobytes()).hexdigest() for im in datasets.load_chestxray256(s)[0]}
               for s in ("train", "val", "test")}
    assert not digests["train"] & digests["val"] and not digests["train"] & digests["test"]
    assert not digests["val"] & digests["test"]


def test_chestxray256_index_csv_matches():
    path = datasets.verify("chestxray256_index.csv")
    rows = list(csv.DictReader(open(path, newline="")))
    assert len(rows) == 670
    for split in ("train", "val", "test"):
        _, y, sub, pid = datasets.load_chestxray256(split)
        mine = sorted((r for r in rows if r["split"] == split), key=lambda r: int(r["index"]))
        assert [r["patient"] for r in mine] == pid.tolist()
        assert [int(r["label"]) for r in mine] == y.tolist()
        assert [int(r["subtype"]) for r in mine] == sub.tolist()


def test_chestxray256_checksum_and_bad_split(tmp_path, monkeypatch):
    assert datasets.CHECKSUMS["chestxray256.npz"] == hashlib.sha256(
        (datasets.DATA_DIR / "chestxray256.npz").read_bytes()).hexdigest()
    assert "chestxray256" in datasets.list_datasets()
    with pytest.raises(ValueError, match="split"):
        datasets.load_chestxray256("validation")
    # a truncated copy in another data folder is refused with the restore hint
    data = (datasets.DATA_DIR / "chestxray256.npz").read_bytes()
    (tmp_path / "chestxray256.npz").write_bytes(data[: len(data) // 2])
    monkeypatch.setenv("MEDLAB_DATA", str(tmp_path))
    with pytest.raises(DatasetError, match="sha256"):
        datasets.load_chestxray256("val")
    (tmp_path / "chestxray256.npz").unlink()
    with pytest.raises(DatasetError, match="missing"):
        datasets.load_chestxray256("val")
