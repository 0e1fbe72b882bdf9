"""Widgets of notebook 03 (pooling and the network), each a pure frame function plus control specs.

* :func:`pooling_explorer` (03 §2) -- size/stride/mode, which pixels survive, translation invariance
  (:func:`pooling_explorer_compute` over :func:`medlab.ops.pooling_compute`);
* :func:`nodule_pooling_explorer` (03 §2) -- when repeated pooling erases a small nodule
  (:func:`medlab.ops.nodule_erasure`);
* :func:`receptive_field_explorer` (03 §3) -- a conv/pool stack drawn as a receptive field
  (:func:`receptive_field_compute`);
* :func:`dense_neuron_explorer` (03 §4) -- one dense neuron on PneumoniaMNIST (:func:`dense_neuron_compute`);
* :func:`feature_map_explorer` (03 §5) -- the seed model's feature maps, forward pass computed once
  (:func:`feature_maps_compute`).

Sizes are given in millimetres only where the data states a pixel spacing (:func:`medlab.samples.pixel_spacing`:
the CT does, the chest X-ray PNG does not -- there they are pixels).

>>> r = receptive_field_compute([("conv", 3), ("pool", 2)], image_size=64, spacing_mm=None)
>>> r["ok"], r["table"][-1].size, r["size_mm"], r["message"].split(";")[0]
(True, 4, None, 'output 31×31')
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from .. import ops
from ..render import Chart, diverging, draw_boxes, hstack, to_rgb, zoom
from ..samples import DENSE_TEMPLATES, NODULE_CENTRE, dense_template, dense_template_mean, pixel_spacing
from ..samples import pneumonia_data
from ..i18n import t
from ..i18n import t as tr   # frame functions where t is a local name
from ._explorer import Check, Choice, Float, Frame, Int, esc, explorer, html_table, register, result
from .convolution import _image, _tf

__all__ = [
    "pooling_explorer_compute", "render_pooling", "render_shift", "pooling_explorer",
    "render_nodule", "nodule_pooling_explorer",
    "receptive_field_compute", "render_receptive_field", "receptive_field_explorer",
    "dense_neuron_compute", "render_dense_neuron", "dense_neuron_explorer",
    "feature_maps_compute", "render_feature_map", "feature_map_explorer",
]


def _spacing(image: Any, spacing_mm: Any) -> tuple[float, float] | None:
    """(row mm, col mm) from the data for a named image, else the caller's ``spacing_mm`` (None: unknown)."""
    if isinstance(image, str):
        return pixel_spacing(image)
    if spacing_mm is None:
        return None
    rc = tuple(float(v) for v in np.broadcast_to(np.asarray(spacing_mm, dtype=np.float64), (2,)))
    if not all(np.isfinite(v) and v > 0 for v in rc):
        raise ValueError(f"spacing_mm must be a positive pixel size in mm (or (row, col)), got {spacing_mm!r}")
    return rc


def _length(px: float, spacing: tuple[float, float] | None) -> str:
    """``"12 px = 7.8 mm"`` where the spacing is known, else ``"12 px"``."""
    if spacing is None:
        return f"{px:g} px"
    if abs(spacing[0] - spacing[1]) < 1e-9:
        return f"{px:g} px = {px * spacing[0]:.1f} mm"
    return t("{0:g} px = {1:.1f} mm (rows) × {2:.1f} mm (cols)").format(px, px * spacing[0], px * spacing[1])


_NO_SPACING = "the image states no pixel spacing, so sizes are in pixels"


# --------------------------------------------------------------------------- 03 §2 pooling explorer

def _tf_pool(img: np.ndarray, size: int, stride: int, mode: str) -> np.ndarray:
    tf = _tf()
    fn = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    return fn(img[None, :, :, None], size, stride, "VALID").numpy()[0, :, :, 0]


