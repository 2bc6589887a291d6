"""Time to first token of a grounded answer, on the project's eval questions, per context budget.

Prefill is what retrieval costs: every context token is read before the first answer token. For
each budget (retrieval.context_tokens) each question is retrieved, laid out exactly as the generate
node does, and streamed on the llamacpp backend until its first token. Questions run in sequence on
one model, as a server would serve them, so llama.cpp reuses the KV cache of the fixed system-prompt
prefix; --cold also measures with the cache reset before each question, to show what that reuse saves.

--follow-ups N measures what a server does with a second question on the same thread: through the
engine (signals, retrieval, the prompt, the model), the case's question is asked and stopped at its
first token, then a follow-up that restates it with one more detail is timed to its first token,
once with the KV cache as the first question left it and once with the cache reset, alternating.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import percentile, spread, write_result  # noqa: E402


def first_token_seconds(chat: Any, messages: list, cold: bool) -> float:
    if cold:
        chat.client.reset()
    started = time.perf_counter()
    for chunk in chat.stream(messages):
        if chunk.content:
            return time.perf_counter() - started
    return time.perf_counter() - started


# What a user adds when the first answer did not settle it; the restated problem keeps the retrieval.
FOLLOW_UP = "{question} Update: it still happens after a restart, and nothing else changed."


class FirstToken(Exception):
    """Raised from the token callback: the follow-up benchmark needs nothing after the first token."""


def engine_first_token(engine: Any, message: str, thread_id: str, slots: dict[str, str]) -> float | None:
    """Seconds from sending `message` on the thread to its first answer token (None: it asked instead)."""
    started = time.perf_counter()

    def on_token(token: str) -> None:
        if token.strip():
            raise FirstToken

    try:
        engine.send(message, thread_id=thread_id, slots=slots, on_token=on_token)
    except FirstToken:
        return time.perf_counter() - started
    return None


def follow_up_ttft(
    settings: Any, resources: Any, cases: list, slots: dict[str, str], wanted: int
) -> dict[str, Any]:
    """Time to the follow-up's first token, warm (the first question's cache kept) and cold (reset),
    on the first `wanted` cases the graph answers rather than asks about."""
    from langgraph.checkpoint.memory import InMemorySaver

    from nanoscale.engine import Engine

    # LangChain logs a callback's exception before re-raising it; here that is the expected stop.
    logging.getLogger("langchain_core.callbacks.manager").setLevel(logging.ERROR)
    engine = Engine(settings, resources=resources, checkpointer=InMemorySaver())
    client = resources.chat_model.client
    seconds: dict[str, list[float]] = {"warm": [], "cold": []}
    for n, case in enumerate(cases):
        if len(seconds["warm"]) >= wanted:
            break
        follow_up = FOLLOW_UP.format(question=case.question)
        for mode in ("warm", "cold") if n % 2 == 0 else ("cold", "warm"):
            thread = f"follow-up-{n}-{mode}"
            if engine_first_token(engine, case.question, thread, slots) is None:
                break  # the case asks for a slot the fixed replies do not give; no answer to follow up
            if mode == "cold":
                client.reset()
            took = engine_first_token(engine, follow_up, thread, slots)
            if took is not None:
                seconds[mode].append(took)
    return {
        mode: {"ttft_p50_s": percentile(values, 50), "ttft": spread(values), "questions": len(values)}
        for mode, values in seconds.items()
        if values
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--budgets", default="1500,800,500", help="context token budgets to compare")
    parser.add_argument("--questions", type=int, default=10, help="eval questions, spread over the file")
    parser.add_argument("--cold", action="store_true", help="also measure with the KV cache reset each time")
    parser.add_argument(
        "--follow-ups", type=int, default=0, help="also time N same-thread follow-ups through the engine"
    )
    parser.add_argument("--smoke", action="store_true", help="SmolLM2, 3 questions, one budget")
    parser.add_argument("--out", help="result JSON path")
    args = parser.parse_args()
    if args.follow_ups < 0:
        parser.error("--follow-ups must be 0 or more")
    if args.smoke:
        args.model, args.questions, args.budgets, args.follow_ups = "smollm2-135m", 3, "500", 2

    from nanoscale.config import Settings
    from nanoscale.evals.cases import load_cases
    from nanoscale.nodes.retrieve import merge_sections, search_query
    from nanoscale.prompts import build_messages
    from nanoscale.resources import Resources

    settings = Settings.load(
        overrides={"model.preset": args.model, "model.backend": "llamacpp", "model.n_threads": os.cpu_count()}
    )
    resources = Resources.load(settings)
    chat = resources.chat_model
    window = settings.model.n_ctx - settings.model.max_new_tokens - 64
    cases = load_cases(settings.paths.eval_cases, sample=args.questions)
    retrieved = []
    for case in cases:
        hits = resources.retriever.invoke(search_query(case.question, {}))
        retrieved.append(merge_sections([{**d.metadata, "text": d.page_content} for d in hits]))

    results: dict[str, Any] = {}
    modes = ["warm", "cold"] if args.cold else ["warm"]
    for budget in [int(b) for b in args.budgets.split(",")]:
        for mode in modes:
            seconds, prompt_tokens = [], []
            first_token_seconds(
                chat, build_messages("warm up", {}, [], [], [], resources.count_tokens, 0, window)[0], False
            )
            for case, documents in zip(cases, retrieved, strict=True):
                messages, _ = build_messages(
                    case.question, {}, [], documents, [], resources.count_tokens, budget, window
                )
                prompt_tokens.append(sum(resources.count_tokens(m.content) for m in messages))
                seconds.append(first_token_seconds(chat, messages, cold=mode == "cold"))
            key = f"budget={budget} {mode}"
            results[key] = {
                "budget": budget,
                "cache": mode,
                "ttft_p50_s": percentile(seconds, 50),
                "ttft_p95_s": percentile(seconds, 95),
                "ttft": spread(seconds),
                "prompt_tokens_mean": sum(prompt_tokens) / len(prompt_tokens),
            }
            print(
                f"{key:>22}: TTFT p50 {results[key]['ttft_p50_s']:.2f} s, p95 {results[key]['ttft_p95_s']:.2f} s, "
                f"{results[key]['prompt_tokens_mean']:.0f} prompt tokens",
                file=sys.stderr,
            )
    summary: dict[str, Any] = {
        "model": args.model,
        "questions": len(cases),
        "results": results,
        "target": "TTFT p50 <= 4 s",
    }
    if args.follow_ups:
        slots = {"region": "eu-west-1"}
        everything = load_cases(settings.paths.eval_cases)
        follow = follow_up_ttft(settings, resources, everything, slots, args.follow_ups)
        summary["follow_up"] = {
            "budget": settings.retrieval.context_tokens,
            "message": FOLLOW_UP,
            "slots": slots,
            "results": follow,
        }
        for mode, value in follow.items():
            print(
                f"follow-up {mode:>4}: TTFT p50 {value['ttft_p50_s']:.2f} s over {value['questions']}",
                file=sys.stderr,
            )
    path = write_result("ttft", summary, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
