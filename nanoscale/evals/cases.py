"""The eval case schema (../shared/design.md), read from a JSONL file or a folder of them.

Unknown keys are ignored so case files can carry notes; everything else is checked, and an error
names the file and line. `load_cases` is the one door to cases: the CLI, the export agreement
check and the benchmarks all read them through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nanoscale.errors import InputError
from nanoscale.jsonl import read_jsonl
from nanoscale.state import SLOTS


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    question: str
    expected_keywords: list[str] = field(default_factory=list)
    must_ask: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    in_kb: bool | None = None  # False: the knowledge base does not describe the situation
    tool_fixture: dict[str, Any] | None = None  # the moto or local-HTTP setup a tool case needs
    expected_findings: list[str] = field(default_factory=list)  # what a tool case's answer must contain


def _case(data: dict[str, Any], where: str) -> Case:
    missing = [
        key for key in ("id", "question") if not isinstance(data.get(key), str) or not data[key].strip()
    ]
    if missing:
        raise InputError(f"{where}: missing or empty {', '.join(missing)}")
    unknown = [slot for slot in [*data.get("must_ask", []), *data.get("answers", {})] if slot not in SLOTS]
    if unknown:
        raise InputError(f"{where}: unknown slot(s) {', '.join(unknown)}; known: {', '.join(SLOTS)}")
    in_kb = data.get("in_kb")
    if in_kb is not None and not isinstance(in_kb, bool):
        raise InputError(f"{where}: 'in_kb' must be true, false or absent")
    fixture = data.get("tool_fixture")
    if fixture is not None and not isinstance(fixture, dict):
        raise InputError(f"{where}: 'tool_fixture' must be a JSON object")
    return Case(
        id=data["id"],
        category=str(data.get("category", "general")),
        question=data["question"],
        expected_keywords=[str(k) for k in data.get("expected_keywords", [])],
        must_ask=list(data.get("must_ask", [])),
        answers={k: str(v) for k, v in data.get("answers", {}).items()},
        in_kb=in_kb,
        tool_fixture=fixture,
        expected_findings=[str(f) for f in data.get("expected_findings", [])],
    )


def case_files(path: Path) -> list[Path]:
    """The file itself, or every `*.jsonl` in the folder, sorted."""
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise InputError(f"{path}: no *.jsonl case files in the folder")
        return files
    if not path.is_file():
        raise InputError(f"cases file not found: {path}")
    return [path]


def spread(items: list, count: int | None) -> list:
    """`count` items spread evenly over the list (every category of a sorted file is represented)."""
    if not count or count >= len(items):
        return items
    return [items[i * len(items) // count] for i in range(count)]


def load_cases(path: str | Path, sample: int | None = None, limit: int | None = None) -> list[Case]:
    """Every case in a file or folder (ids unique across files); the first `limit`, then `sample`
    of those spread evenly."""
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for file in case_files(Path(path)):
        for _, where, data in read_jsonl(file, what="cases file"):
            case = _case(data, where)
            if case.id in seen:
                raise InputError(f"{where}: duplicate id '{case.id}' (first at {seen[case.id]})")
            seen[case.id] = where
            cases.append(case)
    if not cases:
        raise InputError(f"{path}: no cases")
    return spread(cases[: limit or None], sample)
