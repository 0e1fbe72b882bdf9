"""Slice-viewer update time on the 512x512x30 lung CT, end to end (compute + redraw).

Measures the design choice made once for the whole series: numpy compositing + PNG bytes into an
``ipywidgets.Image`` versus redrawing a matplotlib figure (artist.set_data + Agg draw, which is
what ipympl does on the kernel side) and versus re-creating a matplotlib figure per update.

Run: .venv/bin/python benchmarks/bench_viewer.py
"""
from __future__ import annotations

import io
import statistics
import time

import numpy as np

from medlab import datasets
from medlab.display import window_level
from medlab.widgets import slice_viewer
from medlab.widgets._render import FigureRenderer


def median_ms(fn, repeat: int = 30) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000


def main() -> None:
    ct = datasets.load_lung_ct()
    mask = ct.mask()
    viewer = slice_viewer(ct, mask=mask)
    c = viewer.controls
    state = {"k": 0}

    def move(control, values):
        def step():
            state["k"] += 1
            control.value = values[state["k"] % len(values)]  # a real trait change -> observer -> render
        return step

    rows = [
        ("widget: axial slice slider (mask + boxes)", move(c["slice"], list(range(10, 22)))),
        ("widget: window slider", move(c["window"], [400.0, 800.0, 1200.0, 1600.0])),
        ("widget: level slider", move(c["level"], [-700.0, -500.0, -300.0, 40.0])),
    ]
    c["view"].value = "coronal"
    rows.append(("widget: coronal slice slider (371x512)", move(c["slice"], list(range(250, 300)))))
    results = [(name, median_ms(fn)) for name, fn in rows]
    c["view"].value = "axial"

    # alternative 1: a persistent matplotlib figure, set_data + Agg draw to PNG (ipympl-like)
    r = FigureRenderer(figsize=(6.4, 6.4), dpi=80)
    ax = r.fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    im = ax.imshow(window_level(ct.array[15], 1500, -600), cmap="gray", vmin=0, vmax=1)

    def mpl_persistent():
        state["k"] += 1
        im.set_data(window_level(ct.array[10 + state["k"] % 12], 1500, -600))
        r.png()

    # alternative 2: a new matplotlib figure per update (the naive interact() pattern)
    def mpl_new_figure():
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        state["k"] += 1
        fig, ax2 = plt.subplots(figsize=(6.4, 6.4), dpi=80)
        ax2.imshow(window_level(ct.array[10 + state["k"] % 12], 1500, -600), cmap="gray")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)

    base = results[0][1]
    alt = [("alternative: persistent matplotlib figure, set_data + draw", median_ms(mpl_persistent, 15)),
           ("alternative: new matplotlib figure per update", median_ms(mpl_new_figure, 10))]
    print(f"{'update':<62}{'median ms':>10}{'x ours':>9}")
    for name, ms in results + alt:
        print(f"{name:<62}{ms:>10.1f}{ms / base:>9.2f}")
    print(f"goal: <= 50 ms per slice-viewer update; worst widget update here: {max(ms for _, ms in results):.1f} ms")


if __name__ == "__main__":
    np.random.seed(0)
    main()
