"""Widgets that make convolution and pooling tangible, on real CT / X-ray images.

Each widget is a pure compute/render function (numpy in, dict / RGB uint8 out; no kernel
needed, tested in ``tests/test_widgets_conv.py``) plus a thin ipywidgets builder:

* :func:`conv_stepper` -- slide a 3x3 kernel over an 8x8 CT patch, one output pixel at a time
  (:func:`conv_step`, :func:`render_conv_step`);
* :func:`kernel_explorer` -- preset or hand-edited 3x3 kernel on a 512x512 image, our
  :func:`medlab.ops.conv2d` next to ``tf.nn.conv2d`` (:func:`kernel_explorer_compute`);
* :func:`pooling_explorer` -- size/stride/mode, which pixels survive, translation invariance
  (:func:`pooling_compute`); :func:`nodule_pooling_explorer` -- when pooling erases a small
  nodule (:func:`nodule_erasure`);
* :func:`receptive_field_explorer` -- a conv/pool stack drawn as a receptive field on a CT slice
  (:func:`receptive_field_compute`).
* one widget per remaining section of notebooks 02/03: :func:`param_count_explorer` (dense vs conv
  parameters), :func:`flip_explorer` (correlation vs convolution), :func:`output_size_explorer`
  (n, k, p, s, d), :func:`channel_mix_explorer` (1x1 conv of three CT windows), :func:`im2col_explorer`,
  :func:`speed_explorer` (button-triggered timings), :func:`dense_neuron_explorer` (one dense neuron on
  PneumoniaMNIST) and :func:`feature_map_explorer` (the seed model's maps, forward pass cached).

Invalid settings (a kernel larger than the padded input, a stack that shrinks the image to
nothing, ...) are returned as ``{"ok": False, "message": ...}`` and shown as a warning; the
widgets never raise.

>>> r = conv_step(np.arange(16.0).reshape(4, 4), np.ones((3, 3)), step=3)
>>> r["ok"], r["out_shape"], r["i"], r["j"], r["explanation"].total
(True, (2, 2), 1, 1, 90.0)
"""
from __future__ import annotations

import html
import os
import time
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw

from .. import ops
from ..display import window_level
from ._render import font as _font
from ._render import FigureRenderer, draw_boxes, to_png, to_uint8

__all__ = [
    "lung_slice", "chest_xray", "STEPPER_PATCH_ORIGIN", "stepper_patch", "NODULE_CENTRE",
    "conv_step", "render_conv_step", "conv_stepper",
    "kernel_explorer_compute", "render_kernel_explorer", "kernel_explorer",
    "pooling_compute", "render_pooling", "pooling_explorer",
    "nodule_erasure", "render_nodule", "nodule_pooling_explorer",
    "build_stack", "receptive_field_compute", "render_receptive_field", "receptive_field_explorer",
    "param_count_compute", "param_count_explorer", "flip_kernel", "flip_compute", "render_flip", "flip_explorer",
    "output_size_compute", "render_output_size", "output_size_explorer",
    "ct_channels", "channel_mix_compute", "render_channel_mix", "channel_mix_explorer",
    "im2col_compute", "render_im2col", "im2col_explorer", "speed_compute", "speed_explorer",
    "pneumonia_data", "dense_template", "dense_template_mean", "dense_neuron_compute", "render_dense_neuron",
    "dense_neuron_explorer", "feature_maps_compute", "render_feature_map", "feature_map_explorer",
]

#: Slice of the embedded lung CT shown by the widgets (a tumour box is annotated on it).
LUNG_SLICE_INDEX = 14
#: Top-left (row, col) of the 8x8 stepper patch: it straddles the upper edge of the tumour.
STEPPER_PATCH_ORIGIN = (262, 163)
#: Where the simulated nodule is placed: lung parenchyma of the left lung (image right), slice 14.
NODULE_CENTRE = (205, 395)


# --------------------------------------------------------------------------- data and helpers

def _tf():
    """TensorFlow, imported once on first use (it takes seconds; the module import stays fast)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    return tf


@lru_cache(maxsize=8)
def lung_slice(index: int = LUNG_SLICE_INDEX) -> np.ndarray:
    """Axial slice ``index`` of the embedded lung CT in the lung window (W 1500, L -600), float32 in [0, 1]."""
    from ..datasets import load_lung_ct
    from ..display import PRESETS

    ct = load_lung_ct()  # keep the object alive: .array is a view into its SimpleITK image
    arr = ct.array
    if not 0 <= index < arr.shape[0]:
        raise ValueError(f"index must be a slice in [0, {arr.shape[0] - 1}], got {index}")
    out = np.array(window_level(arr[index], *PRESETS["lung"]), dtype=np.float32)
    del arr, ct
    out.setflags(write=False)
    return out


@lru_cache(maxsize=4)
def chest_xray(name: str = "00000001_000") -> np.ndarray:
    """An embedded chest X-ray as float32 in [0, 1] (512x512)."""
    from ..datasets import load_chest_xray

    out = (load_chest_xray(name).astype(np.float32) / 255.0)
    out.setflags(write=False)
    return out


def stepper_patch() -> np.ndarray:
    """The 8x8 lung-window patch of the stepper, rounded to 2 decimals so every shown number is exact."""
    r, c = STEPPER_PATCH_ORIGIN
    return np.round(lung_slice()[r: r + 8, c: c + 8].astype(np.float64), 2)


def _image(source: Any) -> np.ndarray:
    if isinstance(source, str):
        if source == "lung CT":
            return lung_slice()
        if source == "chest X-ray":
            return chest_xray()
        raise ValueError(f'image must be "lung CT", "chest X-ray" or a 2-D array, got {source!r}')
    img = np.asarray(source, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"image must be a 2-D array, got shape {img.shape}")
    return img


def _grey_rgb(a: np.ndarray, vmin: float = 0.0, vmax: float = 1.0) -> np.ndarray:
    g = to_uint8(a, vmin, vmax)
    return np.repeat(g[..., None], 3, axis=2)


def _warn(message: str) -> str:
    return f"<div style='color:#b00020;font-weight:bold'>⚠ {html.escape(message)}</div>"


def _hstack(panels: Sequence[np.ndarray], gap: int = 8) -> np.ndarray:
    h = max(p.shape[0] for p in panels)
    out = []
    for k, p in enumerate(panels):
        if p.shape[0] < h:
            p = np.concatenate([p, np.full((h - p.shape[0],) + p.shape[1:], 255, np.uint8)], axis=0)
        out.append(p)
        if k < len(panels) - 1:
            out.append(np.full((h, gap, 3), 255, np.uint8))
    return np.concatenate(out, axis=1)


# --------------------------------------------------------------------------- 1. conv stepper

def conv_step(patch: Any, kernel: Any, step: int = 0, stride: int = 1, padding: int = 0,
              dilation: int = 1) -> dict:
    """One step of a single-channel convolution on a small patch (pure compute of the stepper).

    ``step`` counts output pixels in row-major order (clipped to the last one). Returns
    ``{"ok", "message", "formula", "out_shape", "n_steps", "step", "i", "j", "explanation"
    (a :class:`medlab.ops.StepExplanation`), "output" (float, NaN where not yet computed),
    "padding", "stride", "dilation"}``. An invalid configuration gives ``ok=False`` and a
    message naming the rule broken (nothing is raised).
    """
    x = np.asarray(patch, dtype=np.float64)
    w = np.asarray(kernel, dtype=np.float64)
    n, k = x.shape[0], w.shape[0]
    k_eff = dilation * (k - 1) + 1
    formula = (f"out = ⌊(n + 2p − k_eff) / s⌋ + 1 with k_eff = d·(k − 1) + 1 = "
               f"{dilation}·({k} − 1) + 1 = {k_eff}: "
               f"⌊({n} + 2·{padding} − {k_eff}) / {stride}⌋ + 1")
    base = {"ok": False, "formula": formula, "out_shape": None, "n_steps": 0, "step": 0, "i": None, "j": None,
            "explanation": None, "output": None, "padding": padding, "stride": stride, "dilation": dilation}
    try:
        out_h = ops.output_size(x.shape[0], w.shape[0], padding, stride, dilation)
        out_w = ops.output_size(x.shape[1], w.shape[1], padding, stride, dilation)
        full = ops.conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    except (ValueError, TypeError) as exc:
        valid_stride = isinstance(stride, int) and stride > 0
        value = f"{(n + 2 * padding - k_eff) / stride + 1:.3g}" if valid_stride else "undefined"
        base["formula"] = formula + f" = {value} → no valid position"
        base["message"] = _warn(f"Invalid configuration: {exc}")
        return base
    n_steps = out_h * out_w
    step = int(min(max(int(step), 0), n_steps - 1))
    i, j = divmod(step, out_w)
    expl = ops.explain_step(x, w, i, j, stride=stride, padding=padding, dilation=dilation)
    output = np.full((out_h, out_w), np.nan)
    output.ravel()[: step + 1] = full.ravel()[: step + 1]
    base.update(ok=True, formula=formula + f" = {out_h}", out_shape=(out_h, out_w), n_steps=n_steps, step=step,
                i=i, j=j, explanation=expl, output=output,
                message=f"Output pixel ({i}, {j}) — step {step + 1} of {n_steps}")
    return base


def _draw_grid(values: np.ndarray, cell: int, fill: np.ndarray, text_color: Sequence[tuple],
               outline: Sequence[tuple[int, int, tuple]] = (), fmt: str = "{:.2f}", font_size: int = 11) -> np.ndarray:
    """A grid of coloured cells with numbers. ``fill`` (h, w, 3) uint8 cell colours."""
    h, w = values.shape
    img = np.repeat(np.repeat(fill, cell, axis=0), cell, axis=1).copy()
    img[::cell, :] = 160
    img[:, ::cell] = 160
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    font = _font(font_size)
    for r in range(h):
        for c in range(w):
            v = values[r, c]
            if np.isnan(v):
                continue
            draw.text((c * cell + cell / 2, r * cell + cell / 2), fmt.format(v), fill=text_color[r * w + c],
                      font=font, anchor="mm")
    for r, c, color in outline:
        draw.rectangle([c * cell, r * cell, (c + 1) * cell - 1, (r + 1) * cell - 1], outline=color, width=3)
    return np.asarray(pil)


def _fill_from(values: np.ndarray, vmin: float, vmax: float) -> tuple[np.ndarray, list]:
    g = to_uint8(np.nan_to_num(values, nan=vmin), vmin, vmax)
    fill = np.repeat(g[..., None], 3, axis=2)
    text = [(0, 0, 0) if v > 110 else (255, 255, 255) for v in g.ravel()]
    return fill, text


def render_conv_step(patch: Any, result: dict, kernel: Any, cell: int = 40) -> np.ndarray:
    """Draw the stepper: padded input with the kernel taps outlined | products | output filling in.

    Returns an RGB uint8 image. Padding cells are tinted blue; an invalid ``result`` shows the
    input alone.
    """
    x = np.asarray(patch, dtype=np.float64)
    p = int(result["padding"]) if isinstance(result["padding"], (int, np.integer)) else 0
    xp = np.pad(x, p)
    fill, text = _fill_from(xp, 0.0, 1.0)
    if p:
        pad_mask = np.ones(xp.shape, bool)
        pad_mask[p:-p, p:-p] = False
        fill[pad_mask] = (200, 220, 255)
        text = [(60, 60, 160) if m else t for m, t in zip(pad_mask.ravel(), text)]
    if not result["ok"]:
        return _draw_grid(xp, cell, fill, text)
    e = result["explanation"]
    taps = [(int(r) + p, int(c) + p, (255, 200, 0)) for r in e.rows for c in e.cols]
    left = _draw_grid(xp, cell, fill, text, outline=taps)
    k = np.asarray(kernel, dtype=np.float64)
    prod = e.products
    m = max(float(np.abs(prod).max()), 1e-9)
    red = np.clip(prod / m, 0, 1)
    blue = np.clip(-prod / m, 0, 1)
    pf = np.stack([255 - 120 * blue, 255 - 120 * (red + blue), 255 - 120 * red], axis=-1).astype(np.uint8)
    middle = _draw_grid(prod, cell, pf, [(0, 0, 0)] * prod.size, fmt="{:+.2f}")
    kern = _draw_grid(k, cell // 2 + 8, np.full(k.shape + (3,), 235, np.uint8), [(0, 0, 0)] * k.size,
                      fmt="{:g}", font_size=10)
    out = result["output"]
    finite = out[np.isfinite(out)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    of, ot = _fill_from(out, lo, hi if hi > lo else lo + 1)
    of[np.isnan(out)] = (40, 40, 90)
    right = _draw_grid(out, cell, of, ot, outline=[(e.i, e.j, (255, 60, 60))])
    if kern.shape[1] < middle.shape[1]:
        kern = np.pad(kern, ((0, 0), (0, middle.shape[1] - kern.shape[1]), (0, 0)), constant_values=255)
    mid_col = np.concatenate([kern, np.full((12, middle.shape[1], 3), 255, np.uint8), middle], axis=0)
    return _hstack([left, mid_col, right], gap=16)


def _step_html(result: dict) -> str:
    if not result["ok"]:
        return result["message"] + f"<code>{html.escape(result['formula'])}</code>"
    e = result["explanation"]
    terms = " + ".join(f"({wv:g})·{xv:.2f}" for wv, xv in zip(e.kernel.ravel(), e.patch.ravel()))
    return (f"<b>{html.escape(result['message'])}</b><br><code>{html.escape(result['formula'])}</code><br>"
            f"<code>y[{e.i},{e.j}] = {html.escape(terms)} = <b>{e.total:.4f}</b></code>")


def conv_stepper(patch: Any = None, kernel: str = "sobel_y", width: int = 900) -> Any:
    """Step a 3x3 kernel over an 8x8 patch of the lung CT (lung window): taps, products, sum, output.

    Controls: Step slider and Next button, Kernel preset, Padding, Stride, Dilation. Invalid
    configurations are flagged in red. Returns an ``ipywidgets.VBox`` with ``.render()``.
    """
    import ipywidgets as w

    x = stepper_patch() if patch is None else np.asarray(patch, dtype=np.float64)
    kernel_w = w.Dropdown(options=list(ops.KERNELS), value=kernel, description="Kernel")
    step_w = w.IntSlider(value=0, min=0, max=1, description="Step", continuous_update=True)
    next_w = w.Button(description="Next ▶", layout=w.Layout(width="90px"))
    pad_w = w.IntSlider(value=0, min=0, max=2, description="Padding")
    stride_w = w.IntSlider(value=1, min=1, max=3, description="Stride")
    dil_w = w.IntSlider(value=1, min=1, max=4, description="Dilation")
    img_w = w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto"))
    info_w = w.HTML()

    def render(*_):
        k = ops.KERNELS[kernel_w.value]
        res = conv_step(x, k, step_w.value, stride_w.value, pad_w.value, dil_w.value)
        with step_w.hold_trait_notifications():
            step_w.max = max(res["n_steps"] - 1, 0)
        img_w.value = to_png(render_conv_step(x, res, k))
        info_w.value = _step_html(res)
        return img_w.value

    def on_next(_):
        step_w.value = 0 if step_w.value >= step_w.max else step_w.value + 1

    next_w.on_click(on_next)
    for c in (kernel_w, step_w, pad_w, stride_w, dil_w):
        c.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([step_w, next_w, kernel_w]), w.HBox([pad_w, stride_w, dil_w]), info_w, img_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"step": step_w, "next": next_w, "kernel": kernel_w, "padding": pad_w,  # type: ignore[attr-defined]
                    "stride": stride_w, "dilation": dil_w}
    return box


# --------------------------------------------------------------------------- 2. kernel explorer

def kernel_explorer_compute(image: Any, kernel: Any) -> dict:
    """Convolve ``image`` (2-D, [0, 1]) with ``kernel`` using medlab.ops and ``tf.nn.conv2d`` ("same").

    Returns ``{"ok", "message", "ours", "tf", "max_abs_diff", "ms_ours", "ms_tf"}``; bad kernels
    (non-finite, wrong shape) give ``ok=False`` and a message.
    """
    img = _image(image)
    try:
        k = np.asarray(kernel, dtype=np.float32)
        if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
            raise ValueError(f"kernel must be 2-D with odd sides, got shape {k.shape}")
        t0 = time.perf_counter()
        ours = ops.conv2d(img, k, padding="same")
        t1 = time.perf_counter()
    except (ValueError, TypeError) as exc:
        return {"ok": False, "message": _warn(f"Invalid kernel: {exc}"), "ours": None, "tf": None,
                "max_abs_diff": None, "ms_ours": None, "ms_tf": None}
    tf = _tf()
    t2 = time.perf_counter()
    ref = tf.nn.conv2d(img[None, :, :, None], k[:, :, None, None], 1, "SAME").numpy()[0, :, :, 0]
    t3 = time.perf_counter()
    diff = float(np.abs(ours - ref).max())
    return {"ok": True, "ours": ours, "tf": ref, "max_abs_diff": diff, "ms_ours": (t1 - t0) * 1e3,
            "ms_tf": (t3 - t2) * 1e3,
            "message": (f"max |ours − tf.nn.conv2d| = {diff:.2e} · medlab.ops.conv2d {(t1 - t0) * 1e3:.1f} ms · "
                        f"tf.nn.conv2d {(t3 - t2) * 1e3:.1f} ms")}


def _display_range(kernel: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Signed kernels (sum 0, e.g. edges) are shown with zero as mid-grey; others on [0, sum]."""
    s = float(np.sum(kernel))
    if abs(s) < 1e-6:
        m = float(np.percentile(np.abs(y), 99.5)) or 1.0
        return -m, m
    return (0.0, s) if s > 0 else (s, 0.0)


