"""What the graph's nodes need from the outside world, loaded once and shared.

Tests and embedding apps pass their own (a fake chat model, their own retriever); the CLI and
server load the real ones from the settings, lazily: the signals and clarification turns need
none of them, so a `needs_input` reply never waits for a model.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nanoscale.config import Settings
from nanoscale.grounding import EmbedFn
from nanoscale.prompts import TokenCounter

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.retrievers import BaseRetriever

log = logging.getLogger("nanoscale.resources")


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
    def load(
        cls,
        settings: Settings,
        chat_model: BaseChatModel | None = None,
        on_step: Callable[[str], None] = lambda step: None,
        **overrides: Any,
    ) -> Resources:
        """The packaged embeddings, the ingested knowledge bases and the configured chat model."""
        from nanoscale.models import load_chat_model, load_embeddings
        from nanoscale.retrievers.retriever import KnowledgeBaseRetriever

        if chat_model is None:
            on_step(f"loading the chat model {settings.model.preset}")
        model = chat_model or load_chat_model(settings)
        on_step("loading the embedding model")
        embeddings = overrides.get("embeddings") or load_embeddings(settings)
        on_step("opening the knowledge bases")
        retriever = overrides.get("retriever") or KnowledgeBaseRetriever.from_settings(settings, embeddings)
        return cls(model, retriever, embeddings.embed_documents, token_counter(model))

    def loaded(self) -> Resources:
        """Already loaded: the same call as `LazyResources.loaded()`, so nodes read either."""
        return self


class LazyResources:
    """The real resources, loaded once in a background thread; each attribute waits for them.

    `start()` begins the load early (the server at start-up, the chat while the user types), so
    it overlaps time spent elsewhere; the first `loaded()` starts it otherwise. (A method, not
    properties: LangGraph reads the attributes a node's closure names when it compiles.) A failed load
    is raised to every reader, and `step` says what is loading now (for /readyz and the log).
    """

    def __init__(self, settings: Settings, chat_model: BaseChatModel | None = None) -> None:
        self.settings = settings
        self._chat_model = chat_model
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._loaded: Resources | None = None
        self.error: BaseException | None = None
        self.step = "not started"

    def start(self) -> LazyResources:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._load, name="nanoscale-load", daemon=True)
                self._thread.start()
        return self

    def _set_step(self, step: str) -> None:
        self.step = step
        log.info("%s", step)

    def _load(self) -> None:
        try:
            self._loaded = Resources.load(self.settings, self._chat_model, on_step=self._set_step)
            self._set_step("ready")
        except BaseException as exc:  # noqa: BLE001 - handed to every reader, not swallowed
            self.error = exc
            self.step = f"failed: {exc}"
            log.error("loading failed: %s", exc)
        finally:
            self._done.set()

    def loaded(self) -> Resources:
        """The loaded resources (starting the load if nobody has); a failed load raises here."""
        self.start()
        self._done.wait()
        if self.error is not None:
            raise self.error
        assert self._loaded is not None
        return self._loaded

    @property
    def ready(self) -> bool:
        return self._done.is_set() and self.error is None
