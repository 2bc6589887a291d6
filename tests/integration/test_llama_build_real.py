"""A build selected for AMD Zen 4 contains no instruction Zen 4 lacks (the SIGILL seen there).

Zen 4 has AVX512-VNNI but not AVX-VNNI; a build with GGML_AVX_VNNI emits the VEX-encoded
`vpdpbusd`, which Zen 4 cannot decode. This compiles ggml's CPU backend with the options chosen
for a Zen 4 flag line (cached after the first run) and disassembles it.
"""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

import pytest

from nanoscale import llama_build as lb
from tests.unit.test_llama_build import INTEL_SPR

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64 code generation check"),
    pytest.mark.skipif(not (shutil.which("cmake") and shutil.which("objdump")), reason="needs cmake and objdump"),
]
VERSION = "0.3.36"
CACHE = Path.home() / ".cache" / "nanoscale" / "wheels"
VEX_VNNI = "{vex} vpdpbusd"


@pytest.mark.timeout(900)
def test_zen4_build_has_no_vex_vnni_but_keeps_the_avx512_vnni_kernels() -> None:
    library = lb.build_cpu_library(lb.cmake_args(set(lb.ZEN4_FLAGS), "x86_64"), VERSION, CACHE)
    assert lb.count_instruction(library, VEX_VNNI) == 0
    # the EVEX (AVX-512) form is what Zen 4 runs: portability must not drop the fast kernels
    assert lb.count_instruction(library, "vpdpbusd") > 0


@pytest.mark.timeout(900)
def test_the_check_sees_vex_vnni_where_the_cpu_has_avx_vnni() -> None:
    library = lb.build_cpu_library(lb.cmake_args(lb.cpu_flags(INTEL_SPR), "x86_64"), VERSION, CACHE)
    assert lb.count_instruction(library, VEX_VNNI) > 0
