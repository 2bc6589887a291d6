"""OpenNanoScaleLLM: a small, grounded, clarification-first assistant for DevOps troubleshooting.

Public API: ``Settings``, ``build_graph()`` and ``ask()``. Nothing here downloads anything:
Hugging Face libraries run offline unless the user opts in (``--allow-network``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if os.environ.get("NANOSCALE_MODEL_ALLOW_NETWORK", "").lower() not in {"1", "true", "yes", "on"}:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
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
