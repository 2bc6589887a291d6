# OpenNanoScaleLLM: `make run` starts the assistant, `make test` runs the suite.
# Both set everything up first on a fresh machine (Python 3.11, 2 CPU cores, no network but PyPI).

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
NANOSCALE := $(VENV)/bin/nanoscale

TORCH_VERSION := 2.13.0
LLAMA_VERSION := 0.3.36
# llama.cpp is built for this CPU's vector units, never with AMX: a -march=native build with AMX
# kernels crashed here on batched prompt decoding. With AVX-512 (VNNI, BF16, VBMI) prompt reading
# is 1.4x the AVX2 build's on the 1.5B (benchmarks/results); other x86-64 CPUs get AVX2.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
AVX512_FLAGS := avx512f avx512bw avx512vl avx512_vnni avx512vbmi avx512_bf16
HAS_AVX512 := $(shell for f in $(AVX512_FLAGS); do grep -qw $$f /proc/cpuinfo 2>/dev/null || exit 0; done; echo yes)
ifeq ($(HAS_AVX512),yes)
LLAMA_VARIANT := avx512
LLAMA_CMAKE_ARGS += -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON \
	-DGGML_AVX_VNNI=ON
else
LLAMA_VARIANT := avx2
LLAMA_CMAKE_ARGS += -DGGML_AVX512=OFF
endif
WHEEL_DIR ?= $(HOME)/.cache/nanoscale/wheels/$(LLAMA_VARIANT)
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
	$(PIP) install -q --force-reinstall --no-deps $(WHEEL_DIR)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
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

# Every benchmark on this machine, timed step by step; results land in benchmarks/results/
# (see the README's table). Sizes are in benchmarks/run_all.py; each script's defaults measure more.
bench: prepare
	$(PY) benchmarks/run_all.py

lint: setup
	$(VENV)/bin/ruff check nanoscale tests benchmarks examples

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
