"""Training a CNN: learning by gradient descent (numpy), the source article's Keras model, runs on disk.

Taught in notebook 06. Two halves:

* **Gradient descent before Keras** (pure numpy, checked against TensorFlow/Keras in the tests):
  :func:`bce_loss` and its gradient, :func:`linear_collapse` (a network without a non-linearity is one
  linear map), loss surfaces (:data:`SURFACES`), :func:`optimize` (plain gradient descent, momentum and Adam
  with exactly Keras' update rules) and :func:`learn_kernel` (learn a 3x3 kernel by gradient descent through
  :func:`medlab.ops.conv2d_backward`).
* **Keras**: :func:`seed_cnn` (the article's model), :func:`medlab_cnn` (the kit's recipe), :func:`fit`
  returning a :class:`TrainingRun` (config, per-epoch and per-batch history, timing, the model,
  :meth:`TrainingRun.predict` with the same preprocessing ``fit`` used), runs saved atomically to a run folder
  (:func:`list_runs`, :func:`load_run`), augmentation (:func:`augmentation`) and transfer learning helpers.

TensorFlow/Keras are imported lazily (inside functions): importing this module is cheap.

Determinism: :func:`fit` and the model builders call ``keras.utils.set_random_seed(seed)`` and
``tf.config.experimental.enable_op_determinism()``, shuffle with a seeded ``tf.data`` pipeline and apply the
augmentation sequentially, so on CPU the same seed gives bit-identical weights and history (tested). On a GPU,
cuDNN convolution back-propagation and some reductions are only deterministic with op determinism enabled,
which makes them slower and makes a few ops raise; results then still differ *between* CPU and GPU and
between GPU models, since float summation order differs.

>>> x = np.array([[1.0, 2.0]]); w1 = np.array([[1.0, 0.5], [0.0, 1.0]]); w2 = np.array([[2.0], [1.0]])
>>> w, b = linear_collapse([w1, w2], [np.zeros(2), np.zeros(1)])
>>> np.allclose(x @ w1 @ w2, x @ w + b)
True
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from . import ops
from ._validate import (check_array, check_choice, check_float, check_int, check_output_dir, check_output_path,
                        check_seed)
from .runtime import HEADLESS_MAX_EPOCHS, headless

__all__ = [
    # gradient descent, numpy
    "bce_loss", "bce_grad", "linear_collapse", "LossSurface", "SURFACES", "gradient_descent", "optimize",
    "OPTIMIZERS", "KernelFit", "learn_kernel", "mse_conv_loss",
    # Keras models
    "seed_cnn", "medlab_cnn", "tiny_cnn", "build_model", "MODELS", "RECIPES", "param_table",
    "augmentation", "AUGMENTATION",
    # training and runs
    "fit", "TrainingRun", "list_runs", "load_run", "runs_dir", "request_stop", "save_model_atomic",
    "prepare_images", "choose_threshold", "evaluate", "first_layer_kernels", "class_weights",
    # transfer learning
    "backbone", "transfer_model", "set_backbone_trainable", "imagenet_backbone",
]

MAX_EPOCHS = 1000
MAX_BATCH = 8192
MAX_STEPS = 100_000


# =========================================================================== numpy: loss, collapse
def bce_loss(y: Any, p: Any, eps: float = 1e-7) -> float:
    r"""Mean binary cross-entropy :math:`-\frac1N\sum y\log p + (1-y)\log(1-p)`.

    The negative log-likelihood of Bernoulli labels with probabilities ``p`` (clipped to ``[eps, 1-eps]``
    like Keras). Used in 06 §1.

    >>> round(bce_loss([1, 0], [0.9, 0.2]), 4)
    0.1643
    """
    y = check_array(y, "y", ndim=1, dtype=np.float64)
    p = check_array(p, "p", ndim=1, dtype=np.float64)
    if len(y) != len(p):
        raise ValueError(f"y and p must have the same length, got {len(y)} and {len(p)}")
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise ValueError("y must contain only the labels 0 and 1")
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def bce_grad(y: Any, z: Any) -> np.ndarray:
    r"""Gradient of the mean BCE of ``sigmoid(z)`` with respect to the logits ``z``: :math:`(\sigma(z)-y)/N`.

    >>> bce_grad([1.0, 0.0], [0.0, 0.0]).tolist()
    [-0.25, 0.25]
    """
    y = check_array(y, "y", ndim=1, dtype=np.float64)
    z = check_array(z, "z", ndim=1, dtype=np.float64)
    if len(y) != len(z):
        raise ValueError(f"y and z must have the same length, got {len(y)} and {len(z)}")
    return (ops.sigmoid(z) - y) / len(y)


def linear_collapse(weights: Sequence[Any], biases: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Collapse a stack of linear (Dense, no activation) layers ``x @ W1 + b1 -> ... `` into one ``(W, b)``.

    Without a non-linearity between them, any depth computes ``x @ W + b`` with ``W = W1 @ W2 @ ...`` and
    ``b = (b1 @ W2 + b2) @ W3 + ...``. Used in 06 §1.

    >>> w, b = linear_collapse([np.eye(2) * 2, np.eye(2) * 3], [np.ones(2), np.zeros(2)])
    >>> w.tolist(), b.tolist()
    ([[6.0, 0.0], [0.0, 6.0]], [3.0, 3.0])
    """
    if len(weights) != len(biases) or not weights:
        raise ValueError(f"weights and biases must be non-empty lists of equal length, got {len(weights)} "
                         f"and {len(biases)}")
    w_tot = None
    b_tot = None
    for k, (w, b) in enumerate(zip(weights, biases)):
        w = check_array(w, f"weights[{k}]", ndim=2, dtype=np.float64)
        b = check_array(b, f"biases[{k}]", ndim=1, dtype=np.float64)
        if len(b) != w.shape[1]:
            raise ValueError(f"biases[{k}] must have {w.shape[1]} entries (columns of weights[{k}]), got {len(b)}")
        if w_tot is None:
            w_tot, b_tot = w, b
        else:
            if w_tot.shape[1] != w.shape[0]:
                raise ValueError(f"weights[{k}] must have {w_tot.shape[1]} rows, got {w.shape[0]}")
            w_tot, b_tot = w_tot @ w, b_tot @ w + b
    return w_tot, b_tot


