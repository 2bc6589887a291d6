"""Does an answer name a read-only command that confirms the cause, in the right tool's syntax?

An engineer checks before changing anything: `kubectl describe` for a cluster, `aws ... describe-*`
for AWS, `journalctl`/`systemctl status` for a host. This metric looks only at the answer's code
(fenced blocks and inline backticks) and accepts a command when its tool fits the case's category
and its verb only reads; `kubectl delete`, `terraform apply` or `aws iam attach-role-policy` do
not count, however useful they may be as the fix.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_INLINE = re.compile(r"`([^`\n]+)`")
_PROMPT = re.compile(r"^\s*(?:[$#>]\s+)?(?:sudo\s+(?:-\S+\s+)*)?")

# category -> the tools whose syntax fits it
TOOLS: dict[str, tuple[str, ...]] = {
    "kubernetes": ("kubectl",),
    "aws": ("aws",),
    "linux": (
        "journalctl",
        "systemctl",
        "dmesg",
        "df",
        "du",
        "free",
        "ss",
        "netstat",
        "ip",
        "lsof",
        "ps",
        "top",
        "stat",
        "findmnt",
        "getent",
        "dig",
        "nslookup",
        "tail",
        "cat",
        "ls",
        "uptime",
        "vmstat",
        "iostat",
        "id",
        "namei",
        "ulimit",
        "sysctl",
        "timedatectl",
        "mount",
    ),
    "docker": ("docker",),
    "terraform": ("terraform",),
    "cicd": ("gh", "git"),
    "api": ("curl", "openssl", "dig", "nslookup", "http"),
}
# tool -> a pattern over the words after it that marks the command as read-only
READ_ONLY: dict[str, re.Pattern[str]] = {
    "kubectl": re.compile(
        r"^(?:-\S+\s+\S+\s+)*(?:get|describe|logs|top|events|explain|version|cluster-info|api-resources"
        r"|auth can-i|config (?:view|get-contexts|current-context)|rollout (?:status|history))\b"
    ),
    "aws": re.compile(
        r"^(?:--\S+\s+\S+\s+)*(?:s3 ls|[a-z0-9-]+ (?:describe|get|list|head|simulate|lookup|search|test)-[a-z0-9-]+"
        r"|sts get-caller-identity|sts decode-authorization-message)"
    ),
    "terraform": re.compile(
        r"^(?:-chdir=\S+\s+)?(?:plan|show|validate|version|providers|output|graph|state (?:list|show|pull)"
        r"|fmt -check|workspace (?:list|show))\b"
    ),
    "docker": re.compile(
        r"^(?:ps|logs|inspect|info|version|images|events|stats|top|port|diff|history|manifest inspect"
        r"|system (?:df|info)|(?:image|container|network|volume|buildx) (?:ls|inspect)|compose (?:ps|logs|config))\b"
    ),
    "systemctl": re.compile(r"^(?:--\S+\s+)*(?:status|show|cat|is-active|is-enabled|is-failed|list-\S+)\b"),
    "gh": re.compile(
        r"^(?:run (?:view|list|watch)|workflow (?:view|list)|pr (?:checks|view)"
        r"|api\b(?!.*(?:-X|--method)\s*(?:POST|PUT|PATCH|DELETE)))"
    ),
    "git": re.compile(
        r"^(?:log|status|show|diff|ls-remote|ls-files|rev-parse|remote -v|branch|describe|config --get)\b"
    ),
    "curl": re.compile(r"^(?!.*(?:-X|--request)\s*(?:POST|PUT|PATCH|DELETE))(?!.*(?:\s-d\s|--data))"),
    "ip": re.compile(
        r"^(?:-\S+\s+)*(?:a|addr|address|r|route|link|neigh|rule)\b(?!.*\b(?:add|del|delete|flush|set|change|replace)\b)"
    ),
    "mount": re.compile(r"^(?:\||$|-l\b)"),
    "sysctl": re.compile(r"^(?!.*-w\b)"),
}


def code_lines(answer: str) -> list[str]:
    """Every line of fenced code and every inline code span, shell prompts stripped."""
    lines = [line for block in _FENCE.findall(answer) for line in block.splitlines()]
    lines += _INLINE.findall(_FENCE.sub("", answer))
    return [_PROMPT.sub("", line).strip() for line in lines if line.strip()]


def read_only(tool: str, rest: str) -> bool:
    pattern = READ_ONLY.get(tool)
    return True if pattern is None else bool(pattern.search(rest))


def confirming_commands(answer: str, category: str) -> list[str]:
    """The answer's read-only commands whose tool fits `category` (each pipeline stage counts)."""
    tools = TOOLS.get(category, ())
    found = []
    for line in code_lines(answer):
        for stage in re.split(r"\s*(?:\||&&|;)\s*", line):
            words = stage.split(maxsplit=1)
            if words and words[0] in tools and read_only(words[0], words[1] if len(words) > 1 else ""):
                found.append(stage)
    return found


def names_confirm_command(answer: str, category: str) -> bool | None:
    """True when the answer names a fitting read-only check; None for a category without tools."""
    if category not in TOOLS:
        return None
    return bool(confirming_commands(answer, category))
