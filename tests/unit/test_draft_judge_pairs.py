"""scripts/draft_judge_pairs.py: which sentences are drafted, and labels never lost on a re-draft."""

import json
import random
import sys

import pytest

from scripts import draft_judge_pairs
from scripts.draft_judge_pairs import sample

ANSWER = "The role lacks the pull action.\nRun the describe check now.\nThe role lacks the pull action.\nAdd the missing action to it."


def test_sample_takes_three_a_case_or_every_sentence_once():
    row = {"system": "rag@m", "answer": ANSWER}
    assert len(sample([row], random.Random(0), 0)) == 3
    every = sample([row], random.Random(0), 0, every=True)
    assert [sentence for _, _, sentence in every] == [
        "The role lacks the pull action.",
        "Run the describe check now.",
        "Add the missing action to it.",
    ]


@pytest.fixture
def run(tmp_path, monkeypatch, one_case_file):
    cases = one_case_file
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps({"id": "c1", "system": "rag@m", "answer": ANSWER}) + "\n")
    monkeypatch.setattr(draft_judge_pairs.KnowledgeBaseRetriever, "from_settings", lambda settings: None)
    monkeypatch.setattr(draft_judge_pairs, "evidence_for", lambda case, retriever: ["the evidence"])
    return cases, results, tmp_path / "pairs.jsonl"


def draft(cases, results, out, *flags):
    argv = ["draft", "--cases", str(cases), "--results", str(results), "--out", str(out), *flags]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", argv)
        draft_judge_pairs.main()
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_a_label_follows_its_sentence_when_its_index_changes(run):
    cases, results, out = run
    # an earlier draft labelled the repeated sentence at its second position
    labelled = {"id": "c1:rag:2", "system": "rag@m", "case_id": "c1", "half": "A", "question": "q",
                "sentence": "The role lacks the pull action.", "evidence": ["older evidence"],
                "supported": False, "note": "not in the evidence"}  # fmt: skip
    out.write_text(json.dumps(labelled) + "\n")
    pairs = draft(cases, results, out, "--every-sentence")
    by_sentence = {pair["sentence"]: pair for pair in pairs}
    assert len(pairs) == 3
    kept = by_sentence["The role lacks the pull action."]
    assert (kept["id"], kept["supported"], kept["evidence"]) == ("c1:rag:0", False, ["older evidence"])
    assert by_sentence["Run the describe check now."]["supported"] is None