def render_kernel_explorer(image: Any, result: dict, kernel: Any, gap: int = 8) -> np.ndarray:
    """Side by side: input | medlab.ops.conv2d | tf.nn.conv2d, grey uint8 (H, 3W + 2 gaps).

    Grey (not RGB) keeps the PNG small: encoding is the slowest part of an update.
    """
    img = _image(image)
    panels = [to_uint8(img, 0.0, 1.0)]
    if result["ok"]:
        lo, hi = _display_range(np.asarray(kernel, np.float64), result["ours"])
        panels += [to_uint8(result["ours"], lo, hi), to_uint8(result["tf"], lo, hi)]
    spacer = np.full((img.shape[0], gap), 255, np.uint8)
    out = [panels[0]]
    for p in panels[1:]:
        out += [spacer, p]
    return np.concatenate(out, axis=1)


def kernel_explorer(image: str = "lung CT", kernel: str = "sobel_y", width: int = 1000) -> Any:
    """Pick a preset or edit a 3x3 kernel cell by cell; our conv2d and tf.nn.conv2d side by side.

    ``image``: "lung CT" (slice 14, lung window) or "chest X-ray". The "Gain" slider scales the
    kernel. Returns an ``ipywidgets.VBox`` with ``.render()``.
    """
    import ipywidgets as w

    image_w = w.Dropdown(options=["lung CT", "chest X-ray"], value=image, description="Image")
    preset_w = w.Dropdown(options=list(ops.KERNELS), value=kernel, description="Preset")
    gain_w = w.FloatSlider(value=1.0, min=-2.0, max=2.0, step=0.25, description="Gain")
    cells = [w.FloatText(value=round(float(v), 4), layout=w.Layout(width="70px")) for v in ops.KERNELS[kernel].ravel()]
    grid = w.GridBox(cells, layout=w.Layout(grid_template_columns="repeat(3, 74px)"))
    img_w = w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto"))
    info_w = w.HTML()
    titles = w.HTML("<div style='display:flex;justify-content:space-around;width:%dpx'><b>input</b>"
                    "<b>medlab.ops.conv2d</b><b>tf.nn.conv2d</b></div>" % width)
    state = {"busy": False}

    def current_kernel() -> np.ndarray:
        return gain_w.value * np.array([c.value for c in cells], dtype=np.float64).reshape(3, 3)

    def render(*_):
        if state["busy"]:
            return img_w.value
        k = current_kernel()
        res = kernel_explorer_compute(image_w.value, k)
        img_w.value = to_png(render_kernel_explorer(image_w.value, res, k))
        info_w.value = res["message"] if not res["ok"] else f"<code>{html.escape(res['message'])}</code>"
        return img_w.value

    def on_preset(change):
        state["busy"] = True
        try:
            for c, v in zip(cells, ops.KERNELS[change["new"]].ravel()):
                c.value = round(float(v), 4)
        finally:
            state["busy"] = False
        render()

    preset_w.observe(on_preset, names="value")
    for c in [image_w, gain_w] + cells:
        c.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([w.VBox([image_w, preset_w, gain_w]), grid]), info_w, titles, img_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"image": image_w, "preset": preset_w, "gain": gain_w, "cells": cells}  # type: ignore[attr-defined]
    return box


# --------------------------------------------------------------------------- 3. pooling explorer

def pooling_compute(image: Any, size: int = 2, stride: int | None = None, mode: str = "max",
                    shift: int = 1) -> dict:
    """Pool ``image`` with medlab.ops (checked against tf.nn.*_pool2d) and test translation invariance.

    ``shift``: the input is shifted right by ``shift`` pixels; we compare the pooled maps of the
    original and the shifted image (on the same region). Returns ``{"ok", "message", "pooled",
    "max_abs_diff_tf", "winners" (bool mask or None for avg), "raw_change", "pooled_change",
    "unchanged_fraction"}``.
    """
    img = _image(image)
    try:
        if mode not in ("max", "avg"):
            raise ValueError(f'mode must be "max" or "avg", got {mode!r}')
        if not isinstance(shift, (int, np.integer)) or not 0 <= shift <= 16:
            raise ValueError(f"shift must be an int in [0, 16] pixels, got {shift!r}")
        pooled = ops.pool2d(img, size, stride, "valid", mode)
    except (ValueError, TypeError) as exc:
        return {"ok": False, "message": _warn(f"Invalid pooling: {exc}"), "pooled": None}
    s = size if stride is None else stride
    tf = _tf()
    fn = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    ref = fn(img[None, :, :, None], size, s, "VALID").numpy()[0, :, :, 0]
    diff = float(np.abs(pooled - ref).max())
    winners = ops.max_pool_winners(img, size, s) if mode == "max" else None
    # translation: a = original region, b = the same region of an image shifted right by `shift`
    m = 16
    a = img[:, m:]
    b = img[:, m - shift: img.shape[1] - shift]
    pa, pb = ops.pool2d(a, size, s, mode=mode), ops.pool2d(b, size, s, mode=mode)
    raw_change = float(np.abs(a - b).mean())
    pooled_change = float(np.abs(pa - pb).mean())
    unchanged = float(np.mean(np.abs(pa - pb) < 1e-6))
    msg = (f"{img.shape[0]}×{img.shape[1]} → {pooled.shape[0]}×{pooled.shape[1]} "
           f"({mode} {size}×{size}, stride {s}) · max |ours − tf.nn.{mode}_pool2d| = {diff:.1e}<br>"
           f"shift by {shift} px: mean |Δ| raw {raw_change:.4f} → pooled {pooled_change:.4f}; "
           f"{unchanged:.0%} of pooled values unchanged")
    return {"ok": True, "message": msg, "pooled": pooled, "max_abs_diff_tf": diff, "winners": winners,
            "raw_change": raw_change, "pooled_change": pooled_change, "unchanged_fraction": unchanged,
            "size": size, "stride": s, "mode": mode}


