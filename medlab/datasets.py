"""Embedded, checksum-verified real medical image data.

All data lives in the project's ``datasets/`` folder (or the folder named by the
environment variable ``MEDLAB_DATA``). Every file is addressed by its sha256: a loader
verifies the files it reads once per process and raises :class:`DatasetError` when a file
is missing, truncated or changed. Loaders only ever *read*; nothing is written to the
data folder. Licences and citations: ``datasets/README.md``.

>>> images, labels = load_breastmnist("val")
>>> images.shape, images.dtype, labels.shape
((78, 28, 28), dtype('uint8'), (78,))
"""
from __future__ import annotations

import csv
import hashlib
import os
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

__all__ = [
    "DatasetError", "DATA_DIR", "data_dir", "list_datasets", "verify", "verify_all",
    "load_pneumoniamnist", "load_breastmnist", "load_lung_ct", "load_head_ct", "load_chest_xray",
    "LungCT", "TumourBox", "CLASS_NAMES", "CHEST_XRAYS", "as_tf_dataset",
    "load_chestxray256",
]

#: The data folder shipped with the repository (``MEDLAB_DATA`` overrides it at call time).
DATA_DIR = Path(__file__).resolve().parent.parent / "datasets"

#: sha256 of every embedded file, relative to the data folder (from datasets/README.md).
CHECKSUMS: dict[str, str] = {
    "breastmnist.npz": "0f599db83baf94298d600419608e3ebebcc491d1e5d6031d2ffcf5629e919481",
    "chest_xray/00000001_000.png": "c8cbe59e6b9b186060dc68e63965658fa6b5b3ada6648d25c189b8b69b43cd4c",
    "chest_xray/00027426_000.png": "c03ad7e574b14cf8442e61f9a4e849997b5e09f645ece069b714e5d4c5d8a2c2",
    "chestxray256.npz": "50ba16892d18aea30be60fefbebba9f49467dd0cf4b5209504df251e07bf5747",
    "chestxray256_index.csv": "7220be61b22fcd238f05475726b89188bd2fcab165fd52afc5f04701cc3e97ec",
    "headsq_ct.nii.gz": "02dab36a1108af57bf96638289249939dfd97d4f0a2bc3944a78937b5c803276",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.122259036515695905512549026864.xml": "e9bdaa552c689b375a7d355bb9e8d6f991be8dfe84ce0e3b9028e2c52374dc00",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.143229220134004659147800817664.xml": "1662f85034e2df82da602b78df250ca0a9487dc20af9c4c52d2881b68b2036af",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.145636676081119360296419944385.xml": "dcc9e3749218ecefd5ff92813840b76b00e10b71d04fcfe68c8925a5a42dde76",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.174269535156304951625805754184.xml": "ca96dc7d8f017b197a8edf749a384c2af9e74d4cb390280c595fea892cefba17",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.191960383852949572073542121650.xml": "8fd1fa393270b16678b3ce9514b384da552aeadf05389a86413727539ba1ade2",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.225810647627448096790806208568.xml": "656da6f47282ae7d3ea78ffc3ba861ac6e29bf6fd38bdae82c50db974be3aecb",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.234210370365936053269828907501.xml": "61b1e5b3ca347b615ea93fc907dc7eb59437af9d07d62ef0e6a10b2586cef382",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.323570046735549256812896573959.xml": "da6960cc3d1d1e00a2932765fc40f0cdea349edad6751da57e84ee12083ba7fe",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.326556466222007829265608175539.xml": "e9ef168ebf14fd527e4fc4ca582758aa140a6882cb493252bc88f3f16cc46088",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.476982701137697438217958989680.xml": "460627c44bd8e0ee0d3b4328e1bc87284c55cacd24917fb56bfedbca67a88bdf",
    "lung_ct_annotations/tumour_boxes.csv": "8470e2be5da3fb1d3ad743a664cb062b6896bcfe54bcc1bef333f19cefbf3d0a",
    "lung_ct_dicom/1-01.dcm": "2651ecddb8593082efb24a562c1b5e0107392985b85c8dc652ab4f4fa097e8d7",
    "lung_ct_dicom/1-02.dcm": "c8dedcac603608d8f776f2522d3e0bd1814eea8cf70d40a79b155f2cb7dc62c3",
    "lung_ct_dicom/1-03.dcm": "dddbde77efd8f88d54727c676df2e4601d4d44c70cef45663a67338f5bd45160",
    "lung_ct_dicom/1-04.dcm": "c305a385a6eb821cbf98e22d30edfc57d510a068581de52c337bef1d892cdd40",
    "lung_ct_dicom/1-05.dcm": "bb93d2125a07d3a06637aac3aae0f379ad35e14d9319f4ebd2cbe42593c41738",
    "lung_ct_dicom/1-06.dcm": "d4a7e4786f4647025053d75258a452e66f7aa8f216cef87b574f64a7a70828e2",
    "lung_ct_dicom/1-07.dcm": "e7bc2bacee22ec2d38d2216df19c839d07d11ac1c8650efbf1b192dc0c89d69a",
    "lung_ct_dicom/1-08.dcm": "e94f1a6e3c549b2800f6e6565e747e6663920c779f9d09c6c8a6e0f8bf9e5e07",
    "lung_ct_dicom/1-09.dcm": "275349aed8e01a9db9eb030614ab01140004f9736a9438ea6d90be92b357247e",
    "lung_ct_dicom/1-10.dcm": "797e4e7ff5a7af84c3919b6af7eba300317a7aed23aa75af6a58e2616f244271",
    "lung_ct_dicom/1-11.dcm": "a530c1ebfcd77f042aa81919373f8b3dffa60ed54fea86228e9c3ed2d10a4113",
    "lung_ct_dicom/1-12.dcm": "184724df7001c9cc55becfcf5e9347dd6a52954de8e67abc50c683fb7a140a8e",
    "lung_ct_dicom/1-13.dcm": "98239cbdf125bb0d82aef051796b1e67eac7bfdc9f89669349bdfa17db101fb2",
    "lung_ct_dicom/1-14.dcm": "6d09572748f44152d9d142dd5ac77918c9ed7d40702450132146c301773d8976",
    "lung_ct_dicom/1-15.dcm": "316c244b61e4870d3063f12f82efb9dde63e721e0301a7ffa65d6036e1321c92",
    "lung_ct_dicom/1-16.dcm": "8907ada86e2e210a318cbd28232cc72ed04339e9f93a8fc6f6deb28f598e8c03",
    "lung_ct_dicom/1-17.dcm": "e9f9224352526b19442edd2ed36f9361c21f347d797b1502ab2a2057050a4970",
    "lung_ct_dicom/1-18.dcm": "b278ec92a2d5b10694fdc99ff687be1038b2fa20bbb83cfb4e8635101ca9b781",
    "lung_ct_dicom/1-19.dcm": "6124de9094763594c1d9dd89413eaaad71aacb9a339c392be714a4f502571230",
    "lung_ct_dicom/1-20.dcm": "832b98b8d7615a17f7ad082af6ee1493c6185e86a07192a64282d40728a4e436",
    "lung_ct_dicom/1-21.dcm": "6a4d56fce8f42e41d9c6b212eb4d3788114214473cbf4a622ba62b3b493f8b8b",
    "lung_ct_dicom/1-22.dcm": "0a48c15b1721b09b5f855dd4342e3d192c1560fc88ebdb11af01f1755df201a4",
    "lung_ct_dicom/1-23.dcm": "730b5fd91fc969f70eae57a3b0b2f9670488ee43dfbc96cc2fc0a4924f7fba26",
    "lung_ct_dicom/1-24.dcm": "d7f06cf150e8e22e863d2105250bfc471555189bae158f14dfa9a1aabcd7d1d7",
    "lung_ct_dicom/1-25.dcm": "f5c212d7a2c325dd2755f7dd99b2ebc40bdc9b1c06229f7b508e2594c4bae2b6",
    "lung_ct_dicom/1-26.dcm": "bd53ca65155716209aee40fec8c304ee9bda17ef41ed468882b89c1048ce1557",
    "lung_ct_dicom/1-27.dcm": "773e885afd20c596bcb3225c97f05af358f6ff1e342df72fcfaa5ddf80c656f8",
    "lung_ct_dicom/1-28.dcm": "80f6099ed4276bda817ad91a2380e6bf9704e76dc4a5aea3da9d41c9c14efe61",
    "lung_ct_dicom/1-29.dcm": "3991b74d55cf2369fe36518e50185c697846deb5c55804e7ef4bb058413d201c",
    "lung_ct_dicom/1-30.dcm": "bd905322dc63b28dd7b2e6199522e10583b9204da9aec6b47d7355c1d7f27690",
    "lung_ct_dicom/LICENSE_TCIA_Lung-PET-CT-Dx.txt": "29e286014609673e83a514c5e739884f5bb0a585d09af16b3439f82e7edb9b9e",
    "pneumoniamnist.npz": "0c32c3eb984d4c5fc0615034ff1e7f327ba6cd19f2c0d2e201ce4695d7a282e1",}

