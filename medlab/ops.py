"""Convolution, pooling and the dense layer, written out in numpy so they can be read and checked.

Everything here follows TensorFlow's conventions so results can be compared number for number:

* images are ``(H, W)``, ``(H, W, C)`` or ``(N, H, W, C)`` (channels last);
* kernels are ``(kh, kw)`` or ``(kh, kw, C_in, C_out)``;
* a CNN "convolution" is a **cross-correlation** (the kernel is not flipped), exactly as
  ``tf.nn.conv2d`` and ``keras.layers.Conv2D`` compute it;
* ``padding="same"`` uses TensorFlow's rule: output size ``ceil(n / stride)``, total padding
  ``max((out - 1) * stride + k_eff - n, 0)`` split with the smaller half at the top/left.

The formula taught in the notebooks (1-based, as in textbooks) is

    y[i, j] = sum_m sum_n w[m, n] * x[i + m - 1, j + n - 1]

which in 0-based Python is ``y[i, j] = sum(w[m, n] * x[i + m, j + n])``. :func:`conv2d_naive`
spells this out with loops; :func:`conv2d` computes the same thing vectorised.

No TensorFlow is imported here: the module is numpy only, so it is the *independent* reference
that the tests and notebooks compare with TensorFlow.

Limits (checked from the shapes *before* any array is allocated, with the limit and the reason in the
error): :data:`MAX_ELEMENTS` elements for any array a function creates (padded input, im2col matrix,
output), :data:`MAX_MACS` multiply-adds per call, :data:`MAX_NAIVE_STEPS` Python-loop steps in
:func:`conv2d_naive`, :data:`MAX_LEN` pixels for any length, padding, stride or dilation. A wrong *type*
(a string or ``None`` where a number or an array is expected) raises TypeError, a bad value ValueError.

>>> x = np.arange(16.0).reshape(4, 4)
>>> conv2d(x, np.ones((3, 3))).tolist()
[[45.0, 54.0], [81.0, 90.0]]
>>> output_size(256, 3)
254
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from numbers import Integral, Real
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._validate import _given, check_bool, check_int, check_limit

__all__ = [
    "KERNELS", "gaussian_kernel",
    "output_size", "conv_params", "dense_params",
    "conv2d_naive", "conv2d", "im2col", "correlate2d", "convolve2d_true",
    "pool2d", "global_avg_pool", "max_pool_winners",
    "explain_step", "StepExplanation",
    "receptive_field", "receptive_field_table", "ReceptiveField",
    "relu", "sigmoid", "dense", "forward_sequential",
    "flip_kernel", "build_stack", "pooling_compute", "insert_nodule", "nodule_erasure",
    "conv2d_backward",
]

Padding = Any  # "valid" | "same" | int | (int, int) | ((top, bottom), (left, right))

#: Largest array (elements) any function here creates: 2**26 = 67 M elements = 512 MiB in float64, half a
#: learner's 1 GiB kernel.
MAX_ELEMENTS = 2**26
#: Most multiply-adds (or comparisons) one call may do: 2**30 (about 1e9, a few seconds of numpy on one core).
MAX_MACS = 2**30
#: Most Python-loop steps of :func:`conv2d_naive` (about a microsecond each: a few seconds).
MAX_NAIVE_STEPS = 2**21
#: Largest length, kernel size, padding, stride or dilation, in pixels (no medical image axis comes near).
MAX_LEN = 2**20


# --------------------------------------------------------------------------------------------
# argument checking
# --------------------------------------------------------------------------------------------

def _is_int(v: Any) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


def _pair(value: Any, name: str, minimum: int = 1) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(2, 1)`` -> ``(2, 1)``; with a clear error otherwise.

    A wrong type (str, None, float) is a TypeError, a value < ``minimum`` or > :data:`MAX_LEN` a ValueError.
    """
    rule = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    if _is_int(value):
        vals = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        vals = (int(value[0]), int(value[1]))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, Real) for v in value):
        raise TypeError(f"{name} must be {rule} or a pair of them (pixels), got {_given(value)}; "
                        "pass whole numbers, e.g. 2 or (2, 1)")
    elif isinstance(value, (tuple, list)):
        raise ValueError(f"{name} must be {rule} or a pair of them (pixels), got {value!r}")
    else:
        raise TypeError(f"{name} must be {rule} or a pair of them (pixels), got {_given(value)}; "
                        "pass a whole number, e.g. 2 or (2, 1)")
    if min(vals) < minimum:
        raise ValueError(f"{name} must be {rule} or a pair of them, got {value!r}")
    if max(vals) > MAX_LEN:
        raise ValueError(f"{name} must be <= {MAX_LEN} pixels (MAX_LEN; no image axis is that long), got {value!r}")
    return vals


def _cost(amount: int, limit: int, what: str, hint: str) -> None:
    """Refuse before allocating: ``amount`` (elements or operations) must stay within ``limit``."""
    check_limit(float(amount), float(limit), what, hint)


def _as_float_array(a: Any, name: str) -> np.ndarray:
    if a is None or isinstance(a, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be an array of real numbers (a numpy array or nested lists), got "
                        f"{_given(a)}; load the image first (e.g. with medlab.io or np.asarray)")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists etc.
        raise TypeError(f"{name} must be array-like of numbers ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must hold real numbers, got complex dtype {arr.dtype}")
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (found NaN or inf)")
    return arr


