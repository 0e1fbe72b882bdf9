# MedLab: two commands on a fresh machine.
#   make lab   - create .venv on first use, install, open JupyterLab on notebooks/
#   make test  - same environment; run every test (unit, notebooks, browser)
# TF=cpu (default) installs tensorflow-cpu; TF=gpu installs tensorflow[and-cuda].

PYTHON ?= python3
TF     ?= cpu
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(TF)
PORT   ?= 8888

.PHONY: lab test test-unit test-notebooks test-browser bench clean-venv strip

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

test: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not browser"

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks

test-browser: $(STAMP)
	$(BIN)/python -m pytest tests -m browser

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
