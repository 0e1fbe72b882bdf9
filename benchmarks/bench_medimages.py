"""Median time per widget update of medlab.widgets.medimages on the embedded 512x512x30 CT.

Each update is timed as a learner triggers it: setting a control's ``value`` runs the
observer synchronously (compute + compose + PNG encode + chart blit). The frontend's own
time to show the PNG is not included. Budget: 100 ms per update.

The resampling widget resamples only the displayed coronal plane, from a slab of 17 input
rows around it (see ``coronal_plane_resampled``; B-spline separably with scipy); the
full-volume resample is timed once for comparison.

Run: .venv/bin/python benchmarks/bench_medimages.py
"""
from __future__ import annotations

import os
import time

import numpy as np

from medlab import io as mio
from medlab.datasets import DATA_DIR, load_lung_ct
from medlab.widgets.medimages import (dicom_series_browser, hu_profile_explorer, load_dicom_series,
                                      resampling_explorer, voxel_inspector)

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
    print(f"CT {ct.array.shape} int16; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    rows = []

    def bench(widget: str, update: str, control, values):
        ms = time_updates(control, values)
        rows.append((widget, update, float(np.median(ms)), float(np.percentile(ms, 90)), len(ms)))

    w = voxel_inspector(ct, start_zyx=(17, 292, 170))
    bench("voxel inspector", "column x slider", w.controls["x"], list(range(150, 190, 2)))
    bench("voxel inspector", "row y slider", w.controls["y"], list(range(270, 310, 2)))
    bench("voxel inspector", "slice z slider", w.controls["z"], list(range(5, 25)))

    t = time.perf_counter()
    series = load_dicom_series(DATA_DIR / "lung_ct_dicom")
    load_ms = (time.perf_counter() - t) * 1000.0
    w = dicom_series_browser(series=series)
    bench("DICOM series browser", "file slider", w.controls["file"], list(range(2, 31)))

    w = hu_profile_explorer(ct)
    bench("HU profile", "row slider", w.controls["row"], list(range(200, 320, 6)))
    bench("HU profile", "slice slider", w.controls["slice"], list(range(5, 25)))

    w = resampling_explorer(ct)
    spacings = [0.65, 0.8, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0]
    for interp in ("linear", "nearest", "bspline"):
        w.controls["interpolator"].value = interp
        bench("resampling (coronal plane)", f"spacing slider, {interp}", w.controls["spacing"], spacings)
        ms = time_updates(w.controls["spacing"], [0.65, 0.7] * 5)
        rows.append(("resampling (coronal plane)", f"  finest 0.65/0.7 mm, {interp}", float(np.median(ms)),
                     float(np.percentile(ms, 90)), len(ms)))
    bench("resampling (coronal plane)", "interpolator dropdown", w.controls["interpolator"],
          ["linear", "nearest", "bspline"] * 3)

    full = {}
    for interp in ("linear", "bspline"):
        t = time.perf_counter()
        mio.resample_isotropic(ct.image, 2.0, interp)
        full[interp] = (time.perf_counter() - t) * 1000.0

    print(f"{'widget':<27} {'update':<28} {'median ms':>9} {'p90 ms':>7} {'n':>3} {'median/budget':>13}")
    for widget, update, med, p90, n in rows:
        flag = "" if med <= BUDGET_MS else "  over budget"
        print(f"{widget:<27} {update:<28} {med:9.1f} {p90:7.1f} {n:3d} {med / BUDGET_MS:13.2f}{flag}")
    print(f"\nload_dicom_series (30 files, once when the browser is built): {load_ms:.0f} ms")
    print(f"full-volume resample_isotropic at 2 mm, for comparison: linear {full['linear']:.0f} ms, "
          f"B-spline {full['bspline']:.0f} ms")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
