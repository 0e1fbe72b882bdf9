"""Median time per widget update of medlab.widgets.preprocess on the embedded 512x512 CT.

Each update is timed as a learner triggers it: setting a control's ``value`` runs the
observer synchronously (compute + compose + PNG encode + chart draw). The frontend's own
time to show the PNG is not included. Budget: 100 ms per update.

Run: .venv/bin/python benchmarks/bench_preprocess.py
"""
from __future__ import annotations

import os
import time

import numpy as np

from medlab.datasets import load_lung_ct
from medlab.preprocess import lung_mask
from medlab.widgets.preprocess import (box_grow_explorer, denoise_explorer, equalization_explorer,
                                       lung_segmentation_stepper, region_grow_explorer, threshold_explorer,
                                       window_level_explorer)

BUDGET_MS = 100.0


def time_updates(control, values) -> list[float]:
    out = []
    for v in values:
        t = time.perf_counter()
        control.value = v
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def main() -> None:
    ct = load_lung_ct()
    vol = np.array(ct.array)
    k = ct.boxes[len(ct.boxes) // 2].slice_index
    print(f"CT {vol.shape} int16, slice {k} is 512x512; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores\n")
    rows = []

    def bench(widget: str, update: str, control, values):
        ms = time_updates(control, values)
        rows.append((widget, update, float(np.median(ms)), float(np.percentile(ms, 90)), len(ms)))

    w = window_level_explorer(ct)
    bench("window/level", "level slider", w.controls["level"], list(range(-600, -560, 2)))
    bench("window/level", "window slider", w.controls["window"], list(range(1500, 1380, -6)))
    bench("window/level", "slice slider", w.controls["slice"], list(range(5, 25)))
    bench("window/level", "preset", w.controls["preset"], ["mediastinum", "bone", "brain", "lung"] * 3)

    w = equalization_explorer(vol[k], in_range=(-1000, 400))
    bench("equalisation", "method", w.controls["method"], ["none", "equalize", "stretch", "clahe", "gamma"] * 3)
    w.controls["method"].value = "clahe"
    bench("equalisation", "CLAHE clip slider", w.controls["clip"], list(np.geomspace(0.005, 0.2, 15)))
    w.controls["method"].value = "gamma"
    bench("equalisation", "gamma slider", w.controls["gamma"], list(np.linspace(0.4, 2.5, 15)))

    w = denoise_explorer(vol[k], in_range=(-1000, 400))
    bench("denoise (256² zoom)", "noise level slider", w.controls["level"], list(np.linspace(0.01, 0.3, 15)))
    bench("denoise (256² zoom)", "noise kind", w.controls["noise"], ["gaussian", "poisson", "salt_pepper"] * 4)
    for kind in ("median", "gaussian", "curvature_flow"):
        w.controls["filter"].value = kind
        bench("denoise (256² zoom)", f"{kind} size slider", w.controls["size"], [1, 2, 3, 2] * 4)

    w = threshold_explorer(ct)
    bench("threshold", "threshold slider", w.controls["threshold"], list(range(-700, -100, 30)))
    bench("threshold", "slice slider", w.controls["slice"], list(range(5, 25)))

    w = region_grow_explorer(ct)
    bench("region grow (2-D preview)", "seed column slider", w.controls["col"], list(range(160, 190, 2)))
    bench("region grow (2-D preview)", "seed row slider", w.controls["row"], list(range(295, 325, 2)))
    bench("region grow (2-D preview)", "lower HU slider", w.controls["lower"], list(range(-400, -100, 20)))
    bench("region grow (2-D preview)", "slice slider", w.controls["slice"], list(range(12, 22)))
    ms3d = []
    for _ in range(5):
        t = time.perf_counter()
        w.grow3d()
        ms3d.append((time.perf_counter() - t) * 1000.0)
    rows.append(("region grow (3-D button)", "Grow in 3-D click", float(np.median(ms3d)),
                 float(np.percentile(ms3d, 90)), len(ms3d)))
    bench("region grow (3-D button)", "slice slider over 3-D", w.controls["slice"], list(range(10, 25)))

    w = box_grow_explorer(ct)
    bench("tumour from box (2-D)", "lower HU slider", w.controls["lower"], list(range(-400, -200, 10)))
    bench("tumour from box (2-D)", "upper HU slider", w.controls["upper"], list(range(100, 300, 10)))
    bench("tumour from box (2-D)", "constrain checkbox", w.controls["constrain"], [False, True] * 6)
    bench("tumour from box (2-D)", "slice slider", w.controls["slice"], list(range(12, 22)))
    w.controls["upper"].value = 200
    ms3d = []
    for _ in range(5):
        t = time.perf_counter()
        w.grow3d()
        ms3d.append((time.perf_counter() - t) * 1000.0)
    rows.append(("tumour from box (3-D btn)", "Grow in 3-D click", float(np.median(ms3d)),
                 float(np.percentile(ms3d, 90)), len(ms3d)))
    bench("tumour from box (3-D btn)", "slice slider over 3-D", w.controls["slice"], list(range(12, 22)))

    t = time.perf_counter()
    seg = lung_mask(vol, ct.spacing)
    seg_ms = (time.perf_counter() - t) * 1000.0
    w = lung_segmentation_stepper(ct, seg=seg)
    bench("lung steps", "step slider", w.controls["step"], [2, 3, 4, 1] * 4)
    bench("lung steps", "slice slider", w.controls["slice"], list(range(5, 25)))

    print(f"{'widget':<27} {'update':<24} {'median ms':>9} {'p90 ms':>7} {'n':>3} {'median/budget':>13}")
    for widget, update, med, p90, n in rows:
        flag = "" if med <= BUDGET_MS else "  over budget"
        if ("(3-D button)" in widget or "(3-D btn)" in widget) and update.endswith("click"):
            flag = "  (button, not a slider update)" if med > BUDGET_MS else flag
        print(f"{widget:<27} {update:<24} {med:9.1f} {p90:7.1f} {n:3d} {med / BUDGET_MS:13.2f}{flag}")
    print(f"\nlung_mask on the whole CT (once, when the stepper is built): {seg_ms:.0f} ms")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
