"""widgets.training: pure helpers against the core, stepper/race/learner behaviour, the dashboard's Train/Stop."""
from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from medlab import ops, training as T  # noqa: E402
from medlab.widgets import WIDGETS  # noqa: E402
from medlab.widgets import training as W  # noqa: E402


def test_registered():
    for name in ("gd_stepper", "kernel_learner", "optimizer_race", "training_dashboard"):
        assert name in WIDGETS


def test_kernel_quadratic_gradient_equals_conv2d_backward():
    img = np.random.default_rng(0).normal(size=(40, 40)).cumsum(0)       # a smooth, correlated image
    tgt = ops.KERNELS["sobel_x"].astype(float)
    H, b, c = W.kernel_quadratic(img, tgt)
    x = (img - img.mean()) / img.std()
    y = ops.conv2d(x, tgt)
    w = np.random.default_rng(1).normal(size=(3, 3))
    loss, g = T.mse_conv_loss(x, w, y)
    np.testing.assert_allclose(H @ w.reshape(-1) - b, g.reshape(-1), rtol=1e-9, atol=1e-12)
    assert 0.5 * w.reshape(-1) @ H @ w.reshape(-1) - b @ w.reshape(-1) + c == pytest.approx(loss, rel=1e-9)
    # and the path equals the core's learn_kernel step by step (same start, same rule)
    ws, losses = W.kernel_path(H, b, c, 0.05, 20)
    ref = T.learn_kernel(img, tgt, lr=0.05, steps=20)
    np.testing.assert_allclose(ws.reshape(21, 3, 3), ref.kernels, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(losses, ref.loss, rtol=1e-7)


def test_gd_stepper_steps_and_flags_divergence():
    ex = W.gd_stepper("bowl", lr=0.05)
    assert ex.state["n"] == 10                         # a first trajectory is drawn at build
    first = ex.png
    ex.click("step")
    assert ex.state["n"] == 11 and ex.png != first
    ex.click("run")
    assert ex.state["n"] == 36 and ex.message == ""
    ex.controls["lr"].value = 0.4          # beyond 2/10: diverges
    assert "Diverged" in ex.message and ex.last_exception is None
    ex.click("reset")
    assert ex.state["n"] == 0


def test_optimizer_race_readout_and_divergence():
    ex = W.optimizer_race("bowl", lr=0.05, steps=200)
    assert all(o in ex.readout.value for o in T.OPTIMIZERS) and ex.message == ""
    ex.controls["lr"].value = 0.3
    assert "sgd" in ex.message and ex.last_exception is None


def test_kernel_learner_converges_on_the_ct_slice():
    ex = W.kernel_learner("sobel_x", lr=0.1, steps=300, optimizer="momentum")
    assert ex.message == ""
    err = float(ex.readout.value.split("max |w - target|</td><td style='text-align:right'>")[1].split("<")[0])
    assert err < 0.01
    ex.controls["lr"].value = 0.3
    ex.controls["optimizer"].value = "sgd"
    assert "Diverged" in ex.message


def test_dashboard_plan_counts():
    p = W.dashboard_plan("seed_cnn", 1e-3, 32, 2, "adam", 0.0, False, False, 0, 1000)
    assert p["steps_per_epoch"] == 32 and p["total_steps"] == 64 and p["params"] == T.seed_cnn((28, 28, 1)).count_params()
    assert W.dashboard_plan("medlab_cnn", 1e-3, 32, 1, "adam", 0.3, True, True, 0, 256)["params"] == \
        T.medlab_cnn().count_params()
    assert W.dashboard_plan("tiny_cnn", 1e-3, 32, 1, "adam", 0.0, False, False, 0, 256)["params"] == \
        T.tiny_cnn().count_params()


def test_dashboard_train_then_stop_saves_a_loadable_run(tmp_path):
    ex = W.training_dashboard("tiny_cnn", n_train=256, epochs=1, run_dir=tmp_path, redraw_s=0.2)
    before = ex.png
    ex.click("train")
    ex.state["thread"].join(timeout=300)
    assert ex.state["runs"] and ex.state["runs"][-1].status == "completed"
    assert ex.png != before and ex.progress_bar.value == 1.0
    assert ex.state["runs"][-1].name in ex.readout.value
    # a long run, stopped: consistent, saved, listed, loadable
    ex.controls["epochs"].value = 30
    ex.controls["n_train"].value = 4708
    ex.click("train")
    ex.click("train")                                   # a second Train while running is refused politely
    assert "in progress" in ex.message
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 120 and not ex.state["live"].step:
        time.sleep(0.2)
    ex.click("stop")
    ex.state["thread"].join(timeout=120)
    run = ex.state["runs"][-1]
    assert run.status == "stopped" and run.epochs_run == 1
    assert ex.state.get("stop_latency_ms") is not None
    names = [r["name"] for r in T.list_runs(tmp_path)]
    assert run.name in names
    loaded = T.load_run(run.name, tmp_path)
    xv = ex.state["data"][2][:16]
    np.testing.assert_allclose(loaded.predict(xv), run.predict(xv), rtol=1e-6)
    ex.click("stop")
    assert "Nothing to stop" in ex.message and ex.last_exception is None


def test_dashboard_loads_saved_runs(tmp_path):
    run = T.fit(T.tiny_cnn(), (np.zeros((8, 28, 28), np.uint8), np.array([0, 1] * 4)), epochs=1, run_dir=tmp_path)
    ex = W.training_dashboard(run_dir=tmp_path)
    ex.click("load")
    assert [r.name for r in ex.state["runs"]] == [run.name] and "Reloaded 1" in ex.message
    assert run.name in ex.readout.value
    ex.click("load")
    assert "No other saved runs" in ex.message and ex.last_exception is None
