"""The one widget layer: a pure frame function + control specs -> an interactive explorer.

In the spirit of ``ipywidgets.interactive_output`` (a function plus controls becomes the UI) and
mpl-interactions' ``Controls``, fitted to MedLab's PNG pipeline (images composed in numpy, sent as PNG).

A widget is written in three parts::

    from medlab.widgets._explorer import Frame, Int, Float, Choice, explorer, register

    def pooling_frame(size: int, mode: str) -> Frame:        # pure: values in, pictures out
        out = ops.pool2d(image, size, mode=mode)
        return Frame(image=render.to_rgb(out), readout=f"<code>{out.shape}</code>")

    @register(demo=lambda: {})                               # WIDGETS["pooling_explorer"]
    def pooling_explorer():
        "Max/average pooling of the CT slice. Used in 03 §1."
        return explorer(pooling_frame, {"size": Int("Window", 1, 8, value=2),
                                        "mode": Choice("Mode", ["max", "avg"], style="toggle")})

What the layer guarantees (so no builder writes wiring):

* every control is built in one style from a frozen spec (:class:`Int`, :class:`Float` incl. ``log=True``,
  :class:`Choice` incl. ``style="toggle"``, :class:`Check`, :class:`Button`);
* one observer; the frame is called inside one ``try/except``: an unexpected exception becomes the
  widget's warning (``"ValueError: ..."``), never a traceback from an observer, and the last good image
  stays on screen. A frame can also flag a setting itself with ``Frame(warning="...")`` (plain text);
* dependent limits are applied under one guard: either known before the frame runs
  (``explorer(..., limits=lambda **values: {"slice": {"max": n - 1}})``, cheap, so the frame never sees an
  out-of-range value) or found by the frame (``Frame(limits={"step": {"max": n - 1}})``; when a value was
  clamped the frame is called once more with the clamped value);
* multi-control updates are batched: a :class:`Choice` with ``sets=`` (a window preset that sets window
  *and* level) or :meth:`Explorer.set` renders once. With ``release=True`` the preset is released when the
  learner moves one of its controls away from it, so clicking it again re-applies it;
* the frame gets ``state=`` (a dict kept between calls) only when ``explorer(..., state={...})`` is
  given: for the few widgets with real mode state (a 3-D grow kept until the seed moves, noise kept while
  only the filter changes). ``state["explorer"]`` is the :class:`Explorer` itself, so a long action can
  push intermediate frames with :meth:`Explorer.show` (a training loop per batch, or from a thread);
* a :class:`Button` control is passed to the frame as ``True`` on the call its click caused, else
  ``False``. Long work belongs behind a button; pass ``progress=True`` to get a progress bar that
  ``Frame(progress=0..1)`` drives.

The :class:`Explorer` handle: ``.render()`` re-runs the frame and returns the main PNG bytes;
``.controls`` (name -> ipywidget), ``.panes`` (name -> ``ipywidgets.Image``; the main image is
``"main"``), ``.readout`` (the HTML widget), ``.message`` (current warning text, ``""`` if none),
``.specs``, ``.values``, ``.widget`` (the root box). It displays itself in a notebook.

HTML is produced only in the widget layer; use :func:`esc` for any text put into HTML. Compute
functions of widget modules return the one result contract of :func:`result` (``ok``, ``message`` plain
text, ``warnings`` list, plus the data); core functions keep raising clear errors.
"""
from __future__ import annotations

import functools
import html
import inspect
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..render import to_png
from ..runtime import headless

__all__ = ["Int", "Float", "Choice", "Check", "Button", "Frame", "Explorer", "explorer", "register",
           "result", "esc", "html_table", "REGISTRY", "placeholder_png"]


# ----------------------------------------------------------------------------- control specs
@dataclass(frozen=True)
class Int:
    """An integer slider. ``value`` defaults to ``min``."""
    label: str
    min: int
    max: int
    value: int | None = None
    step: int = 1
    continuous: bool = True


