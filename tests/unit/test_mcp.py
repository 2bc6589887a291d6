"""The MCP face with LangChain fake chat models and a fake-embedded knowledge base, over the SDK's
in-memory transport: schemas, clarification turns, errors, redaction, resources and the prompt."""

from __future__ import annotations

import json

import anyio
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langgraph.checkpoint.memory import InMemorySaver
from mcp.shared.memory import create_connected_server_and_client_session
from pydantic import ValidationError

from nanoscale.app.mcp import (
    Assistant,
    SearchArgs,
    TroubleshootArgs,
    build_server,
    kb_from_uri,
    loopback_address,
    manifest_uri,
    search_args_model,
    validation_message,
)
from nanoscale.engine import Engine
from nanoscale.errors import InputError, KnowledgeBaseError
from nanoscale.resources import Resources
from nanoscale.retrievers.ingest import ingest
from nanoscale.retrievers.retriever import KnowledgeBaseRetriever, open_searcher
from tests.conftest import fake_vector

ANSWER = "Attach AmazonEC2ContainerRegistryReadOnly to the instance role, see `aws iam get-role` [1]."
SECRET = "AKIAIOSFODNN7EXAMPLE"
KB_TEXT = """# ECR

## EC2 cannot pull image from ECR

Attach AmazonEC2ContainerRegistryReadOnly to the instance role. The key AKIAIOSFODNN7EXAMPLE was leaked here.
"""


class Broken(FakeListChatModel):
    """A backend failing in a way no one planned for, with a secret in its message."""

    def _call(self, *args, **kwargs):
        raise RuntimeError(f"the backend fell over; key {SECRET}")


@pytest.fixture
def kb_settings(settings, fake_embeddings, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "aws_ecr.md").write_text(KB_TEXT)
    ingest([docs], "default", settings, fake_embeddings.embed_documents, 384, progress=False)
    return settings


def assistant_for(settings, fake_embeddings, model=None) -> Assistant:
    searcher = open_searcher(settings, fake_embeddings)
    retriever = KnowledgeBaseRetriever(searcher=searcher, k=2)
    parts = Resources(
        model or FakeListChatModel(responses=[ANSWER]),
        retriever,
        lambda texts: [fake_vector(t) for t in texts],
        lambda t: len(t) // 4,
    )
    engine = Engine(settings, resources=parts, checkpointer=InMemorySaver())
    return Assistant(settings, engine=engine, searcher=searcher)


def session_run(assistant: Assistant, script) -> None:
    """Run `script(session)` against the server over the SDK's in-memory transport."""

    async def main() -> None:
        async with create_connected_server_and_client_session(build_server(assistant)) as session:
            await script(session)

    anyio.run(main)


def structured(result) -> dict:
    assert not result.isError, result.content[0].text
    assert json.loads(result.content[0].text) == result.structuredContent
    return result.structuredContent


# ---------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    "value, expected",
    [
        ("127.0.0.1:8765", ("127.0.0.1", 8765)),
        ("localhost:1", ("localhost", 1)),
        ("[::1]:9000", ("::1", 9000)),
        ("127.0.0.2:80", ("127.0.0.2", 80)),
    ],
)
def test_loopback_addresses_are_accepted(value, expected):
    assert loopback_address(value) == expected


@pytest.mark.parametrize("value", ["0.0.0.0:8765", "10.1.2.3:80", "example.com:80", "[::]:80"])
def test_other_hosts_are_refused_in_one_line(value):
    with pytest.raises(InputError, match="only on loopback") as caught:
        loopback_address(value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":80", "127.0.0.1:http"])
def test_malformed_addresses_say_the_form(value):
    with pytest.raises(InputError, match="HOST:PORT"):
        loopback_address(value)


def test_manifest_uris_round_trip_and_refuse_others():
    assert kb_from_uri(manifest_uri("aws")) == "aws"
    with pytest.raises(InputError, match="unknown resource"):
        kb_from_uri("file:///etc/passwd")
    with pytest.raises(KnowledgeBaseError, match="invalid knowledge-base name"):
        kb_from_uri(manifest_uri("../etc"))


def test_kb_argument_is_an_enum_of_the_knowledge_bases():
    schema = search_args_model(["aws", "default"]).model_json_schema()
    options = schema["properties"]["kb"]["anyOf"]
    assert {"enum": ["aws", "default"], "type": "string"} in options
    assert schema["properties"]["kb"]["description"]
    assert search_args_model([]) is SearchArgs


# ---------------------------------------------------------------------------- over MCP


