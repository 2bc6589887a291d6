"""Training run folders: `<data dir>/runs/train-<id>/` and the files that tie the steps together.

`config.json` in a run records how it was trained (for --resume, merge and the report);
`nanoscale.json` in a merged folder records the run it came from (for export-gguf and the report).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from nanoscale.config import LoraSettings, Settings, TrainingSettings
from nanoscale.errors import InputError

CONFIG_FILE = "config.json"
PROVENANCE = "nanoscale.json"


def new_run_dir(settings: Settings) -> Path:
    run_id = "train-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = settings.runs_dir / run_id
    path.mkdir(parents=True, exist_ok=False)
    return path


def latest_run(settings: Settings) -> Path:
    runs = sorted(p for p in settings.runs_dir.glob("train-*") if (p / CONFIG_FILE).is_file())
    if not runs:
        raise InputError(f"no training run in {settings.runs_dir}; run `nanoscale train` first")
    return runs[-1]


def find_run(settings: Settings, run: str | None) -> Path:
    if not run:
        return latest_run(settings)
    path = Path(run).expanduser()
    if not path.is_dir():
        path = settings.runs_dir / run
    if not (path / CONFIG_FILE).is_file():
        raise InputError(f"no training run '{run}' (looked for {path / CONFIG_FILE})")
    return path


def settings_of(run_dir: Path) -> TrainingSettings:
    """The training settings a run was started with (for --resume)."""
    saved = json.loads((run_dir / CONFIG_FILE).read_text())["settings"]
    lora = LoraSettings(**saved.pop("lora"))
    return TrainingSettings(**saved, lora=lora)
