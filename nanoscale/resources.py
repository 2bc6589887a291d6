"""What the graph's nodes need from the outside world, loaded once and shared.

Tests and embedding apps pass their own (a fake chat model, their own retriever); the CLI and
server load the real ones from the settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.retrievers import BaseRetriever

from nanoscale.config import Settings
from nanoscale.grounding import EmbedFn
from nanoscale.prompts import TokenCounter


def token_counter(chat_model: BaseChatModel) -> TokenCounter:
    """Count tokens with the model's own tokenizer where there is one (llama.cpp, HF)."""
    client = getattr(chat_model, "client", None)
    if client is not None and hasattr(client, "tokenize"):
        return lambda text: len(client.tokenize(text.encode("utf-8"), add_bos=False, special=False))
    tokenizer = getattr(chat_model, "tokenizer", None)
    if tokenizer is not None and hasattr(tokenizer, "encode"):
        return lambda text: len(tokenizer.encode(text, add_special_tokens=False))
    return lambda text: math.ceil(len(text) / 3.5)


@dataclass
class Resources:
    chat_model: BaseChatModel
    retriever: BaseRetriever | None
    embed: EmbedFn | None
    count_tokens: TokenCounter

    @classmethod
    def load(cls, settings: Settings, chat_model: BaseChatModel | None = None, **overrides: Any) -> Resources:
        """The packaged embeddings, the ingested knowledge bases and the configured chat model."""
        from nanoscale.models import load_chat_model, load_embeddings
        from nanoscale.retrievers.retriever import KnowledgeBaseRetriever

        model = chat_model or load_chat_model(settings)
        embeddings = overrides.get("embeddings") or load_embeddings(settings)
        retriever = overrides.get("retriever") or KnowledgeBaseRetriever.from_settings(settings, embeddings)
        return cls(model, retriever, embeddings.embed_documents, token_counter(model))
