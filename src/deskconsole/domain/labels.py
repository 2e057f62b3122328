"""How the domain's vocabularies read to people: one table of plain-text labels.

Keyed by the domain's enums (lifecycle.py, timers.py), so a value added there without a label
here fails tests/unit/test_labels.py. Plain text only, no colours: the console styles these
(tui/format.py), the command line may print them. The stored and typed values stay the enum
values (`in_progress`, `auto_close`); these are what a screen shows in their place.
"""

from __future__ import annotations

from deskconsole.domain.lifecycle import EscalationState, Priority, Role, Status, SubStatus
from deskconsole.domain.timers import TimerKind

# A status in a narrow column ("awaiting confirm" fits 18 cells with a sub-status).
STATUS: dict[Status, str] = {
    Status.NEW: "new",
    Status.IN_PROGRESS: "in progress",
    Status.PENDING: "pending",
    Status.AWAITING_CONFIRMATION: "awaiting confirm",
    Status.REOPENED: "reopened",
    Status.UPDATE_RECEIVED: "update received",
    Status.CLOSED: "closed",
}

# What a pending case waits on: in full (forms, detail) and after `pending/` in a column.
SUB_STATUS: dict[SubStatus, str] = {
    SubStatus.CUSTOMER_INPUT: "customer input",
    SubStatus.DEVELOPMENT: "development",
    SubStatus.SCHEDULED_SERVICE: "scheduled service",
    SubStatus.THIRD_PARTY: "third party",
}
SUB_STATUS_SHORT: dict[SubStatus, str] = {
    SubStatus.CUSTOMER_INPUT: "customer",
    SubStatus.DEVELOPMENT: "development",
    SubStatus.SCHEDULED_SERVICE: "scheduled",
    SubStatus.THIRD_PARTY: "third party",
}

PRIORITY: dict[Priority, str] = {p: p.value for p in Priority}  # P1 (most urgent) .. P4

ROLE: dict[Role, str] = {Role.ANALYST: "analyst", Role.MANAGER: "manager", Role.SUPERVISOR: "supervisor"}

# A timer's kind: in full (countdowns, notices), in a narrow column (queue's "next"), and as
# "what happens next" on a case (before its countdown).
TIMER_KIND: dict[TimerKind, str] = {
    TimerKind.AUTO_CLOSE: "auto close",
    TimerKind.REMINDER: "reminder",
    TimerKind.FOLLOWUP: "followup",
    TimerKind.STATUS_UPDATE: "status update",
    TimerKind.SLA_WARNING: "SLA warning",
    TimerKind.SLA_BREACH: "SLA breach",
}
TIMER_KIND_SHORT: dict[TimerKind, str] = {
    TimerKind.AUTO_CLOSE: "close",
    TimerKind.REMINDER: "remind",
    TimerKind.FOLLOWUP: "follow-up",
    TimerKind.STATUS_UPDATE: "update",
    TimerKind.SLA_WARNING: "sla warn",
    TimerKind.SLA_BREACH: "sla due",
}
TIMER_KIND_NEXT: dict[TimerKind, str] = {**TIMER_KIND_SHORT, TimerKind.AUTO_CLOSE: "auto-close"}

# An escalation's state as a badge in a narrow column.
ESCALATION_BADGE: dict[EscalationState, str] = {
    EscalationState.REQUESTED: "▲ asked",
    EscalationState.APPROVED: "▲▲ ESC",
    EscalationState.DENIED: "denied",
    EscalationState.DE_ESCALATED: "de-esc",
}

# Outbox message kinds in a narrow column (others: the kind with spaces).
OUTBOX_KIND_SHORT: dict[str, str] = {
    "awaiting_confirmation": "awaiting confirm",
    "escalation_requested": "esc. requested",
    "escalation_approved": "esc. approved",
    "escalation_denied": "esc. denied",
    "status_update_due": "status upd. due",
    "de_escalated": "de-escalated",
}


def label(table: dict, value: object) -> str:
    """`value`'s label in `table`; a value the table does not know (data from a newer version)
    reads as itself with spaces for underscores."""
    text = str(value)
    found = table.get(value)
    if found is None:
        found = table.get(text)  # StrEnum keys match their plain string values
    return found if found is not None else text.replace("_", " ")


def status_label(status: str, sub_status: str | None = None) -> str:
    """`pending/customer`, `awaiting confirm`, `in progress` (the narrow form)."""
    text = label(STATUS, status)
    if sub_status:
        text += "/" + label(SUB_STATUS_SHORT, sub_status)
    return text


__all__ = [
    "ESCALATION_BADGE", "OUTBOX_KIND_SHORT", "PRIORITY", "ROLE", "STATUS", "SUB_STATUS", "SUB_STATUS_SHORT",
    "TIMER_KIND", "TIMER_KIND_NEXT", "TIMER_KIND_SHORT", "label", "status_label",
]
