"""Widgets for 09_lung_ct_case_study: the sliding-window heat map, a patch inspector, the findings card.

Pure frame functions plus control specs (see :mod:`medlab.widgets._explorer`); the domain code is
:mod:`medlab.lungct`. Heat maps are computed at build time for a few slices and strides (a slider then only
thresholds and draws); the registry demo uses a non-learned *density baseline* (the fraction of
soft-tissue pixels in the patch, labelled as such) so it builds in seconds — notebook 09 passes the trained
CNN and SVM instead.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .. import lungct as L
from ..render import Chart, draw_boxes, heatmap_rgb, hstack, titled, to_rgb, to_uint8, zoom
from ..i18n import t
from ._explorer import Check, Choice, Float, Frame, Int, explorer, html_table, register

__all__ = ["density_baseline", "heatmap_explorer", "patch_inspector", "findings_card_viewer"]


def density_baseline(patches: np.ndarray) -> np.ndarray:
    """A non-learned baseline "model": the fraction of patch pixels above -300 HU (soft tissue).

    >>> density_baseline(np.array([[[-800.0, 40.0]]])).tolist()
    [0.5]
    """
    return (np.asarray(patches) > -300).mean(axis=(1, 2)).astype(np.float64)


@functools.lru_cache(maxsize=2)
def _demo_case(patient: str = "A0001") -> L.CTCase:
    from ..datasets import load_lung_ct

    return L.prepare(load_lung_ct(patient))


def _slice_grey(case: L.CTCase, k: int) -> np.ndarray:
    lo, hi = L.LUNG_WINDOW
    return to_uint8(case.hu[k], lo, hi)


def _default_slices(case: L.CTCase) -> list[int]:
    boxed = list(case.boxed_slices)
    far = [k for k in range(case.hu.shape[0]) if all(abs(k - t) > 3 for t in case.tumour_slices)
           and case.lung[k].sum() > 2000]
    extra = [far[len(far) // 4], far[len(far) // 2], far[3 * len(far) // 4]] if len(far) >= 3 else far
    return sorted(set(boxed[::2] + extra))


@register(demo=lambda: {"case": _demo_case("A0001")})
def heatmap_explorer(case: L.CTCase, scorer: Callable[[np.ndarray], np.ndarray] | None = None,
                     slices: Sequence[int] | None = None, strides_mm: Sequence[float] = (8.0, 12.0, 16.0),
                     size_mm: float = 32.0, name: str = "density baseline (not learned)") -> Any:
    """Slice scroller with the tumour-probability heat map: threshold, stride, opacity; detections vs boxes.

    Heat maps of ``slices`` (default: every other boxed slice and three tumour-free slices) are computed at
    build time for each stride in ``strides_mm`` with ``scorer`` (patches in HU -> probabilities; default
    :func:`density_baseline`). The side chart is the FROC-style curve over those slices. Used in 09 §7.
    """
    if not isinstance(case, L.CTCase):
        raise TypeError(f"case must be a CTCase (medlab.lungct.prepare), got {type(case).__name__}")
    scorer = density_baseline if scorer is None else scorer
    slices = _default_slices(case) if slices is None else [int(k) for k in slices]
    if not slices:
        raise ValueError("slices must name at least one slice")
    maps = {s: [L.heatmap(scorer, case, k, stride_mm=s, size_mm=size_mm) for k in slices] for s in strides_mm}
    thresholds = np.round(np.linspace(0.05, 0.95, 19), 2)
    curves = {s: L.froc(maps[s], case, thresholds) for s in strides_mm}
    # everything a slider needs is computed here once: the grey slice, the coloured heat map, and the
    # detections at each of the slider's thresholds (the threshold slider moves in steps of 0.05)
    # (kept as uint8, 4x less memory than float32; a frame converts the one slice it blends)
    greys = {k: to_rgb(_slice_grey(case, k)) for k in slices}
    heats = {(s, j): heatmap_rgb(np.nan_to_num(hm.full, nan=0.0), 0.0, 1.0).astype(np.uint8)
             for s in strides_mm for j, hm in enumerate(maps[s])}
    found = {(s, j, float(t)): L.detections(hm, case, float(t))
             for s in strides_mm for j, hm in enumerate(maps[s]) for t in thresholds}

    chart = Chart(figsize=(3.6, 3.0))
    ax = chart.fig.add_subplot()
    chart.fig.subplots_adjust(left=0.2, right=0.95, bottom=0.17, top=0.88)
    fp_max = max(float(np.nanmax(c["fp_per_slice"])) for c in curves.values())
    ax.set_xlim(0, max(1.0, fp_max * 1.05))
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel(t("false positives per slice"))
    ax.set_ylabel(t("sensitivity (boxed slices)"))
    ax.set_title(t("FROC-style curve"), fontsize=10)
    (curve_line,) = ax.plot([], [], "-o", ms=3, color="tab:blue")
    (point,) = ax.plot([], [], "o", ms=9, color="tab:red")
    chart.animate(curve_line, point)
    froc_png: dict[tuple[float, int], bytes] = {}

    def frame(slice: int, stride: float, threshold: float, opacity: float, show_boxes: bool) -> Frame:
        k = slices[slice]
        hm = maps[stride][slice]
        base = greys[k].astype(np.float32)
        finite = np.isfinite(hm.full)
        mixed = np.where(finite[..., None], base * np.float32(1 - opacity)
                         + heats[(stride, slice)].astype(np.float32) * np.float32(opacity), base)
        rgb = (mixed + 0.5).astype(np.uint8)
        th = float(thresholds[int(np.argmin(np.abs(thresholds - threshold)))])
        d = found[(stride, slice, th)]
        above = np.nan_to_num(hm.full, nan=0.0) >= th
        inner = above.copy()  # 4-neighbour erosion by slicing: the outline of the detected regions
        inner[1:, :] &= above[:-1, :]
        inner[:-1, :] &= above[1:, :]
        inner[:, 1:] &= above[:, :-1]
        inner[:, :-1] &= above[:, 1:]
        rgb[above & ~inner] = (255, 255, 255)
        if show_boxes:
            draw_boxes(rgb, [(r0, c0, r1, c1) for z, r0, c0, r1, c1 in case.boxes if z == k], thickness=2)
        c = curves[stride]
        j = int(np.argmin(np.abs(c["thresholds"] - threshold)))
        if (stride, j) not in froc_png:  # the chart depends on stride and threshold only: drawn once per pair
            curve_line.set_data(c["fp_per_slice"], c["sensitivity"])
            point.set_data([c["fp_per_slice"][j]], [c["sensitivity"][j]])
            froc_png[(stride, j)] = chart.png()
        boxed = k in case.boxed_slices
        shows = t("shows the tumour (boxed)") if boxed else (
            t("shows the tumour (NO box)") if k in case.tumour_slices else t("is tumour-free"))
        rows = [("slice", f"{k} (z {case.z_mm[k]:.0f} mm) — {shows}"), ("model", name),
                ("patches scored", int(np.isfinite(hm.prob).sum())),
                ("regions ≥ threshold", len(d["regions"])), ("boxes found (TP)", d["tp"]),
                ("boxes missed (FN)", d["fn"]), ("false-positive regions", d["fp"]),
                (f"over the {len(slices)} slices: sensitivity", f"{c['sensitivity'][j]:.2f}"),
                ("FP per slice", f"{c['fp_per_slice'][j]:.2f}")]
        return Frame(image=rgb, panes={"froc": froc_png[(stride, j)]}, readout=html_table(rows))

    boxed_in_list = [j for j, k in enumerate(slices) if k in case.boxed_slices] or [0]
    controls = {
        "slice": Int("Slice (of the list)", 0, len(slices) - 1, value=boxed_in_list[len(boxed_in_list) // 2]),
        "stride": Choice("Stride (mm)", [(f"{s:g}", s) for s in strides_mm], style="toggle"),
        "threshold": Float("Threshold", 0.05, 0.95, value=0.5, step=0.05, format=".2f"),
        "opacity": Float("Heat opacity", 0.0, 1.0, value=0.45, step=0.05, format=".2f"),
        "show_boxes": Check("Show tumour boxes", value=True),
    }
    return explorer(frame, controls, title=f"{case.patient}: tumour probability over the thorax")


def _patch_features(patch: np.ndarray) -> dict[str, float]:
    from ..features import first_order, glcm, glcm_features

    q = L.to_window_uint8(patch)
    fo = first_order(patch)
    levels = 16
    P = glcm(np.minimum(q.astype(np.int64) * levels // 256, levels - 1), [1], [0.0], levels=levels)
    g = glcm_features(P, average=True)
    return {"mean HU": fo["mean"], "sd HU": fo["std"], "p90 HU": fo["p90"],
            "GLCM contrast": float(g["contrast"]), "GLCM homogeneity": float(g["homogeneity"])}


@register(demo=lambda: {"case": _demo_case("A0001")})
def patch_inspector(case: L.CTCase, models: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
                    size_mm: float = 32.0) -> Any:
    """Position sliders (slice, row, column in mm) -> the patch, its features and every model's score.

    ``models``: name -> scorer (patches in HU -> probabilities); default the :func:`density_baseline`.
    Shows whether the patch centre lies in a box, in the lung mask, and on a slice that shows the tumour —
    the three facts the patch labeller of :func:`medlab.lungct.patch_dataset` uses. Used in 09 §4 and §5.
    """
    if not isinstance(case, L.CTCase):
        raise TypeError(f"case must be a CTCase (medlab.lungct.prepare), got {type(case).__name__}")
    models = {"density baseline (not learned)": density_baseline} if models is None else dict(models)
    nz, ny, nx = case.hu.shape
    size = int(round(size_mm / case.pixel_mm))
    half = size // 2
    boxes_by_slice: dict[int, list[tuple[int, int, int, int]]] = {}
    for z, br0, bc0, br1, bc1 in case.boxes:  # the boxes, not a whole-volume mask (memory)
        boxes_by_slice.setdefault(z, []).append((br0, bc0, br1, bc1))
    z0, r0, c0, r1, c1 = case.boxes[len(case.boxes) // 2]
    excluded = {k + d for k in case.tumour_slices for d in (-1, 0, 1)}

    def frame(slice: int, row_mm: float, col_mm: float) -> Frame:
        r = int(np.clip(round(row_mm / case.pixel_mm), half, ny - half - 1))
        c = int(np.clip(round(col_mm / case.pixel_mm), half, nx - half - 1))
        patch = case.hu[slice, r - half:r - half + size, c - half:c - half + size]
        grey = _slice_grey(case, slice)
        overview = to_rgb(grey)
        draw_boxes(overview, [(b[1], b[2], b[3], b[4]) for b in case.boxes if b[0] == slice], color=(255, 215, 0))
        draw_boxes(overview, [(r - half, c - half, r - half + size - 1, c - half + size - 1)], color=(0, 200, 255))
        big = zoom(to_rgb(L.to_window_uint8(patch)), max(1, 256 // size))
        image = hstack([titled(overview, "slice (yellow: box, blue: patch)"), titled(big, "the patch")])
        feats = _patch_features(patch)
        scores = {n: float(np.asarray(m(patch[None])).reshape(-1)[0]) for n, m in models.items()}
        in_box = any(br0 <= r <= br1 and bc0 <= c <= bc1 for br0, bc0, br1, bc1 in boxes_by_slice.get(slice, ()))
        in_lung = bool(case.lung[slice, r, c])
        if in_box:
            label = t("tumour (label 1)")
        elif slice in excluded:
            label = t("not used: on or next to a slice that shows the tumour")
        elif in_lung:
            label = t("normal lung (label 0)")
        else:
            label = t("not used: centre outside the lung mask")
        rows = [("centre", f"row {r}, col {c} px · x {case.to_mm(slice, r, c)[0]:.0f}, "
                           f"y {case.to_mm(slice, r, c)[1]:.0f}, z {case.z_mm[slice]:.0f} mm"),
                ("as a training patch", label)]
        rows += [(k, f"{v:.3g}") for k, v in feats.items()]
        rows += [(f"score: {k}", f"{v:.3f}") for k, v in scores.items()]
        return Frame(image=image, readout=html_table(rows))

    controls = {"slice": Int("Slice", 0, nz - 1, value=z0),
                "row_mm": Float("Row (mm)", half * case.pixel_mm, (ny - half - 1) * case.pixel_mm,
                                value=(r0 + r1) / 2 * case.pixel_mm, step=case.pixel_mm, format=".0f"),
                "col_mm": Float("Column (mm)", half * case.pixel_mm, (nx - half - 1) * case.pixel_mm,
                                value=(c0 + c1) / 2 * case.pixel_mm, step=case.pixel_mm, format=".0f")}
    return explorer(frame, controls, title=f"{case.patient}: one {size_mm:g} mm patch")


def _card_picture(ct: Any, card: dict) -> np.ndarray:
    from scipy import ndimage

    k = card["diameter_slice"]
    lo, hi = L.LUNG_WINDOW
    rgb = to_rgb(to_uint8(L._voxels(ct)[k], lo, hi))
    m = card["region_mask"][k]
    edge = m & ~ndimage.binary_erosion(m)
    rgb[edge] = (255, 60, 60)
    draw_boxes(rgb, [(b.row0, b.col0, b.row1, b.col1) for b in ct.boxes if b.slice_index == k], color=(255, 215, 0))
    return rgb[::2, ::2]


@register(demo=lambda: {})
def findings_card_viewer(cts: Mapping[str, Any] | None = None) -> Any:
    """The findings card of each patient, computed from the data (04's region growing inside the boxes).

    ``cts``: patient id -> LungCT (default: both embedded patients, loaded one at a time and released after
    their card is computed). The picture shows the slice of the
    largest axial diameter with the grown region (red) and the box (yellow). Used in 09 §8.
    """
    if cts is None:
        from ..datasets import load_lung_ct

        patients, get = list(L.PATIENTS), load_lung_ct  # loaded one at a time below (memory)
    else:
        patients, get = list(cts), cts.__getitem__
    cards, pictures = {}, {}
    for p in patients:  # one patient at a time; only the numbers and the picture are kept
        ct = get(p)
        card = L.findings_card(ct)
        pictures[p] = _card_picture(ct, card)
        cards[p] = {k: v for k, v in card.items() if k != "region_mask"}
        del card, ct

    def frame(patient: str) -> Frame:
        c = cards[patient]
        rows = [("patient", patient), ("side", t(c["side"])), ("position", t(c["region"])),
                ("slices (grown region)", f"{c['slices'][0]}–{c['slices'][1]}"),
                ("z range", f"{c['z_mm'][0]:.0f} … {c['z_mm'][1]:.0f} mm"),
                ("largest axial diameter", f"{c['largest_axial_diameter_mm']:.1f} mm (slice {c['diameter_slice']})"),
                ("volume (region grown in the boxes)", f"{c['volume_ml']:.1f} mL"),
                ("HU mean ± sd", f"{c['hu_mean']:.0f} ± {c['hu_sd']:.0f}"),
                ("Dice of the region vs its boxes", f"{c['dice_vs_box']:.2f}")]
        return Frame(image=pictures[patient], readout=html_table(rows) +
                     "<p style='max-width:420px'><i>"
                     + t("Computed, not typed. The region is grown inside the boxes (HU −300…200), so its size is "
                         "bounded by the annotation: a box is not an outline.") + "</i></p>")

    return explorer(frame, {"patient": Choice("Patient", list(cards), style="toggle")},
                    title="Findings card")
