"""Teaching samples: small, named cut-outs of the embedded data that several notebooks and widgets share.

Each function is cached and returns a read-only array (a learner who modifies a sample gets an error
instead of silently changing it for every later cell). Re-exported by :mod:`medlab.datasets`, so
``from medlab.datasets import lung_slice`` works. Pure: no ipywidgets.

Sections below are per notebook unit.
"""
from __future__ import annotations

import functools

import numpy as np

__all__: list[str] = []


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.flags.writeable = False
    return a


def _export(fn):
    __all__.append(fn.__name__)
    return fn


# ============================================================================ 00 / 01: medical images

# ============================================================================ 02 / 03: convolution, pooling
#: Slice of the embedded lung CT shown in 02/03 (a tumour box is annotated on it).
LUNG_SLICE_INDEX = 14
#: Top-left (row, col) of the 8x8 stepper patch of 02 §2: it straddles the upper edge of the tumour.
STEPPER_PATCH_ORIGIN = (262, 163)
#: Where 03 §2 places the simulated nodule: lung parenchyma of the left lung (image right), slice 14.
NODULE_CENTRE = (205, 395)
#: The three CT windows used as the channels of :func:`ct_channels` (names of ``medlab.display.PRESETS``).
CHANNEL_WINDOWS = ("lung", "mediastinum", "bone")
#: Weight templates of the one dense neuron of 03 §4 (:func:`dense_template`).
DENSE_TEMPLATES = ("pneumonia − normal (class means)", "centre of the chest (Gaussian)", "left − right half",
                   "random (seed 0)")
__all__ += ["LUNG_SLICE_INDEX", "STEPPER_PATCH_ORIGIN", "NODULE_CENTRE", "CHANNEL_WINDOWS", "DENSE_TEMPLATES"]


def _lung_ct_slice(index: int) -> np.ndarray:
    from ._validate import check_int
    from .datasets import load_lung_ct

    arr = load_lung_ct().array  # a copy of the voxels (z, y, x) in HU
    index = check_int(index, "index", low=0, high=arr.shape[0] - 1)
    return arr[index]


@_export
@functools.lru_cache(maxsize=8)
def lung_slice(index: int = LUNG_SLICE_INDEX) -> np.ndarray:
    """Axial slice ``index`` of the embedded lung CT in the lung window (W 1500, L -600), float32 in [0, 1].

    Used in 02 and 03 (every section), read-only.

    >>> ct = lung_slice(); ct.shape, ct.dtype, ct.flags.writeable
    ((512, 512), dtype('float32'), False)
    """
    from .display import PRESETS, window_level

    return _readonly(np.asarray(window_level(_lung_ct_slice(index), *PRESETS["lung"]), dtype=np.float32))


@_export
@functools.lru_cache(maxsize=4)
def chest_xray(name: str = "00000001_000") -> np.ndarray:
    """An embedded adult chest X-ray as float32 in [0, 1] (512x512), read-only. Used in 02 §5, 03 §2.

    The PNG states no pixel spacing (see :func:`pixel_spacing`): sizes on it are in pixels.

    >>> chest_xray().shape
    (512, 512)
    """
    from .datasets import load_chest_xray

    return _readonly(load_chest_xray(name).astype(np.float32) / 255.0)


@_export
def pixel_spacing(name: str) -> tuple[float, float] | None:
    """Pixel spacing (row mm, column mm) of a named teaching image, as stated by its data; ``None`` if the
    data states none.

    ``"lung CT"``: from the CT series (DICOM PixelSpacing, read by :func:`medlab.datasets.load_lung_ct`).
    ``"chest X-ray"``: ``None`` -- the NIH ChestX-ray14 PNGs were downscaled from 1024 to 512 and carry no
    spacing, so distances on them can only be given in pixels. Used in 03 §2 and §3.

    >>> [round(s, 4) for s in pixel_spacing("lung CT")], pixel_spacing("chest X-ray")
    ([0.6465, 0.6465], None)
    """
    from ._validate import check_choice

    check_choice(name, "name", ("lung CT", "chest X-ray"))
    if name == "chest X-ray":
        return None
    from .datasets import load_lung_ct

    sx, sy, _ = load_lung_ct().spacing  # (x, y, z): columns, rows, slices
    return float(sy), float(sx)


@_export
def teaching_image(name: str) -> np.ndarray:
    """The named 2-D teaching image of 02/03: ``"lung CT"`` (:func:`lung_slice`) or ``"chest X-ray"``
    (:func:`chest_xray`), float32 in [0, 1], read-only.

    >>> teaching_image("chest X-ray").shape
    (512, 512)
    """
    from ._validate import check_choice

    check_choice(name, "name", ("lung CT", "chest X-ray"))
    return lung_slice() if name == "lung CT" else chest_xray()


@_export
def stepper_patch() -> np.ndarray:
    """The 8x8 lung-window patch of the 02 §2 stepper (rows/cols from :data:`STEPPER_PATCH_ORIGIN`), rounded
    to 2 decimals so every number shown is exact. float64, read-only.

    >>> p = stepper_patch(); p.shape, bool(p[-1].mean() > p[0].mean())
    ((8, 8), True)
    """
    r, c = STEPPER_PATCH_ORIGIN
    return _readonly(np.round(lung_slice()[r: r + 8, c: c + 8].astype(np.float64), 2))


