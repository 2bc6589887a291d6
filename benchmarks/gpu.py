"""The generate node and LoRA training on one GPU: the transformers backend, vLLM, `nanoscale train`.

Issue #18's GPU part as one prepared script for one short lease of a GPU machine that has no
network and receives at most 64 MiB of working tree (benchmarks/GPU.md: the command, what travels).

The model is Qwen2.5-Coder-1.5B-Instruct's architecture and real tokenizer from the bundle that
benchmarks/gpu_bundle.py writes, with random weights initialised on the GPU: throughput, TTFT,
memory and training speed depend on the shapes, not on the weight values. Every request makes
exactly the asked number of new tokens (min = max new tokens, so an EOS cannot end it early), and
the count is checked. The tuned model (the LoRA merged into the weights) has the same shapes, so
its speed is the base's: it is not measured twice.

Parts, in order, each recorded as ran, not run, skipped (deadline) or failed, with the reason:
1. transformers: the project's backend (nanoscale.models.load_chat_model: ChatHuggingFace over
   HuggingFacePipeline, bf16 on CUDA), or a plain transformers pipeline when langchain-huggingface
   cannot be imported (the JSON says which ran). TTFT is the latency of a request for one new token;
   single-stream decode tokens/s over N greedy new tokens; 8 and 32 requests go as one static batch
   (left-padded, one generate call: static batching, not continuous batching) for aggregate
   tokens/s; peak GPU memory (torch.cuda.max_memory_allocated) of each.
2. training: `nanoscale train --preset gpu --max-steps S` on the random-weight model, through the
   CLI's own train parser and command: tokens/s, peak GPU memory, and the time to a tuned model
   extrapolated from the measured step rate to the preset's full run. The loss of random weights
   means nothing and is not reported.
3. vllm: vLLM's OpenAI server on the same folder, through the project's `openai` backend, measured
   the same way except that 8 and 32 requests are sent concurrently from threads (vLLM batches them
   continuously); not run when vllm is not installed.

A deadline (--budget seconds) skips what would overrun it; the JSON, and a Markdown summary beside
it, are rewritten after every part, so a killed run still leaves what it measured. --smoke runs
the same code on the CPU at a tiny size (a 2-layer Qwen2, fp32, 4 new tokens, 2 training steps,
its own bundle from the SmolLM2 preset unless --bundle is given), so the script is tested here.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RESULTS, spread, write_result  # noqa: E402
from benchmarks.gpu_bundle import DEFAULT_BUNDLE, PROMPTS_FILE, prepare, prompt_tokens  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PACKAGES = (
    "torch", "transformers", "peft", "accelerate", "trl", "datasets", "pyarrow", "fsspec",
    "langchain-core", "langchain-huggingface", "langchain-openai", "pydantic", "botocore", "vllm", "openai",
)
SAME_AS_BASE = (
    "the tuned model is the base with the LoRA merged into its weights: the same architecture and "
    "shapes, so its speed and memory are the base's (not measured twice)"
)


@dataclass(frozen=True)
class Sizes:
    """How much each part measures, and the seconds it keeps back for the parts after it."""

    new_tokens: int = 256
    ttft_runs: int = 3
    single_runs: int = 3
    levels: tuple[int, ...] = (8, 32)
    train_steps: int = 25  # the preset's eval_steps: evaluations take their full run's share
    tiny: bool = False
    keep_for_training_s: float = 120.0
    training_min_s: float = 60.0
    vllm_min_s: float = 90.0


FULL = Sizes()
SMOKE = Sizes(
    new_tokens=4, ttft_runs=2, single_runs=2, levels=(2, 4), train_steps=2, tiny=True,
    keep_for_training_s=0.0, training_min_s=0.0, vllm_min_s=0.0,
)

# The smoke's training knobs (environment settings under the gpu preset): the code path, not a size.
SMOKE_TRAINING = {"THREADS": "1", "MAX_TRAIN_EXAMPLES": "8", "MAX_EVAL_EXAMPLES": "2", "MAX_LENGTH": "768",
                  "BATCH_SIZE": "2", "GRAD_ACCUM": "1"}


class Clock:
    """The run's deadline, and progress lines that say how far into it we are."""

    def __init__(self, budget_s: float) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + budget_s

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {message}", flush=True)


