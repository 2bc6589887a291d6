"""The judge calibration: labelled pairs, metrics with case-resampled intervals, thresholds
picked on half A only, the LLM judge's prompt and parsing (a LangChain fake chat model), the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from nanoscale.cli import main
from nanoscale.config import Settings
from nanoscale.errors import InputError
from nanoscale.evals.intervals import bootstrap_counts
from nanoscale.evals.judge_calibration import (
    JUDGES,
    Judge,
    class_metrics,
    counts_by_case,
    evaluate,
    f1,
    macro_f1,
    markdown,
    pick_thresholds,
    precision,
    score_pairs,
    write_result,
)
from nanoscale.evals.judge_pairs import Pair, load_pairs
from nanoscale.evals.llm_judge import MAX_NEW_TOKENS, judge_messages, judge_settings, llm_verdicts, verdict
from nanoscale.grounding import similarities
from tests.conftest import fake_vector


def pair(n: int, half: str, supported: bool, case: str | None = None) -> Pair:
    return Pair(f"p{n}", case or f"c{n}", "rag@x", half, f"sentence {n}", ("evidence",), supported)


def line(**fields) -> str:
    base = {
        "id": "a",
        "case_id": "c1",
        "system": "rag",
        "half": "A",
        "sentence": "Run it now please.",
        "evidence": ["Run it."],
        "supported": True,
        "note": "",
    }
    return json.dumps({**base, **fields})


# --- metrics ------------------------------------------------------------------------------


def test_precision_recall_and_f1_of_both_classes_on_hand_made_labels():
    truth = np.array([True, True, True, False, False])
    predicted = np.array([True, True, False, True, False])
    report = class_metrics(["a", "b", "c", "d", "e"], truth, predicted)
    supported, unsupported = report["supported"], report["unsupported"]
    assert supported["precision"]["mean"] == pytest.approx(2 / 3)  # 2 of 3 passed were supported
    assert supported["recall"]["mean"] == pytest.approx(2 / 3)  # 2 of 3 supported were passed
    assert unsupported["precision"]["mean"] == pytest.approx(1 / 2)
    assert unsupported["recall"]["mean"] == pytest.approx(1 / 2)
    assert report["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert macro_f1(truth, predicted) == pytest.approx(report["macro_f1"])
    for stats in (*supported.values(), *unsupported.values()):
        assert stats["low"] <= stats["mean"] <= stats["high"]


def test_a_judge_that_passes_everything_has_no_unsupported_class_to_speak_of():
    truth = np.array([True, True, False])
    report = class_metrics(["a", "b", "c"], truth, np.array([True, True, True]))
    assert report["supported"]["f1"]["mean"] == pytest.approx(0.8)
    assert report["unsupported"]["recall"]["mean"] == 0.0
    assert report["unsupported"]["precision"] is None  # nothing was flagged: undefined, not 0 or 1
    assert report["macro_f1"] == pytest.approx(0.4)


def test_counts_are_summed_per_case_so_the_case_is_what_the_bootstrap_resamples():
    truth = np.array([True, False, True])
    counts = counts_by_case(["x", "x", "y"], truth, np.array([True, True, False]), positive=True)
    assert counts.tolist() == [[1, 1, 0], [0, 0, 1]]  # case x: tp, fp; case y: fn
    stats = bootstrap_counts(counts, precision)
    assert stats["mean"] == pytest.approx(0.5) and stats["n"] == 2


def test_bootstrap_counts_is_none_where_the_ratio_is_undefined():
    assert bootstrap_counts([[0, 0, 3]], precision) is None
    assert bootstrap_counts([], f1) is None


# --- thresholds -----------------------------------------------------------------------------


def test_thresholds_are_picked_on_half_a_and_half_b_labels_change_nothing():
    judge = Judge("overlap", ("plain",))
    # Half A separates at 0.5; half B's labels would want 0.9.
    scores = {"plain": np.array([0.45, 0.55, 0.6, 0.4, 0.85, 0.95, 0.6, 0.7])}
    halves = np.array([True, True, True, True, False, False, False, False])  # True: half A
    truth = np.array([False, True, True, False, False, True, False, False])
    picked = pick_thresholds(judge, scores, truth, halves)
    assert picked == {"plain": 0.5}
    flipped = truth.copy()
    flipped[~halves] = ~flipped[~halves]
    assert pick_thresholds(judge, scores, flipped, halves) == picked


def test_evaluate_reports_every_judge_on_half_b_with_configured_and_picked_thresholds():
    pairs = [
        pair(0, "A", True),
        pair(1, "A", False),
        pair(2, "B", True),
        pair(3, "B", False, case="c2"),
        pair(4, "B", True),
    ]
    scores = {key: np.array([0.9, 0.1, 0.8, 0.2, 0.7]) for key in ("similarity", "plain", "negation")}
    verdicts = [True, None, True, False, False]
    result = evaluate(pairs, scores, {"similarity": 0.55, "overlap": 0.6}, verdicts, "m")
    rows = result["judges"]
    assert len(rows) == 2 * len(JUDGES) + 1
    assert {row["source"] for row in rows} == {"configured", "picked on half A", "fixed prompt"}
    llm = rows[-1]
    assert llm["judge"] == "LLM yes/no (m)" and llm["unparsed"] == 1  # pair 1 (half A) said neither
    assert llm["supported"]["f1"]["n"] == 2  # the two cases of half B, not its three pairs
    assert llm["supported"]["recall"]["mean"] == pytest.approx(0.5)
    assert result["pairs"]["B"] == {
        "pairs": 3,
        "cases": 2,
        "supported": 2,
        "unsupported": 1,
        "by_system": {"rag@x": 3},
    }
    assert result["per_pair"][1] == {
        "id": "p1",
        "half": "A",
        "supported": False,
        "similarity": 0.1,
        "plain": 0.1,
        "negation": 0.1,
        "llm": None,
    }
    table = markdown(result)
    assert table.count("\n| ") == len(rows) + 1 and "picked on half A" in table


def test_the_result_is_written_as_json_and_markdown(tmp_path):
    pairs = [pair(0, "A", True), pair(1, "B", False)]
    scores = {key: np.array([0.9, 0.1]) for key in ("similarity", "plain", "negation")}
    written = write_result(tmp_path / "out", evaluate(pairs, scores, {"similarity": 0.5, "overlap": 0.5}))
    assert [p.name for p in written] == ["judge-eval.json", "judge-eval.md"]
    assert json.loads(written[0].read_text())["pairs"]["all"]["pairs"] == 2


# --- pairs file -----------------------------------------------------------------------------


def test_load_pairs_reads_the_labelled_set(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(line() + "\n\n" + line(id="b", case_id="c2", half="B", supported=False) + "\n")
    loaded = load_pairs(path)
    assert [(p.id, p.half, p.supported, p.evidence) for p in loaded] == [
        ("a", "A", True, ("Run it.",)),
        ("b", "B", False, ("Run it.",)),
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([line(supported=None)], r"pairs.jsonl:1: 'supported' must be true or false"),
        ([line(evidence="Run it.")], "'evidence' must be a list of strings"),
        ([line(half="C")], "'half' must be one of A, B"),
        ([line(sentence=" ")], "missing or empty 'sentence'"),
        ([line(), line(half="B")], "duplicate id 'a'"),
        ([line(), line(id="b", half="B")], "case 'c1' is in both halves"),
        ([line()], "no pairs in half B"),
        (["{not json"], "pairs.jsonl:1: malformed JSON"),
    ],
)
def test_a_bad_pairs_file_is_a_clear_error(tmp_path, lines, message):
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=message):
        load_pairs(path)


def test_judge_eval_exits_with_one_line_on_a_bad_pairs_file(tmp_path, capsys):
    missing = tmp_path / "missing.jsonl"
    assert main(["judge-eval", "--data-dir", str(tmp_path), "--pairs", str(missing), "--no-llm"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {missing}: no such pairs file"


def test_the_project_pairs_file_loads_with_both_halves_and_both_labels():
    pairs = load_pairs(Settings.load(env={}).paths.judge_pairs)
    assert len(pairs) >= 240
    assert {p.half for p in pairs} == {"A", "B"}
    assert {p.supported for p in pairs} == {True, False}
    assert {p.system.split("@")[0] for p in pairs} == {"base", "rag"}


def test_evidence_shared_by_cases_is_embedded_once_and_scores_as_before():
    """Why: the labelled cases share half their evidence windows; calibrating used to embed them all."""
    embedded: list[str] = []

    def embed(texts):
        embedded.extend(texts)
        return [fake_vector(text) for text in texts]

    shared = ("Attach AmazonEC2ContainerRegistryReadOnly to the node role.", "Check the VPC endpoint.")
    pairs = [
        Pair("a", "c1", "rag@x", "A", "Attach the read-only ECR policy [1].", shared, True),
        Pair("b", "c2", "rag@x", "B", "Restart the pod.", (*shared, "the user said eu-west-1"), False),
        Pair("c", "c3", "rag@x", "B", "Restart the pod.", shared, False),
    ]
    scores = score_pairs(pairs, embed, progress=False)
    assert len(embedded) == len(set(embedded))  # each distinct sentence and window once
    for index, one in enumerate(pairs):
        alone = similarities([one.sentence], one.evidence, lambda texts: [fake_vector(t) for t in texts])
        assert scores["similarity"][index] == pytest.approx(alone[0])


# --- LLM judge ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("Yes", True), ("yes.", True), (" No, it is not", False), ("NO", False), ("Maybe", None), ("", None)],
)
def test_the_first_word_of_the_reply_is_the_verdict(reply, expected):
    assert verdict(reply) is expected


def test_the_llm_judge_asks_each_pair_and_reads_its_replies():
    model = FakeListChatModel(responses=["Yes", "no.", "The sentence is fine"])
    pairs = [pair(0, "A", True), pair(1, "A", False), pair(2, "B", True)]
    assert llm_verdicts(pairs, model, progress=False) == [True, False, None]


def test_the_prompt_puts_numbered_evidence_first_and_drops_citations():
    system, user = judge_messages("Run `force-unlock` [1].", ["first block", "second block"])
    text = user.content
    assert "yes or no" in system.content
    assert text.index("[1] first block") < text.index("[2] second block") < text.index("Run `force-unlock`.")
    assert "[1]." not in text
    assert text.rstrip().endswith("Is the SENTENCE supported by the EVIDENCE? Answer yes or no.")


def test_the_llm_judge_decodes_greedily_a_few_tokens_without_touching_the_settings():
    settings = Settings.load(overrides={"model.deterministic": False}, env={})
    judged = judge_settings(settings)
    assert judged.model.deterministic and judged.model.max_new_tokens == MAX_NEW_TOKENS
    assert judged.model.preset == settings.model.preset
    assert settings.model.deterministic is False and settings.model.max_new_tokens == 384


def test_judged_sentences_leave_out_the_systems_own_lines():
    from nanoscale.commands import CHECK_OPENING
    from nanoscale.evals.judge_pairs import judged_sentences
    from nanoscale.prompts import missing_note

    claim = "The role lacks the ecr:BatchGetImage permission."
    answer = f"{missing_note(['region'])}\n\n{claim}\n\n{CHECK_OPENING}: `aws sts get-caller-identity` [1]"
    assert judged_sentences(answer) == [claim]