def _float_dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 when every input fits in float32 (as TensorFlow computes), else float64."""
    return np.result_type(*[a.dtype for a in arrays], np.float32)


def _padding_1d(padding: Any, n: int, k_eff: int, stride: int, name: str = "padding") -> tuple[int, int]:
    """Resolve one axis of a padding spec to ``(before, after)``."""
    rule = f'{name} must be "valid", "same", an int or ((top, bottom), (left, right))'
    if isinstance(padding, str):
        p = padding.lower()
        if p == "valid":
            return 0, 0
        if p == "same":
            out = -(-n // stride)
            total = max((out - 1) * stride + k_eff - n, 0)
            return total // 2, total - total // 2
        raise ValueError(f"{rule}, got {padding!r}")
    if _is_int(padding):
        pads = (int(padding), int(padding))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(_is_int(v) for v in padding):
        pads = (int(padding[0]), int(padding[1]))
    elif isinstance(padding, (tuple, list)):
        raise ValueError(f"{rule}, got {padding!r}")
    else:
        raise TypeError(f"{rule} (whole pixels), got {_given(padding)}")
    if min(pads) < 0:
        raise ValueError(f"{name} must be >= 0, got {padding!r}")
    if max(pads) > MAX_LEN:
        raise ValueError(f"{name} must be <= {MAX_LEN} pixels per side (MAX_LEN), got {padding!r}")
    return pads


def _padding_2d(padding: Padding, hw: tuple[int, int], k_eff: tuple[int, int],
                stride: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
            isinstance(p, (tuple, list)) for p in padding):
        return (_padding_1d(tuple(padding[0]), hw[0], k_eff[0], stride[0]),
                _padding_1d(tuple(padding[1]), hw[1], k_eff[1], stride[1]))
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(_is_int(p) for p in padding):
        # (pad_rows, pad_cols): symmetric per axis
        return (_padding_1d(int(padding[0]), hw[0], k_eff[0], stride[0]),
                _padding_1d(int(padding[1]), hw[1], k_eff[1], stride[1]))
    return (_padding_1d(padding, hw[0], k_eff[0], stride[0]),
            _padding_1d(padding, hw[1], k_eff[1], stride[1]))


def _out_len(n: int, k: int, pads: tuple[int, int], stride: int, dilation: int, what: str = "kernel",
             name: str = "w") -> int:
    k_eff = dilation * (k - 1) + 1
    n_pad = n + pads[0] + pads[1]
    if k_eff > n_pad:
        extra = f" (size {k} with dilation {dilation})" if dilation > 1 else f" (size {k})"
        raise ValueError(f"{name}: {what}{extra} spans {k_eff} pixels, larger than the padded input "
                         f"({n} + {pads[0]} + {pads[1]} = {n_pad}); use a smaller {what} or more padding")
    return (n_pad - k_eff) // stride + 1


# --------------------------------------------------------------------------------------------
# sizes and parameter counts
# --------------------------------------------------------------------------------------------

def output_size(n: int, k: int, padding: Any = 0, stride: int = 1, dilation: int = 1) -> int:
    """Output length of a convolution/pooling along one axis.

    ``out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1``

    Parameters: ``n`` input length (pixels), ``k`` kernel length (pixels), ``padding`` pixels on
    *each* side (int), a pair ``(before, after)``, or ``"valid"``/``"same"`` (TensorFlow's rule),
    ``stride`` step in pixels, ``dilation`` spacing between kernel taps.

    >>> output_size(256, 3), output_size(256, 3, padding=1), output_size(256, 3, stride=2)
    (254, 256, 127)
    >>> output_size(7, 3, padding="same", stride=2)
    4
    """
    for name, v in (("n", n), ("k", k), ("stride", stride), ("dilation", dilation)):
        _positive_int(v, name, MAX_LEN, "pixels (MAX_LEN)")
    k_eff = dilation * (k - 1) + 1
    pads = _padding_1d(padding, n, k_eff, stride)
    return _out_len(n, k, pads, stride, dilation, name="k")


def _positive_int(v: Any, name: str, high: int, why: str) -> int:
    """A positive int <= ``high`` (TypeError for a wrong type, ValueError for a bad value)."""
    if not _is_int(v):
        raise TypeError(f"{name} must be a positive int, got {_given(v)}")
    if v < 1:
        raise ValueError(f"{name} must be a positive int, got {v!r}")
    if v > high:
        raise ValueError(f"{name} must be <= {high} ({why}), got {v!r}")
    return int(v)


def conv_params(kh: int, kw: int, c_in: int, c_out: int, bias: bool = True) -> int:
    """Number of trainable parameters of a Conv2D layer: ``kh*kw*c_in*c_out (+ c_out biases)``.

    The count does not depend on the image size: the same kernel is shared by every position.

    >>> conv_params(3, 3, 1, 32), conv_params(3, 3, 32, 64)
    (320, 18496)
    """
    for name, v in (("kh", kh), ("kw", kw)):
        _positive_int(v, name, MAX_LEN, "pixels (MAX_LEN)")
    for name, v in (("c_in", c_in), ("c_out", c_out)):
        _positive_int(v, name, 2**20, "channels; no layer has a million channels")
    check_bool(bias, "bias")
    return kh * kw * c_in * c_out + (c_out if bias else 0)


def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Number of trainable parameters of a Dense layer: ``n_in*n_out (+ n_out biases)``.

    >>> dense_params(256 * 256, 1)
    65537
    """
    _positive_int(n_in, "n_in", 2**40, "inputs; a count, but no layer comes near")
    _positive_int(n_out, "n_out", 2**40, "units; a count, but no layer comes near")
    check_bool(bias, "bias")
    return n_in * n_out + (n_out if bias else 0)


# --------------------------------------------------------------------------------------------
# named kernels
# --------------------------------------------------------------------------------------------

def gaussian_kernel(sigma: float = 1.0, size: int | None = None) -> np.ndarray:
    """A normalised 2-D Gaussian kernel (sums to 1). ``size`` defaults to ``2*ceil(2*sigma)+1``.

    >>> k = gaussian_kernel(1.0, 3); k.shape, round(float(k.sum()), 6)
    ((3, 3), 1.0)
    """
    if not isinstance(sigma, Real) or isinstance(sigma, (bool, np.bool_)):
        raise TypeError(f"sigma must be a positive number (pixels), got {_given(sigma)}")
    if not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive number (pixels), got {sigma!r}")
    if sigma > 256:
        raise ValueError(f"sigma must be <= 256 pixels (the default kernel is then 1025x1025, 8 MiB), got {sigma!r}")
    if size is None:
        size = 2 * math.ceil(2 * sigma) + 1
    if not _is_int(size):
        raise TypeError(f"size must be a positive odd int (pixels) or None, got {_given(size)}")
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd int, got {size!r}")
    if size > 2049:
        raise ValueError(f"size must be <= 2049 pixels (a 2049x2049 kernel is 32 MiB), got {size!r}")
    r = np.arange(size) - size // 2
    g = np.exp(-(r ** 2) / (2.0 * sigma ** 2))
    k = np.outer(g, g)
    return k / k.sum()


def _frozen(a: Any) -> np.ndarray:
    arr = np.array(a, dtype=np.float64)
    arr.setflags(write=False)
    return arr


#: Classic 3x3 kernels, named. Applied with :func:`conv2d` (cross-correlation, as in CNNs):
#: ``sobel_x`` responds to intensity increasing to the right (vertical edges),
#: ``sobel_y`` to intensity increasing downwards (horizontal edges).
KERNELS: Mapping[str, np.ndarray] = MappingProxyType({
    "identity": _frozen([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "box": _frozen(np.full((3, 3), 1.0 / 9.0)),
    "gaussian": _frozen(gaussian_kernel(1.0, 3)),
    "sharpen": _frozen([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "sobel_x": _frozen([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "sobel_y": _frozen([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "prewitt_x": _frozen([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]),
    "prewitt_y": _frozen([[-1, -1, -1], [0, 0, 0], [1, 1, 1]]),
    "laplacian": _frozen([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "emboss": _frozen([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
})


# --------------------------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------------------------

def conv2d_naive(x: Any, w: Any, stride: Any = 1, padding: Padding = 0, dilation: Any = 1) -> np.ndarray:
    """Single-channel 2-D convolution (CNN style, i.e. cross-correlation) with explicit loops.

    This is the formula ``y[i, j] = sum_m sum_n w[m, n] * x[i*s + m*d, j*s + n*d]`` (0-based)
    written as four nested loops. It is slow on purpose: read it, then use :func:`conv2d`.

    ``x`` (H, W), ``w`` (kh, kw); ``stride`` and ``dilation`` int or pair (pixels);
    ``padding`` zeros added: int per side, ``((top, bottom), (left, right))``, "valid" or "same".

    >>> conv2d_naive(np.arange(9.0).reshape(3, 3), np.ones((2, 2))).tolist()
    [[8.0, 12.0], [20.0, 24.0]]
    """
    x = _as_float_array(x, "x")
    w = _as_float_array(w, "w")
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D image (H, W) for conv2d_naive, got ndim={x.ndim}")
    if w.ndim != 2:
        raise ValueError(f"w must be a 2-D kernel (kh, kw) for conv2d_naive, got ndim={w.ndim}")
    sh, sw = _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")
    kh, kw = w.shape
    (pt, pb), (pl, pr) = _padding_2d(padding, x.shape, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), (sh, sw))
    out_h = _out_len(x.shape[0], kh, (pt, pb), sh, dh)
    out_w = _out_len(x.shape[1], kw, (pl, pr), sw, dw)
    _cost((x.shape[0] + pt + pb) * (x.shape[1] + pl + pr), MAX_ELEMENTS, "padded-input elements",
          "memory: MAX_ELEMENTS; use less padding")
    _cost(out_h * out_w * kh * kw, MAX_NAIVE_STEPS, "loop steps of conv2d_naive",
          "time: MAX_NAIVE_STEPS, each a slow Python step; use conv2d for large images, or a smaller image/kernel")
    xp = np.pad(x.astype(np.float64), ((pt, pb), (pl, pr)))
    y = np.zeros((out_h, out_w), dtype=np.float64)
    for i in range(out_h):
        for j in range(out_w):
            total = 0.0
            for m in range(kh):
                for n in range(kw):
                    total += w[m, n] * xp[i * sh + m * dh, j * sw + n * dw]
            y[i, j] = total
    return y


def _prepare_conv(x: Any, w: Any, stride: Any, padding: Padding, dilation: Any, macs: bool = True):
    """Validate and normalise conv arguments to NHWC / HWIO float arrays, padded."""
    x = _as_float_array(x, "x")
    w = _as_float_array(w, "w")
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"x must be (H, W), (H, W, C) or (N, H, W, C), got ndim={x.ndim} shape={x.shape}")
    if w.ndim not in (2, 4):
        raise ValueError(f"w must be (kh, kw) or (kh, kw, C_in, C_out), got ndim={w.ndim} shape={w.shape}")
    if 0 in x.shape:
        raise ValueError(f"x must not be empty, got shape {x.shape}")
    if 0 in w.shape:
        raise ValueError(f"w must not be empty, got shape {w.shape}")
    x_ndim = x.ndim
    x4 = x[None, :, :, None] if x.ndim == 2 else (x[None] if x.ndim == 3 else x)
    w4 = w[:, :, None, None] if w.ndim == 2 else w
    if x4.shape[3] != w4.shape[2]:
        raise ValueError(f"channel mismatch: x has {x4.shape[3]} channel(s) but w expects C_in={w4.shape[2]} "
                         f"(w shape {w.shape}); w must be (kh, kw, {x4.shape[3]}, C_out)")
    sh, sw = _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")
    kh, kw = w4.shape[:2]
    hw = x4.shape[1:3]
    pads = _padding_2d(padding, hw, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), (sh, sw))
    out_h = _out_len(hw[0], kh, pads[0], sh, dh)
    out_w = _out_len(hw[1], kw, pads[1], sw, dw)
    n, c_in, c_out = x4.shape[0], x4.shape[3], w4.shape[3]
    _cost(n * (hw[0] + sum(pads[0])) * (hw[1] + sum(pads[1])) * c_in, MAX_ELEMENTS, "padded-input elements",
          "memory: MAX_ELEMENTS; use less padding or a smaller image")
    _cost(n * out_h * out_w * c_out, MAX_ELEMENTS, "output elements",
          "memory: MAX_ELEMENTS; use fewer images, output channels or a larger stride")
    if macs:
        _cost(n * out_h * out_w * kh * kw * c_in * c_out, MAX_MACS, "multiply-adds",
              "time: MAX_MACS, about a few seconds of numpy; use fewer images per call, a smaller kernel, image or "
              "channel count, "
              "or TensorFlow for real training")
    dtype = _float_dtype(x, w)
    x4 = x4.astype(dtype, copy=False)
    w4 = w4.astype(dtype, copy=False)
    if any(pads[0]) or any(pads[1]):
        x4 = np.pad(x4, ((0, 0), pads[0], pads[1], (0, 0)))
    return x4, w4, (sh, sw), (dh, dw), (out_h, out_w), x_ndim, w.ndim, pads


def im2col(x: Any, kernel_size: Any, stride: Any = 1, padding: Padding = "valid", dilation: Any = 1) -> np.ndarray:
    """Unfold every receptive-field patch into one row: convolution becomes one matrix product.

    ``x`` is (H, W) or (H, W, C). Returns an array of shape ``(out_h * out_w, kh * kw * C)``;
    row ``i*out_w + j`` is the patch under output pixel ``(i, j)`` in (row, col, channel) order,
    so ``im2col(x, (kh, kw)) @ w.reshape(-1, C_out)`` equals ``conv2d(x, w)`` reshaped.

    >>> im2col(np.arange(9.0).reshape(3, 3), 2).tolist()
    [[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]
    """
    x = _as_float_array(x, "x")
    if x.ndim not in (2, 3):
        raise ValueError(f"x must be (H, W) or (H, W, C) for im2col, got ndim={x.ndim}")
    kh, kw = _pair(kernel_size, "kernel_size")
    c = 1 if x.ndim == 2 else x.shape[2]
    if 0 in x.shape:
        raise ValueError(f"x must not be empty, got shape {x.shape}")
    sh, sw = _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")
    pads = _padding_2d(padding, x.shape[:2], (dh * (kh - 1) + 1, dw * (kw - 1) + 1), (sh, sw))
    oh = _out_len(x.shape[0], kh, pads[0], sh, dh, name="kernel_size")
    ow = _out_len(x.shape[1], kw, pads[1], sw, dw, name="kernel_size")
    _cost((x.shape[0] + sum(pads[0])) * (x.shape[1] + sum(pads[1])) * c, MAX_ELEMENTS, "padded-input elements",
          "memory: MAX_ELEMENTS; use less padding or a smaller image")
    _cost(oh * ow * kh * kw * c, MAX_ELEMENTS, "im2col elements",
          "memory: MAX_ELEMENTS, one row of kh*kw*C values per output pixel; use a smaller kernel, a larger "
          "stride or a smaller image")
    w_shape = np.broadcast_to(np.zeros((), x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64),
                              (kh, kw, c, 1))
    xp, _, (sh, sw), (dh, dw), (oh, ow), *_ = _prepare_conv(x, w_shape, stride, padding, dilation, macs=False)
    cols = _windows(xp, kh, kw, (sh, sw), (dh, dw), (oh, ow))  # N, oh, ow, C, kh, kw
    return cols[0].transpose(0, 1, 3, 4, 2).reshape(oh * ow, kh * kw * c)


def _windows(xp: np.ndarray, kh: int, kw: int, stride, dilation, out_hw) -> np.ndarray:
    """Strided view (N, out_h, out_w, C, kh, kw) of the padded input (no copy)."""
    (sh, sw), (dh, dw), (oh, ow) = stride, dilation, out_hw
    win = sliding_window_view(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(1, 2))
    return win[:, : (oh - 1) * sh + 1: sh, : (ow - 1) * sw + 1: sw, :, ::dh, ::dw]


def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Padding = "valid",
           dilation: Any = 1) -> np.ndarray:
    """Vectorised 2-D convolution layer (cross-correlation, as ``tf.nn.conv2d``), plus bias.

    ``x`` (H, W), (H, W, C) or (N, H, W, C); ``w`` (kh, kw) or (kh, kw, C_in, C_out) -- TensorFlow's
    layouts. ``b`` None or (C_out,). ``stride``/``dilation`` int or pair (pixels). ``padding``
    ``"valid"``, ``"same"`` (TensorFlow's asymmetric rule), int per side, ``(rows, cols)`` per side of
    each axis, or ``((top, bottom), (left, right))``. Output: (H', W') for 2-D x and w, otherwise
    (H', W', C_out) or (N, H', W', C_out). float32 when inputs are float32, else float64.

    Implementation: for few channels, a loop over the kh*kw kernel taps adding shifted,
    scaled copies of the image (each a fast whole-array operation; all-zero taps are skipped, so a
    sparse kernel costs only its non-zero taps); for many channels, im2col (a strided window view)
    and one matrix product.

    >>> conv2d(np.eye(3), np.array([[1.0, 0.0], [0.0, 1.0]])).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    x4, w4, (sh, sw), (dh, dw), (oh, ow), x_ndim, w_ndim, _ = _prepare_conv(x, w, stride, padding, dilation)
    n, _, _, c_in = x4.shape
    kh, kw, _, c_out = w4.shape
    if b is not None:
        b = _as_float_array(b, "b")
        if b.shape not in ((c_out,), ()):
            raise ValueError(f"b must have shape ({c_out},) (one bias per output channel), got {b.shape}")
    if c_in * c_out <= 16 or n * oh * ow * kh * kw * c_in > MAX_ELEMENTS:
        # per kernel tap: a shifted, scaled copy of the image (no im2col copy of kh*kw times the input)
        y = np.zeros((n, oh, ow, c_out), dtype=x4.dtype)
        for m in range(kh):
            for q in range(kw):
                if not w4[m, q].any():  # a zero tap adds exactly nothing (inputs are finite): skip it
                    continue
                r0, c0 = m * dh, q * dw
                tap = x4[:, r0: r0 + (oh - 1) * sh + 1: sh, c0: c0 + (ow - 1) * sw + 1: sw, :]
                if c_in == 1 and c_out == 1:
                    y += w4[m, q, 0, 0] * tap
                elif c_in * c_out <= 16:
                    for ci in range(c_in):
                        y += tap[..., ci: ci + 1] * w4[m, q, ci]
                else:
                    y += tap @ w4[m, q]
    else:
        win = _windows(x4, kh, kw, (sh, sw), (dh, dw), (oh, ow))  # N, oh, ow, C, kh, kw
        cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * c_in)
        y = (cols @ w4.reshape(kh * kw * c_in, c_out)).reshape(n, oh, ow, c_out)
    if b is not None:
        y = y + b.astype(y.dtype)
    if x_ndim == 2 and w_ndim == 2:
        return y[0, :, :, 0]
    if x_ndim in (2, 3):
        return y[0]
    return y


def correlate2d(x: Any, w: Any, mode: str = "valid") -> np.ndarray:
    """2-D cross-correlation with zero boundary, like ``scipy.signal.correlate2d(x, w, mode)``.

    ``mode``: "valid" (kernel fully inside), "full" (every overlap) or "same" (size of ``x``).

    >>> correlate2d(np.arange(4.0).reshape(2, 2), np.array([[1.0, 2.0]]), "full").tolist()
    [[0.0, 2.0, 1.0], [4.0, 8.0, 3.0]]
    """
    return _scipy_like(x, w, mode, flip=False)


def convolve2d_true(x: Any, w: Any, mode: str = "valid") -> np.ndarray:
    """True (mathematical) 2-D convolution: the kernel is flipped in both axes first.

    ``(x * w)[i, j] = sum_m sum_n w[m, n] x[i - m, j - n]`` -- equal to
    ``scipy.signal.convolve2d(x, w, mode)``; for a symmetric kernel it equals :func:`correlate2d`.

    >>> convolve2d_true(np.arange(4.0).reshape(2, 2), np.array([[1.0, 2.0]]), "full").tolist()
    [[0.0, 1.0, 2.0], [2.0, 7.0, 6.0]]
    """
    return _scipy_like(x, w, mode, flip=True)


def _scipy_like(x: Any, w: Any, mode: str, flip: bool) -> np.ndarray:
    x = _as_float_array(x, "x")
    w = _as_float_array(w, "w")
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D image (H, W), got ndim={x.ndim}")
    if w.ndim != 2:
        raise ValueError(f"w must be a 2-D kernel (kh, kw), got ndim={w.ndim}")
    if not isinstance(mode, str):
        raise TypeError(f'mode must be "valid", "full" or "same" (a string), got {_given(mode)}')
    if mode not in ("valid", "full", "same"):
        raise ValueError(f'mode must be "valid", "full" or "same", got {mode!r}')
    if 0 in x.shape or 0 in w.shape:
        raise ValueError(f"x and w must not be empty, got shapes {x.shape} and {w.shape}")
    kh, kw = w.shape
    k = w[::-1, ::-1] if flip else w
    if mode == "valid":
        return conv2d(x, k, padding="valid")
    full = conv2d(x, k, padding=((kh - 1, kh - 1), (kw - 1, kw - 1)))
    if mode == "full":
        return full
    # scipy centres "same" on the full output; the offset differs for even kernels
    r0, c0 = ((kh - 1) // 2, (kw - 1) // 2) if flip else (kh // 2, kw // 2)
    return full[r0: r0 + x.shape[0], c0: c0 + x.shape[1]]


# --------------------------------------------------------------------------------------------
# one step, explained
# --------------------------------------------------------------------------------------------

def _fmt_weight(v: float, digits: int) -> str:
    """``digits`` significant digits (``:g``), but no exponent for 10**digits <= |v| < 1e4:
    125 -> "125" (``:.2g`` would print "1.2e+02")."""
    s = f"{v:.{digits}g}"
    if "e+" in s and abs(v) < 1e4:
        s = f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return s


@dataclass(frozen=True)
class StepExplanation:
    """Everything behind one output pixel ``y[i, j]`` of a single-channel convolution."""

    i: int
    j: int
    patch: np.ndarray       # (kh, kw) input values under the kernel (zeros where padding)
    products: np.ndarray    # (kh, kw) w * patch, element-wise
    total: float            # products.sum() + bias == conv2d(...)[i, j]
    rows: np.ndarray        # (kh,) input row index of each kernel row (may be <0 or >=H: padding)
    cols: np.ndarray        # (kw,) input column index of each kernel column
    bias: float = 0.0
    kernel: np.ndarray = field(default=None, repr=False)

    def formula(self, decimals: int = 2) -> str:
        """The sum written out with the actual numbers, e.g. ``0.50×(-1) + ... = 3.20``."""
        decimals = check_int(decimals, "decimals", low=0, high=12, why_high="float64 holds about 16 digits")
        terms = [f"{_fmt_weight(wv, decimals)}×{xv:.{decimals}f}"
                 for wv, xv in zip(self.kernel.ravel(), self.patch.ravel())]
        s = " + ".join(terms)
        if self.bias:
            s += f" + {self.bias:.{decimals}f}"
        return f"y[{self.i}, {self.j}] = {s} = {self.total:.{decimals}f}"


def explain_step(x: Any, w: Any, i: int, j: int, stride: Any = 1, padding: Padding = 0,
                 dilation: Any = 1, b: float = 0.0) -> StepExplanation:
    """The input patch, the element-wise products and their sum for output pixel ``(i, j)``.

    ``x`` (H, W), ``w`` (kh, kw); the other arguments as in :func:`conv2d`.
    ``explain_step(...).total`` equals ``conv2d(x, w, ...)[i, j] (+ b)``.

    >>> e = explain_step(np.arange(9.0).reshape(3, 3), np.ones((2, 2)), 1, 1)
    >>> e.patch.tolist(), e.total
    ([[4.0, 5.0], [7.0, 8.0]], 24.0)
    """
    x = _as_float_array(x, "x")
    w = _as_float_array(w, "w")
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D image (H, W), got ndim={x.ndim}")
    if w.ndim != 2:
        raise ValueError(f"w must be a 2-D kernel (kh, kw), got ndim={w.ndim}")
    sh, sw = _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")
    kh, kw = w.shape
    pads = _padding_2d(padding, x.shape, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), (sh, sw))
    oh = _out_len(x.shape[0], kh, pads[0], sh, dh)
    ow = _out_len(x.shape[1], kw, pads[1], sw, dw)
    for name, v, top, what in (("i", i, oh, "row"), ("j", j, ow, "column")):
        if not _is_int(v):
            raise TypeError(f"{name} must be an output {what} (an int in [0, {top - 1}]), got {_given(v)}")
        if not 0 <= v < top:
            raise ValueError(f"{name} must be an output {what} in [0, {top - 1}], got {v!r}")
    if isinstance(b, (bool, np.bool_)) or not isinstance(b, (Real, np.number)):
        raise TypeError(f"b must be a finite number (the bias), got {_given(b)}")
    if not math.isfinite(float(b)):
        raise ValueError(f"b must be a finite number, got {b!r}")
    rows = i * sh - pads[0][0] + dh * np.arange(kh)
    cols = j * sw - pads[1][0] + dw * np.arange(kw)
    inside = ((rows >= 0) & (rows < x.shape[0]))[:, None] & ((cols >= 0) & (cols < x.shape[1]))[None, :]
    patch = np.zeros((kh, kw), dtype=np.float64)
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    patch[inside] = x[rr[inside], cc[inside]]
    products = w.astype(np.float64) * patch
    total = float(products.sum() + float(b))
    return StepExplanation(int(i), int(j), patch, products, total, rows, cols, float(b), w.astype(np.float64))


# --------------------------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------------------------

def pool2d(x: Any, size: Any = 2, stride: Any = None, padding: Padding = "valid", mode: str = "max") -> np.ndarray:
    """Max or average pooling, equal to ``tf.nn.max_pool2d`` / ``tf.nn.avg_pool2d``.

    ``x`` (H, W), (H, W, C) or (N, H, W, C); ``size`` and ``stride`` (default = size) int or pair;
    ``padding`` "valid", "same" (TensorFlow's rule), int or ((top, bottom), (left, right));
    ``mode`` "max" or "avg". Padded cells never win a max and are *excluded* from an average
    (TensorFlow's behaviour), so an average always divides by the number of real pixels.

    >>> pool2d(np.arange(16.0).reshape(4, 4)).tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    >>> pool2d(np.arange(16.0).reshape(4, 4), mode="avg").tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    x = _as_float_array(x, "x")
    if not isinstance(mode, str):
        raise TypeError(f'mode must be "max" or "avg" (a string), got {_given(mode)}')
    if mode not in ("max", "avg"):
        raise ValueError(f'mode must be "max" or "avg", got {mode!r}')
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"x must be (H, W), (H, W, C) or (N, H, W, C), got ndim={x.ndim} shape={x.shape}")
    if 0 in x.shape:
        raise ValueError(f"x must not be empty, got shape {x.shape}")
    kh, kw = _pair(size, "size")
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride")
    x4 = x[None, :, :, None] if x.ndim == 2 else (x[None] if x.ndim == 3 else x)
    hw = x4.shape[1:3]
    pads = _padding_2d(padding, hw, (kh, kw), (sh, sw))
    oh = _out_len(hw[0], kh, pads[0], sh, 1, what="pool window", name="size")
    ow = _out_len(hw[1], kw, pads[1], sw, 1, what="pool window", name="size")
    for n_in, k, (p0, _), s_, n_out in ((hw[0], kh, pads[0], sh, oh), (hw[1], kw, pads[1], sw, ow)):
        starts = -p0 + s_ * np.arange(n_out)           # first input index of each window
        if (starts + k <= 0).any() or (starts >= n_in).any():
            raise ValueError(f"padding must be smaller than size: a window would contain only padding, got "
                             f"padding={padding!r} -> {pads} for size={(kh, kw)}, stride={(sh, sw)}, "
                             f"input {hw[0]}x{hw[1]}")
    n_img, n_ch = x4.shape[0], x4.shape[3]
    _cost(n_img * (hw[0] + sum(pads[0])) * (hw[1] + sum(pads[1])) * n_ch, MAX_ELEMENTS, "padded-input elements",
          "memory: MAX_ELEMENTS; use less padding or a smaller image")
    _cost(n_img * oh * ow * n_ch * kh * kw, MAX_MACS, "pooling steps",
          "time: MAX_MACS; use a smaller window or a larger stride")
    dtype = _float_dtype(x)
    x4 = x4.astype(dtype, copy=False)
    padded = any(pads[0]) or any(pads[1])
    if mode == "max":
        xp = np.pad(x4, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=-np.inf) if padded else x4
        y = None
        for m in range(kh):
            for q in range(kw):
                tap = xp[:, m: m + (oh - 1) * sh + 1: sh, q: q + (ow - 1) * sw + 1: sw, :]
                y = tap.copy() if y is None else np.maximum(y, tap, out=y)
    else:
        xp = np.pad(x4, ((0, 0), pads[0], pads[1], (0, 0))) if padded else x4
        y = np.zeros((x4.shape[0], oh, ow, x4.shape[3]), dtype=dtype)
        for m in range(kh):
            for q in range(kw):
                y += xp[:, m: m + (oh - 1) * sh + 1: sh, q: q + (ow - 1) * sw + 1: sw, :]
        if padded:
            ones = np.pad(np.ones(hw, dtype=dtype), (pads[0], pads[1]))
            count = np.zeros((oh, ow), dtype=dtype)
            for m in range(kh):
                for q in range(kw):
                    count += ones[m: m + (oh - 1) * sh + 1: sh, q: q + (ow - 1) * sw + 1: sw]
            y /= count[None, :, :, None]
        else:
            y /= kh * kw
    if x.ndim == 2:
        return y[0, :, :, 0]
    if x.ndim == 3:
        return y[0]
    return y


def max_pool_winners(x: Any, size: Any = 2, stride: Any = None) -> np.ndarray:
    """Boolean mask (H, W): which input pixels survive a "valid" max-pooling of a 2-D image.

    In each window the first maximum in row-major order wins (as ``tf.nn.max_pool_with_argmax``).

    >>> max_pool_winners(np.array([[1, 2], [4, 3]])).astype(int).tolist()
    [[0, 0], [1, 0]]
    """
    x = _as_float_array(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D image (H, W), got ndim={x.ndim}")
    kh, kw = _pair(size, "size")
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride")
    oh = _out_len(x.shape[0], kh, (0, 0), sh, 1, what="pool window", name="size")
    ow = _out_len(x.shape[1], kw, (0, 0), sw, 1, what="pool window", name="size")
    _cost(oh * ow * kh * kw, MAX_ELEMENTS, "window elements",
          "time: MAX_ELEMENTS, a bound on the window elements compared; use a smaller window or a larger stride")
    # Separable: the first maximum in row-major order is, in the first row (of the window) that holds the
    # window's maximum, that row's first maximum. Along each row first (H x ow x kw), then along the columns of
    # the row maxima (oh x ow x kh): kh*kw/(kh+kw) times less work than scanning every window element.
    horiz = sliding_window_view(x, kw, axis=1)[:, : (ow - 1) * sw + 1: sw]          # (H, ow, kw), a view
    col_arg = horiz.argmax(axis=2)                                                  # (H, ow)
    row_max = np.take_along_axis(horiz, col_arg[..., None], axis=2)[..., 0]         # (H, ow)
    vert = sliding_window_view(row_max, kh, axis=0)[: (oh - 1) * sh + 1: sh]        # (oh, ow, kh)
    rows = np.arange(oh)[:, None] * sh + vert.argmax(axis=2)                        # (oh, ow)
    j = np.arange(ow)[None, :]
    cols = j * sw + col_arg[rows, j]
    mask = np.zeros(x.shape, dtype=bool)
    mask[rows, cols] = True
    return mask


def global_avg_pool(x: Any) -> np.ndarray:
    """Mean over the spatial axes: (H, W) -> scalar array, (H, W, C) -> (C,), (N, H, W, C) -> (N, C).

    Equal to ``keras.layers.GlobalAveragePooling2D``.

    >>> global_avg_pool(np.ones((4, 4, 2))).tolist()
    [1.0, 1.0]
    """
    x = _as_float_array(x, "x")
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"x must be (H, W), (H, W, C) or (N, H, W, C), got ndim={x.ndim}")
    if 0 in x.shape:
        raise ValueError(f"x must not be empty, got shape {x.shape}")
    axes = (0, 1) if x.ndim in (2, 3) else (1, 2)
    return np.asarray(x.astype(_float_dtype(x), copy=False).mean(axis=axes))


# --------------------------------------------------------------------------------------------
# receptive field
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field after a layer: ``size`` input pixels wide, output pixels ``jump`` input
    pixels apart, the first output pixel centred on input coordinate ``start`` (0-based; may be
    negative with padding)."""

    size: int
    jump: int
    start: float
    name: str = ""


_POINTWISE = {"InputLayer", "Activation", "ReLU", "Dropout", "BatchNormalization", "LeakyReLU",
              "SpatialDropout2D", "Rescaling", "Normalization"}


def _layer_spec(layer: Any, idx: int) -> tuple[str, int, int, int, Any] | None:
    """Normalise a layer description to (kind, kernel, stride, dilation, padding), or None."""
    if isinstance(layer, Mapping):
        kind = layer.get("kind")
        if kind not in ("conv", "pool"):
            raise ValueError(f'layers[{idx}]["kind"] must be "conv" or "pool", got {kind!r}')
        k = layer.get("kernel", layer.get("size"))
        s = layer.get("stride", 1 if kind == "conv" else k)
        d = layer.get("dilation", 1)
        p = layer.get("padding", "valid")
    elif isinstance(layer, (tuple, list)):
        if len(layer) < 2 or layer[0] not in ("conv", "pool"):
            raise ValueError(f'layers[{idx}] must look like ("conv", kernel[, stride[, dilation]]) or '
                             f'("pool", size[, stride]), got {layer!r}')
        kind, k = layer[0], layer[1]
        s = layer[2] if len(layer) > 2 else (1 if kind == "conv" else k)
        d = layer[3] if len(layer) > 3 else 1
        p = layer[4] if len(layer) > 4 else "valid"
    else:  # a Keras layer, by duck typing (no TensorFlow import here)
        cls = type(layer).__name__
        if hasattr(layer, "kernel_size") and hasattr(layer, "strides"):
            kind, k, s = "conv", layer.kernel_size, layer.strides
            d = getattr(layer, "dilation_rate", 1)
            p = getattr(layer, "padding", "valid")
        elif hasattr(layer, "pool_size"):
            kind, k, s, d = "pool", layer.pool_size, layer.strides, 1
            p = getattr(layer, "padding", "valid")
        elif cls in _POINTWISE:
            return None
        else:
            raise ValueError(f"layers[{idx}]: {cls} has no receptive field of its own (a Flatten/Dense layer "
                             "sees the whole input); pass only the conv/pool part of the network")
        for name, v in (("kernel_size" if kind == "conv" else "pool_size", k), ("strides", s),
                        ("dilation_rate", d)):
            if isinstance(v, (tuple, list)) and len(set(v)) > 1:
                raise ValueError(f"layers[{idx}]: {cls} {name}={tuple(v)} is not square; receptive_field "
                                 "works per axis for square kernels, strides and dilations only")
        k, s, d = (v[0] if isinstance(v, (tuple, list)) else v for v in (k, s, d))
    for name, v in (("kernel", k), ("stride", s), ("dilation", d)):
        if not _is_int(v):
            raise TypeError(f"layers[{idx}]: {name} must be a positive int, got {_given(v)}")
        if v < 1:
            raise ValueError(f"layers[{idx}]: {name} must be a positive int, got {v!r}")
        if v > MAX_LEN:
            raise ValueError(f"layers[{idx}]: {name} must be <= {MAX_LEN} pixels (MAX_LEN), got {v!r}")
    return kind, int(k), int(s), int(d), p


_MAX_LAYERS = 10_000


def receptive_field_table(layers: Iterable[Any], input_size: int | None = None) -> list[ReceptiveField]:
    """The receptive field after every layer of a conv/pool stack (see :func:`receptive_field`).

    ``input_size`` (pixels) is needed only for ``padding="same"`` with stride > 1; when given, the
    stack is also checked to fit the image.

    >>> [(r.size, r.jump) for r in receptive_field_table([("conv", 3), ("pool", 2), ("conv", 3)])]
    [(3, 1), (4, 2), (8, 2)]
    """
    if layers is None or isinstance(layers, (str, bytes, Mapping)) or not isinstance(layers, Iterable):
        raise TypeError(f"layers must be a list of layers, e.g. [(\"conv\", 3), (\"pool\", 2)], got {_given(layers)}")
    layers = list(itertools.islice(layers, _MAX_LAYERS + 1))
    if len(layers) > _MAX_LAYERS:
        raise ValueError(f"layers must hold at most {_MAX_LAYERS} layers (no real network is deeper; a longer "
                         "list is almost certainly a mistake)")
    if not layers:
        raise ValueError("layers must contain at least one conv or pool layer")
    if input_size is not None:
        input_size = _positive_int(input_size, "input_size", MAX_LEN, "pixels (MAX_LEN)")
    size, jump, start, n = 1, 1, 0.0, input_size
    table = []
    for idx, layer in enumerate(layers):
        spec = _layer_spec(layer, idx)
        if spec is None:
            continue
        kind, k, s, d, p = spec
        k_eff = d * (k - 1) + 1
        if isinstance(p, str) and p.lower() == "same" and n is None and s > 1:
            raise ValueError(f'layers[{idx}]: padding "same" with stride {s} depends on the image size; '
                             "pass input_size")
        before = _padding_1d(p, n if n is not None else k_eff, k_eff, s, name=f"layers[{idx}] padding")[0]
        if n is not None:
            n = _out_len(n, k, _padding_1d(p, n, k_eff, s), s, d, name=f"layers[{idx}]")
        start = start + ((k_eff - 1) / 2 - before) * jump
        size = size + (k_eff - 1) * jump
        jump = jump * s
        if size > 2**53 or jump > 2**53:
            raise ValueError(f"layers[{idx}]: the receptive field would pass the limit of 2**53 pixels (float precision); "
                             "the strides/kernels of this stack are far too large for any image")
        label = getattr(layer, "name", None) if not isinstance(layer, (Mapping, tuple, list)) else None
        table.append(ReceptiveField(size, jump, start, label or f"{kind}{k}x{k}/s{s}" + (f"/d{d}" if d > 1 else "")))
    if not table:
        raise ValueError("layers must contain at least one conv or pool layer")
    return table


def receptive_field(layers: Iterable[Any], input_size: int | None = None) -> ReceptiveField:
    """Receptive field of one output pixel of a stack of conv/pool layers (per axis, square kernels).

    Each layer is ``("conv", kernel, stride=1, dilation=1, padding="valid")``,
    ``("pool", size, stride=size)``, a dict with the same keys (``kind``, ``kernel``/``size``,
    ``stride``, ``dilation``, ``padding``) or a Keras Conv2D/pooling layer. Recursion:
    ``r <- r + (k_eff - 1) * j``, ``j <- j * s`` with ``k_eff = d*(k-1)+1``.

    >>> receptive_field([("conv", 3), ("pool", 2), ("conv", 3), ("pool", 2)]).size
    10
    """
    return receptive_field_table(layers, input_size)[-1]


# --------------------------------------------------------------------------------------------
# dense layer, activations and a whole Keras Sequential model
# --------------------------------------------------------------------------------------------

def relu(x: Any) -> np.ndarray:
    """max(x, 0), element-wise.

    >>> relu(np.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return np.maximum(_as_float_array(x, "x"), 0)


def sigmoid(x: Any) -> np.ndarray:
    """1 / (1 + exp(-x)), numerically stable.

    >>> float(sigmoid(np.array(0.0)))
    0.5
    """
    x = _as_float_array(x, "x").astype(np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def dense(x: Any, w: Any, b: Any = None) -> np.ndarray:
    """Fully connected layer ``y = x @ w + b``: ``x`` (n_in,) or (N, n_in), ``w`` (n_in, n_out).

    >>> dense(np.array([1.0, 2.0]), np.array([[1.0], [1.0]]), np.array([0.5])).tolist()
    [3.5]
    """
    x = _as_float_array(x, "x")
    w = _as_float_array(w, "w")
    if w.ndim != 2:
        raise ValueError(f"w must be (n_in, n_out), got ndim={w.ndim}")
    if x.ndim not in (1, 2):
        raise ValueError(f"x must be (n_in,) or (N, n_in) (Flatten first), got ndim={x.ndim}")
    if x.shape[-1] != w.shape[0]:
        raise ValueError(f"shape mismatch: x has {x.shape[-1]} features but w expects n_in={w.shape[0]}")
    rows = x.shape[0] if x.ndim == 2 else 1
    _cost(rows * w.shape[1], MAX_ELEMENTS, "output elements", "memory: MAX_ELEMENTS; use fewer rows or units")
    _cost(rows * w.shape[0] * w.shape[1], MAX_MACS, "multiply-adds",
          "time: MAX_MACS; use fewer rows per call (batches) or fewer units")
    y = x @ w
    if b is not None:
        b = _as_float_array(b, "b")
        if b.shape != (w.shape[1],):
            raise ValueError(f"b must have shape ({w.shape[1]},), got {b.shape}")
        y = y + b
    return y


_ACTIVATIONS = {
    "linear": lambda v: v,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "softmax": lambda v: (lambda e: e / e.sum(axis=-1, keepdims=True))(np.exp(v - v.max(axis=-1, keepdims=True))),
}


def _activation(layer: Any, v: np.ndarray) -> np.ndarray:
    act = layer.get_config().get("activation", "linear")
    if isinstance(act, dict):  # serialized form
        act = act.get("config", {}).get("name", act.get("class_name"))
    if act not in _ACTIVATIONS:
        raise ValueError(f"layer {layer.name}: activation {act!r} is not supported "
                         f"(supported: {sorted(_ACTIVATIONS)})")
    return _ACTIVATIONS[act](v)


def forward_sequential(model: Any, x: Any, return_all: bool = False):
    """Run a Keras ``Sequential`` of Conv2D / MaxPooling2D / AveragePooling2D /
    GlobalAveragePooling2D / Flatten / Dense (/ Activation, ReLU, Dropout) with medlab.ops alone.

    The weights are read with ``layer.get_weights()``; every computation is numpy. ``x`` is
    (N, H, W, C) (or (H, W, C) for one image). With ``return_all=True`` returns a list of
    ``(layer_name, output)`` pairs, otherwise the final output. Computed in float64.

    Example (needs Keras; see notebook 03 and ``tests/test_ops.py``)::

        model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                                  keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                                  keras.layers.Dense(1, activation="sigmoid")])
        np.allclose(forward_sequential(model, x), model.predict(x), atol=1e-5)   # True
    """
    check_bool(return_all, "return_all")
    x = _as_float_array(x, "x").astype(np.float64)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"x must be (N, H, W, C) or (H, W, C), got ndim={x.ndim}")
    layers = getattr(model, "layers", None)
    if layers is None:
        raise TypeError(f"model must be a Keras Sequential model (with .layers), got {type(model).__name__}")
    outputs = []
    for layer in layers:
        cls = type(layer).__name__
        if cls == "Conv2D":
            cfg = layer.get_config()
            if cfg.get("data_format", "channels_last") != "channels_last" or cfg.get("groups", 1) != 1:
                raise ValueError(f"layer {layer.name}: only channels_last, groups=1 Conv2D is supported")
            weights = layer.get_weights()
            kernel, bias = weights[0], (weights[1] if len(weights) > 1 else None)
            x = conv2d(x, kernel.astype(np.float64), bias, stride=tuple(cfg["strides"]),
                       padding=cfg["padding"], dilation=tuple(cfg["dilation_rate"]))
            x = _activation(layer, x)
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            cfg = layer.get_config()
            x = pool2d(x, tuple(cfg["pool_size"]), tuple(cfg["strides"]), cfg["padding"],
                       "max" if cls.startswith("Max") else "avg")
        elif cls == "GlobalAveragePooling2D":
            x = global_avg_pool(x)
        elif cls == "Flatten":
            x = x.reshape(x.shape[0], -1)
        elif cls == "Dense":
            weights = layer.get_weights()
            x = dense(x, weights[0].astype(np.float64), weights[1] if len(weights) > 1 else None)
            x = _activation(layer, x)
        elif cls == "Activation":
            x = _activation(layer, x)
        elif cls == "ReLU":
            cfg = layer.get_config()
            extra = {k: cfg.get(k) for k in ("max_value", "negative_slope", "threshold")
                     if cfg.get(k) not in (None, 0, 0.0)}
            if extra:
                raise ValueError(f"layer {layer.name}: ReLU with {extra} is not supported by forward_sequential "
                                 "(only the plain max(x, 0))")
            x = relu(x)
        elif cls in ("Dropout", "InputLayer", "SpatialDropout2D"):
            pass  # identity at inference time
        else:
            raise ValueError(f"layer {layer.name}: {cls} is not supported by forward_sequential")
        outputs.append((layer.name, x))
    return outputs if return_all else x


# --------------------------------------------------------------------------------------------
# teaching helpers of 02/03: kernels, conv/pool stacks, what pooling keeps (pure, numpy only)
# --------------------------------------------------------------------------------------------

def _float_image(img: np.ndarray) -> np.ndarray:
    """A float image keeps its precision (float32 stays float32, as TensorFlow computes); others -> float64."""
    return img if np.issubdtype(img.dtype, np.floating) else img.astype(np.float64)


def flip_kernel(name: str, offset: int = 3) -> np.ndarray:
    """A kernel of the correlation-vs-convolution demo (02 §3): a named :data:`KERNELS` entry, or
    ``"off-centre 1"``: a (2·offset+1)² kernel of zeros with a single 1 in the top-left corner --
    correlation moves the image one way, true convolution the other.

    >>> flip_kernel("off-centre 1", 1).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    from ._validate import check_choice, check_int

    check_choice(name, "name", ["off-centre 1", *KERNELS])
    if name == "off-centre 1":
        offset = check_int(offset, "offset", low=1, high=16, why_high="pixels; a kernel of at most 33x33")
        k = np.zeros((2 * offset + 1, 2 * offset + 1))
        k[0, 0] = 1.0
        return k
    return np.array(KERNELS[name], dtype=np.float64)


def build_stack(blocks: int = 2, kernel: int = 3, convs_per_block: int = 1, dilation: int = 1,
                pool: bool = True) -> list[tuple]:
    """A conv/pool stack as :func:`receptive_field` layer tuples: ``blocks`` x (``convs_per_block`` convs
    ``("conv", kernel, 1, dilation)`` + an optional 2x2/stride-2 pool). Used in 03 §3.

    >>> build_stack(2, 3)
    [('conv', 3, 1, 1), ('pool', 2, 2), ('conv', 3, 1, 1), ('pool', 2, 2)]
    >>> receptive_field(build_stack(2, 3)).size
    10
    """
    from ._validate import check_bool, check_int

    blocks = check_int(blocks, "blocks", low=1, high=64, why_high="a stack of at most 64 blocks")
    kernel = check_int(kernel, "kernel", low=1, high=1025)
    convs_per_block = check_int(convs_per_block, "convs_per_block", low=1, high=16)
    dilation = check_int(dilation, "dilation", low=1, high=1024)
    pool = check_bool(pool, "pool")
    layers: list[tuple] = []
    for _ in range(blocks):
        layers += [("conv", kernel, 1, dilation)] * convs_per_block
        if pool:
            layers.append(("pool", 2, 2))
    return layers


def pooling_compute(image: Any, size: int = 2, stride: int | None = None, mode: str = "max",
                    shift: int = 1) -> dict:
    """Pool a 2-D ``image`` and measure what a shift of the input does to the pooled map (03 §2).

    The image is shifted right by ``shift`` pixels (0..16); the pooled maps of the original and the shifted
    image are compared on the same region (columns 16.. of the original). Returns ``{"pooled"``,
    ``"winners"`` (bool mask of the pixels max pooling keeps; ``None`` for avg), ``"raw_change"`` and
    ``"pooled_change"`` (mean |Δ| before / after pooling), ``"unchanged_fraction"`` (pooled values that did
    not move), ``"changed"`` (bool map over the pooled region: True where the shift moved a pooled value),
    ``"size", "stride", "mode", "shift"}``. Compare ``pooled`` with ``tf.nn.max_pool2d`` /
    ``avg_pool2d`` ("VALID") as the notebook does.

    >>> r = pooling_compute(np.tile([0.0, 1.0], (24, 12)), 2, 2, "max", shift=1)
    >>> r["pooled"].shape, r["raw_change"], r["pooled_change"], r["unchanged_fraction"]
    ((12, 12), 1.0, 0.0, 1.0)
    """
    from ._validate import check_array, check_choice, check_int

    img = _float_image(check_array(image, "image", ndim=2))
    mode = check_choice(mode, "mode", ("max", "avg"))
    shift = check_int(shift, "shift", low=0, high=16, why_high="pixels")
    if img.shape[1] < 16 + 1:
        raise ValueError(f"image must be at least 17 pixels wide for the shift test, got shape {img.shape}")
    pooled = pool2d(img, size, stride, "valid", mode)
    region = img.shape[1] - 16
    if _pair(size, "size")[1] > region:
        raise ValueError(f"size {size!r} is wider than the region the shift test compares (columns 16.. of the "
                         f"image: {region} pixels); use a smaller size or an image at least {16 + _pair(size, 'size')[1]} "
                         "pixels wide")
    s = size if stride is None else stride
    winners = max_pool_winners(img, size, s) if mode == "max" else None
    m = 16
    a = img[:, m:]
    b = img[:, m - shift: img.shape[1] - shift]
    pa, pb = pool2d(a, size, s, mode=mode), pool2d(b, size, s, mode=mode)
    changed = np.abs(pa - pb) >= 1e-6
    return {"pooled": pooled, "winners": winners, "raw_change": float(np.abs(a - b).mean()),
            "pooled_change": float(np.abs(pa - pb).mean()), "unchanged_fraction": float(np.mean(~changed)),
            "changed": changed, "size": size, "stride": s, "mode": mode, "shift": shift}


def insert_nodule(image: Any, diameter: float, centre: tuple[int, int], value: float = 0.9) -> np.ndarray:
    """A copy of the 2-D ``image`` with a bright disk (a simulated nodule) of ``diameter`` pixels at ``centre``
    (row, col): pixels inside become ``max(pixel, value)``. Used in 03 §2.

    >>> (insert_nodule(np.zeros((5, 5)), 2, (2, 2)) > 0).astype(int).tolist()  # a 2-pixel disk: a cross
    [[0, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]]
    """
    from ._validate import check_array, check_float, check_int

    img = _float_image(check_array(image, "image", ndim=2))
    diameter = check_float(diameter, "diameter", 0.5, 64)
    value = check_float(value, "value")
    if not (isinstance(centre, (tuple, list)) and len(centre) == 2):
        raise TypeError(f"centre must be a (row, col) pair, got {centre!r}")
    r = check_int(centre[0], "centre row", low=0, high=img.shape[0] - 1)
    c = check_int(centre[1], "centre col", low=0, high=img.shape[1] - 1)
    yy, xx = np.ogrid[: img.shape[0], : img.shape[1]]
    disk = (yy - r) ** 2 + (xx - c) ** 2 <= (diameter / 2.0) ** 2
    out = img.copy()
    out[disk] = np.maximum(out[disk], value)
    return out


def nodule_erasure(image: Any, diameter: float, max_depth: int = 5, *, centre: tuple[int, int],
                   value: float = 0.9) -> dict:
    """When does repeated 2x2 pooling erase a small nodule? (03 §2)

    A disk of ``diameter`` pixels (0.5..64) and grey value ``value`` is inserted into ``image`` at ``centre``
    (:func:`insert_nodule`). After ``depth`` rounds (0..``max_depth``, at most 7) of 2x2/stride-2 pooling the
    *retained contrast* is the largest change the nodule makes to the pooled map divided by the change it
    made to the original image. Returns ``{"depths", "retained": {"max": [...], "avg": [...]},
    "with_nodule", "without", "diameter", "centre"}``.

    >>> img = np.zeros((64, 64)); r = nodule_erasure(img, 2.0, 2, centre=(32, 32))
    >>> [round(v, 3) for v in r["retained"]["avg"]], r["retained"]["max"]
    ([1.0, 0.75, 0.188], [1.0, 1.0, 1.0])
    """
    from ._validate import check_int

    max_depth = check_int(max_depth, "max_depth", low=0, high=7, why_high="2**7 = 128-pixel pooled pixels")
    with_n = insert_nodule(image, diameter, centre, value)
    img = _float_image(np.asarray(image))
    if min(img.shape) < 2 ** max_depth:
        raise ValueError(f"image {img.shape} is too small for {max_depth} rounds of 2x2 pooling "
                         f"(needs at least {2 ** max_depth} pixels per side)")
    base = float(np.abs(with_n - img).max())
    retained: dict[str, list[float]] = {"max": [], "avg": []}
    for mode in ("max", "avg"):
        a, b = with_n, img
        for depth in range(max_depth + 1):
            if depth:
                a, b = pool2d(a, 2, mode=mode), pool2d(b, 2, mode=mode)
            retained[mode].append(float(np.abs(a - b).max()) / base if base > 0 else 0.0)
    return {"depths": list(range(max_depth + 1)), "retained": retained, "with_nodule": with_n, "without": img,
            "diameter": float(diameter), "centre": (int(centre[0]), int(centre[1]))}


# --------------------------------------------------------------------------- conv2d backward (06 §3)
def conv2d_backward(x: Any, w: Any, dy: Any, stride: Any = 1, padding: Padding = "valid",
                    dilation: Any = 1) -> tuple[np.ndarray, np.ndarray]:
    r"""Backward pass of :func:`conv2d`: the gradients ``(dL/dw, dL/dx)`` given ``dy = dL/dy``.

    With :math:`y_{n,i,j,o} = \sum_{m,q,c} \tilde x_{n,\,i s_h + m d_h,\,j s_w + q d_w,\,c}\, w_{m,q,c,o}`
    (:math:`\tilde x` = the padded input) the chain rule gives

    * :math:`\partial L/\partial w_{m,q,c,o} = \sum_{n,i,j} \tilde x_{n,\,i s_h + m d_h,\,j s_w + q d_w,\,c}\,
      dy_{n,i,j,o}` -- each kernel tap correlates its shifted input with ``dy``;
    * :math:`\partial L/\partial \tilde x` scatters ``dy @ w[m, q].T`` back to every position the tap read
      (a transposed convolution); cropping the padding gives :math:`\partial L/\partial x`.

    Same layouts and arguments as :func:`conv2d` (stride, padding incl. ``"same"``, dilation); ``dy`` has the
    shape of ``conv2d(x, w, ...)``. Returns ``dw`` shaped like ``w`` and ``dx`` shaped like ``x``. The bias
    gradient is simply ``dy`` summed over all but the channel axis. Checked against ``tf.GradientTape`` and
    finite differences (tests/test_ops_backward.py). Used in 06 §3.

    >>> x = np.arange(16.0).reshape(4, 4); w = np.ones((3, 3))
    >>> dw, dx = conv2d_backward(x, w, np.ones((2, 2)))
    >>> dw.tolist()[0], dx.tolist()[0]
    ([10.0, 14.0, 18.0], [1.0, 2.0, 2.0, 1.0])
    """
    x4, w4, (sh, sw), (dh, dw_), (oh, ow), x_ndim, w_ndim, pads = _prepare_conv(x, w, stride, padding, dilation)
    n, hp, wp, c_in = x4.shape
    kh, kw, _, c_out = w4.shape
    g = _as_float_array(dy, "dy")
    if x_ndim == 2 and w_ndim == 2:
        want = (oh, ow)
    elif x_ndim in (2, 3):
        want = (oh, ow, c_out)
    else:
        want = (n, oh, ow, c_out)
    if g.shape != want:
        raise ValueError(f"dy must have the shape of conv2d's output {want}, got {g.shape}")
    dtype = _float_dtype(x4, w4, g)
    g4 = g.reshape(n, oh, ow, c_out).astype(dtype, copy=False)
    x4 = x4.astype(dtype, copy=False)
    w4 = w4.astype(dtype, copy=False)
    gw = np.zeros((kh, kw, c_in, c_out), dtype=dtype)
    gxp = np.zeros((n, hp, wp, c_in), dtype=dtype)
    single = c_in == 1 and c_out == 1
    for m in range(kh):
        for q in range(kw):
            r0, c0 = m * dh, q * dw_
            rows = slice(r0, r0 + (oh - 1) * sh + 1, sh)
            cols = slice(c0, c0 + (ow - 1) * sw + 1, sw)
            tap = x4[:, rows, cols, :]
            if single:       # one channel: a dot product and a scaled add (fast whole-array operations)
                gw[m, q, 0, 0] = np.sum(tap * g4)
                gxp[:, rows, cols, :] += w4[m, q, 0, 0] * g4
            else:
                gw[m, q] = np.tensordot(tap, g4, axes=([0, 1, 2], [0, 1, 2]))
                gxp[:, rows, cols, :] += g4 @ w4[m, q].T
    (top, _), (left, _) = pads
    h, wd = hp - sum(pads[0]), wp - sum(pads[1])
    gx = gxp[:, top: top + h, left: left + wd, :]
    if x_ndim == 2:
        gx = gx[0, :, :, 0]
    elif x_ndim == 3:
        gx = gx[0]
    if w_ndim == 2:
        gw = gw[:, :, 0, 0]
    return gw, gx