# ---------------------------------------------------------------- the model and its memory


def tiny_config(config: Any) -> Any:
    """A 2-layer Qwen2 with the bundle's vocabulary: the smoke size, the same code paths."""
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=config.vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id,
        pad_token_id=getattr(config, "pad_token_id", None), tie_word_embeddings=config.tie_word_embeddings,
    )


def random_model(bundle: Path, folder: Path, device: str, tiny: bool) -> dict[str, Any]:
    """Save a model of the bundle's shape with seeded random weights (bf16 on CUDA) as an HF folder,
    which both the backend and `nanoscale train` load as they would any model folder."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config = AutoConfig.from_pretrained(bundle)
    if tiny:
        config = tiny_config(config)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    parameters = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(bundle).save_pretrained(folder)
    shutil.copy2(bundle / "generation_config.json", folder / "generation_config.json")
    del model
    free_memory()
    shape = ("model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
             "num_key_value_heads", "vocab_size", "tie_word_embeddings")
    return {
        "folder": str(folder),
        "parameters": parameters,
        "dtype": str(dtype).removeprefix("torch."),
        "config": {key: getattr(config, key, None) for key in shape},
    }


def free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class Memory:
    """Peak memory of one measurement: the torch allocator's on CUDA, the process's max RSS on a CPU
    (which never goes down, so there it is an upper bound across measurements)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.kind = "torch.cuda.max_memory_allocated, weights included" if device == "cuda" else "process max RSS (CPU)"

    def reset(self) -> None:
        import torch

        if self.device == "cuda":
            torch.cuda.reset_peak_memory_stats()

    def peak_gb(self) -> float:
        import torch

        if self.device == "cuda":
            return round(torch.cuda.max_memory_allocated() / 1e9, 2)
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)


class SmiMemory:
    """GPU memory in use (nvidia-smi) after a measurement: for a server in another process, such as
    vLLM, which allocates its KV cache up front (--gpu-memory-utilization)."""

    kind = "nvidia-smi memory.used after the run (vLLM pre-allocates its KV cache)"

    def reset(self) -> None:
        pass

    def peak_gb(self) -> float | None:
        used = nvidia_smi("memory.used")
        return round(float(used) / 1024, 2) if used else None


def nvidia_smi(field: str) -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else None


# ---------------------------------------------------------------- backends: one call, k requests


def backend_settings(backend: str, new_tokens: int, work: Path, **model: Any) -> Any:
    """Settings for one backend of the project, greedy, with every path in the work folder."""
    from nanoscale.config import Settings

    overrides = {"data_dir": str(work / "data"), "model.backend": backend, "model.max_new_tokens": new_tokens,
                 "model.deterministic": True, **{f"model.{key}": value for key, value in model.items()}}
    return Settings.load(overrides=overrides, env={})


def chat_messages(batch: list[list[dict[str, str]]]) -> list[list[Any]]:
    from langchain_core.messages import convert_to_messages

    return [convert_to_messages(messages) for messages in batch]


