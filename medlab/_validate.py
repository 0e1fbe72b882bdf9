"""Shared argument checks for the core modules: one idiom for every mistake.

Convention (the whole package follows it): a value of the wrong *type* (a string where a number is expected,
``None`` where an array is expected) raises :class:`TypeError`; a value of the right type but outside what is
allowed (negative size, NaN, wrong shape, too large to compute) raises :class:`ValueError`. Every message names
the argument, says what was expected and what was given, and where it helps, what to do.

Size, count and iteration limits are checked *before* any work starts, with the limit and the reason in the
message, so no parameter can ask for unbounded memory or time.

>>> check_int(3, "size", low=1)
3
>>> check_int("3", "size")
Traceback (most recent call last):
TypeError: size must be an integer, got str '3'
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["check_int", "check_float", "check_choice", "check_bool", "check_seed", "check_array",
           "check_binary_labels", "check_probabilities", "check_same_length", "check_limit",
           "check_both_classes", "check_output_path", "check_output_dir", "check_finite_number",
           "check_not_rgb"]


def _given(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def check_int(value: Any, name: str, low: int | None = None, high: int | None = None,
              why_high: str = "") -> int:
    """``value`` as an int in ``[low, high]`` (bools are refused; numpy integers accepted).

    >>> check_int(np.int64(5), "n", low=0, high=10)
    5
    >>> check_int(11, "n", high=10, why_high="memory")
    Traceback (most recent call last):
    ValueError: n must be <= 10 (memory), got 11
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer, got {_given(value)}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        reason = f" ({why_high})" if why_high else ""
        raise ValueError(f"{name} must be <= {high}{reason}, got {value}")
    return value


