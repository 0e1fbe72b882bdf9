"""Widgets for 07 · Evaluating a diagnostic model: threshold lab, prevalence, calibration, bootstrap, decision curve.

Every builder takes the labels and scores the notebook computed (probabilities of label 1, one array per model,
all on the **same** images) and precomputes curves, recalibrations and bootstrap resamples at build time, so a
control update only counts, blits one chart and encodes one PNG. The demos score the CNN and the SVM of
:func:`medlab.evaluation.paired_models` on PneumoniaMNIST (computed once per process; it trains a small CNN).
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np
from matplotlib.patches import Rectangle

from .. import evaluation as E
from .._validate import (check_binary_labels, check_float, check_int, check_probabilities, check_same_length,
                         check_seed)
from ..render import Chart
from ..i18n import t
from ._explorer import Check, Choice, Float, Frame, Int, RawHTML, esc, explorer, html_table, register

__all__ = ["threshold_lab", "prevalence_explorer", "calibration_explorer", "bootstrap_explorer", "decision_curve"]

COLORS = ("#1f77b4", "#d62728", "#2ca02c")


def _BLUES(v: float) -> tuple[float, float, float]:
    """White -> dark blue for a fraction in [0, 1] (the confusion-matrix cells)."""
    lo, hi = np.array([0.97, 0.98, 1.0]), np.array([0.03, 0.19, 0.42])
    return tuple(lo + (hi - lo) * float(np.clip(v, 0, 1)))
MAX_MODELS = 3


# ----------------------------------------------------------------------------- inputs and demo data
def _scores(y: Any, scores: Any, name: str = "scores") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    y = check_binary_labels(y, "y")
    if not isinstance(scores, Mapping) or not scores:
        raise TypeError(f"{name} must be a dict {{model name: probabilities of label 1}}, e.g. "
                        f"{{'CNN': p_cnn, 'SVM': p_svm}}; got {type(scores).__name__}")
    if len(scores) > MAX_MODELS:
        raise ValueError(f"{name} may hold at most {MAX_MODELS} models side by side, got {len(scores)}")
    out = {}
    for k, v in scores.items():
        p = check_probabilities(v, f"{name}[{k!r}]")
        check_same_length(y=y, **{f"{name}[{k!r}]": p})
        out[str(k)] = p
    return y, out


@functools.lru_cache(maxsize=1)
def _paired() -> E.PairedScores:
    return E.paired_models("pneumoniamnist", seed=0, n_train=1000, epochs=2)


def _demo_test() -> dict:
    P = _paired()
    return {"y": P.y_test, "scores": {"CNN": P.cnn_test, "SVM": P.svm_test}, "positive": P.positive,
            "class_names": P.class_names}


def _demo_calibration() -> dict:
    P = _paired()
    return {"y_val": P.y_val, "val": {"CNN": P.cnn_val, "SVM": P.svm_val},
            "y_test": P.y_test, "test": {"CNN": P.cnn_test, "SVM": P.svm_test}}


def _demo_bootstrap() -> dict:
    P = _paired()
    return {"y": P.y_test, "score": P.cnn_test, "positive": P.positive, "name": "CNN"}


def _demo_prevalence() -> dict:
    # the demo CNN is trained for 2 epochs only, so at 0.5 it may call nearly everyone positive; a threshold
    # chosen on validation (Youden) gives a model worth reading PPV and NPV for
    P = _paired()
    thr = E.choose_threshold(P.y_val, P.cnn_val)
    m = E.metrics(P.y_test, P.cnn_test, thr, P.positive)
    return {"sensitivity": round(m["sensitivity"], 2), "specificity": round(m["specificity"], 2),
            "prevalence": round(float(np.mean(P.y_test == P.positive)), 3),
            "name": "CNN at the validation threshold"}


class _Labels:
    """Text drawn with Pillow onto the blitted chart (matplotlib text costs ~5-20 ms per string; this ~0.1 ms).

    Positions are given in an axes' coordinates (``"axes"``: 0..1, or ``"data"``) and converted to pixels at
    each draw (a few microseconds).
    """

    def __init__(self, chart: Chart):
        self.chart = chart
        self.spots: dict[str, tuple] = {}

    def add(self, key: str, ax, x: float, y: float, coords: str = "axes", size: int = 12, anchor: str = "mm") -> None:
        self.spots[key] = (ax, x, y, coords, size, anchor)

    def draw(self, rgb: np.ndarray, texts: Mapping[str, tuple[str, str]]) -> np.ndarray:
        from PIL import Image, ImageDraw

        from ..render import font

        h = rgb.shape[0]
        img = Image.fromarray(rgb)
        d = ImageDraw.Draw(img)
        for key, (text, color) in texts.items():
            ax, x, y, coords, size, anchor = self.spots[key]
            px, py = (ax.transAxes if coords == "axes" else ax.transData).transform((x, y))
            d.text((float(px), float(h - py)), text, fill=color, font=font(size), anchor=anchor)
        return np.asarray(img)


def _fmt_ci(v: float, iv: tuple[float, float] | None) -> RawHTML:
    text = f"{v:.3f}" if iv is None else f"{v:.3f} [{iv[0]:.3f}, {iv[1]:.3f}]"
    return _pad(text)


def _boot_index(y: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, N) stratified bootstrap indices: the label-0 images resampled with replacement in the first
    ``sum(y == 0)`` columns, the label-1 images in the rest (each class keeps its count)."""
    rng = np.random.default_rng(seed)
    parts = [np.flatnonzero(y == c) for c in (0, 1)]
    return np.concatenate([idx[rng.integers(0, idx.size, size=(n_boot, idx.size))] for idx in parts if idx.size],
                          axis=1)