@_export
@functools.lru_cache(maxsize=4)
def ct_channels(index: int = LUNG_SLICE_INDEX) -> np.ndarray:
    """Slice ``index`` of the lung CT as a (512, 512, 3) float32 image in [0, 1]: lung, mediastinum and bone
    windows (:data:`CHANNEL_WINDOWS`) as three channels. Used in 02 §6 (1x1 convolution), read-only.

    >>> ct_channels().shape
    (512, 512, 3)
    """
    from .display import PRESETS, window_level

    hu = _lung_ct_slice(index)
    return _readonly(np.stack([np.asarray(window_level(hu, *PRESETS[n]), np.float32) for n in CHANNEL_WINDOWS], -1))


@_export
@functools.lru_cache(maxsize=1)
def pneumonia_data() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """PneumoniaMNIST ``{"train": (x, y), "test": (x, y)}``: images float32 in [0, 1] (N, 28, 28), labels
    int (0 normal, 1 pneumonia), read-only. Used in 03 §4.

    >>> x, y = pneumonia_data()["test"]; x.shape, sorted(set(y.tolist()))
    ((624, 28, 28), [0, 1])
    """
    from .datasets import load_pneumoniamnist

    out = {}
    for split in ("train", "test"):
        x, y = load_pneumoniamnist(split)
        out[split] = (_readonly(x.astype(np.float32) / 255.0), _readonly(y))
    return out


@_export
@functools.lru_cache(maxsize=8)
def dense_template(name: str) -> np.ndarray:
    """A 28x28 weight template for one dense neuron (03 §4), scaled so that w·x has standard deviation 1 over
    the PneumoniaMNIST training images (a bias of ±1 then moves the threshold by one spread). Read-only.

    ``name`` is one of :data:`DENSE_TEMPLATES`; the class-means template is ``mean(pneumonia) − mean(normal)``
    of the training split -- the simplest "learned" neuron.

    >>> t = dense_template(DENSE_TEMPLATES[2]); t.shape, bool(t[0, 0] > 0 > t[0, -1])
    ((28, 28), True)
    """
    from ._validate import check_choice

    check_choice(name, "name", DENSE_TEMPLATES)
    xtr, ytr = pneumonia_data()["train"]
    yy, xx = np.mgrid[0:28, 0:28]
    if name == DENSE_TEMPLATES[0]:
        t = xtr[ytr == 1].mean(0) - xtr[ytr == 0].mean(0)
    elif name == DENSE_TEMPLATES[1]:
        t = np.exp(-((yy - 14.0) ** 2 + (xx - 13.5) ** 2) / (2 * 5.0 ** 2))
    elif name == DENSE_TEMPLATES[2]:
        t = np.where(xx < 14, 1.0, -1.0)
    else:
        t = np.random.default_rng(0).standard_normal((28, 28))
    t = np.asarray(t, np.float64)
    sd = float((xtr.reshape(len(xtr), -1) @ t.ravel()).std())
    return _readonly((t / sd).astype(np.float32))


@_export
@functools.lru_cache(maxsize=8)
def dense_template_mean(name: str) -> float:
    """Mean of w·x over the PneumoniaMNIST training images for :func:`dense_template` ``name`` (its spread is 1).

    >>> abs(dense_template_mean(DENSE_TEMPLATES[3])) < 10
    True
    """
    xtr, _ = pneumonia_data()["train"]
    return float((xtr.reshape(len(xtr), -1) @ dense_template(name).ravel()).mean())


