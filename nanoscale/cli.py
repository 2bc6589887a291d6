"""The `nanoscale` command line.

Expected failures print one line (``error: ...``) and exit 2; nothing here downloads anything
unless ``--allow-network`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from nanoscale.cli_mcp import add_mcp_parser
from nanoscale.errors import InputError, ModelNotAvailable, NanoscaleError

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_KB = REPO_ROOT / "data" / "raw"
SLOT_FLAGS = ("region", "account", "service", "endpoint", "method", "auth")


def _settings(args: argparse.Namespace):
    from nanoscale.config import Settings

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


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _read_logs(path: str, max_bytes: int) -> str:
    """Logs from a file or '-' (stdin), condensed to the configured size."""
    from nanoscale.inputs import clean_text
    from nanoscale.tools.logs import condense

    if path == "-":
        raw = sys.stdin.buffer.read()
    else:
        file = Path(path).expanduser()
        if not file.is_file():
            raise InputError(f"logs file not found: {path}")
        raw = file.read_bytes()
    text = clean_text(raw, f"logs file {path}", max_chars=50_000_000)
    return condense(text, max_bytes)


# ---------------------------------------------------------------------------- ask / chat


def _print_result(result, as_json: bool, streamed: bool = False) -> None:
    if as_json:
        data = result.to_dict()
        data["unsupported_sentences"] = result.unsupported_sentences
        _print_json(data)
        return
    if result.status == "needs_input":
        print(result.text)
        return
    if not streamed:
        print(result.marked_answer())
    elif result.unsupported_sentences:
        print("\nNot supported by the retrieved context:")
        for sentence in result.unsupported_sentences:
            print(f"  - {sentence}")
    if result.invalid_aws_actions:
        print(
            "\nAWS actions or commands that do not exist (botocore): " + ", ".join(result.invalid_aws_actions)
        )
    if result.sources:
        print("\nSources:")
        for source in result.sources:
            mark = "*" if source.get("cited") else " "
            section = f" > {source['section']}" if source.get("section") else ""
            print(f" {mark}[{source['n']}] {source['kb']}:{source['source']}{section}")
    print(f"\nthread: {result.thread_id}")


def _engine(args: argparse.Namespace):
    """The engine with its runs traced into the data directory's trace store."""
    from nanoscale.app.tracing import SQLiteTracer, TraceStore
    from nanoscale.engine import Engine

    settings = _settings(args)
    return Engine(settings, callbacks=[SQLiteTracer(TraceStore(settings.traces_path))])


def cmd_ask(args: argparse.Namespace) -> int:
    engine = _engine(args)
    slots = {name: getattr(args, name) for name in SLOT_FLAGS if getattr(args, name)}
    if args.logs:
        slots["logs"] = _read_logs(args.logs, engine.settings.tools.logs_max_bytes)
    interactive = sys.stdin.isatty() and not args.json
    stream = interactive and not args.no_stream

    def on_token(token: str) -> None:
        sys.stdout.write(token)
        sys.stdout.flush()

    if args.thread and args.reply is not None:
        result = engine.reply(args.thread, args.reply, on_token if stream else None)
    elif args.question:
        result = engine.send(args.question, args.thread, slots, on_token if stream else None)
    else:
        raise InputError("give a question, or --thread ID --reply TEXT to answer a clarification")
    while result.status == "needs_input" and interactive:
        print(result.text)
        reply = input("> ")
        result = engine.reply(result.thread_id, reply, on_token if stream else None)
    if stream and result.status == "answer":
        print()
    _print_result(result, args.json, streamed=stream)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    engine = _engine(args)
    thread_id = None
    print("OpenNanoScaleLLM chat. Ask a troubleshooting question; /new starts over, /quit leaves.")

    def on_token(token: str) -> None:
        sys.stdout.write(token)
        sys.stdout.flush()

    while True:
        try:
            message = input("\nyou> ").strip()
        except EOFError:
            print()
            return 0
        if message in {"/quit", "/exit"}:
            return 0
        if message == "/new":
            thread_id = None
            print("(new conversation)")
            continue
        if not message:
            continue
        sys.stdout.write("assistant> ")
        try:
            result = engine.send(message, thread_id, on_token=on_token)
        except InputError as exc:
            print(f"error: {exc}")
            continue
        thread_id = result.thread_id
        if result.status == "needs_input":
            print(result.text)
        else:
            print()
            _print_result(result, as_json=False, streamed=True)


# ------------------------------------------------------------------ knowledge bases


