"""Run every notebook in JupyterLab in headless Chromium, like a learner would: the **student edition**.

The server serves ``tools/editions.py student`` output (solution and instructor cells removed), so this is
also the test that every student notebook runs top to bottom after *Run All* with no error except in cells
tagged ``raises-exception`` (issue 13); nbval runs the full notebooks, solutions included, so every
exercise check passes with its solution pasted in.

For each notebook: open it in a real JupyterLab, Run All, wait until every cell ran, assert
no cell shows an error (cells tagged ``raises-exception`` excepted), that widgets rendered
(no "Error displaying widget"), then move one slider and assert a widget image changed.
A screenshot of each notebook goes to ``screenshots/``. ``MEDLAB_LANG=zh`` runs them all in 中文
(screenshots ``*_zh.png``; ``make test`` runs English, and the app-mode test checks 02 in 中文).

The slider to move is named in the notebook metadata ``{"medlab": {"browser_slider": "<label>"}}``;
without it the first slider next to an image is used.

Needs Debian's Chromium at /usr/bin/chromium (``.ci/run`` installs it); we never download a
browser. The server runs on 127.0.0.1, a free port, a random token, on a *copy* of the notebooks
(so autosave can never write outputs into the repository), and is always stopped.
"""
from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("medlab_editions", ROOT / "tools" / "editions.py")
editions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(editions)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "screenshots"
RUN_TIMEOUT_S = 240

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                 reason="Debian chromium not installed (apt-get install chromium)")]

CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage"]

