"""`nanoscale serve` and `nanoscale traces`: the server and what it (and the CLI) recorded."""

from __future__ import annotations

import argparse

from nanoscale.app.tracing import TraceStore, trace_outline
from nanoscale.cli.common import common_flags, kb_flags, load_settings, model_flags, print_json
from nanoscale.errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve",
        parents=[common_flags(), model_flags(), kb_flags()],
        help="REST API, LangServe and the web UI",
    )
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.set_defaults(func=cmd_serve)

    traces = sub.add_parser("traces", parents=[common_flags()], help="inspect stored traces")
    traces.add_argument("action", choices=["list", "show", "export"])
    traces.add_argument("trace_id", nargs="?")
    traces.add_argument("--limit", type=int, default=20)
    traces.set_defaults(func=cmd_traces)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from nanoscale.app.server import create_app

    settings = load_settings(args)
    app = create_app(settings)
    print(f"serving on http://{settings.server.host}:{settings.server.port} (UI at /ui, API docs at /docs)")
    uvicorn.run(app, host=settings.server.host, port=settings.server.port, log_level="warning")
    return 0


def cmd_traces(args: argparse.Namespace) -> int:
    store = TraceStore(load_settings(args).traces_path)
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
        print_json(tree)
    return 0