DATASETS: dict[str, str] = {
    "pneumoniamnist": "PneumoniaMNIST: 5,856 paediatric chest X-rays, 28x28, normal vs pneumonia (CC BY 4.0)",
    "breastmnist": "BreastMNIST: 780 breast ultrasound images, 28x28, malignant vs normal/benign (CC BY 4.0)",
    "lung_ct": "Chest CT series, 512x512x30, HU, with 10 tumour boxes (adenocarcinoma), TCIA Lung-PET-CT-Dx (CC BY 4.0)",
    "head_ct": "Small head CT volume, 64x64x93, 3.2x3.2x1.5 mm (VTK 'headsq', BSD-3-Clause)",
    "chest_xray": "Two adult frontal chest X-rays, 512x512, NIH ChestX-ray14 (attribution required)",
    "chestxray256": "670 paediatric chest X-rays, 256x256, patient-disjoint train/val/test, normal vs pneumonia "
                    "(bacterial/viral), Kermany et al. (CC BY 4.0)",
}

CLASS_NAMES: dict[str, dict[int, str]] = {
    "pneumoniamnist": {0: "normal", 1: "pneumonia"},
    "breastmnist": {0: "malignant", 1: "normal/benign"},
}

#: Chest X-ray name -> NIH finding label.
CHEST_XRAYS: dict[str, str] = {"00000001_000": "Cardiomegaly", "00027426_000": "No Finding"}

