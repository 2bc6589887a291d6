"""The LangChain face of the knowledge bases: a `BaseRetriever` for the graph and other apps."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from nanoscale.config import Settings
from nanoscale.errors import KnowledgeBaseError
from nanoscale.retrievers.ingest import embedding_id, ingest
from nanoscale.retrievers.search import Searcher
from nanoscale.retrievers.store import KnowledgeBaseStore

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

log = logging.getLogger("nanoscale.retrievers")


def build_project_kb(settings: Settings, embeddings: Embeddings) -> None:
    """The project's own knowledge base, built on first use so no command needs `make run` first."""
    from nanoscale.models import EMBEDDING_DIM

    source = settings.paths.knowledge_base
    message = f"knowledge base: building '{settings.retrieval.default_kb}' from {source} (first use, about a minute on 2 cores)"
    log.info(message)
    print(message, file=sys.stderr, flush=True)
    report = ingest([source], settings.retrieval.default_kb, settings, embeddings.embed_documents, EMBEDDING_DIM)
    log.info("knowledge base: %s chunks from %s files in %.1f s", report.total_chunks, len(report.added), report.seconds)


def open_searcher(settings: Settings, embeddings: Embeddings, names: list[str] | None = None) -> Searcher:
    """Load the named knowledge bases (default: settings, else every ingested one)."""
    from nanoscale.models import EMBEDDING_DIM

    store = KnowledgeBaseStore(settings.index_dir)
    wanted = names or settings.retrieval.knowledge_bases or store.names()
    default = settings.retrieval.default_kb
    if (not wanted or default in wanted) and not store.exists(default) and settings.paths.knowledge_base.is_dir():
        build_project_kb(settings, embeddings)
        wanted = wanted or [default]
    if not wanted:
        raise KnowledgeBaseError(
            f"no knowledge base in {settings.index_dir}; run `nanoscale ingest data/raw` "
            "(`make run` does it on first start)"
        )
    model_id = embedding_id(settings)
    kbs = [store.load(name, model_id, EMBEDDING_DIM) for name in wanted]
    return Searcher(kbs, embeddings.embed_query, settings.retrieval)


class KnowledgeBaseRetriever(BaseRetriever):
    """Top-k hybrid retrieval over knowledge bases, with score threshold and optional MMR.

    Each Document's metadata carries score, similarity, kb, source, title, section and lines.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Searcher
    k: int = 4
    knowledge_bases: list[str] | None = None
    mmr: bool | None = None
    score_threshold: float | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, embeddings: Embeddings | None = None, **kwargs: Any
    ) -> KnowledgeBaseRetriever:
        if embeddings is None:
            from nanoscale.models import load_embeddings

            embeddings = load_embeddings(settings)
        searcher = open_searcher(settings, embeddings, kwargs.get("knowledge_bases"))
        kwargs.setdefault("k", settings.retrieval.k)
        return cls(searcher=searcher, **kwargs)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.searcher.search(
            query,
            k=self.k,
            kbs=self.knowledge_bases,
            mmr=self.mmr,
            score_threshold=self.score_threshold,
        )
        documents = []
        for hit in hits:
            metadata = hit.to_dict()
            documents.append(Document(page_content=metadata.pop("text"), metadata=metadata))
        return documents
