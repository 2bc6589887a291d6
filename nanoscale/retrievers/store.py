"""Safe persistence of one knowledge base: a FAISS index, a JSONL chunk store and a manifest.

Layout under ``<index_dir>/<kb>/``: one folder per written version and a ``CURRENT`` file naming
the live one. A new version is written completely, then ``CURRENT`` is swapped with an atomic
rename, so a crash or Ctrl-C at any point leaves the previous version loadable. Nothing is
pickled: FAISS's own format, JSON and JSONL only. The manifest records the embedding model,
chunk settings, each file's content hash and each artifact's size and SHA-256, so a truncated
file or an index from another embedding model is caught at load time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from nanoscale.errors import KnowledgeBaseError

FORMAT_VERSION = 1
INDEX_FILE = "faiss.index"
CHUNKS_FILE = "chunks.jsonl"
MANIFEST_FILE = "manifest.json"
_KB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_kb_name(name: str) -> str:
    if not _KB_NAME.match(name or ""):
        raise KnowledgeBaseError(
            f"invalid knowledge-base name '{name}': use letters, digits, '.', '_' or '-' (max 64)"
        )
    return name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class KnowledgeBase:
    """One named knowledge base in memory: vectors by chunk id, chunks, and the manifest."""

    name: str
    embedding: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    index: Any = None
    chunks: dict[int, dict] = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)  # source -> {sha256, root, ids}
    next_id: int = 0

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def remove_file(self, source: str) -> None:
        entry = self.files.pop(source, None)
        if not entry or not entry["ids"]:
            return
        ids = np.asarray(entry["ids"], dtype=np.int64)
        self.index.remove_ids(ids)
        for chunk_id in entry["ids"]:
            self.chunks.pop(chunk_id, None)

    def add_file(self, source: str, sha256: str, root: str, chunks: list[dict], vectors: np.ndarray) -> None:
        """Replace a file's chunks with new ones (vectors must be L2-normalised float32)."""
        self.remove_file(source)
        ids = list(range(self.next_id, self.next_id + len(chunks)))
        self.next_id += len(chunks)
        if chunks:
            self.index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )
        for chunk_id, chunk in zip(ids, chunks, strict=True):
            self.chunks[chunk_id] = {**chunk, "id": chunk_id, "kb": self.name}
        self.files[source] = {"sha256": sha256, "root": root, "ids": ids}

    def vector(self, chunk_id: int) -> np.ndarray:
        return self.index.reconstruct(int(chunk_id))

    def manifest(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "name": self.name,
            "embedding": {"model": self.embedding, "dim": self.dim},
            "chunking": {"chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap},
            "next_id": self.next_id,
            "count": self.size,
            "files": self.files,
        }


class KnowledgeBaseStore:
    """Reads and writes knowledge bases under one index directory."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)

    def names(self) -> list[str]:
        if not self.index_dir.is_dir():
            return []
        return sorted(p.name for p in self.index_dir.iterdir() if (p / "CURRENT").is_file())

    def exists(self, name: str) -> bool:
        return (self.index_dir / check_kb_name(name) / "CURRENT").is_file()

    def manifest(self, name: str) -> dict | None:
        """The live version's manifest (counts, files) without loading the index; None if unreadable."""
        kb_dir = self.index_dir / check_kb_name(name)
        try:
            version = kb_dir / (kb_dir / "CURRENT").read_text(encoding="utf-8").strip()
            return json.loads((version / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def rebuild_hint(self, name: str) -> str:
        return f"rebuild it with `nanoscale ingest PATH... --kb {name} --rebuild`"

    def load(self, name: str, embedding: str, dim: int) -> KnowledgeBase:
        """Load and check a knowledge base; any mismatch or damage is a KnowledgeBaseError."""
        kb_dir = self.index_dir / check_kb_name(name)
        current = kb_dir / "CURRENT"
        if not current.is_file():
            raise KnowledgeBaseError(
                f"no knowledge base '{name}' in {self.index_dir}; create it with "
                f"`nanoscale ingest PATH... --kb {name}`"
            )
        version = kb_dir / current.read_text(encoding="utf-8").strip()
        hint = self.rebuild_hint(name)
        try:
            manifest = json.loads((version / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KnowledgeBaseError(f"knowledge base '{name}': manifest missing or damaged; {hint}") from exc
        if manifest.get("format") != FORMAT_VERSION:
            raise KnowledgeBaseError(
                f"knowledge base '{name}': unknown format {manifest.get('format')}; {hint}"
            )
        built_with = manifest.get("embedding", {})
        if built_with.get("model") != embedding or built_with.get("dim") != dim:
            raise KnowledgeBaseError(
                f"knowledge base '{name}' was built with embedding model '{built_with.get('model')}' "
                f"(dim {built_with.get('dim')}), not '{embedding}' (dim {dim}); {hint}"
            )
        for artifact, expected in manifest.get("artifacts", {}).items():
            path = version / artifact
            if (
                not path.is_file()
                or path.stat().st_size != expected["size"]
                or _sha256(path) != expected["sha256"]
            ):
                raise KnowledgeBaseError(
                    f"knowledge base '{name}': {artifact} is truncated or changed; {hint}"
                )
        try:
            index = faiss.read_index(str(version / INDEX_FILE))
            with (version / CHUNKS_FILE).open(encoding="utf-8") as handle:
                chunks = {int(c["id"]): c for c in map(json.loads, handle)}
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            raise KnowledgeBaseError(f"knowledge base '{name}': index files unreadable; {hint}") from exc
        if index.ntotal != len(chunks) or index.d != dim:
            raise KnowledgeBaseError(f"knowledge base '{name}': index and chunk store disagree; {hint}")
        return KnowledgeBase(
            name=name,
            embedding=embedding,
            dim=dim,
            chunk_size=manifest["chunking"]["chunk_size"],
            chunk_overlap=manifest["chunking"]["chunk_overlap"],
            index=index,
            chunks=chunks,
            files=manifest.get("files", {}),
            next_id=int(manifest.get("next_id", len(chunks))),
        )

    def save(self, kb: KnowledgeBase) -> Path:
        """Write a complete new version, then point CURRENT at it atomically."""
        kb_dir = self.index_dir / check_kb_name(kb.name)
        kb_dir.mkdir(parents=True, exist_ok=True)
        version_name = f"v{time.time_ns()}"
        staging = kb_dir / f".{version_name}.partial"
        staging.mkdir()
        try:
            faiss.write_index(kb.index, str(staging / INDEX_FILE))
            with (staging / CHUNKS_FILE).open("w", encoding="utf-8") as handle:
                for chunk_id in sorted(kb.chunks):
                    handle.write(json.dumps(kb.chunks[chunk_id], ensure_ascii=False) + "\n")
            manifest = kb.manifest()
            manifest["artifacts"] = {
                name: {"size": (staging / name).stat().st_size, "sha256": _sha256(staging / name)}
                for name in (INDEX_FILE, CHUNKS_FILE)
            }
            manifest["written_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            for path in staging.iterdir():
                with path.open("rb") as handle:
                    os.fsync(handle.fileno())
            os.replace(staging, kb_dir / version_name)
            pointer = kb_dir / "CURRENT.tmp"
            pointer.write_text(version_name + "\n", encoding="utf-8")
            os.replace(pointer, kb_dir / "CURRENT")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._prune(kb_dir, keep=version_name)
        return kb_dir / version_name

    @staticmethod
    def _prune(kb_dir: Path, keep: str) -> None:
        """Drop superseded versions and partial folders left by interrupted runs."""
        for path in kb_dir.iterdir():
            if path.is_dir() and path.name != keep:
                shutil.rmtree(path, ignore_errors=True)
