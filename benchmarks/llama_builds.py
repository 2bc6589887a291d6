"""Prompt reading and decoding speed of llama.cpp builds made for different CPUs, side by side.

Why: a build that runs everywhere must not cost speed where the CPU has the units. Each wheel
(this CPU's selection, the selection for another CPU's flag line, the conservative fallback) is
unpacked into its own folder and timed in its own process, one after another, on the same GGUF
and prompt. Only builds this CPU can run are timed. Reports medians and spreads of the runs and
each build's ratio to the first one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import spread, write_result  # noqa: E402
from nanoscale import llama_build  # noqa: E402

VERSION = "0.3.36"
CACHE = Path.home() / ".cache" / "nanoscale" / "wheels"
CHILD = """
import json, sys, time
from llama_cpp import Llama
model, prompt_tokens, new_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
llm = Llama(model_path=model, n_ctx=2048, n_threads=2, n_batch=512, verbose=False, seed=0)
words = ("pod node image registry region error timeout policy role bucket queue deploy " * 400).split()
tokens = llm.tokenize(" ".join(words).encode())[:prompt_tokens]
llm.reset(); started = time.perf_counter(); llm.eval(tokens); prefill = time.perf_counter() - started
started = time.perf_counter()
for _ in range(new_tokens):
    token = llm.sample(temp=0.0)
    llm.eval([token])
decode = time.perf_counter() - started
print(json.dumps({"prefill_tps": len(tokens) / prefill, "decode_tps": new_tokens / decode}))
"""


def builds(smoke: bool) -> dict[str, list[str]]:
    """The option sets to compare: this CPU's, Zen 4's (no AVX-VNNI) and the conservative one."""
    flags, machine = llama_build.this_cpu()
    chosen = {
        "this-cpu": llama_build.cmake_args(flags, machine),
        "zen4-selection": llama_build.cmake_args(set(llama_build.ZEN4_FLAGS), machine),
        "conservative": llama_build.cmake_args(flags, machine, conservative=True),
    }
    runnable = {name: args for name, args in chosen.items() if not llama_build.missing_units(args, flags)}
    return {"this-cpu": runnable["this-cpu"]} if smoke else runnable


def unpack(wheel: Path, into: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(into)
    return into


def time_build(site: Path, model: Path, prompt_tokens: int, new_tokens: int) -> dict:
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(model), str(prompt_tokens), str(new_tokens)],
                         capture_output=True, text=True, env=env, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="qwen2.5-coder-1.5b")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--build-missing", action="store_true", help="compile wheels not in the cache (minutes each)")
    parser.add_argument("--smoke", action="store_true", help="SmolLM2, this CPU's build only, one short run")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    from nanoscale.config import Settings
    from nanoscale.models import resolve_model

    preset = "smollm2-135m" if args.smoke else args.preset
    runs, prompt_tokens, new_tokens = (1, 64, 8) if args.smoke else (args.runs, args.prompt_tokens, args.new_tokens)
    _, model = resolve_model(preset, Settings.load())
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cmake in builds(args.smoke).items():
            folder = CACHE / llama_build.cache_key(VERSION, cmake)
            wheels = sorted(folder.glob(f"llama_cpp_python-{VERSION}-*.whl"))
            if not wheels and not args.build_missing:
                print(f"{name}: no wheel in {folder}; skipped (--build-missing compiles it)")
                continue
            wheel = wheels[-1] if wheels else llama_build.build_wheel(sys.executable, VERSION, cmake, CACHE)
            site = unpack(wheel, Path(tmp) / name)
            samples = [time_build(site, model, prompt_tokens, new_tokens) for _ in range(runs)]
            results[name] = {
                "variant": llama_build.variant_name(cmake),
                "cmake_args": cmake,
                "prefill_tps": spread([s["prefill_tps"] for s in samples]),
                "decode_tps": spread([s["decode_tps"] for s in samples]),
            }
            print(f"{name:<16} {results[name]['variant']:<32} prefill {results[name]['prefill_tps']['median']:7.1f} "
                  f"tok/s  decode {results[name]['decode_tps']['median']:6.1f} tok/s", flush=True)
    first = next(iter(results.values()), None)
    for result in results.values():
        result["prefill_ratio"] = result["prefill_tps"]["median"] / first["prefill_tps"]["median"]
        result["decode_ratio"] = result["decode_tps"]["median"] / first["decode_tps"]["median"]
    path = write_result("llama_builds", {"preset": preset, "prompt_tokens": prompt_tokens,
                                         "new_tokens": new_tokens, "builds": results}, args.out)
    print(f"written: {path}")
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
