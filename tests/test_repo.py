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
    extras = data["optional-dependencies"]
    reqs = list(data["dependencies"]) + extras["cpu"] + extras["test"] + extras["classroom"]
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
        # conda packages (2-space indent) and the few PyPI-only ones under "pip:" (6-space indent)
        m = re.match(r"^(?:  |      )- ([^\s#]+)\s*(#.*)?$", line)
        if in_deps and m and m.group(1) not in ("pip", "pip:", "-e"):
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


def _notebook_widget_imports() -> dict[str, set[str]]:
    """notebook -> names it imports from medlab.widgets (any submodule) or uses as medlab.widgets.X."""
    import ast

    out: dict[str, set[str]] = {}
    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        names: set[str] = set()
        for cell in json.loads(nb_path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            src = "\n".join(line for line in "".join(cell["source"]).splitlines()
                            if not line.lstrip().startswith(("%", "!")))
            try:
                tree = ast.parse(src)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("medlab.widgets"):
                    if node.module != "medlab.widgets":
                        names.add(node.module)  # a widget submodule: only builders may be imported
                    names |= {a.name for a in node.names}
                elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                        and isinstance(node.value.value, ast.Name) and node.value.value.id == "medlab" \
                        and node.value.attr == "widgets":
                    names.add(node.attr)
        out[nb_path.name] = names
    return out


def test_notebooks_import_only_registered_builders_from_widgets():
    from medlab.widgets import WIDGETS

    bad = {}
    for nb, names in _notebook_widget_imports().items():
        wrong = sorted(n for n in names if n not in WIDGETS)
        if wrong:
            bad[nb] = wrong
    assert not bad, ("notebooks may import from medlab.widgets only registered builders "
                     f"(domain code belongs in core): {bad}")


def test_every_public_widget_builder_is_registered():
    import inspect

    import importlib

    import medlab.widgets as mw
    from medlab.widgets._explorer import REGISTRY

    mw.load_all()
    builder = re.compile(r"_(explorer|viewer|stepper|browser|inspector|dashboard|lab|comparison|histograms|"
                         r"by_hand)$")
    names = []
    for mod in mw._MODULES:
        m = importlib.import_module(f"medlab.widgets.{mod}")
        names += [n for n, f in vars(m).items() if inspect.isfunction(f) and builder.search(n)
                  and not n.startswith(("_", "render_")) and f.__module__ == m.__name__]
    assert names, "no builders found"
    missing = sorted(n for n in names if n not in mw.WIDGETS)
    assert not missing, f"widget builders not in medlab.widgets.WIDGETS: {missing}"
    # the lazy index (read from the sources, no import) names exactly the registered builders
    assert set(mw.INDEX) == {n for n, (_b, _d, module) in REGISTRY.items() if module.startswith("medlab.widgets.")}


def test_importing_one_builder_loads_only_its_module(fresh_python):
    code = ("import sys; from medlab.widgets import gd_stepper; "
            "loaded = sorted(m for m in sys.modules if m.startswith('medlab.widgets.')); "
            "assert loaded == ['medlab.widgets._explorer', 'medlab.widgets.training'], loaded; "
            "import medlab.widgets as mw; assert len(mw.WIDGETS) == len(mw.INDEX)")
    fresh_python(code)


def test_core_modules_import_no_ipywidgets():
    offenders = [p.name for p in (ROOT / "medlab").glob("*.py")
                 if re.search(r"^\s*(import ipywidgets|from ipywidgets)", p.read_text(), re.M)]
    assert not offenders, f"core modules must not import ipywidgets: {offenders}"


def test_readme_widget_example_runs():
    """The ten-line widget of README's "Adding a notebook or a widget" builds, renders and reacts."""
    pytest.importorskip("ipywidgets")
    from medlab.widgets._explorer import REGISTRY

    text = (ROOT / "README.md").read_text()
    block = text.split("## Adding a notebook or a widget", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    code = "\n".join(line[3:] if line.startswith("   ") else line for line in block.splitlines())
    ns: dict = {}
    try:
        exec(compile(code, "README.md", "exec"), ns)
        ex = ns["pooling_demo_explorer"]()
        first = ex.render()
        ex.controls["size"].value = 8
        assert ex.message == "" and ex.panes["main"].value != first and "(64, 64)" in ex.readout.value
        assert "pooling_demo_explorer" in REGISTRY
    finally:
        REGISTRY.pop("pooling_demo_explorer", None)