# =========================================================================== numpy: gradient descent
@dataclass(frozen=True)
class LossSurface:
    """A differentiable loss ``f(theta)`` with its gradient, and a view box for plotting."""

    name: str
    f: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, ...]
    minimum: tuple[float, ...]
    box: tuple[float, ...]          # (lo, hi) in 1-D, (x0, x1, y0, y1) in 2-D
    description: str = ""

    @property
    def dim(self) -> int:
        return len(self.start)

    def grid(self, n: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, Y, Z)`` of the 2-D surface on an ``n x n`` grid over :attr:`box` (vectorised)."""
        n = check_int(n, "n", low=2, high=1000)
        if self.dim != 2:
            raise ValueError(f"grid() needs a 2-D surface; {self.name!r} is {self.dim}-D")
        x0, x1, y0, y1 = self.box
        X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        Z = self.f(np.stack([X, Y]))
        return X, Y, Z


def _parabola(t):
    return 0.5 * 4.0 * (t[0] - 1.0) ** 2


def _parabola_g(t):
    return np.array([4.0 * (t[0] - 1.0)])


_A = np.array([[10.0, 0.0], [0.0, 1.0]])


def _bowl(t):
    x, y = t[0] - 1.0, t[1] - 0.5
    return 0.5 * (10.0 * x ** 2 + 1.0 * y ** 2)


def _bowl_g(t):
    return np.array([10.0 * (t[0] - 1.0), 1.0 * (t[1] - 0.5)])


def _rosen(t):
    x, y = t[0], t[1]
    return (1 - x) ** 2 + 10.0 * (y - x ** 2) ** 2


def _rosen_g(t):
    x, y = t[0], t[1]
    return np.array([-2 * (1 - x) - 40.0 * x * (y - x ** 2), 20.0 * (y - x ** 2)])


#: The loss surfaces of 06 §2-§4 (curvatures chosen so that learning rates 0.01 / 0.1 / 0.21 are too
#: small / right / divergent on "parabola" (curvature 4: diverges above lr = 2/4 = 0.5) and "bowl"
#: (curvatures 10 and 1: diverges above lr = 2/10 = 0.2)).
SURFACES: dict[str, LossSurface] = {
    "parabola": LossSurface("parabola", _parabola, _parabola_g, (-1.5,), (1.0,), (-2.0, 4.0),
                            "f(t) = 2 (t - 1)^2: curvature 4, diverges for lr > 0.5"),
    "bowl": LossSurface("bowl", _bowl, _bowl_g, (-1.5, -1.5), (1.0, 0.5), (-2.0, 2.5, -2.0, 2.5),
                        "f = 5 (x-1)^2 + 0.5 (y-0.5)^2: an elongated bowl (curvatures 10 and 1), "
                        "diverges for lr > 0.2"),
    "rosenbrock": LossSurface("rosenbrock", _rosen, _rosen_g, (-1.5, 2.0), (1.0, 1.0), (-2.0, 2.0, -1.0, 3.0),
                              "f = (1-x)^2 + 10 (y-x^2)^2: a curved valley"),
}

OPTIMIZERS = ("sgd", "momentum", "adam")


def _surface(surface: Any) -> LossSurface:
    if isinstance(surface, LossSurface):
        return surface
    if isinstance(surface, str):
        return SURFACES[check_choice(surface, "surface", list(SURFACES))]
    raise TypeError(f"surface must be a name in {list(SURFACES)} or a LossSurface, got {type(surface).__name__}")


def optimize(surface: Any, optimizer: str = "sgd", lr: float = 0.1, steps: int = 50, start: Any = None, *,
             momentum: float = 0.9, beta_1: float = 0.9, beta_2: float = 0.999,
             epsilon: float = 1e-7) -> np.ndarray:
    r"""Run an optimizer on a loss surface; returns the trajectory ``(steps + 1, dim)`` (row 0 = start).

    Update rules are exactly Keras' (tests compare with ``keras.optimizers`` step by step):

    * ``"sgd"``: :math:`\theta \leftarrow \theta - \eta g`
    * ``"momentum"``: :math:`v \leftarrow \mu v - \eta g,\ \theta \leftarrow \theta + v`
    * ``"adam"``: :math:`m \leftarrow \beta_1 m + (1-\beta_1) g,\ v \leftarrow \beta_2 v + (1-\beta_2) g^2,\
      \theta \leftarrow \theta - \eta\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\frac{m}{\sqrt v + \epsilon}`

    A diverging run stops early: once the parameters leave ``|theta| < 1e6`` the remaining rows repeat the last
    finite point's overflow marker ``inf`` (so the length stays ``steps + 1``; check ``np.isfinite``).
    Used in 06 §2 and §4.

    >>> path = optimize("parabola", "sgd", lr=0.1, steps=30)
    >>> path.shape, round(float(path[-1, 0]), 3)
    ((31, 1), 1.0)
    >>> bool(np.isfinite(optimize("parabola", "sgd", lr=0.6, steps=60)[-1, 0]))
    False
    """
    s = _surface(surface)
    optimizer = check_choice(optimizer, "optimizer", OPTIMIZERS)
    lr = check_float(lr, "lr", low=0.0, low_open=True, high=100.0)
    steps = check_int(steps, "steps", low=0, high=MAX_STEPS)
    theta = np.array(s.start if start is None else start, dtype=np.float64).reshape(-1)
    if theta.shape != (s.dim,) or not np.all(np.isfinite(theta)):
        raise ValueError(f"start must be {s.dim} finite number(s) for surface {s.name!r}, got {start!r}")
    out = np.full((steps + 1, s.dim), np.inf)
    out[0] = theta
    step = _Stepper(optimizer, lr, momentum, beta_1, beta_2, epsilon)
    for t in range(1, steps + 1):
        theta = step(theta, s.grad(theta))
        if not np.all(np.abs(theta) < 1e6):
            break
        out[t] = theta
    return out


class _Stepper:
    """One optimizer's update rule with its state (Keras' formulas)."""

    def __init__(self, optimizer: str, lr: float, momentum: float = 0.9, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7):
        self.kind, self.lr, self.mu, self.b1, self.b2, self.eps = optimizer, lr, momentum, beta_1, beta_2, epsilon
        self.t = 0
        self.m = self.v = 0.0

    def __call__(self, theta: np.ndarray, g: np.ndarray) -> np.ndarray:
        self.t += 1
        if self.kind == "sgd":
            return theta - self.lr * g
        if self.kind == "momentum":
            self.m = self.mu * self.m - self.lr * g
            return theta + self.m
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        lr_t = self.lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        return theta - lr_t * self.m / (np.sqrt(self.v) + self.eps)


def gradient_descent(surface: Any, lr: float, steps: int, start: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Plain gradient descent: ``(trajectory (steps+1, dim), loss (steps+1,))``; ``inf`` once it diverged.

    >>> path, loss = gradient_descent("bowl", lr=0.1, steps=100)
    >>> bool(loss[-1] < 1e-4 < loss[0])
    True
    """
    s = _surface(surface)
    path = optimize(s, "sgd", lr, steps, start)
    finite = np.all(np.isfinite(path), axis=1)
    loss = np.full(len(path), np.inf)
    loss[finite] = [s.f(p) for p in path[finite]]
    return path, loss


# =========================================================================== numpy: learn a kernel
@dataclass(frozen=True)
class KernelFit:
    """Result of :func:`learn_kernel`: the kernel after every step ``(steps+1, kh, kw)`` and the loss."""

    kernels: np.ndarray
    loss: np.ndarray
    target: np.ndarray
    lr: float

    @property
    def kernel(self) -> np.ndarray:
        return self.kernels[-1]

    @property
    def error(self) -> float:
        """Largest absolute difference between the learned and the target kernel."""
        return float(np.max(np.abs(self.kernel - self.target)))