@functools.lru_cache(maxsize=64)
def _tf_pooled(image: str, size: int, stride: int, mode: str) -> np.ndarray:
    """TensorFlow's pooling of a named teaching image, cached: on the CPU it takes 40-60 ms for an 8x8 window on
    the 512x512 slice (our numpy pooling 4 ms), and the shift and image controls never change it."""
    ref = _tf_pool(_image(image), size, stride, mode)
    ref.flags.writeable = False
    return ref


def pooling_explorer_compute(image: Any, size: int = 2, stride: int | None = None, mode: str = "max",
                             shift: int = 1) -> dict:
    """:func:`medlab.ops.pooling_compute` checked against ``tf.nn.max_pool2d`` / ``avg_pool2d``: the result
    contract plus every key of ``ops.pooling_compute`` and ``max_abs_diff_tf``; bad settings are flagged."""
    img = _image(image)
    try:
        r = ops.pooling_compute(img, size, stride, mode, shift)
    except (ValueError, TypeError) as exc:
        return result(False, f"Invalid pooling: {exc}", pooled=None)
    ref = (_tf_pooled(image, size, r["stride"], r["mode"]) if isinstance(image, str)
           else _tf_pool(img, size, r["stride"], r["mode"]))
    diff = float(np.abs(r["pooled"] - ref).max())
    p = r["pooled"]
    msg = (t("{0}×{1} → {2}×{3} ({4} {5}×{5}, stride {6}) · max |ours − tf.nn.{7}_pool2d| = {8:.1e}").format(
               img.shape[0], img.shape[1], p.shape[0], p.shape[1], t(r["mode"]), size, r["stride"], r["mode"], diff)
           + "\n" + t("shift by {0} px: mean |Δ| raw {1:.4f} → pooled {2:.4f}; {3:.0%} of pooled values "
                      "unchanged").format(shift, r["raw_change"], r["pooled_change"], r["unchanged_fraction"]))
    return result(True, msg, max_abs_diff_tf=diff, **r)


def render_pooling(image: Any, res: dict, crop: tuple[int, int] = (262, 160), crop_size: int = 24,
                   factor: int = 12) -> np.ndarray:
    """Pooled image (nearest-upscaled to the input size) | zoomed crop with the surviving pixels in red and
    the grid of pooling windows in blue."""
    img = _image(image)
    r0, c0 = crop
    rgb = to_rgb(img[r0: r0 + crop_size, c0: c0 + crop_size], 0.0, 1.0)
    if not res["ok"]:
        return hstack([to_rgb(img, 0.0, 1.0), zoom(rgb, factor)])
    if res["winners"] is not None:
        rgb[res["winners"][r0: r0 + crop_size, c0: c0 + crop_size]] = (230, 40, 40)
    zoomed = zoom(rgb, factor)
    s = res["stride"]
    for r in range((-r0) % s, crop_size, s):  # window starts every `stride` pixels from the image origin
        zoomed[r * factor, :] = (90, 160, 255)
    for c in range((-c0) % s, crop_size, s):
        zoomed[:, c * factor] = (90, 160, 255)
    p = res["pooled"]
    rows = np.minimum((np.arange(img.shape[0]) / (img.shape[0] / p.shape[0])).astype(int), p.shape[0] - 1)
    cols = np.minimum((np.arange(img.shape[1]) / (img.shape[1] / p.shape[1])).astype(int), p.shape[1] - 1)
    big = to_rgb(p[rows][:, cols], 0.0, 1.0)
    draw_boxes(big, [(r0, c0, r0 + crop_size - 1, c0 + crop_size - 1)], color=(255, 215, 0), thickness=2)
    return hstack([big, zoomed])


def render_shift(res: dict, height: int = 256) -> np.ndarray:
    """The pooled map of the shift test (columns 16.. of the input), red where the shift moved a pooled value,
    nearest-scaled to ``height`` px and titled with the fraction that stayed put."""
    from ..render import scale_nearest, titled

    ch = res["changed"]
    f = height / ch.shape[0]
    rgb = np.full(ch.shape + (3,), 225, np.uint8)
    rgb[ch] = (230, 40, 40)
    title = t("shift {0} px: {1:.0%} moved (red)").format(res["shift"], 1 - res["unchanged_fraction"])
    return titled(scale_nearest(rgb, f, f), title, size=13)


