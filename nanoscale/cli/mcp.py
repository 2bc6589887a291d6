"""`nanoscale mcp`: the assistant as a Model Context Protocol server for agents and IDEs."""

from __future__ import annotations

import argparse
import dataclasses

from nanoscale.cli.common import common_flags, kb_flags, load_settings, model_flags


def add_parser(sub: argparse._SubParsersAction) -> None:
    mcp = sub.add_parser(
        "mcp",
        parents=[common_flags(), model_flags(), kb_flags()],
        help="serve the assistant to MCP clients (IDEs, agents) over stdio or HTTP",
        description="Tools troubleshoot, search_knowledge and list_knowledge_bases, the knowledge-base "
        "manifests as resources and a diagnose_error prompt, over stdio (default) or streamable HTTP. "
        "Read-only checks run only with --execute-tools.",
    )
    mcp.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="streamable HTTP at http://HOST:PORT/mcp instead of stdio (loopback hosts only)",
    )
    mcp.set_defaults(func=cmd_mcp)


def cmd_mcp(args: argparse.Namespace) -> int:
    from nanoscale.app.mcp import Assistant, build_server, loopback_address, run_http, run_stdio

    address = loopback_address(args.http) if args.http else None
    settings = load_settings(args)
    # only the flag enables checks for MCP clients, never a config file or the environment
    settings = dataclasses.replace(settings, tools=dataclasses.replace(settings.tools, execute=bool(args.execute_tools)))
    server = build_server(Assistant(settings))
    if address:
        run_http(server, *address)
    else:
        run_stdio(server)
    return 0
