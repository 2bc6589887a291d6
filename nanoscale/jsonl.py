"""The one JSONL reader and writer for the project's data files (eval cases, results, pairs).

Every error names the file and line (`path:line: what is wrong`), so a bad line in a file of
hundreds is found at once; blank lines are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from nanoscale.errors import InputError


def read_jsonl(
    path: Path, error: type[InputError] = InputError, what: str = "file"
) -> Iterator[tuple[int, str, dict]]:
    """(line number, "path:line", object) for each non-blank line; `error` is raised for a bad one."""
    if not path.is_file():
        raise error(f"{path}: no such {what}")
    with path.open("rb") as handle:
        for number, raw_line in enumerate(handle, start=1):
            where = f"{path}:{number}"
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise error(f"{where}: not UTF-8 text ({exc.reason})") from exc
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{where}: malformed JSON ({exc.msg} at column {exc.colno})") from exc
            if not isinstance(data, dict):
                raise error(f"{where}: expected a JSON object, got {type(data).__name__}")
            yield number, where, data


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """One object a line, UTF-8 kept readable (not escaped), the file replaced whole."""
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
