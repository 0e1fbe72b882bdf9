"""Exercise checks of 03 (medlab.exercises.network): right → True, typical wrong answers → False with a
specific hint, None → unanswered."""
from __future__ import annotations

import numpy as np
import pytest

from medlab import ops
from medlab.exercises import network as ex


@pytest.mark.parametrize("check", [ex.check_maxpool_output, ex.check_flatten_size, ex.check_seed_model_params,
                                   ex.check_receptive_field])
def test_unanswered(check):
    fb = check(None)
    assert not fb and "no answer yet" in fb.message and "None" in fb.hint


def test_maxpool_output():
    right = [[6, 5], [7, 9]]
    assert np.array_equal(ops.pool2d(ex.MAXPOOL_INPUT), np.array(right, float))
    assert ex.check_maxpool_output(right)
    fb = ex.check_maxpool_output(ops.pool2d(ex.MAXPOOL_INPUT, mode="avg"))
    assert not fb and "average" in fb.hint
    fb = ex.check_maxpool_output([[6, 5], [7, 8]])
    assert not fb and "1 of 4" in fb.hint
    fb = ex.check_maxpool_output([6, 5, 7, 9])
    assert not fb and "2x2 output" in fb.hint


def test_seed_model_checks_agree_with_keras():
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    model = keras.Sequential([keras.Input(ex.SEED_MODEL_INPUT), keras.layers.Conv2D(32, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Conv2D(64, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    assert ex.check_seed_model_params(model.count_params())
    assert ex.check_flatten_size(model.layers[4].output.shape[-1])
    assert "bias" in ex.check_seed_model_params(model.count_params() - 97).hint
    assert "Dense" in ex.check_seed_model_params(320 + 18496).hint
    assert "rounds *down*" in ex.check_flatten_size(63 * 63 * 64).hint
    assert "64 filters" in ex.check_flatten_size(62 * 62).hint
    assert ex.check_receptive_field(10)
    assert "jump" in ex.check_receptive_field(7).hint
    assert "addition" in ex.check_receptive_field(36).hint


def test_pooled_conv_macs():
    t = ex.POOLED_CONV_TASK
    n, k, ci, co = t["n"], t["k"], t["c_in"], t["c_out"]
    out = ops.output_size(n, k)
    right = out * out * k * k * ci * co
    # the reference: the im2col matrix product has exactly these multiply-adds (rows · columns · C_out)
    rows, cols = ops.im2col(np.zeros((n, n, ci), np.float32), k).shape
    assert rows * cols * co == right
    assert ex.check_pooled_conv_macs(right)
    assert "positions per axis" in ex.check_pooled_conv_macs(n * n * k * k * ci * co).hint
    assert "C_in" in ex.check_pooled_conv_macs(out * out * k * k * co).hint
    assert not ex.check_pooled_conv_macs(None)
    with pytest.raises(TypeError, match="whole number"):
        ex.check_pooled_conv_macs("many")


def test_flatten_index():
    import keras
    (h, w, c), (r, col, ch) = ex.FLATTEN_TASK["shape"], ex.FLATTEN_TASK["position"]
    x = np.zeros((1, h, w, c), np.float32)
    x[0, r, col, ch] = 1.0
    right = int(np.flatnonzero(np.asarray(keras.layers.Flatten()(x))[0])[0])   # the reference: Keras Flatten
    assert ex.check_flatten_index(right)
    assert "channels-first" in ex.check_flatten_index(ch * h * w + r * w + col).hint
    assert "row-major" in ex.check_flatten_index((col * h + r) * c + ch).hint
    assert "start at 0" in ex.check_flatten_index(right + 1).hint
    assert "multiply the pixel index" in ex.check_flatten_index(r * w + col).hint
    assert not ex.check_flatten_index(None)


# ------------------------------------------------------------------ the notebooks' exercise structure (issue 13/14)
import json  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _cells(name):
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]


def _text(cell):
    return "".join(cell["source"])


@pytest.mark.parametrize("name", ["02_convolution.ipynb", "03_pooling_and_network.ipynb"])
def test_exercises_have_markdown_question_and_tagged_solution(name):
    cells = _cells(name)
    n_exercises = 0
    for i, c in enumerate(cells):
        src = _text(c)
        if c["cell_type"] != "code":
            continue
        calls_check = re.search(r"\bcheck_\w+\(", src)
        if calls_check and re.search(r"^\s*(answer|my_kernel)\s*=\s*None", src, re.M):
            n_exercises += 1
            above = next(_text(m) for m in reversed(cells[:i]) if m["cell_type"] == "markdown")
            heading = re.search(r"^#+ Exercise \d+[^\n]*\n", above, re.M)
            assert heading and len(above[heading.end():].strip()) > 60, (name, i, above[:80])   # the question
        if calls_check and "solution" in src and "assert check_" in src:
            assert "solution" in c["metadata"].get("tags", []), (name, i, src[:80])
    # every section (## n ·) holds at least one exercise
    sections = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and re.match(r"## \d+ ·", _text(c))]
    bounds = sections + [len(cells)]
    for a, b in zip(bounds, bounds[1:]):
        assert any(re.search(r"^\s*(answer|my_kernel)\s*=\s*None", _text(c), re.M) for c in cells[a:b]
                   if c["cell_type"] == "code"), (name, _text(cells[a]).splitlines()[0])
    assert n_exercises >= len(sections)


def _names(src, ctx):
    import ast
    tree = ast.parse("\n".join(l for l in src.splitlines() if not l.lstrip().startswith(("%", "!"))))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)} | (
        {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
         for a in n.names} if ctx is __import__("ast").Store else set()) | (
        {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        if ctx is __import__("ast").Store else set())


@pytest.mark.parametrize("name", ["02_convolution.ipynb", "03_pooling_and_network.ipynb"])
def test_cells_need_no_solution_cell(name):
    """No cell reads a name that only a solution cell defines (03 cell 44 read the solution's by_hand_shapes)."""
    import ast
    code = [c for c in _cells(name) if c["cell_type"] == "code"]
    solution = [c for c in code if "solution" in c["metadata"].get("tags", [])]
    others = [c for c in code if c not in solution]
    assert solution, "no cell is tagged 'solution'"
    by_others = set().union(*(_names(_text(c), ast.Store) for c in others))
    only_in_solutions = set().union(*(_names(_text(c), ast.Store) for c in solution)) - by_others
    for c in others:
        used = _names(_text(c), ast.Load) & only_in_solutions
        assert not used, (name, sorted(used), _text(c)[:80])


def test_03_defines_relu_and_says_what_06_trains():
    text = "\n".join(_text(c) for c in _cells("03_pooling_and_network.ipynb"))
    assert "unit 06 trains this very model" not in text and "unit 06 trains it)" not in text
    assert "20,417" in text and "chestxray256" in text and "28×28 PneumoniaMNIST" in text
    assert r"\mathrm{ReLU}(z) = \max(z, 0)" in text and "W_1W_2" in text
    relu_at = text.index("### ReLU")
    assert relu_at < text.index("keras.layers.Conv2D(32, 3, activation=\"relu\")")   # defined before it is used
    assert "assert np.allclose(two_linear, collapsed)" in text


def _first(cells, pattern, kind=None):
    return next(i for i, c in enumerate(cells) if (kind is None or c["cell_type"] == kind)
                and re.search(pattern, _text(c)))


def test_no_answer_printed_above_its_exercise():
    """The four cases of issue 13 (02 cells 3 and 27, 03 cells 21 and 36 at 967a113) stay fixed."""
    from medlab.exercises import convolution as exc
    c02 = _cells("02_convolution.ipynb")
    # 02 §4: the output-size table does not contain the exercise's configuration
    t = exc.OUTPUT_SIZE_TASK
    table = _text(c02[_first(c02, r"configs = \[", "code")])
    assert f"({t['n']}, {t['k']}, {t['padding']}, {t['stride']}, 1)" not in table
    # 02 §1: the printed example is not the exercise's layer (checked in test_dense_params too)
    assert "dense_params(256 * 256, 32)" in _text(c02[_first(c02, r"dense_32 = ", "code")])
    assert (exc.DENSE_TASK["height"], exc.DENSE_TASK["units"]) != (256, 32)
    c03 = _cells("03_pooling_and_network.ipynb")
    # 03 §3: the receptive-field exercise comes before any cell computes the seed stack's receptive field
    assert _first(c03, r"check_receptive_field\(answer\)", "code") < _first(c03, r"ops\.receptive_field", "code")
    # 03 §5: the Flatten length and the parameter total appear only after their exercises
    ex_flat = _first(c03, r"check_flatten_size\(answer\)", "code")
    ex_params = _first(c03, r"check_seed_model_params\(answer\)", "code")
    for pattern in (r"246[,\\ {}]*016", r"264[,_\\ {}]*833", r"model\.summary"):
        assert _first(c03, pattern) > max(ex_flat, ex_params), pattern


@pytest.mark.parametrize("name", ["02_convolution.ipynb", "03_pooling_and_network.ipynb"])
def test_cell_ids_unique(name):
    ids = [c["id"] for c in _cells(name)]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
