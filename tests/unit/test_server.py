"""The server's streaming endpoint with LangChain fake chat models: tokens, then one end event."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langgraph.checkpoint.memory import InMemorySaver

from nanoscale.app.server import create_app
from nanoscale.engine import Engine
from nanoscale.resources import Resources
from tests.conftest import fake_vector
from tests.unit.test_graph import ANSWER, OneDoc


class Broken(FakeListChatModel):
    """A model that fails mid-run the way a real backend can (an error no one planned for)."""

    def _call(self, *args, **kwargs):
        raise RuntimeError("the backend fell over; token=sk-live-should-not-leak")

    def _stream(self, *args, **kwargs):
        raise RuntimeError("the backend fell over")


@pytest.fixture(autouse=True)
def fresh_sse_exit_event():
    """sse-starlette keeps one exit event per process, bound to the first test client's loop."""
    from sse_starlette.sse import AppStatus

    AppStatus.should_exit_event = None
    yield
    AppStatus.should_exit_event = None


def client_for(settings, model) -> TestClient:
    parts = Resources(model, OneDoc(), lambda texts: [fake_vector(t) for t in texts], lambda t: len(t) // 4)
    engine = Engine(settings, resources=parts, checkpointer=InMemorySaver())
    return TestClient(create_app(settings, engine=engine, load_in_background=False))


def events(client: TestClient, message: str) -> list[tuple[str, str]]:
    out, kind = [], None
    with client.stream("POST", "/chat/stream", json={"message": message}, timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind:
                out.append((kind, line.split(":", 1)[1].strip()))
    return out


def test_stream_sends_tokens_then_the_result(settings):
    with client_for(settings, FakeListChatModel(responses=[ANSWER])) as client:
        got = events(client, "Lambda in us-east-1 times out")
    kinds = [k for k, _ in got]
    assert kinds[-1] == "result" and kinds.count("token") > 3
    assert json.loads(got[-1][1])["text"] == ANSWER


@pytest.mark.timeout(60)  # before the fix the client waited forever
def test_an_unexpected_model_failure_ends_the_stream_with_an_error(settings, caplog):
    with client_for(settings, Broken(responses=[ANSWER])) as client:
        got = events(client, "Lambda in us-east-1 times out")
    assert got[-1][0] == "error" and "RuntimeError" in json.loads(got[-1][1])["error"]
    assert "sk-live-should-not-leak" not in caplog.text
