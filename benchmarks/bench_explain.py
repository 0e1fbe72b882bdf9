"""Time of each explanation method of ``medlab.explain`` for one 28 px image and for a batch of 64.

Model: the article's CNN at 28 x 28 (``medlab.training.seed_cnn``; timings do not depend on training).
One image: ``explain(model, x, method)``; a batch: ``explain_batch(model, images, method)`` for 64 test
images of PneumoniaMNIST (saliency, gradient x input and Grad-CAM run as one batched pass; the others
image by image). The first call of each method on a model traces its TensorFlow graph; it is reported
separately ("first call") and left out of the medians. Wall and CPU (process) time are both reported:
the machine is often shared, and CPU time is the work itself.

Run: .venv/bin/python benchmarks/bench_explain.py [--repeats N]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import load_average, time_calls  # noqa: E402

import numpy as np  # noqa: E402

from medlab import explain as ex, training  # noqa: E402
from medlab.datasets import load_pneumoniamnist  # noqa: E402

METHODS = {  # method -> keyword arguments (the defaults of medlab.explain unless named)
    "saliency": {}, "gradient_x_input": {}, "grad_cam": {}, "smoothgrad": {"n": 25},
    "integrated_gradients": {"steps": 50}, "occlusion": {"patch": 4, "stride": 2}, "edge_detector": {},
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed calls per method for one image")
    ap.add_argument("--batch-repeats", type=int, default=2, help="timed calls per method for the batch")
    args = ap.parse_args()
    x, _ = load_pneumoniamnist("test")
    images = training.prepare_images(x[:64])
    model = training.seed_cnn((28, 28, 1), seed=0)
    one = images[:1]
    print(f"load average before: {load_average()}")
    print(f"{'method':22s} {'first call':>11s} | {'one image: median / p95 wall, CPU':>38s} | "
          f"{'batch of 64: median wall, CPU':>30s}")
    for method, kw in METHODS.items():
        t0 = time.perf_counter()
        ex.explain(model, one, method, **kw)
        first = (time.perf_counter() - t0) * 1e3
        single = time_calls(lambda k: ex.explain(model, one, method, **kw), repeats=args.repeats, warmup=1)
        batch = time_calls(lambda k: ex.explain_batch(model, images, method, **kw), repeats=args.batch_repeats,
                           warmup=1)
        print(f"{method:22s} {first:9.0f} ms | {single.median_ms:8.1f} / {single.p95_ms:7.1f} ms, "
              f"CPU {single.cpu_median_ms:7.1f} ms | {batch.median_ms:9.0f} ms, CPU {batch.cpu_median_ms:7.0f} ms",
              flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    ex.cascading_randomization(model, one, method_kwargs={"integrated_gradients": {"steps": 16}})
    print(f"cascading_randomization (5 methods, 3 layers): {time.perf_counter() - t0:.1f} s wall, "
          f"{time.process_time() - c0:.1f} s CPU")
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
