"""Join eval runs made in pieces (one per case file) into one run with one report.

A run over all 240 sealed test cases takes about an hour on 2 cores, and `nanoscale eval` writes
its results at the end; running each case file on its own loses at most one file to an
interruption. This joins the pieces' rows and writes results.jsonl, summary.json and report.md
(intervals, in/out of the knowledge base, groundedness calibrated by the labelled judge) exactly
as one run would have. A case id that appears
twice for the same system is refused: the pieces must not overlap.

Usage: python scripts/merge_runs.py OUT RUN [RUN ...] [--cases LABEL]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nanoscale.config import Settings  # noqa: E402
from nanoscale.evals.calibrated import label_counts  # noqa: E402
from nanoscale.evals.report import read_results, write_run  # noqa: E402
from nanoscale.evals.runner import summarise  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--cases", default="", help="what the joined cases are, for the report")
    args = parser.parse_args(argv)
    rows = []
    for run in args.runs:
        found = read_results(run)
        if not found:
            raise SystemExit(f"error: {run} has no results.jsonl")
        rows += found
    twice = [key for key, n in Counter((r["system"], r["id"]) for r in rows).items() if n > 1]
    if twice:
        raise SystemExit(f"error: {len(twice)} case(s) appear in more than one run, e.g. {twice[0]}")
    systems = list(dict.fromkeys(r["system"] for r in rows))
    labelled = label_counts(Settings.load()) if any(r.get("groundedness") is not None for r in rows) else None
    summaries = [summarise([r for r in rows if r["system"] == system], labelled) for system in systems]
    label = args.cases or ", ".join(str(run) for run in args.runs)
    for path in write_run(args.out, rows, summaries, label):
        print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
