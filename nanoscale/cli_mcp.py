"""`nanoscale mcp`: the assistant as a Model Context Protocol server for agents and IDEs.

Kept apart from `cli.py` so the command registers with one call; nothing heavy is imported
until the command runs.
"""

from __future__ import annotations

import argparse


def add_mcp_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `nanoscale mcp` with the shared settings, model and knowledge-base flags."""
    mcp = sub.add_parser(
        "mcp",
        parents=parents,
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
    from nanoscale.config import Settings

    address = loopback_address(args.http) if args.http else None
    overrides = {
        "data_dir": args.data_dir,
        "model.preset": args.model,
        "model.backend": args.backend,
        "model.allow_network": True if args.allow_network else None,
        "tools.execute": bool(args.execute_tools),  # only the flag enables checks for MCP clients
        "retrieval.knowledge_bases": args.kb_list,
    }
    server = build_server(Assistant(Settings.load(args.config, overrides)))
    if address:
        run_http(server, *address)
    else:
        run_stdio(server)
    return 0
