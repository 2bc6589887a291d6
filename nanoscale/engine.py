"""One conversation API over the compiled graph, shared by the CLI, the server and `ask()`.

A message on a thread that waits for a clarification resumes it (`Command(resume=...)`); any
other message starts a new question on the thread. Results carry the status the interfaces
promise: ``answer`` or ``needs_input``. `Engine.stream` is the one way to watch a turn as it
happens (the server's SSE route and the web UI both use it).
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

from langgraph.types import Command

from nanoscale.config import Settings
from nanoscale.errors import InputError
from nanoscale.inputs import clean_text
from nanoscale.models import check_model_name
from nanoscale.resources import LazyResources, Resources
from nanoscale.state import SLOTS
from nanoscale.token_stream import TokenForwarder
from nanoscale.tools.redact import redact

_THREAD_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


@dataclass
class AskResult:
    """What one turn produced: an answer, or a clarification question."""

    status: str
    thread_id: str
    text: str
    asked: list[str] = field(default_factory=list)
    answer: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unsupported_sentences: list[str] = field(default_factory=list)
    invalid_aws_actions: list[str] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    contradictions: list[dict[str, str]] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)
    generated_tokens: int = 0  # what the model wrote this turn (a revision included)
    trace_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def marked_answer(self) -> str:
        """The answer with every unsupported sentence visibly marked, never shown as plain fact."""
        text = self.answer
        for sentence in self.unsupported_sentences:
            text = text.replace(sentence, f"{sentence} [unverified]", 1)
        return text


@dataclass
class StreamEvent:
    """One event of a streamed turn: a ``token``, then one ``result`` or one ``error``."""

    kind: str
    token: str = ""
    result: AskResult | None = None
    error: Exception | None = None


class StreamClosed(Exception):
    """The consumer of a stream went away; the run stops instead of generating for no one."""


def check_thread_id(thread_id: str) -> str:
    if not thread_id or len(thread_id) > 128 or not set(thread_id) <= _THREAD_ID_CHARS:
        raise InputError("thread id must be 1-128 letters, digits or '-_.:'")
    return thread_id


class Engine:
    """Holds the settings, the loaded resources and the compiled graph (built on first use)."""

    def __init__(
        self,
        settings: Settings,
        resources: Resources | None = None,
        checkpointer: Any = "default",
        callbacks: list | None = None,
    ):
        self.settings = settings
        self.callbacks = callbacks or []
        if resources is None and settings.model.backend != "openai":
            check_model_name(settings.model.preset)
        self._resources: Resources | LazyResources = resources or LazyResources(settings)
        self._checkpointer = checkpointer
        self._graph = None
        self._building = threading.Lock()

    @property
    def graph(self):
        """Compiled once, without loading anything: nodes wait for the resources when they run."""
        if self._graph is None:
            with self._building:
                if self._graph is None:
                    from nanoscale.graph import build_graph

                    self._graph = build_graph(
                        self.settings, checkpointer=self._checkpointer, resources=self._resources
                    )
        return self._graph

    def start_loading(self) -> None:
        """Begin loading model, embeddings and knowledge bases in the background (once)."""
        if isinstance(self._resources, LazyResources):
            self._resources.start()

    @property
    def resources(self) -> Resources:
        """The loaded model, retriever and embeddings (waiting for them; loading if nobody has)."""
        return self._resources.loaded()

    @property
    def ready(self) -> bool:
        return not isinstance(self._resources, LazyResources) or self._resources.ready

    @property
    def loading_step(self) -> str:
        """What is loading now ("ready" once done): the server's /readyz and log say it."""
        return self._resources.step if isinstance(self._resources, LazyResources) else "ready"

    def _config(self, thread_id: str, run_id: uuid.UUID | None = None) -> dict[str, Any]:
        config: dict[str, Any] = {"configurable": {"thread_id": thread_id}}
        if run_id is not None:
            config["run_id"] = run_id
            config["callbacks"] = self.callbacks
        return config

    def waiting(self, thread_id: str) -> bool:
        """Is this thread paused on a clarification question?"""
        snapshot = self.graph.get_state(self._config(thread_id))
        return bool(snapshot.interrupts)

    def exists(self, thread_id: str) -> bool:
        snapshot = self.graph.get_state(self._config(thread_id))
        return bool(snapshot.values)

    def ask(
        self, question: str, slots: dict[str, str] | None = None, thread_id: str | None = None
    ) -> AskResult:
        """Start a new question (on a new thread unless one is given)."""
        return self._run(self._question_input(question, slots), thread_id or uuid.uuid4().hex, None)

    def reply(
        self, thread_id: str, reply: str | dict[str, Any], on_token: Callable[[str], None] | None = None
    ) -> AskResult:
        """Resume a thread that waits for a clarification."""
        check_thread_id(thread_id)
        if not self.exists(thread_id):
            raise InputError(f"unknown thread '{thread_id}'")
        if not self.waiting(thread_id):
            raise InputError(f"thread '{thread_id}' is not waiting for a reply; ask a new question instead")
        if not isinstance(reply, dict):
            reply = clean_text(reply, "reply", self.settings.graph.max_reply_chars, allow_empty=True)
        return self._run(Command(resume=reply), thread_id, on_token)

    def send(
        self,
        message: str,
        thread_id: str | None = None,
        slots: dict[str, str] | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> AskResult:
        """One chat message: resumes a waiting thread, else asks a new question on it."""
        if thread_id and self.exists(check_thread_id(thread_id)) and self.waiting(thread_id):
            return self.reply(thread_id, message, on_token)
        return self._run(self._question_input(message, slots), thread_id or uuid.uuid4().hex, on_token)

    def stream(
        self,
        message: str,
        thread_id: str | None = None,
        slots: dict[str, str] | None = None,
        guard: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> Iterator[StreamEvent]:
        """`send` in a worker thread, as events: tokens as the model makes them, then the result or
        the error. `guard` (a work-queue slot) is held around the run; closing the iterator stops it."""
        events: queue.Queue[StreamEvent] = queue.Queue()
        closed = threading.Event()

        def on_token(token: str) -> None:
            if closed.is_set():
                raise StreamClosed
            events.put(StreamEvent("token", token=token))

        def work() -> None:
            try:
                with guard() if guard else nullcontext():
                    result = self.send(message, thread_id, slots, on_token)
                events.put(StreamEvent("result", result=result))
            except Exception as exc:  # noqa: BLE001 - every failure reaches the consumer as an event
                events.put(StreamEvent("error", error=exc))

        threading.Thread(target=work, daemon=True).start()
        try:
            while True:
                event = events.get()
                yield event
                if event.kind != "token":
                    return
        finally:
            closed.set()

    def _question_input(self, question: str, slots: dict[str, str] | None) -> dict[str, Any]:
        text = clean_text(question, "question", self.settings.graph.max_question_chars)
        unknown = set(slots or {}) - set(SLOTS)
        if unknown:
            raise InputError(f"unknown slot(s) {', '.join(sorted(unknown))}; known: {', '.join(SLOTS)}")
        given = {k: v for k, v in (slots or {}).items() if v}
        return {"question": text, "slots": given} if given else {"question": text}

    def _run(self, graph_input: Any, thread_id: str, on_token: Callable[[str], None] | None) -> AskResult:
        run_id = uuid.uuid4()
        config = self._config(check_thread_id(thread_id), run_id)
        if on_token is not None:
            config["callbacks"] = [*self.callbacks, TokenForwarder(on_token)]
        self.graph.invoke(graph_input, config)
        result = self.result(thread_id)
        result.trace_id = str(run_id)
        return result

    def result(self, thread_id: str) -> AskResult:
        """The thread's current outcome: its pending question, or its final answer."""
        snapshot = self.graph.get_state(self._config(thread_id))
        values = snapshot.values
        if snapshot.interrupts:
            payload = snapshot.interrupts[0].value
            return AskResult(
                status="needs_input",
                thread_id=thread_id,
                text=payload["question"],
                asked=list(payload["slots"]),
            )
        answer = redact(values.get("answer", ""))
        return AskResult(
            status="answer",
            thread_id=thread_id,
            text=answer,
            answer=answer,
            asked=list(values.get("asked", [])),
            sources=list(values.get("sources", [])),
            missing=[s for s in values.get("missing", []) if s not in values.get("slots", {})],
            unsupported_sentences=list(values.get("unsupported_sentences", [])),
            invalid_aws_actions=list(values.get("invalid_aws_actions", [])),
            observations=list(values.get("observations", [])),
            findings=list(values.get("findings", [])),
            contradictions=list(values.get("contradictions", [])),
            revised=list(values.get("revised", [])) if values.get("revisions") else [],
            generated_tokens=int(values.get("generated_tokens", 0)),
        )
