"""Widgets for 10_multimodal_fusion: the late-fusion weight and the early-fusion feature groups.

Pure frame functions plus control specs (see :mod:`medlab.widgets._explorer`); the domain code is
:mod:`medlab.fusion` and :mod:`medlab.evaluation`. Everything a control needs is fitted at build time (every
subset of feature groups; the whole weight grid), so a control only looks results up and draws.
The registry demos use PneumoniaMNIST's hand-crafted features only (no CNN, so they build in seconds);
notebook 10 passes the CNN and SVM probabilities and the CNN embedding.
"""
from __future__ import annotations

import functools
import itertools
from typing import Any, Mapping

import numpy as np

from .. import evaluation as E
from .. import fusion as FU
from ..render import Chart
from ..i18n import t
from ._explorer import Check, Float, Frame, explorer, html_table, register

__all__ = ["late_fusion_explorer", "early_fusion_explorer"]


@functools.lru_cache(maxsize=1)
def _demo_features(n_train: int = 1500, seed: int = 0) -> dict:
    """PneumoniaMNIST features (seeded subset of train; full val and test), grouped by family."""
    from .. import datasets
    from ..features import extract_features, feature_matrix

    out, names = {}, None
    for split in ("train", "val", "test"):
        x, y = datasets.load_pneumoniamnist(split)
        if split == "train":
            keep = np.random.default_rng(seed).permutation(len(x))[:n_train]
            x, y = x[keep], y[keep]
        X, names = feature_matrix(extract_features(x, progress=False), names)
        out[split] = (X, y)
    groups = {g: [j for j, n in enumerate(names) if n.startswith(p)]
              for g, p in (("first-order", "fo_"), ("GLCM", "glcm_"), ("wavelet", "wavelet_"))}
    return {"data": out, "names": names, "groups": groups}


def _group_blocks(split_X: np.ndarray, groups: Mapping[str, list[int]]) -> dict[str, np.ndarray]:
    return {g: split_X[:, idx] for g, idx in groups.items()}


def _demo_late() -> dict:
    d = _demo_features()
    probs = {}
    for name, group in (("first-order model", "first-order"), ("texture model", "GLCM")):
        idx = d["groups"][group]
        m = FU.early_fusion({group: d["data"]["train"][0][:, idx]}, d["data"]["train"][1])
        probs[name] = {s: m.predict_proba(d["data"][s][0][:, idx]) for s in ("val", "test")}
    (na, pa), (nb, pb) = probs.items()
    return {"y_val": d["data"]["val"][1], "y_test": d["data"]["test"][1], "p_a_val": pa["val"],
            "p_b_val": pb["val"], "p_a_test": pa["test"], "p_b_test": pb["test"], "names": (na, nb)}


