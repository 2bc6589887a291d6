"""The tool eval set (`data/eval/tools`) end to end on SmolLM2: moto's server, a local HTTP server
and log files as fixtures, the checks running against them, the findings metrics in the report.
This checks the plumbing on one case per kind of world (the full set runs with `nanoscale eval
--cases data/eval/tools`); answer quality is measured on the default model (README)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import REPO, run_cli

# one per world: HTTP statuses, an identity, a missing repository, a bucket deny, no egress, a log
CI_CASES = (
    "tool-api-401",
    "tool-api-503",
    "tool-identity-01",
    "tool-ecr-norepo-01",
    "tool-s3-deny-01",
    "tool-ec2-noegress-01",
    "tool-logs-oom",
)


def test_tool_cases_run_against_their_fixtures(project_kb, tmp_path: Path):
    lines = [
        line
        for file in sorted((REPO / "data" / "eval" / "tools").glob("*.jsonl"))
        for line in file.read_text().splitlines()
        if line.strip() and json.loads(line)["id"] in CI_CASES
    ]
    assert len(lines) == len(CI_CASES)
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(lines) + "\n")
    out = tmp_path / "eval"
    done = run_cli(
        "eval",
        "--cases",
        str(cases),
        "--system",
        "rag",
        "--out",
        str(out),
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == len(CI_CASES) and all("finding_coverage_block" in row for row in rows)
    assert all(row["finding_coverage_block"] == 1.0 for row in rows), [
        (row["id"], row["checks"]) for row in rows if row["finding_coverage_block"] != 1.0
    ]
    assert all(row["invalid_unmarked"] == 0 for row in rows)
    summary = json.loads((out / "summary.json").read_text())[0]
    assert summary["finding_coverage_block"] == 1.0 and summary["invalid_aws_unmarked"] == 0
    assert "finding_coverage_prose" in (out / "report.md").read_text()
