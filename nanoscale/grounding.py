"""Is a sentence of an answer supported by the evidence (context, question, user replies)?

Two judges, either sufficient: MiniLM cosine similarity to the closest evidence passage, and
the share of the sentence's content words found in one evidence block. Embedding similarity
catches paraphrase; word overlap catches exact commands and names that embeddings blur.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nanoscale.retrievers.lexical import tokenize

EmbedFn = Callable[[list[str]], list[list[float]]]
_CITATION = re.compile(r"\s*\[(?:\d+|tool:[\w.-]+)(?:\s*,\s*(?:\d+|tool:[\w.-]+))*\]")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(\[])|\n+")
_MIN_WORDS = 4


@dataclass
class Judgement:
    sentence: str
    supported: bool
    similarity: float
    overlap: float


def split_sentences(text: str) -> list[str]:
    """Answer sentences worth judging: list items and lines count as sentences; headings,
    code-fence markers and fragments under four words are skipped."""
    sentences = []
    for raw in _SPLIT.split(text or ""):
        sentence = raw.strip().lstrip("-*•>#0123456789. ").strip()
        if sentence.startswith("```") or len(sentence.split()) < _MIN_WORDS:
            continue
        sentences.append(sentence)
    return sentences


def passages(evidence: Sequence[str], window: int = 3) -> list[str]:
    """Evidence cut into windows of a few sentences, so one long chunk cannot dilute a match."""
    out = []
    for block in evidence:
        parts = [p.strip() for p in _SPLIT.split(block) if p.strip()]
        for start in range(0, max(len(parts), 1), window):
            piece = " ".join(parts[start : start + window]).strip()
            if piece:
                out.append(piece)
    return out


def overlap(sentence: str, block_tokens: set[str]) -> float:
    words = set(tokenize(_CITATION.sub("", sentence)))
    return len(words & block_tokens) / len(words) if words else 1.0


def judge(
    sentences: list[str],
    evidence: Sequence[str],
    embed: EmbedFn | None,
    min_similarity: float,
    min_overlap: float,
) -> list[Judgement]:
    """Judge each sentence against the evidence; no evidence means nothing is supported."""
    if not sentences:
        return []
    blocks = [set(tokenize(block)) for block in evidence if block.strip()]
    overlaps = [max((overlap(sentence, block) for block in blocks), default=0.0) for sentence in sentences]
    # Embedding is the expensive part (tens of ms per answer on 2 cores): only sentences that
    # lexical overlap does not already support are embedded; the others keep similarity 0.0.
    undecided = [i for i, best in enumerate(overlaps) if best < min_overlap]
    similarities = np.zeros(len(sentences))
    windows = passages(evidence) if undecided else []
    if embed is not None and windows:
        cleaned = [_CITATION.sub("", sentences[i]) for i in undecided]
        vectors = np.asarray(embed(cleaned + windows), dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        similarities[undecided] = (vectors[: len(cleaned)] @ vectors[len(cleaned) :].T).max(axis=1)
    judgements = []
    for sentence, similarity, best_overlap in zip(sentences, similarities, overlaps, strict=True):
        supported = bool(similarity >= min_similarity or best_overlap >= min_overlap)
        judgements.append(Judgement(sentence, supported, float(similarity), best_overlap))
    return judgements