def _boot_intervals(y: np.ndarray, pred_pos: np.ndarray, index: np.ndarray, positive: int,
                    level: float) -> dict[str, tuple[float, float]]:
    """Percentile intervals of F1, balanced accuracy, MCC and Youden's J over the resamples ``index`` of
    :func:`_boot_index` (one gather and two counts per resample: the class blocks are known)."""
    n0 = int(np.count_nonzero(y == 0))
    n1 = y.size - n0
    called = pred_pos[index]
    c0 = np.count_nonzero(called[:, :n0], axis=1).astype(float)      # label-0 images called positive
    c1 = np.count_nonzero(called[:, n0:], axis=1).astype(float)
    if positive == 1:
        tp, fp, fn, tn = c1, c0, n1 - c1, n0 - c0
    else:
        tp, fp, fn, tn = c0, c1, n0 - c0, n1 - c1
    div = lambda a, b: np.divide(a, b, out=np.zeros_like(a), where=b > 0)
    se, sp = div(tp, tp + fn), div(tn, tn + fp)
    den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    values = {"f1": div(2 * tp, 2 * tp + fp + fn), "balanced_accuracy": (se + sp) / 2,
              "mcc": div(tp * tn - fp * fn, den), "youden_j": se + sp - 1}
    q = [(1 - level) / 2, 1 - (1 - level) / 2]
    return {k: tuple(float(x) for x in np.quantile(v, q)) for k, v in values.items()}


def _padded(rows: list[list[Any]]) -> list[list[Any]]:
    return [[r[0]] + [_pad(str(v)) for v in r[1:]] for r in rows]


def _pad(text: str) -> RawHTML:
    """A table cell with room to its left (``html_table`` has no cell padding)."""
    return RawHTML(f"<span style='padding-left:1.5em'>{esc(text)}</span>")