def cmd_ingest(args: argparse.Namespace) -> int:
    from nanoscale.models import EMBEDDING_DIM, load_embeddings
    from nanoscale.retrievers.ingest import ingest

    settings = _settings(args)
    kb = args.kb or settings.retrieval.default_kb
    embeddings = load_embeddings(settings)
    report = ingest(
        args.paths,
        kb,
        settings,
        embeddings.embed_documents,
        EMBEDDING_DIM,
        rebuild=args.rebuild,
        progress=not args.json,
    )
    if args.json:
        _print_json(report.to_dict())
    else:
        print(
            f"knowledge base '{kb}': {len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.removed)} removed; "
            f"{report.chunks_embedded} chunks embedded, {report.total_chunks} in total ({report.seconds:.1f} s)"
        )
        for skipped in report.skipped:
            print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from nanoscale.inputs import clean_text
    from nanoscale.models import load_embeddings
    from nanoscale.retrievers.retriever import open_searcher

    settings = _settings(args)
    query = clean_text(args.query, "query", settings.graph.max_question_chars)
    searcher = open_searcher(settings, load_embeddings(settings), args.kb_list)
    hits = searcher.search(query, k=args.k, mmr=args.mmr or None)
    if args.json:
        _print_json([hit.to_dict() for hit in hits])
        return 0
    if not hits:
        print("no hits above the score threshold")
    for rank, hit in enumerate(hits, start=1):
        data = hit.to_dict()
        print(f"[{rank}] {data['score']:.3f}  {data['kb']}:{data['source']} > {data['section']}")
        text = " ".join(data["text"].split())
        print(f"    {text[:300]}{'...' if len(text) > 300 else ''}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """Assemble the default model and ingest the project's knowledge base if needed."""
    from nanoscale.models import PRESETS, assemble_gguf
    from nanoscale.retrievers.store import KnowledgeBaseStore

    settings = _settings(args)
    preset = PRESETS.get(settings.model.preset)
    if preset and preset.chunks:
        path = assemble_gguf(preset, settings.models_dir)
        print(f"model {preset.name}: {path}")
    store = KnowledgeBaseStore(settings.index_dir)
    if PROJECT_KB.is_dir():
        ingest_args = argparse.Namespace(
            **{**vars(args), "paths": [str(PROJECT_KB)], "kb": "default", "rebuild": False, "json": False}
        )
        cmd_ingest(ingest_args)
    print(f"knowledge bases: {', '.join(store.names()) or '(none)'} in {settings.index_dir}")
    return 0


# ---------------------------------------------------------------------------- evaluation


def cmd_eval(args: argparse.Namespace) -> int:
    import time

    from nanoscale.evals.cases import load_cases
    from nanoscale.evals.report import record, table, write_run
    from nanoscale.evals.runner import run_system, summarise

    cases = load_cases(args.cases)[: args.limit or None]
    if args.sample and args.sample < len(cases):
        cases = [cases[i * len(cases) // args.sample] for i in range(args.sample)]
    systems = args.compare or [args.system]
    base_settings = _settings(args)
    run_id = f"eval-{time.strftime('%Y%m%d-%H%M%S')}"
    out = Path(args.out) if args.out else base_settings.runs_dir / run_id
    rows, summaries = [], []
    for system in systems:
        try:
            system_rows = run_system(system, cases, _settings(args), progress=not args.json)
        except ModelNotAvailable as exc:
            if len(systems) == 1:
                raise
            print(f"skipped {system}: {exc}", file=sys.stderr)
            continue
        rows.extend(system_rows)
        summaries.append(summarise(system_rows))
    if not summaries:
        raise InputError("no system could be evaluated")
    written = write_run(out, rows, summaries, args.cases)
    record(base_settings.data_dir / "evals.sqlite", out.name, summaries)
    if any(s["system"].startswith("tuned") for s in summaries):
        from nanoscale.training.report import refresh_tuned_report

        report = refresh_tuned_report(base_settings)
        if report:
            written.append(report)
    if args.json:
        _print_json(summaries)
    else:
        print(table(summaries))
        print(f"\nwritten: {', '.join(str(p) for p in written)}")
    return 0


# ---------------------------------------------------------------------------- serving / traces


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from nanoscale.app.server import create_app

    settings = _settings(args)
    app = create_app(settings)
    print(f"serving on http://{settings.server.host}:{settings.server.port} (UI at /ui, API docs at /docs)")
    uvicorn.run(app, host=settings.server.host, port=settings.server.port, log_level="warning")
    return 0


def cmd_traces(args: argparse.Namespace) -> int:
    from nanoscale.app.tracing import TraceStore
    from nanoscale.app.ui import trace_outline

    store = TraceStore(_settings(args).traces_path)
    if args.action == "list":
        for trace in store.list_traces(args.limit):
            print(
                f"{trace['trace_id']}  {trace['start_time']}  thread={trace['thread_id']}  {trace['name']}"
                f"{'  ERROR' if trace['error'] else ''}"
            )
        return 0
    if not args.trace_id:
        raise InputError(f"`nanoscale traces {args.action}` needs a trace id")
    tree = store.tree(args.trace_id)
    if args.action == "show":
        print("\n".join(trace_outline(tree)))
    else:
        _print_json(tree)
    return 0


# ---------------------------------------------------------------------------- models / config


def cmd_models(args: argparse.Namespace) -> int:
    from nanoscale.models import describe_models

    rows = describe_models(_settings(args))
    if args.json:
        _print_json(rows)
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
    import yaml

    print(yaml.safe_dump(_settings(args).to_dict(), sort_keys=False), end="")
    return 0


def cmd_check_data(args: argparse.Namespace) -> int:
    from nanoscale.training.dataset import load_examples, stats

    settings = _settings(args)
    summary = stats(load_examples(Path(args.file), settings.cache_dir))
    if args.json:
        _print_json(summary)
    else:
        print(f"{args.file}: {summary['examples']} examples, all valid")
        print("  " + ", ".join(f"{k}: {v}" for k, v in summary.items() if k != "examples"))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from nanoscale.training.config import load_training_settings
    from nanoscale.training.train import find_run, settings_of, train

    settings = _settings(args)
    resume = find_run(settings, args.resume or None) if args.resume is not None else None
    if resume:
        config = settings_of(resume)
        print(f"resuming {resume.name} from its last checkpoint", file=sys.stderr)
    else:
        overrides = {
            "base_model": args.base_model,
            "data": args.data,
            "max_steps": args.max_steps,
            "epochs": args.epochs,
            "learning_rate": args.lr,
            "seed": args.seed,
            "precision": args.precision,
        }
        config = load_training_settings(args.preset, overrides)
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
    from nanoscale.training.train import find_run

    settings = _settings(args)
    out = Path(args.out) if args.out else tuned_paths(settings)[0]
    folder = merge(find_run(settings, args.run), out, settings)
    print(f"merged model: {folder} (use it with --model tuned --backend transformers)")
    return 0


def cmd_export_gguf(args: argparse.Namespace) -> int:
    from nanoscale.models import tuned_paths
    from nanoscale.training.export import check_agreement, export_gguf

    settings = _settings(args)
    merged_default, gguf_default = tuned_paths(settings)
    merged = Path(args.merged) if args.merged else merged_default
    out = Path(args.out) if args.out else gguf_default.parent
    files = export_gguf(merged, out, args.types, Path(args.base_gguf) if args.base_gguf else None)
    for path in files.values():
        print(f"wrote {path}")
    print(f"wrote {out / 'Modelfile'} (ollama create nanoscale-tuned -f {out / 'Modelfile'})")
    if args.check_prompts:
        failed = False
        checks = {}
        for kind, path in files.items():
            result = check_agreement(merged, path, args.check_prompts, tokens=32)
            checks[kind] = result
            (out / "check.json").write_text(json.dumps(checks, indent=2))
            ok = result["agreement"] >= args.min_agreement
            failed |= not ok
            print(
                f"{kind}: greedy next-token agreement with transformers {result['agreement']:.3f} over "
                f"{result['positions']} positions of {result['prompts']} prompts ({'ok' if ok else 'BELOW'} "
                f"{args.min_agreement})"
            )
        if failed:
            print("error: the GGUF disagrees with the merged model more than allowed", file=sys.stderr)
            return 1
    return 0


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nanoscale",
        description="OpenNanoScaleLLM: a small, grounded DevOps troubleshooting assistant.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="YAML settings file (default: configs/default.yaml)")
    common.add_argument("--data-dir", help="where cache, indexes, checkpoints and runs live")
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", help="preset name, 'tuned', a .gguf file or a HF model folder")
    model.add_argument("--backend", choices=["auto", "transformers", "llamacpp", "openai"])
    model.add_argument("--allow-network", action="store_true", help="let a hub preset download weights")
    model.add_argument(
        "--execute-tools", action="store_true", help="run read-only AWS/API/log checks (tools.execute)"
    )
    kb = argparse.ArgumentParser(add_help=False)
    kb.add_argument("--kb", dest="kb_list", action="append", help="knowledge base to search (repeatable)")

    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", parents=[common, model, kb], help="answer one question")
    ask.add_argument("question", nargs="?", help="the question")
    for name in SLOT_FLAGS:
        ask.add_argument(f"--{name}", help=f"known {name} (skips asking for it)")
    ask.add_argument("--logs", help="a log file with the error ('-' for stdin)")
    ask.add_argument("--thread", help="thread id to continue")
    ask.add_argument("--reply", help="reply to the thread's clarification question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--no-stream", action="store_true", help="print the answer when complete")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", parents=[common, model, kb], help="multi-turn terminal chat")
    chat.set_defaults(func=cmd_chat)

    ingest = sub.add_parser("ingest", parents=[common], help="add files or folders to a knowledge base")
    ingest.add_argument("paths", nargs="+", help="Markdown, text or PDF files, or folders")
    ingest.add_argument("--kb", help="knowledge base name (default: 'default')")
    ingest.add_argument("--rebuild", action="store_true", help="start the knowledge base afresh")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.set_defaults(func=cmd_ingest)

    search = sub.add_parser("search", parents=[common, kb], help="search the knowledge bases")
    search.add_argument("query")
    search.add_argument("--k", type=int, default=5, help="number of hits (default 5)")
    search.add_argument("--mmr", action="store_true", help="diversify hits (maximal marginal relevance)")
    search.add_argument("--json", action="store_true", help="print hits as JSON")
    search.set_defaults(func=cmd_search)

    evaluate = sub.add_parser("eval", parents=[common, model, kb], help="evaluate systems on eval cases")
    evaluate.add_argument(
        "--cases", default=str(REPO_ROOT / "data" / "eval" / "cases.jsonl"), help="JSONL cases"
    )
    evaluate.add_argument("--system", choices=["base", "rag", "tuned"], default="rag")
    evaluate.add_argument(
        "--compare", nargs="+", choices=["base", "rag", "tuned"], help="several systems side by side"
    )
    evaluate.add_argument("--out", help="output folder (default: <data dir>/runs/eval-<time>)")
    evaluate.add_argument("--limit", type=int, help="only the first N cases")
    evaluate.add_argument("--sample", type=int, help="N cases spread evenly over the file (all categories)")
    evaluate.add_argument("--json", action="store_true", help="print the summaries as JSON")
    evaluate.set_defaults(func=cmd_eval)

    serve = sub.add_parser("serve", parents=[common, model, kb], help="REST API, LangServe and the web UI")
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.set_defaults(func=cmd_serve)

    add_mcp_parser(sub, [common, model, kb])

    traces = sub.add_parser("traces", parents=[common], help="inspect stored traces")
    traces.add_argument("action", choices=["list", "show", "export"])
    traces.add_argument("trace_id", nargs="?")
    traces.add_argument("--limit", type=int, default=20)
    traces.set_defaults(func=cmd_traces)

    prepare = sub.add_parser("prepare", parents=[common, model], help="assemble the model, ingest data/raw")
    prepare.set_defaults(func=cmd_prepare)

    models = sub.add_parser("models", parents=[common], help="list model presets")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=cmd_models)

    check = sub.add_parser("check-data", parents=[common], help="validate an instruction-tuning JSONL file")
    check.add_argument("file", nargs="?", default=str(REPO_ROOT / "data" / "instructions.jsonl"))
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_check_data)

    train = sub.add_parser(
        "train", parents=[common], help="LoRA fine-tune (configs/training.yaml, lora.yaml)"
    )
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
    train.set_defaults(func=cmd_train)

    merge = sub.add_parser("merge", parents=[common], help="merge a run's adapter into its base model")
    merge.add_argument("--run", help="training run id or folder (default: the latest)")
    merge.add_argument("--out", help="output folder (default: <data dir>/tuned/merged)")
    merge.set_defaults(func=cmd_merge)

    export = sub.add_parser(
        "export-gguf", parents=[common], help="write the merged model as GGUF + Modelfile"
    )
    export.add_argument("--merged", help="merged model folder (default: <data dir>/tuned/merged)")
    export.add_argument("--out", help="output folder (default: <data dir>/tuned/gguf)")
    export.add_argument(
        "--base-gguf", help="GGUF whose tokenizer metadata to carry (default: the training base)"
    )
    export.add_argument("--types", nargs="+", choices=["f16", "q8_0"], default=["f16", "q8_0"])
    export.add_argument(
        "--check-prompts",
        type=int,
        default=20,
        help="prompts for the llama.cpp vs transformers check (0: skip)",
    )
    export.add_argument("--min-agreement", type=float, default=0.95)
    export.set_defaults(func=cmd_export_gguf)

    config = sub.add_parser("config", parents=[common, model], help="print the settings in force")
    config.set_defaults(func=cmd_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "allow_network", False):
        os.environ["NANOSCALE_MODEL_ALLOW_NETWORK"] = "1"
        os.environ["HF_HUB_OFFLINE"] = "0"
        os.environ["TRANSFORMERS_OFFLINE"] = "0"
    try:
        return args.func(args)
    except NanoscaleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
