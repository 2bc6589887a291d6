"""Integration fixtures: real packaged models and a real knowledge base in a persistent test data
directory (`.test-data/`, git-ignored), so assembled models are reused between runs."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from nanoscale.config import Settings

REPO = Path(__file__).resolve().parents[2]
TEST_DATA = Path(os.environ.get("NANOSCALE_TEST_DATA_DIR", REPO / ".test-data"))

pytestmark = pytest.mark.integration


def real_settings(**overrides) -> Settings:
    base = {"data_dir": str(TEST_DATA), "model.preset": "smollm2-135m", "model.max_new_tokens": 48}
    return Settings.load(overrides={**base, **overrides}, env={})


@pytest.fixture(scope="session")
def embeddings():
    from nanoscale.models import load_embeddings

    return load_embeddings(real_settings())


@pytest.fixture(scope="session")
def project_kb(embeddings) -> Settings:
    """The project's own knowledge base (data/raw) ingested into the test data directory."""
    from nanoscale.models import EMBEDDING_DIM
    from nanoscale.retrievers.ingest import ingest

    settings = real_settings()
    ingest(
        [REPO / "data" / "raw"],
        "default",
        settings,
        embeddings.embed_documents,
        EMBEDDING_DIM,
        progress=False,
    )
    return settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
