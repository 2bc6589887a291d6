"""OpenNanoScaleLLM: a small, grounded, clarification-first assistant for DevOps troubleshooting.

Public API: ``Settings``, ``build_graph()`` and ``ask()``. Nothing here downloads anything:
loading the settings turns Hugging Face libraries offline unless they allow the network
(``model.allow_network``, ``--allow-network``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# Process-wide library behaviour, not configuration: strict checkpoint decoding, no tokenizer
# fork warnings. Both are read when those libraries load, so they are set before anything else.
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from nanoscale.config import Settings  # noqa: E402

if TYPE_CHECKING:
    from nanoscale.engine import AskResult

__all__ = ["Settings", "ask", "build_graph"]
__version__ = "0.1.0"


def build_graph(settings: Settings | None = None, checkpointer: Any = "default", **kwargs: Any):
    """The compiled LangGraph engine; ``checkpointer=None`` to embed it as a subgraph."""
    from nanoscale.graph import build_graph as _build

    return _build(settings, checkpointer=checkpointer, **kwargs)


def ask(question: str, settings: Settings | None = None, **slots: str) -> AskResult:
    """Answer one question, with any known slots (region=..., logs=...), in a fresh thread."""
    from nanoscale.engine import Engine

    return Engine(settings or Settings.load()).ask(question, slots=slots)
