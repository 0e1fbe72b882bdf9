"""Explaining one prediction of a Keras image classifier: attribution maps and the checks they must pass.

Every method takes a Keras model with **one sigmoid output unit** (``Dense(1, activation="sigmoid")`` or a
``Dense(1)`` followed by ``Activation("sigmoid")``) and one image batch ``x`` of shape ``(1, H, W, C)``, and
returns a dict with at least ``map``: an ``H x W`` float64 array at the input's resolution in which a *higher*
value means *more important for the explained class*. The methods differ in what "important" means:

=======================  ====================================================================  ===========
function                 map                                                                   sign
=======================  ====================================================================  ===========
:func:`saliency`         :math:`|\\partial z / \\partial x|` (vanilla gradient)                  >= 0
:func:`smoothgrad`       the mean of :math:`|\\partial z / \\partial x|` over noisy copies       >= 0
:func:`gradient_x_input` :math:`x \\odot \\partial z / \\partial x`                               signed
:func:`grad_cam`         ReLU of the gradient-weighted feature maps of a conv layer, upsampled  >= 0
:func:`occlusion`        how much the logit drops when a patch covering the pixel is hidden     signed
:func:`integrated_gradients` :math:`(x - x') \\odot` the mean gradient on the path from x' to x  signed
:func:`edge_detector`    the Sobel edges of the *input* -- no model at all (a control)          >= 0
=======================  ====================================================================  ===========

All gradients are taken of the **logit** ``z`` (the input of the final sigmoid), not of the probability: the
sigmoid saturates, so the gradient of a confident prediction's probability is close to zero everywhere. For
the negative class (``target_class=0``) the explained score is ``-z`` (``logit(1 - p) = -logit(p)``). The logit
is obtained without changing the model: for a final ``Dense`` with a sigmoid it is computed from that layer's
input as ``h @ W + b``; for a final ``Activation("sigmoid")`` it is that layer's input; a model whose last layer
is linear is taken to output the logit already.

Sanity checks after Adebayo et al. (2018), *Sanity checks for saliency maps*, NeurIPS:
:func:`cascading_randomization` re-initialises the layers from the top (output) down and
:func:`label_randomization` retrains on shuffled labels; :func:`similarity` compares maps by Spearman rank
correlation and SSIM. A method whose maps do not change when the model is destroyed explains the *input*,
not the model. Faithfulness: :func:`deletion_insertion` (Petsiuk et al. 2018, RISE) deletes / inserts pixels
in the order of the map and records the probability; the areas under the two curves summarise it.

Works with Keras 3 ``Sequential`` and functional models (and models reloaded from ``.keras``).
TensorFlow is imported inside the functions. Used in 08 (every section); the benchmark is
``benchmarks/bench_explain.py``.

>>> import keras
>>> keras.utils.set_random_seed(0)
>>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
...                           keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
>>> x = np.random.default_rng(0).random((1, 8, 8, 1), dtype=np.float32)
>>> out = saliency(model, x)
>>> out["map"].shape, bool(out["map"].min() >= 0)
((8, 8), True)
>>> round(float(out["probability"]), 4) == round(float(model.predict(x, verbose=0)[0, 0]), 4)
True
"""
from __future__ import annotations

import numbers
import weakref
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._validate import check_array, check_choice, check_float, check_int, check_limit, check_seed

__all__ = ["logit", "saliency", "smoothgrad", "gradient_x_input", "grad_cam", "occlusion",
           "integrated_gradients", "edge_detector", "occlusion_starts", "occlusion_map", "METHODS", "explain",
           "explain_batch",
           "conv_layers", "default_cam_layer", "similarity", "cascading_randomization", "label_randomization",
           "deletion_insertion", "xray_lung_fields", "attribution_inside"]

#: Upper limits (checked before any work starts).
MAX_SAMPLES = 1000          # SmoothGrad noisy copies, IG steps
MAX_WINDOWS = 65_536        # occlusion patches
MAX_CHUNK_ELEMENTS = 2**15  # pixels per forward/backward batch: 41 images of 28 x 28, 1 of 256 x 256; keeps
                            # one batch's activations to a few MB (08's explorers peaked ~100 MiB higher with
                            # 2**22, measured with benchmarks/bench_memory.py; no slower on 2 cores)
MAX_CURVE_ELEMENTS = 2**26  # pixels in all deletion / insertion curve images of one call
MAX_CURVE_STEPS = 1000      # deletion / insertion points
MAX_TRAIN_IMAGES = 50_000   # label randomisation
MAX_EPOCHS = 100


# ----------------------------------------------------------------------------- model and input plumbing
def _keras():
    import keras  # noqa: PLC0415 (lazy: TensorFlow is heavy)
    return keras


def _tf():
    import tensorflow as tf  # noqa: PLC0415
    return tf


def _check_model(model: Any) -> Any:
    keras = _keras()
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model (keras.Model / keras.Sequential), got {type(model).__name__}")
    if not model.built:
        raise ValueError("model is not built yet: build it with keras.Input(...) or call it once on a batch")
    try:
        out_shape = tuple(model.outputs[0].shape) if model.outputs else None
    except (AttributeError, ValueError):
        out_shape = None
    if out_shape is not None and (len(model.outputs) != 1 or out_shape[-1] != 1 or len(out_shape) != 2):
        raise ValueError(f"model must have one output of shape (batch, 1) (one sigmoid unit), got "
                         f"{[tuple(o.shape) for o in model.outputs]}")
    return model


def _input_shape(model: Any) -> tuple | None:
    try:
        return tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def _as_batch(x: Any, model: Any, name: str = "x", max_batch: int | None = 1) -> np.ndarray:
    """``x`` as a float32 array (N, H, W, C) matching the model's input; an (H, W) image is accepted."""
    arr = check_array(x, name, ndim=(2, 3, 4))
    if arr.ndim == 2:
        arr = arr[None, :, :, None]
    elif arr.ndim == 3:
        raise ValueError(f"{name} must be a batch of shape (1, H, W, C), got shape {arr.shape}; "
                         f"add the batch axis with {name}[None] (or pass one (H, W) image)")
    if max_batch is not None and arr.shape[0] != max_batch:
        raise ValueError(f"{name} must hold exactly one image (shape (1, H, W, C)), got {arr.shape[0]} "
                         f"images; explain them one by one, or use explain_batch")
    want = _input_shape(model)
    if want is not None and len(want) == 4:
        if any(w is not None and w != a for w, a in zip(want[1:], arr.shape[1:])):
            raise ValueError(f"{name} has shape {arr.shape}, but the model expects images of shape "
                             f"{tuple(want[1:])}; resize or reshape the image first")
    elif want is not None and len(want) != 4:
        raise ValueError(f"the model's input has shape {want}; these methods need an image model whose "
                         f"input is (batch, H, W, C)")
    return np.ascontiguousarray(arr, dtype=_input_dtype(model))