def render_pooling(image: Any, result: dict, crop: tuple[int, int] = (262, 160), crop_size: int = 24,
                   zoom: int = 12) -> np.ndarray:
    """Pooled image (nearest-upscaled to the input size) | zoomed crop with the surviving pixels in red."""
    img = _image(image)
    r0, c0 = crop
    sub = img[r0: r0 + crop_size, c0: c0 + crop_size]
    rgb = _grey_rgb(sub)
    if result["ok"] and result["winners"] is not None:
        rgb[result["winners"][r0: r0 + crop_size, c0: c0 + crop_size]] = (230, 40, 40)
    zoomed = np.repeat(np.repeat(rgb, zoom, 0), zoom, 1)
    if result["ok"]:
        s = result["stride"]
        # grid of pooling windows (window starts every `stride` pixels, aligned to the image origin)
        for r in range((-r0) % s, crop_size, s):
            zoomed[r * zoom, :] = (90, 160, 255)
        for c in range((-c0) % s, crop_size, s):
            zoomed[:, c * zoom] = (90, 160, 255)
        p = result["pooled"]
        f = img.shape[0] / p.shape[0]
        rows = np.minimum((np.arange(img.shape[0]) / f).astype(int), p.shape[0] - 1)
        cols = np.minimum((np.arange(img.shape[1]) / (img.shape[1] / p.shape[1])).astype(int), p.shape[1] - 1)
        big = _grey_rgb(p[rows][:, cols])
        draw_boxes(big, [(r0, c0, r0 + crop_size - 1, c0 + crop_size - 1)], color=(255, 215, 0), thickness=2)
    else:
        big = _grey_rgb(img)
    return _hstack([big, zoomed])


def pooling_explorer(image: str = "lung CT", width: int = 1000) -> Any:
    """Pool size / stride / mode on a real image: the pooled image, which pixels survive (red, in a
    zoomed crop at the tumour edge) and what a shift of the input does to the pooled map."""
    import ipywidgets as w

    image_w = w.Dropdown(options=["lung CT", "chest X-ray"], value=image, description="Image")
    size_w = w.IntSlider(value=2, min=1, max=8, description="Pool size")
    stride_w = w.IntSlider(value=2, min=1, max=8, description="Pool stride")
    mode_w = w.ToggleButtons(options=["max", "avg"], value="max", description="Mode")
    shift_w = w.IntSlider(value=1, min=0, max=8, description="Shift (px)")
    img_w = w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto"))
    info_w = w.HTML()

    def render(*_):
        res = pooling_compute(image_w.value, size_w.value, stride_w.value, mode_w.value, shift_w.value)
        img_w.value = to_png(render_pooling(image_w.value, res))
        info_w.value = res["message"] if not res["ok"] else f"<code>{res['message']}</code>"
        return img_w.value

    for c in (image_w, size_w, stride_w, mode_w, shift_w):
        c.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([image_w, mode_w]), w.HBox([size_w, stride_w, shift_w]), info_w, img_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"image": image_w, "size": size_w, "stride": stride_w, "mode": mode_w,  # type: ignore[attr-defined]
                    "shift": shift_w}
    return box


def _insert_nodule(img: np.ndarray, diameter: float, centre: tuple[int, int], value: float = 0.9) -> np.ndarray:
    r, c = centre
    yy, xx = np.ogrid[: img.shape[0], : img.shape[1]]
    disk = (yy - r) ** 2 + (xx - c) ** 2 <= (diameter / 2.0) ** 2
    out = img.copy()
    out[disk] = np.maximum(out[disk], value)
    return out


def nodule_erasure(image: Any, diameter: float, max_depth: int = 5, centre: tuple[int, int] = NODULE_CENTRE,
                   value: float = 0.9) -> dict:
    """When does repeated 2x2 pooling erase a small nodule?

    A disk of ``diameter`` pixels and grey value ``value`` (soft tissue, ~0 HU in the lung window)
    is inserted into the real image at ``centre``. After ``depth`` rounds of 2x2/stride-2 pooling we
    measure the *retained contrast*: the largest change the nodule makes to the pooled map, divided
    by the change it made to the original image. Returns ``{"ok", "message", "depths",
    "retained": {"max": [...], "avg": [...]}, "with_nodule", "without"}``.
    """
    img = _image(image)
    try:
        if not isinstance(diameter, (int, float, np.number)) or not 0.5 <= diameter <= 64:
            raise ValueError(f"diameter must be a number of pixels in [0.5, 64], got {diameter!r}")
        if not isinstance(max_depth, (int, np.integer)) or not 0 <= max_depth <= 7:
            raise ValueError(f"max_depth must be an int in [0, 7], got {max_depth!r}")
    except ValueError as exc:
        return {"ok": False, "message": _warn(str(exc))}
    with_n = _insert_nodule(img, diameter, centre, value)
    base = float(np.abs(with_n - img).max())
    retained: dict[str, list[float]] = {"max": [], "avg": []}
    for mode in ("max", "avg"):
        a, b = with_n, img
        for depth in range(max_depth + 1):
            if depth:
                a, b = ops.pool2d(a, 2, mode=mode), ops.pool2d(b, 2, mode=mode)
            retained[mode].append(float(np.abs(a - b).max()) / base if base > 0 else 0.0)
    return {"ok": True, "depths": list(range(max_depth + 1)), "retained": retained, "with_nodule": with_n,
            "without": img, "diameter": diameter, "centre": centre,
            "message": "retained contrast after depth 0..%d — max: %s · avg: %s" % (
                max_depth, " ".join(f"{v:.0%}" for v in retained["max"]),
                " ".join(f"{v:.0%}" for v in retained["avg"]))}


def render_nodule(result: dict, depth: int, mode: str, crop: int = 64, zoom: int = 4) -> np.ndarray:
    """Zoomed crop around the nodule: original with nodule | after ``depth`` poolings (upscaled back)."""
    r, c = result["centre"]
    r0, c0 = max(r - crop // 2, 0), max(c - crop // 2, 0)
    img = result["with_nodule"]
    a = img
    for _ in range(depth):
        a = ops.pool2d(a, 2, mode=mode)
    f = 2 ** depth
    rows = np.minimum(np.arange(r0, r0 + crop) // f, a.shape[0] - 1)
    cols = np.minimum(np.arange(c0, c0 + crop) // f, a.shape[1] - 1)
    left = _grey_rgb(img[r0: r0 + crop, c0: c0 + crop])
    right = _grey_rgb(a[rows][:, cols])
    return _hstack([np.repeat(np.repeat(p, zoom, 0), zoom, 1) for p in (left, right)])


def nodule_pooling_explorer(image: str = "lung CT", width: int = 900) -> Any:
    """Nodule diameter vs pooling depth: a simulated nodule in a real lung CT slice, pooled 2x2 again
    and again; a chart of the retained contrast for max and average pooling."""
    import ipywidgets as w

    diam_w = w.FloatSlider(value=3.0, min=1.0, max=24.0, step=1.0, description="Nodule (px)")
    depth_w = w.IntSlider(value=2, min=0, max=5, description="Pool depth")
    mode_w = w.ToggleButtons(options=["max", "avg"], value="avg", description="Mode")
    img_w = w.Image(format="png", layout=w.Layout(width=f"{width // 2}px", height="auto"))
    chart_w = w.Image(format="png", layout=w.Layout(width=f"{width // 2 - 20}px", height="auto"))
    info_w = w.HTML()
    fr = FigureRenderer(figsize=(4.5, 3.2), dpi=80)
    fr.fig.subplots_adjust(left=0.14, right=0.97, bottom=0.15, top=0.9)  # fixed: no layout engine per draw
    ax = fr.fig.add_subplot()
    depths = np.arange(6)
    (line_max,) = ax.plot(depths, np.zeros(6), "o-", label="max pooling", animated=True)
    (line_avg,) = ax.plot(depths, np.zeros(6), "s-", label="average pooling", animated=True)
    (marker,) = ax.plot([0], [0], "o", ms=14, mfc="none", mec="red", mew=2, animated=True)
    ax.axhline(0.25, color="grey", ls=":", lw=1)
    ax.set(xlabel="pooling depth (2×2 each)", ylabel="retained contrast", ylim=(0, 1.05), xlim=(-0.3, 5.3),
           title="nodule contrast left after pooling")
    ax.legend(loc="upper right", fontsize=8)
    # blitting: axes, ticks and legend are drawn once; an update redraws only the three data artists
    chart_png = _blit_chart(fr, (line_max, line_avg, marker))

    cache: dict = {}

    def render(*_):
        if cache.get("diameter") != diam_w.value:  # depth/mode changes reuse the pooled contrasts
            cache.update(diameter=diam_w.value, result=nodule_erasure(image, diam_w.value, 5))
        res = cache["result"]
        line_max.set_ydata(res["retained"]["max"])
        line_avg.set_ydata(res["retained"]["avg"])
        marker.set_data([depth_w.value], [res["retained"][mode_w.value][depth_w.value]])
        chart_w.value = chart_png()
        img_w.value = to_png(render_nodule(res, depth_w.value, mode_w.value))
        v = res["retained"][mode_w.value][depth_w.value]
        verdict = "erased (<25% contrast left)" if v < 0.25 else "still visible"
        info_w.value = (f"nodule {diam_w.value:g} px = {diam_w.value * 0.6465:.1f} mm · "
                        f"<b>{mode_w.value} pooling, depth {depth_w.value}</b> (one pixel = {2 ** depth_w.value}×"
                        f"{2 ** depth_w.value} input pixels): {v:.0%} of the nodule's contrast retained — {verdict}")
        return img_w.value

    for c in (diam_w, depth_w, mode_w):
        c.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([diam_w, depth_w, mode_w]), info_w, w.HBox([img_w, chart_w])])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"diameter": diam_w, "depth": depth_w, "mode": mode_w}  # type: ignore[attr-defined]
    return box


# --------------------------------------------------------------------------- 4. receptive field

def build_stack(blocks: int = 2, kernel: int = 3, convs_per_block: int = 1, dilation: int = 1,
                pool: bool = True) -> list[tuple]:
    """A conv/pool stack as ``ops.receptive_field`` layer tuples: ``blocks`` x (convs + optional 2x2 pool).

    >>> build_stack(2, 3)
    [('conv', 3, 1, 1), ('pool', 2, 2), ('conv', 3, 1, 1), ('pool', 2, 2)]
    """
    layers: list[tuple] = []
    for _ in range(blocks):
        layers += [("conv", kernel, 1, dilation)] * convs_per_block
        if pool:
            layers.append(("pool", 2, 2))
    return layers


