"""Widgets of notebook 02 (convolution), each a pure frame function plus control specs for ``explorer()``.

* :func:`param_count_explorer` (02 §1) -- dense vs conv parameters (:func:`param_count_compute`);
* :func:`conv_stepper` (02 §2) -- a 3x3 kernel over an 8x8 CT patch, one output pixel per step
  (:func:`conv_step`, :func:`render_conv_step`);
* :func:`flip_explorer` (02 §3) -- correlation vs true convolution (:func:`flip_compute`);
* :func:`output_size_explorer` (02 §4) -- n, k, p, s, d and where the windows land (:func:`output_size_compute`);
* :func:`kernel_explorer` (02 §5) -- a preset or hand-edited 3x3 kernel, ``ops.conv2d`` next to ``tf.nn.conv2d``
  (:func:`kernel_explorer_compute`);
* :func:`channel_mix_explorer` (02 §6) -- a 1x1 conv of three CT windows (:func:`channel_mix_compute`);
* :func:`im2col_explorer` (02 §7) -- the im2col matrix (:func:`im2col_compute`);
* :func:`speed_explorer` (02 §8) -- measured timings behind a button (:func:`speed_compute`).

Compute functions return the one result contract (``ok``, plain-text ``message``, ``warnings`` + data); an
invalid setting is flagged (``ok=False``), never raised. Data samples come from :mod:`medlab.samples`.

>>> r = conv_step(np.arange(16.0).reshape(4, 4), np.ones((3, 3)), step=3)
>>> r["ok"], r["out_shape"], r["i"], r["j"], r["explanation"].total, r["message"]
(True, (2, 2), 1, 1, 90.0, 'Output pixel (1, 1) — step 4 of 4')
"""
from __future__ import annotations

import os
import time
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw

from .. import ops
from ..i18n import t
from ..render import Chart, font, hstack, titled, to_rgb, to_uint8, zoom
from ..samples import CHANNEL_WINDOWS, ct_channels, lung_slice, stepper_patch
from ._explorer import Button, Choice, Float, Frame, Int, esc, explorer, register, result

__all__ = [
    "param_count_compute", "param_count_explorer",
    "conv_step", "render_conv_step", "conv_stepper",
    "FLIP_CROP", "FLIP_KERNELS", "flip_compute", "render_flip", "flip_explorer",
    "output_size_compute", "render_output_size", "output_size_explorer",
    "kernel_explorer_compute", "render_kernel_explorer", "kernel_explorer",
    "channel_mix_compute", "render_channel_mix", "channel_mix_explorer",
    "im2col_compute", "render_im2col", "im2col_explorer",
    "NAIVE_MAX_MACS", "speed_compute", "speed_explorer",
]


# --------------------------------------------------------------------------- helpers

def _tf():
    """TensorFlow, imported on first use (seconds); the module import stays fast."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _image(source: Any) -> np.ndarray:
    from ..samples import teaching_image

    if isinstance(source, str):
        return teaching_image(source)
    img = np.asarray(source, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"image must be a 2-D array, got shape {img.shape}")
    return img


def _draw_grid(values: np.ndarray, cell: int, fill: np.ndarray, text_color: Sequence[tuple],
               outline: Sequence[tuple[int, int, tuple]] = (), fmt: str = "{:.2f}", font_size: int = 11) -> np.ndarray:
    """A grid of coloured cells with numbers (NaN: no number). ``fill`` (h, w, 3) uint8 cell colours."""
    h, w = values.shape
    img = zoom(fill, cell).copy()
    img[::cell, :] = 160
    img[:, ::cell] = 160
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    f = font(font_size)
    for r in range(h):
        for c in range(w):
            v = values[r, c]
            if not np.isnan(v):
                draw.text((c * cell + cell / 2, r * cell + cell / 2), fmt.format(v), fill=text_color[r * w + c],
                          font=f, anchor="mm")
    for r, c, color in outline:
        draw.rectangle([c * cell, r * cell, (c + 1) * cell - 1, (r + 1) * cell - 1], outline=color, width=3)
    return np.asarray(pil)


def _blank_grid(shape: tuple[int, int], cell: int, fill: np.ndarray, outline=()) -> np.ndarray:
    return _draw_grid(np.full(shape, np.nan), cell, fill, [(0, 0, 0)] * (shape[0] * shape[1]), outline=outline)


def _fill_from(values: np.ndarray, vmin: float, vmax: float) -> tuple[np.ndarray, list]:
    g = to_uint8(np.nan_to_num(values, nan=vmin), vmin, vmax)
    return to_rgb(g), [(0, 0, 0) if v > 110 else (255, 255, 255) for v in g.ravel()]


def _signed_fill(a: np.ndarray, strength: int) -> np.ndarray:
    """Signed values as cell colours: blue < 0 < red on white (``strength`` = how dark at +-max)."""
    m = max(float(np.abs(a).max()), 1e-9)
    red, blue = np.clip(a / m, 0, 1), np.clip(-a / m, 0, 1)
    return np.stack([255 - strength * blue, 255 - strength * (red + blue), 255 - strength * red], -1).astype(np.uint8)


def _display_range(kernel: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Signed kernels (sum 0, e.g. edges) are shown with zero as mid-grey; others on [0, sum]."""
    s = float(np.sum(kernel))
    if abs(s) < 1e-6:
        m = float(np.percentile(np.abs(y), 99.5)) or 1.0
        return -m, m
    return (0.0, s) if s > 0 else (s, 0.0)


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024.0
    return f"{n:,.1f} PB"  # pragma: no cover


def _code(text: str) -> str:
    return f"<code>{esc(text)}</code>"


# --------------------------------------------------------------------------- 02 §1 parameter counts

