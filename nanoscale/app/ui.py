"""The Gradio UI mounted at /ui: the chat (clarification questions as assistant turns, streamed
tokens, sources, unverified sentences marked), recent traces as trees, and evaluation runs."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from nanoscale.app.tracing import TraceStore, trace_outline
from nanoscale.config import Settings
from nanoscale.engine import AskResult, Engine
from nanoscale.evals.report import eval_runs
from nanoscale.tools.findings import split_block

STATUS_ICONS = {"ok": "✅", "denied": "⛔", "missing": "❓", "problem": "⚠️", "failed": "❌"}


def render_findings(findings: list[dict[str, Any]]) -> str:
    """The checks that ran, as a quoted block set apart from the model's prose."""
    lines = [
        f"> {STATUS_ICONS.get(f['status'], '')} **{f['check']}** ({f['status']}): {f['summary']}"
        for f in findings
    ]
    return "> **Checked**\n>\n" + "\n>\n".join(lines)


def render_result(result: AskResult) -> str:
    """An answer as Markdown: the checks' findings apart from the prose, marked sentences, invented
    AWS names, numbered sources."""
    if result.status == "needs_input":
        return result.text
    _, prose = split_block(result.marked_answer(), result.findings)
    parts = [render_findings(result.findings), prose] if result.findings else [prose]
    if result.contradictions:
        parts.append("_Sentences marked [contradicts ...] disagree with what a check found._")
    if result.unsupported_sentences:
        parts.append("_Sentences marked [unverified] are not supported by the retrieved context._")
    if result.invalid_aws_actions:
        parts.append(
            "**Not real AWS actions/commands:** " + ", ".join(f"`{a}`" for a in result.invalid_aws_actions)
        )
    if result.sources:
        lines = [
            f"[{s['n']}] {s['kb']}:{s['source']}" + (f" > {s['section']}" if s.get("section") else "")
            for s in result.sources
        ]
        parts.append("**Sources**\n" + "\n".join(f"- {line}" for line in lines))
    return "\n\n".join(parts)


def mount_ui(app: FastAPI, engine: Engine, store: TraceStore, settings: Settings) -> None:
    import gradio as gr

    def respond(message: str, history: list[dict], thread_id: str | None):
        message = (message or "").strip()
        if not message:
            yield history, thread_id, ""
            return
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
        yield history, thread_id, ""
        text = ""
        for event in engine.stream(message, thread_id):
            if event.kind == "token":
                text += event.token
                history[-1]["content"] = text
                yield history, thread_id, ""
            elif event.result is not None:
                history[-1]["content"] = render_result(event.result)
                yield history, event.result.thread_id, ""
            else:
                history[-1]["content"] = f"Error: {event.error}"
                yield history, thread_id, ""

    def list_traces() -> list[list[Any]]:
        return [
            [t["trace_id"], t["name"], t["thread_id"], t["start_time"], bool(t["error"])]
            for t in store.list_traces(50)
        ]

    def show_trace(trace_id: str) -> tuple[str, str]:
        try:
            tree = store.tree(trace_id.strip())
        except Exception as exc:  # noqa: BLE001 - an unknown id is shown, not raised
            return str(exc), ""
        return "\n".join(trace_outline(tree)), json.dumps(tree, indent=1)[:200_000]

    def list_evals() -> list[list[Any]]:
        rows = []
        for run in eval_runs(settings.runs_dir):
            for system in run["systems"] if isinstance(run["systems"], list) else []:
                rows.append(
                    [
                        run["run"],
                        system.get("system"),
                        system.get("cases"),
                        system.get("keyword_coverage"),
                        system.get("clarification_accuracy"),
                        system.get("groundedness"),
                        system.get("hallucination_rate"),
                        system.get("invalid_aws_actions"),
                    ]
                )
        return rows

    with gr.Blocks(title="OpenNanoScaleLLM") as blocks:
        gr.Markdown("## OpenNanoScaleLLM: grounded DevOps troubleshooting")
        with gr.Tab("Chat"):
            thread = gr.State(None)
            chatbot = gr.Chatbot(label="Conversation", height=480, elem_id="chat")
            box = gr.Textbox(
                placeholder="Describe the problem, e.g. EC2 cannot pull image from ECR",
                label="Message",
                elem_id="message",
            )
            new = gr.Button("New conversation")
            box.submit(respond, [box, chatbot, thread], [chatbot, thread, box])
            new.click(lambda: ([], None, ""), None, [chatbot, thread, box])
        with gr.Tab("Evaluations"):
            gr.Markdown("Runs written by `nanoscale eval` (one row per system).")
            evals = gr.Dataframe(
                headers=[
                    "run",
                    "system",
                    "cases",
                    "keyword coverage",
                    "clarification",
                    "groundedness",
                    "hallucination rate",
                    "invalid AWS actions",
                ],
                value=list_evals,
                interactive=False,
            )
            gr.Button("Refresh").click(list_evals, None, evals)
        with gr.Tab("Traces"):
            table = gr.Dataframe(
                headers=["trace id", "name", "thread", "started", "error"],
                value=list_traces,
                interactive=False,
            )
            gr.Button("Refresh").click(list_traces, None, table)
            trace_id = gr.Textbox(label="Trace id")
            outline = gr.Textbox(label="Run tree (node, type, duration)", lines=14)
            raw = gr.Code(label="Runs with inputs and outputs", language="json")
            trace_id.submit(show_trace, trace_id, [outline, raw])
    gr.mount_gradio_app(app, blocks, path="/ui")
