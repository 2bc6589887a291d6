"""Signals: pure detection of what a conversation states and what it still lacks.

Each module reads text only (no I/O, no model): `aws` (region, account, service, resources),
`logs` (a failure without its error text), `api` (endpoint, method, auth). A new signal is a
module here whose `missing_slots` joins the list below.
"""

from __future__ import annotations

from nanoscale.signals import api, aws, classifier, logs
from nanoscale.state import SLOTS


def extract_slots(text: str) -> dict[str, str]:
    """Slot values stated in the text itself."""
    api_problem = api.is_api_problem(text)
    found = {
        "region": aws.find_region(text) if aws.is_aws_question(text) or aws.find_region(text) else None,
        "account": aws.find_account(text),
        "endpoint": api.find_endpoint(text) if api_problem else None,
        "method": api.find_method(text) if api_problem else None,
        "auth": api.find_auth(text) if api_problem else None,
    }
    return {name: value for name, value in found.items() if value}


DECISIONS = ("classifier", "rules", "union")


def missing_slots(text: str, slots: dict[str, str], decision: str = "rules") -> list[str]:
    """The slots to ask for that the conversation does not hold.

    `rules`: the AWS, logs and API detectors; `classifier`: the learned slot model
    (classifier.py, trained on data/signals); `union`: either one asking is enough.
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown slot decision '{decision}'; known: {', '.join(DECISIONS)}")
    wanted: list[str] = []
    if decision in ("rules", "union"):
        wanted += aws.missing_slots(text, slots) + logs.missing_slots(text, slots) + api.missing_slots(text, slots)
    if decision in ("classifier", "union"):
        wanted += classifier.needed_slots(text, present=[*classifier.present_slots(text), *slots])
    order = {slot: index for index, slot in enumerate(SLOTS)}
    return sorted(dict.fromkeys(wanted), key=lambda slot: order.get(slot, len(order)))
