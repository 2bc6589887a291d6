"""`nanoscale judge-eval`: how well the groundedness judges agree with hand-labelled sentences."""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from nanoscale.cli.common import common_flags, load_settings, model_flags, print_json
from nanoscale.config import REPO_ROOT


def add_parser(sub: argparse._SubParsersAction) -> None:
    judge = sub.add_parser(
        "judge-eval",
        parents=[common_flags(), model_flags()],
        help="check the groundedness judges against labelled pairs (data/judge/pairs.jsonl)",
    )
    judge.add_argument("--pairs", help="labelled pairs JSONL (default: paths.judge_pairs)")
    judge.add_argument("--out", help="output folder (default: <data dir>/runs/judge-<time>)")
    judge.add_argument("--no-llm", action="store_true", help="skip the LLM yes/no judge (minutes on a CPU)")
    judge.add_argument("--json", action="store_true", help="print the result as JSON")
    judge.set_defaults(func=cmd_judge_eval)


def shown_path(path: Path) -> str:
    """A path inside the repository relative to it, so a committed result names no one's checkout."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


def cmd_judge_eval(args: argparse.Namespace) -> int:
    from nanoscale.evals.judge_calibration import evaluate, markdown, score_pairs, write_result
    from nanoscale.evals.judge_pairs import load_pairs
    from nanoscale.evals.llm_judge import judge_settings, llm_verdicts
    from nanoscale.models import load_chat_model, load_embeddings

    settings = load_settings(args)
    pairs_path = Path(args.pairs) if args.pairs else settings.paths.judge_pairs
    pairs = load_pairs(pairs_path)
    out = Path(args.out) if args.out else settings.runs_dir / f"judge-{time.strftime('%Y%m%d-%H%M%S')}"
    scores = score_pairs(pairs, load_embeddings(settings).embed_documents, progress=not args.json)
    verdicts, seconds = None, None
    if not args.no_llm:
        chat_model = load_chat_model(judge_settings(settings))
        started = time.perf_counter()
        verdicts = llm_verdicts(pairs, chat_model, progress=not args.json)
        seconds = round((time.perf_counter() - started) / len(pairs), 2)
    configured = {"similarity": settings.graph.support_similarity, "overlap": settings.graph.support_overlap}
    result = evaluate(pairs, scores, configured, verdicts, settings.model.preset)
    result["run"] = {
        "pairs_file": shown_path(pairs_path),
        "llm_model": None if args.no_llm else settings.model.preset,
        "llm_seconds_per_pair": seconds,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
    written = write_result(out, result)
    if args.json:
        print_json(result)
    else:
        print(markdown(result))
        print(f"\nwritten: {', '.join(str(path) for path in written)}")
    return 0
