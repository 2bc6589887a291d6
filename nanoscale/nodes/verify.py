"""The verify node: which answer sentences the evidence supports, and which AWS names are invented."""

from __future__ import annotations

from pathlib import Path

from nanoscale.aws_catalog import invalid_references
from nanoscale.config import GraphSettings
from nanoscale.grounding import EmbedFn, judge, split_sentences
from nanoscale.prompts import missing_note
from nanoscale.state import State


def evidence_of(state: State) -> list[str]:
    """Everything an answer may rest on: context, tool output, the question, the user's words."""
    evidence = [doc["text"] for doc in state.get("documents", [])]
    evidence += [item["text"] for item in state.get("observations", [])]
    evidence.append(state["question"])
    evidence += state.get("replies", [])
    evidence += [value for value in state.get("slots", {}).values() if value]
    return evidence


def verify(state: State, *, embed: EmbedFn | None, settings: GraphSettings, cache_dir: Path | None) -> dict:
    answer = state.get("answer", "")
    missing = [s for s in state.get("missing", []) if s not in state.get("slots", {})]
    note = missing_note(missing) if missing else None
    sentences = [s for s in split_sentences(answer) if s != note]
    judgements = judge(
        sentences, evidence_of(state), embed, settings.support_similarity, settings.support_overlap
    )
    return {
        "supported_sentences": [j.sentence for j in judgements if j.supported],
        "unsupported_sentences": [j.sentence for j in judgements if not j.supported],
        "invalid_aws_actions": invalid_references(answer, cache_dir),
    }
