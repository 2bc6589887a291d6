"""Generation speed, side by side on one grounded prompt: our backends against plain llama-cpp-python.

(a) the transformers backend, (b) the llamacpp backend (ChatLlamaCpp, what the graph uses on CPU),
(c) the anchor: plain llama_cpp.Llama.create_chat_completion on the same GGUF, same messages, same
token limit, (d) the full graph (signals, retrieval, generation, verify) on the llamacpp backend.

Every run starts with a cold KV cache (llama.cpp would otherwise reuse the whole identical prompt),
so TTFT here is the full prefill. Reports the median and spread of >= 5 runs after a warm-up, the
ratios (b)/(c) and (d)/(c), and the graph's overhead besides generation.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import spread, write_result  # noqa: E402

QUESTION = "My EC2 instance cannot pull an image from ECR: docker pull says no basic auth credentials"
SLOTS = {"region": "eu-west-1"}


def grounded_messages(resources: Any, settings: Any) -> list:
    from nanoscale.nodes.retrieve import merge_sections, search_query
    from nanoscale.prompts import build_messages

    hits = resources.retriever.invoke(search_query(QUESTION, SLOTS))
    documents = merge_sections([{**d.metadata, "text": d.page_content} for d in hits])
    window = settings.model.n_ctx - settings.model.max_new_tokens - 64
    messages, _ = build_messages(
        QUESTION, SLOTS, [], documents, [], resources.count_tokens, settings.retrieval.context_tokens, window
    )
    return messages


def timed_stream(chunks: Any) -> dict[str, float]:
    """TTFT and decode tokens/s from an iterator of streamed text pieces (one per token)."""
    started = time.perf_counter()
    first = last = None
    tokens = 0
    for piece in chunks:
        if not piece:
            continue
        now = time.perf_counter()
        first = first or now
        last = now
        tokens += 1
    if first is None:
        raise RuntimeError("the model produced no tokens")
    decode = (tokens - 1) / (last - first) if tokens > 1 and last > first else float("nan")
    return {"ttft_s": first - started, "tokens": tokens, "tokens_per_s": decode, "total_s": last - started}


def repeat(label: str, run: Any, runs: int) -> dict[str, Any]:
    run()  # warm-up
    samples = []
    for i in range(runs):
        samples.append(run())
        print(
            f"  {label} run {i + 1}/{runs}: ttft {samples[-1]['ttft_s']:.2f} s, "
            f"{samples[-1]['tokens_per_s']:.1f} tok/s",
            file=sys.stderr,
        )
    return {
        "ttft_s": spread([s["ttft_s"] for s in samples]),
        "tokens_per_s": spread([s["tokens_per_s"] for s in samples]),
        "tokens": spread([s["tokens"] for s in samples]),
        **(
            {"overhead_ms": spread([s["overhead_ms"] for s in samples])}
            if "overhead_ms" in samples[0]
            else {}
        ),
    }


def as_dicts(messages: list) -> list[dict[str, str]]:
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles[m.type], "content": m.content} for m in messages]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64, help="max new tokens per run")
    parser.add_argument(
        "--systems", default="transformers,llamacpp,anchor,graph", help="comma list of what to measure"
    )
    parser.add_argument("--smoke", action="store_true", help="SmolLM2, 2 runs, 8 tokens: checks the script")
    parser.add_argument("--out", help="result JSON path")
    args = parser.parse_args()
    if args.smoke:
        args.model, args.runs, args.tokens = "smollm2-135m", 2, 8

    from langchain_core.callbacks import BaseCallbackHandler
    from langgraph.checkpoint.memory import InMemorySaver
    from llama_cpp import Llama

    from nanoscale.config import Settings
    from nanoscale.engine import Engine
    from nanoscale.models import load_chat_model, resolve_model
    from nanoscale.resources import Resources

    threads = os.cpu_count() or 1
    settings = Settings.load(
        overrides={
            "model.preset": args.model,
            "model.max_new_tokens": args.tokens,
            "model.n_threads": threads,
        }
    )
    settings.model.backend = "llamacpp"
    resources = Resources.load(settings)
    messages = grounded_messages(resources, settings)
    prompt_tokens = sum(resources.count_tokens(m.content) for m in messages)
    systems = args.systems.split(",")
    results: dict[str, Any] = {}

    if "llamacpp" in systems:
        chat = resources.chat_model

        def run_backend() -> dict[str, float]:
            chat.client.reset()
            return timed_stream(chunk.content for chunk in chat.stream(messages))

        results["llamacpp"] = repeat("llamacpp backend", run_backend, args.runs)

    if "anchor" in systems:
        _, gguf = resolve_model(args.model, settings)
        llm = Llama(
            model_path=str(gguf), n_ctx=settings.model.n_ctx, n_threads=threads, n_batch=512, verbose=False
        )
        plain = as_dicts(messages)

        def run_anchor() -> dict[str, float]:
            llm.reset()
            stream = llm.create_chat_completion(plain, max_tokens=args.tokens, temperature=0.0, stream=True)
            return timed_stream(c["choices"][0]["delta"].get("content") for c in stream)

        results["anchor"] = repeat("plain llama-cpp-python", run_anchor, args.runs)
        del llm

    if "graph" in systems:

        class LLMTimer(BaseCallbackHandler):
            def __init__(self) -> None:
                self.spent = 0.0
                self._start = 0.0

            def on_chat_model_start(self, *a: Any, **k: Any) -> None:
                self._start = time.perf_counter()

            def on_llm_end(self, *a: Any, **k: Any) -> None:
                self.spent += time.perf_counter() - self._start

        timer = LLMTimer()
        engine = Engine(settings, resources=resources, checkpointer=InMemorySaver(), callbacks=[timer])

        def run_graph() -> dict[str, float]:
            resources.chat_model.client.reset()
            timer.spent = 0.0
            pieces: list[float] = []
            started = time.perf_counter()
            result = engine.send(QUESTION, slots=SLOTS, on_token=lambda t: pieces.append(time.perf_counter()))
            total = time.perf_counter() - started
            if result.status != "answer" or not pieces:
                raise RuntimeError(f"the graph did not answer: {result.status}")
            decode = (len(pieces) - 1) / (pieces[-1] - pieces[0]) if len(pieces) > 1 else float("nan")
            return {
                "ttft_s": pieces[0] - started,
                "tokens": len(pieces),
                "tokens_per_s": decode,
                "total_s": total,
                "overhead_ms": (total - timer.spent) * 1000,
            }

        results["graph"] = repeat("full graph", run_graph, args.runs)

    if "transformers" in systems:
        del resources
        settings.model.backend = "transformers"
        hf_chat = load_chat_model(settings)

        def run_transformers() -> dict[str, float]:
            return timed_stream(chunk.content for chunk in hf_chat.stream(messages))

        results["transformers"] = repeat("transformers backend", run_transformers, max(args.runs, 1))

    ratios = {}
    if "anchor" in results:
        anchor = results["anchor"]
        for name in ("llamacpp", "graph", "transformers"):
            if name in results:
                ratios[f"{name}/anchor tokens_per_s"] = round(
                    results[name]["tokens_per_s"]["median"] / anchor["tokens_per_s"]["median"], 3
                )
                ratios[f"{name}/anchor ttft"] = round(
                    results[name]["ttft_s"]["median"] / anchor["ttft_s"]["median"], 3
                )
    summary = {
        "model": args.model,
        "threads": threads,
        "prompt_tokens": prompt_tokens,
        "max_new_tokens": args.tokens,
        "runs": args.runs,
        "results": results,
        "ratios": ratios,
        "targets": {"llamacpp/anchor tokens_per_s": ">= 0.95", "graph overhead_ms p50": "< 150"},
    }
    path = write_result("generation", summary, args.out)
    for name, value in results.items():
        print(
            f"{name:>13}: ttft {value['ttft_s']['median']:.2f} s, {value['tokens_per_s']['median']:.1f} tok/s"
            + (f", overhead {value['overhead_ms']['median']:.0f} ms" if "overhead_ms" in value else "")
        )
    print(f"ratios: {ratios}\nprompt tokens: {prompt_tokens}; statistics median of {args.runs} runs")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
