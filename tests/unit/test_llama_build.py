"""CPU flag lines -> llama.cpp CMake options: every unit the CPU lacks stays off (issue: SIGILL on Zen 4)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nanoscale import llama_build as lb

INTEL_SPR = (
    "flags : fpu sse sse2 ssse3 sse4_1 sse4_2 fma avx f16c bmi1 avx2 bmi2 avx512f avx512dq avx512cd avx512bw "
    "avx512vl avx_vnni avx512_bf16 avx512vbmi avx512_vbmi2 avx512_vnni avx512_fp16 amx_bf16 amx_tile amx_int8"
)
AMD_ZEN4 = (
    "flags : fpu sse sse2 ssse3 sse4_1 sse4_2 fma avx f16c bmi1 avx2 bmi2 avx512f avx512dq avx512ifma avx512cd "
    "avx512bw avx512vl avx512_bf16 avx512vbmi avx512_vbmi2 gfni vaes avx512_vnni avx512_bitalg avx512_vpopcntdq"
)
HASWELL = "flags : fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt avx f16c fma bmi1 avx2 bmi2"
SANDY_BRIDGE = "flags : fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt avx"
GRAVITON3 = (
    "processor : 0\nBogoMIPS : 2100.00\nFeatures : fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp "
    "cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 asimddp sha512 sve asimdfhm svei8mm svebf16 i8mm bf16 rng\n"
)


def on(args: list[str]) -> set[str]:
    return {arg[2:-3] for arg in args if arg.endswith("=ON")}


def test_intel_with_amx_and_avx_vnni_gets_both_vnni_forms_and_never_amx() -> None:
    args = lb.cmake_args(lb.cpu_flags(INTEL_SPR), "x86_64")
    assert on(args) == {
        "GGML_SSE42", "GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_F16C", "GGML_BMI2", "GGML_AVX_VNNI",
        "GGML_AVX512", "GGML_AVX512_VBMI", "GGML_AVX512_VNNI", "GGML_AVX512_BF16",
    }
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF", "-DGGML_NATIVE=OFF"} <= set(args)


def test_the_reference_zen4_flags_match_a_zen4_cpuinfo_line() -> None:
    assert lb.cmake_args(set(lb.ZEN4_FLAGS), "x86_64") == lb.cmake_args(lb.cpu_flags(AMD_ZEN4), "x86_64")


def test_zen4_gets_avx512_vnni_but_not_avx_vnni() -> None:
    args = lb.cmake_args(lb.cpu_flags(AMD_ZEN4), "x86_64")
    assert "-DGGML_AVX_VNNI=OFF" in args
    assert {"GGML_AVX512", "GGML_AVX512_VNNI", "GGML_AVX512_BF16", "GGML_AVX512_VBMI"} <= on(args)
    assert lb.variant_name(args) == "avx512+vnni+bf16+vbmi"


def test_avx2_only_cpu_gets_no_avx512() -> None:
    args = lb.cmake_args(lb.cpu_flags(HASWELL), "x86_64")
    assert on(args) == {"GGML_SSE42", "GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_F16C", "GGML_BMI2"}
    assert lb.variant_name(args) == "avx2"


def test_cpu_without_avx2_gets_neither_avx2_nor_fma() -> None:
    args = lb.cmake_args(lb.cpu_flags(SANDY_BRIDGE), "x86_64")
    assert on(args) == {"GGML_SSE42", "GGML_AVX"}
    assert lb.cmake_args(lb.cpu_flags(SANDY_BRIDGE), "x86_64", conservative=True).count("=ON") == 0


def test_avx512_extensions_need_the_avx512_foundation() -> None:
    partial = lb.cpu_flags("flags : avx2 avx512f avx512_vnni avx512_bf16")  # no cd/vl/dq/bw
    assert not on(lb.cmake_args(partial, "x86_64")) & {"GGML_AVX512", "GGML_AVX512_VNNI", "GGML_AVX512_BF16"}


def test_aarch64_uses_the_extensions_its_features_list() -> None:
    flags = lb.cpu_flags(GRAVITON3)
    assert lb.cmake_args(flags, "aarch64") == ["-DGGML_NATIVE=OFF", "-DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16+i8mm"]
    assert lb.cmake_args(flags, "aarch64", conservative=True)[-1] == "-DGGML_CPU_ARM_ARCH=armv8-a"
    assert lb.cmake_args(lb.cpu_flags("Features : fp asimd"), "aarch64")[-1] == "-DGGML_CPU_ARM_ARCH=armv8-a"


def test_conservative_fallback_is_the_avx2_generation() -> None:
    args = lb.cmake_args(lb.cpu_flags(INTEL_SPR), "x86_64", conservative=True)
    assert on(args) == {"GGML_SSE42", "GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_F16C"}


@pytest.mark.parametrize("line", [INTEL_SPR, AMD_ZEN4, HASWELL, SANDY_BRIDGE])
def test_cache_key_differs_per_option_set(line: str) -> None:
    keys = {lb.cache_key("0.3.36", lb.cmake_args(lb.cpu_flags(text), "x86_64"))
            for text in (INTEL_SPR, AMD_ZEN4, HASWELL, SANDY_BRIDGE)}
    assert len(keys) == 4
    assert lb.cache_key("0.3.36", lb.cmake_args(lb.cpu_flags(line), "x86_64")).startswith("llama-cpp-python-0.3.36-")


def test_missing_units_names_what_a_moved_venv_cannot_run() -> None:
    built_on_intel = lb.cmake_args(lb.cpu_flags(INTEL_SPR), "x86_64")
    assert lb.missing_units(built_on_intel, lb.cpu_flags(AMD_ZEN4)) == ["GGML_AVX_VNNI"]
    assert lb.missing_units(built_on_intel, lb.cpu_flags(INTEL_SPR)) == []


def test_the_args_command_reads_a_cpuinfo_copy(tmp_path, capsys) -> None:
    copy = tmp_path / "cpuinfo"
    copy.write_text(AMD_ZEN4 + "\n")
    assert lb.main(["args", "--cpuinfo", str(copy), "--machine", "x86_64"]) == 0
    assert "-DGGML_AVX_VNNI=OFF" in capsys.readouterr().out


def test_a_crashing_build_is_rebuilt_once_with_conservative_flags(monkeypatch, tmp_path, capsys) -> None:
    runs = iter([(False, "killed by signal 4"), (True, "ok")])
    installs: list[bool] = []
    monkeypatch.setattr(lb, "smoke", lambda python: next(runs))
    monkeypatch.setattr(lb, "install", lambda python, version, cache, conservative=False: installs.append(conservative)
                        or {"variant": "avx2"})
    assert lb.verify(str(tmp_path / "bin" / "python"), "0.3.36", tmp_path) == 0
    assert installs == [True]
    assert "signal 4" in capsys.readouterr().out


def test_a_build_that_still_crashes_fails_with_one_line(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setattr(lb, "smoke", lambda python: (False, "killed by signal 4"))
    monkeypatch.setattr(lb, "install", lambda *a, **k: {"variant": "avx2"})
    assert lb.verify(str(tmp_path / "bin" / "python"), "0.3.36", tmp_path) == 1
    assert capsys.readouterr().err.startswith("error: llama.cpp still fails")


def test_smoke_reports_the_signal_that_killed_the_child(monkeypatch) -> None:
    monkeypatch.setattr(lb, "smoke_model", lambda python: "model.gguf")
    monkeypatch.setattr(lb, "smoke_code", lambda path: "import os, signal; os.kill(os.getpid(), signal.SIGILL)")
    assert lb.smoke(sys.executable) == (False, "killed by signal 4")


def test_the_wheel_is_built_without_the_multimodal_library(tmp_path, monkeypatch) -> None:
    """mtmd is never loaded here; compiling it added about 50 s to every fresh setup on 2 cores."""
    seen: dict[str, str] = {}

    def fake_pip_wheel(command, check, env):
        seen["CMAKE_ARGS"] = env["CMAKE_ARGS"]
        folder = Path(command[command.index("-w") + 1])
        folder.mkdir(parents=True)
        (folder / "llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl").write_bytes(b"")

    monkeypatch.setattr(lb.subprocess, "run", fake_pip_wheel)
    args = lb.cmake_args(lb.cpu_flags("flags : sse4_2 avx avx2 fma f16c"), "x86_64")
    wheel = lb.build_wheel("python", "0.3.36", args, tmp_path)
    assert "-DLLAVA_BUILD=OFF" in seen["CMAKE_ARGS"].split() and "-DGGML_AVX2=ON" in seen["CMAKE_ARGS"].split()
    assert lb.build_wheel("python", "0.3.36", args, tmp_path) == wheel  # cached: pip is not run again
