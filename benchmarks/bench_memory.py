#!/usr/bin/env python3
"""Peak kernel memory (VmHWM) per notebook, and which cells raise it.

Each notebook runs top to bottom in a fresh kernel (nbclient, this environment's python3 kernel, its folder
as working directory); after every cell the kernel's VmHWM (peak resident set) and VmRSS are read from
/proc/<pid>/status. The table gives the peak per notebook, whether TensorFlow was imported, the wall and
kernel CPU time, and the cells that raised the peak most. Budget (issue 13): ≤ 1 GiB for every notebook,
≤ 600 MiB for a notebook that does not use TensorFlow. A notebook may do its TensorFlow work in a worker
process (``medlab.runtime.run_in_worker``, 09 §6): the TF column then says ``wkr``, the TF budget applies, and
the worker's own peak is listed (it runs while the kernel waits; on a hub with a per-user cgroup both count,
which ``--hard-limit`` measures: the kernel's children are born inside the cgroup too).

    python benchmarks/bench_memory.py                      # every notebook
    python benchmarks/bench_memory.py 04 00 --cells 5      # some notebooks, top 5 cells each
    python benchmarks/bench_memory.py --edition student    # build/student/ instead of notebooks/
    sudo python benchmarks/bench_memory.py 09 --hard-limit 1024   # also inside a 1 GiB memory cgroup

``--hard-limit MIB`` (root, cgroup v1 memory controller) runs each kernel inside a memory cgroup capped at MIB,
as a JupyterHub/Kubernetes per-user limit does, after dropping the page cache so the kernel is charged for the
library pages it reads. It reports the cgroup's peak charge (anonymous memory plus the page cache the kernel
pulled in), how often the cap was hit (the kernel then reclaims clean file pages, e.g. TensorFlow's 350 MiB of
mapped library code) and whether the kernel was OOM-killed. VmHWM counts those file pages as resident even
though they can be dropped under a cap, so the two figures answer different questions: VmHWM is the issue's
budget; the cgroup run shows whether a class server with that per-user cap would kill the notebook. Under the
cap the kernel's file pages are reclaimed, so VmHWM measured *inside* it comes out lower: take the budget
figure from a run without ``--hard-limit``. The peak charge reaches the cap whenever a notebook reads files
(the page cache is charged too, and reclaimed when the cap is hit): the columns that matter are the OOM kills
and whether the notebook finished.

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
PROBE = ("import sys as _s, json as _j; print('__tf__' if 'tensorflow' in _s.modules else '__notf__'); "
         "_r = _s.modules.get('medlab.runtime'); print('__workers__' + _j.dumps(_r.WORKER_LOG if _r else []))")


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


CGROUP_V1 = Path("/sys/fs/cgroup/memory")


class HardLimit:
    """A cgroup-v1 memory cgroup capped at ``mib``. The benchmark moves itself into it, so every kernel it
    starts is born inside (its whole life is charged); the benchmark's own ~70 MiB (nbclient, zmq) is charged
    too, which makes the test stricter than a per-user limit on the kernel alone."""

    def __init__(self, mib: int):
        if not (CGROUP_V1 / "cgroup.procs").exists() or os.geteuid() != 0:
            raise SystemExit("--hard-limit needs root and the cgroup v1 memory controller at /sys/fs/cgroup/memory")
        self.dir = CGROUP_V1 / f"medlab_bench_{os.getpid()}"
        self.dir.mkdir(exist_ok=True)
        (self.dir / "memory.limit_in_bytes").write_text(str(int(mib) * 2**20))
        line = next(x for x in Path("/proc/self/cgroup").read_text().splitlines() if ":memory:" in x)
        self.parent = CGROUP_V1 / line.split(":memory:", 1)[1].lstrip("/")
        (self.dir / "cgroup.procs").write_text(str(os.getpid()))

    def reset(self) -> None:
        try:  # the page cache is charged to whoever reads a page first: start each notebook from an empty cache
            os.sync()
            Path("/proc/sys/vm/drop_caches").write_text("1")
        except OSError:
            pass
        for name in ("memory.max_usage_in_bytes", "memory.failcnt"):
            (self.dir / name).write_text("0")
        self.oom0 = self._oom()

    def _oom(self) -> int:
        oom = dict(line.split() for line in (self.dir / "memory.oom_control").read_text().splitlines())
        return int(oom.get("oom_kill", 0))

    def close(self) -> None:
        """Move the benchmark back to its own cgroup and remove the capped one."""
        (self.parent / "cgroup.procs").write_text(str(os.getpid()))
        for _ in range(50):
            try:
                self.dir.rmdir()
                return
            except OSError:  # the last kernel may still be exiting
                time.sleep(0.2)

    def read(self) -> dict:
        return {"cg_peak": int((self.dir / "memory.max_usage_in_bytes").read_text()),
                "cg_hits": int((self.dir / "memory.failcnt").read_text()), "oom_kill": self._oom() - self.oom0}


def measure(path: Path, timeout: int = 600, cg: HardLimit | None = None) -> dict:
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
    killed = False
    if cg is not None:
        cg.reset()
    with client.setup_kernel(env=env):
        pid = client.km.provisioner.process.pid
        base = _status(pid)["VmHWM"]
        prev = base
        for k, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, k)
            except Exception as exc:  # noqa: BLE001 - a dead kernel (OOM kill) ends the run, reported
                if not client.km.is_alive():
                    killed = True
                    errors.append(k)
                    break
                raise
            if not Path(f"/proc/{pid}").exists():
                killed = True
                break
            if any(o.get("output_type") == "error" for o in cell.outputs) and \
                    "raises-exception" not in cell.metadata.get("tags", []):
                errors.append(k)
            st = _status(pid)
            cells.append({"cell": k, "hwm": st["VmHWM"], "rss": st["VmRSS"], "rise": st["VmHWM"] - prev,
                          "first_line": cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""})
            prev = st["VmHWM"]
        tf, cpu, workers = False, float("nan"), []
        if not killed:
            probe = nbformat.v4.new_code_cell(PROBE)
            nb.cells.append(probe)
            client.execute_cell(probe, len(nb.cells) - 1)
            text = "".join(o.get("text", "") for o in probe.outputs)
            tf = "__tf__" in text
            workers = json.loads(text.split("__workers__", 1)[1].strip()) if "__workers__" in text else []
            cpu = _cpu_s(pid)
        limit = cg.read() if cg is not None else {}
    return {"notebook": path.name, "peak": prev, "start": base, "tf": tf, "workers": workers,
            "wall": time.monotonic() - t0, "cpu": cpu, "cells": cells, "errors": errors, "killed": killed, **limit}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="numbers (04) or paths; default: all")
    ap.add_argument("--edition", choices=("source", "student"), default="source")
    ap.add_argument("--cells", type=int, default=3, help="top cells by rise to list per notebook (0..20)")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--hard-limit", type=int, default=None, metavar="MIB",
                    help="also run each kernel in a memory cgroup capped at MIB (root, cgroup v1)")
    args = ap.parse_args(argv)
    if not 0 <= args.cells <= 20:
        ap.error("--cells must be in 0..20")
    if args.hard_limit is not None and not 256 <= args.hard_limit <= 16384:
        ap.error("--hard-limit must be in 256..16384 MiB")
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
    print(f"{'notebook':<34}{'peak MiB':>9}{'TF':>4}{'budget':>8}{'wall s':>8}{'CPU s':>7}  ok"
          + (f"   in a {args.hard_limit} MiB cgroup: peak charge MiB, cap hits, OOM kills "
             "(VmHWM is lowered by the cap's reclaim here: budget figures come from a run without --hard-limit)"
             if args.hard_limit else ""))
    cg = HardLimit(args.hard_limit) if args.hard_limit else None
    for p in chosen:
        r = measure(p, cg=cg)
        results.append(r)
        # a notebook whose TensorFlow work runs in a worker process (medlab.runtime.run_in_worker) uses
        # TensorFlow: its budget is the TF one, and the worker's own peak is printed below it
        tf_worker = any(w["tensorflow"] for w in r["workers"])
        budget = LIMIT_MIB if r["tf"] or tf_worker else LIMIT_NO_TF_MIB
        ok = r["peak"] / 2**20 <= budget and not r["errors"]
        print(f"{p.name:<34}{r['peak'] / 2**20:9.0f}{'yes' if r['tf'] else 'wkr' if tf_worker else 'no':>4}{budget:8d}"
              f"{r['wall']:8.1f}{r['cpu']:7.1f}  {'ok' if ok else 'OVER' if not r['errors'] else 'ERR'}"
              + (f"  errors in cells {r['errors']}" if r["errors"] else "")
              + (f"   {r['cg_peak'] / 2**20:.0f}, {r['cg_hits']}, {r['oom_kill']}"
                 + ("  KILLED" if r["killed"] else "") if args.hard_limit else ""))
        for w in r["workers"]:
            print(f"    worker {w['fn']}: peak {w['peak_mib']} MiB, {w['wall_s']:.1f} s, TensorFlow "
                  f"{'yes' if w['tensorflow'] else 'no'} (a separate process: its memory is freed when it exits)")
        for c in sorted(r["cells"], key=lambda c: -c["rise"])[:args.cells]:
            print(f"    cell {c['cell']:>3}: +{c['rise'] / 2**20:6.0f} MiB -> {c['hwm'] / 2**20:5.0f}  {c['first_line']}")
        sys.stdout.flush()
    if cg is not None:
        cg.close()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
