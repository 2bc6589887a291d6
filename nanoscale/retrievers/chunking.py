"""Heading-aware chunking: a chunk never straddles two sections, and keeps its heading path.

Sections come from Markdown headings (``#`` .. ``######``, ignoring code fences); a section
longer than the chunk size is split by LangChain's recursive splitter with overlap. The
embedded text leads with the title and heading path, which is what makes short, generic
paragraphs findable ("Fix" under "ECR > 403 on pull").
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath

from langchain_text_splitters import RecursiveCharacterTextSplitter

from nanoscale.retrievers.loaders import Page

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_ANCHOR = re.compile(r"<a\s+name=[^>]*>\s*</a>", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>])")


@dataclass
class Chunk:
    """One retrievable passage and where it came from."""

    text: str
    source: str
    title: str
    section: str
    line_start: int
    line_end: int

    def embed_text(self) -> str:
        heading = self.title if self.section == self.title else f"{self.title} > {self.section}"
        return f"{heading}\n{self.text}"

    def to_dict(self) -> dict:
        return asdict(self)


def clean_heading(text: str) -> str:
    return _ESCAPE.sub(r"\1", _ANCHOR.sub("", text)).strip()


def _sections(page: Page, fallback_title: str) -> tuple[str, list[tuple[str, int, list[str]]]]:
    """Split Markdown into (heading path, first line, body lines); returns the document title."""
    title = ""
    stack: list[tuple[int, str]] = []
    sections: list[tuple[str, int, list[str]]] = []
    path, start, body = "", page.first_line, []
    in_fence = False
    for offset, line in enumerate(page.text.split("\n")):
        number = page.first_line + offset
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if not match:
            body.append(line)
            continue
        sections.append((path, start, body))
        level, text = len(match.group(1)), clean_heading(match.group(2))
        if level == 1 and not title:
            title = text
        stack = [(lvl, name) for lvl, name in stack if lvl < level] + [(level, text)]
        names = [name for lvl, name in stack if not (lvl == 1 and name == title)]
        path, start, body = " > ".join(names), number + 1, []
    sections.append((path, start, body))
    title = title or fallback_title
    return title, [(p or title, s, b) for p, s, b in sections if "\n".join(b).strip()]


def chunk_pages(
    pages: list[Page], source: str, kind: str, chunk_size: int, chunk_overlap: int
) -> list[Chunk]:
    """Chunks of one document; Markdown is split along headings, text and PDF pages by size."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=min(chunk_overlap, chunk_size // 2), add_start_index=True
    )
    stem = PurePosixPath(source).stem.replace("_", " ").replace("-", " ")
    chunks: list[Chunk] = []
    for page in pages:
        if kind == "md":
            title, sections = _sections(page, stem)
        else:
            title = stem
            label = page.label or title
            sections = [(label, page.first_line, page.text.split("\n"))]
        for path, first_line, lines in sections:
            body = "\n".join(lines)
            if kind == "md":
                body = _ANCHOR.sub("", _ESCAPE.sub(r"\1", body))
            for piece in splitter.create_documents([body]):
                offset = piece.metadata["start_index"]
                text = piece.page_content.strip()
                if not text:
                    continue
                line_start = first_line + body.count("\n", 0, max(offset, 0))
                line_end = line_start + piece.page_content.count("\n")
                if kind == "pdf":
                    line_start = line_end = page.first_line
                chunks.append(Chunk(text, source, title, path, line_start, line_end))
    return chunks