# ----------------------------------------------------------------------------- threshold lab
@register(demo=_demo_test)
def threshold_lab(y: Any, scores: Mapping[str, Any], positive: int = 1,
                  class_names: tuple[str, str] = ("negative", "positive"), level: float = 0.95,
                  threshold: float = 0.5, n_boot: int = 400, seed: int = 0) -> Any:
    """One **Threshold** slider driving, for every model side by side: the confusion matrix, the moving point
    on the ROC and the PR curve, and every metric with its interval: Wilson for the proportions (accuracy,
    sensitivity, specificity, PPV, NPV), DeLong for the AUC, and a stratified bootstrap (``n_boot`` resamples
    drawn once at build time, ``seed``) for F1, balanced accuracy, MCC and Youden's J. ``scores``:
    ``{name: probabilities of label 1}`` on the same images; ``positive``: the disease label. Used in 07 §2.
    """
    y, models = _scores(y, scores)
    pos = check_int(positive, "positive", low=0, high=1)
    level = check_float(level, "level", 0, 1, low_open=True, high_open=True)
    threshold = check_float(threshold, "threshold", 0, 1)
    n_boot = check_int(n_boot, "n_boot", low=20, high=5000, why_high="each update re-counts every resample")
    boot_index = _boot_index(y, n_boot, check_seed(seed))
    neg_name, pos_name = (class_names[1 - pos], class_names[pos])
    k = len(models)
    chart = Chart(figsize=(9.6, 2.7 * k), dpi=72)
    labels = _Labels(chart)
    fig = chart.fig
    fig.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.14 / k * 2, hspace=0.55, wspace=0.32)
    rows = []
    for r, (name, p) in enumerate(models.items()):
        color = COLORS[r]
        ax_cm, ax_roc, ax_pr = (fig.add_subplot(k, 3, 3 * r + c + 1) for c in range(3))
        cells = [[Rectangle((j - 0.5, i - 0.5), 1, 1, ec="white", lw=2) for j in range(2)] for i in range(2)]
        for c in cells[0] + cells[1]:
            ax_cm.add_patch(c)
        ax_cm.set(xlim=(-0.5, 1.5), ylim=(1.5, -0.5), aspect="equal")
        ax_cm.set_xticks([0, 1], [t("pred. {0}").format(t(c)) for c in (neg_name, pos_name)], fontsize=8)
        ax_cm.set_yticks([0, 1], [t("true {0}").format(t(c)) for c in (neg_name, pos_name)], fontsize=8, rotation=90,
                         va="center")
        for i in range(2):
            for j in range(2):
                labels.add(f"{r}cm{i}{j}", ax_cm, j, i, coords="data", size=15)
        labels.add(f"{r}title", ax_cm, 0.5, 1.1, size=12)
        fpr, tpr, _ = E.roc_curve(y, p, positive=pos)
        ci = E.roc_auc_ci(y, p, level=level, positive=pos)
        ax_roc.plot(fpr, tpr, color=color, lw=1.5)
        ax_roc.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
        ax_roc.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
        ax_roc.set_xlabel(t("1 - specificity"), fontsize=8); ax_roc.set_ylabel(t("sensitivity"), fontsize=8)
        ax_roc.set_title(f"{t(name)}: ROC, AUC {ci['auc']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]", fontsize=9)
        prec, rec, _ = E.pr_curve(y, p, positive=pos)
        ap = E.average_precision(y, p, positive=pos)
        prevalence = float(np.mean(y == pos))
        ax_pr.plot(rec, prec, color=color, lw=1.5, drawstyle="steps-post")
        ax_pr.axhline(prevalence, color="0.7", lw=0.8, ls="--")
        ax_pr.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
        ax_pr.set_xlabel(t("recall (sensitivity)"), fontsize=8); ax_pr.set_ylabel(t("precision (PPV)"), fontsize=8)
        ax_pr.set_title(f"{t(name)}: {t('precision-recall')}, AP {ap:.3f}", fontsize=9)
        for ax in (ax_cm, ax_roc, ax_pr):
            ax.tick_params(labelsize=7)
        roc_pt, = ax_roc.plot([], [], "o", color="k", ms=7, mfc=color)
        pr_pt, = ax_pr.plot([], [], "o", color="k", ms=7, mfc=color)
        chart.animate(*cells[0], *cells[1], roc_pt, pr_pt)
        rows.append(dict(name=name, p=p, cells=cells, roc=roc_pt, pr=pr_pt, auc=ci))

    def frame(threshold: float) -> Frame:
        table, cols, texts = [], [], {}
        for r, row in enumerate(rows):
            m = E.metrics(y, row["p"], threshold, pos)
            iv = E.metric_intervals(m, level=level)
            pred1 = row["p"] >= threshold
            iv.update(_boot_intervals(y, pred1 if pos == 1 else ~pred1, boot_index, pos, level))
            mat = np.array([[m["tn"], m["fp"]], [m["fn"], m["tp"]]])
            frac = mat / np.maximum(mat.sum(axis=1, keepdims=True), 1)
            for i in range(2):
                for j in range(2):
                    row["cells"][i][j].set_facecolor(_BLUES(frac[i, j]))
                    texts[f"{r}cm{i}{j}"] = (str(mat[i, j]), "white" if frac[i, j] > 0.55 else "black")
            texts[f"{r}title"] = (t("{0} at {1:.2f}: accuracy {2:.3f}").format(t(row["name"]), threshold,
                                                                                m["accuracy"]), "black")
            row["roc"].set_data([1 - m["specificity"]], [m["sensitivity"]])
            if m["tp"] + m["fp"] > 0:
                row["pr"].set_data([m["sensitivity"]], [m["ppv"]])
            else:
                row["pr"].set_data([], [])
            cols.append((m, iv, row["auc"]))
        names = ["accuracy", "sensitivity", "specificity", "ppv", "npv", "f1", "balanced_accuracy", "mcc", "youden_j"]
        for metric in names:
            table.append([metric] + [_fmt_ci(m[metric], iv.get(metric)) for m, iv, _ in cols])
        table.append(["ROC AUC (DeLong)"] + [_fmt_ci(a["auc"], (a["low"], a["high"])) for _, _, a in cols])
        table.append(["counts tp / fp / tn / fn"] + [_pad(f"{m['tp']} / {m['fp']} / {m['tn']} / {m['fn']}")
                                                     for m, _, _ in cols])
        readout = (t("<b>positive class: {0}</b>; predicted {0} when {1} {2}{3:.2f}. {4:.0%} intervals: Wilson for "
                     "the proportions, stratified bootstrap ({5} resamples) for F1, balanced accuracy, MCC and J, "
                     "DeLong for the AUC.").format(esc(t(pos_name)), 'P(label 1)' if pos == 1 else 'P(label 1) &lt;',
                                                   '&ge; ' if pos == 1 else '', threshold, level, n_boot)
                   + "<br>" + html_table(table, header=["metric"] + [r["name"] for r in rows]))
        return Frame(image=labels.draw(chart.rgb(), texts), readout=readout)

    return explorer(frame, {"threshold": Float("Threshold", 0.0, 1.0, value=threshold, step=0.01, format=".2f")},
                    layout="column", title="Threshold lab")


