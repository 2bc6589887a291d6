"""The Gradio UI mounted at /ui: the chat (clarification questions as assistant turns, streamed
tokens, sources, unverified sentences marked), the evaluation dashboard (ui_evals) and the trace
list with run trees (ui_traces)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from nanoscale.app.tracing import TraceStore
from nanoscale.config import Settings
from nanoscale.engine import AskResult, Engine
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

    from nanoscale.app.ui_evals import EvalsTab
    from nanoscale.app.ui_traces import TracesTab

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

    with gr.Blocks(title="OpenNanoScaleLLM") as blocks:
        gr.Markdown("## OpenNanoScaleLLM: grounded DevOps troubleshooting")
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat"):
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
            with gr.Tab("Evaluations", id="evals"):
                evals = EvalsTab(settings)
            with gr.Tab("Traces", id="traces"):
                traces = TracesTab(store)
        evals.reload(blocks.load)
        traces.reload(blocks.load)

        def open_from_eval(trace_id: str):
            return gr.Tabs(selected="traces"), traces.show(trace_id)

        for button in (evals.open_trace, evals.open_compared_trace):
            button.click(open_from_eval, evals.trace_id, [tabs, traces.tree])
    gr.mount_gradio_app(app, blocks, path="/ui")
