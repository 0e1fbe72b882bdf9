"""The one timing helper of ``benchmarks/``: wall and CPU milliseconds of repeated calls.

The 2-core machine is often shared: wall time includes waiting for a core, CPU time (process time, all
threads) is the work itself; both are reported. Percentiles are over the repeats.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Timing", "time_calls", "load_average"]


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p95_ms: float
    cpu_median_ms: float
    n: int

    def __str__(self) -> str:
        return f"median {self.median_ms:7.1f} ms  p95 {self.p95_ms:7.1f} ms  (CPU {self.cpu_median_ms:6.1f} ms, n={self.n})"


def time_calls(fn: Callable[[int], object], repeats: int = 15, warmup: int = 1) -> Timing:
    """Time ``fn(k)`` for k = 0..repeats-1 (after ``warmup`` untimed calls); ``k`` lets a caller alternate values."""
    for k in range(warmup):
        fn(repeats + k)
    wall, cpu = [], []
    for k in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn(k)
        wall.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    return Timing(float(np.median(wall)), float(np.percentile(wall, 95)), float(np.median(cpu)), repeats)


def load_average() -> str:
    """The 1-minute load average (how busy the machine was while measuring)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"
