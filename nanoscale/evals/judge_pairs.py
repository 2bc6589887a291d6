"""The judge's labelled set (data/judge/pairs.jsonl): one answer sentence, its evidence, a label.

Labels follow data/judge/RUBRIC.md. `half` splits the set by case: thresholds are picked on
half A and reported on half B, so no figure comes from the data it was tuned on. Every error
names the file and line, so a bad label in hundreds is found at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nanoscale.commands import CHECK_OPENING
from nanoscale.errors import InputError
from nanoscale.grounding import split_sentences
from nanoscale.jsonl import read_jsonl
from nanoscale.prompts import missing_note

HALVES = ("A", "B")


@dataclass(frozen=True)
class Pair:
    id: str
    case_id: str
    system: str
    half: str
    sentence: str
    evidence: tuple[str, ...]
    supported: bool
    question: str = ""  # the case's question: not evidence for the label (RUBRIC.md), but verify sees it


def _pair(data: dict, where: str) -> Pair:
    for key in ("id", "case_id", "sentence"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise InputError(f"{where}: missing or empty '{key}'")
    evidence = data.get("evidence")
    if not isinstance(evidence, list) or not all(isinstance(text, str) for text in evidence):
        raise InputError(f"{where}: 'evidence' must be a list of strings")
    if not isinstance(data.get("supported"), bool):
        raise InputError(f"{where}: 'supported' must be true or false (label it, see data/judge/RUBRIC.md)")
    if data.get("half") not in HALVES:
        raise InputError(f"{where}: 'half' must be one of {', '.join(HALVES)}")
    return Pair(
        id=data["id"],
        case_id=data["case_id"],
        system=str(data.get("system", "")),
        half=data["half"],
        sentence=data["sentence"],
        evidence=tuple(evidence),
        supported=data["supported"],
        question=str(data.get("question", "")),
    )


def load_pairs(path: Path) -> list[Pair]:
    """Every labelled pair; a duplicate id, a case split across halves, or a missing half is an error."""
    pairs: list[Pair] = []
    seen: dict[str, str] = {}
    half_of: dict[str, str] = {}
    for _, where, data in read_jsonl(path, what="pairs file"):
        pair = _pair(data, where)
        if pair.id in seen:
            raise InputError(f"{where}: duplicate id '{pair.id}' (first at {seen[pair.id]})")
        if half_of.setdefault(pair.case_id, pair.half) != pair.half:
            raise InputError(f"{where}: case '{pair.case_id}' is in both halves; a case belongs to one")
        seen[pair.id] = where
        pairs.append(pair)
    missing = [half for half in HALVES if not any(pair.half == half for pair in pairs)]
    if missing:
        raise InputError(
            f"{path}: no pairs in half {', '.join(missing)}; thresholds are picked on A, reported on B"
        )
    return pairs


def judged_sentences(answer: str) -> list[str]:
    """The sentences of a stored answer that verify judges: not the system's own note about what
    it lacks (`missing_note`, which the splitter cuts in two) nor the read-only check it added."""
    opening, closing = split_sentences(missing_note(["region"]))
    skipped = (opening.split(":")[0] + ":", CHECK_OPENING)
    return [s for s in split_sentences(answer) if not s.startswith(skipped) and s != closing]
