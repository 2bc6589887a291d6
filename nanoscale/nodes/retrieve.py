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


def merge_sections(documents: list[dict]) -> list[dict]:
    """Chunks of the same section become one block (in line order), ranked by its best chunk."""
    merged: dict[tuple, dict] = {}
    for doc in documents:
        key = (doc.get("kb"), doc["source"], doc.get("section"))
        if key not in merged:
            merged[key] = {**doc, "parts": [doc]}
        else:
            merged[key]["parts"].append(doc)
    out = []
    for block in merged.values():
        parts = sorted(block.pop("parts"), key=lambda d: d.get("line_start") or 0)
        block["text"] = "\n".join(part["text"] for part in parts)
        block["line_start"] = parts[0].get("line_start")
        block["line_end"] = parts[-1].get("line_end")
        out.append(block)
    return out


def retrieve(state: State, config: RunnableConfig, *, retriever: BaseRetriever | None) -> dict:
    if retriever is None:
        return {"documents": []}
    hits = retriever.invoke(search_query(state["question"], state.get("slots", {})), config)
    documents = [{**doc.metadata, "text": doc.page_content} for doc in hits]
    return {"documents": merge_sections(documents)}
