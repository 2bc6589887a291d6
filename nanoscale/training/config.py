"""Training configuration: configs/training.yaml and configs/lora.yaml, a preset, then CLI flags."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from nanoscale.errors import InputError

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG_DIR = REPO_ROOT / "configs"


@dataclass
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"


@dataclass
class TrainSettings:
    base_model: str = "qwen2.5-coder-1.5b"
    data: str = "data/instructions.jsonl"
    eval_fraction: float = 0.1
    max_train_examples: int = 0
    max_eval_examples: int = 0
    max_length: int = 1536
    epochs: float = 2
    max_steps: int = -1
    batch_size: int = 4
    grad_accum: int = 4
    learning_rate: float = 2e-4
    lr_scheduler: str = "cosine"
    warmup_steps: int = 10
    weight_decay: float = 0.0
    seed: int = 42
    precision: str = "auto"
    gradient_checkpointing: bool = True
    logging_steps: int = 5
    eval_steps: int = 25
    save_steps: int = 25
    save_total_limit: int = 2
    threads: int = 0
    preset: str | None = None
    lora: LoraSettings = field(default_factory=LoraSettings)

    def data_path(self) -> Path:
        path = Path(self.data).expanduser()
        return path if path.is_absolute() else REPO_ROOT / path

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _apply(target: Any, values: dict[str, Any], source: str) -> None:
    known = {f.name: f for f in fields(target)}
    for key, value in values.items():
        if key not in known or key == "lora":
            raise InputError(f"{source}: unknown training setting '{key}'")
        default = getattr(target, key)
        if isinstance(default, bool):
            value = bool(value)
        elif isinstance(default, int) and not isinstance(value, bool):
            value = int(value)
        elif isinstance(default, float):
            value = float(value)
        setattr(target, key, value)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping")
    return data


def presets(config_dir: Path = CONFIG_DIR) -> dict[str, dict[str, Any]]:
    return _read_yaml(config_dir / "training.yaml").get("presets", {}) or {}


def load_training_settings(
    preset: str | None = None, overrides: dict[str, Any] | None = None, config_dir: Path = CONFIG_DIR
) -> TrainSettings:
    """Defaults < training.yaml / lora.yaml < the preset < overrides (flags); None means unset."""
    settings = TrainSettings()
    base = _read_yaml(config_dir / "training.yaml")
    available = base.pop("presets", {}) or {}
    _apply(settings, base, str(config_dir / "training.yaml"))
    _apply(settings.lora, _read_yaml(config_dir / "lora.yaml"), str(config_dir / "lora.yaml"))
    if preset:
        if preset not in available:
            raise InputError(f"unknown training preset '{preset}'; choose one of {', '.join(available)}")
        chosen = dict(available[preset])
        lora = chosen.pop("lora", {}) or {}
        _apply(settings, chosen, f"preset {preset}")
        _apply(settings.lora, lora, f"preset {preset}")
        settings.preset = preset
    _apply(settings, {k: v for k, v in (overrides or {}).items() if v is not None}, "flags")
    if settings.precision not in ("auto", "fp32", "bf16"):
        raise InputError(f"precision must be auto, fp32 or bf16, not '{settings.precision}'")
    if not 0 <= settings.eval_fraction < 1:
        raise InputError("eval_fraction must be in [0, 1)")
    return settings
