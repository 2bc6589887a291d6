"""The dashboard's data: rounding, failure reasons, paging, trends, run comparison, the
conversation view, and the trace list's status/question/tokens, from files an eval writes."""

from __future__ import annotations

import json
from pathlib import Path

from nanoscale.app import dashboard as d
from nanoscale.app.tracing import TraceStore, llm_tokens
from nanoscale.evals import metrics
from nanoscale.evals.report import history, read_results, record


def row(case_id: str, coverage: float | None = 1.0, **extra) -> dict:
    base = {
        "id": case_id, "category": "aws", "system": "rag@m", "question": f"question {case_id}",
        "asked": [], "must_ask": [], "answer": "Attach the policy. Reboot the moon.",
        "keyword_coverage": coverage, "keywords_hit": ["policy"], "keywords_missed": [],
        "clarification_correct": True, "hallucinated": False, "groundedness": 1.0,
        "unsupported_sentences": [], "invalid_aws_actions": [], "latency_s": 1.23456, "trace_id": "t1",
    }
    return {**base, **extra}


def test_keywords_found_is_what_coverage_counts():
    assert metrics.keywords_found("Set the nodeSelector", ["node-selector", "taint"]) == ["node-selector"]
    assert metrics.keyword_coverage("Set the nodeSelector", ["node-selector", "taint"]) == 0.5


def test_failure_reasons_name_what_went_wrong():
    assert d.failure_reasons(row("a")) == []
    bad = row("b", 0.25, must_ask=["region"], clarification_correct=False, hallucinated=True,
              unsupported_sentences=["Reboot the moon."])
    assert d.failure_reasons(bad) == ["did not ask for region", "keyword coverage 0.25", "1 unsupported sentence(s)"]


def test_filters_and_pages():
    rows = [row(f"c{i:03d}", 0.0 if i % 2 else 1.0, category="aws" if i < 60 else "k8s") for i in range(120)]
    assert len(d.filter_cases(rows, "rag@m", failures_only=True)) == 60
    assert len(d.filter_cases(rows, "rag@m", category="k8s")) == 60
    assert [r["id"] for r in d.filter_cases(rows, "rag@m", search="c007")] == ["c007"]
    shown, number, pages = d.page(rows, 9)
    assert (len(shown), number, pages) == (20, 3, 3)
    assert d.case_row(rows[0])[2] == 1.0 and d.case_row(rows[0])[8] == 1.2


def test_compare_puts_worse_cases_first():
    before = [row("a", 1.0), row("b", 0.0), row("c", 0.5)]
    after = [row("a", 0.0), row("b", 1.0), row("c", 0.5)]
    compared = d.compare_cases(before, after, "rag@m", "rag@m")
    assert [(r[0], r[2]) for r in compared] == [("a", "worse"), ("b", "better"), ("c", "same")]
    assert "keyword coverage 1.00 -> 0.00" in compared[0][5]


def test_conversation_highlights_unsupported_sentences():
    text = d.conversation(row("a", unsupported_sentences=["Reboot the moon."], hallucinated=True,
                              turns_log=[{"user": "q", "status": "needs_input", "text": "Which region?",
                                          "asked": ["region"]}, {"user": "eu-west-1", "status": "answer", "text": ""}]))
    assert "<mark" in text and "Reboot the moon.</mark>" in text
    assert "Which region?" in text and "eu-west-1" in text


def test_trend_groups_by_system_cases_file_and_size(tmp_path: Path):
    db = tmp_path / "evals.sqlite"
    summary = {"system": "rag@m", "cases": 3, "keyword_coverage": 0.5, "groundedness": None}
    record(db, "eval-1", [summary], "cases.jsonl")
    record(db, "eval-2", [{**summary, "keyword_coverage": 0.7}], "cases.jsonl")
    record(db, "eval-3", [summary], "other.jsonl")
    points = d.trend_points(history(db), "rag@m", "cases.jsonl", 3)
    assert [(p["run"], p["value"]) for p in points] == [("eval-1", 0.5), ("eval-2", 0.7)]


def test_read_results_and_headline(tmp_path: Path):
    (tmp_path / "results.jsonl").write_text(json.dumps(row("a")) + "\n")
    assert read_results(tmp_path)[0]["id"] == "a" and read_results(tmp_path / "none") == []
    text = d.headline({"cases": 3, "keyword_coverage": 0.4178082191780822,
                       "intervals": {"groundedness": {"mean": 0.5, "low": 0.25, "high": 0.75, "n": 3}}})
    assert "0.42" in text and "0.50 [0.25, 0.75]" in text and "0.4178" not in text


def test_trace_summaries_status_question_and_tokens(tmp_path: Path):
    store = TraceStore(tmp_path / "traces.sqlite")

    def run(id_, trace, parent=None, name="n", run_type="chain", inputs=None, outputs=None, error=None, t=0):
        store.upsert({"id": id_, "trace_id": trace, "parent_run_id": parent, "dotted_order": f"{trace}.{id_}",
                      "name": name, "run_type": run_type, "inputs": json.dumps(inputs or {}),
                      "outputs": json.dumps(outputs) if outputs else None, "error": error,
                      "start_time": f"2026-01-01T00:00:0{t}+00:00", "end_time": f"2026-01-01T00:00:0{t + 1}+00:00",
                      "tags": "[]", "metadata": "{}"})

    run("r1", "r1", inputs={"question": "EC2 cannot pull from ECR"}, outputs={"answer": ""}, t=1)
    run("c1", "r1", "r1", "clarify", error="GraphInterrupt(...)")
    run("r2", "r2", inputs={"input": "resume"}, outputs={"answer": "Do X."}, t=2)
    run("s2", "r2", "r2", "signals", inputs={"question": "EC2 cannot pull from ECR"})
    run("l2", "r2", "r2", "ChatLlamaCpp", "llm", outputs={"generations": [[{"text": "12345678"}]]})
    listed = store.trace_summaries()
    assert [(t["trace_id"], t["status"]) for t in listed] == [("r2", "answer"), ("r1", "needs_input")]
    assert listed[0]["question"] == "EC2 cannot pull from ECR" and listed[0]["tokens"] == (2, False)
    assert listed[0]["duration_s"] == 1.0
    assert store.count_traces("ECR") == 2 and store.count_traces("nothing") == 0
    assert llm_tokens({"llm_output": {"token_usage": {"completion_tokens": 7}}}) == (7, True)


def test_trace_tree_html_marks_the_slowest_leaf(tmp_path: Path):
    from nanoscale.app.ui_traces import trace_html

    store = TraceStore(tmp_path / "traces.sqlite")
    for id_, parent, start, end in (("r", None, "00", "09"), ("a", "r", "00", "01"), ("b", "r", "01", "08")):
        store.upsert({"id": id_, "trace_id": "r", "parent_run_id": parent, "dotted_order": id_, "name": f"node-{id_}",
                      "run_type": "chain", "inputs": "{}", "outputs": None, "error": None,
                      "start_time": f"2026-01-01T00:00:{start}+00:00", "end_time": f"2026-01-01T00:00:{end}+00:00",
                      "tags": "[]", "metadata": "{}"})
    page = trace_html(store, "r")
    assert page.index("node-b") < page.index("slowest") and "7000 ms" in page
    assert "unknown trace" in trace_html(store, "missing")