@dataclass(frozen=True)
class Float:
    """A float slider; ``log=True`` gives a log-scale slider (``min``/``max`` are values, not exponents)."""
    label: str
    min: float
    max: float
    value: float | None = None
    step: float | None = None
    log: bool = False
    format: str = ".3g"
    continuous: bool = True


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (values, or ``(label, value)`` pairs): a dropdown, toggle buttons or radio buttons.

    ``sets``: value -> {other control: value} applied in one batch (a preset). With ``release=True`` the
    choice goes back to ``None`` when one of those controls is moved away from the preset.
    """
    label: str
    options: Sequence[Any]
    value: Any = "__first__"
    style: str = "dropdown"
    sets: Callable[[Any], Mapping[str, Any]] | None = None
    release: bool = False
    button_width: str = ""


@dataclass(frozen=True)
class Check:
    """A checkbox."""
    label: str
    value: bool = False


@dataclass(frozen=True)
class Button:
    """An action button: the frame gets ``True`` for this name on the call its click caused."""
    label: str
    style: str = ""


Spec = Int | Float | Choice | Check | Button


def _options(spec: Choice) -> list[tuple[str, Any]]:
    out = []
    for o in spec.options:
        if isinstance(o, tuple) and len(o) == 2:
            out.append((str(o[0]), o[1]))
        else:
            out.append((str(o), o))
    return out


def spec_values(spec: Spec) -> list[Any]:
    """The values a sweep should try for ``spec``: extremes and a middle, every option, both states.

    >>> spec_values(Int("n", 0, 10))
    [0, 5, 10]
    """
    if isinstance(spec, Int):
        return sorted({spec.min, (spec.min + spec.max) // 2, spec.max})
    if isinstance(spec, Float):
        mid = float(np.sqrt(spec.min * spec.max)) if spec.log else (spec.min + spec.max) / 2
        return [spec.min, mid, spec.max]
    if isinstance(spec, Choice):
        return [v for _, v in _options(spec)]
    if isinstance(spec, Check):
        return [False, True]
    return [True]


# ----------------------------------------------------------------------------- frame and results
@dataclass
class Frame:
    """What a frame function returns.

    ``image``: the main picture (uint8 grey/RGB array, or PNG bytes; ``None`` keeps the last one);
    ``panes``: extra named pictures; ``readout``: HTML shown under the controls; ``warning``: plain
    text shown as a warning (the last good image stays); ``limits``: {control: {"max": .., "min": ..,
    "options": ..}}; ``values``: control values to set (e.g. reset a step counter); ``progress``: 0..1 for
    the progress bar (``explorer(..., progress=True)``).
    """
    image: Any = None
    panes: dict[str, Any] = field(default_factory=dict)
    readout: str | None = None
    warning: str = ""
    limits: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    progress: float | None = None


def result(ok: bool = True, message: str = "", warnings: Sequence[str] = (), **data: Any) -> dict:
    """The one result contract of widget compute functions: ``ok``, plain-text ``message``, ``warnings``.

    >>> r = result(ok=False, message="size must be <= 64", size=80)
    >>> r["ok"], r["message"], r["warnings"], r["size"]
    (False, 'size must be <= 64', [], 80)
    """
    if not isinstance(message, str):
        raise TypeError(f"message must be plain text (str), got {type(message).__name__}")
    return {"ok": bool(ok), "message": message, "warnings": list(warnings), **data}


def esc(value: Any) -> str:
    """Escape any value for HTML (the one escaping rule of the widget layer).

    >>> esc("<b> & 'x'")
    '&lt;b&gt; &amp; &#x27;x&#x27;'
    """
    return html.escape(str(value), quote=True)


_NUMBER_LIKE = re.compile(r"[-+−±~≈<>≤≥]?\s*\d[\d.,]*(?:e[-+]?\d+)?\s*(?:%|[A-Za-zµ°²³/]{0,4})")


def _is_word(value: Any) -> bool:
    """True for a table cell that is text to translate: a plain ``str`` that is not a number (with or without
    a unit, ``"12.5 mm"``) and not notation (:func:`medlab.i18n.is_neutral`: ``"AUC"``, ``"w[0]"``,
    DICOM keywords such as ``"PatientName"``). ``RawHTML`` and numbers are not words.

    >>> _is_word("patient"), _is_word("12.5 mm"), _is_word("AUC"), _is_word(3), _is_word(RawHTML("<b>x</b>"))
    (True, False, False, False, False)
    """
    from .. import i18n
    return type(value) is str and not i18n.is_neutral(value) and not _NUMBER_LIKE.fullmatch(value.strip())


def _table_word(value: Any) -> Any:
    """A header or row-name cell of :func:`html_table` in the current language (``medlab.set_language``).

    Words go through :func:`medlab.i18n.t` (text without an entry comes back unchanged); anything else stays.

    >>> from medlab import i18n
    >>> _ = i18n.set_language("zh"); _table_word("patient"), _table_word("12.5 mm"), _table_word(3)
    ('患者', '12.5 mm', 3)
    >>> _ = i18n.set_language("en"); _table_word("patient")
    'patient'
    """
    from .. import i18n
    if i18n.get_language() == "en":  # every table cell of every update passes here: no regex work in English
        return value
    return i18n.t(value) if _is_word(value) else value


def html_table(rows: Sequence[Sequence[Any]], header: Sequence[Any] | None = None,
               align_right_from: int = 1) -> str:
    """A small HTML table; cells are escaped (pass ``Markup`` strings via :class:`RawHTML`).

    Columns from ``align_right_from`` on are right-aligned. In 中文 (``medlab.set_language("zh")``) the
    header cells and the row names (the first column) are translated by :func:`_table_word`; the other
    cells are data (numbers, units, DICOM values, file names) and are shown as given.

    >>> html_table([("patient", "A0001", 3)], header=["", "id", "n"], align_right_from=2)
    "<table style='border-collapse:collapse'><tr><th></th><th>id</th><th style='text-align:right'>n</th></tr>\
<tr><td>patient</td><td>A0001</td><td style='text-align:right'>3</td></tr></table>"
    """
    def cell(v: Any, k: int, tag: str) -> str:
        if tag == "th" or k == 0:
            v = _table_word(v)
        text = v.html if isinstance(v, RawHTML) else esc(v)
        style = " style='text-align:right'" if k >= align_right_from else ""
        return f"<{tag}{style}>{text}</{tag}>"

    head = "<tr>" + "".join(cell(h, k, "th") for k, h in enumerate(header)) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(cell(v, k, "td") for k, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table style='border-collapse:collapse'>{head}{body}</table>"


@dataclass(frozen=True)
class RawHTML:
    """Already-safe HTML for :func:`html_table` cells."""
    html: str


@functools.lru_cache(maxsize=8)
def placeholder_png(width: int = 240, height: int = 60) -> bytes:
    """A light-grey PNG shown until a first good frame exists (so ``.render()`` always returns PNG bytes)."""
    return to_png(np.full((height, width, 3), 235, np.uint8))


def _png(picture: Any) -> bytes | None:
    if picture is None:
        return None
    if isinstance(picture, (bytes, bytearray)):
        return bytes(picture)
    arr = np.asarray(picture)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype != np.uint8:
        raise TypeError(f"a frame picture must be uint8 (grey or RGB) or PNG bytes, got dtype {arr.dtype}")
    return to_png(arr)


# ----------------------------------------------------------------------------- the explorer
_LABEL_STYLE = {"description_width": "120px"}


def _build_control(w: Any, spec: Spec, width: str) -> Any:
    from ..i18n import t  # 中文/English (medlab.set_language): labels, buttons and option labels
    layout = w.Layout(width=width)
    label = t(spec.label)
    if isinstance(spec, Int):
        value = spec.min if spec.value is None else spec.value
        return w.IntSlider(value=value, min=spec.min, max=spec.max, step=spec.step, description=label,
                           style=_LABEL_STYLE, layout=layout, continuous_update=spec.continuous)
    if isinstance(spec, Float):
        value = spec.min if spec.value is None else spec.value
        if spec.log:
            lo, hi = float(np.log10(spec.min)), float(np.log10(spec.max))
            return w.FloatLogSlider(value=value, base=10, min=lo, max=hi, step=spec.step or (hi - lo) / 100,
                                    description=label, style=_LABEL_STYLE, layout=layout,
                                    readout_format=spec.format, continuous_update=spec.continuous)
        step = spec.step or (spec.max - spec.min) / 100
        return w.FloatSlider(value=value, min=spec.min, max=spec.max, step=step, description=label,
                             style=_LABEL_STYLE, layout=layout, readout_format=spec.format,
                             continuous_update=spec.continuous)
    if isinstance(spec, Choice):
        opts = [(t(text), v) for text, v in _options(spec)]
        value = opts[0][1] if spec.value == "__first__" else spec.value
        if spec.style == "toggle":
            style = {"button_width": spec.button_width} if spec.button_width else {}
            return w.ToggleButtons(options=opts, value=value, description=label, style=style)
        if spec.style == "radio":
            return w.RadioButtons(options=opts, value=value, description=label, style=_LABEL_STYLE)
        return w.Dropdown(options=opts, value=value, description=label, style=_LABEL_STYLE, layout=layout)
    if isinstance(spec, Check):
        return w.Checkbox(value=spec.value, description=label, indent=False)
    if isinstance(spec, Button):
        # a fixed width from the label: "auto" stretches a button across the whole control column
        width = f"{min(380, max(110, 9 * len(label) + 36))}px"
        return w.Button(description=label, button_style=spec.style, layout=w.Layout(width=width))
    raise TypeError(f"unknown control spec {spec!r}")


class Explorer:
    """The handle :func:`explorer` returns (see the module docstring)."""

    def __init__(self, frame: Callable[..., Frame], controls: Mapping[str, Spec], *, layout: str = "row",
                 width: int | None = None, control_width: str = "380px", state: dict | None = None,
                 progress: bool = False, title: str = "",
                 limits: Callable[..., Mapping[str, Mapping[str, Any]]] | None = None):
        import ipywidgets as w

        if layout not in ("row", "column"):
            raise ValueError(f"layout must be 'row' or 'column', got {layout!r}")
        self._w = w
        self._frame = frame
        self.specs: dict[str, Spec] = dict(controls)
        self.state = state
        if state is not None:
            state["explorer"] = self
        self._takes_state = state is not None
        self._layout, self._width = layout, width
        self._lock = threading.RLock()
        self._busy = 0
        self._pending: set[str] = set()
        self.message = ""
        self.last_exception: BaseException | None = None  # set when the catch-all (not a Frame warning) fired
        self._last_png: bytes | None = None
        self._limits_fn = limits
        self._requested: dict[str, Any] = {}
        self.renders = 0

        self.controls: dict[str, Any] = {n: _build_control(w, s, control_width) for n, s in self.specs.items()}
        self.panes: dict[str, Any] = {"main": self._image_widget(width)}
        self.readout = w.HTML()
        self.warning_html = w.HTML()
        self.progress_bar = w.FloatProgress(value=0, min=0, max=1, layout=w.Layout(width=control_width,
                                                                                  visibility="hidden"))
        self._show_progress = progress
        for name, ctrl in self.controls.items():
            if isinstance(self.specs[name], Button):
                ctrl.on_click(functools.partial(self._on_click, name))
            else:
                ctrl.observe(functools.partial(self._on_change, name), names="value")
        self._pane_box = w.HBox([], layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))
        from ..i18n import t
        self._title = w.HTML(f"<b>{esc(t(title))}</b>") if title else None   # the header in 中文 too
        self.widget = self._assemble()
        self.render()

    # -- building
    def _image_widget(self, width: int | None) -> Any:
        lay = self._w.Layout(height="auto", align_self="flex-start")
        if width:
            lay.width = f"{width}px"
        return self._w.Image(format="png", layout=lay)

    def _assemble(self) -> Any:
        w = self._w
        side = [c for c in self.controls.values()]
        if self._show_progress:
            side.append(self.progress_bar)
        side += [self.warning_html, self.readout]
        ctrl_box = w.VBox(([self._title] if self._title else []) + side)
        self._pane_box.children = [p for n, p in self.panes.items() if n != "main"]
        pictures = w.VBox([self.panes["main"], self._pane_box])
        if self._layout == "row":
            return w.HBox([ctrl_box, pictures], layout=w.Layout(align_items="flex-start"))
        return w.VBox([ctrl_box, pictures])

    # -- values
    @property
    def values(self) -> dict[str, Any]:
        """Current control values (buttons excluded)."""
        return {n: c.value for n, c in self.controls.items() if not isinstance(self.specs[n], Button)}

    def _kwargs(self, clicked: str | None) -> dict[str, Any]:
        kw = self.values
        for n, s in self.specs.items():
            if isinstance(s, Button):
                kw[n] = n == clicked
        if self._takes_state:
            kw["state"] = self.state
        return kw

    # -- events
    def _on_change(self, name: str, change: dict) -> None:
        if self._busy:
            self._pending.add(name)
            return
        spec = self.specs[name]
        if isinstance(spec, Choice) and spec.sets is not None and change["new"] is not None:
            self.set(**dict(spec.sets(change["new"])))
            return
        self._refresh(changed={name})

    def _on_click(self, name: str, _button: Any = None) -> None:
        self._refresh(clicked=name)

    def click(self, name: str) -> bytes:
        """Press the button control ``name`` (as a learner would); returns the main PNG bytes."""
        if not isinstance(self.specs.get(name), Button):
            raise ValueError(f"{name!r} is not a button of this widget; buttons: "
                             f"{[n for n, s in self.specs.items() if isinstance(s, Button)]}")
        self._refresh(clicked=name)
        return self.png

    def set(self, **values: Any) -> bytes:
        """Set several controls at once with a single render; returns the main PNG bytes."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; this widget has {sorted(self.controls)}")
        with self._lock:
            with self._guard():
                for n, v in values.items():
                    try:
                        self.controls[n].value = v
                    except Exception:  # e.g. above the current max: re-applied after the limits
                        pass
            self._requested = dict(values)
        self._refresh(changed=set(values))
        return self.png

    def _release_presets(self, changed: set[str]) -> None:
        for n, s in self.specs.items():
            if isinstance(s, Choice) and s.sets is not None and s.release and n not in changed:
                current = self.controls[n].value
                if current is None or not (set(s.sets(current)) & changed):
                    continue
                if any(self.controls[k].value != v for k, v in s.sets(current).items()):
                    with self._guard():
                        self.controls[n].value = None

    class _Guard:
        def __init__(self, ex: "Explorer"):
            self.ex = ex

        def __enter__(self):
            self.ex._busy += 1

        def __exit__(self, *exc):
            self.ex._busy -= 1
            self.ex._pending.clear()

    def _guard(self) -> "_Guard":
        return Explorer._Guard(self)

    # -- rendering
    def _apply(self, fr: Frame) -> bool:
        """Apply limits and values of a frame; True if a control value changed as a result."""
        changed = False
        with self._guard():
            for name, lim in fr.limits.items():
                ctrl = self.controls.get(name)
                if ctrl is None:
                    raise ValueError(f"Frame.limits names unknown control {name!r}")
                before = ctrl.value
                with ctrl.hold_trait_notifications():
                    for key in ("min", "max"):
                        if key in lim and lim[key] is not None:
                            setattr(ctrl, key, lim[key])
                    if "options" in lim:
                        ctrl.options = lim["options"]
                changed |= ctrl.value != before
            for name, v in fr.values.items():
                ctrl = self.controls.get(name)
                if ctrl is None:
                    raise ValueError(f"Frame.values names unknown control {name!r}")
                if ctrl.value != v:
                    ctrl.value = v
                    changed = True
        return changed

    def _call(self, clicked: str | None) -> Frame:
        fr = self._frame(**self._kwargs(clicked))
        if not isinstance(fr, Frame):
            raise TypeError(f"the frame function must return a Frame, got {type(fr).__name__}")
        return fr

    def _static_limits(self) -> None:
        """Apply ``limits=`` (and re-apply values requested by :meth:`set` that the old limits clamped)."""
        for _ in range(2):  # a requested value can change a limit (a view sets the slice range)
            if self._limits_fn is not None:
                self._apply(Frame(limits=dict(self._limits_fn(**self.values))))
            if self._requested:
                with self._guard():
                    for n, v in self._requested.items():
                        if self.controls[n].value != v:
                            self.controls[n].value = v

    def _refresh(self, changed: set[str] = frozenset(), clicked: str | None = None) -> None:
        with self._lock:
            self.last_exception = None
            try:
                self._static_limits()
                fr = self._call(clicked)
                if fr.limits or fr.values:
                    if self._apply(fr):  # a value was clamped or reset: draw what the controls now say
                        fr2 = self._call(None)
                        self._apply(Frame(limits=fr2.limits))
                        fr = fr2
                self.show(fr)
            except Exception as exc:  # one place catches: the widget shows the error, the kernel keeps going
                self.last_exception = exc
                self._set_warning(f"{type(exc).__name__}: {exc}")
            finally:
                self._requested = {}
            if changed:
                self._release_presets(set(changed))

    def _set_warning(self, text: str) -> None:
        if text:
            from .. import i18n
            # the one place every warning passes: a core error a learner can reach with the controls (a kernel
            # wider than the padded input, an empty HU range) is shown in 中文 too (i18n patterns); no-op in English
            text = i18n.t(text)
        self.message = text
        self.warning_html.value = (f"<div style='color:#b00020;font-weight:bold;max-width:520px'>&#9888; "
                                   f"{esc(text)}</div>") if text else ""

    def show(self, fr: Frame) -> None:
        """Put a frame on screen (also for long actions pushing intermediate frames)."""
        main = _png(fr.image)
        new_panes = False
        pngs = {}
        for name, pic in fr.panes.items():
            if name == "main":
                raise ValueError("'main' is the main image; pass it as Frame(image=...)")
            pngs[name] = _png(pic)
            if name not in self.panes:
                self.panes[name] = self._image_widget(None)
                new_panes = True
        if new_panes:
            self._pane_box.children = [p for n, p in self.panes.items() if n != "main"]
        if main is not None:
            self.panes["main"].value = main
            self._last_png = main
        elif self._last_png is None:
            self.panes["main"].value = placeholder_png()
        for name, png in pngs.items():
            if png is not None:
                self.panes[name].value = png
        if fr.readout is not None:
            self.readout.value = fr.readout
        if fr.progress is not None:
            self.progress_bar.value = float(min(max(fr.progress, 0.0), 1.0))
            self.progress_bar.layout.visibility = "visible"
        self._set_warning(fr.warning)
        self.renders += 1

    def push(self, fr: Frame) -> None:
        """Thread-safe :meth:`show`: for a background worker (e.g. 06's training thread) pushing frames.

        It takes the same lock as a control update, so a frame from the worker and a frame from a slider
        never interleave half-drawn.
        """
        with self._lock:
            self.show(fr)

    @property
    def png(self) -> bytes:
        """The main image as PNG bytes (the last good one)."""
        return self._last_png if self._last_png is not None else placeholder_png()

    def render(self) -> bytes:
        """Re-run the frame with the current values; return the main PNG bytes."""
        self._refresh()
        return self.png

    # -- display
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<Explorer {getattr(self._frame, '__name__', 'frame')} controls={list(self.controls)}>"


