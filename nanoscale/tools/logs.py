"""The logs tool: pasted logs or a local log file condensed to what matters.

Error/warning lines are kept with context, repeats collapsed and the size capped, with a note of
what was cut, so the model (and the reader) know the excerpt is partial.
"""

from __future__ import annotations

import re
from pathlib import Path

from nanoscale.tools.findings import Finding

_IMPORTANT = re.compile(
    r"\b(error|err|fatal|fail\w*|exception|panic|traceback|denied|refused|killed|oom|warn\w*|"
    r"timeout|timed out|unable|cannot|can't|invalid|critical|crit|emerg|alert|back-off|exit(ed)? (code|status))\b",
    re.IGNORECASE,
)
# What a log line can show, by the words that reveal it; the first matching line is quoted.
SIGNS: dict[str, re.Pattern[str]] = {
    "out of memory": re.compile(
        r"out of memory|\boom[- ]?kill\w*|oomkilled|killed process \d+|cannot allocate memory|"
        r"java\.lang\.OutOfMemoryError|memory cgroup out of memory",
        re.IGNORECASE,
    ),
    "disk full": re.compile(
        r"no space left on device|disk (is )?full|enospc|disk quota exceeded|filesystem full", re.IGNORECASE
    ),
    "authentication failure": re.compile(
        r"authentication failed|auth(entication)? failure|invalid credentials|permission denied \(publickey|"
        r"password authentication failed|unauthorized|access denied for user|401 unauthorized|"
        r"invalid (api )?key|token (has )?expired",
        re.IGNORECASE,
    ),
    "connection refused or timed out": re.compile(
        r"connection refused|econnrefused|connection timed out|etimedout|no route to host", re.IGNORECASE
    ),
}
_VOLATILE = re.compile(
    r"\d{4}-\d\d-\d\d[T ][\d:.,]+Z?|\b\d\d:\d\d:\d\d(\.\d+)?\b|0x[0-9a-f]+|\b\d+\b", re.IGNORECASE
)


def condense(text: str, max_bytes: int = 16_384, context: int = 2) -> str:
    """Keep error/warning lines with `context` lines around them, collapse repeats, cap size.

    Short logs come back unchanged. Whatever is cut is said in a closing note, so the model
    (and the reader) know the excerpt is partial.
    """
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    lines = text.splitlines()
    keep: set[int] = set()
    for number, line in enumerate(lines):
        if _IMPORTANT.search(line):
            keep.update(range(max(0, number - context), min(len(lines), number + context + 1)))
    if not keep:
        keep = set(range(max(0, len(lines) - 50), len(lines)))
    out: list[str] = []
    seen: dict[str, int] = {}
    previous = -2
    for number in sorted(keep):
        line = lines[number]
        shape = _VOLATILE.sub("#", line)
        if shape in seen:
            seen[shape] += 1
            continue
        seen[shape] = 1
        if number != previous + 1 and out:
            out.append("...")
        out.append(line)
        previous = number
    repeats = sum(count - 1 for count in seen.values())
    note = f"[condensed: kept {len(out)} of {len(lines)} lines; {repeats} repeated lines collapsed"
    body = "\n".join(out)
    budget = max_bytes - len(note.encode("utf-8")) - 32
    if len(body.encode("utf-8")) > budget:
        body = body.encode("utf-8")[-budget:].decode("utf-8", errors="ignore")
        body = body[body.find("\n") + 1 :]
        note += "; oldest kept lines cut to fit the size cap"
    return f"{body}\n{note}]"


def read_log_file(path: str, max_bytes: int, tail_bytes: int = 5_000_000) -> str | None:
    """A local log file named by the user, read from its end and condensed; None if not a file."""
    candidate = Path(path.strip()).expanduser()
    if "\n" in path.strip() or not candidate.is_file():
        return None
    with candidate.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - tail_bytes))
        data = handle.read()
    if b"\x00" in data[:8192]:
        return None
    return condense(data.decode("utf-8", errors="replace"), max_bytes)


def log_finding(path: str, text: str) -> Finding:
    """What a condensed log shows: the signs found (out of memory, disk full, ...) and the first
    line of each, quoted, so the answer states what the file says rather than what is typical."""
    lines = text.splitlines()
    errors = [line for line in lines if _IMPORTANT.search(line)]
    signs = {}
    for sign, pattern in SIGNS.items():
        quoted = next((line.strip() for line in lines if pattern.search(line)), None)
        if quoted:
            signs[sign] = quoted[:200]
    shown = "; ".join(f'{sign}: "{line}"' for sign, line in signs.items())
    if not shown and errors:
        shown = f'first error: "{errors[0].strip()[:200]}"'
    summary = f"log {path}: {len(errors)} error/warning lines" + (f"; {shown}" if shown else "")
    return Finding(
        "logs.file",
        path,
        "problem" if signs or errors else "ok",
        summary,
        text,
        {"path": path, "signs": signs, "error_lines": len(errors)},
    )
