"""Eval outputs: results.jsonl, summary.json, report.md, PNG plots, and a SQLite history."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from nanoscale.evals.intervals import format_interval, paired_difference
from nanoscale.jsonl import write_jsonl

METRICS = (
    "keyword_coverage",
    "confirm_command",
    "clarification_accuracy",
    "groundedness",
    "groundedness_calibrated",
    "hallucination_rate",
    "invalid_aws_actions",
    "invalid_aws_unmarked",
    "latency_p50_s",
)
# Shown only when a run had tool cases (`data/eval/tools`).
TOOL_METRICS = (
    "tool_cases",
    "finding_coverage_block",
    "finding_coverage_prose",
    "contradiction_rate",
    "revision_rate",
)


INTERVAL_METRICS = (
    "keyword_coverage",
    "confirm_command",
    "clarification_accuracy",
    "slot_precision",
    "groundedness",
    "hallucination_rate",
)
PER_CASE_KEYS = {
    "keyword_coverage": "keyword_coverage",
    "confirm_command": "confirm_command",  # names a read-only check in the right tool (evals.confirm)
    "clarification_accuracy": "clarification_correct",
    "slot_precision": "slot_precision",
    "slot_recall": "slot_recall",
    "groundedness": "groundedness",
    "hallucination_rate": "hallucinated",
}  # summary metric -> the per-case field it averages


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _metric_cell(summary: dict[str, Any], metric: str) -> str:
    """The mean with its 95% interval where the run has one, else the plain value."""
    stats = summary.get("intervals", {}).get(metric)
    return format_interval(stats) if stats else _cell(summary.get(metric))


def table(summaries: list[dict[str, Any]]) -> str:
    """Systems side by side, one metric per row, means with 95% bootstrap intervals (Markdown)."""
    header = "| metric | " + " | ".join(s["system"] for s in summaries) + " |"
    lines = [header, "|---|" + "---|" * len(summaries)]
    tool_metrics = [m for m in TOOL_METRICS if any(s.get(m) is not None for s in summaries)]
    for metric in ("cases", *METRICS, *tool_metrics):
        lines.append(f"| {metric} | " + " | ".join(_metric_cell(s, metric) for s in summaries) + " |")
    return "\n".join(lines)


def kb_table(summaries: list[dict[str, Any]]) -> str:
    """Each system's metrics on cases the knowledge base covers and on those it does not."""
    shown = (*INTERVAL_METRICS, "groundedness_calibrated")
    lines = ["| system | cases | " + " | ".join(shown) + " |", "|---|---|" + "---|" * len(shown)]
    for summary in summaries:
        for part, label in (("in_kb", "in KB"), ("out_of_kb", "out of KB")):
            split = summary.get("by_kb", {}).get(part)
            if split:
                cells = " | ".join(_metric_cell(split, m) for m in shown)
                lines.append(f"| {summary['system']} {label} | {split['cases']} | {cells} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def paired_table(rows: list[dict[str, Any]], systems: list[str]) -> str:
    """Each later system minus the first, on the same cases, with 95% intervals of the difference."""
    if len(systems) < 2:
        return ""
    by_system = {name: {r["id"]: r for r in rows if r["system"] == name} for name in systems}
    first = by_system[systems[0]]
    lines = ["| difference | " + " | ".join(INTERVAL_METRICS) + " |", "|---|" + "---|" * len(INTERVAL_METRICS)]
    for name in systems[1:]:
        ids = [case for case in first if case in by_system[name]]
        cells = []
        for metric in INTERVAL_METRICS:
            key = PER_CASE_KEYS[metric]
            diff = paired_difference([first[i][key] for i in ids], [by_system[name][i][key] for i in ids])
            cells.append(format_interval(diff))
        lines.append(f"| {name} - {systems[0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def category_table(summaries: list[dict[str, Any]], metric: str) -> str:
    categories = sorted({c for s in summaries for c in s["by_category"]})
    lines = [
        "| category | " + " | ".join(s["system"] for s in summaries) + " |",
        "|---|" + "---|" * len(summaries),
    ]
    for category in categories:
        cells = [_cell(s["by_category"].get(category, {}).get(metric)) for s in summaries]
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(summaries: list[dict[str, Any]], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    shown = ("keyword_coverage", "clarification_accuracy", "groundedness", "hallucination_rate")
    figure, axis = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(summaries), 1)
    for i, summary in enumerate(summaries):
        values = [summary.get(m) or 0.0 for m in shown]
        axis.bar([x + i * width for x in range(len(shown))], values, width, label=summary["system"])
    axis.set_xticks(
        [x + width * (len(summaries) - 1) / 2 for x in range(len(shown))],
        [m.replace("_", "\n") for m in shown],
    )
    axis.set_ylim(0, 1)
    axis.legend()
    axis.set_title("Systems compared")
    figure.tight_layout()
    paths.append(out / "metrics.png")
    figure.savefig(paths[-1], dpi=110)
    plt.close(figure)

    categories = sorted({c for s in summaries for c in s["by_category"]})
    figure, axis = plt.subplots(figsize=(9, 4))
    for i, summary in enumerate(summaries):
        values = [summary["by_category"].get(c, {}).get("keyword_coverage") or 0.0 for c in categories]
        axis.bar([x + i * width for x in range(len(categories))], values, width, label=summary["system"])
    axis.set_xticks([x + width * (len(summaries) - 1) / 2 for x in range(len(categories))], categories)
    axis.set_ylim(0, 1)
    axis.set_ylabel("keyword coverage")
    axis.legend()
    figure.tight_layout()
    paths.append(out / "by_category.png")
    figure.savefig(paths[-1], dpi=110)
    plt.close(figure)
    return paths


def record(db: Path, run_id: str, summaries: list[dict[str, Any]], cases_file: str = "") -> None:
    """Append this run to the SQLite history that the dashboard draws trends from; runs are
    comparable over time when they share the system label and the cases file."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS eval_runs (run_id TEXT, created TEXT, system TEXT, summary TEXT)"
        )
        columns = {row[1] for row in connection.execute("PRAGMA table_info(eval_runs)")}
        if "cases_file" not in columns:  # histories written before the column existed
            connection.execute("ALTER TABLE eval_runs ADD COLUMN cases_file TEXT")
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        connection.executemany(
            "INSERT INTO eval_runs (run_id, created, system, summary, cases_file) VALUES (?, ?, ?, ?, ?)",
            [(run_id, created, s["system"], json.dumps(s), cases_file) for s in summaries],
        )


def history(db: Path) -> list[dict[str, Any]]:
    """Every recorded system summary, oldest first, with its run id, time and cases file."""
    if not db.is_file():
        return []
    with sqlite3.connect(db) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(eval_runs)")}
        cases = "cases_file" if "cases_file" in columns else "''"
        rows = connection.execute(
            f"SELECT run_id, created, system, {cases}, summary FROM eval_runs ORDER BY created, run_id"
        ).fetchall()
    return [
        {"run_id": r, "created": c, "system": s, "cases_file": f or "", **json.loads(summary)}
        for r, c, s, f, summary in rows
    ]


def read_results(run_dir: Path) -> list[dict[str, Any]]:
    """A run's per-case rows (`results.jsonl`) as `nanoscale eval` wrote them; [] when missing."""
    path = run_dir / "results.jsonl"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def eval_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """Summaries of evaluation runs (`runs/eval-*/summary.json`), newest first; unreadable ones skipped.

    The one reader of past runs: the server's `/evals/runs`, the UI's Evaluations tab and the
    training report all list runs through it.
    """
    runs = []
    for summary in sorted(runs_dir.glob("eval-*/summary.json"), reverse=True):
        try:
            runs.append({"run": summary.parent.name, "systems": json.loads(summary.read_text())})
        except (OSError, ValueError):
            continue
    return runs


def write_run(
    out: Path, rows: list[dict[str, Any]], summaries: list[dict[str, Any]], cases_file: str
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "results.jsonl", rows)
    (out / "summary.json").write_text(json.dumps(summaries, indent=2), encoding="utf-8")
    images = plot(summaries, out)
    report = [
        f"# Evaluation {out.name}",
        "",
        f"Cases: `{cases_file}`, {summaries[0]['cases'] if summaries else 0} per system, deterministic decoding.",
        "",
        "Each metric: mean [95% bootstrap interval] over the cases.",
        "",
        table(summaries),
        "",
        *(["## In and out of the knowledge base", "", kb, ""] if (kb := kb_table(summaries)) else []),
        *(["## Paired differences (same cases)", "", pairs, ""]
          if (pairs := paired_table(rows, [s["system"] for s in summaries])) else []),
        "## Keyword coverage by category",
        "",
        category_table(summaries, "keyword_coverage"),
        "",
        "## Clarification accuracy by category",
        "",
        category_table(summaries, "clarification_accuracy"),
        "",
        *[f"![{p.stem}]({p.name})" for p in images],
        "",
    ]
    (out / "report.md").write_text("\n".join(report), encoding="utf-8")
    return [out / "results.jsonl", out / "summary.json", out / "report.md", *images]
