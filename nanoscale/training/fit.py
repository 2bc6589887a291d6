"""The training step alone: fit a LoRA adapter on a prepared run folder.

`nanoscale train` prepares a run (validated, split and rendered examples in train.jsonl and
eval.jsonl, settings in config.json), fits it here, then writes the report. This module imports
only torch, transformers, peft, trl, datasets and the project's settings, so a prepared run can be
fitted on a GPU machine that has none of the rest of the stack (no LangChain, no botocore):

    nanoscale train --prepare-only                      # here: prints the run folder
    python -m nanoscale.training.fit RUN --base X.gguf  # there: writes adapter/, metrics.json
    nanoscale train --finish RUN                        # here again: loss.png and report.md
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

from nanoscale.config import Settings
from nanoscale.errors import InputError, NanoscaleError
from nanoscale.training.runs import CONFIG_FILE, settings_of

TRAIN_FILE = "train.jsonl"
EVAL_FILE = "eval.jsonl"
HISTORY_FILE = "history.json"


def read_records(path: Path) -> list[dict[str, Any]]:
    """Prompt/completion records as prepare wrote them (one JSON object per line)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def precision_for(requested: str) -> str:
    """bf16 on a GPU that has it or a CPU with AMX, else fp32; an explicit choice wins."""
    import torch

    from nanoscale.models import cpu_has_amx

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_amx() else "fp32"


def base_folder(base: str | None, record: dict[str, Any], settings: Settings) -> Path:
    """The HF folder to train on: the one prepare resolved, or a .gguf/folder given on this machine."""
    from nanoscale.models import hf_folder_from_gguf

    if not base:
        return Path(record["base_folder"])
    path = Path(base).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return hf_folder_from_gguf(path, settings)
    if (path / "config.json").is_file():
        return path
    raise InputError(f"--base {base}: neither a .gguf file nor a Hugging Face folder with config.json")


def time_limit(minutes: float) -> Any:
    """A trainer callback that ends training (adapter saved, final evaluation run) after `minutes`
    of wall time: a lent GPU has a fixed lease, and a finished short run beats a lost long one."""
    from transformers import TrainerCallback

    class TimeLimit(TrainerCallback):
        def __init__(self) -> None:
            self.deadline = time.monotonic() + minutes * 60

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if time.monotonic() >= self.deadline:
                control.should_training_stop = True
            return control

    return TimeLimit()


class TrainingDiverged(InputError):
    """The loss or gradient norm became NaN/inf: the adapter would be garbage, so none is saved."""


def divergence_guard() -> Any:
    """A trainer callback that stops at the first logged NaN/inf loss or gradient norm and
    remembers the step, so a diverged run ends in minutes with an error instead of a NaN adapter."""
    from transformers import TrainerCallback

    class DivergenceGuard(TrainerCallback):
        def __init__(self) -> None:
            self.step: int | None = None

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> Any:
            values = [(logs or {}).get(key) for key in ("loss", "grad_norm")]
            if self.step is None and any(isinstance(v, float) and not math.isfinite(v) for v in values):
                self.step = state.global_step
                control.should_training_stop = True
            return control

    return DivergenceGuard()


def fit(
    run_dir: Path,
    settings: Settings,
    base: str | None = None,
    resume: bool = False,
    progress: bool = True,
    max_minutes: float | None = None,
) -> dict[str, Any]:
    """Train the adapter of a prepared run; writes adapter/, metrics.json and history.json."""
    record = json.loads((run_dir / CONFIG_FILE).read_text())
    config = settings_of(run_dir)
    train_records = read_records(run_dir / TRAIN_FILE)
    eval_records = read_records(run_dir / EVAL_FILE)
    if not train_records:
        raise InputError(f"{run_dir / TRAIN_FILE} is missing or empty: prepare the run first")

    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import SFTConfig, SFTTrainer

    if config.threads:
        torch.set_num_threads(config.threads)
    set_seed(config.seed)
    folder = base_folder(base, record, settings)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    precision = precision_for(config.precision)
    # fp32 master weights; precision bf16 means bf16 autocast (Trainer's mixed precision)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
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
        logging_nan_inf_filter=False,  # a NaN loss is logged as NaN, so the guard sees it
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
        callbacks=[guard := divergence_guard(), *([time_limit(max_minutes)] if max_minutes else [])],
    )
    checkpoint = last_checkpoint(run_dir) if resume else None
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    seconds = time.perf_counter() - started
    (run_dir / HISTORY_FILE).write_text(json.dumps(trainer.state.log_history, indent=1))
    if guard.step is not None:
        raise TrainingDiverged(
            f"training diverged: NaN/inf loss or gradient norm logged at step {guard.step}; no adapter "
            f"saved (the log is in {run_dir / HISTORY_FILE}). Try a lower learning rate, precision fp32, "
            "or another attention implementation"
        )
    final_eval = trainer.evaluate() if eval_records else {}

    trainer.model.save_pretrained(run_dir / "adapter")
    tokenizer.save_pretrained(run_dir / "adapter")
    log = trainer.state.log_history
    (run_dir / HISTORY_FILE).write_text(json.dumps(log, indent=1))
    eval_losses = [entry["eval_loss"] for entry in log if "eval_loss" in entry]
    tokens_seen = int(trainer.state.num_input_tokens_seen or 0)
    metrics = {
        "train_loss": result.training_loss,
        "eval_loss_before": eval_losses[0] if eval_losses else None,
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
        "host": platform.processor() or platform.machine(),  # the machine that fitted, not the reporter
        "precision": precision,
        "stopped_by_time_limit": bool(max_minutes) and trainer.state.global_step < trainer.state.max_steps,
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def last_checkpoint(run_dir: Path) -> Path | None:
    checkpoints = sorted(
        (run_dir / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[-1])
    )
    return checkpoints[-1] if checkpoints else None


def positive_minutes(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of minutes, not {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit the LoRA adapter of a prepared run folder.")
    parser.add_argument("run", type=Path, help="a folder written by `nanoscale train --prepare-only`")
    parser.add_argument("--base", help="the base model on this machine: a .gguf file or an HF folder")
    parser.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    parser.add_argument(
        "--max-minutes", type=positive_minutes, help="stop training after this much wall time"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if not (args.run / CONFIG_FILE).is_file():
        parser.error(f"{args.run} is not a prepared run (no {CONFIG_FILE})")
    try:
        metrics = fit(args.run, Settings.load(), args.base, args.resume, not args.quiet, args.max_minutes)
    except NanoscaleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