def mse_conv_loss(image: np.ndarray, w: np.ndarray, target_out: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Loss :math:`L = \operatorname{mean}((x \star w - y)^2)` and :math:`\partial L/\partial w` (via conv2d_backward).

    >>> img = np.arange(25.0).reshape(5, 5); w = np.zeros((3, 3)); y = ops.conv2d(img, np.ones((3, 3)))
    >>> loss, g = mse_conv_loss(img, w, y); g.shape
    (3, 3)
    """
    out = ops.conv2d(image, w)
    diff = out - target_out
    loss = float(np.mean(diff ** 2))
    dw, _ = ops.conv2d_backward(image, w, 2.0 * diff / diff.size)
    return loss, dw.reshape(w.shape)


def learn_kernel(image: Any, target: Any, lr: float = 0.1, steps: int = 200, seed: int = 0,
                 init_scale: float = 0.1, optimizer: str = "sgd") -> KernelFit:
    """Learn a kernel by gradient descent so that ``conv2d(image, w)`` reproduces ``conv2d(image, target)``.

    The d2l "learning a kernel" exercise on real data: ``image`` is standardised (mean 0, std 1) so one learning
    rate suits any modality; ``w`` starts small and random (seeded); ``optimizer`` as in :func:`optimize`.
    The loss is a quadratic in ``w`` whose curvature is twice the covariance of the 3x3 patches: on a smooth
    image it is badly conditioned (neighbouring pixels are correlated), so the loss falls fast while the
    "checkerboard" direction of the kernel converges slowly. Used in 06 §3.

    >>> img = np.random.default_rng(0).random((32, 32))
    >>> fit_ = learn_kernel(img, ops.KERNELS["sobel_x"], lr=0.05, steps=200)
    >>> bool(fit_.error < 0.01), bool(fit_.loss[-1] < 1e-4 * fit_.loss[0])
    (True, True)
    """
    image = check_array(image, "image", ndim=2, dtype=np.float64, max_size=4096 * 4096)
    target = check_array(target, "target", ndim=2, dtype=np.float64, max_size=49)
    lr = check_float(lr, "lr", low=0.0, low_open=True, high=1e3)
    steps = check_int(steps, "steps", low=0, high=20_000)
    seed = check_seed(seed)
    optimizer = check_choice(optimizer, "optimizer", OPTIMIZERS)
    init_scale = check_float(init_scale, "init_scale", low=0.0, high=10.0)
    if image.shape[0] < target.shape[0] or image.shape[1] < target.shape[1]:
        raise ValueError(f"image {image.shape} must be at least as large as the kernel {target.shape}")
    sd = float(image.std())
    x = (image - image.mean()) / sd if sd > 0 else np.zeros_like(image)
    y = ops.conv2d(x, target)
    w = np.random.default_rng(seed).normal(0.0, init_scale, size=target.shape)
    step = _Stepper(optimizer, lr)
    kernels = np.empty((steps + 1,) + target.shape)
    losses = np.empty(steps + 1)
    for t in range(steps + 1):
        loss, g = mse_conv_loss(x, w, y)
        kernels[t], losses[t] = w, loss
        if not np.isfinite(loss) or loss > 1e12:
            kernels[t:], losses[t:] = np.inf, np.inf
            break
        if t < steps:
            w = step(w, g)
    return KernelFit(kernels, losses, target, lr)


# =========================================================================== Keras models
def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _keras():
    _tf()
    import keras

    return keras


def _seed_everything(seed: int) -> None:
    keras = _keras()
    tf = _tf()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _check_input_shape(input_shape: Any) -> tuple[int, int, int]:
    if isinstance(input_shape, (int, np.integer)) or not hasattr(input_shape, "__len__"):
        raise TypeError(f"input_shape must be a tuple (height, width, 1), got {input_shape!r}")
    shape = tuple(input_shape)
    if len(shape) == 2:
        shape = shape + (1,)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    h = check_int(shape[0], "input_shape[0] (height)", low=8, high=1024)
    w = check_int(shape[1], "input_shape[1] (width)", low=8, high=1024)
    c = check_int(shape[2], "input_shape[2] (channels)", low=1, high=4)
    return h, w, c


def _optimizer(name: str, learning_rate: float):
    keras = _keras()
    name = check_choice(name, "optimizer", OPTIMIZERS)
    learning_rate = check_float(learning_rate, "learning_rate", low=0.0, low_open=True, high=10.0)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    return keras.optimizers.Adam(learning_rate)


def _compile(model, optimizer: str, learning_rate: float, label_smoothing: float = 0.0):
    keras = _keras()
    loss = ("binary_crossentropy" if label_smoothing == 0 else
            keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing, name="binary_crossentropy"))
    model.compile(optimizer=_optimizer(optimizer, learning_rate), loss=loss,
                  metrics=["accuracy", keras.metrics.AUC(name="auc")])
    return model


def _builder_start(input_shape: Any, dropout: float, seed: int):
    """Shared start of every model builder: checked shape and dropout, seeds set, ``(keras, layers, Input, dropout)``."""
    keras = _keras()
    h, w, c = _check_input_shape(input_shape)
    dropout = check_float(dropout, "dropout", low=0.0, high=0.9)
    _seed_everything(check_seed(seed))
    return keras, keras.layers, keras.Input((h, w, c), name="image"), dropout


def _classifier(keras, inp, x, dropout: float, name: str, optimizer: str, learning_rate: float,
                label_smoothing: float = 0.0):
    """Shared end of every model builder: optional ``Dropout`` then ``Dense(1, sigmoid)``, compiled."""
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    out = keras.layers.Dense(1, activation="sigmoid", name="dense")(x)
    return _compile(keras.Model(inp, out, name=name), optimizer, learning_rate, label_smoothing)


def _plain_cnn(name: str, input_shape: Any, filters: tuple[int, int], head: str, *, learning_rate: float,
               optimizer: str, seed: int, dropout: float):
    """``Conv2D(f1, 3, relu) -> MaxPool 2 -> Conv2D(f2, 3, relu) [-> MaxPool 2 -> Flatten | -> GAP] -> head``.

    The layer stack that :func:`seed_cnn` (``head="flatten"``) and :func:`tiny_cnn` (``head="gap"``) share.
    """
    keras, L, inp, dropout = _builder_start(input_shape, dropout, seed)
    x = L.Conv2D(filters[0], 3, activation="relu", name="conv1")(inp)
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = L.Conv2D(filters[1], 3, activation="relu", name="conv2")(x)
    if head == "flatten":
        x = L.MaxPooling2D(2, name="pool2")(x)
        x = L.Flatten(name="flatten")(x)
    else:
        x = L.GlobalAveragePooling2D(name="gap")(x)
    return _classifier(keras, inp, x, dropout, name, optimizer, learning_rate)


def seed_cnn(input_shape: Any = (256, 256, 1), *, learning_rate: float = 1e-3, optimizer: str = "adam",
             seed: int = 0, dropout: float = 0.0):
    """The source article's CNN, compiled as in the article (``adam``, ``binary_crossentropy``, accuracy).

    ``Input -> Conv2D(32, 3, relu) -> MaxPool 2 -> Conv2D(64, 3, relu) -> MaxPool 2 -> Flatten ->
    Dense(1, sigmoid)``, built with ``keras.Input`` (so ``.inputs``/``.outputs`` exist for explainability).
    An AUC metric is added next to accuracy (it does not change training). ``dropout > 0`` inserts a Dropout
    layer before the Dense head (a dashboard variant; the article has none). Weights are initialised from
    ``seed``. Parameters: 264,833 at 256x256 (Dense 246,017), 20,417 at 28x28. Used in 06 §5-§6.

    >>> seed_cnn((28, 28, 1)).count_params()
    20417
    """
    return _plain_cnn("seed_cnn", input_shape, (32, 64), "flatten", learning_rate=learning_rate,
                      optimizer=optimizer, seed=seed, dropout=dropout)


def tiny_cnn(input_shape: Any = (28, 28, 1), *, learning_rate: float = 3e-3, optimizer: str = "adam",
             seed: int = 0, dropout: float = 0.0):
    """A small variant for the dashboard: Conv(8) -> MaxPool -> Conv(16) -> GlobalAvgPool -> Dense(1).

    >>> tiny_cnn().count_params()
    1265
    """
    return _plain_cnn("tiny_cnn", input_shape, (8, 16), "gap", learning_rate=learning_rate,
                      optimizer=optimizer, seed=seed, dropout=dropout)


def medlab_cnn(input_shape: Any = (28, 28, 1), *, learning_rate: float = 3e-3, optimizer: str = "adam",
               seed: int = 0, dropout: float = 0.3, label_smoothing: float = 0.1,
               filters: Sequence[int] = (16, 32, 64)):
    """The kit's recommended recipe (compiled): small conv blocks with BatchNorm, global average pooling, dropout.

    ``filters`` = the three blocks' widths (default 16/32/64; each 1-512). Other widths are for experiments and
    for ``benchmarks/bench_training.py --only budget`` (what a larger training budget would buy); the recipe,
    its selection and its figures below are for the default.

    ``Conv(16) BN ReLU -> MaxPool -> Conv(32) BN ReLU -> MaxPool -> Conv(64) BN ReLU -> GlobalAvgPool ->
    Dropout(0.3) -> Dense(1, sigmoid)``, Adam at 3e-3 with a cosine decay to 0 over the run (applied by
    :func:`fit`, :data:`RECIPES` ``["medlab_cnn"]["schedule"]``), binary cross-entropy with label smoothing 0.1.
    BatchNorm momentum 0.9: with ~75 steps per epoch Keras' default 0.99 leaves the inference statistics far
    behind the training ones (measured: a validation loss of 1.75 after 5 epochs). Global average pooling keeps
    the head at 65 parameters at any input size. Training defaults (:data:`RECIPES`): 10 epochs, batch 64,
    the plausible augmentation of :func:`augmentation`, balanced class weights, and the weights of the epoch
    with the lowest validation loss restored at the end (no early stop: with the cosine schedule the last
    epochs are the good ones, and a patience of 4 stopped runs inside the noisy high-learning-rate phase).

    Every choice was made on the **validation split only** (PneumoniaMNIST val, 524 images; test never
    loaded while tuning; seed 0, one run each; CPU seconds of the whole fit on the shared 2-core machine):

    ============================================  =======  ==========  ==========  ========  =====
    variant (changes against the row above it)    val AUC  val acc .5  val bal.acc  min val   CPU s
                                                                                    loss
    ============================================  =======  ==========  ==========  ========  =====
    previous recipe: Adam 1e-3 constant, <= 15    0.9879   0.954       0.952        0.140     82
    epochs, early stopping patience 4
    Adam 3e-3, cosine decay to 0, 12 epochs       0.9905   0.956       0.944        0.113     81
    + label smoothing 0.1 (**chosen**)            0.9915   0.960       0.951        (0.293*)  83
    ============================================  =======  ==========  ==========  ========  =====

    Rejected, each against "Adam 3e-3, cosine, 12 epochs": wider (24/48/96) 0.9926 / 0.949 / 0.939 / 0.111 but
    130 CPU s (over the 60 s budget); batch 128 (lr 4e-3) 0.9912 / 0.949 / 0.946 / 0.137, no faster (82 CPU s);
    stronger augmentation (shift 0.08, rotation 10 deg, zoom 0.12, contrast 0.3, brightness 0.1) 0.9910 /
    0.933 / 0.941 / 0.122; no class weights 0.9906 / 0.949 / 0.907 / 0.110 (balanced accuracy much lower);
    dropout 0.5 0.9910 / 0.952 / 0.944 / 0.123; test-time augmentation (+-1 px shifts) +0.0006 val AUC (not
    worth doubling inference); the chosen recipe with 10 epochs instead of 12: 0.9915 / 0.952 / 0.939 / (0.292),
    77 CPU s (the fallback if 12 epochs exceed 60 s on an idle 2-core machine). (*) label smoothing raises the
    loss floor, so its val loss is not comparable.
    Validation is saturated (AUC ~0.99) while test (a different source; prevalence 62.5 % against 74 %) is
    not: see benchmarks/bench_training.py for the test figures.

    Second selection round (issue 9: test AUC 0.957 and accuracy 0.87-0.89 were short of the goal 0.965 /
    0.90). Candidates written down *before* measuring, each with its reason to generalise better to a shifted
    test source at the same CPU cost: (1) a moving average (EMA) of the weights, validated and restored on the
    averaged weights -- averaged iterates sit in flatter minima (Polyak averaging, SWA); (2) mixup, which makes
    the network behave linearly between training images and less over-confident; (3) test-time augmentation
    (mean over the identity and +-1 px shifts) in ``TrainingRun.predict`` -- averages out position sensitivity,
    inference only; (4) batch 32 for 8 epochs instead of 64 for 12 (more, noisier updates at about the same
    cost). Excluded a priori: per-image intensity standardisation (inside the model the output becomes invariant
    to scaling the image, so integrated gradients from the black baseline lose completeness -- 08 and
    tests/test_explain.py; in ``prepare_images`` it would disagree with every place that feeds ``x / 255`` to
    the model) and wider or separable-conv architectures (the 23,697 parameters are part of the dashboard's
    plan; the wider plain variant above was already 1.6x over budget). Measured on **validation only**
    (``benchmarks/bench_training.py --only select``; test never loaded), mean +- SD over seeds 0-2 (0-4 where
    the differences were small); val loss = plain cross-entropy of the predicted probabilities (every row uses
    label smoothing 0.1, so the rows are comparable); balanced accuracy at 0.5; CPU s of the whole fit on the
    shared 2-core machine (load 2-4 from other jobs, so +-3 s is noise; this round's host ran the defaults in
    ~40 CPU s against ~82 in the first round, so compare CPU s within one table only):

    ===================================  ==============  =============  =============  =====
    variant (each against the defaults)  val AUC         val loss       val bal.acc    CPU s
    ===================================  ==============  =============  =============  =====
    defaults, seeds 0-4 (**kept**)       0.9918 +-.0008  0.167 +-.006   0.939 +-.005   36
    EMA momentum 0.99/step, seeds 0-4    0.9922 +-.0012  0.179 +-.011   0.941 +-.016   39
    EMA 0.98                             0.9921 +-.0011  0.177 +-.013   0.948 +-.007   41
    EMA 0.995                            0.9865 +-.0095  0.213 +-.044   0.934 +-.017   41
    mixup alpha 0.2                      0.9905 +-.0009  0.179 +-.007   0.935 +-.003   42
    EMA 0.99 + mixup 0.2                 0.9909 +-.0018  0.200 +-.023   0.945 +-.002   42
    batch 32, 8 epochs, seeds 0-4        0.9916 +-.0021  0.176 +-.014   0.948 +-.004   36
    EMA 0.99 + batch 32, 8 epochs        0.9919 +-.0014  0.174 +-.013   0.946 +-.009   33
    defaults + TTA (5 views), seeds 0-4  0.9921 +-.0011  0.168 +-.005   0.933 +-.012   (+inference)
    ===================================  ==============  =============  =============  =====

    Rule: adopt a change only if it raises val AUC by more than the seed-to-seed SD (~0.001) without a worse val
    loss or balanced accuracy. None does: the AUC gains are 0.0007 at most (defaults over seeds 0-2: 0.9914 +-
    .0005, val loss 0.170, bal.acc 0.941) against SDs of 0.001-0.002,
    every weight-averaging and mixup variant has a higher val loss, TTA lowers balanced accuracy; batch 32 /
    8 epochs raises balanced accuracy at 0.5 in all five seeds but not AUC or loss (and the test uses thresholds
    chosen on validation, not 0.5). So the recipe stays as it was. Its single test evaluation
    (``--only medlab``, seeds 0-2, this session): test AUC 0.958 +- 0.005, accuracy 0.861 at 0.5, 0.855 at the
    validation-accuracy threshold, 0.888 +- 0.010 at the validation balanced-accuracy threshold: **the goal
    (AUC >= 0.965, accuracy >= 0.90) is not reached**; validation (AUC 0.99) cannot tell the candidates apart,
    and picking by test would overfit test.

    Training budget (2026-12-03): on that day's 2-core host the 12-epoch defaults took 53.7, 56.7 and 66.7 s
    wall for seeds 0-2 (only this process running), over the 60 s goal in one seed of three. The first round
    named the fallback for that case *before* any test figure was seen: the same recipe with 10 epochs (its
    validation row above equals the 12-epoch one in AUC). So the default is now **10 epochs** (the cosine decay
    spans the 10). ``--only medlab`` on the same host, seeds 0-2: 45.4-50.0 s wall (~61 CPU s), validation AUC
    0.992, test AUC 0.957 +- 0.005 (12 epochs on that host: 0.957 too), accuracy 0.861 +- 0.013 at 0.5,
    0.843 at the validation-accuracy threshold, 0.883 +- 0.008 at the validation balanced-accuracy threshold.
    Two diagnostics computed on test, never used for a choice: the best threshold chosen *on test* would give
    0.886-0.917 (mean 0.901: the accuracy goal only just, and not in one seed of three), and the three seeds'
    models averaged -- an ensemble at 3x the budget -- reach test AUC 0.962 and accuracy 0.896. The AUC gap is
    in the ranking of the shifted test source, which no threshold changes; of the accuracy gap, about 0.02 is the
    threshold's transfer from validation to test and the rest the ranking. Tripling the budget closes neither.

    Third round (2026-12-03), one candidate written down before measuring: precise BatchNorm statistics
    (Wu & Johnson 2021: with ~75 steps per epoch the momentum-0.9 moving averages are noisy), i.e. after ``fit``
    every BN layer's statistics recomputed over the un-augmented training images, at ~1 s of inference. On
    validation only, seeds 0-4: AUC 0.9928 +- .0005 against 0.9923 +- .0006 (a gain below the SD), val loss
    0.182 +- .007 against 0.162 +- .013 (worse), bal.acc 0.949 against 0.942: rejected by the rule above. A
    diagnostic on test (``bench_training.py``, ``auc_bn_*``) asks whether the test source shifts the features'
    statistics: re-estimating them on the unlabeled test images (AdaBN) gives the same test AUC as re-estimating
    them on the validation images (0.959 and 0.959, seeds 0-2), so it does not; the shift lies beyond the
    features' means and variances.

    Budget diagnostic (2026-12-04, ``bench_training.py --only budget``; test figures, so not a selection): what
    would more training buy? Mean over seeds 0-2 (ensembles: one row), wall / CPU s on that day's 2-core host:
    the defaults 40.6 / 55 s, val AUC 0.992, test AUC 0.957, accuracy 0.883 (validation balanced-accuracy
    threshold); 20 epochs 72 / 105 s, 0.993, 0.959, 0.874; blocks 24/48/96 47 / 77 s, 0.993, 0.957, 0.893;
    32/64/128 73 / 102 s, 0.993, 0.957, 0.883; ensembles of 3 and 5 seeds (3x and 5x the budget) test AUC
    0.962 and 0.961, accuracy 0.896 and 0.897. Up to five times the budget, validation AUC creeps up and test
    AUC stays at 0.957-0.962: the goal of 0.965 is not a matter of budget for this family of models.
    Used in 06 §5 and §7.

    >>> medlab_cnn().count_params()
    23697
    """
    label_smoothing = check_float(label_smoothing, "label_smoothing", low=0.0, high=0.5)
    if isinstance(filters, (str, bytes)) or not hasattr(filters, "__len__") or len(filters) != 3:
        raise ValueError(f"filters must be three block widths such as (16, 32, 64), got {filters!r}")
    widths = [check_int(f, f"filters[{k}]", low=1, high=512) for k, f in enumerate(filters)]
    keras, L, inp, dropout = _builder_start(input_shape, dropout, seed)

    def block(x, filters, name):
        x = L.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
        x = L.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        return L.Activation("relu", name=f"{name}_relu")(x)

    x = block(inp, widths[0], "b1")
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = block(x, widths[1], "b2")
    x = L.MaxPooling2D(2, name="pool2")(x)
    x = block(x, widths[2], "b3")
    x = L.GlobalAveragePooling2D(name="gap")(x)
    return _classifier(keras, inp, x, dropout, "medlab_cnn", optimizer, learning_rate, label_smoothing)


MODELS: dict[str, Callable[..., Any]] = {"seed_cnn": seed_cnn, "medlab_cnn": medlab_cnn, "tiny_cnn": tiny_cnn}

#: Training defaults by model name (``fit(..., epochs=None, ...)`` uses them). ``seed_cnn`` = the article.
RECIPES: dict[str, dict[str, Any]] = {
    "seed_cnn": {"epochs": 10, "batch_size": 32, "augment": False, "class_weight": None, "patience": None},
    "medlab_cnn": {"epochs": 10, "batch_size": 64, "augment": True, "class_weight": "balanced", "patience": None,
                   "restore_best": True, "schedule": "cosine"},
    "tiny_cnn": {"epochs": 10, "batch_size": 64, "augment": False, "class_weight": None, "patience": None},
}


def build_model(kind: str = "seed_cnn", input_shape: Any = (28, 28, 1), **kwargs: Any):
    """Build one of :data:`MODELS` by name (the dashboard's model choice).

    >>> build_model("tiny_cnn").name
    'tiny_cnn'
    """
    kind = check_choice(kind, "kind", list(MODELS))
    return MODELS[kind](input_shape, **kwargs)


def param_table(model) -> list[dict[str, Any]]:
    """Per layer: name, class, output shape (without batch) and parameter count, as Keras reports them.

    >>> [r["params"] for r in param_table(seed_cnn((28, 28, 1)))]
    [320, 0, 18496, 0, 0, 1601]
    """
    rows = []
    for layer in model.layers:
        if layer.__class__.__name__ == "InputLayer":
            continue
        rows.append({"name": layer.name, "type": layer.__class__.__name__,
                     "output_shape": tuple(layer.output.shape[1:]), "params": int(layer.count_params())})
    return rows


# =========================================================================== augmentation
#: The anatomically plausible augmentations for frontal chest X-rays (no flips: the heart is on the left).
AUGMENTATION: dict[str, float] = {"shift": 0.06, "rotation_deg": 7.0, "zoom": 0.08, "contrast": 0.15}


def augmentation(shift: float = AUGMENTATION["shift"], rotation_deg: float = AUGMENTATION["rotation_deg"],
                 zoom: float = AUGMENTATION["zoom"], contrast: float = AUGMENTATION["contrast"], seed: int = 0):
    """Keras preprocessing layers for chest X-rays: small shifts, rotations, zoom and contrast, **no flip**.

    A left-right flip would put the heart on the right (dextrocardia, a rare anomaly), so the network would
    learn from anatomy that does not occur. Up-down flips and large rotations are implausible for an upright
    frontal radiograph too. Active only in training mode. Used in 06 §5.

    >>> [l.__class__.__name__ for l in augmentation().layers]
    ['RandomTranslation', 'RandomRotation', 'RandomZoom', 'RandomContrast']
    """
    keras = _keras()
    shift = check_float(shift, "shift", low=0.0, high=0.3)
    rotation_deg = check_float(rotation_deg, "rotation_deg", low=0.0, high=30.0)
    zoom = check_float(zoom, "zoom", low=0.0, high=0.3)
    contrast = check_float(contrast, "contrast", low=0.0, high=0.9)
    seed = check_seed(seed)
    L = keras.layers
    layers = []
    if shift > 0:
        layers.append(L.RandomTranslation(shift, shift, fill_mode="nearest", seed=seed))
    if rotation_deg > 0:
        layers.append(L.RandomRotation(rotation_deg / 360.0, fill_mode="nearest", seed=seed + 1))
    if zoom > 0:
        layers.append(L.RandomZoom(zoom, fill_mode="nearest", seed=seed + 2))
    if contrast > 0:
        layers.append(L.RandomContrast(contrast, value_range=(0.0, 1.0), seed=seed + 3))
    return keras.Sequential(layers, name="augmentation")


# =========================================================================== data preparation
def prepare_images(images: Any, input_shape: Sequence[int] | None = None, name: str = "images") -> np.ndarray:
    """Images as the loaders return them -> float32 ``(N, H, W, 1)`` in [0, 1]: the one preprocessing step.

    uint8 is divided by 255; float images are used as they are (they must be finite). A missing channel axis
    is added. With ``input_shape`` the size is checked against the model. ``fit`` and
    :meth:`TrainingRun.predict` both call this, so prediction sees exactly what training saw.

    >>> prepare_images(np.full((2, 28, 28), 255, np.uint8)).shape, float(prepare_images(np.full((1, 8, 8), 255, np.uint8)).max())
    ((2, 28, 28, 1), 1.0)
    """
    arr = check_array(images, name, ndim=(3, 4), max_size=2**30)
    if arr.ndim == 3:
        arr = arr[..., None]
    if input_shape is not None:
        want = tuple(int(s) for s in input_shape)
        if arr.shape[1:] != want:
            raise ValueError(f"{name} have shape {arr.shape[1:]} per image (after adding a channel axis); the model "
                             f"expects {want}. Use images of the model's input size or build the model with "
                             f"input_shape={arr.shape[1:]}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / np.float32(255.0)
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be uint8 (0..255) or float in [0, 1], got dtype {arr.dtype}")
    return arr.astype(np.float32)


def _check_labels(labels: Any, n: int, name: str) -> np.ndarray:
    y = check_array(labels, name, ndim=(1, 2))
    y = y.reshape(-1)
    if len(y) != n:
        raise ValueError(f"{name} has {len(y)} entries but there are {n} images")
    vals = np.unique(y)
    if not np.all(np.isin(vals, (0, 1))):
        raise ValueError(f"{name} must be 0/1 (binary labels), got values {vals[:6].tolist()}")
    return y.astype(np.float32)


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _is_dataset(obj: Any) -> bool:
    if isinstance(obj, (tuple, list, np.ndarray)) or obj is None:
        return False
    tf = _tf()
    return isinstance(obj, tf.data.Dataset)


def _split_arrays(data: Any, name: str, input_shape) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be (images, labels) as the loaders return them, or a tf.data.Dataset; "
                        f"got {type(data).__name__}")
    x = prepare_images(data[0], input_shape, f"{name} images")
    y = _check_labels(data[1], len(x), f"{name} labels")
    return x, y


# =========================================================================== runs folder
def runs_dir(run_dir: Any = None) -> Path:
    """The run folder: ``run_dir`` if given, else ``$MEDLAB_RUNS``, else ``notebooks/runs/`` (git-ignored).

    Checked with the shared write guard :func:`medlab._validate.check_output_dir`: a folder inside a data
    folder (``datasets/``, ``$MEDLAB_DATA``, any folder holding a ``SHA256SUMS``) or an existing file is
    refused with a ValueError (nothing is ever written into ``datasets/``); a non-path is a TypeError.

    >>> runs_dir().name
    'runs'
    """
    if run_dir is None:
        env = os.environ.get("MEDLAB_RUNS")
        if env:
            return check_output_dir(env, "MEDLAB_RUNS")
        run_dir = Path(__file__).resolve().parent.parent / "notebooks" / "runs"
    return check_output_dir(run_dir, "run_dir")


def _atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically (temporary file in the same folder, fsync, rename) after the write guard."""
    path = check_output_path(path, "path")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_model_atomic(model, path: Any) -> Path:
    """Save a Keras model to ``path`` (``.keras``) atomically: a temporary file in the same folder, then rename.

    An interrupted or failing save leaves a previous file at ``path`` untouched (tested). The target passes the
    shared write guard first (:func:`medlab._validate.check_output_path`: never inside ``datasets/`` or any data
    folder, never over an embedded data file or a folder).
    """
    path = check_output_path(path, "path")
    if path.suffix != ".keras":
        raise ValueError(f"path must end with .keras, got {path.name!r}")
    check_output_dir(path.parent, "path (its folder)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.keras", dir=path.parent)
    os.close(fd)
    try:
        model.save(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# =========================================================================== TrainingRun
@dataclass
class TrainingRun:
    """One training run: what was asked, what happened, the model, where it was saved.

    ``history``: per epoch, ``{"loss": [...], "accuracy": [...], "auc": [...], "val_loss": [...], ...}``
    (Keras' epoch logs). ``batch_history``: per batch ``{"epoch", "batch", "loss", "accuracy"}`` where loss and
    accuracy are Keras' running means over the epoch so far. ``status``: ``"completed"``, ``"early_stopped"``
    (validation early stopping) or ``"stopped"`` (a stop request; the model holds the weights after the last
    finished batch, or, for a recipe that restores its best validation epoch such as ``medlab_cnn``, the weights
    of the best validated epoch; the run is saved). ``images_per_s`` counts training images per second of the training
    batches (validation and the first batch, which includes graph tracing, excluded); ``wall_time_s`` is the
    whole ``fit`` including tracing, validation and saving.
    """

    name: str
    config: dict[str, Any]
    history: dict[str, list[float]]
    batch_history: list[dict[str, float]]
    wall_time_s: float
    images_per_s: float
    best_epoch: int
    status: str
    model: Any = field(repr=False, default=None)
    path: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def epochs_run(self) -> int:
        return len(self.history.get("loss", []))

    def predict(self, images: Any, batch_size: int = 256) -> np.ndarray:
        """Probabilities of class 1, float64 ``(N,)``, for images as the loaders return them (uint8, no channel).

        Applies :func:`prepare_images`, exactly what :func:`fit` applied to the training arrays.
        """
        if self.model is None:
            raise ValueError(f"run {self.name!r} has no model loaded; use load_run({self.name!r})")
        batch_size = check_int(batch_size, "batch_size", low=1, high=MAX_BATCH)
        x = prepare_images(images, tuple(self.model.input_shape[1:]), "images")
        p = self.model.predict(x, batch_size=batch_size, verbose=0)
        return np.asarray(p, dtype=np.float64).reshape(-1)

    def evaluate(self, images: Any, labels: Any, threshold: float = 0.5) -> dict[str, float]:
        """``{"auc", "accuracy", "loss"}`` on the given data (sklearn's AUC, accuracy at ``threshold``)."""
        return evaluate(labels, self.predict(images), threshold)

    def summary(self) -> dict[str, Any]:
        """One row for a run-comparison table."""
        h = self.history
        last = {k: (v[-1] if v else float("nan")) for k, v in h.items()}
        return {"name": self.name, "model": self.config.get("model"), "epochs": self.epochs_run,
                "status": self.status, "best_epoch": self.best_epoch, "loss": last.get("loss"),
                "val_loss": last.get("val_loss"), "val_accuracy": last.get("val_accuracy"),
                "val_auc": last.get("val_auc"), "images_per_s": self.images_per_s,
                "wall_time_s": self.wall_time_s, **{f"test_{k}": v for k, v in self.metrics.items()}}

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "config": self.config, "history": self.history,
                "batch_history": self.batch_history, "wall_time_s": self.wall_time_s,
                "images_per_s": self.images_per_s, "best_epoch": self.best_epoch, "status": self.status,
                "metrics": self.metrics, "created": self.config.get("created")}

    def save(self) -> Path:
        """(Re-)write the run's JSON and model atomically into its folder; returns the folder."""
        if self.path is None:
            raise ValueError("this run has no folder (path is None)")
        self.path = check_output_dir(self.path, "run folder (TrainingRun.path)")
        self.path.mkdir(parents=True, exist_ok=True)
        if self.model is not None:
            save_model_atomic(self.model, self.path / "model.keras")
        _atomic_write_text(self.path / "run.json", json.dumps(_jsonable(self.to_json()), indent=1))
        return self.path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def request_stop(model) -> None:
    """Ask a running :func:`fit` to stop after the current batch (thread-safe: one attribute write).

    Keras checks ``model.stop_training`` after every batch; the run is then saved with status ``"stopped"``.
    """
    model.stop_training = True
    model._medlab_stop_requested = True


def _recorder_class():
    keras = _keras()

    class _Recorder(keras.callbacks.Callback):
        """Per-batch history, timing and user-stop detection."""

        def __init__(self, batch_size: int, n_train: int | None):
            super().__init__()
            self.batch_size = batch_size
            self.n_train = n_train
            self.batches: list[dict[str, float]] = []
            self.train_time = 0.0
            self.images = 0
            self.user_stopped = False
            self._t = 0.0
            self._epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch
            self._t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            if self._epoch > 0 or batch > 0:      # the first batch includes tracing/compilation: not counted
                self.train_time += now - self._t
                if self.n_train is not None:
                    done = batch * self.batch_size
                    self.images += min(self.batch_size, max(self.n_train - done, 0))
                else:
                    self.images += self.batch_size
            self._t = now
            logs = logs or {}
            self.batches.append({"epoch": self._epoch, "batch": int(batch),
                                 "loss": float(logs.get("loss", float("nan"))),
                                 "accuracy": float(logs.get("accuracy", float("nan")))})
            if getattr(self.model, "_medlab_stop_requested", False):
                self.user_stopped = True
                self.model.stop_training = True

    return _Recorder


def _cosine_class():
    keras = _keras()

    class _Cosine(keras.callbacks.Callback):
        """Cosine decay of the learning rate from ``base`` to 0 over the run, set before every batch.

        The same values as ``keras.optimizers.schedules.CosineDecay(base, epochs * steps)`` (step = batches done),
        but known only once ``fit`` knows the data size; with an unknown number of steps it decays per epoch.
        The compiled learning rate is put back at the end, so a saved model and a second ``fit`` see ``base``.
        """

        def __init__(self, base: float, epochs: int, steps: int | None):
            super().__init__()
            self.base, self.epochs, self.steps = base, epochs, steps
            self._epoch = 0

        def _set(self, done: float) -> None:
            frac = min(max(done, 0.0), 1.0)
            self.model.optimizer.learning_rate = self.base * 0.5 * (1.0 + math.cos(math.pi * frac))

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch
            if self.steps is None:
                self._set(epoch / self.epochs)

        def on_train_batch_begin(self, batch, logs=None):
            if self.steps is not None:
                self._set((self._epoch * self.steps + batch) / (self.epochs * self.steps))

        def on_train_end(self, logs=None):
            self.model.optimizer.learning_rate = self.base

    return _Cosine


def _averaged_class():
    keras = _keras()

    class _Averaged(keras.callbacks.Callback):
        """Validate (and, with ``restore_best``, restore) the optimizer's moving average of the weights (EMA).

        A Keras optimizer built with ``use_ema=True`` keeps an exponential moving average of the trainable
        weights and writes it into the model at the end of ``fit``. Keras validates the raw weights, though, and
        ``EarlyStopping(restore_best_weights=True)`` would then put the best epoch's *raw* weights back, silently
        discarding the average. This callback swaps the average in for every validation pass (so ``val_*``
        measure the weights that are kept), and restores the averaged weights (with the BatchNorm statistics of
        that moment) of the epoch with the lowest validation loss at the end.
        """

        def __init__(self, restore_best: bool):
            super().__init__()
            self.restore_best = restore_best
            self.best = math.inf
            self.best_weights = None
            self._raw = None

        def _pairs(self):
            opt = self.model.optimizer
            return [(v, a) for v, a in zip(opt._trainable_variables, opt._model_variables_moving_average)
                    if a is not None]

        def on_test_begin(self, logs=None):
            pairs = self._pairs()
            self._raw = [v.numpy() for v, _ in pairs]
            for v, a in pairs:
                v.assign(a)

        def on_test_end(self, logs=None):
            if self._raw is not None:
                for (v, _), raw in zip(self._pairs(), self._raw):
                    v.assign(raw)
                self._raw = None

        def on_epoch_end(self, epoch, logs=None):
            val = (logs or {}).get("val_loss")
            if self.restore_best and val is not None and math.isfinite(val) and val < self.best:
                self.best = float(val)
                self.best_weights = ([a.numpy() for _, a in self._pairs()],
                                     [w.numpy() for w in self.model.non_trainable_variables])

        def on_train_end(self, logs=None):       # Keras has just written the final average into the model
            if self.best_weights is not None:
                for (v, _), w in zip(self._pairs(), self.best_weights[0]):
                    v.assign(w)
                for v, w in zip(self.model.non_trainable_variables, self.best_weights[1]):
                    v.assign(w)

    return _Averaged


def _mixup(train_ds, alpha: float, seed: int, cw: dict[int, float] | None):
    """Mixup (Zhang et al. 2018) on a batched ``(x, y)`` dataset: each image is blended with its neighbour in the
    (shuffled) batch, ``x = lam x_i + (1 - lam) x_j``, ``y`` likewise, ``lam ~ Beta(alpha, alpha)`` per image from
    stateless seeds ``(seed, batch index)`` (deterministic). Class weights become per-image sample weights
    ``lam w[y_i] + (1 - lam) w[y_j]`` (Keras' ``class_weight`` needs hard labels)."""
    tf = _tf()
    cw_t = None if cw is None else tf.constant([cw[0], cw[1]], tf.float32)

    def mix(i, batch):
        x, y = batch
        y = tf.cast(y, tf.float32)
        n = tf.shape(x)[0]
        base = tf.cast(seed, tf.int64) * 1_000_003
        g1 = tf.random.stateless_gamma([n], tf.stack([base, 2 * i]), alpha)
        g2 = tf.random.stateless_gamma([n], tf.stack([base, 2 * i + 1]), alpha)
        lam = g1 / (g1 + g2 + 1e-12)
        x2, y2 = tf.roll(x, 1, 0), tf.roll(y, 1, 0)
        lx = tf.reshape(lam, [-1] + [1] * (len(x.shape) - 1))
        xm = lx * x + (1.0 - lx) * x2
        ym = lam * y + (1.0 - lam) * y2
        if cw_t is None:
            return xm, ym
        sw = lam * tf.gather(cw_t, tf.cast(y, tf.int32)) + (1.0 - lam) * tf.gather(cw_t, tf.cast(y2, tf.int32))
        return xm, ym, sw

    return train_ds.enumerate().map(mix)


def class_weights(labels: Any) -> dict[int, float]:
    """Balanced class weights ``{c: N / (2 N_c)}``: both classes then weigh equally in the loss. Used in 06 §5.

    >>> class_weights([0, 1, 1, 1])
    {0: 2.0, 1: 0.6666666666666666}
    """
    y = _check_labels(labels, len(np.asarray(labels).reshape(-1)), "labels")
    return _class_weight("balanced", y)


def _class_weight(spec: Any, y: np.ndarray | None) -> dict[int, float] | None:
    if spec is None or spec is False:
        return None
    if spec is True or spec == "balanced":
        if y is None:
            raise ValueError("class_weight='balanced' needs train as (images, labels) arrays; pass a dict "
                             "{0: w0, 1: w1} with a tf.data.Dataset")
        counts = np.bincount(y.astype(int), minlength=2)
        if np.any(counts == 0):
            raise ValueError(f"class_weight='balanced' needs both classes in train labels, got counts {counts.tolist()}")
        return {k: float(len(y) / (2.0 * counts[k])) for k in (0, 1)}
    if isinstance(spec, Mapping):
        if set(spec) != {0, 1}:
            raise ValueError(f"class_weight must have the keys 0 and 1, got {sorted(spec)}")
        return {int(k): check_float(v, f"class_weight[{k}]", low=0.0, low_open=True, high=1e6)
                for k, v in spec.items()}
    raise TypeError(f"class_weight must be None, 'balanced' or a dict {{0: w0, 1: w1}}, got {spec!r}")


def _claim_run_folder(folder: Path, base: str) -> str:
    """Create ``folder / base`` (or ``base-2``, ``base-3``, ...) and return its name.

    ``mkdir`` is the claim, so two kernels starting a run in the same second (a student with two notebooks open,
    the tests) never get the same folder; a check-then-create would race."""
    for k in range(1, 10_000):
        name = base if k == 1 else f"{base}-{k}"
        try:
            (folder / name).mkdir()
        except FileExistsError:
            continue
        return name
    raise RuntimeError(f"run_dir {folder}: 10,000 runs named {base}*; delete old runs or choose another run_dir")


def fit(model, train: Any, val: Any = None, *, epochs: int | None = None, batch_size: int | None = None,
        seed: int = 0, class_weight: Any = None, augment: Any = None, callbacks: Iterable[Any] = (),
        run_dir: Any = None) -> TrainingRun:
    """Train a compiled Keras model and save the run; returns a :class:`TrainingRun`.

    ``train``/``val``: ``(images, labels)`` as the loaders return them (uint8 ``(N, H, W)``; a channel axis is
    optional; labels 0/1), or ``tf.data.Dataset`` s of ``(image, label)`` (batched or not; used as given, so
    they must already be scaled like :func:`prepare_images`). ``None`` for ``epochs``, ``batch_size``,
    ``class_weight`` and ``augment`` means the model's own defaults (:data:`RECIPES` by ``model.name``: the
    article's 10 epochs / batch 32 for ``seed_cnn``; the documented recipe for ``medlab_cnn``: 10 epochs, batch
    64, augmentation, balanced class weights, and the best validation epoch restored). A recipe's
    ``"schedule": "cosine"`` (``medlab_cnn``) decays the learning rate from the compiled value to 0 over the
    run, whatever ``epochs`` is. A recipe's ``"mixup": alpha`` blends each training image with its neighbour in
    the batch (:func:`_mixup`; class weights then travel as sample weights). A model compiled with an optimizer
    built with ``use_ema=True`` is validated on the moving average of its weights, and with ``restore_best`` the
    best epoch's *averaged* weights are restored (Keras' ``EarlyStopping`` would restore the raw ones and
    silently discard the average). ``class_weight``: ``None``, ``"balanced"`` or
    ``{0: w0, 1: w1}``; ``augment``: ``True``/``False`` or a Keras layer (e.g. :func:`augmentation`).

    The run is saved into ``runs_dir(run_dir) / <name>`` (``model.keras`` written atomically, ``run.json`` with
    config, history, metrics and the sha256 of the training/validation arrays and of the embedded data files
    verified in this process). Stop a run from another thread with :func:`request_stop`. Used in 06 §5-§7.
    """
    tf = _tf()
    keras = _keras()
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a compiled keras.Model (e.g. seed_cnn()), got {type(model).__name__}")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise ValueError("model must be compiled; build it with seed_cnn()/medlab_cnn() or call model.compile")
    recipe = RECIPES.get(model.name, RECIPES["seed_cnn"])
    epochs = recipe["epochs"] if epochs is None else check_int(epochs, "epochs", low=1, high=MAX_EPOCHS)
    if headless():  # MEDLAB_HEADLESS=1 (graders, CI): skip long training, keep every other step
        epochs = min(epochs, HEADLESS_MAX_EPOCHS)
    batch_size = (recipe["batch_size"] if batch_size is None
                  else check_int(batch_size, "batch_size", low=1, high=MAX_BATCH))
    seed = check_seed(seed)
    if augment is None:
        augment = recipe["augment"]
    cw_spec = recipe["class_weight"] if class_weight is None else class_weight
    callbacks = list(callbacks)
    input_shape = tuple(model.input_shape[1:])
    folder = runs_dir(run_dir)

    # ---- data
    checks: dict[str, str] = {}
    if _is_dataset(train):
        y_train = None
        n_train = None
        train_ds = train
        if len(train.element_spec[0].shape) == len(input_shape):
            train_ds = train_ds.batch(batch_size)
    else:
        x_train, y_train = _split_arrays(train, "train", input_shape)
        n_train = len(x_train)
        checks["train_images"] = _digest(np.asarray(train[0]))
        checks["train_labels"] = _digest(y_train)
        train_ds = None
    val_data = None
    if val is not None:
        if _is_dataset(val):
            val_data = val
            if len(val.element_spec[0].shape) == len(input_shape):
                val_data = val.batch(batch_size)
        else:
            x_val, y_val = _split_arrays(val, "val", input_shape)
            checks["val_images"] = _digest(np.asarray(val[0]))
            checks["val_labels"] = _digest(y_val)
            val_data = (x_val, y_val)
    cw = _class_weight(cw_spec, y_train)

    _seed_everything(seed)
    aug_layer = None
    if augment is True:
        aug_layer = augmentation(seed=seed)
    elif augment not in (False, None):
        if not isinstance(augment, keras.layers.Layer):
            raise TypeError(f"augment must be True, False or a Keras layer, got {type(augment).__name__}")
        aug_layer = augment
    if train_ds is None:
        train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train))
        train_ds = train_ds.shuffle(n_train, seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if aug_layer is not None:
        train_ds = train_ds.map(lambda x, y: (aug_layer(x, training=True), y))
    mixup = float(recipe.get("mixup") or 0.0)
    fit_cw = cw
    if mixup > 0:
        train_ds = _mixup(train_ds, mixup, seed, cw)
        fit_cw = None                             # carried by the mixed sample weights
    train_ds = train_ds.prefetch(1)

    patience = recipe.get("patience")
    restore_best = bool(recipe.get("restore_best") and not patience)
    if restore_best:
        patience = MAX_EPOCHS + 1                 # never stops early; restores the epoch with the best val_loss
    ema = bool(getattr(model.optimizer, "use_ema", False))
    if ema and val_data is not None:
        callbacks.append(_averaged_class()(restore_best))
        if restore_best:
            patience = None                       # the averaged-weights callback restores the best epoch itself
    if patience and val_data is not None and not any(isinstance(c, keras.callbacks.EarlyStopping)
                                                     for c in callbacks):
        callbacks.append(keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True))
    schedule = recipe.get("schedule")
    steps_per_epoch = None
    if schedule == "cosine":
        if n_train is not None:
            steps_per_epoch = -(-n_train // batch_size)
        else:
            card = int(train_ds.cardinality())
            steps_per_epoch = card if card > 0 else None
        callbacks.insert(0, _cosine_class()(float(np.asarray(model.optimizer.learning_rate)), epochs,
                                            steps_per_epoch))
    recorder = _recorder_class()(batch_size, n_train)
    model._medlab_stop_requested = False

    from . import datasets as _ds

    verified = {str(p.relative_to(_ds.data_dir())) if _ds.data_dir() in p.parents else str(p): None
                for p in _ds._verified}
    data_files = {rel: _ds.CHECKSUMS.get(rel) for rel in verified}
    config = {
        "model": model.name, "input_shape": list(input_shape), "params": int(model.count_params()),
        "optimizer": model.optimizer.__class__.__name__.lower(),
        "learning_rate": float(np.asarray(model.optimizer.learning_rate)),
        "epochs": epochs, "batch_size": batch_size, "seed": seed, "class_weight": cw,
        "augment": None if aug_layer is None else aug_layer.get_config().get("name", "augmentation"),
        "early_stopping_patience": (patience if (patience and patience <= MAX_EPOCHS and val_data is not None)
                                    else None),
        "restore_best_epoch": bool((patience or (ema and restore_best)) and val_data is not None),
        "weight_average": (f"EMA, momentum {float(model.optimizer.ema_momentum)} per step" if ema else None),
        "mixup": mixup if mixup > 0 else None,
        "schedule": (None if schedule is None else f"{schedule}: learning rate from learning_rate to 0 over "
                     f"{epochs} epoch(s)" + (f" x {steps_per_epoch} steps" if steps_per_epoch else " (per epoch)")),
        "n_train": n_train, "n_val": None if val_data is None or isinstance(val_data, tf.data.Dataset)
        else len(val_data[0]), "preprocessing": "uint8 / 255, channel axis added (prepare_images)",
        "data_sha256": checks, "data_files_sha256": data_files,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "keras": keras.__version__, "tensorflow": tf.__version__,
    }
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{model.name}-s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    name = _claim_run_folder(folder, base)

    t0 = time.perf_counter()
    hist = model.fit(train_ds, validation_data=val_data, epochs=epochs, class_weight=fit_cw, verbose=0, shuffle=False,
                     callbacks=[recorder, *callbacks], validation_batch_size=None if val_data is None or
                     isinstance(val_data, tf.data.Dataset) else 256)
    wall = time.perf_counter() - t0
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    n_epochs = len(history.get("loss", []))
    key = "val_loss" if "val_loss" in history else "loss"
    best = int(np.nanargmin(history[key])) if history.get(key) else 0
    if recorder.user_stopped or getattr(model, "_medlab_stop_requested", False):
        status = "stopped"
    elif n_epochs < epochs:
        status = "early_stopped"
    else:
        status = "completed"
    model._medlab_stop_requested = False
    run = TrainingRun(name=name, config=config, history=history, batch_history=recorder.batches,
                      wall_time_s=wall, images_per_s=(recorder.images / recorder.train_time
                                                      if recorder.train_time > 0 else float("nan")),
                      best_epoch=best, status=status, model=model, path=folder / name)
    run.save()
    run.wall_time_s = time.perf_counter() - t0
    _atomic_write_text(run.path / "run.json", json.dumps(_jsonable(run.to_json()), indent=1))
    return run


def list_runs(run_dir: Any = None) -> list[dict[str, Any]]:
    """Every saved run in the run folder (oldest first): its summary row plus ``created`` and ``path``.

    Folders without a readable ``run.json`` are skipped (a half-written run never shows up).
    """
    folder = runs_dir(run_dir)
    rows = []
    if not folder.is_dir():
        return rows
    for sub in sorted(folder.iterdir()):
        meta = sub / "run.json"
        if not meta.is_file():
            continue
        try:
            run = _run_from_json(json.loads(meta.read_text()), sub)
        except (ValueError, KeyError, TypeError):
            continue
        row = run.summary()
        row["created"] = run.config.get("created")
        row["path"] = str(sub)
        rows.append(row)
    rows.sort(key=lambda r: (r["created"] or "", r["name"]))
    return rows


def _run_from_json(d: dict, path: Path) -> TrainingRun:
    nan = float("nan")
    hist = {k: [nan if v is None else float(v) for v in vals] for k, vals in d["history"].items()}
    return TrainingRun(name=d["name"], config=d["config"], history=hist, batch_history=d.get("batch_history", []),
                       wall_time_s=float(d["wall_time_s"]), images_per_s=float(d["images_per_s"] or nan),
                       best_epoch=int(d["best_epoch"]), status=d["status"], model=None, path=path,
                       metrics=d.get("metrics") or {})


def load_run(name: str, run_dir: Any = None, *, load_model: bool = True) -> TrainingRun:
    """Reload a saved run (its JSON and, unless ``load_model=False``, its ``model.keras``).

    Raises a ValueError naming the run and listing the available ones when it does not exist.
    """
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"name must be a run name from list_runs(), got {name!r}")
    folder = runs_dir(run_dir)
    path = folder / name
    meta = path / "run.json"
    if not meta.is_file():
        known = [r["name"] for r in list_runs(run_dir)]
        hint = f" Known runs: {', '.join(known[-8:])}" if known else " There are no saved runs yet."
        raise ValueError(f"name {name!r}: no such run in {folder}.{hint}")
    run = _run_from_json(json.loads(meta.read_text()), path)
    if load_model:
        keras = _keras()
        run.model = keras.saving.load_model(path / "model.keras")
    return run


