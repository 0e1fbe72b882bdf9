"""Core work behind 01_medical_images' widgets that is not a widget update (those: ``bench_widgets.py``).

* ``io.load_dicom_series`` on the embedded 30-file series (once, when the DICOM browser is built);
* ``io.coronal_plane_resampled`` (one coronal plane from a 17-row slab: what the resampling widget does per
  move) against ``io.resample_isotropic`` of the whole volume, per interpolator, at 0.65 mm (the finest the
  widget allows), 2 mm and 8 mm.

Wall and CPU milliseconds (the machine is shared: CPU time is the work itself).
Run: .venv/bin/python benchmarks/bench_medical_images.py [--repeats N]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import load_average, time_calls  # noqa: E402

from medlab import io as mio  # noqa: E402
from medlab.datasets import DATA_DIR, load_lung_ct  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    ct = load_lung_ct()
    print(f"CT {ct.array.shape} int16; load average {load_average()} at start\n")
    folder = DATA_DIR / "lung_ct_dicom"
    t = time_calls(lambda k: mio.load_dicom_series(folder), repeats=args.repeats)
    print(f"{'load_dicom_series (30 files, headers + pixels)':<58} {t}")
    y_mm = 300 * ct.spacing[1]
    air = float(ct.array.min())  # the widget passes the fill value once; without it each call scans the volume
    for interp in mio.INTERPOLATORS:
        for spacing in (0.65, 2.0, 8.0):
            t = time_calls(lambda k: mio.coronal_plane_resampled(ct.image, spacing, y_mm, interp, air),
                           repeats=args.repeats)
            print(f"{f'coronal_plane_resampled {interp:<8} {spacing:4.2f} mm':<58} {t}")
        t = time_calls(lambda k: mio.resample_isotropic(ct.image, 2.0, interp, air), repeats=3)
        print(f"{f'  whole volume: resample_isotropic {interp:<8} 2.00 mm':<58} {t}")
    print(f"\nload average {load_average()} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
