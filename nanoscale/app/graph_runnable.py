"""The graph as a typed runnable for LangServe: explicit pydantic input and output, and a
`thread_id` LangServe could not pass to a raw compiled graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from nanoscale.app.server import WorkQueue
    from nanoscale.engine import Engine


class GraphInput(BaseModel):
    """A question (or a reply to a clarification) and, optionally, the thread it belongs to."""

    message: str = Field(description="the question, or the reply to a clarification question")
    thread_id: str | None = Field(default=None, description="continue this thread")
    slots: dict[str, str] | None = Field(
        default=None, description="known slots, e.g. {'region': 'eu-west-1'}"
    )


class GraphOutput(BaseModel):
    thread_id: str
    status: str
    text: str
    answer: str
    asked: list[str]
    sources: list[dict[str, Any]]
    missing: list[str]
    unsupported_sentences: list[str]
    invalid_aws_actions: list[str]
    trace_id: str


def graph_runnable(engine: Engine, queue: WorkQueue) -> Runnable:
    def run(request: GraphInput | dict) -> dict:
        request = GraphInput.model_validate(request)
        with queue.slot():
            result = engine.send(request.message, request.thread_id, request.slots)
        data = result.to_dict()
        data.pop("observations", None)
        return GraphOutput.model_validate(data).model_dump()

    # A batch is one request: its items take turns on the model instead of competing for the queue.
    runnable = RunnableLambda(run, name="nanoscale").with_config(max_concurrency=1)
    return runnable.with_types(input_type=GraphInput, output_type=GraphOutput)
