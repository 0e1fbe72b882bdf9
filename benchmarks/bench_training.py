"""Benchmark for 06_training_cnn: the article's model and the MedLab recipe over three seeds, the dashboard.

Run: .venv/bin/python benchmarks/bench_training.py [--quick] [--skip-models] [--skip-notebook] [--notebook-only] [--dashboard-only]

0. unit 05's SVM baseline re-measured (same split);
1. ``seed_cnn`` (the article's model), 10 epochs, batch 32, full PneumoniaMNIST-28 train split: wall and CPU
   time of ``fit``, test accuracy at 0.5 and AUC, seeds 0, 1, 2 (compare: the unit-05 SVM);
2. ``medlab_cnn`` with its documented defaults (``RECIPES["medlab_cnn"]``, early stopping on validation):
   training wall/CPU time, test AUC, accuracy at the threshold chosen on validation only, accuracy at 0.5,
   seeds 0, 1, 2. Goal: AUC >= 0.965, accuracy >= 0.90 (mean of 3 seeds), <= 60 s of training on 2 cores;
3. dashboard overhead: training images/s of a run driven by ``training_dashboard`` (live callback, redraws)
   against plain ``fit`` and plain ``model.fit`` in the same process and configuration; stop latency (ms from
   the Stop click to the end of the last batch), three times;
4. ``seed_cnn`` at 256x256 on ``chestxray256``: training images/s (2 epochs on the 400 training images) and
   inference images/s (the 180 test images);
5. peak RSS of the notebook's kernel (the notebook run top to bottom by nbclient in a fresh kernel).

Runs are saved into a temporary folder (never datasets/ nor notebooks/runs/). The machine is shared: wall
times include waiting for a core; CPU time (all threads of this process) is reported next to them, and the
load average before and after.
"""
from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from medlab import training as T  # noqa: E402
from medlab.datasets import load_chestxray256, load_pneumoniamnist  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = (0, 1, 2)
QUICK = "--quick" in sys.argv


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def timed_fit(model, train, val, **kw):
    c0 = time.process_time()
    run = T.fit(model, train, val, **kw)
    return run, time.process_time() - c0


def scores(run, val, test) -> dict[str, float]:
    pv = run.predict(val[0])
    thr = T.choose_threshold(val[1], pv)
    pt = run.predict(test[0])
    at_thr = T.evaluate(test[1], pt, thr)
    at_half = T.evaluate(test[1], pt, 0.5)
    return {"auc": at_thr["auc"], "acc_thr": at_thr["accuracy"], "acc_05": at_half["accuracy"], "thr": thr}


def table(name: str, rows: list[dict]) -> None:
    keys = ["seed", "epochs", "wall_s", "cpu_s", "ips", "auc", "acc_05", "acc_thr", "thr"]
    print(f"\n{name}")
    print("  " + "  ".join(f"{k:>8s}" for k in keys))
    for r in rows:
        print("  " + "  ".join(f"{r[k]:8.3f}" if isinstance(r[k], float) else f"{r[k]:>8}" for k in keys))
    for k in ("wall_s", "cpu_s", "auc", "acc_05", "acc_thr"):
        v = np.array([r[k] for r in rows])
        print(f"  mean {k:8s} {v.mean():.3f} +- {v.std():.3f}  (min {v.min():.3f}, max {v.max():.3f})")


def bench_svm() -> None:
    """Unit 05's SVM baseline, re-measured with its own protocol (seed 0), for the comparison."""
    from medlab import classical as C

    t = time.perf_counter()
    data, names = C.dataset_features("pneumoniamnist")
    (xtr, ytr), (xva, yva), (xte, yte) = data["train"], data["val"], data["test"]
    res = C.svm_baseline(xtr, ytr, xva, yva, xte, yte, names, seed=0, importance_repeats=0)
    m = res.test_metrics
    print(f"\nunit-05 SVM (re-measured, seed 0): test accuracy {m['accuracy']:.3f}, AUC {m['roc_auc']:.3f} "
          f"({time.perf_counter() - t:.0f} s incl. features; {load()})")


def bench_models(tmp: Path) -> None:
    x, y = load_pneumoniamnist("train")
    val = load_pneumoniamnist("val")
    test = load_pneumoniamnist("test")
    for kind in ("seed_cnn", "medlab_cnn"):
        rows = []
        for seed in SEEDS[:1] if QUICK else SEEDS:
            model = T.build_model(kind, (28, 28, 1), seed=seed)
            run, cpu = timed_fit(model, (x, y), val, seed=seed, run_dir=tmp)
            rows.append({"seed": seed, "epochs": run.epochs_run, "wall_s": run.wall_time_s, "cpu_s": cpu,
                         "ips": run.images_per_s, **scores(run, val, test)})
            print(f"  {kind} seed {seed}: {rows[-1]}  ({load()})", flush=True)
        table(f"{kind}: defaults {T.RECIPES[kind]}, full train split (4,708), test 624", rows)


