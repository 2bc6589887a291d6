"""The `nanoscale` command line: one module per command group, each with `add_parser(sub)`.

A command module declares its subcommands and their flags and holds thin command functions that
call the library; a new command is a new module listed in `COMMANDS`. Expected failures print one
line (``error: ...``) and exit 2; nothing downloads anything unless ``--allow-network`` is given.
"""

from __future__ import annotations

import argparse
import sys

from nanoscale.cli import ask, doctor, evaluate, info, judge, knowledge, mcp, prepare, serve, training
from nanoscale.errors import NanoscaleError

COMMANDS = (ask, knowledge, evaluate, judge, serve, mcp, prepare, doctor, info, training)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nanoscale",
        description="OpenNanoScaleLLM: a small, grounded DevOps troubleshooting assistant.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NanoscaleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
