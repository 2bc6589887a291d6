"""Does an answer name a read-only command that confirms the cause, in the right tool's syntax?

This metric looks only at the answer's code (fenced blocks and inline backticks) and accepts a
command when its tool fits the case's category and its verb only reads (`nanoscale.commands`);
`kubectl delete`, `terraform apply` or `aws iam attach-role-policy` do not count, however useful
they may be as the fix.
"""

from __future__ import annotations

from nanoscale.commands import TOOLS, code_lines, read_only, stages


def confirming_commands(answer: str, category: str) -> list[str]:
    """The answer's read-only commands whose tool fits `category` (each pipeline stage counts)."""
    tools = TOOLS.get(category, ())
    return [stage for line in code_lines(answer) for stage in stages(line) if read_only(stage, tools)]


def names_confirm_command(answer: str, category: str) -> bool | None:
    """True when the answer names a fitting read-only check; None for a category without tools."""
    if category not in TOOLS:
        return None
    return bool(confirming_commands(answer, category))
