"""Reading medical images: DICOM series and files, NIfTI, MetaImage, NRRD, PNG.

Everything is read into a :class:`SimpleITK.Image`, which keeps the *physical* description
of the voxel grid next to the numbers:

* **size** ``(x, y, z)`` in voxels, **spacing** ``(x, y, z)`` in mm between voxel centres,
* **origin**: the position (mm, patient coordinates) of the first voxel's centre,
* **direction**: a 3x3 matrix whose columns are the directions of the x, y and z axes.

A numpy array carries none of that, and its axis order is reversed: ``to_array(image)``
returns ``array[z, y, x]`` (slice, row, column) because numpy stores the *last* index
contiguously and ITK stores x contiguously. So ``image.GetSize() == (512, 512, 30)`` gives
``array.shape == (30, 512, 512)`` and ``image.GetSpacing()[0]`` belongs to ``array.shape[2]``.

DICOM CT pixels are stored as unsigned/signed integers; the Hounsfield value is
``HU = stored * RescaleSlope + RescaleIntercept`` (:func:`hu_from_dicom` does this by hand;
SimpleITK's GDCM reader applies it automatically).

>>> from pydicom.data import get_testdata_file
>>> img = read_image(get_testdata_file("CT_small.dcm"))
>>> img.GetSize(), to_array(img).shape
((128, 128, 1), (1, 128, 128))
"""
from __future__ import annotations

import html
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Sequence

import numpy as np
import SimpleITK as sitk

from ._validate import check_array, check_choice, check_float, check_int, check_limit, check_not_rgb

__all__ = [
    "read_image", "to_array", "image_info", "hu_from_dicom", "resample_isotropic", "isotropic_grid",
    "dicom_info", "DicomInfo", "DicomTable", "is_dicom_file", "SUPPORTED", "as_volume",
    "DicomSeries", "load_dicom_series", "index_to_physical", "coronal_plane_resampled",
    "INTERPOLATORS", "HU_BINS", "hu_histogram", "MAX_VOXELS", "MAX_RESAMPLE_VOXELS",
]

SUPPORTED = ("a DICOM series folder, a DICOM file (.dcm), NIfTI (.nii, .nii.gz), MetaImage (.mha, .mhd), "
             "NRRD (.nrrd) or PNG")

# Transfer syntaxes that store pixels uncompressed (anything else needs a codec).
_UNCOMPRESSED = {
    "1.2.840.10008.1.2",        # Implicit VR Little Endian
    "1.2.840.10008.1.2.1",      # Explicit VR Little Endian
    "1.2.840.10008.1.2.2",      # Explicit VR Big Endian
    "1.2.840.10008.1.2.1.99",   # Deflated Explicit VR Little Endian (zip, not an image codec)
}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def is_dicom_file(path: str | os.PathLike) -> bool:
    """True when ``path`` starts with the DICOM preamble (128 bytes + ``b"DICM"``).

    Files without the preamble (old ACR-NEMA style) are still tried as DICOM when they
    end in ``.dcm``.

    >>> from pydicom.data import get_testdata_file
    >>> is_dicom_file(get_testdata_file("CT_small.dcm")), is_dicom_file(__file__)
    (True, False)
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _transfer_syntax(path: Path) -> tuple[str, str]:
    """(uid, name) of a DICOM file's transfer syntax, ('', '') if unknown."""
    import pydicom

    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True, force=True)
        uid = ds.file_meta.get("TransferSyntaxUID", "")
    except Exception:  # noqa: BLE001 - any failure simply means "unknown"
        return "", ""
    if not uid:
        return "", ""
    return str(uid), getattr(uid, "name", str(uid))


def _compression_error(path: Path, cause: Exception) -> ValueError:
    uid, name = _transfer_syntax(path)
    if uid and uid not in _UNCOMPRESSED:
        return ValueError(
            f"cannot decode the pixel data of {path}: it is compressed with transfer syntax "
            f"'{name}' ({uid}), which the installed codecs (GDCM in SimpleITK) cannot decompress. "
            "Decompress it first, e.g. `gdcmconv --raw in.dcm out.dcm` or `dcmdjpeg in.dcm out.dcm`, "
            "or install a pydicom plugin (pylibjpeg + pylibjpeg-openjpeg) and read it with pydicom."
        )
    return ValueError(
        f"could not read {path} as DICOM ({str(cause).strip().splitlines()[-1]}). "
        "The file may be truncated or not an image object (e.g. a structured report); "
        "check it with medlab.io.dicom_info()."
    )


#: Most voxels (x components) a file may declare before anything is read: 2**28 (512 MiB of int16).
MAX_VOXELS = 2 ** 28


def _itemsize(pixel_id: int) -> int:
    """Bytes per component of a SimpleITK pixel type."""
    return int(sitk.GetArrayViewFromImage(sitk.Image([1, 1], pixel_id)).itemsize)


def _check_declared_size(path: Path, size: Sequence[int], components: int = 1, what: str = "the header") -> int:
    """Refuse a declared voxel grid larger than MAX_VOXELS before any pixel is allocated; returns the count."""
    size = [int(v) for v in size]
    n = math.prod(size) * int(components)
    if any(v < 1 for v in size):
        raise ValueError(f"{path}: {what} declares an empty grid of size {tuple(size)}; the file is damaged")
    if n > MAX_VOXELS:
        raise ValueError(f"{path}: {what} declares {' x '.join(map(str, size))} voxels"
                         f"{f' x {components} components' if components > 1 else ''} = {n:,}; at most "
                         f"{MAX_VOXELS:,} are read (memory). The header is damaged or the image is too large "
                         "for MedLab: crop or downsample it first")
    return n


def _check_spacing(path: Path, spacing: Sequence[float], what: str = "voxel spacing") -> None:
    sp = [float(v) for v in spacing]
    if not all(np.isfinite(v) and v > 0 for v in sp):
        raise ValueError(f"{path}: the {what} is {tuple(sp)} mm; every spacing must be a finite positive number "
                         "(a reader would silently replace 0 or NaN by 1.0 mm and every distance and volume "
                         "would be wrong). Fix the header (NIfTI pixdim, DICOM PixelSpacing/slice positions)")


