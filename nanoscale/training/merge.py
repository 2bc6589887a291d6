"""Fold a run's LoRA adapter into its base model and save a standard Hugging Face folder.

The folder (safetensors, tokenizer, chat template, model card) is what the transformers backend
loads as `--model tuned`, what `export-gguf` converts, and what could be published as it is.
`nanoscale.json` in it records where it came from, so export-gguf can find the base GGUF.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from nanoscale.config import Settings
from nanoscale.errors import InputError
from nanoscale.training.runs import CONFIG_FILE, PROVENANCE


def merge(run_dir: Path, out: Path, settings: Settings) -> Path:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = run_dir / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        raise InputError(
            f"{run_dir} has no finished adapter (adapter/adapter_config.json); train it to the end or --resume it"
        )
    record = json.loads((run_dir / CONFIG_FILE).read_text())
    base = AutoModelForCausalLM.from_pretrained(record["base_folder"], dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    tokenizer = AutoTokenizer.from_pretrained(adapter)

    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    provenance = {
        "run": run_dir.name,
        "base_model": record["settings"]["base_model"],
        "base_gguf": record["base_gguf"],
        "base_note": record["base_note"],
    }
    (tmp / PROVENANCE).write_text(json.dumps(provenance, indent=2))
    (tmp / "README.md").write_text(model_card(run_dir, record, settings))
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, out)
    return out


def model_card(run_dir: Path, record: dict[str, Any], settings: Settings) -> str:
    """A Hugging Face model card: front matter, provenance, data, and the run's figures."""
    from nanoscale.training.report import eval_table, latest_tuned_eval

    config = record["settings"]
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    base_id = {
        "qwen2.5-coder-1.5b": "Qwen/Qwen2.5-Coder-1.5B-Instruct",
        "qwen2.5-coder-0.5b": "Qwen/Qwen2.5-Coder-0.5B-Instruct",
        "smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct",
    }.get(config["base_model"], config["base_model"])
    data = record["data"]
    lines = [
        "---",
        "license: apache-2.0",
        f"base_model: {base_id}",
        "library_name: transformers",
        "pipeline_tag: text-generation",
        "tags: [devops, troubleshooting, lora, rag, opennanoscalellm]",
        "datasets: [opennanoscalellm/instructions]",
        "---",
        "",
        "# OpenNanoScaleLLM tuned model",
        "",
        f"{base_id} with a LoRA adapter merged in, trained by `nanoscale train` (run `{run_dir.name}`) on the "
        "project's own DevOps troubleshooting instruction set. The base weights were "
        f"{record['base_note']}.",
        "",
        "It is trained to answer from numbered context and cite it as [n], to say when the context does not "
        "cover a question, and to ask for a missing AWS region, log excerpt or API detail.",
        "",
        "## Training",
        "",
        f"- Data: {data['train']} train / {data['eval']} held-out examples "
        f"({data['with_context']} of {data['examples']} with retrieved context, {data['tool_aware']} tool-aware).",
        f"- LoRA r={config['lora']['r']}, alpha={config['lora']['alpha']}, lr {config['learning_rate']}, "
        f"epochs {config['epochs']}, max length {config['max_length']}, seed {config['seed']}.",
    ]
    if metrics:
        lines.append(
            f"- Held-out loss {metrics.get('eval_loss_before')} -> {metrics.get('eval_loss_after')} in "
            f"{metrics.get('steps')} steps, {metrics.get('seconds')} s on {metrics.get('device')}."
        )
    lines += ["", "## Evaluation", ""]
    tuned = latest_tuned_eval(settings)
    lines += (
        eval_table(tuned[1]) if tuned else ["Not evaluated yet: `nanoscale eval --compare base rag tuned`."]
    )
    lines += ["", "## Use", "", "```", 'nanoscale ask --model tuned --backend transformers "..."', "```", ""]
    return "\n".join(lines)
