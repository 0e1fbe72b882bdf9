"""Interactive widgets, one module per notebook unit, each built by the one declarative layer.

Every public builder is a pure frame function plus control specs handed to
:func:`medlab.widgets._explorer.explorer`, and is registered with ``@register(demo=...)``.
``WIDGETS`` maps each builder's name to a zero-argument factory that builds it on embedded data; the
contract test (``tests/test_widget_contract.py``) and the widget benchmark (``benchmarks/bench_widgets.py``)
cover every entry automatically. Modules are discovered here, so adding ``widgets/<unit>.py`` needs no
edit of this file.

Modules load on first use: ``from medlab.widgets import gd_stepper`` imports only ``widgets/training.py``
(the builders are found by reading the sources), so a notebook does not pay for the other units' imports
(about 70 MiB of SciPy, scikit-image, pydicom... in a classroom kernel with 1 GiB). ``WIDGETS`` imports them all.

>>> "slice_viewer" in WIDGETS
True
"""
from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Iterator

from ._explorer import REGISTRY

_MODULES = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _registered_names(module: str) -> list[str]:
    """The builders ``widgets/<module>.py`` registers, read from its source (``@register(...)``)."""
    tree = ast.parse((Path(__file__).parent / f"{module}.py").read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            call = dec if isinstance(dec, ast.Call) else None
            func = call.func if call is not None else dec
            if (isinstance(func, ast.Name) and func.id == "register") or \
                    (isinstance(func, ast.Attribute) and func.attr == "register"):
                alias = next((k.value.value for k in (call.keywords if call else ())
                              if k.arg == "name" and isinstance(k.value, ast.Constant)), None)
                names.append(alias or node.name)
    return names


#: builder name -> module name, without importing anything
INDEX: dict[str, str] = {name: mod for mod in _MODULES for name in _registered_names(mod)}

__all__ = ["WIDGETS", "INDEX", "load_all", *sorted(INDEX)]


def __getattr__(name: str) -> Any:
    module = INDEX.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    importlib.import_module(f"{__name__}.{module}")
    builder = REGISTRY[name][0]
    globals()[name] = builder
    return builder


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(INDEX))


def load_all() -> None:
    """Import every widget module (what ``WIDGETS`` needs); idempotent."""
    for mod in _MODULES:
        importlib.import_module(f"{__name__}.{mod}")


def _factory(builder: Callable[..., Any], demo: Callable[[], dict]) -> Callable[[], Any]:
    def build() -> Any:
        return builder(**demo())

    build.__name__ = f"build_{getattr(builder, '__name__', 'widget')}"
    build.__doc__ = f"Build ``{getattr(builder, '__name__', 'widget')}`` on embedded data."
    return build


class _Widgets(Mapping):
    """builder name -> zero-argument factory (builds the widget on embedded data); loads modules as needed."""

    def __getitem__(self, name: str) -> Callable[[], Any]:
        if name not in REGISTRY:
            if name in INDEX:
                __getattr__(name)  # imports just that builder's module
            else:
                load_all()
        builder, demo, _module = REGISTRY[name]
        return _factory(builder, demo)

    def __iter__(self) -> Iterator[str]:
        load_all()
        return iter(sorted(REGISTRY))

    def __len__(self) -> int:
        load_all()
        return len(REGISTRY)

    def __contains__(self, name: object) -> bool:
        if name in INDEX:
            return True
        load_all()
        return name in REGISTRY

    def __repr__(self) -> str:
        return f"<medlab.widgets.WIDGETS: {len(self)} widgets>"


#: builder name -> zero-argument factory (builds the widget on embedded data).
WIDGETS: Mapping[str, Callable[[], Any]] = _Widgets()
