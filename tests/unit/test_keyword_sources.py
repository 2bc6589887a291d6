"""scripts/keyword_sources.py: bad inputs stop with one error line before any model loads."""

import json

import pytest

from scripts import keyword_sources
from scripts.keyword_sources import main


@pytest.fixture(autouse=True)
def no_models(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the inputs were checked")

    monkeypatch.setattr(keyword_sources, "load_embeddings", refuse)
    monkeypatch.setattr(keyword_sources, "load_chat_model", refuse)


def write_run(folder, system, ids):
    folder.mkdir()
    rows = [{"id": case_id, "system": f"{system}@m", "asked": [], "answer": ""} for case_id in ids]
    (folder / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


@pytest.fixture
def cases(one_case_file):
    return one_case_file


def test_a_missing_run_or_cases_file_is_one_error_line(tmp_path, cases):
    with pytest.raises(SystemExit, match="^error: .*holds no results.jsonl"):
        main(["--cases", str(cases), "--context", str(tmp_path / "nothing")])
    with pytest.raises(SystemExit, match="^error: "):
        main(["--cases", str(tmp_path / "missing.jsonl"), "--context", str(tmp_path)])


def test_runs_of_other_cases_or_another_system_are_refused(tmp_path, cases):
    other = write_run(tmp_path / "other", "context", ["c1", "zz"])
    with pytest.raises(SystemExit, match="1 cases the cases file lacks .first: zz"):
        main(["--cases", str(cases), "--context", str(other)])
    rag = write_run(tmp_path / "rag", "rag", ["c1"])
    with pytest.raises(SystemExit, match="is not a `nanoscale eval --system context` run"):
        main(["--cases", str(cases), "--context", str(rag)])
    context = write_run(tmp_path / "context", "context", ["c1"])
    answers = write_run(tmp_path / "answers", "rag", ["c1", "c2"])
    with pytest.raises(SystemExit, match="cases the context run lacks"):
        main(["--cases", str(cases), "--context", str(context), "--answers", str(answers)])