# ----------------------------------------------------------------------------- prevalence
@register(demo=_demo_prevalence)
def prevalence_explorer(sensitivity: float = 0.9, specificity: float = 0.8, prevalence: float = 0.625,
                        name: str = "model", marks: Mapping[str, float] | None = None) -> Any:
    """PPV and NPV as the **Prevalence** changes (Bayes' rule), for a model of the given sensitivity and
    specificity; a bar chart of what happens to 1,000 patients. ``marks``: prevalences to mark (default:
    PneumoniaMNIST's training 74 % and test 62.5 %). Used in 07 §3.
    """
    se0 = check_float(sensitivity, "sensitivity", 0, 1)
    sp0 = check_float(specificity, "specificity", 0, 1)
    pi0 = check_float(prevalence, "prevalence", 0.01, 0.99)
    marks = {"train 74%": 0.74, "test 62.5%": 0.625} if marks is None else dict(marks)
    grid = np.linspace(0.005, 0.995, 199)
    chart = Chart(figsize=(10, 3.4), dpi=72)
    labels = _Labels(chart)
    ax, ax_b = chart.fig.add_subplot(1, 2, 1), chart.fig.add_subplot(1, 2, 2)
    chart.fig.subplots_adjust(left=0.07, right=0.97, bottom=0.16, top=0.88, wspace=0.45)
    ppv_line, = ax.plot([], [], color=COLORS[0], lw=2, label="PPV")
    npv_line, = ax.plot([], [], color=COLORS[1], lw=2, label="NPV")
    for label, v in marks.items():
        ax.axvline(v, color="0.6", ls=":", lw=1)
        ax.text(v, 0.02, t(label), rotation=90, fontsize=7, color="0.4", ha="right", va="bottom")
    vline = ax.axvline(pi0, color="k", lw=1)
    pts, = ax.plot([], [], "ko", ms=5)
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel=t("prevalence"), ylabel=t("predictive value"))
    ax.legend(loc="lower center", fontsize=8)
    labels.add("title", ax, 0.5, 1.06, size=12)
    cats = [t(c) for c in ("true positive", "false negative", "false positive", "true negative")]
    bars = ax_b.barh(cats, [0, 0, 0, 0], color=["#2ca02c", "#ff7f0e", "#d62728", "#1f77b4"])
    ax_b.set_xlim(0, 1000)
    ax_b.invert_yaxis()
    ax_b.set_xlabel(t("of 1,000 patients"), fontsize=8)
    ax_b.tick_params(labelsize=8)
    chart.animate(ppv_line, npv_line, vline, pts, *bars)

    def frame(prevalence: float, sensitivity: float, specificity: float) -> Frame:
        curve = E.predictive_values(sensitivity, specificity, grid)
        ppv_line.set_data(grid, curve["ppv"]); npv_line.set_data(grid, curve["npv"])
        pv = E.predictive_values(sensitivity, specificity, prevalence)
        vline.set_xdata([prevalence, prevalence])
        pts.set_data([prevalence, prevalence], [pv["ppv"], pv["npv"]])
        texts = {"title": (f"{t(name)}: Se {sensitivity:.2f}, Sp {specificity:.2f} -> PPV {pv['ppv']:.3f}, "
                           f"NPV {pv['npv']:.3f}", "black")}
        counts = [1000 * prevalence * sensitivity, 1000 * prevalence * (1 - sensitivity),
                  1000 * (1 - prevalence) * (1 - specificity), 1000 * (1 - prevalence) * specificity]
        for i, (b, c) in enumerate(zip(bars, counts)):
            b.set_width(c)
            labels.add(f"bar{i}", ax_b, min(c, 880) + 8, i, coords="data", size=12, anchor="lm")
            texts[f"bar{i}"] = (f"{c:.0f}", "black")
        readout = t("At prevalence {0:.1%}: of those called positive, {1:.1%} are ill (PPV = {2:.0f} / ({2:.0f} + "
                    "{3:.0f})); of those called negative, {4:.1%} are healthy (NPV). Sensitivity and specificity "
                    "did not change.").format(prevalence, pv['ppv'], counts[0], counts[2], pv['npv'])
        return Frame(image=labels.draw(chart.rgb(), texts), readout=esc(readout))

    return explorer(frame, {"prevalence": Float("Prevalence", 0.01, 0.99, value=pi0, step=0.005, format=".3f"),
                            "sensitivity": Float("Sensitivity", 0.0, 1.0, value=se0, step=0.01, format=".2f"),
                            "specificity": Float("Specificity", 0.0, 1.0, value=sp0, step=0.01, format=".2f")},
                    title="Prevalence and predictive values")