def receptive_field_compute(layers: Sequence[Any], image_size: int = 512, target: tuple[int, int] = (294, 173),
                            spacing_mm: float = 0.6465) -> dict:
    """Receptive field of the output pixel nearest to ``target`` (row, col) for a layer stack.

    Returns ``{"ok", "message", "table" (list of ReceptiveField), "out_size", "pixel" (output row, col),
    "centre" (input row, col), "size_mm"}``; an empty stack or one that shrinks the image to
    nothing gives ``ok=False``.
    """
    try:
        if not layers:
            raise ValueError("the stack is empty: add at least one conv or pool layer")
        table = ops.receptive_field_table(layers, input_size=image_size)
        n = image_size
        for layer in layers:
            kind, k, s = layer[0], layer[1], layer[2] if len(layer) > 2 else (1 if layer[0] == "conv" else layer[1])
            d = layer[3] if len(layer) > 3 and kind == "conv" else 1
            n = ops.output_size(n, k, 0, s, d)
    except ValueError as exc:
        return {"ok": False, "message": _warn(f"Invalid stack: {exc}"), "table": [], "out_size": 0}
    rf = table[-1]
    pix = tuple(int(np.clip(round((t - rf.start) / rf.jump), 0, n - 1)) for t in target)
    centre = tuple(rf.start + p * rf.jump for p in pix)
    rows = "".join(f"<tr><td>{k + 1}</td><td>{html.escape(r.name)}</td><td>{r.size}</td><td>{r.jump}</td></tr>"
                   for k, r in enumerate(table))
    msg = (f"output {n}×{n}; one output pixel sees <b>{rf.size}×{rf.size}</b> input pixels "
           f"= {rf.size * spacing_mm:.1f} mm; neighbouring output pixels are {rf.jump} px apart"
           f"<table><tr><th>#</th><th>layer</th><th>RF (px)</th><th>jump</th></tr>{rows}</table>")
    return {"ok": True, "message": msg, "table": table, "out_size": n, "pixel": pix, "centre": centre,
            "size_mm": rf.size * spacing_mm}


_RF_COLOURS = [(255, 215, 0), (255, 140, 0), (255, 60, 60), (220, 40, 200), (120, 80, 255), (40, 180, 255),
               (40, 220, 120)]


def render_receptive_field(image: Any, result: dict) -> np.ndarray:
    """The CT slice with the receptive field of one output pixel (outer box) and of the units it is built
    from at each earlier layer (inner boxes, same centre), plus the centres of neighbouring output pixels."""
    img = _image(image)
    rgb = _grey_rgb(img)
    if not result["ok"]:
        return rgb
    cr, cc = result["centre"]
    for k, rf in enumerate(result["table"]):
        h = (rf.size - 1) / 2
        color = _RF_COLOURS[k % len(_RF_COLOURS)]
        draw_boxes(rgb, [(int(np.floor(cr - h)), int(np.floor(cc - h)), int(np.ceil(cr + h)), int(np.ceil(cc + h)))],
                   color=color, thickness=1 if k < len(result["table"]) - 1 else 2)
    jump = result["table"][-1].jump
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            r, c = int(round(cr + dr * jump)), int(round(cc + dc * jump))
            if 0 <= r < img.shape[0] and 0 <= c < img.shape[1]:
                rgb[max(r - 1, 0): r + 2, max(c - 1, 0): c + 2] = (0, 255, 255)
    return rgb


