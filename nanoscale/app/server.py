"""The FastAPI app: `/chat` (and its SSE stream), LangServe under `/graph`, traces, health, the UI.

The model serves one request at a time behind a bounded queue: when the queue is full the
server answers 503 with Retry-After instead of piling requests up. Input limits come from the
settings and are named in every 413/422 answer.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from langserve import add_routes
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from nanoscale.app.graph_runnable import graph_runnable
from nanoscale.app.schema import ChatRequest, ChatResponse
from nanoscale.app.tracing import SQLiteTracer, TraceStore
from nanoscale.app.ui import mount_ui
from nanoscale.app.work_queue import Busy, WorkQueue
from nanoscale.config import Settings
from nanoscale.engine import AskResult, Engine
from nanoscale.errors import InputError, NanoscaleError
from nanoscale.evals.report import eval_runs
from nanoscale.tools.redact import redact

log = logging.getLogger("nanoscale.server")
BUSY = "the model is busy; try again shortly"


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": str(extra.pop("retry_after"))} if "retry_after" in extra else None
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def stream_error(exc: Exception | None) -> str:
    """What a stream's client is told; an unexpected failure goes to the server log, redacted."""
    if isinstance(exc, Busy):
        return BUSY
    if isinstance(exc, NanoscaleError):
        return str(exc)
    log.error("chat stream failed:\n%s", redact("".join(traceback.format_exception(exc))))
    return f"internal error ({type(exc).__name__}); see the server log"


def create_app(settings: Settings, engine: Engine | None = None, load_in_background: bool = True) -> FastAPI:
    """The whole server; `engine` may be injected (tests), else it is built from the settings."""
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
        return _error(503, BUSY, retry_after=5)

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
            return engine.send(body.message, body.thread_id, body.slots)

    @app.post("/chat", response_model=ChatResponse)
    async def chat(body: ChatRequest):
        if app.state.load_error:
            return _error(503, app.state.load_error, retry_after=30)
        try:
            return ChatResponse.from_result(await run_in_threadpool(run_chat, body))
        except LookupError:
            return _error(404, f"unknown thread '{body.thread_id}'")
        except Busy:
            return _error(503, BUSY, retry_after=5)
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
        turn = engine.stream(body.message, body.thread_id, body.slots, guard=queue.slot)

        async def stream():
            async for event in iterate_in_threadpool(turn):
                if event.kind == "token":
                    yield {"event": "token", "data": event.token}
                elif event.result is not None:
                    yield {
                        "event": "result",
                        "data": ChatResponse.from_result(event.result).model_dump_json(),
                    }
                else:
                    yield {"event": "error", "data": json.dumps({"error": stream_error(event.error)})}

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

    mount_ui(app, engine, store, settings)
    return app
