"""Widgets of notebook 06: gradient-descent stepper, kernel learner, optimizer race, live training dashboard.

All four are pure frame functions handed to :func:`medlab.widgets._explorer.explorer` and registered in
``WIDGETS``. Nothing heavy is imported at module import (TensorFlow only when the dashboard trains).

**The training dashboard and the kernel.** Training runs in a *background thread* (``threading.Thread``,
daemon) that calls :func:`medlab.training.fit` with a per-batch Keras callback; the callback records numbers
every batch and pushes a new frame through :meth:`Explorer.show` at most every ``redraw_s`` seconds (default
1 s) and at every epoch end, under the explorer's lock, so the kernel's main thread stays free to handle
clicks (Stop, other widgets, other cells) while training. Rationale: a cooperative loop (``train_on_batch``
plus ``kernel.do_one_iteration()`` between batches) would keep everything on one thread but re-enters the
kernel's event loop from inside a cell, which is fragile in JupyterLab and VS Code and needs a private
ipykernel API; the thread needs no such API, and ipywidgets state updates from a thread are sent as ordinary
comm messages. **Stop** calls :func:`medlab.training.request_stop` (one attribute write); Keras checks it after
every batch, so the stop takes effect after the current batch, the run is saved with status ``"stopped"`` and
its model is consistent (the weights after the last finished batch); the batch that takes the Stop redraws at
once ("stopping: validating and saving"). Measured with ``benchmarks/bench_training.py --only dashboard``
(seed_cnn, 2,048 images, 3 epochs, batch 32; shared 2-core machine, load average 4-10): the training thread
spends 1.2-1.6 % (median 1.5 %) of the run's CPU in the dashboard's code (per-batch bookkeeping, a redraw every
``redraw_s`` = 1 s, the epoch-end filters; thread CPU time, so other processes' load does not enter). Images/s
with the dashboard against ``fit()`` alone, five interleaved pairs: median 0.9 % slower, CPU per image median
-3.4 % (load noise, 10-50 % per pair, is larger than the effect). Stop: click to the end of the last batch
median 37 ms, max 88 ms (a second run, 3 stops: median 124, max 153 ms); click to the run saved 1.3-4.2 s
(the partial epoch's validation and the atomic save, under load). The drawing uses :class:`medlab.render.Chart`
(fixed axes, background cached, only the curves redrawn), so there is no ``clear_output`` flicker and no
``verbose=1`` output.

The kernel learner: the loss ``mean((x * w - y)^2)`` is a quadratic in the nine weights, so its gradient
``conv2d_backward(x, w, 2 (x*w - y)/N)`` equals ``H w - b`` with ``H = 2 P^T P / N`` and ``b = 2 P^T y / N``
(``P`` = :func:`medlab.ops.im2col` patches). The widget precomputes ``H`` and ``b`` once (tests check the
equality with ``conv2d_backward``) so that 300 steps take well under a millisecond per slider move.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import ops, render
from .. import training as T
from .._validate import check_array, check_choice, check_float, check_int
from ..i18n import t
from ._explorer import Button, Check, Choice, Float, Frame, Int, RawHTML, esc, explorer, html_table, register

__all__ = ["gd_stepper", "kernel_learner", "optimizer_race", "training_dashboard", "kernel_quadratic",
           "kernel_path", "dashboard_plan"]

_COLORS = {"sgd": "#1f77b4", "momentum": "#ff7f0e", "adam": "#2ca02c"}


# =========================================================================== contour chart helper
class _ContourChart:
    """Contour of a 2-D surface (static, cached) + animated trajectories, and a loss panel (log y)."""

    def __init__(self, surface: T.LossSurface, names: tuple[str, ...], max_steps: int):
        self.s = surface
        self.chart = render.Chart(figsize=(8.4, 3.4), dpi=80)
        fig = self.chart.fig
        self.ax = fig.add_axes((0.07, 0.14, 0.42, 0.76))
        self.ax2 = fig.add_axes((0.58, 0.14, 0.39, 0.76))
        if surface.dim == 2:
            X, Y, Z = surface.grid(120)
            self.ax.contour(X, Y, np.log10(Z + 1e-3), levels=18, cmap="viridis", linewidths=0.8)
            self.ax.plot(*surface.minimum, marker="*", color="k", ms=10)
            self.ax.set_xlim(surface.box[0], surface.box[1])
            self.ax.set_ylim(surface.box[2], surface.box[3])
            self.ax.set_xlabel(r"$\theta_1$")
            self.ax.set_ylabel(r"$\theta_2$")
        else:
            grid = np.linspace(surface.box[0], surface.box[1], 200)
            self.ax.plot(grid, [surface.f(np.array([v])) for v in grid], color="0.5")
            self.ax.set_xlim(surface.box[0], surface.box[1])
            self.ax.set_ylim(-0.5, surface.f(np.array([surface.box[0]])) * 1.05)
            self.ax.set_xlabel(r"$\theta$")
            self.ax.set_ylabel(t("loss"))
        self.ax.set_title(t(surface.name), fontsize=10)
        self.ax2.set_yscale("log")
        self.ax2.set_xlim(0, max_steps)
        self.ax2.set_ylim(1e-8, 1e4)
        self.ax2.set_xlabel(t("step"))
        self.ax2.set_ylabel(t("loss"))
        self.ax2.grid(alpha=0.3)
        self.paths, self.curves = {}, {}
        for n in names:
            c = _COLORS.get(n, "#d62728")
            self.paths[n], = self.ax.plot([], [], "o-", ms=2.5, lw=1.2, color=c, label=t(n))
            self.curves[n], = self.ax2.plot([], [], lw=1.5, color=c, label=t(n))
            self.chart.animate(self.paths[n], self.curves[n])
        if len(names) > 1:
            self.ax2.legend(loc="upper right", fontsize=8)
        self.max_steps = max_steps

    def set(self, name: str, path: np.ndarray) -> np.ndarray:
        """Draw one trajectory; returns its loss values (inf after divergence)."""
        finite = np.all(np.isfinite(path), axis=1)
        p = path[finite]
        loss = np.array([self.s.f(q) for q in p])
        if self.s.dim == 2:
            self.paths[name].set_data(p[:, 0], p[:, 1])
        else:
            self.paths[name].set_data(p[:, 0], loss)
        self.curves[name].set_data(np.arange(len(loss)), np.maximum(loss, 1e-8))
        return loss

    def rgb(self) -> np.ndarray:
        return self.chart.rgb()


def _charts(names: tuple[str, ...], max_steps: int, dims: tuple[int, ...] = (1, 2)) -> dict[str, _ContourChart]:
    """One chart per surface, background drawn now (build time), so a control update only blits."""
    out = {}
    for k, s in T.SURFACES.items():
        if s.dim in dims:
            out[k] = _ContourChart(s, names, max_steps)
            out[k].rgb()
    return out


GD_MAX_STEPS = 200


# =========================================================================== gradient-descent stepper
def _gd_frame(surface: str, lr: float, step: bool, run: bool, reset: bool, state: dict) -> Frame:
    s = T.SURFACES[surface]
    if state.get("surface") != surface:
        state["surface"], state["n"] = surface, state.get("n", 10)
    n = state.get("n", 0)
    if reset:
        n = 0
    elif step:
        n += 1
    elif run:
        n += 25
    n = min(n, GD_MAX_STEPS)
    state["n"] = n
    ch = state["charts"][surface]
    path = T.optimize(s, "sgd", lr, n)
    loss = ch.set("sgd", path)
    diverged = len(loss) < len(path)
    limit = {"parabola": 0.5, "bowl": 0.2}.get(surface)
    rows = [["steps taken", n], ["learning rate", f"{lr:.3g}"],
            ["loss now", t("diverged") if diverged else f"{loss[-1]:.3g}"],
            ["theta now", "-" if diverged else ", ".join(f"{v:.3f}" for v in path[n])]]
    if limit:
        rows.append(["diverges above lr", t("{0:g} (= 2 / largest curvature)").format(limit)])
    warning = (t("Diverged after {0} steps: lr = {1:.3g} is too large for this surface.").format(len(loss) - 1, lr)
               if diverged else "")
    if n == GD_MAX_STEPS and (step or run):
        warning = warning or t("At most {0} steps are drawn: press Reset.").format(GD_MAX_STEPS)
    return Frame(image=ch.rgb(), readout=html_table(rows), warning=warning)


@register(demo=lambda: {})
def gd_stepper(surface: str = "bowl", lr: float = 0.05):
    """Gradient descent on a 1-D or 2-D loss surface: learning-rate log slider, Step / Run 25 / Reset,
    the trajectory on the contour plot and the loss curve. Used in 06 §2."""
    surface = T._surface(surface).name
    lr = check_float(lr, "lr", low=1e-4, high=1.0)
    return explorer(_gd_frame, {
        "surface": Choice("Surface", list(T.SURFACES), value=surface),
        "lr": Float("Learning rate", 1e-3, 0.5, value=lr, log=True, format=".3g"),
        "step": Button("Step"), "run": Button("Run 25"), "reset": Button("Reset")},
        state={"charts": _charts(("sgd",), GD_MAX_STEPS)}, title="Gradient descent, one step at a time")


# =========================================================================== optimizer race
def _race_frame(surface: str, lr: float, steps: int, state: dict) -> Frame:
    s = T.SURFACES[surface]
    ch = state["charts"][surface]
    rows, warn = [], []
    for name in T.OPTIMIZERS:
        path = T.optimize(s, name, lr, steps)
        loss = ch.set(name, path)
        done = len(loss) < len(path)
        if done:
            warn.append(name)
        hit = np.flatnonzero(loss < 1e-3)
        rows.append([name, t("diverged") if done else f"{loss[-1]:.3g}",
                     str(int(hit[0])) if len(hit) else f"> {steps}"])
    readout = html_table(rows, header=["optimizer", f"loss after {steps}", "steps to loss < 1e-3"])
    warning = t("Diverged: {0} (learning rate {1:.3g} too large).").format(", ".join(warn), lr) if warn else ""
    return Frame(image=ch.rgb(), readout=readout, warning=warning)


@register(demo=lambda: {})
def optimizer_race(surface: str = "rosenbrock", lr: float = 0.01, steps: int = 200):
    """SGD, momentum and Adam (Keras' update rules) from the same start on the same surface. Used in 06 §4."""
    surface = T._surface(surface).name
    return explorer(_race_frame, {
        "surface": Choice("Surface", [k for k, v in T.SURFACES.items() if v.dim == 2], value=surface),
        "lr": Float("Learning rate", 1e-3, 0.3, value=lr, log=True, format=".3g"),
        "steps": Int("Steps", 1, 500, value=steps)}, state={"charts": _charts(T.OPTIMIZERS, 500, (2,))},
        title="Optimizer race")


# =========================================================================== kernel learner
def kernel_quadratic(image: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``(H, b, c)`` with loss ``mean((x*w - y)^2) = 0.5 w^T H w - b^T w + c`` for the standardised ``image``.

    Its gradient ``H w - b`` equals ``conv2d_backward``'s ``dL/dw`` (tested); used by :func:`kernel_learner`.
    """
    x = np.asarray(image, dtype=np.float64)
    x = (x - x.mean()) / (x.std() or 1.0)
    P = ops.im2col(x, target.shape)
    y = P @ target.reshape(-1)
    n = len(P)
    return 2.0 * P.T @ P / n, 2.0 * P.T @ y / n, float(y @ y / n)


def kernel_path(H: np.ndarray, b: np.ndarray, c: float, lr: float, steps: int, optimizer: str = "sgd",
                seed: int = 0, init_scale: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Kernels ``(steps+1, 9)`` and losses ``(steps+1,)`` of gradient descent on the quadratic (same start and
    update rule as :func:`medlab.training.learn_kernel`; ``inf`` after divergence)."""
    k = H.shape[0]
    w = np.random.default_rng(seed).normal(0.0, init_scale, size=k)
    stepper = T._Stepper(optimizer, lr)
    ws = np.full((steps + 1, k), np.inf)
    loss = np.full(steps + 1, np.inf)
    for t in range(steps + 1):
        L = 0.5 * w @ H @ w - b @ w + c
        if not np.isfinite(L) or L > 1e12:
            break
        ws[t], loss[t] = w, L
        if t < steps:
            w = stepper(w, H @ w - b)
    return ws, loss


def _kernel_tile(k: np.ndarray, m: float, px: int = 22) -> np.ndarray:
    return render.zoom(render.diverging(k, m), px)


def _kernel_frame(target: str, lr: float, steps: int, optimizer: str, state: dict) -> Frame:
    tgt = ops.KERNELS[target].astype(np.float64)
    if target not in state["quad"]:
        state["quad"][target] = kernel_quadratic(state["image"], tgt)
    H, b, c = state["quad"][target]
    ws, loss = kernel_path(H, b, c, lr, steps, optimizer)
    ok = np.isfinite(loss)
    last = int(np.flatnonzero(ok)[-1])
    w = ws[last].reshape(tgt.shape)
    ch = state["chart"]
    for i in range(9):
        state["lines"][i].set_data(np.arange(last + 1), ws[: last + 1, i])
        state["targets"][i].set_ydata([tgt.reshape(-1)[i]] * 2)
    state["loss_line"].set_data(np.arange(last + 1), np.maximum(loss[: last + 1], 1e-12))
    chart = ch.rgb(key=None)
    m = float(np.abs(tgt).max())
    x = state["image"]
    xs = (x - x.mean()) / (x.std() or 1.0)
    out = ops.conv2d(xs, w)
    ref = ops.conv2d(xs, tgt)
    lim = float(np.percentile(np.abs(ref), 99)) or 1.0
    tiles = render.hstack([render.titled(_kernel_tile(w, m), "learned"),
                           render.titled(_kernel_tile(tgt, m), "target"),
                           render.titled(render.zoom(render.diverging(out, lim), 2), "x * learned"),
                           render.titled(render.zoom(render.diverging(ref, lim), 2), "x * target")])
    img = render.vstack([tiles, chart])
    err = float(np.max(np.abs(w - tgt)))
    rows = [["steps", last], ["loss", f"{loss[last]:.3g}"], ["max |w - target|", f"{err:.3g}"],
            ["lr limit (2 / largest curvature)", f"{2 / np.linalg.eigvalsh(H)[-1]:.3g}"]]
    warning = "" if last == steps else t("Diverged after {0} steps: lr = {1:.3g} exceeds {2:.3g} for plain gradient "
                                         "descent.").format(last, lr, 2 / np.linalg.eigvalsh(H)[-1])
    return Frame(image=img, readout=html_table(rows), warning=warning)


def _ct_image() -> np.ndarray:
    from ..datasets import load_lung_ct

    ct = load_lung_ct().array[15].astype(np.float64)
    return np.clip(ct[::4, ::4], -1000, 400)       # lung window, 128 x 128


@register(demo=lambda: {})
def kernel_learner(target: str = "sobel_x", lr: float = 0.05, steps: int = 200, optimizer: str = "sgd",
                   image: Any = None):
    """Learn a 3x3 kernel by gradient descent so it reproduces an edge filter on the CT slice: the nine weights
    converging to their targets, the loss curve, the learned filter's output. Used in 06 §3."""
    img = _ct_image() if image is None else check_array(image, "image", ndim=2, dtype=np.float64,
                                                              max_size=1024 * 1024)
    chart = render.Chart(figsize=(8.4, 2.8), dpi=80)
    ax = chart.fig.add_axes((0.07, 0.17, 0.42, 0.72))
    ax2 = chart.fig.add_axes((0.58, 0.17, 0.39, 0.72))
    ax.set_xlim(0, 300)
    ax.set_ylim(-2.6, 2.6)
    ax.set_xlabel(t("step"))
    ax.set_title(t("the nine weights (dashed: target)"), fontsize=9)
    ax2.set_yscale("log")
    ax2.set_xlim(0, 300)
    ax2.set_ylim(1e-10, 1e2)
    ax2.set_xlabel(t("step"))
    ax2.set_title(t("loss"), fontsize=9)
    cmap = [f"C{i}" for i in range(9)]
    lines = [ax.plot([], [], lw=1.2, color=cmap[i])[0] for i in range(9)]
    targets = [ax.plot([0, 300], [0, 0], ls="--", lw=0.8, color=cmap[i])[0] for i in range(9)]
    loss_line, = ax2.plot([], [], color="k")
    chart.animate(*lines, *targets, loss_line)
    state = {"image": img, "quad": {}, "chart": chart, "lines": lines, "targets": targets, "loss_line": loss_line}
    return explorer(_kernel_frame, {
        "target": Choice("Target kernel", ["sobel_x", "sobel_y", "prewitt_x", "laplacian", "sharpen"], value=target),
        "lr": Float("Learning rate", 1e-3, 0.3, value=lr, log=True, format=".3g"),
        "steps": Int("Steps", 0, 300, value=steps),
        "optimizer": Choice("Optimizer", list(T.OPTIMIZERS), value=optimizer, style="toggle")},
        state=state, title="Learning a kernel by gradient descent")


# =========================================================================== training dashboard
_PARAMS = {"seed_cnn": 20417, "medlab_cnn": 23697, "tiny_cnn": 1265}


def dashboard_plan(model: str, lr: float, batch: int, epochs: int, optimizer: str, dropout: float,
                   augment: bool, class_weights: bool, seed: int, n_train: int) -> dict[str, Any]:
    """The configuration the next Train click will use (pure; no TensorFlow)."""
    steps = -(-n_train // batch)
    return {"model": model, "params": _PARAMS[model], "learning_rate": lr, "batch_size": batch,
            "epochs": epochs, "optimizer": optimizer, "dropout": dropout, "augment": augment,
            "class_weights": class_weights, "seed": seed, "n_train": n_train, "steps_per_epoch": steps,
            "total_steps": steps * epochs}


def _text_panel(lines: list[str], width: int = 640, size: int = 13) -> np.ndarray:
    from PIL import Image, ImageDraw

    h = 8 + len(lines) * (size + 5)
    im = Image.new("RGB", (width, h), (250, 250, 250))
    d = ImageDraw.Draw(im)
    for k, line in enumerate(lines):
        d.text((8, 4 + k * (size + 5)), line, fill=(20, 20, 20), font=render.font(size))
    return np.asarray(im)


class _Live:
    """Thread-shared record of the run in progress (written by the training thread, read by frames)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset(1, 1, 1)

    def reset(self, epochs: int, steps: int, batch: int):
        with self.lock:
            self.epochs, self.steps, self.batch = epochs, steps, batch
            self.batch_x: list[float] = []
            self.batch_loss: list[float] = []
            self.batch_acc: list[float] = []
            self.epoch_rows: list[dict[str, float]] = []
            self.kernels = None
            self.epoch = 0
            self.step = 0
            self.t0 = time.perf_counter()
            self.images = 0
            self.status = "idle"
            self.error = ""
            self.dash_cpu_s = 0.0        # CPU time the training thread spent in the dashboard's callback + drawing


def _smooth(v: list[float], k: int = 5) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if len(a) < 2:
        return a
    w = np.ones(min(k, len(a))) / min(k, len(a))
    return np.convolve(np.pad(a, (len(w) - 1, 0), mode="edge"), w, mode="valid")


def _curves_chart():
    chart = render.Chart(figsize=(8.4, 2.9), dpi=80)
    axl = chart.fig.add_axes((0.07, 0.17, 0.40, 0.72))
    axa = chart.fig.add_axes((0.58, 0.17, 0.40, 0.72))
    for ax, title in ((axl, "loss"), (axa, "accuracy")):
        ax.set_xlabel(t("epoch"))
        ax.set_title(t(title), fontsize=9)
        ax.grid(alpha=0.3)
    axl.set_ylim(0, 1.2)
    axa.set_ylim(0.4, 1.0)
    art = {"tl": axl.plot([], [], lw=1, color="#1f77b4", label=t("train (per batch, smoothed)"))[0],
           "vl": axl.plot([], [], "o-", ms=4, color="#d62728", label=t("validation (per epoch)"))[0],
           "ta": axa.plot([], [], lw=1, color="#1f77b4")[0],
           "va": axa.plot([], [], "o-", ms=4, color="#d62728")[0]}
    axl.legend(loc="upper right", fontsize=7)
    chart.animate(*art.values())
    return chart, (axl, axa), art


def _compare_chart():
    chart = render.Chart(figsize=(8.4, 2.4), dpi=80)
    ax = chart.fig.add_axes((0.07, 0.2, 0.6, 0.68))
    ax.set_xlabel(t("epoch"))
    ax.set_title(t("validation loss of every run of this session"), fontsize=9)
    ax.set_ylim(0, 1.2)
    ax.grid(alpha=0.3)
    return chart, ax


def _filters_rgb(kernels: np.ndarray | None, title: str) -> np.ndarray:
    if kernels is None:
        return render.titled(np.full((60, 300, 3), 245, np.uint8), title)
    k = kernels[:32]
    m = float(np.abs(k).max()) or 1.0
    tiles = [render.zoom(render.diverging(f, m), 8) for f in k]
    rows = [render.hstack(tiles[i:i + 16], gap=3) for i in range(0, len(tiles), 16)]
    return render.titled(render.vstack(rows, gap=3), title)


def _dashboard_view(state: dict) -> Frame:
    """Draw the current live record (called from frames and from the training thread)."""
    live: _Live = state["live"]
    chart, (axl, axa), art = state["curves"]
    with live.lock:
        ep = live.epochs
        xs = np.asarray(live.batch_x)
        tl, ta = list(live.batch_loss), list(live.batch_acc)
        rows = [dict(r) for r in live.epoch_rows]
        kernels = None if live.kernels is None else live.kernels.copy()
        step, steps, epoch, status = live.step, live.steps, live.epoch, live.status
        elapsed = time.perf_counter() - live.t0
        images = live.images
        error = live.error
    if state.get("xlim") != ep:
        axl.set_xlim(0, ep)
        axa.set_xlim(0, ep)
        chart.invalidate()
        state["xlim"] = ep
    art["tl"].set_data(xs, _smooth(tl))
    art["ta"].set_data(xs, _smooth(ta))
    vx = [r["epoch"] + 1 for r in rows if "val_loss" in r]
    art["vl"].set_data(vx, [r["val_loss"] for r in rows if "val_loss" in r])
    art["va"].set_data(vx, [r["val_accuracy"] for r in rows if "val_accuracy" in r])
    curves = chart.rgb(key=ep)
    total = max(steps * ep, 1)
    done = epoch * steps + step
    ips = images / elapsed if elapsed > 0 and images else 0.0
    eta = (total - done) * (elapsed / done) if done else float("nan")
    head = (t("{0}: epoch {1}/{2}, batch {3}/{4}, {5:,.0f} images/s, ETA {6:,.0f} s")
            .format(t(status), min(epoch + 1, ep), ep, step, steps, ips, eta) if status == "training" else t(status))
    table = html_table([[r["epoch"] + 1, f"{r['loss']:.3f}", f"{r['accuracy']:.3f}",
                         f"{r.get('val_loss', float('nan')):.3f}", f"{r.get('val_accuracy', float('nan')):.3f}",
                         f"{r.get('val_auc', float('nan')):.3f}"] for r in rows[-8:]],
                       header=["epoch", "loss", "acc", "val loss", "val acc", "val AUC"])
    plan = state["plan"]
    plan_lines = [t("next run: {0} ({1:,} parameters), {2} lr {3:.2g}, batch {4}, {5} epoch(s), dropout {6:.2f}")
                  .format(plan["model"], plan["params"], t(plan["optimizer"]), plan["learning_rate"],
                          plan["batch_size"], plan["epochs"], plan["dropout"]),
                  t("augmentation {0}, class weights {1}, seed {2}, {3:,} training images = {4:,} steps")
                  .format(t("on") if plan["augment"] else t("off"),
                          t("balanced") if plan["class_weights"] else t("off"),
                          plan["seed"], plan["n_train"], plan["total_steps"])]
    # only panes whose content changed are re-encoded and sent (a redraw during training sends the curves)
    shown = state.setdefault("shown", {})
    panes = {}
    if shown.get("plan") != plan_lines:
        panes["plan"] = _text_panel(plan_lines)
        shown["plan"] = plan_lines
    fkey = (len(rows), None if kernels is None else float(np.abs(kernels).sum()))
    if shown.get("filters") != fkey:
        panes["filters"] = _filters_rgb(kernels, t("first-layer filters (this epoch)"))
        shown["filters"] = fkey
    cmp_chart, cmp_ax = state["compare"]
    runs = state["runs"]
    key = tuple(r.name for r in runs)
    if state.get("compare_key") != key:
        for line in list(cmp_ax.lines):
            line.remove()
        for k, r in enumerate(runs):
            v = r.history.get("val_loss", [])
            cmp_ax.plot(np.arange(1, len(v) + 1), v, "o-", ms=3, color=f"C{k % 10}", label=f"{k + 1}: {r.config['model']}")
        cmp_ax.set_xlim(0, max([len(r.history.get("val_loss", [])) for r in runs] + [2]) + 0.5)
        if runs:
            cmp_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
        cmp_chart.invalidate()
        state["compare_key"] = key
    if shown.get("compare") != key:
        panes["compare"] = cmp_chart.rgb(key=key)
        shown["compare"] = key
    cmp_rows = []
    for k, r in enumerate(runs):
        s = r.summary()
        # the run's folder name is long (date-time-model-seed): its time of day is shown, the whole name on hover
        hms = r.name.split("-")[1] if r.name.count("-") >= 2 else ""
        when = f"{hms[:2]}:{hms[2:4]}:{hms[4:]}" if len(hms) == 6 and hms.isdigit() else r.name
        short = RawHTML(f"<span title='{esc(r.name)}'>{esc(when)}</span>")
        cmp_rows.append([k + 1, short, s["model"], t(r.status), s["epochs"], f"{s['val_loss']:.3f}" if s["val_loss"]
                         is not None else "-", f"{(s['val_accuracy'] or float('nan')):.3f}",
                         f"{(s['val_auc'] or float('nan')):.3f}",
                         f"{r.images_per_s:,.0f}" if np.isfinite(r.images_per_s or np.nan) else "-"])
    # the tables live in the control column: small type, no wrapping, and a scroll bar rather than a cut edge
    box = "<div style='font-size:11px;white-space:nowrap;overflow-x:auto;max-width:100%'>{}</div>"
    readout = (f"<b>{esc(head)}</b>" + box.format(table) +
               (f"<b>{esc(t('Runs of this session'))}</b> ({esc(t('hover a run for its folder name'))})"
                + box.format(html_table(
                   cmp_rows, header=["#", "run", "model", "status", "epochs", "val loss", "val acc", "val AUC",
                                     "images/s"])) if cmp_rows else ""))
    progress = done / total if status in ("training", "stopped", "completed", "early_stopped") or \
        status.startswith("stopping") else 0.0
    return Frame(image=curves, panes=panes, readout=readout, progress=progress, warning=error)


def _start_training(state: dict, values: dict) -> None:
    live: _Live = state["live"]
    x, y, xv, yv = state["data"]
    n = values["n_train"]
    idx = np.random.default_rng(values["seed"]).permutation(len(x))[:n]     # stored order is by class: shuffle
    batch = values["batch"]
    steps = -(-n // batch)
    live.reset(values["epochs"], steps, batch)
    live.status = "training"
    ex = state["explorer"]

    def work():
        import keras

        try:
            builder = T.MODELS[values["model"]]
            model = builder((28, 28, 1), learning_rate=values["lr"], optimizer=values["optimizer"],
                            seed=values["seed"], dropout=values["dropout"])
            state["model"] = model
            if state.get("stop_requested"):
                T.request_stop(model)

            class Live(keras.callbacks.Callback):
                def on_epoch_begin(self, epoch, logs=None):
                    with live.lock:
                        live.epoch, live.step = epoch, 0

                def on_train_batch_end(self, b, logs=None):
                    c0 = time.thread_time()
                    logs = logs or {}
                    with live.lock:
                        live.step = b + 1
                        live.images += min(batch, n - b * batch)
                        live.batch_x.append(live.epoch + (b + 1) / steps)
                        live.batch_loss.append(float(logs.get("loss", np.nan)))
                        live.batch_acc.append(float(logs.get("accuracy", np.nan)))
                    now = time.perf_counter()
                    if getattr(self.model, "_medlab_stop_requested", False) and live.status == "training":
                        with live.lock:                  # show at once that Stop was taken (then: validate, save)
                            live.status = "stopping (validating and saving the partial run)"
                        state["last_draw"] = now
                        _push(state)
                    elif now - state["last_draw"] >= state["redraw_s"]:
                        state["last_draw"] = now
                        _push(state)
                    live.dash_cpu_s += time.thread_time() - c0

                def on_epoch_end(self, epoch, logs=None):
                    c0 = time.thread_time()
                    with live.lock:
                        live.epoch_rows.append({"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}})
                        live.kernels = T.first_layer_kernels(self.model)
                    _push(state)
                    live.dash_cpu_s += time.thread_time() - c0

            t_stop = {}

            class StopClock(keras.callbacks.Callback):
                def on_train_batch_end(self, b, logs=None):
                    if getattr(self.model, "_medlab_stop_requested", False) and "t" not in t_stop:
                        t_stop["t"] = time.perf_counter()

            run = T.fit(model, (x[idx], y[idx]), (xv, yv), epochs=values["epochs"], batch_size=batch,
                        seed=values["seed"], augment=values["augment"],
                        class_weight="balanced" if values["class_weights"] else False,
                        callbacks=[Live(), StopClock()], run_dir=state["run_dir"])
            if "clicked" in state and "t" in t_stop:
                state["stop_latency_ms"] = 1000 * (t_stop["t"] - state["clicked"])
            state["runs"].append(run)
            with live.lock:
                live.status = run.status
        except Exception as exc:  # shown in the widget; the kernel keeps going
            with live.lock:
                live.status = "failed"
                live.error = f"{type(exc).__name__}: {exc}"
        finally:
            state["model"] = None
            state["stop_requested"] = False
            _push(state)

    state["last_draw"] = 0.0
    th = threading.Thread(target=work, name="medlab-training", daemon=True)
    state["thread"] = th
    th.start()
    _ = ex


def _push(state: dict) -> None:
    ex = state["explorer"]
    fr = _dashboard_view(state)
    ex.push(fr)


def _dash_frame(model: str, lr: float, batch: int, epochs: int, optimizer: str, dropout: float, augment: bool,
                class_weights: bool, seed: int, n_train: int, train: bool, stop: bool, load: bool,
                state: dict) -> Frame:
    state["plan"] = dashboard_plan(model, lr, batch, epochs, optimizer, dropout, augment, class_weights, seed,
                                   n_train)
    running = state.get("thread") is not None and state["thread"].is_alive()
    note = ""
    if train:
        if running:
            note = "A run is in progress: press Stop first (or wait for it to finish)."
        else:
            _start_training(state, {"model": model, "lr": lr, "batch": batch, "epochs": epochs,
                                    "optimizer": optimizer, "dropout": dropout, "augment": augment,
                                    "class_weights": class_weights, "seed": seed, "n_train": n_train})
    if stop:
        state["clicked"] = time.perf_counter()
        m = state.get("model")
        if running and m is not None:
            T.request_stop(m)
        elif running:
            state["stop_requested"] = True
        else:
            note = "Nothing to stop: no run in progress."
    if load:
        have = {r.name for r in state["runs"]}
        saved = [r["name"] for r in T.list_runs(state["run_dir"]) if r["name"] not in have][-10:]
        for name in saved:
            state["runs"].append(T.load_run(name, state["run_dir"], load_model=False))
        note = (f"Reloaded {len(saved)} saved run(s) from {state['run_dir']} into the comparison "
                "(their models: medlab.training.load_run(name))." if saved else
                f"No other saved runs in {state['run_dir']}.")
    fr = _dashboard_view(state)
    if note:
        fr.warning = note
    return fr


def _demo_runs() -> str:
    import tempfile

    return str(Path(tempfile.gettempdir()) / "medlab-dashboard-demo-runs")


@register(demo=lambda: {"n_train": 256, "epochs": 1, "run_dir": _demo_runs()})
def training_dashboard(model: str = "seed_cnn", lr: float = 1e-3, batch: int = 32, epochs: int = 2,
                       n_train: int = 1024, seed: int = 0, run_dir: Any = None, autostart: bool = False,
                       wait: bool = False, redraw_s: float = 1.0):
    """The live training dashboard on PneumoniaMNIST 28x28: model, learning rate (log), batch, epochs, optimizer,
    dropout, augmentation, class weights, seed, training-set size; **Train** and **Stop**. Curves (train per
    batch, smoothed; validation per epoch; fixed axes), progress with epoch/batch/images per s/ETA, a per-epoch
    table, first-layer filters every epoch, and a comparison of every run of the session (**Load saved runs**
    adds the runs saved earlier in ``run_dir``; reload a model with ``medlab.training.load_run(name)``). Runs
    are saved to ``run_dir`` (default ``notebooks/runs/``). ``autostart=True`` clicks Train once; ``wait=True`` then waits
    for that run (the notebook's short automatic run). Used in 06 §5."""
    from ..datasets import load_pneumoniamnist

    model = check_choice(model, "model", list(T.MODELS))
    batch = check_choice(batch, "batch", [16, 32, 64, 128, 256])
    epochs = check_int(epochs, "epochs", low=1, high=30)
    n_train = check_choice(n_train, "n_train", [256, 512, 1024, 2048, 4708])
    redraw_s = check_float(redraw_s, "redraw_s", low=0.05, high=60.0)
    x, y = load_pneumoniamnist("train")
    xv, yv = load_pneumoniamnist("val")
    state = {"data": (x, y, xv, yv), "live": _Live(), "curves": _curves_chart(), "compare": _compare_chart(),
             "runs": [], "run_dir": T.runs_dir(run_dir), "redraw_s": redraw_s, "thread": None, "model": None}
    ex = explorer(_dash_frame, {
        "model": Choice("Model", [("article's CNN", "seed_cnn"), ("MedLab recipe", "medlab_cnn"),
                                  ("tiny CNN", "tiny_cnn")], value=model),
        "lr": Float("Learning rate", 1e-4, 1e-1, value=lr, log=True, format=".2g"),
        "batch": Choice("Batch size", [16, 32, 64, 128, 256], value=batch),
        "epochs": Int("Epochs", 1, 30, value=epochs),
        "optimizer": Choice("Optimizer", list(T.OPTIMIZERS), value="adam", style="toggle"),
        "dropout": Float("Dropout", 0.0, 0.6, value=0.0, step=0.05, format=".2f"),
        "augment": Check("Augmentation (no flips)", False),
        "class_weights": Check("Class weights (balanced)", False),
        "seed": Int("Seed", 0, 9, value=seed),
        "n_train": Choice("Training images", [256, 512, 1024, 2048, 4708], value=n_train),
        "train": Button("Train", style="success"), "stop": Button("Stop", style="danger"),
        "load": Button("Load saved runs")},
        state=state, progress=True, title="Live training dashboard (PneumoniaMNIST 28x28)")
    box = getattr(ex, "widget", None)
    if box is not None and hasattr(box, "children") and len(box.children) == 2:
        # the control column holds the per-epoch and run tables: it keeps its width (a flex row squeezed it,
        # cutting the tables and the labels, next to the wide curves); the curves wrap below when they do not fit
        import ipywidgets as w

        box.children[0].layout = w.Layout(flex="0 0 auto")
        box.layout.flex_flow = "row wrap"
    if autostart:
        ex.click("train")
        if wait and state["thread"] is not None:
            state["thread"].join()
            _push(state)
    return ex
