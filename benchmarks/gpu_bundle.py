"""The GPU benchmark's bundle: a model's architecture, tokenizer and prompts, without its weights.

A GPU machine lent here has no network and receives at most 64 MiB of working tree, so the 1.1 GB
GGUF of Qwen2.5-Coder-1.5B-Instruct cannot go there. Speed and memory depend on the shapes, not on
the weight values, so the bundle holds what does decide them: config.json as transformers reads it
from the GGUF (the config the project's own GGUF -> Hugging Face conversion gives `--backend
transformers` and `nanoscale train`), the real tokenizer extracted from the GGUF, and the prompts
the generate node would send for a fixed set of questions (retrieved from the project's knowledge
base here, within the configured context budget). benchmarks/gpu.py initialises random weights of
that shape on the GPU. About 12 MB; it lands in the git-ignored .gpu/:

    PYTHONPATH=. python benchmarks/gpu_bundle.py [--model qwen2.5-coder-1.5b] [--out .gpu/qwen2.5-coder-1.5b]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "benchmarks" / "questions" / "project.jsonl"
DEFAULT_BUNDLE = REPO / ".gpu" / "qwen2.5-coder-1.5b"
PROMPTS_FILE = "prompts.json"
BUNDLE_FILE = "bundle.json"


def questions(count: int) -> list[str]:
    """The first `count` retrieval-benchmark questions: fixed, so every run asks the same."""
    lines = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [line["question"] for line in lines[:count]]


def grounded_prompts(settings: Any, tokenizer: Any, count: int) -> list[list[dict[str, str]]]:
    """The generate node's messages for each question: retrieved sections in the context budget,
    counted with the bundle's own tokenizer (no chat model is loaded)."""
    from benchmarks.generation import as_dicts, grounded_messages
    from nanoscale.models import load_embeddings
    from nanoscale.resources import Resources
    from nanoscale.retrievers.retriever import KnowledgeBaseRetriever

    retriever = KnowledgeBaseRetriever.from_settings(settings, load_embeddings(settings))
    resources = Resources(
        chat_model=None,  # type: ignore[arg-type]  # grounded_messages reads the retriever and counter only
        retriever=retriever,
        embed=None,
        count_tokens=lambda text: len(tokenizer.encode(text, add_special_tokens=False)),
    )
    return [as_dicts(grounded_messages(resources, settings, q, {})) for q in questions(count)]


def prompt_tokens(tokenizer: Any, messages: list[dict[str, str]]) -> int:
    """Tokens of the rendered chat prompt, generation header included: what prefill processes."""
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return len(tokenizer.encode(text, add_special_tokens=False))


def prepare(model: str, out: Path, settings: Any, count: int = 32) -> Path:
    """Write the bundle for a preset or .gguf into `out` (replacing it) and return `out`."""
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    from nanoscale.models import resolve_model

    kind, path = resolve_model(model, settings)
    source = {"folder": path.parent, "gguf_file": path.name} if kind == "gguf" else {"folder": path}
    folder, gguf_file = source["folder"], source.get("gguf_file")
    config = AutoConfig.from_pretrained(folder, gguf_file=gguf_file)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    config.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=tokenizer.pad_token_id
    ).save_pretrained(tmp)
    prompts = grounded_prompts(settings, tokenizer, count)
    lengths = [prompt_tokens(tokenizer, p) for p in prompts]
    (tmp / PROMPTS_FILE).write_text(json.dumps({"questions": questions(count), "messages": prompts}, indent=1))
    for catalog in settings.cache_dir.glob("aws-catalog-*.json"):  # spares the training step its rebuild
        shutil.copy2(catalog, tmp / catalog.name)
    facts = {
        "model": model,
        "source": path.name,
        "source_bytes": path.stat().st_size if path.is_file() else None,
        "architecture": config.model_type,
        "tie_word_embeddings": bool(config.tie_word_embeddings),  # a GGUF holding output.weight: untied
        "prompt_tokens": lengths,
        "weights": "none: benchmarks/gpu.py initialises random weights of this shape",
        "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (tmp / BUNDLE_FILE).write_text(json.dumps(facts, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b", help="preset or .gguf whose shape to bundle")
    parser.add_argument("--out", default=str(DEFAULT_BUNDLE))
    parser.add_argument("--prompts", type=int, default=32, help="grounded prompts (the largest concurrency)")
    args = parser.parse_args(argv)
    from nanoscale.config import Settings

    started = time.perf_counter()
    out = prepare(args.model, Path(args.out), Settings.load(), args.prompts)
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(f"bundle: {out} ({size:.1f} MB) in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
