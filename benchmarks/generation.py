"""Generation speed, side by side on one grounded prompt: our backends against plain llama-cpp-python.

(a) the transformers backend, (b) the llamacpp backend (ChatLlamaCpp, what the graph uses on CPU),
(c) the anchor: plain llama_cpp.Llama.create_chat_completion on the same GGUF, same messages, same
token limit, (d) the full graph (signals, retrieval, generation, verify) on the llamacpp backend.

Each system runs alone in its own process, one after another (two llama.cpp models in one process
decode at measurably different speeds here). Every run starts with a cold KV cache (llama.cpp
would otherwise reuse the whole identical prompt), so TTFT here is the full prefill. Reports the median and spread of >= 5 runs after a warm-up, the
ratios (b)/(c) and (d)/(c), and the graph's overhead besides generation.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import spread, write_result  # noqa: E402

QUESTION = "My EC2 instance cannot pull an image from ECR: docker pull says no basic auth credentials"
SLOTS = {"region": "eu-west-1"}


def grounded_messages(resources: Any, settings: Any, question: str = QUESTION, slots: dict | None = None) -> list:
    """The generate node's prompt for a question: retrieved sections in the configured budget."""
    from nanoscale.nodes.retrieve import merge_sections, search_query
    from nanoscale.prompts import build_messages

    slots = SLOTS if slots is None else slots
    hits = resources.retriever.invoke(search_query(question, slots))
    documents = merge_sections([{**d.metadata, "text": d.page_content} for d in hits])
    window = settings.model.n_ctx - settings.model.max_new_tokens - 64
    messages, _ = build_messages(
        question, slots, [], documents, [], resources.count_tokens, settings.retrieval.context_tokens, window
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


def summarise(samples: list[dict[str, float]]) -> dict[str, Any]:
    out = {key: spread([s[key] for s in samples]) for key in ("ttft_s", "tokens_per_s", "tokens")}
    for key in ("overhead_ms", "revised"):
        if key in samples[0]:
            out[key] = spread([s[key] for s in samples])
    return out


def interleaved(runners: dict[str, Any], runs: int) -> dict[str, Any]:
    """Warm every runner up, then take turns run by run, so drift hits all of them alike."""
    for run in runners.values():
        run()
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in runners}
    for i in range(runs):
        for name, run in runners.items():
            samples[name].append(run())
            last = samples[name][-1]
            print(
                f"  {name} run {i + 1}/{runs}: ttft {last['ttft_s']:.2f} s, {last['tokens_per_s']:.1f} tok/s",
                file=sys.stderr,
            )
    return {name: summarise(values) for name, values in samples.items()}


def as_dicts(messages: list) -> list[dict[str, str]]:
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles[m.type], "content": m.content} for m in messages]


def settings_for(args: argparse.Namespace, backend: str) -> Any:
    from nanoscale.config import Settings

    settings = Settings.load(
        overrides={
            "model.preset": args.model,
            "model.max_new_tokens": args.tokens,
            "model.n_threads": os.cpu_count(),
        }
    )
    settings.model.backend = backend
    return settings


def write_messages(args: argparse.Namespace, path: Path) -> int:
    """The one grounded prompt every system gets, computed once; returns its token count."""
    from nanoscale.resources import Resources

    settings = settings_for(args, "llamacpp")
    resources = Resources.load(settings)
    messages = grounded_messages(resources, settings)
    path.write_text(json.dumps(as_dicts(messages)))
    return sum(resources.count_tokens(m.content) for m in messages)