SPLITS = ("train", "val", "test")


class DatasetError(RuntimeError):
    """A data file is missing, truncated, changed or unreadable. The message says how to restore it."""


def data_dir() -> Path:
    """The data folder in use: ``$MEDLAB_DATA`` if set, else the repository's ``datasets/``.

    >>> (data_dir() / "pneumoniamnist.npz").exists()
    True
    """
    env = os.environ.get("MEDLAB_DATA")
    return Path(env).expanduser().resolve() if env else DATA_DIR


def list_datasets() -> dict[str, str]:
    """Names of the embedded datasets with a one-line description.

    >>> sorted(list_datasets())[:2]
    ['breastmnist', 'chest_xray']
    """
    return dict(DATASETS)


_RESTORE = ("Restore it with `git checkout -- datasets/{rel}` in the MedLab checkout "
            "(or copy it again from the original source named in datasets/README.md).")
_verified: dict[Path, tuple[int, int]] = {}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(rel: str) -> Path:
    """Check one file (path relative to the data folder) against its sha256 and return its path.

    The check runs once per process per file (re-run if the file's size or mtime changes).
    Raises :class:`DatasetError` if the file is missing or its hash differs.

    >>> verify("breastmnist.npz").name
    'breastmnist.npz'
    """
    if rel not in CHECKSUMS:
        raise ValueError(f"unknown data file {rel!r}; known files: see medlab.datasets.CHECKSUMS")
    path = data_dir() / rel
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DatasetError(f"data file missing: {path}. " + _RESTORE.format(rel=rel)) from None
    key = (st.st_size, st.st_mtime_ns)
    if _verified.get(path) == key:
        return path
    actual = _sha256(path)
    expected = CHECKSUMS[rel]
    if actual != expected:
        raise DatasetError(
            f"data file changed or truncated: {path} ({st.st_size:,} bytes)\n"
            f"  expected sha256 {expected}\n  actual   sha256 {actual}\n" + _RESTORE.format(rel=rel))
    _verified[path] = key
    return path


