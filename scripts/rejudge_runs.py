"""Re-judge a stored eval run's answers at other judge thresholds, in aggregate only.

The eval stores each answer with verify's verdicts at the thresholds of its day. Whether another
judge would read the same answers differently, and whether the calibrated groundedness holds
up under it, needs the answers judged again against the same evidence: the slots the run asked
for are answered again (the run's own turns, not today's slot model's) and the knowledge base
searched again (deterministic), then each
threshold pair judges the sentences verify would judge. Prints, per threshold pair, how many cases
the replay scores exactly as stored, the observed share and the calibrated estimate with its
interval: never a case, so it is safe on the sealed test set.

Usage: NANOSCALE_DATA_DIR=... python scripts/rejudge_runs.py RUN --cases data/eval/test \
    [--thresholds 0.55/0.6 0.7/0.85]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from nanoscale.config import Settings
from nanoscale.errors import NanoscaleError
from nanoscale.evals.calibrated import calibrated_groundedness, label_counts, system_kind
from nanoscale.evals.cases import Case, load_cases
from nanoscale.evals.judge_calibration import Judge, predict
from nanoscale.evals.judge_pairs import judged_sentences
from nanoscale.evals.report import read_results
from nanoscale.evals.runner import reply_for
from nanoscale.grounding import OVERLAPS, similarities
from nanoscale.models import load_embeddings
from nanoscale.nodes.clarify import apply_reply
from nanoscale.nodes.retrieve import retrieve
from nanoscale.nodes.signals import begin, signals
from nanoscale.nodes.verify import evidence_of
from nanoscale.retrievers.retriever import KnowledgeBaseRetriever


def thresholds(text: str) -> tuple[float, float]:
    """`0.7/0.85` -> (similarity, overlap), both in [0, 1]."""
    try:
        similarity, overlap = (float(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not SIMILARITY/OVERLAP, e.g. 0.7/0.85") from None
    if not (0 <= similarity <= 1 and 0 <= overlap <= 1):
        raise argparse.ArgumentTypeError(f"'{text}': both thresholds lie between 0 and 1")
    return similarity, overlap


def stored_turns(case: Case, asked: list[str], settings: Settings) -> dict:
    """The state the run's answer was given: the question's own slots, then the case's replies to
    the slots the run asked for (in one turn: the evidence does not depend on their order)."""
    state = {**begin({}), "question": case.question, "slots": {}}
    state.update(signals(state, settings=settings.graph))
    if asked:
        state.update(apply_reply(state, asked, reply_for(asked, case), settings.graph))
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a `nanoscale eval` run folder (rag, tuned or base)")
    parser.add_argument("--cases", required=True, help="the cases file or folder the run played")
    parser.add_argument("--thresholds", type=thresholds, nargs="+", default=[(0.55, 0.6), (0.7, 0.85)])
    args = parser.parse_args(argv)
    try:
        cases = {case.id: case for case in load_cases(args.cases)}
    except NanoscaleError as error:
        raise SystemExit(f"error: {error}") from None
    rows = [row for row in read_results(args.run) if row.get("groundedness") is not None]
    if not rows:
        raise SystemExit(
            f"error: {args.run} holds no judged answers (a `nanoscale eval` run of base, rag or tuned)"
        )
    unknown = sorted({row["id"] for row in rows} - set(cases))
    if unknown:
        raise SystemExit(
            f"error: {args.run} played {len(unknown)} cases the cases file lacks (first: {unknown[0]})"
        )
    settings = Settings.load()
    embeddings = load_embeddings(settings)
    retriever = KnowledgeBaseRetriever.from_settings(settings, embeddings)
    kind = system_kind(rows[0]["system"])

    overlap_kind = settings.graph.support_overlap_kind
    verify_judge = Judge("verify", ("similarity", overlap_kind))
    shares: dict[tuple[float, float], list[float]] = {pair: [] for pair in args.thresholds}
    same = dict.fromkeys(args.thresholds, 0)
    for row in rows:
        state = stored_turns(cases[row["id"]], row.get("asked", []), settings)
        state["documents"] = retrieve(state, {}, retriever=retriever)["documents"]
        sentences, evidence = judged_sentences(row["answer"]), evidence_of(state)
        if not sentences:
            continue
        # each sentence scored once; every threshold pair then applies verify's rule to the scores
        scores = {
            "similarity": similarities(sentences, evidence, embeddings.embed_documents),
            overlap_kind: np.array(OVERLAPS[overlap_kind](sentences, evidence)),
        }
        for similarity, overlap in args.thresholds:
            share = float(np.mean(predict(scores, verify_judge.thresholds_for(similarity, overlap))))
            shares[(similarity, overlap)].append(share)
            same[(similarity, overlap)] += abs(share - row["groundedness"]) < 1e-9
    print(f"{args.run}: {len(rows)} judged answers ({kind})")
    for pair, values in shares.items():
        graph = replace(settings.graph, support_similarity=pair[0], support_overlap=pair[1])
        counts = (label_counts(replace(settings, graph=graph)) or {}).get(kind)
        estimate = calibrated_groundedness(values, counts)
        calibrated = (
            f"{estimate['mean']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}]" if estimate else "none"
        )
        observed = sum(values) / len(values) if values else float("nan")
        print(
            f"similarity {pair[0]} / overlap {pair[1]}: replay equals the stored share in {same[pair]} of "
            f"{len(rows)}; observed {observed:.3f}; calibrated {calibrated}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
