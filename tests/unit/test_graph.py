"""The compiled graph end to end with a fake chat model: interrupts, resumes, restarts, embedding."""

import sqlite3

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel, FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langchain_core.retrievers import BaseRetriever
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command
from typing_extensions import TypedDict

from nanoscale.engine import Engine
from nanoscale.errors import InputError
from nanoscale.graph import build_graph
from nanoscale.resources import Resources
from tests.conftest import fake_vector

# it names a read-only check, so generate adds none and the answer is the model's words
ANSWER = "Attach AmazonEC2ContainerRegistryReadOnly to the instance role, see `aws iam list-attached-role-policies` [1]."


class OneDoc(BaseRetriever):
    def _get_relevant_documents(self, query, *, run_manager):
        meta = {
            "source": "aws_ecr.md",
            "section": "EC2 cannot pull",
            "kb": "default",
            "score": 0.9,
            "title": "ECR",
            "line_start": 1,
            "line_end": 3,
        }
        return [Document(page_content=ANSWER.replace(" [1]", ""), metadata=meta)]


def resources(responses=None) -> Resources:
    model = FakeListChatModel(responses=responses or [ANSWER])
    return Resources(model, OneDoc(), lambda texts: [fake_vector(t) for t in texts], lambda t: len(t) // 4)


def config(thread="t1"):
    return {"configurable": {"thread_id": thread}}


def test_clarify_then_answer(settings):
    graph = build_graph(settings, checkpointer=InMemorySaver(), resources=resources())
    first = graph.invoke({"question": "EC2 cannot pull image from ECR"}, config())
    interrupt = first["__interrupt__"][0].value
    assert interrupt["slots"] == ["region"] and "region" in interrupt["question"]
    final = graph.invoke(Command(resume="eu-west-1"), config())
    assert final["answer"] == ANSWER
    assert final["slots"]["region"] == "eu-west-1"
    assert final["asked"] == ["region"]
    assert final["sources"][0]["source"] == "aws_ecr.md"
    assert final["unsupported_sentences"] == [] and final["invalid_aws_actions"] == []


def test_fully_specified_question_does_not_interrupt(settings):
    graph = build_graph(settings, checkpointer=InMemorySaver(), resources=resources())
    final = graph.invoke(
        {"question": "EC2 cannot pull image from ECR", "slots": {"region": "eu-west-1"}}, config()
    )
    assert "__interrupt__" not in final and final["asked"] == []


def test_unhelpful_replies_end_after_three_turns_and_say_what_is_missing(settings):
    graph = build_graph(settings, checkpointer=InMemorySaver(), resources=resources())
    graph.invoke({"question": "my API returns 401 and the pod is in CrashLoopBackOff"}, config())
    for _ in range(3):
        state = graph.get_state(config())
        if not state.interrupts:
            break
        graph.invoke(Command(resume=""), config())
    final = graph.get_state(config()).values
    assert not graph.get_state(config()).interrupts
    assert final["turns"] == 3
    assert "Still missing:" in final["answer"]


def test_declined_slot_is_never_asked_twice(settings):
    graph = build_graph(settings, checkpointer=InMemorySaver(), resources=resources())
    graph.invoke({"question": "EC2 cannot pull image from ECR"}, config())
    final = graph.invoke(Command(resume="I don't know"), config())
    assert "__interrupt__" not in final
    assert final["asked"] == ["region"] and final["missing"] == ["region"]
    assert "Still missing: the AWS region" in final["answer"]


def test_thread_survives_a_restart_of_the_checkpointer(settings):
    settings.data_dir.mkdir(parents=True)
    path = settings.checkpoints_path
    first = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
    graph = build_graph(settings, checkpointer=first, resources=resources())
    graph.invoke({"question": "EC2 cannot pull image from ECR"}, config("restart"))
    first.conn.close()
    second = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
    graph = build_graph(settings, checkpointer=second, resources=resources())
    assert graph.get_state(config("restart")).interrupts
    final = graph.invoke(Command(resume="us-east-2"), config("restart"))
    assert final["slots"]["region"] == "us-east-2" and final["answer"] == ANSWER


def test_embedded_as_a_node_of_a_parent_graph(settings):
    class Parent(TypedDict, total=False):
        question: str
        answer: str
        sources: list

    child = build_graph(settings, checkpointer=None, resources=resources())
    parent = StateGraph(Parent)
    parent.add_node("troubleshoot", child)
    parent.add_edge(START, "troubleshoot")
    app = parent.compile(checkpointer=InMemorySaver())
    app.invoke({"question": "Lambda function in us-east-1 times out"}, config("p"))
    final = app.get_state(config("p")).values
    assert final["answer"] == ANSWER and final["sources"][0]["source"] == "aws_ecr.md"
    app.invoke({"question": "EC2 cannot pull image from ECR"}, config("p2"))
    assert app.get_state(config("p2")).interrupts
    app.invoke(Command(resume="eu-west-1"), config("p2"))
    assert app.get_state(config("p2")).values["answer"] == ANSWER


def test_streams_tokens_in_messages_mode(settings):
    graph = build_graph(settings, checkpointer=InMemorySaver(), resources=resources())
    tokens = [
        chunk.content
        for chunk, meta in graph.stream(
            {"question": "Lambda in us-east-1 times out"}, config("s"), stream_mode="messages"
        )
        if meta["langgraph_node"] == "generate"
    ]
    assert "".join(tokens) == ANSWER and len(tokens) > 1


def test_engine_streams_the_generate_nodes_tokens_through_a_callback(settings):
    # FakeListChatModel streams only when a streaming handler asks for it: the forwarder does
    engine = Engine(settings, resources=resources(), checkpointer=InMemorySaver())
    tokens: list[str] = []
    result = engine.send("Lambda in us-east-1 times out", on_token=tokens.append)
    assert result.status == "answer" and "".join(tokens) == ANSWER and len(tokens) > 1


def test_engine_passes_a_one_piece_answer_on_as_one_token(settings):
    model = FakeMessagesListChatModel(responses=[AIMessage(ANSWER)])
    parts = Resources(model, OneDoc(), lambda texts: [fake_vector(t) for t in texts], lambda t: len(t) // 4)
    engine = Engine(settings, resources=parts, checkpointer=InMemorySaver())
    tokens: list[str] = []
    engine.send("Lambda in us-east-1 times out", on_token=tokens.append)
    assert tokens == [ANSWER]


def test_a_failing_token_consumer_stops_the_run(settings):
    engine = Engine(settings, resources=resources(), checkpointer=InMemorySaver())

    def closed(token: str) -> None:
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        engine.send("Lambda in us-east-1 times out", on_token=closed)


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("x" * 1_000_000, "limit"),
        (b"\xff\xfe\x00bin", "UTF-8"),
        ("bad\x00bytes", "binary"),
    ],
)
def test_bad_questions_get_clear_errors(settings, question, message):
    engine = Engine(settings, resources=resources(), checkpointer=InMemorySaver())
    with pytest.raises(InputError, match=message):
        engine.ask(question)


