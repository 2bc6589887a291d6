"""The clarification turn: a real LangGraph interrupt that asks for the missing slots.

The run pauses in the checkpointer; `Command(resume=reply)` brings the user's reply back here,
where it is parsed into slots. An empty reply leaves the slots unasked, so they are asked again
(within the turn limit); "I don't know" marks them declined so they are never asked twice.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.types import interrupt

from nanoscale.config import GraphSettings
from nanoscale.inputs import clean_text
from nanoscale.prompts import clarification_question
from nanoscale.signals import api, aws
from nanoscale.state import State

_DECLINE = re.compile(
    r"^\s*(i\s+)?(don'?t|do not|dunno|can'?t|cannot)\s+(know|tell|say|share)\b|^\s*(no idea|not sure|"
    r"unknown|n/?a|skip|none|no|nope|idk)\s*[.!]?\s*$",
    re.IGNORECASE,
)


def parse_reply(reply: str, pending: list[str]) -> dict[str, str]:
    """Slot values found in a reply to a clarification question."""
    if _DECLINE.search(reply):
        return {}
    text = reply.strip()
    found: dict[str, str | None] = {
        "region": aws.find_region(text),
        "account": aws.find_account(text),
        "endpoint": api.find_endpoint(text),
        "method": api.find_method(text) or (text.upper() if text.upper() in api.METHODS else None),
        "auth": api.find_auth(text),
    }
    services = aws.find_services(text)
    found["service"] = services[0] if services else (text if len(text) <= 60 else None)
    if "logs" in pending:
        found["logs"] = text
    return {slot: value for slot, value in found.items() if value and (slot in pending or slot == "region")}


def reply_text(resume: Any) -> str:
    """A resume value may be the reply itself or {"reply": ...}."""
    if isinstance(resume, dict):
        return str(resume.get("reply", ""))
    return resume if isinstance(resume, (str, bytes)) else str(resume)


def apply_reply(state: State, pending: list[str], resume: Any, settings: GraphSettings) -> dict:
    """The state update a reply makes: its slots, what was asked, what was declined.

    Apart from the interrupt so the signals-only evaluation plays turns exactly as the graph does.
    """
    if isinstance(resume, dict) and "slots" in resume:
        given = {k: str(v) for k, v in resume["slots"].items() if v}
        reply = "; ".join(f"{k}: {v}" for k, v in given.items())
    else:
        reply = clean_text(reply_text(resume), "reply", settings.max_reply_chars, allow_empty=True)
        given = parse_reply(reply, pending) if reply else {}
    turn = {"turns": state.get("turns", 0) + 1}
    if not reply:
        return turn
    declined = [slot for slot in pending if slot not in given]
    return {
        **turn,
        "slots": {**state.get("slots", {}), **given},
        "asked": [*state.get("asked", []), *pending],
        "declined": [*state.get("declined", []), *declined],
        "replies": [*state.get("replies", []), reply],
    }


def clarify(state: State, *, settings: GraphSettings) -> dict:
    pending = state["pending"]
    conversation = "\n".join([state["question"], *state.get("replies", [])])
    resume = interrupt({"slots": pending, "question": clarification_question(pending, conversation)})
    return apply_reply(state, pending, resume, settings)
