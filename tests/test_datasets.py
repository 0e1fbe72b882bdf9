"""medlab.datasets: shapes, counts, geometry, checksums, and every kind of damaged file."""
from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
import SimpleITK as sitk

from medlab import datasets
from medlab.datasets import DatasetError

ROOT = datasets.DATA_DIR


def _digest_tree():
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(ROOT.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module", autouse=True)
def originals_untouched():
    """Whatever the tests below do to their copies, the repository's data files stay identical."""
    before = _digest_tree()
    yield
    assert _digest_tree() == before


@pytest.mark.parametrize("split,n,counts", [("train", 4708, [1214, 3494]), ("val", 524, [135, 389]),
                                            ("test", 624, [234, 390])])
def test_pneumoniamnist_splits(split, n, counts):
    x, y = datasets.load_pneumoniamnist(split)
    assert x.shape == (n, 28, 28) and x.dtype == np.uint8
    assert y.shape == (n,) and np.issubdtype(y.dtype, np.integer)
    assert np.bincount(y).tolist() == counts


@pytest.mark.parametrize("split,counts", [("train", [147, 399]), ("val", [21, 57]), ("test", [42, 114])])
def test_breastmnist_splits(split, counts):
    x, y = datasets.load_breastmnist(split)
    assert x.shape == (sum(counts), 28, 28)
    assert np.bincount(y).tolist() == counts


def test_list_datasets_describes_each():
    names = datasets.list_datasets()
    assert set(names) == {"pneumoniamnist", "breastmnist", "lung_ct", "lung_ct2", "head_ct", "chest_xray", "chestxray256"}
    assert all(len(d) > 20 for d in names.values())


def test_lung_ct_geometry_and_hu():
    ct = datasets.load_lung_ct()
    assert ct.image.GetSize() == (512, 512, 30)
    assert np.allclose(ct.image.GetSpacing(), (0.646484375, 0.646484375, 8.0))
    assert np.allclose(ct.image.GetOrigin(), (-173.1767578125, -294.1767578125, 80.0))
    assert np.allclose(ct.image.GetDirection(), np.eye(3).ravel())
    assert ct.array.shape == (30, 512, 512) and ct.array.dtype == np.int16
    assert int(ct.array.min()) == -1024 and int(ct.array.max()) == 1548
    assert not ct.array.flags.writeable, "the array view must not let a notebook change the image"
    assert "30)" in repr(ct) and "10 tumour boxes" in repr(ct)


def test_lung_ct_boxes_and_mask():
    ct = datasets.load_lung_ct()
    assert len(ct.boxes) == 10
    assert [b.slice_index for b in ct.boxes] == list(range(12, 22))
    b = ct.boxes[0]  # 1-18.dcm: xmin 146, ymin 285, xmax 207, ymax 335 at z = 176 mm
    assert (b.slice_index, b.row0, b.col0, b.row1, b.col1) == (12, 285, 146, 335, 207)
    # the slice index and the box's z agree with the image geometry
    for b in ct.boxes:
        assert np.isclose(ct.image.TransformIndexToPhysicalPoint((0, 0, b.slice_index))[2], b.z_mm)
        assert np.isclose(b.min_mm[2], b.z_mm)
        assert np.isclose(b.size_mm[0], (b.col1 - b.col0 + 1) * ct.spacing[0])
    mask = ct.mask()
    assert mask.shape == ct.array.shape and mask.dtype == np.uint8
    assert int(mask.sum()) == 56_416  # the voxel count the data's manifest gives for the box mask
    m_img = ct.mask_image()
    assert m_img.GetSpacing() == ct.image.GetSpacing() and m_img.GetOrigin() == ct.image.GetOrigin()
    # the tumour is denser than the air of the lung around it
    assert np.median(ct.array[mask > 0]) > -700


def test_head_ct_and_xrays():
    head = datasets.load_head_ct()
    assert head.GetSize() == (64, 64, 93)
    assert np.allclose(head.GetSpacing(), (3.2, 3.2, 1.5))
    raw = datasets.load_head_ct(approx_hu=False)
    a, r = sitk.GetArrayViewFromImage(head), sitk.GetArrayViewFromImage(raw)
    assert np.array_equal(a.astype(np.int32), r.astype(np.int32) - 1024)
    for name in datasets.CHEST_XRAYS:
        x = datasets.load_chest_xray(name)
        assert x.shape == (512, 512) and x.dtype == np.uint8 and x.std() > 20
    assert np.array_equal(datasets.load_chest_xray("00000001_000.png"), datasets.load_chest_xray("00000001_000"))


@pytest.mark.parametrize("call,match", [
    (lambda: datasets.load_pneumoniamnist("training"), r"split must be one of \('train', 'val', 'test'\)"),
    (lambda: datasets.load_breastmnist("TEST"), "split must be one of"),
    (lambda: datasets.load_chest_xray("nope"), "name must be one of"),
    (lambda: datasets.verify("nothing.npz"), "unknown data file"),
])
def test_bad_arguments_name_the_rule(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_missing_file(data_copy):
    (data_copy / "breastmnist.npz").unlink()
    with pytest.raises(DatasetError, match=r"missing: .*breastmnist\.npz.*git checkout -- datasets/breastmnist\.npz"):
        datasets.load_breastmnist("train")


def test_truncated_npz(data_copy):
    p = data_copy / "pneumoniamnist.npz"
    p.write_bytes(p.read_bytes()[:100_000])
    with pytest.raises(DatasetError) as e:
        datasets.load_pneumoniamnist("val")
    msg = str(e.value)
    assert "pneumoniamnist.npz" in msg and "100,000 bytes" in msg
    assert datasets.CHECKSUMS["pneumoniamnist.npz"] in msg  # expected hash named
    assert hashlib.sha256(p.read_bytes()).hexdigest() in msg  # actual hash named


def test_flipped_byte_in_png(data_copy):
    p = data_copy / "chest_xray" / "00000001_000.png"
    b = bytearray(p.read_bytes())
    b[5000] ^= 0xFF
    p.write_bytes(bytes(b))
    with pytest.raises(DatasetError, match="changed or truncated"):
        datasets.load_chest_xray("00000001_000")


def test_missing_dicom_slice(data_copy):
    (data_copy / "lung_ct_dicom" / "1-15.dcm").unlink()
    with pytest.raises(DatasetError, match=r"missing: .*1-15\.dcm"):
        datasets.load_lung_ct()


def test_flipped_byte_in_dicom(data_copy):
    p = data_copy / "lung_ct_dicom" / "1-03.dcm"
    b = bytearray(p.read_bytes())
    b[-10] ^= 0x01  # one pixel value: invisible to a DICOM reader, caught by the checksum
    p.write_bytes(bytes(b))
    with pytest.raises(DatasetError, match=r"1-03\.dcm"):
        datasets.load_lung_ct()


def test_verify_all_reports_without_raising(data_copy):
    (data_copy / "headsq_ct.nii.gz").write_bytes(b"not a volume")
    report = datasets.verify_all()
    assert report["headsq_ct.nii.gz"].startswith("data file changed")
    assert sum(v == "ok" for v in report.values()) == len(report) - 1


def test_checksum_is_cached_per_process(data_copy, monkeypatch):
    datasets.load_breastmnist("val")
    calls = []
    monkeypatch.setattr(datasets, "_sha256", lambda p: calls.append(p) or "x")
    datasets.load_breastmnist("test")
    assert calls == []  # verified once: not hashed again
    # ...but a file that changes after verification is hashed again
    p = data_copy / "breastmnist.npz"
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000))
    with pytest.raises(DatasetError):
        datasets.load_breastmnist("test")