def receptive_field_explorer(image: str = "lung CT", width: int = 512) -> Any:
    """Build a conv/pool stack with sliders and see its receptive field on a CT slice (tumour centre)."""
    import ipywidgets as w

    blocks_w = w.IntSlider(value=2, min=1, max=6, description="Blocks")
    kernel_w = w.IntSlider(value=3, min=1, max=7, step=2, description="Kernel size")
    convs_w = w.IntSlider(value=1, min=1, max=3, description="Convs/block")
    dil_w = w.IntSlider(value=1, min=1, max=4, description="RF dilation")
    pool_w = w.Checkbox(value=True, description="2×2 max-pool after each block", indent=False)
    img_w = w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto"))
    info_w = w.HTML()

    def render(*_):
        layers = build_stack(blocks_w.value, kernel_w.value, convs_w.value, dil_w.value, pool_w.value)
        res = receptive_field_compute(layers)
        img_w.value = to_png(render_receptive_field(image, res))
        info_w.value = res["message"]
        return img_w.value

    for c in (blocks_w, kernel_w, convs_w, dil_w, pool_w):
        c.observe(render, names="value")
    render()
    box = w.HBox([w.VBox([blocks_w, kernel_w, convs_w, dil_w, pool_w, info_w], layout=w.Layout(width="380px")),
                  img_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"blocks": blocks_w, "kernel": kernel_w,  # type: ignore[attr-defined]
                    "convs": convs_w, "dilation": dil_w, "pool": pool_w}
    return box


# =========================================================================== round 2: one widget per section
# 02 §1 parameter counts · §3 flip · §4 output size · §6 1x1 channel mix · §7 im2col · §8 speed
# 03 §4 one dense neuron · §5 seed-model feature maps

def _blit_chart(fr: FigureRenderer, artists: Sequence[Any]):
    """Blitting for a chart built once: returns ``png()`` that redraws only ``artists`` (animated)."""
    fr.canvas.draw()
    background = fr.canvas.copy_from_bbox(fr.fig.bbox)

    def png() -> bytes:
        fr.canvas.restore_region(background)
        for a in artists:
            a.axes.draw_artist(a)
        return to_png(np.asarray(fr.canvas.buffer_rgba())[..., :3].copy())

    return png


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1024 or unit == "EB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} EB"  # pragma: no cover


# --------------------------------------------------------------------------- 02 §1 parameter counts

def param_count_compute(image_size: int = 256, kernel_size: int = 3, c_in: int = 1, c_out: int = 32,
                        units: int = 32) -> dict:
    """Parameters and float32 memory of a dense layer vs a conv layer on an ``image_size``² image.

    Three layers: ``Dense(units)`` on the flattened image (as in the notebook), a dense layer with
    the *same output* as the conv layer (``image_size² · c_out`` units: what it would take to get a
    feature map without sharing) and ``Conv2D(c_out, kernel_size)``. Returns ``{"ok", "message",
    "names", "params" (list of int), "bytes" (list, float32 weights)}``; invalid sizes are flagged.

    >>> r = param_count_compute(256, 3, 1, 32, 32); r["params"]
    [2097184, 137441050624, 320]
    """
    try:
        for name, v, lo in (("image_size", image_size, 1), ("kernel_size", kernel_size, 1), ("c_in", c_in, 1),
                            ("c_out", c_out, 1), ("units", units, 1)):
            if not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if kernel_size > image_size:
            raise ValueError(f"kernel_size {kernel_size} is larger than the image ({image_size} px): "
                             "no valid position")
    except ValueError as exc:
        return {"ok": False, "message": _warn(f"Invalid layer: {exc}"), "params": None, "bytes": None,
                "names": None}
    n_in = image_size * image_size * c_in
    params = [ops.dense_params(n_in, units), ops.dense_params(n_in, image_size * image_size * c_out),
              ops.conv_params(kernel_size, kernel_size, c_in, c_out)]
    names = [f"Dense({units})", f"Dense, same output\n({image_size}²·{c_out} units)",
             f"Conv2D({c_out}, {kernel_size}×{kernel_size})"]
    nbytes = [4 * p for p in params]
    msg = (f"input {image_size}×{image_size}×{c_in} = {n_in:,} numbers · "
           f"Dense({units}): <b>{params[0]:,}</b> parameters ({_fmt_bytes(nbytes[0])}) · "
           f"dense with the conv's output: <b>{params[1]:,}</b> ({_fmt_bytes(nbytes[1])}) · "
           f"Conv2D: <b>{params[2]:,}</b> ({_fmt_bytes(nbytes[2])}) = "
           f"{kernel_size}·{kernel_size}·{c_in}·{c_out} + {c_out}, whatever the image size")
    return {"ok": True, "message": msg, "names": names, "params": params, "bytes": nbytes}


def param_count_explorer(width: int = 560) -> Any:
    """Sliders for image size, kernel size and channels; a log-scale bar chart of parameter counts."""
    import ipywidgets as w

    size_w = w.IntSlider(value=256, min=16, max=1024, step=16, description="Image size")
    k_w = w.IntSlider(value=3, min=1, max=11, step=2, description="Kernel size")
    cin_w = w.IntSlider(value=1, min=1, max=64, description="Channels in")
    cout_w = w.IntSlider(value=32, min=1, max=256, description="Filters out")
    units_w = w.IntSlider(value=32, min=1, max=256, description="Dense units")
    chart_w = w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto"))
    info_w = w.HTML()
    fr = FigureRenderer(figsize=(7, 3.4), dpi=80)
    fr.fig.subplots_adjust(left=0.11, right=0.98, bottom=0.2, top=0.9)
    ax = fr.fig.add_subplot()
    ax.set_yscale("log")
    ax.set(ylim=(1, 1e19), ylabel="parameters (log scale)", title="parameters of one layer (float32: ×4 bytes)")
    bars = ax.bar([0, 1, 2], [1, 1, 1], color=["#d95f02", "#7570b3", "#1b9e77"], animated=True)
    ax.set_xticks([0, 1, 2], ["Dense(U)", "Dense, conv-sized output", "Conv2D"])
    for ref, label in ((1e9, "1 billion"), (2e12 / 4, "2 TB of float32")):
        ax.axhline(ref, color="grey", ls=":", lw=1)
        ax.text(2.45, ref * 1.5, label, ha="right", fontsize=8, color="grey")
    texts = [ax.text(x, 1, "", ha="center", va="bottom", fontsize=9, animated=True) for x in range(3)]
    png = _blit_chart(fr, list(bars) + texts)

    def render(*_):
        res = param_count_compute(size_w.value, k_w.value, cin_w.value, cout_w.value, units_w.value)
        if res["ok"]:
            for bar, t, p, b in zip(bars, texts, res["params"], res["bytes"]):
                bar.set_height(max(p, 1))
                t.set_position((bar.get_x() + bar.get_width() / 2, max(p, 1) * 1.3))
                t.set_text(f"{p:.3g}\n{_fmt_bytes(b)}")
        chart_w.value = png()
        info_w.value = res["message"]
        return chart_w.value

    for c in (size_w, k_w, cin_w, cout_w, units_w):
        c.observe(render, names="value")
    render()
    box = w.HBox([w.VBox([size_w, k_w, cin_w, cout_w, units_w, info_w], layout=w.Layout(width="400px")), chart_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"size": size_w, "kernel": k_w, "c_in": cin_w, "c_out": cout_w,  # type: ignore[attr-defined]
                    "units": units_w}
    return box


# --------------------------------------------------------------------------- 02 §3 correlation vs convolution

#: Crop of the CT slice shown by the flip explorer (rows, cols): the tumour and the lung around it.
FLIP_CROP = (200, 110, 160)
FLIP_KERNELS = ("off-centre 1", "sobel_x", "sobel_y", "emboss", "gaussian")


def flip_kernel(name: str, offset: int = 3) -> np.ndarray:
    """A kernel of the flip explorer. ``"off-centre 1"``: a (2·offset+1)² kernel of zeros with a single 1
    in the top-left corner -- correlation moves the image one way, true convolution the other.

    >>> flip_kernel("off-centre 1", 1).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    if name == "off-centre 1":
        if not isinstance(offset, (int, np.integer)) or not 1 <= offset <= 16:
            raise ValueError(f"offset must be an int in [1, 16] pixels, got {offset!r}")
        k = np.zeros((2 * offset + 1, 2 * offset + 1))
        k[0, 0] = 1.0
        return k
    if name not in ops.KERNELS:
        raise ValueError(f"kernel must be 'off-centre 1' or one of {sorted(ops.KERNELS)}, got {name!r}")
    return np.array(ops.KERNELS[name], dtype=np.float64)


def flip_compute(image: Any, kernel: Any, crop: tuple[int, int, int] = FLIP_CROP) -> dict:
    """Cross-correlation and true convolution ("same" size) of a crop of ``image`` with ``kernel``.

    Returns ``{"ok", "message", "x", "corr", "conv", "kernel", "flipped", "diff_corr_conv",
    "diff_flip", "diff_scipy", "symmetric", "antisymmetric"}``. ``diff_flip`` (conv vs correlation
    with the 180°-rotated kernel) and ``diff_scipy`` (vs ``scipy.signal.convolve2d``) should be ~0.
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
        return {"ok": False, "message": _warn(f"Invalid kernel: {exc}"), "x": x}
    flipped = k[::-1, ::-1]
    d_cc = float(np.abs(corr - conv).max())
    d_flip = float(np.abs(conv - ops.correlate2d(x, flipped, "same")).max())
    d_scipy = float(np.abs(conv - scipy.signal.convolve2d(x, k, "same")).max())
    sym, anti = bool(np.allclose(flipped, k)), bool(np.allclose(flipped, -k))
    kind = ("symmetric under the flip: convolution = correlation" if sym else
            "antisymmetric: convolution = −correlation" if anti else
            "neither symmetric nor antisymmetric: the two outputs differ")
    msg = (f"kernel {k.shape[0]}×{k.shape[1]}, {kind} · max |conv − corr| = {d_cc:.3g} · "
           f"max |conv − corr(flipped kernel)| = {d_flip:.1e} · "
           f"max |conv − scipy.signal.convolve2d| = {d_scipy:.1e}")
    return {"ok": True, "message": msg, "x": x, "corr": corr, "conv": conv, "kernel": k, "flipped": flipped,
            "diff_corr_conv": d_cc, "diff_flip": d_flip, "diff_scipy": d_scipy, "symmetric": sym,
            "antisymmetric": anti}


def _kernel_tile(k: np.ndarray, size: int) -> np.ndarray:
    """A small kernel drawn as a grid (signed: blue < 0 < red), with numbers when it is small enough."""
    m = max(float(np.abs(k).max()), 1e-9)
    red, blue = np.clip(k / m, 0, 1), np.clip(-k / m, 0, 1)
    fill = np.stack([255 - 150 * blue, 255 - 150 * (red + blue), 255 - 150 * red], axis=-1).astype(np.uint8)
    cell = max(size // max(k.shape), 4)
    if max(k.shape) <= 5:
        return _draw_grid(k, cell, fill, [(0, 0, 0)] * k.size, fmt="{:g}", font_size=max(10, cell // 3))
    img = np.repeat(np.repeat(fill, cell, 0), cell, 1).copy()
    img[::cell, :] = 160
    img[:, ::cell] = 160
    return img


def _titled(panel: np.ndarray, title: str, height: int = 24) -> np.ndarray:
    """``panel`` (RGB) with ``title`` written centred in a white strip above it."""
    strip = Image.new("RGB", (panel.shape[1], height), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    draw.text((panel.shape[1] / 2, height / 2), title, fill=(0, 0, 0), font=_font(15), anchor="mm")
    return np.concatenate([np.asarray(strip), panel], axis=0)


def render_flip(result: dict, zoom: int = 2, tile: int = 150) -> np.ndarray:
    """kernel / flipped kernel tiles | input crop | correlation | convolution (RGB, zoomed, titled)."""
    x = result["x"]
    panels = [_grey_rgb(x)]
    if result["ok"]:
        lo, hi = _display_range(result["kernel"], result["corr"])
        panels += [_grey_rgb(result["corr"], lo, hi), _grey_rgb(result["conv"], lo, hi)]
    panels = [np.repeat(np.repeat(p, zoom, 0), zoom, 1) for p in panels]
    if result["ok"]:
        tiles = [_kernel_tile(result["kernel"], tile), _kernel_tile(result["flipped"], tile)]
        col = np.full((panels[0].shape[0], tiles[0].shape[1], 3), 255, np.uint8)
        col[: tiles[0].shape[0]] = tiles[0]
        y = min(tiles[0].shape[0] + 20, col.shape[0] - tiles[1].shape[0])
        col[y: y + tiles[1].shape[0]] = tiles[1]
        panels = [col] + panels
    titles = (["kernel / flipped"] if result["ok"] else []) + ["CT crop", "correlation (CNN)", "true convolution"]
    return _hstack([_titled(p, t) for p, t in zip(panels, titles)], gap=10)


def flip_explorer(kernel: str = "off-centre 1", width: int = 940) -> Any:
    """Correlation (what CNNs compute) vs true convolution on a real CT crop, for an asymmetric kernel."""
    import ipywidgets as w

    kernel_w = w.Dropdown(options=list(FLIP_KERNELS), value=kernel, description="Kernel")
    off_w = w.IntSlider(value=6, min=1, max=12, description="Offset (px)")
    titles = w.HTML("<small>left: the kernel w (top) and the flipped kernel w[::-1, ::-1] (below); red &gt; 0, "
                    "blue &lt; 0</small>")
    img_w = w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto"))
    info_w = w.HTML()

    def render(*_):
        off_w.disabled = kernel_w.value != "off-centre 1"
        res = flip_compute("lung CT", flip_kernel(kernel_w.value, off_w.value))
        img_w.value = to_png(render_flip(res))
        info_w.value = res["message"] if not res["ok"] else f"<code>{html.escape(res['message'])}</code>"
        return img_w.value

    for c in (kernel_w, off_w):
        c.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([kernel_w, off_w]), info_w, titles, img_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"kernel": kernel_w, "offset": off_w}  # type: ignore[attr-defined]
    return box


# --------------------------------------------------------------------------- 02 §4 output size

def output_size_compute(n: int = 7, k: int = 3, padding: int = 0, stride: int = 1, dilation: int = 1) -> dict:
    """Where the kernel windows land on an ``n``-pixel axis (and, by symmetry, on an n×n image).

    Returns ``{"ok", "message", "formula", "n_out", "starts" (window start positions in the padded
    input), "taps" (tap offsets d·m), "k_eff", "covered" (bool per padded position: touched by some
    window), "unused" (input pixels never seen because of the stride)}``. Invalid settings (kernel
    larger than the padded input, stride 0, ...) give ``ok=False`` with the rule broken.

    >>> r = output_size_compute(7, 3, 0, 2); r["n_out"], r["starts"]
    (3, [0, 2, 4])
    """
    k_eff = dilation * (k - 1) + 1 if all(isinstance(v, (int, np.integer)) for v in (k, dilation)) else None
    formula = (f"n_out = ⌊(n + 2p − d(k−1) − 1) / s⌋ + 1 = "
               f"⌊({n} + 2·{padding} − {dilation}·({k}−1) − 1) / {stride}⌋ + 1")
    base = {"ok": False, "formula": formula, "n_out": None, "starts": [], "taps": [], "k_eff": k_eff,
            "covered": None, "unused": 0, "n": n, "padding": padding}
    try:
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"padding must be a non-negative int, got {padding!r}")
        n_out = ops.output_size(n, k, padding, stride, dilation)
    except (ValueError, TypeError) as exc:
        ok_num = all(isinstance(v, (int, np.integer)) for v in (n, k, padding, stride, dilation)) and stride > 0
        if ok_num:
            base["formula"] = formula + f" = {(n + 2 * padding - k_eff) / stride + 1:.3g} → no valid position"
        base["message"] = _warn(f"Invalid configuration: {exc}")
        return base
    starts = [i * stride for i in range(n_out)]
    taps = [m * dilation for m in range(k)]
    covered = np.zeros(n + 2 * padding, bool)
    for s0 in starts:
        covered[[s0 + t for t in taps]] = True
    unused = int((~covered[padding: padding + n]).sum())
    exact = (n + 2 * padding - k_eff) % stride == 0
    msg = (f"{n_out}×{n_out} output · the kernel spans k_eff = {dilation}·({k}−1)+1 = {k_eff} pixels · "
           + ("the last window ends exactly at the border" if exact else
              f"the floor drops {(n + 2 * padding - k_eff) % stride} pixel(s) at the end: no window fits there")
           + (f" · {unused} input pixel(s) per axis are never read (stride/dilation gaps)" if unused else ""))
    base.update(ok=True, message=msg, formula=formula + f" = {n_out}", n_out=n_out, starts=starts, taps=taps,
                covered=covered, unused=unused)
    return base


def render_output_size(result: dict, window: int = 0, cell: int = 32) -> np.ndarray:
    """Padded input grid (padding blue, pixels never read hatched red) with window ``window``'s taps in
    yellow and every window's top-left tap as a dot; the output grid with the matching pixel in red."""
    n, p = result["n"], result["padding"] if isinstance(result["padding"], (int, np.integer)) else 0
    n = n if isinstance(n, (int, np.integer)) and 0 < n <= 64 else 8
    m = n + 2 * p
    fill = np.full((m, m, 3), 235, np.uint8)
    if p:
        pad = np.ones((m, m), bool)
        pad[p:-p, p:-p] = False
        fill[pad] = (200, 220, 255)
    outline: list = []
    dots: list = []
    out_img = None
    if result["ok"]:
        cov = result["covered"]
        never = ~(cov[:, None] & cov[None, :])
        inner = np.zeros((m, m), bool)
        inner[p: p + n, p: p + n] = True
        fill[never & inner] = (255, 205, 205)
        n_out = result["n_out"]
        wi = int(min(max(window, 0), n_out * n_out - 1))
        i, j = divmod(wi, n_out)
        s = result["starts"]
        outline = [(s[i] + a, s[j] + b, (230, 160, 0)) for a in result["taps"] for b in result["taps"]]
        dots = [(r, c) for r in s for c in s]
        ofill = np.full((n_out, n_out, 3), 200, np.uint8)
        ofill[i, j] = (255, 120, 120)
        out_img = _draw_grid(np.full((n_out, n_out), np.nan), cell, ofill, [(0, 0, 0)] * n_out * n_out,
                             outline=[(i, j, (200, 0, 0))])
    grid = _draw_grid(np.full((m, m), np.nan), cell, fill, [(0, 0, 0)] * m * m, outline=outline).copy()
    for r, c in dots:
        cy, cx = r * cell + cell // 2, c * cell + cell // 2
        grid[cy - 2: cy + 3, cx - 2: cx + 3] = (40, 90, 220)
    return grid if out_img is None else _hstack([grid, out_img], gap=24)


def output_size_explorer(width: int = 760) -> Any:
    """n, k, padding, stride, dilation sliders: the output-size formula evaluated live, the input grid
    with every window position and the output grid. Invalid configurations are flagged."""
    import ipywidgets as w

    n_w = w.IntSlider(value=7, min=1, max=16, description="Input n")
    k_w = w.IntSlider(value=3, min=1, max=7, description="Kernel k")
    p_w = w.IntSlider(value=0, min=0, max=3, description="Padding p")
    s_w = w.IntSlider(value=2, min=1, max=4, description="Stride s")
    d_w = w.IntSlider(value=1, min=1, max=4, description="Dilation d")
    win_w = w.IntSlider(value=0, min=0, max=0, description="Window")
    img_w = w.Image(format="png", layout=w.Layout(max_width=f"{width}px", height="auto"))  # natural size
    info_w = w.HTML()

    def render(*_):
        res = output_size_compute(n_w.value, k_w.value, p_w.value, s_w.value, d_w.value)
        with win_w.hold_trait_notifications():
            win_w.max = max((res["n_out"] or 1) ** 2 - 1, 0)
        img_w.value = to_png(render_output_size(res, win_w.value))
        info_w.value = (f"<code>{html.escape(res['formula'])}</code><br>"
                        + (html.escape(res["message"]) if res["ok"] else res["message"]))
        return img_w.value

    for c in (n_w, k_w, p_w, s_w, d_w, win_w):
        c.observe(render, names="value")
    render()
    legend = w.HTML("<small>left: padded input (blue = zero padding, red = pixels no window reads), yellow = "
                    "the taps of the selected window, blue dots = where every window starts; right: the output "
                    "grid, red = the pixel that window computes</small>")
    box = w.VBox([w.HBox([n_w, k_w, p_w]), w.HBox([s_w, d_w, win_w]), info_w, legend, img_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"n": n_w, "k": k_w, "padding": p_w, "stride": s_w, "dilation": d_w,  # type: ignore[attr-defined]
                    "window": win_w}
    return box


# --------------------------------------------------------------------------- 02 §6 1x1 convolution

#: The three CT windows used as channels: (name, (window, level)) from medlab.display.PRESETS.
CHANNEL_WINDOWS = ("lung", "mediastinum", "bone")


@lru_cache(maxsize=4)
def ct_channels(index: int = LUNG_SLICE_INDEX) -> np.ndarray:
    """Slice ``index`` of the lung CT as a (512, 512, 3) float32 image: lung, mediastinum, bone windows."""
    from ..datasets import load_lung_ct
    from ..display import PRESETS

    ct = load_lung_ct()
    arr = ct.array
    if not 0 <= index < arr.shape[0]:
        raise ValueError(f"index must be a slice in [0, {arr.shape[0] - 1}], got {index}")
    out = np.stack([np.asarray(window_level(arr[index], *PRESETS[n]), np.float32) for n in CHANNEL_WINDOWS], -1)
    out.setflags(write=False)
    return out


def channel_mix_compute(x3: Any, weights: Sequence[float], bias: float = 0.0) -> dict:
    """A 1×1 convolution with 3 input channels and 1 filter: ``y = b + Σ_c w_c x_c`` at every pixel.

    Computed with :func:`medlab.ops.conv2d` and checked against ``tf.nn.conv2d``. Returns ``{"ok",
    "message", "y", "max_abs_diff", "lo", "hi"}`` where [lo, hi] is the range y can take for inputs in
    [0, 1] (used to display it); bad weights are flagged.
    """
    x = np.asarray(x3, dtype=np.float32)
    try:
        if x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"x3 must be (H, W, 3), got shape {x.shape}")
        wv = np.asarray(weights, dtype=np.float32).ravel()
        if wv.shape != (3,) or not np.all(np.isfinite(wv)) or not np.isfinite(bias):
            raise ValueError(f"weights must be 3 finite numbers and bias finite, got {list(weights)!r}, {bias!r}")
    except (ValueError, TypeError) as exc:
        return {"ok": False, "message": _warn(f"Invalid 1×1 filter: {exc}"), "y": None}
    w4 = wv.reshape(1, 1, 3, 1)
    y = ops.conv2d(x, w4, np.array([bias], np.float32))[..., 0]
    ref = _tf().nn.conv2d(x[None], w4, 1, "VALID").numpy()[0, :, :, 0] + np.float32(bias)
    diff = float(np.abs(y - ref).max())
    lo = bias + float(np.minimum(wv, 0).sum())
    hi = bias + float(np.maximum(wv, 0).sum())
    terms = " ".join(f"{v:+.2f}·{n}" for v, n in zip(wv, CHANNEL_WINDOWS))
    msg = (f"y = {bias:+.2f} {terms} at every pixel · max |ops.conv2d − tf.nn.conv2d| = {diff:.1e} · "
           f"shown on [{lo:.2f}, {hi:.2f}] (the range y can take)")
    return {"ok": True, "message": msg, "y": y, "max_abs_diff": diff, "lo": lo, "hi": hi}


def render_channel_mix(x3: np.ndarray, result: dict) -> np.ndarray:
    """The three channels (stacked, half size) | the 1×1 conv output (grey uint8)."""
    x = np.asarray(x3)
    small = [to_uint8(x[::2, ::2, c], 0.0, 1.0) for c in range(3)]
    h = x.shape[0]
    col = np.full((h, small[0].shape[1]), 255, np.uint8)
    th = (h - 2 * 4) // 3
    for c, s in enumerate(small):
        r0 = c * (th + 4)
        col[r0: r0 + th] = s[(s.shape[0] - th) // 2: (s.shape[0] - th) // 2 + th]
    if not result["ok"]:
        return col
    hi = result["hi"] if result["hi"] > result["lo"] else result["lo"] + 1
    out = to_uint8(result["y"], result["lo"], hi)
    return np.concatenate([col, np.full((h, 10), 255, np.uint8), out], axis=1)


def channel_mix_explorer(width: int = 800) -> Any:
    """The CT slice as 3 channels (lung, mediastinum, bone windows) mixed by a 1×1 conv: three weight sliders."""
    import ipywidgets as w

    x3 = ct_channels()
    sliders = [w.FloatSlider(value=v, min=-1.0, max=1.0, step=0.05, description=f"w {n}",
                             style={"description_width": "120px"})
               for v, n in zip((1.0, 0.0, 0.0), CHANNEL_WINDOWS)]
    bias_w = w.FloatSlider(value=0.0, min=-1.0, max=1.0, step=0.05, description="Bias",
                           style={"description_width": "120px"})
    img_w = w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto"))
    info_w = w.HTML()
    titles = w.HTML("<b>left: the three channels (lung, mediastinum, bone window; top to bottom, cropped) · "
                    "right: the 1×1 conv output y</b>")

    def render(*_):
        res = channel_mix_compute(x3, [s.value for s in sliders], bias_w.value)
        img_w.value = to_png(render_channel_mix(x3, res))
        info_w.value = res["message"] if not res["ok"] else f"<code>{html.escape(res['message'])}</code>"
        return img_w.value

    for c in sliders + [bias_w]:
        c.observe(render, names="value")
    render()
    box = w.VBox([w.HBox(sliders[:2]), w.HBox([sliders[2], bias_w]), info_w, titles, img_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"lung": sliders[0], "mediastinum": sliders[1], "bone": sliders[2],  # type: ignore[attr-defined]
                    "bias": bias_w}
    return box


# --------------------------------------------------------------------------- 02 §7 im2col

def im2col_compute(patch: Any, kernel_size: int = 3, stride: int = 1, pixel: int = 0) -> dict:
    """The im2col matrix of a small patch and the row of output pixel number ``pixel`` (row-major).

    A box kernel of ones/k² stands in for the weights: row · vec(w) must equal ``ops.conv2d``.
    Returns ``{"ok", "message", "cols", "out_shape", "row", "i", "j", "rows", "cols_idx" (the input
    rows/cols of the window), "dot", "conv"}``; a kernel larger than the patch is flagged.
    """
    x = np.asarray(patch, dtype=np.float64)
    try:
        if x.ndim != 2:
            raise ValueError(f"patch must be a 2-D array, got shape {x.shape}")
        cols = ops.im2col(x, kernel_size, stride)
        out_h = ops.output_size(x.shape[0], kernel_size, 0, stride)
        out_w = ops.output_size(x.shape[1], kernel_size, 0, stride)
    except (ValueError, TypeError) as exc:
        return {"ok": False, "message": _warn(f"Invalid configuration: {exc}"), "cols": None, "x": x}
    row = int(min(max(int(pixel), 0), cols.shape[0] - 1))
    i, j = divmod(row, out_w)
    w = np.full((kernel_size, kernel_size), 1.0 / kernel_size ** 2)
    dot = float(cols[row] @ w.ravel())
    conv = float(ops.conv2d(x, w, stride=stride)[i, j])
    msg = (f"X_col is {cols.shape[0]}×{cols.shape[1]} = ({out_h}·{out_w} output pixels) × ({kernel_size}·"
           f"{kernel_size} taps) · row {row} ↔ output pixel ({i}, {j}), window rows "
           f"{i * stride}..{i * stride + kernel_size - 1}, cols {j * stride}..{j * stride + kernel_size - 1} · "
           f"with a {kernel_size}×{kernel_size} "
           f"box kernel: row · vec(w) = {dot:.4f}, conv2d[{i}, {j}] = {conv:.4f}")
    return {"ok": True, "message": msg, "x": x, "cols": cols, "out_shape": (out_h, out_w), "row": row, "i": i,
            "j": j, "rows": list(range(i * stride, i * stride + kernel_size)),
            "cols_idx": list(range(j * stride, j * stride + kernel_size)), "dot": dot, "conv": conv}


def render_im2col(result: dict, cell: int = 40, height: int = 480) -> np.ndarray:
    """Input patch with the selected window outlined | the im2col matrix with the selected row outlined."""
    x = result["x"]
    lo, hi = float(x.min()), float(x.max())
    hi = hi if hi > lo else lo + 1.0
    fill, text = _fill_from(x, lo, hi)
    outline = []
    if result["ok"]:
        outline = [(r, c, (255, 200, 0)) for r in result["rows"] for c in result["cols_idx"]]
    left = _draw_grid(x, cell, fill, text, outline=outline)
    if not result["ok"]:
        return left
    cols = result["cols"]
    n_rows, n_cols = cols.shape
    ch = max(min(height // n_rows, 40), 4)
    cw = max(min(360 // n_cols, 40), 8)
    g = to_uint8(cols, lo, hi)
    mat = np.repeat(np.repeat(np.repeat(g[..., None], 3, 2), ch, 0), cw, 1).copy()
    if ch >= 6:
        mat[::ch, :] = 150
    mat[:, ::cw] = 150
    r = result["row"]
    mat[max(r * ch - 2, 0): r * ch + 2, :] = (255, 200, 0)
    mat[(r + 1) * ch - 2: (r + 1) * ch + 2, :] = (255, 200, 0)
    mat[r * ch: (r + 1) * ch, :3] = (255, 200, 0)
    mat[r * ch: (r + 1) * ch, -3:] = (255, 200, 0)
    return _hstack([left, mat], gap=24)


def im2col_explorer(width: int = 760) -> Any:
    """Kernel size / stride / output pixel on the 8×8 CT patch: the im2col matrix with the selected row
    highlighted and its window highlighted on the input."""
    import ipywidgets as w

    x = stepper_patch()
    k_w = w.IntSlider(value=3, min=1, max=9, description="Kernel size")
    s_w = w.IntSlider(value=1, min=1, max=3, description="Stride")
    pix_w = w.IntSlider(value=0, min=0, max=35, description="Output pixel", style={"description_width": "initial"})
    img_w = w.Image(format="png", layout=w.Layout(max_width=f"{width}px", height="auto"))  # natural size
    info_w = w.HTML()

    def render(*_):
        res = im2col_compute(x, k_w.value, s_w.value, pix_w.value)
        with pix_w.hold_trait_notifications():
            pix_w.max = max(res["cols"].shape[0] - 1, 0) if res["ok"] else 0
        img_w.value = to_png(render_im2col(res))
        info_w.value = res["message"] if not res["ok"] else f"<code>{html.escape(res['message'])}</code>"
        return img_w.value

    for c in (k_w, s_w, pix_w):
        c.observe(render, names="value")
    render()
    titles = w.HTML("<small>left: the 8×8 CT patch, yellow = the window of the selected output pixel; right: "
                    "X_col (one row per output pixel, one column per kernel tap; same grey scale as the patch), "
                    "yellow = the same window laid flat</small>")
    box = w.VBox([w.HBox([k_w, s_w, pix_w]), info_w, titles, img_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"kernel": k_w, "stride": s_w, "pixel": pix_w}  # type: ignore[attr-defined]
    return box


# --------------------------------------------------------------------------- 02 §8 measured speed

#: conv2d_naive is only run when out_pixels · k² stays at or below this many multiply-adds (~0.1-0.2 s).
NAIVE_MAX_MACS = 250_000


def speed_compute(image: Any, size: int = 128, kernel_size: int = 3, repeats: int = 3,
                  naive_max_macs: int = NAIVE_MAX_MACS) -> dict:
    """Time ``ops.conv2d`` and ``tf.nn.conv2d`` (median of ``repeats``) on a ``size``² crop of ``image`` with
    a ``kernel_size``² Gaussian-like kernel, and ``ops.conv2d_naive`` once if the work is small enough.

    Returns ``{"ok", "message", "names", "ms" (list, None where skipped), "macs", "max_abs_diff"}``.
    """
    img = _image(image)
    try:
        if not isinstance(size, (int, np.integer)) or not 8 <= size <= img.shape[0]:
            raise ValueError(f"size must be an int in [8, {img.shape[0]}], got {size!r}")
        if not isinstance(kernel_size, (int, np.integer)) or not 1 <= kernel_size <= size:
            raise ValueError(f"kernel_size must be an int in [1, size={size}], got {kernel_size!r}")
        if not isinstance(repeats, (int, np.integer)) or repeats < 1:
            raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    except ValueError as exc:
        return {"ok": False, "message": _warn(f"Invalid measurement: {exc}"), "ms": None}
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
    naive_txt = (f"conv2d_naive {ms_naive:.1f} ms (one run, {ms_naive / ms_np:,.0f}× ops.conv2d)" if ms_naive
                 else f"conv2d_naive skipped ({macs:,} multiply-adds > {naive_max_macs:,}: "
                      f"it would take ~{macs * 0.5e-6:.1f} s or more)")
    msg = (f"{size}×{size} crop, {kernel_size}×{kernel_size} kernel, {macs:,} multiply-adds · ops.conv2d "
           f"{ms_np:.2f} ms · tf.nn.conv2d {ms_tf:.2f} ms (median of {repeats}) · {naive_txt} · "
           f"max |difference| = {diff:.1e}")
    return {"ok": True, "message": msg, "names": ["conv2d_naive", "ops.conv2d", "tf.nn.conv2d"],
            "ms": [ms_naive, ms_np, ms_tf], "macs": macs, "max_abs_diff": diff}


def speed_explorer(width: int = 520) -> Any:
    """Image size / kernel size sliders and a *Measure* button: timings of the loops, numpy and TensorFlow.

    A measurement is button-triggered because timing honestly (warm-up + a median of repeats, plus the
    Python loops) takes longer than one slider update may (≤100 ms); the loops only run for small sizes.
    """
    import ipywidgets as w

    size_w = w.IntSlider(value=128, min=16, max=512, step=16, description="Image size")
    k_w = w.IntSlider(value=3, min=1, max=15, step=2, description="Kernel size")
    btn = w.Button(description="Measure", button_style="primary", icon="clock")
    chart_w = w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto"))
    info_w = w.HTML()
    fr = FigureRenderer(figsize=(6, 3), dpi=80)
    fr.fig.subplots_adjust(left=0.13, right=0.98, bottom=0.12, top=0.88)
    ax = fr.fig.add_subplot()
    ax.set_yscale("log")
    ax.set(ylim=(1e-3, 1e5), ylabel="ms (log scale)", title="one convolution, measured here (dotted: 100 ms)")
    bars = ax.bar([0, 1, 2], [1e-3] * 3, color=["#d95f02", "#1b9e77", "#7570b3"], animated=True)
    ax.set_xticks([0, 1, 2], ["conv2d_naive (loops)", "ops.conv2d (numpy)", "tf.nn.conv2d"])
    ax.axhline(100, color="grey", ls=":", lw=1)
    texts = [ax.text(x, 1e-3, "", ha="center", va="bottom", fontsize=9, animated=True) for x in range(3)]
    png = _blit_chart(fr, list(bars) + texts)

    def measure(*_):
        btn.disabled = True
        try:
            res = speed_compute("lung CT", size_w.value, k_w.value)
        finally:
            btn.disabled = False
        if res["ok"]:
            for bar, t, ms in zip(bars, texts, res["ms"]):
                h = ms if ms is not None else 1e-3
                bar.set_height(h)
                t.set_position((bar.get_x() + bar.get_width() / 2, h * 1.3))
                t.set_text(f"{ms:.2f} ms" if ms is not None else "skipped")
        chart_w.value = png()
        info_w.value = res["message"] if not res["ok"] else html.escape(res["message"])
        return chart_w.value

    def changed(*_):
        n_out = size_w.value - k_w.value + 1
        macs = n_out * n_out * k_w.value ** 2
        info_w.value = (f"<i>{size_w.value}×{size_w.value}, {k_w.value}×{k_w.value}: {macs:,} multiply-adds"
                        f"{'' if macs <= NAIVE_MAX_MACS else ' (too many for the loops: they will be skipped)'}"
                        f" — press <b>Measure</b></i>")

    btn.on_click(measure)
    for c in (size_w, k_w):
        c.observe(changed, names="value")
    measure()
    box = w.VBox([w.HBox([size_w, k_w, btn]), info_w, chart_w])
    box.render = measure  # type: ignore[attr-defined]
    box.controls = {"size": size_w, "kernel": k_w, "measure": btn}  # type: ignore[attr-defined]
    return box


# --------------------------------------------------------------------------- 03 §4 one dense neuron

DENSE_TEMPLATES = ("pneumonia − normal (class means)", "centre of the chest (Gaussian)", "left − right half",
                   "random (seed 0)")


@lru_cache(maxsize=1)
def pneumonia_data() -> dict:
    """PneumoniaMNIST train/test images as float32 in [0, 1] and labels (0 normal, 1 pneumonia)."""
    from ..datasets import load_pneumoniamnist

    out = {}
    for split in ("train", "test"):
        x, y = load_pneumoniamnist(split)
        out[split] = (x.astype(np.float32) / 255.0, y)
    return out


@lru_cache(maxsize=8)
def dense_template(name: str) -> np.ndarray:
    """A 28×28 weight template for one dense neuron, scaled so that w·x has standard deviation 1 over the
    PneumoniaMNIST training images (so a bias of ±1 moves the threshold by one spread).

    The class-means template is ``mean(pneumonia) − mean(normal)`` of the training split -- the simplest
    "learned" neuron.
    """
    xtr, ytr = pneumonia_data()["train"]
    yy, xx = np.mgrid[0:28, 0:28]
    if name == DENSE_TEMPLATES[0]:
        t = xtr[ytr == 1].mean(0) - xtr[ytr == 0].mean(0)
    elif name == DENSE_TEMPLATES[1]:
        t = np.exp(-((yy - 14.0) ** 2 + (xx - 13.5) ** 2) / (2 * 5.0 ** 2))
    elif name == DENSE_TEMPLATES[2]:
        t = np.where(xx < 14, 1.0, -1.0)
    elif name == DENSE_TEMPLATES[3]:
        t = np.random.default_rng(0).standard_normal((28, 28))
    else:
        raise ValueError(f"template must be one of {list(DENSE_TEMPLATES)}, got {name!r}")
    t = np.asarray(t, np.float64)
    sd = float((xtr.reshape(len(xtr), -1) @ t.ravel()).std())
    out = (t / sd).astype(np.float32)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=8)
def dense_template_mean(name: str) -> float:
    """Mean of w·x over the PneumoniaMNIST training images for template ``name`` (its spread is 1)."""
    xtr, _ = pneumonia_data()["train"]
    return float((xtr.reshape(len(xtr), -1) @ dense_template(name).ravel()).mean())


def dense_neuron_compute(image: Any, weights: Any, bias: float = 0.0, test_scores: Any = None,
                         test_labels: Any = None) -> dict:
    """One dense neuron on one flattened image: ``z = w·x + b``, ``p = sigmoid(z)``, and the products w⊙x.

    With ``test_scores`` (w·x of every test image) and ``test_labels`` it also reports how this neuron,
    thresholded at p = 0.5, does on the whole test split. Returns ``{"ok", "message", "z", "p",
    "products", "accuracy", "positive_rate"}``; mismatched shapes or non-finite values are flagged.
    """
    x = np.asarray(image, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    try:
        if x.shape != w.shape:
            raise ValueError(f"weights shape {w.shape} must match the image shape {x.shape}")
        if not (np.all(np.isfinite(w)) and np.isfinite(bias)):
            raise ValueError("weights and bias must be finite")
    except (ValueError, TypeError) as exc:
        return {"ok": False, "message": _warn(f"Invalid neuron: {exc}"), "products": None}
    z = float(ops.dense(x.ravel(), w.ravel()[:, None], np.array([bias]))[0])
    p = float(ops.sigmoid(np.array(z)))
    acc = rate = None
    extra = ""
    if test_scores is not None and test_labels is not None:
        pred = (np.asarray(test_scores) + bias) > 0  # sigmoid(z) > 0.5  <=>  z > 0
        lab = np.asarray(test_labels)
        acc, rate = float(np.mean(pred == lab)), float(np.mean(pred))
        extra = (f"<br>on all {len(lab)} test images (p &gt; 0.5 ⇒ pneumonia): {rate:.0%} called pneumonia, "
                 f"accuracy {acc:.0%} (always saying pneumonia: {np.mean(lab):.0%})")
    msg = (f"z = w·x + b = {z - bias:+.3f} {bias:+.2f} = <b>{z:+.3f}</b> · p = sigmoid(z) = <b>{p:.3f}</b>"
           f" → {'pneumonia' if p > 0.5 else 'normal'}" + extra)
    return {"ok": True, "message": msg, "z": z, "p": p, "products": x * w, "accuracy": acc, "positive_rate": rate}


def _diverging(a: np.ndarray, m: float) -> np.ndarray:
    """Signed values as RGB: blue < 0 (white) < red, saturating at ±m."""
    v = np.clip(a / (m if m > 0 else 1.0), -1, 1)
    red, blue = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    return np.stack([255 - 200 * blue, 255 - 200 * (red + blue), 255 - 200 * red], -1).astype(np.uint8)


def render_dense_neuron(image: np.ndarray, weights: np.ndarray, result: dict, zoom: int = 8) -> np.ndarray:
    """image | weights (blue − / red +) | element-wise product w⊙x, each 28×28 zoomed."""
    panels = [_grey_rgb(image, 0.0, 1.0)]
    if result["ok"]:
        panels += [_diverging(np.asarray(weights), float(np.abs(weights).max())),
                   _diverging(result["products"], float(np.abs(weights).max()))]
    return _hstack([np.repeat(np.repeat(p, zoom, 0), zoom, 1) for p in panels], gap=12)


def dense_neuron_explorer(width: int = 560) -> Any:
    """A single dense neuron on PneumoniaMNIST test images: weight template, bias → w·x + b, sigmoid; a chart
    of z for every test image by class (the bias slides both histograms past the 0.5 threshold)."""
    import ipywidgets as w

    xte, yte = pneumonia_data()["test"]
    flat = xte.reshape(len(xte), -1)
    idx_w = w.IntSlider(value=0, min=0, max=len(xte) - 1, description="Image #")
    tmpl_w = w.Dropdown(options=list(DENSE_TEMPLATES), value=DENSE_TEMPLATES[0], description="Weights",
                        layout=w.Layout(width="380px"))
    bias_w = w.FloatSlider(value=0.0, min=-15.0, max=15.0, step=0.25, description="Bias b")
    img_w = w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto"))
    info_w = w.HTML()
    titles = w.HTML("<div style='display:flex;justify-content:space-around;width:%dpx'><b>image x</b>"
                    "<b>weights w (blue −, red +)</b><b>w ⊙ x (sum = w·x)</b></div>" % width)
    chart_w = w.Image(format="png", layout=w.Layout(width="420px", height="auto"))
    fr = FigureRenderer(figsize=(5.2, 2.9), dpi=80)
    fr.fig.subplots_adjust(left=0.1, right=0.97, bottom=0.16, top=0.88)
    ax = fr.fig.add_subplot()
    zz = np.linspace(-8, 8, 200)
    ax.plot(zz, ops.sigmoid(zz), color="black", lw=1.5, label="p = sigmoid(z)")
    ax.axvline(0, color="grey", ls=":", lw=1)
    ax.set(xlim=(-8, 8), ylim=(0, 1.05), xlabel="z = w·x + b", title="all test images: histogram of z")
    edges = np.linspace(-8, 8, 41)
    (h_norm,) = ax.step(edges[:-1], np.zeros(40), where="post", color="#1f77b4", label="normal", animated=True)
    (h_pneu,) = ax.step(edges[:-1], np.zeros(40), where="post", color="#d62728", label="pneumonia",
                        animated=True)
    (mark,) = ax.plot([0], [0.5], "o", ms=10, mfc="none", mec="orange", mew=2.5, label="this image",
                      animated=True)
    ax.legend(loc="upper left", fontsize=7)
    chart_png = _blit_chart(fr, [h_norm, h_pneu, mark])
    scores: dict = {}

    def render(*_):
        t = dense_template(tmpl_w.value)
        if tmpl_w.value not in scores:
            scores[tmpl_w.value] = flat @ t.ravel()
        res = dense_neuron_compute(xte[idx_w.value], t, bias_w.value, scores[tmpl_w.value], yte)
        img_w.value = to_png(render_dense_neuron(xte[idx_w.value], t, res))
        z_all = np.clip(scores[tmpl_w.value] + bias_w.value, -7.99, 7.99)
        for line, cls in ((h_norm, 0), (h_pneu, 1)):
            hist = np.histogram(z_all[yte == cls], edges)[0].astype(float)
            line.set_ydata(0.95 * hist / max(hist.max(), 1))
        if res["ok"]:
            mark.set_data([np.clip(res["z"], -7.9, 7.9)], [res["p"]])
        chart_w.value = chart_png()
        label = "pneumonia" if yte[idx_w.value] == 1 else "normal"
        info_w.value = f"test image {idx_w.value}, true label: <b>{label}</b> · " + res["message"]
        return img_w.value

    def centre_bias(*_):
        # a new template starts with the bias that puts the threshold at the mean training score
        b = -round(4 * dense_template_mean(tmpl_w.value)) / 4
        if bias_w.value == b:
            render()
        bias_w.value = b

    tmpl_w.observe(centre_bias, names="value")
    for c in (idx_w, bias_w):
        c.observe(render, names="value")
    centre_bias()
    box = w.VBox([w.HBox([idx_w, tmpl_w]), bias_w, info_w, w.HBox([w.VBox([titles, img_w]), chart_w])])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"image": idx_w, "template": tmpl_w, "bias": bias_w}  # type: ignore[attr-defined]
    return box


# --------------------------------------------------------------------------- 03 §5 seed model feature maps

def feature_maps_compute(model: Any, x: Any, steps: Sequence[tuple[str, np.ndarray]] | None = None) -> dict:
    """One forward pass of a Keras Sequential model with :func:`medlab.ops.forward_sequential`, kept for
    rendering: ``{"ok", "message", "names", "outputs" (per layer, first image), "params", "x"}``.

    Pass ``steps`` (the ``return_all=True`` result) to reuse a forward pass already computed.
    """
    xa = np.asarray(x, dtype=np.float64)
    try:
        if xa.ndim == 3:
            xa = xa[None]
        if xa.ndim != 4:
            raise ValueError(f"x must be (N, H, W, C) or (H, W, C), got shape {xa.shape}")
        if steps is None:
            steps = ops.forward_sequential(model, xa, return_all=True)
        if len(steps) != len(model.layers):
            raise ValueError(f"steps has {len(steps)} entries but the model has {len(model.layers)} layers")
    except (ValueError, TypeError) as exc:
        return {"ok": False, "message": _warn(f"Cannot run the model: {exc}")}
    names = [name for name, _ in steps]
    outputs = [np.asarray(o)[0] for _, o in steps]
    params = [int(layer.count_params()) for layer in model.layers]
    return {"ok": True, "message": "", "names": names, "outputs": outputs, "params": params, "x": xa[0]}


def render_feature_map(result: dict, layer: int, channel: int, size: int = 384) -> tuple[np.ndarray, str]:
    """Input | the chosen layer's channel, both nearest-scaled to ``size`` px; and an HTML readout.

    Feature maps are shown min–max scaled per map. Layers without spatial maps (Flatten, Dense) show
    their vector as a strip. Out-of-range choices are flagged, not raised.
    """
    inp = result["x"][..., 0]
    f_in = size / inp.shape[0]
    left = _grey_rgb(inp[np.minimum((np.arange(size) / f_in).astype(int), inp.shape[0] - 1)][
        :, np.minimum((np.arange(size) / f_in).astype(int), inp.shape[1] - 1)], float(inp.min()), float(inp.max()))
    if not 0 <= layer < len(result["outputs"]):
        return left, _warn(f"layer must be in [0, {len(result['outputs']) - 1}], got {layer}")
    out = result["outputs"][layer]
    name, params = result["names"][layer], result["params"][layer]
    shape = "×".join(str(s) for s in out.shape)
    if out.ndim == 3:
        if not 0 <= channel < out.shape[2]:
            return left, _warn(f"channel must be in [0, {out.shape[2] - 1}] for {name}, got {channel}")
        fm = out[..., channel]
        rows = np.minimum((np.arange(size) * fm.shape[0] / size).astype(int), fm.shape[0] - 1)
        cols = np.minimum((np.arange(size) * fm.shape[1] / size).astype(int), fm.shape[1] - 1)
        lo, top = float(fm.min()), float(fm.max())
        hi = float(np.percentile(fm, 99.5))  # a few very bright pixels would make the rest black
        hi = hi if hi > lo else (top if top > lo else lo + 1)
        right = _grey_rgb(fm[rows][:, cols], lo, hi)
        zero = float(np.mean(fm <= 0))
        txt = (f"<b>{html.escape(name)}</b>: output {shape}, {params:,} parameters · channel {channel}: "
               f"values [{lo:.3g}, {top:.3g}] (black = min, white ≥ 99.5th percentile {hi:.3g}), {zero:.0%} ≤ 0")
    elif out.size > 1:
        v = out.ravel()
        side = int(np.ceil(np.sqrt(v.size)))
        sq = np.full(side * side, np.nan)
        sq[: v.size] = v
        sq = sq.reshape(side, side)
        idx = np.minimum((np.arange(size) * side / size).astype(int), side - 1)
        lo, top = float(v.min()), float(v.max())
        hi = float(np.percentile(v, 99.5))
        hi = hi if hi > lo else (top if top > lo else lo + 1)
        right = _grey_rgb(np.nan_to_num(sq, nan=lo)[idx][:, idx], lo, hi)
        txt = (f"<b>{html.escape(name)}</b>: output {shape}, {params:,} parameters · {v.size:,} numbers in "
               f"[{lo:.3g}, {top:.3g}], drawn row by row as a {side}×{side} square (channels fastest: "
               "neighbouring values are different channels of one pixel)")
    else:
        val = float(out.ravel()[0])
        right = np.full((size, size, 3), 255, np.uint8)
        y0, y1 = size // 2 - 30, size // 2 + 30
        right[y0:y1, 10: size - 10] = 225
        right[y0:y1, 10: 10 + int(round(np.clip(val, 0, 1) * (size - 20)))] = (217, 95, 2)
        right[y0 - 2: y0, 10: size - 10] = right[y1: y1 + 2, 10: size - 10] = 120
        mid = 10 + (size - 20) // 2
        right[y0 - 12: y1 + 12, mid - 1: mid + 1] = 0
        txt = (f"<b>{html.escape(name)}</b>: output {shape}, {params:,} parameters · value <b>{val:.4f}</b> "
               "(bar: 0 → 1, black line = 0.5; an untrained model)")
    return _hstack([left, right], gap=12), txt


def feature_map_explorer(model: Any, x: Any, steps: Sequence[tuple[str, np.ndarray]] | None = None,
                         width: int = 800) -> Any:
    """Layer dropdown + channel slider over a forward pass of ``model`` on ``x`` computed ONCE (or given as
    ``steps``); each update only re-renders the cached maps."""
    import ipywidgets as w

    res = feature_maps_compute(model, x, steps)
    info_w = w.HTML()
    img_w = w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto"))
    if not res["ok"]:
        info_w.value = res["message"]
        return w.VBox([info_w, img_w])
    options = [(f"{k + 1}: {n} {tuple(o.shape)}", k) for k, (n, o) in enumerate(zip(res["names"], res["outputs"]))]
    layer_w = w.Dropdown(options=options, value=0, description="Layer", layout=w.Layout(width="380px"))
    chan_w = w.IntSlider(value=0, min=0, max=max(res["outputs"][0].shape[-1] - 1, 0), description="Channel")

    def render(*_):
        out = res["outputs"][layer_w.value]
        with chan_w.hold_trait_notifications():
            chan_w.max = out.shape[-1] - 1 if out.ndim == 3 else 0
            chan_w.disabled = out.ndim != 3
        img, txt = render_feature_map(res, layer_w.value, chan_w.value)
        img_w.value = to_png(img)
        info_w.value = txt
        return img_w.value

    for c in (layer_w, chan_w):
        c.observe(render, names="value")
    render()
    titles = w.HTML("<div style='display:flex;justify-content:space-around;width:%dpx'><b>input</b>"
                    "<b>feature map of the chosen layer and channel</b></div>" % width)
    box = w.VBox([w.HBox([layer_w, chan_w]), info_w, titles, img_w])
    box.render = render  # type: ignore[attr-defined]
    box.controls = {"layer": layer_w, "channel": chan_w}  # type: ignore[attr-defined]
    box.result = res  # type: ignore[attr-defined]
    return box
