"""MedLab: a Jupyter teaching kit for AI in medical image analysis.

Core modules (pure functions, no ipywidgets): ``medlab.datasets`` (embedded, checksum-verified
real data), ``medlab.display`` (window/level, image grids), and the units' modules
(``ops``, ``io``, ``preprocess``, ``features``, ...). Widgets live in ``medlab.widgets``.
"""
__version__ = "0.1.0"

from .i18n import set_language  # noqa: E402  中文/English for widget labels and exercise feedback
