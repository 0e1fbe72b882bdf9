"""Interactive widgets, one module per notebook unit, each built by the one declarative layer.

Every public builder is a pure frame function plus control specs handed to
:func:`medlab.widgets._explorer.explorer`, and is registered with ``@register(demo=...)``.
``WIDGETS`` maps each builder's name to a zero-argument factory that builds it on embedded data; the
contract test (``tests/test_widget_contract.py``) and the widget benchmark (``benchmarks/bench_widgets.py``)
cover every entry automatically. Modules are discovered here, so adding ``widgets/<unit>.py`` needs no
edit of this file.

>>> "slice_viewer" in WIDGETS
True
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable

from ._explorer import REGISTRY

__all__ = ["WIDGETS"]

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")


def _factory(builder: Callable[..., Any], demo: Callable[[], dict]) -> Callable[[], Any]:
    def build() -> Any:
        return builder(**demo())

    build.__name__ = f"build_{builder.__name__}"
    build.__doc__ = f"Build ``{builder.__name__}`` on embedded data."
    return build


#: builder name -> zero-argument factory (builds the widget on embedded data).
WIDGETS: dict[str, Callable[[], Any]] = {}
for _name, (_builder, _demo, _module) in sorted(REGISTRY.items()):
    WIDGETS[_name] = _factory(_builder, _demo)
    globals()[_name] = _builder
    __all__.append(_name)
