"""Widgets of unit 11 (patient privacy): tag browser, date-shift explorer, FedAvg explorer, DP explorer.

Each is a pure frame function plus control specs on :func:`medlab.widgets._explorer.explorer`. The work
is core (:mod:`medlab.privacy`); training happens only at build time (a small precomputed grid) or behind
a Run button. TensorFlow is imported only when a model is trained.

>>> r = tag_rows([{"tag": "(0010,0010)", "keyword": "PatientName", "code": "Z", "action": "Z",
...                "before": "D**^J***", "after": "", "path": "PatientName"}], "patient (0010)")
>>> r["ok"], len(r["rows"])
(True, 1)
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..render import font, to_uint8
from ..i18n import get_language, t
from ._explorer import Button, Check, Choice, Float, Frame, Int, esc, explorer, register, result

__all__ = ["tag_browser", "date_shift_explorer", "fedavg_explorer", "dp_explorer", "tag_rows", "action_strip",
           "timeline_image"]

# ----------------------------------------------------------------------------- tag browser
GROUPS = {"all": None, "patient (0010)": (0x0010,), "study, series, equipment (0008/0018/0020)":
          (0x0008, 0x0018, 0x0020), "UIDs": "UI", "private (odd groups)": "private", "file meta (0002)": (0x0002,)}
_ACTION_NAMES = {"X": "removed", "Z": "emptied", "D": "dummy", "K": "kept", "C": "cleaned", "U": "new UID",
                 "U*": "UIDs inside"}


def tag_rows(changes: Sequence[dict], group: str, changed_only: bool = False) -> dict:
    """Pure compute: the rows of the tag table for one group filter (result contract, ``rows``)."""
    if group not in GROUPS:
        return result(False, f"group must be one of {list(GROUPS)}, got {group!r}", rows=[])
    sel = GROUPS[group]
    rows = []
    for c in changes:
        tag = int(c["tag"][1:5], 16)
        if sel == "UI":
            if not c["keyword"].endswith("UID"):
                continue
        elif sel == "private":
            if c["code"] != "private":
                continue
        elif sel is not None and tag not in sel:
            continue
        if changed_only and c["action"] in ("K", "U*"):
            continue
        rows.append(c)
    return result(rows=rows)


def _ct_folder() -> Path:
    from ..datasets import data_dir
    return data_dir() / "lung_ct_dicom"


def _tag_demo() -> dict:
    return {"src": _ct_folder()}


TOGGLES = {"modified_dates": "Retain dates, shifted", "patient_characteristics": "Retain patient characteristics",
           "device_identity": "Retain device identity", "uids": "Retain UIDs",
           "clean_descriptors": "Clean descriptors"}


ACTION_COLORS = {"X": (200, 40, 40), "Z": (235, 150, 30), "D": (160, 110, 20), "K": (40, 150, 60),
                 "C": (140, 60, 170), "U": (40, 90, 200), "U*": (120, 160, 230)}


def action_strip(rows: Sequence[dict], per_row: int = 40, cell: int = 14) -> np.ndarray:
    """One coloured square per attribute (colour = action), in table order: the picture of a profile run."""
    n = max(1, len(rows))
    lines = -(-n // per_row)
    img = np.full((lines * (cell + 2) + 4, per_row * (cell + 2) + 4, 3), 255, np.uint8)
    for i, c in enumerate(rows):
        r, k = divmod(i, per_row)
        y, x = 2 + r * (cell + 2), 2 + k * (cell + 2)
        img[y:y + cell, x:x + cell] = ACTION_COLORS.get(c["action"], (120, 120, 120))
    return img


def _legend_html() -> str:
    return " ".join(f"<span style='background:rgb{ACTION_COLORS[a]};color:white;padding:0 4px'>{esc(a)} "
                    f"{esc(t(_ACTION_NAMES[a]))}</span>" for a in ACTION_COLORS)


@register(demo=_tag_demo)
def tag_browser(src: Any, key: str = "classroom-key", max_files: int = 64) -> Any:
    """Before/after tag browser: file, group filter and option toggles -> the table of handled attributes.

    ``src``: a DICOM folder (or file). Each file is de-identified in memory with
    :func:`medlab.privacy.deidentify_dataset` (the input is only read). The picture shows one square per
    attribute coloured by its action; the table below lists tag, attribute, action (with the Table E.1-1
    code), the masked value before and the value after. Used in 11 §2.
    """
    import pydicom
    from .. import privacy
    from ..io import hu_from_dicom
    from ._explorer import html_table
    p = Path(src)
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    datasets, names, thumbs = [], [], []
    for f in files:
        if len(datasets) >= max_files:
            break
        if not privacy._read(f)[0]:       # skips non-DICOM files (the licence text)
            continue
        ds = pydicom.dcmread(f)
        try:
            hu = hu_from_dicom(ds)
            thumbs.append(to_uint8(np.clip(hu, -1000, 400)[::4, ::4]))
        except Exception:                 # a file without pixels: no thumbnail
            thumbs.append(np.zeros((64, 64), np.uint8))
        del ds.PixelData
        for _ in ds.iterall():            # convert every element once, so each copy is cheap
            pass
        datasets.append(ds)
        names.append(f.name)
    if not datasets:
        raise ValueError(f"src: no DICOM file in {src}")
    cache: dict[tuple, list[dict]] = {}

    def changes(index: int, options: tuple[str, ...]) -> list[dict]:
        k = (index, options)
        if k not in cache:
            if len(cache) > 512:
                cache.clear()
            cache[k] = [c.__dict__ for c in privacy.deidentify_dataset(datasets[index], key=key, options=options,
                                                                       name=names[index])[1]]
        return cache[k]

    def frame(file: int, group: str, changed_only: bool = False, **toggles: bool) -> Frame:
        opts = tuple(o for o in TOGGLES if toggles.get(o))
        r = tag_rows(changes(file, opts), group, changed_only)
        if not r["ok"]:
            return Frame(warning=r["message"])
        rows = [(c["tag"], c["path"], f"{t(_ACTION_NAMES.get(c['action'], c['action']))} ({c['code']})",
                 c["before"], c["after"]) for c in r["rows"]]
        counts: dict[str, int] = {}
        for c in r["rows"]:
            counts[c["action"]] = counts.get(c["action"], 0) + 1
        summary = ", ".join(f"{t(_ACTION_NAMES.get(a, a))} {n}" for a, n in sorted(counts.items()))
        table = html_table(rows, header=("tag", "attribute", "action (table code)", "before (masked)", "after"),
                           align_right_from=99) if rows else f"<i>{esc(t('no attribute of this group in Table E.1-1'))}</i>"
        return Frame(image=action_strip(r["rows"]), panes={"slice": thumbs[file]},
                     readout=(f"<b>{esc(names[file])}</b>: "
                              + esc(t("{0} attribute(s); options: {1}; {2}").format(
                                  len(rows), ", ".join(opts) or t("none (Basic Profile)"), summary or t("nothing")))
                              + f"<br>{_legend_html()}<div style='max-height:360px;overflow:auto;font-size:12px'>"
                              f"{table}</div>"))

    controls: dict[str, Any] = {
        "file": Int("File", 0, len(datasets) - 1),
        "group": Choice("Group", list(GROUPS)),
        "changed_only": Check("Changed only (hide kept)"),
    }
    controls.update({k: Check(v) for k, v in TOGGLES.items()})
    return explorer(frame, controls, layout="column", control_width="420px")


# ----------------------------------------------------------------------------- date shift explorer
KEYS = ("classroom-key", "another-key", "hospital-secret-2024")


def timeline_image(original: Sequence[_dt.date], shifted: Sequence[_dt.date], title: str = "",
                   width: int = 640) -> np.ndarray:
    """Two timelines, original and shifted, each on its own axis with the same days-per-pixel scale (so kept
    intervals look identical), day counts between visits, and a table of the visit dates below."""
    from PIL import Image, ImageDraw
    f = font(12)
    spans = [max(1, (max(ds) - min(ds)).days) for ds in (original, shifted)]
    span = max(spans) * 1.1 + 1
    left, right = 90, width - 30
    n = len(original)
    img = Image.new("RGB", (width, 150 + 16 * n), (255, 255, 255))
    dr = ImageDraw.Draw(img)
    dr.text((8, 4), title, fill=(0, 0, 0), font=font(13))
    for row, (label, dates, color) in enumerate(((t("original"), original, (30, 80, 170)),
                                                 (t("shifted"), shifted, (190, 60, 30)))):
        yy = 52 + row * 48
        dr.text((8, yy - 7), label, fill=color, font=f)
        dr.line([left, yy, right, yy], fill=(160, 160, 160), width=1)
        first = min(dates)
        xs = [left + (right - left) * ((d - first).days + span * 0.05) / span for d in dates]
        dr.text((left - 4, yy + 6), str(first.year), fill=(110, 110, 110), font=f)
        for i, (d, xx) in enumerate(zip(dates, xs)):
            dr.ellipse([xx - 4, yy - 4, xx + 4, yy + 4], fill=color)
            if i:
                gap = (d - dates[i - 1]).days
                dr.text(((xs[i - 1] + xx) / 2 - 14, yy - 18 - (i % 2) * 11), t("{0} d").format(gap), fill=(60, 60, 60),
                        font=f)
    y = 130
    if get_language() == "en":      # columns padded with spaces (DejaVu Sans: the English layout as it was)
        dr.text((left, y), "visit    original      shifted      shift (days)", fill=(0, 0, 0), font=f)
        for i, (o, s_) in enumerate(zip(original, shifted)):
            y += 16
            dr.text((left, y), f"{i + 1:>3}      {o.isoformat()}    {s_.isoformat()}    {(s_ - o).days:>6}",
                    fill=(40, 40, 40), font=f)
        return np.asarray(img)
    # 中文: spaces do not line up in a proportional CJK font; each column is drawn at its own x (numbers
    # right-aligned), wide enough for its header and its widest value
    head = [t("visit"), t("original"), t("shifted"), t("shift (days)")]
    rows = [[str(i + 1), o.isoformat(), s_.isoformat(), str((s_ - o).days)]
            for i, (o, s_) in enumerate(zip(original, shifted))]
    widths = [max(dr.textlength(r[c], font=f) for r in [head] + rows) for c in range(4)]
    xs = [left + sum(widths[:c]) + 28 * c for c in range(4)]
    for k, cells in enumerate([head] + rows):
        for c, cell in enumerate(cells):
            x = xs[c] + (widths[c] - dr.textlength(cell, font=f) if k and c in (0, 3) else 0)
            dr.text((x, y + 16 * k), cell, fill=(40, 40, 40) if k else (0, 0, 0), font=f)
    return np.asarray(img)


@register(demo=lambda: {})
def date_shift_explorer() -> Any:
    """Date shifting with the Modified Dates option: patient and key -> one shift per patient, intervals kept.

    ``Naive`` shifts every visit by its own random amount (what not to do). Used in 11 §5.
    """
    from .. import privacy
    VISITS = privacy.EXAMPLE_VISITS

    from ..render import to_png
    cache: dict[tuple, Frame] = {}      # 3 patients x 3 keys x 2 modes: each drawn and encoded once

    def frame(patient: str, key: str, naive: bool = False) -> Frame:
        k = (patient, key, bool(naive))
        if k not in cache:
            fr = draw(patient, key, bool(naive))
            cache[k] = Frame(image=to_png(fr.image), readout=fr.readout)
        return cache[k]

    def draw(patient: str, key: str, naive: bool) -> Frame:
        pid, dates = VISITS[patient]
        original = [_dt.datetime.strptime(d, "%Y%m%d").date() for d in dates]
        if naive:
            shifts = [privacy.date_shift_days(key, f"{pid}/{d}") for d in dates]   # one shift per visit
        else:
            shifts = [privacy.date_shift_days(key, pid)] * len(dates)
        shifted = [_dt.datetime.strptime(privacy.shift_date(d, s), "%Y%m%d").date() for d, s in zip(dates, shifts)]
        kept = all((b - a) == (d - c) for a, b, c, d in zip(original, original[1:], shifted, shifted[1:]))
        title = (t("{0}: shift per visit (naive) with key '{1}'").format(pid, key) if naive
                 else t("{0}: shift {1} days with key '{2}'").format(pid, shifts[0], key))
        img = timeline_image(original, shifted, title)
        note = t("intervals preserved") if kept else t("intervals changed: follow-up times are now wrong")
        return Frame(image=img, readout=f"<code>{esc(note)}</code>")

    for p_ in VISITS:                   # precompute (~0.2 s): every control update is then a lookup
        for k_ in KEYS:
            for n_ in (False, True):
                frame(p_, k_, n_)
    return explorer(frame, {"patient": Choice("Patient", list(VISITS)),
                            "key": Choice("Key", list(KEYS)),
                            "naive": Check("Naive: a random shift per visit")}, layout="column")


# ----------------------------------------------------------------------------- FedAvg explorer
def _fed_demo() -> dict:
    return {"rounds": 4, "precompute": [(1, 1.0)]}


@register(demo=_fed_demo)
def fedavg_explorer(rounds: int = 4, local_epochs: Sequence[int] = (1, 2), heterogeneity: Sequence[float] = (0.0, 1.0),
                    precompute: Sequence[tuple[int, float]] = ((1, 1.0),), results: dict | None = None,
                    config: dict | None = None) -> Any:
    """FedAvg vs local-only vs central: rounds, local epochs, heterogeneity -> test AUC per round.

    Settings in ``precompute`` are trained at build time (:func:`medlab.privacy.compare_federated` on three
    simulated hospitals from PneumoniaMNIST); any other setting shows a note and trains behind the Run
    button (a few seconds). ``results`` can pass settings computed before: {(local_epochs, h): result}.
    Used in 11 §7.
    """
    from .. import privacy
    from ..render import Chart
    cfg = {**privacy.FED_DEFAULTS, **(config or {})}
    x, y, xt, yt = privacy.pneumonia_data()
    cache: dict[tuple[int, float], dict] = dict(results or {})

    def run(e: int, h: float, progress=None) -> dict:
        clients = privacy.hospital_splits(x, y, sizes=cfg["sizes"], positive=cfg["positive"], heterogeneity=h,
                                          seed=cfg["seed"])
        return privacy.compare_federated(clients, (xt, yt), rounds=rounds, local_epochs=e,
                                         batch_size=cfg["batch_size"], learning_rate=cfg["learning_rate"],
                                         seed=cfg["seed"])

    for e, h in precompute:
        if (e, float(h)) not in cache:
            cache[(e, float(h))] = run(e, float(h))

    chart = Chart(figsize=(5.6, 3.2), dpi=80)
    ax = chart.fig.add_subplot()
    ax.set_xlim(0.8, rounds + 0.2)
    ax.set_ylim(0.3, 1.0)
    ax.set_xlabel(t("round (= local epochs x round for local/central)"))
    ax.set_ylabel(t("test AUC"))
    ax.grid(alpha=0.3)
    fed_line, = ax.plot([], [], "o-", color="tab:blue", lw=2, label=t("federated (FedAvg)"))
    cen_line, = ax.plot([], [], "s--", color="black", lw=1.5, label=t("central (pooled)"))
    loc_lines = [ax.plot([], [], ":", lw=1.2, color=c, label=f"{t('hospital')} {k + 1} {t('alone')}")[0]
                 for k, c in enumerate(("tab:orange", "tab:green", "tab:red"))]
    ax.legend(loc="lower right", fontsize=8)
    chart.fig.tight_layout()
    chart.animate(fed_line, cen_line, *loc_lines)

    def frame(shown_rounds: int, local_epochs: int, heterogeneity: float, run_button: bool = False) -> Frame:
        k = (int(local_epochs), float(heterogeneity))
        if run_button and k not in cache:
            cache[k] = run(*k)
        if k not in cache:
            for line in [fed_line, cen_line, *loc_lines]:
                line.set_data([], [])
            return Frame(image=chart.rgb(), warning=t("local epochs {0}, heterogeneity {1}: not trained yet; "
                                                      "press Run (a few seconds)").format(k[0], k[1]))
        r = cache[k]
        n = min(shown_rounds, len(r["rounds"]))
        xs = r["rounds"][:n]
        fed_line.set_data(xs, r["federated"][:n])
        cen_line.set_data(xs, r["central"][:n])
        for line, loc in zip(loc_lines, r["local"]):
            line.set_data(xs, loc[:n])
        info = ", ".join(t("H{0}: {1} images, {2:.0%} pneumonia").format(i + 1, s, p)
                         for i, (s, p) in enumerate(zip(r["client_sizes"], r["client_positive"])))
        last = t("after round {0}: federated {1:.3f}, central {2:.3f}, alone {3}").format(
            n, r['federated'][n - 1], r['central'][n - 1], ", ".join(f"{loc[n - 1]:.3f}" for loc in r["local"]))
        return Frame(image=chart.rgb(), readout=f"<code>{esc(info)}</code><br><code>{esc(last)}</code>")

    controls = {"shown_rounds": Int("Rounds", 1, rounds, value=rounds),
                "local_epochs": Choice("Local epochs", list(local_epochs), style="toggle"),
                "heterogeneity": Choice("Heterogeneity", [float(h) for h in heterogeneity], style="toggle",
                                        value=float(precompute[0][1]) if precompute else "__first__"),
                "run_button": Button("Run this setting")}
    return explorer(frame, controls)


# ----------------------------------------------------------------------------- DP explorer
def _dp_demo() -> dict:
    from ..privacy import dp_grid
    return {"grid": dp_grid((1.0, 4.0), (0.0, 1.0))}


@register(demo=_dp_demo)
def dp_explorer(grid: Sequence[dict], config: dict | None = None) -> Any:
    """DP-SGD: clip norm and noise multiplier -> epsilon (live, the RDP accountant) and test AUC.

    AUC comes from the nearest point of the precomputed ``grid`` (:func:`medlab.privacy.dp_grid`); the Run button trains
    at the exact slider values (seconds). Used in 11 §8.
    """
    from .. import privacy
    from ..render import Chart
    cfg = {**privacy.DP_DEFAULTS, **(config or {})}
    if not grid:
        raise ValueError("grid must hold at least one precomputed run (see dp_grid)")
    points = [dict(g) for g in grid]
    steps = cfg["epochs"] * -(-cfg["n_train"] // cfg["batch_size"])
    q = min(1.0, cfg["batch_size"] / cfg["n_train"])
    live: dict[tuple[float, float], dict] = {}
    eps_cache: dict[float, float] = {}

    def eps(noise: float) -> float:
        k = round(noise, 3)
        if k not in eps_cache:
            # the by-hand RDP accountant (vectorised; equal to dp-accounting's to 1e-6, tested): ~ms per value
            eps_cache[k] = privacy.epsilon_by_hand(k, q, steps, cfg["delta"]) if k > 0 else float("inf")
        return eps_cache[k]

    chart = Chart(figsize=(5.6, 3.0), dpi=80)
    ax = chart.fig.add_subplot()
    ax.set_xscale("log")
    ax.set_xlim(0.1, 1e4)
    ax.set_ylim(0.3, 1.0)
    ax.set_xlabel(t("epsilon (log; no noise = right edge)"))
    ax.set_ylabel(t("test AUC"))
    ax.grid(alpha=0.3)

    def ex(e: float) -> float:
        return min(max(e, 0.11), 9e3)
    for g in points:
        ax.plot([ex(g["epsilon"])], [g["auc"]], "o", color="tab:gray", ms=6)
        ax.annotate(f"C={g['clip']:g}, σ={g['noise']:g}", (ex(g["epsilon"]), g["auc"]), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")
    eps_line = ax.axvline(1, color="tab:blue", lw=1.5)
    near, = ax.plot([], [], "o", ms=11, mfc="none", mec="tab:blue", mew=2)
    live_pt, = ax.plot([], [], "*", ms=14, color="tab:red")
    chart.fig.tight_layout()
    chart.animate(eps_line, near, live_pt)

    def frame(clip: float, noise: float, run_button: bool = False) -> Frame:
        e = eps(noise)
        g = min(points, key=lambda p: (np.log(p["clip"] / clip)) ** 2 + (p["noise"] - noise) ** 2)
        key = (round(clip, 3), round(noise, 3))
        if run_button:
            r = privacy.dp_sgd_train(*_subset(cfg), clip_norm=key[0], noise_multiplier=key[1], epochs=cfg["epochs"],
                                     batch_size=cfg["batch_size"], learning_rate=cfg["learning_rate"],
                                     seed=cfg["seed"], delta=cfg["delta"], test=_test())
            live[key] = {"epsilon": r.epsilon, "auc": r.history[-1], "seconds": r.seconds}
        eps_line.set_xdata([ex(e), ex(e)])
        near.set_data([ex(g["epsilon"])], [g["auc"]])
        text = t("clip C = {0:.3g}, noise multiplier σ = {1:.3g}: ε = {2:.3g} at δ = {3:g} ({4} steps, sampling rate "
                 "{5:.3g}). Nearest precomputed run: C = {6:g}, σ = {7:g} → AUC {8:.3f}.").format(
            clip, noise, e, cfg['delta'], steps, q, g['clip'], g['noise'], g['auc'])
        if key in live:
            lv = live[key]
            live_pt.set_data([ex(lv["epsilon"])], [lv["auc"]])
            text += t(" Live run at these values: AUC {0:.3f} ({1:.1f} s).").format(lv['auc'], lv['seconds'])
        else:
            live_pt.set_data([], [])
        return Frame(image=chart.rgb(), readout=f"<code>{esc(text)}</code>")

    def _subset(c):
        x, y, _, _ = _data()
        return x[:c["n_train"]], y[:c["n_train"]]

    data_cache: dict[str, Any] = {}

    def _data():
        if "d" not in data_cache:
            data_cache["d"] = privacy.pneumonia_data()
        return data_cache["d"]

    def _test():
        _, _, xt, yt = _data()
        return xt, yt

    controls = {"clip": Float("Clip norm C", 0.1, 10.0, value=float(points[0]["clip"]), log=True),
                "noise": Float("Noise multiplier σ", 0.0, 3.0, value=float(points[-1]["noise"]), step=0.05),
                "run_button": Button("Run at these values")}
    return explorer(frame, controls)