def _check_nifti(path: Path) -> None:
    """A NIfTI file must hold every voxel its header declares, with finite positive pixdim.

    SimpleITK reads a truncated ``.nii``/``.nii.gz`` (or one whose ``vox_offset`` points past the end) with the
    missing voxels set to 0, and replaces a pixdim of 0 or NaN by 1.0: both silently wrong, so they are refused
    here, before reading, from the header (nibabel) and the data length."""
    import gzip
    import zlib

    import nibabel as nib

    opener = gzip.open if str(path).lower().endswith(".gz") else open
    try:  # check=False: nibabel would otherwise "fix" pixdim 0 to 1 and vox_offset, hiding the damage
        with opener(path, "rb") as fh:
            head = fh.read(540)
        import io as _bytes_io

        klass = nib.Nifti2Header if len(head) >= 4 and int.from_bytes(head[:4], "little") in (540, 469893120) \
            else nib.Nifti1Header
        hdr = klass.from_fileobj(_bytes_io.BytesIO(head), check=False)
    except Exception as exc:  # noqa: BLE001 - nibabel raises several types for damaged headers
        raise ValueError(f"{path} is not an image that can be read: not a readable NIfTI header "
                         f"({type(exc).__name__}: {exc}); check the file is complete and really NIfTI") from None
    shape = tuple(int(v) for v in hdr.get_data_shape())
    dtype = np.dtype(hdr.get_data_dtype())
    n = _check_declared_size(path, shape or (1,), 1, "the NIfTI header")
    ndim = len(shape)
    pixdim = [float(v) for v in hdr["pixdim"][1:1 + min(ndim, 3)]]
    if not all(np.isfinite(v) and v != 0 for v in pixdim):
        raise ValueError(f"{path}: the NIfTI header's pixdim (voxel size) is {tuple(pixdim)} mm; 0 or NaN "
                         "would silently be read as 1.0 mm. Fix pixdim in the header (e.g. with nibabel: "
                         "img.header.set_zooms(...)) before reading")
    sizeof_hdr = int(hdr["sizeof_hdr"])
    offset = int(float(hdr["vox_offset"]))
    start = max(offset, sizeof_hdr + 4)
    need = start + n * dtype.itemsize
    if str(path).lower().endswith(".gz"):
        got = 0
        try:
            with gzip.open(path, "rb") as fh:
                while got < need:
                    chunk = fh.read(min(1 << 22, need - got))
                    if not chunk:
                        break
                    got += len(chunk)
        except (EOFError, OSError, zlib.error) as exc:
            raise ValueError(f"{path}: the gzip stream is damaged or cut off ({exc}); the image would be "
                             "incomplete. Re-copy or re-download the file") from None
    else:
        got = path.stat().st_size
    if start > got:
        raise ValueError(f"{path}: the NIfTI header's vox_offset ({offset}) points past the end of the data "
                         f"({got:,} bytes); a reader would return zeros. The header or the file is damaged")
    if got < need:
        missing = (need - got) / (n * dtype.itemsize)
        raise ValueError(f"{path}: truncated NIfTI: the header declares {' x '.join(map(str, shape))} voxels of "
                         f"{dtype} ({need:,} bytes from the start) but the data holds {got:,} bytes "
                         f"({missing:.0%} of the voxels missing; a reader would fill them with 0). "
                         "Re-copy or re-download the complete file")


def _check_dicom_file(path: Path) -> None:
    """Before reading a DICOM file's pixels: the declared grid is bounded and, uncompressed, fits in the file."""
    import pydicom

    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True, force=True)
    except Exception as exc:  # noqa: BLE001 - pydicom raises several types for damaged files
        raise ValueError(f"{path} could not be parsed as DICOM ({type(exc).__name__}); the file may be truncated "
                         "or not DICOM: check it with medlab.io.dicom_info()") from None
    _check_dicom_dataset(path, ds)


def _check_dicom_dataset(path, ds) -> None:
    rows, cols = ds.get("Rows", None), ds.get("Columns", None)
    if rows is None or cols is None:
        return  # no image grid declared: the reader reports it
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        bits = int(ds.get("BitsAllocated", 16) or 16)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: NumberOfFrames/SamplesPerPixel/BitsAllocated are not numbers; the header "
                         "is damaged") from None
    _check_declared_size(Path(str(path)), (int(cols), int(rows), frames), samples, "the DICOM header")
    uid = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
    if uid in _UNCOMPRESSED and uid != "1.2.840.10008.1.2.1.99" and isinstance(path, Path) and path.exists():
        need = int(cols) * int(rows) * frames * samples * bits // 8
        have = path.stat().st_size
        if need > have:
            raise ValueError(f"{path}: the DICOM header declares {int(rows)} x {int(cols)} pixels x {frames} "
                             f"frame(s) ({need:,} bytes of uncompressed pixels) but the whole file has "
                             f"{have:,} bytes: the header is wrong or the file is truncated. Re-copy the file")


def _check_read_image(path: Path, dicom: bool) -> None:
    """Checks before reading one file: declared size (every format), NIfTI completeness, DICOM pixel bytes."""
    info = sitk.ImageFileReader()
    if dicom:
        info.SetImageIO("GDCMImageIO")
    info.SetFileName(str(path))
    name = path.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        _check_nifti(path)
    if dicom and is_dicom_file(path):
        _check_dicom_file(path)
    try:
        info.ReadImageInformation()
    except RuntimeError:
        return  # the reader itself reports an unreadable file
    _check_declared_size(path, info.GetSize(), info.GetNumberOfComponents())


def _read_dicom_folder(folder: Path, series_uid: str | None) -> sitk.Image:
    files = [p for p in folder.iterdir() if p.is_file()]
    if not files:
        raise ValueError(f"folder {folder} is empty (no files; sub-folders are not searched): put the "
                         "DICOM files of one series in it, or pass the path of a single file")
    reader = sitk.ImageSeriesReader()
    ids = list(reader.GetGDCMSeriesIDs(str(folder)))
    if not ids:
        raise ValueError(f"folder {folder} contains {len(files)} file(s) but no DICOM series "
                         f"(supported: {SUPPORTED}); pass the path of an image file instead")
    if series_uid is None:
        if len(ids) > 1:
            listed = ", ".join(f"'{u}' ({len(reader.GetGDCMSeriesFileNames(str(folder), u))} files)"
                               for u in ids)
            raise ValueError(f"folder {folder} holds {len(ids)} DICOM series: {listed}. "
                             "Choose one with read_image(path, series_uid=...)")
        series_uid = ids[0]
    elif series_uid not in ids:
        raise ValueError(f"series_uid '{series_uid}' is not in folder {folder}; "
                         f"available: {', '.join(ids)}")
    names = reader.GetGDCMSeriesFileNames(str(folder), series_uid)
    _check_series_files(folder, names)
    reader.SetFileNames(names)
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise _compression_error(Path(names[0]), exc) from None
    if image.HasMetaDataKey("ITK_non_uniform_sampling_deviation"):
        raise _uneven_slices_error(folder, names, image)
    _check_spacing(folder, image.GetSpacing())
    return image


