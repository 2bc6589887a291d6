"""What the Evaluations tab shows, shaped from the files `nanoscale eval` wrote (no Gradio here).

Every number comes from a run's `summary.json`, `results.jsonl` or the `evals.sqlite` history;
this module only rounds, filters, pages and lines up two runs' cases side by side.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Any

from nanoscale.evals.intervals import format_interval
from nanoscale.evals.report import METRICS, read_results

PAGE_SIZE = 50
LOW_COVERAGE = 0.5  # below this share of expected keywords a case counts as failed
HEADLINE = METRICS  # the same headline as the run's report.md
TREND_METRICS = ("keyword_coverage", "clarification_accuracy", "groundedness", "hallucination_rate")
CASE_COLUMNS = [
    "id",
    "category",
    "keyword coverage",
    "keywords hit",
    "keywords missed",
    "asked",
    "must ask",
    "groundedness",
    "latency s",
    "why it failed",
]
CASE_WIDTHS = ["11%", "8%", "7%", "13%", "13%", "7%", "7%", "8%", "6%", "20%"]
CATEGORY_COLUMNS = ["category", "cases", "keyword coverage", "clarification", "groundedness", "hallucination rate"]
COMPARE_COLUMNS = ["id", "category", "change", "coverage before", "coverage after", "what changed"]


def rounded(value: Any, digits: int = 2) -> Any:
    """Floats to `digits` places for display; everything else as is (None shows as '-')."""
    if value is None:
        return "-"
    return round(value, digits) if isinstance(value, float) else value


@lru_cache(maxsize=8)
def _cached_results(path: str, mtime: float) -> tuple[dict[str, Any], ...]:
    return tuple(read_results(Path(path)))


def results(run_dir: Path) -> list[dict[str, Any]]:
    """A run's per-case rows, parsed once per file version (paging and filtering reuse them)."""
    path = run_dir / "results.jsonl"
    return list(_cached_results(str(run_dir), path.stat().st_mtime)) if path.is_file() else []


def headline(summary: dict[str, Any]) -> str:
    """The system's metrics as a one-row Markdown table: mean [95% interval] where the run has one."""
    cells = [str(summary.get("cases", "-"))]
    for metric in HEADLINE:
        stats = summary.get("intervals", {}).get(metric)
        cells.append(format_interval(stats) if stats else str(rounded(summary.get(metric))))
    names = ["cases", *(m.replace("_", " ") for m in HEADLINE)]
    return "\n".join(["| " + " | ".join(names) + " |", "|" + "---|" * len(names), "| " + " | ".join(cells) + " |"])


def category_rows(summary: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            category,
            stats.get("cases"),
            rounded(stats.get("keyword_coverage")),
            rounded(stats.get("clarification_accuracy")),
            rounded(stats.get("groundedness")),
            rounded(stats.get("hallucination_rate")),
        ]
        for category, stats in sorted(summary.get("by_category", {}).items())
    ]


def failure_reasons(row: dict[str, Any]) -> list[str]:
    """Why a case counts as failed, in words; empty when it passed."""
    reasons = []
    if not row.get("clarification_correct"):
        missing = [s for s in row.get("must_ask", []) if s not in row.get("asked", [])]
        extra = [s for s in row.get("asked", []) if s not in row.get("must_ask", [])]
        if missing:
            reasons.append("did not ask for " + ", ".join(missing))
        if extra and not row.get("must_ask"):
            reasons.append("asked needlessly for " + ", ".join(extra))
    coverage = row.get("keyword_coverage")
    if coverage is not None and coverage < LOW_COVERAGE:
        reasons.append(f"keyword coverage {coverage:.2f}")
    if row.get("hallucinated"):
        count = len(row.get("unsupported_sentences") or [])
        reasons.append(f"{count} unsupported sentence(s)" if count else "unsupported sentences")
    if row.get("invalid_aws_actions"):
        reasons.append("invented AWS names: " + ", ".join(row["invalid_aws_actions"]))
    return reasons


def filter_cases(
    rows: list[dict[str, Any]], system: str, category: str = "", failures_only: bool = False, search: str = ""
) -> list[dict[str, Any]]:
    needle = search.strip().lower()
    return [
        r
        for r in rows
        if r["system"] == system
        and (not category or r["category"] == category)
        and (not failures_only or failure_reasons(r))
        and (not needle or needle in r["id"].lower() or needle in r.get("question", "").lower())
    ]


def case_row(row: dict[str, Any]) -> list[Any]:
    return [
        row["id"],
        row["category"],
        rounded(row.get("keyword_coverage")),
        ", ".join(row.get("keywords_hit", [])),
        ", ".join(row.get("keywords_missed", [])),
        ", ".join(row.get("asked", [])),
        ", ".join(row.get("must_ask", [])),
        rounded(row.get("groundedness")),
        rounded(row.get("latency_s"), 1),
        "; ".join(failure_reasons(row)),
    ]


