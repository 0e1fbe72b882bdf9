"""Widgets for 05_features_svm, one per section: first-order explorer (§1), GLCM by hand (§2), GLCM
explorer and texture comparison (§3), wavelet viewer (§4), shape explorer (§5), feature histograms (§6),
SVM explorer (§7), baseline threshold explorer (§8).

Each widget is a pure frame function plus control specs handed to :func:`medlab.widgets._explorer.explorer`.
Compute functions here return the one result contract (``ok``, plain-text ``message``, ``warnings``, data);
the domain code they use is core: :mod:`medlab.features` (GLCM, GLCM by pairs, wavelets, regions),
:mod:`medlab.classical` (the SVM written out), :mod:`medlab.samples` (the CT regions, the GLCM patches, a
feature sample). Images are composed in numpy -- the SVM plot too: a matplotlib re-draw costs more than the
100 ms budget on 2 cores, a numpy canvas a few ms; the histograms use the one blitting :class:`medlab.render.Chart`.

>>> img = np.random.default_rng(0).integers(0, 256, (64, 64)).astype(np.uint8)
>>> r = compute_glcm_view(img, (10, 10, 41, 41), distance=1, angle_deg=0, levels=8, vmin=0, vmax=255)
>>> r["ok"], r["glcm"].shape, r["panel"].shape, round(float(r["glcm"].sum()), 6)
(True, (8, 8), (256, 768, 3), 1.0)
"""
from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np

from .. import features as F
from ..render import Chart, draw_boxes, font, to_uint8
from ..i18n import t
from ._explorer import Check, Choice, Float, Frame, Int, esc, explorer, html_table, register, result

__all__ = ["compute_glcm_view", "glcm_explorer", "compare_textures", "texture_comparison", "render_wavelet",
           "wavelet_viewer", "render_svm", "svm_explorer", "SHOWN_FEATURES", "WAVELETS", "compute_first_order_view",
           "first_order_explorer", "render_glcm_pairs", "glcm_by_hand", "compute_shape_view", "shape_explorer",
           "feature_separation", "feature_histograms", "threshold_view", "baseline_threshold_explorer"]

#: GLCM features listed in the explorers' tables.
SHOWN_FEATURES = ("contrast", "dissimilarity", "homogeneity", "energy", "entropy", "correlation",
                  "cluster_shade", "cluster_prominence", "sum_entropy", "difference_entropy", "imc1", "imc2")

#: Wavelet families offered by the sub-band viewer.
WAVELETS = ("haar", "db2", "db4", "sym4", "coif1", "bior2.2")

#: Fixed HU range for quantising CT regions, so two regions are binned on the same scale.
CT_RANGE = (-1000.0, 400.0)
#: Grey range of the CT pictures (a lung window).
CT_DISPLAY = (-1350.0, 150.0)
PANEL = 256
LEVELS = (4, 8, 16, 32, 64)