def verify_all() -> dict[str, str]:
    """Verify every embedded file; returns ``{relative path: "ok" | error message}`` (never raises).

    >>> report = verify_all()
    >>> len(report), set(report.values())
    (49, {'ok'})
    """
    report = {}
    for rel in sorted(CHECKSUMS):
        try:
            verify(rel)
            report[rel] = "ok"
        except DatasetError as e:
            report[rel] = str(e).splitlines()[0]
    return report


# --------------------------------------------------------------------------- MedMNIST
def _load_medmnist(file: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    path = verify(file)
    try:
        with np.load(path) as npz:
            images = np.asarray(npz[f"{split}_images"])
            labels = np.asarray(npz[f"{split}_labels"]).reshape(-1).astype(np.int64)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise DatasetError(f"cannot read {path}: {e}. " + _RESTORE.format(rel=file)) from e
    return images, labels


def load_pneumoniamnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """PneumoniaMNIST images ``uint8 (N, 28, 28)`` and labels ``int64 (N,)`` (0 normal, 1 pneumonia).

    The train split's order is *not* the official one (see datasets/README.md): always
    shuffle with a seed before training or taking a subset.

    >>> x, y = load_pneumoniamnist("test"); x.shape, int(y.sum())
    ((624, 28, 28), 390)
    """
    return _load_medmnist("pneumoniamnist.npz", split)


def load_breastmnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """BreastMNIST images ``uint8 (N, 28, 28)`` and labels ``int64 (N,)`` (0 malignant, 1 normal/benign).

    >>> x, y = load_breastmnist("test"); x.shape
    (156, 28, 28)
    """
    return _load_medmnist("breastmnist.npz", split)


# --------------------------------------------------------------------------- lung CT
@dataclass(frozen=True)
class TumourBox:
    """A tumour bounding box on one axial slice, in voxel indices (inclusive) and in mm.

    ``row`` is the image y index, ``col`` the x index; ``slice_index`` indexes ``LungCT.array``.
    ``min_mm``/``max_mm`` are the physical (x, y, z) corners in the patient frame (LPS, mm).
    """

    slice_index: int
    row0: int
    col0: int
    row1: int
    col1: int
    label: str
    z_mm: float
    min_mm: tuple[float, float, float]
    max_mm: tuple[float, float, float]
    sop_instance_uid: str

    @property
    def size_mm(self) -> tuple[float, float]:
        """Width (x) and height (y) of the box in mm, counting whole pixels."""
        return (self.max_mm[0] - self.min_mm[0], self.max_mm[1] - self.min_mm[1])


class LungCT:
    """The embedded chest CT: ``image`` (SimpleITK, HU), ``array`` (z, y, x view), ``boxes``, ``mask()``."""

    def __init__(self, image: sitk.Image, boxes: list[TumourBox], files: list[Path]):
        self.image = image
        self.boxes = boxes
        self.files = files

    @cached_property
    def array(self) -> np.ndarray:
        """The voxels as a read-only numpy array, shape (z, y, x), int16 HU.

        A copy (15 MB), not ``GetArrayViewFromImage``: a view does not keep the SimpleITK image
        alive, so ``load_lung_ct().array`` would read freed memory once the object is gone.
        """
        arr = sitk.GetArrayFromImage(self.image)
        arr.flags.writeable = False
        return arr

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel spacing (x, y, z) in mm."""
        return self.image.GetSpacing()

    def mask(self) -> np.ndarray:
        """Box mask, uint8 (z, y, x): 1 inside the annotated boxes. A box is *not* a segmentation."""
        m = np.zeros(self.array.shape, dtype=np.uint8)
        for b in self.boxes:
            m[b.slice_index, b.row0:b.row1 + 1, b.col0:b.col1 + 1] = 1
        return m

    def mask_image(self) -> sitk.Image:
        """The box mask as a SimpleITK image with the CT's geometry."""
        m = sitk.GetImageFromArray(self.mask())
        m.CopyInformation(self.image)
        return m

    def __repr__(self) -> str:
        sx, sy, sz = self.spacing
        return (f"LungCT(size={self.image.GetSize()}, spacing=({sx:.4f}, {sy:.4f}, {sz:.1f}) mm, "
                f"HU {int(self.array.min())}..{int(self.array.max())}, {len(self.boxes)} tumour boxes)")


def _dicom_files() -> list[str]:
    return sorted(rel for rel in CHECKSUMS if rel.startswith("lung_ct_dicom/") and rel.endswith(".dcm"))


def load_lung_ct() -> LungCT:
    """Read the embedded chest CT DICOM series (30 slices) with its tumour boxes.

    >>> ct = load_lung_ct(); ct.array.shape, ct.spacing[2]
    ((30, 512, 512), 8.0)
    """
    folder = data_dir() / "lung_ct_dicom"
    expected = _dicom_files()
    for rel in expected + ["lung_ct_annotations/tumour_boxes.csv"]:
        verify(rel)
    reader = sitk.ImageSeriesReader()
    try:
        files = reader.GetGDCMSeriesFileNames(str(folder))
    except RuntimeError as e:
        raise DatasetError(f"cannot list the DICOM series in {folder}: {e}") from e
    if len(files) != len(expected):
        raise DatasetError(
            f"the DICOM series in {folder} has {len(files)} readable slices, expected {len(expected)}. "
            + _RESTORE.format(rel="lung_ct_dicom"))
    reader.SetFileNames(files)
    try:
        image = reader.Execute()
    except RuntimeError as e:
        raise DatasetError(f"cannot read the DICOM series in {folder}: {e}") from e
    boxes = _read_boxes(image)
    return LungCT(image, boxes, [Path(f) for f in files])


def _read_boxes(image: sitk.Image) -> list[TumourBox]:
    path = data_dir() / "lung_ct_annotations" / "tumour_boxes.csv"
    boxes = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            k = int(row["slice_index_in_nifti"])
            x0, y0, x1, y1 = (int(row[c]) for c in ("xmin", "ymin", "xmax", "ymax"))
            p0 = image.TransformIndexToPhysicalPoint((x0, y0, k))
            # the far corner of the last pixel: index + 1, so the box size counts whole pixels
            p1 = image.TransformContinuousIndexToPhysicalPoint((x1 + 1.0, y1 + 1.0, float(k)))
            boxes.append(TumourBox(k, y0, x0, y1, x1, row["label"], float(row["z_mm"]),
                                   tuple(p0), tuple(p1), row["sop_instance_uid"]))
    return sorted(boxes, key=lambda b: b.slice_index)


# --------------------------------------------------------------------------- head CT, X-ray
def load_head_ct(approx_hu: bool = True) -> sitk.Image:
    """The small head CT (64x64x93 voxels, 3.2x3.2x1.5 mm).

    Its raw values are uncalibrated CT numbers (air ~0, soft tissue ~1050). With
    ``approx_hu=True`` (default) 1024 is subtracted, which gives *approximate* HU.

    >>> load_head_ct().GetSize()
    (64, 64, 93)
    """
    path = verify("headsq_ct.nii.gz")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as e:
        raise DatasetError(f"cannot read {path}: {e}") from e
    if approx_hu:
        image = sitk.Cast(image, sitk.sitkInt16) - 1024
    return image


def load_chest_xray(name: str = "00000001_000") -> np.ndarray:
    """An adult chest X-ray as ``uint8 (512, 512)``. ``name`` is one of :data:`CHEST_XRAYS`.

    >>> load_chest_xray().shape
    (512, 512)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {sorted(CHEST_XRAYS)}; got {name!r}")
    stem = name[:-4] if name.endswith(".png") else name
    if stem not in CHEST_XRAYS:
        raise ValueError(f"name must be one of {sorted(CHEST_XRAYS)}, got {name!r}")
    path = verify(f"chest_xray/{stem}.png")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L"))
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from e
    return arr


# --------------------------------------------------------------------------- chestxray256
def load_chestxray256(split: str = "train") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Paediatric chest X-rays at the source article's input size: ``(images, labels, subtype, patient)``.

    ``images`` uint8 (N, 256, 256); ``labels`` int64 (N,) 0 normal / 1 pneumonia; ``subtype`` int64 (N,)
    0 normal / 1 bacterial / 2 viral; ``patient`` str (N,). Splits: train 400, val 90, test 180, each 1:1
    normal:pneumonia, one image per patient and no patient in two splits. Two facts to keep in mind
    (datasets/README.md): the test split is *not* the official Kermany test split, and the images are
    sources of PneumoniaMNIST train/val images, so a model trained on PneumoniaMNIST must never be
    scored on this set. Used in 06 §6.

    >>> x, y, sub, pid = load_chestxray256("val")
    >>> x.shape, x.dtype, int(y.sum()), sorted(set(sub.tolist())), len(set(pid)) == len(pid)
    ((90, 256, 256), dtype('uint8'), 45, [0, 1, 2], True)
    """
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    rel = "chestxray256.npz"
    path = verify(rel)
    try:
        with np.load(path) as npz:
            images = np.asarray(npz[f"{split}_images"])
            labels = np.asarray(npz[f"{split}_labels"]).reshape(-1).astype(np.int64)
            subtype = np.asarray(npz[f"{split}_subtype"]).reshape(-1).astype(np.int64)
            patient = np.asarray(npz[f"{split}_patient"]).astype(str)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise DatasetError(f"cannot read {path}: {e}. " + _RESTORE.format(rel=rel)) from e
    return images, labels, subtype, patient


# --------------------------------------------------------------------------- TensorFlow
def as_tf_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int = 64, shuffle: bool = True,
                  seed: int = 0, cache: bool = True, drop_remainder: bool = False) -> Any:
    """A normalised, seeded, cached, prefetched ``tf.data.Dataset`` of ``(image, label)`` batches.

    Images (N, H, W) or (N, H, W, C) of uint8 become float32 in [0, 1] with a channel axis;
    labels become float32 (N,). With the same ``seed`` the batches come in the same order.

    >>> x, y = load_breastmnist("val")
    >>> xb, yb = next(iter(as_tf_dataset(x, y, batch_size=8)))
    >>> tuple(xb.shape), tuple(yb.shape)
    ((8, 28, 28, 1), (8,))
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    images = np.asarray(images)
    labels = np.asarray(labels).reshape(-1)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, C), got {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if images.ndim == 3:
        images = images[..., None]
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    x = images.astype(np.float32) / np.float32(scale)
    ds = tf.data.Dataset.from_tensor_slices((x, labels.astype(np.float32)))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


# Teaching samples (cached, read-only cut-outs shared by notebooks and widgets) live in medlab.samples.
from .samples import *  # noqa: E402,F401,F403
