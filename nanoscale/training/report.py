"""What a training run writes for people: the loss curve and runs/<id>/report.md."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nanoscale.config import Settings
from nanoscale.evals.report import eval_runs
from nanoscale.training.runs import CONFIG_FILE, PROVENANCE


@dataclass
class LossHistory:
    train_loss: list[tuple[int, float]] = field(default_factory=list)
    eval_loss: list[tuple[int, float]] = field(default_factory=list)

    @classmethod
    def from_log(cls, log_history: list[dict[str, Any]]) -> LossHistory:
        history = cls()
        for entry in log_history:
            step = int(entry.get("step", 0))
            if "loss" in entry:
                history.train_loss.append((step, float(entry["loss"])))
            if "eval_loss" in entry:
                history.eval_loss.append((step, float(entry["eval_loss"])))
        return history

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7, 4))
        for label, points, style in (("train", self.train_loss, "-"), ("held-out", self.eval_loss, "o--")):
            if points:
                axes.plot([s for s, _ in points], [v for _, v in points], style, label=label)
        axes.set_xlabel("optimizer step")
        axes.set_ylabel("loss (answer tokens)")
        axes.set_title("LoRA SFT loss")
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        plt.close(figure)


EVAL_COLUMNS = (
    "keyword_coverage",
    "clarification_accuracy",
    "groundedness",
    "hallucination_rate",
    "invalid_aws_actions",
)


def latest_tuned_eval(settings: Settings) -> tuple[str, list[dict[str, Any]]] | None:
    """The newest eval run that includes the tuned system, if any."""
    for run in eval_runs(settings.runs_dir):
        rows = run["systems"]
        if isinstance(rows, list) and any(str(r.get("system", "")).startswith("tuned") for r in rows):
            return run["run"], rows
    return None


def eval_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| system | " + " | ".join(EVAL_COLUMNS) + " |", "|---" * (len(EVAL_COLUMNS) + 1) + "|"]
    for row in rows:
        values = [row.get(c) for c in EVAL_COLUMNS]
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in values]
        lines.append(f"| {row['system']} | " + " | ".join(cells) + " |")
    return lines


def write_report(run_dir: Path, record: dict[str, Any], metrics: dict[str, Any], settings: Settings) -> Path:
    config = record["settings"]
    data = record["data"]
    lines = [
        f"# Training run {run_dir.name}",
        "",
        f"Base model: `{config['base_model']}`, {record['base_note']}.",
        f"Preset: `{config.get('preset') or 'none (configs/training.yaml)'}`; precision {record['precision']}; "
        f"device {metrics['device']} ({metrics['threads']} threads); "
        f"{metrics.get('host') or platform.processor() or platform.machine()}.",
        "",
        "## Data",
        "",
        f"- {data['examples']} examples in `{config['data']}`: {data['with_context']} with retrieved context, "
        f"{data['tool_aware']} tool-aware ({data['asking']} asking for a missing slot), "
        f"{data['not_covered']} answering that the context does not cover the question.",
        f"- By category: {', '.join(f'{k} {v}' for k, v in data['by_category'].items())}.",
        f"- Used: {data['train']} train, {data['eval']} held out (seeded split), "
        f"{data['dropped_too_long']} dropped as longer than {config['max_length']} tokens; "
        f"{data['train_tokens_per_epoch']} train tokens per epoch.",
        "",
        "## Configuration",
        "",
        f"- LoRA r={config['lora']['r']}, alpha={config['lora']['alpha']}, dropout={config['lora']['dropout']}, "
        f"targets {config['lora']['target_modules']}.",
        f"- lr {config['learning_rate']} ({config['lr_scheduler']}, {config['warmup_steps']} warm-up steps), "
        f"batch {config['batch_size']} x {config['grad_accum']} accumulation, epochs {config['epochs']}, "
        f"max steps {config['max_steps']}, seed {config['seed']}; loss on the answer tokens only.",
        "",
        "## Results",
        "",
        "| figure | value |",
        "|---|---|",
        f"| optimizer steps | {metrics['steps']} |",
        f"| mean train loss | {metrics['train_loss']:.4f} |",
        f"| held-out loss before | {_fmt(metrics['eval_loss_before'])} |",
        f"| held-out loss after | {_fmt(metrics['eval_loss_after'])} |",
        f"| wall time | {metrics['seconds']} s |",
        f"| tokens seen | {metrics['tokens_seen']} |",
        f"| tokens/s | {metrics['tokens_per_s']} |",
        f"| peak GPU memory | {metrics['peak_gpu_memory_gb'] or 'n/a (CPU)'} |",
        "",
        "![loss](loss.png)",
        "",
        "## Evaluation",
        "",
    ]
    tuned = latest_tuned_eval(settings)
    if tuned:
        lines += [f"From eval run `{tuned[0]}`:", "", *eval_table(tuned[1])]
    else:
        lines.append(
            "No eval run with the tuned model yet: `nanoscale merge && nanoscale export-gguf && "
            "nanoscale eval --compare base rag tuned` writes one."
        )
    path = run_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _fmt(value: float | None) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "n/a"


def refresh_tuned_report(settings: Settings) -> Path | None:
    """Rewrite the report of the run behind the current tuned model (after an eval of it)."""
    from nanoscale.models import tuned_paths

    provenance = tuned_paths(settings)[0] / PROVENANCE
    if not provenance.is_file():
        return None
    run_dir = settings.runs_dir / json.loads(provenance.read_text())["run"]
    if not (run_dir / "metrics.json").is_file():
        return None
    record = json.loads((run_dir / CONFIG_FILE).read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return write_report(run_dir, record, metrics, settings)
