# MedLab: two commands on a fresh machine.
#   make lab   - create .venv on first use, install, open JupyterLab on notebooks/
#   make test  - same environment; run every test (unit, notebooks, browser, classroom)
# Classroom (docs/instructor.md, hub/README section):
#   make student     - build/student/: the notebooks without solution/instructor cells
#   make instructor  - build/instructor/: every cell
#   make hub         - JupyterHub on 127.0.0.1:$(HUB_PORT) for the roster $(ROSTER) (student edition per student)
#   make app NB=02_convolution - the notebook as a Voila dashboard on 127.0.0.1:$(APP_PORT), offline
# TF=cpu (default) installs tensorflow-cpu; TF=gpu installs tensorflow[and-cuda].

PYTHON ?= python3
TF     ?= cpu
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(TF)
PORT   ?= 8888
# Classroom: JupyterHub, Voila, the proxy and the fonts (installed on first use of hub/app/test).
CLASSROOM := $(VENV)/.classroom-$(TF)
NODE_DIR  := $(VENV)/node
CHP       := $(NODE_DIR)/node_modules/.bin/configurable-http-proxy
FONTAWESOME := $(NODE_DIR)/node_modules/@fortawesome/fontawesome-free/css/all.min.css
ROSTER    ?= hub/roster.example.csv
HUB_PORT  ?= 8000
APP_PORT  ?= 8866
NB        ?= 02_convolution
SUDO      := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: lab test test-full test-unit test-notebooks test-browser bench clean-venv strip student instructor hub app \
        classroom system-classroom

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.4"

# Re-install only when the dependency list changed (or TF changed).
$(STAMP): pyproject.toml jupyter/overrides.json | $(BIN)/uv
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -e ".[$(TF),test]"
	# Offline classrooms: JupyterLab must not ask to fetch news or check for updates.
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	rm -f $(VENV)/.installed-*
	touch $@

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) \
	    $(if $(filter 0,$(shell id -u)),--allow-root,)

# Two pytest processes side by side: the notebooks driven in a browser (JupyterLab, Voila: much of their time is
# spent waiting for one kernel or for rendering) and everything else. The browser half's log is printed after the
# other half; make fails if either does. Every test still runs once.
BROWSER_TESTS := tests/test_browser.py tests/test_app_mode.py
PYTEST        := $(BIN)/python -m pytest --nbval-lax --nbval-current-env -m "not slow"
test: $(STAMP) classroom
	@log=$$(mktemp); \
	$(PYTEST) -p no:cacheprovider $(BROWSER_TESTS) >$$log 2>&1 & pid=$$!; \
	$(PYTEST) $(addprefix --ignore=,$(BROWSER_TESTS)); rc=$$?; \
	wait $$pid; rc_browser=$$?; \
	echo "======== browser tests (run alongside the above): $(BROWSER_TESTS) ========"; cat $$log; rm -f $$log; \
	echo "make test: other tests exit $$rc, browser tests exit $$rc_browser"; \
	[ $$rc -eq 0 ] && [ $$rc_browser -eq 0 ]

# Everything, including the tests marked slow: each student edition once more through nbclient (the browser
# test already runs every student edition in JupyterLab).
test-full: $(STAMP) classroom
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not browser"

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks

test-browser: $(STAMP)
	$(BIN)/python -m pytest tests -m browser

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

# ------------------------------------------------------------------------------------------- classroom
# Python side: the `classroom` extra of pyproject.toml (jupyterhub, jupyterhub-idle-culler, voila, pyyaml).
$(CLASSROOM): $(STAMP) pyproject.toml
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -e ".[$(TF),test,classroom]"
	touch $@

# npm side: the hub's proxy and Font Awesome for Voila's offline template (no CDN: voila #539).
$(CHP) $(FONTAWESOME):
	@command -v npm >/dev/null || $(MAKE) system-classroom
	mkdir -p $(NODE_DIR)
	npm install --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error \
	    "configurable-http-proxy@4" "@fortawesome/fontawesome-free@5"

# System side (Debian): npm for the proxy, a CJK font for Chinese text in PNGs, an emoji font for ✅/❌.
system-classroom:
	@if command -v apt-get >/dev/null; then \
	  missing=""; \
	  command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	  fc-list 2>/dev/null | grep -qi "Noto Color Emoji" || missing="$$missing fonts-noto-color-emoji"; \
	  if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi; \
	else echo "not Debian: install npm and a CJK font (Noto Sans CJK) yourself"; fi

classroom: system-classroom $(CLASSROOM) $(CHP) $(FONTAWESOME)

student: $(STAMP)
	$(BIN)/python tools/editions.py student

instructor: $(STAMP)
	$(BIN)/python tools/editions.py instructor

# One-server JupyterHub for a class: per-student passwords from $(ROSTER) (written once to
# build/hub/passwords.csv for the instructor), each student's own copy of build/student/, memory limit,
# idle culler, 127.0.0.1 only (HTTPS: hub/README section). Stop with Ctrl-C.
hub: classroom student
	$(BIN)/python hub/roster.py --roster $(ROSTER) --out build/hub
	cd build/hub && PATH="$(CURDIR)/$(BIN):$(CURDIR)/$(NODE_DIR)/node_modules/.bin:$$PATH" \
	    MEDLAB_HUB_PORT=$(HUB_PORT) MEDLAB_ROSTER="$(abspath $(ROSTER))" \
	    $(CURDIR)/$(BIN)/jupyterhub -f $(CURDIR)/hub/jupyterhub_config.py

# App mode: the notebook as a dashboard (code hidden, widgets live) with a template that serves
# Font Awesome locally, so it works with no network.
app: classroom
	$(BIN)/python hub/app_template.py --out build/app
	JUPYTER_PATH="$(CURDIR)/build/app" $(BIN)/voila notebooks/$(NB).ipynb --template=medlab \
	    --Voila.ip=127.0.0.1 --port=$(APP_PORT) --no-browser \
	    $(if $(filter 0,$(shell id -u)),--ServerApp.allow_root=True,)

clean-venv:
	rm -rf $(VENV)