def measure_one(args: argparse.Namespace) -> None:
    """One system, alone in this process (two llama.cpp models in one process decode at different speeds)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    plain = json.loads(Path(args.messages).read_text())
    messages = [SystemMessage(plain[0]["content"]), HumanMessage(plain[1]["content"])]
    runner = {
        "anchor": anchor_runner,
        "llamacpp": backend_runner,
        "transformers": backend_runner,
        "graph": graph_runner,
    }[args.only]
    result = interleaved({args.only: runner(args, messages, plain)}, args.runs)[args.only]
    Path(args.part_out).write_text(json.dumps(result))


def anchor_runner(args: argparse.Namespace, messages: list, plain: list[dict]) -> Any:
    from llama_cpp import Llama

    from nanoscale.models import resolve_model

    settings = settings_for(args, "llamacpp")
    _, gguf = resolve_model(args.model, settings)
    llm = Llama(
        model_path=str(gguf), n_ctx=settings.model.n_ctx, n_threads=os.cpu_count(), n_batch=512, verbose=False
    )

    def run() -> dict[str, float]:
        llm.reset()
        stream = llm.create_chat_completion(plain, max_tokens=args.tokens, temperature=0.0, stream=True)
        return timed_stream(c["choices"][0]["delta"].get("content") for c in stream)

    return run


def backend_runner(args: argparse.Namespace, messages: list, plain: list[dict]) -> Any:
    from nanoscale.models import load_chat_model

    chat = load_chat_model(settings_for(args, args.only))

    def run() -> dict[str, float]:
        if hasattr(chat, "client"):
            chat.client.reset()
        return timed_stream(chunk.content for chunk in chat.stream(messages))

    return run


def graph_runner(args: argparse.Namespace, messages: list, plain: list[dict]) -> Any:
    from langchain_core.callbacks import BaseCallbackHandler
    from langgraph.checkpoint.memory import InMemorySaver

    from nanoscale.engine import Engine
    from nanoscale.resources import Resources

    class LLMTimer(BaseCallbackHandler):
        def __init__(self) -> None:
            self.spent = 0.0
            self._start = 0.0

        def on_chat_model_start(self, *a: Any, **k: Any) -> None:
            self._start = time.perf_counter()

        def on_llm_end(self, *a: Any, **k: Any) -> None:
            self.spent += time.perf_counter() - self._start

    settings = settings_for(args, "llamacpp")
    resources = Resources.load(settings)
    timer = LLMTimer()
    engine = Engine(settings, resources=resources, checkpointer=InMemorySaver(), callbacks=[timer])

    def run() -> dict[str, float]:
        resources.chat_model.client.reset()
        timer.spent = 0.0
        pieces: list[float] = []
        started = time.perf_counter()
        result = engine.send(QUESTION, slots=SLOTS, on_token=lambda t: pieces.append(time.perf_counter()))
        total = time.perf_counter() - started
        if result.status != "answer" or not pieces:
            raise RuntimeError(f"the graph did not answer: {result.status}")
        # Decoding speed of the first generation only: when verify asks for a revision, the
        # second answer streams too, and the gap (verify, the new prompt's prefill) is not decoding.
        first = pieces[: args.tokens]
        decode = (len(first) - 1) / (first[-1] - first[0]) if len(first) > 1 else float("nan")
        return {
            "ttft_s": pieces[0] - started,
            "tokens": len(first),
            "revised": float(len(pieces) > args.tokens),
            "tokens_per_s": decode,
            "total_s": total,
            "overhead_ms": (total - timer.spent) * 1000,
        }

    return run


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
    parser.add_argument("--only", help=argparse.SUPPRESS)
    parser.add_argument("--messages", help=argparse.SUPPRESS)
    parser.add_argument("--part-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.model, args.runs, args.tokens = "smollm2-135m", 2, 8

    systems = args.systems.split(",")
    if args.only:
        measure_one(args)
        return
    threads = os.cpu_count() or 1
    messages_file = Path(tempfile.mkdtemp()) / "messages.json"
    prompt_tokens = write_messages(args, messages_file)
    results: dict[str, Any] = {}
    for name in systems:
        part = messages_file.with_name(f"{name}.json")
        command = [
            sys.executable,
            __file__,
            "--only",
            name,
            "--model",
            args.model,
            "--runs",
            str(args.runs),
            "--tokens",
            str(args.tokens),
            "--messages",
            str(messages_file),
            "--part-out",
            str(part),
        ]
        subprocess.run(command, check=True)
        results[name] = json.loads(part.read_text())

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
        "isolation": "each system in its own process, one after another",
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
