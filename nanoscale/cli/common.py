"""What every command shares: the common flags, the settings they select, JSON output."""

from __future__ import annotations

import argparse
import json
from typing import Any

from nanoscale.config import Settings


def common_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--config", help="YAML settings file (default: configs/default.yaml)")
    flags.add_argument("--data-dir", help="where cache, indexes, checkpoints and runs live")
    return flags


def model_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--model", help="preset name, 'tuned', a .gguf file or a HF model folder")
    flags.add_argument("--backend", choices=["auto", "transformers", "llamacpp", "openai"])
    flags.add_argument("--allow-network", action="store_true", help="let a hub preset download weights")
    flags.add_argument(
        "--execute-tools", action="store_true", help="run read-only AWS/API/log checks (tools.execute)"
    )
    return flags


def kb_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--kb", dest="kb_list", action="append", help="knowledge base to search (repeatable)")
    return flags


def load_settings(args: argparse.Namespace) -> Settings:
    """The settings in force for a command: files and environment, then the flags it was given."""
    overrides = {
        "data_dir": getattr(args, "data_dir", None),
        "model.preset": getattr(args, "model", None),
        "model.backend": getattr(args, "backend", None),
        "model.allow_network": True if getattr(args, "allow_network", False) else None,
        "tools.execute": True if getattr(args, "execute_tools", False) else None,
        "retrieval.knowledge_bases": getattr(args, "kb_list", None),
        "server.host": getattr(args, "host", None),
        "server.port": getattr(args, "port", None),
    }
    return Settings.load(getattr(args, "config", None), overrides)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))
