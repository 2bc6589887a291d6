"""The graph's state and its input/output schemas.

``typing_extensions.TypedDict`` (not ``typing``'s) because pydantic, under LangServe, needs it
on Python 3.11.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

SLOTS = ("region", "account", "service", "logs", "endpoint", "method", "auth")


class InputState(TypedDict):
    """What a caller provides: the question and any slots already known (e.g. from CLI flags)."""

    question: str
    slots: NotRequired[dict[str, str]]


class OutputState(TypedDict):
    """What a caller gets back once the graph finishes."""

    answer: str
    sources: list[dict[str, Any]]
    asked: list[str]
    missing: list[str]
    slots: dict[str, str]
    unsupported_sentences: list[str]
    invalid_aws_actions: list[str]
    observations: list[dict[str, Any]]
    findings: list[dict[str, Any]]  # what the read-only checks found, as data (tools.findings)
    contradictions: list[dict[str, Any]]  # answer sentences that contradict a finding
    revised: list[str]  # why the answer was generated a second time, if it was
    generated_tokens: int  # new tokens the model wrote this turn, over every generation


class State(InputState, OutputState, total=False):
    """Everything the nodes read and write."""

    messages: Annotated[list[AnyMessage], add_messages]
    pending: list[str]  # slots to ask for in the next clarification turn
    declined: list[str]  # slots the user could not provide
    replies: list[str]
    turns: int
    documents: list[dict[str, Any]]
    supported_sentences: list[str]
    revise: bool  # verify asks generate for one more answer
    revisions: int  # extra generations so far for this question (at most graph.max_revisions)
    added_check: str  # the read-only check generate added (code's line, not the model's: never judged)
