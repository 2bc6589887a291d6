"""The retrieve node: the knowledge-base hits for the question, as numbered context blocks."""

from __future__ import annotations

from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig

from nanoscale.state import State
from nanoscale.tools.logs import condense
from nanoscale.tools.redact import redact


def search_query(question: str, slots: dict[str, str]) -> str:
    """The question plus what sharpens it: the service named and the first error lines."""
    parts = [question]
    if slots.get("service"):
        parts.append(slots["service"])
    if slots.get("logs"):
        parts.append(condense(slots["logs"], max_bytes=400))
    return redact("\n".join(parts))


def retrieve(state: State, config: RunnableConfig, *, retriever: BaseRetriever | None) -> dict:
    if retriever is None:
        return {"documents": []}
    hits = retriever.invoke(search_query(state["question"], state.get("slots", {})), config)
    documents = [
        {**{k: v for k, v in doc.metadata.items() if k != "text"}, "text": doc.page_content}
        for doc in hits
    ]
    return {"documents": documents}