# ----------------------------------------------------------------------------- shared drawing
@functools.lru_cache(maxsize=1)
def _viridis() -> np.ndarray:
    from matplotlib import colormaps

    return (colormaps["viridis"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)


def _heatmap(P: np.ndarray, size: int = PANEL) -> np.ndarray:
    """A probability matrix as an RGB heat map (sqrt scale, so rare pairs stay visible)."""
    v = np.sqrt(P / P.max()) if P.max() > 0 else np.zeros_like(P)
    return _fit(_viridis()[np.rint(v * 255).astype(np.uint8)], size)


def _fit(img: np.ndarray, size: int = PANEL) -> np.ndarray:
    """Nearest-neighbour resize of a (H, W[, 3]) image to (size, size), in exact integer arithmetic."""
    h, w = img.shape[:2]
    rows = np.minimum((np.arange(size) * h) // size, h - 1)
    cols = np.minimum((np.arange(size) * w) // size, w - 1)
    return img[rows][:, cols]


def _overview(img: np.ndarray, boxes: Sequence[Sequence[int]], display: tuple[float, float],
              colors: Sequence[tuple[int, int, int]] = ((255, 215, 0),)) -> np.ndarray:
    """The image (subsampled to about PANEL px) with box outlines, fitted to PANEL x PANEL."""
    step = max(1, max(img.shape) // PANEL)
    over = np.repeat(to_uint8(img[::step, ::step], *display)[..., None], 3, axis=2)
    for box, color in zip(boxes, colors):
        draw_boxes(over, [[v // step for v in box]], color=color, thickness=2)
    return _fit(over)


def _check_roi(roi: Sequence[int], shape: tuple[int, ...], name: str = "roi",
               min_side: int = 2) -> tuple[int, int, int, int]:
    try:
        r0, c0, r1, c1 = (int(v) for v in roi)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (row0, col0, row1, col1) inclusive pixel indices, got {roi!r}") from None
    h, w = shape[:2]
    if not (0 <= r0 <= r1 < h and 0 <= c0 <= c1 < w):
        raise ValueError(f"{name} {(r0, c0, r1, c1)} must lie inside the {h}x{w} image with row0<=row1, col0<=col1")
    if min(r1 - r0, c1 - c0) + 1 < min_side:
        raise ValueError(f"{name} must be at least {min_side}x{min_side} pixels to have pixel pairs, "
                         f"got {(r0, c0, r1, c1)}")
    return r0, c0, r1, c1


def _as_2d(image: Any, name: str = "image") -> np.ndarray:
    from .._validate import check_array

    return check_array(image, name, ndim=2)


def _feature_table(columns: dict[str, dict[str, float]], names: Sequence[str] = SHOWN_FEATURES) -> str:
    return html_table([[n] + [f"{col[n]:.4g}" for col in columns.values()] for n in names],
                      header=["feature", *columns])


def _notes(warnings: Sequence[str]) -> str:
    """Non-blocking remarks of a compute function, shown in the readout (the picture is valid)."""
    return "".join(f"<div style='color:#a60'>&#9888; {esc(w)}</div>" for w in warnings)


#: y-axis limits a chart may take: the smallest that fits is used, so backgrounds can be cached.
_Y_LADDER = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


def _ylim(top: float) -> float:
    return next((v for v in _Y_LADDER if v >= top * 1.08), max(_Y_LADDER[-1], top * 1.08))


def _ct_sources() -> dict[str, tuple[np.ndarray, tuple[int, int, int, int], tuple[float, float], tuple[float, float]]]:
    """Region name -> (image, default ROI, quantisation range, display range): CT tumour / parenchyma, X-ray."""
    from ..datasets import load_chest_xray
    from ..samples import ct_largest_tumour

    r = ct_largest_tumour()
    return {f"CT slice {r.slice_index}: tumour box": (r.hu, r.tumour, CT_RANGE, CT_DISPLAY),
            f"CT slice {r.slice_index}: lung parenchyma": (r.hu, r.lung, CT_RANGE, CT_DISPLAY),
            "Chest X-ray": (load_chest_xray(), (180, 120, 279, 219), (0.0, 255.0), (0.0, 255.0))}


def _user_source(image: Any, roi: Sequence[int] | None, vmin: float | None, vmax: float | None, min_side: int):
    img = _as_2d(image)
    h, w = img.shape
    r = roi if roi is not None else (h // 4, w // 4, 3 * h // 4, 3 * w // 4)
    lo = float(img.min()) if vmin is None else float(vmin)
    hi = float(img.max()) if vmax is None else float(vmax)
    if vmin is None and vmax is None and hi <= lo:  # a constant image: a range of one grey value around it
        hi = lo + 1.0
    rng = (lo, hi)
    return {"your image": (img, _check_roi(r, img.shape, min_side=min_side), rng, rng)}


# ----------------------------------------------------------------------------- §3 GLCM explorer
def compute_glcm_view(image: np.ndarray, roi: Sequence[int], distance: int = 1, angle_deg: float = 0.0,
                      levels: int = 16, vmin: float | None = None, vmax: float | None = None,
                      display_range: tuple[float, float] | None = None) -> dict[str, Any]:
    """GLCM of a region, as the result contract with ``glcm`` ((L, L) symmetric probabilities),
    ``features`` ({name: float}), ``offset`` (d_row, d_col), ``quantized`` and ``panel`` (RGB uint8
    (256, 768, 3) = [image with ROI box | ROI zoomed, quantised | GLCM heat map]).

    ``roi`` = (row0, col0, row1, col1) inclusive; ``vmin``/``vmax`` is the grey range binned into
    ``levels`` (default: the ROI's own range); ``display_range`` the grey range shown. A bad setting
    gives ``ok=False`` and the reason in ``message``.
    """
    try:
        img = _as_2d(image)
        r0, c0, r1, c1 = _check_roi(roi, img.shape)
        if isinstance(angle_deg, bool) or not isinstance(angle_deg, (int, float, np.number)) \
                or not math.isfinite(angle_deg):
            raise ValueError(f"angle_deg must be a finite angle in degrees, got {angle_deg!r}")
        crop = img[r0:r1 + 1, c0:c1 + 1]
        q = F.quantize(crop, levels, vmin=vmin, vmax=vmax)
        P = F.glcm(q, [distance], [math.radians(angle_deg)], levels=levels, symmetric=True, normed=True)
        offset = F.glcm_offset(distance, math.radians(angle_deg))
    except (TypeError, ValueError) as e:
        return result(False, str(e))
    feats = {k: float(v) for k, v in F.glcm_features(P, average=True).items()}
    disp = display_range if display_range is not None else (float(img.min()), float(img.max()))
    zoom = _fit(np.repeat(to_uint8(q, 0, levels - 1)[..., None], 3, axis=2))
    panel = np.concatenate([_overview(img, [(r0, c0, r1, c1)], disp), zoom, _heatmap(P[:, :, 0, 0])], axis=1)
    return result(glcm=P[:, :, 0, 0], features=feats, panel=panel, quantized=q, offset=offset)


@register(demo=lambda: {})
def glcm_explorer(image: np.ndarray | None = None, roi: Sequence[int] | None = None,
                  vmin: float | None = None, vmax: float | None = None) -> Any:
    """GLCM explorer: region, distance, angle, number of grey levels and ROI position -> [image + ROI |
    quantised ROI | GLCM heat map] and the feature values. Used in 05 §3.

    Without arguments it offers the CT tumour box, a lung-parenchyma box of the same size and a chest
    X-ray; pass ``image`` (2-D, at least 2x2) and ``roi`` (row0, col0, row1, col1) to use your own.
    """
    sources = _user_source(image, roi, vmin, vmax, 2) if image is not None else _ct_sources()
    size = {n: (r[2] - r[0], r[3] - r[1]) for n, (_, r, _, _) in sources.items()}

    def frame(source: str, distance: int, angle: int, levels: int, row: int, col: int) -> Frame:
        img, _, (lo, hi), disp = sources[source]
        h, w = size[source]
        res = compute_glcm_view(img, (row, col, row + h, col + w), distance, angle, levels, lo, hi, disp)
        if not res["ok"]:
            return Frame(warning=res["message"])
        dr, dc = res["offset"]
        info = ("<code>" + t("ROI rows {0}..{1}, cols {2}..{3} &middot; {4} levels over [{5:g}, {6:g}] &middot; "
                             "neighbour offset (row {7:+d}, col {8:+d}) &middot; symmetric, normalised").format(
                    row, row + h, col, col + w, levels, lo, hi, dr, dc)
                + "</code><br><small>" + t("panels: image + ROI | ROI binned | GLCM (i down, j across)") + "</small>")
        return Frame(image=res["panel"], readout=info + _feature_table({"value": res["features"]}))

    first, (img0, roi0, _, _) = next(iter(sources.items()))
    controls = {
        "source": Choice("Region", list(sources), sets=lambda n: {"row": sources[n][1][0], "col": sources[n][1][1]}),
        "distance": Int("Distance", 1, 8, value=1),
        "angle": Int("Angle (°)", 0, 135, value=0, step=45),
        "levels": Choice("Levels", LEVELS, value=16, style="toggle", button_width="42px"),
        "row": Int("ROI row", 0, img0.shape[0] - 1 - size[first][0], value=roi0[0]),
        "col": Int("ROI col", 0, img0.shape[1] - 1 - size[first][1], value=roi0[1]),
    }

    def limits(source: str, **_: Any) -> dict:
        img, (h, w) = sources[source][0], size[source]
        return {"row": {"max": img.shape[0] - 1 - h}, "col": {"max": img.shape[1] - 1 - w}}

    return explorer(frame, controls, width=600, limits=limits)


# ----------------------------------------------------------------------------- §3 texture comparison
def compare_textures(slice_hu: np.ndarray, box_a: Sequence[int], box_b: Sequence[int], distance: int = 1,
                     levels: int = 16, hu_range: tuple[float, float] = CT_RANGE,
                     display_range: tuple[float, float] = CT_DISPLAY) -> dict[str, Any]:
    """GLCM features of two regions binned on the same HU scale, averaged over 0/45/90/135°.

    The result contract with ``features_a``, ``features_b`` ({name: float}), ``glcm_a``, ``glcm_b``
    ((L, L)) and ``panel`` (RGB (256, 768, 3) = [slice with box A yellow and box B cyan | GLCM A | GLCM B]).
    """
    out: dict[str, Any] = {}
    try:
        img = _as_2d(slice_hu, "slice_hu")
        boxes = [_check_roi(b, img.shape, name=f"box_{k}") for k, b in (("a", box_a), ("b", box_b))]
        for key, (r0, c0, r1, c1) in zip("ab", boxes):
            q = F.quantize(img[r0:r1 + 1, c0:c1 + 1], levels, vmin=hu_range[0], vmax=hu_range[1])
            P = F.glcm(q, [distance], F.DEFAULT_ANGLES, levels=levels, symmetric=True, normed=True)
            out[f"features_{key}"] = {k: float(v) for k, v in F.glcm_features(P, average=True).items()}
            out[f"glcm_{key}"] = P.mean(axis=(2, 3))
    except (TypeError, ValueError) as e:
        return result(False, str(e))
    over = _overview(img, boxes, display_range, colors=((255, 215, 0), (0, 220, 255)))
    return result(panel=np.concatenate([over, _heatmap(out["glcm_a"]), _heatmap(out["glcm_b"])], axis=1), **out)


@register(demo=lambda: {})
def texture_comparison(levels: int = 16) -> Any:
    """Tumour box vs a lung-parenchyma box of the same size, on every annotated CT slice: the two GLCMs
    and their features side by side. Used in 05 §3."""
    from .._validate import check_choice
    from ..samples import ct_largest_tumour, ct_texture_regions

    check_choice(levels, "levels", LEVELS)
    regions = {r.slice_index: r for r in ct_texture_regions()}
    legend = ("<small>" + t("<b>yellow</b>: tumour box, <b>cyan</b>: lung parenchyma<br>GLCMs (middle: tumour, "
                            "right: parenchyma), {0:g}..{1:g} HU binned").format(CT_RANGE[0], CT_RANGE[1])
              + "</small><br>")

    def frame(slice: int, distance: int, levels: int) -> Frame:
        r = regions[slice]
        res = compare_textures(r.hu, r.tumour, r.lung, distance, levels)
        if not res["ok"]:
            return Frame(warning=res["message"])
        return Frame(image=res["panel"], readout=legend + _feature_table({"tumour": res["features_a"],
                                                                          "parenchyma": res["features_b"]}))

    return explorer(frame, {"slice": Int("Slice", min(regions), max(regions), value=ct_largest_tumour().slice_index),
                            "distance": Int("Distance", 1, 8, value=1),
                            "levels": Choice("Levels", LEVELS, value=levels, style="toggle", button_width="42px")},
                    width=600)


# ----------------------------------------------------------------------------- §4 wavelets
def render_wavelet(image: np.ndarray, wavelet: str = "haar", level: int = 2, size: int = 512) -> dict[str, Any]:
    """Multi-level 2-D wavelet decomposition laid out as the classic mosaic.

    Approximation top-left, then for each level the H (top-right), V (bottom-left) and D (bottom-right)
    details, separated by white lines. Each sub-band is scaled on its own (details by the 99th percentile
    of ``|c|``) so that fine, weak details remain visible. The result contract with ``mosaic`` (uint8
    (size, size)) and ``energies`` ({band: mean squared coefficient}, the numbers of
    :func:`medlab.features.wavelet_energies`); too many levels for the image give ``ok=False``.
    """
    import pywt

    try:
        img = np.asarray(_as_2d(image), dtype=np.float32)
        coeffs = F.wavelet_coefficients(img, wavelet, level)
    except (TypeError, ValueError) as e:
        return result(False, str(e))
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
    # white lines between the sub-bands: block k (coarsest first) sits right of / below the block of
    # everything coarser, whose size grows by the detail band's shape
    h, wd = arr.shape
    ch, cw = coeffs[0].shape
    for bands in coeffs[1:]:
        sh, sw = bands[0].shape
        rr, cc = min(size - 1, ch * size // h), min(size - 1, cw * size // wd)
        grey[rr, : min(size, (cw + sw) * size // wd)] = 255
        grey[: min(size, (ch + sh) * size // h), cc] = 255
        ch, cw = ch + sh, cw + sw
    return result(mosaic=grey, energies=dict(sorted(energies.items())))


@register(demo=lambda: {})
def wavelet_viewer(image: np.ndarray | None = None) -> Any:
    """Wavelet sub-band viewer: image, wavelet family and number of levels -> mosaic and band energies.
    Too many levels for the image are flagged (the last picture stays). Used in 05 §4."""
    if image is not None:
        sources = {"your image": np.asarray(_as_2d(image), dtype=np.float32)}
    else:
        from ..datasets import load_chest_xray
        from ..samples import ct_largest_tumour

        sl = ct_largest_tumour().hu.astype(np.float32)
        sources = {"Chest X-ray": load_chest_xray().astype(np.float32),
                   "CT slice (lung window)": (np.clip((sl + 1350.0) / 1500.0, 0, 1) * 255).astype(np.float32)}

    def frame(source: str, wavelet: str, level: int) -> Frame:
        res = render_wavelet(sources[source], wavelet, level)
        if not res["ok"]:
            return Frame(warning=res["message"])
        table = html_table([(k, f"{v:.4g}") for k, v in res["energies"].items()])
        return Frame(image=res["mosaic"], readout=t("<b>mean squared coefficient per sub-band</b> (L1 = finest)") + table)

    return explorer(frame, {"source": Choice("Image", list(sources)), "wavelet": Choice("Wavelet", WAVELETS),
                            "level": Int("Level", 1, 4, value=2)}, width=512)


# ----------------------------------------------------------------------------- §7 SVM explorer
_CLASS_RGB = (np.array([40, 90, 220], np.uint8), np.array([220, 50, 40], np.uint8))


def render_svm(res: dict, X: np.ndarray, y: np.ndarray, size: int = 360) -> np.ndarray:
    """The SVM plot of :func:`medlab.classical.fit_svm_2d` composed in numpy: RGB uint8 (size, size, 3).

    Background: light blue where the SVM says class 0, light red for class 1, darker inside the margin
    ``|f| <= 1``; black: the decision boundary ``f = 0``; dots: training rows in their class colour; black
    rings: support vectors. The axes span ``res["extent"]``.
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
        rgb[np.clip(r + dr, 0, size - 1), np.clip(c + dc, 0, size - 1)] = 0
    for k in (0, 1):
        r, c = to_px(np.asarray(X)[np.asarray(y) == k])
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                rgb[np.clip(r + dr, 0, size - 1), np.clip(c + dc, 0, size - 1)] = _CLASS_RGB[k]
    return rgb


def _feature_sample_demo() -> dict:
    from ..samples import svm_feature_sample

    Xtr, ytr, Xte, yte, names = svm_feature_sample(300, 0)
    return {"X_train": Xtr, "y_train": ytr, "X_test": Xte, "y_test": yte, "feature_names": list(names)}


@register(demo=_feature_sample_demo)
def svm_explorer(X_train: np.ndarray | None = None, y_train: np.ndarray | None = None,
                 X_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
                 feature_names: Sequence[str] | None = None, n_train: int = 300, seed: int = 0,
                 x_feature: str | None = None, y_feature: str | None = None,
                 class_names: Sequence[str] = ("normal", "pneumonia")) -> Any:
    """SVM on any two features: kernel, C and gamma -> decision regions, margin and test metrics. Used in 05 §7.

    Pass feature matrices (e.g. from :func:`medlab.classical.dataset_features`); by default PneumoniaMNIST
    features are computed (:func:`medlab.samples.svm_feature_sample`). At most ``n_train`` training rows
    (seeded shuffle) are used so that each re-fit stays interactive.
    """
    from ..classical import fit_svm_2d, shuffle_split

    if X_train is None:
        from ..samples import svm_feature_sample

        X_train, y_train, X_test, y_test, feature_names = svm_feature_sample(n_train, seed)
    from .._validate import check_array, check_binary_labels, check_same_length

    Xtr = check_array(X_train, "X_train", ndim=2, dtype=np.float64)
    Xte = check_array(X_test, "X_test", ndim=2, shape=(None, Xtr.shape[1]), dtype=np.float64)
    ytr, yte = check_binary_labels(y_train, "y_train"), check_binary_labels(y_test, "y_test")
    check_same_length(X_train=Xtr, y_train=ytr)
    check_same_length(X_test=Xte, y_test=yte)
    names = list(feature_names) if feature_names is not None else [f"f{k}" for k in range(Xtr.shape[1])]
    if len(names) != Xtr.shape[1]:
        raise ValueError(f"feature_names must name all {Xtr.shape[1]} columns of X_train, got {len(names)} names")
    if len(ytr) > n_train:
        Xtr, ytr, _ = shuffle_split(Xtr, ytr, seed=seed, n=n_train)
    fx = x_feature or ("glcm_contrast" if "glcm_contrast" in names else names[0])
    fy = y_feature or ("fo_mean" if "fo_mean" in names else names[min(1, len(names) - 1)])
    for nm, v in (("x_feature", fx), ("y_feature", fy)):
        if v not in names:
            raise ValueError(f"{nm} must be one of the feature names, got {v!r}")
    colours = ["#%02x%02x%02x" % tuple(int(v) for v in c) for c in _CLASS_RGB]

    def frame(x: str, y: str, kernel: str, C: float, gamma: float) -> Frame:
        cols = [names.index(x), names.index(y)]
        res = fit_svm_2d(Xtr[:, cols], ytr, Xte[:, cols], yte, kernel, C, gamma, seed=seed)
        m = res["metrics"]
        x0, x1, y0, y1 = res["extent"]
        info = (f"<span style='color:{colours[0]}'>&#9632; {esc(t(class_names[0]))}</span> "
                f"<span style='color:{colours[1]}'>&#9632; {esc(t(class_names[1]))}</span> "
                + t("(training rows), &#9633; support vectors, black line f(x)=0, darker band |f(x)| &le; 1") + "<br>"
                + t("<code>x: {0} {1:.3g} &rarr; {2:.3g}<br>y: {3} {4:.3g} &rarr; {5:.3g} (up)</code><br>").format(
                    esc(x), x0, x1, esc(y), y0, y1)
                + t("<b>test ({0} images)</b><br><code>accuracy {1:.3f} &middot; sensitivity {2:.3f} &middot; "
                    "specificity {3:.3f}<br>F1 {4:.3f} &middot; ROC AUC {5:.3f}<br>support vectors {6} / {7}").format(
                    m["n"], m["accuracy"], m["sensitivity"], m["specificity"], m["f1"], m["roc_auc"],
                    len(res["support"]), len(ytr))
                + ("" if res["converged"] else t(" (solver stopped early)")) + "</code><br><small>"
                + t("gamma acts on standardised features" if kernel == "rbf" else "the linear kernel has no gamma")
                + "</small>")
        return Frame(image=render_svm(res, Xtr[:, cols], ytr), readout=info)

    return explorer(frame, {"x": Choice("Feature x", names, value=fx), "y": Choice("Feature y", names, value=fy),
                            "kernel": Choice("Kernel", ["linear", "rbf"], value="rbf", style="toggle",
                                             button_width="70px"),
                            "C": Float("C", 0.01, 100.0, value=1.0, step=0.25, log=True),
                            "gamma": Float("Gamma", 0.001, 100.0, value=0.5, step=0.25, log=True)}, width=360)


# ----------------------------------------------------------------------------- §1 first-order statistics
#: First-order statistics listed in the explorer's table (all of ``F.first_order``).
FO_SHOWN = ("mean", "std", "skewness", "kurtosis", "p10", "p25", "p50", "p75", "p90", "iqr", "min", "max",
            "entropy", "uniformity")
BINS = (4, 8, 16, 32, 64, 128, 256)


def compute_first_order_view(image: np.ndarray, roi: Sequence[int], bins: int = 32, vmin: float | None = None,
                             vmax: float | None = None,
                             display_range: tuple[float, float] | None = None) -> dict[str, Any]:
    """First-order statistics of a region and the histogram they summarise.

    The result contract with ``features`` (``F.first_order(crop, bins, vmin, vmax)``), ``counts`` ((bins,)
    pixels per bin: the histogram the entropy is computed from), ``edges`` ((bins + 1,)) and ``panel`` (RGB
    uint8 (256, 512, 3) = [image with ROI box | ROI zoomed]). Any ROI of at least one pixel works; remarks
    (more bins than pixels, pixels outside the range) are in ``warnings``, bad settings give ``ok=False``.

    >>> r = compute_first_order_view(np.arange(64.0).reshape(8, 8), (0, 0, 3, 3), bins=4, vmin=0, vmax=64)
    >>> r["ok"], r["counts"].tolist(), r["features"]["mean"]
    (True, [8, 8, 0, 0], 13.5)
    """
    try:
        img = _as_2d(image)
        r0, c0, r1, c1 = _check_roi(roi, img.shape, min_side=1)
        crop = img[r0:r1 + 1, c0:c1 + 1]
        lo = float(crop.min()) if vmin is None else float(vmin)
        hi = float(crop.max()) if vmax is None else float(vmax)
        if vmin is None and vmax is None and hi <= lo:  # a constant region (or one pixel): bins over [v, v + 1]
            hi = lo + 1.0
        feats = F.first_order(crop, bins=bins, vmin=lo, vmax=hi)
        q = F.quantize(crop, bins, vmin=lo, vmax=hi)
    except (TypeError, ValueError) as e:
        return result(False, str(e))
    warnings_ = []
    if bins > crop.size:
        warnings_.append(t("{0} bins for {1} pixels: most bins are empty, so the entropy measures the bin count "
                           "more than the region").format(bins, crop.size))
    outside = int(np.sum((crop < lo) | (crop > hi)))
    if outside:
        warnings_.append(t("{0} pixels lie outside [{1:g}, {2:g}] and are counted in the end bins").format(outside, lo,
                                                                                                          hi))
    counts = np.bincount(q.ravel(), minlength=bins)
    dlo, dhi = display_range if display_range is not None else (float(img.min()), float(img.max()))
    zoom = np.repeat(to_uint8(crop, dlo, dhi)[..., None], 3, axis=2)
    panel = np.concatenate([_overview(img, [(r0, c0, r1, c1)], (dlo, dhi)), _fit(zoom)], axis=1)
    return result(True, "", warnings_, features=feats, counts=counts, edges=np.linspace(lo, hi, bins + 1),
                  panel=panel)


def _roi_sliders(shape: tuple[int, int]) -> dict[str, dict[str, int]]:
    """Safe ranges of the ROI height/width sliders for an image of ``shape``: 1..H (2..H from 2 px on)."""
    h, w = shape
    return {"height": {"min": min(2, h), "max": h}, "width": {"min": min(2, w), "max": w}}


@register(demo=lambda: {})
def first_order_explorer(image: np.ndarray | None = None, roi: Sequence[int] | None = None,
                         vmin: float | None = None, vmax: float | None = None) -> Any:
    """First-order explorer: region, ROI position/size and number of bins -> histogram with the statistics.
    Used in 05 §1.

    Without arguments: the CT tumour box, a lung-parenchyma box of the same size and a chest X-ray patch
    (the GLCM explorer's regions). Any 2-D image of at least one pixel can be passed (with ``roi``). The
    histogram marks the mean, mean ± std and p10/p50/p90.
    """
    sources = _user_source(image, roi, vmin, vmax, 1) if image is not None else _ct_sources()
    chart = Chart(figsize=(5.5, 3.0), dpi=80)
    ax = chart.fig.add_subplot()
    chart.fig.subplots_adjust(left=0.12, right=0.97, bottom=0.17, top=0.9)
    stairs = ax.stairs(np.zeros(4), np.arange(5.0), fill=True, color="#9ab", label=t("histogram"))
    mean_l = ax.axvline(0, color="#c22", lw=2, label=t("mean"))
    sd_l = [ax.axvline(0, color="#c22", lw=1.2, ls="--", label=t("mean ± std") if k == 0 else None) for k in (0, 1)]
    pct_l = [ax.axvline(0, color="#333", lw=1, ls=":", label="p10 / p50 / p90" if k == 0 else None) for k in range(3)]
    ax.set_ylabel(t("fraction of pixels"))
    ax.legend(fontsize=8, loc="upper right", framealpha=0.8)
    title = ax.set_title("", fontsize=10)
    chart.animate(stairs, mean_l, *sd_l, *pct_l, title)

    def frame(source: str, bins: int, height: int, width: int, row: int, col: int) -> Frame:
        img, _, (lo, hi), disp = sources[source]
        res = compute_first_order_view(img, (row, col, row + height - 1, col + width - 1), bins, lo, hi, disp)
        if not res["ok"]:
            return Frame(warning=res["message"])
        f = res["features"]
        frac = res["counts"] / res["counts"].sum()
        stairs.set_data(frac, res["edges"])
        top = _ylim(float(frac.max()))
        ax.set_xlim(lo, hi)
        ax.set_xlabel("HU" if source.startswith("CT") else t("grey value"))
        ax.set_ylim(0, top)
        mean_l.set_xdata([f["mean"]] * 2)
        for line, x in zip(sd_l, (f["mean"] - f["std"], f["mean"] + f["std"])):
            line.set_xdata([x, x])
        for line, k in zip(pct_l, ("p10", "p50", "p90")):
            line.set_xdata([f[k]] * 2)
        title.set_text(f"{height}×{width} ROI, {bins} {t('bins over')} [{lo:g}, {hi:g}]")
        table = html_table([(k, f"{f[k]:.4g}") for k in FO_SHOWN])
        legend = ("<small>" + t("left: image with the ROI; right: the ROI; chart: its histogram (red: mean and "
                                "mean ± std, dotted: p10, p50, p90)") + "</small>")
        return Frame(image=res["panel"], panes={"histogram": chart.rgb((source, top))},
                     readout=_notes(res["warnings"]) + legend + table)

    def start(name: str) -> dict[str, int]:
        img, (r0, c0, r1, c1), _, _ = sources[name]
        lim = _roi_sliders(img.shape)
        return {"height": min(r1 - r0 + 1, lim["height"]["max"]), "width": min(c1 - c0 + 1, lim["width"]["max"]),
                "row": r0, "col": c0}

    def limits(source: str, height: int, width: int, **_: Any) -> dict:
        img = sources[source][0]
        lim = _roi_sliders(img.shape)
        height = min(max(height, lim["height"]["min"]), lim["height"]["max"])
        width = min(max(width, lim["width"]["min"]), lim["width"]["max"])
        return {**lim, "row": {"max": img.shape[0] - height}, "col": {"max": img.shape[1] - width}}

    first = next(iter(sources))
    img0, s0 = sources[first][0], start(first)
    lim0 = limits(first, s0["height"], s0["width"])
    controls = {
        "source": Choice("Region", list(sources), sets=start),
        "bins": Choice("Bins", BINS, value=32, style="toggle", button_width="40px"),
        "height": Int("ROI height", lim0["height"]["min"], lim0["height"]["max"], value=s0["height"]),
        "width": Int("ROI width", lim0["width"]["min"], lim0["width"]["max"], value=s0["width"]),
        "row": Int("ROI row", 0, lim0["row"]["max"], value=s0["row"]),
        "col": Int("ROI col", 0, lim0["col"]["max"], value=s0["col"]),
    }
    # the chart's static part is cached per y-limit; each bins setting has its own limit, so draw them once
    # now (a full matplotlib draw is ~70 ms, a blit ~5 ms): clicking through the bins stays under budget
    for b in BINS:
        frame(first, b, s0["height"], s0["width"], s0["row"], s0["col"])
    for name in list(sources)[1:]:  # and every region at its own default ROI
        st = start(name)
        frame(name, 32, st["height"], st["width"], st["row"], st["col"])
    return explorer(frame, controls, width=440, limits=limits)


# ----------------------------------------------------------------------------- §2 the GLCM by hand
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
    """The patch with the first ``k`` pairs of :func:`medlab.features.glcm_pairs` ``res`` as arrows (the
    last one boxed: red = reference pixel, blue = neighbour) beside the count matrix after those ``k``
    pairs (the cell just incremented boxed; its transpose too, dashed-orange, when ``symmetric``). RGB
    uint8 (size + 100, 2 * size + 140, 3), drawn with Pillow (a few ms).
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
    big, small = font(max(12, size // (3 * max(h, w, levels)))), font(14)
    mbig = font(max(12, size // (2 * levels)))
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
    d.text((x0, 12), t("offset (row {0:+d}, col {1:+d}) · pair {2} of {3}").format(dr, dc, k, n), fill=(0, 0, 0),
           font=small)
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
    d.text((mx + size / 2, my + size + 24), t("j = neighbour's grey level"), fill=(0, 0, 0), font=small,
           anchor="mt")
    d.text((mx - 32, my + size / 2), "i", fill=(0, 0, 0), font=small, anchor="mm")
    d.text((mx - 40, my + size / 2 + 18), t("(ref.)"), fill=(0, 0, 0), font=font(11), anchor="mm")
    if symmetric:
        head = t("P[i, j] after {0} pair + transpose · total {1}") if k == 1 else \
            t("P[i, j] after {0} pairs + transpose · total {1}")
    else:
        head = t("P[i, j] after {0} pair · total {1}") if k == 1 else t("P[i, j] after {0} pairs · total {1}")
    d.text((mx, 12), head.format(k, int(partial.sum())), fill=(0, 0, 0), font=small)
    if k:
        r0, c0, r1, c1 = done[-1]
        i, j = int(p[r0, c0]), int(p[r1, c1])
        if symmetric and i != j:
            d.rectangle([mx + i * ms + 7, my + j * ms + 7, mx + (i + 1) * ms - 7, my + (j + 1) * ms - 7],
                        outline=(240, 140, 0), width=3)
        d.rectangle([mx + j * ms + 2, my + i * ms + 2, mx + (j + 1) * ms - 2, my + (i + 1) * ms - 2],
                    outline=(230, 30, 30), width=4)
    return np.asarray(im)


def _n_pairs(shape: tuple[int, int], distance: int, angle_deg: float) -> int:
    dr, dc = F.glcm_offset(distance, math.radians(angle_deg))
    return max(0, shape[0] - abs(dr)) * max(0, shape[1] - abs(dc))


@register(demo=lambda: {})
def glcm_by_hand(patch: np.ndarray | None = None, levels: int = 4) -> Any:
    """Count a GLCM pair by pair: patch, distance, angle, symmetric and how many pairs are counted so far.
    Used in 05 §2.

    Left: the patch with its grey levels; an arrow joins each counted pair (dot = the reference pixel, head
    = its neighbour); the last pair counted is boxed (red: reference, blue: neighbour). Right: the count
    matrix ``P[i, j]`` (i = reference level, down; j = neighbour level, across) after those pairs, with the
    cell just incremented boxed. The "Pairs counted" range follows the offset; a new patch, distance or
    angle starts with all its pairs counted.
    """
    from ..samples import glcm_patches

    patches = {"your patch": np.asarray(patch)} if patch is not None else glcm_patches()
    for p in patches.values():
        F.glcm_pairs(p, 1, 0, levels)  # a bad patch or levels: a clear error now, not in the widget

    def frame(patch: str, distance: int, angle: int, symmetric: bool, step: int) -> Frame:
        p = patches[patch]
        res = F.glcm_pairs(p, distance, angle, levels, symmetric=symmetric)
        n = len(res["pairs"])
        k = min(step, n)
        image = render_glcm_pairs(p, res, k, levels, symmetric=symmetric)
        if not n:
            dr, dc = res["offset"]
            return Frame(image=image, readout="", warning=t(
                "distance {0} at {1:g}° is the offset (row {2:+d}, col {3:+d}): no pixel pair fits inside the "
                "{4}×{5} patch").format(distance, angle, dr, dc, p.shape[0], p.shape[1]))
        r0, c0, r1, c1 = res["pairs"][k - 1]
        i, j = int(p[r0, c0]), int(p[r1, c1])
        return Frame(image=image, readout=("<code>" + t("pair {0}: pixel ({1},{2}) level {3} &rarr; neighbour "
                                                        "({4},{5}) level {6} &rArr; P[{3},{6}] += 1").format(
                                               k, r0, c0, i, r1, c1, j)
                                           + (f", P[{j},{i}] += 1" if symmetric else "") + "</code>"))

    first = next(iter(patches.values()))
    n0 = max(_n_pairs(first.shape, 1, 0), 1)

    def all_pairs(_: Any) -> dict[str, int]:  # a new patch or offset starts with all its pairs counted
        return {"step": max(p.size for p in patches.values())}  # clamped to the new offset's pair count

    controls = {"patch": Choice("Patch", list(patches), sets=all_pairs),
                "distance": Choice("Distance", [1, 2, 3, 4], style="toggle", button_width="48px", sets=all_pairs),
                "angle": Choice("Angle (°)", [0, 45, 90, 135], style="toggle", button_width="48px", sets=all_pairs),
                "symmetric": Check("symmetric (P + Pᵀ)"), "step": Int("Pairs counted", 1, n0, value=n0)}
    return explorer(frame, controls, width=740, layout="column",
                    limits=lambda patch, distance, angle, **_: {
                        "step": {"max": max(_n_pairs(patches[patch].shape, distance, angle), 1)}})


# ----------------------------------------------------------------------------- §5 shape from masks
#: Shape features listed by the shape explorer (2-D: size is an area in mm²).
SHAPE_SHOWN = {"size_mm": "area (mm²)", "n_pixels": "pixels", "perimeter_mm": "perimeter (mm)",
               "elongation": "elongation", "roundness": "roundness", "equivalent_diameter_mm": "equiv. diameter (mm)",
               "feret_diameter_mm": "Feret diameter (mm)"}


def compute_shape_view(hu_slice: np.ndarray, structure: str = "lungs", threshold: float = -320.0,
                       spacing: tuple[float, float] = (1.0, 1.0), box: Sequence[int] | None = None,
                       upper: float = 200.0, display_range: tuple[float, float] = CT_DISPLAY) -> dict[str, Any]:
    """Segment one structure on one CT slice and measure its shape.

    ``structure="lungs"``: :func:`medlab.features.lung_slice_mask` with air below ``threshold`` HU;
    ``"tumour"``: region growing from a seed in ``box`` (row0, col0, row1, col1) over ``[threshold, upper]``
    HU, kept inside the box (:func:`medlab.preprocess.grow_from_box`). The result contract with ``mask``,
    ``features`` (``F.shape_features(mask, spacing)``) and ``panel`` (RGB uint8: the slice, lung window,
    with the mask outline); an empty mask or a bad setting gives ``ok=False``. ``spacing`` = (x, y) in mm.
    """
    from scipy import ndimage as ndi

    from ..preprocess import grow_from_box

    try:
        a = _as_2d(hu_slice, "hu_slice")
        if structure == "lungs":
            mask = F.lung_slice_mask(a, threshold)
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
    except (TypeError, ValueError) as e:
        return result(False, str(e))
    warnings_ = []
    if structure == "tumour":
        inner = np.zeros_like(mask)
        inner[r0 + 1:r1, c0 + 1:c1] = True
        if (mask[r0:r1 + 1, c0:c1 + 1] & ~inner[r0:r1 + 1, c0:c1 + 1]).any():      # a pixel on the box's border
            warnings_.append(t("the region reaches the box edge: it continues into neighbouring tissue there and "
                               "the box cuts it off"))
    rgb = np.repeat(to_uint8(a, *display_range)[..., None], 3, axis=2)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    sl = (slice(max(rows[0] - 2, 0), rows[-1] + 3), slice(max(cols[0] - 2, 0), cols[-1] + 3))
    m = mask[sl]                                  # outline on the mask's bounding box only (fast)
    edge = ndi.binary_dilation(m & ~ndi.binary_erosion(m))
    rgb[sl][edge] = (255, 60, 40) if structure == "tumour" else (40, 200, 255)
    if box is not None:
        draw_boxes(rgb, [box], color=(255, 215, 0), thickness=1)
    return result(True, "", warnings_, mask=mask, features=feats, panel=rgb)


@register(demo=lambda: {})
def shape_explorer() -> Any:
    """Shape features from a mask: structure (lungs / tumour), HU threshold and slice -> outline and area,
    perimeter, elongation, roundness, equivalent and Feret diameter in mm. Used in 05 §5.

    Works on one 512x512 slice (tens of ms per update); the 3-D lung mask takes seconds, too slow for a slider.
    """
    from ..samples import ct_largest_tumour, ct_pixel_spacing_xy, ct_texture_regions

    regions = {r.slice_index: r for r in ct_texture_regions()}
    sx, sy = ct_pixel_spacing_xy()
    ranges = {"lungs": (-900, -100, -320, "air below the threshold, not touching the image border, two largest parts"),
              "tumour": (-700, 100, -300, "grown from a seed in the box over [threshold, 200] HU, kept inside the box")}

    def frame(structure: str, threshold: int, slice: int) -> Frame:
        r = regions[slice]
        res = compute_shape_view(r.hu, structure, threshold, (sx, sy), box=r.tumour)
        if not res["ok"]:
            return Frame(warning=res["message"])
        f = res["features"]
        head = (f"<div style='line-height:1.3;font-size:12px'>{esc(t(ranges[structure][3]))}.<br>"
                + t("Pixel {0:.3f}×{1:.3f} mm; slice {2} only (tens of ms per update; the 3-D mask takes "
                    "seconds).").format(sx, sy, slice) + "</div>")
        return Frame(image=res["panel"], readout=_notes(res["warnings"]) + head + html_table(
            [(label, f"{f[k]:.4g}") for k, label in SHAPE_SHOWN.items()]))

    controls = {"structure": Choice("Structure", list(ranges), value="tumour", style="toggle", button_width="80px",
                                    sets=lambda s: {"threshold": ranges[s][2]}),
                "threshold": Int("Threshold (HU)", -700, 100, value=-300, step=10),
                "slice": Int("Slice", min(regions), max(regions), value=ct_largest_tumour().slice_index)}
    return explorer(frame, controls, width=460, limits=lambda structure, **_: {
        "threshold": {"min": ranges[structure][0], "max": ranges[structure][1]}})


# ----------------------------------------------------------------------------- §6 one feature, two classes
Z_RANGE = (-4.0, 4.0)


def feature_separation(values: np.ndarray, y: np.ndarray, bins: int = 40) -> dict[str, Any]:
    """How well one feature separates two classes on its own.

    The feature is standardised over all rows given (``z = (v - mean) / sd``, as the SVM pipeline does) and
    binned over ``Z_RANGE`` (values beyond are counted in the end bins, noted in ``warnings``). The result
    contract with ``edges``, ``density0``, ``density1`` (per class, integrates to 1), ``auc`` (ROC AUC of
    the raw feature as a score for class 1), ``separability`` (max(auc, 1 - auc)), ``mean``, ``sd``; a
    constant or non-finite feature gives ``ok=False``.

    >>> r = feature_separation(np.array([0., 1, 2, 3]), np.array([0, 0, 1, 1]), bins=4)
    >>> r["ok"], r["auc"], r["separability"]
    (True, 1.0, 1.0)
    """
    from sklearn.metrics import roc_auc_score

    v = np.asarray(values, dtype=np.float64).ravel()
    yy = np.asarray(y).ravel()
    if v.shape != yy.shape or v.size == 0:
        return result(False, f"values and y must be non-empty and of equal length, got {np.shape(values)} "
                             f"and {np.shape(y)}")
    if not np.all(np.isin(yy, (0, 1))) or len(np.unique(yy)) < 2:
        return result(False, "y must contain both labels 0 and 1")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 2 <= bins <= 10_000:
        return result(False, f"bins must be an int in 2..10000, got {bins!r}")
    if not np.all(np.isfinite(v)):
        return result(False, f"the feature has {int(np.sum(~np.isfinite(v)))} NaN or infinite values")
    mean, sd = float(v.mean()), float(v.std())
    if sd <= 1e-12 * max(1.0, abs(mean)):
        return result(False, f"the feature is constant ({mean:.4g}) on these rows: it cannot separate anything")
    z = (v - mean) / sd
    edges = np.linspace(*Z_RANGE, bins + 1)
    out_of_range = int(np.sum((z < Z_RANGE[0]) | (z > Z_RANGE[1])))
    zc = np.clip(z, Z_RANGE[0], Z_RANGE[1] - 1e-9)
    width = edges[1] - edges[0]
    dens = [np.histogram(zc[yy == k], edges)[0] / (np.sum(yy == k) * width) for k in (0, 1)]
    auc = float(roc_auc_score(yy, v))
    warnings_ = ([t("{0} values lie beyond ±4 sd and are drawn in the end bins").format(out_of_range)]
                 if out_of_range else [])
    return result(True, "", warnings_, edges=edges, density0=dens[0], density1=dens[1], auc=auc,
                  separability=max(auc, 1 - auc), mean=mean, sd=sd)


def _histogram_demo() -> dict:
    d = _feature_sample_demo()
    return {"X": d["X_train"], "y": d["y_train"], "feature_names": d["feature_names"]}


@register(demo=_histogram_demo)
def feature_histograms(X: np.ndarray | None = None, y: np.ndarray | None = None,
                       feature_names: Sequence[str] | None = None,
                       class_names: Sequence[str] = ("normal", "pneumonia"), feature: str | None = None) -> Any:
    """One feature at a time: class-conditional histograms (standardised) and its ROC AUC alone. Used in 05 §6.

    Pass the training feature matrix, labels and names (features computed once); the dropdown lists the
    features sorted by single-feature separability. Default: PneumoniaMNIST train split.
    """
    if X is None:
        from ..classical import dataset_features

        data, feature_names = dataset_features("pneumoniamnist", splits=("train",), progress=False)
        X, y = data["train"]
    from .._validate import check_array, check_binary_labels, check_same_length

    Xa = check_array(X, "X", ndim=2, dtype=np.float64, finite=False)  # a non-finite feature is flagged in the widget
    ya = check_binary_labels(y, "y")
    check_same_length(X=Xa, y=ya)
    names = list(feature_names) if feature_names is not None else [f"f{k}" for k in range(Xa.shape[1])]
    if len(names) != Xa.shape[1]:
        raise ValueError(f"feature_names must name all {Xa.shape[1]} columns of X, got {len(names)} names")
    seps = {}
    for k, nm in enumerate(names):
        r = feature_separation(Xa[:, k], ya, bins=10)
        seps[nm] = r["separability"] if r["ok"] else 0.0
    order = sorted(names, key=lambda nm: -seps[nm])
    first = feature if feature is not None else order[0]
    if first not in names:
        raise ValueError(f"feature must be one of the feature names, got {first!r}")
    chart = Chart(figsize=(6.5, 3.3), dpi=80)
    ax = chart.fig.add_subplot()
    chart.fig.subplots_adjust(left=0.1, right=0.97, bottom=0.16, top=0.88)
    e0 = np.linspace(*Z_RANGE, 5)
    s0 = ax.stairs(np.zeros(4), e0, fill=True, alpha=0.45, color="#2860dc", label=f"{t(class_names[0])} ({t('train')})")
    s1 = ax.stairs(np.zeros(4), e0, fill=True, alpha=0.45, color="#dc3228", label=f"{t(class_names[1])} ({t('train')})")
    ax.set_xlim(*Z_RANGE)
    ax.set_xlabel(t("feature value, standardised: (value − mean) / sd of the images shown"))
    ax.set_ylabel(t("density"))
    ax.legend(fontsize=9, loc="upper right")
    title = ax.set_title("", fontsize=10)
    chart.animate(s0, s1, title)

    def frame(feature: str, bins: int) -> Frame:
        res = feature_separation(Xa[:, names.index(feature)], ya, bins=bins)
        if not res["ok"]:
            return Frame(warning=res["message"])
        s0.set_data(res["density0"], res["edges"])
        s1.set_data(res["density1"], res["edges"])
        top = _ylim(float(max(res["density0"].max(), res["density1"].max())))
        ax.set_ylim(0, top)
        hi = class_names[1] if res["auc"] >= 0.5 else class_names[0]
        title.set_text(f"{t(feature)}: {t('ROC AUC alone')} {res['auc']:.3f} ({t('higher in')} {t(hi)})")
        info = ("<code>" + t("mean {0:.4g}, sd {1:.4g} of the images shown &middot; AUC {2:.3f}: the chance that a "
                             "random {3} image has a larger value than a random {4} image").format(
                    res["mean"], res["sd"], res["auc"], esc(t(class_names[1])), esc(t(class_names[0])))
                + "</code><br><small>" + t("AUC* in the list = max(AUC, 1 − AUC): 0.5 = useless alone, "
                                           "1 = perfect alone") + "</small>")
        return Frame(image=chart.rgb(top), readout=_notes(res["warnings"]) + info)

    return explorer(frame, {"feature": Choice("Feature", [(f"{nm}  (AUC* {seps[nm]:.2f})", nm) for nm in order],
                                              value=first),
                            "bins": Int("Bins", 8, 80, value=40, step=4)}, width=520, layout="column")


# ----------------------------------------------------------------------------- §8 the decision threshold
def threshold_view(y_true: np.ndarray, y_score: np.ndarray, threshold: float = 0.0,
                   positive_label: int = 1) -> dict[str, Any]:
    """Metrics of a saved classifier at one decision threshold, and its point on the ROC curve.

    The result contract with ``metrics`` (:func:`medlab.classical.diagnostic_metrics`), ``fpr`` (1 -
    specificity), ``tpr`` (sensitivity) and ``confusion`` ([[tn, fp], [fn, tp]]). A threshold that sends
    every image to one class is noted in ``warnings``; a bad threshold or bad labels give ``ok=False``.

    >>> r = threshold_view([0, 0, 1, 1], [-1.0, 0.5, 0.2, 2.0], threshold=0.0)
    >>> r["ok"], r["confusion"], r["tpr"], r["fpr"]
    (True, [[1, 1], [0, 2]], 1.0, 0.5)
    """
    from ..classical import diagnostic_metrics

    try:
        m = diagnostic_metrics(y_true, y_score, threshold=threshold, positive_label=positive_label)
    except (TypeError, ValueError) as e:
        return result(False, str(e))
    warnings_ = []
    if m["tp"] + m["fp"] == 0:
        warnings_.append(t("no image is called positive: sensitivity 0, precision undefined (shown as 0)"))
    if m["tn"] + m["fn"] == 0:
        warnings_.append(t("every image is called positive: specificity 0"))
    return result(True, "", warnings_, metrics=m, fpr=1.0 - m["specificity"], tpr=m["sensitivity"],
                  confusion=[[m["tn"], m["fp"]], [m["fn"], m["tp"]]])


def _threshold_demo() -> dict:
    """Test scores of an RBF SVM on all features of the 300-image training sample (seed 0)."""
    from ..classical import make_svm

    d = _feature_sample_demo()
    model = make_svm("rbf", 1.0, "scale", seed=0).fit(d["X_train"], d["y_train"])
    return {"y_true": d["y_test"], "y_score": model.decision_function(d["X_test"])}


@register(demo=_threshold_demo)
def baseline_threshold_explorer(y_true: np.ndarray, y_score: np.ndarray,
                                class_names: Sequence[str] = ("normal", "pneumonia"), positive_label: int = 1,
                                threshold: float = 0.0) -> Any:
    """Decision threshold of a trained classifier -> confusion matrix, sensitivity / specificity / F1 and the
    operating point on the ROC curve. The test scores are computed once (pass them in). Used in 05 §8.

    ``class_names`` = (negative, positive) names; ``positive_label`` as in ``diagnostic_metrics``.
    """
    from sklearn.metrics import roc_curve

    yt, ys = np.asarray(y_true), np.asarray(y_score, dtype=np.float64)
    first = threshold_view(yt, ys, threshold, positive_label)
    if not first["ok"]:
        raise ValueError(first["message"])
    lo, hi = np.percentile(ys, [0.5, 99.5])
    lo, hi = math.floor(min(lo, threshold) * 10) / 10 - 0.1, math.ceil(max(hi, threshold) * 10) / 10 + 0.1
    is_pos = (yt == positive_label).astype(int)
    fpr, tpr, _ = roc_curve(is_pos, ys if positive_label == 1 else -ys)
    chart = Chart(figsize=(11.5, 3.4), dpi=80)
    ah, ar, ac = (chart.fig.add_subplot(1, 3, k) for k in (1, 2, 3))
    chart.fig.subplots_adjust(left=0.05, right=0.98, bottom=0.16, top=0.87, wspace=0.32)
    edges = np.linspace(lo, hi, 41)
    neg_name, pos_name = class_names
    for k, (nm, col) in enumerate(((neg_name, "#2860dc"), (pos_name, "#dc3228"))):
        sel = is_pos == k
        ah.hist(np.clip(ys[sel], lo, hi), edges, alpha=0.5, color=col, label=f"{nm} ({int(sel.sum())})")
    ah.set_xlabel(t("SVM decision value f(x)"))
    ah.set_ylabel(t("test images"))
    ah.legend(fontsize=8, loc="upper left")
    ah.set_title(t("test scores; called positive right of the line"), fontsize=10)
    tline = ah.axvline(threshold, color="k", lw=2)
    ar.plot(fpr, tpr, color="#555", lw=1.5)
    ar.plot([0, 1], [0, 1], color="#bbb", lw=1, ls=":")
    ar.set_xlim(-0.02, 1.02)
    ar.set_ylim(-0.02, 1.02)
    ar.set_xlabel(t("1 − specificity (false-positive rate)"))
    ar.set_ylabel(t("sensitivity"))
    ar.set_title(f"{t('ROC curve')} (AUC {first['metrics']['roc_auc']:.3f})", fontsize=10)
    (point,) = ar.plot([0], [0], "o", color="#e8a000", ms=10, mec="k")
    cm_im = ac.imshow(np.zeros((2, 2)), cmap="Blues", vmin=0, vmax=len(yt))
    ctxt = [[ac.text(j, i, "", ha="center", va="center", fontsize=13) for j in range(2)] for i in range(2)]
    ac.set_xticks([0, 1], [f"called {neg_name}", f"called {pos_name}"], fontsize=9)
    ac.set_yticks([0, 1], [f"is {neg_name}", f"is {pos_name}"], fontsize=9)
    ctitle = ac.set_title("", fontsize=10)
    chart.animate(tline, point, cm_im, *ctxt[0], *ctxt[1], ctitle)
    tags = [["TN", "FP"], ["FN", "TP"]]

    def frame(threshold: float) -> Frame:
        res = threshold_view(yt, ys, threshold, positive_label)
        if not res["ok"]:
            return Frame(warning=res["message"])
        m, cm = res["metrics"], np.array(res["confusion"])
        tline.set_xdata([threshold] * 2)
        point.set_data([res["fpr"]], [res["tpr"]])
        cm_im.set_data(cm)
        for i in range(2):
            for j in range(2):
                ctxt[i][j].set_text(f"{tags[i][j]}\n{cm[i, j]}")
                ctxt[i][j].set_color("white" if cm[i, j] > 0.5 * len(yt) else "black")
        ctitle.set_text(f"{t('confusion at threshold')} {threshold:.2f}")
        info = ("<code>" + t("sensitivity {0:.3f} &middot; specificity {1:.3f} &middot; precision {2:.3f} &middot; "
                             "F1 {3:.3f} &middot; accuracy {4:.3f} &middot; ROC AUC {5:.3f} (any threshold)").format(
                    m["sensitivity"], m["specificity"], m["precision"], m["f1"], m["accuracy"], m["roc_auc"])
                + "</code>")
        return Frame(image=chart.rgb(), readout=_notes(res["warnings"]) + info)

    return explorer(frame, {"threshold": Float("Threshold", lo, hi, value=threshold, step=0.05, format=".2f")},
                    width=860, layout="column", control_width="520px")
