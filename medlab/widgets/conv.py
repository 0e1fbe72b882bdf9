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
from PIL import Image, ImageDraw, ImageFont

from .. import ops
from ..display import window_level
from ._render import FigureRenderer, draw_boxes, to_png, to_uint8

__all__ = [
    "lung_slice", "chest_xray", "STEPPER_PATCH_ORIGIN", "stepper_patch", "NODULE_CENTRE",
    "conv_step", "render_conv_step", "conv_stepper",
    "kernel_explorer_compute", "render_kernel_explorer", "kernel_explorer",
    "pooling_compute", "render_pooling", "pooling_explorer",
    "nodule_erasure", "render_nodule", "nodule_pooling_explorer",
    "build_stack", "receptive_field_compute", "render_receptive_field", "receptive_field_explorer",
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


@lru_cache(maxsize=4)
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed bitmap font
        return ImageFont.load_default()


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
    fr.canvas.draw()
    background = fr.canvas.copy_from_bbox(fr.fig.bbox)

    def chart_png() -> bytes:
        fr.canvas.restore_region(background)
        for artist in (line_max, line_avg, marker):
            ax.draw_artist(artist)
        return to_png(np.asarray(fr.canvas.buffer_rgba())[..., :3].copy())

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
