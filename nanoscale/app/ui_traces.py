"""The Traces tab: a searchable, paged list of traces; clicking a row opens its run tree."""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any

import gradio as gr

from nanoscale.app.tracing import TraceStore

PAGE_SIZE = 50
COLUMNS = ["started", "question", "status", "duration s", "tokens", "trace id"]
WIDTHS = ["14%", "40%", "10%", "8%", "7%", "21%"]
_IO_CHARS = 6000  # inputs/outputs shown per run; the full run is in /traces/{id}


def _seconds(node: dict[str, Any]) -> float | None:
    if not (node.get("start_time") and node.get("end_time")):
        return None
    return (datetime.fromisoformat(node["end_time"]) - datetime.fromisoformat(node["start_time"])).total_seconds()


def trace_rows(store: TraceStore, search: str, number: int) -> tuple[list[list[Any]], str, int]:
    """One page of the trace list, its caption and the page number actually shown."""
    total = store.count_traces(search)
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(1, int(number or 1)), pages)
    rows = []
    for t in store.trace_summaries(PAGE_SIZE, (number - 1) * PAGE_SIZE, search):
        words = t["question"].split()
        question = " ".join(words[:12]) + (" ..." if len(words) > 12 else "")
        tokens = t["tokens"]
        rows.append(
            [
                (t["start_time"] or "")[:19].replace("T", " "),
                question,
                t["status"],
                round(t["duration_s"], 2) if t["duration_s"] is not None else "-",
                "-" if tokens is None else (str(tokens[0]) if tokens[1] else f"~{tokens[0]}"),
                t["trace_id"],
            ]
        )
    caption = f"{total} traces, page {number} of {pages} (newest first; `~` marks an estimated token count)"
    return rows, caption, number


def _slowest_leaf(node: dict[str, Any]) -> tuple[float, str]:
    """The run with no children that took longest: where the time actually went."""
    if not node.get("child_runs"):
        return _seconds(node) or 0.0, node["id"]
    return max(_slowest_leaf(child) for child in node["child_runs"])


def _io(label: str, value: Any) -> str:
    if value in (None, {}, []):
        return ""
    text = json.dumps(value, indent=1, ensure_ascii=False, default=str)
    if len(text) > _IO_CHARS:
        text = text[:_IO_CHARS] + f"\n... ({len(text) - _IO_CHARS} more characters)"
    return f"<details><summary>{label}</summary><pre>{html.escape(text)}</pre></details>"


def _node_html(node: dict[str, Any], total: float, slowest: str) -> str:
    seconds = _seconds(node)
    share = (seconds or 0.0) / total if total else 0.0
    interrupted = (node.get("error") or "").startswith("GraphInterrupt")
    flags = []
    if node["id"] == slowest:
        flags.append('<span class="trace-slow">slowest</span>')
    if node.get("error"):
        flags.append(
            '<span class="trace-wait">interrupt: waits for the user</span>'
            if interrupted
            else '<span class="trace-err">error</span>'
        )
    color = "#d9534f" if node["id"] == slowest else "#f0ad4e" if share > 0.25 else "#5b9bd5"
    bar = f'<span class="trace-bar" style="width:{max(share * 160, 2):.0f}px;background:{color}"></span>'
    duration = f"{seconds * 1000:.0f} ms" if seconds is not None else "running"
    summary = (
        f"{bar} <b>{html.escape(node['name'])}</b> <i>{html.escape(node['run_type'] or '')}</i> "
        f"{duration} {' '.join(flags)}"
    )
    body = _io("inputs", node.get("inputs")) + _io("outputs", node.get("outputs"))
    if node.get("error") and not interrupted:
        body += f"<pre class='trace-err'>{html.escape(node['error'][:3000])}</pre>"
    children = "".join(_node_html(child, total, slowest) for child in node.get("child_runs", []))
    return f'<details open class="trace-node"><summary>{summary}</summary>{body}{children}</details>'


STYLE = """<style>
.trace-node { margin-left: 18px; border-left: 1px solid #ccc; padding-left: 6px; }
.trace-node > summary { cursor: pointer; padding: 2px 0; }
.trace-bar { display: inline-block; height: 10px; vertical-align: middle; border-radius: 2px; }
.trace-slow { background: #d9534f; color: white; padding: 0 4px; border-radius: 3px; font-size: 0.85em; }
.trace-err { color: #d9534f; }
.trace-wait { background: #f0ad4e; color: black; padding: 0 4px; border-radius: 3px; font-size: 0.85em; }
.trace-node pre { max-height: 300px; overflow: auto; font-size: 0.8em; white-space: pre-wrap; }
</style>"""


def trace_html(store: TraceStore, trace_id: str) -> str:
    """A trace as nested runs: bar length is the share of the whole trace's time, the slowest
    leaf run is marked red, inputs and outputs fold out under each run."""
    if not trace_id:
        return "<p>Select a trace in the list.</p>"
    try:
        tree = store.tree(trace_id)
    except Exception as exc:  # noqa: BLE001 - an unknown or deleted trace is said, not raised
        return f"<p>{html.escape(str(exc))}</p>"
    total = _seconds(tree) or 0.0
    _, slowest = _slowest_leaf(tree)
    title = f"<p>Trace <code>{html.escape(trace_id)}</code>, {total:.2f} s in all</p>"
    return STYLE + f'<div id="trace-tree">{title}{_node_html(tree, total, slowest)}</div>'


class TracesTab:
    """The list (search, pages of 50, newest first) above the selected trace's tree."""

    def __init__(self, store: TraceStore) -> None:
        self.store = store
        with gr.Row():
            self.search = gr.Textbox(label="Search questions or trace id", elem_id="trace-search", scale=3)
            refresh = gr.Button("Refresh", scale=0)
        self.table = gr.Dataframe(
            headers=COLUMNS, column_widths=WIDTHS, interactive=False, wrap=True, elem_id="traces", max_height=420
        )
        with gr.Row():
            self.prev = gr.Button("< Newer", scale=0)
            self.caption = gr.Markdown(elem_id="traces-page")
            self.next = gr.Button("Older >", scale=0)
        self.page = gr.State(1)
        self.tree = gr.HTML(elem_id="trace-view")
        outputs = [self.table, self.caption, self.page]
        self.reload(refresh.click)
        self.prev.click(self._step(-1), [self.search, self.page], outputs)
        self.next.click(self._step(1), [self.search, self.page], outputs)
        self.search.submit(lambda text: trace_rows(store, text or "", 1), self.search, outputs)

        def open_row(evt: gr.SelectData) -> str:
            return self.show((evt.row_value or [""])[-1])

        self.table.select(open_row, None, self.tree)

    def _step(self, delta: int):
        return lambda text, number: trace_rows(self.store, text or "", int(number or 1) + delta)

    def reload(self, event: Any) -> None:
        """Redraw the current page when `event` fires (page load, Refresh)."""
        event(self._step(0), [self.search, self.page], [self.table, self.caption, self.page])

    def show(self, trace_id: str) -> str:
        return trace_html(self.store, trace_id)