def test_tools_have_described_schemas(kb_settings, fake_embeddings):
    async def script(session):
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == {"troubleshoot", "search_knowledge", "list_knowledge_bases"}
        troubleshoot = tools["troubleshoot"]
        properties = troubleshoot.inputSchema["properties"]
        assert set(properties) == {"question", "thread_id", "region", "logs", "endpoint"}
        assert all(p.get("description") for p in properties.values())
        assert troubleshoot.inputSchema["required"] == ["question"]
        assert troubleshoot.inputSchema["additionalProperties"] is False
        assert {"status", "thread_id", "sources", "unsupported_sentences", "invalid_aws_actions"} <= set(
            troubleshoot.outputSchema["properties"]
        )
        assert troubleshoot.annotations.readOnlyHint and not troubleshoot.annotations.openWorldHint
        kb = tools["search_knowledge"].inputSchema["properties"]["kb"]
        assert {"enum": ["default"], "type": "string"} in kb["anyOf"]

    session_run(assistant_for(kb_settings, fake_embeddings), script)


def test_clarification_turn_then_answer_like_ask_json(kb_settings, fake_embeddings):
    assistant = assistant_for(kb_settings, fake_embeddings)

    async def script(session):
        first = structured(
            await session.call_tool("troubleshoot", {"question": "EC2 cannot pull image from ECR"})
        )
        assert first["status"] == "needs_input" and first["asked"] == ["region"]
        assert "region" in first["text"]
        final = structured(
            await session.call_tool(
                "troubleshoot", {"question": "eu-west-1", "thread_id": first["thread_id"]}
            )
        )
        assert final["status"] == "answer" and final["thread_id"] == first["thread_id"]
        assert final["answer"] == ANSWER and final["asked"] == ["region"]
        assert final["sources"][0]["source"] == "aws_ecr.md"
        expected = assistant.engine().result(first["thread_id"]).to_dict()
        assert {k: v for k, v in final.items() if k != "trace_id"} == {
            k: v for k, v in expected.items() if k != "trace_id"
        }

    session_run(assistant, script)


def test_slot_arguments_skip_or_answer_the_clarification(kb_settings, fake_embeddings):
    async def script(session):
        direct = structured(
            await session.call_tool(
                "troubleshoot", {"question": "EC2 cannot pull image from ECR", "region": "eu-west-1"}
            )
        )
        assert direct["status"] == "answer" and direct["asked"] == []
        first = structured(
            await session.call_tool("troubleshoot", {"question": "EC2 cannot pull image from ECR"})
        )
        resumed = structured(
            await session.call_tool(
                "troubleshoot", {"question": "here", "thread_id": first["thread_id"], "region": "us-east-1"}
            )
        )
        assert resumed["status"] == "answer" and resumed["asked"] == ["region"]

    model = FakeListChatModel(responses=[ANSWER, ANSWER])
    session_run(assistant_for(kb_settings, fake_embeddings, model), script)


def test_expected_errors_are_tool_errors_with_the_cli_message(kb_settings, fake_embeddings):
    async def script(session):
        for arguments, message in [
            ({"question": "   "}, "question is empty"),
            ({"question": "x", "thread_id": "bad id!"}, "thread id must be 1-128 letters, digits or '-_.:'"),
            ({"question": "x" * 9000}, "question is 9,000 characters; the limit is 8,000"),
            ({"question": "pod fails", "logs": "\x00\x01binary"}, "logs looks like binary data, not text"),
        ]:
            result = await session.call_tool("troubleshoot", arguments)
            assert result.isError and result.content[0].text == message
        unknown_kb = await session.call_tool("search_knowledge", {"query": "ecr", "kb": "nope"})
        assert unknown_kb.isError and "nope" in unknown_kb.content[0].text
        assert "\n" not in unknown_kb.content[0].text

    session_run(assistant_for(kb_settings, fake_embeddings), script)


def test_malformed_calls_get_clear_errors(kb_settings, fake_embeddings):
    async def script(session):
        cases = [
            ("troubleshoot", {}, "'question' is a required property"),
            ("troubleshoot", {"question": 42}, "42 is not of type 'string'"),
            ("troubleshoot", {"question": "x", "colour": "red"}, "'colour' was unexpected"),
            ("search_knowledge", {"query": "ecr", "k": 0}, "0 is less than the minimum of 1"),
            ("no_such_tool", {}, "unknown tool 'no_such_tool'"),
        ]
        for name, arguments, message in cases:
            result = await session.call_tool(name, arguments)
            assert result.isError and message in result.content[0].text, result.content[0].text
            assert "\n" not in result.content[0].text

    session_run(assistant_for(kb_settings, fake_embeddings), script)


def test_unexpected_errors_leak_nothing(kb_settings, fake_embeddings, caplog):
    async def script(session):
        result = await session.call_tool("troubleshoot", {"question": "Lambda in us-east-1 times out"})
        assert result.isError
        assert result.content[0].text == "internal error (RuntimeError); see the server log"

    session_run(assistant_for(kb_settings, fake_embeddings, Broken(responses=["x"])), script)
    assert "fell over" in caplog.text and SECRET not in caplog.text


