"""Tasks meant to run in a worker process (:func:`medlab.runtime.run_in_worker`): they return plain data.

Importing this module imports nothing heavy (``medlab.training`` imports TensorFlow only when a model is
built), so a worker that runs one of these starts small: TensorFlow and the model live and die in it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["fit_and_export", "fit_and_export_many"]


def fit_and_export(train: Any, val: Any = None, *, model: str = "seed_cnn", input_shape: Any = (28, 28, 1),
                   check: dict | None = None, seed: int = 0, **fit_kwargs: Any) -> dict:
    """Build ``model`` (a name of ``medlab.training.MODELS``), ``fit`` it, and return plain data, no Keras objects.

    Returns ``{"weights": model.get_weights(), "history", "run_name", "wall_time_s", "keras_probs"}``, where
    ``keras_probs[name]`` is ``run.predict(check[name])``. Everything in it pickles, so a worker can send it
    back. ``train``/``val``/``seed``/``fit_kwargs``: as for :func:`medlab.training.fit`. Used in 09 §6
    (through :func:`medlab.lungct.train_patch_cnn`).

    >>> from medlab.runtime import run_in_worker
    >>> x = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8); y = np.arange(64) % 2
    >>> out = run_in_worker(fit_and_export, (x, y), model="tiny_cnn", epochs=1, check={"x": x[:3]},
    ...                     run_dir=__import__("tempfile").mkdtemp())
    >>> len(out["weights"]), out["keras_probs"]["x"].shape
    (6, (3,))
    """
    from . import training

    run = training.fit(training.build_model(model, input_shape, seed=seed), train, val, seed=seed, **fit_kwargs)
    return {"weights": [np.asarray(w) for w in run.model.get_weights()],
            "history": {k: [float(v) for v in vs] for k, vs in run.history.items()},
            "run_name": run.name, "wall_time_s": float(run.wall_time_s),
            "keras_probs": {k: run.predict(v) for k, v in (check or {}).items()}}


def fit_and_export_many(jobs: list) -> list[dict]:
    """:func:`fit_and_export` for each ``(train, val, kwargs)`` of ``jobs``, in order, in one process.

    One worker for several trainings pays TensorFlow's start-up (~4 s) once. Used in 09 §6 (two folds).

    >>> from medlab.runtime import run_in_worker
    >>> x = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8); y = np.arange(64) % 2
    >>> kw = dict(model="tiny_cnn", epochs=1, run_dir=__import__("tempfile").mkdtemp())
    >>> [len(r["weights"]) for r in run_in_worker(fit_and_export_many, [((x, y), None, kw), ((x, y), None, kw)])]
    [6, 6]
    """
    return [fit_and_export(train, val, **kwargs) for train, val, kwargs in jobs]