@register(demo=dict)
def pooling_explorer(image: str = "lung CT", width: int = 1000) -> Any:
    """Pool size / stride / mode on a real image: the pooled image, which pixels survive (red, in a zoomed crop
    at the tumour edge) and what a shift of the input does to the pooled map. Used in 03 §2."""
    def frame(image: str, mode: str, size: int, stride: int, shift: int) -> Frame:
        r = pooling_explorer_compute(image, size, stride, mode, shift)
        if not r["ok"]:
            return Frame(warning=r["message"])
        legend = ("<small>" + t("below: the pooled map of the shift test, red = pooled values the shift "
                                "moved") + "</small>")
        return Frame(image=render_pooling(image, r), panes={"shift": render_shift(r)},
                     readout="<code>" + esc(r["message"]).replace("\n", "<br>") + "</code><br>" + legend)

    return explorer(frame, {"image": Choice("Image", ["lung CT", "chest X-ray"], value=image),
                            "mode": Choice("Mode", ["max", "avg"], style="toggle"),
                            "size": Int("Pool size", 1, 8, value=2), "stride": Int("Pool stride", 1, 8, value=2),
                            "shift": Int("Shift (px)", 0, 8, value=1)}, layout="column", width=width)


# --------------------------------------------------------------------------- 03 §2 nodule and pooling

