"""MedLab: a Jupyter teaching kit for AI in medical image analysis.

Core modules (pure functions, no ipywidgets): ``medlab.datasets`` (embedded, checksum-verified
real data), ``medlab.display`` (window/level, image grids), and the units' modules
(``ops``, ``io``, ``preprocess``, ``features``, ...). Widgets live in ``medlab.widgets``.
"""
__version__ = "0.1.0"