# =========================================================================== evaluation and inspection
def evaluate(labels: Any, prob: Any, threshold: float = 0.5) -> dict[str, float]:
    """``{"auc", "accuracy", "loss"}``: sklearn's ROC AUC, accuracy at ``threshold``, mean BCE.

    >>> evaluate([0, 1, 1], [0.2, 0.7, 0.4])["auc"]
    1.0
    """
    from sklearn.metrics import roc_auc_score

    y = check_array(labels, "labels", ndim=1).astype(np.int64)
    p = check_array(prob, "prob", ndim=1, dtype=np.float64)
    if len(y) != len(p):
        raise ValueError(f"labels and prob must have the same length, got {len(y)} and {len(p)}")
    threshold = check_float(threshold, "threshold", low=0.0, high=1.0)
    auc = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")
    return {"auc": auc, "accuracy": float(np.mean((p >= threshold) == (y == 1))), "loss": bce_loss(y, p)}


def choose_threshold(labels: Any, prob: Any, criterion: str = "accuracy") -> float:
    """The decision threshold that maximises ``criterion`` on (validation!) data; ties -> the one nearest 0.5.

    ``criterion="accuracy"`` (default): the most correct decisions *at the validation prevalence*.
    ``"balanced"``: the highest balanced accuracy ``(sensitivity + specificity) / 2`` (Youden's J), which does
    not depend on the prevalence: the right choice when the prevalence where the model is used is unknown or
    differs from validation's (PneumoniaMNIST: validation 74 % pneumonia, test 62.5 %). Never choose a
    threshold on test data. Used in 06 §7.

    >>> round(choose_threshold([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9]), 3)
    0.65
    >>> y, p = [0, 0, 1, 1, 1, 1, 1, 1], [0.3, 0.6, 0.4, 0.5, 0.7, 0.8, 0.9, 0.95]
    >>> round(choose_threshold(y, p), 3), round(choose_threshold(y, p, "balanced"), 3)
    (0.35, 0.65)
    """
    y = check_array(labels, "labels", ndim=1).astype(np.int64)
    p = check_array(prob, "prob", ndim=1, dtype=np.float64)
    if len(y) != len(p):
        raise ValueError(f"labels and prob must have the same length, got {len(y)} and {len(p)}")
    criterion = check_choice(criterion, "criterion", ("accuracy", "balanced"))
    u = np.unique(p)
    cands = np.concatenate([[0.0], (u[:-1] + u[1:]) / 2, [1.0]]) if len(u) > 1 else np.array([0.5])
    pred = p[None, :] >= cands[:, None]
    if criterion == "accuracy":
        score = np.mean(pred == (y == 1)[None, :], axis=1)
    else:
        if len(np.unique(y)) < 2:
            raise ValueError("criterion='balanced' needs both classes in labels")
        score = 0.5 * (pred[:, y == 1].mean(axis=1) + (~pred[:, y == 0]).mean(axis=1))
    best = np.flatnonzero(score >= score.max() - 1e-12)
    return float(cands[best[np.argmin(np.abs(cands[best] - 0.5))]])


