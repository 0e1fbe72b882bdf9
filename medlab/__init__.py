"""MedLab: a Jupyter teaching kit for AI in medical image analysis.

Core modules (pure functions, no ipywidgets): ``medlab.datasets`` (embedded, checksum-verified
real data), ``medlab.display`` (window/level, image grids), and the units' modules
(``ops``, ``io``, ``preprocess``, ``features``, ...). Widgets live in ``medlab.widgets``.
"""
import os as _os

__version__ = "0.1.0"

# TensorFlow's C++ layer prints absl "E0000 ... use_unbounded_threadpool" lines on every fit with class weights
# (a harmless op-attribute mismatch inside TensorFlow); level 3 keeps them out of learners' notebooks. Python
# exceptions are unaffected. Set TF_CPP_MIN_LOG_LEVEL yourself before importing medlab to see them.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .i18n import set_language  # noqa: E402  中文/English for widget labels and exercise feedback
