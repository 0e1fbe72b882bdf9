"""Widgets of notebook 08 (explainability): attribution maps, their parameters, and the sanity checks.

Every widget computes its maps **once, at build time** with :mod:`medlab.explain` (for a small image set,
or one image) and only composes pictures when a control moves, so each update costs a few milliseconds:

* :func:`attribution_explorer` -- image picker by outcome (TP / FP / FN / TN), method and Grad-CAM layer,
  overlay opacity; the raw Grad-CAM grid beside the smooth overlay;
* :func:`occlusion_explorer` -- patch, stride and fill value (the stride-1 grid of every patch size is
  computed once; any stride picks its windows from it);
* :func:`smoothgrad_explorer` -- noise level and number of samples (the running mean over one seeded draw);
* :func:`ig_explorer` -- integrated gradients' steps and baseline, with the completeness error vs steps;
* :func:`randomization_explorer` -- the cascading randomisation test (layer -> maps and similarity);
* :func:`faithfulness_explorer` -- deletion / insertion curves of each method against a random order.

Nothing heavy is imported at module import (TensorFlow is imported by :mod:`medlab.explain` when a widget is
built). The demos train the article's CNN briefly (seeded, a few seconds) on PneumoniaMNIST and cache it.
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from ..render import Chart, blend, diverging, heatmap_rgb, hstack, titled, to_png, to_rgb, vstack, zoom
from ..i18n import t
from ._explorer import Check, Choice, Float, Frame, Int, explorer, html_table, register

__all__ = ["attribution_explorer", "occlusion_explorer", "smoothgrad_explorer", "ig_explorer",
           "randomization_explorer", "faithfulness_explorer", "demo_model", "smoothgrad_running",
           "occlusion_at_stride", "OUTCOMES", "outcome_of", "METHOD_LABELS", "overlay"]

#: Outcome names in the order the picker shows them.
OUTCOMES = ("TP", "FP", "FN", "TN")

#: Method -> label shown in the widgets.
METHOD_LABELS = {
    "saliency": "Saliency |dz/dx|", "smoothgrad": "SmoothGrad", "gradient_x_input": "Gradient x input",
    "grad_cam": "Grad-CAM", "hirescam": "HiResCAM", "occlusion": "Occlusion",
    "integrated_gradients": "Integrated gradients",
    "edge_detector": "Edge detector (no model)",
}
SIGNED = {"gradient_x_input", "occlusion", "integrated_gradients"}

MAX_IMAGES = 64          # attribution_explorer: images explained at build time
ZOOM_TARGET = 224        # display size of a 28 px image (x8)


# ----------------------------------------------------------------------------- demo data and model
@functools.lru_cache(maxsize=1)
def demo_model(n_train: int = 1024, epochs: int = 2, seed: int = 0):
    """The article's CNN (``medlab.training.seed_cnn``) trained briefly on PneumoniaMNIST (seeded, cached).

    A demo model for the widgets' registered demos and for notebook 08 when notebook 06 was not run: the
    first ``n_train`` training images, ``epochs`` epochs, batch 64. Its test accuracy is far from a tuned
    model's, but the maps it gives are what the notebook discusses.
    """
    import keras

    from .. import training
    from ..datasets import load_pneumoniamnist

    x, y = load_pneumoniamnist("train")
    order = np.random.default_rng(seed).permutation(len(x))[:n_train]
    model = training.seed_cnn((28, 28, 1), seed=seed)
    keras.utils.set_random_seed(seed)
    model.fit(training.prepare_images(x[order]), y[order].astype(np.float32), epochs=epochs, batch_size=64,
              shuffle=True, verbose=0)
    return model


def _demo_set(n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    from ..datasets import load_pneumoniamnist

    x, y = load_pneumoniamnist("test")
    return x[:n], y[:n]


def _demo_image() -> dict:
    model = demo_model()
    x, y = _demo_set()
    p = _predict(model, _prepare(model, x))
    k = int(np.flatnonzero((y == 1) & (p >= 0.5))[0]) if np.any((y == 1) & (p >= 0.5)) else 0
    return {"model": model, "image": x[k]}


def _demo_set_kwargs() -> dict:
    x, y = _demo_set()
    return {"model": demo_model(), "images": x, "labels": y}


# ----------------------------------------------------------------------------- helpers
def _prepare(model: Any, images: Any) -> np.ndarray:
    from ..training import prepare_images

    arr = np.asarray(images)
    if arr.ndim == 2:
        arr = arr[None]
    return prepare_images(arr, tuple(model.input_shape[1:]), "images")


def _predict(model: Any, xs: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(xs, verbose=0, batch_size=256), dtype=np.float64).reshape(-1)


def outcome_of(label: int, prob: float, threshold: float = 0.5) -> str:
    """``"TP"``, ``"FP"``, ``"FN"`` or ``"TN"`` for one image (positive = label 1, predicted if p >= threshold).

    >>> [outcome_of(1, 0.9), outcome_of(0, 0.7), outcome_of(1, 0.2), outcome_of(0, 0.1)]
    ['TP', 'FP', 'FN', 'TN']
    """
    pred = prob >= threshold
    if int(label) == 1:
        return "TP" if pred else "FN"
    return "FP" if pred else "TN"


def _factor(h: int) -> int:
    return max(1, ZOOM_TARGET // max(1, h))


def overlay(grey: np.ndarray, amap: np.ndarray, opacity: float, signed: bool = False) -> np.ndarray:
    """An attribution map blended over a grey image (both H x W), RGB uint8.

    Non-negative maps use the ``jet`` colour map from 0 to the map's maximum; signed maps a blue-white-red
    scale symmetric around 0 (red: evidence for the class).

    >>> overlay(np.zeros((4, 4)), np.eye(4), 0.5).shape
    (4, 4, 3)
    """
    base = to_rgb(np.asarray(grey, dtype=np.float64), 0.0, 1.0)
    a = np.asarray(amap, dtype=np.float64)
    if signed:
        colour = diverging(a)
    else:
        top = float(a.max())
        colour = heatmap_rgb(a, 0.0, top if top > 0 else 1.0)
    return blend(base, colour, float(opacity))


def _map_panel(amap: np.ndarray, signed: bool) -> np.ndarray:
    if signed:
        return diverging(amap)
    top = float(np.max(amap))
    return heatmap_rgb(amap, 0.0, top if top > 0 else 1.0)


def _big(rgb: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour enlargement of an RGB panel to about ``size`` px (a coarse grid stays visible)."""
    f = max(1, int(round(size / rgb.shape[0])))
    return zoom(rgb, f)


