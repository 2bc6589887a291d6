"""The server for real: uvicorn on 127.0.0.1 in its own process, the packaged SmolLM2, HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import TEST_DATA, free_port

pytestmark = pytest.mark.integration


class Server:
    """`nanoscale serve` in a subprocess; restartable on the same data directory and port."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "NANOSCALE_DATA_DIR": str(data_dir),
            "NANOSCALE_MODEL_PRESET": "smollm2-135m",
            "NANOSCALE_MODEL_MAX_NEW_TOKENS": "48",
            **env,
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nanoscale.cli", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, "server exited during start"
            time.sleep(0.5)
        raise TimeoutError("server not ready")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(project_kb):
    running = Server(
        TEST_DATA,
        NANOSCALE_GRAPH_MAX_QUESTION_CHARS="2000",
        NANOSCALE_SERVER_MAX_BODY_BYTES="20000",
        NANOSCALE_SERVER_QUEUE_SIZE="1",
    ).start()
    yield running
    running.stop()


def test_health_and_clarification_round_trip(server):
    assert httpx.get(f"{server.base}/healthz").json() == {"status": "ok"}
    first = httpx.post(
        f"{server.base}/chat", json={"message": "EC2 cannot pull image from ECR"}, timeout=120
    ).json()
    assert first["status"] == "needs_input" and first["asked"] == ["region"] and first["trace_id"]
    final = httpx.post(
        f"{server.base}/chat", json={"message": "eu-west-1", "thread_id": first["thread_id"]}, timeout=120
    ).json()
    assert final["status"] == "answer" and final["text"] and final["sources"]
    assert final["sources"][0]["source"] == "aws_ecr.md"
    tree = httpx.get(f"{server.base}/traces/{final['trace_id']}").json()
    names = json.dumps(tree)
    assert tree["name"] == "nanoscale" and '"generate"' in names and '"verify"' in names
    assert tree["child_runs"][0]["extra"]["metadata"]["thread_id"] == first["thread_id"]
    listed = httpx.get(f"{server.base}/traces").json()
    assert final["trace_id"] in [t["trace_id"] for t in listed]


def test_stream_sends_tokens_then_the_result(server):
    with httpx.stream(
        "POST",
        f"{server.base}/chat/stream",
        json={"message": "docker says port is already allocated"},
        timeout=120,
    ) as response:
        events = [
            line.split(":", 1)[1].strip() for line in response.iter_lines() if line.startswith("event:")
        ]
    assert events[-1] == "result" and events.count("token") > 3


def test_langserve_invoke_and_batch(server):
    one = httpx.post(
        f"{server.base}/graph/invoke",
        json={"input": {"message": "systemd unit fails to start: Failed with result 'exit-code'"}},
        timeout=120,
    )
    assert one.status_code == 200 and one.json()["output"]["status"] == "answer"
    batch = httpx.post(
        f"{server.base}/graph/batch",
        json={
            "inputs": [
                {"message": "Lambda in us-east-1 times out after 3 seconds"},
                {"message": "EC2 cannot pull image from ECR"},
            ]
        },
        timeout=240,
    )
    outputs = batch.json()["output"]
    assert [o["status"] for o in outputs] == ["answer", "needs_input"]
    schema = httpx.get(f"{server.base}/graph/input_schema").json()
    assert "message" in json.dumps(schema)


def test_limits_and_errors(server):
    too_long = httpx.post(f"{server.base}/chat", json={"message": "x" * 3000})
    assert too_long.status_code == 422 and too_long.json()["limit"] == "max_question_chars"
    too_big = httpx.post(
        f"{server.base}/chat",
        content=b'{"message": "' + b"y" * 30000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert too_big.status_code == 413 and too_big.json()["limit"] == "max_body_bytes"
    unknown = httpx.post(f"{server.base}/chat", json={"message": "hi", "thread_id": "no-such-thread"})
    assert unknown.status_code == 404
    malformed = httpx.post(
        f"{server.base}/chat", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422 and "malformed" in malformed.json()["error"]
    missing = httpx.post(f"{server.base}/chat", json={"thread_id": "x"})
    assert missing.status_code == 422
    assert httpx.get(f"{server.base}/traces/nope").status_code == 404


def test_full_queue_answers_503_with_retry_after(server):
    results: list[httpx.Response] = []

    def ask(question: str) -> None:
        results.append(httpx.post(f"{server.base}/chat", json={"message": question}, timeout=120))

    threads = [
        threading.Thread(target=ask, args=(f"Lambda in us-east-1 times out, attempt {i}",)) for i in range(3)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 200 and 503 in codes
    busy = next(r for r in results if r.status_code == 503)
    assert busy.headers["retry-after"] and "busy" in busy.json()["error"]


def test_thread_survives_a_server_restart(project_kb, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(TEST_DATA / "index", data / "index")
    first = Server(data).start()
    try:
        waiting = httpx.post(
            f"{first.base}/chat", json={"message": "EC2 cannot pull image from ECR"}, timeout=120
        ).json()
    finally:
        first.stop()
    second = Server(data).start()
    try:
        final = httpx.post(
            f"{second.base}/chat",
            json={"message": "eu-west-1", "thread_id": waiting["thread_id"]},
            timeout=120,
        ).json()
        assert final["status"] == "answer" and final["asked"] == ["region"]
    finally:
        second.stop()


def test_remote_runnable_example_against_the_langserve_route(server):
    from examples.embedding import ask_remote

    output = ask_remote(f"{server.base}/graph/", "terraform plan fails: Error acquiring the state lock")
    assert output["status"] == "answer" and output["sources"]
