"""The series' rendering design choice, measured: numpy compositing + PNG bytes vs matplotlib redraws.

One axial / coronal slice of the 512x512x30 lung CT with the box mask and boxes, rendered the way every
MedLab widget does it (``display.render_slice`` composes RGB in numpy, ``render.to_png`` encodes it; the
widget then sets the bytes on an ``ipywidgets.Image``), against (1) a persistent matplotlib figure,
``set_data`` + Agg draw to PNG (what ipympl does on the kernel side) and (2) a new matplotlib figure per
update (the naive ``interact()`` pattern). The widget updates themselves (observer included) are timed by
``bench_widgets.py``. Wall and CPU ms; the machine is shared, so CPU time is the work itself.

Run: .venv/bin/python benchmarks/bench_viewer.py [--repeats N]
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import load_average, time_calls  # noqa: E402

from medlab import datasets  # noqa: E402
from medlab.display import render_slice, window_level  # noqa: E402
from medlab.render import FigureRenderer, to_png  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args(argv)
    ct = datasets.load_lung_ct()
    mask = ct.mask()
    vol, sp = ct.array, ct.spacing
    print(f"load average {load_average()} at start")

    def ours(view: str, lo: int, n: int):
        return lambda k: to_png(render_slice(vol, sp, view, lo + k % n, 1500, -600, mask=mask, boxes=ct.boxes))

    r = FigureRenderer(figsize=(6.4, 6.4), dpi=80)
    ax = r.fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    im = ax.imshow(window_level(vol[15], 1500, -600), cmap="gray", vmin=0, vmax=1)

    def mpl_persistent(k: int) -> None:
        im.set_data(window_level(vol[10 + k % 12], 1500, -600))
        r.png()

    def mpl_new_figure(k: int) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax2 = plt.subplots(figsize=(6.4, 6.4), dpi=80)
        ax2.imshow(window_level(vol[10 + k % 12], 1500, -600), cmap="gray")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)

    rows = [("ours: axial 512x512, mask + boxes -> PNG", time_calls(ours("axial", 10, 12), args.repeats)),
            ("ours: coronal 371x512 (stretched), mask + boxes -> PNG", time_calls(ours("coronal", 250, 50),
                                                                                   args.repeats)),
            ("alternative: persistent matplotlib figure, set_data + draw", time_calls(mpl_persistent,
                                                                                       max(5, args.repeats // 2))),
            ("alternative: new matplotlib figure per update", time_calls(mpl_new_figure, max(5, args.repeats // 2)))]
    base = rows[0][1]
    print(f"{'update':<60}{'median ms':>10}{'p95 ms':>8}{'CPU ms':>8}{'x ours (CPU)':>14}")
    for name, t in rows:
        print(f"{name:<60}{t.median_ms:>10.1f}{t.p95_ms:>8.1f}{t.cpu_median_ms:>8.1f}"
              f"{t.cpu_median_ms / base.cpu_median_ms:>14.2f}")
    print(f"load average {load_average()} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
