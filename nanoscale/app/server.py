"""The FastAPI app: `/chat` (and its SSE stream), LangServe under `/graph`, traces, health, the UI.

The model serves one request at a time behind a bounded queue: when the queue is full the
server answers 503 with Retry-After instead of piling requests up. Input limits come from the
settings and are named in every 413/422 answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from nanoscale.app.tracing import SQLiteTracer, TraceStore
from nanoscale.config import Settings
from nanoscale.engine import AskResult, Engine
from nanoscale.errors import InputError, NanoscaleError
from nanoscale.tools.redact import redact

log = logging.getLogger("nanoscale.server")


class ChatRequest(BaseModel):
    """One chat message; a message on a thread that waits for a clarification resumes it."""

    message: str = Field(description="the question, or the reply to a clarification question")
    thread_id: str | None = Field(default=None, description="continue this thread")


class ChatResponse(BaseModel):
    thread_id: str
    status: str = Field(description="answer or needs_input")
    text: str
    asked: list[str]
    sources: list[dict[str, Any]]
    unsupported_sentences: list[str]
    invalid_aws_actions: list[str]
    trace_id: str


class Busy(Exception):
    """The work queue is full."""


class WorkQueue:
    """One model worker, at most `size` requests waiting for it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._worker = threading.Lock()
        self._count = threading.Lock()
        self.waiting = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._count:
            if self.waiting >= self.size:
                raise Busy
            self.waiting += 1
        try:
            with self._worker:
                yield
        finally:
            with self._count:
                self.waiting -= 1


def to_response(result: AskResult) -> ChatResponse:
    return ChatResponse(
        thread_id=result.thread_id,
        status=result.status,
        text=result.marked_answer() if result.status == "answer" else result.text,
        asked=result.asked,
        sources=result.sources,
        unsupported_sentences=result.unsupported_sentences,
        invalid_aws_actions=result.invalid_aws_actions,
        trace_id=result.trace_id,
    )


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": str(extra.pop("retry_after"))} if "retry_after" in extra else None
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def eval_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """Summaries of evaluation runs (`runs/eval-*/summary.json`), newest first."""
    runs = []
    for summary in sorted(runs_dir.glob("eval-*/summary.json"), reverse=True):
        try:
            runs.append({"run": summary.parent.name, "systems": json.loads(summary.read_text())})
        except (OSError, ValueError):
            continue
    return runs


def create_app(settings: Settings, engine: Engine | None = None, load_in_background: bool = True) -> FastAPI:
    """The whole server; `engine` may be injected (tests), else it is built from the settings."""
    from langserve import add_routes

    from nanoscale.app.graph_runnable import graph_runnable

    store = TraceStore(settings.traces_path)
    if engine is None:
        engine = Engine(settings, callbacks=[SQLiteTracer(store)])
    elif not engine.callbacks:
        engine.callbacks = [SQLiteTracer(store)]
    queue = WorkQueue(settings.server.queue_size)
    limits = settings.graph
    app = FastAPI(title="OpenNanoScaleLLM", version="0.1.0", description=__doc__)
    app.state.engine, app.state.store, app.state.queue = engine, store, queue
    app.state.load_error = None

    def load() -> None:
        try:
            engine.resources  # noqa: B018 - loads model, embeddings and knowledge bases
        except NanoscaleError as exc:
            app.state.load_error = str(exc)

    @app.on_event("startup")
    async def _startup() -> None:
        if load_in_background:
            threading.Thread(target=load, daemon=True).start()
        else:
            load()

    @app.middleware("http")
    async def body_limit(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.server.max_body_bytes:
            return _error(
                413, f"request body over {settings.server.max_body_bytes} bytes", limit="max_body_bytes"
            )
        return await call_next(request)

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy) -> JSONResponse:
        return _error(503, "the model is busy; try again shortly", retry_after=5)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e.get("loc", [])), "msg": e.get("msg")} for e in exc.errors()]
        return _error(422, "malformed request: " + "; ".join(d["msg"] for d in details), details=details)

    def check_message(message: str) -> None:
        if len(message) > limits.max_question_chars:
            raise InputError(
                f"message is {len(message):,} characters; max_question_chars is {limits.max_question_chars:,}"
            )

    def run_chat(body: ChatRequest) -> AskResult:
        check_message(body.message)
        if body.thread_id and not engine.exists(body.thread_id):
            raise LookupError(body.thread_id)
        with queue.slot():
            return engine.send(body.message, body.thread_id)

    @app.post("/chat", response_model=ChatResponse)
    async def chat(body: ChatRequest):
        if app.state.load_error:
            return _error(503, app.state.load_error, retry_after=30)
        try:
            return to_response(await run_in_threadpool(run_chat, body))
        except LookupError:
            return _error(404, f"unknown thread '{body.thread_id}'")
        except Busy:
            return _error(503, "the model is busy; try again shortly", retry_after=5)
        except InputError as exc:
            return _error(
                422, str(exc), limit="max_question_chars" if "max_question_chars" in str(exc) else None
            )

    @app.post("/chat/stream")
    async def chat_stream(body: ChatRequest):
        """Server-sent events: `token` events while generating, then one `result` event."""
        from sse_starlette.sse import EventSourceResponse

        try:
            check_message(body.message)
        except InputError as exc:
            return _error(422, str(exc), limit="max_question_chars")
        if body.thread_id and not engine.exists(body.thread_id):
            return _error(404, f"unknown thread '{body.thread_id}'")
        events: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def work() -> None:
            def emit(kind: str, data: str) -> None:
                loop.call_soon_threadsafe(events.put_nowait, (kind, data))

            try:
                with queue.slot():
                    result = engine.send(body.message, body.thread_id, on_token=lambda t: emit("token", t))
                emit("result", to_response(result).model_dump_json())
            except Busy:
                emit("error", json.dumps({"error": "the model is busy; try again shortly"}))
            except NanoscaleError as exc:
                emit("error", json.dumps({"error": str(exc)}))
            except Exception as exc:  # the client must get an end event, never a silent hang
                log.error("chat stream failed:\n%s", redact("".join(traceback.format_exception(exc))))
                emit(
                    "error",
                    json.dumps({"error": f"internal error ({type(exc).__name__}); see the server log"}),
                )

        async def stream():
            threading.Thread(target=work, daemon=True).start()
            while True:
                kind, data = await events.get()
                yield {"event": kind, "data": data}
                if kind in {"result", "error"}:
                    return

        return EventSourceResponse(stream())

    add_routes(
        app,
        graph_runnable(engine, queue),
        path="/graph",
        enabled_endpoints=(
            "invoke",
            "batch",
            "stream",
            "input_schema",
            "output_schema",
            "config_schema",
            "playground",
        ),
    )

    @app.get("/traces")
    async def traces(limit: int = 50):
        return store.list_traces(limit)

    @app.get("/traces/{trace_id}")
    async def trace(trace_id: str):
        try:
            return store.tree(trace_id)
        except InputError as exc:
            return _error(404, str(exc))

    @app.get("/evals/runs")
    async def evals():
        return eval_runs(settings.runs_dir)

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz():
        if app.state.load_error:
            return _error(503, app.state.load_error)
        if not engine.ready:
            return _error(503, "loading the model and knowledge bases", retry_after=5)
        return {"status": "ready", "model": settings.model.preset}

    from nanoscale.app.ui import mount_ui

    mount_ui(app, engine, store, settings)
    return app
