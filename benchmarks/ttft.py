"""Time to first token of a grounded answer, on the project's eval questions, per context budget.

Prefill is what retrieval costs: every context token is read before the first answer token. For
each budget (retrieval.context_tokens) each question is retrieved, laid out exactly as the generate
node does, and streamed on the llamacpp backend until its first token. Questions run in sequence on
one model, as a server would serve them, so llama.cpp reuses the KV cache of the fixed system-prompt
prefix; --cold also measures with the cache reset before each question, to show what that reuse saves.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--budgets", default="1500,800,500", help="context token budgets to compare")
    parser.add_argument("--questions", type=int, default=10, help="eval questions, spread over the file")
    parser.add_argument("--cold", action="store_true", help="also measure with the KV cache reset each time")
    parser.add_argument("--smoke", action="store_true", help="SmolLM2, 3 questions, one budget")
    parser.add_argument("--out", help="result JSON path")
    args = parser.parse_args()
    if args.smoke:
        args.model, args.questions, args.budgets = "smollm2-135m", 3, "500"

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
    path = write_result(
        "ttft",
        {"model": args.model, "questions": len(cases), "results": results, "target": "TTFT p50 <= 4 s"},
        args.out,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
