"""Shared test set-up: quiet TensorFlow, headless matplotlib, and helpers for data copies."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (same seed -> same numbers); no example
# database is written into the checkout.
settings.register_profile("medlab", derandomize=True, database=None, deadline=None)
settings.load_profile("medlab")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of datasets/ that MEDLAB_DATA points to, so a test may damage it freely."""
    dst = tmp_path / "datasets"
    shutil.copytree(ROOT / "datasets", dst)
    monkeypatch.setenv("MEDLAB_DATA", str(dst))
    return dst


@pytest.fixture
def fresh_python():
    """Run ``code`` in a new interpreter (what a fresh kernel has imported); fail with its stderr if it fails."""
    import subprocess
    import sys

    def run(code: str, timeout: float = 120) -> None:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
        assert out.returncode == 0, out.stderr[-2000:]

    return run


@pytest.fixture
def zh():
    """medlab in 中文 for one test (``set_language("zh")``), the previous language restored after."""
    import medlab
    from medlab import i18n

    before = i18n.get_language()
    medlab.set_language("zh")
    yield
    medlab.set_language(before)
