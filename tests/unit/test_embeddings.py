"""The ONNX embedding backend: pooling, backend choice, export caching and the torch fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nanoscale import embeddings as onnx_embeddings
from nanoscale import models
from nanoscale.config import Settings
from nanoscale.errors import ModelNotAvailable


def test_mean_pool_ignores_padding_and_returns_unit_vectors():
    hidden = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    pooled = onnx_embeddings.mean_pool(hidden, mask)
    assert np.allclose(pooled, [[1.0, 0.0]])  # mean (2, 0), the padded token left out, unit length


def test_auto_backend_uses_onnx_only_where_it_is_installed(monkeypatch):
    settings = Settings()
    monkeypatch.setattr(onnx_embeddings, "onnx_available", lambda: True)
    assert models.embedding_backend(settings) == "onnx"
    monkeypatch.setattr(onnx_embeddings, "onnx_available", lambda: False)
    assert models.embedding_backend(settings) == "torch"
    settings.retrieval.embedding_backend = "torch"
    monkeypatch.setattr(onnx_embeddings, "onnx_available", lambda: True)
    assert models.embedding_backend(settings) == "torch"
    settings.retrieval.embedding_backend = "tensorflow"
    with pytest.raises(ModelNotAvailable, match="embedding_backend"):
        models.embedding_backend(settings)


def _model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "pkg" / "model"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


def test_the_export_is_reused_until_the_weights_change(tmp_path, monkeypatch):
    folder, cache = _model_folder(tmp_path), tmp_path / "cache"
    calls = []

    def fake_export(model_dir: Path, target: Path) -> Path:
        calls.append(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"onnx")
        target.with_suffix(".stamp").write_text(onnx_embeddings._stamp(model_dir))
        return target

    monkeypatch.setattr(onnx_embeddings, "export", fake_export)
    first = onnx_embeddings.exported(folder, cache)
    assert onnx_embeddings.exported(folder, cache) == first and len(calls) == 1
    (folder / "model.safetensors").write_bytes(b"other weights")
    onnx_embeddings.exported(folder, cache)
    assert len(calls) == 2


def test_a_failed_export_is_a_model_error_not_a_crash(tmp_path, monkeypatch):
    def broken(model_dir: Path, target: Path) -> Path:
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(onnx_embeddings, "export", broken)
    with pytest.raises(ModelNotAvailable, match="exporter exploded"):
        onnx_embeddings.exported(_model_folder(tmp_path), tmp_path / "cache")


def test_auto_falls_back_to_torch_but_an_explicit_onnx_choice_fails(tmp_path, monkeypatch):
    import langchain_huggingface

    folder = _model_folder(tmp_path)
    settings = Settings(data_dir=tmp_path / "data")
    settings.retrieval.embedding_model = str(folder)

    def unavailable(model_dir: Path, cache: Path) -> Path:
        raise ModelNotAvailable("no exporter here")

    monkeypatch.setattr(onnx_embeddings, "onnx_available", lambda: True)
    monkeypatch.setattr(onnx_embeddings, "exported", unavailable)
    monkeypatch.setattr(langchain_huggingface, "HuggingFaceEmbeddings", lambda **kwargs: ("torch", kwargs))
    backend, kwargs = models.load_embeddings(settings)
    assert backend == "torch" and kwargs["model_name"] == str(folder)
    settings.retrieval.embedding_backend = "onnx"
    with pytest.raises(ModelNotAvailable, match="no exporter here"):
        models.load_embeddings(settings)


def test_length_sorted_batches_return_vectors_in_the_callers_order():
    class FakeSession:
        """The 'hidden state' of each token is its id, so each text's vector says which text it was."""

        def __init__(self) -> None:
            self.widths: list[int] = []

        def run(self, _outputs, feed):
            ids = feed["input_ids"].astype(np.float32)
            self.widths.append(ids.shape[1])
            return [np.stack([ids, np.ones_like(ids)], axis=-1)]

    class FakeEncoding:
        def __init__(self, ids: list[int], width: int) -> None:
            self.ids = ids + [0] * (width - len(ids))
            self.attention_mask = [1] * len(ids) + [0] * (width - len(ids))

    class FakeTokenizer:
        def encode_batch(self, texts):
            width = max(len(t.split()) for t in texts)
            return [FakeEncoding([len(t.split())] * len(t.split()), width) for t in texts]

    embedder = object.__new__(onnx_embeddings.OnnxEmbeddings)
    embedder.session, embedder.tokenizer, embedder.batch_size = FakeSession(), FakeTokenizer(), 2
    texts = ["a b c d e f", "a", "a b c", "a b", "a b c d e f g h"]
    vectors = np.array(embedder.embed_documents(texts))
    words = [len(t.split()) for t in texts]
    expected = np.array([[w, 1.0] for w in words]) / np.linalg.norm([[w, 1.0] for w in words], axis=1)[:, None]
    assert np.allclose(vectors, expected)  # each row belongs to the text at the same position
    assert embedder.session.widths == [8, 3, 1]  # longest first, so short texts never pad to long ones


def test_bf16_is_chosen_only_where_the_cpu_has_amx(tmp_path):
    zen4_like = tmp_path / "zen4"
    zen4_like.write_text("processor : 0\nflags : avx2 avx512f avx512_bf16 avx512_vnni\n")
    sapphire_rapids = tmp_path / "spr"
    sapphire_rapids.write_text("flags : avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n")
    assert not models.cpu_has_amx(zen4_like)  # bf16 without AMX measured at 0.53-0.71x fp32
    assert models.cpu_has_amx(sapphire_rapids)
    assert not models.cpu_has_amx(tmp_path / "missing")