def check_float(value: Any, name: str, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float in the interval; ``low_open`` excludes ``low`` itself.

    >>> check_float(0.5, "p", 0, 1)
    0.5
    >>> check_float(float("nan"), "learning_rate", 0, low_open=True)
    Traceback (most recent call last):
    ValueError: learning_rate must be a finite number, got nan
    >>> check_float(0, "learning_rate", 0, low_open=True)
    Traceback (most recent call last):
    ValueError: learning_rate must be > 0, got 0.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {_given(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def check_choice(value: Any, name: str, options: Iterable[Any]) -> Any:
    """``value`` if it is one of ``options``.

    >>> check_choice("max", "mode", ("max", "avg"))
    'max'
    >>> check_choice("mean", "mode", ("max", "avg"))
    Traceback (most recent call last):
    ValueError: mode must be one of ['max', 'avg'], got 'mean'
    """
    opts = list(options)
    try:
        ok = value in opts
    except TypeError:  # unhashable or incomparable
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {opts}, got {value!r}")
    return value


def check_bool(value: Any, name: str) -> bool:
    """``value`` if it is a bool (or numpy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_given(value)}")
    return bool(value)


def check_seed(seed: Any, name: str = "seed") -> int:
    """A non-negative integer seed (< 2**32, what numpy and TensorFlow accept).

    >>> check_seed(0)
    0
    """
    return check_int(seed, name, low=0, high=2**32 - 1)


def check_array(value: Any, name: str, ndim: int | Sequence[int] | None = None, *, finite: bool = True,
                min_size: int = 1, max_size: int | None = 2**28, dtype: Any = None,
                shape: Sequence[int | None] | None = None) -> np.ndarray:
    """``value`` as a numeric numpy array with the given rank, all finite, not empty and not too large.

    ``shape`` may use ``None`` for "any length". ``max_size`` (elements) guards against huge allocations.

    >>> check_array([[1, 2], [3, 4]], "image", ndim=2).shape
    (2, 2)
    >>> check_array(None, "image")
    Traceback (most recent call last):
    TypeError: image must be a numeric array, got NoneType None
    >>> check_array(np.zeros(3), "image", ndim=2)
    Traceback (most recent call last):
    ValueError: image must be a 2-D array, got shape (3,)
    """
    if value is None or isinstance(value, (str, bytes, dict)):
        raise TypeError(f"{name} must be a numeric array, got {_given(value)}")
    try:
        arr = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {_given(value)} ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if ndim is not None:
        dims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in dims:
            want = " or ".join(f"{d}-D" for d in dims)
            raise ValueError(f"{name} must be a {want} array, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and a != s for a, s in zip(arr.shape, shape)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} element(s), got shape {arr.shape}")
    if max_size is not None and arr.size > max_size:
        raise ValueError(f"{name} has {arr.size:,} elements; at most {max_size:,} are allowed (memory)")
    if finite and np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values; clean or mask them first")
    return arr


def check_binary_labels(y: Any, name: str = "y_true") -> np.ndarray:
    """A 1-D int64 array of 0/1 labels.

    >>> check_binary_labels([0, 1, 1]).tolist()
    [0, 1, 1]
    >>> check_binary_labels([0, 2])
    Traceback (most recent call last):
    ValueError: y_true must contain only the labels 0 and 1, got values [0, 2]
    """
    arr = check_array(y, name, ndim=1)
    values = np.unique(arr)
    if not np.all(np.isin(values, (0, 1))):
        raise ValueError(f"{name} must contain only the labels 0 and 1, got values {values[:6].tolist()}")
    return arr.astype(np.int64)


def check_probabilities(p: Any, name: str = "score") -> np.ndarray:
    """A 1-D float64 array of values in [0, 1] (probabilities), no NaN.

    >>> check_probabilities([0.2, 1.0]).tolist()
    [0.2, 1.0]
    >>> check_probabilities([0.2, 1.5])
    Traceback (most recent call last):
    ValueError: score must be probabilities in [0, 1], got values from 0.2 to 1.5
    """
    arr = check_array(p, name, ndim=1, dtype=np.float64)
    if arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{name} must be probabilities in [0, 1], got values from {arr.min():.3g} "
                         f"to {arr.max():.3g}")
    return arr


def check_same_length(**arrays: Any) -> int:
    """The common length of the named arrays; a clear error naming both when they differ.

    >>> check_same_length(y_true=[0, 1], score=[0.1, 0.9])
    2
    """
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"the arrays must have one entry per sample: {listed}")
    return next(iter(lengths.values())) if lengths else 0


def check_limit(amount: float, limit: float, what: str, hint: str) -> None:
    """Refuse work whose ``amount`` (elements, bytes, iterations) exceeds ``limit``, before it starts.

    >>> check_limit(10, 100, "im2col elements", "use a smaller kernel")
    >>> check_limit(1e12, 1e9, "im2col elements", "use a smaller kernel")
    Traceback (most recent call last):
    ValueError: this would need 1e+12 im2col elements; the limit is 1e+09 (use a smaller kernel)
    """
    if amount > limit:
        raise ValueError(f"this would need {amount:.3g} {what}; the limit is {limit:.3g} ({hint})")


def check_both_classes(y: np.ndarray, name: str = "y_true", what: str = "this metric") -> np.ndarray:
    """``y`` (0/1 labels) if both classes occur; otherwise a ValueError saying ``what`` is undefined.

    >>> check_both_classes(np.array([0, 1, 1])).tolist()
    [0, 1, 1]
    >>> check_both_classes(np.array([1, 1]), "y_true", "ROC AUC")
    Traceback (most recent call last):
    ValueError: y_true contains only the label 1: ROC AUC needs at least one image of each class (0 and 1)
    """
    values = np.unique(y)
    if values.size < 2:
        only = values[0].item() if values.size else "nothing"
        raise ValueError(f"{name} contains only the label {only}: {what} needs at least one image of each "
                         f"class (0 and 1)")
    return y


# --------------------------------------------------------------------------------------------
# write protection: nothing may ever write into a data folder or over a data file
# --------------------------------------------------------------------------------------------
#: A folder holding this file is a data folder (``datasets/`` and its copies carry their checksums in it).
DATA_FOLDER_MARKER = "SHA256SUMS"
#: Existing files larger than this are not hashed by :func:`check_output_path` (they are refused only by the
#: folder and DICOM checks); no embedded data file is that large.
_HASH_LIMIT_BYTES = 256 * 2**20


def _as_path(path: Any, name: str):
    import os
    from pathlib import Path

    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or pathlib.Path), got {_given(path)}")
    if str(path).strip() == "":
        raise ValueError(f"{name} must be a non-empty file path, got {path!r}")
    return Path(path).expanduser().resolve()


def _data_folder_of(p) -> Any:
    """The data folder that contains ``p`` (or is ``p``), else None."""
    from .datasets import protected_dirs

    for d in protected_dirs():
        if p == d or d in p.parents:
            return d
    for d in (p, *p.parents):
        try:
            if (d / DATA_FOLDER_MARKER).is_file():
                return d
        except OSError:
            continue
    return None


def check_output_dir(path: Any, name: str = "path"):
    """``path`` (resolved) if a saver may create files in it: not a data folder nor inside one.

    Every function that writes a folder of files (training runs, de-identified copies, results) calls this
    first. Raises TypeError for a non-path, ValueError naming the data folder otherwise.

    >>> from medlab.datasets import data_dir
    >>> check_output_dir(data_dir() / "results")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: path .../results is inside the data folder ...; nothing may be written there. Write results to a folder of your own (e.g. notebooks/results/)
    """
    p = _as_path(path, name)
    d = _data_folder_of(p)
    if d is not None:
        raise ValueError(f"{name} {p} is inside the data folder {d}; nothing may be written there. "
                         "Write results to a folder of your own (e.g. notebooks/results/)")
    if p.exists() and not p.is_dir():
        raise ValueError(f"{name} {p} is an existing file, not a folder; pass a folder path")
    return p


def check_output_path(path: Any, name: str = "path", *, overwrite: bool = True):
    """``path`` (resolved) if a saver may write that *file*; the one guard every saver calls first.

    Refused (ValueError, naming the file and what to do): a path inside a data folder (``datasets/``,
    ``$MEDLAB_DATA``, or any folder holding a ``SHA256SUMS`` file); an existing folder; an existing file whose
    content is one of the embedded data files (sha256), or a DICOM file, wherever it lies; and, with
    ``overwrite=False``, any existing file. Call it on the *final* file name (after adding ``.npz``/``.json``:
    ``np.savez`` appends ``.npz`` itself). A non-path raises TypeError.

    >>> import tempfile, pathlib
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_path(tmp / "svm.json").name
    'svm.json'
    >>> from medlab.datasets import data_dir
    >>> check_output_path(data_dir() / "pneumoniamnist.npz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: path .../pneumoniamnist.npz is inside the data folder ...; nothing may be written there. Write results to a folder of your own (e.g. notebooks/results/)
    """
    import hashlib

    check_bool(overwrite, "overwrite")
    p = _as_path(path, name)
    d = _data_folder_of(p)
    if d is not None:
        raise ValueError(f"{name} {p} is inside the data folder {d}; nothing may be written there. "
                         "Write results to a folder of your own (e.g. notebooks/results/)")
    if p.is_dir():
        raise ValueError(f"{name} {p} is an existing folder; pass a file path inside it")
    if p.exists():
        if not overwrite:
            raise ValueError(f"{name} {p} already exists and overwrite=False; choose another name or pass "
                             "overwrite=True")
        with open(p, "rb") as fh:
            head = fh.read(132)
        if len(head) == 132 and head[128:132] == b"DICM":
            raise ValueError(f"{name} {p} is an existing DICOM file; it would be overwritten. Write to a new "
                             "file name")
        size = p.stat().st_size
        if size <= _HASH_LIMIT_BYTES:
            from .datasets import CHECKSUMS

            h = hashlib.sha256()
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            if h.hexdigest() in set(CHECKSUMS.values()):
                raise ValueError(f"{name} {p} is a copy of an embedded data file (same sha256); it would be "
                                 "overwritten. Write to a new file name")
    return p


def check_not_rgb(arr: np.ndarray, name: str = "image") -> np.ndarray:
    """``arr`` unless it looks like a colour picture (H, W, 3 or 4) that would be taken for a 3- or 4-slice volume.

    A (z, y, x) volume has its *first* axis short; a colour image has its *last* axis 3 (RGB) or 4 (RGBA) with
    both others at least 8 pixels. Such an array is refused with what to do.

    >>> check_not_rgb(np.zeros((3, 64, 64))).shape
    (3, 64, 64)
    >>> check_not_rgb(np.zeros((64, 64, 3)))
    Traceback (most recent call last):
    ValueError: image has shape (64, 64, 3): a colour (RGB/RGBA) picture, not a (z, y, x) volume of 3 slices. Convert it to grey first (e.g. image.mean(axis=-1) or PIL .convert('L')); a real volume has the slices on the first axis
    """
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.shape[0] >= 8 and arr.shape[1] >= 8:
        raise ValueError(f"{name} has shape {arr.shape}: a colour (RGB/RGBA) picture, not a (z, y, x) volume of "
                         f"{arr.shape[-1]} slices. Convert it to grey first (e.g. {name}.mean(axis=-1) or PIL "
                         ".convert('L')); a real volume has the slices on the first axis")
    return arr


def check_finite_number(value: Any, name: str, what: str = "a number") -> float:
    """``value`` as a float, refusing strings/None (TypeError) and NaN/inf (ValueError); ``what`` names the unit.

    >>> check_finite_number(-320, "air_hu", "a HU value")
    -320.0
    >>> check_finite_number(float("nan"), "air_hu", "a HU value")
    Traceback (most recent call last):
    ValueError: air_hu must be a finite number (a HU value), got nan
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {what}, got {_given(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number ({what}), got {value}")
    return value
