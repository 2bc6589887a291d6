import json

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langgraph.checkpoint.memory import InMemorySaver

from nanoscale.engine import Engine
from nanoscale.errors import InputError
from nanoscale.evals import metrics
from nanoscale.evals.cases import Case, load_cases
from nanoscale.evals.report import category_table, history, record, table, write_run
from nanoscale.evals.runner import play_graph, reply_for, score, summarise
from nanoscale.resources import Resources
from tests.conftest import REPO, fake_vector


def test_keyword_coverage_edge_cases():
    assert metrics.keyword_coverage("Set the nodeSelector on the pod", ["node-selector", "taint"]) == 0.5
    assert metrics.keyword_coverage("", ["ecr:GetAuthorizationToken"]) == 0.0
    assert metrics.keyword_coverage("anything", []) is None
    assert metrics.keyword_coverage("Run aws ecr get-login-password.", ["get_login_password", "ECR"]) == 1.0


def test_clarification_correctness_precision_recall():
    assert metrics.clarification(["region"], ["region"]) == {"correct": True, "precision": 1.0, "recall": 1.0}
    assert metrics.clarification(["region", "logs"], ["region"]) == {
        "correct": True,
        "precision": 0.5,
        "recall": 1.0,
    }
    assert metrics.clarification([], ["region"]) == {"correct": False, "precision": 0.0, "recall": 0.0}
    assert metrics.clarification([], []) == {"correct": True, "precision": 1.0, "recall": None}
    assert metrics.clarification(["logs"], []) == {"correct": False, "precision": 0.0, "recall": None}


def test_groundedness_and_average():
    assert metrics.groundedness(3, 1) == 0.75
    assert metrics.groundedness(0, 0) is None
    assert metrics.average([True, False, None, 1.0]) == pytest.approx(2 / 3)
    assert metrics.average([None]) is None


def test_an_answer_that_is_only_a_question():
    row = score(Case("c", "aws", "q", ["region"], ["region"]), _played("Which region?"), "rag@x", 1.0, 3)
    assert row["keyword_coverage"] == 1.0 and row["groundedness"] is None and not row["hallucinated"]


def _played(answer, asked=("region",)):
    from nanoscale.evals.runner import Played

    return Played(answer, list(asked), 0, 0, [], 1)


def test_project_cases_load_and_meet_the_counts():
    cases = load_cases(REPO / "data" / "eval" / "dev" / "cases.jsonl")
    assert len(cases) >= 80
    assert sum(1 for c in cases if c.must_ask) >= 30 and sum(1 for c in cases if not c.must_ask) >= 30
    assert {c.category for c in cases} >= {"aws", "docker", "kubernetes", "cicd", "terraform", "api", "linux"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "malformed JSON"),
        ('{"id": "x"}', "missing or empty question"),
        ('{"id": "y", "question": "q", "must_ask": ["colour"]}', "unknown slot"),
        ('{"id": "a", "question": "dup"}', "duplicate id"),
        ("[1, 2]", "expected a JSON object"),
        ('{"id": "b", "question": "q", "in_kb": "no"}', "'in_kb' must be"),
        ('{"id": "c", "question": "q", "tool_fixture": [1]}', "'tool_fixture' must be"),
    ],
)
def test_malformed_lines_are_named_by_file_and_line(tmp_path, line, message):
    path = tmp_path / "cases.jsonl"
    path.write_text('{"id": "a", "question": "q", "extra_key": 1}\n' + line + "\n")
    with pytest.raises(InputError, match=f"{path}:2: {message}"):
        load_cases(path)


def test_a_folder_of_case_files_loads_sorted_with_ids_unique_across_files(tmp_path):
    (tmp_path / "b.jsonl").write_text('{"id": "b1", "question": "q", "in_kb": false}\n')
    (tmp_path / "a.jsonl").write_text(
        '{"id": "a1", "question": "q", "tool_fixture": {"moto": "ecr"}, "expected_findings": ["web"]}\n'
    )
    (tmp_path / "notes.txt").write_text("not a case file")
    cases = load_cases(tmp_path)
    assert [c.id for c in cases] == ["a1", "b1"]
    assert cases[0].tool_fixture == {"moto": "ecr"} and cases[0].expected_findings == ["web"]
    assert cases[0].in_kb is None and cases[1].in_kb is False
    (tmp_path / "c.jsonl").write_text('{"id": "a1", "question": "again"}\n')
    with pytest.raises(InputError, match="c.jsonl:1: duplicate id 'a1'.*a.jsonl:1"):
        load_cases(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no \*\.jsonl case files"):
        load_cases(tmp_path / "empty")


def test_sample_spreads_over_the_cases_after_limit(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(f'{{"id": "c{i}", "question": "q{i}"}}\n' for i in range(10)))
    assert [c.id for c in load_cases(path, sample=3)] == ["c0", "c3", "c6"]
    assert [c.id for c in load_cases(path, limit=4, sample=2)] == ["c0", "c2"]
    assert len(load_cases(path, sample=50)) == 10


def test_unknown_keys_are_ignored(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text('{"id": "a", "question": "q", "notes": "ignored", "answers": {"region": "eu-west-1"}}\n')
    assert load_cases(path)[0].answers == {"region": "eu-west-1"}


def test_conversation_is_played_with_the_case_answers(settings):
    model = FakeListChatModel(responses=["Attach the policy that allows ecr:GetAuthorizationToken."])
    resources = Resources(model, None, lambda texts: [fake_vector(t) for t in texts], len)
    engine = Engine(settings, resources=resources, checkpointer=InMemorySaver())
    case = Case(
        "ecr",
        "aws",
        "EC2 cannot pull image from ECR",
        ["ecr:GetAuthorizationToken"],
        ["region"],
        {"region": "eu-west-1"},
    )
    played = play_graph(engine, case)
    assert played.asked == ["region"] and played.turns == 1
    assert "ecr:GetAuthorizationToken" in played.answer
    assert reply_for(["region", "logs"], case) == "eu-west-1"
    assert reply_for(["logs"], case) == "I don't know"


def test_reports_and_history(tmp_path):
    rows = [
        score(Case("a", "aws", "q", ["ecr"], ["region"]), _played("ecr fix."), "rag@m", 2.0, 5),
        score(Case("b", "docker", "q", ["prune"], []), _played("nothing", asked=()), "rag@m", 4.0, 7),
    ]
    summary = summarise(rows)
    assert summary["cases"] == 2 and summary["keyword_coverage"] == 0.5
    assert (
        summary["clarification_accuracy"] == 1.0
        and summary["by_category"]["docker"]["keyword_coverage"] == 0.0
    )
    written = write_run(tmp_path / "eval-1", rows, [summary], "cases.jsonl")
    assert {p.name for p in written} >= {"results.jsonl", "summary.json", "report.md", "metrics.png"}
    assert json.loads((tmp_path / "eval-1" / "summary.json").read_text())[0]["system"] == "rag@m"
    assert "| keyword_coverage | 0.50 |" in table([summary])
    assert "| docker | 0.00 |" in category_table([summary], "keyword_coverage")
    record(tmp_path / "evals.sqlite", "eval-1", [summary])
    record(tmp_path / "evals.sqlite", "eval-2", [summary])
    assert [h["run_id"] for h in history(tmp_path / "evals.sqlite")] == ["eval-1", "eval-2"]