def test_engine_statuses_and_reply_errors(settings):
    engine = Engine(settings, resources=resources([ANSWER, ANSWER]), checkpointer=InMemorySaver())
    waiting = engine.send("EC2 cannot pull image from ECR")
    assert waiting.status == "needs_input" and waiting.asked == ["region"]
    with pytest.raises(InputError, match="unknown thread"):
        engine.reply("no-such-thread", "eu-west-1")
    with pytest.raises(InputError, match="thread id"):
        engine.reply("bad id!", "eu-west-1")
    done = engine.send("eu-west-1", thread_id=waiting.thread_id)
    assert done.status == "answer" and done.answer == ANSWER and done.asked == ["region"]
    with pytest.raises(InputError, match="not waiting"):
        engine.reply(waiting.thread_id, "more")
    follow_up = engine.send("and the ECS task cannot pull it either", thread_id=waiting.thread_id)
    assert follow_up.status == "answer"  # the region carries over within the thread
    with pytest.raises(InputError, match="unknown slot"):
        engine.ask("q", slots={"colour": "red"})


def test_marked_answer_flags_unsupported_sentences(settings):
    engine = Engine(
        settings,
        resources=resources(["Made-up claim about quantum DNS servers today."]),
        checkpointer=InMemorySaver(),
    )
    result = engine.ask("Lambda in us-east-1 times out")
    assert result.unsupported_sentences == ["Made-up claim about quantum DNS servers today."]
    assert "[unverified]" in result.marked_answer()


def test_the_embedding_example_runs_as_a_node_of_another_app(settings):
    from examples.embedding import build_ticket_app

    app = build_ticket_app(settings, resources())
    out = app.invoke({"question": "Lambda in us-east-1 times out"}, config("example"))
    assert out["summary"].startswith(ANSWER[:40]) and "aws_ecr.md" in out["summary"]


def test_concurrent_first_use_loads_resources_once(settings, monkeypatch):
    import threading
    import time

    calls = []

    def slow_load(cls, settings, chat_model=None, **overrides):
        calls.append(threading.current_thread().name)
        time.sleep(0.3)
        return resources()

    monkeypatch.setattr(Resources, "load", classmethod(slow_load))
    engine = Engine(settings, checkpointer=InMemorySaver())
    engine.graph  # noqa: B018 - compiling the graph loads nothing
    assert calls == [] and not engine.ready and engine.loading_step == "not started"
    threads = [threading.Thread(target=lambda: engine.resources) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["nanoscale-load"]
    assert engine.ready and engine.loading_step == "ready"


def test_a_clarification_needs_no_model_and_an_answer_waits_for_it(settings, monkeypatch):
    loads = []
    monkeypatch.setattr(Resources, "load", classmethod(lambda cls, *a, **k: loads.append(1) or resources()))
    engine = Engine(settings, checkpointer=InMemorySaver())
    asked = engine.ask("EC2 cannot pull image from ECR")
    assert asked.status == "needs_input" and loads == []
    answered = engine.reply(asked.thread_id, "eu-west-1")
    assert answered.status == "answer" and loads == [1]


def test_a_failed_load_reaches_every_caller(settings, monkeypatch):
    from nanoscale.errors import ModelNotAvailable

    def broken(cls, *args, **kwargs):
        raise ModelNotAvailable("package 'x' is not installed")

    monkeypatch.setattr(Resources, "load", classmethod(broken))
    engine = Engine(settings, checkpointer=InMemorySaver())
    for _ in range(2):
        with pytest.raises(ModelNotAvailable):
            engine.resources  # noqa: B018
    assert engine.loading_step.startswith("failed: package 'x'") and not engine.ready