def test_secrets_are_redacted_in_every_result(kb_settings, fake_embeddings):
    leaky = FakeListChatModel(responses=[f"Use the key {SECRET} with the instance role [1]."])

    async def script(session):
        answer = structured(
            await session.call_tool(
                "troubleshoot", {"question": "EC2 cannot pull from ECR", "region": "eu-west-1"}
            )
        )
        hits = structured(await session.call_tool("search_knowledge", {"query": "EC2 cannot pull image"}))
        manifest = await session.read_resource(manifest_uri("default"))
        for data in (json.dumps(answer), json.dumps(hits), manifest.contents[0].text):
            assert SECRET not in data
        assert "[REDACTED" in answer["answer"] and "[REDACTED" in hits["hits"][0]["text"]

    session_run(assistant_for(kb_settings, fake_embeddings, leaky), script)


def test_search_and_knowledge_bases(kb_settings, fake_embeddings):
    async def script(session):
        hits = structured(
            await session.call_tool("search_knowledge", {"query": "EC2 cannot pull image", "k": 1})
        )
        assert len(hits["hits"]) == 1
        assert hits["hits"][0]["source"] == "aws_ecr.md"
        assert hits["hits"][0]["section"].endswith("EC2 cannot pull image from ECR")
        listing = structured(await session.call_tool("list_knowledge_bases", {}))
        [kb] = listing["knowledge_bases"]
        assert kb["name"] == "default" and kb["files"] == 1 and kb["chunks"] >= 1
        assert kb["uri"] == manifest_uri("default")

    session_run(assistant_for(kb_settings, fake_embeddings), script)


def test_manifest_resources_and_prompt(kb_settings, fake_embeddings):
    async def script(session):
        resources = (await session.list_resources()).resources
        assert [str(r.uri) for r in resources] == [manifest_uri("default")]
        templates = (await session.list_resource_templates()).resourceTemplates
        assert templates[0].uriTemplate == "nanoscale://kb/{name}/manifest"
        manifest = json.loads((await session.read_resource(manifest_uri("default"))).contents[0].text)
        assert manifest["name"] == "default" and manifest["files"]["aws_ecr.md"]["chunks"] >= 1
        assert "ids" not in manifest["files"]["aws_ecr.md"]
        with pytest.raises(Exception, match="no knowledge base 'missing'"):
            await session.read_resource(manifest_uri("missing"))
        prompts = (await session.list_prompts()).prompts
        assert [p.name for p in prompts] == ["diagnose_error"]
        prompt = await session.get_prompt("diagnose_error", {"error": "ImagePullBackOff", "context": "EKS"})
        text = prompt.messages[0].content.text
        assert "ImagePullBackOff" in text and "EKS" in text and "troubleshoot" in text and "thread_id" in text
        with pytest.raises(Exception, match="needs an 'error'"):
            await session.get_prompt("diagnose_error", {})

    session_run(assistant_for(kb_settings, fake_embeddings), script)


def test_execute_tools_setting_is_announced(kb_settings, fake_embeddings):
    kb_settings.tools.execute = True

    async def script(session):
        tool = next(t for t in (await session.list_tools()).tools if t.name == "troubleshoot")
        assert tool.annotations.openWorldHint and "Read-only" in tool.description

    session_run(assistant_for(kb_settings, fake_embeddings), script)


def test_pydantic_errors_become_one_line():
    with pytest.raises(ValidationError) as caught:
        TroubleshootArgs.model_validate({"question": "x", "region": 3})
    assert validation_message(caught.value) == "invalid arguments: region: Input should be a valid string"


@pytest.mark.parametrize("flags, expected", [([], False), (["--execute-tools"], True)])
def test_only_the_flag_enables_checks(monkeypatch, tmp_path, flags, expected):
    """A config or environment that turns tools on does not reach MCP clients without the flag."""
    from nanoscale import cli
    from nanoscale.app import mcp as face

    served = {}
    monkeypatch.setenv("NANOSCALE_TOOLS_EXECUTE", "true")
    monkeypatch.setattr(face, "run_stdio", lambda server: served.setdefault("server", server))
    monkeypatch.setattr(face, "build_server", lambda assistant: assistant)
    assert cli.main(["mcp", "--data-dir", str(tmp_path), *flags]) == 0
    assert served["server"].settings.tools.execute is expected


def test_cli_refuses_a_non_loopback_host_before_loading_anything(capsys):
    from nanoscale import cli

    assert cli.main(["mcp", "--http", "0.0.0.0:8765"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --http serves without authentication") and err.count("\n") == 1
