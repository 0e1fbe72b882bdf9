"""The second chest-CT patient (A0001): geometry, HU, boxes in voxels and mm, checksums."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import SimpleITK as sitk

from medlab import datasets


@pytest.fixture(scope="module")
def ct2():
    return datasets.load_lung_ct(patient="A0001")


def test_default_patient_is_unchanged():
    ct = datasets.load_lung_ct()
    assert ct.patient == "A0002" and ct.image.GetSize() == (512, 512, 30) and len(ct.boxes) == 10
    assert int(ct.mask().sum()) == 56416


def test_geometry_spacing_and_z_order(ct2):
    assert ct2.image.GetSize() == (512, 512, 64)
    assert ct2.spacing == pytest.approx((0.841796875, 0.841796875, 5.0))
    z = [ct2.image.TransformIndexToPhysicalPoint((0, 0, k))[2] for k in range(64)]
    assert z[0] == pytest.approx(-439.0) and z[-1] == pytest.approx(-124.0)
    assert np.allclose(np.diff(z), 5.0)  # ascending, contiguous, no gap
    assert [f.name for f in ct2.files][0] == "1-64.dcm"  # slice 0 is the most inferior file


def test_hu_range_matches_the_rescale(ct2):
    a = ct2.array
    assert a.dtype == np.int16 and not a.flags.writeable
    assert int(a.min()) == -1024 and int(a.max()) <= 3071
    lung = a[30, 256 - 60:256 + 60, 100:160]  # the right lung field of a mid slice, air-filled
    assert np.median(lung) < -700


def test_nine_boxes_in_voxels_and_mm(ct2):
    boxes = ct2.boxes
    assert len(boxes) == 9 and {b.label for b in boxes} == {"A"}
    zs = sorted(b.z_mm for b in boxes)
    assert zs == pytest.approx([-229.0, -224.0, -219.0, -214.0, -209.0, -204.0, -199.0, -194.0, -189.0])
    for b in boxes:  # the CSV's z agrees with the voxel index through the image geometry
        assert ct2.image.TransformIndexToPhysicalPoint((0, 0, b.slice_index))[2] == pytest.approx(b.z_mm)
        assert ct2.files[b.slice_index].name in {f"1-{k:02d}.dcm" for k in range(14, 23)}
    first = next(b for b in boxes if b.z_mm == -189.0)  # 1-14.dcm: xmin 296, ymin 331, xmax 351, ymax 382
    assert (first.col0, first.row0, first.col1, first.row1) == (296, 331, 351, 382)
    w, h = first.size_mm
    assert w == pytest.approx(56 * 0.841796875) and h == pytest.approx(52 * 0.841796875)
    # the mass is in the LEFT lung: patient left is +x in LPS, i.e. the right half of the image
    assert all(b.min_mm[0] > 0 for b in boxes)
    m = ct2.mask_image()
    assert m.GetSize() == ct2.image.GetSize() and m.GetSpacing() == ct2.image.GetSpacing()


def test_unboxed_tumour_slices_are_named():
    assert datasets.UNBOXED_TUMOUR_SLICES["A0001"] == ("1-13.dcm", "1-23.dcm")


def test_checksums_cover_every_file():
    rels = [r for r in datasets.CHECKSUMS if r.startswith(("lung_ct2_dicom/", "lung_ct2_annotations/"))]
    assert len([r for r in rels if r.endswith(".dcm")]) == 64 and len(rels) == 76
    for rel in rels[:3]:
        assert datasets.verify(rel).exists()


def test_unknown_patient_is_a_clear_error():
    with pytest.raises(ValueError, match="patient must be one of"):
        datasets.load_lung_ct(patient="A0003")
    with pytest.raises(ValueError, match="patient must be one of"):
        datasets.load_lung_ct(patient=1)


def test_changed_slice_is_detected_and_the_original_untouched(tmp_path, monkeypatch):
    src = datasets.data_dir()
    for rel in [r for r in datasets.CHECKSUMS if r.startswith(("lung_ct2_dicom/", "lung_ct2_annotations/"))]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / rel, tmp_path / rel)
    victim = tmp_path / "lung_ct2_dicom" / "1-30.dcm"
    data = bytearray(victim.read_bytes())
    data[-100] ^= 0xFF
    victim.write_bytes(bytes(data))
    monkeypatch.setenv("MEDLAB_DATA", str(tmp_path))
    with pytest.raises(datasets.DatasetError, match="1-30.dcm"):
        datasets.load_lung_ct(patient="A0001")
    assert datasets._sha256(src / "lung_ct2_dicom" / "1-30.dcm") == datasets.CHECKSUMS["lung_ct2_dicom/1-30.dcm"]