def _input_dtype(model: Any) -> np.dtype:
    """float32, or float64 for a model built in double precision."""
    try:
        name = str(model.inputs[0].dtype)
    except (AttributeError, IndexError, TypeError):
        return np.dtype(np.float32)
    return np.dtype(np.float64) if "float64" in name else np.dtype(np.float32)


def _target_class(target_class: Any) -> float:
    value = check_int(target_class, "target_class", low=0, high=1)
    return 1.0 if value == 1 else -1.0


def _output_layer(model: Any) -> Any:
    try:
        return model.outputs[0]._keras_history[0]
    except (AttributeError, IndexError, TypeError):
        return model.layers[-1]


def _activation_name(layer: Any) -> str:
    act = getattr(layer, "activation", None)
    return getattr(act, "__name__", str(act)) if act is not None else ""


def _logit_kind(layer: Any) -> str:
    """How the logit is read from the output layer: 'dense' (h @ W + b), 'input' or 'output'."""
    keras = _keras()
    act = _activation_name(layer)
    if isinstance(layer, keras.layers.Dense):
        if act == "sigmoid":
            return "dense"
        if act == "linear":
            return "output"
    elif isinstance(layer, keras.layers.Activation):
        if act == "sigmoid":
            return "input"
        if act == "linear":
            return "output"
    raise ValueError(f"the model's last layer ({layer.name}: {type(layer).__name__}, activation "
                     f"{act or 'none'}) is not a sigmoid unit; these methods explain models ending in "
                     f"Dense(1, activation='sigmoid') (or Dense(1) + Activation('sigmoid'))")


def conv_layers(model: Any) -> list[str]:
    """Names of the model's 2-D convolution layers, input to output (the layers Grad-CAM can use).

    >>> import keras
    >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c1"),
    ...                       keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
    >>> conv_layers(m)
    ['c1']
    """
    keras = _keras()
    _check_model(model)
    return [l.name for l in model.layers if isinstance(l, keras.layers.Conv2D)]


def default_cam_layer(model: Any) -> str:
    """Grad-CAM's default layer: the last Conv2D, or the last BatchNormalization/Activation right after it.

    For the article's model that is its second convolution (11 x 11 at 28 px); for a block
    ``Conv2D -> BatchNormalization -> Activation("relu")`` it is the block's ReLU output (the feature maps the
    rest of the network actually sees).

    >>> import keras
    >>> i = keras.Input((8, 8, 1)); h = keras.layers.Conv2D(2, 3, name="c")(i)
    >>> h = keras.layers.BatchNormalization(name="bn")(h); h = keras.layers.Activation("relu", name="r")(h)
    >>> o = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(h))
    >>> default_cam_layer(keras.Model(i, o))
    'r'
    """
    keras = _keras()
    _check_model(model)
    layers = list(model.layers)
    idx = [k for k, l in enumerate(layers) if isinstance(l, keras.layers.Conv2D)]
    if not idx:
        raise ValueError("the model has no Conv2D layer; Grad-CAM needs a convolution layer "
                         "(use saliency or integrated_gradients instead)")
    k = idx[-1]
    pointwise = (keras.layers.BatchNormalization, keras.layers.Activation, keras.layers.ReLU)
    last = _output_layer(model)
    while k + 1 < len(layers) and isinstance(layers[k + 1], pointwise) and layers[k + 1] is not last:
        k += 1
    return layers[k].name


_FORWARD_CACHE: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def _forward(model: Any, layer: str | None = None) -> Callable:
    """``f(x) -> (activations of `layer` or None, logit of shape (N,))`` as TensorFlow tensors."""
    keras = _keras()
    try:
        cache = _FORWARD_CACHE.setdefault(model, {})
    except TypeError:
        cache = {}
    if layer in cache:
        return cache[layer]
    out_layer = _output_layer(model)
    kind = _logit_kind(out_layer)
    if layer is not None:
        names = [l.name for l in model.layers]
        if layer not in names:
            raise ValueError(f"layer {layer!r} is not a layer of the model; its layers are {names}")
        if layer == out_layer.name:
            raise ValueError(f"layer {layer!r} is the output layer; pick a convolution layer "
                             f"{conv_layers(model)}")

    def logit_from(h):
        if kind == "dense":
            z = keras.ops.matmul(h, out_layer.kernel)
            if out_layer.use_bias:
                z = z + out_layer.bias
            return z[:, 0]
        return keras.ops.reshape(h, (-1,))

    if isinstance(model, keras.Sequential):
        def fn(x):
            h, acts = x, None
            stack = model.layers
            for i, l in enumerate(stack):
                if i == len(stack) - 1:
                    if kind != "output":
                        return acts, logit_from(h)
                    return acts, logit_from(l(h, training=False))
                h = l(h, training=False)
                if l.name == layer:
                    acts = h
            return acts, logit_from(h)  # pragma: no cover (the loop always returns)
    else:
        head = out_layer.output if kind == "output" else out_layer.input
        if isinstance(head, (list, tuple)):
            raise ValueError("the model's output layer has several inputs; cannot read one logit")
        outs = [head] if layer is None else [model.get_layer(layer).output, head]
        if len(model.inputs) != 1:
            raise ValueError(f"the model has {len(model.inputs)} inputs; these methods explain one image input")
        sub = keras.Model(model.inputs[0], outs)

        def fn(x):
            res = sub(x, training=False)
            if layer is None:
                return None, logit_from(res)
            return res[0], logit_from(res[1])
    cache[layer] = fn
    return fn


