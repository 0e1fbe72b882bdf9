"""Environment check for the welcome notebook: package versions, TensorFlow devices, data files.

>>> rows = package_versions()
>>> rows[0]["package"]
'python'
"""
from __future__ import annotations

import importlib
import os
import platform
import re
import sys

__all__ = ["REQUIREMENTS", "package_versions", "check_environment", "tensorflow_devices"]

#: import name -> (distribution name, minimum version); mirrors pyproject.toml.
REQUIREMENTS: dict[str, tuple[str, str]] = {
    "numpy": ("numpy", "1.26"),
    "scipy": ("scipy", "1.11"),
    "matplotlib": ("matplotlib", "3.8"),
    "PIL": ("pillow", "10.0"),
    "skimage": ("scikit-image", "0.22"),
    "sklearn": ("scikit-learn", "1.4"),
    "SimpleITK": ("SimpleITK", "2.3"),
    "pydicom": ("pydicom", "2.4"),
    "pywt": ("PyWavelets", "1.5"),
    "tqdm": ("tqdm", "4.66"),
    "ipywidgets": ("ipywidgets", "8.1"),
    "tensorflow": ("tensorflow", "2.16"),
    "keras": ("keras", "3.0"),
}


def _version_tuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split("."):
        m = re.match(r"\d+", part)
        if not m:
            break
        out.append(int(m.group()))
        if m.end() < len(part):  # "0rc1": keep 0, stop at the pre-release tag
            break
    return tuple(out)


#: Imported only in a subprocess: TensorFlow alone costs ~630 MiB and ~8 s in the kernel that imports it, and
#: the welcome notebook needs neither (issue 13: 00 fell from 846 to ~390 MiB peak).
HEAVY = frozenset({"tensorflow", "keras"})


def _installed_version(dist: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        if dist == "tensorflow":  # tensorflow-cpu / tensorflow[and-cuda] install under other names
            for alt in ("tensorflow-cpu", "tensorflow-intel", "tf-nightly"):
                try:
                    return metadata.version(alt)
                except metadata.PackageNotFoundError:
                    pass
        raise


def package_versions() -> list[dict]:
    """One row per required package: installed version, minimum, and whether it is OK.

    Light packages are imported (so a broken install shows up here); TensorFlow and Keras are only looked up
    (their distribution metadata and their module on the path): :func:`tensorflow_devices` imports TensorFlow
    in a separate process.
    """
    import importlib.util
    rows = [{"package": "python", "installed": platform.python_version(), "minimum": "3.10",
             "ok": sys.version_info >= (3, 10)}]
    for module, (dist, minimum) in REQUIREMENTS.items():
        try:
            if module in HEAVY and module not in sys.modules:
                if importlib.util.find_spec(module) is None:
                    raise ModuleNotFoundError(f"No module named {module!r}")
                version = _installed_version(dist)
            else:
                mod = importlib.import_module(module)
                version = getattr(mod, "__version__", None) or getattr(mod, "Version", lambda: "?")()
            ok = _version_tuple(str(version)) >= _version_tuple(minimum)
        except Exception as e:  # noqa: BLE001 - report any import failure, never crash the check
            version, ok = f"not importable ({type(e).__name__}: {e})", False
        rows.append({"package": dist, "installed": str(version), "minimum": minimum, "ok": ok})
    return rows


def check_environment() -> list[dict]:
    """Return :func:`package_versions`; raise ``RuntimeError`` with a fix if anything is missing."""
    rows = package_versions()
    bad = [r for r in rows if not r["ok"]]
    if bad:
        lines = "\n".join(f"  - {r['package']}: installed {r['installed']}, need >= {r['minimum']}" for r in bad)
        raise RuntimeError(
            "MedLab's environment is incomplete:\n" + lines +
            "\nFix: in the MedLab folder run `make lab` (it installs everything into .venv), "
            "or `conda env create -f environment.yml`, then restart this kernel.")
    return rows


_DEVICE_PROBE = ("import json, tensorflow as tf; "
                 "print(json.dumps([d.device_type + ':' + d.name.rsplit(':', 1)[-1] "
                 "for d in tf.config.list_physical_devices()]))")


def tensorflow_devices(timeout_s: float = 180.0) -> list[str]:
    """Names and types of the devices TensorFlow can use, e.g. ``['CPU:0']``.

    If this kernel has not imported TensorFlow, the check runs in a child Python process (the same
    interpreter), so the ~630 MiB TensorFlow costs are paid there and returned to the system when it ends.
    Raises ``RuntimeError`` with TensorFlow's own message and a fix if it cannot be imported.
    """
    import json
    import subprocess
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        return [f"{d.device_type}:{d.name.rsplit(':', 1)[-1]}" for d in tf.config.list_physical_devices()]
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        out = subprocess.run([sys.executable, "-c", _DEVICE_PROBE], capture_output=True, text=True,
                             timeout=timeout_s, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"importing TensorFlow took more than {timeout_s:.0f} s; the machine may be "
                           "overloaded: try again, or restart the kernel") from None
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = "\n".join(out.stderr.strip().splitlines()[-5:])
        raise RuntimeError("TensorFlow could not be imported:\n" + tail +
                           "\nFix: in the MedLab folder run `make lab` (it installs everything into .venv), "
                           "then restart this kernel.")
    return list(json.loads(lines[-1]))