def param_count_compute(image_size: int = 256, kernel_size: int = 3, c_in: int = 1, c_out: int = 32,
                        units: int = 32) -> dict:
    """Parameters and float32 memory of a dense layer vs a conv layer on an ``image_size``² image.

    Three layers: ``Dense(units)`` on the flattened image (as in the notebook), a dense layer with the *same
    output* as the conv layer (``image_size² · c_out`` units: a feature map without weight sharing) and
    ``Conv2D(c_out, kernel_size)``. Result contract plus ``names``, ``params`` (list of int), ``bytes``.

    >>> r = param_count_compute(256, 3, 1, 32, 32); r["params"]
    [2097184, 137441050624, 320]
    """
    for name, v in (("image_size", image_size), ("kernel_size", kernel_size), ("c_in", c_in), ("c_out", c_out),
                    ("units", units)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            return result(False, f"Invalid layer: {name} must be a positive int, got {v!r}", params=None)
    if kernel_size > image_size:
        return result(False, f"Invalid layer: kernel_size {kernel_size} is larger than the image ({image_size} px): "
                             "no valid position", params=None)
    n_in = image_size * image_size * c_in
    params = [ops.dense_params(n_in, units), ops.dense_params(n_in, image_size * image_size * c_out),
              ops.conv_params(kernel_size, kernel_size, c_in, c_out)]
    nbytes = [4 * p for p in params]
    names = [f"Dense({units})", f"Dense, same output ({image_size}²·{c_out} units)",
             f"Conv2D({c_out}, {kernel_size}×{kernel_size})"]
    msg = t("input {0}×{0}×{1} = {2:,} numbers · Dense({3}): {4:,} parameters ({5}) · dense with the conv's "
            "output: {6:,} ({7}) · Conv2D: {8:,} ({9}) = {10}·{10}·{1}·{11} + {11}, whatever the image size").format(
        image_size, c_in, n_in, units, params[0], _fmt_bytes(nbytes[0]), params[1], _fmt_bytes(nbytes[1]),
        params[2], _fmt_bytes(nbytes[2]), kernel_size, c_out)
    return result(True, msg, names=names, params=params, bytes=nbytes)


@register(demo=dict)
def param_count_explorer(width: int = 560) -> Any:
    """Image size, kernel size and channels → a log-scale bar chart of the parameters of a dense and a conv
    layer. Used in 02 §1."""
    chart = Chart(figsize=(7, 3.4), dpi=80)
    chart.fig.subplots_adjust(left=0.11, right=0.98, bottom=0.2, top=0.9)
    ax = chart.fig.add_subplot()
    ax.set_yscale("log")
    ax.set(ylim=(1, 1e19), ylabel=t("parameters (log scale)"), title=t("parameters of one layer (float32: ×4 bytes)"))
    bars = ax.bar([0, 1, 2], [1, 1, 1], color=["#d95f02", "#7570b3", "#1b9e77"])
    ax.set_xticks([0, 1, 2], ["Dense(U)", "Dense, conv-sized output", "Conv2D"])
    for ref, label in ((1e9, "1 billion"), (2e12 / 4, "2 TB of float32")):
        ax.axhline(ref, color="grey", ls=":", lw=1)
        ax.text(2.45, ref * 1.5, label, ha="right", fontsize=8, color="grey")
    texts = [ax.text(x, 1, "", ha="center", va="bottom", fontsize=9) for x in range(3)]
    chart.animate(*bars, *texts)

    def frame(size: int, kernel: int, c_in: int, c_out: int, units: int) -> Frame:
        r = param_count_compute(size, kernel, c_in, c_out, units)
        if not r["ok"]:
            return Frame(warning=r["message"])
        for bar, txt, p, b in zip(bars, texts, r["params"], r["bytes"]):
            bar.set_height(max(p, 1))
            txt.set_position((bar.get_x() + bar.get_width() / 2, max(p, 1) * 1.3))
            txt.set_text(f"{p:.3g}\n{_fmt_bytes(b)}")
        return Frame(image=chart.png(), readout=esc(r["message"]))

    return explorer(frame, {"size": Int("Image size", 16, 1024, value=256, step=16),
                            "kernel": Int("Kernel size", 1, 11, value=3, step=2),
                            "c_in": Int("Channels in", 1, 64, value=1),
                            "c_out": Int("Filters out", 1, 256, value=32),
                            "units": Int("Dense units", 1, 256, value=32)}, width=width)


# --------------------------------------------------------------------------- 02 §2 conv stepper

def conv_step(patch: Any, kernel: Any, step: int = 0, stride: int = 1, padding: int = 0,
              dilation: int = 1) -> dict:
    """One step of a single-channel convolution on a small patch (pure compute of the stepper).

    ``step`` is the 0-based index of the output pixel in row-major order (clipped to the last one); the
    message counts from 1 ("step 1 of 36" is output pixel (0, 0)). Result contract plus ``formula``,
    ``out_shape``, ``n_steps``, ``step``, ``i``, ``j``, ``explanation`` (a :class:`medlab.ops.StepExplanation`),
    ``output`` (NaN where not yet computed), ``padding``, ``stride``, ``dilation``. An invalid configuration
    gives ``ok=False`` and a message naming the rule broken.
    """
    x = np.asarray(patch, dtype=np.float64)
    w = np.asarray(kernel, dtype=np.float64)
    n, k = x.shape[0], w.shape[0]
    k_eff = dilation * (k - 1) + 1
    formula = t("out = ⌊(n + 2p − k_eff) / s⌋ + 1 with k_eff = d·(k − 1) + 1 = {0}·({1} − 1) + 1 = "
                "{2}: ⌊({3} + 2·{4} − {2}) / {5}⌋ + 1").format(dilation, k, k_eff, n, padding, stride)
    base = dict(formula=formula, out_shape=None, n_steps=0, step=0, i=None, j=None, explanation=None, output=None,
                padding=padding, stride=stride, dilation=dilation)
    try:
        out_h = ops.output_size(x.shape[0], w.shape[0], padding, stride, dilation)
        out_w = ops.output_size(x.shape[1], w.shape[1], padding, stride, dilation)
        full = ops.conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    except (ValueError, TypeError) as exc:
        valid_stride = isinstance(stride, int) and stride > 0
        value = f"{(n + 2 * padding - k_eff) / stride + 1:.3g}" if valid_stride else t("undefined")
        base["formula"] = formula + f" = {value} " + t("→ no valid position")
        return result(False, f"Invalid configuration: {exc}", **base)
    n_steps = out_h * out_w
    step = int(min(max(int(step), 0), n_steps - 1))
    i, j = divmod(step, out_w)
    output = np.full((out_h, out_w), np.nan)
    output.ravel()[: step + 1] = full.ravel()[: step + 1]
    base.update(formula=formula + f" = {out_h}", out_shape=(out_h, out_w), n_steps=n_steps, step=step, i=i, j=j,
                explanation=ops.explain_step(x, w, i, j, stride=stride, padding=padding, dilation=dilation),
                output=output)
    return result(True, f"Output pixel ({i}, {j}) — step {step + 1} of {n_steps}", **base)


def render_conv_step(patch: Any, res: dict, kernel: Any, cell: int = 40) -> np.ndarray:
    """The stepper: padded input with the kernel taps outlined | kernel and products | output filling in.

    RGB uint8. Padding cells are tinted blue; an invalid ``res`` shows the padded input alone.
    """
    x = np.asarray(patch, dtype=np.float64)
    p = int(res["padding"]) if isinstance(res["padding"], (int, np.integer)) else 0
    xp = np.pad(x, p)
    fill, text = _fill_from(xp, 0.0, 1.0)
    if p:
        pad_mask = np.ones(xp.shape, bool)
        pad_mask[p:-p, p:-p] = False
        fill[pad_mask] = (200, 220, 255)
        text = [(60, 60, 160) if m else t for m, t in zip(pad_mask.ravel(), text)]
    if not res["ok"]:
        return _draw_grid(xp, cell, fill, text)
    e = res["explanation"]
    left = _draw_grid(xp, cell, fill, text, outline=[(int(r) + p, int(c) + p, (255, 200, 0)) for r in e.rows
                                                     for c in e.cols])
    k = np.asarray(kernel, dtype=np.float64)
    middle = _draw_grid(e.products, cell, _signed_fill(e.products, 120), [(0, 0, 0)] * e.products.size,
                        fmt="{:+.2f}")
    kern = _draw_grid(k, cell // 2 + 8, np.full(k.shape + (3,), 235, np.uint8), [(0, 0, 0)] * k.size, fmt="{:g}",
                      font_size=10)
    out = res["output"]
    finite = out[np.isfinite(out)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    of, ot = _fill_from(out, lo, hi if hi > lo else lo + 1)
    of[np.isnan(out)] = (40, 40, 90)
    right = _draw_grid(out, cell, of, ot, outline=[(e.i, e.j, (255, 60, 60))])
    if kern.shape[1] < middle.shape[1]:
        kern = np.pad(kern, ((0, 0), (0, middle.shape[1] - kern.shape[1]), (0, 0)), constant_values=255)
    mid_col = np.concatenate([kern, np.full((12, middle.shape[1], 3), 255, np.uint8), middle], axis=0)
    return hstack([left, mid_col, right], gap=16)


@register(demo=dict)
def conv_stepper(patch: Any = None, kernel: str = "sobel_y", width: int = 900) -> Any:
    """Step a kernel over an 8x8 patch of the lung CT (lung window): taps, products, sum, output filling in.

    Step (1 .. number of output pixels; the readout says "step k of n" for the same k) and a Next button
    (wraps around), kernel preset, padding, stride, dilation. Invalid configurations are flagged. Used in 02 §2.
    """
    x = stepper_patch() if patch is None else np.asarray(patch, dtype=np.float64)
    if x.ndim != 2 or min(x.shape) < 1 or max(x.shape) > 32:
        raise ValueError(f"patch must be a 2-D array of at most 32x32 numbers (one cell each), got shape {x.shape}")
    if kernel not in ops.KERNELS:
        raise ValueError(f"kernel must be one of {sorted(ops.KERNELS)}, got {kernel!r}")

    def n_steps(kernel: str, padding: int, stride: int, dilation: int) -> int:
        k = ops.KERNELS[kernel]
        try:
            return (ops.output_size(x.shape[0], k.shape[0], padding, stride, dilation)
                    * ops.output_size(x.shape[1], k.shape[1], padding, stride, dilation))
        except ValueError:
            return 0

    def frame(kernel: str, step: int, next: bool, padding: int, stride: int, dilation: int) -> Frame:
        n = n_steps(kernel, padding, stride, dilation)
        if next and n:
            return Frame(values={"step": step + 1 if step < n else 1})  # drawn by the call this triggers
        k = ops.KERNELS[kernel]
        r = conv_step(x, k, step - 1, stride, padding, dilation)
        img = render_conv_step(x, r, k)
        if not r["ok"]:
            return Frame(image=img, warning=r["message"], readout=_code(r["formula"]))
        e = r["explanation"]
        terms = " + ".join(f"({wv:g})·{xv:.2f}" for wv, xv in zip(e.kernel.ravel(), e.patch.ravel()))
        return Frame(image=img, readout=(f"<b>{esc(t(r['message']))}</b><br>{_code(r['formula'])}<br>"
                                         f"<code>y[{e.i},{e.j}] = {esc(terms)} = <b>{e.total:.4f}</b></code>"))

    controls = {"kernel": Choice("Kernel", list(ops.KERNELS), value=kernel),
                "step": Int("Step", 1, max(n_steps(kernel, 0, 1, 1), 1)),
                "next": Button("Next ▶"),
                "padding": Int("Padding", 0, 2), "stride": Int("Stride", 1, 3), "dilation": Int("Dilation", 1, 4)}
    return explorer(frame, controls, layout="column", width=width,
                    limits=lambda kernel, padding, stride, dilation, **_:
                    {"step": {"max": max(n_steps(kernel, padding, stride, dilation), 1)}})


# --------------------------------------------------------------------------- 02 §3 correlation vs convolution

#: Crop of the CT slice shown by the flip explorer (row, col, size): the tumour and the lung around it.
FLIP_CROP = (200, 110, 160)
FLIP_KERNELS = ("off-centre 1", "sobel_x", "sobel_y", "emboss", "gaussian")


def flip_compute(image: Any, kernel: Any, crop: tuple[int, int, int] = FLIP_CROP) -> dict:
    """Cross-correlation and true convolution ("same" size) of a crop of ``image`` with ``kernel``.

    Result contract plus ``x``, ``corr``, ``conv``, ``kernel``, ``flipped``, ``diff_corr_conv``, ``diff_flip``
    (conv vs correlation with the 180°-rotated kernel, ~0), ``diff_scipy`` (vs ``scipy.signal.convolve``,
    ~0), ``symmetric``, ``antisymmetric``.
    """
    import scipy.signal

    img = _image(image)
    r0, c0, n = crop
    x = np.asarray(img[r0: r0 + n, c0: c0 + n], dtype=np.float64)
    try:
        k = np.asarray(kernel, dtype=np.float64)
        if k.ndim != 2 or k.size == 0:
            raise ValueError(f"kernel must be a non-empty 2-D array, got shape {k.shape}")
        if not np.all(np.isfinite(k)):
            raise ValueError("kernel must contain only finite numbers")
        if k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]:
            raise ValueError(f"kernel {k.shape} is larger than the {x.shape} crop")
        corr = ops.correlate2d(x, k, "same")
        conv = ops.convolve2d_true(x, k, "same")
    except (ValueError, TypeError) as exc:
        return result(False, f"Invalid kernel: {exc}", x=x)
    flipped = k[::-1, ::-1]
    d_cc = float(np.abs(corr - conv).max())
    d_flip = float(np.abs(conv - ops.correlate2d(x, flipped, "same")).max())
    # scipy.signal.convolve picks direct or FFT convolution by cost (FFT for the 25x25 kernel: ~1 ms, not ~30)
    d_scipy = float(np.abs(conv - scipy.signal.convolve(x, k, "same")).max())
    sym, anti = bool(np.allclose(flipped, k)), bool(np.allclose(flipped, -k))
    kind = t("symmetric under the flip: convolution = correlation" if sym else
             "antisymmetric: convolution = −correlation" if anti else
             "neither symmetric nor antisymmetric: the two outputs differ")
    msg = t("kernel {0}×{1}, {2} · max |conv − corr| = {3:.3g} · max |conv − corr(flipped kernel)| = {4:.1e} · "
            "max |conv − scipy.signal.convolve| = {5:.1e}").format(k.shape[0], k.shape[1], kind, d_cc, d_flip, d_scipy)
    return result(True, msg, x=x, corr=corr, conv=conv, kernel=k, flipped=flipped, diff_corr_conv=d_cc,
                  diff_flip=d_flip, diff_scipy=d_scipy, symmetric=sym, antisymmetric=anti)


def _kernel_tile(k: np.ndarray, size: int) -> np.ndarray:
    """A small kernel drawn as a grid (signed: blue < 0 < red), with numbers when it is small enough."""
    fill = _signed_fill(k, 150)
    cell = max(size // max(k.shape), 4)
    if max(k.shape) <= 5:
        return _draw_grid(k, cell, fill, [(0, 0, 0)] * k.size, fmt="{:g}", font_size=max(10, cell // 3))
    img = zoom(fill, cell).copy()
    img[::cell, :] = 160
    img[:, ::cell] = 160
    return img


def render_flip(res: dict, factor: int = 2, tile: int = 150) -> np.ndarray:
    """kernel / flipped kernel tiles | input crop | correlation | convolution (RGB, zoomed, titled)."""
    panels = [to_rgb(res["x"], 0.0, 1.0)]
    if res["ok"]:
        lo, hi = _display_range(res["kernel"], res["corr"])
        panels += [to_rgb(res["corr"], lo, hi), to_rgb(res["conv"], lo, hi)]
    panels = [zoom(p, factor) for p in panels]
    if res["ok"]:
        tiles = [_kernel_tile(res["kernel"], tile), _kernel_tile(res["flipped"], tile)]
        col = np.full((panels[0].shape[0], tiles[0].shape[1], 3), 255, np.uint8)
        col[: tiles[0].shape[0]] = tiles[0]
        y = min(tiles[0].shape[0] + 20, col.shape[0] - tiles[1].shape[0])
        col[y: y + tiles[1].shape[0]] = tiles[1]
        panels = [col] + panels
    names = (["kernel / flipped"] if res["ok"] else []) + ["CT crop", "correlation (CNN)", "true convolution"]
    return hstack([titled(p, t) for p, t in zip(panels, names)], gap=10)


@register(demo=dict)
def flip_explorer(kernel: str = "off-centre 1", width: int = 940) -> Any:
    """Correlation (what CNNs compute) vs true convolution on a real CT crop, for an asymmetric kernel.
    The offset applies to the "off-centre 1" kernel. Used in 02 §3."""
    def frame(kernel: str, offset: int) -> Frame:
        r = flip_compute(lung_slice(), ops.flip_kernel(kernel, offset))
        legend = ("<small>" + t("left: the kernel w (top) and the flipped kernel w[::-1, ::-1] (below); red &gt; 0, "
                                "blue &lt; 0") + ("" if kernel == "off-centre 1" else t("; the offset slider applies "
                                                                                      "to the off-centre kernel only"))
                  + "</small>")
        if not r["ok"]:
            return Frame(image=render_flip(r), warning=r["message"], readout=legend)
        return Frame(image=render_flip(r), readout=_code(r["message"]) + "<br>" + legend)

    return explorer(frame, {"kernel": Choice("Kernel", list(FLIP_KERNELS), value=kernel),
                            "offset": Int("Offset (px)", 1, 12, value=6)}, layout="column", width=width)


# --------------------------------------------------------------------------- 02 §4 output size

def output_size_compute(n: int = 7, k: int = 3, padding: int = 0, stride: int = 1, dilation: int = 1) -> dict:
    """Where the kernel windows land on an ``n``-pixel axis (and, by symmetry, on an n×n image).

    Result contract plus ``formula``, ``n_out``, ``starts`` (window start positions in the padded input),
    ``taps`` (tap offsets d·m), ``k_eff``, ``covered`` (bool per padded position: read by some window),
    ``unused`` (input pixels per axis never read because of the stride). Invalid settings (kernel larger
    than the padded input, stride 0, ...) give ``ok=False`` with the rule broken.

    >>> r = output_size_compute(7, 3, 0, 2); r["n_out"], r["starts"]
    (3, [0, 2, 4])
    """
    k_eff = dilation * (k - 1) + 1 if all(isinstance(v, (int, np.integer)) for v in (k, dilation)) else None
    formula = (f"n_out = ⌊(n + 2p − d(k−1) − 1) / s⌋ + 1 = "
               f"⌊({n} + 2·{padding} − {dilation}·({k}−1) − 1) / {stride}⌋ + 1")
    base = dict(formula=formula, n_out=None, starts=[], taps=[], k_eff=k_eff, covered=None, unused=0, n=n,
                padding=padding)
    try:
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"padding must be a non-negative int, got {padding!r}")
        n_out = ops.output_size(n, k, padding, stride, dilation)
    except (ValueError, TypeError) as exc:
        ok_num = all(isinstance(v, (int, np.integer)) for v in (n, k, padding, stride, dilation)) and stride > 0
        if ok_num:
            base["formula"] = formula + f" = {(n + 2 * padding - k_eff) / stride + 1:.3g} " + t("→ no valid position")
        return result(False, f"Invalid configuration: {exc}", **base)
    starts = [i * stride for i in range(n_out)]
    taps = [m * dilation for m in range(k)]
    covered = np.zeros(n + 2 * padding, bool)
    for s0 in starts:
        covered[[s0 + t for t in taps]] = True
    unused = int((~covered[padding: padding + n]).sum())
    rest = (n + 2 * padding - k_eff) % stride
    msg = (t("{0}×{0} output · the kernel spans k_eff = {1}·({2}−1)+1 = {3} pixels · ").format(n_out, dilation, k, k_eff)
           + (t("the last window ends exactly at the border") if rest == 0 else
              t("the floor drops {0} pixel(s) at the end: no window fits there").format(rest))
           + (t(" · {0} input pixel(s) per axis are never read (stride/dilation gaps)").format(unused) if unused else ""))
    base.update(formula=formula + f" = {n_out}", n_out=n_out, starts=starts, taps=taps, covered=covered,
                unused=unused)
    return result(True, msg, **base)


def render_output_size(res: dict, window: int = 0, cell: int = 32) -> np.ndarray:
    """Padded input grid (padding blue, pixels never read red) with window ``window``'s taps in yellow and
    every window's top-left tap as a dot; the output grid with the matching pixel in red."""
    n, p = res["n"], res["padding"] if isinstance(res["padding"], (int, np.integer)) else 0
    n = n if isinstance(n, (int, np.integer)) and 0 < n <= 64 else 8
    m = n + 2 * p
    fill = np.full((m, m, 3), 235, np.uint8)
    if p:
        pad = np.ones((m, m), bool)
        pad[p:-p, p:-p] = False
        fill[pad] = (200, 220, 255)
    if not res["ok"]:
        return _blank_grid((m, m), cell, fill)
    cov = res["covered"]
    inner = np.zeros((m, m), bool)
    inner[p: p + n, p: p + n] = True
    fill[~(cov[:, None] & cov[None, :]) & inner] = (255, 205, 205)
    n_out = res["n_out"]
    i, j = divmod(int(min(max(window, 0), n_out * n_out - 1)), n_out)
    s = res["starts"]
    grid = _blank_grid((m, m), cell, fill, outline=[(s[i] + a, s[j] + b, (230, 160, 0)) for a in res["taps"]
                                                    for b in res["taps"]]).copy()
    for r in s:
        for c in s:
            cy, cx = r * cell + cell // 2, c * cell + cell // 2
            grid[cy - 2: cy + 3, cx - 2: cx + 3] = (40, 90, 220)
    ofill = np.full((n_out, n_out, 3), 200, np.uint8)
    ofill[i, j] = (255, 120, 120)
    return hstack([grid, _blank_grid((n_out, n_out), cell, ofill, outline=[(i, j, (200, 0, 0))])], gap=24)


@register(demo=dict)
def output_size_explorer(width: int = 760) -> Any:
    """n, k, padding, stride, dilation: the output-size formula evaluated live, the input grid with every
    window position and the output grid. Invalid configurations are flagged. Used in 02 §4."""
    legend = ("<small>" + t("left: padded input (blue = zero padding, red = pixels no window reads), yellow = the "
                            "taps of the selected window, blue dots = where every window starts; right: the output "
                            "grid, red = the pixel that window computes") + "</small>")

    def n_windows(n: int, k: int, padding: int, stride: int, dilation: int, **_: Any) -> int:
        try:
            return ops.output_size(n, k, padding, stride, dilation) ** 2
        except ValueError:
            return 0

    def frame(n: int, k: int, padding: int, stride: int, dilation: int, window: int) -> Frame:
        r = output_size_compute(n, k, padding, stride, dilation)
        img = render_output_size(r, window)
        if not r["ok"]:
            return Frame(image=img, warning=r["message"], readout=_code(r["formula"]) + "<br>" + legend)
        return Frame(image=img, readout=f"{_code(r['formula'])}<br>{esc(r['message'])}<br>{legend}")

    controls = {"n": Int("Input n", 1, 16, value=7), "k": Int("Kernel k", 1, 7, value=3),
                "padding": Int("Padding p", 0, 3), "stride": Int("Stride s", 1, 4, value=2),
                "dilation": Int("Dilation d", 1, 4), "window": Int("Window", 0, n_windows(7, 3, 0, 2, 1) - 1)}
    return explorer(frame, controls, layout="column",
                    limits=lambda **v: {"window": {"max": max(n_windows(**v) - 1, 0)}})


# --------------------------------------------------------------------------- 02 §5 kernel explorer

_TF_WARM: set = set()


def _tf_conv_same(img: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, float]:
    """``tf.nn.conv2d(..., "SAME")`` and the milliseconds of one *warm* call: TensorFlow builds its kernels on
    the first call for a shape (~200 ms against ~3 ms warm), so that call is made once, untimed."""
    tf = _tf()
    x4, k4 = img[None, :, :, None], k[:, :, None, None]
    key = (x4.shape, k4.shape, str(x4.dtype))
    if key not in _TF_WARM:
        tf.nn.conv2d(x4, k4, 1, "SAME").numpy()
        _TF_WARM.add(key)
    t0 = time.perf_counter()
    ref = tf.nn.conv2d(x4, k4, 1, "SAME").numpy()[0, :, :, 0]
    return ref, (time.perf_counter() - t0) * 1e3


def kernel_explorer_compute(image: Any, kernel: Any) -> dict:
    """Convolve ``image`` (2-D, [0, 1]; or "lung CT" / "chest X-ray") with ``kernel`` using ``ops.conv2d`` and
    ``tf.nn.conv2d`` ("same"), each timed warm. Result contract plus ``ours``, ``tf``, ``max_abs_diff``,
    ``ms_ours``, ``ms_tf``; bad kernels (non-finite, even or wrong shape) give ``ok=False``."""
    img = _image(image)
    try:
        k = np.asarray(kernel, dtype=np.float32)
        if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
            raise ValueError(f"kernel must be 2-D with odd sides, got shape {k.shape}")
        t0 = time.perf_counter()
        ours = ops.conv2d(img, k, padding="same")
        ms_ours = (time.perf_counter() - t0) * 1e3
    except (ValueError, TypeError) as exc:
        return result(False, f"Invalid kernel: {exc}", ours=None, tf=None, max_abs_diff=None, ms_ours=None,
                      ms_tf=None)
    ref, ms_tf = _tf_conv_same(img, k)
    diff = float(np.abs(ours - ref).max())
    return result(True, t("max |ours − tf.nn.conv2d| = {0:.2e} · medlab.ops.conv2d {1:.1f} ms · "
                          "tf.nn.conv2d {2:.1f} ms (warm)").format(diff, ms_ours, ms_tf),
                  ours=ours, tf=ref, max_abs_diff=diff, ms_ours=ms_ours, ms_tf=ms_tf)


def render_kernel_explorer(image: Any, res: dict, kernel: Any, gap: int = 8) -> np.ndarray:
    """Side by side: input | medlab.ops.conv2d | tf.nn.conv2d, grey uint8 (H, 3W + 2 gaps): grey keeps the
    PNG small (encoding is the slowest part of an update)."""
    img = _image(image)
    panels = [to_uint8(img, 0.0, 1.0)]
    if res["ok"]:
        lo, hi = _display_range(np.asarray(kernel, np.float64), res["ours"])
        panels += [to_uint8(res["ours"], lo, hi), to_uint8(res["tf"], lo, hi)]
    spacer = np.full((img.shape[0], gap), 255, np.uint8)
    out = [panels[0]]
    for p in panels[1:]:
        out += [spacer, p]
    return np.concatenate(out, axis=1)


_CELLS = [f"w{r}{c}" for r in range(3) for c in range(3)]


@register(demo=dict)
def kernel_explorer(image: str = "lung CT", kernel: str = "sobel_y", width: int = 1000) -> Any:
    """Pick a preset or edit the 3x3 kernel cell by cell (w[row, col] sliders; Gain scales the kernel): our
    conv2d and tf.nn.conv2d side by side, both timed warm. ``image``: "lung CT" (slice 14, lung window) or
    "chest X-ray". Used in 02 §5."""
    if kernel not in ops.KERNELS:
        raise ValueError(f"kernel must be one of {sorted(ops.KERNELS)}, got {kernel!r}")
    titles = ("<div style='display:flex;justify-content:space-around;width:%dpx'><b>%s</b><b>medlab.ops.conv2d"
              "</b><b>tf.nn.conv2d</b></div>" % (width, esc(t("input"))))

    def preset(name: str) -> dict:
        return {c: round(float(v), 4) for c, v in zip(_CELLS, ops.KERNELS[name].ravel())}

    def frame(image: str, preset: Any, gain: float, **cells: float) -> Frame:
        k = gain * np.array([cells[c] for c in _CELLS], dtype=np.float64).reshape(3, 3)
        r = kernel_explorer_compute(image, k)
        if not r["ok"]:
            return Frame(warning=r["message"])
        return Frame(image=render_kernel_explorer(image, r, k), readout=_code(r["message"]) + titles)

    controls: dict = {"image": Choice("Image", ["lung CT", "chest X-ray"], value=image),
                      "preset": Choice("Preset", list(ops.KERNELS), value=kernel, sets=preset, release=True),
                      "gain": Float("Gain", -2.0, 2.0, value=1.0, step=0.25)}
    start = preset(kernel)
    controls.update({c: Float(f"w[{c[1]}, {c[2]}]", -8.0, 8.0, value=start[c], step=0.0625, format=".4g")
                     for c in _CELLS})
    return explorer(frame, controls, width=width)


# --------------------------------------------------------------------------- 02 §6 1x1 convolution

def channel_mix_compute(x3: Any, weights: Sequence[float], bias: float = 0.0) -> dict:
    """A 1×1 convolution with 3 input channels and 1 filter: ``y = b + Σ_c w_c x_c`` at every pixel, with
    ``ops.conv2d``, checked against ``tf.nn.conv2d``. Result contract plus ``y``, ``max_abs_diff`` and
    ``lo``/``hi`` (the range y can take for inputs in [0, 1], used to display it); bad weights are flagged."""
    x = np.asarray(x3, dtype=np.float32)
    try:
        if x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"x3 must be (H, W, 3), got shape {x.shape}")
        wv = np.asarray(weights, dtype=np.float32).ravel()
        if wv.shape != (3,) or not np.all(np.isfinite(wv)) or not np.isfinite(bias):
            raise ValueError(f"weights must be 3 finite numbers and bias finite, got {list(weights)!r}, {bias!r}")
    except (ValueError, TypeError) as exc:
        return result(False, f"Invalid 1×1 filter: {exc}", y=None)
    w4 = wv.reshape(1, 1, 3, 1)
    y = ops.conv2d(x, w4, np.array([bias], np.float32))[..., 0]
    ref = _tf().nn.conv2d(x[None], w4, 1, "VALID").numpy()[0, :, :, 0] + np.float32(bias)
    diff = float(np.abs(y - ref).max())
    lo, hi = bias + float(np.minimum(wv, 0).sum()), bias + float(np.maximum(wv, 0).sum())
    terms = " ".join(f"{v:+.2f}·{t(n)}" for v, n in zip(wv, CHANNEL_WINDOWS))
    return result(True, t("y = {0:+.2f} {1} at every pixel · max |ops.conv2d − tf.nn.conv2d| = {2:.1e} · "
                          "shown on [{3:.2f}, {4:.2f}] (the range y can take)").format(bias, terms, diff, lo, hi),
                  y=y, max_abs_diff=diff, lo=lo, hi=hi)


def render_channel_mix(x3: np.ndarray, res: dict) -> np.ndarray:
    """The three channels (stacked, half size, cropped) | the 1×1 conv output (grey uint8)."""
    x = np.asarray(x3)
    small = [to_uint8(x[::2, ::2, c], 0.0, 1.0) for c in range(3)]
    h = x.shape[0]
    col = np.full((h, small[0].shape[1]), 255, np.uint8)
    th = (h - 2 * 4) // 3
    for c, s in enumerate(small):
        r0 = c * (th + 4)
        col[r0: r0 + th] = s[(s.shape[0] - th) // 2: (s.shape[0] - th) // 2 + th]
    if not res["ok"]:
        return col
    out = to_uint8(res["y"], res["lo"], res["hi"] if res["hi"] > res["lo"] else res["lo"] + 1)
    return np.concatenate([col, np.full((h, 10), 255, np.uint8), out], axis=1)


@register(demo=dict)
def channel_mix_explorer(width: int = 800) -> Any:
    """The CT slice as 3 channels (lung, mediastinum, bone windows) mixed by a 1×1 conv: three weights and a
    bias. Used in 02 §6."""
    x3 = ct_channels()
    titles = ("<b>" + t("left: the three channels (lung, mediastinum, bone window; top to bottom, cropped) · "
                        "right: the 1×1 conv output y") + "</b>")

    def frame(lung: float, mediastinum: float, bone: float, bias: float) -> Frame:
        r = channel_mix_compute(x3, [lung, mediastinum, bone], bias)
        if not r["ok"]:
            return Frame(warning=r["message"])
        return Frame(image=render_channel_mix(x3, r), readout=_code(r["message"]) + "<br>" + titles)

    controls = {n: Float(f"w {n}", -1.0, 1.0, value=v, step=0.05) for n, v in zip(CHANNEL_WINDOWS, (1.0, 0.0, 0.0))}
    controls["bias"] = Float("Bias", -1.0, 1.0, value=0.0, step=0.05)
    return explorer(frame, controls, width=width)


# --------------------------------------------------------------------------- 02 §7 im2col

def im2col_compute(patch: Any, kernel_size: int = 3, stride: int = 1, pixel: int = 0) -> dict:
    """The im2col matrix of a small patch and the row of output pixel number ``pixel`` (row-major).

    A box kernel of ones/k² stands in for the weights: row · vec(w) must equal ``ops.conv2d``. Result contract
    plus ``x``, ``cols``, ``out_shape``, ``row``, ``i``, ``j``, ``rows``/``cols_idx`` (the input rows/cols of the
    window), ``dot``, ``conv``; a kernel larger than the patch is flagged.
    """
    x = np.asarray(patch, dtype=np.float64)
    try:
        if x.ndim != 2:
            raise ValueError(f"patch must be a 2-D array, got shape {x.shape}")
        cols = ops.im2col(x, kernel_size, stride)
        out_h = ops.output_size(x.shape[0], kernel_size, 0, stride)
        out_w = ops.output_size(x.shape[1], kernel_size, 0, stride)
    except (ValueError, TypeError) as exc:
        return result(False, f"Invalid configuration: {exc}", cols=None, x=x)
    row = int(min(max(int(pixel), 0), cols.shape[0] - 1))
    i, j = divmod(row, out_w)
    w = np.full((kernel_size, kernel_size), 1.0 / kernel_size ** 2)
    dot = float(cols[row] @ w.ravel())
    conv = float(ops.conv2d(x, w, stride=stride)[i, j])
    k = kernel_size
    msg = t("X_col is {0}×{1} = ({2}·{3} output pixels) × ({4}·{4} taps) · row {5} ↔ output pixel ({6}, {7}), "
            "window rows {8}..{9}, cols {10}..{11} · with a {4}×{4} box kernel: row · vec(w) = {12:.4f}, "
            "conv2d[{6}, {7}] = {13:.4f}").format(cols.shape[0], cols.shape[1], out_h, out_w, k, row, i, j,
                                                  i * stride, i * stride + k - 1, j * stride, j * stride + k - 1,
                                                  dot, conv)
    return result(True, msg, x=x, cols=cols, out_shape=(out_h, out_w), row=row, i=i, j=j,
                  rows=list(range(i * stride, i * stride + k)), cols_idx=list(range(j * stride, j * stride + k)),
                  dot=dot, conv=conv)


def render_im2col(res: dict, cell: int = 40, height: int = 480) -> np.ndarray:
    """Input patch with the selected window outlined | the im2col matrix with the selected row outlined."""
    x = res["x"]
    lo, hi = float(x.min()), float(x.max())
    hi = hi if hi > lo else lo + 1.0
    fill, text = _fill_from(x, lo, hi)
    outline = [(r, c, (255, 200, 0)) for r in res["rows"] for c in res["cols_idx"]] if res["ok"] else []
    left = _draw_grid(x, cell, fill, text, outline=outline)
    if not res["ok"]:
        return left
    cols = res["cols"]
    n_rows, n_cols = cols.shape
    ch, cw = max(min(height // n_rows, 40), 4), max(min(360 // n_cols, 40), 8)
    mat = np.repeat(np.repeat(to_rgb(to_uint8(cols, lo, hi)), ch, 0), cw, 1).copy()
    if ch >= 6:
        mat[::ch, :] = 150
    mat[:, ::cw] = 150
    r = res["row"]
    mat[max(r * ch - 2, 0): r * ch + 2, :] = (255, 200, 0)
    mat[(r + 1) * ch - 2: (r + 1) * ch + 2, :] = (255, 200, 0)
    mat[r * ch: (r + 1) * ch, :3] = (255, 200, 0)
    mat[r * ch: (r + 1) * ch, -3:] = (255, 200, 0)
    return hstack([left, mat], gap=24)


@register(demo=dict)
def im2col_explorer(width: int = 760) -> Any:
    """Kernel size / stride / output pixel on the 8×8 CT patch: the im2col matrix with the selected row and
    its window on the input highlighted. Used in 02 §7."""
    x = stepper_patch()
    legend = ("<small>" + t("left: the 8×8 CT patch, yellow = the window of the selected output pixel; right: X_col "
                            "(one row per output pixel, one column per kernel tap; same grey scale as the patch), "
                            "yellow = the same window laid flat") + "</small>")

    def n_rows(kernel: int, stride: int, **_: Any) -> int:
        try:
            return ops.output_size(x.shape[0], kernel, 0, stride) * ops.output_size(x.shape[1], kernel, 0, stride)
        except ValueError:
            return 0

    def frame(kernel: int, stride: int, pixel: int) -> Frame:
        r = im2col_compute(x, kernel, stride, pixel)
        if not r["ok"]:
            return Frame(image=render_im2col(r), warning=r["message"], readout=legend)
        return Frame(image=render_im2col(r), readout=_code(r["message"]) + "<br>" + legend)

    controls = {"kernel": Int("Kernel size", 1, 9, value=3), "stride": Int("Stride", 1, 3),
                "pixel": Int("Output pixel", 0, n_rows(3, 1) - 1)}
    return explorer(frame, controls, layout="column",
                    limits=lambda **v: {"pixel": {"max": max(n_rows(**v) - 1, 0)}})


# --------------------------------------------------------------------------- 02 §8 measured speed

#: conv2d_naive is only run when out_pixels · k² stays at or below this many multiply-adds (~0.1-0.2 s).
NAIVE_MAX_MACS = 250_000


def speed_compute(image: Any, size: int = 128, kernel_size: int = 3, repeats: int = 3,
                  naive_max_macs: int = NAIVE_MAX_MACS) -> dict:
    """Time ``ops.conv2d`` and ``tf.nn.conv2d`` (median of ``repeats`` after a warm-up) on a ``size``² crop of
    ``image`` with a ``kernel_size``² box kernel, and ``ops.conv2d_naive`` once if the work is small enough.

    Result contract plus ``names``, ``ms`` (list, None where skipped), ``macs``, ``max_abs_diff``.
    """
    img = _image(image)
    for name, v, lo, hi in (("size", size, 8, img.shape[0]), ("kernel_size", kernel_size, 1, size),
                            ("repeats", repeats, 1, 50)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
            return result(False, f"Invalid measurement: {name} must be an int in [{lo}, {hi}], got {v!r}", ms=None)
    r0 = (img.shape[0] - size) // 2
    x = np.ascontiguousarray(img[r0: r0 + size, r0: r0 + size], dtype=np.float32)
    k = np.ones((kernel_size, kernel_size), np.float32) / kernel_size ** 2
    n_out = size - kernel_size + 1
    macs = n_out * n_out * kernel_size ** 2
    tf = _tf()
    x4, k4 = tf.constant(x[None, :, :, None]), tf.constant(k[:, :, None, None])

    def median_ms(fn) -> tuple[float, Any]:
        out = fn()  # warm-up (and the result)
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return float(np.median(ts) * 1e3), out

    ms_np, y_np = median_ms(lambda: ops.conv2d(x, k))
    ms_tf, y_tf = median_ms(lambda: tf.nn.conv2d(x4, k4, 1, "VALID").numpy()[0, :, :, 0])
    diff = float(np.abs(y_np - y_tf).max())
    ms_naive = None
    if macs <= naive_max_macs:
        t0 = time.perf_counter()
        y_naive = ops.conv2d_naive(x, k)
        ms_naive = (time.perf_counter() - t0) * 1e3
        diff = max(diff, float(np.abs(y_naive - y_tf).max()))
    naive_txt = (t("conv2d_naive {0:.1f} ms (one run, {1:,.0f}× ops.conv2d)").format(ms_naive, ms_naive / ms_np)
                 if ms_naive else
                 t("conv2d_naive skipped ({0:,} multiply-adds > {1:,}: it would take ~{2:.1f} s or more)").format(
                     macs, naive_max_macs, macs * 0.5e-6))
    msg = t("{0}×{0} crop, {1}×{1} kernel, {2:,} multiply-adds · ops.conv2d {3:.2f} ms · tf.nn.conv2d {4:.2f} ms "
            "(median of {5}) · {6} · max |difference| = {7:.1e}").format(size, kernel_size, macs, ms_np, ms_tf,
                                                                        repeats, naive_txt, diff)
    return result(True, msg, names=["conv2d_naive", "ops.conv2d", "tf.nn.conv2d"], ms=[ms_naive, ms_np, ms_tf],
                  macs=macs, max_abs_diff=diff)


@register(demo=dict)
def speed_explorer(width: int = 520) -> Any:
    """Image size / kernel size sliders and a *Measure* button: timings of the loops, numpy and TensorFlow.

    Measuring is a button because timing honestly (warm-up + a median of repeats, plus the Python loops) takes
    longer than one slider update may; the loops only run for small sizes. The chart keeps the last
    measurement (greyed while the sliders show another setting): the one widget state of 02 (``state=``).
    Used in 02 §8.
    """
    chart = Chart(figsize=(6, 3), dpi=80)
    chart.fig.subplots_adjust(left=0.13, right=0.98, bottom=0.12, top=0.88)
    ax = chart.fig.add_subplot()
    ax.set_yscale("log")
    ax.set(ylim=(1e-3, 1e5), ylabel=t("ms (log scale)"), title=t("one convolution, measured here (dotted: 100 ms)"))
    bars = ax.bar([0, 1, 2], [1e-3] * 3, color=["#d95f02", "#1b9e77", "#7570b3"])
    ax.set_xticks([0, 1, 2], ["conv2d_naive (loops)", "ops.conv2d (numpy)", "tf.nn.conv2d"])
    ax.axhline(100, color="grey", ls=":", lw=1)
    texts = [ax.text(x, 1e-3, "", ha="center", va="bottom", fontsize=9) for x in range(3)]
    note = ax.text(0.02, 0.95, "", transform=ax.transAxes, va="top", fontsize=9, color="#b00020")
    chart.animate(*bars, *texts, note)

    def run(size: int, kernel: int) -> dict:
        r = speed_compute("lung CT", size, kernel)
        if r["ok"]:
            for bar, txt, ms in zip(bars, texts, r["ms"]):
                h = ms if ms is not None else 1e-3
                bar.set_height(h)
                txt.set_position((bar.get_x() + bar.get_width() / 2, h * 1.3))
                txt.set_text(f"{ms:.2f} ms" if ms is not None else t("skipped"))
        return r

    def frame(size: int, kernel: int, measure: bool, state: dict) -> Frame:
        if measure or "measured" not in state:  # the first frame (at build) measures the default setting
            r = run(size, kernel)
            if not r["ok"]:
                return Frame(warning=r["message"])
            state["measured"] = (size, kernel, r["message"])
        m_size, m_kernel, m_message = state["measured"]
        fresh = (m_size, m_kernel) == (size, kernel)
        for a in bars:
            a.set_alpha(1.0 if fresh else 0.35)
        note.set_text("" if fresh else
                      f"{t('measured for')} {m_size}×{m_size}, {m_kernel}×{m_kernel}: {t('press Measure')}")
        n_out = size - kernel + 1
        macs = n_out * n_out * kernel ** 2
        readout = esc(m_message) if fresh else (
            "<i>" + t("{0}×{0}, {1}×{1}: {2:,} multiply-adds").format(size, kernel, macs)
            + ("" if macs <= NAIVE_MAX_MACS else t(" (too many for the loops: they will be skipped)"))
            + t(" — press <b>{0}</b>").format(esc(t("Measure"))) + "</i>")
        return Frame(image=chart.png(), readout=readout)

    return explorer(frame, {"size": Int("Image size", 16, 512, value=128, step=16),
                            "kernel": Int("Kernel size", 1, 15, value=3, step=2),
                            "measure": Button("Measure", style="primary")}, layout="column", width=width, state={})
