"""LoRA supervised fine-tuning with TRL's SFTTrainer and PEFT.

One run lives in <data dir>/runs/train-<id>/: config.json, the data split, checkpoints/,
adapter/, metrics.json, loss.png and report.md. The steps, in order:

1. validate the instruction file (nothing is loaded when a line is bad);
2. split it (seeded, stratified), render every example in the graph's own prompt layout;
3. load the base model (a packaged GGUF is dequantized to fp32 first) and drop examples longer
   than max_length rather than cutting off their answers;
4. train the adapter, the loss on the answer tokens only, evaluating on the held-out split;
5. save the adapter and write the report.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nanoscale.config import Settings, TrainingSettings
from nanoscale.errors import InputError
from nanoscale.models import cpu_has_amx, hf_folder_from_gguf, resolve_model
from nanoscale.training.dataset import Example, load_examples, split, stats
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


def _precision(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_amx() else "fp32"


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


def train(
    config: TrainingSettings, settings: Settings, resume: Path | None = None, progress: bool = True
) -> Path:
    """Run (or resume) one LoRA fine-tune; returns the run folder."""
    examples = load_examples(config.data_path(), settings.cache_dir)
    train_set, held_out = split(examples, config.eval_fraction, config.seed)
    if config.max_train_examples:
        train_set = train_set[: config.max_train_examples]
    if config.max_eval_examples:
        held_out = held_out[: config.max_eval_examples]

    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import SFTConfig, SFTTrainer

    from nanoscale.training.report import LossHistory, write_report

    if config.threads:
        torch.set_num_threads(config.threads)
    set_seed(config.seed)
    base = resolve_base(config.base_model, settings)
    run_dir = resume or new_run_dir(settings)
    tokenizer = AutoTokenizer.from_pretrained(base.folder)
    train_records, train_tokens = _fits(train_set, tokenizer, config.max_length)
    eval_records, _ = _fits(held_out, tokenizer, config.max_length)
    if not train_records:
        raise InputError(f"no training example fits max_length={config.max_length} tokens")
    precision = _precision(config.precision)
    record = {
        "settings": asdict(config),
        "base_folder": str(base.folder),
        "base_gguf": str(base.gguf) if base.gguf else None,
        "base_note": base.note,
        "precision": precision,
        "data": {
            **stats(examples),
            "train": len(train_records),
            "eval": len(eval_records),
            "dropped_too_long": len(train_set) + len(held_out) - len(train_records) - len(eval_records),
            "train_tokens_per_epoch": train_tokens,
        },
    }
    (run_dir / CONFIG_FILE).write_text(json.dumps(record, indent=2))

    model = AutoModelForCausalLM.from_pretrained(
        base.folder,
        dtype=torch.bfloat16 if precision == "bf16" and torch.cuda.is_available() else torch.float32,
    )
    lora = config.lora
    peft_config = LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )
    args = SFTConfig(
        output_dir=str(run_dir / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        max_length=config.max_length,
        completion_only_loss=True,
        packing=False,
        bf16=precision == "bf16",
        gradient_checkpointing=config.gradient_checkpointing,
        eval_strategy="steps" if eval_records else "no",
        eval_steps=config.eval_steps,
        eval_on_start=bool(eval_records),
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        data_seed=config.seed,
        include_num_input_tokens_seen="non_padding",
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=not progress,
        report_to="none",
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(train_records),
        eval_dataset=Dataset.from_list(eval_records) if eval_records else None,
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    checkpoint = _last_checkpoint(run_dir) if resume else None
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    seconds = time.perf_counter() - started
    final_eval = trainer.evaluate() if eval_records else {}

    trainer.model.save_pretrained(run_dir / "adapter")
    tokenizer.save_pretrained(run_dir / "adapter")
    history = LossHistory.from_log(trainer.state.log_history)
    tokens_seen = int(trainer.state.num_input_tokens_seen or 0)
    metrics = {
        "train_loss": result.training_loss,
        "eval_loss_before": history.eval_loss[0][1] if history.eval_loss else None,
        "eval_loss_after": final_eval.get("eval_loss"),
        "steps": trainer.state.global_step,
        "seconds": round(seconds, 1),
        "resumed_from": checkpoint.name if checkpoint else None,
        "tokens_seen": tokens_seen,
        "tokens_per_s": round(tokens_seen / seconds, 1) if seconds and tokens_seen else None,
        "peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2)
        if torch.cuda.is_available()
        else None,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    history.plot(run_dir / "loss.png")
    write_report(run_dir, record, metrics, settings)
    return run_dir


def _last_checkpoint(run_dir: Path) -> Path | None:
    checkpoints = sorted(
        (run_dir / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[-1])
    )
    return checkpoints[-1] if checkpoints else None
