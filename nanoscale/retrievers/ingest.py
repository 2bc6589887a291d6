"""`nanoscale ingest`: files and folders into a named knowledge base, incrementally.

A file whose content hash is unchanged is skipped; a changed file's chunks are replaced; a file
that vanished from an ingested folder is dropped. Embedding happens before anything is written,
and the store swaps versions atomically, so an interrupted ingest leaves the old index intact.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nanoscale.config import Settings
from nanoscale.errors import KnowledgeBaseError
from nanoscale.retrievers.chunking import chunk_pages
from nanoscale.retrievers.loaders import Skipped, SourceFile, discover, file_sha256, read_pages
from nanoscale.retrievers.store import KnowledgeBase, KnowledgeBaseStore, check_kb_name

EmbedFn = Callable[[list[str]], list[list[float]]]
_ENCODE_GROUP = 512  # texts per encode call: large enough for length-sorted batching


@dataclass
class IngestReport:
    kb: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_embedded: int = 0
    total_chunks: int = 0
    seconds: float = 0.0

    @property
    def ingested_anything(self) -> bool:
        return bool(self.added or self.updated or self.unchanged or self.removed)

    def to_dict(self) -> dict:
        return {
            "kb": self.kb,
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "chunks_embedded": self.chunks_embedded,
            "total_chunks": self.total_chunks,
            "seconds": round(self.seconds, 2),
        }


def embedding_id(settings: Settings) -> str:
    """The name recorded in a manifest for the embedding model in use."""
    name = settings.retrieval.embedding_model
    return "sentence-transformers/all-MiniLM-L6-v2" if name == "minilm" else Path(name).name


def embed_texts(embed: EmbedFn, texts: list[str], progress: bool, desc: str) -> np.ndarray:
    """Embed in large groups (so length-sorted batching pays off) with one progress bar."""
    vectors: list[np.ndarray] = []
    with tqdm(total=len(texts), unit="chunk", desc=desc, disable=not progress) as bar:
        for start in range(0, len(texts), _ENCODE_GROUP):
            group = texts[start : start + _ENCODE_GROUP]
            vectors.append(np.asarray(embed(group), dtype=np.float32))
            bar.update(len(group))
    if not vectors:
        return np.zeros((0, 0), dtype=np.float32)
    matrix = np.vstack(vectors)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def ingest(
    paths: list[str | Path],
    kb_name: str,
    settings: Settings,
    embed: EmbedFn,
    dim: int,
    rebuild: bool = False,
    progress: bool = True,
) -> IngestReport:
    """Ingest paths into `kb_name`; raises KnowledgeBaseError only when nothing was ingested."""
    import time

    started = time.perf_counter()
    check_kb_name(kb_name)
    report = IngestReport(kb=kb_name)
    store = KnowledgeBaseStore(settings.index_dir)
    retrieval = settings.retrieval
    model_id = embedding_id(settings)
    if store.exists(kb_name) and not rebuild:
        kb = store.load(kb_name, model_id, dim)
        if (kb.chunk_size, kb.chunk_overlap) != (retrieval.chunk_size, retrieval.chunk_overlap):
            raise KnowledgeBaseError(
                f"knowledge base '{kb_name}' was chunked with size {kb.chunk_size}/overlap "
                f"{kb.chunk_overlap}, settings say {retrieval.chunk_size}/{retrieval.chunk_overlap}; "
                "add --rebuild to re-chunk everything"
            )
    else:
        kb = KnowledgeBase(kb_name, model_id, dim, retrieval.chunk_size, retrieval.chunk_overlap)

    files, report.skipped = discover(paths)
    pending: list[tuple[SourceFile, str, list[dict]]] = []
    seen: set[str] = set()
    for file in tqdm(files, unit="file", desc="reading", disable=not progress or len(files) < 50):
        key = _source_key(file, kb)
        seen.add(key)
        try:
            digest = file_sha256(file.path)
        except OSError as exc:
            report.skipped.append(Skipped(str(file.path), f"cannot read: {exc.strerror or exc}"))
            continue
        previous = kb.files.get(key)
        if previous and previous["sha256"] == digest:
            report.unchanged.append(key)
            continue
        try:
            pages = read_pages(file)
        except ValueError as exc:
            report.skipped.append(Skipped(str(file.path), str(exc)))
            continue
        chunks = chunk_pages(pages, key, file.kind, retrieval.chunk_size, retrieval.chunk_overlap)
        if not chunks:
            report.skipped.append(Skipped(str(file.path), "no text to index"))
            continue
        pending.append((file, digest, [c.to_dict() | {"embed_text": c.embed_text()} for c in chunks]))
        (report.updated if previous else report.added).append(key)

    folders = {str(Path(p).expanduser().resolve()) for p in paths if Path(p).expanduser().is_dir()}
    for key, entry in list(kb.files.items()):
        if entry.get("root") in folders and key not in seen:
            kb.remove_file(key)
            report.removed.append(key)

    texts = [chunk["embed_text"] for _, _, chunks in pending for chunk in chunks]
    vectors = embed_texts(embed, texts, progress, desc=f"embedding into '{kb_name}'")
    offset = 0
    for file, digest, chunks in pending:
        for chunk in chunks:
            chunk.pop("embed_text")
        kb.add_file(
            _source_key(file, kb), digest, str(file.root), chunks, vectors[offset : offset + len(chunks)]
        )
        offset += len(chunks)
    report.chunks_embedded = len(texts)

    if not report.ingested_anything:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in report.skipped[:5]) or "no input"
        raise KnowledgeBaseError(f"nothing could be ingested into '{kb_name}' ({reasons})")
    if pending or report.removed or rebuild or not store.exists(kb_name):
        store.save(kb)
    report.total_chunks = kb.size
    report.seconds = time.perf_counter() - started
    return report


def ingest_paths(
    paths: list[str | Path],
    settings: Settings,
    kb: str | None = None,
    rebuild: bool = False,
    progress: bool = True,
) -> IngestReport:
    """`ingest` with the configured embedding model, into `kb` (default: the settings' default KB).

    The model loads on the first text to embed: a run where nothing is new (or nothing can be
    read) answers in a second instead of after a model load or an ONNX export."""
    from nanoscale.models import EMBEDDING_DIM, load_embeddings

    model = functools.cache(lambda: load_embeddings(settings))
    name = kb or settings.retrieval.default_kb
    return ingest(
        paths, name, settings, lambda texts: model().embed_documents(texts), EMBEDDING_DIM, rebuild, progress
    )


def _source_key(file: SourceFile, kb: KnowledgeBase) -> str:
    """A file's name in the KB: relative to its ingested root, disambiguated across roots."""
    entry = kb.files.get(file.source)
    if entry is None or entry.get("root") == str(file.root):
        return file.source
    return f"{file.root.name}/{file.source}"
