"""Widgets for 05_features_svm, one per section: first-order explorer (§1), GLCM by hand (§2), GLCM
explorer and texture comparison (§3), wavelet viewer (§4), shape explorer (§5), feature histograms (§6),
SVM explorer (§7), baseline threshold explorer (§8).

Each widget is a pure compute/render function (numpy in; arrays, dicts, PNG bytes out;
no kernel needed) and a thin ipywidgets builder. Images are composed in numpy and shown
as PNG in an ``ipywidgets.Image`` -- the SVM plot too: a matplotlib re-draw costs more than
the 100 ms budget on a 2-core laptop, a numpy canvas a few ms.

>>> img = np.random.default_rng(0).integers(0, 256, (64, 64)).astype(np.uint8)
>>> r = compute_glcm_view(img, (10, 10, 41, 41), distance=1, angle_deg=0, levels=8, vmin=0, vmax=255)
>>> r["glcm"].shape, r["panel"].shape, round(float(r["glcm"].sum()), 6)
((8, 8), (256, 768, 3), 1.0)
"""
from __future__ import annotations

import functools
import html
import math
from typing import Any, Sequence

import numpy as np

from .. import features as F
from ._render import font as _font
from ._render import draw_boxes, to_png, to_uint8

__all__ = ["compute_glcm_view", "glcm_explorer", "parenchyma_box", "compare_textures", "texture_comparison",
           "render_wavelet", "wavelet_viewer", "svm_decision", "svm_decision_grid", "fit_svm_2d", "render_svm", "svm_explorer", "SHOWN_FEATURES",
           "WAVELETS", "compute_first_order_view", "first_order_explorer", "glcm_pairs", "render_glcm_pairs",
           "glcm_by_hand", "lung_slice_mask", "compute_shape_view", "shape_explorer", "feature_separation",
           "feature_histograms", "threshold_view", "baseline_threshold_explorer"]

#: GLCM features listed in the explorers' tables.
SHOWN_FEATURES = ("contrast", "dissimilarity", "homogeneity", "energy", "entropy", "correlation",
                  "cluster_shade", "cluster_prominence", "sum_entropy", "difference_entropy", "imc1", "imc2")

#: Wavelet families offered by the sub-band viewer.
WAVELETS = ("haar", "db2", "db4", "sym4", "coif1", "bior2.2")

#: Fixed HU range for quantising CT regions, so two regions are binned on the same scale.
CT_RANGE = (-1000.0, 400.0)
PANEL = 256