# ============================================================================ 04: preprocessing
@_export
@functools.lru_cache(maxsize=1)
def tumour_slice() -> np.ndarray:
    """The axial slice through the middle of the annotated tumour of the embedded lung CT: HU, int16,
    512x512, read-only. Its index is ``boxes[len(boxes) // 2].slice_index`` of
    :func:`medlab.datasets.load_lung_ct` (17). Used in 04 §1-§3 (the working slice of the notebook and
    the demo of the denoising widget).

    >>> s = tumour_slice(); s.shape, s.dtype, s.flags.writeable
    ((512, 512), dtype('int16'), False)
    """
    from .datasets import load_lung_ct

    ct = load_lung_ct()
    return _readonly(ct.array[ct.boxes[len(ct.boxes) // 2].slice_index])


# ============================================================================ 05: features and the SVM
from typing import NamedTuple  # noqa: E402

#: Name of the 4x4 patch of exercise 2.1 in :func:`glcm_patches`.
GLCM_EXAMPLE_NAME = "4×4 example (exercise 2.1)"
__all__ += ["GLCM_EXAMPLE_NAME", "TextureRegion"]


class TextureRegion(NamedTuple):
    """One annotated slice of the embedded CT with the two regions 05 compares (boxes inclusive)."""
    slice_index: int
    hu: np.ndarray                          # the axial slice, HU, int16 (512, 512), read-only
    tumour: tuple[int, int, int, int]       # the tumour box (row0, col0, row1, col1)
    lung: tuple[int, int, int, int]         # a lung-parenchyma box of the same size, not overlapping it


@_export
@functools.lru_cache(maxsize=1)
def ct_texture_regions() -> tuple[TextureRegion, ...]:
    """Every annotated slice of the embedded lung CT with its tumour box and a lung-parenchyma box of the
    same size (:func:`medlab.features.parenchyma_box`), in slice order. Used in 05 §1, §3, §5.

    >>> r = ct_texture_regions(); len(r), r[0].slice_index, r[0].hu.flags.writeable
    (10, 12, False)
    """
    from .datasets import load_lung_ct
    from .features import parenchyma_box

    ct = load_lung_ct()
    out = []
    for b in ct.boxes:
        hu = _readonly(ct.array[b.slice_index])
        tumour = (b.row0, b.col0, b.row1, b.col1)
        lung = parenchyma_box(hu, (b.row1 - b.row0 + 1, b.col1 - b.col0 + 1), exclude=tumour)
        out.append(TextureRegion(int(b.slice_index), hu, tumour, lung))
    return tuple(out)


@_export
def ct_largest_tumour() -> TextureRegion:
    """The entry of :func:`ct_texture_regions` with the largest tumour box (by (rows - 1) x (cols - 1), the
    first if tied): the working slice of 05.

    >>> r = ct_largest_tumour(); r.slice_index, r.tumour
    (15, (253, 108, 330, 226))
    """
    return max(ct_texture_regions(), key=lambda r: (r.tumour[2] - r.tumour[0]) * (r.tumour[3] - r.tumour[1]))


@_export
@functools.lru_cache(maxsize=1)
def ct_pixel_spacing_xy() -> tuple[float, float]:
    """Pixel size (x = column, y = row) of the embedded lung CT in mm, from its DICOM header. Used in 05 §5.

    >>> [round(v, 4) for v in ct_pixel_spacing_xy()]
    [0.6465, 0.6465]
    """
    from .datasets import load_lung_ct

    sx, sy, _ = load_lung_ct().spacing
    return float(sx), float(sy)


@_export
def glcm_example_4x4() -> np.ndarray:
    """The 4x4 image (grey levels 0..3) whose GLCM the learner counts by hand in 05 §2, uint8, read-only.

    >>> glcm_example_4x4().tolist()[0]
    [0, 1, 1, 2]
    """
    return glcm_patches()[GLCM_EXAMPLE_NAME]


@_export
@functools.lru_cache(maxsize=1)
def glcm_patches() -> dict[str, np.ndarray]:
    """Small patches of grey levels 0..3 to count a GLCM on (05 §2): the exercise's 4x4 example, 6x6
    vertical stripes, a checkerboard, a gradient and a seeded random patch. uint8, read-only.

    >>> {k: v.shape for k, v in glcm_patches().items()}[GLCM_EXAMPLE_NAME]
    (4, 4)
    """
    i, j = np.indices((6, 6))
    example = np.array([[0, 1, 1, 2], [0, 1, 2, 3], [1, 1, 3, 3], [2, 2, 3, 0]], dtype=np.uint8)
    return {GLCM_EXAMPLE_NAME: _readonly(example),
            "6×6 vertical stripes": _readonly((j % 2 * 3).astype(np.uint8)),
            "6×6 checkerboard": _readonly(((i + j) % 2 * 3).astype(np.uint8)),
            "6×6 gradient": _readonly(np.minimum(j // 2 + i // 3, 3).astype(np.uint8)),
            "6×6 random (seed 0)": _readonly(np.random.default_rng(0).integers(0, 4, (6, 6)).astype(np.uint8))}


@_export
@functools.lru_cache(maxsize=4)
def svm_feature_sample(n_train: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                                   tuple[str, ...]]:
    """Features of PneumoniaMNIST for quick SVM demos: ``(X_train, y_train, X_test, y_test, names)``.

    ``n_train`` training images drawn with ``seed`` (:func:`medlab.classical.shuffle_split`; the stored train
    split is sorted by class) and the whole test split (624), :func:`medlab.features.extract_features`
    columns in ``names`` order. float64 / int, read-only; about a second. Used in 05 §6-§8.

    >>> Xtr, ytr, Xte, yte, names = svm_feature_sample(40); Xtr.shape, Xte.shape, names[0]
    ((40, 50), (624, 50), 'fo_mean')
    """
    from ._validate import check_int, check_seed
    from .classical import shuffle_split
    from .datasets import load_pneumoniamnist
    from .features import extract_features, feature_matrix

    xtr, ytr = load_pneumoniamnist("train")
    xte, yte = load_pneumoniamnist("test")
    n_train = check_int(n_train, "n_train", low=2, high=len(ytr))
    _, _, idx = shuffle_split(np.zeros((len(ytr), 1)), ytr, seed=check_seed(seed), n=n_train)
    Xtr, names = feature_matrix(extract_features(xtr[idx], progress=False))
    Xte, _ = feature_matrix(extract_features(xte, progress=False), names)
    return _readonly(Xtr), _readonly(ytr[idx]), _readonly(Xte), _readonly(yte), tuple(names)
