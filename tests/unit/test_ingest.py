from pathlib import Path

import pytest

from nanoscale.errors import KnowledgeBaseError
from nanoscale.retrievers.ingest import ingest
from nanoscale.retrievers.retriever import KnowledgeBaseRetriever, open_searcher
from nanoscale.retrievers.search import Searcher
from nanoscale.retrievers.store import KnowledgeBaseStore


def _write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    _write(root, "docker.md", "# Docker\n\n## Exit code 137\n\nThe container was OOMKilled by the kernel.\n")
    _write(root, "k8s/pods.md", "# Pods\n\n## CrashLoopBackOff\n\nRead kubectl logs --previous.\n")
    _write(root, "notes.txt", "ImagePullBackOff means the image cannot be pulled from the registry.\n")
    return root


def _ingest(paths, settings, fake_embeddings, **kwargs):
    return ingest(paths, "t", settings, fake_embeddings.embed_documents, 384, progress=False, **kwargs)


def test_ingest_then_skip_unchanged_then_replace_changed(docs, settings, fake_embeddings):
    first = _ingest([docs], settings, fake_embeddings)
    assert sorted(first.added) == ["docker.md", "k8s/pods.md", "notes.txt"]
    assert first.total_chunks == 3
    second = _ingest([docs], settings, fake_embeddings)
    assert second.chunks_embedded == 0 and len(second.unchanged) == 3
    _write(
        docs, "docker.md", "# Docker\n\n## Exit code 137\n\nOOMKilled.\n\n## Exit 127\n\nCommand not found.\n"
    )
    (docs / "notes.txt").unlink()
    third = _ingest([docs], settings, fake_embeddings)
    assert third.updated == ["docker.md"] and third.removed == ["notes.txt"]
    kb = KnowledgeBaseStore(settings.index_dir).load("t", "sentence-transformers/all-MiniLM-L6-v2", 384)
    assert sorted(c["source"] for c in kb.chunks.values()) == ["docker.md", "docker.md", "k8s/pods.md"]


def test_single_files_do_not_remove_their_neighbours(docs, settings, fake_embeddings):
    _ingest([docs / "docker.md"], settings, fake_embeddings)
    report = _ingest([docs / "notes.txt"], settings, fake_embeddings)
    assert report.removed == [] and report.total_chunks == 2


def test_bad_inputs_are_reported_and_skipped(tmp_path, docs, settings, fake_embeddings):
    (tmp_path / "empty").mkdir()
    (docs / "blob.md").write_bytes(b"\x00\x01binary\x00")
    (docs / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (docs / "blank.md").write_text("   \n")
    (docs / "image.png").write_bytes(b"\x89PNG")
    report = _ingest(
        [docs, tmp_path / "missing", tmp_path / "empty", docs / "image.png"], settings, fake_embeddings
    )
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert "binary" in reasons["blob.md"]
    assert "UTF-8" in reasons["latin.txt"]
    assert "PDF" in reasons["broken.pdf"]
    assert "empty" in reasons["blank.md"]
    assert "does not exist" in reasons["missing"]
    assert "no .md" in reasons["empty"]
    assert "unsupported" in reasons["image.png"]
    assert report.total_chunks == 3


def test_nothing_ingestable_is_an_error_and_writes_nothing(tmp_path, settings, fake_embeddings):
    (tmp_path / "empty").mkdir()
    with pytest.raises(KnowledgeBaseError, match="nothing could be ingested"):
        _ingest([tmp_path / "empty", tmp_path / "nope"], settings, fake_embeddings)
    assert KnowledgeBaseStore(settings.index_dir).names() == []


def test_changed_chunk_settings_need_rebuild(docs, settings, fake_embeddings):
    _ingest([docs], settings, fake_embeddings)
    settings.retrieval.chunk_size = 300
    with pytest.raises(KnowledgeBaseError, match="--rebuild"):
        _ingest([docs], settings, fake_embeddings)
    assert _ingest([docs], settings, fake_embeddings, rebuild=True).total_chunks == 3


def test_pdf_ingest(tmp_path, settings, fake_embeddings):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    path = tmp_path / "blank.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(KnowledgeBaseError, match="no extractable text"):
        _ingest([path], settings, fake_embeddings)


def test_search_and_retriever_over_two_kbs(docs, settings, fake_embeddings):
    _ingest([docs], settings, fake_embeddings)
    other = ingest(
        [docs / "docker.md"], "second", settings, fake_embeddings.embed_documents, 384, progress=False
    )
    assert other.total_chunks == 1
    searcher = open_searcher(settings, fake_embeddings)
    assert set(searcher.names) == {"t", "second"}
    hits = searcher.search("container OOMKilled exit code 137", k=3)
    assert hits[0].chunk["source"] == "docker.md"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    only = searcher.search("container OOMKilled", k=5, kbs=["second"])
    assert {h.chunk["kb"] for h in only} == {"second"}
    with pytest.raises(KnowledgeBaseError, match="unknown knowledge base"):
        searcher.search("x", kbs=["nope"])
    retriever = KnowledgeBaseRetriever(searcher=searcher, k=2, knowledge_bases=["t"])
    documents = retriever.invoke("kubectl logs previous CrashLoopBackOff")
    assert documents[0].metadata["source"] == "k8s/pods.md"
    assert {"score", "similarity", "section", "kb", "line_start"} <= set(documents[0].metadata)
    assert searcher.search("   ") == []


def test_mmr_and_threshold(docs, settings, fake_embeddings):
    _ingest([docs], settings, fake_embeddings)
    searcher = open_searcher(settings, fake_embeddings)
    assert len(searcher.search("OOMKilled", k=2, mmr=True, score_threshold=0.0)) == 2
    assert searcher.search("zzzz qqqq", score_threshold=0.5) == []


def test_no_knowledge_base_is_a_clear_error(settings, fake_embeddings):
    with pytest.raises(KnowledgeBaseError):
        Searcher([], fake_embeddings.embed_query, settings.retrieval)


def test_the_project_knowledge_base_is_built_on_first_use(settings, fake_embeddings, tmp_path, capsys):
    import dataclasses

    from nanoscale.retrievers.store import KnowledgeBaseStore

    docs = tmp_path / "raw"
    docs.mkdir()
    (docs / "k8s.md").write_text("# Pods\n\n## CrashLoopBackOff\n\nRun kubectl logs --previous to see the last crash.\n")
    project = dataclasses.replace(settings, paths=dataclasses.replace(settings.paths, knowledge_base=docs))
    searcher = open_searcher(project, fake_embeddings)
    assert KnowledgeBaseStore(project.index_dir).names() == ["default"]
    assert "building 'default'" in capsys.readouterr().err
    assert searcher.search("kubectl logs previous", k=1)
    open_searcher(project, fake_embeddings)  # the second time it is only opened
    assert "building" not in capsys.readouterr().err


def test_without_a_project_knowledge_base_the_error_names_the_fix(settings, fake_embeddings, tmp_path):
    import dataclasses

    missing = dataclasses.replace(settings, paths=dataclasses.replace(settings.paths, knowledge_base=tmp_path / "x"))
    with pytest.raises(KnowledgeBaseError, match="nanoscale ingest"):
        open_searcher(missing, fake_embeddings)