def count_new_tokens(model: Any) -> list[int]:
    """Wrap model.generate to record the new tokens of every call (rows x new columns), so each
    measurement checks it made what it asked for."""
    counts: list[int] = []
    original = model.generate

    def generate(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        prompt = kwargs.get("input_ids", args[0] if args else None)
        sequences = getattr(out, "sequences", out)
        counts.append(int(sequences.shape[0]) * int(sequences.shape[-1] - prompt.shape[-1]))
        return out

    model.generate = generate
    return counts


class PipelineBackend:
    """The transformers backend as the project builds it, or a plain pipeline without langchain."""

    def __init__(self, folder: Path, device: str, work: Path, use_langchain: bool = True) -> None:
        self.chat = None
        if use_langchain and importlib.util.find_spec("langchain_huggingface"):
            from nanoscale.models import load_chat_model

            self.chat = load_chat_model(backend_settings("transformers", 8, work, preset=str(folder)))
            self.pipe = self.chat.llm.pipeline
            self.path = "nanoscale.models.load_chat_model: ChatHuggingFace over HuggingFacePipeline"
        else:
            self.pipe = plain_pipeline(folder, device)
            why = "" if use_langchain else " (asked for)"
            self.path = f"transformers.pipeline('text-generation'), langchain-huggingface not used{why}"
        self.pipe.tokenizer.padding_side = "left"  # batched prompts end where generation starts
        self.counts = count_new_tokens(self.pipe.model)
        self.how_batched = "static batch: the k prompts left-padded into one generate call"

    def generate(self, batch: list[list[dict[str, str]]], new_tokens: int) -> dict[str, Any]:
        limits = {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens}
        self.counts.clear()
        started = time.perf_counter()
        if self.chat is not None and len(batch) == 1:
            self.chat.invoke(chat_messages(batch)[0], pipeline_kwargs=limits)
        elif self.chat is not None:
            prompts = [self.chat._to_chat_prompt(m) for m in chat_messages(batch)]
            self.chat.llm.batch_size = len(batch)  # HuggingFacePipeline's own chunking, else 4
            self.chat.llm.generate(prompts, pipeline_kwargs={**limits, "batch_size": len(batch)})
        else:
            template = self.pipe.tokenizer.apply_chat_template
            prompts = [template(m, tokenize=False, add_generation_prompt=True) for m in batch]
            self.pipe(prompts, batch_size=len(batch), **limits)
        return {"seconds": time.perf_counter() - started, "tokens": sum(self.counts), "requests": len(batch)}


def plain_pipeline(folder: Path, device: str) -> Any:
    """What nanoscale.models builds under HuggingFacePipeline, without langchain."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device)
    greedy = {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    return pipeline("text-generation", model=model, tokenizer=AutoTokenizer.from_pretrained(folder),
                    return_full_text=False, **greedy)


class OpenAIBackend:
    """An OpenAI-compatible server (vLLM) through the project's `openai` backend (ChatOpenAI)."""

    def __init__(self, base_url: str, model: str, work: Path) -> None:
        self.base_url, self.model, self.work = base_url, model, work
        self.path = "nanoscale.models.load_chat_model: ChatOpenAI (the project's openai backend)"
        self.how_batched = "k concurrent requests from k threads (the server batches them continuously)"

    def generate(self, batch: list[list[dict[str, str]]], new_tokens: int) -> dict[str, Any]:
        from nanoscale.models import load_chat_model

        settings = backend_settings(
            "openai", new_tokens, self.work, openai_base_url=self.base_url, openai_model=self.model
        )
        chat = load_chat_model(settings)
        extra = {"min_tokens": new_tokens, "ignore_eos": True}  # vLLM's sampling extras
        started = time.perf_counter()
        replies = chat.batch(chat_messages(batch), config={"max_concurrency": len(batch)}, extra_body=extra)
        seconds = time.perf_counter() - started
        tokens = sum((reply.usage_metadata or {}).get("output_tokens", 0) for reply in replies)
        return {"seconds": seconds, "tokens": tokens, "requests": len(batch)}


# ---------------------------------------------------------------- the measurements


def measure(
    backend: Any, prompts: list[list[dict[str, str]]], sizes: Sizes, clock: Clock, memory: Any, keep_s: float
) -> dict[str, Any]:
    """TTFT, single-stream decode and aggregate throughput at each level, the same for every backend."""
    backend.generate(prompts[:1], 2)  # warm-up: kernels, allocator, template
    memory.reset()
    ttft = [backend.generate(prompts[:1], 1) for _ in range(sizes.ttft_runs)]
    ttft_s = statistics.median(r["seconds"] for r in ttft)
    clock.say(f"  TTFT {ttft_s * 1000:.0f} ms (median of {len(ttft)})")
    single = [backend.generate(prompts[:1], sizes.new_tokens) for _ in range(sizes.single_runs)]
    decode = [(r["tokens"] - 1) / max(r["seconds"] - ttft_s, 1e-9) for r in single]
    clock.say(f"  single stream: {statistics.median(decode):.1f} tokens/s decode over {sizes.new_tokens} tokens")
    result: dict[str, Any] = {
        "ttft_s": spread([r["seconds"] for r in ttft]),
        "single_stream": {
            "new_tokens": sizes.new_tokens,
            "seconds": spread([r["seconds"] for r in single]),
            "decode_tokens_per_s": spread(decode),
            "end_to_end_tokens_per_s": spread([r["tokens"] / r["seconds"] for r in single]),
            "peak_memory_gb": memory.peak_gb(),
        },
        "tokens_as_asked": all(r["tokens"] == 1 for r in ttft) and all(r["tokens"] == sizes.new_tokens for r in single),
        "concurrent": {},
        "how_concurrent": backend.how_batched,
    }
    for level in sizes.levels:
        result["concurrent"][str(level)] = concurrent(backend, prompts, level, sizes, clock, memory, keep_s)
    return result


def concurrent(
    backend: Any, prompts: list, level: int, sizes: Sizes, clock: Clock, memory: Any, keep_s: float
) -> dict[str, Any]:
    """`level` different grounded prompts at once, N new tokens each: aggregate tokens/s."""
    if clock.left() < keep_s:
        return {"status": "skipped", "reason": f"deadline: {clock.left():.0f} s left, {keep_s:.0f} s kept for later parts"}
    batch = [prompts[i % len(prompts)] for i in range(level)]
    backend.generate(batch, 2)  # warm-up at this batch size
    memory.reset()
    run = backend.generate(batch, sizes.new_tokens)
    rate = run["tokens"] / run["seconds"]
    clock.say(f"  {level} requests: {rate:.0f} tokens/s aggregate, {run['seconds']:.1f} s")
    return {
        "status": "ran",
        "requests": level,
        "new_tokens_each": sizes.new_tokens,
        "tokens": run["tokens"],
        "tokens_as_asked": run["tokens"] == level * sizes.new_tokens,
        "seconds": round(run["seconds"], 3),
        "aggregate_tokens_per_s": round(rate, 1),
        "peak_memory_gb": memory.peak_gb(),
    }


def transformers_part(
    folder: Path, prompts: list, sizes: Sizes, clock: Clock, device: str, work: Path, use_langchain: bool
) -> dict[str, Any]:
    loaded = time.perf_counter()
    backend = PipelineBackend(folder, device, work, use_langchain)
    clock.say(f"transformers: loaded in {time.perf_counter() - loaded:.1f} s via {backend.path}")
    memory = Memory(device)
    result = measure(backend, prompts, sizes, clock, memory, sizes.keep_for_training_s)
    path = backend.path
    del backend
    free_memory()
    return {"path": path, "memory_measure": memory.kind, **result}


# ---------------------------------------------------------------- training through the CLI


def cli_train(argv: list[str]) -> int:
    """`nanoscale ARGV` for the train command, with the CLI's own parser and command function.

    nanoscale/cli/__init__.py imports every command module and with them faiss, a 19 MB wheel the
    GPU machine lacks and `train` never uses; so the package is registered without running that file.
    """
    from nanoscale.errors import NanoscaleError

    args = train_parser().parse_args(argv)
    try:
        return args.func(args)
    except NanoscaleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def train_parser() -> argparse.ArgumentParser:
    import importlib.machinery

    import nanoscale

    spec = importlib.machinery.ModuleSpec("nanoscale.cli", None, is_package=True)
    spec.submodule_search_locations = [str(Path(nanoscale.__file__).parent / "cli")]
    sys.modules.setdefault("nanoscale.cli", importlib.util.module_from_spec(spec))
    from nanoscale.cli import training

    parser = argparse.ArgumentParser(prog="nanoscale")
    training.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def training_part(folder: Path, bundle: Path, work: Path, sizes: Sizes, clock: Clock) -> dict[str, Any]:
    data_dir = work / "data"
    (data_dir / "cache").mkdir(parents=True, exist_ok=True)
    for catalog in bundle.glob("aws-catalog-*.json"):
        shutil.copy2(catalog, data_dir / "cache" / catalog.name)
    argv = ["train", "--preset", "gpu", "--base-model", str(folder), "--max-steps", str(sizes.train_steps),
            "--data-dir", str(data_dir), "--quiet"]
    if sizes.tiny:
        argv += ["--precision", "fp32"]  # bf16 autocast on a CPU is not what the smoke checks
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if sizes.tiny:  # one core and a few short examples: logits over a 150k vocabulary are slow on a CPU
        env.update({f"NANOSCALE_TRAINING_{key}": value for key, value in SMOKE_TRAINING.items()})
    log = work / "train.log"
    timeout = max(clock.left() - 10, 1)
    clock.say(f"training: nanoscale {' '.join(argv)} (at most {timeout:.0f} s)")
    started = time.perf_counter()
    try:
        with log.open("w") as out:
            code = subprocess.run([sys.executable, __file__, "--cli-train", *argv], cwd=REPO, env=env,
                                  stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        return {"status": "failed", "error": f"timed out after {timeout:.0f} s", "log_tail": tail(log)}
    wall = time.perf_counter() - started
    if code:
        return {"status": "failed", "error": f"exit {code}", "log_tail": tail(log)}
    run_dir = sorted((data_dir / "runs").glob("train-*"))[-1]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    record = json.loads((run_dir / "config.json").read_text())
    result = training_figures(record, metrics, wall)
    result["command"] = "nanoscale " + " ".join(argv)
    clock.say(f"  {result['steps']} steps, {result['tokens_per_s']} tokens/s, "
              f"full run ~{result['full_run']['extrapolated_total_s']:.0f} s (extrapolated)")
    return result


def training_figures(record: dict[str, Any], metrics: dict[str, Any], wall_s: float) -> dict[str, Any]:
    """What the run measured, and its full run (the preset's epochs over every training example)
    extrapolated from the measured seconds per optimizer step; the loss is left out on purpose."""
    config, data = record["settings"], record["data"]
    per_epoch = math.ceil(math.ceil(data["train"] / config["batch_size"]) / config["grad_accum"])
    full_steps = math.ceil(per_epoch * config["epochs"])
    per_step = metrics["seconds"] / metrics["steps"]
    fixed = wall_s - metrics["seconds"]
    return {
        "examples": {"train": data["train"], "eval": data["eval"], "dropped_too_long": data["dropped_too_long"]},
        "precision": record["precision"],
        "batch": {"size": config["batch_size"], "grad_accum": config["grad_accum"], "max_length": config["max_length"],
                  "gradient_checkpointing": config["gradient_checkpointing"]},
        "steps": metrics["steps"],
        "train_seconds": metrics["seconds"],
        "tokens_seen": metrics["tokens_seen"],
        "tokens_per_s": metrics["tokens_per_s"],
        "peak_gpu_memory_gb": metrics["peak_gpu_memory_gb"],
        "device": metrics["device"],
        "process_seconds": round(wall_s, 1),
        "full_run": {
            "steps": full_steps,
            "seconds_per_step": round(per_step, 3),
            "extrapolated_train_s": round(per_step * full_steps, 1),
            "extrapolated_total_s": round(fixed + per_step * full_steps, 1),
            "how": "extrapolated: measured seconds per optimizer step (evaluations included, every "
            "eval_steps as in the full run) x the full run's steps, plus this run's fixed cost "
            "(start-up, data preparation, final evaluation, saving)",
        },
        "loss": "not reported: random weights",
    }


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""


# ---------------------------------------------------------------- vLLM


def vllm_part(folder: Path, prompts: list, sizes: Sizes, clock: Clock, work: Path) -> dict[str, Any]:
    if importlib.util.find_spec("vllm") is None:
        return {"status": "not run", "reason": "not installed (vllm is not importable here)"}
    port, log = free_port(), work / "vllm.log"
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(folder),
               "--served-model-name", "local", "--host", "127.0.0.1", "--port", str(port),
               "--dtype", "bfloat16", "--max-model-len", "4096", "--gpu-memory-utilization", "0.5", "--seed", "0"]
    clock.say(f"vllm: starting its OpenAI server on port {port}")
    with log.open("w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        wait_ready(base_url, server, clock, log)
        backend = OpenAIBackend(base_url, "local", work)
        result = measure(backend, prompts, sizes, clock, SmiMemory(), 0.0)
        return {"path": backend.path, "server": " ".join(command[1:]), "memory_measure": SmiMemory.kind, **result}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def wait_ready(base_url: str, server: subprocess.Popen, clock: Clock, log: Path) -> None:
    """Poll /v1/models until the server answers; fail on its exit or at the deadline."""
    while clock.left() > 30:
        if server.poll() is not None:
            raise RuntimeError(f"the vLLM server exited {server.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise RuntimeError("the vLLM server was not ready before the deadline")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- the run and its record


def run_part(name: str, result: dict[str, Any], clock: Clock, need_s: float, part: Callable[[], dict]) -> None:
    """One part, recorded whatever happens: skipped before the deadline, failed with its error."""
    if clock.left() < need_s:
        result["parts"][name] = {"status": "skipped", "reason": f"deadline: {clock.left():.0f} s left, needs {need_s:.0f} s"}
        clock.say(f"{name}: skipped (deadline)")
        return
    started = time.perf_counter()
    try:
        outcome = part()
    except Exception as exc:  # noqa: BLE001 - recorded, and the next part still runs
        outcome = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:3000],
                   "traceback": traceback.format_exc()[-3000:]}
    outcome = {"status": "ran", **outcome, "part_seconds": round(time.perf_counter() - started, 1)}
    result["parts"][name] = outcome
    clock.say(f"{name}: {outcome['status']}" + (f" ({outcome.get('reason') or outcome.get('error')})"
                                                if outcome["status"] != "ran" else ""))


def device_facts(device: str) -> dict[str, Any]:
    import torch

    facts: dict[str, Any] = {"device": device, "torch_cuda": torch.version.cuda}
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        facts.update(name=props.name, memory_gb=round(props.total_memory / 1e9, 1),
                     capability=f"{props.major}.{props.minor}", multiprocessors=props.multi_processor_count,
                     driver=nvidia_smi("driver_version"))
    return facts


def packages() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def load_prompts(bundle: Path) -> list[list[dict[str, str]]]:
    return json.loads((bundle / PROMPTS_FILE).read_text())["messages"]


def smoke_bundle(work: Path, count: int) -> Path:
    """The smoke's own bundle, from the packaged SmolLM2 (its tokenizer; a tiny Qwen2 is trained)."""
    from nanoscale.config import Settings

    return prepare("smollm2-135m", work / "bundle", Settings.load(), count)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--cli-train"]:
        return cli_train(argv[1:])
    args = parse_args(argv)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # per-call generation notices drown the progress
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not args.smoke:
        print("error: no CUDA GPU here; --smoke runs the same code on the CPU at a tiny size", file=sys.stderr)
        return 2
    sizes = sizes_from(args)
    clock = Clock(args.budget)
    if device == "cpu":
        torch.set_num_threads(1)  # a smoke check, not a CPU benchmark: leave the other cores alone
    out = Path(args.out) if args.out else RESULTS / f"gpu-{time.strftime('%Y%m%d-%H%M%S')}.json"
    work = Path(tempfile.mkdtemp(prefix="nanoscale-gpu-"))
    result: dict[str, Any] = {
        "smoke": args.smoke, "sizes": asdict(sizes), "budget_s": args.budget, "device": device_facts(device),
        "packages": packages(), "parts": {}, "tuned": {"status": "not measured", "reason": SAME_AS_BASE},
    }
    clock.say(f"device: {result['device'].get('name', device)}; work folder {work}")
    try:
        bundle = Path(args.bundle) if args.bundle else (smoke_bundle(work, max(sizes.levels)) if args.smoke else DEFAULT_BUNDLE)
        if not (bundle / PROMPTS_FILE).is_file():
            print(f"error: no bundle at {bundle}; write it with `python benchmarks/gpu_bundle.py` on a machine "
                  "with the model and the knowledge base", file=sys.stderr)
            return 2
        prompts = load_prompts(bundle)
        result["bundle"] = bundle_facts(bundle, prompts)
        folder = work / "model"
        run_part("model", result, clock, 0, lambda: random_model(bundle, folder, device, sizes.tiny))
        save(result, out)
        if result["parts"]["model"]["status"] == "ran":
            parts(result, folder, bundle, prompts, sizes, clock, device, work, args, out)
        else:
            for name in ("transformers", "training", "vllm"):
                result["parts"][name] = {"status": "not run", "reason": "no model: the model part did not run"}
    finally:
        save(result, out)
        for log in work.glob("*.log") if args.logs else ():
            shutil.copy2(log, out.with_name(f"{out.stem}-{log.name}"))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    clock.say(f"written: {out} and {out.with_suffix('.md')}")
    return 0


def parts(result: dict, folder: Path, bundle: Path, prompts: list, sizes: Sizes, clock: Clock, device: str,
          work: Path, args: argparse.Namespace, out: Path) -> None:
    """The measured parts after the model exists, in order, each saved as soon as it is done."""
    plan: dict[str, tuple[float, Callable[[], dict]]] = {
        "transformers": (sizes.keep_for_training_s,
                         lambda: transformers_part(folder, prompts, sizes, clock, device, work, not args.no_langchain)),
        "training": (sizes.training_min_s, lambda: training_part(folder, bundle, work, sizes, clock)),
        "vllm": (sizes.vllm_min_s, lambda: vllm_part(folder, prompts, sizes, clock, work)),
    }
    chosen = args.parts.split(",")
    for name, (need_s, part) in plan.items():
        if name in chosen:
            run_part(name, result, clock, need_s, part)
        else:
            result["parts"][name] = {"status": "not run", "reason": "not asked for (--parts)"}
        save(result, out)


def bundle_facts(bundle: Path, prompts: list) -> dict[str, Any]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(bundle)
    facts = json.loads((bundle / "bundle.json").read_text())
    lengths = [prompt_tokens(tokenizer, p) for p in prompts]
    return {"path": str(bundle), "model": facts["model"], "source": facts["source"], "prompts": len(prompts),
            "prompt_tokens": {"single_stream": lengths[0], "median": statistics.median(lengths),
                              "min": min(lengths), "max": max(lengths)}}


def sizes_from(args: argparse.Namespace) -> Sizes:
    sizes = SMOKE if args.smoke else FULL
    if args.tokens:
        sizes = replace(sizes, new_tokens=args.tokens)
    if args.levels:
        sizes = replace(sizes, levels=tuple(int(n) for n in args.levels.split(",")))
    if args.train_steps:
        sizes = replace(sizes, train_steps=args.train_steps)
    return sizes


def save(result: dict[str, Any], out: Path) -> None:
    path = write_result("gpu", result, str(out))
    path.with_suffix(".md").write_text(summary(json.loads(path.read_text())))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", help=f"bundle folder (default {DEFAULT_BUNDLE.relative_to(REPO)})")
    parser.add_argument("--out", help="result JSON path (the Markdown summary goes beside it)")
    parser.add_argument("--budget", type=float, default=285.0, help="seconds before remaining parts are skipped")
    parser.add_argument("--tokens", type=int, help="new tokens per request (default 256)")
    parser.add_argument("--levels", help="comma list of concurrent requests (default 8,32)")
    parser.add_argument("--train-steps", type=int, help="optimizer steps of the training run (default 25)")
    parser.add_argument("--parts", default="transformers,training,vllm", help="comma list of parts to run")
    parser.add_argument("--no-langchain", action="store_true", help="a plain transformers pipeline instead")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (model, run, logs)")
    parser.add_argument("--logs", action="store_true", help="copy the training and vLLM logs beside --out")
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny model: checks the script")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- the Markdown summary


def summary(result: dict[str, Any]) -> str:
    """The JSON's figures for a person: what ran on what, what did not and why."""
    device, parts_ = result["device"], result["parts"]
    lines = [
        f"# GPU benchmark ({'smoke, CPU' if result['smoke'] else device.get('name', device['device'])})",
        "",
        f"{result['when']}; torch {result['packages']['torch']} (CUDA {device.get('torch_cuda')}), "
        f"transformers {result['packages']['transformers']}, trl {result['packages']['trl']}, "
        f"peft {result['packages']['peft']}; driver {device.get('driver')}.",
    ]
    if "bundle" in result:
        b = result["bundle"]
        lines.append(f"Model: the architecture and tokenizer of {b['model']} ({b['source']}) with random weights; "
                     f"{b['prompts']} grounded prompts of {b['prompt_tokens']['min']}-{b['prompt_tokens']['max']} tokens.")
    model = parts_.get("model", {})
    if model.get("status") == "ran":
        lines.append(f"{model['parameters'] / 1e9:.2f} B parameters in {model['dtype']}; {result['tuned']['reason']}.")
    lines += ["", "## Generation", "", *generation_table(result), "", "## Training", "", *training_lines(parts_)]
    lines += ["", "## Not run, skipped or failed", ""]
    missing = [(name, part) for name, part in parts_.items() if part.get("status") != "ran"]
    missing += [(f"{name} x{level}", entry) for name, part in parts_.items()
                for level, entry in (part.get("concurrent") or {}).items() if entry.get("status") != "ran"]
    lines += [f"- {name}: {p['status']}: {p.get('reason') or p.get('error')}" for name, p in missing] or ["- nothing"]
    return "\n".join(lines) + "\n"


def generation_table(result: dict[str, Any]) -> list[str]:
    levels = [str(n) for n in result["sizes"]["levels"]]
    rows = ["| backend | path | TTFT ms (median) | decode tokens/s, 1 stream | "
            + " | ".join(f"aggregate tokens/s, {n} requests" for n in levels) + " | peak memory GB |",
            "|---" * (5 + len(levels)) + "|"]
    for name in ("transformers", "vllm"):
        part = result["parts"].get(name, {})
        if part.get("status") != "ran":
            rows.append(f"| {name} | {part.get('status', 'not run')}: {part.get('reason') or part.get('error', '')} |")
            continue
        levels_cells = [part["concurrent"][n].get("aggregate_tokens_per_s", part["concurrent"][n]["status"]) for n in levels]
        peaks = [part["single_stream"]["peak_memory_gb"]] + [part["concurrent"][n].get("peak_memory_gb") for n in levels]
        rows.append(f"| {name} | {part['path']} | {part['ttft_s']['median'] * 1000:.0f} | "
                    f"{part['single_stream']['decode_tokens_per_s']['median']:.1f} | "
                    + " | ".join(str(c) for c in levels_cells) + f" | {max(p for p in peaks if p is not None)} |")
    rows += ["", f"{result['sizes']['new_tokens']} new tokens per request, greedy, exactly that many. TTFT: a "
             "request for one new token. Concurrency: transformers as one static batch (left-padded, one generate "
             "call), vLLM as concurrent requests from threads. Memory: "
             + "; ".join(f"{n}: {result['parts'][n]['memory_measure']}" for n in ("transformers", "vllm")
                         if result["parts"].get(n, {}).get("status") == "ran") + "."]
    return rows


def training_lines(parts_: dict[str, Any]) -> list[str]:
    part = parts_.get("training", {})
    if part.get("status") != "ran":
        return [f"{part.get('status', 'not run')}: {part.get('reason') or part.get('error', '')}"]
    full = part["full_run"]
    return [
        f"`{part['command']}` on {part['device']}, {part['precision']}: {part['examples']['train']} training "
        f"examples ({part['examples']['eval']} held out, {part['examples']['dropped_too_long']} too long).",
        f"{part['steps']} optimizer steps in {part['train_seconds']} s: {part['tokens_per_s']} tokens/s, "
        f"peak GPU memory {part['peak_gpu_memory_gb'] or 'n/a (CPU)'} GB; the process took {part['process_seconds']} s.",
        f"Time to a tuned model, extrapolated: {full['steps']} steps x {full['seconds_per_step']} s = "
        f"{full['extrapolated_train_s']} s of training, {full['extrapolated_total_s']} s in all. Loss: {part['loss']}.",
    ]


if __name__ == "__main__":
    sys.exit(main())
