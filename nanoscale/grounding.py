"""Is a sentence of an answer supported by the evidence (context, question, user replies)?

Two judges, either sufficient: MiniLM cosine similarity to the closest evidence passage, and
the share of the sentence's content words found in one evidence block. Embedding similarity
catches paraphrase; word overlap catches exact commands and names that embeddings blur.

Word overlap comes in two kinds (`OVERLAPS`, chosen by `graph.support_overlap_kind`): "plain"
counts bag-of-words matches, so "do not run X" matches "run X" and a sentence with no content
word scores 1.0; "negation" tags each word with the polarity of its clause, so a word matches
only a word of the same polarity, and scores a sentence with no content word 0.0 (undecided).
How well each agrees with hand labels is measured by `nanoscale judge-eval` (README, "How the
judge was checked").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nanoscale.retrievers.lexical import tokenize

EmbedFn = Callable[[list[str]], list[list[float]]]
OverlapFn = Callable[[list[str], Sequence[str]], list[float]]
_CITATION = re.compile(r"\s*\[(?:\d+|tool:[\w.-]+)(?:\s*,\s*(?:\d+|tool:[\w.-]+))*\]")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(\[])|\n+")
_MIN_WORDS = 4
# A negation governs the rest of its clause; a clause ends at punctuation (a dot or colon only
# before a space, so `daemon.json` and `ecr:PutImage` stay whole) or at a contrasting word.
_NEGATION = re.compile(r"\b(?:no|not|never|none|nothing|neither|nor|without|cannot)\b|\b\w+n['’]t\b", re.I)
_CLAUSE_END = re.compile(r"[,;()\n]|[.!?:](?=\s|$)|\b(?:but|while|unless|then)\b", re.I)
NEGATED = "not"  # the one token every negation cue becomes, so "never" in a sentence meets "no" in evidence
PolarToken = tuple[str, bool]


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


def strip_citations(sentence: str) -> str:
    """The sentence without `[1]` or `[tool:x]` markers: a citation is neither claim nor support."""
    return _CITATION.sub("", sentence)


def overlap(sentence: str, block_tokens: set[str]) -> float:
    words = set(tokenize(strip_citations(sentence)))
    return len(words & block_tokens) / len(words) if words else 1.0


def plain_overlaps(sentences: list[str], evidence: Sequence[str]) -> list[float]:
    """Each sentence's best bag-of-words overlap with one evidence block (negation-blind)."""
    blocks = [set(tokenize(block)) for block in evidence if block.strip()]
    return [max((overlap(sentence, block) for block in blocks), default=0.0) for sentence in sentences]


def polar_tokens(text: str) -> set[PolarToken]:
    """Content words, each tagged True when a negation earlier in its clause governs it.

    Every cue also adds the token `NEGATED`, so negation words count as content: "do not run
    `force-unlock`" yields ("run", True), ("force", True), ("unlock", True), ("not", True).
    """
    tokens: set[PolarToken] = set()
    for clause in _CLAUSE_END.split(strip_citations(text)):
        cue = _NEGATION.search(clause)
        if cue is None:
            tokens.update((word, False) for word in tokenize(clause))
            continue
        tokens.update((word, False) for word in tokenize(clause[: cue.start()]))
        tokens.add((NEGATED, True))
        tokens.update((word, True) for word in tokenize(_NEGATION.sub(" ", clause[cue.end() :])))
    return tokens


def polar_overlap(sentence: set[PolarToken], block: set[PolarToken]) -> float:
    """Share of the sentence's words found in the block with the same polarity; 0.0 (undecided,
    left to the other judge) for a sentence with no content word, which plain overlap would pass."""
    return len(sentence & block) / len(sentence) if sentence else 0.0


def negation_overlaps(sentences: list[str], evidence: Sequence[str]) -> list[float]:
    """Each sentence's best polarity-aware overlap with one evidence block."""
    blocks = [polar_tokens(block) for block in evidence if block.strip()]
    return [
        max((polar_overlap(polar_tokens(sentence), block) for block in blocks), default=0.0)
        for sentence in sentences
    ]


OVERLAPS: dict[str, OverlapFn] = {"plain": plain_overlaps, "negation": negation_overlaps}


def similarities(sentences: list[str], evidence: Sequence[str], embed: EmbedFn) -> np.ndarray:
    """Each sentence's MiniLM cosine similarity to its closest evidence passage; 0.0 without evidence."""
    windows = passages(evidence)
    if not sentences or not windows:
        return np.zeros(len(sentences))
    cleaned = [strip_citations(sentence) for sentence in sentences]
    vectors = np.asarray(embed(cleaned + windows), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return (vectors[: len(cleaned)] @ vectors[len(cleaned) :].T).max(axis=1)


def judge(
    sentences: list[str],
    evidence: Sequence[str],
    embed: EmbedFn | None,
    min_similarity: float,
    min_overlap: float,
    overlap_kind: str = "plain",
) -> list[Judgement]:
    """Judge each sentence against the evidence; no evidence means nothing is supported."""
    if not sentences:
        return []
    overlaps = OVERLAPS[overlap_kind](sentences, evidence)
    # Embedding is the expensive part (tens of ms per answer on 2 cores): only sentences that
    # lexical overlap does not already support are embedded; the others keep similarity 0.0.
    undecided = [i for i, best in enumerate(overlaps) if best < min_overlap]
    scores = np.zeros(len(sentences))
    if embed is not None and undecided:
        scores[undecided] = similarities([sentences[i] for i in undecided], evidence, embed)
    judgements = []
    for sentence, similarity, best_overlap in zip(sentences, scores, overlaps, strict=True):
        supported = bool(similarity >= min_similarity or best_overlap >= min_overlap)
        judgements.append(Judgement(sentence, supported, float(similarity), best_overlap))
    return judgements
