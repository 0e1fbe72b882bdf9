"""Repository hygiene: notebooks stored clean, environment.yml in step with pyproject.toml."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# PyPI name -> conda-forge name where they differ; the TensorFlow extras map to conda's tensorflow.
PYPI_TO_CONDA = {"matplotlib": "matplotlib-base", "playwright": "playwright-python", "tensorflow-cpu": "tensorflow",
                 "tensorflow[and-cuda]": "tensorflow"}


def _name_and_bound(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req)
    assert m, f"cannot parse requirement {req!r}"
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(data["dependencies"]) + data["optional-dependencies"]["cpu"] + data["optional-dependencies"]["test"]
    out = {}
    for r in reqs:
        name, bound = _name_and_bound(r)
        out[PYPI_TO_CONDA.get(name, name)] = bound
    return out


def _environment_requirements() -> dict[str, str]:
    out = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - ([^\s#]+)\s*(#.*)?$", line)
        if in_deps and m and m.group(1) not in ("pip", "pip:"):
            name, bound = _name_and_bound(m.group(1))
            out[name] = bound
    out.pop("python", None)
    return out


def test_environment_yml_matches_pyproject():
    py, conda = _pyproject_requirements(), _environment_requirements()
    assert set(py) == set(conda), (
        f"only in pyproject.toml: {sorted(set(py) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(py))}")
    differing = {n: (py[n], conda[n]) for n in py if py[n] != conda[n]}
    assert not differing, f"lower bounds differ (pyproject, environment.yml): {differing}"


def test_gpu_and_cpu_extras_pin_the_same_tensorflow():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    cpu = _name_and_bound(extras["cpu"][0])[1]
    gpu = _name_and_bound(extras["gpu"][0])[1]
    assert cpu == gpu


def test_there_are_notebooks():
    assert (ROOT / "notebooks" / "00_welcome.ipynb").exists()
    for nb in NOTEBOOKS:
        assert re.match(r"^\d\d_[a-z0-9_]+\.ipynb$", nb.name), f"{nb.name}: notebooks are named NN_topic.ipynb"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(nb):
    data = json.loads(nb.read_text())
    dirty = [k for k, c in enumerate(data["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{nb.name}: cells {dirty} have stored outputs; clear them "
                       "(JupyterLab: Edit → Clear Outputs of All Cells) before committing")


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_no_sys_path_tricks(nb):
    data = json.loads(nb.read_text())
    for c in data["cells"]:
        src = "".join(c["source"])
        assert "sys.path" not in src, f"{nb.name}: medlab is installed; do not edit sys.path"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_checks_and_widgets(nb):
    """The rhythm of the series: every notebook asserts against references and shows widgets."""
    src = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
    assert "assert " in src, f"{nb.name}: no check-yourself assert"
    assert "medlab.widgets" in src, f"{nb.name}: no widget from medlab.widgets"


def test_readme_shows_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make lab" in text and "make test" in text


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_dataset_file_is_documented():
    from medlab.datasets import CHECKSUMS

    readme = (ROOT / "datasets" / "README.md").read_text()
    for rel, digest in CHECKSUMS.items():
        if rel.endswith(".dcm") or rel.endswith(".xml"):
            continue  # per-file hashes are in datasets/SHA256SUMS
        assert digest in readme, f"datasets/README.md lacks the sha256 of {rel}"
    sums = (ROOT / "datasets" / "SHA256SUMS").read_text()
    for rel, digest in CHECKSUMS.items():
        assert f"{digest}  {rel}" in sums, f"datasets/SHA256SUMS lacks {rel}"
