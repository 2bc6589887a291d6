"""`nanoscale models` and `nanoscale config`: what is installed and which settings are in force."""

from __future__ import annotations

import argparse

import yaml

from nanoscale.cli.common import common_flags, load_settings, model_flags, print_json
from nanoscale.models import describe_models


def add_parser(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", parents=[common_flags()], help="list model presets")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=cmd_models)

    config = sub.add_parser(
        "config", parents=[common_flags(), model_flags()], help="print the settings in force"
    )
    config.set_defaults(func=cmd_config)


def cmd_models(args: argparse.Namespace) -> int:
    rows = describe_models(load_settings(args))
    if args.json:
        print_json(rows)
        return 0
    print(f"{'preset':<20} {'installed':<10} {'assembled':<10} {'size':>10}  description")
    for row in rows:
        size = f"{row['size'] / 1e6:.0f} MB" if row.get("size") else "-"
        print(
            f"{row['name']:<20} {'yes' if row['installed'] else 'no':<10} "
            f"{'yes' if row['assembled'] else 'no':<10} {size:>10}  {row['description']}"
        )
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    print(yaml.safe_dump(load_settings(args).to_dict(), sort_keys=False), end="")
    return 0
