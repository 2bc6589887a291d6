import json

import numpy as np
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langgraph.checkpoint.memory import InMemorySaver

from nanoscale.engine import Engine
from nanoscale.errors import InputError
from nanoscale.evals import metrics
from nanoscale.evals.cases import Case, load_cases
from nanoscale.evals.report import category_table, history, kb_table, paired_table, record, table, write_run
from nanoscale.evals.runner import play_context, play_graph, play_signals, reply_for, score, summarise
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
    assert "| keyword_coverage | 0.50 [0.00, 1.00] |" in table([summary])
    assert "| docker | 0.00 |" in category_table([summary], "keyword_coverage")
    record(tmp_path / "evals.sqlite", "eval-1", [summary])
    record(tmp_path / "evals.sqlite", "eval-2", [summary])
    assert [h["run_id"] for h in history(tmp_path / "evals.sqlite")] == ["eval-1", "eval-2"]


def test_summaries_split_in_and_out_of_the_knowledge_base():
    rows = [
        score(Case("a", "aws", "q", ["ecr"], [], in_kb=True), _played("ecr", asked=()), "rag@m", 1.0, 1),
        score(Case("b", "aws", "q", ["kms"], [], in_kb=False), _played("none", asked=()), "rag@m", 1.0, 1),
        score(Case("c", "aws", "q", ["sts"], []), _played("sts", asked=()), "rag@m", 1.0, 1),
    ]
    summary = summarise(rows)
    assert summary["by_kb"]["in_kb"]["keyword_coverage"] == 1.0
    assert summary["by_kb"]["out_of_kb"]["keyword_coverage"] == 0.0
    assert summary["by_kb"]["in_kb"]["cases"] == 1  # an unlabelled case is in neither part
    assert "| rag@m out of KB | 1 | 0.00 [0.00, 0.00]" in kb_table([summary])


def test_paired_table_compares_the_same_cases():
    cases = [Case(str(i), "aws", "q", ["ecr"], []) for i in range(12)]
    rows = [score(c, _played("nothing", asked=()), "base@m", 1.0, 1) for c in cases]
    rows += [score(c, _played("ecr", asked=()), "rag@m", 1.0, 1) for c in cases]
    assert "| rag@m - base@m | 1.00 [1.00, 1.00]" in paired_table(rows, ["base@m", "rag@m"])
    assert paired_table(rows, ["base@m"]) == ""


def test_signals_system_plays_clarification_turns_without_a_model(settings):
    case = Case("e", "aws", "EC2 cannot pull image from ECR", [], ["region"], {"region": "eu-west-1"})
    played = play_signals(case, settings)
    assert played.asked == ["region"] and played.turns == 1 and not played.answered
    row = score(case, played, "signals", 0.0, 0)
    assert row["clarification_correct"] and row["keyword_coverage"] is None and row["hallucinated"] is None
    declined = play_signals(Case("f", "aws", "EC2 cannot pull image from ECR", [], ["region"]), settings)
    assert declined.asked == ["region"]  # "I don't know" ends the questions, it is never asked twice


def test_context_system_scores_the_blocks_the_answer_step_would_be_given(settings):
    """Why: a knowledge-base change is measured in seconds only if this is the answer step's context."""
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    class Recorder(BaseRetriever):
        queries: list[str] = []

        def _get_relevant_documents(self, query, *, run_manager):
            self.queries.append(query)
            meta = {"kb": "default", "score": 0.9, "title": "ECR"}
            return [
                Document("Attach AmazonEC2ContainerRegistryReadOnly to the role.", metadata={**meta, "source": "a.md", "section": "Pull"}),
                Document("Check the VPC endpoint policy " * 20, metadata={**meta, "source": "b.md", "section": "VPC"}),
            ]

    retriever = Recorder()
    resources = Resources(FakeListChatModel(responses=[]), retriever, lambda texts: [], lambda text: len(text.split()))
    settings.retrieval.context_tokens = 40
    case = Case("e", "aws", "EC2 cannot pull image from ECR", ["AmazonEC2ContainerRegistryReadOnly", "endpoint policy"],
                ["region"], {"region": "eu-west-1"})
    played = play_context(resources, settings, case)
    assert played.asked == ["region"] and retriever.queries == ["EC2 cannot pull image from ECR"]
    assert played.answer.startswith("[1] (a.md > Pull)") and "VPC" not in played.answer  # the budget holds one
    assert [s["source"] for s in played.sources] == ["a.md"]
    row = score(case, played, "context@m", 0.0, 0)
    assert row["keyword_coverage"] == 0.5 and row["keywords_missed"] == ["endpoint policy"]
    assert row["groundedness"] is None and row["hallucinated"] is None and row["clarification_correct"]


def test_summaries_report_groundedness_calibrated_by_the_labelled_judge():
    from nanoscale.evals.runner import Played

    rows = [
        score(Case(str(i), "aws", "q", ["ecr"], [], in_kb=i % 2 == 0), Played("ecr.", [], 3 + i % 2, 1, [], 1), "rag@m", 1.0, 1)
        for i in range(6)
    ]
    lenient = np.tile([9, 10, 5, 10], (20, 1)).astype(float)  # passes 90% / rejects 50%
    summary = summarise(rows, {"rag": lenient})
    observed = summary["groundedness"]
    assert 0.7 < observed < 0.85
    assert np.isclose(summary["groundedness_calibrated"], (observed - 0.5) / 0.4)
    assert summary["groundedness_calibrated"] < observed
    assert summary["by_kb"]["in_kb"]["intervals"]["groundedness_calibrated"] is not None
    assert "groundedness_calibrated" in table([summary]) and "groundedness_calibrated" in kb_table([summary])
    assert summarise(rows)["groundedness_calibrated"] is None  # no labelled judge, no claim
    assert summarise(rows, {"base": lenient})["groundedness_calibrated"] is None  # no rag labels
