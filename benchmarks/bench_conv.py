"""Speed of convolution: the naive loops vs medlab.ops.conv2d (vectorised numpy) vs tf.nn.conv2d.

All inputs float32, numpy in / numpy out for every contender (as in the notebooks and widgets).
conv2d and tf.nn.conv2d: median of REPEATS runs after one warm-up (benchmarks/_timing.py: wall and CPU ms).
conv2d_naive (pure Python loops, single channel only) is timed ONCE per case -- it takes seconds -- and is not
run on the multi-channel layer (it would take minutes); its per-multiply-add time is printed instead.
The widget timings of 02/03 are measured by benchmarks/bench_widgets.py.
Goal from the issue: conv2d <= 3x tf.nn.conv2d on 512x512 with a 3x3 kernel.

Run: .venv/bin/python benchmarks/bench_conv.py
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import load_average, time_calls  # noqa: E402

from medlab import ops  # noqa: E402

REPEATS = 20
GOAL = 3.0


def median_ms(fn, repeats: int = REPEATS) -> tuple[float, float]:
    """Median wall and CPU ms after one warm-up (TensorFlow builds its kernels on the first call)."""
    t = time_calls(lambda k: fn(), repeats=repeats, warmup=1)
    return t.median_ms, t.cpu_median_ms


def once_ms(fn) -> float:
    return time_calls(lambda k: fn(), repeats=1, warmup=0).median_ms


def main() -> int:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    cases = [("256x256, 3x3", (256, 256, 1), (3, 3, 1, 1)), ("256x256, 7x7", (256, 256, 1), (7, 7, 1, 1)),
             ("512x512, 3x3", (512, 512, 1), (3, 3, 1, 1)), ("512x512, 7x7", (512, 512, 1), (7, 7, 1, 1)),
             ("64x64x32 -> 64, 3x3", (64, 64, 32), (3, 3, 32, 64))]
    print(f"threads: TensorFlow intra-op {tf.config.threading.get_intra_op_parallelism_threads() or 'default'}, "
          f"cpu count {os.cpu_count()}, load average {load_average()} (the machine may be shared: CPU ms is the work)")
    print(f"{'case':<22}{'naive ms':>11}{'conv2d ms':>11}{'(CPU)':>8}{'tf ms':>9}{'(CPU)':>8}{'naive/tf':>10}"
          f"{'conv2d/tf':>11}  max|diff|")
    goal_ratio = None
    for name, xs, ws in cases:
        x = rng.standard_normal((1,) + xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        ref = tf.nn.conv2d(x, w, 1, "VALID").numpy()
        ours = ops.conv2d(x, w)
        diff = float(np.abs(ours - ref).max())
        t_tf, cpu_tf = median_ms(lambda: tf.nn.conv2d(x, w, 1, "VALID").numpy())
        t_ours, cpu_ours = median_ms(lambda: ops.conv2d(x, w))
        if ws[2] == 1 and ws[3] == 1:
            t_naive = once_ms(lambda: ops.conv2d_naive(x[0, :, :, 0], w[:, :, 0, 0]))
            naive_s, naive_r = f"{t_naive:>11.0f}", f"{t_naive / t_tf:>10.0f}"
            macs = ref.size * ws[0] * ws[1]
            note = f"  (naive: 1 run, {t_naive * 1e6 / macs:.0f} ns per multiply-add)"
        else:
            naive_s, naive_r, note = f"{'skipped':>11}", f"{'-':>10}", "  (naive: single-channel only, not run)"
        ratio = t_ours / t_tf
        if name == "512x512, 3x3":
            goal_ratio = ratio
        print(f"{name:<22}{naive_s}{t_ours:>11.2f}{cpu_ours:>8.2f}{t_tf:>9.2f}{cpu_tf:>8.2f}{naive_r}{ratio:>11.2f}  "
              f"{diff:.1e}{note}", flush=True)
    ok = goal_ratio is not None and goal_ratio <= GOAL
    print(f"goal conv2d <= {GOAL:.0f}x tf.nn.conv2d on 512x512 3x3: {goal_ratio:.2f}x -> {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
