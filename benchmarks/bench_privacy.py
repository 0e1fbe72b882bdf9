"""Unit 11 (privacy): de-identification throughput, the encoded table, the diff against dicognito,
FedAvg and DP-SGD tables, and the notebook under nbval.

Every number is measured here (wall and CPU seconds; the machine is shared, so CPU time is the work
itself). The 64-slice series is read from ``datasets/lung_ct2_dicom`` when it exists, else from
``../shared/datasets/lung_ct2_dicom`` (read-only). Inputs are only read; outputs go to a temporary folder.

Run: .venv/bin/python benchmarks/bench_privacy.py [--skip-training] [--skip-notebook] [--seeds 0 1]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from medlab import _annex_e  # noqa: E402
from medlab import privacy as P  # noqa: E402


def _series() -> list[tuple[str, Path]]:
    ct1 = ROOT / "datasets" / "lung_ct_dicom"
    ct2 = ROOT / "datasets" / "lung_ct2_dicom"
    if not ct2.exists():
        ct2 = ROOT.parent / "shared" / "datasets" / "lung_ct2_dicom"
    return [("lung_ct_dicom (30 slices)", ct1), (f"lung_ct2_dicom ({ct2.parent.parent.name}/datasets)", ct2)]


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def bench_deid(tmp: Path) -> None:
    print(f"## De-identification (PS3.15 {_annex_e.EDITION}: {P.PROFILE_SIZE} attributes in Table E.1-1, "
          f"{len(P.OPTIONS)} options implemented: {', '.join(P.OPTIONS)})\n")
    print("| series | files | report | wall s | CPU s | files/s (wall) | files/s (CPU) |")
    print("|---|---|---|---|---|---|---|")
    for name, folder in _series():
        if not folder.exists():
            print(f"| {name} | missing: {folder} | | | | | |")
            continue
        before = _hashes(folder)
        for detailed in (True, False):
            out = tmp / f"deid-{folder.name}-{detailed}"
            rep, wall, cpu = _timed(lambda: P.deidentify(folder, out, key="bench", report=detailed))
            n = len(rep.files)
            print(f"| {name} | {n} | {'per attribute' if detailed else 'summary'} | {wall:.2f} | {cpu:.2f} | "
                  f"{n / wall:.1f} | {n / cpu:.1f} |")
        assert _hashes(folder) == before, "input modified"
        opts = tmp / f"deid-{folder.name}-options"
        rep, wall, cpu = _timed(lambda: P.deidentify(folder, opts, key="bench",
                                                    options=["modified_dates", "patient_characteristics"]))
        print(f"| {name} | {len(rep.files)} | + modified dates, patient characteristics | {wall:.2f} | {cpu:.2f} | "
              f"{len(rep.files) / wall:.1f} | {len(rep.files) / cpu:.1f} |")
    print()


def bench_diff(tmp: Path) -> None:
    print("## Diff against dicognito (first file of each series; status per top-level attribute)\n")
    for name, folder in _series():
        if not folder.exists():
            continue
        ours = tmp / f"deid-{folder.name}-True"
        theirs = tmp / f"dicognito-{folder.name}"
        _, wall, cpu = _timed(lambda: P.run_dicognito(folder, theirs, seed="bench"))
        first = sorted(p.name for p in ours.iterdir())[0]
        rows = P.compare_outputs(folder / first, ours / first, theirs / first, ("medlab", "dicognito"))
        pairs = Counter((r["medlab"], r["dicognito"]) for r in rows)
        print(f"**{name}**, {first}: {len(rows)} attributes differ (dicognito: {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"for the series)\n")
        print("| medlab | dicognito | attributes | keywords |")
        print("|---|---|---|---|")
        for (a, b), n in sorted(pairs.items(), key=lambda kv: -kv[1]):
            kws = sorted({r["keyword"] for r in rows if (r["medlab"], r["dicognito"]) == (a, b)})
            print(f"| {a} | {b} | {n} | {', '.join(kws)} |")
        left_ours = Counter(f.kind for f in P.audit(ours / first))
        left_theirs = Counter(f.kind for f in P.audit(theirs / first))
        print(f"\naudit of the outputs: medlab {dict(left_ours) or 'nothing'}; dicognito {dict(left_theirs)}\n")


def bench_fedavg(seeds: list[int]) -> None:
    x, y, xt, yt = P.pneumonia_data()
    cfg = P.FED_DEFAULTS
    rounds = 5
    print(f"## FedAvg vs local-only vs central (test AUC after {rounds} rounds; hospitals {cfg['sizes']} images, "
          f"pneumonia fractions {cfg['positive']} at heterogeneity 1; batch {cfg['batch_size']}, "
          f"lr {cfg['learning_rate']}; 300 test images)\n")
    print("| heterogeneity | local epochs | seed | federated | central | alone (H1, H2, H3) | wall s | CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for h in (0.0, 1.0):
        for e in (1, 2):
            for seed in seeds:
                clients = P.hospital_splits(x, y, sizes=cfg["sizes"], positive=cfg["positive"], heterogeneity=h,
                                            seed=seed)
                r, wall, cpu = _timed(lambda: P.compare_federated(
                    clients, (xt, yt), rounds=rounds, local_epochs=e, batch_size=cfg["batch_size"],
                    learning_rate=cfg["learning_rate"], seed=seed))
                alone = ", ".join(f"{loc[-1]:.3f}" for loc in r["local"])
                print(f"| {h:g} | {e} | {seed} | {r['federated'][-1]:.3f} | {r['central'][-1]:.3f} | {alone} | "
                      f"{wall:.1f} | {cpu:.1f} |")
    print()


def bench_dp(seeds: list[int]) -> None:
    x, y, xt, yt = P.pneumonia_data()
    n, epochs, batch, delta = 1024, 3, 64, 1e-5
    print(f"## DP-SGD (the article's CNN; {n} training images, {epochs} epochs, batch {batch}, delta {delta:g}; "
          "epsilon from dp-accounting's RDP accountant; 300 test images)\n")
    print("| clip C | lr | noise σ | seed | epsilon | test AUC | wall s | CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for clip, lr in ((1.0, 0.5), (4.0, 0.5)):
        for noise in (0.0, 0.5, 1.0, 2.0):
            for seed in seeds:
                r, wall, cpu = _timed(lambda: P.dp_sgd_train(
                    x[:n], y[:n], clip_norm=clip, noise_multiplier=noise, epochs=epochs, batch_size=batch,
                    learning_rate=lr, seed=seed, delta=delta, test=(xt, yt)))
                print(f"| {clip:g} | {lr:g} | {noise:g} | {seed} | {r.epsilon:.3g} | {r.history[-1]:.3f} | "
                      f"{wall:.1f} | {cpu:.1f} |")
    print()


def bench_notebook() -> None:
    nb = ROOT / "notebooks" / "11_privacy.ipynb"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", str(nb), "-q",
                           "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    last = [line for line in proc.stdout.splitlines() if "passed" in line or "failed" in line][-1:]
    print("## Notebook 11 under nbval\n")
    print(f"{nb.name}: {wall:.1f} s wall, {cpu:.1f} s CPU (pytest + kernel), peak RSS of a child "
          f"{after.ru_maxrss / 1024:.0f} MiB; {' '.join(last) or proc.stdout[-300:]}; load average "
          f"{os.getloadavg()[0]:.1f}\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-training", action="store_true")
    ap.add_argument("--skip-notebook", action="store_true")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = ap.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores, shared)\n")
    with tempfile.TemporaryDirectory(prefix="bench-privacy-") as tmp:
        bench_deid(Path(tmp))
        bench_diff(Path(tmp))
    if not args.skip_training:
        bench_fedavg(args.seeds)
        bench_dp(args.seeds)
    if not args.skip_notebook:
        bench_notebook()
    print("Widget controls: `benchmarks/bench_widgets.py tag_browser date_shift_explorer fedavg_explorer dp_explorer`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
