# OpenNanoScaleLLM: `make run` starts the assistant, `make test` runs the suite.
# Both set everything up first on a fresh machine (Python 3.11, 2 CPU cores, no network but PyPI).

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
NANOSCALE := $(VENV)/bin/nanoscale

TORCH_VERSION := 2.13.0
LLAMA_VERSION := 0.3.36
# llama-cpp-python is compiled for this CPU's own vector units, one CMake option per cpuinfo flag
# (nanoscale/llama_build.py says why), cached per exact option set, then smoke-tested: a build
# that dies here is rebuilt once with conservative flags instead of crashing every later command.
LLAMA_BUILD := $(PYTHON) nanoscale/llama_build.py
LLAMA_CACHE ?= $(HOME)/.cache/nanoscale/wheels
PYTEST_ARGS ?=

.PHONY: setup prepare run test unit lint bench clean

$(VENV)/.installed: pyproject.toml Makefile nanoscale/llama_build.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first, pinned: this takes the CPU wheel on disk instead of a multi-GB CUDA build
	$(PIP) install -q torch==$(TORCH_VERSION)
	# llama-cpp-python compiles from source (about 5-9 minutes on 2 cores); the wheel is kept
	$(LLAMA_BUILD) install --python $(PY) --version $(LLAMA_VERSION) --cache $(LLAMA_CACHE)
	$(PIP) install -q -e '.[dev]'
	$(LLAMA_BUILD) verify --python $(PY) --version $(LLAMA_VERSION) --cache $(LLAMA_CACHE)
	touch $@

setup: $(VENV)/.installed

prepare: setup
	$(NANOSCALE) prepare

run: prepare
	$(NANOSCALE) serve

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

unit: setup
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

# Every benchmark on this machine, timed step by step; results land in benchmarks/results/
# (see the README's table). Sizes are in benchmarks/run_all.py; each script's defaults measure more.
bench: prepare
	$(PY) benchmarks/run_all.py

lint: setup
	$(VENV)/bin/ruff check nanoscale tests benchmarks examples scripts

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
