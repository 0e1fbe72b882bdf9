"""Widgets for 05_features_svm: GLCM explorer, texture comparison, wavelet viewer, SVM explorer.

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
from ._render import draw_boxes, to_png, to_uint8

__all__ = ["compute_glcm_view", "glcm_explorer", "parenchyma_box", "compare_textures", "texture_comparison",
           "render_wavelet", "wavelet_viewer", "svm_decision", "svm_decision_grid", "fit_svm_2d", "render_svm", "svm_explorer", "SHOWN_FEATURES",
           "WAVELETS"]

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


def _grey(image: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    return to_uint8(image, vmin, vmax)


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
    small = _grey(img[::step, ::step], lo, hi)
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
    over = np.repeat(_grey(img[::step, ::step], *display_range)[..., None], 3, axis=2)
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

    def render(*_) -> bytes:
        res = render_wavelet(sources[source_w.value], wav_w.value, level_w.value)
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
