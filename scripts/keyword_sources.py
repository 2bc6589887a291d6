"""Where a case set's expected keywords are within an answer's reach, in aggregate only.

Reads a `--system context` run (the context blocks the answer step was given, per case) and,
optionally, an answer run on the same cases, and prints per-keyword and per-case shares, never a
case: safe on the sealed test set. Each keyword is placed in the first of
  conversation   the user's question and the replies to what was asked,
  context only   the context blocks, not the conversation,
  neither        in neither (an answer can only bring it from the model's own knowledge),
and the per-case coverage of the conversation, of context plus conversation, and of the best
single section among the search's top N (what a perfect choice of the one section the context
budget holds would give).

Usage: NANOSCALE_DATA_DIR=... python scripts/keyword_sources.py --cases data/eval/test \
    --context RUN_DIR [--answers RUN_DIR]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from statistics import mean

from nanoscale.config import Settings
from nanoscale.errors import NanoscaleError
from nanoscale.evals.cases import Case, load_cases
from nanoscale.evals.metrics import keywords_found
from nanoscale.evals.report import read_results
from nanoscale.models import load_chat_model, load_embeddings
from nanoscale.nodes.retrieve import merge_sections, search_query
from nanoscale.prompts import fit_blocks
from nanoscale.resources import token_counter
from nanoscale.retrievers.retriever import open_searcher

TOP = (3, 10)


def rows_of(run: Path, known: Collection[str], where: str) -> dict[str, dict]:
    """The run's rows by case id; a run that is missing or played cases `where` lacks stops here."""
    rows = read_results(run)
    if not rows:
        raise SystemExit(f"error: {run} holds no results.jsonl written by `nanoscale eval`")
    unknown = sorted({row["id"] for row in rows} - set(known))
    if unknown:
        raise SystemExit(f"error: {run} played {len(unknown)} cases {where} lacks (first: {unknown[0]})")
    return {row["id"]: row for row in rows}


def conversation(case: Case, asked: list[str]) -> str:
    return "\n".join([case.question, *(case.answers.get(slot, "") for slot in asked)])


def share(text: str, keywords: list[str]) -> float:
    return len(keywords_found(text, keywords)) / len(keywords)


def line(name: str, values: dict[bool, list[float]]) -> str:
    both = values[True] + values[False]
    parts = [f"{name:<34} {mean(both):.3f} (n={len(both)})"]
    parts += [
        f"{label} {mean(values[flag]):.3f}"
        for label, flag in (("in KB", True), ("out of KB", False))
        if values[flag]
    ]
    return "   ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", required=True, help="the cases file or folder both runs played")
    parser.add_argument("--context", type=Path, required=True, help="a `nanoscale eval --system context` run")
    parser.add_argument("--answers", type=Path, help="an answer run (rag, tuned) on the same cases")
    args = parser.parse_args(argv)
    try:
        cases = {case.id: case for case in load_cases(args.cases)}
    except NanoscaleError as error:
        raise SystemExit(f"error: {error}") from None
    contexts = rows_of(args.context, cases, "the cases file")
    if any(not str(row.get("system", "")).startswith("context@") for row in contexts.values()):
        raise SystemExit(f"error: {args.context} is not a `nanoscale eval --system context` run")
    answers = rows_of(args.answers, contexts, "the context run") if args.answers else {}
    settings = Settings.load()
    searcher = open_searcher(settings, load_embeddings(settings))
    count = token_counter(load_chat_model(settings))

    table: dict[str, dict[bool, list[float]]] = {}
    for name in ("conversation", "context + conversation", *(f"best single section of top {n}" for n in TOP)):
        table[name] = {True: [], False: []}
    for case_id, row in contexts.items():
        case = cases[case_id]
        if not case.expected_keywords:
            continue
        kb = bool(case.in_kb)
        talk = conversation(case, row["asked"])
        table["conversation"][kb].append(share(talk, case.expected_keywords))
        table["context + conversation"][kb].append(share(talk + "\n" + row["answer"], case.expected_keywords))
        slots = {slot: case.answers[slot] for slot in row["asked"] if slot in case.answers}
        hits = searcher.search(search_query(case.question, slots), k=max(TOP) + 2)
        sections = merge_sections([hit.to_dict() for hit in hits])
        for n in TOP:
            fitted = [
                fit_blocks([section], count, settings.retrieval.context_tokens)[0] for section in sections[:n]
            ]
            best = max((share(blocks[0], case.expected_keywords) for blocks in fitted if blocks), default=0.0)
            table[f"best single section of top {n}"][kb].append(best)
    print(f"context: {args.context} ({len(contexts)} cases)")
    for name, values in table.items():
        print(line(name, values))

    if answers:
        found, total = Counter(), Counter()
        for case_id, row in answers.items():
            case, context = cases[case_id], contexts[case_id]["answer"]
            talk = conversation(case, row["asked"])
            for keyword in case.expected_keywords:
                where = (
                    "conversation"
                    if keywords_found(talk, [keyword])
                    else ("context only" if keywords_found(context, [keyword]) else "neither")
                )
                total[where] += 1
                found[where] += keyword in row["keywords_hit"]
        print(f"answers: {args.answers}")
        for where in ("conversation", "context only", "neither"):
            if total[where]:
                print(
                    f"{where:<14} {total[where]:>4} keywords, {found[where] / total[where]:.2f} in the answers"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
