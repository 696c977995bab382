# Two entry points: `make demo` (the main job) and `make test` (everything CI runs).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) web-build

# The trace viewer UI (web/, TypeScript + Vite) is built into the package's static files.
WEB_BUILT := src/myagent/trace/viewer/static/index.html
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts

$(WEB_BUILT): web/package.json web/package-lock.json $(WEB_SOURCES)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build

.PHONY: web-build browser
web-build: $(WEB_BUILT)

# Debian's Chromium for the Playwright tests (quick when already installed).
browser:
	bash scripts/install-browser.sh

demo: $(STAMP) web-build
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

test: $(STAMP) web-build browser lint
	$(MAKE) bench-smoke
	$(BIN)/pytest

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

# Benchmarks (benchmarks/README.md): `make bench` runs everything and rewrites the README's
# table; `make bench-smoke` is the short run CI does (proves it works; figures meaningless).
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

.PHONY: bench bench-smoke
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks

bench-smoke: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks --smoke
