"""How much of each eval case's keywords reaches the model's context: retrieval judged alone.

The answer can only use what the context holds, so the share of a case's expected keywords in
the context the budget keeps (the best-ranked section, cut to about 1,400 characters, the
350-token default) bounds what retrieval gives the model. Seconds a run, no model: ranking
changes are compared here before an end-to-end eval is spent on them. Dev cases only.

Usage: NANOSCALE_DATA_DIR=DIR python scripts/context_coverage.py [CASES ...] [--lexical-weight W]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nanoscale.config import Settings  # noqa: E402
from nanoscale.errors import NanoscaleError  # noqa: E402
from nanoscale.evals.cases import Case, load_cases  # noqa: E402
from nanoscale.evals.metrics import keywords_found  # noqa: E402
from nanoscale.models import load_embeddings  # noqa: E402
from nanoscale.nodes.retrieve import merge_sections, search_query  # noqa: E402
from nanoscale.retrievers.retriever import open_searcher  # noqa: E402
from nanoscale.retrievers.search import Searcher  # noqa: E402

CONTEXT_CHARS = 1400  # about the 350-token context budget
DEFAULT_CASES = [
    ROOT / "data" / "eval" / "dev" / "unseen.jsonl",
    ROOT / "data" / "eval" / "dev" / "cases.jsonl",
]


def context_text(searcher: Searcher, case: Case, k: int) -> str:
    """The first context block the answer step would see for the case (logs included in the query)."""
    logs = case.answers.get("logs")
    hits = searcher.search(search_query(case.question, {"logs": logs} if logs else {}), k=k)
    sections = merge_sections([hit.to_dict() for hit in hits])
    return f"{sections[0]['section']}\n{sections[0]['text'][:CONTEXT_CHARS]}" if sections else ""


def coverage(searcher: Searcher, cases: list[Case], k: int) -> float:
    """Mean share of each case's expected keywords found in its context."""
    return statistics.mean(
        len(keywords_found(context_text(searcher, case, k), case.expected_keywords))
        / len(case.expected_keywords)
        for case in cases
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--lexical-weight", type=float, help="BM25's share of the score (default: settings)")
    args = parser.parse_args(argv)
    if any("test" in path.parts for path in args.cases):
        raise SystemExit("error: the sealed test set is not for tuning retrieval; use dev cases")
    try:  # every case file is read before any model loads: a bad one costs nothing
        case_sets = {path.name: load_cases(path) for path in args.cases}
        settings = Settings.load()
        searcher = open_searcher(settings, load_embeddings(settings), [settings.retrieval.default_kb])
    except NanoscaleError as error:
        raise SystemExit(f"error: {error}") from None
    if args.lexical_weight is not None:
        searcher.settings = replace(searcher.settings, lexical_weight=args.lexical_weight)
    for name, cases in case_sets.items():
        print(f"{name}: context keyword coverage {coverage(searcher, cases, settings.retrieval.k):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
