"""The system prompt, the clarification questions, and the assembly of one grounded prompt.

Context blocks and tool observations are fitted into the model's window by counting real
tokens; when they do not fit, the lowest-ranked blocks go first, then the last kept block is
cut. Everything user- or document-supplied is redacted before it is placed here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from nanoscale.commands import domain_of
from nanoscale.tools.redact import redact

TokenCounter = Callable[[str], int]

SYSTEM_PROMPT = """You are OpenNanoScaleLLM, a troubleshooting assistant for DevOps and platform \
engineers (AWS, Docker, Kubernetes, CI/CD, Terraform, HTTP APIs, Linux).
Rules:
1. Answer from the numbered context. Cite the blocks you use like [1] or [2]; cite tool results \
like [tool:name].
2. If the context does not cover part of the question, say "The context does not cover" that part \
instead of guessing.
3. Never invent AWS IAM actions, CLI commands, API names or flags. Use only ones that appear in \
the context or that you are certain exist.
4. Give the most likely cause first, then read-only commands that confirm it, then the fix.
5. Prefer read-only checks (describe, get, list, logs). Warn before anything destructive.
6. Be brief and concrete: short sentences, commands in backticks."""

ANSWER_INSTRUCTION = (
    "Answer in at most 8 short lines: the likely cause, the read-only commands to confirm it, "
    "and the fix. End each line with the block it comes from, like [1]."
)
FINDINGS_INSTRUCTION = (
    "The read-only checks already ran: their findings are facts about this user's system. Begin with "
    "one sentence that answers the question from the findings, citing [tool:name]; never state another "
    "identity, account, region, verdict or status code. Then, in at most 6 short lines, the likely "
    "cause, the read-only commands to confirm it, and the fix, citing [1] for context."
)
NO_CONTEXT = "(no context retrieved: say that the knowledge base does not cover this question)"

SLOT_QUESTIONS = {
    "region": "which AWS region the resource is in (for example eu-west-1)",
    "account": "the 12-digit ID of the other AWS account involved",
    "service": "which AWS service is failing (for example ECR, EKS or Lambda)",
    "logs": "the exact error message or the last log lines",
    "endpoint": "the URL or path of the API endpoint",
    "method": "the HTTP method (GET, POST, ...)",
    "auth": "how the request authenticates (bearer token, API key, basic auth, none)",
}
SLOT_NAMES = {
    "region": "the AWS region",
    "account": "the other account's ID",
    "service": "the AWS service",
    "logs": "the error message or logs",
    "endpoint": "the API endpoint",
    "method": "the HTTP method",
    "auth": "the authentication scheme",
}


def logs_request(text: str) -> str:
    """The evidence to ask for, in the terms of the tool the conversation is about: an engineer
    asks for `kubectl describe` output about a pod, not for "logs" in general."""
    domain = domain_of(text)
    return domain.evidence if domain else SLOT_QUESTIONS["logs"]


def clarification_question(slots: list[str], text: str = "") -> str:
    """One sentence asking for every missing slot (logs in the words of the user's tool)."""
    parts = [logs_request(text) if s == "logs" else SLOT_QUESTIONS[s] for s in slots]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"To narrow this down, please tell me {joined}."


def missing_note(slots: list[str]) -> str:
    """What the answer had to do without, said plainly at its end."""
    names = [SLOT_NAMES[s] for s in slots]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"Still missing: {joined}. The answer above is general; share it for a more specific one."


def format_block(number: int, document: dict[str, Any], text: str | None = None) -> str:
    location = document["source"]
    if document.get("section") and document["section"] != document.get("title"):
        location += f" > {document['section']}"
    return f"[{number}] ({location})\n{text if text is not None else document['text']}"


def _fit(text: str, budget: int, count: TokenCounter) -> str:
    """Cut text (at a line or word boundary) until it fits `budget` tokens."""
    if count(text) <= budget:
        return text
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if count(text[:mid]) <= budget:
            low = mid
        else:
            high = mid - 1
    cut = text[:low]
    boundary = max(cut.rfind("\n"), cut.rfind(" "))
    return (cut[:boundary] if boundary > len(cut) // 2 else cut).rstrip() + " ..."


def build_messages(
    question: str,
    slots: dict[str, str],
    missing: list[str],
    documents: list[dict[str, Any]],
    observations: list[dict[str, Any]],
    count: TokenCounter,
    context_budget: int,
    window: int,
    facts: list[str] | None = None,
    corrections: list[str] | None = None,
) -> tuple[list[BaseMessage], list[dict[str, Any]]]:
    """The chat messages for one answer and the documents that made it into the prompt.

    `window` is what the prompt may use in total (context window minus the answer's tokens);
    `context_budget` caps retrieved context within it. `facts` are the checks' findings, which the
    answer must build on; `corrections` name what a first answer got wrong (one regeneration).
    """
    sections = slot_sections(slots, missing)
    if facts:
        sections.append(findings_section(facts))
    if corrections:
        sections.append(corrections_section(corrections))
    logs = slots.get("logs")
    tail = question_tail(question, FINDINGS_INSTRUCTION if facts else ANSWER_INSTRUCTION)
    fixed = count(SYSTEM_PROMPT) + count("\n\n".join(sections)) + count(tail) + 16
    if logs:
        logs_text = _fit(redact(logs), max((window - fixed) // 3, 64), count)
        sections.append(logs_section(logs_text))
        fixed += count(logs_text) + 8
    remaining = max(window - fixed, 0)

    observed = []
    for item in observations:
        block = f"[tool:{item['tool']}] {redact(item['text'])}"
        cost = count(block)
        if cost > remaining // 2:
            block = _fit(block, remaining // 2, count)
            cost = count(block)
        observed.append(block)
        remaining -= cost
    blocks, used = fit_blocks(documents, count, min(context_budget, remaining))
    context = "\n\n".join(blocks) if blocks else NO_CONTEXT
    if observed:
        context += "\n\nTool observations:\n" + "\n".join(observed)
    return [SystemMessage(SYSTEM_PROMPT), HumanMessage(user_prompt(context, sections, tail))], used


def fit_blocks(
    documents: list[dict[str, Any]], count: TokenCounter, budget: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """The numbered context blocks that fit `budget` tokens, best-ranked first, and their documents:
    a block that does not fit ends the context, except the first, which is cut to fit."""
    used: list[dict[str, Any]] = []
    blocks: list[str] = []
    for document in documents:
        block = format_block(len(used) + 1, document, redact(document["text"]))
        cost = count(block) + 1
        if cost > budget:
            if not used and budget > 48:
                blocks.append(_fit(block, budget, count))
                used.append(document)
            break
        blocks.append(block)
        used.append(document)
        budget -= cost
    return blocks, used


def user_prompt(context: str | None, sections: list[str], tail: str) -> str:
    """The one layout of a user turn, shared by the graph and the training data."""
    parts = [f"Context:\n{context}"] if context is not None else []
    return "\n\n".join([*parts, *sections, tail])


def slot_sections(slots: dict[str, str], missing: list[str]) -> list[str]:
    """What the user told us and what they did not, as prompt lines (logs excluded)."""
    facts = [f"{name}: {redact(value)}" for name, value in slots.items() if name != "logs" and value]
    sections = []
    if facts:
        sections.append("Known from the user: " + "; ".join(facts))
    if missing:
        sections.append("Not provided by the user: " + ", ".join(SLOT_NAMES[s] for s in missing))
    return sections


def question_tail(question: str, instruction: str = ANSWER_INSTRUCTION) -> str:
    return f"Question: {redact(question)}\n\n{instruction}"


def findings_section(facts: list[str]) -> str:
    return "Findings of the checks that ran (established facts):\n" + "\n".join(
        f"- {redact(fact)}" for fact in facts
    )


def corrections_section(corrections: list[str]) -> str:
    return "Your previous answer had these errors; write the answer again without them:\n" + "\n".join(
        f"- {redact(item)}" for item in corrections
    )


def logs_section(logs: str) -> str:
    return f"Logs and errors from the user:\n{logs}"
