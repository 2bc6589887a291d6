"""Five eval cases end to end on the real default model (Qwen2.5-Coder-1.5B on llama.cpp)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, TEST_DATA

pytestmark = pytest.mark.integration


def test_five_cases_on_the_default_model(project_kb, tmp_path: Path):
    import os

    env = {
        **os.environ,
        "NANOSCALE_DATA_DIR": str(TEST_DATA),
        "NANOSCALE_MODEL_MAX_NEW_TOKENS": "96",
        "NANOSCALE_RETRIEVAL_KNOWLEDGE_BASES": "default",
    }
    out = tmp_path / "eval"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nanoscale.cli",
            "eval",
            "--cases",
            str(REPO / "data" / "eval" / "dev" / "cases.jsonl"),
            "--limit",
            "5",
            "--out",
            str(out),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)[0]
    assert summary["system"] == "rag@qwen2.5-coder-1.5b" and summary["cases"] == 5
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows][:2] == ["ecr-pull-01", "ecr-pull-02"]
    assert rows[0]["asked"] == ["region"] and rows[0]["clarification_correct"]
    assert all(r["answer"].strip() for r in rows)
    assert summary["clarification_accuracy"] >= 0.8
    assert (out / "report.md").is_file() and (out / "metrics.png").is_file()
    # verify's judge corrected by its error rates on the hand-labelled rag sentences
    calibrated = summary["intervals"]["groundedness_calibrated"]
    assert calibrated["labelled_cases"] > 40 and 0.0 <= calibrated["low"] <= calibrated["high"] <= 1.0
    assert "groundedness_calibrated" in (out / "report.md").read_text()
