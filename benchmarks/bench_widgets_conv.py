"""Median milliseconds per update of the convolution/pooling widgets (goal <= 100 ms on 512x512).

An "update" is exactly what happens when a learner moves a control: the builder's observer
runs the pure compute function, renders, encodes the PNG and sets the ipywidgets.Image. We
time ``control.value = ...`` alternating between two values (no kernel or browser needed).

Run: .venv/bin/python benchmarks/bench_widgets_conv.py
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from medlab.widgets import conv as wc  # noqa: E402

REPEATS = 15
BUDGET_MS = 100.0


def time_updates(control, values, repeats: int = REPEATS) -> float:
    control.value = values[1]  # warm-up
    times = []
    for k in range(repeats):
        t = time.perf_counter()
        control.value = values[k % 2]
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def main() -> int:
    t = time.perf_counter()
    wc.lung_slice(), wc.chest_xray(), wc._tf()
    print(f"one-time set-up (load CT + X-ray, import TensorFlow): {time.perf_counter() - t:.1f} s")
    rows = []
    st = wc.conv_stepper()
    rows.append(("conv stepper (8x8 patch)", "Step", time_updates(st.controls["step"], [3, 17])))
    rows.append(("conv stepper", "Dilation", time_updates(st.controls["dilation"], [1, 2])))
    ke = wc.kernel_explorer()
    rows.append(("kernel explorer, CT 512x512", "Preset", time_updates(ke.controls["preset"], ["sobel_x", "gaussian"])))
    rows.append(("kernel explorer, CT 512x512", "kernel cell", time_updates(ke.controls["cells"][4], [1.0, 2.0])))
    ke.controls["image"].value = "chest X-ray"
    rows.append(("kernel explorer, X-ray 512x512", "Gain", time_updates(ke.controls["gain"], [1.0, 1.5])))
    pe = wc.pooling_explorer()
    rows.append(("pooling explorer, CT 512x512", "Pool size", time_updates(pe.controls["size"], [2, 3])))
    rows.append(("pooling explorer, CT 512x512", "Shift (px)", time_updates(pe.controls["shift"], [1, 3])))
    ne = wc.nodule_pooling_explorer()
    rows.append(("nodule pooling, CT 512x512", "Nodule (px)", time_updates(ne.controls["diameter"], [3.0, 8.0])))
    rows.append(("nodule pooling, CT 512x512", "Pool depth", time_updates(ne.controls["depth"], [1, 3])))
    rf = wc.receptive_field_explorer()
    rows.append(("receptive field, CT 512x512", "Blocks", time_updates(rf.controls["blocks"], [2, 4])))
    print(f"{'widget':<34}{'control':<14}{'median ms':>10}{'/ budget':>10}")
    worst = 0.0
    for name, control, ms in rows:
        worst = max(worst, ms)
        print(f"{name:<34}{control:<14}{ms:>10.1f}{ms / BUDGET_MS:>10.2f}")
    print(f"slowest update: {worst:.1f} ms (budget {BUDGET_MS:.0f} ms) -> {'met' if worst <= BUDGET_MS else 'NOT met'}")
    return 0 if worst <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