# JavaScript run in the page: a summary of the current notebook's cells from the Lab model.
CELLS_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.content.widgets) return null;
  return w.content.widgets.map(c => ({
    type: c.model.type,
    tags: c.model.getMetadata('tags') || [],
    count: c.model.type === 'code' ? c.model.executionCount : null,
    outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : [],
    busy: c.node.querySelector('.jp-InputPrompt') ? c.node.querySelector('.jp-InputPrompt').textContent.includes('*') : false,
  }));
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of notebooks/; yields (base_url, token)."""
    work = tmp_path_factory.mktemp("lab")
    nbdir = work / "notebooks"
    editions.build("student", nbdir)  # a copy: autosave can never write into notebooks/
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(work / "config"), JUPYTER_RUNTIME_DIR=str(work / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"), TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("MPLBACKEND", None)  # the kernel should use the inline backend, as for a learner
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}",
           "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={nbdir}",
           "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--LabApp.workspaces_dir={work / 'workspaces'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    # Test-only Lab settings: render every cell (no windowing), so every widget is checked; no news prompt.
    settings = work / "settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps({
        "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension:notification": {"checkForUpdates": False, "fetchNews": "false"}}))
    cmd.append(f"--LabApp.app_settings_dir={settings}")
    log = open(work / "lab.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=nbdir)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + (work / "lab.log").read_text()[-3000:])
                time.sleep(0.3)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        try:
            yield b
        finally:
            b.close()


# A cell tagged raises-exception shows a *deliberate* error; these names mean the cell itself is broken.
BROKEN_CELL_ERRORS = {"NameError", "ImportError", "ModuleNotFoundError", "SyntaxError", "AttributeError",
                      "IndentationError"}


def _errors(cells) -> list[str]:
    """Unexpected errors, and cells tagged raises-exception that did not raise what they should."""
    found = []
    for k, c in enumerate(cells):
        errors = [o for o in c["outputs"] if o.get("output_type") == "error"]
        if "raises-exception" in c["tags"]:
            if not errors:
                found.append(f"cell {k} is tagged raises-exception but raised nothing")
            found += [f"cell {k}: {o['ename']} (a broken cell, not a deliberate error): {o.get('evalue')}"
                      for o in errors if o.get("ename") in BROKEN_CELL_ERRORS]
            continue
        found += [f"cell {k}: {o.get('ename')}: {o.get('evalue')}" for o in errors]
    return found


def _slider_label(nb_path: Path) -> str | None:
    meta = json.loads(nb_path.read_text()).get("metadata", {})
    return meta.get("medlab", {}).get("browser_slider")


def _actions(nb_path: Path) -> list[dict]:
    """Buttons to click after the slider: ``{"medlab": {"browser_actions": [{"click": "Train",
    "wait_image_change": true, "timeout_s": 120}, {"click": "Stop", "expect_widget_text": "stopped"}]}}``."""
    meta = json.loads(nb_path.read_text()).get("metadata", {})
    return list(meta.get("medlab", {}).get("browser_actions", []))


#: ``MEDLAB_LANG=zh`` (inherited by JupyterLab's kernels) runs every notebook in 中文: the slider, button and
#: status texts the test looks for are then looked up in their translation.
LANG = os.environ.get("MEDLAB_LANG") or "en"


def _ui(text: str | None) -> str | None:
    from medlab import i18n

    return text if text is None else i18n.t(text, lang=LANG)


def _image_sources(page) -> list[str]:
    return page.eval_on_selector_all(".jp-Notebook img.widget-image, .jp-Notebook .widget-image img",
                                     "els => els.map(e => e.src)")


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_in_jupyterlab(lab, browser, nb_path):
    base, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        # ?reset: Lab would otherwise restore the previous test's tab and Run All would run *that* notebook
        page.goto(f"{base}/lab/tree/{nb_path.name}?reset&token={token}", wait_until="domcontentloaded")
        # the served file is the student edition of nb_path
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                               "&& window.jupyterapp.shell.currentWidget.context "
                               f"&& window.jupyterapp.shell.currentWidget.context.path === '{nb_path.name}' "
                               "&& window.jupyterapp.shell.currentWidget.sessionContext "
                               "&& window.jupyterapp.shell.currentWidget.sessionContext.session "
                               "&& window.jupyterapp.shell.currentWidget.sessionContext.session.kernel "
                               "&& window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                               timeout=60_000)
        t0 = time.time()
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        # done when every code cell has an execution count and none is still queued/running
        page.wait_for_function(f"""() => {{ const cells = ({CELLS_JS})();
            return cells && cells.filter(c => c.type === 'code').every(c => c.count !== null && !c.busy)
              && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'; }}""",
                               timeout=RUN_TIMEOUT_S * 1000, polling=500)
        run_s = time.time() - t0
        cells = page.evaluate(CELLS_JS)
        assert not _errors(cells), f"{nb_path.name}: error outputs in the browser run: {_errors(cells)}"

        page.wait_for_timeout(1000)  # let widget views finish rendering
        body = page.inner_text(".jp-Notebook")
        assert "Error displaying widget" not in body, f"{nb_path.name}: a widget failed to render"
        n_widgets = page.locator(".jp-Notebook .jupyter-widgets").count()
        n_images = len(_image_sources(page))
        n_sliders = page.locator(".jp-Notebook .widget-slider").count()
        assert n_widgets > 0 and n_images > 0 and n_sliders > 0, (
            f"{nb_path.name}: expected rendered widgets, found {n_widgets} widget nodes, "
            f"{n_images} images, {n_sliders} sliders")

        label = _ui(_slider_label(nb_path))
        sliders = page.locator(".jp-Notebook .widget-slider")
        if label:
            sliders = sliders.filter(has=page.locator(".widget-label", has_text=label))
        slider = sliders.first
        assert slider.count() == 1, f"{nb_path.name}: no slider labelled {label!r}"
        slider.scroll_into_view_if_needed()
        before = _image_sources(page)
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "before => { const now = Array.from(document.querySelectorAll("
            "'.jp-Notebook img.widget-image, .jp-Notebook .widget-image img')).map(e => e.src);"
            " return now.length !== before.length || now.some((s, i) => s !== before[i]); }",
            arg=before, timeout=15_000)
        page.wait_for_timeout(300)
        for act in _actions(nb_path):
            click = _ui(act["click"])
            button = page.locator(".jp-Notebook button.jupyter-button", has_text=click).first
            assert button.count() == 1, f"{nb_path.name}: no button labelled {click!r}"
            button.scroll_into_view_if_needed()
            before = _image_sources(page)
            button.click()
            timeout_ms = int(act.get("timeout_s", 60) * 1000)
            if act.get("wait_image_change"):
                page.wait_for_function(
                    "before => { const now = Array.from(document.querySelectorAll("
                    "'.jp-Notebook img.widget-image, .jp-Notebook .widget-image img')).map(e => e.src);"
                    " return now.length !== before.length || now.some((s, i) => s !== before[i]); }",
                    arg=before, timeout=timeout_ms)
            if act.get("expect_widget_text"):
                page.wait_for_function(
                    "t => Array.from(document.querySelectorAll('.jp-Notebook .widget-html'))"
                    ".some(e => e.innerText.includes(t))", arg=_ui(act["expect_widget_text"]), timeout=timeout_ms)
        SHOTS.mkdir(exist_ok=True)
        output = slider.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')]").first
        suffix = "" if LANG == "en" else f"_{LANG}"
        output.screenshot(path=str(SHOTS / f"{nb_path.stem}_widget{suffix}.png"))
        page.screenshot(path=str(SHOTS / f"{nb_path.stem}{suffix}.png"))
        print(f"{nb_path.name}: ran in {run_s:.1f} s in the browser; {n_widgets} widget nodes, "
              f"{n_images} images, {n_sliders} sliders")
    finally:
        page.close()