# ----------------------------------------------------------------------------- calibration
_SHORT = {"none": "raw", "temperature": "temperature-scaled", "platt": "Platt-scaled"}
_HIST_EDGES = np.linspace(0, 1, 21)
_HIST_CENTERS = (_HIST_EDGES[:-1] + _HIST_EDGES[1:]) / 2


@register(demo=_demo_calibration)
def calibration_explorer(y_val: Any, val: Mapping[str, Any], y_test: Any, test: Mapping[str, Any]) -> Any:
    """Reliability diagram on the test split: **Bins**, **Binning** (uniform / quantile), **Recalibration**
    (none, temperature, Platt on the logit) fitted on the **validation** split only, and the **Model**.
    Shows ECE and Brier score before and after. Used in 07 §5.
    """
    yv, val_s = _scores(y_val, val, "val")
    ys, test_s = _scores(y_test, test, "test")
    if set(val_s) != set(test_s):
        raise ValueError(f"val and test must name the same models, got {sorted(val_s)} and {sorted(test_s)}")
    fitted: dict[tuple[str, str], tuple[np.ndarray, str]] = {}
    for name in test_s:
        pv, pt = val_s[name], test_s[name]
        fitted[(name, "none")] = (pt, t("no recalibration"))
        tmp = E.temperature_scale(yv, pv)
        fitted[(name, "temperature")] = (tmp(pt), t("temperature T = {0:.3f} (fitted on validation)").format(
            tmp.temperature))
        pl = E.platt_scale(yv, E.logit(pv))
        fitted[(name, "platt")] = (pl(E.logit(pt)), t("Platt: sigmoid({0:.3f} logit(p) + {1:.3f}) (fitted on "
                                                    "validation)").format(pl.a, pl.b))
    chart = Chart(figsize=(9.5, 3.8), dpi=72)
    labels = _Labels(chart)
    ax, ax_h = chart.fig.add_subplot(1, 2, 1), chart.fig.add_subplot(1, 2, 2)
    chart.fig.subplots_adjust(left=0.07, right=0.97, bottom=0.14, top=0.88, wspace=0.3)
    ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label=t("perfect calibration"))
    curve, = ax.plot([], [], "o-", color=COLORS[0], lw=1.5, ms=5, label=t("model (test)"))
    gaps = ax.vlines([], [], [], color=COLORS[1], lw=2, alpha=0.6)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel=t("mean predicted P(label 1) in bin"),
           ylabel=t("observed fraction of label 1"))
    ax.legend(loc="upper left", fontsize=8)
    labels.add("title", ax, 0.5, 1.06, size=12)
    hist, = ax_h.plot([], [], drawstyle="steps-mid", color=COLORS[0], lw=1.5)
    ax_h.set(xlim=(0, 1), ylim=(0, 1), xlabel=t("predicted P(label 1)"), ylabel=t("fraction of test images (20 bins)"))
    labels.add("htitle", ax_h, 0.5, 1.06, size=12)
    chart.animate(curve, gaps, hist)

    def frame(model: str, bins: int, binning: str, recalibration: str) -> Frame:
        p, how = fitted[(model, recalibration)]
        cc = E.calibration_curve(ys, p, bins, strategy=binning)
        curve.set_data(cc.prob_pred, cc.prob_true)
        gaps.set_segments([[(x, a), (x, b)] for x, a, b in zip(cc.prob_pred, cc.prob_pred, cc.prob_true)])
        ece = E.expected_calibration_error(ys, p, bins, strategy=binning)
        brier = E.brier_score(ys, p)
        raw = test_s[model]
        texts = {"title": (t("{0}, {1}: ECE {2:.3f} ({3} {4} bins)").format(t(model), t(_SHORT[recalibration]), ece,
                                                                             bins, t(binning)), "black"),
                 "htitle": (t("where the predictions fall (Brier {0:.4f})").format(brier), "black")}
        hist.set_data(_HIST_CENTERS, np.histogram(p, bins=_HIST_EDGES)[0] / len(ys))
        rows = [["ECE", f"{E.expected_calibration_error(ys, raw, bins, strategy=binning):.4f}", f"{ece:.4f}"],
                ["Brier score", f"{E.brier_score(ys, raw):.4f}", f"{brier:.4f}"],
                ["ROC AUC", f"{E.roc_auc(ys, raw):.4f}", f"{E.roc_auc(ys, p):.4f}"]]
        readout = (t("{0}. Measured on the test split.").format(esc(how)) + "<br>"
                   + html_table(_padded(rows), header=["", "before", "after"]))
        return Frame(image=labels.draw(chart.rgb(), texts), readout=readout)

    names = list(test_s)
    return explorer(frame, {"model": Choice("Model", names, style="toggle"),
                            "bins": Int("Bins", 2, 30, value=10),
                            "binning": Choice("Binning", ["uniform", "quantile"], style="toggle"),
                            "recalibration": Choice("Recalibration", [("none", "none"), ("temperature", "temperature"),
                                                                       ("Platt", "platt")], style="toggle")},
                    title="Calibration explorer")


