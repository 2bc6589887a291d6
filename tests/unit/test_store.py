import faiss
import numpy as np
import pytest

from nanoscale.errors import KnowledgeBaseError
from nanoscale.retrievers import store as store_module
from nanoscale.retrievers.store import KnowledgeBase, KnowledgeBaseStore, check_kb_name

DIM = 8


def _kb(name="kb", n=3) -> KnowledgeBase:
    kb = KnowledgeBase(name, "model-a", DIM, 1000, 100)
    vectors = np.eye(DIM, dtype=np.float32)[:n]
    chunks = [
        {"text": f"t{i}", "source": "a.md", "title": "A", "section": "S", "line_start": 1, "line_end": 2}
        for i in range(n)
    ]
    kb.add_file("a.md", "hash-a", "/root", chunks, vectors)
    return kb


def test_round_trip_and_file_replacement(tmp_path):
    store = KnowledgeBaseStore(tmp_path)
    kb = _kb()
    store.save(kb)
    loaded = store.load("kb", "model-a", DIM)
    assert loaded.size == 3 and loaded.files["a.md"]["sha256"] == "hash-a"
    loaded.add_file("a.md", "hash-b", "/root", [dict(loaded.chunks[0])], np.eye(DIM, dtype=np.float32)[:1])
    assert loaded.size == 1
    store.save(loaded)
    assert store.load("kb", "model-a", DIM).files["a.md"]["ids"] == [3]
    assert store.names() == ["kb"]


def test_crash_mid_save_keeps_the_previous_index(tmp_path, monkeypatch):
    store = KnowledgeBaseStore(tmp_path)
    store.save(_kb(n=3))
    bigger = _kb(n=5)

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module.faiss, "write_index", crash)
    with pytest.raises(KeyboardInterrupt):
        store.save(bigger)
    monkeypatch.undo()
    assert store.load("kb", "model-a", DIM).size == 3
    assert not any(p.name.endswith(".partial") for p in (tmp_path / "kb").iterdir())


def test_truncated_index_is_a_clear_error(tmp_path):
    store = KnowledgeBaseStore(tmp_path)
    version = store.save(_kb())
    index_file = version / "faiss.index"
    index_file.write_bytes(index_file.read_bytes()[:-20])
    with pytest.raises(KnowledgeBaseError, match="truncated.*--rebuild"):
        store.load("kb", "model-a", DIM)


def test_other_embedding_model_is_refused(tmp_path):
    store = KnowledgeBaseStore(tmp_path)
    store.save(_kb())
    with pytest.raises(KnowledgeBaseError, match="built with embedding model 'model-a'"):
        store.load("kb", "model-b", DIM)


def test_damaged_manifest_and_missing_kb(tmp_path):
    store = KnowledgeBaseStore(tmp_path)
    version = store.save(_kb())
    (version / "manifest.json").write_text("{not json")
    with pytest.raises(KnowledgeBaseError, match="manifest"):
        store.load("kb", "model-a", DIM)
    with pytest.raises(KnowledgeBaseError, match="nanoscale ingest"):
        store.load("other", "model-a", DIM)


def test_never_pickles(tmp_path):
    version = KnowledgeBaseStore(tmp_path).save(_kb())
    assert sorted(p.name for p in version.iterdir()) == ["chunks.jsonl", "faiss.index", "manifest.json"]
    assert faiss.read_index(str(version / "faiss.index")).ntotal == 3


@pytest.mark.parametrize("name", ["", "../etc", "a/b", "x" * 65, ".hidden"])
def test_kb_names_are_checked(name):
    with pytest.raises(KnowledgeBaseError):
        check_kb_name(name)
