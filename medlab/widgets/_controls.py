"""Controls shared by several widget builders (ipywidgets is imported only when they are built)."""
from __future__ import annotations

from typing import Any

from ..display import PRESETS

__all__ = ["window_preset_buttons", "slider", "image_view"]


def window_preset_buttons(window_w: Any, level_w: Any, button_width: str = "102px") -> Any:
    """Toggle buttons that set the ``window_w``/``level_w`` sliders to a :data:`PRESETS` entry.

    The sliders' own observers re-render. When the learner then moves a slider away from the
    preset, the button is released, so clicking the same preset again works.
    """
    import ipywidgets as w

    preset_w = w.ToggleButtons(options=[(k.capitalize(), k) for k in PRESETS], value=None, description="Preset",
                               style={"button_width": button_width})
    applying = [False]

    def on_preset(change):
        if change["new"] is None:
            return
        applying[0] = True
        try:
            window_w.value, level_w.value = PRESETS[change["new"]]
        finally:
            applying[0] = False

    def on_slider(_):
        name = preset_w.value
        if not applying[0] and name is not None and (window_w.value, level_w.value) != PRESETS[name]:
            preset_w.value = None

    preset_w.observe(on_preset, names="value")
    window_w.observe(on_slider, names="value")
    level_w.observe(on_slider, names="value")
    return preset_w


def slider(w: Any, kind: str, description: str, width: str = "360px", label_width: str = "110px", **kw) -> Any:
    """An ipywidgets slider of class ``kind`` ("IntSlider", "FloatSlider", ...) with a readable label."""
    return getattr(w, kind)(description=description, style={"description_width": label_width},
                            layout=w.Layout(width=width), continuous_update=True, **kw)


def image_view(w: Any, width: int) -> Any:
    """An ``ipywidgets.Image`` ``width`` px wide; in an HBox a short chart is not stretched to its neighbour."""
    return w.Image(format="png", layout=w.Layout(width=f"{width}px", height="auto", align_self="flex-start"))
