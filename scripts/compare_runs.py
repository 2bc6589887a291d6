"""Paired differences between two stored eval runs of one system (for example the knowledge base
before and after a change), with 95% bootstrap intervals, overall and in/out of the knowledge base.

`nanoscale eval --compare` pairs systems inside one run; a change to data (the knowledge base, a
setting) is two runs of the same system, which this pairs by case id. The in/out split uses the
`--label` field (in_kb, or the frozen in_kb_v1) of the cases in `--cases` when given (labels may
have changed since the runs), else the runs' own in_kb.

Usage: python scripts/compare_runs.py RUN_BEFORE RUN_AFTER [--system rag] [--before-system base]
       [--cases data/eval/test] [--label in_kb_v1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nanoscale.evals.intervals import bootstrap, format_interval, paired_difference  # noqa: E402
from nanoscale.evals.report import INTERVAL_METRICS, PER_CASE_KEYS, read_results  # noqa: E402
from nanoscale.jsonl import read_jsonl  # noqa: E402


def rows_of(run: Path, system: str) -> dict[str, dict[str, Any]]:
    """The run's per-case rows of the system whose label starts with `system`, by case id."""
    rows = [r for r in read_results(run) if str(r.get("system", "")).split("@")[0] == system]
    if not rows:
        raise SystemExit(f"error: {run} has no results for system {system!r}")
    return {r["id"]: r for r in rows}


def table(before: dict[str, dict], after: dict[str, dict], ids: list[str]) -> list[str]:
    """One row per metric: before, after, after - before (each mean [95% interval])."""
    lines = ["| metric | before | after | after - before |", "|---|---|---|---|"]
    for metric in INTERVAL_METRICS:
        key = PER_CASE_KEYS[metric]
        first = [before[i].get(key) for i in ids]
        second = [after[i].get(key) for i in ids]
        cells = [format_interval(bootstrap(first)), format_interval(bootstrap(second)),
                 format_interval(paired_difference(first, second))]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--system", default="rag", help="base, rag, tuned or signals (default rag)")
    parser.add_argument("--before-system", help="the system to take from RUN_BEFORE (default: --system)")
    parser.add_argument("--cases", type=Path, help="case file or folder whose labels to use")
    parser.add_argument("--label", default="in_kb", help="the case field to split on (default in_kb)")
    args = parser.parse_args(argv)
    first = args.before_system or args.system
    before, after = rows_of(args.before, first), rows_of(args.after, args.system)
    ids = [i for i in before if i in after]
    if not ids:
        raise SystemExit("error: the two runs share no case ids")
    files = sorted(args.cases.glob("*.jsonl")) if args.cases and args.cases.is_dir() else [args.cases]
    labels = {row["id"]: row.get(args.label) for f in files if f for _, _, row in read_jsonl(f)}
    in_kb = {i: labels.get(i, before[i].get("in_kb")) for i in ids}
    print(f"{first} in {args.before.name} -> {args.system} in {args.after.name}, {len(ids)} shared cases, "
          f"split on {args.label if labels else 'in_kb'}\n")
    for title, subset in (("all", ids), ("in KB", [i for i in ids if in_kb[i] is True]),
                          ("out of the KB", [i for i in ids if in_kb[i] is False])):
        if subset:
            print(f"### {title} ({len(subset)} cases)\n")
            print("\n".join(table(before, after, subset)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
