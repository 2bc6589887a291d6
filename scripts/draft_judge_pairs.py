"""Draft the judge's labelled set (data/judge/pairs.jsonl): answer sentences and their evidence.

The sentences come from the dev-set eval run (base and rag answers; never a sealed test run),
at most three per case so the set spreads over every case (`--every-sentence` takes them all, for a
run whose cases already have their three). Every system is judged against the
same evidence pool, the one the rag graph answers from: the knowledge base's hits for the case's
question (the graph's own search query and section merging, the configured k and thresholds)
plus the simulated user's replies. The question itself is not evidence.

A pair already in the output keeps its label, note and evidence (the label was made against that
evidence, and a near tie in retrieval can change a case's last hit), and pairs of other cases
(drafted from another run) stay, so re-running the draft never loses labelling work; new pairs get
`"supported": null` until someone labels them (data/judge/RUBRIC.md). A run of one system gives
three sentences a case.

Usage: NANOSCALE_DATA_DIR=... python scripts/draft_judge_pairs.py [--results FILE] [--cases FILE] [--out FILE]
"""

from __future__ import annotations

import argparse
import random
from collections import defaultdict
from pathlib import Path

from nanoscale.config import Settings
from nanoscale.errors import NanoscaleError
from nanoscale.evals.cases import Case, load_cases
from nanoscale.evals.judge_pairs import judged_sentences
from nanoscale.jsonl import read_jsonl, write_jsonl
from nanoscale.nodes.retrieve import merge_sections, search_query
from nanoscale.retrievers.retriever import KnowledgeBaseRetriever

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "eval-20261126" / "results.jsonl"
OUT = ROOT / "data" / "judge" / "pairs.jsonl"
QUOTAS = (2, 1)  # sentences from the first and second system of a case, swapped every other case
SEED = 16


def evidence_for(case: Case, retriever: KnowledgeBaseRetriever) -> list[str]:
    """The knowledge-base sections the rag graph retrieves once the user has replied, and the replies."""
    hits = retriever.invoke(search_query(case.question, case.answers))
    documents = merge_sections([{**doc.metadata, "text": doc.page_content} for doc in hits])
    return [doc["text"] for doc in documents] + [value for value in case.answers.values() if value]


def halves(cases: list[Case]) -> dict[str, str]:
    """Case id -> "A" or "B": alternate within each category, so both halves cover every topic."""
    by_category: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        by_category[case.category].append(case.id)
    rng = random.Random(SEED)
    half = {}
    for category in sorted(by_category):
        ids = sorted(by_category[category])
        rng.shuffle(ids)
        first = rng.choice("AB")
        for index, case_id in enumerate(ids):
            half[case_id] = first if index % 2 == 0 else ("B" if first == "A" else "A")
    return half


def sample(
    rows: list[dict], rng: random.Random, turn: int, every: bool = False
) -> list[tuple[dict, int, str]]:
    """Up to three (row, index, sentence) from one case's answers, alternating which system
    gives two, or with `every` all of them; a sentence both systems wrote is kept once."""
    rows = sorted(rows, key=lambda r: r["system"])
    quotas = (sum(QUOTAS),) if len(rows) == 1 else QUOTAS if turn % 2 == 0 else QUOTAS[::-1]
    picked: list[tuple[dict, int, str]] = []
    seen: set[str] = set()
    for row, quota in zip(rows, quotas, strict=False):
        options = [(i, s) for i, s in enumerate(judged_sentences(row["answer"])) if s not in seen]
        chosen = options if every else rng.sample(options, min(quota, len(options)))
        for index, sentence in sorted(chosen):
            if sentence not in seen:  # an answer can repeat a line
                picked.append((row, index, sentence))
                seen.add(sentence)
    return picked


def main() -> None:
    try:
        draft()
    except NanoscaleError as error:  # a missing or malformed file: one line, nothing written
        raise SystemExit(f"error: {error}") from None


def draft() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--cases", type=Path, help="the cases the run played (default: the dev cases.jsonl)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--every-sentence", action="store_true", help="every sentence of each answer, not three a case"
    )
    args = parser.parse_args()
    if "eval-test" in str(args.results) or (args.cases and "test" in args.cases.parts):
        raise SystemExit("the sealed test set's answers are never used for labelling")
    settings = Settings.load()
    cases = load_cases(str(args.cases or settings.paths.eval_cases))
    retriever = KnowledgeBaseRetriever.from_settings(settings)
    labelled = {}
    if args.out.is_file():
        labelled = {data["id"]: data for _, _, data in read_jsonl(args.out)}
    by_sentence = {(data["case_id"], data["system"], data["sentence"]): data for data in labelled.values()}
    by_case: dict[str, list[dict]] = defaultdict(list)
    for _, _, row in read_jsonl(args.results):
        by_case[row["id"]].append(row)
    half = halves(cases)
    rng = random.Random(SEED)
    drafted = {case.id for case in cases if case.id in by_case}
    pairs = [pair for pair in labelled.values() if pair["case_id"] not in drafted]
    for turn, case in enumerate(cases):
        if case.id not in by_case:
            continue
        evidence = evidence_for(case, retriever)
        for row, index, sentence in sample(by_case[case.id], rng, turn, args.every_sentence):
            pair_id = f"{case.id}:{row['system'].split('@')[0]}:{index}"
            # a label belongs to the sentence: found by id, else by the same sentence of the case
            previous = labelled.get(pair_id) or by_sentence.get((case.id, row["system"], sentence), {})
            pairs.append(
                {
                    "id": pair_id,
                    "system": row["system"],
                    "case_id": case.id,
                    "half": half[case.id],
                    "question": case.question,
                    "sentence": sentence,
                    "evidence": previous.get("evidence", evidence),
                    "supported": previous.get("supported"),
                    "note": previous.get("note", ""),
                }
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out, pairs)
    print(f"{len(pairs)} pairs ({len(drafted)} cases drafted from {args.results.name}) -> {args.out}")


if __name__ == "__main__":
    main()
