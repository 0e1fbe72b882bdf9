"""Tests for medlab.widgets.explain (08): the precomputed maps equal the core's, every control moves the
picture, an empty outcome is flagged (the generic wiring is covered by tests/test_widget_contract.py)."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
keras = pytest.importorskip("keras")

from medlab import explain as ex  # noqa: E402
from medlab.datasets import load_pneumoniamnist  # noqa: E402
from medlab.widgets import explain as W  # noqa: E402
from medlab.widgets._explorer import spec_values  # noqa: E402

PNG = b"\x89PNG"
SOURCE = Path(W.__file__)
L = keras.layers


def small_model(seed: int = 0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu", name="c1"),
                             L.MaxPooling2D(2), L.Conv2D(8, 3, activation="relu", name="c2"), L.MaxPooling2D(2),
                             L.Flatten(), L.Dense(1, activation="sigmoid", name="out")])


@pytest.fixture(scope="module")
def model():
    return small_model()


@pytest.fixture(scope="module")
def data():
    x, y = load_pneumoniamnist("test")
    return x[:12], y[:12]


def _moves(exp, name, value) -> bool:
    before = (exp.png, tuple(p.value for p in exp.panes.values()), exp.readout.value)
    exp.set(**{name: value})
    return (exp.png, tuple(p.value for p in exp.panes.values()), exp.readout.value) != before


def test_widget_module_imports_nothing_heavy_at_import():
    tree = ast.parse(SOURCE.read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = {a.name for n in top for a in n.names} | {getattr(n, "module", "") or "" for n in top}
    assert not {"tensorflow", "keras"} & names
    assert not any("exercises" in (getattr(n, "module", "") or "") for n in ast.walk(tree)
                   if isinstance(n, ast.ImportFrom))


def test_outcome_of():
    assert [W.outcome_of(1, 0.5), W.outcome_of(0, 0.5), W.outcome_of(1, 0.49), W.outcome_of(0, 0.49)] == \
        ["TP", "FP", "FN", "TN"]
    assert W.outcome_of(1, 0.6, threshold=0.7) == "FN"


def test_smoothgrad_running_equals_core_smoothgrad(model, data):
    x = W._prepare(model, data[0][:1])
    run = W.smoothgrad_running(model, x, 0.2, 12, seed=5)
    for n in (1, 5, 12):
        np.testing.assert_allclose(run[n - 1], ex.smoothgrad(model, x, noise=0.2, n=n, seed=5)["map"],
                                   rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("patch,stride", [(3, 1), (4, 2), (5, 3), (4, 7)])
def test_occlusion_at_stride_equals_core_occlusion(model, data, patch, stride):
    x = W._prepare(model, data[0][:1])
    full = ex.occlusion(model, x, patch=patch, stride=1)
    amap, grid, rows, cols = W.occlusion_at_stride(full, patch, stride, (28, 28))
    ref = ex.occlusion(model, x, patch=patch, stride=stride)
    np.testing.assert_allclose(grid, ref["grid"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(amap, ref["map"], rtol=1e-5, atol=1e-6)
    assert rows == ref["rows"].tolist()


def test_overlay_colours():
    grey = np.zeros((4, 4))
    out = W.overlay(grey, np.eye(4), 1.0)
    assert out.shape == (4, 4, 3) and out.dtype == np.uint8
    signed = W.overlay(grey, np.array([[-1.0, 0, 0, 1]] * 4), 1.0, signed=True)
    assert signed[0, 3, 0] > signed[0, 3, 2] and signed[0, 0, 2] > signed[0, 0, 0]  # red > 0, blue < 0


def test_attribution_explorer_controls_and_empty_outcome(model, data):
    x, y = data
    exp = W.attribution_explorer(model, x, y, per_outcome=2, smoothgrad_n=4, ig_steps=4)
    assert exp.render().startswith(PNG) and exp.message == ""
    assert set(exp.specs) == {"outcome", "index", "method", "layer", "opacity", "raw_grid"}
    assert exp.controls["layer"].options and exp.controls["layer"].value == "c2"
    for m in (*ex.METHODS, "hirescam"):
        assert _moves(exp, "method", m) or m == exp.values["method"], m
        assert exp.message == "" and exp.last_exception is None
    exp.set(method="grad_cam")
    assert _moves(exp, "opacity", 0.9)
    assert _moves(exp, "layer", "c1")
    probs = np.asarray(model.predict(W._prepare(model, x), verbose=0)).ravel()
    outcomes = [W.outcome_of(l, p) for l, p in zip(y, probs)]
    missing = [o for o in W.OUTCOMES if o not in outcomes]
    present = [o for o in W.OUTCOMES if o in outcomes]
    if missing:
        exp.set(outcome=missing[0])
        assert f"no {missing[0]}" in exp.message and exp.last_exception is None
    exp.set(outcome=present[0])
    assert exp.message == ""
    with pytest.raises(ValueError, match="labels must have one entry"):
        W.attribution_explorer(model, x, y[:3])


def test_single_image_explorers_every_control_moves(model, data):
    img = data[0][0]
    builders = {
        "occlusion": lambda: W.occlusion_explorer(model, img, patches=(2, 4, 6), max_stride=6),
        "smoothgrad": lambda: W.smoothgrad_explorer(model, img, max_n=6, noises=(0.0, 0.1, 0.3)),
        "ig": lambda: W.ig_explorer(model, img, steps=(1, 4, 16)),
        "randomization": lambda: W.randomization_explorer(model, img, methods=("saliency", "edge_detector")),
        "faithfulness": lambda: W.faithfulness_explorer(model, img, steps=7),
    }
    for name, build in builders.items():
        exp = build()
        assert exp.render().startswith(PNG) and exp.message == "", (name, exp.message)
        for cname, spec in exp.specs.items():
            moved = [_moves(exp, cname, v) for v in spec_values(spec)]
            assert any(moved), f"{name}.{cname} never changes the picture"
            assert exp.last_exception is None, (name, cname, exp.last_exception)


def test_occlusion_explorer_flags_stride_above_patch(model, data):
    exp = W.occlusion_explorer(model, data[0][0], patches=(2, 3), max_stride=5)
    exp.set(patch=2, stride=5)
    assert "stride 5 > patch 2" in exp.message


def test_randomization_explorer_edge_control_stays_identical(model, data):
    exp = W.randomization_explorer(model, data[0][0], methods=("saliency", "edge_detector"))
    exp.set(step=exp.specs["step"].max, metric="ssim")
    assert "re-initialised" in exp.readout.value


def test_registered_in_widgets():
    from medlab.widgets import WIDGETS
    for name in ("attribution_explorer", "occlusion_explorer", "smoothgrad_explorer", "ig_explorer",
                 "randomization_explorer", "faithfulness_explorer"):
        assert name in WIDGETS


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
