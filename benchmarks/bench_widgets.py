"""Every control of every registered widget: median and p95 update time (compute + PNG encode).

An update is what happens when a learner moves a control: the explorer's one observer calls the frame,
encodes the PNG(s) and sets the ``ipywidgets.Image`` values. Each control alternates between values from
its spec (extremes and a middle, every option, both checkbox states); buttons are clicked (they are the
whole-volume / long actions, reported but not held to the slider budget).
Budget: p95 <= 100 ms per control update on 2 cores (goal <= 50 ms). Exits 1 over budget.

Run: .venv/bin/python benchmarks/bench_widgets.py [name ...] [--repeats N]
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import load_average, time_calls  # noqa: E402

from medlab.widgets import WIDGETS  # noqa: E402
from medlab.widgets._explorer import Button, spec_values  # noqa: E402

BUDGET_MS, GOAL_MS = 100.0, 50.0


def _wait_for_background_work(before: set, timeout_s: float = 300.0) -> float:
    """Join the threads a widget's buttons started (the training dashboard's Train runs a background thread), so
    they do not share the cores with the next widget's measurement. Returns the seconds waited.

    Only the kit's own workers (named ``medlab-...``): a library's service thread that lives as long as the
    process (tqdm's ``tqdm_monitor``) would otherwise be waited for until the timeout."""
    t0 = time.perf_counter()
    for th in [th for th in threading.enumerate() if th not in before and th.name.startswith("medlab-")]:
        th.join(max(0.0, timeout_s - (time.perf_counter() - t0)))
    return time.perf_counter() - t0


def bench_widget(name: str, repeats: int) -> list[tuple[str, str, float, float, float]]:
    before = set(threading.enumerate())
    t0 = time.perf_counter()
    ex = WIDGETS[name]()
    build_ms = (time.perf_counter() - t0) * 1e3
    rows = [(name, "(build)", build_ms, build_ms, float("nan"))]
    defaults = dict(ex.values)
    for cname, spec in ex.specs.items():
        if isinstance(spec, Button):
            t = time_calls(lambda k: ex.click(cname), repeats=max(3, repeats // 5), warmup=0)
            rows.append((name, f"{cname} [button]", t.median_ms, t.p95_ms, t.cpu_median_ms))
            continue
        values = [v for v in spec_values(spec) if v is not None] or spec_values(spec)
        if len(values) < 2:
            continue
        ctrl = ex.controls[cname]
        t = time_calls(lambda k: setattr(ctrl, "value", values[k % len(values)]), repeats=repeats)
        rows.append((name, cname, t.median_ms, t.p95_ms, t.cpu_median_ms))
        ex.set(**{cname: defaults[cname]})
    waited = _wait_for_background_work(before)
    if waited > 0.5:
        print(f"  ({name}: waited {waited:.1f} s for the work its buttons started in the background)")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*", help="widgets to measure (default: all registered)")
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    names = args.names or sorted(WIDGETS)
    unknown = [n for n in names if n not in WIDGETS]
    if unknown:
        print(f"unknown widget(s) {unknown}; registered: {sorted(WIDGETS)}")
        return 2
    print(f"{len(names)} widgets, load average {load_average()} at start; budget p95 <= {BUDGET_MS:.0f} ms "
          f"(goal {GOAL_MS:.0f} ms)")
    print(f"{'widget':32s} {'control':22s} {'median':>8s} {'p95':>8s} {'cpu':>7s}")
    over, all_rows = [], []
    for n in names:
        for row in bench_widget(n, args.repeats):
            all_rows.append(row)
            w, c, med, p95, cpu = row
            flag = ""
            if not c.startswith("(") and "[button]" not in c:
                if p95 > BUDGET_MS:
                    flag, _ = "  OVER BUDGET", over.append(row)
                elif p95 > GOAL_MS:
                    flag = "  (over goal)"
            print(f"{w:32s} {c:22s} {med:8.1f} {p95:8.1f} {cpu:7.1f}{flag}", flush=True)
    sliders = [r for r in all_rows if not r[1].startswith("(") and "[button]" not in r[1]]
    print("\nslowest ten controls by p95:")
    for w, c, med, p95, cpu in sorted(sliders, key=lambda r: -r[3])[:10]:
        print(f"  {w}.{c}: p95 {p95:.1f} ms (median {med:.1f}, CPU {cpu:.1f})")
    print(f"load average {load_average()} at end; {len(sliders)} controls, {len(over)} over budget")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
