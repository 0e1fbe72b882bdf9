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


def package_versions() -> list[dict]:
    """One row per required package: installed version, minimum, and whether it is OK."""
    rows = [{"package": "python", "installed": platform.python_version(), "minimum": "3.10",
             "ok": sys.version_info >= (3, 10)}]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for module, (dist, minimum) in REQUIREMENTS.items():
        try:
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


def tensorflow_devices() -> list[str]:
    """Names and types of the devices TensorFlow can use, e.g. ``['CPU:0']``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return [f"{d.device_type}:{d.name.rsplit(':', 1)[-1]}" for d in tf.config.list_physical_devices()]
