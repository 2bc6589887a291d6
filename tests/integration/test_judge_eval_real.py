"""`nanoscale judge-eval` end to end on six labelled pairs: the packaged MiniLM and SmolLM2."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import REPO, run_cli


def six_pairs(path: Path) -> Path:
    """The first pairs of two cases from each half of the project's labelled set."""
    rows = [json.loads(line) for line in (REPO / "data" / "judge" / "pairs.jsonl").read_text().splitlines()]
    chosen = []
    for half in ("A", "B"):
        cases = list(dict.fromkeys(row["case_id"] for row in rows if row["half"] == half))[:2]
        chosen += [next(row for row in rows if row["case_id"] == case) for case in cases]
        chosen += [next(row for row in rows if row["case_id"] == cases[0] and row not in chosen)]
    path.write_text("".join(json.dumps(row) + "\n" for row in chosen))
    return path


def test_judge_eval_runs_every_judge_on_a_few_pairs(tmp_path: Path):
    pairs = six_pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / "judge"
    done = run_cli("judge-eval", "--pairs", str(pairs), "--out", str(out), "--json", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["pairs"]["all"]["pairs"] == 6 and result["pairs"]["B"]["pairs"] == 3
    llm = result["judges"][-1]
    assert llm["judge"] == "LLM yes/no (smollm2-135m)"
    assert all(row["llm"] in (True, False, None) for row in result["per_pair"])
    assert result["run"]["llm_seconds_per_pair"] > 0
    assert "| similarity or overlap (plain) |" in (out / "judge-eval.md").read_text()
