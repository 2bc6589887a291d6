"""The signal node: which slots (region, logs, endpoint...) the conversation still lacks."""

from __future__ import annotations

from nanoscale.config import GraphSettings
from nanoscale.inputs import clean_text
from nanoscale.state import State
from nanoscale.tools import api, aws, logs


def extract_slots(text: str) -> dict[str, str]:
    """Slot values stated in the text itself."""
    found = {
        "region": aws.find_region(text) if aws.is_aws_question(text) or aws.find_region(text) else None,
        "account": aws.find_account(text),
        "endpoint": api.find_endpoint(text) if api.is_api_problem(text) else None,
        "method": api.find_method(text) if api.is_api_problem(text) else None,
        "auth": api.find_auth(text) if api.is_api_problem(text) else None,
    }
    return {name: value for name, value in found.items() if value}


def missing_slots(text: str, slots: dict[str, str]) -> list[str]:
    """Every slot the AWS, logs and API signals want and the conversation does not hold."""
    wanted = aws.missing_slots(text, slots) + logs.missing_slots(text, slots) + api.missing_slots(text, slots)
    return list(dict.fromkeys(wanted))


def begin(state: State) -> dict:
    """A new question on a thread starts a fresh clarification round; known slots carry over."""
    return {
        "asked": [],
        "declined": [],
        "replies": [],
        "turns": 0,
        "pending": [],
        "missing": [],
        "documents": [],
        "observations": [],
        "answer": "",
        "sources": [],
        "unsupported_sentences": [],
        "supported_sentences": [],
        "invalid_aws_actions": [],
    }


def signals(state: State, *, settings: GraphSettings) -> dict:
    """Decide what to ask next. A slot is never asked twice; after the turn limit, nothing is."""
    question = clean_text(state["question"], "question", settings.max_question_chars)
    known = {k: v for k, v in (state.get("slots") or {}).items() if v}
    slots = {**extract_slots(question), **known}
    conversation = "\n".join([question, *state.get("replies", [])])
    wanted = missing_slots(conversation, slots)
    asked = state.get("asked", [])
    pending = (
        []
        if state.get("turns", 0) >= settings.max_clarification_turns
        else [slot for slot in wanted if slot not in asked]
    )
    return {"question": question, "slots": slots, "pending": pending, "missing": wanted, "asked": asked}


def route_after_signals(state: State) -> str:
    return "clarify" if state.get("pending") else "retrieve"
