"""Hands the generate node's tokens to a caller as the model produces them.

LangGraph's ``messages`` stream mode does this through its own queue, and the thread hand-off per
token cost a quarter of the decoding speed on 2 cores (10.2 against 13.5 tokens/s for the 1.5B,
`benchmarks/generation.py`). A callback runs in the model's own thread instead, so the engine
runs the graph with ``invoke`` and this handler. Like LangGraph's own handler it declares itself
a streaming handler, which makes chat models that do not stream by default stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langchain_core.tracers._streaming import _StreamingCallbackHandler

from nanoscale.nodes.generate import ANSWER_PREFIX_EVENT


class TokenForwarder(BaseCallbackHandler, _StreamingCallbackHandler):
    """Calls ``on_token`` with each piece of text the chat model in ``node`` streams."""

    raise_error = True  # a failing consumer (a closed connection) must stop the run, not be logged

    def __init__(self, on_token: Callable[[str], None], node: str = "generate"):
        self.on_token = on_token
        self.node = node
        self._runs: dict[UUID, bool] = {}  # model runs inside the node -> streamed anything yet

    def tap_output_iter(self, run_id: UUID, output: Any) -> Any:
        return output

    def tap_output_aiter(self, run_id: UUID, output: Any) -> Any:
        return output

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, metadata: dict | None = None, **kwargs: Any
    ) -> None:
        if (metadata or {}).get("langgraph_node") == self.node:
            self._runs[run_id] = False

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Text the node puts before the model's answer (the "Checked" block) streams first."""
        if name == ANSWER_PREFIX_EVENT and data:
            self.on_token(str(data))

    def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
        if run_id in self._runs and token:
            self._runs[run_id] = True
            self.on_token(token)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """A model that answered in one piece still reaches the caller, as one token."""
        if self._runs.pop(run_id, True):
            return
        text = "".join(g.text for generations in response.generations for g in generations)
        if text:
            self.on_token(text)