def _chunk(n_pixels: int) -> int:
    return max(1, MAX_CHUNK_ELEMENTS // max(1, n_pixels))


def _compiled(model: Any, what: str, layer: str | None, xs: np.ndarray) -> Callable:
    """A traced (tf.function) version of the forward / gradient computation, one per model, layer and
    image shape (the batch size is left open, so it is traced once). Graph mode is several times faster
    than eager mode for small models (measured in benchmarks/bench_explain.py)."""
    tf = _tf()
    key = (what, layer, xs.shape[1:], str(xs.dtype))
    try:
        cache = _FORWARD_CACHE.setdefault(model, {})
    except TypeError:
        cache = {}
    if key in cache:
        return cache[key]
    fn = _forward(model, layer)
    spec = [tf.TensorSpec((None,) + tuple(xs.shape[1:]), tf.as_dtype(xs.dtype)),
            tf.TensorSpec((), tf.as_dtype(xs.dtype))]
    if what == "logit":
        def run(t, sign):
            return fn(t)[1]
    elif what == "grad":
        def run(t, sign):
            with tf.GradientTape() as tape:
                tape.watch(t)
                _, z = fn(t)
                score = sign * tf.reduce_sum(z)
            return tape.gradient(score, t), z
    else:  # "cam": activations of `layer` and the gradient of the score with respect to them
        def run(t, sign):
            with tf.GradientTape() as tape:
                acts, z = fn(t)
                score = sign * tf.reduce_sum(z)
            return acts, tape.gradient(score, acts), z
    compiled = tf.function(run, input_signature=spec)
    cache[key] = compiled
    return compiled


def _logits_np(model: Any, xs: np.ndarray) -> np.ndarray:
    """Logits of a batch (N, H, W, C), in chunks, as float64 (N,)."""
    fn = _compiled(model, "logit", None, xs)
    one = xs.dtype.type(1)
    step = _chunk(int(np.prod(xs.shape[1:])))
    out = [np.asarray(fn(xs[i:i + step], one), dtype=np.float64) for i in range(0, len(xs), step)]
    return np.concatenate(out)


def _gradients(model: Any, xs: np.ndarray, sign: float) -> tuple[np.ndarray, np.ndarray]:
    """d(sign * logit)/dx for each image of a batch, and the logits (chunks bound the memory)."""
    fn = _compiled(model, "grad", None, xs)
    s = xs.dtype.type(sign)
    step = _chunk(int(np.prod(xs.shape[1:])))
    grads, logits = [], []
    for i in range(0, len(xs), step):
        g, z = fn(xs[i:i + step], s)
        grads.append(np.asarray(g, dtype=np.float64))
        logits.append(np.asarray(z, dtype=np.float64))
    return np.concatenate(grads), np.concatenate(logits)


def _cam_parts(model: Any, xs: np.ndarray, layer: str, sign: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fn = _compiled(model, "cam", layer, xs)
    acts, grads, z = fn(xs, xs.dtype.type(sign))
    return (np.asarray(acts, dtype=np.float64), np.asarray(grads, dtype=np.float64),
            np.asarray(z, dtype=np.float64))


def _sigmoid(z: Any) -> Any:
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def _channel_sum(a: np.ndarray) -> np.ndarray:
    return a.sum(axis=-1)


def logit(model: Any, x: Any) -> float:
    """The logit ``z`` of the sigmoid output for one image (``sigmoid(z)`` is the model's probability).

    >>> import keras
    >>> keras.utils.set_random_seed(0)
    >>> m = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
    ...                       keras.layers.Dense(1, activation="sigmoid")])
    >>> x = np.ones((1, 4, 4, 1), np.float32)
    >>> p = float(m.predict(x, verbose=0)[0, 0])
    >>> bool(abs(1 / (1 + np.exp(-logit(m, x))) - p) < 1e-6)
    True
    """
    _check_model(model)
    xs = _as_batch(x, model)
    return float(_logits_np(model, xs)[0])


def _result(logit_value: float, sign: float, **entries: Any) -> dict:
    z = float(logit_value)
    return {**entries, "logit": z, "probability": float(_sigmoid(z)),
            "target_class": 1 if sign > 0 else 0}


# ----------------------------------------------------------------------------- gradient methods
def saliency(model: Any, x: Any, target_class: int = 1) -> dict:
    """Vanilla gradient saliency (Simonyan et al. 2014): ``map = |dz/dx|`` summed over channels.

    Returns ``map`` (H x W, >= 0), ``gradient`` (the signed gradient, H x W), ``logit``, ``probability`` and
    ``target_class``. Used in 08 §1.

    >>> import keras
    >>> keras.utils.set_random_seed(0)
    >>> m = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
    ...                       keras.layers.Dense(1, activation="sigmoid")])
    >>> w = m.layers[-1].get_weights()[0].reshape(4, 4)   # a linear model: the gradient is its weight
    >>> bool(np.allclose(saliency(m, np.zeros((1, 4, 4, 1)))["gradient"], w, atol=1e-6))
    True
    """
    _check_model(model)
    sign = _target_class(target_class)
    xs = _as_batch(x, model)
    g, z = _gradients(model, xs, sign)
    grad = _channel_sum(g[0])
    return _result(z[0], sign, map=np.abs(g[0]).sum(axis=-1), gradient=grad)


def gradient_x_input(model: Any, x: Any, target_class: int = 1) -> dict:
    """Gradient times input: ``map = sum_c x * dz/dx`` (signed). Used in 08 §6 (sanity checks).

    It is exact for a linear model (it is then each pixel's term of the logit) and keeps much of the
    input's structure whatever the model -- which is why it changes less under randomisation.

    >>> import keras
    >>> keras.utils.set_random_seed(0)
    >>> m = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
    ...                       keras.layers.Dense(1, activation="sigmoid", use_bias=False)])
    >>> x = np.random.default_rng(1).random((1, 4, 4, 1))
    >>> out = gradient_x_input(m, x)
    >>> bool(abs(out["map"].sum() - out["logit"]) < 1e-5)   # linear, no bias: the terms add up to the logit
    True
    """
    _check_model(model)
    sign = _target_class(target_class)
    xs = _as_batch(x, model)
    g, z = _gradients(model, xs, sign)
    return _result(z[0], sign, map=(g[0] * xs[0]).sum(axis=-1), gradient=_channel_sum(g[0]))


def smoothgrad(model: Any, x: Any, noise: float = 0.15, n: int = 25, seed: int = 0,
               target_class: int = 1) -> dict:
    """SmoothGrad (Smilkov et al. 2017): the mean of ``|dz/dx|`` over ``n`` copies of ``x`` with Gaussian noise.

    The noise's standard deviation is ``sigma = noise * (x.max() - x.min())`` (``noise`` itself for a
    constant image); the paper recommends 10-20 %. Returns ``map`` (H x W, >= 0), ``gradient`` (the mean signed
    gradient), ``sigma``, ``n`` and the logit of the clean image. Same ``seed`` -> same map. Used in 08 §2.

    >>> import keras
    >>> keras.utils.set_random_seed(0)
    >>> m = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
    ...                       keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
    >>> x = np.random.default_rng(0).random((1, 6, 6, 1))
    >>> a, b = smoothgrad(m, x, n=8, seed=3), smoothgrad(m, x, n=8, seed=3)
    >>> bool(np.array_equal(a["map"], b["map"]))
    True
    """
    _check_model(model)
    sign = _target_class(target_class)
    noise = check_float(noise, "noise", low=0.0, high=10.0)
    n = check_int(n, "n", low=1, high=MAX_SAMPLES, why_high="compute time")
    seed = check_seed(seed)
    xs = _as_batch(x, model)
    span = float(xs.max() - xs.min())
    sigma = noise * (span if span > 0 else 1.0)
    rng = np.random.default_rng(seed)
    step = _chunk(int(np.prod(xs.shape[1:])))
    total_abs = np.zeros(xs.shape[1:], dtype=np.float64)
    total = np.zeros(xs.shape[1:], dtype=np.float64)
    for start in range(0, n, step):
        k = min(step, n - start)
        noisy = (xs + rng.normal(0.0, sigma, size=(k,) + xs.shape[1:])).astype(xs.dtype)
        g, _ = _gradients(model, noisy, sign)
        total_abs += np.abs(g).sum(axis=0)
        total += g.sum(axis=0)
    z = _logits_np(model, xs)[0]
    return _result(z, sign, map=total_abs.sum(axis=-1) / n, gradient=_channel_sum(total) / n,
                   sigma=sigma, n=n)


def integrated_gradients(model: Any, x: Any, baseline: Any = None, steps: int = 50,
                         target_class: int = 1) -> dict:
    """Integrated gradients (Sundararajan et al. 2017) from ``baseline`` (default: a black image) to ``x``.

    .. math:: \\mathrm{IG}_i = (x_i - x'_i) \\int_0^1 \\frac{\\partial z(x' + \\alpha (x - x'))}{\\partial x_i}
              \\, d\\alpha

    The integral is the trapezoidal rule on ``steps`` intervals (``steps + 1`` gradients). Completeness: the
    attributions add up to ``z(x) - z(x')``; ``completeness_error`` = ``|sum(IG) - (z(x) - z(x'))|`` measures
    how well the integral was approximated (it falls as ``steps`` grows). Returns ``map`` (= ``attributions``
    summed over channels, signed, H x W), ``attributions`` (H x W x C), ``completeness_error``,
    ``relative_error`` (divided by ``|z(x) - z(x')|``), ``sum``, ``delta`` (``z(x) - z(x')``),
    ``baseline_logit``, ``steps``. Used in 08 §5.

    >>> import keras
    >>> keras.utils.set_random_seed(0)
    >>> m = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
    ...                       keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
    >>> x = np.random.default_rng(0).random((1, 6, 6, 1))
    >>> out = integrated_gradients(m, x, steps=64)
    >>> bool(out["completeness_error"] < 1e-2 * max(1.0, abs(out["delta"])))
    True
    """
    _check_model(model)
    sign = _target_class(target_class)
    steps = check_int(steps, "steps", low=1, high=MAX_SAMPLES, why_high="compute time")
    xs = _as_batch(x, model)
    if baseline is None:
        base = np.zeros_like(xs)
    elif isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
        base = np.full_like(xs, check_float(baseline, "baseline"))
    else:
        base = _as_batch(baseline, model, "baseline")
        if base.shape != xs.shape:
            raise ValueError(f"baseline must have the shape of x {xs.shape}, got {base.shape}")
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float64)
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] = 0.5 / steps
    diff = (xs - base).astype(np.float64)
    step = _chunk(int(np.prod(xs.shape[1:])))
    avg = np.zeros(xs.shape[1:], dtype=np.float64)
    for start in range(0, steps + 1, step):
        a = alphas[start:start + step]
        path = (base + a[:, None, None, None] * diff).astype(xs.dtype)
        g, _ = _gradients(model, path, sign)
        avg += np.tensordot(weights[start:start + step], g, axes=(0, 0))
    attributions = diff[0] * avg
    ends = _logits_np(model, np.concatenate([xs, base]))
    z_x, z_b = ends
    delta = sign * (z_x - z_b)
    total = float(attributions.sum())
    err = abs(total - delta)
    return _result(z_x, sign, map=attributions.sum(axis=-1), attributions=attributions,
                   completeness_error=float(err), relative_error=float(err / max(abs(delta), 1e-12)),
                   sum=total, delta=float(delta), baseline_logit=float(z_b), steps=steps)


