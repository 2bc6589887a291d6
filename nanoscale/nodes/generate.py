"""The generate node: one grounded answer from the chat model, streamed token by token.

The model is invoked with the node's config (its callbacks), so its tokens reach the caller as
they come: through the engine's `TokenForwarder` or LangGraph's ``messages`` stream mode.
"""

from __future__ import annotations

import re

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

from nanoscale.config import Settings
from nanoscale.prompts import TokenCounter, build_messages, missing_note
from nanoscale.state import State


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
    )
    response = chat_model.invoke(messages, config)
    answer = response.content if isinstance(response.content, str) else str(response.content)
    answer = answer.strip()
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
    return {"messages": [response], "answer": answer, "sources": sources, "documents": used}
