"""The engine on a real packaged model (SmolLM2 on llama.cpp) and the real knowledge base."""

from __future__ import annotations

import json
import sqlite3

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command
from typing_extensions import TypedDict

from nanoscale.engine import Engine
from nanoscale.graph import build_graph
from nanoscale.resources import Resources
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def resources(project_kb, embeddings) -> Resources:
    return Resources.load(project_kb, embeddings=embeddings)


def test_clarify_resume_and_answer_with_sources(project_kb, resources):
    engine = Engine(project_kb, resources=resources, checkpointer=InMemorySaver())
    first = engine.send("EC2 cannot pull image from ECR")
    assert first.status == "needs_input" and first.asked == ["region"]
    final = engine.send("eu-west-1", thread_id=first.thread_id)
    assert final.status == "answer" and final.answer.strip()
    assert final.sources and final.sources[0]["source"] == "aws_ecr.md"
    again = Engine(project_kb, resources=resources, checkpointer=InMemorySaver()).ask(
        "EC2 cannot pull image from ECR", slots={"region": "eu-west-1"}
    )
    assert again.answer == final.answer  # deterministic mode


def test_fully_specified_question_answers_directly(project_kb, resources):
    result = Engine(project_kb, resources=resources, checkpointer=InMemorySaver()).ask(
        "my pod is in CrashLoopBackOff, logs say `Error: Cannot find module 'express'`"
    )
    assert result.status == "answer" and result.asked == []


def test_thread_resumes_after_restart(project_kb, resources, tmp_path):
    path = tmp_path / "checkpoints.sqlite"
    saver = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
    graph = build_graph(project_kb, checkpointer=saver, resources=resources)
    config = {"configurable": {"thread_id": "restart"}}
    graph.invoke({"question": "ECS task stopped and the service is broken"}, config)
    saver.conn.close()
    reopened = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
    graph = build_graph(project_kb, checkpointer=reopened, resources=resources)
    pending = graph.get_state(config).interrupts[0].value["slots"]
    assert set(pending) == {"region", "logs"}
    final = graph.invoke(Command(resume="us-east-1, CannotPullContainerError: i/o timeout"), config)
    assert final["slots"]["region"] == "us-east-1" and final["answer"]


def test_as_a_node_inside_another_graph(project_kb, resources):
    class Parent(TypedDict, total=False):
        question: str
        answer: str
        sources: list

    parent = StateGraph(Parent)
    parent.add_node("troubleshoot", build_graph(project_kb, checkpointer=None, resources=resources))
    parent.add_edge(START, "troubleshoot")
    app = parent.compile(checkpointer=InMemorySaver())
    out = app.invoke(
        {"question": "docker says port is already allocated"}, {"configurable": {"thread_id": "p"}}
    )
    assert out["answer"] and out["sources"][0]["source"] == "docker_errors.md"


def test_cli_needs_input_then_reply_without_a_terminal(project_kb):
    first = run_cli("ask", "--json", "EC2 cannot pull image from ECR")
    assert first.returncode == 0, first.stderr
    waiting = json.loads(first.stdout)
    assert waiting["status"] == "needs_input" and waiting["asked"] == ["region"]
    second = run_cli("ask", "--json", "--thread", waiting["thread_id"], "--reply", "eu-west-1")
    assert second.returncode == 0, second.stderr
    answer = json.loads(second.stdout)
    assert answer["status"] == "answer" and answer["answer"] and answer["sources"]
    for key in ("unsupported_sentences", "invalid_aws_actions", "asked", "thread_id"):
        assert key in answer
