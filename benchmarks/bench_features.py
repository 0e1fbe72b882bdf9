"""Benchmark for 05_features_svm (core only; the widgets are timed by bench_widgets.py).

Run: .venv/bin/python benchmarks/bench_features.py [--quick]

1. feature extraction over all 5,856 PneumoniaMNIST images (goal <= 20 s on 2 cores), vectorised
   (default) vs image by image, and BreastMNIST;
2. the SVM written out: ``classical.fit_svm_2d`` (what one update of the SVM explorer costs before drawing)
   and ``svm_decision_grid`` vs scikit-learn's ``decision_function`` on the 180x180 grid;
3. SVM baseline test metrics, mean +- sd over seeds 0, 1, 2 (the seed shuffles the training split and picks
   the optional subset), for PneumoniaMNIST and BreastMNIST (skipped with ``--quick``).

Wall and CPU milliseconds come from the one timing helper ``_timing.py`` (the machine is often shared).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import load_average, time_calls  # noqa: E402

from medlab import classical as C  # noqa: E402
from medlab import features as F  # noqa: E402
from medlab.datasets import load_breastmnist, load_pneumoniamnist  # noqa: E402
from medlab.samples import svm_feature_sample  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning)

SEEDS = (0, 1, 2)
EXTRACTION_GOAL_S = 20.0


def bench_extraction() -> None:
    x = np.concatenate([load_pneumoniamnist(s)[0] for s in ("train", "val", "test")])
    assert len(x) == 5856, len(x)
    vec = time_calls(lambda k: F.extract_features(x, progress=False), repeats=3, warmup=0)
    per = time_calls(lambda k: F.extract_features(list(x), progress=False), repeats=1, warmup=0)
    xb = np.concatenate([load_breastmnist(s)[0] for s in ("train", "val", "test")])
    breast = time_calls(lambda k: F.extract_features(xb, progress=False), repeats=1, warmup=0)
    n_features = len(F.extract_features(x[:2], progress=False))
    print(f"feature extraction, all {len(x)} PneumoniaMNIST images, {n_features} features:")
    print(f"  vectorised (median of 3): {vec.median_ms / 1e3:.2f} s wall, {vec.cpu_median_ms / 1e3:.2f} s CPU "
          f"({vec.median_ms / len(x):.2f} ms/image; {vec.median_ms / 1e3 / EXTRACTION_GOAL_S:.2f} of the "
          f"{EXTRACTION_GOAL_S:.0f} s goal)")
    print(f"  image by image          : {per.median_ms / 1e3:.2f} s wall, {per.cpu_median_ms / 1e3:.2f} s CPU "
          f"(vectorised is {per.median_ms / vec.median_ms:.1f}x faster)")
    print(f"  BreastMNIST, {len(xb)} images: {breast.median_ms / 1e3:.2f} s wall, {breast.cpu_median_ms / 1e3:.2f} s CPU")


def bench_svm_2d() -> None:
    Xtr, ytr, Xte, yte, names = svm_feature_sample(300, 0)
    cols = [names.index("glcm_contrast"), names.index("fo_mean")]
    a, b, c, d = Xtr[:, cols], ytr, Xte[:, cols], yte
    print(f"\nthe SVM on two features (300 train rows, {len(yte)} test rows, 180x180 grid):")
    for kernel, C_, gamma in (("rbf", 1.0, 0.5), ("rbf", 100.0, 10.0), ("linear", 1.0, "scale")):
        t = time_calls(lambda k: C.fit_svm_2d(a, b, c, d, kernel, C_, gamma), repeats=9)
        print(f"  fit_svm_2d {kernel:6s} C={C_:<6g} gamma={gamma!s:5s}: {t}")
    res = C.fit_svm_2d(a, b, c, d, "rbf", 1.0, 0.5)
    x0, x1, y0, y1 = res["extent"]
    gx, gy = np.linspace(x0, x1, 180), np.linspace(y0, y1, 180)
    mesh = np.column_stack([g.ravel() for g in np.meshgrid(gx, gy)])
    ours = time_calls(lambda k: C.svm_decision_grid(res["model"], gx, gy), repeats=15)
    ref = time_calls(lambda k: res["model"].decision_function(mesh), repeats=15)
    print(f"  svm_decision_grid (factorised RBF): {ours}")
    print(f"  sklearn decision_function on the mesh: {ref}  ({ref.median_ms / ours.median_ms:.1f}x slower)")


def bench_baseline(name: str, positive_label: int, n_train: int | None) -> tuple[dict, list, float]:
    data, names = C.dataset_features(name, progress=False)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = data["train"], data["val"], data["test"]
    runs, params = [], []
    t0 = time.perf_counter()
    for seed in SEEDS:
        res = C.svm_baseline(Xtr, ytr, Xva, yva, Xte, yte, names, seed=seed, n_train=n_train,
                             importance_repeats=0, positive_label=positive_label)
        runs.append(res.test_metrics)
        params.append(res.params)
    keys = ("accuracy", "sensitivity", "specificity", "f1", "roc_auc")
    out = {k: (float(np.mean([r[k] for r in runs])), float(np.std([r[k] for r in runs], ddof=1))) for k in keys}
    return out, params, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the SVM baselines over seeds")
    args = ap.parse_args(argv)
    print(f"# bench_features  (cpu count {os.cpu_count()}, load average {load_average()})\n")
    bench_extraction()
    bench_svm_2d()
    if not args.quick:
        for name, pos, n_train, label in [("pneumoniamnist", 1, None, "PneumoniaMNIST, full train (4708)"),
                                          ("pneumoniamnist", 1, 1000, "PneumoniaMNIST, 1000 train rows"),
                                          ("breastmnist", 0, None, "BreastMNIST (positive = malignant)")]:
            m, params, dt = bench_baseline(name, pos, n_train)
            print(f"\nSVM baseline, {label}; test metrics mean ± sd over seeds {SEEDS} ({dt:.1f} s wall):")
            for k, (mu, sd) in m.items():
                print(f"  {k:12s} {mu:.4f} ± {sd:.4f}")
            print(f"  chosen: {params}")
    print(f"\nload average {load_average()} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
