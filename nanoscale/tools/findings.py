"""Structured findings of the read-only checks, and the "Checked" block rendered from them.

A small model does not reliably weave tool output into prose, so what a check found is said by
code: every check returns a `Finding` (what was checked, its status and the facts as data), the
answer opens with `checked_block`, and the verify step compares the prose against the facts.
The finding's `detail` is the longer observation text the prompt cites as [tool:name].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# ok: nothing wrong found; denied: a permission verdict is negative; missing: the resource or
# credential does not exist; problem: found, with something that explains the trouble;
# failed: the check itself could not run.
STATUSES = ("ok", "denied", "missing", "problem", "failed")
_STATUS_WORDS = {
    "ok": "ok",
    "denied": "DENIED",
    "missing": "NOT FOUND",
    "problem": "PROBLEM",
    "failed": "CHECK FAILED",
}
BLOCK_TITLE = "Checked:"


@dataclass(frozen=True)
class Finding:
    """What one check found. `summary` is the line the user reads; `facts` are for code."""

    check: str
    target: str
    status: str
    summary: str
    detail: str
    facts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown finding status {self.status}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def failed(check: str, target: str, error: str, error_code: str | None = None) -> Finding:
    """A check that could not run says so, and why: the answer must not pretend it ran."""
    return Finding(
        check,
        target,
        "failed",
        f"{check} on {target} could not run: {error}",
        f"check failed: {error}",
        {"error": error, "error_code": error_code},
    )


def checked_block(findings: list[dict[str, Any]]) -> str:
    """The answer's opening lines: one per check, its status, what it found and its citation."""
    if not findings:
        return ""
    lines = [BLOCK_TITLE]
    for item in findings:
        word = _STATUS_WORDS.get(item["status"], item["status"])
        lines.append(f"- [{word}] {item['summary']} [tool:{item['check']}]")
    return "\n".join(lines)


def split_block(answer: str, findings: list[dict[str, Any]]) -> tuple[str, str]:
    """(the Checked block, the prose after it): verification judges only the prose."""
    block = checked_block(findings)
    if block and answer.startswith(block):
        return block, answer[len(block) :].lstrip("\n")
    return "", answer


def established_facts(findings: list[dict[str, Any]]) -> list[str]:
    """The findings as prompt lines the model must build on and never contradict."""
    return [f"[tool:{item['check']}] {item['summary']}" for item in findings]
