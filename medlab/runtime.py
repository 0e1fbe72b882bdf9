"""Run-time switches read from the environment (no ipywidgets, no TensorFlow).

``MEDLAB_HEADLESS=1`` is for graders and CI jobs that only need the answers: every registered widget builder
returns a light :class:`medlab.widgets._explorer.HeadlessWidget` (no data precomputed, nothing drawn), and
:func:`medlab.training.fit` trains at most :data:`HEADLESS_MAX_EPOCHS` epoch. The exercise checks in
``medlab.exercises`` do not depend on it. ``make test`` never sets it: the notebooks are tested with live
widgets and full training.

>>> import os
>>> os.environ.pop("MEDLAB_HEADLESS", None) and None
>>> headless()
False
"""
from __future__ import annotations

import os
from typing import Any, Callable

__all__ = ["HEADLESS_MAX_EPOCHS", "MAX_WORKER_S", "WORKER_LOG", "headless", "run_in_worker"]

HEADLESS_MAX_EPOCHS = 1
#: Longest a worker process may run (s) before :func:`run_in_worker` gives up on it and stops it.
MAX_WORKER_S = 1800.0
#: One entry per finished :func:`run_in_worker` call of this process: ``{"fn", "wall_s", "peak_mib",
#: "tensorflow"}`` (the worker's own VmHWM and whether it imported TensorFlow), read by benchmarks/bench_memory.py.
WORKER_LOG: list[dict] = []
_TRUE = {"1", "true", "yes", "on"}


def headless() -> bool:
    """True when ``MEDLAB_HEADLESS`` is set to 1/true/yes/on (read at each call, so it can be toggled)."""
    return os.environ.get("MEDLAB_HEADLESS", "").strip().lower() in _TRUE


def run_in_worker(fn: Callable[..., Any], /, *args: Any, timeout_s: float = 600.0, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` run in a fresh Python process; its (picklable) result comes back.

    Why: TensorFlow takes ~440 MiB of resident memory the moment it is imported and never gives it back. A
    notebook that needs it for one step (09 §6 trains two small CNNs) can do that step in a worker: the
    worker imports TensorFlow, trains, returns numpy arrays and exits, and its memory is freed with it, so
    the kernel stays small. The worker is a new interpreter (``sys.executable``, not a fork of the kernel and
    its threads) with the same ``sys.path``, working directory and environment; the call and its result go
    through pickle files in a temporary folder. ``fn`` must be importable (a module-level function);
    arguments and result must pickle. An exception in the worker is raised here; a worker that dies (e.g.
    killed for memory) or runs longer than ``timeout_s`` (it is then stopped) raises ``RuntimeError`` with
    the end of its error output. Used in 09 §6.

    >>> run_in_worker(sum, [1, 2, 3])
    6
    """
    import pickle
    import subprocess
    import sys
    import tempfile
    import time
    from pathlib import Path

    from ._validate import check_float

    if not callable(fn) or getattr(fn, "__name__", "<lambda>") == "<lambda>":
        raise TypeError(f"fn must be a module-level function (importable by name), got {fn!r}")
    timeout_s = check_float(timeout_s, "timeout_s", 0.0, MAX_WORKER_S, low_open=True)
    name = getattr(fn, "__qualname__", repr(fn))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="medlab-worker-") as tmp:
        call, result = Path(tmp) / "call.pkl", Path(tmp) / "result.pkl"
        try:
            call.write_bytes(pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL))
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            raise TypeError(f"fn and its arguments must pickle to go to a worker: {e}") from e
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            proc = subprocess.run([sys.executable, "-c", "from medlab.runtime import _worker_main; _worker_main()",
                                   str(call), str(result)], env=env, cwd=os.getcwd(), timeout=timeout_s,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except subprocess.TimeoutExpired:   # subprocess.run has killed the worker
            raise RuntimeError(f"the worker running {name} took longer than timeout_s={timeout_s:g} s and was "
                               "stopped; give it a larger timeout_s or less work") from None
        if not result.exists():
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"the worker running {name} died (exit code {proc.returncode}) before it finished: "
                               "killed for memory or by a signal, or it could not start. Its last error lines: "
                               + " | ".join(tail))
        ok, value, peak_kib, tf_loaded = pickle.loads(result.read_bytes())
    WORKER_LOG.append({"fn": name, "wall_s": round(time.perf_counter() - t0, 2), "peak_mib": round(peak_kib / 1024),
                       "tensorflow": tf_loaded})
    if ok:
        return value
    raise value


def _worker_main() -> None:
    """Entry point of the worker of :func:`run_in_worker`: read the call, run it, write ``(ok, value)``."""
    import pickle
    import sys

    call, result = sys.argv[1], sys.argv[2]
    with open(call, "rb") as f:
        fn, args, kwargs = pickle.load(f)
    try:
        out = (True, fn(*args, **kwargs))
    except Exception as e:  # noqa: BLE001 - every failure goes back to the caller, raised there
        out = (False, e)
    peak_kib = 0
    try:
        with open("/proc/self/status") as f:
            peak_kib = next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
    except OSError:  # not Linux: no peak figure
        pass
    extra = (peak_kib, "tensorflow" in sys.modules)
    try:
        data = pickle.dumps(out + extra, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # noqa: BLE001 - an unpicklable result or exception: its text goes back instead
        data = pickle.dumps((False, RuntimeError(f"the worker's {'result' if out[0] else 'error'} could not be "
                                                 f"sent back: {e}; was: {out[1]!r}"[:2000])) + extra)
    with open(result + ".tmp", "wb") as f:   # written whole, then renamed: a half-written result never counts
        f.write(data)
    os.replace(result + ".tmp", result)