def explorer(frame: Callable[..., Frame], controls: Mapping[str, Spec], *, layout: str = "row",
             width: int | None = None, control_width: str = "380px", state: dict | None = None,
             progress: bool = False, title: str = "",
             limits: Callable[..., Mapping[str, Mapping[str, Any]]] | None = None) -> Explorer:
    """Build an interactive :class:`Explorer` from a pure ``frame(**values) -> Frame`` and control specs.

    ``layout``: "row" (controls left of the pictures) or "column" (controls above). ``width``: the main
    image's display width in px (default: its natural size). ``state``: a dict kept between frame calls
    (passed as ``state=``). ``progress``: show a progress bar driven by ``Frame(progress=...)``.
    ``limits``: ``limits(**values) -> {control: {"min"/"max"/"options": ...}}``, applied before each frame.
    """
    for name, spec in controls.items():
        if not isinstance(spec, (Int, Float, Choice, Check, Button)):
            raise TypeError(f"control {name!r} must be Int, Float, Choice, Check or Button, got {spec!r}")
    params = inspect.signature(frame).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        missing = [n for n in controls if n not in params]
        if state is not None and "state" not in params:
            missing.append("state")
        if missing:
            raise TypeError(f"frame {getattr(frame, '__name__', frame)!r} does not take {missing}")
    return Explorer(frame, controls, layout=layout, width=width, control_width=control_width, state=state,
                    progress=progress, title=title, limits=limits)


