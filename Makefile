# Analytics Workspace: the two commands are `make up` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export WORKSPACE_HOME ?= $(CURDIR)/.workspace
DEMO_SCALE ?= 0.1
# The demo's customer tables are confidential, with masked projections (issue 13's tour);
# DEMO_FLAGS= keeps them in the shared lake.
DEMO_FLAGS ?= --classify
HOST ?= 127.0.0.1
PORT ?= 8888
HUB_PORT ?= 8000
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
# Where the test run keeps its demo lake (rebuilt each run) and its throwaway state.
TEST_HOME := $(CURDIR)/build/test-home

.PHONY: up lab install labextension demo test test-deps system-deps bench lint clean help

help:
	@echo "make up     install into .venv, build the demo lake, start JupyterHub on $(HOST):$(HUB_PORT)"
	@echo "make lab    the same, but a single-user JupyterLab (no hub) on $(HOST):$(PORT)"
	@echo "make test   install test dependencies and run the whole suite"
	@echo "make bench  run the benchmarks (prints ratios)"
	@echo "make lint   ruff, mypy, import layers and cycles, module size, prettier and eslint"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

LABEXT := workspace/labextension/static/style.js
LABEXT_SOURCES := $(shell find extensions/src extensions/style -type f 2>/dev/null) \
  extensions/package.json extensions/yarn.lock extensions/tsconfig.json

# Re-install when the package metadata changes. The install builds the JupyterLab extension
# (hatch-jupyter-builder runs jlpm in extensions/; the npm registry is the only network used).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@command -v node >/dev/null || { echo "Node.js is needed to build the JupyterLab extension: install node (>= 18)"; exit 1; }
	$(PIP) install -e ".[postgres]"
	$(BIN)/jupyter kernelspec list | grep -q "^ *workspace " || \
	  $(BIN)/jupyter kernelspec install $(CURDIR)/kernels/workspace --sys-prefix --name workspace >/dev/null
	@touch $@

# Rebuild the extension when its sources change after the first install.
$(LABEXT): $(LABEXT_SOURCES) | $(VENV)/.installed
	cd extensions && PATH=$(BIN):$$PATH $(BIN)/jlpm install && PATH=$(BIN):$$PATH $(BIN)/jlpm build:prod
	$(PIP) install -e ".[postgres]" --no-deps

labextension: $(LABEXT)

install: $(VENV)/.installed $(LABEXT)
	@$(BIN)/jupyter labextension list 2>&1 | grep -q "@analytics-workspace/lab.*enabled" || \
	  { echo "The workspace JupyterLab extension is not enabled; see 'jupyter labextension list'"; exit 1; }
	@$(BIN)/jupyter server extension list 2>&1 | grep -q "workspace.server.*OK" || \
	  { echo "The workspace server extension does not load; see 'jupyter server extension list'"; exit 1; }

demo: install
	$(BIN)/workspace demo --scale $(DEMO_SCALE) $(DEMO_FLAGS)

# The team deployment: JupyterHub with per-user Labs (as root: each user's server runs as
# their own OS account), the scheduler and reports services. Prints the admin login.
up: demo
	$(BIN)/workspace hub --host $(HOST) --port $(HUB_PORT) --grant-traverse

# One person's Lab (no hub, no login accounts): JupyterLab + the scheduler on $(PORT).
lab: demo
	$(BIN)/workspace lab --host $(HOST) --port $(PORT)

# PostgreSQL (for the shared-catalog tests) and Chromium (for the browser tests) come from
# Debian packages.
system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Chromium from Debian packages ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is missing: install the 'chromium' package (browser tests drive it)"; exit 1; \
	  fi; \
	fi
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "Installing PostgreSQL from Debian packages ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else \
	    echo "PostgreSQL server binaries are missing: install the 'postgresql' package (or set WORKSPACE_TEST_SKIP_POSTGRES=1)"; exit 1; \
	  fi; \
	fi

$(VENV)/.test-installed: $(VENV)/.installed | $(LABEXT)
	$(PIP) install -e ".[dev]"
	@touch $@

test-deps: $(VENV)/.test-installed system-deps

test: test-deps
	cd extensions && PATH=$(BIN):$$PATH $(BIN)/jlpm test
	rm -rf $(TEST_HOME) && mkdir -p $(TEST_HOME)
	WORKSPACE_HOME=$(TEST_HOME)/demo $(BIN)/workspace demo --scale 0.01 --no-notebooks
	WORKSPACE_HOME=$(TEST_HOME)/demo $(BIN)/python -m pytest -p no:cacheprovider \
	  tests/unit tests/integration tests/browser --nbval-lax workspace/demo/notebooks
	WORKSPACE_HOME=$(TEST_HOME)/demo $(BIN)/python -m pytest -p no:cacheprovider --doctest-modules -q workspace

bench: test-deps
	@for b in tests/benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Every check runs (the first failure does not hide the others); exits 1 if any failed.
# lint-imports: the layer and no-cycle contracts in pyproject.toml ([tool.importlinter]).
LINT_STEPS := "ruff check workspace tests" "ruff format --check workspace tests" "mypy" \
  "lint-imports --no-cache" "python tests/tools/check_modules.py"
lint: $(VENV)/.test-installed
	@failed=""; for step in $(LINT_STEPS); do \
	  echo "== $$step"; $(BIN)/$$step || failed="$$failed [$$step]"; \
	done; \
	if [ -n "$$failed" ]; then echo "make lint (Python): failed:$$failed"; exit 1; fi; echo "make lint (Python): clean"
	cd extensions && PATH=$(BIN):$$PATH $(BIN)/jlpm lint

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
