"""09/10 figures: patch extraction, heat-map time (one slice, the whole lung of one patient), the patient-split
table (SVM vs CNN both directions, DeLong AUC intervals, sensitivity/specificity at a validation-chosen
threshold) with the random-split numbers beside them, and the fusion table on the CT patient split.

Run: .venv/bin/python benchmarks/bench_case_study.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _timing import load_average  # noqa: E402

from medlab import classical, evaluation as E, fusion as FU, lungct as L, training  # noqa: E402
from medlab.datasets import load_lung_ct  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer negatives and epochs")
    args = ap.parse_args(argv)
    print(f"load average {load_average()} at start")
    t0 = time.perf_counter(); c0 = time.process_time()
    cases = {p: L.prepare(load_lung_ct(p)) for p in L.PATIENTS}
    print(f"prepare both patients (resample + lung masks): {time.perf_counter() - t0:.1f} s wall, "
          f"{time.process_time() - c0:.1f} s CPU")
    t0, c0 = time.perf_counter(), time.process_time()
    ps = L.patch_dataset(list(cases.values()), 32, 8, max_negatives=600 if args.quick else 1500, seed=0)
    print(f"patch extraction: {len(ps)} patches in {time.perf_counter() - t0:.2f} s wall, "
          f"{time.process_time() - c0:.2f} s CPU; {ps.counts()}")
    X, _ = L.patch_features(ps.patches)
    u8 = L.to_window_uint8(ps.patches)
    epochs = 4 if args.quick else 8
    rng = np.random.default_rng(0)
    print(f"\n{'test':6s} {'model':4s} {'split':8s} {'AUC [DeLong 95%]':>22s} {'sens [Wilson]':>20s} {'spec [Wilson]':>20s}")
    runs = {}
    for test_p in L.PATIENTS:
        test = ps.patient == test_p
        train_idx = np.flatnonzero(~test)
        val = np.zeros(len(ps), bool); val[rng.choice(train_idx, len(train_idx) // 5, replace=False)] = True
        fit_mask = ~test & ~val
        svm = classical.make_svm("rbf", C=1.0, seed=0).fit(X[fit_mask], ps.labels[fit_mask])
        run = training.fit(training.seed_cnn((32, 32, 1)), (u8[fit_mask], ps.labels[fit_mask]),
                           (u8[val], ps.labels[val]), epochs=epochs, batch_size=32, seed=0, class_weight="balanced")
        runs[test_p] = run
        y, yv = ps.labels[test], ps.labels[val]
        scores = {}
        for name, sv, st in (("SVM", svm.decision_function(X[val]), svm.decision_function(X[test])),
                             ("CNN", run.predict(u8[val]), run.predict(u8[test]))):
            lo, hi = min(sv.min(), st.min()), max(sv.max(), st.max())
            sv, st = (sv - lo) / (hi - lo), (st - lo) / (hi - lo)
            th = E.choose_threshold(yv, sv)
            m, ci = E.metrics(y, st, threshold=th), E.roc_auc_ci(y, st)
            iv = E.metric_intervals(m)
            scores[name] = (st, (st >= th).astype(int))
            print(f"{test_p:6s} {name:4s} {'patient':8s} {ci['auc']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]   "
                  f"{m['sensitivity']:.3f} [{iv['sensitivity'][0]:.2f}, {iv['sensitivity'][1]:.2f}] "
                  f"{m['specificity']:.3f} [{iv['specificity'][0]:.2f}, {iv['specificity'][1]:.2f}]  "
                  f"(threshold {th:.3f} chosen on validation, Youden)")
        dl = E.delong_test(y, scores["CNN"][0], scores["SVM"][0])
        mc = E.mcnemar(y, scores["CNN"][1], scores["SVM"][1])
        print(f"{'':6s} CNN - SVM: dAUC {dl['delta']:+.3f}, DeLong p {dl['p']:.3g}; McNemar p {mc['p']:.3g}; "
              f"{int(test.sum())} test patches, {int(y.sum())} tumour")
        tr, te = L.random_split(ps, test_p, 0.3, seed=0)
        Xtr, _ = L.patch_features(tr.patches); Xte, _ = L.patch_features(te.patches)
        s = classical.make_svm("rbf", C=1.0, seed=0).fit(Xtr, tr.labels).decision_function(Xte)
        ci = E.roc_auc_ci(te.labels, s)
        print(f"{test_p:6s} SVM  {'random':8s} {ci['auc']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]   (within one patient)")
    c1, run = cases["A0001"], runs["A0001"]
    k = c1.boxed_slices[len(c1.boxed_slices) // 2]
    lung_slices = [z for z in range(c1.hu.shape[0]) if c1.thorax[z].any()]
    print(f"\nheat maps on A0001 (CNN trained on A0002); load average {load_average()}")
    numpy_cnn = L.PatchCNN(run.model.get_weights())   # what 09 scores with (its CNNs train in a worker)
    scorers = {"keras_scorer": L.keras_scorer(run),
               "run.predict": lambda p: run.predict(L.to_window_uint8(p)),  # noqa: E731
               "PatchCNN": lambda p: numpy_cnn.predict(L.to_window_uint8(p))}  # noqa: E731
    for sname, scorer in scorers.items():
        scorer(np.zeros((8, 32, 32), np.float32))  # warm-up (graph tracing)
        for stride in (4, 8):
            t0, p0 = time.perf_counter(), time.process_time()
            hm = L.heatmap(scorer, c1, k, stride_mm=stride)
            print(f"  {sname:12s} one slice ({c1.hu.shape[1]}x{c1.hu.shape[2]} px at 1 mm = the 512x512 original), "
                  f"stride {stride} mm: {int(np.isfinite(hm.prob).sum())} patches in {time.perf_counter() - t0:.2f} s "
                  f"wall, {time.process_time() - p0:.2f} s CPU")
    scorer = scorers["keras_scorer"]
    for stride in (8, 16):
        t0, p0, n = time.perf_counter(), time.process_time(), 0
        for z in lung_slices:
            n += int(np.isfinite(L.heatmap(scorer, c1, z, stride_mm=stride).prob).sum())
        print(f"  keras_scorer whole lung of A0001 ({len(lung_slices)} slices, stride {stride} mm, {n} patches): "
              f"{time.perf_counter() - t0:.1f} s wall, {time.process_time() - p0:.1f} s CPU")
    te, tr = ps.patient == "A0001", ps.patient == "A0002"
    e_tr, e_te = FU.embedding(runs["A0001"].model, u8[tr]), FU.embedding(runs["A0001"].model, u8[te])
    early = FU.early_fusion({"cnn": e_tr, "radiomics": X[tr]}, ps.labels[tr])
    ci = E.roc_auc_ci(ps.labels[te], early.predict_proba(np.c_[e_te, X[te]]))
    print(f"fusion (train A0002, test A0001): early fusion AUC {ci['auc']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]")
    print(f"load average {load_average()} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