def _check_series_files(folder: Path, names: Sequence[str]) -> None:
    """Before reading a series: bounded total size, and no two files at the same slice position (two copies of
    one slice would otherwise become a 2-slice volume with an invented 1 mm spacing)."""
    info = sitk.ImageFileReader()
    info.SetImageIO("GDCMImageIO")
    info.SetFileName(str(names[0]))
    try:
        info.ReadImageInformation()
    except RuntimeError:
        return  # the series reader reports it
    size = info.GetSize()
    _check_declared_size(folder, (size[0], size[1], len(names)), info.GetNumberOfComponents(),
                         f"the series ({len(names)} files)")
    if len(names) < 2:
        return
    seen: dict[tuple, str] = {}
    for name in names:
        r = sitk.ImageFileReader()
        r.SetImageIO("GDCMImageIO")
        r.SetFileName(str(name))
        try:
            r.ReadImageInformation()
            xyz = tuple(round(float(v), 3) for v in r.GetMetaData("0020|0032").split("\\"))
        except (RuntimeError, ValueError):
            continue  # no position: the series reader orders such files itself
        if xyz in seen:
            raise ValueError(f"folder {folder}: {Path(name).name} and {seen[xyz]} are at the same slice position "
                             f"{xyz} mm (two copies of one slice?); read as a volume they would become extra "
                             "slices with an invented spacing. Remove the duplicate file")
        seen[xyz] = Path(name).name


