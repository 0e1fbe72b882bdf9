"""Multimodal fusion, taught honestly: image + hand-crafted ("radiomics") features.

The source article names cross-modal fusion (images with clinical data, CT with PET ...) as a trend. MedLab's
data have no clinical metadata and no second modality of the same patients, so this unit fuses what one image
gives two ways: a CNN's learned **embedding** and 05's hand-crafted feature vector. Three standard designs:

* **early fusion** — concatenate the two feature vectors and fit one classifier (:func:`early_fusion`,
  a standardised logistic regression);
* **late fusion** — combine the two models' *probabilities*: a weighted average with the weight chosen on
  validation (:func:`late_fusion_weight`), or stacking (a logistic regression on the two validation scores,
  :func:`stacking`);
* **joint fusion** — one two-input Keras model, an image branch and a feature branch joined before the output,
  trained end to end (:func:`joint_model`).

:func:`leaky_clinical_feature` makes a deliberately leaky *synthetic* "clinical" variable that encodes the label
(clearly labelled as such), and :func:`screen_features` is the check that catches it: any single feature that
alone separates the validation classes almost perfectly is suspicious. Used in 10.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ._validate import check_array, check_binary_labels, check_float, check_int, check_seed

__all__ = ["embedding", "embedding_layer", "early_fusion", "late_fusion", "late_fusion_weight", "stacking", "joint_model",
           "leaky_clinical_feature", "screen_features", "FusionModel"]


def embedding_layer(model: Any, layer: str | None = None) -> Any:
    """The layer whose feature maps :func:`embedding` averages: ``layer`` by name, or the last layer with a
    4-D ``(batch, h, w, channels)`` output. The embedding has one number per channel of that layer, whatever
    the image size (used in 10 §1 and by its exercise check).
    """
    keras = __import__("keras")
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if layer is not None:
        return model.get_layer(layer)
    conv_layers = [lyr for lyr in model.layers if len(getattr(lyr, "output", None).shape) == 4]
    if not conv_layers:
        raise ValueError("the model has no layer with a 4-D (batch, h, w, channels) output to embed")
    return conv_layers[-1]


def embedding(model: Any, images: np.ndarray, layer: str | None = None, batch_size: int = 64) -> np.ndarray:
    """A CNN's embedding of images: the global average of the last convolution block's feature maps.

    ``model``: a Keras model built with ``keras.Input`` (06's ``seed_cnn``/``medlab_cnn``); ``layer``: the
    layer whose output is averaged (default: :func:`embedding_layer`, the last layer with a 4-D output).
    ``images`` as the loaders return them (uint8 (N, H, W)); preprocessed like 06's ``fit`` (``/ 255``,
    channel axis). Predicted in batches of ``batch_size`` (small batches keep the feature maps, and so the
    notebook's peak memory, small). Returns float32 (N, channels).
    """
    from .training import prepare_images

    keras = __import__("keras")
    target = embedding_layer(model, layer)
    if len(model.inputs) != 1:
        raise ValueError(f"model must have one image input to embed, it has {len(model.inputs)}")
    sub = keras.Model(model.inputs[0], keras.layers.GlobalAveragePooling2D()(target.output))
    x = prepare_images(images, tuple(model.input_shape[1:]), "images")
    return np.asarray(sub.predict(x, batch_size=check_int(batch_size, "batch_size", 1, 8192), verbose=0),
                      dtype=np.float32)


@dataclass
class FusionModel:
    """A fitted early-fusion (or stacking) classifier: ``predict_proba(X) -> (N,)`` probabilities."""
    pipeline: Any
    columns: list[str]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.pipeline.predict_proba(np.asarray(X, dtype=np.float64))[:, 1]


def _xy(X: Any, y: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    Xa = check_array(X, f"X_{name}", ndim=2, dtype=np.float64)
    ya = check_binary_labels(y, f"y_{name}")
    if len(Xa) != len(ya):
        raise ValueError(f"X_{name} has {len(Xa)} rows but y_{name} has {len(ya)} labels")
    if len(np.unique(ya)) < 2:
        raise ValueError(f"y_{name} holds one class only: a classifier needs both 0 and 1")
    return Xa, ya


def early_fusion(blocks_train: dict[str, np.ndarray], y_train: Any, C: float = 1.0, seed: int = 0) -> FusionModel:
    """Early fusion: concatenate feature blocks (name -> (N, k) array) and fit a standardised logistic regression.

    The scaler is fitted on the training rows only (inside the pipeline). ``C``: inverse L2 strength.

    >>> rng = np.random.default_rng(0); y = rng.integers(0, 2, 60)
    >>> m = early_fusion({"a": y[:, None] + rng.normal(0, 1, (60, 1)), "b": rng.normal(size=(60, 2))}, y)
    >>> m.columns, m.predict_proba(np.zeros((1, 3))).shape
    (['a:0', 'b:0', 'b:1'], (1,))
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if not blocks_train:
        raise ValueError("blocks_train must hold at least one feature block")
    X = np.column_stack([check_array(b, f"blocks_train[{k!r}]", ndim=2) for k, b in blocks_train.items()])
    X, y = _xy(X, y_train, "train")
    columns = [f"{k}:{j}" for k, b in blocks_train.items() for j in range(np.shape(b)[1])]
    pipe = Pipeline([("scale", StandardScaler()),
                     ("lr", LogisticRegression(C=check_float(C, "C", 0, 1e6, low_open=True), max_iter=2000,
                                               random_state=check_seed(seed)))])
    return FusionModel(pipe.fit(X, y), columns)


def late_fusion(p_a: Any, p_b: Any, weight: float) -> np.ndarray:
    """Weighted average of two models' probabilities: ``w · p_a + (1 − w) · p_b``.

    >>> late_fusion([0.2, 0.8], [0.6, 0.4], 0.25).round(6).tolist()
    [0.5, 0.5]
    """
    from ._validate import check_probabilities

    a, b = check_probabilities(p_a, "p_a"), check_probabilities(p_b, "p_b")
    if len(a) != len(b):
        raise ValueError(f"p_a has {len(a)} probabilities, p_b {len(b)}: one per image each")
    w = check_float(weight, "weight", 0, 1)
    return w * a + (1 - w) * b


def late_fusion_weight(y_val: Any, p_a_val: Any, p_b_val: Any, grid: int = 21) -> dict[str, Any]:
    """Choose the late-fusion weight on **validation** by AUC over ``grid`` weights in [0, 1].

    Returns ``{"weight", "weights", "auc"}`` (AUC per grid weight; ties -> the weight closest to 0.5).
    """
    from .evaluation import roc_auc

    y = check_binary_labels(y_val, "y_val")
    grid = check_int(grid, "grid", 2, 1001)
    ws = np.linspace(0, 1, grid)
    aucs = np.array([roc_auc(y, late_fusion(p_a_val, p_b_val, w)) for w in ws])
    best = np.flatnonzero(aucs >= aucs.max() - 1e-12)
    w = float(ws[best[np.argmin(np.abs(ws[best] - 0.5))]])
    return {"weight": w, "weights": ws, "auc": aucs}


def stacking(y_val: Any, scores_val: dict[str, Any], seed: int = 0) -> FusionModel:
    """Stacking: a logistic regression on the models' validation scores (name -> (N,) array)."""
    blocks = {k: np.asarray(v, dtype=np.float64).reshape(-1, 1) for k, v in scores_val.items()}
    return early_fusion(blocks, y_val, C=1.0, seed=seed)


def joint_model(image_shape: Sequence[int], n_features: int, seed: int = 0, learning_rate: float = 1e-3):
    """Joint fusion: a two-input Keras model (image branch + feature branch -> one sigmoid), compiled.

    Image branch: 06's small convolutions (Conv 16 -> pool -> Conv 32 -> global average); feature branch: the
    (standardised) hand-crafted vector through Dense(16). Inputs are named ``image`` and ``features``; train
    with ``model.fit({"image": x, "features": f}, y)``.
    """
    keras = __import__("keras")
    h, w = int(image_shape[0]), int(image_shape[1])
    n_features = check_int(n_features, "n_features", 1, 10_000)
    keras.utils.set_random_seed(check_seed(seed))
    L = keras.layers
    img = keras.Input((h, w, 1), name="image")
    x = L.Conv2D(16, 3, activation="relu", name="img_conv1")(img)
    x = L.MaxPooling2D(2, name="img_pool")(x)
    x = L.Conv2D(32, 3, activation="relu", name="img_conv2")(x)
    x = L.GlobalAveragePooling2D(name="img_gap")(x)
    f_in = keras.Input((n_features,), name="features")
    f = L.Dense(16, activation="relu", name="feat_dense")(f_in)
    z = L.Concatenate(name="fuse")([x, f])
    z = L.Dense(16, activation="relu", name="joint_dense")(z)
    out = L.Dense(1, activation="sigmoid", name="out")(z)
    model = keras.Model([img, f_in], out, name="joint_fusion")
    model.compile(optimizer=keras.optimizers.Adam(check_float(learning_rate, "learning_rate", 0, 1, low_open=True)),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


def leaky_clinical_feature(y: Any, agreement: float = 0.9, seed: int = 0) -> np.ndarray:
    """A **synthetic** "clinical" variable that leaks the label (for the lesson only; clearly not real data).

    It mimics a field recorded *because of* the diagnosis (e.g. "referred to the pneumonia clinic"): equal to
    the label for a fraction ``agreement`` of the images, random otherwise, plus a little noise so it looks
    continuous.

    >>> v = leaky_clinical_feature([0, 1] * 50, agreement=1.0); bool(((v > 0.5) == np.array([0, 1] * 50)).all())
    True
    """
    ya = check_binary_labels(y, "y")
    agreement = check_float(agreement, "agreement", 0, 1)
    rng = np.random.default_rng(check_seed(seed))
    keep = rng.random(len(ya)) < agreement
    flag = np.where(keep, ya, rng.integers(0, 2, len(ya)))
    return flag + rng.normal(0, 0.1, len(ya))


def screen_features(X_val: Any, y_val: Any, names: Sequence[str], alarm_auc: float = 0.95) -> list[dict[str, Any]]:
    """The leak check: the validation AUC of every single feature (sign-free), highest first, with an alarm flag.

    A single column that alone reaches ``alarm_auc`` is flagged: real diagnostic signals are rarely that clean;
    a leak (a field recorded because of the diagnosis) often is.
    """
    from .evaluation import roc_auc

    X, y = _xy(X_val, y_val, "val")
    if len(names) != X.shape[1]:
        raise ValueError(f"names has {len(names)} entries for {X.shape[1]} columns")
    alarm_auc = check_float(alarm_auc, "alarm_auc", 0.5, 1)
    rows = []
    for j, n in enumerate(names):
        col = X[:, j]
        auc = 0.5 if np.ptp(col) == 0 else roc_auc(y, col)
        auc = max(auc, 1 - auc)
        rows.append({"feature": n, "auc": float(auc), "alarm": bool(auc >= alarm_auc)})
    return sorted(rows, key=lambda r: -r["auc"])
