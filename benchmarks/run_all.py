"""Every benchmark, one after another, sized for `make bench` (under 20 minutes on 2 cores).

The GPU benchmark runs only where CUDA is (elsewhere it is recorded as skipped, with the reason);
--smoke runs every script's tiny CPU check, that one included.

Each script's own defaults measure more; here each runs at the size below, and the wall time of
every step and of the whole suite is written to benchmarks/results/bench-<time>.json, so the
"under 20 minutes" claim is a measured figure too. A failing step is reported and the rest
still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import write_result  # noqa: E402

HERE = Path(__file__).resolve().parent
STEPS: dict[str, list[str]] = {
    # awsdocs' ECR guide only (the whole corpus is 11+ minutes of embedding on 2 cores by itself)
    "retrieval": ["retrieval.py", "--smoke"],
    "generation": ["generation.py", "--tokens", "32", "--systems", "llamacpp,anchor,graph"],
    "ttft": ["ttft.py", "--budgets", "350", "--questions", "8", "--follow-ups", "4"],
    "transformers_cpu": ["transformers_cpu.py", "--variants", "fp32,int8-dynamic"],
    "training": ["training.py", "--steps", "3"],
    "load": ["load.py", "--duration", "15", "--max-new-tokens", "64", "--clients", "1", "4"],
    "cold_start": ["cold_start.py", "--runs", "3"],
    "llama_builds": ["llama_builds.py", "--runs", "3"],
    "gpu": ["gpu.py"],
}
# --smoke: each script's own --smoke, plus these arguments: the retrieval smoke checks our pipeline
# on the project corpus; the awsdocs guide and the plain-RAG anchor (two more minutes of embedding
# on 2 cores) run in `make bench`.
SMOKE_EXTRA: dict[str, list[str]] = {
    "retrieval": ["--corpus", "project", "--anchor", "none", "--repeats", "1"]
}
# Measured only on a CUDA GPU (skipped, with the reason recorded, elsewhere); their --smoke runs anywhere.
NEEDS_CUDA = {"gpu"}


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def skip_reason(name: str, smoke: bool) -> str | None:
    """Why a step cannot run on this machine, or None when it can."""
    if smoke or name not in NEEDS_CUDA or cuda_available():
        return None
    return "no CUDA GPU on this machine (benchmarks/GPU.md runs it on one)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=list(STEPS), help="run just these steps")
    parser.add_argument("--smoke", action="store_true", help="each script's tiny --smoke run instead")
    parser.add_argument("--results", help="folder for every step's JSON (default benchmarks/results/)")
    parser.add_argument("--out", help="result JSON path of the suite's timings")
    args = parser.parse_args(argv)
    steps = {name: STEPS[name] for name in args.only} if args.only else dict(STEPS)
    if args.smoke:
        steps = {name: [command[0], "--smoke", *SMOKE_EXTRA.get(name, [])] for name, command in steps.items()}
    if args.results:
        steps = {
            name: [*command, "--out", str(Path(args.results) / f"{name}.json")]
            for name, command in steps.items()
        }
    timings: dict[str, dict] = {}
    started = time.perf_counter()
    for name, command in steps.items():
        reason = skip_reason(name, args.smoke)
        if reason:
            timings[name] = {"command": command, "seconds": 0.0, "exit": None, "skipped": reason}
            print(f"== {name}: skipped: {reason}", flush=True)
            continue
        print(f"== {name}: {' '.join(command)}", flush=True)
        step_start = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / command[0]), *command[1:]])
        timings[name] = {
            "command": command,
            "seconds": round(time.perf_counter() - step_start, 1),
            "exit": code,
        }
        print(f"== {name}: {timings[name]['seconds']} s, exit {code}", flush=True)
    total = round(time.perf_counter() - started, 1)
    path = write_result("bench", {"steps": timings, "total_seconds": total}, args.out)
    print(f"{'step':<18} {'seconds':>8} {'exit':>5}")
    for name, timing in timings.items():
        print(f"{name:<18} {timing['seconds']:>8} {'skip' if timing['exit'] is None else timing['exit']:>5}")
    print(f"{'total':<18} {total:>8}  ({total / 60:.1f} min)\nwritten: {path}")
    return 1 if any(t["exit"] for t in timings.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
