"""The request and response of one chat turn, shared by `POST /chat`, its SSE stream and the
LangServe runnable under `/graph`, so every route speaks the same shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from nanoscale.engine import AskResult


class ChatRequest(BaseModel):
    """One chat message; a message on a thread that waits for a clarification resumes it."""

    message: str = Field(description="the question, or the reply to a clarification question")
    thread_id: str | None = Field(default=None, description="continue this thread")
    slots: dict[str, str] | None = Field(
        default=None, description="known slots, e.g. {'region': 'eu-west-1'}"
    )


class ChatResponse(BaseModel):
    """An answer (unsupported sentences marked in `text`, raw in `answer`) or a clarification question."""

    thread_id: str
    status: str = Field(description="answer or needs_input")
    text: str
    answer: str = ""
    asked: list[str]
    sources: list[dict[str, Any]]
    missing: list[str] = Field(default_factory=list)
    unsupported_sentences: list[str]
    invalid_aws_actions: list[str]
    findings: list[dict[str, Any]] = Field(
        default_factory=list,
        description="what the read-only checks found (check, target, status, summary, facts)",
    )
    contradictions: list[dict[str, str]] = Field(
        default_factory=list, description="answer sentences that contradict a finding, marked in text"
    )
    generated_tokens: int = Field(default=0, description="new tokens the model wrote for this turn")
    trace_id: str

    @classmethod
    def from_result(cls, result: AskResult) -> ChatResponse:
        data = result.to_dict()
        data.pop("observations", None)
        if result.status == "answer":
            data["text"] = result.marked_answer()
        return cls.model_validate(data)
