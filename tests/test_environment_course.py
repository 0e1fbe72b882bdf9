"""The welcome notebook's helpers: environment check, learning path, and its exercise."""
from __future__ import annotations

import pytest

from medlab import course, environment
from medlab.exercises import Feedback
from medlab.exercises.welcome import check_window_for_range


def test_environment_check_passes_here():
    rows = environment.check_environment()
    assert rows[0]["package"] == "python" and all(r["ok"] for r in rows)
    assert any(d.startswith("CPU") for d in environment.tensorflow_devices())


def test_environment_check_explains_a_missing_package(monkeypatch):
    monkeypatch.setitem(environment.REQUIREMENTS, "no_such_module_xyz", ("no-such-dist", "1.0"))
    with pytest.raises(RuntimeError, match=r"(?s)no-such-dist: installed not importable.*make lab"):
        environment.check_environment()


def test_version_comparison():
    assert environment._version_tuple("2.21.0rc1") == (2, 21, 0)
    assert environment._version_tuple("1.26") < environment._version_tuple("2.0")


def test_learning_path_covers_the_series():
    nums = [u.number for u in course.LEARNING_PATH]
    assert nums == list(range(12))
    table = course.learning_path_markdown()
    assert "| 00 | Welcome" in table and "available" in table and table.count("\n") == 13
    assert all(u.available for u in course.LEARNING_PATH), [u.notebook for u in course.LEARNING_PATH if not u.available]


def test_window_exercise():
    assert check_window_for_range(400, 40)
    fb = check_window_for_range(400, 0)
    assert not fb and "centre" in fb.hint and "-200" in fb.message
    fb = check_window_for_range(240, 40)
    assert not fb and "width" in fb.hint
    un = check_window_for_range(None, None)
    assert not un and "no answer yet" in str(un)
    with pytest.raises(TypeError, match="must be numbers"):
        check_window_for_range("wide", 0)
    assert "✅" in str(Feedback(True, "ok")) and "Hint" in str(Feedback(False, "no", "try"))


def test_environment_check_does_not_import_tensorflow_in_the_kernel(fresh_python):
    """00's check pays TensorFlow's ~630 MiB in a child process, not in the learner's kernel (issue 13)."""
    code = ("import sys; from medlab import environment as e; rows = e.check_environment(); "
            "d = e.tensorflow_devices(); assert any(x.startswith('CPU') for x in d), d; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; "
            "assert {r['package'] for r in rows} >= {'tensorflow', 'keras'}")
    fresh_python(code, timeout=300)


def test_tensorflow_devices_explains_a_broken_tensorflow(monkeypatch):
    monkeypatch.setattr(environment, "_DEVICE_PROBE", "raise ImportError('libtensorflow_cc.so.2: cannot open')")
    monkeypatch.delitem(__import__("sys").modules, "tensorflow", raising=False)
    with pytest.raises(RuntimeError, match="make lab"):
        environment.tensorflow_devices()
