"""Retrieval and ingestion benchmark: our pipeline against a plain LangChain-style RAG recipe.

For each corpus: ingest into a fresh index (files/s, chunks/s), then answer a set of paraphrased
question -> expected-file pairs (recall@1, recall@5, MRR) and time queries (p50/p95 over
repeated runs after a warm-up). The anchor is the recipe a user would otherwise copy: 1,000-char
recursive chunks with 100 overlap, the same MiniLM, a flat FAISS inner-product index.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import percentile, write_result  # noqa: E402
from nanoscale.config import Settings  # noqa: E402
from nanoscale.models import EMBEDDING_DIM, embedding_backend, embedding_dtype, load_embeddings  # noqa: E402
from nanoscale.retrievers.ingest import ingest  # noqa: E402
from nanoscale.retrievers.loaders import discover, read_pages  # noqa: E402
from nanoscale.retrievers.retriever import open_searcher  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPORA = {
    "project": (REPO / "data" / "raw", HERE / "questions" / "project.jsonl"),
    "awsdocs": (REPO.parent / "shared" / "corpora" / "awsdocs", HERE / "questions" / "awsdocs.jsonl"),
}


def load_questions(path: Path, only_prefix: str | None = None) -> list[dict]:
    questions = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if only_prefix:
        questions = [q for q in questions if any(e.startswith(only_prefix) for e in q["expected"])]
    return questions


def score(ranked: list[list[str]], questions: list[dict]) -> dict:
    ranks = []
    for sources, question in zip(ranked, questions, strict=True):
        rank = next((i + 1 for i, s in enumerate(sources) if s in question["expected"]), None)
        ranks.append(rank)
    n = len(questions)
    return {
        "questions": n,
        "recall@1": sum(1 for r in ranks if r == 1) / n,
        "recall@5": sum(1 for r in ranks if r and r <= 5) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
        "misses": [q["question"] for q, r in zip(questions, ranks, strict=True) if not r or r > 5],
    }


def time_queries(search, questions: list[dict], repeats: int) -> dict:
    for question in questions[:3]:
        search(question["question"])
    timings = []
    for _ in range(repeats):
        for question in questions:
            start = time.perf_counter()
            search(question["question"])
            timings.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": percentile(timings, 50), "p95_ms": percentile(timings, 95), "samples": len(timings)}


def run_ours(roots: list[Path], questions: list[dict], embeddings, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(overrides={"data_dir": tmp}, env={})
        report = ingest(roots, "bench", settings, embeddings.embed_documents, EMBEDDING_DIM, progress=True)
        files = len(report.added)
        searcher = open_searcher(settings, embeddings, ["bench"])

        def search(query: str) -> list[str]:
            return [hit.chunk["source"] for hit in searcher.search(query, k=5, score_threshold=-1.0)]

        quality = score([search(q["question"]) for q in questions], questions)
        return {
            "files": files,
            "chunks": report.total_chunks,
            "ingest_s": report.seconds,
            "files_per_s": files / report.seconds,
            "chunks_per_s": report.total_chunks / report.seconds,
            **quality,
            **time_queries(search, questions, repeats),
        }


def run_anchor(roots: list[Path], questions: list[dict], embeddings, repeats: int) -> dict:
    """The plain recipe: recursive 1,000/100 chunks of raw text, MiniLM, FAISS flat."""
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from tqdm import tqdm

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100)
    start = time.perf_counter()
    files, _ = discover(roots)
    texts, sources = [], []
    for file in files:
        try:
            pages = read_pages(file)
        except ValueError:
            continue
        for piece in splitter.split_text("\n".join(p.text for p in pages)):
            texts.append(piece)
            sources.append(file.source)
    vectors = []
    for i in tqdm(range(0, len(texts), 512), desc="anchor embedding", unit="group"):
        vectors.append(np.asarray(embeddings.embed_documents(texts[i : i + 512]), dtype=np.float32))
    matrix = np.vstack(vectors)
    index = faiss.IndexFlatIP(matrix.shape[1])
    index.add(matrix)
    seconds = time.perf_counter() - start

    def search(query: str) -> list[str]:
        vector = np.asarray([embeddings.embed_query(query)], dtype=np.float32)
        _, ids = index.search(vector, 5)
        return [sources[i] for i in ids[0] if i >= 0]

    quality = score([search(q["question"]) for q in questions], questions)
    return {
        "files": len(files),
        "chunks": len(texts),
        "ingest_s": seconds,
        "files_per_s": len(files) / seconds,
        "chunks_per_s": len(texts) / seconds,
        **quality,
        **time_queries(search, questions, repeats),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", nargs="+", choices=list(CORPORA), default=list(CORPORA))
    parser.add_argument(
        "--anchor",
        choices=["none", "project", "all"],
        default="project",
        help="run the plain-RAG anchor too (the full awsdocs anchor takes ~12 min on 2 cores)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="awsdocs: only the ECR guide and its questions; project: only the files the questions name",
    )
    parser.add_argument("--repeats", type=int, default=5, help="query timing repeats (default 5)")
    parser.add_argument("--out", help="result file (default benchmarks/results/retrieval-<time>.json)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(torch.get_num_threads())
    settings = Settings.load(env={})
    embeddings = load_embeddings(settings)
    plain_embeddings = None
    if args.anchor != "none":  # the anchor is the plain fp32 sentence-transformers recipe
        settings.retrieval.embedding_dtype = "float32"
        settings.retrieval.embedding_backend = "torch"
        plain_embeddings = load_embeddings(settings)
    results: dict = {
        "settings": {
            "smoke": args.smoke,
            "repeats": args.repeats,
            "embedding_backend": embedding_backend(Settings.load(env={})),
            "embedding_dtype (torch backend only)": embedding_dtype(Settings.load(env={})),
            "anchor": "sentence-transformers through torch, fp32",
        },
        "corpora": {},
    }
    for name in args.corpus:
        root, question_file = CORPORA[name]
        if not root.is_dir():
            print(f"skipping {name}: {root} not found")
            continue
        questions = load_questions(question_file, "ecr/" if args.smoke and name == "awsdocs" else None)
        roots = [root]
        if args.smoke and name == "awsdocs":
            roots = [root / "ecr"]
            questions = [
                {**q, "expected": [e.removeprefix("ecr/") for e in q["expected"]]} for q in questions
            ]
        elif args.smoke:  # a file's source is its name when it is ingested on its own
            roots = [root / name for name in sorted({e for q in questions for e in q["expected"]})]
        entry = {"ours": run_ours(roots, questions, embeddings, args.repeats)}
        if args.anchor == "all" or (args.anchor == "project" and name == "project"):
            entry["anchor"] = run_anchor(roots, questions, plain_embeddings, args.repeats)
        results["corpora"][name] = entry
    path = write_result("retrieval", results, args.out)
    print(
        f"\n{'corpus':<9} {'system':<7} {'files':>6} {'chunks':>7} {'chunks/s':>9} {'R@1':>5} {'R@5':>5} "
        f"{'MRR':>5} {'p50 ms':>7} {'p95 ms':>7}"
    )
    for name, entry in results["corpora"].items():
        for system, r in entry.items():
            print(
                f"{name:<9} {system:<7} {r['files']:>6} {r['chunks']:>7} {r['chunks_per_s']:>9.1f} "
                f"{r['recall@1']:>5.2f} {r['recall@5']:>5.2f} {r['mrr']:>5.2f} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f}"
            )
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