# ----------------------------------------------------------------------------- Grad-CAM
def _upsample(raw: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize with half-pixel centres (what tf.image.resize and OpenCV do)."""
    from skimage.transform import resize  # noqa: PLC0415
    if raw.shape == tuple(shape):
        return raw.astype(np.float64)
    return resize(raw.astype(np.float64), shape, order=1, mode="edge", anti_aliasing=False,
                  preserve_range=True)


def grad_cam(model: Any, x: Any, layer: str | None = None, target_class: int = 1,
             variant: str = "grad_cam") -> dict:
    """Grad-CAM (Selvaraju et al. 2017) from the logit, on any convolution layer (default: :func:`default_cam_layer`).

    With ``A^k`` the ``k``-th feature map of the layer (``h x w``) and ``z`` the logit (``-z`` for
    ``target_class=0``):

    .. math:: \\alpha_k = \\frac{1}{hw} \\sum_{ij} \\frac{\\partial z}{\\partial A^k_{ij}}, \\qquad
              \\mathrm{raw} = \\mathrm{ReLU}\\Big(\\sum_k \\alpha_k A^k\\Big)

    Returns ``raw`` (h x w: 11 x 11 for the article's model at 28 px, second conv layer), ``map`` (``raw``
    resized bilinearly to the input's H x W; not normalised), ``weights`` (the ``alpha_k``), ``layer`` (its
    name) and the logit. The resize stretches the grid over the whole image; with 'valid' convolutions the
    grid's cells are really centred a little inside the border (a coarse map either way). Used in 08 §3.

    ``variant="hirescam"`` (Draelos & Carin 2020) keeps the gradient per position instead of averaging it:
    ``raw = ReLU(sum_k dz/dA^k * A^k)``. When the layer is followed by ``Flatten -> Dense`` (the article's
    model) this is each position's exact share of the logit, while Grad-CAM's averaged weights can cancel
    evidence that sits at one position only (08 §9 shows a marker Grad-CAM misses). After global average
    pooling the two coincide. ``weights`` is then the per-position gradient (h x w x k).

    >>> import keras
    >>> keras.utils.set_random_seed(0)
    >>> m = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
    ...                       keras.layers.MaxPooling2D(2), keras.layers.Conv2D(4, 3, activation="relu"),
    ...                       keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
    >>> out = grad_cam(m, np.random.default_rng(0).random((1, 28, 28, 1)))
    >>> out["raw"].shape, out["map"].shape
    ((11, 11), (28, 28))
    """
    _check_model(model)
    sign = _target_class(target_class)
    convs = conv_layers(model)
    if layer is None:
        layer = default_cam_layer(model)
    elif not isinstance(layer, str):
        raise TypeError(f"layer must be a layer name (str) or None, got {type(layer).__name__}")
    else:
        names = [l.name for l in model.layers]
        if layer not in names:
            raise ValueError(f"layer {layer!r} is not a layer of the model; its convolution layers are {convs}")
        out = model.get_layer(layer).output
        if len(out.shape) != 4:
            raise ValueError(f"layer {layer!r} outputs shape {tuple(out.shape)}, not feature maps "
                             f"(batch, h, w, channels); pick one of {convs}")
    xs = _as_batch(x, model)
    check_choice(variant, "variant", ("grad_cam", "hirescam"))
    acts, grads, z = _cam_parts(model, xs, layer, sign)
    a, grads = acts[0], grads[0]
    if variant == "grad_cam":
        weights = grads.mean(axis=(0, 1))
        raw = np.maximum(np.tensordot(a, weights, axes=(2, 0)), 0.0)
    else:
        weights = grads
        raw = np.maximum((a * grads).sum(axis=-1), 0.0)
    return _result(float(z[0]), sign, map=_upsample(raw, xs.shape[1:3]), raw=raw,
                   weights=weights, layer=layer, variant=variant)


# ----------------------------------------------------------------------------- occlusion
def _starts(size: int, patch: int, stride: int) -> list[int]:
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:  # the last window touches the border: every pixel is covered
        starts.append(size - patch)
    return starts


def occlusion(model: Any, x: Any, patch: int = 4, stride: int = 2, fill: float | str = 0.0,
              target_class: int = 1) -> dict:
    """Occlusion (Zeiler & Fergus 2014): hide a ``patch x patch`` square, see how much the logit drops.

    Windows start every ``stride`` pixels (plus one touching the bottom/right border, so every pixel is
    covered); the hidden pixels are set to ``fill`` (a number, or ``"mean"`` for the image's mean). For each
    window the drop is ``s(x) - s(x_occluded)`` with ``s = z`` (``-z`` for ``target_class=0``): positive where
    hiding the region lowers the evidence for the class. ``map[i, j]`` is the mean drop over the windows
    covering pixel (i, j). Returns ``map`` (H x W, signed), ``grid`` (the drop of each window, rows x cols),
    ``rows`` and ``cols`` (the windows' top/left corners), ``n_windows``, ``fill``. One batched forward pass
    per chunk. Used in 08 §4.

    >>> import keras
    >>> keras.utils.set_random_seed(0)
    >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
    ...                       keras.layers.Dense(1, activation="sigmoid")])
    >>> out = occlusion(m, np.ones((1, 8, 8, 1)), patch=4, stride=4)
    >>> out["grid"].shape, out["n_windows"]
    ((2, 2), 4)
    """
    _check_model(model)
    sign = _target_class(target_class)
    xs = _as_batch(x, model)
    h, w = xs.shape[1:3]
    patch = check_int(patch, "patch", low=1, high=min(h, w))
    stride = check_int(stride, "stride", low=1, high=max(h, w))
    if isinstance(fill, str):
        check_choice(fill, "fill", ("mean",))
        fill_value = float(xs.mean())
    else:
        fill_value = check_float(fill, "fill")
    rows, cols = _starts(h, patch, stride), _starts(w, patch, stride)
    n_windows = len(rows) * len(cols)
    check_limit(n_windows, MAX_WINDOWS, "occlusion windows", "use a larger stride")
    step = _chunk(int(np.prod(xs.shape[1:])))
    base = _logits_np(model, xs)[0]
    positions = [(r, c) for r in rows for c in cols]
    drops = np.empty(n_windows, dtype=np.float64)
    for start in range(0, n_windows, step):
        part = positions[start:start + step]
        batch = np.repeat(xs, len(part), axis=0)
        for k, (r, c) in enumerate(part):
            batch[k, r:r + patch, c:c + patch, :] = fill_value
        drops[start:start + len(part)] = sign * (base - _logits_np(model, batch))
    grid = drops.reshape(len(rows), len(cols))
    return _result(base, sign, map=occlusion_map(grid, rows, cols, patch, (h, w)), grid=grid,
                   rows=np.array(rows), cols=np.array(cols), n_windows=n_windows, fill=fill_value,
                   patch=patch, stride=stride)


def occlusion_starts(size: int, patch: int, stride: int) -> list[int]:
    """The window starts :func:`occlusion` uses along one axis: every ``stride`` pixels, plus one touching
    the far border. Every start is one of the stride-1 starts, so one stride-1 grid gives every stride.

    >>> occlusion_starts(10, 4, 4)
    [0, 4, 6]
    """
    size = check_int(size, "size", low=1)
    patch = check_int(patch, "patch", low=1, high=size)
    stride = check_int(stride, "stride", low=1)
    return _starts(size, patch, stride)


def occlusion_map(grid: Any, rows: Sequence[int], cols: Sequence[int], patch: int,
                  shape: tuple[int, int]) -> np.ndarray:
    """Per-pixel mean of the window drops ``grid[a, b]`` (window at ``rows[a], cols[b]``) covering each pixel.

    Pixels no window covers get 0. Used by :func:`occlusion` and by the occlusion widget (which computes
    the stride-1 grid once and picks the windows of any stride from it).

    >>> occlusion_map(np.array([[1.0, 3.0]]), [0], [0, 2], 2, (2, 4)).tolist()
    [[1.0, 1.0, 3.0, 3.0], [1.0, 1.0, 3.0, 3.0]]
    """
    g = check_array(grid, "grid", ndim=2).astype(np.float64)
    if g.shape != (len(rows), len(cols)):
        raise ValueError(f"grid must have shape (len(rows), len(cols)) = {(len(rows), len(cols))}, got {g.shape}")
    h, w = (check_int(v, "shape", low=1) for v in shape)
    patch = check_int(patch, "patch", low=1, high=min(h, w))
    total = np.zeros((h, w), dtype=np.float64)
    count = np.zeros((h, w), dtype=np.float64)
    for a, r in enumerate(rows):
        for b, c in enumerate(cols):
            total[r:r + patch, c:c + patch] += g[a, b]
            count[r:r + patch, c:c + patch] += 1
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


# ----------------------------------------------------------------------------- a model-free control
def edge_detector(model: Any, x: Any, target_class: int = 1) -> dict:
    """The Sobel edge magnitude of the *input*: a "map" that ignores the model entirely (a control).

    It takes ``model`` only to have the same signature as the other methods (and reports its logit); in the
    sanity checks it shows what a method that explains the input, not the model, looks like: its maps do
    not change at all when the model is randomised. Used in 08 §6.

    >>> import keras
    >>> m = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(),
    ...                       keras.layers.Dense(1, activation="sigmoid")])
    >>> img = np.zeros((1, 6, 6, 1)); img[0, :, 3:] = 1
    >>> e = edge_detector(m, img)["map"]
    >>> bool(e[:, 2:4].min() > 0 and e[:, 0].max() == 0)
    True
    """
    from skimage.filters import sobel  # noqa: PLC0415
    _check_model(model)
    sign = _target_class(target_class)
    xs = _as_batch(x, model)
    edges = sum(sobel(xs[0, :, :, c].astype(np.float64)) for c in range(xs.shape[-1]))
    return _result(_logits_np(model, xs)[0], sign, map=np.asarray(edges, dtype=np.float64))


#: Every attribution method by name (the names the widgets, the batch helper and the sanity checks use).
METHODS: dict[str, Callable[..., dict]] = {
    "saliency": saliency, "smoothgrad": smoothgrad, "gradient_x_input": gradient_x_input,
    "grad_cam": grad_cam, "occlusion": occlusion, "integrated_gradients": integrated_gradients,
    "edge_detector": edge_detector,
}


def _method(method: Any) -> Callable[..., dict]:
    if callable(method):
        return method
    check_choice(method, "method", METHODS)
    return METHODS[method]


def explain(model: Any, x: Any, method: str = "saliency", **kwargs: Any) -> dict:
    """Dispatch by name: ``explain(model, x, "grad_cam", layer="conv2d_1")`` is ``grad_cam(model, x, ...)``.

    >>> import keras
    >>> m = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
    ...                       keras.layers.Dense(1, activation="sigmoid")])
    >>> explain(m, np.zeros((1, 4, 4, 1)), "saliency")["map"].shape
    (4, 4)
    """
    return _method(method)(model, x, **kwargs)


def explain_batch(model: Any, images: Any, method: str = "saliency", **kwargs: Any) -> np.ndarray:
    """The ``map`` of ``method`` for every image of a batch (N, H, W, C): an array (N, H, W).

    Saliency, gradient x input and Grad-CAM take one forward/backward pass per chunk of images; the others
    run image by image. Used to precompute the widgets' maps and in the benchmark.

    >>> import keras
    >>> m = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
    ...                       keras.layers.Dense(1, activation="sigmoid")])
    >>> explain_batch(m, np.zeros((3, 4, 4, 1)), "saliency").shape
    (3, 4, 4)
    """
    _check_model(model)
    xs = _as_batch(images, model, "images", max_batch=None)
    fn = _method(method)
    target = kwargs.get("target_class", 1)
    if fn in (saliency, gradient_x_input) and set(kwargs) <= {"target_class"}:
        g, _ = _gradients(model, xs, _target_class(target))
        return np.abs(g).sum(axis=-1) if fn is saliency else (g * xs).sum(axis=-1)
    if fn is grad_cam and set(kwargs) <= {"target_class", "layer"}:  # the default variant only
        return _grad_cam_batch(model, xs, kwargs.get("layer"), _target_class(target))
    return np.stack([fn(model, xs[i:i + 1], **kwargs)["map"] for i in range(len(xs))])


def _grad_cam_batch(model: Any, xs: np.ndarray, layer: str | None, sign: float) -> np.ndarray:
    layer = grad_cam(model, xs[:1], layer=layer)["layer"]  # validates the layer once
    step = _chunk(int(np.prod(xs.shape[1:])))
    maps = []
    for i in range(0, len(xs), step):
        a, g, _ = _cam_parts(model, xs[i:i + step], layer, sign)
        weights = g.mean(axis=(1, 2))                      # (n, k)
        raw = np.maximum(np.einsum("nijk,nk->nij", a, weights), 0.0)
        maps.extend(_upsample(r, xs.shape[1:3]) for r in raw)
    return np.stack(maps)


# ----------------------------------------------------------------------------- sanity checks
def _as_map(m: Any, name: str) -> np.ndarray:
    if isinstance(m, Mapping):
        if "map" not in m:
            raise ValueError(f"{name} is a dict without a 'map' entry; pass an explanation or an H x W array")
        m = m["map"]
    return check_array(m, name, ndim=2).astype(np.float64)


def similarity(a: Any, b: Any) -> dict:
    """How alike two attribution maps are (Adebayo et al. 2018): rank correlation and structure.

    Returns ``spearman`` (Spearman rank correlation of the values), ``spearman_abs`` (of the absolute
    values: the sign of an attribution is often unstable, its magnitude is what is displayed) and ``ssim``
    (structural similarity of the absolute maps, each scaled to [0, 1] by its maximum, ``data_range=1``).
    A constant map has no ranking: its rank correlation with another map is defined here as 0 (1 if both are
    the same constant); never NaN. Used in 08 §6.

    >>> rng = np.random.default_rng(0)
    >>> a = rng.random((16, 16))
    >>> round(similarity(a, a)["spearman"], 6), round(similarity(a, a)["ssim"], 6)
    (1.0, 1.0)
    >>> bool(abs(similarity(a, rng.random((16, 16)))["spearman"]) < 0.2)
    True
    """
    from scipy.stats import spearmanr  # noqa: PLC0415
    from skimage.metrics import structural_similarity  # noqa: PLC0415
    a, b = _as_map(a, "a"), _as_map(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if min(a.shape) < 3:
        raise ValueError(f"maps must be at least 3 x 3 for SSIM, got {a.shape}")

    def rank_corr(u: np.ndarray, v: np.ndarray) -> float:
        cu, cv = np.ptp(u) == 0, np.ptp(v) == 0
        if cu or cv:
            return 1.0 if (cu and cv and np.array_equal(u, v)) else 0.0
        return float(spearmanr(u.ravel(), v.ravel()).statistic)

    def scaled(u: np.ndarray) -> np.ndarray:
        u = np.abs(u)
        top = u.max()
        return u / top if top > 0 else u

    win = min(7, min(a.shape) if min(a.shape) % 2 else min(a.shape) - 1)
    ssim = float(structural_similarity(scaled(a), scaled(b), data_range=1.0, win_size=win))
    return {"spearman": rank_corr(a, b), "spearman_abs": rank_corr(np.abs(a), np.abs(b)), "ssim": ssim}


def _clone_with_weights(model: Any) -> Any:
    keras = _keras()
    try:
        clone = keras.models.clone_model(model)
    except Exception as exc:  # subclassed models cannot be cloned
        raise TypeError(f"model could not be cloned ({exc}); the sanity checks need a Sequential or "
                        f"functional Keras model") from None
    clone.set_weights(model.get_weights())
    return clone


def _reinitialise(layer: Any, rng: np.random.Generator) -> None:
    """New random weights for one layer, from the layer's own initialisers (seeded)."""
    keras = _keras()
    new = []
    for var in layer.weights:
        short = var.path.split("/")[-1] if hasattr(var, "path") else var.name
        init = getattr(layer, f"{short}_initializer", None)
        shape = tuple(var.shape)
        if init is not None:
            cfg = init.get_config()
            if "seed" in cfg:
                cfg["seed"] = int(rng.integers(0, 2**31 - 1))
            value = np.asarray(type(init).from_config(cfg)(shape, dtype=var.dtype))
        else:  # no initialiser known: Glorot-like normal noise
            fan = max(1, int(np.prod(shape[:-1]))) if len(shape) > 1 else max(1, shape[0])
            value = rng.normal(0.0, np.sqrt(1.0 / fan), size=shape)
        new.append(np.asarray(value))
    layer.set_weights(new)
    del keras


