"""The tool eval set (`data/eval/tools`) end to end on SmolLM2: moto's server, a local HTTP server
and log files as fixtures, the checks running against them, the findings metrics in the report.
All 26 cases run here (plumbing: the findings come from the checks, not from the model, so a
small context and a short answer keep the prompt cheap); answer quality is measured on the
default model (README)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import REPO, run_cli


def test_tool_cases_run_against_their_fixtures(project_kb, tmp_path: Path):
    out = tmp_path / "eval"
    done = run_cli(
        "eval",
        "--cases",
        str(REPO / "data" / "eval" / "tools"),
        "--system",
        "rag",
        "--out",
        str(out),
        timeout=1800,
        NANOSCALE_RETRIEVAL_CONTEXT_TOKENS="96",
        NANOSCALE_MODEL_MAX_NEW_TOKENS="24",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) >= 20 and all("finding_coverage_block" in row for row in rows)
    assert all(row["finding_coverage_block"] == 1.0 for row in rows), [
        (row["id"], row["checks"]) for row in rows if row["finding_coverage_block"] != 1.0
    ]
    assert all(row["invalid_unmarked"] == 0 for row in rows)
    summary = json.loads((out / "summary.json").read_text())[0]
    assert summary["finding_coverage_block"] == 1.0 and summary["invalid_aws_unmarked"] == 0
    assert "finding_coverage_prose" in (out / "report.md").read_text()
