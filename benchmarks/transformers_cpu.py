"""What makes the transformers backend fast on CPU: decode tokens/s of one model under each option.

Variants: the fp32 baseline (dynamic KV cache), bf16 weights, int8 dynamic quantisation of the
linear layers, a static KV cache with torch.compile (fp32 and bf16). Each is warmed up (which
includes compiling) and then timed over >= 5 runs of exactly --tokens greedy new tokens, threads
pinned. Also records whether each variant's greedy output matches the fp32 baseline's.
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

PROMPT = "Why does my Kubernetes pod stay in CrashLoopBackOff, and which kubectl commands confirm the cause?"
VARIANTS = ("fp32", "bf16", "int8-dynamic", "fp32-static-compile", "bf16-static-compile")


def load(folder: Path, variant: str) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if variant.startswith("bf16") else torch.float32
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).eval()
    if variant == "int8-dynamic":
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    if variant.endswith("static-compile"):
        model.generation_config.cache_implementation = "static"
        model.forward = torch.compile(model.forward, dynamic=False)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="preset or HF folder")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--smoke", action="store_true", help="2 runs of 8 tokens, no compile: checks the script"
    )
    parser.add_argument("--out", help="result JSON path")
    args = parser.parse_args()
    variants = args.variants.split(",")
    if args.smoke:
        args.runs, args.tokens = 2, 8
        variants = [v for v in variants if "compile" not in v]

    import torch
    from transformers import AutoTokenizer

    from nanoscale.config import Settings
    from nanoscale.models import hf_folder_from_gguf, resolve_model

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    settings = Settings.load()
    kind, path = resolve_model(args.model, settings)
    folder = hf_folder_from_gguf(path, settings) if kind == "gguf" else path
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    options = {"max_new_tokens": args.tokens, "min_new_tokens": args.tokens, "do_sample": False}

    results: dict[str, Any] = {}
    reference = None
    for variant in variants:
        model = load(folder, variant)
        with torch.inference_mode():
            started = time.perf_counter()
            model.generate(**ids, **options)
            warmup = time.perf_counter() - started
            speeds, output = [], None
            for _ in range(args.runs):
                started = time.perf_counter()
                output = model.generate(**ids, **options)
                speeds.append(args.tokens / (time.perf_counter() - started))
        tokens = output[0, ids["input_ids"].shape[1] :].tolist()
        reference = reference or tokens
        same = sum(a == b for a, b in zip(tokens, reference, strict=False)) / len(reference)
        results[variant] = {"tokens_per_s": spread(speeds), "warmup_s": round(warmup, 1), "same_tokens": same}
        print(
            f"{variant:>20}: {results[variant]['tokens_per_s']['median']:.1f} tok/s "
            f"(warm-up {warmup:.1f} s, {same:.0%} same tokens as fp32)",
            file=sys.stderr,
        )
        del model
    base = results.get("fp32", {}).get("tokens_per_s", {}).get("median")
    ratios = {v: round(r["tokens_per_s"]["median"] / base, 2) for v, r in results.items()} if base else {}
    path = write_result(
        "transformers_cpu",
        {
            "model": args.model,
            "threads": threads,
            "tokens": args.tokens,
            "runs": args.runs,
            "results": results,
            "speedup_vs_fp32": ratios,
            "target": ">= 2x the fp32 baseline",
        },
        args.out,
    )
    print(f"speed-up vs fp32: {ratios}\nwrote {path}")


if __name__ == "__main__":
    main()