def _table(rows: Sequence[Sequence[Any]]) -> str:
    return html_table(rows)


# ----------------------------------------------------------------------------- 1. attribution explorer
@register(demo=_demo_set_kwargs)
def attribution_explorer(model: Any, images: Any, labels: Any, threshold: float = 0.5, per_outcome: int = 3,
                         smoothgrad_n: int = 25, ig_steps: int = 32, seed: int = 0) -> Any:
    """Every attribution method on images picked by outcome (TP / FP / FN / TN). Used in 08 §1-§5.

    ``images``: (N, H, W) uint8 as the loaders return them (or float in [0, 1]); ``labels`` 0/1. The model's
    probabilities decide the outcomes at ``threshold``; up to ``per_outcome`` images of each outcome (the
    first ones in the given order) are explained at build time with every method (SmoothGrad with
    ``smoothgrad_n`` samples, integrated gradients with ``ig_steps`` steps, occlusion 4 x 4 / stride 2) and
    Grad-CAM and HiResCAM on every convolution layer. All maps explain class 1 (the sigmoid's class, -logit for none).
    """
    from .. import explain as ex
    from .._validate import check_array, check_float, check_int

    threshold = check_float(threshold, "threshold", 0.0, 1.0)
    per_outcome = check_int(per_outcome, "per_outcome", low=1, high=MAX_IMAGES // 4)
    xs = _prepare(model, images)
    y = check_array(labels, "labels", ndim=1).astype(np.int64)
    if len(y) != len(xs):
        raise ValueError(f"labels must have one entry per image: images has {len(xs)}, labels {len(y)}")
    if not np.all(np.isin(y, (0, 1))):
        raise ValueError("labels must be 0/1")
    probs = _predict(model, xs)
    outcome = np.array([outcome_of(l, p, threshold) for l, p in zip(y, probs)])
    picked = {o: np.flatnonzero(outcome == o)[:per_outcome].tolist() for o in OUTCOMES}
    counts = {o: int(np.sum(outcome == o)) for o in OUTCOMES}
    index = sorted({k for ks in picked.values() for k in ks})
    sub = xs[index]
    cam_layers = ex.conv_layers(model)
    default_layer = ex.default_cam_layer(model)
    if default_layer not in cam_layers:
        cam_layers.append(default_layer)
    maps: dict[tuple[str, str], np.ndarray] = {}
    raws: dict[tuple[str, str], np.ndarray] = {}
    extra: dict[tuple[str, int], str] = {}
    maps[("saliency", "")] = ex.explain_batch(model, sub, "saliency")
    maps[("gradient_x_input", "")] = ex.explain_batch(model, sub, "gradient_x_input")
    for layer in cam_layers:
        for variant in ("grad_cam", "hirescam"):
            cams = [ex.grad_cam(model, sub[i:i + 1], layer=layer, variant=variant) for i in range(len(sub))]
            maps[(variant, layer)] = np.stack([c["map"] for c in cams])
            raws[(variant, layer)] = np.stack([c["raw"] for c in cams])
    sg, ig, occ, edge = [], [], [], []
    for i in range(len(sub)):
        one = sub[i:i + 1]
        sg.append(ex.smoothgrad(model, one, n=smoothgrad_n, seed=seed)["map"])
        r = ex.integrated_gradients(model, one, steps=ig_steps)
        ig.append(r["map"])
        extra[("integrated_gradients", i)] = (f"completeness error {r['completeness_error']:.2g} "
                                              f"(sum {r['sum']:.3g} vs z(x) - z(0) = {r['delta']:.3g})")
        o = ex.occlusion(model, one, patch=4, stride=2)
        occ.append(o["map"])
        extra[("occlusion", i)] = f"{o['n_windows']} windows of 4 x 4, stride 2, fill 0"
        edge.append(ex.edge_detector(model, one)["map"])
    maps[("smoothgrad", "")] = np.stack(sg)
    maps[("integrated_gradients", "")] = np.stack(ig)
    maps[("occlusion", "")] = np.stack(occ)
    maps[("edge_detector", "")] = np.stack(edge)
    pos = {k: j for j, k in enumerate(index)}
    first = next((o for o in OUTCOMES if picked[o]), "TP")
    h = xs.shape[1]
    size = _factor(h) * h

    def limits(outcome: str, **_: Any) -> dict:
        return {"index": {"max": max(0, len(picked[outcome]) - 1)}}

    def frame(outcome: str, index: int, method: str, layer: str, opacity: float, raw_grid: bool) -> Frame:
        ks = picked[outcome]
        if not ks:
            return Frame(warning=t("no {0} among the {1} images at threshold {2:g}: pick another outcome").format(
                outcome, len(xs), threshold))
        k = ks[min(index, len(ks) - 1)]
        j = pos[k]
        cam = method in ("grad_cam", "hirescam")
        key = (method, layer if cam else "")
        amap = maps[key][j]
        signed = method in SIGNED
        grey = xs[k, :, :, 0]
        f = _factor(h)
        panels = [titled(zoom(to_rgb(grey, 0.0, 1.0), f), t("image ({0})").format(outcome)),
                  titled(zoom(overlay(grey, amap, opacity, signed), f), METHOD_LABELS[method])]
        if cam and raw_grid:
            raw = raws[(method, layer)][j]
            panels.append(titled(_big(_map_panel(raw, False), size), t("raw {0} x {1}").format(raw.shape[0], raw.shape[1])))
        else:
            panels.append(titled(zoom(_map_panel(amap, signed), f), "map alone"))
        i_max, j_max = np.unravel_index(int(np.argmax(amap)), amap.shape)
        rows = [("image", f"#{k} of {len(xs)}, label {int(y[k])}, p = {probs[k]:.3f} -> {outcome}"),
                ("outcomes", ", ".join(f"{o} {counts[o]}" for o in OUTCOMES)),
                ("map", f"min {amap.min():.3g}, max {amap.max():.3g} at (row {i_max}, col {j_max})")]
        if cam:
            shape = raws[(method, layer)][j].shape
            rows.append(("layer", f"{layer}: raw grid {shape[0]} x {shape[1]}"))
            if amap.max() <= 0:
                rows.append(("note", "blank map: no position raises the logit after the ReLU (see 08 §9)"))
        if (method, j) in extra:
            rows.append(("note", extra[(method, j)]))
        return Frame(image=hstack(panels), readout=_table(rows))

    controls = {
        "outcome": Choice("Outcome", list(OUTCOMES), value=first, style="toggle", button_width="60px"),
        "index": Int("Image", 0, max(0, len(picked[first]) - 1), value=0),
        "method": Choice("Method", [(METHOD_LABELS[m], m) for m in (*ex.METHODS, "hirescam")], value="grad_cam"),
        "layer": Choice("Grad-CAM layer", cam_layers, value=default_layer),
        "opacity": Float("Overlay opacity", 0.0, 1.0, value=0.5, step=0.05, format=".2f"),
        "raw_grid": Check("Raw Grad-CAM grid", value=True),
    }
    return explorer(frame, controls, limits=limits, title="Attribution maps by outcome")


# ----------------------------------------------------------------------------- 2. occlusion
def occlusion_at_stride(stride1: dict, patch: int, stride: int, shape: tuple[int, int]):
    """``(map, grid, rows, cols)`` of occlusion at ``stride`` picked from a stride-1 result of
    :func:`medlab.explain.occlusion` (same patch and fill): equal to ``occlusion(..., stride=stride)``."""
    from .. import explain as ex

    h, w = shape
    rows = ex.occlusion_starts(h, patch, stride)
    cols = ex.occlusion_starts(w, patch, stride)
    grid = np.asarray(stride1["grid"])[np.ix_(rows, cols)]
    return ex.occlusion_map(grid, rows, cols, patch, (h, w)), grid, rows, cols


@register(demo=_demo_image)
def occlusion_explorer(model: Any, image: Any, patches: Sequence[int] = (2, 3, 4, 5, 6, 7, 8),
                       max_stride: int = 8) -> Any:
    """Occlusion with patch size, stride and fill value. Used in 08 §4.

    For each patch size and fill value the drops of *all* stride-1 windows are computed at build time; a
    stride then picks its windows (:func:`medlab.explain.occlusion_starts`) and
    :func:`medlab.explain.occlusion_map` averages them -- the same map :func:`medlab.explain.occlusion`
    computes for that stride.
    """
    from .. import explain as ex
    from .._validate import check_int

    xs = _prepare(model, image)[:1]
    h, w = xs.shape[1:3]
    patches = sorted({check_int(p, "patches", low=1, high=min(h, w)) for p in patches})
    if not patches:
        raise ValueError("patches must name at least one patch size")
    max_stride = check_int(max_stride, "max_stride", low=1, high=max(h, w))
    fills = {"black (0)": 0.0, "image mean": "mean"}
    grids = {(p, name): ex.occlusion(model, xs, patch=p, stride=1, fill=fv)
             for p in patches for name, fv in fills.items()}
    prob = grids[(patches[0], "black (0)")]["probability"]
    grey = xs[0, :, :, 0]
    f = _factor(h)

    def frame(patch: int, stride: int, fill: str, opacity: float) -> Frame:
        if patch not in patches:
            return Frame(warning=t("patch {0} was not precomputed; pick one of {1}").format(patch, patches))
        full = grids[(patch, fill)]
        amap, grid, rows, cols = occlusion_at_stride(full, patch, stride, (h, w))
        panels = [titled(zoom(to_rgb(grey, 0.0, 1.0), f), "image"),
                  titled(zoom(overlay(grey, amap, opacity, signed=True), f), "occlusion map"),
                  titled(_big(diverging(grid), f * h), t("{0} x {1} windows").format(len(rows), len(cols)))]
        k = np.unravel_index(int(np.argmax(grid)), grid.shape)
        table = [("model", f"p = {prob:.3f}, logit {full['logit']:.3f}"),
                 ("windows", t("{0} ({1} x {1}, stride {2}, fill {3})").format(len(rows) * len(cols), patch, stride,
                                                                             t(fill))),
                 ("largest drop", t("{0:.3g} (logit) hiding rows {1}-{2}, cols {3}-{4}").format(
                     grid[k], rows[k[0]], rows[k[0]] + patch - 1, cols[k[1]], cols[k[1]] + patch - 1))]
        warning = ""
        if stride > patch:
            warning = t("stride {0} > patch {1}: some pixels are covered only by the extra window at the border "
                        "or not at all (map 0 there)").format(stride, patch)
        return Frame(image=hstack(panels), readout=_table(table), warning=warning)

    controls = {
        "patch": Int("Patch (px)", patches[0], patches[-1], value=4 if 4 in patches else patches[0]),
        "stride": Int("Stride (px)", 1, max_stride, value=2),
        "fill": Choice("Fill", list(fills), value="black (0)", style="toggle"),
        "opacity": Float("Overlay opacity", 0.0, 1.0, value=0.5, step=0.05, format=".2f"),
    }
    return explorer(frame, controls, title="Occlusion: hide a patch, watch the logit")


# ----------------------------------------------------------------------------- 3. SmoothGrad
def smoothgrad_running(model: Any, x: np.ndarray, noise: float, max_n: int, seed: int = 0) -> np.ndarray:
    """SmoothGrad maps for n = 1..max_n from one seeded draw: ``out[n - 1]`` equals
    ``medlab.explain.smoothgrad(model, x, noise, n, seed)["map"]`` (the first n noisy copies of a draw of
    max_n are the draw of n). Array (max_n, H, W)."""
    from .. import explain as ex
    from .._validate import check_float, check_int, check_seed

    noise = check_float(noise, "noise", low=0.0, high=10.0)
    max_n = check_int(max_n, "max_n", low=1, high=1000)
    xs = np.asarray(x)
    span = float(xs.max() - xs.min())
    sigma = noise * (span if span > 0 else 1.0)
    rng = np.random.default_rng(check_seed(seed))
    noisy = (xs + rng.normal(0.0, sigma, size=(max_n,) + xs.shape[1:])).astype(xs.dtype)
    grads = ex.explain_batch(model, noisy, "saliency")
    return np.cumsum(grads, axis=0) / np.arange(1, max_n + 1)[:, None, None]


@register(demo=_demo_image)
def smoothgrad_explorer(model: Any, image: Any, max_n: int = 50, noises: Sequence[float] | None = None,
                        seed: int = 0) -> Any:
    """SmoothGrad's two parameters: the noise level and the number of samples. Used in 08 §2.

    For each noise level one seeded draw of ``max_n`` noisy copies is made at build time (the same draw
    :func:`medlab.explain.smoothgrad` makes with that seed) and the running mean of their
    ``|dz/dx|`` gives the map for every ``n`` -- so the map for ``(noise, n)`` equals
    ``smoothgrad(model, x, noise, n, seed)``.
    """
    from .. import explain as ex
    from .._validate import check_int, check_seed

    max_n = check_int(max_n, "max_n", low=1, high=200)
    seed = check_seed(seed)
    noises = [round(v, 3) for v in (np.arange(0, 0.51, 0.05) if noises is None else noises)]
    xs = _prepare(model, image)[:1]
    span = float(xs.max() - xs.min())
    running = {nz: smoothgrad_running(model, xs, nz, max_n, seed) for nz in noises}
    vanilla = ex.saliency(model, xs)["map"]
    grey = xs[0, :, :, 0]
    h = xs.shape[1]
    f = _factor(h)

    def frame(noise: float, n: int, opacity: float) -> Frame:
        nz = min(noises, key=lambda v: abs(v - noise))
        amap = running[nz][min(n, max_n) - 1]
        sim = ex.similarity(vanilla, amap)
        panels = [titled(zoom(overlay(grey, vanilla, opacity), f), "vanilla saliency"),
                  titled(zoom(overlay(grey, amap, opacity), f), t("SmoothGrad {0} %, n={1}").format(int(nz * 100), n)),
                  titled(zoom(_map_panel(amap, False), f), "map alone")]
        rows = [("noise", f"sigma = {nz:g} x (max - min) = {nz * (span if span > 0 else 1.0):.3g}"),
                ("samples", f"{n} of {max_n} (seed {seed})"),
                ("vs vanilla", f"Spearman {sim['spearman']:.2f}, SSIM {sim['ssim']:.2f}")]
        return Frame(image=hstack(panels), readout=_table(rows))

    controls = {
        "noise": Float("Noise level", float(min(noises)), float(max(noises)), value=0.15 if 0.15 in noises
                       else float(noises[0]), step=0.05, format=".2f"),
        "n": Int("Samples n", 1, max_n, value=min(25, max_n)),
        "opacity": Float("Overlay opacity", 0.0, 1.0, value=0.6, step=0.05, format=".2f"),
    }
    return explorer(frame, controls, title="SmoothGrad: average the gradient over noisy copies")


# ----------------------------------------------------------------------------- 4. integrated gradients
IG_STEPS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@register(demo=_demo_image)
def ig_explorer(model: Any, image: Any, steps: Sequence[int] = IG_STEPS) -> Any:
    """Integrated gradients: the number of steps, the baseline, and the completeness error. Used in 08 §5.

    Every ``steps`` value and baseline (black; the image blurred) is computed at build time; the chart
    shows ``|sum(IG) - (z(x) - z(x'))|`` against the steps on log axes.
    """
    from scipy.ndimage import gaussian_filter

    from .. import explain as ex
    from .._validate import check_int

    steps = sorted({check_int(s, "steps", low=1, high=1000) for s in steps})
    xs = _prepare(model, image)[:1]
    h = xs.shape[1]
    blurred = gaussian_filter(xs[0, :, :, 0].astype(np.float64), h / 7)[None, :, :, None].astype(xs.dtype)
    bases = {"black": None, "blurred image": blurred}
    runs = {(b, s): ex.integrated_gradients(model, xs, baseline=bv, steps=s) for b, bv in bases.items()
            for s in steps}
    grey = xs[0, :, :, 0]
    f = _factor(h)
    chart = Chart(figsize=(3.4, 2.8), dpi=80)
    ax = chart.fig.add_subplot()
    chart.fig.subplots_adjust(left=0.22, right=0.96, bottom=0.18, top=0.88)
    errs = {b: np.array([max(runs[(b, s)]["completeness_error"], 1e-12) for s in steps]) for b in bases}
    lo = min(float(e.min()) for e in errs.values())
    hi = max(float(e.max()) for e in errs.values())
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlim(steps[0] / 1.5, steps[-1] * 1.5)
    ax.set_ylim(lo / 3, hi * 3)
    ax.set_xlabel(t("steps"))
    ax.set_ylabel(t("completeness error"))
    ax.set_title("|sum IG - (z(x) - z(x'))|", fontsize=9)
    for b, style in zip(bases, ("-o", "--s")):
        ax.plot(steps, errs[b], style, ms=3, label=t(b))
    ax.legend(fontsize=7)
    (point,) = ax.plot([], [], "o", ms=10, color="tab:red", alpha=0.7)
    chart.animate(point)

    def frame(n_steps: int, baseline: str, opacity: float) -> Frame:
        s = min(steps, key=lambda v: abs(v - n_steps))
        r = runs[(baseline, s)]
        point.set_data([s], [max(r["completeness_error"], 1e-12)])
        base_img = np.zeros_like(grey) if bases[baseline] is None else bases[baseline][0, :, :, 0]
        panels = [titled(zoom(to_rgb(base_img, 0.0, 1.0), f), t("baseline: {0}").format(t(baseline))),
                  titled(zoom(overlay(grey, r["map"], opacity, signed=True), f), t("IG, {0} steps").format(s))]
        rows = [("sum of attributions", f"{r['sum']:.4f}"),
                ("z(x) - z(x')", f"{r['delta']:.4f} (z(x) = {r['logit']:.3f}, z(x') = {r['baseline_logit']:.3f})"),
                ("completeness error", f"{r['completeness_error']:.3g} ({100 * r['relative_error']:.2g} %)")]
        return Frame(image=hstack(panels), panes={"chart": chart.png()}, readout=_table(rows))

    controls = {
        "n_steps": Choice("Steps", list(steps), value=32 if 32 in steps else steps[0], style="toggle",
                          button_width="44px"),
        "baseline": Choice("Baseline", list(bases), value="black", style="toggle"),
        "opacity": Float("Overlay opacity", 0.0, 1.0, value=0.6, step=0.05, format=".2f"),
    }
    return explorer(frame, controls, title="Integrated gradients and completeness")


# ----------------------------------------------------------------------------- 5. randomisation cascade
@register(demo=_demo_image)
def randomization_explorer(model: Any, image: Any, methods: Sequence[str] = ("saliency", "gradient_x_input",
                                                                            "grad_cam", "integrated_gradients",
                                                                            "edge_detector"),
                           seed: int = 0, ig_steps: int = 16, cascade: dict | None = None) -> Any:
    """The cascading model-parameter randomisation test (Adebayo et al. 2018). Used in 08 §6.

    :func:`medlab.explain.cascading_randomization` runs at build time; the slider picks how many layers
    (from the top) are re-initialised and shows every method's map at that step next to the trained
    model's, with the chart of their similarity (Spearman of |map| or SSIM) against the step. ``cascade``:
    a result of ``cascading_randomization(model, image, ...)`` already computed (then ``methods``, ``seed``
    and ``ig_steps`` are not used).
    """
    from .. import explain as ex

    xs = _prepare(model, image)[:1]
    if cascade is None:
        out = ex.cascading_randomization(model, xs, methods=tuple(methods), seed=seed,
                                         method_kwargs={"integrated_gradients": {"steps": ig_steps}})
    else:
        if not isinstance(cascade, dict) or not {"layers", "maps", "spearman_abs", "ssim"} <= set(cascade):
            raise TypeError("cascade must be the dict returned by medlab.explain.cascading_randomization")
        out = cascade
    names = out["layers"]
    methods = list(out["maps"])
    grey = xs[0, :, :, 0]
    h = xs.shape[1]
    f = max(1, _factor(h) // 2)
    chart = Chart(figsize=(4.2, 2.9), dpi=80)
    ax = chart.fig.add_subplot()
    chart.fig.subplots_adjust(left=0.14, right=0.97, bottom=0.3, top=0.9)
    ax.set_ylim(-0.45, 1.05)
    ax.set_xlim(-0.3, len(names) - 0.7)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([t("trained")] + [f"+{n}" for n in names[1:]], rotation=30, fontsize=7)
    ax.axhline(0, color="0.7", lw=0.8)
    lines = {}
    for m in methods:
        (lines[m],) = ax.plot([], [], "-o", ms=3, label=t(METHOD_LABELS[m].split(" (")[0]))
    ax.legend(fontsize=6, loc="lower left")
    (marker,) = ax.plot([], [], "|", ms=200, color="tab:red", alpha=0.4)
    chart.animate(*lines.values(), marker)
    title = ax.set_title("", fontsize=9)
    chart.animate(title)

    def label(m: str) -> str:
        return METHOD_LABELS[m].split(" (")[0]

    top = hstack([titled(zoom(_map_panel(out["maps"][m][0], m in SIGNED), f), label(m), size=11)
                  for m in methods], gap=4)
    bottoms = {s: [zoom(_map_panel(out["maps"][m][s], m in SIGNED), f) for m in methods]
               for s in range(len(names))}
    metrics = ("spearman_abs", "ssim", "spearman")
    titles = {"spearman_abs": "Spearman rank corr. of |map|", "ssim": "SSIM", "spearman": "Spearman rank corr."}

    def draw(step: int, metric: str) -> tuple[bytes, bytes]:
        row = [titled(p, f"{out[metric][m][step]:.2f}", size=11) for p, m in zip(bottoms[step], methods)]
        x = np.arange(len(names))
        for m in methods:
            lines[m].set_data(x, out[metric][m])
        marker.set_data([step], [0.3])
        title.set_text(t(titles[metric]))
        return to_png(vstack([top, hstack(row, gap=4)], gap=4)), chart.png()

    # every (step, metric) picture and chart as PNG now: a control update only swaps bytes
    pngs = {(s_, m_): draw(s_, m_) for s_ in range(len(names)) for m_ in metrics}

    def frame(step: int, metric: str) -> Frame:
        step = min(step, len(names) - 1)
        main, chart_png = pngs[(step, metric)]
        desc = t("trained model") if step == 0 else t("layers {0} re-initialised").format(", ".join(names[1:step + 1]))
        rows = [("step", t("{0} of {1}: {2}").format(step, len(names) - 1, desc)),
                ("p(class 1)", t("{0:.3f} (trained {1:.3f})").format(out['probability'][step], out['probability'][0])),
                ("below each map", t("its similarity to the trained model's map (top row)"))]
        return Frame(image=main, panes={"chart": chart_png}, readout=_table(rows))

    controls = {
        "step": Int("Randomised layers", 0, len(names) - 1, value=len(names) - 1),
        "metric": Choice("Similarity", [("Spearman |map|", "spearman_abs"), ("SSIM", "ssim"),
                                        ("Spearman", "spearman")], value="spearman_abs"),
    }
    return explorer(frame, controls, title="Cascading randomisation: top row trained, bottom row randomised")


# ----------------------------------------------------------------------------- 6. faithfulness
@register(demo=_demo_image)
def faithfulness_explorer(model: Any, image: Any, steps: int = 28, seed: int = 0) -> Any:
    """Deletion and insertion curves (Petsiuk et al. 2018) for each method vs a random order. Used in 08 §7.

    Every method's map and curves are computed at build time; the fraction slider shows the image with that
    fraction of its highest-ranked pixels deleted (set to 0) and inserted (into a blurred copy).
    """
    from scipy.ndimage import gaussian_filter

    from .. import explain as ex

    xs = _prepare(model, image)[:1]
    h, w = xs.shape[1:3]
    methods = [m for m in ex.METHODS if m != "edge_detector"] + ["edge_detector"]
    kw = {"integrated_gradients": {"steps": 32}, "smoothgrad": {"n": 25, "seed": seed}}
    maps = {m: ex.explain(model, xs, m, **kw.get(m, {}))["map"] for m in methods}
    curves = {m: ex.deletion_insertion(model, xs, maps[m], steps=steps, seed=seed) for m in methods}
    grey = xs[0, :, :, 0].astype(np.float64)
    blurred = gaussian_filter(grey, max(h, w) / 14.0)
    f = _factor(h)
    chart = Chart(figsize=(3.6, 2.8), dpi=80)
    ax = chart.fig.add_subplot()
    chart.fig.subplots_adjust(left=0.17, right=0.97, bottom=0.18, top=0.88)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(t("fraction of pixels"))
    ax.set_ylabel(t("p(class 1)"))
    (d_line,) = ax.plot([], [], "-", color="tab:blue", label=t("deletion"))
    (i_line,) = ax.plot([], [], "-", color="tab:orange", label=t("insertion"))
    (rd_line,) = ax.plot([], [], ":", color="tab:blue", label=t("random del."))
    (ri_line,) = ax.plot([], [], ":", color="tab:orange", label=t("random ins."))
    (vline,) = ax.plot([], [], "-", color="0.5", lw=0.8)
    ax.legend(fontsize=6, loc="center right")
    chart.animate(d_line, i_line, rd_line, ri_line, vline)

    def frame(method: str, fraction: float) -> Frame:
        c = curves[method]
        fr = c["fractions"]
        d_line.set_data(fr, c["deletion"])
        i_line.set_data(fr, c["insertion"])
        rd_line.set_data(fr, c["random_deletion"])
        ri_line.set_data(fr, c["random_insertion"])
        vline.set_data([fraction, fraction], [0, 1])
        order = np.argsort(-maps[method].ravel(), kind="stable")
        k = int(round(fraction * h * w))
        chosen = np.zeros(h * w, bool)
        chosen[order[:k]] = True
        chosen = chosen.reshape(h, w)
        deleted = np.where(chosen, 0.0, grey)
        inserted = np.where(chosen, grey, blurred)
        panels = [titled(zoom(to_rgb(deleted, 0.0, 1.0), f), t("{0} % deleted").format(int(fraction * 100))),
                  titled(zoom(to_rgb(inserted, 0.0, 1.0), f), t("{0} % inserted").format(int(fraction * 100)))]
        rows = [("deletion AUC", t("{0:.3f} (random order {1:.3f}; lower is better)").format(
                     c['deletion_auc'], c['random_deletion_auc'])),
                ("insertion AUC", t("{0:.3f} (random order {1:.3f}; higher is better)").format(
                     c['insertion_auc'], c['random_insertion_auc']))]
        return Frame(image=hstack(panels), panes={"chart": chart.png()}, readout=_table(rows))

    controls = {
        "method": Choice("Method", [(METHOD_LABELS[m], m) for m in methods], value="integrated_gradients"),
        "fraction": Float("Fraction", 0.0, 1.0, value=0.1, step=0.02, format=".2f"),
    }
    return explorer(frame, controls, title="Faithfulness: delete / insert the top-ranked pixels")