# ----------------------------------------------------------------------------- registry
#: builder name -> (builder, demo kwargs factory, module). Read it through ``medlab.widgets.WIDGETS``.
REGISTRY: dict[str, tuple[Callable[..., Any], Callable[[], dict], str]] = {}


def register(demo: Callable[[], dict] | None = None, name: str | None = None):
    """Decorator: register a public widget builder; ``demo()`` returns its kwargs on embedded data.

    ``medlab.widgets.WIDGETS[name]`` is then a zero-argument factory ``lambda: builder(**demo())``,
    which the contract test and the widget benchmark use.
    """
    def deco(builder: Callable[..., Any]) -> Callable[..., Any]:
        key = name or builder.__name__
        if key in REGISTRY and getattr(REGISTRY[key][0], "__wrapped__", None) is not builder:
            raise ValueError(f"a widget named {key!r} is registered twice ({REGISTRY[key][2]}, {builder.__module__})")

        @functools.wraps(builder)
        def build(*args: Any, **kwargs: Any) -> Any:
            if headless():  # MEDLAB_HEADLESS=1: graders/CI need no pictures (medlab.runtime)
                return HeadlessWidget(key)
            return builder(*args, **kwargs)

        REGISTRY[key] = (build, demo or dict, builder.__module__)
        return build

    return deco


class HeadlessWidget:
    """What a registered builder returns under ``MEDLAB_HEADLESS=1``: no controls, no data, one line of text.

    It answers the :class:`Explorer` calls a notebook or a grader may make (``render``/``set``/``click``
    return a placeholder PNG) so that a notebook runs top to bottom without building any widget.
    """

    def __init__(self, name: str):
        self.name = name
        self.controls: dict[str, Any] = {}
        self.panes: dict[str, Any] = {}
        self.message = ""
        self.renders = 0
        self.last_exception = None

    def render(self) -> bytes:
        return placeholder_png()

    png = property(render)

    def set(self, **values: Any) -> bytes:
        return placeholder_png()

    def click(self, name: str) -> bytes:
        return placeholder_png()

    def show(self, fr: Frame) -> None:
        return None

    push = show

    def __repr__(self) -> str:
        return f"<{self.name}: not built (MEDLAB_HEADLESS=1)>"

    def _repr_html_(self) -> str:
        return f"<i>{esc(self.name)}: widget not built (MEDLAB_HEADLESS=1)</i>"
