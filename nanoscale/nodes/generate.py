"""The generate node: one grounded answer from the chat model, streamed token by token.

The model is invoked with the node's config (its callbacks), so its tokens reach the caller as
they come: through the engine's `TokenForwarder` or LangGraph's ``messages`` stream mode.
"""

from __future__ import annotations

import re

from langchain_core.callbacks import dispatch_custom_event
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

from nanoscale.commands import confirm_check
from nanoscale.config import Settings
from nanoscale.prompts import TokenCounter, build_messages, missing_note
from nanoscale.state import State
from nanoscale.tools.findings import checked_block, established_facts

# The custom event that streams text the answer opens with before the model's tokens (the
# "Checked" block), so a streamed answer reads the same as the final one.
ANSWER_PREFIX_EVENT = "nanoscale_answer_prefix"
REVISION_MARK = "\n\n(revised after verification)\n\n"


def stream_prefix(text: str, config: RunnableConfig) -> None:
    """Hand `text` to streaming callers; a node called outside a run has none to tell."""
    if text and config.get("callbacks"):
        dispatch_custom_event(ANSWER_PREFIX_EVENT, text, config=config)


def cited_numbers(answer: str) -> set[int]:
    return {int(n) for group in re.findall(r"\[([\d,\s]+)\]", answer) for n in re.findall(r"\d+", group)}


def generate(
    state: State,
    config: RunnableConfig,
    *,
    chat_model: BaseChatModel,
    count_tokens: TokenCounter,
    settings: Settings,
) -> dict:
    slots = state.get("slots", {})
    missing = [s for s in state.get("missing", []) if s not in slots]
    findings = state.get("findings", [])
    revising = state.get("revisions", 0) > 0
    block = checked_block(findings)
    window = settings.model.n_ctx - settings.model.max_new_tokens - 64
    messages, used = build_messages(
        state["question"],
        slots,
        missing,
        state.get("documents", []),
        state.get("observations", []),
        count_tokens,
        settings.retrieval.context_tokens,
        window,
        facts=established_facts(findings),
        corrections=state.get("revised", []) if revising else None,
    )
    stream_prefix((REVISION_MARK if revising else "") + (f"{block}\n\n" if block else ""), config)
    response = chat_model.invoke(messages, config)
    answer = response.content if isinstance(response.content, str) else str(response.content)
    answer = answer.strip()
    generated = state.get("generated_tokens", 0) + count_tokens(answer)
    conversation = "\n".join([state["question"], *state.get("replies", [])])
    # when read-only checks already ran, their findings are the confirmation
    check = confirm_check(conversation, answer, used) if settings.graph.confirm_check and not findings else None
    answer = f"{answer}\n\n{check}" if check else answer
    if block:
        answer = f"{block}\n\n{answer}"
    if missing:
        answer = f"{answer}\n\n{missing_note(missing)}"
    cited = cited_numbers(answer)
    sources = [
        {
            "n": n,
            "kb": doc.get("kb"),
            "source": doc["source"],
            "section": doc.get("section"),
            "score": doc.get("score"),
            "cited": n in cited,
        }
        for n, doc in enumerate(used, start=1)
    ]
    return {
        "messages": [response],
        "answer": answer,
        "sources": sources,
        "documents": used,
        "generated_tokens": generated,
        "added_check": check or "",
    }
