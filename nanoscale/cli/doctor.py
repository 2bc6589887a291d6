"""`nanoscale doctor`: the machine, build, models and data as one report for a bug report."""

from __future__ import annotations

import argparse

from nanoscale.cli.common import common_flags, load_settings, model_flags


def add_parser(sub: argparse._SubParsersAction) -> None:
    doctor = sub.add_parser(
        "doctor",
        parents=[common_flags(), model_flags()],
        help="check this machine, the llama.cpp build, models and knowledge bases",
        description="One line per check, OK or a one-line fix; exits 1 when something `make run` needs is broken.",
    )
    doctor.add_argument("--no-checksums", action="store_true", help="skip hashing the assembled models (~5 s)")
    doctor.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    from nanoscale.doctor import healthy, run_checks

    checks = run_checks(load_settings(args), verify_checksums=not args.no_checksums)
    for check in checks:
        print(check.line(), flush=True)
    return 0 if healthy(checks) else 1
