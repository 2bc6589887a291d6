"""Shared fixtures: isolated settings, a deterministic fake embedder, LangChain fake chat models."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from nanoscale.config import Settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
AWSDOCS = REPO.parent / "shared" / "corpora" / "awsdocs"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with every path under a fresh temporary data directory."""
    return Settings.load(overrides={"data_dir": str(tmp_path / "data")}, env={})


def fake_vector(text: str, dim: int = 384) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words get similar vectors."""
    vector = np.zeros(dim, dtype=np.float32)
    for word in text.lower().split():
        digest = hashlib.sha256(word.strip(".,:;!?()[]`'\"").encode()).digest()
        vector[int.from_bytes(digest[:4], "little") % dim] += 1.0
    norm = np.linalg.norm(vector)
    return list(vector / norm) if norm else list(vector)


class FakeEmbeddings:
    """LangChain-shaped embeddings without a model, for unit tests."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [fake_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return fake_vector(text)


@pytest.fixture
def fake_embeddings() -> FakeEmbeddings:
    return FakeEmbeddings()


TINY_WORDS = [
    "the",
    "a",
    "pod",
    "node",
    "image",
    "region",
    "error",
    "fix",
    "check",
    "run",
    "aws",
    "ecr",
    "ec2",
    "kubectl",
    "docker",
    "logs",
    "role",
    "policy",
    "pull",
    "push",
    "access",
    "denied",
    "instance",
    "cluster",
    "service",
    "token",
    "missing",
    "network",
    "subnet",
    "bucket",
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }} {{ m['content'] }}<|im_end|>{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant{% endif %}"
)


def build_tiny_model(folder: Path) -> Path:
    """A randomly initialised 2-layer Llama with a word-level tokenizer: seconds, no downloads."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<|im_start|>", "<|im_end|>", "<pad>"]
    vocab = {token: i for i, token in enumerate(specials + TINY_WORDS)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<pad>",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