def first_layer_kernels(model) -> np.ndarray:
    """The first Conv2D layer's kernels as ``(filters, kh, kw)`` (first input channel).

    >>> first_layer_kernels(seed_cnn((28, 28, 1))).shape
    (32, 3, 3)
    """
    keras = _keras()
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            w = np.asarray(layer.get_weights()[0])          # (kh, kw, c_in, filters)
            return np.transpose(w[:, :, 0, :], (2, 0, 1))
    raise ValueError(f"model {model.name!r} has no Conv2D layer")


# =========================================================================== transfer learning
def backbone(model):
    """The feature extractor of a trained model: everything up to (and including) global average pooling.

    >>> backbone(medlab_cnn()).output.shape[-1]
    64
    """
    keras = _keras()
    names = [l.name for l in model.layers]
    cut = "gap" if "gap" in names else ("flatten" if "flatten" in names else None)
    if cut is None:
        raise ValueError(f"model {model.name!r} has no 'gap' or 'flatten' layer to cut at")
    return keras.Model(model.inputs, model.get_layer(cut).output, name=f"{model.name}_backbone")


def transfer_model(source, *, freeze: bool = True, dropout: float = 0.3, learning_rate: float = 2e-3,
                   seed: int = 0):
    """A new binary classifier on the backbone of a trained ``source`` model (weights shared by copy).

    The backbone is cloned with its trained weights; ``freeze=True`` makes it non-trainable (only the new head
    learns); unfreeze later with :func:`set_backbone_trainable` (then re-compile with a smaller learning
    rate). Named ``"transfer_cnn"``; it has no entry in ``RECIPES``, so :func:`fit` falls back to the
    article's defaults (10 epochs, batch 32) unless you pass them, as 06 §8 does. Used in 06 §8.
    """
    keras = _keras()
    dropout = check_float(dropout, "dropout", low=0.0, high=0.9)
    _seed_everything(check_seed(seed))
    bb = backbone(source)
    clone = keras.models.clone_model(bb)
    clone.set_weights(bb.get_weights())
    clone.name = "backbone"
    clone.trainable = not freeze
    inp = keras.Input(tuple(source.input_shape[1:]), name="image")
    x = clone(inp, training=False)     # BatchNorm stays in inference mode while frozen and after unfreezing
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    out = keras.layers.Dense(1, activation="sigmoid", name="dense")(x)
    return _compile(keras.Model(inp, out, name="transfer_cnn"), "adam", learning_rate)


