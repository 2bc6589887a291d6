"""`nanoscale prepare`: assemble the configured model and ingest the project's knowledge base."""

from __future__ import annotations

import argparse

from nanoscale.cli.common import common_flags, load_settings, model_flags
from nanoscale.cli.knowledge import print_report
from nanoscale.models import PRESETS, assemble_gguf
from nanoscale.retrievers.ingest import ingest_paths
from nanoscale.retrievers.store import KnowledgeBaseStore


def add_parser(sub: argparse._SubParsersAction) -> None:
    prepare = sub.add_parser(
        "prepare", parents=[common_flags(), model_flags()], help="assemble the model, ingest data/raw"
    )
    prepare.set_defaults(func=cmd_prepare)


def cmd_prepare(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    preset = PRESETS.get(settings.model.preset)
    if preset and preset.chunks:
        print(f"model {preset.name}: {assemble_gguf(preset, settings.models_dir)}")
    if settings.paths.knowledge_base.is_dir():
        print_report(ingest_paths([settings.paths.knowledge_base], settings, "default"))
    names = KnowledgeBaseStore(settings.index_dir).names()
    print(f"knowledge bases: {', '.join(names) or '(none)'} in {settings.index_dir}")
    return 0
