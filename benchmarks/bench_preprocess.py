"""The core work behind 04_preprocessing on the embedded CT: what is fast enough for a slider, what needs a button.

Widget update times (every control of every 04 widget) are measured by ``benchmarks/bench_widgets.py``; this
script times the core functions themselves, to show why the widgets are built as they are: the denoising
widget works on a 256x256 crop (filters on a full 512x512 slice), region growing previews in 2-D and grows
in 3-D behind a button, and ``lung_mask`` runs once when the stepper is built.

Run: .venv/bin/python benchmarks/bench_preprocess.py [--repeats N]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import load_average, time_calls  # noqa: E402

from medlab import preprocess as pp  # noqa: E402
from medlab.datasets import load_lung_ct, tumour_slice  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    r = args.repeats
    ct = load_lung_ct()
    vol = np.array(ct.array)
    box = ct.mask().astype(bool)
    plane = tumour_slice().astype(np.float64)
    crop, _ = pp.crop_center(plane, 256)
    b0 = ct.boxes[0]
    seed2d = ((b0.row0 + b0.row1) // 2, (b0.col0 + b0.col1) // 2)
    seed3d = (b0.slice_index,) + seed2d
    print(f"CT {vol.shape} int16; load average {load_average()} at start (the machine is shared: wall time "
          "includes waiting for a core, CPU time is the work)\n")
    rows = [
        ("denoise median r=2, 512x512 slice", lambda k: pp.denoise(plane, "median", 2), r),
        ("denoise median r=2, 256x256 crop", lambda k: pp.denoise(crop, "median", 2), r),
        ("denoise curvature flow 3 it., 512x512", lambda k: pp.denoise(plane, "curvature_flow", 3), r),
        ("denoise curvature flow 3 it., 256x256", lambda k: pp.denoise(crop, "curvature_flow", 3), r),
        ("CLAHE, 512x512 slice", lambda k: pp.clahe(plane, 0.01, in_range=(-1000, 400)), r),
        ("otsu_threshold, 512x512 slice", lambda k: pp.otsu_threshold(plane), r),
        ("region_grow 2-D (label), one slice", lambda k: pp.region_grow(vol[b0.slice_index], seed2d, -300, 200), r),
        ("region_grow 2-D (queue), one slice", lambda k: pp.region_grow(vol[b0.slice_index], seed2d, -300, 200,
                                                                        method="queue"), r),
        ("region_grow 3-D (label), whole CT", lambda k: pp.region_grow(vol, seed3d, -300, 200), r),
        ("grow_from_box 3-D, constrained", lambda k: pp.grow_from_box(vol, box, -300, 200, roi_margin=0), r),
        ("grow_from_box 3-D, free", lambda k: pp.grow_from_box(vol, box, -300, 200), r),
        ("lung_mask, whole CT", lambda k: pp.lung_mask(vol, ct.spacing), max(1, r // 3)),
    ]
    print(f"{'core function':42s} {'median':>8s} {'p95':>8s} {'cpu':>7s}   (ms)")
    for name, fn, n in rows:
        t = time_calls(fn, repeats=n)
        print(f"{name:42s} {t.median_ms:8.1f} {t.p95_ms:8.1f} {t.cpu_median_ms:7.1f}", flush=True)
    print(f"\nload average {load_average()} at end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
