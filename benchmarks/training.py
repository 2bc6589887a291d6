"""LoRA SFT throughput: the project's trainer against a plain PEFT + transformers Trainer baseline.

Both train the same LoRA (r=16, all linear layers) on the same rendered instruction examples, one
example per step, for --steps timed steps after one warm-up step. "ours" is nanoscale's setup
(TRL SFTTrainer, answer-only loss, precision auto: bf16 autocast on a CPU with bf16 units or a
GPU); "plain" is get_peft_model + Trainer in fp32 with a causal-LM collator. Weights are randomly
initialised from the model's config (throughput does not depend on their values, and no
conversion or download is needed); on a GPU the model is held in bf16. Reports tokens/s
(non-padding tokens over step time) and peak GPU memory where there is a GPU.
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


def model_config(name: str, settings: Any) -> Any:
    from transformers import AutoConfig

    from nanoscale.models import resolve_model

    kind, path = resolve_model(name, settings)
    if kind == "gguf":
        return AutoConfig.from_pretrained(path.parent, gguf_file=path.name)
    return AutoConfig.from_pretrained(path)


def step_timer() -> Any:
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.marks: list[tuple[float, int]] = []

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if not self.marks:
                self.marks.append((time.perf_counter(), int(state.num_input_tokens_seen or 0)))

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.marks.append((time.perf_counter(), int(state.num_input_tokens_seen or 0)))

        def rates(self) -> list[float]:
            pairs = zip(self.marks[1:], self.marks[2:], strict=False)  # the first step is warm-up
            return [(t1 - t0) and (n1 - n0) / (t1 - t0) for (t0, n0), (t1, n1) in pairs]

    return StepTimer()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b", help="preset whose architecture is trained")
    parser.add_argument("--steps", type=int, default=5, help="timed steps (after one warm-up step)")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--smoke", action="store_true", help="SmolLM2-sized, 2 steps: checks the script")
    parser.add_argument("--out", help="result JSON path")
    args = parser.parse_args()
    if args.smoke:
        args.model, args.steps = "smollm2-135m", 2

    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainingArguments,
    )
    from trl import SFTConfig, SFTTrainer

    from nanoscale.config import Settings
    from nanoscale.models import cpu_has_amx, hf_folder_from_gguf, resolve_model
    from nanoscale.training.dataset import load_examples

    settings = Settings.load()
    cuda = torch.cuda.is_available()
    bf16 = (cuda and torch.cuda.is_bf16_supported()) or (not cuda and cpu_has_amx())
    config = model_config(args.model, settings)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    kind, path = resolve_model("smollm2-135m" if args.smoke else args.model, settings)
    tokenizer = (
        AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        if kind == "gguf"
        else (AutoTokenizer.from_pretrained(hf_folder_from_gguf(path, settings)))
    )
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    records = []
    for example in load_examples(settings.training.data_path(), settings.cache_dir):
        record = example.record()
        ids = tokenizer.apply_chat_template(
            record["prompt"] + record["completion"], tokenize=True, return_dict=True
        )
        if len(ids["input_ids"]) <= args.max_length:
            records.append(record)
        if len(records) > args.steps:
            break
    if len(records) <= args.steps:
        raise SystemExit(f"only {len(records)} examples fit in --max-length {args.max_length}; raise it")
    lora = LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"
    )
    common = {
        "per_device_train_batch_size": 1,
        "max_steps": args.steps + 1,
        "learning_rate": 1e-4,
        "logging_steps": 1000,
        "save_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
        "include_num_input_tokens_seen": "non_padding",
        "use_cpu": not cuda,
        "seed": 0,
    }
    dtype = torch.bfloat16 if cuda and bf16 else torch.float32

    def fresh_model() -> Any:
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
        return model.to("cuda") if cuda else model

    results: dict[str, Any] = {}
    for name in ("ours", "plain"):
        timer = step_timer()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        if name == "ours":
            trainer = SFTTrainer(
                model=fresh_model(),
                args=SFTConfig(
                    output_dir="/tmp/nanoscale-bench-sft",
                    max_length=args.max_length,
                    bf16=bf16,
                    gradient_checkpointing=False,
                    completion_only_loss=True,
                    **common,
                ),
                train_dataset=Dataset.from_list(records),
                processing_class=tokenizer,
                peft_config=lora,
                callbacks=[timer],
            )
        else:
            texts = [
                tokenizer.apply_chat_template(r["prompt"] + r["completion"], tokenize=False) for r in records
            ]
            tokenized = Dataset.from_dict({"text": texts}).map(
                lambda batch: tokenizer(batch["text"], truncation=True, max_length=args.max_length),
                batched=True,
                remove_columns=["text"],
            )
            trainer = Trainer(
                model=get_peft_model(fresh_model(), lora),
                args=TrainingArguments(output_dir="/tmp/nanoscale-bench-plain", bf16=cuda and bf16, **common),
                train_dataset=tokenized,
                data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
                callbacks=[timer],
            )
        trainer.train()
        rates = timer.rates()
        results[name] = {
            "tokens_per_s": spread(rates),
            "precision": ("bf16" if bf16 else "fp32")
            if name == "ours"
            else ("bf16" if cuda and bf16 else "fp32"),
            "peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2) if cuda else None,
        }
        print(f"{name:>6}: {results[name]['tokens_per_s']['median']:.1f} tokens/s", file=sys.stderr)
        del trainer
    ratio = round(results["ours"]["tokens_per_s"]["median"] / results["plain"]["tokens_per_s"]["median"], 2)
    device = torch.cuda.get_device_name(0) if cuda else f"cpu ({os.cpu_count()} threads)"
    path = write_result(
        "training",
        {
            "model_architecture": args.model,
            "weights": "random init from the model config",
            "device": device,
            "max_length": args.max_length,
            "steps": args.steps,
            "results": results,
            "ours/plain": ratio,
        },
        args.out,
    )
    print(f"ours/plain tokens/s: {ratio} on {device}\nwrote {path}")


if __name__ == "__main__":
    main()
