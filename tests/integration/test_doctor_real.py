"""`nanoscale doctor` on this machine: the real build, models and data dir; exit 1 when broken."""

from __future__ import annotations

import pytest

from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration


def test_doctor_reports_this_machine_and_passes(project_kb) -> None:
    result = run_cli("doctor", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in ("cpu", "llama.cpp build", "llama.cpp run", "embeddings", "knowledge base default", "data dir",
                 "versions", "cuda"):
        assert any(line[5:].startswith(name) for line in lines), f"no '{name}' line in:\n{result.stdout}"
    run = next(line for line in lines if line[5:].startswith("llama.cpp run"))
    assert run.startswith("OK") and ("AVX" in run.upper() or "NEON" in run.upper())
    assert "chunks from" in next(line for line in lines if "knowledge base default" in line)


def test_doctor_exits_non_zero_on_a_damaged_knowledge_base(tmp_path) -> None:
    kb = tmp_path / "index" / "default"
    (kb / "v1").mkdir(parents=True)
    (kb / "CURRENT").write_text("v1")
    result = run_cli("doctor", NANOSCALE_DATA_DIR=str(tmp_path), timeout=300)
    assert result.returncode == 1
    assert any(line.startswith("FAIL knowledge base default") for line in result.stdout.splitlines())
