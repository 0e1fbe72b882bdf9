"""The paired CNN-vs-SVM table of unit 07, on PneumoniaMNIST and BreastMNIST (label 0 = malignant is positive).

For each dataset, :func:`medlab.evaluation.paired_models` trains the article's CNN (``seed_cnn``) and the SVM of
05 on the **same** seed-shuffled training images and scores both on the same validation and test images. Each
model's threshold is chosen on validation (Youden's J); the test split is then evaluated once:

* ROC AUC with its 95 % DeLong interval;
* accuracy, sensitivity, specificity at the validation-chosen threshold with 95 % Wilson intervals;
* the paired tests on the test images: McNemar (exact) on the two sets of predictions, DeLong on the two AUCs.

Also the time of the evaluation functions themselves on the 624 PneumoniaMNIST test scores (wall and CPU ms).

Run: .venv/bin/python benchmarks/bench_evaluation.py [--datasets pneumoniamnist breastmnist]
     [--n-train N|all] [--epochs-pneumonia 5] [--epochs-breast 20] [--seed 0] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from _timing import load_average, time_calls  # noqa: E402

from medlab import evaluation as E  # noqa: E402


def paired_table(P: E.PairedScores) -> dict:
    """Every number of the paired table for one dataset."""
    out = {"dataset": P.dataset, "positive": P.positive, "positive_name": P.class_names[P.positive],
           "n_test": int(len(P.y_test)), "n_test_positive": int(np.sum(P.y_test == P.positive)),
           "n_train": P.info["n_train"], "cnn_epochs": P.info["cnn"]["epochs"], "svm_params": P.info["svm"]["params"],
           "train_seconds": {"cnn": P.info["cnn"]["seconds"], "svm": P.info["svm"]["seconds"]}, "models": {}}
    preds = {}
    for model in ("cnn", "svm"):
        pv, pt = P.scores(model, "val"), P.scores(model, "test")
        t = E.choose_threshold(P.y_val, pv, rule="youden", positive=P.positive)
        m = E.metrics(P.y_test, pt, t, P.positive)
        iv = E.metric_intervals(m)
        auc = E.roc_auc_ci(P.y_test, pt, method="delong", positive=P.positive)
        pred1 = (pt >= t).astype(int)                       # predicted label
        preds[model] = pred1
        out["models"][model] = {"threshold": t, "auc": auc,
                                **{k: {"value": m[k], "low": iv[k][0], "high": iv[k][1]}
                                   for k in ("accuracy", "sensitivity", "specificity")},
                                "counts": {k: m[k] for k in ("tp", "fp", "tn", "fn")}}
    mc = E.mcnemar(P.y_test, preds["cnn"], preds["svm"])
    dl = E.delong_test(P.y_test, P.cnn_test, P.svm_test, positive=P.positive)
    out["mcnemar"] = {"statistic": mc["statistic"], "p": mc["p"], "table": mc["table"].tolist()}
    out["delong"] = dl
    return out


def print_table(r: dict) -> None:
    print(f"\n## {r['dataset']}: positive = label {r['positive']} ({r['positive_name']}); test {r['n_test']} images, "
          f"{r['n_test_positive']} positive; both models trained on the same {r['n_train']} images "
          f"(CNN seed_cnn {r['cnn_epochs']} epochs in {r['train_seconds']['cnn']:.0f} s; SVM {r['svm_params']} in "
          f"{r['train_seconds']['svm']:.0f} s incl. features; wall time)")
    print("| model | threshold (val, Youden) | ROC AUC [95 % DeLong] | accuracy [95 % Wilson] | sensitivity | specificity |")
    print("|---|---|---|---|---|---|")
    for name, m in r["models"].items():
        a = m["auc"]
        cell = lambda k: f"{m[k]['value']:.3f} [{m[k]['low']:.3f}, {m[k]['high']:.3f}]"
        print(f"| {name.upper()} | {m['threshold']:.4f} | {a['auc']:.3f} [{a['low']:.3f}, {a['high']:.3f}] | "
              f"{cell('accuracy')} | {cell('sensitivity')} | {cell('specificity')} |")
    mc, dl = r["mcnemar"], r["delong"]
    print(f"McNemar (exact) CNN vs SVM: table {mc['table']}, statistic {mc['statistic']:.0f}, p = {mc['p']:.4f}; "
          f"DeLong: AUC difference CNN - SVM {dl['delta']:+.4f}, z = {dl['z']:.2f}, p = {dl['p']:.4f}")


def time_functions(P: E.PairedScores) -> list[tuple[str, object]]:
    y, p, q = P.y_test, P.cnn_test, P.svm_test
    calls = {
        "metrics": lambda k: E.metrics(y, p, 0.5),
        "roc_auc": lambda k: E.roc_auc(y, p),
        "roc_curve": lambda k: E.roc_curve(y, p),
        "roc_auc_ci delong": lambda k: E.roc_auc_ci(y, p),
        "roc_auc_ci bootstrap 2000": lambda k: E.roc_auc_ci(y, p, method="bootstrap", n_boot=2000),
        "delong_test": lambda k: E.delong_test(y, p, q),
        "mcnemar": lambda k: E.mcnemar(y, (p >= 0.5).astype(int), (q >= 0.5).astype(int)),
        "calibration_curve": lambda k: E.calibration_curve(y, p, 10),
        "temperature_scale": lambda k: E.temperature_scale(P.y_val, P.cnn_val),
        "choose_threshold": lambda k: E.choose_threshold(P.y_val, P.cnn_val),
        "net_benefit (100 thresholds)": lambda k: E.net_benefit(y, p, np.linspace(0, 0.99, 100)),
    }
    return [(name, time_calls(fn, repeats=3 if "bootstrap" in name else 15)) for name, fn in calls.items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="*", default=["pneumoniamnist", "breastmnist"])
    ap.add_argument("--n-train", default="all", help="training images for both models, or 'all'")
    ap.add_argument("--epochs-pneumonia", type=int, default=5)
    ap.add_argument("--epochs-breast", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args(argv)
    n_train = None if args.n_train == "all" else int(args.n_train)
    print(f"# bench_evaluation (load average {load_average()} at start; wall times include waiting for a core)")
    results = []
    for ds in args.datasets:
        epochs = args.epochs_pneumonia if ds == "pneumoniamnist" else args.epochs_breast
        t, c = time.perf_counter(), time.process_time()
        P = E.paired_models(ds, seed=args.seed, n_train=n_train, epochs=epochs)
        r = paired_table(P)
        r["seconds"] = {"wall": time.perf_counter() - t, "cpu": time.process_time() - c}
        print_table(r)
        results.append(r)
        if ds == "pneumoniamnist":
            print("\nevaluation functions on the 624 test scores:")
            for name, timing in time_functions(P):
                print(f"  {name:30s} {timing}")
    print(f"\nload average at the end {load_average()}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
