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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an integration test (a conftest's `pytestmark` marks nothing)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)


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


def run_cli(*args: str, timeout: int = 300, **env: str):
    """`nanoscale ARGS` in a subprocess on the test data dir and SmolLM2, with no terminal on stdin."""
    import subprocess
    import sys

    environment = {
        **os.environ,
        "NANOSCALE_DATA_DIR": str(TEST_DATA),
        "NANOSCALE_MODEL_PRESET": "smollm2-135m",
        "NANOSCALE_MODEL_MAX_NEW_TOKENS": "48",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "nanoscale.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
