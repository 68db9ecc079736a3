# One command each: `make setup`, `make test`, `make train`. .ci/run calls setup, lint and test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup lint typecheck test test-unit test-hardware test-cli-oldest train dist help

help:
	@echo "make setup   create $(VENV) with the CPU torch wheel and all extras"
	@echo "make test    unit + integration tests (what CI runs; hardware tests: make test-hardware)"
	@echo "make test-unit  the fast tier: no data set, no training (about 2 min on 2 shared cores)"
	@echo "make lint    ruff check (style, complexity) + ruff format --check"
	@echo "make typecheck  mypy over the whole package (.ci/typecheck)"
	@echo "make train   train a recipe (RECIPE=edge) and evaluate it; MIRROR=dir|url for MNIST"
	@echo "make dist    wheel + sdist in dist/ (install them on a device without PyPI)"

setup:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[host,dev]"

lint:
	$(BIN)/ruff check edgemnist tests benchmarks
	$(BIN)/ruff format --check edgemnist tests benchmarks

typecheck:
	PYTHON=$(BIN)/python .ci/typecheck

# Tiers by marker (tests/conftest.py): integration = reads MNIST or trains; hardware = needs a
# GPU, TensorRT, a Jetson or a camera (skipped where absent).
test:
	$(BIN)/pytest -q -m "not hardware"

test-unit:
	$(BIN)/pytest -q -m "not integration and not hardware"

test-hardware:
	$(BIN)/pytest -q -m hardware

# The CLI against the lowest typer/click/rich that pyproject.toml allows (needs the network once).
OLDEST := .venv-oldest
CLI_TESTS := tests/unit/test_cli_options.py tests/unit/test_cli_version.py \
	tests/unit/test_doctor.py tests/unit/test_formats.py tests/unit/test_docs.py
test-cli-oldest:
	test -x $(OLDEST)/bin/pytest || ( $(PYTHON) -m venv $(OLDEST) && $(OLDEST)/bin/pip install -q \
		typer==0.12.5 click==8.1.7 rich==13.7.1 numpy platformdirs typing_extensions onnxruntime \
		pytest pytest-timeout )
	PYTHONPATH=. $(OLDEST)/bin/pytest -q -p no:cacheprovider $(CLI_TESTS)

# RECIPE: any edgemnist/recipes/<name>.toml (by name); MIRROR: a local MNIST directory or URL
RECIPE ?= edge
MIRROR ?=
train:
	$(BIN)/edgemnist data download $(if $(MIRROR),--mirror $(MIRROR))
	$(BIN)/edgemnist train $(RECIPE) --out-dir runs/$(RECIPE)-s0
	$(BIN)/edgemnist eval runs/$(RECIPE)-s0/model.pt

# The wheel a device installs (jetson/README.md): built offline from the venv's setuptools.
dist:
	rm -rf dist build
	$(BIN)/python -m build --no-isolation --outdir dist .
	rm -rf build  # setuptools' staging copy: stale modules in it would leak into the next wheel
	@ls -l dist
