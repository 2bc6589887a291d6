"""`nanoscale ask` and `nanoscale chat`: questions on the terminal, clarification turns inline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nanoscale.app.tracing import SQLiteTracer, TraceStore
from nanoscale.cli.common import common_flags, kb_flags, load_settings, model_flags, print_json
from nanoscale.engine import AskResult, Engine
from nanoscale.errors import InputError
from nanoscale.inputs import clean_text
from nanoscale.tools.logs import condense

SLOT_FLAGS = ("region", "account", "service", "endpoint", "method", "auth")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parents = [common_flags(), model_flags(), kb_flags()]
    ask = sub.add_parser("ask", parents=parents, help="answer one question")
    ask.add_argument("question", nargs="?", help="the question")
    for name in SLOT_FLAGS:
        ask.add_argument(f"--{name}", help=f"known {name} (skips asking for it)")
    ask.add_argument("--logs", help="a log file with the error ('-' for stdin)")
    ask.add_argument("--thread", help="thread id to continue")
    ask.add_argument("--reply", help="reply to the thread's clarification question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--no-stream", action="store_true", help="print the answer when complete")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", parents=parents, help="multi-turn terminal chat")
    chat.set_defaults(func=cmd_chat)


def open_engine(args: argparse.Namespace) -> Engine:
    """The engine with its runs traced into the data directory's trace store."""
    settings = load_settings(args)
    return Engine(settings, callbacks=[SQLiteTracer(TraceStore(settings.traces_path))])


def read_logs(path: str, max_bytes: int) -> str:
    """Logs from a file or '-' (stdin), condensed to the configured size."""
    if path == "-":
        raw = sys.stdin.buffer.read()
    else:
        file = Path(path).expanduser()
        if not file.is_file():
            raise InputError(f"logs file not found: {path}")
        raw = file.read_bytes()
    text = clean_text(raw, f"logs file {path}", max_chars=50_000_000)
    return condense(text, max_bytes)


def write_token(token: str) -> None:
    sys.stdout.write(token)
    sys.stdout.flush()


def print_result(result: AskResult, as_json: bool, streamed: bool = False) -> None:
    if as_json:
        print_json(result.to_dict())
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
    if streamed and result.contradictions:
        print("\nContradicted by the checks:")
        for item in result.contradictions:
            print(f"  - {item['sentence']} ({item['reason']})")
    if result.invalid_aws_actions:
        print(
            "\nAWS actions or commands that do not exist: " + ", ".join(result.invalid_aws_actions)
        )
    if result.sources:
        print("\nSources:")
        for source in result.sources:
            mark = "*" if source.get("cited") else " "
            section = f" > {source['section']}" if source.get("section") else ""
            print(f" {mark}[{source['n']}] {source['kb']}:{source['source']}{section}")
    print(f"\nthread: {result.thread_id}")


def cmd_ask(args: argparse.Namespace) -> int:
    engine = open_engine(args)
    slots = {name: getattr(args, name) for name in SLOT_FLAGS if getattr(args, name)}
    if args.logs:
        slots["logs"] = read_logs(args.logs, engine.settings.tools.logs_max_bytes)
    interactive = sys.stdin.isatty() and not args.json
    stream = interactive and not args.no_stream
    on_token = write_token if stream else None

    if args.thread and args.reply is not None:
        result = engine.reply(args.thread, args.reply, on_token)
    elif args.question:
        result = engine.send(args.question, args.thread, slots, on_token)
    else:
        raise InputError("give a question, or --thread ID --reply TEXT to answer a clarification")
    while result.status == "needs_input" and interactive:
        print(result.text)
        engine.start_loading()  # the model loads while the user types the reply
        reply = input("> ")
        result = engine.reply(result.thread_id, reply, on_token)
    if stream and result.status == "answer":
        print()
    print_result(result, args.json, streamed=stream)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    engine = open_engine(args)
    engine.start_loading()  # the model loads while the user types the first question
    thread_id = None
    print("OpenNanoScaleLLM chat. Ask a troubleshooting question; /new starts over, /quit leaves.")
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
            result = engine.send(message, thread_id, on_token=write_token)
        except InputError as exc:
            print(f"error: {exc}")
            continue
        thread_id = result.thread_id
        if result.status == "needs_input":
            print(result.text)
        else:
            print()
            print_result(result, as_json=False, streamed=True)
