"""The verify node: which answer sentences the evidence supports, which AWS names are invented,
and which sentences contradict what a check found.

An invented name or a contradiction sends the answer back to `generate` once (at most
`graph.max_revisions` times) with the mistake named; what is still wrong after that is marked in
the answer itself: an invented name struck through next to the closest real one, a contradicting
sentence followed by the fact it denies. The "Checked" block, the missing note and the added
read-only check are code's, never judged.
"""

from __future__ import annotations

import re
from pathlib import Path

from nanoscale.aws_catalog import closest_valid, invalid_references
from nanoscale.config import GraphSettings
from nanoscale.grounding import EmbedFn, judge, split_sentences
from nanoscale.prompts import missing_note
from nanoscale.state import State
from nanoscale.tools.contradictions import find_contradictions
from nanoscale.tools.findings import split_block


def evidence_of(state: State) -> list[str]:
    """Everything an answer may rest on: context, tool output, the question, the user's words."""
    evidence = [doc["text"] for doc in state.get("documents", [])]
    evidence += [item["text"] for item in state.get("observations", [])]
    evidence += [item["summary"] for item in state.get("findings", [])]
    evidence.append(state["question"])
    evidence += state.get("replies", [])
    evidence += [value for value in state.get("slots", {}).values() if value]
    return evidence


def name_pattern(reference: str) -> re.Pattern[str]:
    """Where an invented name appears in text, as `invalid_references` found it."""
    if reference.startswith("aws "):
        _, service, command = reference.split(" ")
        return re.compile(
            rf"\baws\s+(?:--[\w-]+(?:[ =]\S+)?\s+)*{re.escape(service)}\s+{re.escape(command)}\b"
        )
    return re.compile(rf"(?<![\w/:.-]){re.escape(reference)}(?![\w:/])")


def strike_invalid(text: str, invalid: list[str], cache_dir: Path | None) -> str:
    """Each invented name struck through, with the closest real one when there is one."""
    for reference in invalid:
        alternative = closest_valid(reference, cache_dir)
        note = f" (not a real AWS name; use `{alternative}`)" if alternative else " (not a real AWS name)"
        text = name_pattern(reference).sub(lambda m, note=note: f"~~{m.group(0)}~~{note}", text)
    return text


def mark_contradictions(text: str, contradictions: list[dict[str, str]]) -> str:
    for item in contradictions:
        sentence = item["sentence"]
        text = text.replace(sentence, f"{sentence} [contradicts tool:{item['check']}: {item['reason']}]", 1)
    return text


def revision_notes(
    invalid: list[str], contradictions: list[dict[str, str]], cache_dir: Path | None
) -> list[str]:
    """What the regeneration must not repeat, with the real names to use instead."""
    notes = []
    for reference in invalid:
        alternative = closest_valid(reference, cache_dir)
        notes.append(
            f"`{reference}` does not exist in AWS"
            + (f"; the real one is `{alternative}`" if alternative else "; do not use it")
        )
    notes += [f'you wrote "{item["sentence"]}", but {item["reason"]}' for item in contradictions]
    return notes


def verify(state: State, *, embed: EmbedFn | None, settings: GraphSettings, cache_dir: Path | None) -> dict:
    findings = state.get("findings", [])
    block, prose = split_block(state.get("answer", ""), findings)
    invalid = invalid_references(prose, cache_dir)
    known = "\n".join([state["question"], *state.get("replies", [])])
    contradictions = find_contradictions(prose, findings, known)
    revisions = state.get("revisions", 0)
    if (invalid or contradictions) and revisions < settings.max_revisions:
        return {
            "revise": True,
            "revisions": revisions + 1,
            "revised": revision_notes(invalid, contradictions, cache_dir),
        }
    prose = mark_contradictions(strike_invalid(prose, invalid, cache_dir), contradictions)
    missing = [s for s in state.get("missing", []) if s not in state.get("slots", {})]
    note = missing_note(missing) if missing else None
    # code's own lines (the missing note, the added check) are not the model's claims to judge
    judged = prose.replace(state["added_check"], "") if state.get("added_check") else prose
    sentences = [s for s in split_sentences(judged) if s != note]
    judgements = judge(
        sentences,
        evidence_of(state),
        embed,
        settings.support_similarity,
        settings.support_overlap,
        settings.support_overlap_kind,
    )
    return {
        "revise": False,
        "answer": f"{block}\n\n{prose}" if block else prose,
        "supported_sentences": [j.sentence for j in judgements if j.supported],
        "unsupported_sentences": [j.sentence for j in judgements if not j.supported],
        "invalid_aws_actions": invalid,
        "contradictions": contradictions,
    }


def route_after_verify(state: State) -> str:
    return "generate" if state.get("revise") else "end"
