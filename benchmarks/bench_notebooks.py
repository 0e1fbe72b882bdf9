"""Wall-clock run time of every notebook, top to bottom, in a fresh kernel (goal: <= 60 s each).

Runs on copies in a temporary folder, so no output is ever written into notebooks/.
Cells tagged ``raises-exception`` may raise; anything else that raises fails the run.

Run: .venv/bin/python benchmarks/bench_notebooks.py [notebooks/NN_x.ipynb ...]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 60.0


def run(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)  # in memory only: never saved back
    with tempfile.TemporaryDirectory() as tmp:
        # nbclient lets cells tagged raises-exception raise; any other error stops the run
        client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp}})
        t = time.perf_counter()
        client.execute()
        return time.perf_counter() - t


def main(paths: list[str]) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    nbs = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    worst = 0.0
    print(f"{'notebook':<36}{'seconds':>9}")
    for p in nbs:
        s = run(p)
        worst = max(worst, s)
        print(f"{p.name:<36}{s:>9.1f}{'' if s <= GOAL_S else '  over the 60 s goal'}", flush=True)
    print(f"slowest: {worst:.1f} s (goal <= {GOAL_S:.0f} s)")
    return 0 if worst <= GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