def render_nodule(res: dict, depth: int, mode: str, crop: int = 64, factor: int = 4) -> np.ndarray:
    """Zoomed crop around the nodule: original with nodule | after ``depth`` poolings (upscaled back)."""
    r, c = res["centre"]
    r0, c0 = max(r - crop // 2, 0), max(c - crop // 2, 0)
    img = res["with_nodule"]
    a = img
    for _ in range(depth):
        a = ops.pool2d(a, 2, mode=mode)
    f = 2 ** depth
    rows = np.minimum(np.arange(r0, r0 + crop) // f, a.shape[0] - 1)
    cols = np.minimum(np.arange(c0, c0 + crop) // f, a.shape[1] - 1)
    left = to_rgb(img[r0: r0 + crop, c0: c0 + crop], 0.0, 1.0)
    return hstack([zoom(p, factor) for p in (left, to_rgb(a[rows][:, cols], 0.0, 1.0))])


@register(demo=dict)
def nodule_pooling_explorer(image: Any = "lung CT", width: int = 900, centre: Sequence[int] = NODULE_CENTRE,
                            spacing_mm: Any = None) -> Any:
    """Nodule diameter vs pooling depth: a simulated nodule in a real image, pooled 2x2 again and again; a
    chart of the retained contrast for max and average pooling. Used in 03 §2.

    ``image``: "lung CT", "chest X-ray" or a 2-D array in [0, 1] (then ``spacing_mm`` may give its pixel size).
    The nodule size is given in mm only where the data states a pixel spacing (the CT: yes; the X-ray: no).
    """
    img = _image(image)
    spacing = _spacing(image, spacing_mm)
    centre = (int(centre[0]), int(centre[1]))
    erasure = functools.lru_cache(maxsize=32)(
        lambda d: ops.nodule_erasure(img, d, 5, centre=centre))  # depth/mode changes reuse the pooled contrasts
    chart = Chart(figsize=(4.5, 3.2), dpi=80)
    chart.fig.subplots_adjust(left=0.14, right=0.97, bottom=0.15, top=0.9)  # fixed: no layout engine per draw
    ax = chart.fig.add_subplot()
    depths = np.arange(6)
    (line_max,) = ax.plot(depths, np.zeros(6), "o-", label=t("max pooling"))
    (line_avg,) = ax.plot(depths, np.zeros(6), "s-", label=t("average pooling"))
    (marker,) = ax.plot([0], [0], "o", ms=14, mfc="none", mec="red", mew=2)
    chart.animate(line_max, line_avg, marker)
    ax.axhline(0.25, color="grey", ls=":", lw=1)
    ax.set(xlabel=t("pooling depth (2×2 each)"), ylabel=t("retained contrast"), ylim=(0, 1.05), xlim=(-0.3, 5.3),
           title=t("nodule contrast left after pooling"))
    ax.legend(loc="upper right", fontsize=8)

    def frame(diameter: float, depth: int, mode: str) -> Frame:
        res = erasure(float(diameter))
        line_max.set_ydata(res["retained"]["max"])
        line_avg.set_ydata(res["retained"]["avg"])
        v = res["retained"][mode][depth]
        marker.set_data([depth], [v])
        verdict = t("erased (<25% contrast left)" if v < 0.25 else "still visible")
        size = _length(diameter, spacing) + ("" if spacing else t(" ({0})").format(t(_NO_SPACING)))
        return Frame(image=render_nodule(res, depth, mode), panes={"chart": chart.png()},
                     readout=t("nodule {0} · <b>{1} pooling, depth {2}</b> (one pixel = {3}×{3} input pixels): "
                               "{4:.0%} of the nodule's contrast retained — {5}").format(
                         esc(size), esc(t(mode)), depth, 2 ** depth, v, verdict))

    return explorer(frame, {"diameter": Float("Nodule (px)", 1.0, 24.0, value=3.0, step=1.0, format=".0f"),
                            "depth": Int("Pool depth", 0, 5, value=2),
                            "mode": Choice("Mode", ["max", "avg"], value="avg", style="toggle")},
                    layout="column", width=width // 2)


# --------------------------------------------------------------------------- 03 §3 receptive field

def receptive_field_compute(layers: Sequence[Any], image_size: int = 512, target: tuple[int, int] = (294, 173),
                            spacing_mm: Any = None) -> dict:
    """Receptive field of the output pixel nearest to ``target`` (row, col) for a layer stack.

    ``spacing_mm``: the input's pixel size in mm (a number or (row, col)), or ``None`` when the data states
    none -- then sizes are reported in pixels only and ``size_mm`` is ``None``. Result contract plus
    ``table`` (list of :class:`medlab.ops.ReceptiveField`), ``out_size``, ``pixel`` (output row, col),
    ``centre`` (input row, col), ``size_mm``; an empty stack or one that shrinks the image to nothing gives
    ``ok=False``.
    """
    try:
        spacing = _spacing(None, spacing_mm)
        if not layers:
            raise ValueError("the stack is empty: add at least one conv or pool layer")
        table = ops.receptive_field_table(layers, input_size=image_size)
        n = image_size
        for layer in layers:
            kind, k = layer[0], layer[1]
            s = layer[2] if len(layer) > 2 else (1 if kind == "conv" else k)
            d = layer[3] if len(layer) > 3 and kind == "conv" else 1
            n = ops.output_size(n, k, 0, s, d)
    except (ValueError, TypeError) as exc:
        return result(False, f"Invalid stack: {exc}", table=[], out_size=0)
    rf = table[-1]
    pix = tuple(int(np.clip(round((t - rf.start) / rf.jump), 0, n - 1)) for t in target)
    centre = tuple(rf.start + p * rf.jump for p in pix)
    size_mm = None if spacing is None else (rf.size * spacing[0] if spacing[0] == spacing[1]
                                            else (rf.size * spacing[0], rf.size * spacing[1]))
    seen = (t("{0}×{0} input pixels").format(rf.size)
            + ("" if spacing is None else t(" ({0})").format(_length(rf.size, spacing))))
    msg = (t("output {0}×{0}; one output pixel sees {1}; neighbouring output pixels are {2} px apart").format(
        n, seen, rf.jump) + ("" if spacing is not None else t(" ({0})").format(t(_NO_SPACING))))
    return result(True, msg, table=table, out_size=n, pixel=pix, centre=centre, size_mm=size_mm)


_RF_COLOURS = [(255, 215, 0), (255, 140, 0), (255, 60, 60), (220, 40, 200), (120, 80, 255), (40, 180, 255),
               (40, 220, 120)]


def render_receptive_field(image: Any, res: dict) -> np.ndarray:
    """The image with the receptive field of one output pixel (outer box) and of the units it is built from at
    each earlier layer (inner boxes, same centre), plus the centres of neighbouring output pixels (cyan)."""
    img = _image(image)
    rgb = to_rgb(img, 0.0, 1.0)
    if not res["ok"]:
        return rgb
    cr, cc = res["centre"]
    for k, rf in enumerate(res["table"]):
        h = (rf.size - 1) / 2
        draw_boxes(rgb, [(int(np.floor(cr - h)), int(np.floor(cc - h)), int(np.ceil(cr + h)), int(np.ceil(cc + h)))],
                   color=_RF_COLOURS[k % len(_RF_COLOURS)], thickness=1 if k < len(res["table"]) - 1 else 2)
    jump = res["table"][-1].jump
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            r, c = int(round(cr + dr * jump)), int(round(cc + dc * jump))
            if 0 <= r < img.shape[0] and 0 <= c < img.shape[1]:
                rgb[max(r - 1, 0): r + 2, max(c - 1, 0): c + 2] = (0, 255, 255)
    return rgb


@register(demo=dict)
def receptive_field_explorer(image: Any = "lung CT", width: int = 512, spacing_mm: Any = None) -> Any:
    """Build a conv/pool stack with sliders and see its receptive field on the image (centred at the CT's
    tumour). Sizes in mm only where the data states a pixel spacing. Used in 03 §3."""
    img = _image(image)
    spacing = _spacing(image, spacing_mm)

    def frame(blocks: int, kernel: int, convs: int, dilation: int, pool: bool) -> Frame:
        layers = ops.build_stack(blocks, kernel, convs, dilation, pool)
        r = receptive_field_compute(layers, image_size=img.shape[0], spacing_mm=spacing)
        if not r["ok"]:
            return Frame(image=render_receptive_field(img, r), warning=r["message"])
        table = html_table([(k + 1, t.name, t.size, t.jump) for k, t in enumerate(r["table"])],
                           header=("#", "layer", "RF (px)", "jump"))
        return Frame(image=render_receptive_field(img, r), readout=esc(r["message"]) + table)

    return explorer(frame, {"blocks": Int("Blocks", 1, 6, value=2), "kernel": Int("Kernel size", 1, 7, value=3, step=2),
                            "convs": Int("Convs/block", 1, 3), "dilation": Int("RF dilation", 1, 4),
                            "pool": Check("2×2 max-pool after each block", value=True)}, width=width)


# --------------------------------------------------------------------------- 03 §4 one dense neuron

def dense_neuron_compute(image: Any, weights: Any, bias: float = 0.0, test_scores: Any = None,
                         test_labels: Any = None) -> dict:
    """One dense neuron on one flattened image: ``z = w·x + b``, ``p = sigmoid(z)``, and the products w⊙x.

    With ``test_scores`` (w·x of every test image) and ``test_labels`` it also reports how this neuron,
    thresholded at p = 0.5, does on the whole test split. Result contract plus ``z``, ``p``, ``products``,
    ``accuracy``, ``positive_rate``, ``baseline`` (accuracy of always saying pneumonia); mismatched shapes or
    non-finite values are flagged.
    """
    x = np.asarray(image, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if x.shape != w.shape:
        return result(False, f"Invalid neuron: weights shape {w.shape} must match the image shape {x.shape}",
                      products=None)
    if not (np.all(np.isfinite(w)) and np.isfinite(bias)):
        return result(False, "Invalid neuron: weights and bias must be finite", products=None)
    z = float(ops.dense(x.ravel(), w.ravel()[:, None], np.array([bias]))[0])
    p = float(ops.sigmoid(np.array(z)))
    acc = rate = base = None
    msg = (f"z = w·x + b = {z - bias:+.3f} {bias:+.2f} = {z:+.3f} · p = sigmoid(z) = {p:.3f} → "
           f"{t('pneumonia') if p > 0.5 else t('normal')}")
    if test_scores is not None and test_labels is not None:
        pred = (np.asarray(test_scores) + bias) > 0  # sigmoid(z) > 0.5  <=>  z > 0
        lab = np.asarray(test_labels)
        acc, rate, base = float(np.mean(pred == lab)), float(np.mean(pred)), float(np.mean(lab))
        msg += "\n" + t("on all {0} test images (p > 0.5 ⇒ pneumonia): {1:.0%} called pneumonia, "
                        "accuracy {2:.0%} (always saying pneumonia: {3:.0%})").format(len(lab), rate, acc, base)
    return result(True, msg, z=z, p=p, products=x * w, accuracy=acc, positive_rate=rate, baseline=base)


def render_dense_neuron(image: np.ndarray, weights: np.ndarray, res: dict, factor: int = 8) -> np.ndarray:
    """image | weights (blue − / red +) | element-wise product w⊙x, each 28×28 zoomed."""
    panels = [to_rgb(np.asarray(image), 0.0, 1.0)]
    if res["ok"]:
        m = float(np.abs(weights).max())
        panels += [diverging(np.asarray(weights), m), diverging(res["products"], m)]
    return hstack([zoom(p, factor) for p in panels], gap=12)


@register(demo=dict)
def dense_neuron_explorer(width: int = 560) -> Any:
    """A single dense neuron on PneumoniaMNIST test images: weight template and bias → w·x + b, sigmoid; a
    chart of z for every test image by class (the bias slides both histograms past the 0.5 threshold). A new
    template starts with the bias that puts the threshold at its mean training score. Used in 03 §4."""
    xte, yte = pneumonia_data()["test"]
    flat = xte.reshape(len(xte), -1)
    scores = {t: flat @ dense_template(t).ravel() for t in DENSE_TEMPLATES}   # precomputed: w·x of every image

    def centred(template: str) -> float:
        return -round(4 * dense_template_mean(template)) / 4

    chart = Chart(figsize=(5.2, 2.9), dpi=80)
    chart.fig.subplots_adjust(left=0.1, right=0.97, bottom=0.16, top=0.88)
    ax = chart.fig.add_subplot()
    zz = np.linspace(-8, 8, 200)
    ax.plot(zz, ops.sigmoid(zz), color="black", lw=1.5, label="p = sigmoid(z)")
    ax.axvline(0, color="grey", ls=":", lw=1)
    ax.set(xlim=(-8, 8), ylim=(0, 1.05), xlabel="z = w·x + b", title=t("all test images: histogram of z"))
    edges = np.linspace(-8, 8, 41)
    (h_norm,) = ax.step(edges[:-1], np.zeros(40), where="post", color="#1f77b4", label=t("normal"))
    (h_pneu,) = ax.step(edges[:-1], np.zeros(40), where="post", color="#d62728", label=t("pneumonia"))
    (mark,) = ax.plot([0], [0.5], "o", ms=10, mfc="none", mec="orange", mew=2.5, label=t("this image"))
    chart.animate(h_norm, h_pneu, mark)
    ax.legend(loc="upper left", fontsize=7)
    titles = ("<div style='display:flex;justify-content:space-around;width:%dpx'><b>%s</b><b>%s</b><b>%s</b></div>"
              % (width, t("image x"), t("weights w (blue −, red +)"), t("w ⊙ x (sum = w·x)")))

    def frame(image: int, template: str, bias: float) -> Frame:
        t = dense_template(template)
        r = dense_neuron_compute(xte[image], t, bias, scores[template], yte)
        z_all = np.clip(scores[template] + bias, -7.99, 7.99)
        for line, cls in ((h_norm, 0), (h_pneu, 1)):
            hist = np.histogram(z_all[yte == cls], edges)[0].astype(float)
            line.set_ydata(0.95 * hist / max(hist.max(), 1))
        mark.set_data([np.clip(r["z"], -7.9, 7.9)], [r["p"]])
        label = tr("pneumonia" if yte[image] == 1 else "normal")
        return Frame(image=render_dense_neuron(xte[image], t, r), panes={"chart": chart.png()},
                     readout=(tr("test image {0}, true label: <b>{1}</b> · ").format(image, label)
                              + esc(r["message"]).replace("\n", "<br>") + titles))

    return explorer(frame, {"image": Int("Image #", 0, len(xte) - 1),
                            "template": Choice("Weights", list(DENSE_TEMPLATES), value=DENSE_TEMPLATES[0],
                                               sets=lambda t: {"bias": centred(t)}),
                            "bias": Float("Bias b", -15.0, 15.0, value=centred(DENSE_TEMPLATES[0]), step=0.25)},
                    layout="column", width=width)


# --------------------------------------------------------------------------- 03 §5 seed-model feature maps

def feature_maps_compute(model: Any, x: Any, steps: Sequence[tuple[str, np.ndarray]] | None = None) -> dict:
    """One forward pass of a Keras Sequential model with :func:`medlab.ops.forward_sequential`, kept for
    rendering: result contract plus ``names``, ``outputs`` (per layer, first image), ``params``, ``x``.

    Pass ``steps`` (the ``return_all=True`` result) to reuse a forward pass already computed. A model that
    cannot run (not a Keras Sequential model, an unsupported layer, a wrong input shape) gives ``ok=False``.
    """
    try:
        xa = np.asarray(x, dtype=np.float64)
        if xa.ndim == 3:
            xa = xa[None]
        if xa.ndim != 4:
            raise ValueError(f"x must be (N, H, W, C) or (H, W, C), got shape {xa.shape}")
        if steps is None:
            steps = ops.forward_sequential(model, xa, return_all=True)
        n_layers = len(model.layers)
        if len(steps) != n_layers:
            raise ValueError(f"steps has {len(steps)} entries but the model has {n_layers} layers")
        params = [int(layer.count_params()) for layer in model.layers]
    except (ValueError, TypeError, AttributeError) as exc:
        return result(False, f"Cannot run the model: {exc}")
    return result(True, names=[name for name, _ in steps], outputs=[np.asarray(o)[0] for _, o in steps],
                  params=params, x=xa[0])


def _scale_to(a: np.ndarray, size: int) -> np.ndarray:
    rows = np.minimum((np.arange(size) * a.shape[0] / size).astype(int), a.shape[0] - 1)
    cols = np.minimum((np.arange(size) * a.shape[1] / size).astype(int), a.shape[1] - 1)
    return a[rows][:, cols]


def _robust_hi(v: np.ndarray, lo: float, top: float) -> float:
    hi = float(np.percentile(v, 99.5))  # a few very bright pixels would make the rest black
    return hi if hi > lo else (top if top > lo else lo + 1)


def render_feature_map(res: dict, layer: int, channel: int, size: int = 384) -> tuple[np.ndarray, str, str]:
    """Input | the chosen layer's channel, both nearest-scaled to ``size`` px; an HTML readout; a warning.

    Feature maps are min–max scaled per map (white at the 99.5th percentile). Layers without spatial maps
    (Flatten, Dense) show their vector as a square or a bar. Out-of-range choices give a warning (plain text),
    not an exception.
    """
    inp = res["x"][..., 0]
    f_in = size / inp.shape[0]
    idx = np.minimum((np.arange(size) / f_in).astype(int), inp.shape[0] - 1)
    left = to_rgb(inp[idx][:, np.minimum((np.arange(size) / f_in).astype(int), inp.shape[1] - 1)],
                  float(inp.min()), float(inp.max()))
    if not 0 <= layer < len(res["outputs"]):
        return left, "", f"layer must be in [0, {len(res['outputs']) - 1}], got {layer}"
    out = res["outputs"][layer]
    name, params = res["names"][layer], res["params"][layer]
    head = t("<b>{0}</b>: output {1}, {2:,} parameters · ").format(esc(name), "×".join(str(s) for s in out.shape),
                                                                    params)
    if out.ndim == 3:
        if not 0 <= channel < out.shape[2]:
            return left, "", f"channel must be in [0, {out.shape[2] - 1}] for {name}, got {channel}"
        fm = out[..., channel]
        lo, top = float(fm.min()), float(fm.max())
        hi = _robust_hi(fm, lo, top)
        right = to_rgb(_scale_to(fm, size), lo, hi)
        txt = head + t("channel {0}: values [{1:.3g}, {2:.3g}] (black = min, white ≥ 99.5th percentile "
                       "{3:.3g}), {4:.0%} ≤ 0").format(channel, lo, top, hi, float(np.mean(fm <= 0)))
    elif out.size > 1:
        v = out.ravel()
        side = int(np.ceil(np.sqrt(v.size)))
        sq = np.full(side * side, np.nan)
        sq[: v.size] = v
        lo, top = float(v.min()), float(v.max())
        hi = _robust_hi(v, lo, top)
        right = to_rgb(_scale_to(np.nan_to_num(sq.reshape(side, side), nan=lo), size), lo, hi)
        txt = head + t("{0:,} numbers in [{1:.3g}, {2:.3g}], drawn row by row as a {3}×{3} square "
                       "(channels fastest: neighbouring values are different channels of one pixel)").format(
            v.size, lo, top, side)
    else:
        val = float(out.ravel()[0])
        right = np.full((size, size, 3), 255, np.uint8)
        y0, y1 = size // 2 - 30, size // 2 + 30
        right[y0:y1, 10: size - 10] = 225
        right[y0:y1, 10: 10 + int(round(np.clip(val, 0, 1) * (size - 20)))] = (217, 95, 2)
        right[y0 - 2: y0, 10: size - 10] = right[y1: y1 + 2, 10: size - 10] = 120
        mid = 10 + (size - 20) // 2
        right[y0 - 12: y1 + 12, mid - 1: mid + 1] = 0
        txt = head + t("value <b>{0:.4f}</b> (bar: 0 → 1, black line = 0.5; an untrained model)").format(val)
    return hstack([left, right], gap=12), txt, ""


def _feature_map_demo() -> dict:
    """A small seeded model of the seed model's shape (Conv-Pool-Conv-Pool-Flatten-Dense) on a CT crop."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from ..samples import lung_slice

    keras.utils.set_random_seed(42)
    model = keras.Sequential([keras.Input((64, 64, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Conv2D(16, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    x = ops.pool2d(lung_slice()[192:320, 128:256], 2, mode="avg")[None, :, :, None].astype(np.float32)
    return {"model": model, "x": x}


@register(demo=_feature_map_demo)
def feature_map_explorer(model: Any, x: Any, steps: Sequence[tuple[str, np.ndarray]] | None = None,
                         width: int = 800) -> Any:
    """Layer + channel over a forward pass of ``model`` on ``x`` computed ONCE at build (or given as ``steps``);
    each update only re-renders the cached maps. A model that cannot run gives the same widget showing why.
    Used in 03 §5."""
    res = feature_maps_compute(model, x, steps)
    titles = ("<div style='display:flex;justify-content:space-around;width:%dpx'><b>%s</b><b>%s</b></div>"
              % (width, t("input"), t("feature map of the chosen layer and channel")))
    if not res["ok"]:
        return explorer(lambda layer, channel: Frame(warning=res["message"]),
                        {"layer": Choice("Layer", [("(the model did not run)", 0)]), "channel": Int("Channel", 0, 0)},
                        layout="column", width=width)
    outputs = res["outputs"]

    def n_channels(layer: int) -> int:
        return outputs[layer].shape[-1] if outputs[layer].ndim == 3 else 1

    def frame(layer: int, channel: int) -> Frame:
        img, txt, warning = render_feature_map(res, layer, channel)
        return Frame(image=img, readout=txt + titles, warning=warning)

    options = [(f"{k + 1}: {n} {tuple(o.shape)}", k) for k, (n, o) in enumerate(zip(res["names"], outputs))]
    return explorer(frame, {"layer": Choice("Layer", options, value=0),
                            "channel": Int("Channel", 0, n_channels(0) - 1)}, layout="column", width=width,
                    limits=lambda layer, **_: {"channel": {"max": n_channels(layer) - 1}})