# ----------------------------------------------------------------------------- bootstrap
@register(demo=_demo_bootstrap)
def bootstrap_explorer(y: Any, score: Any, positive: int = 1, name: str = "model", max_resamples: int = 4000,
                       seed: int = 0) -> Any:
    """How the bootstrap interval of the ROC AUC settles as the number of **Resamples** grows, next to the
    DeLong interval, at the chosen **Level**. All ``max_resamples`` stratified resamples are drawn once at
    build time (seeded); the slider uses the first n of them. Used in 07 §4.
    """
    yy = check_binary_labels(y, "y")
    pos = check_int(positive, "positive", low=0, high=1)
    max_b = check_int(max_resamples, "max_resamples", low=50, high=20_000, why_high="build time")
    boots = E.bootstrap_aucs(yy, score, n_boot=max_b, seed=seed, positive=pos)
    auc = E.roc_auc(yy, score, positive=pos)
    levels = [0.8, 0.9, 0.95, 0.99]
    delong = {lv: E.roc_auc_ci(yy, score, level=lv, positive=pos) for lv in levels}
    ladder = np.unique(np.geomspace(20, max_b, 40).astype(int))
    lo_x, hi_x = float(boots.min()), float(boots.max())
    edges = np.linspace(lo_x, hi_x, 41)
    centers = (edges[:-1] + edges[1:]) / 2
    chart = Chart(figsize=(10, 3.5), dpi=72)
    labels = _Labels(chart)
    ax, ax_w = chart.fig.add_subplot(1, 2, 1), chart.fig.add_subplot(1, 2, 2)
    chart.fig.subplots_adjust(left=0.07, right=0.97, bottom=0.15, top=0.88, wspace=0.3)
    hist, = ax.plot([], [], drawstyle="steps-mid", color=COLORS[0], lw=1.5)
    ax.axvline(auc, color="k", lw=1)
    b_lo, b_hi = ax.axvline(0, color=COLORS[0], ls="--"), ax.axvline(0, color=COLORS[0], ls="--")
    d_span = ax.axvspan(0, 0, color=COLORS[1], alpha=0.15, label=t("DeLong interval"))
    ax.set(xlim=(lo_x, hi_x), ylim=(0, 0.2), xlabel=t("ROC AUC of a resample"), ylabel=t("fraction of resamples"))
    ax.legend(loc="upper left", fontsize=8)
    labels.add("title", ax, 0.5, 1.06, size=12)
    for lv, color in zip(levels, ["0.75", "0.6", "0.4", "0.2"]):
        widths = [np.diff(np.quantile(boots[:b], [(1 - lv) / 2, 1 - (1 - lv) / 2]))[0] for b in ladder]
        ax_w.plot(ladder, widths, color=color, lw=1, label=f"{lv:.0%}")
        ax_w.axhline(delong[lv]["high"] - delong[lv]["low"], color=color, lw=0.8, ls=":")
    ax_w.set_xscale("log")
    ax_w.set(xlabel=t("number of resamples"), ylabel=t("interval width (dotted: DeLong)"))
    ax_w.legend(fontsize=7, title=t("level"), title_fontsize=7)
    mark, = ax_w.plot([], [], "o", color=COLORS[1], ms=7)
    chart.animate(hist, b_lo, b_hi, d_span, mark)

    def frame(resamples: int, level: float) -> Frame:
        b = boots[:resamples]
        lo, hi = np.quantile(b, [(1 - level) / 2, 1 - (1 - level) / 2])
        counts, _ = np.histogram(b, bins=edges)
        hist.set_data(centers, counts / resamples)
        b_lo.set_xdata([lo, lo]); b_hi.set_xdata([hi, hi])
        d = delong[level]
        d_span.set_x(d["low"]); d_span.set_width(d["high"] - d["low"])
        texts = {"title": (t("{0}: AUC {1:.3f}, bootstrap {2:.0%} [{3:.3f}, {4:.3f}], {5} resamples").format(
                               t(name), auc, level, lo, hi, resamples), "black")}
        mark.set_data([resamples], [hi - lo])
        rows = [["bootstrap (percentile)", f"[{lo:.4f}, {hi:.4f}]", f"{hi - lo:.4f}"],
                ["DeLong", f"[{d['low']:.4f}, {d['high']:.4f}]", f"{d['high'] - d['low']:.4f}"]]
        readout = (t("{0} stratified resamples (seed {1}); standard deviation of the resampled AUCs {2:.4f}.").format(
                       resamples, seed, np.std(b, ddof=1))
                   + "<br>" + html_table(_padded(rows), header=["interval", f"{level:.0%}", "width"]))
        return Frame(image=labels.draw(chart.rgb(), texts), readout=readout)

    return explorer(frame, {"resamples": Int("Resamples", 20, max_b, value=min(1000, max_b), step=10),
                            "level": Choice("Level", [(f"{lv:.0%}", lv) for lv in levels], value=0.95,
                                            style="toggle")},
                    title="Bootstrap explorer")


