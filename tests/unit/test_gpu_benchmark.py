"""benchmarks/gpu.py without a GPU or a model: its arithmetic, its deadline, its record, the vLLM
client path against a fake OpenAI server, and the CLI shim it trains through."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks import gpu, run_all

PROMPT = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Why does ECR deny?"}]


class FakeBackend:
    """Takes 0.1 s + 0.01 s per new token per call, and makes exactly what it is asked for."""

    how_batched = "fake"

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def generate(self, batch: list, new_tokens: int) -> dict:
        self.calls.append((len(batch), new_tokens))
        return {"seconds": 0.1 + 0.01 * new_tokens, "tokens": len(batch) * new_tokens, "requests": len(batch)}


class FixedClock(gpu.Clock):
    def __init__(self, left: float) -> None:
        super().__init__(left)
        self._left = left

    def left(self) -> float:
        return self._left


class NoMemory:
    kind = "none"

    def reset(self) -> None:
        pass

    def peak_gb(self) -> float:
        return 1.5


def test_measure_derives_ttft_decode_and_aggregate_rates():
    backend = FakeBackend()
    sizes = gpu.Sizes(new_tokens=256, levels=(8, 32))
    result = gpu.measure(backend, [PROMPT] * 3, sizes, FixedClock(1000), NoMemory(), keep_s=0)

    assert result["ttft_s"]["median"] == pytest.approx(0.11)
    # (256 - 1) tokens after the first, over the run's time less the TTFT: 255 / 2.55 s
    assert result["single_stream"]["decode_tokens_per_s"]["median"] == pytest.approx(100.0)
    assert result["tokens_as_asked"] is True
    eight = result["concurrent"]["8"]
    assert eight["status"] == "ran" and eight["tokens"] == 8 * 256 and eight["tokens_as_asked"]
    assert eight["aggregate_tokens_per_s"] == pytest.approx(8 * 256 / 2.66, rel=1e-3)
    assert (32, 256) in backend.calls  # 32 requests cycle through the 3 prompts


def test_concurrency_levels_past_the_deadline_are_skipped_not_run():
    backend = FakeBackend()
    result = gpu.measure(backend, [PROMPT], gpu.Sizes(new_tokens=4), FixedClock(50), NoMemory(), keep_s=120)

    assert result["single_stream"]["new_tokens"] == 4
    assert {entry["status"] for entry in result["concurrent"].values()} == {"skipped"}
    assert all(size == 1 for size, _ in backend.calls)


def test_run_part_records_a_failure_and_a_skip():
    result: dict = {"parts": {}}
    gpu.run_part("boom", result, FixedClock(100), 0, lambda: 1 / 0)
    gpu.run_part("late", result, FixedClock(10), 60, lambda: {"never": True})

    assert result["parts"]["boom"]["status"] == "failed"
    assert "ZeroDivisionError" in result["parts"]["boom"]["error"]
    assert result["parts"]["late"]["status"] == "skipped" and "deadline" in result["parts"]["late"]["reason"]


def test_training_figures_extrapolate_from_the_step_rate_and_leave_out_the_loss():
    record = {
        "settings": {"batch_size": 4, "grad_accum": 4, "epochs": 2.0, "max_length": 1536,
                     "gradient_checkpointing": True},
        "data": {"train": 550, "eval": 61, "dropped_too_long": 5},
        "precision": "bf16",
    }
    metrics = {"steps": 25, "seconds": 50.0, "tokens_seen": 250_000, "tokens_per_s": 5000.0,
               "peak_gpu_memory_gb": 20.5, "device": "NVIDIA H100", "train_loss": 11.9}
    figures = gpu.training_figures(record, metrics, wall_s=80.0)

    # 550 examples / batch 4 = 138 batches; / 4 accumulated = 35 steps an epoch; 2 epochs = 70 steps
    assert figures["full_run"]["steps"] == 70
    assert figures["full_run"]["extrapolated_train_s"] == pytest.approx(140.0)
    assert figures["full_run"]["extrapolated_total_s"] == pytest.approx(30.0 + 140.0)
    assert "extrapolated" in figures["full_run"]["how"]
    assert "11.9" not in json.dumps(figures)


def test_the_train_shim_has_exactly_the_cli_train_options():
    from nanoscale.cli import build_parser

    def train_options(parser) -> set[str]:
        subparsers = next(a for a in parser._actions if a.dest == "command")
        return set(subparsers.choices["train"]._option_string_actions)

    assert train_options(gpu.train_parser()) == train_options(build_parser())
    args = gpu.train_parser().parse_args(["train", "--preset", "gpu", "--max-steps", "3", "--base-model", "x"])
    assert (args.preset, args.max_steps, args.base_model) == ("gpu", 3, "x")


def test_summary_says_what_ran_and_what_did_not():
    result = {
        "when": "2026-11-26T00:00:00Z", "smoke": False, "sizes": {"levels": [8], "new_tokens": 256},
        "device": {"device": "cuda", "name": "NVIDIA H100 80GB HBM3", "torch_cuda": "13.0", "driver": "580"},
        "packages": {"torch": "2.11.0", "transformers": "5.17.0", "trl": "1.16.0", "peft": "0.18.0"},
        "tuned": {"status": "not measured", "reason": gpu.SAME_AS_BASE},
        "parts": {
            "model": {"status": "ran", "parameters": 1_777_088_000, "dtype": "bfloat16"},
            "transformers": {"status": "failed", "error": "CUDA out of memory"},
            "training": {"status": "skipped", "reason": "deadline: 20 s left, needs 60 s"},
            "vllm": {"status": "not run", "reason": "not installed (vllm is not importable here)"},
        },
    }
    text = gpu.summary(result)

    assert "NVIDIA H100 80GB HBM3" in text and "1.78 B parameters" in text
    assert "- vllm: not run: not installed" in text
    assert "- training: skipped: deadline" in text
    assert "- transformers: failed: CUDA out of memory" in text


class FakeOpenAI(BaseHTTPRequestHandler):
    """/v1/chat/completions that answers with max_tokens words after 0.2 s, remembering each body."""

    bodies: list[dict] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.bodies.append(body)
        time.sleep(0.2)
        tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        reply = {
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "length",
                         "message": {"role": "assistant", "content": "word " * tokens}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": tokens, "total_tokens": 9 + tokens},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_openai():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeOpenAI.bodies = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_backend_asks_for_fixed_lengths_concurrently(fake_openai, tmp_path):
    backend = gpu.OpenAIBackend(fake_openai, "local", tmp_path)
    run = backend.generate([PROMPT] * 4, 7)

    assert run["tokens"] == 28 and run["requests"] == 4
    assert run["seconds"] < 0.6  # four 0.2 s requests at once, not one after another
    assert len(FakeOpenAI.bodies) == 4
    for body in FakeOpenAI.bodies:
        assert (body.get("max_completion_tokens") or body.get("max_tokens")) == 7
        assert body["min_tokens"] == 7 and body["ignore_eos"] is True and body["temperature"] == 0.0


def test_run_all_skips_the_gpu_step_without_cuda_but_not_its_smoke(monkeypatch):
    monkeypatch.setattr(run_all, "cuda_available", lambda: False)
    assert "no CUDA" in run_all.skip_reason("gpu", smoke=False)
    assert run_all.skip_reason("gpu", smoke=True) is None
    assert run_all.skip_reason("retrieval", smoke=False) is None
    monkeypatch.setattr(run_all, "cuda_available", lambda: True)
    assert run_all.skip_reason("gpu", smoke=False) is None
