"""Eval outputs: results.jsonl, summary.json, report.md, PNG plots, and a SQLite history."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

METRICS = (
    "keyword_coverage",
    "clarification_accuracy",
    "groundedness",
    "hallucination_rate",
    "invalid_aws_actions",
    "latency_p50_s",
)
# Shown only when a run had tool cases (`data/eval/tools`).
TOOL_METRICS = (
    "tool_cases",
    "finding_coverage_block",
    "finding_coverage_prose",
    "contradiction_rate",
    "revision_rate",
    "invalid_aws_unmarked",
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def table(summaries: list[dict[str, Any]]) -> str:
    """Systems side by side, one metric per row (Markdown)."""
    header = "| metric | " + " | ".join(s["system"] for s in summaries) + " |"
    lines = [header, "|---|" + "---|" * len(summaries)]
    tool_metrics = [m for m in TOOL_METRICS if any(s.get(m) is not None for s in summaries)]
    for metric in ("cases", *METRICS, *tool_metrics):
        lines.append(f"| {metric} | " + " | ".join(_cell(s.get(metric)) for s in summaries) + " |")
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


def record(db: Path, run_id: str, summaries: list[dict[str, Any]]) -> None:
    """Append this run to the SQLite history that the dashboard draws trends from."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS eval_runs (run_id TEXT, created TEXT, system TEXT, summary TEXT)"
        )
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        connection.executemany(
            "INSERT INTO eval_runs VALUES (?, ?, ?, ?)",
            [(run_id, created, s["system"], json.dumps(s)) for s in summaries],
        )


def history(db: Path) -> list[dict[str, Any]]:
    if not db.is_file():
        return []
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT run_id, created, system, summary FROM eval_runs ORDER BY created"
        ).fetchall()
    return [{"run_id": r, "created": c, "system": s, **json.loads(summary)} for r, c, s, summary in rows]


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
    with (out / "results.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summaries, indent=2), encoding="utf-8")
    images = plot(summaries, out)
    report = [
        f"# Evaluation {out.name}",
        "",
        f"Cases: `{cases_file}`, {summaries[0]['cases'] if summaries else 0} per system, deterministic decoding.",
        "",
        table(summaries),
        "",
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
