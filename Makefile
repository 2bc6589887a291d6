# OpenNanoScaleLLM: `make run` starts the assistant, `make test` runs the suite.
# Both set everything up first on a fresh machine (Python 3.11, 2 CPU cores, no network but PyPI).

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
NANOSCALE := $(VENV)/bin/nanoscale

TORCH_VERSION := 2.13.0
LLAMA_VERSION := 0.3.36
# llama.cpp built for any x86-64 with AVX2: a -march=native build with AMX/AVX-512 kernels
# crashed here on batched prompt decoding, and a portable wheel also survives a new machine.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF
WHEEL_DIR ?= $(HOME)/.cache/nanoscale/wheels
PYTEST_ARGS ?=

.PHONY: setup prepare run test unit lint bench clean

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first, pinned: this takes the CPU wheel on disk instead of a multi-GB CUDA build
	$(PIP) install -q torch==$(TORCH_VERSION)
	# llama-cpp-python compiles from source (about 3-7 minutes on 2 cores); the wheel is kept
	ls $(WHEEL_DIR)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) wheel --no-deps --no-cache-dir -w $(WHEEL_DIR) \
		llama-cpp-python==$(LLAMA_VERSION)
	$(PIP) install -q $(WHEEL_DIR)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(PIP) install -q -e '.[dev]'
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

bench: prepare
	$(PY) benchmarks/retrieval.py
	$(PY) benchmarks/load.py

lint: setup
	$(VENV)/bin/ruff check nanoscale tests benchmarks examples

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