def _uneven_slices_error(folder: Path, names: Sequence[str], image: sitk.Image) -> ValueError:
    """The series' slice positions are not evenly spaced (e.g. a file is missing): name the gap."""
    normal = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)[:, 2]
    pos = []
    for name in names:
        info = sitk.ImageFileReader()
        info.SetFileName(str(name))
        info.ReadImageInformation()
        xyz = [float(v) for v in info.GetMetaData("0020|0032").split("\\")]
        pos.append((float(np.dot(normal, xyz)), Path(name).name))
    pos.sort()
    z = np.array([q for q, _ in pos])
    steps = np.diff(z)
    step = float(np.min(steps[steps > 0])) if (steps > 0).any() else 0.0
    gaps = []
    for k, d in enumerate(steps):
        if step > 0 and d > 1.5 * step:
            missing = ", ".join(f"{z[k] + j * step:g}" for j in range(1, int(round(d / step))))
            gaps.append(f"between {pos[k][1]} (z = {z[k]:g} mm) and {pos[k + 1][1]} (z = {z[k + 1]:g} mm): "
                        f"missing z = {missing} mm")
    detail = "; ".join(gaps) if gaps else f"slice positions (mm) {', '.join(f'{v:g}' for v in z)}"
    return ValueError(
        f"folder {folder}: the {len(names)} slices of the DICOM series are not evenly spaced "
        f"(slice step {step:g} mm), so the volume geometry would be wrong; {detail}. "
        "Restore the missing file(s) or read the slices one by one."
    )


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def read_image(path: str | os.PathLike, series_uid: str | None = None) -> sitk.Image:
    """Read a medical image into a SimpleITK image (pixel values, spacing, origin, direction).

    Parameters
    ----------
    path:
        A folder holding one DICOM series, a single DICOM file, or a NIfTI / MetaImage /
        NRRD / PNG file.
    series_uid:
        For a folder holding several DICOM series: the SeriesInstanceUID to read.

    DICOM CT is returned in Hounsfield units (GDCM applies RescaleSlope/Intercept).
    A single DICOM file gives a 3-D image with one slice (its z spacing is the slice
    thickness); a PNG gives a 2-D image.

    >>> from pydicom.data import get_testdata_file
    >>> read_image(get_testdata_file("CT_small.dcm")).GetSpacing()[:2]
    (0.661468, 0.661468)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    if series_uid is not None and not isinstance(series_uid, str):
        raise TypeError(f"series_uid must be a str or None, got {type(series_uid).__name__}")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"path {p} does not exist")
    if p.is_dir():
        return _read_dicom_folder(p, series_uid)
    if p.stat().st_size == 0:
        raise ValueError(f"file {p} is empty (0 bytes): it is not an image; re-copy or re-download it")
    dicom = is_dicom_file(p) or p.suffix.lower() in {".dcm", ".dicom", ".ima"}
    _check_read_image(p, dicom)
    try:
        if dicom:
            reader = sitk.ImageFileReader()
            reader.SetImageIO("GDCMImageIO")
            reader.SetFileName(str(p))
            image = reader.Execute()
        else:
            image = sitk.ReadImage(str(p))
        _check_spacing(p, image.GetSpacing())
        return image
    except RuntimeError as exc:
        if dicom and is_dicom_file(p):
            raise _compression_error(p, exc) from None
        raise ValueError(f"{p} is not an image that can be read (supported: {SUPPORTED}); "
                         "check the file is complete and its extension matches its format") from None


def to_array(image: sitk.Image, order: str = "zyx") -> np.ndarray:
    """Copy the voxels of ``image`` into a numpy array.

    ``order="zyx"`` (default) is numpy/SimpleITK's order: ``array[slice, row, column]``,
    the reverse of ``image.GetSize()`` which is ``(x, y, z)``. ``order="xyz"`` transposes
    so that ``array[x, y, z]`` matches ``image.GetPixel(x, y, z)`` (as nibabel does).
    Vector (RGB) images keep the channel as the last axis.

    >>> img = sitk.Image(4, 3, 2, sitk.sitkInt16)
    >>> to_array(img).shape, to_array(img, order="xyz").shape
    ((2, 3, 4), (4, 3, 2))
    """
    if not isinstance(image, sitk.Image):
        raise TypeError(f"image must be a SimpleITK.Image, got {type(image).__name__}")
    if order not in ("zyx", "xyz"):
        raise ValueError(f"order must be 'zyx' or 'xyz', got {order!r}")
    arr = sitk.GetArrayFromImage(image)
    if order == "xyz":
        nd = image.GetDimension()
        axes = tuple(reversed(range(nd))) + tuple(range(nd, arr.ndim))
        arr = np.ascontiguousarray(arr.transpose(axes))
    return arr


def image_info(image: sitk.Image) -> dict:
    """Geometry and pixel type of ``image`` as a plain dict (sizes in voxels, lengths in mm).

    >>> image_info(sitk.Image(4, 3, sitk.sitkUInt8))["size_xyz"]
    (4, 3)
    """
    if not isinstance(image, sitk.Image):
        raise TypeError(f"image must be a SimpleITK.Image, got {type(image).__name__}")
    size = image.GetSize()
    spacing = image.GetSpacing()
    return {
        "size_xyz": tuple(size),
        "array_shape_zyx": tuple(reversed(size)),
        "spacing_mm": tuple(round(s, 6) for s in spacing),
        "origin_mm": tuple(round(o, 4) for o in image.GetOrigin()),
        "direction": tuple(round(d, 6) for d in image.GetDirection()),
        "pixel_type": image.GetPixelIDTypeAsString(),
        "voxel_volume_mm3": float(np.prod(spacing)),
        "extent_mm": tuple(round(n * s, 3) for n, s in zip(size, spacing)),
    }


def hu_from_dicom(path_or_dataset) -> np.ndarray:
    """Hounsfield units of a DICOM CT file computed by hand: ``stored * slope + intercept``.

    ``path_or_dataset`` is a file path or a ``pydicom.Dataset``. Returns float32 with shape
    ``(rows, columns)`` (or ``(frames, rows, columns)``). Missing RescaleSlope/Intercept
    mean slope 1, intercept 0.

    >>> from pydicom.data import get_testdata_file
    >>> hu = hu_from_dicom(get_testdata_file("CT_small.dcm"))
    >>> float(hu.min()), float(hu.max())
    (-896.0, 1167.0)
    """
    import pydicom

    if isinstance(path_or_dataset, pydicom.Dataset):
        ds, name = path_or_dataset, "dataset"
    elif isinstance(path_or_dataset, (str, os.PathLike)):
        p = Path(path_or_dataset)
        if not p.is_file():
            raise FileNotFoundError(f"path {p} is not a file")
        try:
            ds = pydicom.dcmread(str(p))
        except pydicom.errors.InvalidDicomError:
            raise ValueError(f"{p} is not a DICOM file (no 'DICM' preamble); "
                             "hu_from_dicom needs a DICOM CT file") from None
        except Exception as exc:  # noqa: BLE001 - truncated files raise several pydicom/struct types
            raise ValueError(f"{p} could not be parsed as DICOM ({type(exc).__name__}); the file may be "
                             "truncated: check it with medlab.io.dicom_info()") from None
        name = str(p)
    else:
        raise TypeError(f"path_or_dataset must be a path or a pydicom.Dataset, got {type(path_or_dataset).__name__}")
    if "PixelData" not in ds:
        raise ValueError(f"{name} has no pixel data (Modality {ds.get('Modality', '?')}); "
                         "it is not an image object")
    _check_dicom_dataset(Path(name) if name != "dataset" else name, ds)
    try:
        stored = ds.pixel_array
    except Exception as exc:  # noqa: BLE001 - pydicom raises several types for missing codecs
        uid = ds.file_meta.get("TransferSyntaxUID", "?") if hasattr(ds, "file_meta") else "?"
        raise ValueError(f"cannot decode the pixel data of {name} (transfer syntax "
                         f"{getattr(uid, 'name', uid)}): {exc}. Decompress it with "
                         "`gdcmconv --raw` or install pylibjpeg plugins") from None
    try:
        slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
        intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: RescaleSlope/RescaleIntercept are not numbers; the header is damaged") from None
    if not (np.isfinite(slope) and np.isfinite(intercept)) or slope == 0:
        raise ValueError(f"{name}: RescaleSlope {slope} / RescaleIntercept {intercept} would give no valid HU "
                         "(slope must be finite and non-zero, intercept finite); the header is damaged")
    return (stored.astype(np.float32) * np.float32(slope) + np.float32(intercept)).astype(np.float32)


_INTERPOLATORS = {"linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor,
                  "bspline": sitk.sitkBSpline}


def resample_isotropic(image: sitk.Image, spacing: float | None = None, interpolator: str = "linear",
                       default_value: float | None = None) -> sitk.Image:
    """Resample ``image`` onto a grid with the same ``spacing`` (mm) along every axis.

    ``spacing=None`` uses the finest existing spacing. The physical extent and the
    direction are kept: a voxel covers ``spacing`` mm around its centre, so the input covers
    ``[o - s/2, o + (n - 1/2) s]`` along each axis; the new size is
    ``m = round(n * s / spacing)`` and the new grid is centred on that extent, i.e. the new
    origin is ``o + D ((n s - m t) / 2 + (t - s) / 2)`` per axis (``t`` = new spacing,
    ``D`` = direction). It moves by half the change of spacing when ``m t = n s``; keeping the
    old origin instead would push the last slices outside the input.
    Use ``interpolator="nearest"`` for label masks. Voxels outside the input get
    ``default_value`` (default: the image minimum, i.e. air for CT).

    >>> img = sitk.Image(10, 10, 2, sitk.sitkInt16); img.SetSpacing((1.0, 1.0, 5.0))
    >>> iso = resample_isotropic(img)
    >>> iso.GetSize(), iso.GetOrigin()
    ((10, 10, 10), (0.0, 0.0, -2.0))
    """
    if not isinstance(image, sitk.Image):
        raise TypeError(f"image must be a SimpleITK.Image, got {type(image).__name__}")
    check_choice(interpolator, "interpolator", sorted(_INTERPOLATORS))
    if default_value is not None:
        default_value = check_float(default_value, "default_value")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ValueError(f"image has {image.GetNumberOfComponentsPerPixel()} components per pixel; resample a "
                         "scalar (grey) image")
    old_spacing = np.array(image.GetSpacing(), dtype=float)
    if spacing is None:
        spacing = float(old_spacing.min())
    if isinstance(spacing, bool) or not isinstance(spacing, (int, float, np.floating, np.integer)):
        raise TypeError(f"spacing must be a positive number (mm) or None, got {type(spacing).__name__}")
    if not np.isfinite(spacing) or spacing <= 0:
        raise ValueError(f"spacing must be a positive number of mm, got {spacing}")
    size = np.array(image.GetSize(), dtype=float)
    # float arithmetic first: n * s / spacing can exceed int64 (np.prod of ints would wrap around and pass)
    want = [max(1.0, float(np.round(float(n) * float(s) / float(spacing)))) for n, s in zip(size, old_spacing)]
    total = math.prod(want)
    if not np.isfinite(total) or total > MAX_RESAMPLE_VOXELS:
        raise ValueError(f"spacing {spacing} mm would create {' x '.join(f'{v:.3g}' for v in want)} = {total:.3g} "
                         f"voxels; at most {MAX_RESAMPLE_VOXELS:,} are allowed (memory): use a larger spacing")
    new_size = [int(v) for v in want]
    if default_value is None:
        stats = sitk.MinimumMaximumImageFilter()
        stats.Execute(image)
        default_value = stats.GetMinimum()
    _, origin = isotropic_grid(image, float(spacing))
    return sitk.Resample(image, new_size, sitk.Transform(), _INTERPOLATORS[interpolator],
                         origin, (float(spacing),) * image.GetDimension(),
                         image.GetDirection(), float(default_value), image.GetPixelID())


#: Most voxels :func:`resample_isotropic` (and :func:`isotropic_grid`) creates.
MAX_RESAMPLE_VOXELS = 400_000_000


def isotropic_grid(image: sitk.Image, spacing: float) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """(size, origin) of the grid :func:`resample_isotropic` uses for ``spacing`` mm: size
    ``round(n s / t)`` per axis, origin ``o + D ((n s - m t) / 2 + (t - s) / 2)`` (the new grid
    centred on the old physical extent). For code that samples part of that grid itself.

    >>> img = sitk.Image(4, 4, 3, sitk.sitkInt16); img.SetSpacing((1.0, 1.0, 8.0))
    >>> isotropic_grid(img, 2.0)
    ((2, 2, 12), (0.5, 0.5, -3.0))
    """
    if not isinstance(image, sitk.Image):
        raise TypeError(f"image must be a SimpleITK.Image, got {type(image).__name__}")
    if isinstance(spacing, bool) or not isinstance(spacing, (int, float, np.floating, np.integer)):
        raise TypeError(f"spacing must be a positive number (mm), got {type(spacing).__name__}")
    if not np.isfinite(spacing) or spacing <= 0:
        raise ValueError(f"spacing must be a positive number of mm, got {spacing}")
    old_spacing = np.array(image.GetSpacing(), dtype=float)
    size = np.array(image.GetSize(), dtype=float)
    want = [max(1.0, float(np.round(float(n) * float(s) / float(spacing)))) for n, s in zip(size, old_spacing)]
    if not all(np.isfinite(v) and v < 2**31 for v in want):
        raise ValueError(f"spacing {spacing} mm would create a grid of {' x '.join(f'{v:.3g}' for v in want)} "
                         "voxels (an axis longer than 2**31 voxels cannot be indexed): use a larger spacing")
    new_size = np.array([int(v) for v in want])
    shift = (size * old_spacing - new_size * float(spacing)) / 2 + (float(spacing) - old_spacing) / 2
    direction = np.asarray(image.GetDirection(), dtype=float).reshape(image.GetDimension(), -1)
    origin = np.asarray(image.GetOrigin(), dtype=float) + direction @ shift
    return tuple(int(n) for n in new_size), tuple(float(v) for v in origin)


#: The interpolators of :func:`resample_isotropic` and :func:`coronal_plane_resampled`.
INTERPOLATORS = ("nearest", "linear", "bspline")


def index_to_physical(image: sitk.Image, index_xyz: Sequence[float]) -> tuple[float, ...]:
    """Physical point (mm) of a voxel index ``(i, j, k)`` (ITK order x, y, z).

    ``p = origin + D · diag(spacing) · index``, written out by hand (the taught formula; SimpleITK's
    ``TransformContinuousIndexToPhysicalPoint`` gives the same). Used in 01 §1-2 (voxel inspector).

    >>> img = sitk.Image(2, 2, 2, sitk.sitkUInt8); img.SetSpacing((2.0, 3.0, 4.0)); img.SetOrigin((1, 0, 0))
    >>> index_to_physical(img, (1, 1, 1))
    (3.0, 3.0, 4.0)
    """
    if not isinstance(image, sitk.Image):
        raise TypeError(f"image must be a SimpleITK.Image, got {type(image).__name__}")
    nd = image.GetDimension()
    idx = check_array(index_xyz, "index_xyz", ndim=1, shape=(nd,), dtype=np.float64)
    o = np.asarray(image.GetOrigin(), dtype=np.float64)
    d = np.asarray(image.GetDirection(), dtype=np.float64).reshape(nd, nd)
    s = np.asarray(image.GetSpacing(), dtype=np.float64)
    p = o + d @ (s * idx)
    return tuple(float(v) for v in p)


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
        period = 2 * (n - 1)  # mirror boundary (as the coefficients are): ... 2 1 | 0 1 2 ... n-1 | n-2 ...
        r = m % period if period else 0
        mm = r if r < n else period - r
        plane += _cubic_bspline(t - m) * coef[:, mm, :]
    zc = c0[2] + np.arange(new_size[2]) * spacing / old[2]
    xc = c0[0] + np.arange(new_size[0]) * spacing / old[0]
    zz, xx = np.meshgrid(zc, xc, indexing="ij")
    vals = ndi.map_coordinates(plane, [zz, xx], order=3, prefilter=False, mode="mirror")
    # ITK: a point is inside when its continuous index lies in [-0.5, size - 0.5)
    inside = (zz >= -0.5) & (zz < size[2] - 0.5) & (xx >= -0.5) & (xx < size[0] - 0.5)
    return np.where(inside, vals, default_value)


#: Most pixels :func:`coronal_plane_resampled` computes for one plane (a 0.1 mm grid of the CT: ~8 M).
MAX_PLANE_PIXELS = 16_000_000


def coronal_plane_resampled(image: sitk.Image, spacing: float, y_mm: float, interpolator: str = "linear",
                            default_value: float | None = None, margin: int = 8) -> tuple[np.ndarray, int]:
    """One coronal plane of ``resample_isotropic(image, spacing, interpolator)``, without the full resample.

    The plane is the row of :func:`resample_isotropic`'s grid (:func:`isotropic_grid`) nearest to
    ``y_mm`` (mm from the origin along the image's y axis). Returns ``(plane, j)``: the plane as a
    (z, x) array in the image's pixel type, z from the grid origin upwards, and its row index ``j`` in
    the full resampled grid. Used in 01 §6 (resampling explorer: one plane per slider move).

    Only a slab of ``2·margin+1`` input rows around the plane is used (the full resample takes
    0.1-0.2 s linear, 2-3 s B-spline). Nearest and linear: SimpleITK ``Resample`` of the slab onto
    the plane's grid, values identical to the full resample. B-spline: separable, with scipy (the
    slab's B-spline coefficients are combined along y, then the plane is interpolated in 2-D);
    prefiltering the slab instead of the volume changes values by far less than 1 HU with an
    8-row margin (the prefilter decays as 0.27^n), so the plane agrees with SimpleITK's full
    B-spline resample to within 1 HU (int16 truncation).

    >>> img = sitk.GetImageFromArray(np.arange(4 * 6 * 5, dtype=np.int16).reshape(4, 6, 5))
    >>> img.SetSpacing((1.0, 1.0, 2.0))
    >>> plane, j = coronal_plane_resampled(img, 1.0, 2.0, "nearest")
    >>> full = sitk.GetArrayFromImage(resample_isotropic(img, 1.0, "nearest"))
    >>> plane.shape, j, bool((plane == full[:, j, :]).all())
    ((8, 5), 2, True)
    """
    if not isinstance(image, sitk.Image):
        raise TypeError(f"image must be a SimpleITK.Image, got {type(image).__name__}")
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise ValueError(f"image must be a 3-D scalar image, got {image.GetDimension()}-D with "
                         f"{image.GetNumberOfComponentsPerPixel()} component(s) per pixel")
    check_choice(interpolator, "interpolator", INTERPOLATORS)
    y_mm = check_float(y_mm, "y_mm")
    margin = check_int(margin, "margin", low=2, high=64)
    new_size, grid_origin = isotropic_grid(image, spacing)  # checks spacing
    spacing = float(spacing)
    check_limit(new_size[0] * new_size[2], MAX_PLANE_PIXELS, "pixels for one plane",
                f"spacing {spacing:g} mm is too fine for this image; use a larger spacing")
    c0 = _continuous_index(image, spacing, grid_origin)
    old = np.array(image.GetSpacing(), dtype=float)
    j = int(np.clip(round((y_mm / old[1] - c0[1]) * old[1] / spacing), 0, new_size[1] - 1))
    if default_value is None:
        stats = sitk.MinimumMaximumImageFilter()
        stats.Execute(image)
        default_value = stats.GetMinimum()
    default_value = check_float(default_value, "default_value")
    dtype = sitk.GetArrayViewFromImage(image[:1, :1, :1]).dtype
    if interpolator == "bspline":
        vals = _bspline_plane(image, j, spacing, new_size, grid_origin, default_value, margin)
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
    out = sitk.Resample(slab, [new_size[0], 1, new_size[2]], sitk.Transform(), _INTERPOLATORS[interpolator],
                        tuple(origin), (spacing,) * 3, image.GetDirection(), default_value,
                        image.GetPixelID())
    return sitk.GetArrayFromImage(out)[:, 0, :], j


# --------------------------------------------------------------------------------------------
# DICOM header table
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DicomInfo:
    """The header fields a learner should look at first, for one DICOM file.

    The one DICOM header model of MedLab: :func:`dicom_info` returns a table of these rows and
    :func:`load_dicom_series` keeps one per file next to the stored pixels.
    """

    file: str
    modality: str
    manufacturer: str
    kernel: str
    slice_thickness_mm: float | None
    pixel_spacing_mm: tuple | None
    rows: int | None
    columns: int | None
    rescale_slope: float | None
    rescale_intercept: float | None
    transfer_syntax: str
    instance_number: int | None
    slice_position_z_mm: float | None
    series_uid: str
    image_position_mm: tuple | None = None
    slice_location_mm: float | None = None
    bits_stored: int | None = None
    pixel_representation: int | None = None


def _num(value, cast=float):
    if value is None or value == "":
        return None
    try:
        return cast(value)
    except (TypeError, ValueError):
        return None


def _info_from_dataset(ds, name: str) -> DicomInfo:
    kernel = ds.get("ConvolutionKernel", "")
    if not isinstance(kernel, str):
        kernel = "\\".join(str(k) for k in kernel)
    ps = ds.get("PixelSpacing", None)
    ipp = ds.get("ImagePositionPatient", None)
    uid = ds.file_meta.get("TransferSyntaxUID", "") if hasattr(ds, "file_meta") else ""
    return DicomInfo(
        file=name,
        modality=str(ds.get("Modality", "")),
        manufacturer=str(ds.get("Manufacturer", "")),
        kernel=str(kernel),
        slice_thickness_mm=_num(ds.get("SliceThickness", None)),
        pixel_spacing_mm=tuple(float(v) for v in ps) if ps is not None else None,
        rows=_num(ds.get("Rows", None), int),
        columns=_num(ds.get("Columns", None), int),
        rescale_slope=_num(ds.get("RescaleSlope", None)),
        rescale_intercept=_num(ds.get("RescaleIntercept", None)),
        transfer_syntax=getattr(uid, "name", str(uid)) if uid else "",
        instance_number=_num(ds.get("InstanceNumber", None), int),
        slice_position_z_mm=float(ipp[2]) if ipp is not None and len(ipp) == 3 else None,
        series_uid=str(ds.get("SeriesInstanceUID", "")),
        image_position_mm=tuple(float(v) for v in ipp) if ipp is not None and len(ipp) == 3 else None,
        slice_location_mm=_num(ds.get("SliceLocation", None)),
        bits_stored=_num(ds.get("BitsStored", None), int),
        pixel_representation=_num(ds.get("PixelRepresentation", None), int),
    )


class DicomTable(list):
    """A list of :class:`DicomInfo` rows with a readable text and HTML table."""

    columns = [f.name for f in fields(DicomInfo)]
    _short = ["file", "modality", "manufacturer", "kernel", "slice_thickness_mm", "pixel_spacing_mm",
              "rows", "columns", "rescale_slope", "rescale_intercept", "transfer_syntax",
              "instance_number", "slice_position_z_mm"]

    def column(self, name: str) -> list:
        """All values of one column, e.g. ``table.column("slice_position_z_mm")``."""
        if name not in self.columns:
            raise ValueError(f"name must be one of {self.columns}, got {name!r}")
        return [getattr(r, name) for r in self]

    @staticmethod
    def _fmt(v) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:g}"
        if isinstance(v, tuple):
            return "×".join(f"{x:g}" for x in v)
        return str(v)

    def _rows(self, max_rows: int):
        rows = list(self)
        if len(rows) > max_rows:
            half = max_rows // 2
            return rows[:half], len(rows) - 2 * half, rows[-half:]
        return rows, 0, []

    def __str__(self) -> str:
        cols = self._short
        head, skipped, tail = self._rows(12)
        body = [[self._fmt(getattr(r, c)) for c in cols] for r in head + tail]
        widths = [max([len(c)] + [len(b[i]) for b in body]) for i, c in enumerate(cols)]
        line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths))  # noqa: E731
        out = [line(cols)]
        out += [line(b) for b in body[:len(head)]]
        if skipped:
            out.append(f"... {skipped} more rows ...")
        out += [line(b) for b in body[len(head):]]
        return "\n".join(out)

    def __repr__(self) -> str:
        return f"DicomTable({len(self)} files)\n{self}"

    def _repr_html_(self) -> str:
        head, skipped, tail = self._rows(12)
        th = "".join(f"<th>{html.escape(c)}</th>" for c in self._short)
        row = lambda r: "<tr>" + "".join(f"<td>{html.escape(self._fmt(getattr(r, c)))}</td>"  # noqa: E731
                                         for c in self._short) + "</tr>"
        trs = [row(r) for r in head]
        if skipped:
            trs.append(f"<tr><td colspan='{len(self._short)}'>… {skipped} more rows …</td></tr>")
        trs += [row(r) for r in tail]
        return (f"<p><b>{len(self)} DICOM file(s)</b></p><table><thead><tr>{th}</tr></thead>"
                f"<tbody>{''.join(trs)}</tbody></table>")


def dicom_info(path: str | os.PathLike) -> DicomTable:
    """Read the key DICOM header fields of a file, or of every DICOM file in a folder.

    Rows are sorted by InstanceNumber (then file name). Non-DICOM files in a folder
    (e.g. a licence text) are skipped; pixel data is not read, so this is fast.

    >>> from pydicom.data import get_testdata_file
    >>> t = dicom_info(get_testdata_file("CT_small.dcm"))
    >>> t[0].modality, t[0].rescale_intercept, t[0].transfer_syntax
    ('CT', -1024.0, 'Explicit VR Little Endian')
    """
    import pydicom

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"path {p} does not exist")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file())
        if not files:
            raise ValueError(f"folder {p} is empty: there are no DICOM files to describe")
    else:
        files = [p]
    rows = []
    for f in files:
        if not (is_dicom_file(f) or f.suffix.lower() == ".dcm"):
            if p.is_dir():
                continue
            raise ValueError(f"{f} is not a DICOM file (no 'DICM' preamble); "
                             "dicom_info needs a .dcm file or a folder of them")
        try:
            ds = pydicom.dcmread(str(f), stop_before_pixels=True, force=not is_dicom_file(f))
        except Exception:  # noqa: BLE001
            if p.is_dir():
                continue
            raise ValueError(f"{f} could not be parsed as DICOM; the file may be truncated") from None
        if "SOPClassUID" not in ds and "Modality" not in ds:
            if p.is_dir():
                continue
            raise ValueError(f"{f} is not a DICOM file (no SOP class, no modality); "
                             "dicom_info needs a .dcm file or a folder of them")
        rows.append(_info_from_dataset(ds, f.name))
    if not rows:
        raise ValueError(f"folder {p} contains {len(files)} file(s) but none is DICOM")
    rows.sort(key=lambda r: (r.instance_number if r.instance_number is not None else 10**9, r.file))
    return DicomTable(rows)


@dataclass(frozen=True, eq=False)
class DicomSeries:
    """One DICOM series folder read once, in *file-name* order: the header rows and the stored pixels.

    ``info``: a :class:`DicomTable` of the same :class:`DicomInfo` rows :func:`dicom_info` gives, but in
    file-name order (the order a file browser shows, not the anatomy's); ``stored[i]``: the stored pixel
    values of file ``i`` (before RescaleSlope/Intercept); ``z_mm[i]``: its ImagePositionPatient z
    (SliceLocation if absent); ``sorted_index[i]``: the slice file ``i`` becomes when the files are
    sorted by position (0 = lowest z), which is what a reader must do. Arrays are read-only.
    """

    info: DicomTable
    stored: tuple
    z_mm: np.ndarray
    sorted_index: np.ndarray

    @property
    def files(self) -> list[str]:
        """File names, in file-name order."""
        return [r.file for r in self.info]

    def __len__(self) -> int:
        return len(self.info)

    def hu(self, index: int) -> np.ndarray:
        """Hounsfield units of file ``index``: ``stored * slope + intercept`` (float32; missing = 1, 0)."""
        index = check_int(index, "index", low=0, high=len(self) - 1)
        row = self.info[index]
        slope = row.rescale_slope if row.rescale_slope is not None else 1.0
        intercept = row.rescale_intercept if row.rescale_intercept is not None else 0.0
        return self.stored[index].astype(np.float32) * np.float32(slope) + np.float32(intercept)


#: Most files :func:`load_dicom_series` reads (their pixels are kept in memory).
MAX_SERIES_FILES = 2000


def load_dicom_series(folder: str | os.PathLike, max_files: int = 1000) -> DicomSeries:
    """Read every DICOM file of ``folder`` once (header and stored pixels), in file-name order.

    Non-DICOM files (a licence text) are skipped; a folder with none raises ``ValueError``, as does
    a file without pixel data. At most ``max_files`` files (<= 2000) are read, all kept in memory.
    Used in 01 §3 (DICOM series browser).

    >>> import shutil, tempfile
    >>> from pydicom.data import get_testdata_file
    >>> folder = tempfile.mkdtemp(); _ = shutil.copy(get_testdata_file("CT_small.dcm"), folder)
    >>> s = load_dicom_series(folder)
    >>> len(s), s.files, s.info[0].rescale_intercept, s.stored[0].shape, float(s.hu(0).min())
    (1, ['CT_small.dcm'], -1024.0, (128, 128), -896.0)
    >>> shutil.rmtree(folder)
    """
    import pydicom

    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a str or os.PathLike, got {type(folder).__name__}")
    max_files = check_int(max_files, "max_files", low=1, high=MAX_SERIES_FILES, why_high="memory")
    p = Path(folder)
    if not p.is_dir():
        raise ValueError(f"folder {p} is not a directory; pass the folder that holds the series' .dcm files")
    files = sorted(f for f in p.iterdir() if f.is_file() and is_dicom_file(f))
    if not files:
        raise ValueError(f"folder {p} contains no DICOM file (none starts with the 'DICM' preamble)")
    if len(files) > max_files:
        raise ValueError(f"folder {p} holds {len(files)} DICOM files; at most max_files={max_files} are read "
                         "(all pixels are kept in memory): pass a larger max_files or a smaller folder")
    rows, stored, z = [], [], []
    for f in files:
        try:
            ds = pydicom.dcmread(str(f))
        except Exception:  # noqa: BLE001 - pydicom raises several types for damaged files
            raise ValueError(f"{f} could not be parsed as DICOM; the file may be truncated") from None
        if "PixelData" not in ds:
            raise ValueError(f"{f} has no pixel data (Modality {ds.get('Modality', '?')}); "
                             "a series folder must hold only image files")
        _check_dicom_dataset(f, ds)
        try:
            pixels = ds.pixel_array
        except Exception as exc:  # noqa: BLE001 - missing codecs raise several types
            raise _compression_error(f, exc) from None
        row = _info_from_dataset(ds, f.name)
        rows.append(row)
        pixels.flags.writeable = False
        stored.append(pixels)
        z.append(row.slice_position_z_mm if row.slice_position_z_mm is not None
                 else (row.slice_location_mm if row.slice_location_mm is not None else np.nan))
    z_mm = np.asarray(z, dtype=np.float64)
    positions: dict[tuple, str] = {}
    for row in rows:
        if row.image_position_mm is None:
            continue
        key = tuple(round(v, 3) for v in row.image_position_mm)
        if key in positions:
            raise ValueError(f"folder {p}: {row.file} and {positions[key]} are at the same slice position {key} mm "
                             "(two copies of one slice?); sorting by position would be ambiguous. Remove the "
                             "duplicate file")
        positions[key] = row.file
    order = np.argsort(z_mm, kind="stable")
    sorted_index = np.empty(len(files), dtype=int)
    sorted_index[order] = np.arange(len(files))
    z_mm.flags.writeable = False
    sorted_index.flags.writeable = False
    return DicomSeries(DicomTable(rows), tuple(stored), z_mm, sorted_index)


def as_volume(image) -> tuple[np.ndarray, tuple[float, float, float], list]:
    """The one converter "LungCT / SimpleITK image / array -> volume": ``(zyx array, spacing xyz mm, boxes)``.

    A LungCT-like object (with ``.image`` and ``.boxes``) gives its boxes; a 3-D SimpleITK image its
    spacing; a numpy (z, y, x) array (or one 2-D slice) spacing (1, 1, 1) mm. The array is a copy.
    Used by the viewers of 00, 01, 04 and 09.

    >>> vol, spacing, boxes = as_volume(np.zeros((2, 3, 4)))
    >>> vol.shape, spacing, boxes
    ((2, 3, 4), (1.0, 1.0, 1.0), [])
    """
    boxes = list(getattr(image, "boxes", []) or [])
    if hasattr(image, "image") and isinstance(image.image, sitk.Image):
        image = image.image
    if isinstance(image, sitk.Image):
        if image.GetNumberOfComponentsPerPixel() != 1:
            raise ValueError(f"image has {image.GetNumberOfComponentsPerPixel()} components per pixel (a colour "
                             "or vector image); a volume needs one value per voxel: convert it to grey first "
                             "(e.g. sitk.VectorIndexSelectionCast(image, 0))")
        if image.GetDimension() != 3:
            raise ValueError(f"image must be 3-D, got a {image.GetDimension()}-D SimpleITK image")
        # a copy: an array view would dangle once the caller drops the image
        return sitk.GetArrayFromImage(image), tuple(float(v) for v in image.GetSpacing()), boxes
    if image is None or isinstance(image, (str, bytes)):
        raise TypeError(f"image must be a LungCT, a 3-D SimpleITK image or a (z, y, x) array, "
                        f"got {type(image).__name__}")
    arr = np.array(image)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"image must be numeric, got dtype {arr.dtype}")
    check_not_rgb(arr, "image")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"image must be a 3-D (z, y, x) array or SimpleITK image, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"image is empty (shape {arr.shape})")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError("image contains NaN or infinite values; replace them (e.g. np.nan_to_num) first")
    return arr, (1.0, 1.0, 1.0), boxes


#: Histogram bins (edges, HU) for CT slices: -1024..1600 in steps of 16 HU.
HU_BINS = np.arange(-1024, 1601, 16)


def hu_histogram(plane: np.ndarray, bins: np.ndarray = HU_BINS) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, counts) of a HU plane on fixed bin edges; values outside go to the end bins.

    Fixed bins keep the histograms of different slices comparable (and a widget's chart axes fixed).
    Used in 01 §5 (window/level explorer) and 04 §3 (threshold explorer).

    >>> c, n = hu_histogram(np.array([-1024, 0, 0, 1600]), np.array([-1024, 0, 1601]))
    >>> c.tolist(), n.tolist()
    ([-512.0, 800.5], [1, 3])
    """
    a = check_array(plane, "plane")
    edges = check_array(bins, "bins", ndim=1, min_size=2, dtype=np.float64)
    if not np.all(np.diff(edges) > 0):
        raise ValueError("bins must be strictly increasing bin edges")
    counts, _ = np.histogram(np.clip(a, edges[0], edges[-1] - 1e-6), bins=edges)
    return (edges[:-1] + edges[1:]) / 2.0, counts
