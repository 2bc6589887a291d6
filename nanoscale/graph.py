"""The engine's wiring: begin -> signals -> (clarify -> signals)* -> retrieve -> [tools] -> generate
-> verify (-> generate once more when verify finds an invented AWS name or a contradiction). The
tools node is wired in only when read-only tool execution is enabled.

Only nodes and edges live here; every decision is in `nanoscale.nodes`.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any

from langgraph.graph import END, START, StateGraph

from nanoscale.config import Settings
from nanoscale.nodes.clarify import clarify
from nanoscale.nodes.generate import generate
from nanoscale.nodes.retrieve import retrieve
from nanoscale.nodes.signals import begin, route_after_signals, signals
from nanoscale.nodes.tools import run_tools
from nanoscale.nodes.verify import route_after_verify, verify
from nanoscale.resources import LazyResources, Resources
from nanoscale.state import InputState, OutputState, State


def sqlite_checkpointer(settings: Settings):
    """A SQLite checkpointer in the data directory, so threads survive a restart."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(settings.checkpoints_path, check_same_thread=False)
    return SqliteSaver(connection)


def build_graph(
    settings: Settings | None = None,
    checkpointer: Any = "default",
    resources: Resources | LazyResources | None = None,
):
    """Compile the graph. ``checkpointer=None`` compiles it for use as a subgraph (the parent's
    checkpointer then holds its state); the default is SQLite in the data directory."""
    settings = settings or Settings.load()
    # nodes read the resources when they run, so nothing loads until an answer needs it
    resources = resources or LazyResources(settings)
    builder = StateGraph(State, input_schema=InputState, output_schema=OutputState)
    builder.add_node("begin", begin)
    builder.add_node("signals", partial(signals, settings=settings.graph))
    builder.add_node("clarify", partial(clarify, settings=settings.graph))
    builder.add_node("retrieve", lambda state, config: retrieve(state, config, retriever=resources.loaded().retriever))
    builder.add_node(
        "generate",
        lambda state, config: generate(
            state,
            config,
            chat_model=resources.loaded().chat_model,
            count_tokens=resources.loaded().count_tokens,
            settings=settings,
        ),
    )
    builder.add_node(
        "verify",
        lambda state: verify(state, embed=resources.loaded().embed, settings=settings.graph, cache_dir=settings.cache_dir),
    )
    builder.add_edge(START, "begin")
    builder.add_edge("begin", "signals")
    builder.add_conditional_edges("signals", route_after_signals, ["clarify", "retrieve"])
    builder.add_edge("clarify", "signals")
    if settings.tools.execute:
        builder.add_node("tools", partial(run_tools, settings=settings.tools))
        builder.add_edge("retrieve", "tools")
        builder.add_edge("tools", "generate")
    else:
        builder.add_edge("retrieve", "generate")
    builder.add_edge("generate", "verify")
    builder.add_conditional_edges("verify", route_after_verify, {"generate": "generate", "end": END})
    if checkpointer == "default":
        checkpointer = sqlite_checkpointer(settings)
    return builder.compile(checkpointer=checkpointer, name="nanoscale")


def make_graph(config: dict | None = None):
    """Factory for LangGraph's own server (`langgraph.json`): it supplies the checkpointer."""
    return build_graph(Settings.load(), checkpointer=None)
