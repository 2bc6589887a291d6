"""Cold processes, side by side: what a user waits for from `nanoscale ask` to its output.

(1) cold `needs_input`: `nanoscale ask --json QUESTION` with no region, a fresh process each time
(the clarification needs no model: target under 1.5 s); (2) cold answer: the same question with
`--region`, a fresh process, to a complete grounded answer; (3) the anchor: plain
llama-cpp-python in a fresh process, the same GGUF, the same grounded prompt that (2) builds,
greedy, exactly as many new tokens as the model wrote in (2) (`generated_tokens`, a revision
included; end-of-turn tokens are banned so it cannot stop early) (target: (2) <= 1.3x (3)). Runs alternate so drift
hits both alike; medians, spreads and peak memory (max RSS) of each are reported. (4) A warm
server's `needs_input`: POST /chat to `nanoscale serve` on 127.0.0.1 (target under 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import spread, write_result  # noqa: E402
from benchmarks.load import free_port, start_server  # noqa: E402

QUESTION = "My EC2 instance cannot pull a container image from ECR."
REGION = "eu-west-1"
ANCHOR = """
import json, sys
from llama_cpp import Llama
model, messages, tokens, threads, ctx = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
llm = Llama(model_path=model, n_ctx=ctx, n_threads=threads, verbose=False, seed=0)
stops = {llm.token_eos(), *llm.tokenize(b"<|im_end|>", add_bos=False, special=True)}
bias = {token: -1e9 for token in stops}  # exactly `tokens` new tokens, like the answer it mirrors
out = llm.create_chat_completion(messages=messages, max_tokens=tokens, temperature=0.0, logit_bias=bias)
print(json.dumps({"tokens": out["usage"]["completion_tokens"]}))
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MB of this one child (wait4's own rusage), and its stdout."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL, env=env, text=True)
    out = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"{' '.join(command[:4])}... exited {child.returncode}")
    return seconds, usage.ru_maxrss // 1024, out


def warm_needs_input(model: str, requests: int) -> dict:
    """A running server (model loaded) answering a region-less question: POST /chat to its
    clarification, over loopback, one request at a time (target: under 50 ms)."""
    import httpx

    port = free_port()
    server = start_server(port, model, 16)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            seconds = []
            for _ in range(requests + 1):  # the first request is a warm-up
                started = time.perf_counter()
                reply = client.post("/chat", json={"message": QUESTION})
                seconds.append(time.perf_counter() - started)
                assert reply.json()["status"] == "needs_input", reply.text
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"ms": spread([1000 * s for s in seconds[1:]])}


def write_prompt(target: Path) -> None:
    """The grounded prompt `ask` builds for the question, and the GGUF it runs, as JSON. Run in a
    child process: a parent that loaded the models would hand its memory high-water mark to every
    later child (Linux keeps ru_maxrss across fork and exec), and every peak would read as its own."""
    from benchmarks.generation import as_dicts, grounded_messages
    from nanoscale.config import Settings
    from nanoscale.models import resolve_model
    from nanoscale.resources import Resources

    settings = Settings.load()
    _, gguf = resolve_model(settings.model.preset, settings)
    resources = Resources.load(settings)  # also builds the knowledge base once, outside the timings
    messages = as_dicts(grounded_messages(resources, settings, QUESTION, {"region": REGION}))
    target.write_text(json.dumps({"gguf": str(gguf), "messages": messages}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="SmolLM2, one run, 16 new tokens")
    parser.add_argument(
        "--torch-embeddings", action="store_true", help="also time the answer with torch embeddings (the old path)"
    )
    parser.add_argument("--write-prompt", type=Path, help=argparse.SUPPRESS)  # the child's job
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if args.write_prompt:
        write_prompt(args.write_prompt)
        return 0
    from nanoscale.config import Settings

    model = "smollm2-135m" if args.smoke else args.model
    runs = 1 if args.smoke else args.runs
    env = {**os.environ, "NANOSCALE_MODEL_PRESET": model, "NANOSCALE_MODEL_DETERMINISTIC": "true"}
    if args.smoke:
        env["NANOSCALE_MODEL_MAX_NEW_TOKENS"] = "16"
    settings = Settings.load(env={k: v for k, v in env.items() if k.startswith("NANOSCALE_")})
    cli = [sys.executable, "-m", "nanoscale.cli", "ask", "--json"]
    names = ["needs_input", "answer", "anchor"] + (["answer_torch"] if args.torch_embeddings else [])
    samples: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        prompt = Path(tmp) / "messages.json"
        built = Path(tmp) / "prompt.json"
        subprocess.run([sys.executable, __file__, "--write-prompt", str(built)], env=env, check=True)
        job = json.loads(built.read_text())
        gguf = job["gguf"]
        prompt.write_text(json.dumps(job["messages"]))
        for run in range(runs + 1):  # the first round warms the page cache and is not kept
            seconds, peak, out = timed([*cli, QUESTION], env)
            assert json.loads(out)["status"] == "needs_input", out
            first = {"seconds": seconds, "peak_mb": peak}
            seconds, peak, out = timed([*cli, "--region", REGION, QUESTION], env)
            answer = json.loads(out)
            assert answer["status"] == "answer", out
            tokens = answer["generated_tokens"]
            second = {"seconds": seconds, "peak_mb": peak, "tokens": tokens}
            seconds, peak, out = timed(
                [sys.executable, "-c", ANCHOR, str(gguf), str(prompt), str(tokens),
                 str(settings.model.n_threads or os.cpu_count()), str(settings.model.n_ctx)], env)
            third = {"seconds": seconds, "peak_mb": peak, "tokens": json.loads(out)["tokens"]}
            taken = [first, second, third]
            if args.torch_embeddings:
                seconds, peak, out = timed(
                    [*cli, "--region", REGION, QUESTION], {**env, "NANOSCALE_RETRIEVAL_EMBEDDING_BACKEND": "torch"}
                )
                taken.append({"seconds": seconds, "peak_mb": peak, "tokens": json.loads(out)["generated_tokens"]})
            if run:
                for name, sample in zip(samples, taken, strict=True):
                    samples[name].append(sample)
            print(f"run {run}: needs_input {first['seconds']:.2f} s, answer {second['seconds']:.2f} s "
                  f"({tokens} tokens), anchor {third['seconds']:.2f} s ({third['tokens']} tokens)", file=sys.stderr)
    result = {
        name: {key: spread([s[key] for s in values]) for key in values[0]} for name, values in samples.items()
    }
    ratios = [a["seconds"] / b["seconds"] for a, b in zip(samples["answer"], samples["anchor"], strict=True)]
    result["answer_vs_anchor"] = spread(ratios)
    result["warm_needs_input"] = warm_needs_input(model, 5 if args.smoke else 50)
    # every child's peak is at least this (the high-water mark a fork inherits)
    result["parent_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    path = write_result("cold_start", {"model": model, "question": QUESTION, "runs": runs, **result}, args.out)
    print(json.dumps({k: v for k, v in result.items()}, indent=1))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
