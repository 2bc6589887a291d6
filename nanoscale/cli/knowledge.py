"""`nanoscale ingest` and `nanoscale search`: the knowledge bases."""

from __future__ import annotations

import argparse
import sys

from nanoscale.cli.common import common_flags, kb_flags, load_settings, print_json
from nanoscale.inputs import clean_text
from nanoscale.retrievers.ingest import IngestReport, ingest_paths


def add_parser(sub: argparse._SubParsersAction) -> None:
    ingest = sub.add_parser(
        "ingest", parents=[common_flags()], help="add files or folders to a knowledge base"
    )
    ingest.add_argument("paths", nargs="+", help="Markdown, text or PDF files, or folders")
    ingest.add_argument("--kb", help="knowledge base name (default: 'default')")
    ingest.add_argument("--rebuild", action="store_true", help="start the knowledge base afresh")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.set_defaults(func=cmd_ingest)

    search = sub.add_parser("search", parents=[common_flags(), kb_flags()], help="search the knowledge bases")
    search.add_argument("query")
    search.add_argument("--k", type=int, default=5, help="number of hits (default 5)")
    search.add_argument("--mmr", action="store_true", help="diversify hits (maximal marginal relevance)")
    search.add_argument("--json", action="store_true", help="print hits as JSON")
    search.set_defaults(func=cmd_search)


def print_report(report: IngestReport) -> None:
    print(
        f"knowledge base '{report.kb}': {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.removed)} removed; "
        f"{report.chunks_embedded} chunks embedded, {report.total_chunks} in total ({report.seconds:.1f} s)"
    )
    for skipped in report.skipped:
        print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)


def cmd_ingest(args: argparse.Namespace) -> int:
    report = ingest_paths(args.paths, load_settings(args), args.kb, args.rebuild, progress=not args.json)
    if args.json:
        print_json(report.to_dict())
    else:
        print_report(report)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from nanoscale.models import load_embeddings
    from nanoscale.retrievers.retriever import open_searcher

    settings = load_settings(args)
    query = clean_text(args.query, "query", settings.graph.max_question_chars)
    searcher = open_searcher(settings, load_embeddings(settings), args.kb_list)
    hits = searcher.search(query, k=args.k, mmr=args.mmr or None)
    if args.json:
        print_json([hit.to_dict() for hit in hits])
        return 0
    if not hits:
        print("no hits above the score threshold")
    for rank, hit in enumerate(hits, start=1):
        data = hit.to_dict()
        print(f"[{rank}] {data['score']:.3f}  {data['kb']}:{data['source']} > {data['section']}")
        text = " ".join(data["text"].split())
        print(f"    {text[:300]}{'...' if len(text) > 300 else ''}")
    return 0
