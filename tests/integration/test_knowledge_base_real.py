"""Ingestion and retrieval on real documents: one AWS guide nobody here wrote, and our own KB."""

from __future__ import annotations

import pytest

from nanoscale.models import EMBEDDING_DIM
from nanoscale.retrievers.ingest import ingest
from nanoscale.retrievers.retriever import open_searcher
from tests.conftest import AWSDOCS

pytestmark = pytest.mark.integration
ECR = AWSDOCS / "ecr"


@pytest.mark.skipif(not ECR.is_dir(), reason="../shared/corpora/awsdocs is not present")
def test_ingest_the_ecr_user_guide(settings, embeddings):
    report = ingest([ECR], "ecr", settings, embeddings.embed_documents, EMBEDDING_DIM, progress=False)
    assert len(report.added) == 78 and not report.skipped
    assert 400 < report.total_chunks < 1500
    again = ingest([ECR], "ecr", settings, embeddings.embed_documents, EMBEDDING_DIM, progress=False)
    assert len(again.unchanged) == 78 and again.chunks_embedded == 0

    searcher = open_searcher(settings, embeddings, ["ecr"])
    expectations = {
        "docker push fails with no basic auth credentials": "common-errors-docker.md",
        "expire untagged images automatically with a lifecycle policy": "lifecycle",
        "cache images from an upstream public registry": "pull-through-cache",
        "scan images for software vulnerabilities": "image-scanning",
    }
    for query, expected in expectations.items():
        sources = [hit.chunk["source"] for hit in searcher.search(query, k=5)]
        assert any(expected in source for source in sources), (query, sources)


def test_project_kb_answers_its_own_questions(project_kb, embeddings):
    searcher = open_searcher(project_kb, embeddings, ["default"])
    expectations = {
        "pod keeps restarting CrashLoopBackOff": {"k8s_troubleshooting.md"},
        "terraform state lock will not release": {"terraform_state.md"},
        "ec2 instance cannot pull docker image from ecr": {"aws_ecr.md"},
        "browser says blocked by CORS policy": {"api_debugging.md"},
        # four host files hold a unit that will not start, each for its own cause
        "systemd unit fails to start": {
            "linux_troubleshooting.md",
            "linux_hosts.md",
            "linux_fault_catalogue.md",
            "linux_error_catalogue.md",
        },
    }
    # Near-ties order differently on different CPUs: an expected file must be in the top three,
    # which the model always reads.
    for query, expected in expectations.items():
        sources = [hit.chunk["source"] for hit in searcher.search(query, k=3)]
        assert expected & set(sources), (query, sources)


@pytest.mark.skipif(not ECR.is_dir(), reason="../shared/corpora/awsdocs is not present")
def test_killing_an_ingest_midway_leaves_the_previous_index(tmp_path, embeddings):
    import os
    import signal
    import subprocess
    import sys

    from nanoscale.config import Settings
    from nanoscale.retrievers.store import KnowledgeBaseStore

    env = {**os.environ, "NANOSCALE_DATA_DIR": str(tmp_path)}
    first = ECR / "common-errors-docker.md"
    done = subprocess.run(
        [sys.executable, "-m", "nanoscale.cli", "ingest", str(first), "--kb", "k"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    settings = Settings.load(overrides={"data_dir": str(tmp_path)}, env={})
    before = KnowledgeBaseStore(settings.index_dir).load(
        "k", "sentence-transformers/all-MiniLM-L6-v2", EMBEDDING_DIM
    )

    process = subprocess.Popen(
        # two guides, so the embedding outlasts the moment the interrupt arrives
        [
            sys.executable,
            "-m",
            "nanoscale.cli",
            "ingest",
            str(ECR),
            str(AWSDOCS / "iam"),
            "--kb",
            "k",
            "--rebuild",
        ],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        # a child inherits an ignored SIGINT (earlier tests' servers can leave it so in pytest)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = ""
    while "embedding into" not in seen:
        char = process.stderr.read(1)
        assert char, "ingest ended before embedding started"
        seen += char
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 130
    after = KnowledgeBaseStore(settings.index_dir).load(
        "k", "sentence-transformers/all-MiniLM-L6-v2", EMBEDDING_DIM
    )
    assert after.size == before.size and list(after.files) == ["common-errors-docker.md"]