def test_as_tf_dataset_is_normalised_and_seeded():
    x, y = datasets.load_breastmnist("val")
    ds1 = datasets.as_tf_dataset(x, y, batch_size=16, seed=3)
    ds2 = datasets.as_tf_dataset(x, y, batch_size=16, seed=3)
    b1 = [(xb.numpy(), yb.numpy()) for xb, yb in ds1]
    b2 = [(xb.numpy(), yb.numpy()) for xb, yb in ds2]
    assert len(b1) == 5 and b1[0][0].shape == (16, 28, 28, 1) and b1[-1][0].shape == (14, 28, 28, 1)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(b1, b2))
    xs = np.concatenate([b[0] for b in b1])
    assert xs.dtype == np.float32 and 0.0 <= xs.min() and xs.max() <= 1.0
    assert np.isclose(np.sort(xs.ravel()).sum(), np.sort(x.ravel() / 255.0).sum(), rtol=1e-5)
    # the shuffle really shuffles, and differs between seeds
    ds3 = datasets.as_tf_dataset(x, y, batch_size=16, seed=4)
    assert not np.array_equal(next(iter(ds3))[1].numpy(), b1[0][1])
    unshuffled = next(iter(datasets.as_tf_dataset(x, y, batch_size=78, shuffle=False)))[1].numpy()
    assert np.array_equal(unshuffled, y.astype(np.float32))


def test_as_tf_dataset_bad_input():
    x, y = datasets.load_breastmnist("val")
    with pytest.raises(ValueError, match="differ in length"):
        datasets.as_tf_dataset(x, y[:-1])
    with pytest.raises(ValueError, match="batch_size"):
        datasets.as_tf_dataset(x, y, batch_size=0)
    with pytest.raises(ValueError, match=r"images must be a 3-D or 4-D array"):
        datasets.as_tf_dataset(x[0], y[:1])


@pytest.mark.parametrize("bad", [1, None, b"00000001_000"])
def test_chest_xray_name_must_be_a_string(bad):
    with pytest.raises(TypeError, match="name must be a string"):
        datasets.load_chest_xray(bad)


def test_xray_loaders_do_not_import_simpleitk(fresh_python):
    """06-08, 10 and 11 load only X-rays: they must not pay SimpleITK's ~90 MiB (issue 13)."""
    code = ("import sys, medlab.datasets as D; D.load_pneumoniamnist('train'); D.load_chestxray256('val'); "
            "assert 'SimpleITK' not in sys.modules; D.load_lung_ct(); assert 'SimpleITK' in sys.modules")
    fresh_python(code)
