"""The signal node: which slots (region, logs, endpoint...) the conversation still lacks."""

from __future__ import annotations

from nanoscale.config import GraphSettings
from nanoscale.inputs import clean_text
from nanoscale.signals import extract_slots, missing_slots
from nanoscale.state import State


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
        "findings": [],
        "contradictions": [],
        "revised": [],
        "revisions": 0,
        "generated_tokens": 0,
        "revise": False,
    }


def signals(state: State, *, settings: GraphSettings) -> dict:
    """Decide what to ask next. A slot is never asked twice; after the turn limit, nothing is."""
    question = clean_text(state["question"], "question", settings.max_question_chars)
    known = {k: v for k, v in (state.get("slots") or {}).items() if v}
    slots = {**extract_slots(question), **known}
    conversation = "\n".join([question, *state.get("replies", [])])
    wanted = missing_slots(conversation, slots, settings.slot_decision)
    asked = state.get("asked", [])
    pending = (
        []
        if state.get("turns", 0) >= settings.max_clarification_turns
        else [slot for slot in wanted if slot not in asked]
    )
    return {"question": question, "slots": slots, "pending": pending, "missing": wanted, "asked": asked}


def route_after_signals(state: State) -> str:
    return "clarify" if state.get("pending") else "retrieve"
