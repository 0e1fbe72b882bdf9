"""Moved to :mod:`medlab.render` (core). Kept only while the widget modules are ported; do not import."""
from ..render import *  # noqa: F401,F403
from ..render import __all__  # noqa: F401
