"""`nanoscale check-data`, `train`, `merge` and `export-gguf`: the LoRA fine-tuning path."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nanoscale.cli.common import common_flags, load_settings, print_json


def add_parser(sub: argparse._SubParsersAction) -> None:
    common = [common_flags()]
    check = sub.add_parser("check-data", parents=common, help="validate an instruction-tuning JSONL file")
    check.add_argument("file", nargs="?", help="instruction JSONL (default data/instructions.jsonl)")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_check_data)

    train = sub.add_parser("train", parents=common, help="LoRA fine-tune (configs/training.yaml, lora.yaml)")
    train.add_argument("--preset", help="cpu-quick (0.5B, <30 min on 2 cores), smoke (SmolLM2, ~1 min), gpu")
    train.add_argument("--base-model", help="base model: preset, .gguf or HF folder")
    train.add_argument("--data", help="instruction JSONL (default data/instructions.jsonl)")
    train.add_argument("--max-steps", type=int)
    train.add_argument("--epochs", type=float)
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--seed", type=int)
    train.add_argument("--precision", choices=["auto", "fp32", "bf16"])
    train.add_argument(
        "--resume",
        nargs="?",
        const="",
        default=None,
        metavar="RUN",
        help="continue a run (default: the latest)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    elsewhere = train.add_mutually_exclusive_group()
    elsewhere.add_argument(
        "--prepare-only",
        action="store_true",
        help="write the run folder (split, rendered examples) and stop: fit it on another machine "
        "with `python -m nanoscale.training.fit RUN --base MODEL`",
    )
    elsewhere.add_argument(
        "--finish", metavar="RUN", help="write loss.png and report.md of a run fitted elsewhere"
    )
    train.set_defaults(func=cmd_train)

    merge = sub.add_parser("merge", parents=common, help="merge a run's adapter into its base model")
    merge.add_argument("--run", help="training run id or folder (default: the latest)")
    merge.add_argument("--out", help="output folder (default: <data dir>/tuned/merged)")
    merge.set_defaults(func=cmd_merge)

    export = sub.add_parser("export-gguf", parents=common, help="write the merged model as GGUF + Modelfile")
    export.add_argument("--merged", help="merged model folder (default: <data dir>/tuned/merged)")
    export.add_argument("--out", help="output folder (default: <data dir>/tuned/gguf)")
    export.add_argument(
        "--base-gguf", help="GGUF whose tokenizer metadata to carry (default: the training base)"
    )
    export.add_argument(
        "--types",
        nargs="+",
        choices=["f16", "q8_0", "q4_k_m"],
        default=["f16", "q8_0"],
        help="q4_k_m: the packaged base's type (as fast on a CPU), made from f16 by llama.cpp",
    )
    export.add_argument(
        "--check-prompts",
        type=int,
        default=20,
        help="prompts for the llama.cpp vs transformers check (0: skip)",
    )
    export.add_argument("--min-agreement", type=float, default=0.95)
    export.set_defaults(func=cmd_export_gguf)


def cmd_check_data(args: argparse.Namespace) -> int:
    from nanoscale.training.dataset import load_examples, stats

    settings = load_settings(args)
    file = Path(args.file) if args.file else settings.training.data_path()
    summary = stats(load_examples(file, settings.cache_dir))
    if args.json:
        print_json(summary)
    else:
        print(f"{args.file or file}: {summary['examples']} examples, all valid")
        print("  " + ", ".join(f"{k}: {v}" for k, v in summary.items() if k != "examples"))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from nanoscale.training.runs import find_run, settings_of
    from nanoscale.training.train import finish, prepare, train

    settings = load_settings(args)
    if args.finish:
        report = finish(find_run(settings, args.finish), settings)
        print(f"report: {report}")
        return 0
    resume = find_run(settings, args.resume or None) if args.resume is not None else None
    if resume:
        config = settings_of(resume)
        print(f"resuming {resume.name} from its last checkpoint", file=sys.stderr)
    else:
        flags = {
            "base_model": args.base_model,
            "data": args.data,
            "max_steps": args.max_steps,
            "epochs": args.epochs,
            "learning_rate": args.lr,
            "seed": args.seed,
            "precision": args.precision,
        }
        config = settings.training_preset(args.preset, flags)
    if args.prepare_only:
        run_dir = prepare(config, settings)
        data = json.loads((run_dir / "config.json").read_text())["data"]
        print(f"prepared: {run_dir} ({data['train']} train, {data['eval']} held-out examples)")
        print(
            f"fit it: python -m nanoscale.training.fit {run_dir} --base <the base .gguf or HF folder there>"
        )
        print(
            f"then copy {run_dir.name}/ back into {settings.runs_dir} and: nanoscale train --finish {run_dir.name}"
        )
        return 0
    try:
        run_dir = train(config, settings, resume=resume, progress=not args.quiet)
    except KeyboardInterrupt:
        print(
            "\ninterrupted; continue with `nanoscale train --resume` (from the last checkpoint)",
            file=sys.stderr,
        )
        return 130
    metrics = json.loads((run_dir / "metrics.json").read_text())
    print(f"run: {run_dir}")
    print(
        f"steps {metrics['steps']}, held-out loss {metrics['eval_loss_before']} -> {metrics['eval_loss_after']}, "
        f"{metrics['seconds']} s, {metrics['tokens_per_s']} tokens/s; report: {run_dir / 'report.md'}"
    )
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from nanoscale.models import tuned_paths
    from nanoscale.training.merge import merge
    from nanoscale.training.runs import find_run

    settings = load_settings(args)
    out = Path(args.out) if args.out else tuned_paths(settings)[0]
    folder = merge(find_run(settings, args.run), out, settings)
    print(f"merged model: {folder} (use it with --model tuned --backend transformers)")
    return 0


def cmd_export_gguf(args: argparse.Namespace) -> int:
    from nanoscale.models import tuned_paths
    from nanoscale.training.export import check_exports, export_gguf

    settings = load_settings(args)
    merged_default, gguf_default = tuned_paths(settings)
    merged = Path(args.merged) if args.merged else merged_default
    out = Path(args.out) if args.out else gguf_default.parent
    files = export_gguf(merged, out, args.types, Path(args.base_gguf) if args.base_gguf else None)
    for path in files.values():
        print(f"wrote {path}")
    print(f"wrote {out / 'Modelfile'} (ollama create nanoscale-tuned -f {out / 'Modelfile'})")
    if not args.check_prompts:
        return 0
    checks = check_exports(merged, files, settings.paths.eval_cases, args.check_prompts, args.min_agreement)
    for kind, result in checks.items():
        print(
            f"{kind}: greedy next-token agreement with transformers {result['agreement']:.3f} over "
            f"{result['positions']} positions of {result['prompts']} prompts ({'ok' if result['ok'] else 'BELOW'} "
            f"{args.min_agreement})"
        )
    if not all(result["ok"] for result in checks.values()):
        print("error: the GGUF disagrees with the merged model more than allowed", file=sys.stderr)
        return 1
    return 0