@functools.lru_cache(maxsize=1)
def _viridis() -> np.ndarray:
    from matplotlib import colormaps

    return (colormaps["viridis"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)


def _heatmap(P: np.ndarray, size: int = PANEL) -> np.ndarray:
    """A probability matrix as an RGB heat map (sqrt scale, so rare pairs stay visible)."""
    v = np.sqrt(P / P.max()) if P.max() > 0 else np.zeros_like(P)
    rgb = _viridis()[np.rint(v * 255).astype(np.uint8)]
    n = P.shape[0]
    idx = np.minimum((np.arange(size) * n) // size, n - 1)
    return rgb[idx][:, idx]


def _fit(img: np.ndarray, size: int = PANEL) -> np.ndarray:
    """Nearest-neighbour resize of a (H, W[, 3]) image to (size, size)."""
    h, w = img.shape[:2]
    rows = np.minimum((np.arange(size) * h) // size, h - 1)
    cols = np.minimum((np.arange(size) * w) // size, w - 1)
    return img[rows][:, cols]


def _check_roi(roi: Sequence[int], shape: tuple[int, int], name: str = "roi") -> tuple[int, int, int, int]:
    try:
        r0, c0, r1, c1 = (int(v) for v in roi)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (row0, col0, row1, col1) inclusive pixel indices, got {roi!r}") from None
    h, w = shape
    if not (0 <= r0 <= r1 < h and 0 <= c0 <= c1 < w):
        raise ValueError(f"{name} {(r0, c0, r1, c1)} must lie inside the {h}x{w} image with row0<=row1, col0<=col1")
    if r1 - r0 < 1 or c1 - c0 < 1:
        raise ValueError(f"{name} must be at least 2x2 pixels to have pixel pairs, got {(r0, c0, r1, c1)}")
    return r0, c0, r1, c1


def _roi_glcm(crop: np.ndarray, distance: int, angle_deg: float, levels: int, vmin: float, vmax: float):
    q = F.quantize(crop, levels, vmin=vmin, vmax=vmax)
    P = F.glcm(q, [distance], [math.radians(angle_deg)], levels=levels, symmetric=True, normed=True)
    return q, P


# ----------------------------------------------------------------------------- GLCM explorer
def compute_glcm_view(image: np.ndarray, roi: Sequence[int], distance: int = 1, angle_deg: float = 0.0,
                      levels: int = 16, vmin: float | None = None, vmax: float | None = None,
                      display_range: tuple[float, float] | None = None) -> dict[str, Any]:
    """GLCM of a region: ``{"glcm": (L, L) symmetric probabilities, "features": {name: float},
    "panel": RGB uint8 (256, 768, 3) = [image with ROI box | ROI zoomed, quantised | GLCM heat map]}``.

    ``roi`` = (row0, col0, row1, col1) inclusive; ``vmin``/``vmax`` is the grey range binned
    into ``levels`` (default: the ROI's own range); ``display_range`` the grey range shown.
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {img.shape}")
    r0, c0, r1, c1 = _check_roi(roi, img.shape)
    if isinstance(angle_deg, bool) or not isinstance(angle_deg, (int, float, np.number)) or not math.isfinite(angle_deg):
        raise ValueError(f"angle_deg must be a finite angle in degrees, got {angle_deg!r}")
    crop = img[r0:r1 + 1, c0:c1 + 1]
    q, P = _roi_glcm(crop, distance, angle_deg, levels, vmin, vmax)
    feats = {k: float(v) for k, v in F.glcm_features(P, average=True).items()}
    lo, hi = display_range if display_range is not None else (float(img.min()), float(img.max()))
    h, w = img.shape
    step = max(1, max(h, w) // PANEL)
    small = to_uint8(img[::step, ::step], lo, hi)
    over = np.repeat(small[..., None], 3, axis=2)
    draw_boxes(over, [(r0 // step, c0 // step, r1 // step, c1 // step)], thickness=2)
    over = _fit(over)
    zoom = _fit(np.repeat(to_uint8(q, 0, levels - 1)[..., None], 3, axis=2))
    panel = np.concatenate([over, zoom, _heatmap(P[:, :, 0, 0])], axis=1)
    return {"glcm": P[:, :, 0, 0], "features": feats, "panel": panel, "quantized": q,
            "offset": (int(round(math.sin(math.radians(angle_deg)) * distance)),
                       int(round(math.cos(math.radians(angle_deg)) * distance)))}


def _feature_table(columns: dict[str, dict[str, float]], names: Sequence[str] = SHOWN_FEATURES) -> str:
    td = "style='padding:0 6px;line-height:1.25'"
    head = "".join(f"<th {td}>{html.escape(c)}</th>" for c in columns)
    rows = "".join(
        f"<tr><td {td}>{n}</td>" + "".join(f"<td {td} align='right'>{col[n]:.4g}</td>" for col in columns.values())
        + "</tr>" for n in names)
    return (f"<table style='font-family:monospace;font-size:12px;border-collapse:collapse'>"
            f"<tr><th {td} align='left'>feature</th>{head}</tr>{rows}</table>")


@functools.lru_cache(maxsize=1)
def _ct_data():
    from ..datasets import load_lung_ct

    ct = load_lung_ct()
    return np.array(ct.array), ct.boxes   # a copy: ct.array is a view into the SimpleITK image


def _largest_box(boxes):
    return max(boxes, key=lambda b: (b.row1 - b.row0) * (b.col1 - b.col0))


def parenchyma_box(slice_hu: np.ndarray, size: tuple[int, int], exclude: Sequence[int] | None = None,
                   lo: float = -950.0, hi: float = -600.0, stride: int = 4) -> tuple[int, int, int, int]:
    """A box of ``size`` (rows, cols) in aerated lung: the position with the largest fraction of
    pixels in ``[lo, hi]`` HU (normal lung parenchyma), not overlapping ``exclude``.

    Found with an integral image (summed-area table) over all positions on a ``stride`` grid.

    >>> s = np.full((64, 64), 0.0); s[30:50, 5:30] = -800
    >>> parenchyma_box(s, (10, 10), stride=1)
    (30, 5, 39, 14)
    """
    a = np.asarray(slice_hu, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"slice_hu must be 2-D, got shape {a.shape}")
    h, w = int(size[0]), int(size[1])
    if not (1 <= h <= a.shape[0] and 1 <= w <= a.shape[1]):
        raise ValueError(f"size must fit inside the {a.shape} slice, got {size}")
    inside = ((a >= lo) & (a <= hi)).astype(np.float64)
    S = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    S[1:, 1:] = inside.cumsum(0).cumsum(1)
    rows = np.arange(0, a.shape[0] - h + 1, stride)
    cols = np.arange(0, a.shape[1] - w + 1, stride)
    R, C = np.meshgrid(rows, cols, indexing="ij")
    frac = (S[R + h, C + w] - S[R, C + w] - S[R + h, C] + S[R, C]) / (h * w)
    if exclude is not None:
        e0, f0, e1, f1 = exclude
        overlap = (R <= e1) & (R + h - 1 >= e0) & (C <= f1) & (C + w - 1 >= f0)
        frac[overlap] = -1
    k = np.unravel_index(int(np.argmax(frac)), frac.shape)
    r, c = int(R[k]), int(C[k])
    return (r, c, r + h - 1, c + w - 1)


def _sources() -> dict[str, tuple[np.ndarray, tuple[int, int, int, int], tuple[float, float], tuple[float, float]]]:
    """Source name -> (image, default ROI, quantisation range, display range)."""
    from ..datasets import load_chest_xray

    vol, boxes = _ct_data()
    b = _largest_box(boxes)
    sl = vol[b.slice_index]
    tumour = (b.row0, b.col0, b.row1, b.col1)
    lung = parenchyma_box(sl, (b.row1 - b.row0 + 1, b.col1 - b.col0 + 1), exclude=tumour)
    xray = load_chest_xray()
    return {
        f"CT slice {b.slice_index}: tumour box": (sl, tumour, CT_RANGE, (-1350.0, 150.0)),
        f"CT slice {b.slice_index}: lung parenchyma": (sl, lung, CT_RANGE, (-1350.0, 150.0)),
        "Chest X-ray": (xray, (180, 120, 279, 219), (0.0, 255.0), (0.0, 255.0)),
    }


def glcm_explorer(image: np.ndarray | None = None, roi: Sequence[int] | None = None,
                  vmin: float | None = None, vmax: float | None = None) -> Any:
    """GLCM explorer: choose a region, distance, angle and number of grey levels.

    Without arguments it offers the CT tumour box, a lung-parenchyma box of the same size and
    a chest X-ray; pass ``image`` (2-D) and ``roi`` (row0, col0, row1, col1) to use your own.
    Shows [image + ROI | quantised ROI | GLCM heat map] and the feature values.
    """
    import ipywidgets as w

    if image is not None:
        img = np.asarray(image)
        if img.ndim != 2:
            raise ValueError(f"image must be 2-D, got shape {img.shape}")
        r = roi if roi is not None else (img.shape[0] // 4, img.shape[1] // 4,
                                         3 * img.shape[0] // 4, 3 * img.shape[1] // 4)
        rng = (float(img.min()) if vmin is None else vmin, float(img.max()) if vmax is None else vmax)
        sources = {"your image": (img, _check_roi(r, img.shape), rng, rng)}
    else:
        sources = _sources()
    names = list(sources)
    source_w = w.Dropdown(options=names, value=names[0], description="Region", layout=w.Layout(width="300px"))
    dist_w = w.IntSlider(value=1, min=1, max=8, description="Distance")
    angle_w = w.SelectionSlider(options=[0, 45, 90, 135], value=0, description="Angle (°)")
    levels_w = w.SelectionSlider(options=[4, 8, 16, 32, 64], value=16, description="Levels")
    row_w = w.IntSlider(description="ROI row")
    col_w = w.IntSlider(description="ROI col")
    img_w = w.Image(format="png", layout=w.Layout(width="600px", height="auto"))
    info_w = w.HTML()
    table_w = w.HTML()
    state: dict[str, Any] = {}

    def set_source(name: str) -> None:
        img, (r0, c0, r1, c1), _, _ = sources[name]
        h, wd = r1 - r0, c1 - c0
        state.update(name=name, h=h, w=wd)
        with row_w.hold_trait_notifications(), col_w.hold_trait_notifications():
            row_w.max, col_w.max = img.shape[0] - 1 - h, img.shape[1] - 1 - wd
            row_w.value, col_w.value = r0, c0

    def render(*_) -> bytes:
        img, _, (lo, hi), disp = sources[state["name"]]
        r0, c0 = row_w.value, col_w.value
        res = compute_glcm_view(img, (r0, c0, r0 + state["h"], c0 + state["w"]), dist_w.value, angle_w.value,
                                levels_w.value, lo, hi, display_range=disp)
        png = to_png(res["panel"])
        img_w.value = png
        dr, dc = res["offset"]
        info_w.value = (f"<code>ROI rows {r0}..{r0 + state['h']}, cols {c0}..{c0 + state['w']} &middot; "
                        f"{levels_w.value} levels over [{lo:g}, {hi:g}] &middot; neighbour offset "
                        f"(row {dr:+d}, col {dc:+d}) &middot; symmetric, normalised &middot; "
                        f"panels: image + ROI | ROI binned | GLCM (i down, j across)</code>")
        table_w.value = _feature_table({"value": res["features"]})
        return png

    def on_source(change):
        set_source(change["new"])
        render()

    set_source(names[0])
    source_w.observe(on_source, names="value")
    for c in (dist_w, angle_w, levels_w, row_w, col_w):
        c.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([w.VBox([source_w, dist_w, angle_w, levels_w], layout=w.Layout(width="320px")),
                          w.VBox([row_w, col_w])]),
                  info_w, w.HBox([img_w, table_w])])
    box.render = render  # type: ignore[attr-defined]
    box.image = img_w  # type: ignore[attr-defined]
    box.controls = {"source": source_w, "distance": dist_w, "angle": angle_w, "levels": levels_w,  # type: ignore[attr-defined]
                    "row": row_w, "col": col_w}
    return box


# ----------------------------------------------------------------------------- texture comparison
def compare_textures(slice_hu: np.ndarray, box_a: Sequence[int], box_b: Sequence[int], distance: int = 1,
                     levels: int = 16, hu_range: tuple[float, float] = CT_RANGE,
                     display_range: tuple[float, float] = (-1350.0, 150.0)) -> dict[str, Any]:
    """GLCM features of two regions binned on the same HU scale, averaged over 0/45/90/135°.

    Returns ``{"features_a", "features_b": {name: float}, "glcm_a", "glcm_b": (L, L),
    "panel": RGB (256, 768, 3) = [slice with box A yellow and box B cyan | GLCM A | GLCM B]}``.
    """
    img = np.asarray(slice_hu)
    if img.ndim != 2:
        raise ValueError(f"slice_hu must be 2-D, got shape {img.shape}")
    out: dict[str, Any] = {}
    for key, roi in (("a", box_a), ("b", box_b)):
        r0, c0, r1, c1 = _check_roi(roi, img.shape, name=f"box_{key}")
        q = F.quantize(img[r0:r1 + 1, c0:c1 + 1], levels, vmin=hu_range[0], vmax=hu_range[1])
        P = F.glcm(q, [distance], F.DEFAULT_ANGLES, levels=levels, symmetric=True, normed=True)
        out[f"features_{key}"] = {k: float(v) for k, v in F.glcm_features(P, average=True).items()}
        out[f"glcm_{key}"] = P.mean(axis=(2, 3))
    step = max(1, max(img.shape) // PANEL)
    over = np.repeat(to_uint8(img[::step, ::step], *display_range)[..., None], 3, axis=2)
    a = [v // step for v in _check_roi(box_a, img.shape)]
    b = [v // step for v in _check_roi(box_b, img.shape)]
    draw_boxes(over, [a], color=(255, 215, 0))
    draw_boxes(over, [b], color=(0, 220, 255))
    out["panel"] = np.concatenate([_fit(over), _heatmap(out["glcm_a"]), _heatmap(out["glcm_b"])], axis=1)
    return out


def texture_comparison(levels: int = 16) -> Any:
    """Tumour box vs a lung-parenchyma box of the same size, on every annotated CT slice."""
    import ipywidgets as w

    vol, boxes = _ct_data()
    by_slice = {b.slice_index: b for b in boxes}
    slices = sorted(by_slice)
    slice_w = w.SelectionSlider(options=slices, value=_largest_box(boxes).slice_index, description="Slice")
    dist_w = w.IntSlider(value=1, min=1, max=8, description="Distance")
    levels_w = w.SelectionSlider(options=[4, 8, 16, 32, 64], value=levels, description="Levels")
    img_w = w.Image(format="png", layout=w.Layout(width="600px", height="auto"))
    table_w = w.HTML()
    lung_cache: dict[int, tuple[int, int, int, int]] = {}

    def render(*_) -> bytes:
        b = by_slice[slice_w.value]
        sl = vol[b.slice_index]
        tumour = (b.row0, b.col0, b.row1, b.col1)
        if b.slice_index not in lung_cache:
            lung_cache[b.slice_index] = parenchyma_box(sl, (b.row1 - b.row0 + 1, b.col1 - b.col0 + 1), exclude=tumour)
        res = compare_textures(sl, tumour, lung_cache[b.slice_index], dist_w.value, levels_w.value)
        png = to_png(res["panel"])
        img_w.value = png
        fa, fb = res["features_a"], res["features_b"]
        table_w.value = ("<small><b>yellow</b>: tumour box, <b>cyan</b>: lung parenchyma<br>GLCMs (middle: "
                         f"tumour, right: parenchyma), {CT_RANGE[0]:g}..{CT_RANGE[1]:g} HU binned</small><br>"
                         + _feature_table({"tumour": fa, "parenchyma": fb}))
        return png

    for c in (slice_w, dist_w, levels_w):
        c.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([slice_w, dist_w, levels_w]), w.HBox([img_w, table_w])])
    box.render = render  # type: ignore[attr-defined]
    box.image = img_w  # type: ignore[attr-defined]
    box.controls = {"slice": slice_w, "distance": dist_w, "levels": levels_w}  # type: ignore[attr-defined]
    return box


# ----------------------------------------------------------------------------- wavelets
def render_wavelet(image: np.ndarray, wavelet: str = "haar", level: int = 2,
                   size: int = 512) -> dict[str, Any]:
    """Multi-level 2-D wavelet decomposition laid out as the classic mosaic.

    Approximation top-left, then for each level the H (top-right), V (bottom-left) and D
    (bottom-right) details, separated by white lines. Each sub-band is scaled on its own
    (details by the 99th percentile of ``|c|``) so that fine, weak details remain visible.
    Returns ``{"mosaic": uint8 (size, size), "energies": {band: mean squared coefficient}}``
    (the same numbers as :func:`medlab.features.wavelet_energies`).
    """
    import pywt

    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {img.shape}")
    wavelet, level, mode = F._check_wavelet(wavelet, level, "symmetric", img.shape)
    coeffs = pywt.wavedec2(img, wavelet, mode=mode, level=level)
    energies = {f"wavelet_A{level}": float(np.mean(coeffs[0].astype(np.float64) ** 2))}
    shown = [to_uint8(coeffs[0], *np.percentile(coeffs[0], (0.5, 99.5)))]
    for k, bands in enumerate(coeffs[1:]):
        scaled = []
        for name, c in zip("HVD", bands):
            energies[f"wavelet_L{level - k}_{name}"] = float(np.mean(c.astype(np.float64) ** 2))
            a = np.abs(c)
            sub = a[::4, ::4] if a.size > 4096 else a     # percentile of a subsample: same scale, 16x cheaper
            scaled.append(to_uint8(a, 0, max(float(np.percentile(sub, 99)), 1e-6)))
        shown.append(tuple(scaled))
    arr, _ = pywt.coeffs_to_array(shown)
    grey = _fit(arr.astype(np.uint8), size)
    # white lines between the sub-bands: block k (coarsest first) sits right of / below the
    # block of everything coarser, whose size grows by the detail band's shape
    h, wd = arr.shape
    ch, cw = coeffs[0].shape
    for bands in coeffs[1:]:
        sh, sw = bands[0].shape
        rr, cc = min(size - 1, ch * size // h), min(size - 1, cw * size // wd)
        grey[rr, : min(size, (cw + sw) * size // wd)] = 255
        grey[: min(size, (ch + sh) * size // h), cc] = 255
        ch, cw = ch + sh, cw + sw
    return {"mosaic": grey, "energies": dict(sorted(energies.items()))}


def wavelet_viewer(image: np.ndarray | None = None) -> Any:
    """Wavelet sub-band viewer: wavelet family and number of levels -> mosaic and band energies."""
    import ipywidgets as w

    if image is not None:
        sources = {"your image": np.asarray(image, dtype=np.float32)}
    else:
        from ..datasets import load_chest_xray

        vol, boxes = _ct_data()
        sl = vol[_largest_box(boxes).slice_index].astype(np.float32)
        sources = {"Chest X-ray": load_chest_xray().astype(np.float32),
                   "CT slice (lung window)": (np.clip((sl + 1350.0) / 1500.0, 0, 1) * 255).astype(np.float32)}
    names = list(sources)
    source_w = w.Dropdown(options=names, value=names[0], description="Image")
    wav_w = w.Dropdown(options=list(WAVELETS), value="haar", description="Wavelet")
    level_w = w.IntSlider(value=2, min=1, max=4, description="Level")
    img_w = w.Image(format="png", layout=w.Layout(width="512px", height="auto"))
    table_w = w.HTML()

    def render(*_) -> bytes | None:
        try:
            res = render_wavelet(sources[source_w.value], wav_w.value, level_w.value)
        except ValueError as e:  # e.g. too many levels for a small image: say so, keep the last picture
            table_w.value = f"<div style='color:#b00020;font-weight:bold'>⚠ {html.escape(str(e))}</div>"
            return None
        png = to_png(res["mosaic"])
        img_w.value = png
        e = res["energies"]
        rows = "".join(f"<tr><td>{k}</td><td style='text-align:right;padding:0 8px'>{v:.4g}</td></tr>"
                       for k, v in e.items())
        table_w.value = ("<b>mean squared coefficient per sub-band</b> (L1 = finest)"
                         f"<table style='font-family:monospace;font-size:12px'>{rows}</table>")
        return png

    for c in (source_w, wav_w, level_w):
        c.observe(render, names="value")
    render()
    box = w.HBox([w.VBox([source_w, wav_w, level_w, table_w], layout=w.Layout(width="330px")), img_w])
    box.render = render  # type: ignore[attr-defined]
    box.image = img_w  # type: ignore[attr-defined]
    box.controls = {"source": source_w, "wavelet": wav_w, "level": level_w}  # type: ignore[attr-defined]
    return box


# ----------------------------------------------------------------------------- SVM explorer
def svm_decision(model, X: np.ndarray) -> np.ndarray:
    """``model.decision_function(X)`` written out for a ``make_svm`` pipeline (linear or RBF).

    f(x) = sum_i alpha_i y_i K(z_i, z) + b with z = (x - mean) / std, K(u, v) = u.v (linear)
    or exp(-gamma |u - v|^2) (RBF): a weighted vote of the support vectors.
    """
    scaler, svc = model.named_steps["scale"], model.named_steps["svm"]
    Z = (np.asarray(X, dtype=np.float64) - scaler.mean_) / scaler.scale_
    sv = svc.support_vectors_
    if svc.kernel == "linear":
        K = Z @ sv.T
    elif svc.kernel == "rbf":
        d2 = (Z * Z).sum(1)[:, None] + (sv * sv).sum(1)[None, :] - 2.0 * Z @ sv.T
        K = np.exp(-svc._gamma * np.maximum(d2, 0.0))
    else:
        return model.decision_function(X)
    return K @ svc.dual_coef_[0] + svc.intercept_[0]


def svm_decision_grid(model, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Decision values on the grid ``gx`` x ``gy`` of a 2-feature pipeline: (len(gy), len(gx)).

    The RBF kernel factorises over the two axes, exp(-g(dx^2 + dy^2)) = exp(-g dx^2) exp(-g dy^2),
    so the whole grid is one matrix product ``Ey @ diag(alpha) @ Ex.T`` instead of one kernel
    row per grid point (equal to :func:`svm_decision` on the mesh; tested).
    """
    scaler, svc = model.named_steps["scale"], model.named_steps["svm"]
    zx = (np.asarray(gx, dtype=np.float64) - scaler.mean_[0]) / scaler.scale_[0]
    zy = (np.asarray(gy, dtype=np.float64) - scaler.mean_[1]) / scaler.scale_[1]
    sv, alpha, b = svc.support_vectors_, svc.dual_coef_[0], svc.intercept_[0]
    if svc.kernel == "linear":
        w = alpha @ sv
        return zy[:, None] * w[1] + zx[None, :] * w[0] + b
    if svc.kernel == "rbf":
        ex = np.exp(-svc._gamma * (zx[:, None] - sv[None, :, 0]) ** 2)     # (nx, n_sv)
        ey = np.exp(-svc._gamma * (zy[:, None] - sv[None, :, 1]) ** 2)     # (ny, n_sv)
        return (ey * alpha) @ ex.T + b
    GX, GY = np.meshgrid(gx, gy)
    return model.decision_function(np.column_stack([GX.ravel(), GY.ravel()])).reshape(len(gy), len(gx))


def fit_svm_2d(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
               kernel: str = "rbf", C: float = 1.0, gamma: float | str = "scale", grid_n: int = 180,
               seed: int = 0, max_iter: int = 20_000) -> dict[str, Any]:
    """Fit ``make_svm`` on two features and evaluate it on a grid and on the test rows.

    Returns ``{"decision": (grid_n, grid_n) decision values over "extent" (x0, x1, y0, y1)
    (row 0 = y0), "metrics": diagnostic_metrics on test at threshold 0, "support": support
    vectors in feature units, "converged": bool, "model": the fitted pipeline}``. The grid spans
    the 1st..99th percentile of the training rows (+5 %). ``max_iter`` bounds the solver so a
    huge ``C`` cannot freeze the widget (``converged`` is then False).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from ..classical import diagnostic_metrics, make_svm

    Xt = np.asarray(X_train, dtype=np.float64)
    Xs = np.asarray(X_test, dtype=np.float64)
    if Xt.ndim != 2 or Xt.shape[1] != 2 or Xs.ndim != 2 or Xs.shape[1] != 2:
        raise ValueError(f"X_train and X_test must have exactly 2 feature columns, got shapes {Xt.shape} and {Xs.shape}")
    if isinstance(grid_n, bool) or not isinstance(grid_n, int) or grid_n < 2:
        raise ValueError(f"grid_n must be an int >= 2, got {grid_n!r}")
    model = make_svm(kernel, C, gamma, seed=seed)
    model.set_params(svm__max_iter=int(max_iter))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(Xt, np.asarray(y_train))
    converged = not any(issubclass(c.category, ConvergenceWarning) for c in caught)
    lo = np.percentile(Xt, 1, axis=0)
    hi = np.percentile(Xt, 99, axis=0)
    pad = 0.05 * np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - pad, hi + pad
    dec = svm_decision_grid(model, np.linspace(lo[0], hi[0], grid_n), np.linspace(lo[1], hi[1], grid_n))
    metrics = diagnostic_metrics(y_test, svm_decision(model, Xs), threshold=0.0)
    scaler, svc = model.named_steps["scale"], model.named_steps["svm"]
    support = scaler.inverse_transform(svc.support_vectors_)
    return {"decision": dec, "extent": (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])),
            "metrics": metrics, "support": support, "converged": converged, "model": model}


_CLASS_RGB = (np.array([40, 90, 220], np.uint8), np.array([220, 50, 40], np.uint8))


def render_svm(res: dict, X: np.ndarray, y: np.ndarray, size: int = 360) -> np.ndarray:
    """The SVM plot composed in numpy: RGB uint8 (size, size, 3).

    Background: light blue where the SVM says class 0, light red for class 1, darker inside
    the margin ``|f| <= 1``; black: the decision boundary ``f = 0``; dots: training rows in
    their class colour; black rings: support vectors. The axes span ``res["extent"]``.
    """
    dec = np.asarray(res["decision"])
    x0, x1, y0, y1 = res["extent"]
    g = dec.shape[0]
    idx = np.minimum((np.arange(size) * g) // size, g - 1)
    D = dec[idx[::-1]][:, idx]                      # row 0 of the canvas = top = y1
    pos = D >= 0
    rgb = np.empty((size, size, 3), np.uint8)
    rgb[...] = (225, 232, 252)
    rgb[pos] = (252, 226, 222)
    band = np.abs(D) <= 1.0
    rgb[band & ~pos] = (196, 208, 242)
    rgb[band & pos] = (242, 198, 192)
    edge = np.zeros_like(pos)
    edge[:, 1:] |= pos[:, 1:] != pos[:, :-1]
    edge[1:, :] |= pos[1:, :] != pos[:-1, :]
    rgb[edge] = 0

    def to_px(P):
        P = np.asarray(P, dtype=np.float64).reshape(-1, 2)
        c = np.rint((P[:, 0] - x0) / (x1 - x0) * (size - 1)).astype(int)
        r = np.rint((y1 - P[:, 1]) / (y1 - y0) * (size - 1)).astype(int)
        keep = (r >= 0) & (r < size) & (c >= 0) & (c < size)
        return r[keep], c[keep]

    ring = [(dr, dc) for dr in range(-3, 4) for dc in range(-3, 4) if max(abs(dr), abs(dc)) == 3]
    r, c = to_px(res["support"])
    for dr, dc in ring:
        rr, cc = np.clip(r + dr, 0, size - 1), np.clip(c + dc, 0, size - 1)
        rgb[rr, cc] = 0
    for k in (0, 1):
        r, c = to_px(np.asarray(X)[np.asarray(y) == k])
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                rgb[np.clip(r + dr, 0, size - 1), np.clip(c + dc, 0, size - 1)] = _CLASS_RGB[k]
    return rgb


def _default_svm_data(n_train: int, seed: int):
    from ..classical import shuffle_split
    from ..datasets import load_pneumoniamnist

    xtr, ytr = load_pneumoniamnist("train")
    xte, yte = load_pneumoniamnist("test")
    _, _, idx = shuffle_split(np.zeros((len(ytr), 1)), ytr, seed=seed, n=n_train)
    Ftr = F.extract_features(xtr[idx], progress=False)
    Fte = F.extract_features(xte, progress=False)
    names = list(Ftr)
    return (np.column_stack([Ftr[k] for k in names]), ytr[idx],
            np.column_stack([Fte[k] for k in names]), yte, names)


def svm_explorer(X_train: np.ndarray | None = None, y_train: np.ndarray | None = None,
                 X_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
                 feature_names: Sequence[str] | None = None, n_train: int = 300, seed: int = 0,
                 x_feature: str | None = None, y_feature: str | None = None,
                 class_names: Sequence[str] = ("normal", "pneumonia")) -> Any:
    """SVM on any two features: kernel, C and gamma -> decision regions, margin and test metrics.

    Pass feature matrices (e.g. from :func:`medlab.classical.dataset_features`); by default
    PneumoniaMNIST features are computed. At most ``n_train`` training rows (seeded shuffle)
    are used so that each re-fit stays interactive.
    """
    import ipywidgets as w

    from ..classical import shuffle_split

    if X_train is None:
        X_train, y_train, X_test, y_test, feature_names = _default_svm_data(n_train, seed)
    Xtr = np.asarray(X_train, dtype=np.float64)
    names = list(feature_names) if feature_names is not None else [f"f{k}" for k in range(Xtr.shape[1])]
    if len(names) != Xtr.shape[1]:
        raise ValueError(f"feature_names must name all {Xtr.shape[1]} columns, got {len(names)}")
    if len(y_train) > n_train:
        Xtr, ytr, _ = shuffle_split(Xtr, y_train, seed=seed, n=n_train)
    else:
        ytr = np.asarray(y_train)
    Xte, yte = np.asarray(X_test, dtype=np.float64), np.asarray(y_test)
    fx = x_feature or ("glcm_contrast" if "glcm_contrast" in names else names[0])
    fy = y_feature or ("fo_mean" if "fo_mean" in names else names[min(1, len(names) - 1)])
    for nm, v in (("x_feature", fx), ("y_feature", fy)):
        if v not in names:
            raise ValueError(f"{nm} must be one of the feature names, got {v!r}")
    fx_w = w.Dropdown(options=names, value=fx, description="Feature x")
    fy_w = w.Dropdown(options=names, value=fy, description="Feature y")
    kern_w = w.ToggleButtons(options=["linear", "rbf"], value="rbf", description="Kernel",
                             style={"button_width": "70px"})
    c_w = w.FloatLogSlider(value=1.0, base=10, min=-2, max=2, step=0.25, description="C")
    g_w = w.FloatLogSlider(value=0.5, base=10, min=-3, max=2, step=0.25, description="Gamma")
    img_w = w.Image(format="png", layout=w.Layout(width="360px", height="360px"))
    info_w = w.HTML()
    colours = ["#%02x%02x%02x" % tuple(int(v) for v in c) for c in _CLASS_RGB]

    def render(*_) -> bytes:
        i, j = names.index(fx_w.value), names.index(fy_w.value)
        res = fit_svm_2d(Xtr[:, [i, j]], ytr, Xte[:, [i, j]], yte, kern_w.value, c_w.value, g_w.value, seed=seed)
        png = to_png(render_svm(res, Xtr[:, [i, j]], ytr))
        img_w.value = png
        g_w.disabled = kern_w.value == "linear"
        m = res["metrics"]
        x0, x1, y0, y1 = res["extent"]
        info_w.value = (
            f"<span style='color:{colours[0]}'>&#9632; {html.escape(class_names[0])}</span> "
            f"<span style='color:{colours[1]}'>&#9632; {html.escape(class_names[1])}</span> "
            f"(training rows), &#9633; support vectors, black line f(x)=0, darker band |f(x)| &le; 1<br>"
            f"<code>x: {html.escape(fx_w.value)} {x0:.3g} &rarr; {x1:.3g}<br>"
            f"y: {html.escape(fy_w.value)} {y0:.3g} &rarr; {y1:.3g} (up)</code><br>"
            f"<b>test ({m['n']} images)</b><br><code>accuracy {m['accuracy']:.3f} &middot; "
            f"sensitivity {m['sensitivity']:.3f} &middot; specificity {m['specificity']:.3f}<br>"
            f"F1 {m['f1']:.3f} &middot; ROC AUC {m['roc_auc']:.3f}<br>support vectors "
            f"{len(res['support'])} / {len(ytr)}" + ("" if res["converged"] else " (solver stopped early)")
            + "</code><br><small>gamma acts on standardised features</small>")
        return png

    for c in (fx_w, fy_w, kern_w, c_w, g_w):
        c.observe(render, names="value")
    render()
    box = w.HBox([w.VBox([fx_w, fy_w, kern_w, c_w, g_w, info_w], layout=w.Layout(width="420px")), img_w])
    box.render = render  # type: ignore[attr-defined]
    box.image = img_w  # type: ignore[attr-defined]
    box.controls = {"x": fx_w, "y": fy_w, "kernel": kern_w, "C": c_w, "gamma": g_w}  # type: ignore[attr-defined]
    return box


# ============================================================================= round 2: one widget per section
# Invalid settings a learner can reach with the controls (an empty mask, no pixel pair inside the patch,
# more bins than pixels, a threshold above every score) are *flagged* in the returned dict
# (``"error"``: nothing to show, ``"warnings"``: shown but to be read with care), never raised.

def _flagged(msg: str) -> dict[str, Any]:
    return {"error": msg, "warnings": []}


def _message_html(res: dict) -> str:
    parts = []
    if res.get("error"):
        parts.append(f"<b style='color:#b00'>&#9888; {html.escape(res['error'])}</b>")
    parts += [f"<span style='color:#a60'>&#9888; {html.escape(w)}</span>" for w in res.get("warnings", [])]
    return "<br>".join(parts)


class _Blit:
    """Blitting for a chart built once: the static parts (axes, ticks, labels, legend) are drawn
    once per ``key`` (e.g. a y-limit) and saved; an update restores that background and redraws
    only the ``artists`` (set animated). A full matplotlib draw costs ~100 ms on 2 cores, a blit a few ms.
    """

    def __init__(self, renderer, artists: Sequence[Any]):
        self.fr, self.artists, self.backgrounds = renderer, list(artists), {}
        for a in self.artists:
            a.set_animated(True)

    def png(self, key: Any = None) -> bytes:
        canvas = self.fr.canvas
        if key not in self.backgrounds:
            canvas.draw()
            self.backgrounds[key] = canvas.copy_from_bbox(self.fr.fig.bbox)
        canvas.restore_region(self.backgrounds[key])
        for a in self.artists:
            a.axes.draw_artist(a)
        return to_png(np.asarray(canvas.buffer_rgba())[..., :3].copy())


#: y-axis limits a chart may take: the smallest that fits is used, so backgrounds can be cached.
_Y_LADDER = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


def _ylim(top: float) -> float:
    return next((v for v in _Y_LADDER if v >= top * 1.08), max(_Y_LADDER[-1], top * 1.08))


# ----------------------------------------------------------------------------- §1 first-order statistics
#: First-order statistics listed in the explorer's table (all of ``F.first_order``).
FO_SHOWN = ("mean", "std", "skewness", "kurtosis", "p10", "p25", "p50", "p75", "p90", "iqr", "min", "max",
            "entropy", "uniformity")


def compute_first_order_view(image: np.ndarray, roi: Sequence[int], bins: int = 32, vmin: float | None = None,
                             vmax: float | None = None,
                             display_range: tuple[float, float] | None = None) -> dict[str, Any]:
    """First-order statistics of a region and the histogram they summarise.

    Returns ``{"features": F.first_order(crop, bins, vmin, vmax), "counts": (bins,) pixel counts per
    bin (the histogram the entropy is computed from), "edges": (bins + 1,), "panel": RGB uint8
    (256, 512, 3) = [image with ROI box | ROI zoomed], "error": None, "warnings": [...]}``.
    Bad settings are flagged in ``"error"`` (nothing else returned), not raised.

    >>> r = compute_first_order_view(np.arange(64.0).reshape(8, 8), (0, 0, 3, 3), bins=4, vmin=0, vmax=64)
    >>> r["counts"].tolist(), r["features"]["mean"]
    ([8, 8, 0, 0], 13.5)
    """
    img = np.asarray(image)
    try:
        if img.ndim != 2:
            raise ValueError(f"image must be 2-D, got shape {img.shape}")
        r0, c0, r1, c1 = _check_roi(roi, img.shape)
        crop = img[r0:r1 + 1, c0:c1 + 1]
        lo = float(crop.min()) if vmin is None else float(vmin)
        hi = float(crop.max()) if vmax is None else float(vmax)
        feats = F.first_order(crop, bins=bins, vmin=lo, vmax=hi)
        q = F.quantize(crop, bins, vmin=lo, vmax=hi)
    except ValueError as e:
        return _flagged(str(e))
    warnings_ = []
    if bins > crop.size:
        warnings_.append(f"{bins} bins for {crop.size} pixels: most bins are empty, so the entropy "
                         "measures the bin count more than the region")
    outside = int(np.sum((crop < lo) | (crop > hi)))
    if outside:
        warnings_.append(f"{outside} pixels lie outside [{lo:g}, {hi:g}] and are counted in the end bins")
    counts = np.bincount(q.ravel(), minlength=bins)
    dlo, dhi = display_range if display_range is not None else (float(img.min()), float(img.max()))
    step = max(1, max(img.shape) // PANEL)
    over = np.repeat(to_uint8(img[::step, ::step], dlo, dhi)[..., None], 3, axis=2)
    draw_boxes(over, [(r0 // step, c0 // step, r1 // step, c1 // step)], thickness=2)
    zoom = np.repeat(to_uint8(crop, dlo, dhi)[..., None], 3, axis=2)
    panel = np.concatenate([_fit(over), _fit(zoom)], axis=1)
    return {"features": feats, "counts": counts, "edges": np.linspace(lo, hi, bins + 1), "panel": panel,
            "error": None, "warnings": warnings_}


def first_order_explorer(image: np.ndarray | None = None, roi: Sequence[int] | None = None,
                         vmin: float | None = None, vmax: float | None = None) -> Any:
    """First-order explorer: region, ROI position/size and number of bins -> histogram with the statistics.

    Without arguments: the CT tumour box, a lung-parenchyma box of the same size and a chest X-ray
    patch (the GLCM explorer's regions). The histogram marks the mean, mean ± std and p10/p50/p90.
    """
    import ipywidgets as w

    from ._render import FigureRenderer

    if image is not None:
        img = np.asarray(image)
        if img.ndim != 2:
            raise ValueError(f"image must be 2-D, got shape {img.shape}")
        h, wd = img.shape
        r = roi if roi is not None else (h // 4, wd // 4, 3 * h // 4, 3 * wd // 4)
        rng = (float(img.min()) if vmin is None else vmin, float(img.max()) if vmax is None else vmax)
        sources = {"your image": (img, _check_roi(r, img.shape), rng, rng)}
    else:
        sources = _sources()
    names = list(sources)
    source_w = w.Dropdown(options=names, value=names[0], description="Region", layout=w.Layout(width="320px"))
    bins_w = w.SelectionSlider(options=[4, 8, 16, 32, 64, 128, 256], value=32, description="Bins")
    size_w = w.IntSlider(value=40, min=2, max=160, description="ROI height")
    width_w = w.IntSlider(value=40, min=2, max=160, description="ROI width")
    row_w = w.IntSlider(description="ROI row")
    col_w = w.IntSlider(description="ROI col")
    img_w = w.Image(format="png", layout=w.Layout(width="440px", height="auto"))
    chart_w = w.Image(format="png", layout=w.Layout(width="440px", height="auto"))
    table_w = w.HTML()
    msg_w = w.HTML()

    fr = FigureRenderer(figsize=(5.5, 3.0), dpi=80)
    ax = fr.fig.add_subplot()
    fr.fig.subplots_adjust(left=0.12, right=0.97, bottom=0.17, top=0.9)
    stairs = ax.stairs(np.zeros(4), np.arange(5.0), fill=True, color="#9ab", label="histogram")
    mean_l = ax.axvline(0, color="#c22", lw=2, label="mean")
    sd_l = [ax.axvline(0, color="#c22", lw=1.2, ls="--", label="mean ± std" if k == 0 else None) for k in (0, 1)]
    pct_l = [ax.axvline(0, color="#333", lw=1, ls=":", label="p10 / p50 / p90" if k == 0 else None) for k in range(3)]
    ax.set_ylabel("fraction of pixels")
    ax.legend(fontsize=8, loc="upper right", framealpha=0.8)
    title = ax.set_title("", fontsize=10)
    blit = _Blit(fr, [stairs, mean_l, *sd_l, *pct_l, title])
    state: dict[str, Any] = {}

    def set_source(name: str) -> None:
        img, (r0, c0, r1, c1), (lo, hi), _ = sources[name]
        state["name"] = name
        ax.set_xlim(lo, hi)                       # before any render: backgrounds are cached per source
        ax.set_xlabel("HU" if name.startswith("CT") else "grey value")
        state["busy"] = True                      # moving the ROI sliders here must not render half-updated
        try:
            size_w.max, width_w.max = img.shape[0] // 2, img.shape[1] // 2
            size_w.value, width_w.value = min(r1 - r0 + 1, size_w.max), min(c1 - c0 + 1, width_w.max)
            row_w.max, col_w.max = img.shape[0] - size_w.value, img.shape[1] - width_w.value
            row_w.value, col_w.value = r0, c0
        finally:
            state["busy"] = False

    def render(*_) -> bytes:
        if state.get("busy"):
            return b""
        img, _, (lo, hi), disp = sources[state["name"]]
        s, sw = size_w.value, width_w.value
        state["busy"] = True                      # a smaller max may clamp the position: no nested render
        try:
            row_w.max, col_w.max = img.shape[0] - s, img.shape[1] - sw
        finally:
            state["busy"] = False
        r0, c0 = row_w.value, col_w.value
        res = compute_first_order_view(img, (r0, c0, r0 + s - 1, c0 + sw - 1), bins_w.value, lo, hi, display_range=disp)
        msg_w.value = _message_html(res)
        if res["error"]:
            return b""
        f = res["features"]
        frac = res["counts"] / res["counts"].sum()
        stairs.set_data(frac, res["edges"])
        top = _ylim(float(frac.max()))
        ax.set_ylim(0, top)
        mean_l.set_xdata([f["mean"]] * 2)
        for line, x in zip(sd_l, (f["mean"] - f["std"], f["mean"] + f["std"])):
            line.set_xdata([x, x])
        for line, k in zip(pct_l, ("p10", "p50", "p90")):
            line.set_xdata([f[k]] * 2)
        title.set_text(f"{s}×{sw} ROI, {bins_w.value} bins over [{lo:g}, {hi:g}]")
        png = to_png(res["panel"])
        img_w.value = png
        chart_w.value = blit.png((state["name"], top))
        td = "style='padding:0 6px;line-height:1.25'"
        table_w.value = ("<table style='font-family:monospace;font-size:12px;border-collapse:collapse'>"
                         + "".join(f"<tr><td {td}>{k}</td><td {td} align='right'>{f[k]:.4g}</td></tr>"
                                   for k in FO_SHOWN)
                         + "</table>")
        return png

    def on_source(change):
        set_source(change["new"])
        render()

    set_source(names[0])
    source_w.observe(on_source, names="value")
    for c in (bins_w, size_w, width_w, row_w, col_w):
        c.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([source_w, bins_w]), w.HBox([row_w, col_w]), w.HBox([size_w, width_w]), msg_w,
                  w.HTML("<small>left: image with the ROI; middle: the ROI; chart: its histogram "
                         "(red: mean and mean ± std, dotted: p10, p50, p90)</small>"),
                  w.HBox([w.VBox([img_w, chart_w]), table_w])])
    box.render = render  # type: ignore[attr-defined]
    box.image = img_w  # type: ignore[attr-defined]
    box.chart = chart_w  # type: ignore[attr-defined]
    box.message = msg_w  # type: ignore[attr-defined]
    box.controls = {"source": source_w, "bins": bins_w,  # type: ignore[attr-defined]
                    "height": size_w, "width": width_w, "row": row_w, "col": col_w}  # type: ignore[attr-defined]
    return box


# ----------------------------------------------------------------------------- §2 the GLCM by hand
def _patches() -> dict[str, np.ndarray]:
    from ..exercises.features import EXAMPLE_4X4

    i, j = np.indices((6, 6))
    return {"4×4 example (exercise 2.1)": EXAMPLE_4X4,
            "6×6 vertical stripes": (j % 2 * 3).astype(np.uint8),
            "6×6 checkerboard": ((i + j) % 2 * 3).astype(np.uint8),
            "6×6 gradient": np.minimum(j // 2 + i // 3, 3).astype(np.uint8),
            "6×6 random (seed 0)": np.random.default_rng(0).integers(0, 4, (6, 6)).astype(np.uint8)}


def glcm_pairs(patch: np.ndarray, distance: int = 1, angle_deg: float = 0, levels: int = 4,
               symmetric: bool = False) -> dict[str, Any]:
    """Every pixel pair the GLCM counts, in scan order, and the resulting count matrix.

    Returns ``{"offset": (d_row, d_col), "pairs": int array (n, 4) of (row, col, row2, col2),
    "counts": (levels, levels) int (``P + P.T`` if ``symmetric``), "error": None, "warnings": []}``;
    ``counts`` equals ``F.glcm(patch, [distance], [radians(angle_deg)], levels, symmetric)``.
    A distance that leaves no pair inside the patch is flagged in ``"error"``.

    >>> r = glcm_pairs(np.array([[0, 1], [1, 1]], np.uint8), 1, 0, levels=2)
    >>> r["pairs"].tolist(), r["counts"].tolist()
    ([[0, 0, 0, 1], [1, 0, 1, 1]], [[0, 1], [0, 1]])
    """
    p = np.asarray(patch)
    try:
        if p.ndim != 2 or not np.issubdtype(p.dtype, np.integer):
            raise ValueError(f"patch must be a 2-D array of integer grey levels, got {p.dtype} {p.shape}")
        levels = F._check_levels(levels)
        if p.min() < 0 or p.max() >= levels:
            raise ValueError(f"patch grey levels must lie in 0..{levels - 1}, got {p.min()}..{p.max()}")
        if isinstance(angle_deg, bool) or not isinstance(angle_deg, (int, float, np.number)):
            raise ValueError(f"angle_deg must be an angle in degrees, got {angle_deg!r}")
        _, _, offs = F._offsets([distance], [math.radians(float(angle_deg))])
    except ValueError as e:
        return _flagged(str(e))
    dr, dc = offs[0]
    h, w = p.shape
    r, c = np.mgrid[:h, :w]
    r, c = r.ravel(), c.ravel()
    keep = (r + dr >= 0) & (r + dr < h) & (c + dc >= 0) & (c + dc < w)
    pairs = np.column_stack([r[keep], c[keep], r[keep] + dr, c[keep] + dc])
    counts = np.zeros((levels, levels), dtype=np.int64)
    np.add.at(counts, (p[pairs[:, 0], pairs[:, 1]], p[pairs[:, 2], pairs[:, 3]]), 1)
    if symmetric:
        counts = counts + counts.T
    if len(pairs) == 0:
        return {"offset": (dr, dc), "pairs": pairs, "counts": counts,
                "error": f"distance {distance} at {angle_deg:g}° is the offset (row {dr:+d}, col {dc:+d}): "
                         f"no pixel pair fits inside the {h}×{w} patch", "warnings": []}
    return {"offset": (dr, dc), "pairs": pairs, "counts": counts, "error": None, "warnings": []}


def _arrow(draw, a, b, colour, width: int = 4, head: float = 11.0) -> None:
    (x0, y0), (x1, y1) = a, b
    L = math.hypot(x1 - x0, y1 - y0) or 1.0
    ux, uy = (x1 - x0) / L, (y1 - y0) / L
    bx, by = x1 - head * ux, y1 - head * uy
    draw.line([(x0, y0), (bx, by)], fill=colour, width=width)
    draw.polygon([(x1, y1), (bx - 0.6 * head * uy, by + 0.6 * head * ux), (bx + 0.6 * head * uy, by - 0.6 * head * ux)],
                 fill=colour)
    draw.ellipse([x0 - 4, y0 - 4, x0 + 4, y0 + 4], fill=colour)


def render_glcm_pairs(patch: np.ndarray, res: dict, k: int | None = None, levels: int = 4,
                      symmetric: bool = False, size: int = 300) -> np.ndarray:
    """The patch with its first ``k`` counted pairs as arrows (the last one boxed: red = reference
    pixel, blue = neighbour) beside the count matrix after those ``k`` pairs (the cell just
    incremented boxed; its transpose too, dashed-orange, when ``symmetric``). RGB uint8
    (size + 100, 2 * size + 140, 3), drawn with Pillow (a few ms).
    """
    from PIL import Image, ImageDraw

    p = np.asarray(patch)
    h, w = p.shape
    pairs = res.get("pairs")
    n = 0 if pairs is None else len(pairs)
    k = n if k is None else max(0, min(int(k), n))
    done = pairs[:k] if n else np.zeros((0, 4), int)
    partial = np.zeros((levels, levels), dtype=np.int64)
    if k:
        np.add.at(partial, (p[done[:, 0], done[:, 1]], p[done[:, 2], done[:, 3]]), 1)
        if symmetric:
            partial = partial + partial.T
    W, H = 2 * size + 140, size + 100
    im = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(im)
    big, small = _font(max(12, size // (3 * max(h, w, levels)))), _font(14)
    mbig = _font(max(12, size // (2 * levels)))
    # ---- patch
    cs = size / max(h, w)
    x0, y0 = 20, 50

    def centre(r, c):
        return x0 + (c + 0.5) * cs, y0 + (r + 0.5) * cs

    for r in range(h):
        for c in range(w):
            g = int(40 + 170 * int(p[r, c]) / max(1, levels - 1))
            d.rectangle([x0 + c * cs, y0 + r * cs, x0 + (c + 1) * cs, y0 + (r + 1) * cs], fill=(g, g, g),
                        outline=(120, 120, 120))
            d.text((x0 + (c + 0.25) * cs, y0 + (r + 0.27) * cs), str(int(p[r, c])),
                   fill=(255, 255, 255) if g < 128 else (0, 0, 0), font=big, anchor="mm")
    for r0, c0, r1, c1 in done:
        a, b = np.array(centre(r0, c0)), np.array(centre(r1, c1))
        u = (b - a) / (np.hypot(*(b - a)) or 1.0)
        _arrow(d, tuple(a + 0.1 * cs * u), tuple(b - 0.12 * cs * u), (235, 160, 0), width=max(2, int(cs) // 25))
    if k:
        r0, c0, r1, c1 = done[-1]
        d.rectangle([x0 + c0 * cs + 2, y0 + r0 * cs + 2, x0 + (c0 + 1) * cs - 2, y0 + (r0 + 1) * cs - 2],
                    outline=(230, 30, 30), width=4)
        d.rectangle([x0 + c1 * cs + 2, y0 + r1 * cs + 2, x0 + (c1 + 1) * cs - 2, y0 + (r1 + 1) * cs - 2],
                    outline=(0, 150, 255), width=4)
    dr, dc = res.get("offset", (0, 0))
    d.text((x0, 12), f"offset (row {dr:+d}, col {dc:+d}) · pair {k} of {n}", fill=(0, 0, 0), font=small)
    # ---- matrix
    ms = size / levels
    mx, my = x0 + size + 100, 50
    top = max(1, int(partial.max()))
    for i in range(levels):
        for j in range(levels):
            v = partial[i, j] / top
            fill = (int(255 - 200 * v), int(255 - 140 * v), int(255 - 40 * v))
            d.rectangle([mx + j * ms, my + i * ms, mx + (j + 1) * ms, my + (i + 1) * ms], fill=fill,
                        outline=(150, 150, 150))
            d.text((mx + (j + 0.5) * ms, my + (i + 0.5) * ms), str(int(partial[i, j])),
                   fill=(255, 255, 255) if v > 0.6 else (0, 0, 0), font=mbig, anchor="mm")
        d.text((mx - 12, my + (i + 0.5) * ms), str(i), fill=(0, 0, 0), font=small, anchor="rm")
        d.text((mx + (i + 0.5) * ms, my + size + 6), str(i), fill=(0, 0, 0), font=small, anchor="mt")
    d.text((mx + size / 2, my + size + 24), "j = neighbour's grey level", fill=(0, 0, 0), font=small, anchor="mt")
    d.text((mx - 32, my + size / 2), "i", fill=(0, 0, 0), font=small, anchor="mm")
    d.text((mx - 40, my + size / 2 + 18), "(ref.)", fill=(0, 0, 0), font=_font(11), anchor="mm")
    d.text((mx, 12), f"P[i, j] after {k} pair{'s' if k != 1 else ''}" + (" + transpose" if symmetric else "")
           + f" · total {int(partial.sum())}", fill=(0, 0, 0), font=small)
    if k:
        r0, c0, r1, c1 = done[-1]
        i, j = int(p[r0, c0]), int(p[r1, c1])
        if symmetric and i != j:
            d.rectangle([mx + i * ms + 7, my + j * ms + 7, mx + (i + 1) * ms - 7, my + (j + 1) * ms - 7],
                        outline=(240, 140, 0), width=3)
        d.rectangle([mx + j * ms + 2, my + i * ms + 2, mx + (j + 1) * ms - 2, my + (i + 1) * ms - 2],
                    outline=(230, 30, 30), width=4)
    return np.asarray(im)


def glcm_by_hand(patch: np.ndarray | None = None, levels: int = 4) -> Any:
    """Count a GLCM pair by pair: patch, Distance, Angle, symmetric and how many pairs are counted so far.

    Left: the patch with its grey levels; an arrow joins each counted pair (dot = the reference
    pixel, head = its neighbour); the last pair counted is boxed (red: reference, blue: neighbour).
    Right: the count matrix ``P[i, j]`` (i = reference level, down; j = neighbour level, across)
    after those pairs, with the cell just incremented boxed.
    """
    import ipywidgets as w

    patches = {"your patch": np.asarray(patch)} if patch is not None else _patches()
    pnames = list(patches)
    patch_w = w.Dropdown(options=pnames, value=pnames[0], description="Patch", layout=w.Layout(width="300px"))
    st = {"description_width": "100px"}
    dist_w = w.IntSlider(value=1, min=1, max=4, description="Distance", style=st)
    angle_w = w.SelectionSlider(options=[0, 45, 90, 135], value=0, description="Angle (°)", style=st)
    sym_w = w.Checkbox(value=False, description="symmetric (P + Pᵀ)")
    step_w = w.IntSlider(value=12, min=1, max=12, description="Pairs counted", style=st)
    img_w = w.Image(format="png", layout=w.Layout(width="740px", height="auto"))
    info_w = w.HTML()
    msg_w = w.HTML()
    state: dict[str, Any] = {"busy": False}

    def render(*_) -> bytes:
        if state["busy"]:
            return b""
        state["busy"] = True
        try:
            p = patches[patch_w.value]
            res = glcm_pairs(p, dist_w.value, angle_w.value, levels, symmetric=sym_w.value)
            msg_w.value = _message_html(res)
            n = 0 if res.get("pairs") is None else len(res["pairs"])
            key = (patch_w.value, dist_w.value, angle_w.value)
            step_w.max = max(n, 1)
            if state.get("key") != key:
                step_w.value = step_w.max          # a new offset: show all its pairs first
            state["key"] = key
            k = min(step_w.value, n)
            png = to_png(render_glcm_pairs(p, res, k, levels, symmetric=sym_w.value))
            img_w.value = png
            if k:
                r0, c0, r1, c1 = res["pairs"][k - 1]
                i, j = int(p[r0, c0]), int(p[r1, c1])
                info_w.value = (f"<code>pair {k}: pixel ({r0},{c0}) level {i} &rarr; neighbour ({r1},{c1}) level {j}"
                                f" &rArr; P[{i},{j}] += 1" + (f", P[{j},{i}] += 1" if sym_w.value else "")
                                + "</code>")
            else:
                info_w.value = ""
            return png
        finally:
            state["busy"] = False

    for c in (patch_w, dist_w, angle_w, sym_w, step_w):
        c.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([w.VBox([patch_w, sym_w], layout=w.Layout(width="330px")),
                          w.VBox([dist_w, angle_w, step_w])]), msg_w, info_w, img_w])
    box.render = render  # type: ignore[attr-defined]
    box.image = img_w  # type: ignore[attr-defined]
    box.message = msg_w  # type: ignore[attr-defined]
    box.controls = {"patch": patch_w, "distance": dist_w, "angle": angle_w,  # type: ignore[attr-defined]
                    "symmetric": sym_w, "step": step_w}
    return box


# ----------------------------------------------------------------------------- §5 shape from masks
def lung_slice_mask(hu_slice: np.ndarray, threshold: float = -320.0, min_pixels: int = 500) -> np.ndarray:
    """A 2-D lung mask for one axial slice: the 2-D version of :func:`medlab.preprocess.lung_mask`.

    Air ``HU < threshold`` -> drop air regions touching the image border (outside the body) ->
    keep the (up to) two largest remaining components of at least ``min_pixels`` -> fill holes
    (vessels). Milliseconds on 512x512, so a widget can re-run it on every slider move.

    >>> s = np.zeros((40, 40)); s[5:15, 5:15] = s[20:35, 20:35] = -800; s[0:3, :] = -1000
    >>> int(lung_slice_mask(s, -320, min_pixels=10).sum())
    325
    """
    from scipy import ndimage as ndi

    a = np.asarray(hu_slice)
    if a.ndim != 2:
        raise ValueError(f"hu_slice must be 2-D, got shape {a.shape}")
    lab, n = ndi.label(a < threshold)
    if n == 0:
        return np.zeros(a.shape, dtype=bool)
    border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    sizes[0] = 0
    sizes[border] = 0
    keep = [k for k in np.argsort(sizes)[::-1][:2] if sizes[k] >= min_pixels]
    if not keep:
        return np.zeros(a.shape, dtype=bool)
    out = np.zeros(a.shape, dtype=bool)
    objs = ndi.find_objects(lab)
    for k in keep:
        sl = objs[k - 1]                         # fill holes inside the component's bounding box only
        out[sl] |= ndi.binary_fill_holes(lab[sl] == k)
    return out


#: Shape features listed by the shape explorer (2-D: size is an area in mm²).
SHAPE_SHOWN = ("size_mm", "n_pixels", "perimeter_mm", "elongation", "roundness", "equivalent_diameter_mm",
               "feret_diameter_mm")


def compute_shape_view(hu_slice: np.ndarray, structure: str = "lungs", threshold: float = -320.0,
                       spacing: tuple[float, float] = (1.0, 1.0), box: Sequence[int] | None = None,
                       upper: float = 200.0, display_range: tuple[float, float] = (-1350.0, 150.0)) -> dict[str, Any]:
    """Segment one structure on one CT slice and measure its shape.

    ``structure="lungs"``: :func:`lung_slice_mask` with air below ``threshold`` HU;
    ``"tumour"``: region growing from a seed in ``box`` (row0, col0, row1, col1) over
    ``[threshold, upper]`` HU, kept inside the box (:func:`medlab.preprocess.grow_from_box`).
    Returns ``{"mask", "features": F.shape_features(mask, spacing), "panel": RGB uint8 = slice
    (lung window) with the mask outline, "error": None, "warnings": []}``; an empty mask or a bad
    setting is flagged in ``"error"``. ``spacing`` = (x, y) pixel size in mm.
    """
    from scipy import ndimage as ndi

    from ..preprocess import grow_from_box

    a = np.asarray(hu_slice)
    try:
        if a.ndim != 2:
            raise ValueError(f"hu_slice must be 2-D, got shape {a.shape}")
        if structure == "lungs":
            mask = lung_slice_mask(a, threshold)
        elif structure == "tumour":
            if box is None:
                raise ValueError("box (row0, col0, row1, col1) is needed to grow the tumour")
            r0, c0, r1, c1 = _check_roi(box, a.shape, name="box")
            bm = np.zeros(a.shape, dtype=bool)
            bm[r0:r1 + 1, c0:c1 + 1] = True
            if threshold > upper:
                raise ValueError(f"threshold must be <= the upper bound {upper:g} HU, got {threshold:g}")
            mask = grow_from_box(a, bm, lower=threshold, upper=upper, roi_margin=0).region
        else:
            raise ValueError(f"structure must be 'lungs' or 'tumour', got {structure!r}")
        if not mask.any():
            raise ValueError(f"no pixel selected at threshold {threshold:g} HU: the mask is empty")
        feats = F.shape_features(mask, spacing=spacing)
    except ValueError as e:
        return _flagged(str(e))
    warnings_ = []
    if structure == "tumour" and box is not None:
        r0, c0, r1, c1 = box
        inner = np.zeros_like(mask)
        inner[r0 + 1:r1, c0 + 1:c1] = True
        if (mask[r0:r1 + 1, c0:c1 + 1] & ~inner[r0:r1 + 1, c0:c1 + 1]).any():      # a pixel on the box's border
            warnings_.append("the region reaches the box edge: it continues into neighbouring tissue there and "
                             "the box cuts it off")
    grey = to_uint8(a, *display_range)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    sl = (slice(max(rows[0] - 2, 0), rows[-1] + 3), slice(max(cols[0] - 2, 0), cols[-1] + 3))
    m = mask[sl]                                  # outline on the mask's bounding box only (fast)
    edge = ndi.binary_dilation(m & ~ndi.binary_erosion(m))
    rgb[sl][edge] = (255, 60, 40) if structure == "tumour" else (40, 200, 255)
    if box is not None:
        draw_boxes(rgb, [box], color=(255, 215, 0), thickness=1)
    return {"mask": mask, "features": feats, "panel": rgb, "error": None, "warnings": warnings_}


@functools.lru_cache(maxsize=1)
def _ct_spacing() -> tuple[float, float, float]:
    from ..datasets import load_lung_ct

    return tuple(float(v) for v in load_lung_ct().spacing)


def shape_explorer() -> Any:
    """Shape features from a mask: structure (lungs / tumour), HU threshold and slice -> outline and
    area, perimeter, elongation, roundness, equivalent and Feret diameter in mm.

    Works on one 512x512 slice (30-50 ms per update, benchmarks/bench_features.py); the 3-D lung mask
    takes seconds, too slow for a slider.
    """
    import ipywidgets as w

    vol, boxes = _ct_data()
    sx, sy, _ = _ct_spacing()
    by_slice = {b.slice_index: b for b in boxes}
    slices = sorted(by_slice)
    struct_w = w.ToggleButtons(options=["lungs", "tumour"], value="tumour", description="Structure",
                               style={"button_width": "80px"})
    thr_w = w.IntSlider(value=-300, min=-700, max=100, step=10, description="Threshold (HU)",
                        style={"description_width": "110px"}, layout=w.Layout(width="420px"))
    slice_w = w.SelectionSlider(options=slices, value=_largest_box(boxes).slice_index, description="Slice")
    img_w = w.Image(format="png", layout=w.Layout(width="460px", height="auto"))
    table_w = w.HTML(layout=w.Layout(width="330px"))
    msg_w = w.HTML()
    ranges = {"lungs": (-900, -100, -320, "air below the threshold, not touching the image border, two largest parts"),
              "tumour": (-700, 100, -300, "grown from a seed in the box over [threshold, 200] HU, kept inside the box")}
    state = {"busy": False}

    def render(*_) -> bytes:
        if state["busy"]:
            return b""
        b = by_slice[slice_w.value]
        box = (b.row0, b.col0, b.row1, b.col1)
        res = compute_shape_view(vol[b.slice_index], struct_w.value, thr_w.value, (sx, sy), box=box)
        msg_w.value = _message_html(res)
        if res["error"]:
            return b""
        png = to_png(res["panel"])
        img_w.value = png
        f = res["features"]
        unit = {"size_mm": "area (mm²)", "n_pixels": "pixels", "perimeter_mm": "perimeter (mm)",
                "elongation": "elongation", "roundness": "roundness", "equivalent_diameter_mm": "equiv. diameter (mm)",
                "feret_diameter_mm": "Feret diameter (mm)"}
        td = "style='padding:0 6px;line-height:1.3'"
        table_w.value = ("<div style='line-height:1.3;font-size:12px'>"
                         f"{html.escape(ranges[struct_w.value][3])}.<br>Pixel {sx:.3f}×{sy:.3f} mm; slice "
                         f"{b.slice_index} only (tens of ms per update; the 3-D mask above takes seconds).</div>"
                         "<table style='font-family:monospace;font-size:13px;border-collapse:collapse'>"
                         + "".join(f"<tr><td {td}>{unit[k]}</td><td {td} align='right'>{f[k]:.4g}</td></tr>"
                                   for k in SHAPE_SHOWN) + "</table>")
        return png

    def on_struct(change):
        lo, hi, default, _ = ranges[change["new"]]
        state["busy"] = True
        try:
            thr_w.min, thr_w.max = min(lo, thr_w.min), max(hi, thr_w.max)
            thr_w.value = default
            thr_w.min, thr_w.max = lo, hi
        finally:
            state["busy"] = False
        render()

    struct_w.observe(on_struct, names="value")
    for c in (thr_w, slice_w):
        c.observe(render, names="value")
    render()
    box = w.VBox([struct_w, w.HBox([thr_w, slice_w]), msg_w, w.HBox([img_w, table_w])])
    box.render = render  # type: ignore[attr-defined]
    box.image = img_w  # type: ignore[attr-defined]
    box.message = msg_w  # type: ignore[attr-defined]
    box.controls = {"structure": struct_w, "threshold": thr_w, "slice": slice_w}  # type: ignore[attr-defined]
    return box


# ----------------------------------------------------------------------------- §6 one feature, two classes
Z_RANGE = (-4.0, 4.0)


def feature_separation(values: np.ndarray, y: np.ndarray, bins: int = 40) -> dict[str, Any]:
    """How well one feature separates two classes on its own.

    The feature is standardised over all rows given (``z = (v - mean) / sd``, as the SVM pipeline
    does) and binned over ``Z_RANGE`` (values beyond are counted in the end bins, flagged).
    Returns ``{"edges", "density0", "density1" (per class, integrates to 1), "auc": ROC AUC of the
    raw feature as a score for class 1, "separability": max(auc, 1 - auc), "mean", "sd",
    "error": None, "warnings": []}``; a constant or non-finite feature is flagged in ``"error"``.

    >>> r = feature_separation(np.array([0., 1, 2, 3]), np.array([0, 0, 1, 1]), bins=4)
    >>> r["auc"], r["separability"]
    (1.0, 1.0)
    """
    from sklearn.metrics import roc_auc_score

    v = np.asarray(values, dtype=np.float64).ravel()
    yy = np.asarray(y).ravel()
    if v.shape != yy.shape or v.size == 0:
        return _flagged(f"values and y must be non-empty and of equal length, got {np.shape(values)} and {np.shape(y)}")
    if not np.all(np.isin(yy, (0, 1))) or len(np.unique(yy)) < 2:
        return _flagged("y must contain both labels 0 and 1")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        return _flagged(f"bins must be an int >= 2, got {bins!r}")
    if not np.all(np.isfinite(v)):
        return _flagged(f"the feature has {int(np.sum(~np.isfinite(v)))} NaN or infinite values")
    mean, sd = float(v.mean()), float(v.std())
    if sd <= 1e-12 * max(1.0, abs(mean)):
        return _flagged(f"the feature is constant ({mean:.4g}) on these rows: it cannot separate anything")
    z = (v - mean) / sd
    edges = np.linspace(*Z_RANGE, bins + 1)
    out_of_range = int(np.sum((z < Z_RANGE[0]) | (z > Z_RANGE[1])))
    zc = np.clip(z, Z_RANGE[0], Z_RANGE[1] - 1e-9)
    width = edges[1] - edges[0]
    dens = [np.histogram(zc[yy == k], edges)[0] / (np.sum(yy == k) * width) for k in (0, 1)]
    auc = float(roc_auc_score(yy, v))
    warnings_ = []
    if out_of_range:
        warnings_.append(f"{out_of_range} values lie beyond ±4 sd and are drawn in the end bins")
    return {"edges": edges, "density0": dens[0], "density1": dens[1], "auc": auc, "separability": max(auc, 1 - auc),
            "mean": mean, "sd": sd, "error": None, "warnings": warnings_}


def feature_histograms(X: np.ndarray | None = None, y: np.ndarray | None = None,
                       feature_names: Sequence[str] | None = None,
                       class_names: Sequence[str] = ("normal", "pneumonia"), feature: str | None = None) -> Any:
    """One feature at a time: class-conditional histograms (standardised) and its ROC AUC alone.

    Pass the training feature matrix, labels and names (features computed once); the dropdown
    lists the features sorted by single-feature separability. Default: PneumoniaMNIST train split.
    """
    import ipywidgets as w

    from ._render import FigureRenderer

    if X is None:
        from ..classical import dataset_features

        data, feature_names = dataset_features("pneumoniamnist", splits=("train",), progress=False)
        X, y = data["train"]
    Xa, ya = np.asarray(X, dtype=np.float64), np.asarray(y)
    names = list(feature_names) if feature_names is not None else [f"f{k}" for k in range(Xa.shape[1])]
    if Xa.ndim != 2 or len(names) != Xa.shape[1] or len(ya) != len(Xa):
        raise ValueError(f"X must be (n, {len(names)}) with one label per row, got X {Xa.shape}, y {ya.shape}")
    seps = {}
    for k, nm in enumerate(names):
        r = feature_separation(Xa[:, k], ya, bins=10)
        seps[nm] = r["separability"] if r["error"] is None else 0.0
    order = sorted(names, key=lambda nm: -seps[nm])
    first = feature if feature is not None else order[0]
    if first not in names:
        raise ValueError(f"feature must be one of the feature names, got {first!r}")
    feat_w = w.Dropdown(options=[(f"{nm}  (AUC* {seps[nm]:.2f})", nm) for nm in order], value=first,
                        description="Feature", layout=w.Layout(width="380px"))
    bins_w = w.IntSlider(value=40, min=8, max=80, step=4, description="Bins")
    chart_w = w.Image(format="png", layout=w.Layout(width="520px", height="auto"))
    info_w = w.HTML()
    msg_w = w.HTML()

    fr = FigureRenderer(figsize=(6.5, 3.3), dpi=80)
    ax = fr.fig.add_subplot()
    fr.fig.subplots_adjust(left=0.1, right=0.97, bottom=0.16, top=0.88)
    e0 = np.linspace(*Z_RANGE, 5)
    s0 = ax.stairs(np.zeros(4), e0, fill=True, alpha=0.45, color="#2860dc", label=f"{class_names[0]} (train)")
    s1 = ax.stairs(np.zeros(4), e0, fill=True, alpha=0.45, color="#dc3228", label=f"{class_names[1]} (train)")
    ax.set_xlim(*Z_RANGE)
    ax.set_xlabel("feature value, standardised: (value − train mean) / train sd")
    ax.set_ylabel("density")
    ax.legend(fontsize=9, loc="upper right")
    title = ax.set_title("", fontsize=10)
    blit = _Blit(fr, [s0, s1, title])

    def render(*_) -> bytes:
        k = names.index(feat_w.value)
        res = feature_separation(Xa[:, k], ya, bins=bins_w.value)
        msg_w.value = _message_html(res)
        if res["error"]:
            return b""
        s0.set_data(res["density0"], res["edges"])
        s1.set_data(res["density1"], res["edges"])
        top = _ylim(float(max(res["density0"].max(), res["density1"].max())))
        ax.set_ylim(0, top)
        hi = class_names[1] if res["auc"] >= 0.5 else class_names[0]
        title.set_text(f"{feat_w.value}: ROC AUC alone {res['auc']:.3f} (higher in {hi})")
        png = blit.png(top)
        chart_w.value = png
        info_w.value = (f"<code>train mean {res['mean']:.4g}, sd {res['sd']:.4g} &middot; AUC {res['auc']:.3f}: "
                        f"the chance that a random {html.escape(class_names[1])} image has a larger value than a "
                        f"random {html.escape(class_names[0])} image</code><br><small>AUC* in the list = "
                        "max(AUC, 1 − AUC): 0.5 = useless alone, 1 = perfect alone</small>")
        return png

    for c in (feat_w, bins_w):
        c.observe(render, names="value")
    render()
    box = w.VBox([w.HBox([feat_w, bins_w]), msg_w, chart_w, info_w])
    box.render = render  # type: ignore[attr-defined]
    box.image = chart_w  # type: ignore[attr-defined]
    box.message = msg_w  # type: ignore[attr-defined]
    box.controls = {"feature": feat_w, "bins": bins_w}  # type: ignore[attr-defined]
    return box


# ----------------------------------------------------------------------------- §8 the decision threshold
def threshold_view(y_true: np.ndarray, y_score: np.ndarray, threshold: float = 0.0,
                   positive_label: int = 1) -> dict[str, Any]:
    """Metrics of a saved classifier at one decision threshold, and its point on the ROC curve.

    ``{"metrics": medlab.classical.diagnostic_metrics(...), "fpr": 1 - specificity, "tpr": sensitivity,
    "confusion": [[tn, fp], [fn, tp]], "error": None, "warnings": []}``. A threshold that sends
    every image to one class is flagged in ``"warnings"``; a bad threshold or bad labels in ``"error"``.

    >>> r = threshold_view([0, 0, 1, 1], [-1.0, 0.5, 0.2, 2.0], threshold=0.0)
    >>> r["confusion"], r["tpr"], r["fpr"]
    ([[1, 1], [0, 2]], 1.0, 0.5)
    """
    from ..classical import diagnostic_metrics

    try:
        m = diagnostic_metrics(y_true, y_score, threshold=threshold, positive_label=positive_label)
    except ValueError as e:
        return _flagged(str(e))
    warnings_ = []
    if m["tp"] + m["fp"] == 0:
        warnings_.append("no image is called positive: sensitivity 0, precision undefined (shown as 0)")
    if m["tn"] + m["fn"] == 0:
        warnings_.append("every image is called positive: specificity 0")
    return {"metrics": m, "fpr": 1.0 - m["specificity"], "tpr": m["sensitivity"],
            "confusion": [[m["tn"], m["fp"]], [m["fn"], m["tp"]]], "error": None, "warnings": warnings_}


def baseline_threshold_explorer(y_true: np.ndarray, y_score: np.ndarray,
                                class_names: Sequence[str] = ("normal", "pneumonia"), positive_label: int = 1,
                                threshold: float = 0.0) -> Any:
    """Decision threshold of a trained classifier -> confusion matrix, sensitivity / specificity / F1
    and the operating point on the ROC curve. The test scores are computed once (pass them in).

    ``class_names`` = (negative, positive) names; ``positive_label`` as in ``diagnostic_metrics``.
    """
    import ipywidgets as w
    from sklearn.metrics import roc_curve

    from ._render import FigureRenderer

    yt, ys = np.asarray(y_true), np.asarray(y_score, dtype=np.float64)
    first = threshold_view(yt, ys, threshold, positive_label)
    if first["error"]:
        raise ValueError(first["error"])
    lo, hi = np.percentile(ys, [0.5, 99.5])
    lo, hi = math.floor(min(lo, threshold) * 10) / 10 - 0.1, math.ceil(max(hi, threshold) * 10) / 10 + 0.1
    thr_w = w.FloatSlider(value=threshold, min=lo, max=hi, step=0.05, description="Threshold",
                          readout_format=".2f", layout=w.Layout(width="520px"))
    chart_w = w.Image(format="png", layout=w.Layout(width="860px", height="auto"))
    info_w = w.HTML()
    msg_w = w.HTML()
    is_pos = (yt == positive_label).astype(int)
    fpr, tpr, _ = roc_curve(is_pos, ys if positive_label == 1 else -ys)

    fr = FigureRenderer(figsize=(11.5, 3.4), dpi=80)
    ah, ar, ac = (fr.fig.add_subplot(1, 3, k) for k in (1, 2, 3))
    fr.fig.subplots_adjust(left=0.05, right=0.98, bottom=0.16, top=0.87, wspace=0.32)
    edges = np.linspace(lo, hi, 41)
    neg_name, pos_name = class_names
    for k, (nm, col) in enumerate(((neg_name, "#2860dc"), (pos_name, "#dc3228"))):
        sel = is_pos == k
        ah.hist(np.clip(ys[sel], lo, hi), edges, alpha=0.5, color=col, label=f"{nm} ({int(sel.sum())})")
    ah.set_xlabel("SVM decision value f(x)")
    ah.set_ylabel("test images")
    ah.legend(fontsize=8, loc="upper left")
    ah.set_title("test scores; called positive right of the line", fontsize=10)
    tline = ah.axvline(threshold, color="k", lw=2)
    ar.plot(fpr, tpr, color="#555", lw=1.5)
    ar.plot([0, 1], [0, 1], color="#bbb", lw=1, ls=":")
    ar.set_xlim(-0.02, 1.02)
    ar.set_ylim(-0.02, 1.02)
    ar.set_xlabel("1 − specificity (false-positive rate)")
    ar.set_ylabel("sensitivity")
    ar.set_title(f"ROC curve (AUC {first['metrics']['roc_auc']:.3f})", fontsize=10)
    (point,) = ar.plot([0], [0], "o", color="#e8a000", ms=10, mec="k")
    cm_im = ac.imshow(np.zeros((2, 2)), cmap="Blues", vmin=0, vmax=len(yt))
    ctxt = [[ac.text(j, i, "", ha="center", va="center", fontsize=13) for j in range(2)] for i in range(2)]
    ac.set_xticks([0, 1], [f"called {neg_name}", f"called {pos_name}"], fontsize=9)
    ac.set_yticks([0, 1], [f"is {neg_name}", f"is {pos_name}"], fontsize=9)
    ctitle = ac.set_title("", fontsize=10)
    blit = _Blit(fr, [tline, point, cm_im, *ctxt[0], *ctxt[1], ctitle])
    tags = [["TN", "FP"], ["FN", "TP"]]

    def render(*_) -> bytes:
        res = threshold_view(yt, ys, thr_w.value, positive_label)
        msg_w.value = _message_html(res)
        if res["error"]:
            return b""
        m, cm = res["metrics"], np.array(res["confusion"])
        tline.set_xdata([thr_w.value] * 2)
        point.set_data([res["fpr"]], [res["tpr"]])
        cm_im.set_data(cm)
        for i in range(2):
            for j in range(2):
                ctxt[i][j].set_text(f"{tags[i][j]}\n{cm[i, j]}")
                ctxt[i][j].set_color("white" if cm[i, j] > 0.5 * len(yt) else "black")
        ctitle.set_text(f"confusion at threshold {thr_w.value:.2f}")
        png = blit.png()
        chart_w.value = png
        info_w.value = (f"<code>sensitivity {m['sensitivity']:.3f} &middot; specificity {m['specificity']:.3f} "
                        f"&middot; precision {m['precision']:.3f} &middot; F1 {m['f1']:.3f} &middot; "
                        f"accuracy {m['accuracy']:.3f}"
                        f" &middot; ROC AUC {m['roc_auc']:.3f} (any threshold)</code>")
        return png

    thr_w.observe(render, names="value")
    render()
    box = w.VBox([thr_w, msg_w, info_w, chart_w])
    box.render = render  # type: ignore[attr-defined]
    box.image = chart_w  # type: ignore[attr-defined]
    box.message = msg_w  # type: ignore[attr-defined]
    box.controls = {"threshold": thr_w}  # type: ignore[attr-defined]
    return box