def _metrics_row(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    m = E.metrics(y, p, threshold=threshold)
    return {"auc": E.roc_auc(y, p), "accuracy": m["accuracy"], "sensitivity": m["sensitivity"],
            "specificity": m["specificity"]}


@register(demo=_demo_late)
def late_fusion_explorer(y_val: Any, p_a_val: Any, p_b_val: Any, y_test: Any, p_a_test: Any, p_b_test: Any,
                         names: tuple[str, str] = ("CNN", "SVM")) -> Any:
    """Late fusion ``w · p_A + (1 − w) · p_B``: the weight slider -> validation and test AUC, test metrics.

    The chart shows AUC against the weight on validation (where the weight is *chosen*) and on test (shown
    for the lesson; choosing on it would be peeking); the threshold is chosen on validation (Youden J) for
    each weight. Used in 10 §3.
    """
    yv, yt = np.asarray(y_val), np.asarray(y_test)
    grid = np.round(np.linspace(0, 1, 21), 2)
    chosen = FU.late_fusion_weight(yv, p_a_val, p_b_val, grid=21)["weight"]
    rows = {}
    for w in grid:
        pv, pt = FU.late_fusion(p_a_val, p_b_val, w), FU.late_fusion(p_a_test, p_b_test, w)
        th = E.choose_threshold(yv, pv)
        rows[float(w)] = {"val_auc": E.roc_auc(yv, pv), "th": th, **_metrics_row(yt, pt, th)}
    chart = Chart(figsize=(4.2, 2.8))
    ax = chart.fig.add_subplot()
    chart.fig.subplots_adjust(left=0.17, right=0.97, bottom=0.18, top=0.88)
    ax.plot(grid, [rows[float(w)]["val_auc"] for w in grid], "-", color="tab:blue", label=t("validation"))
    ax.plot(grid, [rows[float(w)]["auc"] for w in grid], "--", color="tab:orange", label=t("test"))
    ax.axvline(chosen, color="0.6", lw=0.8)
    ax.set_xlabel(f"{t('weight w of')} {t(names[0])}  (0 = {t('only')} {t(names[1])})", fontsize=8)
    ax.set_ylabel("ROC AUC")
    ax.set_title(f"{t('chosen on validation')}: w = {chosen:.2f}", fontsize=9)
    ax.legend(fontsize=8, loc="lower center")
    (marker,) = ax.plot([], [], "o", color="tab:red", ms=8)
    chart.animate(marker)

    def frame(weight: float) -> Frame:
        w = float(grid[int(np.argmin(np.abs(grid - weight)))])
        r = rows[w]
        marker.set_data([w], [r["auc"]])
        table = html_table([("weight w", f"{w:.2f}"), ("validation AUC", f"{r['val_auc']:.3f}"),
                            ("test AUC", f"{r['auc']:.3f}"), ("threshold (chosen on validation)", f"{r['th']:.3f}"),
                            ("test accuracy", f"{r['accuracy']:.3f}"), ("test sensitivity", f"{r['sensitivity']:.3f}"),
                            ("test specificity", f"{r['specificity']:.3f}")])
        return Frame(image=chart.png(), readout=table)

    return explorer(frame, {"weight": Float(f"Weight of {names[0]}", 0.0, 1.0, value=chosen, step=0.05, format=".2f")},
                    title="Late fusion")


def _demo_early() -> dict:
    d = _demo_features()
    blocks = {s: _group_blocks(d["data"][s][0], d["groups"]) for s in ("train", "test")}
    for i, s in enumerate(("train", "test")):  # the deliberately leaky *synthetic* clinical field
        blocks[s]["clinical (synthetic leak)"] = FU.leaky_clinical_feature(d["data"][s][1], 0.9, seed=i)[:, None]
    return {"blocks_train": blocks["train"], "y_train": d["data"]["train"][1],
            "blocks_test": blocks["test"], "y_test": d["data"]["test"][1]}


@register(demo=_demo_early)
def early_fusion_explorer(blocks_train: Mapping[str, np.ndarray], y_train: Any,
                          blocks_test: Mapping[str, np.ndarray], y_test: Any) -> Any:
    """Early fusion by feature group: a checkbox per group -> the logistic regression on those groups, test metrics.

    Every non-empty subset of groups is fitted at build time (2^k − 1 models). The bar chart compares the
    current combination's test AUC with each group alone. A group named "... leak" is drawn in red. Used in 10 §2.
    """
    names = list(blocks_train)
    if not 1 <= len(names) <= 6:
        raise ValueError(f"blocks_train must hold 1 to 6 feature groups (2^k models are fitted), got {len(names)}")
    yt = np.asarray(y_test)
    results: dict[frozenset, dict[str, float]] = {}
    for k in range(1, len(names) + 1):
        for combo in itertools.combinations(names, k):
            m = FU.early_fusion({g: blocks_train[g] for g in combo}, y_train)
            p = m.predict_proba(np.column_stack([blocks_test[g] for g in combo]))
            results[frozenset(combo)] = _metrics_row(yt, p, 0.5)
    singles = [results[frozenset([g])]["auc"] for g in names]
    chart = Chart(figsize=(4.4, 0.5 + 0.42 * (len(names) + 1)))
    ax = chart.fig.add_subplot()
    chart.fig.subplots_adjust(left=0.42, right=0.95, bottom=0.22, top=0.92)
    labels = [f"{g} alone" for g in names] + ["selected groups"]
    colors = ["tab:red" if "leak" in g else "0.6" for g in names] + ["tab:blue"]
    bars = ax.barh(range(len(labels)), singles + [0.0], color=colors)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlim(0.5, 1.0)
    ax.set_xlabel(t("test ROC AUC"), fontsize=8)
    ax.invert_yaxis()
    chart.animate(*bars)  # all bars: a group's bar is coloured when it is selected

    def frame(**on: bool) -> Frame:
        combo = frozenset(g for g, flag in zip(names, on.values()) if flag)
        if not combo:
            return Frame(warning=t("select at least one feature group"))
        r = results[combo]
        bars[-1].set_width(r["auc"])
        for bar, g, base in zip(bars, names, colors):
            bar.set_color(("salmon" if "leak" in g else "lightsteelblue") if g in combo else base)
            bar.set_alpha(1.0 if g in combo else 0.45)
        leaky = [g for g in combo if "leak" in g]
        rows = [("groups", ", ".join(t(g) for g in sorted(combo))), ("test AUC", f"{r['auc']:.3f}"),
                ("test accuracy (threshold 0.5)", f"{r['accuracy']:.3f}"),
                ("sensitivity / specificity", f"{r['sensitivity']:.3f} / {r['specificity']:.3f}")]
        warn = (t("{0} encodes the label: the AUC is inflated, not earned").format(", ".join(t(g) for g in leaky))
                if leaky else "")
        return Frame(image=chart.png(), readout=html_table(rows), warning=warn)

    keys = [f"g{j}" for j in range(len(names))]
    controls = {k: Check(g, value="leak" not in g) for k, g in zip(keys, names)}

    def frame_kw(**values: bool) -> Frame:
        return frame(**{k: values[k] for k in keys})

    return explorer(frame_kw, controls, title="Early fusion: which feature groups?")
