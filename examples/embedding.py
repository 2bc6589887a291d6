"""Two ways to use OpenNanoScaleLLM from another LangChain/LangGraph app.

1. In-process: the compiled graph as a node of your own LangGraph app. Compile it without a
   checkpointer; your app's checkpointer then keeps its state, and its clarification interrupts
   surface in your app (resume them with `Command(resume=...)`).
2. Over HTTP: `RemoteRunnable` against the LangServe route of `nanoscale serve`.

    python examples/embedding.py "docker says port is already allocated"
    python examples/embedding.py --remote http://127.0.0.1:8000/graph/ "EC2 cannot pull image from ECR"
"""

from __future__ import annotations

import argparse

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from nanoscale import Settings, build_graph


class TicketState(TypedDict, total=False):
    """Your app's state; the keys it shares with the troubleshooter are passed through."""

    question: str
    answer: str
    sources: list
    summary: str


def summarise(state: TicketState) -> dict:
    cited = ", ".join(s["source"] for s in state.get("sources", [])[:3])
    return {"summary": f"{state['answer'][:200]} (sources: {cited or 'none'})"}


def build_ticket_app(settings: Settings | None = None, resources=None):
    """A tiny ticket triage app: the troubleshooter answers, then a node of ours summarises."""
    app = StateGraph(TicketState)
    app.add_node("troubleshoot", build_graph(settings, checkpointer=None, resources=resources))
    app.add_node("summarise", summarise)
    app.add_edge(START, "troubleshoot")
    app.add_edge("troubleshoot", "summarise")
    app.add_edge("summarise", END)
    return app.compile(checkpointer=InMemorySaver())


def ask_remote(url: str, message: str, thread_id: str | None = None) -> dict:
    """One turn through the LangServe route of a running `nanoscale serve`."""
    from langserve import RemoteRunnable

    return RemoteRunnable(url).invoke({"message": message, "thread_id": thread_id})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("question")
    parser.add_argument("--remote", help="LangServe route, e.g. http://127.0.0.1:8000/graph/")
    args = parser.parse_args()
    if args.remote:
        print(ask_remote(args.remote, args.question))
        return
    result = build_ticket_app().invoke(
        {"question": args.question}, {"configurable": {"thread_id": "ticket-1"}}
    )
    print(result.get("summary") or result)


if __name__ == "__main__":
    main()
