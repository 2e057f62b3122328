"""Which events of a case's timeline are its conversation with the customer.

The conversation is what passed between the customer and the desk: the customer's
messages (the case opened, replies, a confirmation, however they came: e-mail,
ingest, phone or console) and what the desk said to them (comments, the question
sent when the case waits on the customer, the resolution). Everything else is the
internal trail: notes, status changes, assignments, timers, escalation steps.
Plain data: the service filters windows with it, the console labels with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Events that are always a message between the customer and the desk.
MESSAGE_KINDS = frozenset({"opened", "customer_replied", "customer_confirmed", "comment"})
# A status change is a message when it carried text to the customer: the resolution given, or the
# question asked (sent, or asked by phone or otherwise).
STATUS_CHANGED = "status_changed"
# Every kind that may be part of the conversation (the database narrows a window to these first).
CANDIDATE_KINDS = MESSAGE_KINDS | {STATUS_CHANGED}


def is_conversation(kind: str, data: Mapping[str, Any] | None, body: str | None) -> bool:
    """Whether an event belongs to the conversation with the customer."""
    if kind in MESSAGE_KINDS:
        return True
    if kind != STATUS_CHANGED or not body:
        return False
    d = data or {}
    return d.get("to") == "awaiting_confirmation" or d.get("asked") == "message" or bool(d.get("asked_outside"))


def from_customer(kind: str) -> bool:
    """Whether a conversation event is the customer's words (otherwise the desk's)."""
    return kind in ("opened", "customer_replied", "customer_confirmed")


__all__ = ["CANDIDATE_KINDS", "MESSAGE_KINDS", "from_customer", "is_conversation"]
