"""Find and read the documents of a knowledge base: Markdown, plain text and PDF.

Each unreadable input is reported with its reason and skipped, never fatal on its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = {".md": "md", ".markdown": "md", ".txt": "txt", ".text": "txt", ".pdf": "pdf"}
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest and the name it is known by: its path relative to the ingested root."""

    path: Path
    root: Path
    source: str
    kind: str


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class Page:
    """A unit of text with the line (or page) it starts at, before chunking."""

    text: str
    first_line: int = 1
    label: str = ""


def discover(paths: list[str | Path]) -> tuple[list[SourceFile], list[Skipped]]:
    """Expand files and folders (recursively, hidden entries skipped) into supported files."""
    found: list[SourceFile] = []
    skipped: list[Skipped] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            skipped.append(Skipped(str(raw), "path does not exist"))
        elif path.is_dir():
            root = path.resolve()
            files = sorted(
                p
                for p in root.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
            )
            supported = [p for p in files if p.suffix.lower() in SUFFIXES]
            if not supported:
                skipped.append(Skipped(str(raw), "folder holds no .md, .txt or .pdf files"))
            found.extend(
                SourceFile(p, root, p.relative_to(root).as_posix(), SUFFIXES[p.suffix.lower()])
                for p in supported
            )
        elif path.suffix.lower() in SUFFIXES:
            resolved = path.resolve()
            found.append(SourceFile(resolved, resolved.parent, resolved.name, SUFFIXES[path.suffix.lower()]))
        else:
            skipped.append(Skipped(str(raw), f"unsupported file type '{path.suffix or '(none)'}'"))
    return found, skipped


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_pages(file: SourceFile) -> list[Page]:
    """The file's text as pages; raises ValueError with a short reason when it cannot be read."""
    if file.kind == "pdf":
        return _read_pdf(file.path)
    try:
        data = file.path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read: {exc.strerror or exc}") from exc
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise ValueError("binary file (NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from exc
    if not text.strip():
        raise ValueError("file is empty")
    return [Page(text.replace("\r\n", "\n"))]


def _read_pdf(path: Path) -> list[Page]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        pages = [
            Page(page.extract_text() or "", first_line=i, label=f"page {i}")
            for i, page in enumerate(reader.pages, start=1)
        ]
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"PDF could not be parsed ({exc.__class__.__name__})") from exc
    pages = [p for p in pages if p.text.strip()]
    if not pages:
        raise ValueError("PDF holds no extractable text (scanned images need OCR first)")
    return pages