def _method_maps(model: Any, x: np.ndarray, methods: Sequence[str], method_kwargs: Mapping) -> dict:
    return {m: _method(m)(model, x, **dict(method_kwargs.get(m, {})))["map"] for m in methods}


def _check_methods(methods: Any) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    if not methods:
        raise ValueError(f"methods must name at least one method of {list(METHODS)}")
    for m in methods:
        check_choice(m, "methods", METHODS)
    return methods


DEFAULT_SANITY_METHODS = ("saliency", "gradient_x_input", "grad_cam", "integrated_gradients", "edge_detector")


def cascading_randomization(model: Any, x: Any, methods: Sequence[str] = DEFAULT_SANITY_METHODS,
                            seed: int = 0, method_kwargs: Mapping[str, Mapping] | None = None) -> dict:
    """Model-parameter randomisation test, cascading from the top layer down (Adebayo et al. 2018, §3).

    On a copy of the model (the original is not changed), the layers with weights are re-initialised one
    after the other from the output layer towards the input, with their own initialisers (seeded); after
    each step every method's map is recomputed and compared with the map of the trained model.

    Returns ``layers`` (``["trained", <top layer>, ..., <first layer>]``: step ``k`` has the top ``k`` layers
    randomised), ``maps`` (method -> array (steps, H, W)), ``spearman``, ``spearman_abs`` and ``ssim`` (method ->
    array (steps,), the similarity to the trained model's map; step 0 is 1) and ``probability`` (steps,).
    Expected: gradient-based maps and Grad-CAM decorrelate quickly; the edge detector stays at 1. Used in
    08 §6.

    >>> import keras
    >>> keras.utils.set_random_seed(0)
    >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, activation="relu", name="c"),
    ...                       keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid", name="d")])
    >>> x = np.random.default_rng(0).random((1, 8, 8, 1))
    >>> out = cascading_randomization(m, x, methods=("saliency", "edge_detector"))
    >>> out["layers"], out["ssim"]["edge_detector"].tolist()
    (['trained', 'd', 'c'], [1.0, 1.0, 1.0])
    """
    _check_model(model)
    methods = _check_methods(methods)
    rng = np.random.default_rng(check_seed(seed))
    method_kwargs = dict(method_kwargs or {})
    xs = _as_batch(x, model)
    clone = _clone_with_weights(model)
    order = [l for l in clone.layers if l.weights][::-1]
    steps = [_method_maps(clone, xs, methods, method_kwargs)]
    probs = [float(_sigmoid(_logits_np(clone, xs)[0]))]
    for layer in order:
        _reinitialise(layer, rng)
        steps.append(_method_maps(clone, xs, methods, method_kwargs))
        probs.append(float(_sigmoid(_logits_np(clone, xs)[0])))
    out: dict[str, Any] = {"layers": ["trained"] + [l.name for l in order], "maps": {}, "spearman": {},
                           "spearman_abs": {}, "ssim": {}, "probability": np.array(probs)}
    for m in methods:
        out["maps"][m] = np.stack([s[m] for s in steps])
        sims = [similarity(steps[0][m], s[m]) for s in steps]
        for key in ("spearman", "spearman_abs", "ssim"):
            out[key][m] = np.array([d[key] for d in sims])
    return out


