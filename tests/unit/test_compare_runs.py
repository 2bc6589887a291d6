"""scripts/compare_runs.py: two stored runs paired by case id, split on the case files' labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.compare_runs import main


def _run(folder: Path, system: str, coverage: dict[str, float]) -> Path:
    folder.mkdir()
    rows = [{"id": case, "system": f"{system}@m", "in_kb": True, "keyword_coverage": value}
            for case, value in coverage.items()]
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_pairs_by_id_and_splits_on_the_label_in_the_case_files(tmp_path, capsys):
    before = _run(tmp_path / "a", "rag", {"c1": 0.0, "c2": 0.5, "c3": 1.0})
    after = _run(tmp_path / "b", "rag", {"c3": 1.0, "c2": 1.0, "c1": 0.5, "c9": 0.0})
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps({"id": c, "in_kb_v1": c != "c1"}) + "\n" for c in ("c1", "c2", "c3")))
    assert main([str(before), str(after), "--cases", str(cases), "--label", "in_kb_v1"]) == 0
    out = capsys.readouterr().out
    assert "3 shared cases, split on in_kb_v1" in out
    assert "| keyword_coverage | 0.50 [0.00, 1.00] | 0.83 [0.50, 1.00] | 0.33 [0.00, 0.50] |" in out
    assert "### out of the KB (1 cases)" in out and "### in KB (2 cases)" in out


def test_a_missing_system_is_one_clear_error(tmp_path):
    before = _run(tmp_path / "a", "base", {"c1": 0.0})
    with pytest.raises(SystemExit, match="no results for system 'rag'"):
        main([str(before), str(before)])
