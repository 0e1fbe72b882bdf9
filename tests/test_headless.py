"""MEDLAB_HEADLESS=1: every registered builder returns the light stub; fit trains at most one epoch."""
from __future__ import annotations

import time

import numpy as np
import pytest

from medlab import runtime
from medlab.widgets import WIDGETS
from medlab.widgets._explorer import Explorer, HeadlessWidget


def test_switch_reads_the_environment(monkeypatch):
    monkeypatch.delenv("MEDLAB_HEADLESS", raising=False)
    assert not runtime.headless()
    for v in ("1", "true", "YES", " on "):
        monkeypatch.setenv("MEDLAB_HEADLESS", v)
        assert runtime.headless()
    monkeypatch.setenv("MEDLAB_HEADLESS", "0")
    assert not runtime.headless()


def test_every_builder_returns_the_stub_quickly(monkeypatch):
    from medlab.widgets import load_all
    from medlab.widgets._explorer import REGISTRY
    load_all()   # the registry fills as widget modules are imported (lazily); this test may run first
    monkeypatch.setenv("MEDLAB_HEADLESS", "1")
    t0 = time.perf_counter()
    for name, (builder, _demo, _module) in REGISTRY.items():
        w = builder()  # no arguments needed: nothing is built
        assert isinstance(w, HeadlessWidget), name
        assert w.render().startswith(b"\x89PNG") and w.set() and w.click("x")
        assert "MEDLAB_HEADLESS" in w._repr_html_()
    assert time.perf_counter() - t0 < 1.0
    assert len(REGISTRY) == len(WIDGETS)


def test_builders_are_live_without_the_switch(monkeypatch):
    monkeypatch.delenv("MEDLAB_HEADLESS", raising=False)
    w = WIDGETS["pooling_explorer"]() if "pooling_explorer" in WIDGETS else next(iter(WIDGETS.values()))()
    assert isinstance(w, Explorer)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_fit_caps_epochs(monkeypatch):
    from medlab import training
    monkeypatch.setenv("MEDLAB_HEADLESS", "1")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (32, 28, 28), dtype=np.uint8)
    y = np.arange(32) % 2
    run = training.fit(training.tiny_cnn(), (x, y), epochs=5, batch_size=16, seed=0)
    assert len(run.history["loss"]) == runtime.HEADLESS_MAX_EPOCHS


def test_run_in_worker_returns_raises_and_times_out():
    import time

    from medlab import runtime

    assert runtime.run_in_worker(sum, [1, 2, 3]) == 6
    assert runtime.WORKER_LOG[-1]["fn"] == "sum" and runtime.WORKER_LOG[-1]["tensorflow"] is False
    with pytest.raises(ValueError, match="invalid literal"):          # the worker's exception, raised here
        runtime.run_in_worker(int, "x")
    with pytest.raises(TypeError, match="module-level function"):
        runtime.run_in_worker(lambda: 1)
    with pytest.raises(ValueError, match="timeout_s"):
        runtime.run_in_worker(sum, [1], timeout_s=0)
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="longer than timeout_s"):
        runtime.run_in_worker(time.sleep, 30, timeout_s=1)
    assert time.perf_counter() - t0 < 10                                # stopped, not waited for