def label_randomization(model: Any, x: Any, images: Any, labels: Any, epochs: int = 5, seed: int = 0,
                        methods: Sequence[str] = DEFAULT_SANITY_METHODS, batch_size: int = 64,
                        learning_rate: float = 1e-3,
                        method_kwargs: Mapping[str, Mapping] | None = None) -> dict:
    """Data randomisation test (Adebayo et al. 2018, §4): the same architecture trained on shuffled labels.

    A fresh copy of ``model``'s architecture (new seeded weights) is trained with Adam and binary
    cross-entropy on ``images`` with the labels permuted (seed ``seed``; deterministic ops). A network can
    memorise random labels, but it then has learned nothing about the disease: a map that looks the same
    for both models does not depend on what the model learned. Returns ``model`` (the random-label model),
    ``maps`` (method -> array (2, H, W): trained, random labels), ``spearman``, ``spearman_abs`` and ``ssim``
    (method -> float), ``train_accuracy`` (of the random-label model on its shuffled labels: memorisation)
    and ``true_label_accuracy`` (on the real labels: about chance). Used in 08 §6.
    """
    keras = _keras()
    tf = _tf()
    _check_model(model)
    methods = _check_methods(methods)
    seed = check_seed(seed)
    epochs = check_int(epochs, "epochs", low=1, high=MAX_EPOCHS, why_high="compute time")
    batch_size = check_int(batch_size, "batch_size", low=1, high=4096)
    learning_rate = check_float(learning_rate, "learning_rate", low=0.0, low_open=True, high=10.0)
    xs = _as_batch(x, model)
    imgs = _as_batch(images, model, "images", max_batch=None)
    check_limit(len(imgs), MAX_TRAIN_IMAGES, "training images", "train on a subset")
    y = check_array(labels, "labels", ndim=1)
    if len(y) != len(imgs):
        raise ValueError(f"labels must have one entry per image: images has {len(imgs)}, labels {len(y)}")
    if not np.all(np.isin(np.unique(y), (0, 1))):
        raise ValueError(f"labels must be 0/1, got values {np.unique(y)[:6].tolist()}")
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(y).astype(np.float32)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    try:
        rand = keras.models.clone_model(model)
    except Exception as exc:
        raise TypeError(f"model could not be cloned ({exc}); use a Sequential or functional model") from None
    rand.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    rand.fit(imgs, shuffled, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    p = _sigmoid(_logits_np(rand, imgs))
    kw = dict(method_kwargs or {})
    trained, random = _method_maps(model, xs, methods, kw), _method_maps(rand, xs, methods, kw)
    out: dict[str, Any] = {"model": rand, "maps": {}, "spearman": {}, "spearman_abs": {}, "ssim": {},
                           "train_accuracy": float(np.mean((p >= 0.5) == (shuffled == 1))),
                           "true_label_accuracy": float(np.mean((p >= 0.5) == (y == 1)))}
    for m in methods:
        out["maps"][m] = np.stack([trained[m], random[m]])
        sim = similarity(trained[m], random[m])
        for key in ("spearman", "spearman_abs", "ssim"):
            out[key][m] = sim[key]
    return out


# ----------------------------------------------------------------------------- faithfulness
def deletion_insertion(model: Any, x: Any, attribution: Any, steps: int = 28, fill: float = 0.0,
                       blur_sigma: float | None = None, target_class: int = 1, seed: int = 0) -> dict:
    """Deletion and insertion curves (Petsiuk et al. 2018) for a map, with a random-order reference.

    Pixels are ranked by ``attribution`` (an H x W map or an explanation dict), highest first. *Deletion*:
    the top fraction ``f`` of pixels is set to ``fill`` and the probability of the class is recorded; a
    faithful map makes it fall fast (small area). *Insertion*: starting from a blurred copy of the image
    (Gaussian, ``blur_sigma`` pixels, default ``max(H, W) / 14``), the top fraction is restored from ``x``; a
    faithful map makes it rise fast (large area). ``f`` runs over ``steps + 1`` values from 0 to 1; the areas
    (trapezoidal rule over ``f``) lie in [0, 1]. The same curves for a random pixel order (seed ``seed``) are
    the reference a map must beat. Returns ``fractions``, ``deletion``, ``insertion``, ``deletion_auc``,
    ``insertion_auc``, ``random_deletion``, ``random_insertion``, ``random_deletion_auc``,
    ``random_insertion_auc``. Used in 08 §7.

    >>> import keras
    >>> keras.utils.set_random_seed(0)
    >>> m = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(),
    ...                       keras.layers.Dense(1, activation="sigmoid")])
    >>> x = np.random.default_rng(0).random((1, 6, 6, 1))
    >>> out = deletion_insertion(m, x, gradient_x_input(m, x), steps=6)
    >>> out["fractions"].tolist()[:3], bool(0 <= out["deletion_auc"] <= 1)
    ([0.0, 0.16666666666666666, 0.3333333333333333], True)
    """
    from scipy.ndimage import gaussian_filter  # noqa: PLC0415
    _check_model(model)
    dtype = _input_dtype(model)
    sign = _target_class(target_class)
    xs = _as_batch(x, model)
    h, w = xs.shape[1:3]
    amap = _as_map(attribution, "attribution")
    if amap.shape != (h, w):
        raise ValueError(f"attribution must have the image's shape {(h, w)}, got {amap.shape}")
    steps = check_int(steps, "steps", low=1, high=min(MAX_CURVE_STEPS, h * w))
    fill = check_float(fill, "fill")
    sigma = max(h, w) / 14.0 if blur_sigma is None else check_float(blur_sigma, "blur_sigma", low=0.0)
    seed = check_seed(seed)
    check_limit(2.0 * (steps + 1) * xs.size, MAX_CURVE_ELEMENTS, "pixels in the curve images",
                "use fewer steps")
    blurred = np.stack([gaussian_filter(xs[0, :, :, c].astype(np.float64), sigma) for c in range(xs.shape[-1])],
                       axis=-1).astype(dtype)
    counts = np.round(np.linspace(0, h * w, steps + 1)).astype(int)
    fractions = counts / (h * w)

    def curves(order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rank = np.empty(h * w, dtype=np.int64)
        rank[order] = np.arange(h * w)
        chosen = rank.reshape(h, w)[None, :, :, None] < counts[:, None, None, None]  # (steps+1, h, w, 1)
        deleted = np.where(chosen, dtype.type(fill), xs[0][None])
        inserted = np.where(chosen, xs[0][None], blurred[None])
        z = _logits_np(model, np.concatenate([deleted, inserted]).astype(dtype))
        p = _sigmoid(sign * z)
        return p[:steps + 1], p[steps + 1:]

    order = np.argsort(-amap.ravel(), kind="stable")
    dele, ins = curves(order)
    r_dele, r_ins = curves(np.random.default_rng(seed).permutation(h * w))
    area = lambda v: float(np.trapezoid(v, fractions))  # noqa: E731
    return {"fractions": fractions, "deletion": dele, "insertion": ins, "deletion_auc": area(dele),
            "insertion_auc": area(ins), "random_deletion": r_dele, "random_insertion": r_ins,
            "random_deletion_auc": area(r_dele), "random_insertion_auc": area(r_ins)}


# ----------------------------------------------------------------------------- where does a map point?
def xray_lung_fields(image: Any, sigma: float = 4.0) -> np.ndarray:
    """A crude mask of the two lung fields on a frontal chest X-ray (H x W, bool). Used in 08 §9.

    The method, and why it is only a rough ruler: aerated lung is *dark* on a radiograph. The image is
    scaled to [0, 1] and smoothed (Gaussian, ``sigma`` px at 256 px, scaled with the size); pixels darker
    than Otsu's threshold of the central region (rows 8-90 %, columns 5-95 %: outside it lie the neck, the
    abdomen and much of the air beside the body) are kept; in each half of the image the largest connected dark
    region is taken as that lung, its holes are filled and it is closed morphologically.

    Limits: a consolidated (white) lobe -- exactly what pneumonia does -- is *not* dark and is left out; the
    heart and the mediastinum are excluded only because they are bright; the air beside a small child's
    body (joined to a lung by a dark gap) or a dark gastric bubble can be taken as lung; rotated or cropped
    images break the half-split. It is good enough to ask "does the model look at the lungs or at the
    corners and labels?", not for measuring the lungs.

    >>> img = np.full((64, 64), 0.8); img[10:50, 8:28] = 0.2; img[10:50, 36:56] = 0.2
    >>> m = xray_lung_fields(img)
    >>> bool(m[30, 15] and m[30, 45] and not m[30, 32] and not m[58, 30])
    True
    """
    from scipy import ndimage  # noqa: PLC0415
    from skimage.filters import threshold_otsu  # noqa: PLC0415
    a = check_array(image, "image", ndim=(2, 3)).astype(np.float64)
    if a.ndim == 3:
        if a.shape[-1] != 1:
            raise ValueError(f"image must be one grey image (H, W) or (H, W, 1), got shape {a.shape}")
        a = a[..., 0]
    h, w = a.shape
    if min(h, w) < 16:
        raise ValueError(f"image must be at least 16 x 16 to find lung fields, got {a.shape}")
    sigma = check_float(sigma, "sigma", low=0.0, high=64.0)
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        raise ValueError("image is constant; there are no lung fields to find")
    a = (a - lo) / (hi - lo)
    blur = ndimage.gaussian_filter(a, sigma * max(h, w) / 256.0)
    roi = np.zeros((h, w), bool)
    roi[int(0.08 * h):int(0.9 * h), int(0.05 * w):int(0.95 * w)] = True
    t = threshold_otsu(blur[roi])
    dark = (blur < t) & roi
    mask = np.zeros((h, w), bool)
    radius = max(1, int(round(3 * max(h, w) / 256)))
    structure = ndimage.generate_binary_structure(2, 1)
    for half in (slice(0, w // 2), slice(w // 2, w)):
        part = dark[:, half]
        labels, n = ndimage.label(part, structure)
        if n == 0:
            continue
        sizes = ndimage.sum(part, labels, index=np.arange(1, n + 1))
        lung = labels == (1 + int(np.argmax(sizes)))
        lung = ndimage.binary_closing(lung, structure, iterations=radius)
        mask[:, half] = ndimage.binary_fill_holes(lung)
    return mask & roi


def attribution_inside(attribution: Any, mask: Any) -> dict:
    """Which share of a map's positive attribution lies inside ``mask`` (e.g. the lung fields). Used in 08 §9.

    Returns ``inside`` (sum of ``max(map, 0)`` inside the mask / sum over the image), ``area`` (the mask's
    share of the image: what a map spread evenly would give) and ``ratio`` = inside / area (> 1: the map
    concentrates on the mask). A map with no positive value raises (there is nothing to share out).

    >>> m = np.zeros((4, 4)); m[0, 0] = 3; m[3, 3] = 1
    >>> mask = np.zeros((4, 4), bool); mask[:2, :2] = True
    >>> attribution_inside(m, mask)
    {'inside': 0.75, 'area': 0.25, 'ratio': 3.0}
    """
    amap = _as_map(attribution, "attribution")
    m = check_array(mask, "mask", ndim=2, finite=False)
    if m.shape != amap.shape:
        if m.shape[0] % amap.shape[0] == 0 and m.shape[1] % amap.shape[1] == 0 or \
                amap.shape[0] % m.shape[0] == 0 and amap.shape[1] % m.shape[1] == 0:
            hint = " (resize the map to the mask's size first, e.g. with skimage.transform.resize)"
        else:
            hint = ""
        raise ValueError(f"mask must have the map's shape {amap.shape}, got {m.shape}{hint}")
    if not np.all(np.isin(np.unique(m), (0, 1))):
        raise ValueError("mask must be boolean (or 0/1)")
    m = m.astype(bool)
    pos = np.maximum(amap, 0.0)
    total = float(pos.sum())
    if total <= 0:
        raise ValueError("attribution has no positive value; nothing to locate (explain the other class?)")
    inside = float(pos[m].sum()) / total
    area = float(m.mean())
    return {"inside": inside, "area": area, "ratio": inside / area if area > 0 else float("inf")}
