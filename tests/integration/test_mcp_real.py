"""`nanoscale mcp` for real: a child process on the packaged SmolLM2 and the project's knowledge
base, driven by the official SDK's client over stdio and over streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.integration.conftest import REPO, TEST_DATA, free_port, run_cli

pytestmark = pytest.mark.integration

QUESTION = "EC2 cannot pull image from ECR"
BAD_THREAD = "bad id!"


@pytest.fixture(scope="module")
def child_env(project_kb) -> dict[str, str]:
    """The child runs this checkout on the test data directory and SmolLM2, offline."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "NANOSCALE_DATA_DIR": str(TEST_DATA),
        "NANOSCALE_MODEL_PRESET": "smollm2-135m",
        "NANOSCALE_MODEL_MAX_NEW_TOKENS": "48",
        "HF_HUB_OFFLINE": "1",
    }


@pytest.fixture(scope="module")
def cli_bad_thread_error(child_env) -> str:
    """The CLI's one-line message for a malformed thread id, which MCP must repeat."""
    done = run_cli("ask", "--json", "--thread", BAD_THREAD, "--reply", "x")
    assert done.returncode == 2
    return done.stderr.strip().removeprefix("error: ")


async def conversation(session: ClientSession, cli_error: str) -> None:
    """What an IDE or agent does: list, ask, relay the clarification, resume, search, misuse."""
    await session.initialize()
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert {"troubleshoot", "search_knowledge", "list_knowledge_bases"} <= set(tools)
    assert tools["troubleshoot"].inputSchema["properties"]["region"]["description"]

    first = await session.call_tool("troubleshoot", {"question": QUESTION})
    asked = first.structuredContent
    assert not first.isError and json.loads(first.content[0].text) == asked
    assert asked["status"] == "needs_input" and asked["asked"] == ["region"] and "region" in asked["text"]

    final = await session.call_tool(
        "troubleshoot", {"question": "eu-west-1", "thread_id": asked["thread_id"]}
    )
    answer = final.structuredContent
    assert not final.isError and answer["status"] == "answer" and answer["thread_id"] == asked["thread_id"]
    assert answer["answer"] and answer["sources"] and answer["sources"][0]["source"] == "aws_ecr.md"
    assert {"unsupported_sentences", "invalid_aws_actions", "trace_id"} <= set(answer)

    found = await session.call_tool("search_knowledge", {"query": "no basic auth credentials", "k": 3})
    hits = found.structuredContent["hits"]
    assert not found.isError and 1 <= len(hits) <= 3 and all(hit["source"] and hit["section"] for hit in hits)

    listed = (await session.call_tool("list_knowledge_bases", {})).structuredContent
    assert "default" in [kb["name"] for kb in listed["knowledge_bases"]]
    manifest = await session.read_resource("nanoscale://kb/default/manifest")
    assert json.loads(manifest.contents[0].text)["name"] == "default"
    prompt = await session.get_prompt("diagnose_error", {"error": "ImagePullBackOff"})
    assert "troubleshoot" in prompt.messages[0].content.text

    malformed = await session.call_tool("troubleshoot", {"thread_id": asked["thread_id"]})
    assert malformed.isError
    assert malformed.content[0].text == "Input validation error: 'question' is a required property"
    bad = await session.call_tool("troubleshoot", {"question": "x", "thread_id": BAD_THREAD})
    assert bad.isError and bad.content[0].text == cli_error


def run_session(transport, cli_error: str) -> None:
    async def main() -> None:
        async with transport() as streams, ClientSession(streams[0], streams[1]) as session:
            with anyio.fail_after(600):
                await conversation(session, cli_error)

    anyio.run(main)


def test_stdio_session_with_clarification(child_env, cli_bad_thread_error):
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "nanoscale.cli", "mcp"], env=child_env, cwd=str(REPO)
    )
    run_session(lambda: stdio_client(params), cli_bad_thread_error)


def test_stdio_child_exits_cleanly_on_eof(child_env):
    """Raw JSON-RPC lines: every stdout line is protocol (nothing stray), and EOF ends the process."""
    child = subprocess.Popen(
        [sys.executable, "-m", "nanoscale.cli", "mcp"],
        env=child_env,
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdin and child.stdout

    def send(message: dict) -> None:
        child.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        child.stdin.flush()

    def receive() -> dict:
        return json.loads(child.stdout.readline())

    info = {"name": "test", "version": "0"}
    send(
        {
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": info},
        }
    )
    assert receive()["result"]["serverInfo"]["name"] == "nanoscale"
    send({"method": "notifications/initialized"})
    send(
        {
            "id": 2,
            "method": "tools/call",
            "params": {"name": "troubleshoot", "arguments": {"question": QUESTION}},
        }
    )
    reply = receive()
    assert reply["id"] == 2 and reply["result"]["structuredContent"]["status"] == "needs_input"
    child.stdin.close()
    assert child.wait(timeout=120) == 0
    assert child.stdout.read() == ""
    assert "Traceback" not in child.stderr.read()


@asynccontextmanager
async def http_server(env: dict[str, str]):
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "nanoscale.cli", "mcp", "--http", f"127.0.0.1:{port}"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while True:
            assert child.poll() is None, "mcp --http exited during start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline, "mcp --http did not listen"
                await anyio.sleep(0.3)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        child.terminate()
        child.wait(timeout=30)


def test_http_session_with_clarification(child_env, cli_bad_thread_error):
    @asynccontextmanager
    async def transport():
        async with http_server(child_env) as url, streamable_http_client(url) as streams:
            yield streams

    run_session(transport, cli_bad_thread_error)


def test_http_refuses_non_loopback_hosts(child_env):
    done = run_cli("mcp", "--http", "0.0.0.0:8765", PYTHONPATH=child_env["PYTHONPATH"])
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: --http serves without authentication, so only on loopback")
    assert len(done.stderr.strip().splitlines()) == 1
