"""A LangChain tracer that stores every run in SQLite as it happens, secrets redacted.

Each row is one run (graph, node, chat model, retriever, tool): its id, trace id, parent,
dotted order, name, type, inputs, outputs, error, times, tags and metadata (with the
LangGraph ``thread_id`` and ``langgraph_node``). Traces can be listed, shown as a tree or an
outline, and exported in LangSmith's run-tree JSON shape.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run

from nanoscale.errors import InputError
from nanoscale.tools.redact import redact_data

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, parent_run_id TEXT, dotted_order TEXT,
    name TEXT, run_type TEXT, inputs TEXT, outputs TEXT, error TEXT,
    start_time TEXT, end_time TEXT, tags TEXT, metadata TEXT
);
CREATE INDEX IF NOT EXISTS runs_trace ON runs (trace_id);
CREATE INDEX IF NOT EXISTS runs_start ON runs (start_time);
"""
_METADATA_KEYS = ("thread_id", "langgraph_node", "langgraph_step", "ls_model_name", "ls_provider")


def plain(value: Any, depth: int = 0) -> Any:
    """JSON-ready copy of run inputs/outputs (messages, documents, pydantic models, dataclasses)."""
    if depth > 12:
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v, depth + 1) for v in value]
    if hasattr(value, "model_dump"):
        return plain(value.model_dump(), depth + 1)
    if hasattr(value, "__dataclass_fields__"):
        return plain(vars(value), depth + 1)
    return str(value)


def trace_outline(node: dict[str, Any], depth: int = 0) -> list[str]:
    """One line per run of a trace tree: indentation for nesting, name, type, duration."""
    duration = ""
    if node.get("start_time") and node.get("end_time"):
        seconds = (
            datetime.fromisoformat(node["end_time"]) - datetime.fromisoformat(node["start_time"])
        ).total_seconds()
        duration = f" {seconds * 1000:.0f} ms"
    error = " ERROR" if node.get("error") else ""
    lines = [f"{'  ' * depth}- {node['name']} ({node['run_type']}){duration}{error}"]
    for child in node.get("child_runs", []):
        lines.extend(trace_outline(child, depth + 1))
    return lines


def llm_tokens(outputs: dict[str, Any]) -> tuple[int, bool]:
    """Tokens a model run generated: its reported usage when the backend gives one (exact), else
    about four characters a token of the generated text (an estimate, flagged False)."""
    usage = (outputs.get("llm_output") or {}).get("token_usage") or {}
    if usage.get("completion_tokens"):
        return int(usage["completion_tokens"]), True
    text = ""
    for generation in (g for group in outputs.get("generations") or [] for g in group):
        message = (generation.get("message") or {}).get("kwargs") or {}
        if (message.get("usage_metadata") or {}).get("output_tokens"):
            return int(message["usage_metadata"]["output_tokens"]), True
        text += generation.get("text") or ""
    return len(text) // 4, False


