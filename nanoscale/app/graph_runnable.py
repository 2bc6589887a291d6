"""The graph as a typed runnable for LangServe: the chat schema as its input and output, and a
`thread_id` LangServe could not pass to a raw compiled graph."""

from __future__ import annotations

from langchain_core.runnables import Runnable, RunnableLambda

from nanoscale.app.schema import ChatRequest, ChatResponse
from nanoscale.app.work_queue import WorkQueue
from nanoscale.engine import Engine


def graph_runnable(engine: Engine, queue: WorkQueue) -> Runnable:
    def run(request: ChatRequest | dict) -> dict:
        request = ChatRequest.model_validate(request)
        with queue.slot():
            result = engine.send(request.message, request.thread_id, request.slots)
        return ChatResponse.from_result(result).model_dump()

    # A batch is one request: its items take turns on the model instead of competing for the queue.
    runnable = RunnableLambda(run, name="nanoscale").with_config(max_concurrency=1)
    return runnable.with_types(input_type=ChatRequest, output_type=ChatResponse)
