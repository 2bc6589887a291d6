"""Hybrid search over one or more knowledge bases: FAISS inner product plus BM25, optional MMR."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nanoscale.config import RetrievalSettings
from nanoscale.errors import KnowledgeBaseError
from nanoscale.retrievers.lexical import BM25Index
from nanoscale.retrievers.store import KnowledgeBase

EmbedQuery = Callable[[str], list[float]]


@dataclass
class Hit:
    """A retrieved chunk with its blended score and its plain cosine similarity."""

    score: float
    similarity: float
    chunk: dict

    def to_dict(self) -> dict:
        chunk = self.chunk
        return {
            "score": round(self.score, 4),
            "similarity": round(self.similarity, 4),
            "kb": chunk["kb"],
            "source": chunk["source"],
            "title": chunk["title"],
            "section": chunk["section"],
            "line_start": chunk["line_start"],
            "line_end": chunk["line_end"],
            "text": chunk["text"],
        }


class _Searchable:
    """A loaded knowledge base with its lexical index and row <-> chunk id mapping."""

    def __init__(self, kb: KnowledgeBase, lexical: bool) -> None:
        self.kb = kb
        self.ids = np.asarray(sorted(kb.chunks), dtype=np.int64)
        self.bm25 = None
        if lexical and len(self.ids):
            texts = [f"{c['title']} {c['section']} {c['text']}" for c in (kb.chunks[i] for i in self.ids)]
            self.bm25 = BM25Index(texts)


class Searcher:
    """Searches the given knowledge bases together; deterministic order for equal scores."""

    def __init__(
        self, kbs: list[KnowledgeBase], embed_query: EmbedQuery, settings: RetrievalSettings
    ) -> None:
        if not kbs:
            raise KnowledgeBaseError("no knowledge base to search; run `nanoscale ingest PATH...` first")
        self.settings = settings
        self.embed_query = embed_query
        self.sources = {kb.name: _Searchable(kb, settings.hybrid) for kb in kbs}

    @property
    def names(self) -> list[str]:
        return list(self.sources)

    def search(
        self,
        query: str,
        k: int | None = None,
        kbs: list[str] | None = None,
        mmr: bool | None = None,
        score_threshold: float | None = None,
    ) -> list[Hit]:
        settings = self.settings
        k = k or settings.k
        threshold = settings.score_threshold if score_threshold is None else score_threshold
        names = kbs or self.names
        unknown = [n for n in names if n not in self.sources]
        if unknown:
            raise KnowledgeBaseError(
                f"unknown knowledge base {', '.join(unknown)}; loaded: {', '.join(self.names)}"
            )
        if not query.strip():
            return []
        vector = np.asarray(self.embed_query(query), dtype=np.float32)
        vector /= max(float(np.linalg.norm(vector)), 1e-12)
        pool = max(k * 8, 32)
        hits: list[tuple[Hit, np.ndarray]] = []
        for name in names:
            hits.extend(self._search_one(self.sources[name], query, vector, pool))
        hits = [(h, v) for h, v in hits if h.similarity >= threshold]
        hits.sort(key=lambda hv: (-hv[0].score, hv[0].chunk["kb"], hv[0].chunk["id"]))
        if mmr if mmr is not None else settings.mmr:
            return self._mmr(vector, hits, k)
        return [h for h, _ in hits[:k]]

    def _search_one(
        self, src: _Searchable, query: str, vector: np.ndarray, pool: int
    ) -> list[tuple[Hit, np.ndarray]]:
        kb = src.kb
        if kb.size == 0:
            return []
        sims, ids = kb.index.search(vector[None, :], min(pool, kb.size))
        candidates = {int(i): float(s) for i, s in zip(ids[0], sims[0], strict=True) if i >= 0}
        lexical: dict[int, float] = {}
        weight = self.settings.lexical_weight if src.bm25 is not None else 0.0
        if src.bm25 is not None:
            scores = src.bm25.scores(query)
            top = np.argsort(-scores, kind="stable")[:pool]
            best = float(scores[top[0]]) if len(top) else 0.0
            if best > 0:
                lexical = {int(src.ids[row]): float(scores[row]) / best for row in top if scores[row] > 0}
        out = []
        for chunk_id in sorted(set(candidates) | set(lexical)):
            chunk_vector = kb.vector(chunk_id)
            similarity = candidates.get(chunk_id)
            if similarity is None:
                similarity = float(chunk_vector @ vector)
            score = (1 - weight) * similarity + weight * lexical.get(chunk_id, 0.0)
            out.append((Hit(score, similarity, kb.chunks[chunk_id]), chunk_vector))
        return out

    def _mmr(self, query: np.ndarray, hits: list[tuple[Hit, np.ndarray]], k: int) -> list[Hit]:
        """Maximal marginal relevance: trade relevance for variety among the candidates."""
        from langchain_community.vectorstores.utils import maximal_marginal_relevance

        if not hits:
            return []
        candidates = hits[: max(k * 4, 20)]
        order = maximal_marginal_relevance(
            query, [v for _, v in candidates], lambda_mult=self.settings.mmr_lambda, k=k
        )
        return [candidates[i][0] for i in order]
