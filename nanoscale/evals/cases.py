"""The eval case schema (../shared/design.md): one JSON object per line, unknown keys ignored."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from nanoscale.errors import InputError
from nanoscale.state import SLOTS


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    question: str
    expected_keywords: list[str] = field(default_factory=list)
    must_ask: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)


def load_cases(path: str | Path) -> list[Case]:
    """Every case in the file; a malformed line stops loading and is named by its number."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"cases file not found: {path}")
    cases: list[Case] = []
    seen: set[str] = set()
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{file.name} line {number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(data, dict):
            raise InputError(f"{file.name} line {number}: expected a JSON object")
        missing = [
            key for key in ("id", "question") if not isinstance(data.get(key), str) or not data[key].strip()
        ]
        if missing:
            raise InputError(f"{file.name} line {number}: missing or empty {', '.join(missing)}")
        unknown = [
            slot for slot in [*data.get("must_ask", []), *data.get("answers", {})] if slot not in SLOTS
        ]
        if unknown:
            raise InputError(
                f"{file.name} line {number}: unknown slot(s) {', '.join(unknown)}; known: {', '.join(SLOTS)}"
            )
        if data["id"] in seen:
            raise InputError(f"{file.name} line {number}: duplicate id '{data['id']}'")
        seen.add(data["id"])
        cases.append(
            Case(
                id=data["id"],
                category=str(data.get("category", "general")),
                question=data["question"],
                expected_keywords=[str(k) for k in data.get("expected_keywords", [])],
                must_ask=list(data.get("must_ask", [])),
                answers={k: str(v) for k, v in data.get("answers", {}).items()},
            )
        )
    if not cases:
        raise InputError(f"{file.name}: no cases")
    return cases