def page(items: list[Any], number: int, size: int = PAGE_SIZE) -> tuple[list[Any], int, int]:
    """One page of `items` (1-based, clamped), with the page number used and the page count."""
    pages = max(1, -(-len(items) // size))
    number = min(max(1, int(number or 1)), pages)
    return items[(number - 1) * size : number * size], number, pages


def trend_points(history: list[dict[str, Any]], system: str, cases_file: str, cases: int) -> list[dict[str, Any]]:
    """Each metric of every run of the same system on the same case set, oldest first (long form)."""
    points = []
    for entry in history:
        if entry["system"] != system or entry.get("cases_file", "") != cases_file or entry.get("cases") != cases:
            continue
        for metric in TREND_METRICS:
            if entry.get(metric) is not None:
                points.append(
                    {"run": entry["run_id"], "created": entry["created"], "metric": metric, "value": entry[metric]}
                )
    return points


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, list[str]]:
    """+1 better, -1 worse, 0 unchanged or mixed, with what changed in words."""
    notes, better, worse = [], 0, 0
    old, new = before.get("keyword_coverage"), after.get("keyword_coverage")
    if old is not None and new is not None and abs(new - old) > 1e-9:
        notes.append(f"keyword coverage {old:.2f} -> {new:.2f}")
        better, worse = better + (new > old), worse + (new < old)
    if before.get("clarification_correct") != after.get("clarification_correct"):
        notes.append("clarification now " + ("right" if after.get("clarification_correct") else "wrong"))
        better, worse = better + bool(after.get("clarification_correct")), worse + (not after.get("clarification_correct"))
    if before.get("hallucinated") != after.get("hallucinated") and after.get("hallucinated") is not None:
        notes.append("now " + ("has unsupported sentences" if after["hallucinated"] else "fully supported"))
        better, worse = better + (not after["hallucinated"]), worse + bool(after["hallucinated"])
    return (1 if better and not worse else -1 if worse and not better else 0), notes


def compare_cases(
    before: list[dict[str, Any]], after: list[dict[str, Any]], system_before: str, system_after: str
) -> list[list[Any]]:
    """The cases both runs played, worse first, then mixed, better and unchanged."""
    old = {r["id"]: r for r in before if r["system"] == system_before}
    rows = []
    for new in (r for r in after if r["system"] == system_after):
        if new["id"] not in old:
            continue
        direction, notes = _changes(old[new["id"]], new)
        change = {1: "better", -1: "worse"}.get(direction, "mixed" if notes else "same")
        rows.append(
            [
                new["id"],
                new["category"],
                change,
                rounded(old[new["id"]].get("keyword_coverage")),
                rounded(new.get("keyword_coverage")),
                "; ".join(notes),
            ]
        )
    order = {"worse": 0, "mixed": 1, "better": 2, "same": 3}
    return sorted(rows, key=lambda r: (order[r[2]], r[0]))


def _marked(answer: str, unsupported: list[str]) -> str:
    text = html.escape(answer)
    for sentence in unsupported:
        text = text.replace(
            html.escape(sentence), f'<mark title="not supported by the retrieved context">{html.escape(sentence)}</mark>', 1
        )
    return text.replace("\n", "<br>")


def conversation(row: dict[str, Any]) -> str:
    """A case as the user would have seen it: question, clarification turns, the answer with its
    unsupported sentences highlighted, then what was scored, the sources and tool findings."""
    parts = [f"### {html.escape(row['id'])} ({html.escape(row['category'])})"]
    log = row.get("turns_log") or [{"user": row.get("question", ""), "status": "answer", "text": row.get("answer", "")}]
    for turn in log:
        parts.append(f"**User:** {html.escape(turn['user'])}")
        if turn["status"] == "needs_input":
            parts.append(f"**Assistant asks** ({', '.join(turn.get('asked', []))}): {html.escape(turn['text'])}")
    parts.append("**Answer:**<br>" + (_marked(row.get("answer", ""), row.get("unsupported_sentences") or []) or "_(none)_"))
    if row.get("unsupported_sentences"):
        parts.append("_Highlighted sentences are not supported by the retrieved context._")
    reasons = failure_reasons(row)
    parts.append("**Verdict:** " + ("; ".join(reasons) if reasons else "passed"))
    parts.append(
        f"**Keywords hit:** {html.escape(', '.join(row.get('keywords_hit', [])) or '-')}  \n"
        f"**Keywords missed:** {html.escape(', '.join(row.get('keywords_missed', [])) or '-')}  \n"
        f"**Asked:** {', '.join(row.get('asked', [])) or '-'}; **must ask:** {', '.join(row.get('must_ask', [])) or '-'}  \n"
        f"**Groundedness:** {rounded(row.get('groundedness'))}; **latency:** {rounded(row.get('latency_s'), 1)} s"
    )
    if row.get("sources"):
        lines = [
            f"- [{s.get('n', i + 1)}] {html.escape(str(s.get('kb', '')))}:{html.escape(str(s.get('source', '')))}"
            + (f" > {html.escape(str(s['section']))}" if s.get("section") else "")
            for i, s in enumerate(row["sources"])
        ]
        parts.append("**Sources**\n\n" + "\n".join(lines))
    if row.get("tool_findings"):
        lines = [f"- {html.escape(_finding(f))}" for f in row["tool_findings"]]
        parts.append("**Tool findings**\n\n" + "\n".join(lines))
    return "\n\n".join(parts)


def _finding(finding: dict[str, Any]) -> str:
    name = finding.get("check") or finding.get("tool") or "tool"
    text = finding.get("summary") or finding.get("text") or finding.get("output") or finding
    return f"{name}: {str(text)[:400]}"