def set_backbone_trainable(model, trainable: bool, learning_rate: float = 2e-4):
    """Freeze or unfreeze the ``"backbone"`` sub-model of a :func:`transfer_model` and re-compile it."""
    if not isinstance(trainable, bool):
        raise TypeError(f"trainable must be True or False, got {trainable!r}")
    model.get_layer("backbone").trainable = trainable
    return _compile(model, "adam", learning_rate)


def imagenet_backbone(name: str = "MobileNetV2", input_shape: Any = (96, 96, 3)):
    """The online path: a ``keras.applications`` backbone with ``weights="imagenet"`` (downloads the weights).

    MedLab runs offline, so this raises a RuntimeError saying so when the weights cannot be downloaded
    (and they are not already in ``~/.keras/models``). Grey X-rays must be repeated to 3 channels.
    """
    keras = _keras()
    apps = {"MobileNetV2": keras.applications.MobileNetV2, "ResNet50": keras.applications.ResNet50,
            "EfficientNetB0": keras.applications.EfficientNetB0, "DenseNet121": keras.applications.DenseNet121}
    name = check_choice(name, "name", list(apps))
    h, w, c = _check_input_shape(input_shape)
    if c != 3:
        raise ValueError(f"input_shape must have 3 channels for ImageNet weights, got {c}; repeat grey images "
                         "with np.repeat(x[..., None], 3, axis=-1)")
    try:
        return apps[name](include_top=False, weights="imagenet", input_shape=(h, w, c), pooling="avg")
    except Exception as e:  # noqa: BLE001 - any download failure means: offline
        raise RuntimeError(
            f"ImageNet weights for {name} could not be downloaded ({type(e).__name__}: {str(e)[:160]}). MedLab "
            "works offline: pretrained ImageNet weights need network access (or a copy in ~/.keras/models). "
            "Use medlab.training.transfer_model with the embedded PneumoniaMNIST backbone instead (06 §8)") from e
