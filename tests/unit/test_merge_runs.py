"""scripts/merge_runs.py: pieces of one eval run joined into the run they would have made."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nanoscale.evals.report import read_results
from nanoscale.evals.runner import summarise
from scripts.merge_runs import main

STORED = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "eval-dev-unseen-20261127-final"


def _piece(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir()
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_joined_pieces_summarise_like_the_whole_run(tmp_path, monkeypatch):
    labelled = {"rag": np.tile([9, 10, 5, 10], (20, 1)).astype(float)}  # the judge's counts, no model
    monkeypatch.setattr("scripts.merge_runs.label_counts", lambda settings: labelled)
    rows = read_results(STORED)
    first, second = _piece(tmp_path / "a", rows[:40]), _piece(tmp_path / "b", rows[40:])
    assert main([str(tmp_path / "joined"), str(first), str(second), "--cases", "dev pieces"]) == 0
    joined = json.loads((tmp_path / "joined" / "summary.json").read_text())
    assert joined == json.loads(json.dumps([summarise(rows, labelled)]))
    assert joined[0]["groundedness_calibrated"] is not None
    assert "Cases: `dev pieces`, 92 per system" in (tmp_path / "joined" / "report.md").read_text()


def test_overlapping_pieces_are_refused(tmp_path):
    rows = read_results(STORED)[:3]
    first, second = _piece(tmp_path / "a", rows), _piece(tmp_path / "b", rows[2:])
    with pytest.raises(SystemExit, match="1 case"):
        main([str(tmp_path / "joined"), str(first), str(second)])
