"""LoRA supervised fine-tuning with TRL's SFTTrainer and PEFT.

One run lives in <data dir>/runs/train-<id>/: config.json, the data split, checkpoints/,
adapter/, metrics.json, loss.png and report.md. The steps, in order:

1. validate the instruction file (nothing is loaded when a line is bad);
2. split it (seeded, stratified), render every example in the graph's own prompt layout;
3. load the base model (a packaged GGUF is dequantized to fp32 first) and drop examples longer
   than max_length rather than cutting off their answers;
4. train the adapter, the loss on the answer tokens only, evaluating on the held-out split
   (nanoscale/training/fit.py, which can run on another machine);
5. save the adapter and write the report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nanoscale.config import Settings, TrainingSettings
from nanoscale.errors import InputError
from nanoscale.jsonl import write_jsonl
from nanoscale.models import hf_folder_from_gguf, resolve_model
from nanoscale.training.dataset import Example, load_examples, split, stats
from nanoscale.training.fit import EVAL_FILE, HISTORY_FILE, TRAIN_FILE, fit, precision_for
from nanoscale.training.runs import CONFIG_FILE, new_run_dir


@dataclass
class BaseModel:
    folder: Path  # an HF folder the trainer loads
    gguf: Path | None  # the GGUF it came from, if any (export-gguf reuses its metadata)
    note: str


def resolve_base(name: str, settings: Settings) -> BaseModel:
    kind, path = resolve_model(name, settings)
    if kind == "gguf":
        note = f"dequantized to fp32 from the packaged GGUF `{path.name}` (not the original bf16 weights)"
        return BaseModel(hf_folder_from_gguf(path, settings), path, note)
    return BaseModel(path, None, f"Hugging Face folder `{path}`")


def _fits(examples: list[Example], tokenizer: Any, max_length: int) -> tuple[list[dict], int]:
    """Rendered records whose prompt + answer fit max_length, and the total token count kept."""
    kept, tokens = [], 0
    for example in examples:
        record = example.record()
        ids = tokenizer.apply_chat_template(record["prompt"] + record["completion"], tokenize=True)
        length = len(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
        if length <= max_length:
            kept.append(record)
            tokens += length
    return kept, tokens


def prepare(config: TrainingSettings, settings: Settings, run_dir: Path | None = None) -> Path:
    """Validate, split and render the examples into a run folder (config.json, train.jsonl,
    eval.jsonl): everything `fit` needs, so it can run on another machine. The folder (new unless
    given) is made only once the data are valid. Returns it."""
    examples = load_examples(config.data_path(), settings.cache_dir)
    train_set, held_out = split(examples, config.eval_fraction, config.seed)
    if config.max_train_examples:
        train_set = train_set[: config.max_train_examples]
    if config.max_eval_examples:
        held_out = held_out[: config.max_eval_examples]

    from transformers import AutoTokenizer

    base = resolve_base(config.base_model, settings)
    tokenizer = AutoTokenizer.from_pretrained(base.folder)
    train_records, train_tokens = _fits(train_set, tokenizer, config.max_length)
    eval_records, _ = _fits(held_out, tokenizer, config.max_length)
    if not train_records:
        raise InputError(f"no training example fits max_length={config.max_length} tokens")
    record = {
        "settings": asdict(config),
        "base_folder": str(base.folder),
        "base_gguf": str(base.gguf) if base.gguf else None,
        "base_note": base.note,
        "precision": precision_for(config.precision),
        "data": {
            **stats(examples),
            "train": len(train_records),
            "eval": len(eval_records),
            "dropped_too_long": len(train_set) + len(held_out) - len(train_records) - len(eval_records),
            "train_tokens_per_epoch": train_tokens,
        },
    }
    run_dir = run_dir or new_run_dir(settings)
    (run_dir / CONFIG_FILE).write_text(json.dumps(record, indent=2))
    for name, records in ((TRAIN_FILE, train_records), (EVAL_FILE, eval_records)):
        write_jsonl(run_dir / name, records)
    return run_dir


def finish(run_dir: Path, settings: Settings) -> Path:
    """The loss curve and report.md of a fitted run (fitted here or on another machine)."""
    from nanoscale.training.report import LossHistory, write_report

    if not (run_dir / "metrics.json").is_file():
        raise InputError(f"{run_dir} has not been fitted yet (no metrics.json)")
    record = json.loads((run_dir / CONFIG_FILE).read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if "precision" in metrics:  # the machine that fitted it decided
        record["precision"] = metrics["precision"]
        (run_dir / CONFIG_FILE).write_text(json.dumps(record, indent=2))
    history = LossHistory.from_log(json.loads((run_dir / HISTORY_FILE).read_text()))
    history.plot(run_dir / "loss.png")
    return write_report(run_dir, record, metrics, settings)


def train(
    config: TrainingSettings, settings: Settings, resume: Path | None = None, progress: bool = True
) -> Path:
    """Run (or resume) one LoRA fine-tune on this machine; returns the run folder."""
    run_dir = prepare(config, settings, resume)
    fit(run_dir, settings, resume=resume is not None, progress=progress)
    finish(run_dir, settings)
    return run_dir