class TraceStore:
    """The SQLite file behind the tracer and the trace routes/commands."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._connection.executescript(_SCHEMA)

    def upsert(self, row: dict[str, Any]) -> None:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        updates = ", ".join(f"{c}=excluded.{c}" for c in row if c != "id")
        with self._lock:
            self._connection.execute(
                f"INSERT INTO runs ({columns}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}",
                list(row.values()),
            )
            self._connection.commit()

    def list_traces(self, limit: int = 50) -> list[dict[str, Any]]:
        """Root runs, newest first, with their thread and duration."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT id, name, start_time, end_time, error, metadata, inputs FROM runs "
                "WHERE parent_run_id IS NULL ORDER BY start_time DESC LIMIT ?",
                (max(1, min(limit, 1000)),),
            ).fetchall()
        out = []
        for run_id, name, start, end, error, metadata, inputs in rows:
            out.append(
                {
                    "trace_id": run_id,
                    "name": name,
                    "start_time": start,
                    "end_time": end,
                    "error": error,
                    "thread_id": json.loads(metadata or "{}").get("thread_id"),
                    "inputs": json.loads(inputs or "{}"),
                }
            )
        return out

    def _roots_where(self, search: str) -> tuple[str, list[Any]]:
        """Root runs, optionally those whose question (or id) contains `search`."""
        if not search.strip():
            return "parent_run_id IS NULL", []
        needle = f"%{search.strip()}%"
        return (
            "parent_run_id IS NULL AND (id LIKE ? OR trace_id IN (SELECT trace_id FROM runs "
            "WHERE json_extract(inputs, '$.question') LIKE ?))",
            [needle, needle],
        )

    def count_traces(self, search: str = "") -> int:
        where, params = self._roots_where(search)
        with self._lock:
            return self._connection.execute(f"SELECT COUNT(*) FROM runs WHERE {where}", params).fetchone()[0]

    def trace_summaries(self, limit: int = 50, offset: int = 0, search: str = "") -> list[dict[str, Any]]:
        """One page of traces, newest first, as the trace list shows them: start, question, status
        (answer / needs_input / error / running), duration and generated tokens."""
        where, params = self._roots_where(search)
        with self._lock:
            roots = self._connection.execute(
                f"SELECT id, start_time, end_time, error, outputs, metadata FROM runs WHERE {where} "
                "ORDER BY start_time DESC LIMIT ? OFFSET ?",
                [*params, max(1, min(limit, 1000)), max(0, offset)],
            ).fetchall()
            ids = [r[0] for r in roots]
            marks = ", ".join("?" for _ in ids)
            details = self._connection.execute(
                f"SELECT trace_id, run_type, json_extract(inputs, '$.question'), outputs, error FROM runs "
                f"WHERE trace_id IN ({marks}) ORDER BY dotted_order",
                ids,
            ).fetchall()
        questions: dict[str, str] = {}
        interrupted: set[str] = set()
        tokens: dict[str, tuple[int, bool]] = {}
        for trace_id, run_type, question, outputs, error in details:
            if question and trace_id not in questions:
                questions[trace_id] = question
            if error and error.startswith("GraphInterrupt"):
                interrupted.add(trace_id)
            if run_type == "llm" and outputs:
                count, exact = llm_tokens(json.loads(outputs))
                total, all_exact = tokens.get(trace_id, (0, True))
                tokens[trace_id] = (total + count, all_exact and exact)
        out = []
        for run_id, start, end, error, outputs, metadata in roots:
            status = "error" if error else "needs_input" if run_id in interrupted else "answer" if outputs else "running"
            seconds = (
                (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() if start and end else None
            )
            out.append(
                {
                    "trace_id": run_id,
                    "start_time": start,
                    "question": questions.get(run_id, ""),
                    "status": status,
                    "duration_s": seconds,
                    "tokens": tokens.get(run_id),
                    "thread_id": json.loads(metadata or "{}").get("thread_id"),
                }
            )
        return out

    def runs(self, trace_id: str) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._connection.execute(
                "SELECT * FROM runs WHERE trace_id = ? ORDER BY dotted_order, start_time", (trace_id,)
            )
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if not rows:
            raise InputError(f"unknown trace '{trace_id}'")
        for row in rows:
            for key in ("inputs", "outputs", "tags", "metadata"):
                row[key] = json.loads(row[key]) if row[key] else None
        return rows

    def tree(self, trace_id: str) -> dict[str, Any]:
        """The trace as nested runs, in LangSmith's run-tree shape (``child_runs``)."""
        runs = self.runs(trace_id)
        nodes = {
            row["id"]: {
                "id": row["id"],
                "name": row["name"],
                "run_type": row["run_type"],
                "trace_id": row["trace_id"],
                "parent_run_id": row["parent_run_id"],
                "dotted_order": row["dotted_order"],
                "start_time": row["start_time"],
                "end_time": row["end_time"],
                "inputs": row["inputs"],
                "outputs": row["outputs"],
                "error": row["error"],
                "tags": row["tags"] or [],
                "extra": {"metadata": row["metadata"] or {}},
                "child_runs": [],
            }
            for row in runs
        }
        root = None
        for node in nodes.values():
            parent = nodes.get(node["parent_run_id"])
            if parent is None:
                root = root or node
            else:
                parent["child_runs"].append(node)
        return root

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class SQLiteTracer(BaseTracer):
    """Writes each run when it starts and again when it ends."""

    def __init__(self, store: TraceStore) -> None:
        super().__init__()
        self.store = store

    def _persist_run(self, run: Run) -> None:
        """Runs are stored as they happen (_on_run_create/_on_run_update)."""

    def _row(self, run: Run) -> dict[str, Any]:
        metadata = (run.extra or {}).get("metadata", {})
        kept = {k: metadata[k] for k in _METADATA_KEYS if k in metadata}
        return {
            "id": str(run.id),
            "trace_id": str(run.trace_id or run.id),
            "parent_run_id": str(run.parent_run_id) if run.parent_run_id else None,
            "dotted_order": run.dotted_order,
            "name": run.name,
            "run_type": run.run_type,
            "inputs": json.dumps(redact_data(plain(run.inputs)), default=str),
            "outputs": json.dumps(redact_data(plain(run.outputs)), default=str) if run.outputs else None,
            "error": redact_data(run.error) if run.error else None,
            "start_time": run.start_time.isoformat() if run.start_time else None,
            "end_time": run.end_time.isoformat() if run.end_time else None,
            "tags": json.dumps(run.tags or []),
            "metadata": json.dumps(redact_data(plain(kept)), default=str),
        }

    def _on_run_create(self, run: Run) -> None:
        self.store.upsert(self._row(run))

    def _on_run_update(self, run: Run) -> None:
        self.store.upsert(self._row(run))
