#!/usr/bin/env python3
"""Peak kernel memory (VmHWM) per notebook, and which cells raise it.

Each notebook runs top to bottom in a fresh kernel (nbclient, this environment's python3 kernel, its folder
as working directory); after every cell the kernel's VmHWM (peak resident set) and VmRSS are read from
/proc/<pid>/status. The table gives the peak per notebook, whether TensorFlow was imported, the wall and
kernel CPU time, and the cells that raised the peak most. Budget (issue 13): ≤ 1 GiB for every notebook,
≤ 600 MiB for a notebook that does not use TensorFlow.

    python benchmarks/bench_memory.py                      # every notebook
    python benchmarks/bench_memory.py 04 00 --cells 5      # some notebooks, top 5 cells each
    python benchmarks/bench_memory.py --edition student    # build/student/ instead of notebooks/

Timings on the shared 2-core machine are under load; memory is not.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MIB, LIMIT_NO_TF_MIB = 1024, 600
PROBE = "import sys as _s; print('__tf__' if 'tensorflow' in _s.modules else '__notf__')"


def _status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(rest.split()[0]) * 1024
    return out


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(path: Path, timeout: int = 600) -> dict:
    """Run ``path`` in a fresh kernel; return peak memory, per-cell peaks, TF import, wall and CPU time."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    env = dict(os.environ)
    env.pop("MEDLAB_HEADLESS", None)
    cells, errors = [], []
    t0 = time.monotonic()
    with client.setup_kernel(env=env):
        pid = client.km.provisioner.process.pid
        base = _status(pid)["VmHWM"]
        prev = base
        for k, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, k)
            if any(o.get("output_type") == "error" for o in cell.outputs) and \
                    "raises-exception" not in cell.metadata.get("tags", []):
                errors.append(k)
            st = _status(pid)
            cells.append({"cell": k, "hwm": st["VmHWM"], "rss": st["VmRSS"], "rise": st["VmHWM"] - prev,
                          "first_line": cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""})
            prev = st["VmHWM"]
        probe = nbformat.v4.new_code_cell(PROBE)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
        tf = any("__tf__" in o.get("text", "") for o in probe.outputs)
        cpu = _cpu_s(pid)
    return {"notebook": path.name, "peak": prev, "start": base, "tf": tf, "wall": time.monotonic() - t0,
            "cpu": cpu, "cells": cells, "errors": errors}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="numbers (04) or paths; default: all")
    ap.add_argument("--edition", choices=("source", "student"), default="source")
    ap.add_argument("--cells", type=int, default=3, help="top cells by rise to list per notebook (0..20)")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    if not 0 <= args.cells <= 20:
        ap.error("--cells must be in 0..20")
    folder = ROOT / ("notebooks" if args.edition == "source" else "build/student")
    every = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not every:
        ap.error(f"no notebooks in {folder}" + (" (run `make student`)" if args.edition == "student" else ""))
    paths = [Path(n) for n in args.notebooks if n.endswith(".ipynb") and Path(n).is_file()]
    numbers = [n for n in args.notebooks if not n.endswith(".ipynb")]
    chosen = paths + [p for p in every if not args.notebooks or any(p.name.startswith(n) for n in numbers)]
    if args.notebooks and not chosen:
        ap.error(f"no notebook matches {args.notebooks}")
    results = []
    print(f"{'notebook':<34}{'peak MiB':>9}{'TF':>4}{'budget':>8}{'wall s':>8}{'CPU s':>7}  ok")
    for p in chosen:
        r = measure(p)
        results.append(r)
        budget = LIMIT_MIB if r["tf"] else LIMIT_NO_TF_MIB
        ok = r["peak"] / 2**20 <= budget and not r["errors"]
        print(f"{p.name:<34}{r['peak'] / 2**20:9.0f}{'yes' if r['tf'] else 'no':>4}{budget:8d}"
              f"{r['wall']:8.1f}{r['cpu']:7.1f}  {'ok' if ok else 'OVER' if not r['errors'] else 'ERR'}"
              + (f"  errors in cells {r['errors']}" if r["errors"] else ""))
        for c in sorted(r["cells"], key=lambda c: -c["rise"])[:args.cells]:
            print(f"    cell {c['cell']:>3}: +{c['rise'] / 2**20:6.0f} MiB -> {c['hwm'] / 2**20:5.0f}  {c['first_line']}")
        sys.stdout.flush()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
