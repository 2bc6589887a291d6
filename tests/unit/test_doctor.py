"""The doctor's report lines and its verdict, without running models."""

from __future__ import annotations

import json
import sys

from nanoscale import doctor, llama_build


def test_a_broken_needed_check_makes_the_report_unhealthy() -> None:
    checks = [doctor.Check("cpu", True, "x"), doctor.Check("cuda", False, "none", "install drivers")]
    assert doctor.healthy(checks)
    checks.append(doctor.Check("llama.cpp run", False, "killed by signal 4", "make setup", needed=True))
    assert not doctor.healthy(checks)
    assert checks[-1].line() == "FAIL llama.cpp run: killed by signal 4 -> make setup"
    assert checks[1].line().startswith("WARN cuda")


def test_a_venv_built_for_another_cpu_is_named(monkeypatch, tmp_path) -> None:
    from tests.unit.test_llama_build import AMD_ZEN4, INTEL_SPR

    args = llama_build.cmake_args(llama_build.cpu_flags(INTEL_SPR), "x86_64")
    (tmp_path / llama_build.RECORD_NAME).write_text(json.dumps({"variant": "avx512+avxvnni", "cmake_args": args}))
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(llama_build, "this_cpu", lambda: (llama_build.cpu_flags(AMD_ZEN4), "x86_64"))
    check = doctor.llama_build_check()
    assert not check.ok and check.needed
    assert "GGML_AVX_VNNI" in check.detail


def test_an_empty_data_dir_has_no_knowledge_base_yet_and_that_is_fine(settings) -> None:
    [check] = doctor.knowledge_base_checks(settings)
    assert check.ok and "first use" in check.detail


def test_a_damaged_manifest_is_a_failure(settings) -> None:
    kb = settings.index_dir / "default"
    (kb / "v1").mkdir(parents=True)
    (kb / "CURRENT").write_text("v1")
    [check] = doctor.knowledge_base_checks(settings)
    assert not check.ok and check.needed and "--rebuild" in check.fix
