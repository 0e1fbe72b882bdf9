"""Repository-wide pytest hooks.

nbval lets a cell tagged ``raises-exception`` fail, but does not fail when such a cell raises
*nothing*. Notebooks use the tag to show the clear error a bad input gets, so a tagged cell that
stops raising is a regression: this hook turns it into a test failure.
"""
from __future__ import annotations

import pytest

BROKEN_CELL_ERRORS = {"NameError", "ImportError", "ModuleNotFoundError", "SyntaxError", "IndentationError"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    options = getattr(item, "options", None)
    if not isinstance(options, dict) or not options.get("check_exception") or outcome.excinfo is not None:
        return
    errors = [o for o in (getattr(item, "test_outputs", None) or []) if o.get("output_type") == "error"]
    if not errors:
        raise AssertionError(f"{item.name}: the cell is tagged raises-exception but raised nothing")
    broken = [o["ename"] for o in errors if o.get("ename") in BROKEN_CELL_ERRORS]
    if broken:
        raise AssertionError(f"{item.name}: tagged raises-exception, but raised {broken[0]}: "
                             "the cell is broken, not demonstrating an error")
