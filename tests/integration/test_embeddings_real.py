"""The ONNX embedding path on the packaged MiniLM: the same vectors and the same retrieval as
sentence-transformers on torch, and a cold `ask` that never imports torch."""

from __future__ import annotations

import json

import numpy as np

from nanoscale.embeddings import OnnxEmbeddings, exported
from nanoscale.evals.cases import load_cases
from nanoscale.models import embedding_model_path
from nanoscale.retrievers.loaders import discover, read_pages
from tests.integration.conftest import REPO, TEST_DATA, run_cli


def test_onnx_vectors_and_rankings_match_torch():
    from langchain_huggingface import HuggingFaceEmbeddings

    from nanoscale.config import Settings

    settings = Settings(data_dir=TEST_DATA)
    folder = embedding_model_path(settings)
    # the suite's own export (made once, as `ask` makes it): a fresh one is test_first_run_real's
    onnx = OnnxEmbeddings(exported(folder, settings.models_dir / "embeddings"), folder)
    torch = HuggingFaceEmbeddings(
        model_name=str(folder),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"normalize_embeddings": True},
    )
    files, _ = discover([REPO / "data" / "raw"])
    paragraphs = [p for f in files for page in read_pages(f) for p in page.text.split("\n\n") if len(p) > 80]
    texts = paragraphs[:150]
    questions = [case.question for case in load_cases(REPO / "data" / "eval" / "dev", sample=20)]
    docs_onnx, docs_torch = np.array(onnx.embed_documents(texts)), np.array(torch.embed_documents(texts))
    assert np.abs(docs_onnx - docs_torch).max() < 1e-4
    for question in questions:
        top_onnx = np.argsort(-(docs_onnx @ np.array(onnx.embed_query(question))))[:4]
        top_torch = np.argsort(-(docs_torch @ np.array(torch.embed_query(question))))[:4]
        assert list(top_onnx) == list(top_torch), question


def test_a_cold_answer_never_imports_torch(project_kb):
    done = run_cli(
        "ask",
        "--json",
        "--region",
        "eu-west-1",
        "My EC2 instance cannot pull a container image from ECR.",
        PYTHONPROFILEIMPORTTIME="1",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["status"] == "answer"
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "onnxruntime" in imported and "llama_cpp" in imported  # the profile saw the answer path
    assert not {"torch", "sentence_transformers"} & imported