# ----------------------------------------------------------------------------- decision curve
@register(demo=_demo_test)
def decision_curve(y: Any, scores: Mapping[str, Any], positive: int = 1,
                   class_names: tuple[str, str] = ("negative", "positive"), max_threshold: float = 0.95) -> Any:
    """Decision curve analysis: net benefit of each model against *treat all* and *treat none* over the
    threshold probability; the **Threshold probability** slider reads the curves at one p_t. ``scores`` are
    probabilities of label 1; with ``positive=0`` the disease probability is ``1 - score``. Used in 07 §8.
    """
    y, models = _scores(y, scores)
    pos = check_int(positive, "positive", low=0, high=1)
    tmax = check_float(max_threshold, "max_threshold", 0.05, 0.99)
    grid = np.linspace(0.0, tmax, 191)
    curves = {n: E.net_benefit(y, p, grid, positive=pos) for n, p in models.items()}
    first = next(iter(curves.values()))
    prevalence = float(np.mean(y == pos))
    chart = Chart(figsize=(8, 3.8), dpi=72)
    labels = _Labels(chart)
    ax = chart.fig.add_subplot(1, 1, 1)
    chart.fig.subplots_adjust(left=0.1, right=0.97, bottom=0.14, top=0.9)
    for (n, nb), color in zip(curves.items(), COLORS):
        ax.plot(grid, nb["model"], color=color, lw=1.8, label=t(n))
    all_line, = ax.plot(grid, first["treat_all"], color="0.4", lw=1, label=t("treat all"))
    ax.axhline(0, color="0.2", lw=1, label=t("treat none"))
    ax.set(xlim=(0, tmax), ylim=(-0.05, prevalence + 0.05), xlabel=t("threshold probability $p_t$"),
           ylabel=t("net benefit"))
    ax.legend(loc="upper right", fontsize=8)
    vline = ax.axvline(0.5, color="k", lw=0.8, ls="--")
    pts, = ax.plot([], [], "ko", ms=5)
    labels.add("title", ax, 0.5, 1.05, size=12)
    chart.animate(vline, pts, all_line)

    def frame(p_t: float, treat_all: bool) -> Frame:
        vline.set_xdata([p_t, p_t])
        all_line.set_visible(treat_all)
        rows, ys_ = [], []
        for n, p in models.items():
            nb = E.net_benefit(y, p, [p_t], positive=pos)
            v, ta = float(nb["model"][0]), float(nb["treat_all"][0])
            ys_.append(v)
            avoided = (v - ta) / (p_t / (1 - p_t)) * 100 if p_t > 0 else float("nan")
            rows.append([n, f"{v:.4f}", f"{100 * v:.1f}", "-" if not np.isfinite(avoided) else f"{avoided:.1f}"])
        nb_all = float(E.net_benefit(y, next(iter(models.values())), [p_t], positive=pos)["treat_all"][0])
        rows.append(["treat all", f"{nb_all:.4f}", f"{100 * nb_all:.1f}", "0.0"])
        rows.append(["treat none", "0.0000", "0.0", "-"])
        pts.set_data([p_t] * len(ys_), ys_)
        odds = p_t / (1 - p_t)
        texts = {"title": (t("p_t = {0:.2f}: a false positive weighs {1:.2f} true positives").format(p_t, odds)
                           if p_t > 0 else t("p_t = 0: treat everyone"), "black")}
        readout = (t("Net benefit = TP/N - FP/N x p_t/(1 - p_t); disease = {0}, prevalence {1:.1%}.").format(
                       esc(t(class_names[pos])), prevalence)
                   + "<br>" + html_table(_padded(rows), header=["strategy", "net benefit", "net true positives per 100",
                                                                "unnecessary treatments avoided per 100"]))
        return Frame(image=labels.draw(chart.rgb(), texts), readout=readout)

    return explorer(frame, {"p_t": Float("Threshold probability", 0.0, tmax, value=min(0.5, tmax), step=0.01,
                                         format=".2f"),
                            "treat_all": Check("Show treat all", value=True)},
                    title="Decision curve")