def bench_dashboard(tmp: Path) -> None:
    import keras

    from medlab.widgets.training import training_dashboard

    x, y = load_pneumoniamnist("train")
    val = load_pneumoniamnist("val")
    idx = np.random.default_rng(0).permutation(len(x))[:2048]
    epochs = 2
    print(f"\ndashboard overhead: seed_cnn, 2,048 images, {epochs} epochs, batch 32 ({load()})")
    ex = training_dashboard("seed_cnn", n_train=2048, epochs=epochs, run_dir=tmp)
    ex.click("train")
    ex.state["thread"].join()
    dash = ex.state["runs"][-1]
    plain = T.fit(T.seed_cnn((28, 28, 1)), (x[idx], y[idx]), val, epochs=epochs, batch_size=32, run_dir=tmp)
    m = T.seed_cnn((28, 28, 1))
    xs = T.prepare_images(x[idx])
    m.fit(xs[:64], y[idx][:64].astype("float32"), epochs=1, batch_size=32, verbose=0)   # trace first
    t = time.perf_counter()
    m.fit(xs, y[idx].astype("float32"), validation_data=(T.prepare_images(val[0]), val[1].astype("float32")),
          epochs=epochs, batch_size=32, verbose=0)
    keras_ips = epochs * len(xs) / (time.perf_counter() - t)
    print(f"  images/s  dashboard {dash.images_per_s:8.0f}   fit() {plain.images_per_s:8.0f}   "
          f"model.fit (incl. validation) {keras_ips:8.0f}")
    print(f"  dashboard slower than fit() by {100 * (1 - dash.images_per_s / plain.images_per_s):.1f} %")
    lat = []
    for k in range(3):
        ex.controls["epochs"].value = 30
        ex.click("train")
        t0 = time.perf_counter()
        while ex.state["live"].step < 5 and time.perf_counter() - t0 < 300:
            time.sleep(0.05)
        time.sleep(0.3 * k)
        ex.click("stop")
        ex.state["thread"].join()
        lat.append(ex.state.get("stop_latency_ms", float("nan")))
    print(f"  stop latency (click -> end of last batch): {', '.join(f'{v:.0f}' for v in lat)} ms; "
          f"status {[r.status for r in ex.state['runs'][-3:]]}")


def bench_256(tmp: Path) -> None:
    xtr, ytr, _, _ = load_chestxray256("train")
    xva, yva, _, _ = load_chestxray256("val")
    xte, yte, _, _ = load_chestxray256("test")
    print(f"\nseed_cnn at 256x256 on chestxray256 ({load()})")
    model = T.seed_cnn((256, 256, 1))
    run, cpu = timed_fit(model, (xtr, ytr), (xva, yva), epochs=2, run_dir=tmp)
    t = time.perf_counter()
    c = time.process_time()
    p = run.predict(xte, batch_size=32)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    ev = T.evaluate(yte, p)
    print(f"  params {model.count_params():,}; train {run.images_per_s:.1f} images/s (fit wall {run.wall_time_s:.1f} s, "
          f"CPU {cpu:.1f} s, 2 epochs); inference {len(xte) / dt:.1f} images/s (CPU {dc:.2f} s for {len(xte)})")
    print(f"  after 2 epochs: test AUC {ev['auc']:.3f}, accuracy@0.5 {ev['accuracy']:.3f} (a few epochs on CPU; "
          "shortcut cues exist, see datasets/README.md)")
    m28 = T.seed_cnn((28, 28, 1))
    x28 = T.prepare_images(load_pneumoniamnist("test")[0])
    m28.predict(x28[:32], verbose=0)
    t = time.perf_counter()
    m28.predict(x28, batch_size=32, verbose=0)
    print(f"  28x28 model: {m28.count_params():,} params, inference {len(x28) / (time.perf_counter() - t):.0f} images/s")


def bench_notebook_rss() -> None:
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "notebooks" / "06_training_cnn.ipynb"
    if not path.exists():
        print("\nnotebook 06 not found; skipped")
        return
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}})
        t = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\nnotebook 06 top to bottom: {wall:.1f} s wall; peak RSS of the kernel (largest child) {rss:.0f} MiB "
          f"(goal <= 1024) ({load()})")


def main() -> None:
    if "--notebook-only" in sys.argv:
        bench_notebook_rss()
        return
    if "--dashboard-only" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            bench_dashboard(Path(tmp))
        return
    print(f"bench_training ({load()}, {os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "--skip-models" not in sys.argv:
            bench_svm()
            bench_models(tmp)
        bench_dashboard(tmp)
        bench_256(tmp)
    if "--skip-notebook" not in sys.argv:
        # in a fresh process, so that the only child whose peak RSS is counted is the notebook's kernel
        import subprocess

        out = subprocess.run([sys.executable, __file__, "--notebook-only"], capture_output=True, text=True)
        print("\n".join(line for line in out.stdout.splitlines() if line.strip()))
    print(f"\ndone ({load()})")


if __name__ == "__main__":
    main()
