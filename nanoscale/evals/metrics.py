"""Per-case metrics and their aggregation. Each is a plain function of an answer and a case."""

from __future__ import annotations

import re
from collections.abc import Iterable
from statistics import mean

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lower-case with punctuation, hyphens and spaces removed: `node-selector` == `nodeSelector`."""
    return _NOT_ALNUM.sub("", text.lower())


def keywords_found(answer: str, keywords: list[str]) -> list[str]:
    """The expected keywords the answer contains, so a case's view can say which were hit or missed."""
    haystack = normalise(answer)
    return [k for k in keywords if normalise(k) and normalise(k) in haystack]


def keyword_coverage(answer: str, keywords: list[str]) -> float | None:
    """Share of expected keywords found in the answer; None when the case lists none."""
    if not keywords:
        return None
    return len(keywords_found(answer, keywords)) / len(keywords)


def clarification(asked: Iterable[str], must_ask: list[str]) -> dict[str, float | bool | None]:
    """Correct when every must-ask slot was asked and, when none must be, nothing was asked."""
    asked_set, expected = set(asked), set(must_ask)
    correct = expected <= asked_set if expected else not asked_set
    precision = len(asked_set & expected) / len(asked_set) if asked_set else (1.0 if not expected else 0.0)
    recall = len(asked_set & expected) / len(expected) if expected else None
    return {"correct": correct, "precision": precision, "recall": recall}


def groundedness(supported: int, unsupported: int) -> float | None:
    """Share of judged answer sentences that the evidence supports; None when none were judged."""
    total = supported + unsupported
    return supported / total if total else None


def average(values: Iterable[float | bool | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return mean(present) if present else None


_STRUCK = re.compile(r"~~.*?~~", re.DOTALL)


def unmarked_names(answer: str, names: list[str]) -> int:
    """Invented AWS names still readable as plain text: not inside a ~~strike-through~~."""
    visible = _STRUCK.sub(" ", answer)
    return sum(1 for name in names if name in visible)
