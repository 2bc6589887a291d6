"""`nanoscale eval`: systems played against eval cases, side by side."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from nanoscale.app.tracing import SQLiteTracer, TraceStore
from nanoscale.cli.common import common_flags, kb_flags, load_settings, model_flags, print_json
from nanoscale.evals.cases import load_cases
from nanoscale.evals.report import table
from nanoscale.evals.runner import SYSTEMS, evaluate


def add_parser(sub: argparse._SubParsersAction) -> None:
    evaluate_ = sub.add_parser(
        "eval", parents=[common_flags(), model_flags(), kb_flags()], help="evaluate systems on eval cases"
    )
    evaluate_.add_argument(
        "--cases", help="JSONL cases: a file or a folder of *.jsonl (default: data/eval/dev/cases.jsonl)"
    )
    evaluate_.add_argument("--system", choices=SYSTEMS, default="rag")
    evaluate_.add_argument("--compare", nargs="+", choices=SYSTEMS, help="several systems side by side")
    evaluate_.add_argument("--out", help="output folder (default: <data dir>/runs/eval-<time>)")
    evaluate_.add_argument("--limit", type=int, help="only the first N cases")
    evaluate_.add_argument("--sample", type=int, help="N cases spread evenly over the file (all categories)")
    evaluate_.add_argument("--json", action="store_true", help="print the summaries as JSON")
    evaluate_.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from nanoscale.training.report import refresh_tuned_report

    settings = load_settings(args)
    cases_path = args.cases or str(settings.paths.eval_cases)
    cases = load_cases(cases_path, sample=args.sample, limit=args.limit)
    out = Path(args.out) if args.out else settings.runs_dir / f"eval-{time.strftime('%Y%m%d-%H%M%S')}"
    tracer = SQLiteTracer(TraceStore(settings.traces_path))  # each case's trace opens from the dashboard
    run = evaluate(
        args.compare or [args.system], cases, settings, out, cases_path, progress=not args.json, callbacks=[tracer]
    )
    for system, reason in run.skipped.items():
        print(f"skipped {system}: {reason}", file=sys.stderr)
    written = run.written
    if any(s["system"].startswith("tuned") for s in run.summaries):
        report = refresh_tuned_report(settings)
        if report:
            written.append(report)
    if args.json:
        print_json(run.summaries)
    else:
        print(table(run.summaries))
        print(f"\nwritten: {', '.join(str(p) for p in written)}")
    return 0
