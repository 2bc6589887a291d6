"""scripts/rejudge_runs.py: bad inputs stop with one error line before any model loads."""

import json

import pytest

from scripts import rejudge_runs
from scripts.rejudge_runs import main


@pytest.fixture(autouse=True)
def no_models(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the inputs were checked")

    monkeypatch.setattr(rejudge_runs, "load_embeddings", refuse)


@pytest.fixture
def cases(one_case_file):
    return one_case_file


def write_run(folder, rows):
    folder.mkdir()
    (folder / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


def answer(case_id, groundedness=1.0):
    return {"id": case_id, "system": "rag@m", "answer": "a", "groundedness": groundedness}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (None, "holds no judged answers"),
        ([answer("c1", None)], "holds no judged answers"),
        ([answer("c9")], "played 1 cases the cases file lacks"),
    ],
)
def test_a_bad_run_stops_with_one_line(tmp_path, cases, rows, message):
    run = write_run(tmp_path / "run", rows) if rows is not None else tmp_path / "missing"
    with pytest.raises(SystemExit, match=message):
        main([str(run), "--cases", str(cases)])


def test_bad_thresholds_and_cases_are_refused(tmp_path, cases, capsys):
    run = write_run(tmp_path / "run", [answer("c1")])
    with pytest.raises(SystemExit):
        main([str(run), "--cases", str(cases), "--thresholds", "0.7"])
    assert "is not SIMILARITY/OVERLAP" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(run), "--cases", str(cases), "--thresholds", "0.7/1.5"])
    assert "between 0 and 1" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="error: "):
        main([str(run), "--cases", str(tmp_path / "none.jsonl")])
