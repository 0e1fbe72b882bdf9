"""Teaching samples: small, named cut-outs of the embedded data that several notebooks and widgets share.

Each function is cached and returns a read-only array (a learner who modifies a sample gets an error
instead of silently changing it for every later cell). Re-exported by :mod:`medlab.datasets`, so
``from medlab.datasets import lung_slice`` works. Pure: no ipywidgets.

Sections below are per notebook unit.
"""
from __future__ import annotations

import functools

import numpy as np

__all__: list[str] = []


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.flags.writeable = False
    return a


def _export(fn):
    __all__.append(fn.__name__)
    return fn


# ============================================================================ 00 / 01: medical images

# ============================================================================ 02 / 03: convolution, pooling

# ============================================================================ 04: preprocessing

# ============================================================================ 05: features and the SVM
