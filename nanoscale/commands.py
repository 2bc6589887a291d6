"""Read-only commands: which tool a problem lives in, and which commands only look.

An engineer confirms a cause before changing anything, in the tool the problem lives in:
`kubectl describe` for a cluster, `aws ... describe-*` for AWS, `journalctl`/`systemctl status`
for a host. The answer step uses this to add such a check when the model named none (drawn from
the retrieved context first); the evaluation uses the same tables to score answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nanoscale.signals.domain import classify as classify_domain

_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_INLINE = re.compile(r"`([^`\n]+)`")
_PROMPT = re.compile(r"^\s*(?:[$#>]\s+)?(?:sudo\s+(?:-\S+\s+)*)?")
_STAGES = re.compile(r"\s*(?:\||&&|;)\s*")


@dataclass(frozen=True)
class Domain:
    """Where a problem lives: its tools, a first check when the context offers none (real
    syntax, placeholders in angle brackets), and the evidence to ask a user for in its terms."""

    name: str
    tools: tuple[str, ...]
    first_check: str
    evidence: str


_HOST_TOOLS = (
    "journalctl", "systemctl", "dmesg", "df", "du", "free", "ss", "netstat", "ip", "lsof", "ps", "top",
    "stat", "findmnt", "getent", "dig", "nslookup", "tail", "cat", "ls", "uptime", "vmstat", "iostat",
    "id", "namei", "ulimit", "sysctl", "timedatectl", "mount",
)  # fmt: skip

# Which domain a message is about is the learned model's call (nanoscale.signals.domain).
DOMAINS: tuple[Domain, ...] = (
    Domain("terraform", ("terraform",), "terraform plan",
           "the full error block from `terraform plan` or `terraform apply`"),
    Domain("kubernetes", ("kubectl",), "kubectl describe pod <pod> -n <namespace>",
           "the output of `kubectl describe` for the failing pod or job (its Events) and `kubectl logs --previous`"),
    Domain("cicd", ("gh", "git"), "gh run view <run-id> --log-failed",
           "the failing step's log lines from the CI run"),
    Domain("docker", ("docker",), "docker inspect <container>",
           "the exact error and the last lines of `docker logs <container>`"),
    Domain("linux", _HOST_TOOLS, "journalctl -u <unit> -n 50 --no-pager",
           "the output of `systemctl status <unit>` and `journalctl -u <unit> -n 50`"),
    Domain("aws", ("aws",), "aws sts get-caller-identity",
           "the exact error message with its error code, from the CLI, the console or CloudWatch Logs"),
    Domain("api", ("curl", "openssl", "dig", "nslookup", "http"), "curl -si <url>",
           "the status code and response body of the failing request (for example from `curl -si <url>`)"),
)  # fmt: skip
TOOLS: dict[str, tuple[str, ...]] = {domain.name: domain.tools for domain in DOMAINS}
# each domain's main tools (kubectl, aws, journalctl and systemctl, ...), not cat or ls
KEY_TOOLS = tuple(tool for domain in DOMAINS for tool in domain.tools[:2])

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


def code_lines(text: str) -> list[str]:
    """Every line of fenced code and every inline code span, shell prompts stripped."""
    lines = [line for block in _FENCE.findall(text) for line in block.splitlines()]
    lines += _INLINE.findall(_FENCE.sub("", text))
    return [_PROMPT.sub("", line).strip() for line in lines if line.strip()]


def stages(line: str) -> list[str]:
    """The commands of one shell line: each stage of a pipeline or `&&`/`;` chain."""
    return [stage for stage in _STAGES.split(line) if stage]


def read_only(command: str, tools: tuple[str, ...]) -> bool:
    """Is `command` one of `tools`, used only to look?"""
    words = command.split(maxsplit=1)
    if not words or words[0] not in tools:
        return False
    pattern = READ_ONLY.get(words[0])
    return pattern is None or bool(pattern.search(words[1] if len(words) > 1 else ""))


def domain_of(text: str) -> Domain | None:
    """The domain the text's problem lives in; None when the model would rather not guess."""
    name = classify_domain(text)
    return next((domain for domain in DOMAINS if domain.name == name), None)


def context_checks(documents: list[dict[str, Any]], tools: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """(block number, command) for each read-only command of `tools` that opens a code line, by rank."""
    for number, document in enumerate(documents, start=1):
        for line in code_lines(document.get("text", "")):
            head = next(iter(stages(line)), "")
            if read_only(head, tools):
                yield number, head


CHECK_OPENING = "To confirm before changing anything"  # how every added check line begins


def confirm_check(question: str, answer: str, documents: list[dict[str, Any]]) -> str | None:
    """A line naming one read-only check in the problem's tool, when the answer names none.

    The check comes from the highest-ranked context block that holds one (cited by its number);
    only when none does is it the domain's general first check. A question the domain model will not
    place takes its tool from the context (each domain's main tools), since retrieval found that for it.
    None when the answer already has a check or nothing fits.
    """
    domain = domain_of(question)
    tools = domain.tools if domain else KEY_TOOLS
    if any(read_only(stage, tools) for line in code_lines(answer) for stage in stages(line)):
        return None
    found = next(context_checks(documents, tools), None)
    if found:
        return f"{CHECK_OPENING}: `{found[1]}` [{found[0]}]"
    if domain:
        return f"{CHECK_OPENING}, a general first check (not from the sources): `{domain.first_check}`."
    return None
