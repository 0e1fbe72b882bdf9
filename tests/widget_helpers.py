"""Helpers for widget tests: find the images a widget shows and check that a control changes them."""
from __future__ import annotations


def images(widget) -> list:
    """Every ``ipywidgets.Image`` inside ``widget`` (depth-first)."""
    import ipywidgets as w

    out = []

    def walk(x):
        if isinstance(x, w.Image):
            out.append(x)
        for c in getattr(x, "children", ()):
            walk(c)

    walk(widget)
    return out


def moves_image(widget, control, value) -> bool:
    """Set ``control.value = value``; True if any image of ``widget`` changed."""
    before = [im.value for im in images(widget)]
    control.value = value
    return any(a != b for a, b in zip([im.value for im in images(widget)], before))
