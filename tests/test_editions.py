"""Student and instructor editions (tools/editions.py, ``make student`` / ``make instructor``).

The student edition of a notebook runs top to bottom without its solution cells, with no error except in
cells tagged ``raises-exception`` (nbclient honours that tag). Here 02 runs in every ``make test`` and the
others are marked ``slow``, because ``tests/test_browser.py`` already runs the student edition of every
notebook top to bottom in JupyterLab (and nbval runs every full notebook, solutions included).
"""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
QUICK = {"02_convolution.ipynb"}

_spec = importlib.util.spec_from_file_location("medlab_editions", ROOT / "tools" / "editions.py")
editions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(editions)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("editions")
    for ed in editions.EDITIONS:
        editions.build(ed, base / ed)
    return {ed: base / ed for ed in editions.EDITIONS}


def test_both_editions_hold_every_notebook(built):
    for ed in editions.EDITIONS:
        assert sorted(p.name for p in built[ed].glob("*.ipynb")) == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_student_edition_has_no_solution_or_instructor_cells(built, nb):
    src, student, instructor = _cells(nb), _cells(built["student"] / nb.name), _cells(built["instructor"] / nb.name)
    assert not [c for c in student if _tags(c) & {"solution", "instructor"}]
    hidden = [c for c in src if _tags(c) & {"solution", "instructor"}]
    student_sources = {"".join(c["source"]) for c in student}
    assert not [c for c in hidden if "".join(c["source"]) in student_sources and "".join(c["source"]).strip()]
    assert len(instructor) == len(src)
    assert len(src) - len(student) >= len(hidden)
    for cells in (student, instructor):
        assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
                   for c in cells if c["cell_type"] == "code")
    assert json.loads((built["student"] / nb.name).read_text())["metadata"]["medlab"]["edition"] == "student"


def test_a_lone_solution_heading_goes_with_its_cell():
    cells = [{"cell_type": "markdown", "source": ["### Exercise 1\n", "What is 2 + 2?"], "metadata": {}},
             {"cell_type": "code", "source": "answer = None\ncheck(answer)", "metadata": {}, "outputs": [],
              "execution_count": None},
             {"cell_type": "markdown", "source": "#### Solution (try first!)", "metadata": {}},
             {"cell_type": "code", "source": "answer = 4\ncheck(answer)", "metadata": {"tags": ["solution"]},
              "outputs": [], "execution_count": 3},
             {"cell_type": "markdown", "source": "Teaching note: ask first.", "metadata": {"tags": ["instructor"]}},
             {"cell_type": "markdown", "source": "## Solution space of an SVM", "metadata": {}}]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    student = editions.edition_notebook(nb, "student")["cells"]
    assert [("".join(c["source"]))[:12] for c in student] == ["### Exercise", "answer = Non", "## Solution "]
    instructor = editions.edition_notebook(nb, "instructor")["cells"]
    assert len(instructor) == 6 and instructor[3]["execution_count"] is None


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="edition must be one of"):
        editions.build("teacher", tmp_path / "x")
    with pytest.raises(ValueError, match="would replace the sources"):
        editions.build("student", ROOT / "notebooks")
    with pytest.raises(ValueError, match="existing .ipynb"):
        editions.build("student", tmp_path / "y", [tmp_path / "nope.ipynb"])
    with pytest.raises(TypeError, match="cells"):
        editions.edition_notebook({"metadata": {}}, "student")


def _run(path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    env_before = os.environ.get("MEDLAB_HEADLESS")
    os.environ.pop("MEDLAB_HEADLESS", None)        # the real notebook, not the grader stub
    try:
        client.execute()
    except CellExecutionError as err:          # the message names the cell and the traceback
        pytest.fail(f"student edition of {path.name} failed (a check may need a removed solution cell):\n"
                    f"{str(err)[:3000]}")
    finally:
        if env_before is not None:
            os.environ["MEDLAB_HEADLESS"] = env_before
    unexpected = [k for k, c in enumerate(nb.cells) if c.cell_type == "code" and "raises-exception" not in
                  c.metadata.get("tags", []) and any(o.get("output_type") == "error" for o in c.outputs)]
    assert not unexpected, f"{path.name}: cells {unexpected} raised"


@pytest.mark.parametrize("nb", [pytest.param(p, marks=() if p.name in QUICK else pytest.mark.slow, id=p.name)
                                for p in NOTEBOOKS])
def test_student_edition_runs_top_to_bottom(built, nb):
    _run(built["student"] / nb.name)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_solution_heading_is_followed_by_tagged_cells(nb):
    """A "Solution (try first!)" heading must sit over cells tagged ``solution``, or the student edition
    would still print the answer after Run All."""
    cells = _cells(nb)
    untagged = []
    for k, c in enumerate(cells):
        if c["cell_type"] == "markdown" and editions._SOLUTION_HEADING.match("".join(c["source"])):
            nxt = cells[k + 1] if k + 1 < len(cells) else None
            if nxt is None or not _tags(nxt) & {"solution", "instructor"}:
                untagged.append(k + 1)
    assert not untagged, (f"{nb.name}: cells {untagged} follow a 'Solution' heading but are not tagged "
                          "'solution' (JupyterLab: Property Inspector → Cell Tags)")
