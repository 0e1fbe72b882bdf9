"""The lung-CT case study across two patients: resampling, patches, honest splits, heat maps, findings.

The source article's worked example (§4.2) is lung CT: preprocess, segment the lungs, train a classifier
to recognise lesions, evaluate on a test set. MedLab ships two patients of TCIA Lung-PET-CT-Dx (A0002,
Siemens, 0.6465 mm pixels, 8 mm slices; A0001, Philips, 0.842 mm, 5 mm), each with one adenocarcinoma
annotated by boxes. Everything here is pure (numpy / SimpleITK / scikit-image); models are passed in.

* :func:`prepare` resamples each axial slice to one pixel size, so a patch "32 mm wide" is the same
  anatomy on both patients, and computes the lung mask of 04 (on a coarser grid, for speed).
* :func:`patch_dataset` cuts labelled patches: label 1 when the patch centre lies in a box; negatives only
  inside the lung mask and at least one original slice away from every slice that shows the tumour,
  boxed or not (A0001's slices 1-13 and 1-23 show the mass without a box).
* :func:`patient_split` (train on one patient, test on the other) and :func:`random_split` (the trap:
  neighbouring, overlapping patches of one patient land on both sides).
* :func:`heatmap` slides a model over one slice (batched), :func:`detections` / :func:`froc` compare
  thresholded regions with the boxes, :func:`findings_card` computes a report from the data.

Used in 09 and 10.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import SimpleITK as sitk

from ._validate import check_float, check_int, check_seed

__all__ = ["CTCase", "PatchSet", "prepare", "patch_dataset", "patient_split", "random_split",
           "patch_features", "to_window_uint8", "keras_scorer", "PatchCNN", "train_patch_cnn", "train_patch_cnns", "heatmap", "Heatmap", "detections", "froc", "findings_card",
           "PATIENTS", "LUNG_WINDOW"]

PATIENTS = ("A0002", "A0001")
#: The lung window (W 1500, L -600) as an HU range: CNN inputs are these HU mapped to 0..255.
LUNG_WINDOW = (-1350.0, 150.0)
MAX_PATCHES = 200_000


@dataclass
class CTCase:
    """One patient resampled in-plane: ``hu`` (z, y, x) float32 at ``pixel_mm``; slices kept as acquired.

    ``boxes``: (slice, row0, col0, row1, col1) in the resampled grid; ``tumour_slices``: every slice index
    that shows the tumour (boxed or not); ``lung``: boolean lung mask (04's :func:`~medlab.preprocess.lung_mask`);
    ``thorax``: per slice, the convex hull of the lung mask (lungs + mediastinum). Both masses of the kit abut
    the mediastinum or chest wall, so 04's lung mask (which fills only *holes*) leaves most of them out: the
    heat map therefore scores the thorax hull, while negatives are cut only inside the lung mask.
    ``origin_mm``: physical (x, y) of pixel (0, 0); ``z_mm``: physical z of each slice.
    """
    patient: str
    hu: np.ndarray
    pixel_mm: float
    slice_mm: float
    z_mm: np.ndarray
    origin_mm: tuple[float, float]
    boxes: list[tuple[int, int, int, int, int]]
    tumour_slices: tuple[int, ...]
    lung: np.ndarray
    original_spacing: tuple[float, float, float]
    thorax: np.ndarray | None = None  # per-slice convex hull of the lungs: where the heat map looks

    @property
    def boxed_slices(self) -> tuple[int, ...]:
        return tuple(sorted({b[0] for b in self.boxes}))

    def box_mask(self) -> np.ndarray:
        m = np.zeros(self.hu.shape, bool)
        for z, r0, c0, r1, c1 in self.boxes:
            m[z, r0:r1 + 1, c0:c1 + 1] = True
        return m

    def to_mm(self, z: float, row: float, col: float) -> tuple[float, float, float]:
        """Physical (x, y, z) in mm of a (slice, row, col) position of the resampled grid."""
        return (self.origin_mm[0] + col * self.pixel_mm, self.origin_mm[1] + row * self.pixel_mm,
                float(np.interp(z, np.arange(len(self.z_mm)), self.z_mm)))

    def __repr__(self) -> str:
        return (f"CTCase({self.patient}: {self.hu.shape[0]} slices of {self.slice_mm:g} mm, "
                f"{self.hu.shape[1]}x{self.hu.shape[2]} px of {self.pixel_mm:g} mm, {len(self.boxes)} boxes, "
                f"tumour on slices {self.tumour_slices[0]}..{self.tumour_slices[-1]})")


def prepare(ct: Any, pixel_mm: float = 1.0, lung_pixel_mm: float = 2.0) -> CTCase:
    """Resample a :class:`~medlab.datasets.LungCT` in-plane to ``pixel_mm`` and segment its lungs.

    Linear interpolation in-plane keeps the physical extent (the grid covers the same millimetres); the
    slices are not interpolated (8 and 5 mm slices: a patch is a 2-D axial cut). The lung mask is computed
    with 04's ``lung_mask`` on a ``lung_pixel_mm`` grid (4x fewer pixels at 2 mm) and mapped back by
    nearest neighbour: a coarser boundary, which only decides where negatives may be cut.

    >>> from medlab.datasets import load_lung_ct
    >>> case = prepare(load_lung_ct("A0002"))          # doctest: +SKIP
    """
    from . import datasets
    from .preprocess import lung_mask

    if not (hasattr(ct, "image") and isinstance(ct.image, sitk.Image) and hasattr(ct, "boxes")):
        raise TypeError(f"ct must be a LungCT (medlab.datasets.load_lung_ct), got {type(ct).__name__}")
    pixel_mm = check_float(pixel_mm, "pixel_mm", 0.3, 4.0)
    lung_pixel_mm = check_float(lung_pixel_mm, "lung_pixel_mm", pixel_mm, 8.0)
    img = ct.image
    sx, sy, sz = img.GetSpacing()
    nx, ny, nz = img.GetSize()
    direction = np.array(img.GetDirection()).reshape(3, 3)
    if not np.allclose(direction, np.eye(3), atol=1e-6):
        raise ValueError("prepare() expects an axial CT with identity direction cosines")

    def resample(spacing_xy: float, interp: int, image: sitk.Image) -> sitk.Image:
        size = (int(round(nx * sx / spacing_xy)), int(round(ny * sy / spacing_xy)), nz)
        # pixel centres chosen so the grid covers the same physical extent as the original
        origin = (img.GetOrigin()[0] - sx / 2 + spacing_xy / 2, img.GetOrigin()[1] - sy / 2 + spacing_xy / 2,
                  img.GetOrigin()[2])
        return sitk.Resample(image, size, sitk.Transform(), interp, origin, (spacing_xy, spacing_xy, sz),
                             img.GetDirection(), -1024.0, sitk.sitkFloat32)

    fine = resample(pixel_mm, sitk.sitkLinear, img)
    hu = sitk.GetArrayFromImage(fine)
    ox, oy = fine.GetOrigin()[0], fine.GetOrigin()[1]
    del fine  # the numpy copy is all that is kept: the float32 SimpleITK image would double the peak
    coarse = sitk.GetArrayFromImage(resample(lung_pixel_mm, sitk.sitkLinear, img))
    seg = lung_mask(coarse, (lung_pixel_mm, lung_pixel_mm, sz))
    rows = np.minimum((np.arange(hu.shape[1]) * pixel_mm / lung_pixel_mm).astype(int), coarse.shape[1] - 1)
    cols = np.minimum((np.arange(hu.shape[2]) * pixel_mm / lung_pixel_mm).astype(int), coarse.shape[2] - 1)
    lung = seg.mask[:, rows][:, :, cols]
    from skimage.morphology import convex_hull_image

    thorax = np.zeros_like(lung)
    for k in range(nz):
        if lung[k].any():
            thorax[k] = convex_hull_image(lung[k])

    boxes = []
    for b in ct.boxes:
        (x0, y0, _), (x1, y1, _) = b.min_mm, b.max_mm
        c0, r0 = int(np.ceil((x0 - ox) / pixel_mm)), int(np.ceil((y0 - oy) / pixel_mm))
        c1, r1 = int(np.floor((x1 - ox) / pixel_mm)), int(np.floor((y1 - oy) / pixel_mm))
        boxes.append((b.slice_index, r0, c0, r1, c1))
    names = [p.name for p in getattr(ct, "files", [])]
    patient = getattr(ct, "patient", "A0002")
    unboxed = [names.index(n) for n in datasets.UNBOXED_TUMOUR_SLICES.get(patient, ()) if n in names]
    tumour = tuple(sorted({b[0] for b in boxes} | set(unboxed)))
    z_mm = np.array([img.TransformIndexToPhysicalPoint((0, 0, k))[2] for k in range(nz)])
    return CTCase(patient, hu, pixel_mm, sz, z_mm, (ox, oy), boxes, tumour, lung, (sx, sy, sz), thorax)


@dataclass
class PatchSet:
    """Labelled axial patches of one or more patients (all arrays have one entry per patch)."""
    patches: np.ndarray       # (N, h, w) float32 HU
    labels: np.ndarray        # (N,) int64: 1 = the patch centre lies in a tumour box
    patient: np.ndarray       # (N,) str
    centre_mm: np.ndarray     # (N, 3) x, y, z in the patient's physical space (LPS, mm)
    slice_z_mm: np.ndarray    # (N,)
    slice_index: np.ndarray   # (N,) index of the slice in its own CT
    centre_px: np.ndarray     # (N, 2) row, col of the centre in the resampled slice
    size_mm: float = 0.0
    pixel_mm: float = 1.0

    def __len__(self) -> int:
        return int(len(self.labels))

    def subset(self, keep: np.ndarray) -> "PatchSet":
        """The patches where the boolean (or index) array ``keep`` selects."""
        k = np.asarray(keep)
        return PatchSet(self.patches[k], self.labels[k], self.patient[k], self.centre_mm[k],
                        self.slice_z_mm[k], self.slice_index[k], self.centre_px[k], self.size_mm, self.pixel_mm)

    def counts(self) -> dict[str, dict[str, int]]:
        """{patient: {"tumour": n, "normal": n}}."""
        return {str(p): {"tumour": int(((self.patient == p) & (self.labels == 1)).sum()),
                         "normal": int(((self.patient == p) & (self.labels == 0)).sum())}
                for p in dict.fromkeys(self.patient.tolist())}


def _grid(n: int, half: int, step: int) -> np.ndarray:
    return np.arange(half, n - half, step)


def patch_dataset(cts: Sequence[CTCase], size_mm: float = 32.0, stride_mm: float = 8.0,
                  negative_stride_mm: float | None = None, max_negatives: int | None = 1500,
                  seed: int = 0) -> PatchSet:
    """Cut labelled patches from prepared CTs (see the module docstring for the rules).

    Positives: every grid point (``stride_mm``) whose centre lies in a box, on the boxed slices.
    Negatives: grid points (``negative_stride_mm``, default 2 x stride) inside the lung mask on slices at
    least one original slice away from every tumour slice; at most ``max_negatives`` per patient (a seeded
    random choice; ``None`` keeps all).

    >>> import numpy as np
    >>> hu = np.full((5, 64, 64), -850.0, np.float32); lung = np.ones(hu.shape, bool)
    >>> case = CTCase("X", hu, 1.0, 5.0, np.arange(5) * 5.0, (0.0, 0.0), [(2, 20, 20, 40, 40)], (2,), lung,
    ...               (1.0, 1.0, 5.0))
    >>> ps = patch_dataset([case], size_mm=16, stride_mm=8)
    >>> ps.counts(), sorted(set(ps.slice_index[ps.labels == 0].tolist()))
    ({'X': {'tumour': 9, 'normal': 18}}, [0, 4])
    """
    if isinstance(cts, CTCase):
        cts = [cts]
    if not cts or not all(isinstance(c, CTCase) for c in cts):
        raise TypeError("cts must be a list of CTCase (from medlab.lungct.prepare)")
    pixel = cts[0].pixel_mm
    if any(abs(c.pixel_mm - pixel) > 1e-9 for c in cts):
        raise ValueError(f"all CTs must be resampled to one pixel size first, got "
                         f"{[c.pixel_mm for c in cts]} mm (prepare(ct, pixel_mm=...))")
    size_mm = check_float(size_mm, "size_mm", pixel * 4, None)
    stride_mm = check_float(stride_mm, "stride_mm", 0, None, low_open=True)
    neg_stride = 2 * stride_mm if negative_stride_mm is None else check_float(
        negative_stride_mm, "negative_stride_mm", 0, None, low_open=True)
    if max_negatives is not None:
        max_negatives = check_int(max_negatives, "max_negatives", low=0, high=MAX_PATCHES)
    seed = check_seed(seed)
    size = int(round(size_mm / pixel))
    half = size // 2
    step, nstep = max(1, int(round(stride_mm / pixel))), max(1, int(round(neg_stride / pixel)))
    out: dict[str, list] = {k: [] for k in ("p", "y", "pid", "cmm", "z", "k", "px")}
    for case in cts:
        nz, ny, nx = case.hu.shape
        if size > min(ny, nx):
            raise ValueError(f"size_mm={size_mm} is {size} px, larger than the {ny}x{nx} px slice of {case.patient}")
        if not case.boxes:
            raise ValueError(f"{case.patient} has no tumour boxes: patch labels need boxes")
        estimate = sum(((min(r1, ny - half - 1) - r0) // step + 1) * ((min(c1, nx - half - 1) - c0) // step + 1)
                       for _, r0, c0, r1, c1 in case.boxes) + nz * (ny // nstep) * (nx // nstep)
        if estimate > MAX_PATCHES:
            raise ValueError(f"stride_mm={stride_mm} would cut about {estimate:,} patches; the limit is "
                             f"{MAX_PATCHES:,} (memory): use a larger stride")
        cands = []
        for z, r0, c0, r1, c1 in case.boxes:
            for r in range(max(r0, half), min(r1, ny - half - 1) + 1, step):
                for c in range(max(c0, half), min(c1, nx - half - 1) + 1, step):
                    cands.append((z, r, c, 1))
        excluded = {k + d for k in case.tumour_slices for d in (-1, 0, 1)}
        neg = []
        rows, cols = _grid(ny, half, nstep), _grid(nx, half, nstep)
        for z in range(nz):
            if z in excluded:
                continue
            ok = case.lung[z][np.ix_(rows, cols)]
            for r, c in zip(*np.nonzero(ok)):
                neg.append((z, int(rows[r]), int(cols[c]), 0))
        if max_negatives is not None and len(neg) > max_negatives:
            pick = np.random.default_rng(seed).choice(len(neg), max_negatives, replace=False)
            neg = [neg[i] for i in sorted(pick)]
        for z, r, c, y in cands + neg:
            out["p"].append(case.hu[z, r - half:r - half + size, c - half:c - half + size])
            out["y"].append(y)
            out["pid"].append(case.patient)
            x_mm, y_mm, z_mm = case.to_mm(z, r, c)
            out["cmm"].append((x_mm, y_mm, z_mm))
            out["z"].append(z_mm)
            out["k"].append(z)
            out["px"].append((r, c))
    if not out["p"]:
        raise ValueError("no patches: check size_mm and the lung masks")
    return PatchSet(np.stack(out["p"]).astype(np.float32), np.array(out["y"], np.int64), np.array(out["pid"]),
                    np.array(out["cmm"], float), np.array(out["z"], float), np.array(out["k"], np.int64),
                    np.array(out["px"], np.int64), float(size_mm), float(pixel))


def patient_split(ps: PatchSet, test_patient: str) -> tuple[PatchSet, PatchSet]:
    """Train on every other patient, test on ``test_patient``: no patient on both sides.

    >>> import numpy as np
    >>> ps = PatchSet(np.zeros((4, 2, 2)), np.array([0, 1, 0, 1]), np.array(["A", "A", "B", "B"]),
    ...               np.zeros((4, 3)), np.zeros(4), np.zeros(4, int), np.zeros((4, 2), int))
    >>> tr, te = patient_split(ps, "B"); tr.patient.tolist(), te.patient.tolist()
    (['A', 'A'], ['B', 'B'])
    """
    if not isinstance(ps, PatchSet):
        raise TypeError(f"ps must be a PatchSet, got {type(ps).__name__}")
    patients = sorted(set(ps.patient.tolist()))
    if test_patient not in patients:
        raise ValueError(f"test_patient must be one of {patients}, got {test_patient!r}")
    if len(patients) < 2:
        raise ValueError("a patient split needs patches of at least two patients")
    test = ps.patient == test_patient
    return ps.subset(~test), ps.subset(test)


def random_split(ps: PatchSet, patient: str, test_fraction: float = 0.3, seed: int = 0
                 ) -> tuple[PatchSet, PatchSet]:
    """The trap: a random, stratified patch split *within one patient* (neighbouring patches overlap).

    >>> import numpy as np
    >>> ps = PatchSet(np.zeros((10, 2, 2)), np.array([0, 1] * 5), np.array(["A"] * 10),
    ...               np.zeros((10, 3)), np.zeros(10), np.zeros(10, int), np.zeros((10, 2), int))
    >>> tr, te = random_split(ps, "A", 0.4); len(tr), len(te), int(te.labels.sum())
    (6, 4, 2)
    """
    if not isinstance(ps, PatchSet):
        raise TypeError(f"ps must be a PatchSet, got {type(ps).__name__}")
    patients = sorted(set(ps.patient.tolist()))
    if patient not in patients:
        raise ValueError(f"patient must be one of {patients}, got {patient!r}")
    test_fraction = check_float(test_fraction, "test_fraction", 0, 1, low_open=True, high_open=True)
    rng = np.random.default_rng(check_seed(seed))
    idx = np.flatnonzero(ps.patient == patient)
    test = np.zeros(len(ps), bool)
    for y in (0, 1):
        cls = idx[ps.labels[idx] == y]
        n_test = int(round(len(cls) * test_fraction))
        test[rng.permutation(cls)[:n_test]] = True
    train = np.zeros(len(ps), bool)
    train[idx] = True
    train &= ~test
    return ps.subset(train), ps.subset(test)


def to_window_uint8(patches: np.ndarray, hu_range: tuple[float, float] = LUNG_WINDOW) -> np.ndarray:
    """HU patches -> uint8 in the lung window (the CNN's input, like an image loader's).

    >>> to_window_uint8(np.array([[-1350.0, -600.0, 150.0]])).tolist()
    [[0, 128, 255]]
    """
    lo, hi = hu_range
    a = (np.asarray(patches, np.float32) - lo) * (255.0 / (hi - lo))
    return np.rint(np.clip(a, 0, 255)).astype(np.uint8)


def patch_features(patches: np.ndarray, levels: int = 16) -> tuple[np.ndarray, list[str]]:
    """05's hand-crafted features (first-order + GLCM + wavelet) of HU patches, in the lung window.

    Returns ``(X (N, F), feature names)``. Used in 09 §5 (the SVM) and 10 (early fusion).
    """
    from .features import extract_features

    table = extract_features(to_window_uint8(patches), levels=levels, vmin=0, vmax=255, progress=False)
    names = sorted(table)
    X = np.column_stack([table[n] for n in names]).astype(np.float64)
    keep = np.all(np.isfinite(X), axis=0)
    return X[:, keep], [n for n, k in zip(names, keep) if k]


# ----------------------------------------------------------------------------- sliding window
@dataclass
class Heatmap:
    """Tumour probability on a grid over one slice: ``prob`` (rows, cols) at ``centres`` of the patches."""
    prob: np.ndarray           # (nr, nc) float, NaN outside the lung
    rows: np.ndarray           # (nr,) centre rows (resampled pixels)
    cols: np.ndarray           # (nc,) centre cols
    slice_index: int
    stride_px: int
    size_px: int
    full: np.ndarray = field(repr=False, default=None)  # (H, W) nearest-upsampled, NaN outside the lung


def _scores(model: Any, patches: np.ndarray) -> np.ndarray:
    if callable(model) and not hasattr(model, "predict"):
        p = model(patches)
    elif hasattr(model, "predict"):
        p = model.predict(patches)
    else:
        raise TypeError("model must be a callable patches -> probabilities or have .predict(patches)")
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    if len(p) != len(patches):
        raise ValueError(f"the model returned {len(p)} scores for {len(patches)} patches")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError("the model must return probabilities in [0, 1] (no NaN)")
    return p


def keras_scorer(model: Any, batch: int = 256, hu_range: tuple[float, float] = LUNG_WINDOW
                 ) -> Callable[[np.ndarray], np.ndarray]:
    """A fast scorer for :func:`heatmap`: HU patches -> the CNN's tumour probabilities (float64 ``(N,)``).

    ``model``: a Keras model or a :class:`~medlab.training.TrainingRun` (its ``.model``) with one sigmoid
    output. The patches get exactly the input of 06's ``fit``/``TrainingRun.predict``: the lung window as uint8
    (:func:`to_window_uint8`), divided by 255. Unlike ``run.predict`` (``keras.Model.predict``: a new data
    pipeline and step function per call, costly for the many small calls of a heat map) it calls the model
    once per ``batch`` patches, ``model(x, training=False)`` inside one ``tf.function`` traced for a variable
    batch size (no retracing). Same probabilities as ``run.predict(to_window_uint8(p))`` to float32 rounding.
    Used in 09 §7.

    >>> from medlab import training
    >>> score = keras_scorer(training.seed_cnn((32, 32, 1), seed=0))
    >>> p = score(np.full((3, 32, 32), -800.0)); p.shape, bool(np.all((p > 0) & (p < 1)))
    ((3,), True)
    """
    tf = __import__("tensorflow")
    keras_model = getattr(model, "model", model)
    if not (hasattr(keras_model, "input_shape") and callable(keras_model)):
        raise TypeError(f"model must be a Keras model or a TrainingRun, got {type(model).__name__}")
    shape = tuple(keras_model.input_shape[1:])
    if len(shape) != 3 or shape[-1] != 1 or None in shape:
        raise ValueError(f"model must take (h, w, 1) patches, its input shape is {keras_model.input_shape}")
    batch = check_int(batch, "batch", 1, 8192)

    @tf.function(input_signature=[tf.TensorSpec((None,) + shape, tf.float32)], reduce_retracing=True)
    def forward(x):
        return keras_model(x, training=False)

    def score(patches: np.ndarray) -> np.ndarray:
        p = np.asarray(patches)
        if p.ndim != 3 or p.shape[1:] != shape[:2]:
            raise ValueError(f"patches must have shape (N, {shape[0]}, {shape[1]}), got {p.shape}")
        out = np.empty(len(p), np.float64)
        for s in range(0, len(p), batch):
            x = to_window_uint8(p[s:s + batch], hu_range).astype(np.float32)[..., None] / np.float32(255.0)
            out[s:s + batch] = np.asarray(forward(x)).reshape(-1)
        return out

    return score


#: Weight shapes of 06's ``seed_cnn((32, 32, 1))`` in Keras order (``model.get_weights()``): the patch CNN of 09.
PATCH_CNN_SHAPES = ((3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (6 * 6 * 64, 1), (1,))


@dataclass
class PatchCNN:
    """The article's CNN at the patch size (06's ``seed_cnn((32, 32, 1))``) after training, as numpy weights.

    ``weights``: the six arrays of ``model.get_weights()`` (conv1 kernel and bias, conv2 kernel and bias,
    dense kernel and bias; shapes :data:`PATCH_CNN_SHAPES`). :meth:`predict` is the forward pass of 03 written
    with :mod:`medlab.ops` (``conv2d``, ``pool2d``, ``dense``) in float32: no TensorFlow in the process that
    scores. ``keras_probs``: Keras' own probabilities, computed where the model was trained, for the images
    passed as ``check`` to :func:`train_patch_cnn`, so the numpy pass can be compared with Keras.
    ``history``/``run_name``/``wall_time_s`` are those of 06's :class:`~medlab.training.TrainingRun`.
    """
    weights: list
    history: dict = field(default_factory=dict)
    run_name: str = ""
    wall_time_s: float = 0.0
    keras_probs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.weights, (list, tuple)) or len(self.weights) != len(PATCH_CNN_SHAPES):
            raise ValueError(f"weights must be the {len(PATCH_CNN_SHAPES)} arrays of seed_cnn((32, 32, 1))"
                             ".get_weights()")
        ws = [np.asarray(w, dtype=np.float32) for w in self.weights]
        for i, (w, want) in enumerate(zip(ws, PATCH_CNN_SHAPES)):
            if w.shape != want:
                raise ValueError(f"weights[{i}] has shape {w.shape}, expected {want} (seed_cnn((32, 32, 1)))")
            if not np.all(np.isfinite(w)):
                raise ValueError(f"weights[{i}] contains NaN or infinite values: the training diverged")
        self.weights = ws

    def predict(self, images: Any, batch: int = 256) -> np.ndarray:
        """Tumour probabilities, float64 ``(N,)``, for uint8 patches ``(N, 32, 32)`` (:func:`to_window_uint8`).

        The input step of 06's ``fit`` (uint8 / 255), then Conv2D(32, 3, relu) -> MaxPool 2 -> Conv2D(64, 3,
        relu) -> MaxPool 2 -> Flatten -> Dense(1, sigmoid), in batches of ``batch`` patches.
        """
        from . import ops

        x = np.asarray(images)
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim != 3 or x.shape[1:] != (32, 32):
            raise ValueError(f"images must be uint8 patches (N, 32, 32), got shape {x.shape}")
        if x.dtype != np.uint8:
            raise TypeError(f"images must be uint8 (lung window, to_window_uint8), got dtype {x.dtype}")
        if len(x) == 0:
            raise ValueError("images is empty: nothing to score")
        # <= 256: ops.conv2d's cost limit (MAX_MACS) allows ~340 patches of conv2 per call
        batch = check_int(batch, "batch", 1, 256, why_high="patches per numpy batch (ops.MAX_MACS)")
        k1, b1, k2, b2, wd, bd = self.weights
        out = np.empty(len(x), np.float64)
        for s in range(0, len(x), batch):
            h = x[s:s + batch, :, :, None].astype(np.float32) / np.float32(255.0)
            h = ops.pool2d(ops.relu(ops.conv2d(h, k1, b1)), 2)
            h = ops.pool2d(ops.relu(ops.conv2d(h, k2, b2)), 2)
            z = h.reshape(len(h), -1) @ wd + bd                 # Flatten (row, col, channel order) -> Dense
            out[s:s + batch] = 1.0 / (1.0 + np.exp(-z[:, 0].astype(np.float64)))
        return out


def train_patch_cnns(folds: dict, *, epochs: int = 4, batch_size: int = 32, seed: int = 0,
                     class_weight: Any = "balanced", worker: bool = True, run_dir: Any = None) -> dict:
    """Train 06's ``seed_cnn((32, 32, 1))`` with 06's ``fit`` once per fold; returns ``{fold: PatchCNN}``.

    ``folds``: ``{name: {"train": (patches uint8 (N, 32, 32), labels 0/1), "val": (...) or None,
    "check": {name: uint8 patches} (optional)}}``. ``epochs``, ``batch_size``, ``seed``, ``class_weight``,
    ``run_dir``: passed to ``fit`` (each run is saved as any 06 run). ``check`` patches are scored by Keras
    after training (``PatchCNN.keras_probs``), to compare with the numpy :meth:`PatchCNN.predict`.
    ``worker=True`` (default) trains every fold in one worker process (:func:`medlab.runtime.run_in_worker`):
    TensorFlow is imported there and its ~440 MiB are freed when the worker exits, so a notebook that holds
    two CT series stays well inside a 1 GiB kernel (09 peaked at ~1.18 GiB with TensorFlow in the kernel).
    Same seed -> the same weights either way (06's op determinism). Used in 09 §6.
    """
    from .runtime import run_in_worker
    from .workers import fit_and_export_many

    if not isinstance(folds, dict) or not folds:
        raise ValueError("folds must be a non-empty dict {name: {'train': (x, y), 'val': (x, y) or None}}")
    if not isinstance(worker, bool):
        raise TypeError(f"worker must be True or False, got {type(worker).__name__}")
    jobs = []
    for name, fold in folds.items():
        if not isinstance(fold, dict) or "train" not in fold or set(fold) - {"train", "val", "check"}:
            raise ValueError(f"folds[{name!r}] must be a dict with 'train' and optionally 'val' and 'check'")
        check = dict(fold.get("check") or {})
        for key, v in check.items():
            if not (isinstance(v, np.ndarray) and v.dtype == np.uint8 and v.ndim == 3 and v.shape[1:] == (32, 32)):
                raise ValueError(f"folds[{name!r}]['check'][{key!r}] must be uint8 patches (N, 32, 32)")
        jobs.append((fold["train"], fold.get("val"),
                     dict(model="seed_cnn", input_shape=(32, 32, 1), epochs=epochs, batch_size=batch_size,
                          seed=seed, class_weight=class_weight, check=check, run_dir=run_dir)))
    out = run_in_worker(fit_and_export_many, jobs) if worker else fit_and_export_many(jobs)
    return {name: PatchCNN(**o) for name, o in zip(folds, out)}


def train_patch_cnn(train: tuple, val: tuple | None = None, *, check: dict | None = None, **kwargs: Any) -> PatchCNN:
    """One fold of :func:`train_patch_cnns`: ``train``/``val`` as for ``fit``; ``kwargs`` as there.

    >>> x = np.random.default_rng(0).integers(0, 256, (40, 32, 32), dtype=np.uint8)
    >>> cnn = train_patch_cnn((x, np.arange(40) % 2), epochs=1, run_dir=__import__("tempfile").mkdtemp())
    >>> cnn.predict(x[:3]).shape
    (3,)
    """
    return train_patch_cnns({"fold": {"train": train, "val": val, "check": check}}, **kwargs)["fold"]


def heatmap(model: Any, ct: CTCase, slice: int, stride_mm: float = 4.0, size_mm: float = 32.0,
            batch: int = 512) -> Heatmap:
    """Slide ``model`` over the lungs of one slice: tumour probability at every ``stride_mm`` grid point.

    ``model``: a callable ``patches (N, h, w) HU -> probabilities (N,)`` or an object with ``.predict``
    doing the same (for a Keras run use :func:`keras_scorer`; ``lambda p: run.predict(to_window_uint8(p))``
    gives the same numbers, slower). Patches whose centre is outside ``ct.thorax`` (the convex hull of the
    lungs, see :class:`CTCase`) are not scored (NaN). Inference runs in batches of ``batch``.
    """
    if not isinstance(ct, CTCase):
        raise TypeError(f"ct must be a CTCase (medlab.lungct.prepare), got {type(ct).__name__}")
    nz, ny, nx = ct.hu.shape
    slice = check_int(slice, "slice", 0, nz - 1)
    stride = max(1, int(round(check_float(stride_mm, "stride_mm", 0, None, low_open=True) / ct.pixel_mm)))
    size = int(round(check_float(size_mm, "size_mm", ct.pixel_mm * 4, min(ny, nx) * ct.pixel_mm) / ct.pixel_mm))
    batch = check_int(batch, "batch", 1, 8192)
    half = size // 2
    rows, cols = _grid(ny, half, stride), _grid(nx, half, stride)
    region = ct.thorax[slice] if ct.thorax is not None else ct.lung[slice]
    inside = region[np.ix_(rows, cols)]
    rr, cc = np.nonzero(inside)
    prob = np.full((len(rows), len(cols)), np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(ct.hu[slice], (size, size))  # a view: no copy
    for s in range(0, len(rr), batch):
        r_b, c_b = rows[rr[s:s + batch]], cols[cc[s:s + batch]]
        patches = windows[r_b - half, c_b - half]  # (n, size, size), one copy of just these patches
        prob[rr[s:s + batch], cc[s:s + batch]] = _scores(model, patches)
    full = np.full((ny, nx), np.nan)
    if len(rows) and len(cols):
        ri = np.clip(np.round((np.arange(ny) - rows[0]) / stride).astype(int), 0, len(rows) - 1)
        ci = np.clip(np.round((np.arange(nx) - cols[0]) / stride).astype(int), 0, len(cols) - 1)
        full = prob[ri][:, ci]
        full[~region] = np.nan
    return Heatmap(prob, rows, cols, slice, stride, size, full)


def detections(hm: Heatmap, ct: CTCase, threshold: float = 0.5) -> dict:
    """Connected regions of ``hm.full >= threshold`` compared with the boxes of that slice.

    Returns ``{"regions": [{"centroid": (row, col), "area_mm2", "hit"}], "tp": boxes found,
    "fn": boxes missed, "fp": regions that touch no box}``. A region *hits* a box when it overlaps it.
    """
    from scipy import ndimage

    threshold = check_float(threshold, "threshold", 0, 1)
    above = np.nan_to_num(hm.full, nan=0.0) >= threshold
    labels, n = ndimage.label(above)
    boxes = [b for b in ct.boxes if b[0] == hm.slice_index]
    regions, found = [], set()
    for k in range(1, n + 1):
        region = labels == k
        hit = False
        for j, (_, r0, c0, r1, c1) in enumerate(boxes):
            if region[r0:r1 + 1, c0:c1 + 1].any():
                hit = True
                found.add(j)
        rs, cs = np.nonzero(region)
        regions.append({"centroid": (float(rs.mean()), float(cs.mean())),
                        "area_mm2": float(region.sum() * ct.pixel_mm ** 2), "hit": hit})
    return {"regions": regions, "tp": len(found), "fn": len(boxes) - len(found),
            "fp": sum(not r["hit"] for r in regions)}


def froc(heatmaps: Sequence[Heatmap], ct: CTCase, thresholds: Sequence[float]) -> dict:
    """FROC-style curve: per threshold, sensitivity over boxed slices and false positives per slice.

    Sensitivity = boxes found / boxes (on the given heat maps' slices); FP per slice = regions touching no
    box / number of slices.
    """
    if not heatmaps:
        raise ValueError("heatmaps must hold at least one Heatmap")
    ths = [check_float(t, "threshold", 0, 1) for t in thresholds]
    if not ths:
        raise ValueError("thresholds must hold at least one value")
    sens, fps = [], []
    for t in ths:
        tp = fn = fp = 0
        for hm in heatmaps:
            d = detections(hm, ct, t)
            tp, fn, fp = tp + d["tp"], fn + d["fn"], fp + d["fp"]
        sens.append(tp / (tp + fn) if tp + fn else float("nan"))
        fps.append(fp / len(heatmaps))
    return {"thresholds": np.array(ths), "sensitivity": np.array(sens), "fp_per_slice": np.array(fps)}


# ----------------------------------------------------------------------------- the findings card
def _max_feret_mm(mask2d: np.ndarray, spacing_xy: tuple[float, float]) -> float:
    """Largest distance between two pixel centres of a 2-D mask, in mm (brute force over the boundary)."""
    from scipy import ndimage

    edge = mask2d & ~ndimage.binary_erosion(mask2d)
    rs, cs = np.nonzero(edge)
    if len(rs) == 0:
        return 0.0
    pts = np.column_stack([cs * spacing_xy[0], rs * spacing_xy[1]])
    d2 = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    return float(np.sqrt(d2.max()))


def _voxels(ct: Any) -> np.ndarray:
    """The (z, y, x) voxels of a LungCT without a second copy: its cached ``.array`` if it was already made,
    else a read-only view of ``ct.image`` (valid while the caller holds ``ct``; nothing returned keeps it)."""
    cached = getattr(ct, "__dict__", {}).get("array")
    if cached is not None:
        return cached
    if isinstance(getattr(ct, "image", None), sitk.Image):
        return sitk.GetArrayViewFromImage(ct.image)
    return np.asarray(ct.array)


def findings_card(ct: Any, lower: float = -300.0, upper: float = 200.0, roi_margin: int | None = 4) -> dict:
    """A findings card computed from the data (not typed): side, region, extent, diameter, volume, HU.

    The tumour is grown with 04's :func:`~medlab.preprocess.grow_from_box` inside the boxes dilated by
    ``roi_margin`` pixels (a box is not an outline). ``side`` comes from the box centre's x in the patient
    frame (LPS: +x is the patient's left); ``region`` is the tumour's position between the lung apex and
    base in thirds (upper / middle / lower third of the lung's z extent) — a proxy, not a lobe segmentation.
    The largest axial diameter is the largest distance between two boundary pixel centres of the grown region
    on any slice (mm).
    """
    from .preprocess import grow_from_box

    if not (hasattr(ct, "image") and hasattr(ct, "boxes")):
        raise TypeError(f"ct must be a LungCT (medlab.datasets.load_lung_ct), got {type(ct).__name__}")
    if not ct.boxes:
        raise ValueError("ct has no tumour boxes: nothing to describe")
    hu = _voxels(ct)
    sx, sy, sz = ct.spacing
    if roi_margin is None:  # free growth (04 shows it leaks into the mediastinum): the whole volume
        growth = grow_from_box(hu, ct.mask().astype(bool), lower=lower, upper=upper, roi_margin=None)
        return _card(ct, hu, growth.region.astype(bool), float(growth.dice))
    roi_margin = check_int(roi_margin, "roi_margin", 0, 64)
    # Growth is confined to the boxes dilated in-plane by roi_margin (04's grow_from_box), so it runs on the
    # boxes' bounding block plus that margin: the same region as on the whole volume, without float64 copies
    # of all 512 x 512 x nz voxels (memory: 09 §8).
    nz, ny, nx = hu.shape
    z0 = min(b.slice_index for b in ct.boxes); z1 = max(b.slice_index for b in ct.boxes) + 1
    r0 = max(min(b.row0 for b in ct.boxes) - roi_margin - 1, 0)
    r1 = min(max(b.row1 for b in ct.boxes) + roi_margin + 2, ny)
    c0 = max(min(b.col0 for b in ct.boxes) - roi_margin - 1, 0)
    c1 = min(max(b.col1 for b in ct.boxes) + roi_margin + 2, nx)
    block = np.zeros((z1 - z0, r1 - r0, c1 - c0), bool)
    for b in ct.boxes:
        block[b.slice_index - z0, b.row0 - r0:b.row1 + 1 - r0, b.col0 - c0:b.col1 + 1 - c0] = True
    growth = grow_from_box(hu[z0:z1, r0:r1, c0:c1], block, lower=lower, upper=upper, roi_margin=roi_margin)
    region = np.zeros(hu.shape, bool)
    region[z0:z1, r0:r1, c0:c1] = growth.region
    return _card(ct, hu, region, float(growth.dice))


def _card(ct: Any, hu: np.ndarray, region: np.ndarray, dice_vs_box: float) -> dict:
    from .preprocess import lung_mask

    sx, sy, sz = ct.spacing
    zs = np.flatnonzero(region.any(axis=(1, 2)))
    diam = max((_max_feret_mm(region[z], (sx, sy)), int(z)) for z in zs)
    x_centre = float(np.mean([(b.min_mm[0] + b.max_mm[0]) / 2 for b in ct.boxes]))
    z_phys = np.array([ct.image.TransformIndexToPhysicalPoint((0, 0, k))[2] for k in range(hu.shape[0])])
    coarse = hu[:, ::4, ::4]
    seg = lung_mask(coarse, (sx * 4, sy * 4, sz))
    lung_z = z_phys[np.flatnonzero(seg.mask.any(axis=(1, 2)))]
    tumour_z = float(np.mean(z_phys[zs]))
    frac = (lung_z.max() - tumour_z) / max(lung_z.max() - lung_z.min(), 1e-9)  # 0 at the apex (superior)
    part = "upper" if frac < 1 / 3 else ("middle" if frac < 2 / 3 else "lower")
    values = hu[region].astype(np.float64)
    return {"patient": getattr(ct, "patient", ""), "side": "left" if x_centre > 0 else "right",
            "region": f"{part} third of the lung (z proxy)",
            "slices": (int(zs.min()), int(zs.max())),
            "z_mm": (float(z_phys[zs].min()), float(z_phys[zs].max())),
            "boxed_slices": (min(b.slice_index for b in ct.boxes), max(b.slice_index for b in ct.boxes)),
            "largest_axial_diameter_mm": diam[0], "diameter_slice": diam[1],
            "volume_ml": float(region.sum() * sx * sy * sz / 1000.0), "voxels": int(region.sum()),
            "hu_mean": float(values.mean()), "hu_sd": float(values.std()),
            "hu_min": float(values.min()), "hu_max": float(values.max()),
            "dice_vs_box": dice_vs_box, "region_mask": region}
