"""Statuses, transitions, priorities and roles of the support-case life cycle."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from deskconsole.domain.errors import InvalidInput, InvalidTransition


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    PENDING = "pending"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    REOPENED = "reopened"
    UPDATE_RECEIVED = "update_received"
    CLOSED = "closed"


class SubStatus(StrEnum):
    CUSTOMER_INPUT = "customer_input"
    DEVELOPMENT = "development"
    SCHEDULED_SERVICE = "scheduled_service"
    THIRD_PARTY = "third_party"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Severity(StrEnum):
    PRODUCTION_DOWN = "production_down"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Role(StrEnum):
    ANALYST = "analyst"
    MANAGER = "manager"
    SUPERVISOR = "supervisor"


class Availability(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"


class EscalationState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DENIED = "denied"
    DE_ESCALATED = "de_escalated"


OPEN_ESCALATION_STATES = frozenset({EscalationState.REQUESTED, EscalationState.APPROVED})
OPEN_STATUSES = frozenset(s for s in Status if s is not Status.CLOSED)

SEVERITY_PRIORITY = {
    Severity.PRODUCTION_DOWN: Priority.P1,
    Severity.HIGH: Priority.P2,
    Severity.NORMAL: Priority.P3,
    Severity.LOW: Priority.P4,
}

# Analyst actions: where each status may go next. `pending` → `pending` means a
# change of sub-status; `closed` is reachable from every open status with a reason.
ANALYST_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.PENDING, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.PENDING, Status.AWAITING_CONFIRMATION, Status.CLOSED}),
    Status.PENDING: frozenset({Status.IN_PROGRESS, Status.PENDING, Status.AWAITING_CONFIRMATION, Status.CLOSED}),
    Status.REOPENED: frozenset({Status.IN_PROGRESS, Status.PENDING, Status.AWAITING_CONFIRMATION, Status.CLOSED}),
    Status.UPDATE_RECEIVED: frozenset(
        {Status.IN_PROGRESS, Status.PENDING, Status.AWAITING_CONFIRMATION, Status.CLOSED}
    ),
    Status.AWAITING_CONFIRMATION: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
}

# Where a customer reply takes a case; statuses not listed keep their status.
REPLY_TARGET = {
    Status.AWAITING_CONFIRMATION: Status.REOPENED,
    Status.PENDING: Status.UPDATE_RECEIVED,
}


_E = TypeVar("_E", bound=StrEnum)


def parse_enum(enum: type[_E], value: str | None, what: str) -> _E:
    if value is not None:
        try:
            return enum(value)
        except ValueError:
            pass
    allowed = ", ".join(m.value for m in enum)
    raise InvalidInput(f"unknown {what} {value!r} (one of: {allowed})")


def allowed_next(status: Status) -> list[str]:
    order = list(Status)
    return [s.value for s in sorted(ANALYST_TRANSITIONS[status], key=order.index)]


def describe_refusal(case_id: int, status: Status, target: str) -> str:
    nexts = allowed_next(status)
    allowed = ", ".join(nexts) if nexts else "none (closed cases never change; clone to start new work)"
    return f"case {case_id} is {status.value}: cannot move to {target}; allowed next: {allowed}"


def check_move(
    case_id: int,
    status: Status,
    sub_status: SubStatus | None,
    target: Status,
    target_sub: SubStatus | None,
    note: str | None,
    reason: str | None = None,
    *,
    asked_outside: str | None = None,
) -> None:
    """Raise unless an analyst may take the case from (status, sub_status) to target.

    Asking the customer (pending/customer_input) needs the question, which is sent to them (`note`),
    unless `asked_outside` records how it was already asked (phone, chat, ...)."""
    if target not in ANALYST_TRANSITIONS[status]:
        raise InvalidTransition(describe_refusal(case_id, status, target.value))
    if target is Status.PENDING:
        if target_sub is None:
            subs = ", ".join(s.value for s in SubStatus)
            raise InvalidInput(f"case {case_id}: pending needs a sub-status (one of: {subs})")
        if status is Status.PENDING and sub_status is target_sub:
            others = ", ".join(f"pending/{s.value}" for s in SubStatus if s is not target_sub)
            nexts = ", ".join(n for n in allowed_next(status) if n != Status.PENDING)
            raise InvalidTransition(
                f"case {case_id} is already pending/{target_sub.value}; allowed next: {nexts}, {others}"
            )
    elif target_sub is not None:
        raise InvalidInput(f"case {case_id}: only pending takes a sub-status, not {target.value}")
    asking = target is Status.PENDING and target_sub is SubStatus.CUSTOMER_INPUT
    if asked_outside is not None and not asking:
        raise InvalidInput(
            f"case {case_id}: --asked-outside is only for asking the customer (pending/customer_input)",
            console="'Already asked' is only for asking the customer (waiting on customer input).",
        )
    if asking and asked_outside is None and not (note and note.strip()):
        raise InvalidInput(
            f"case {case_id}: pending/customer_input needs the question sent to the customer "
            f"(--note QUESTION), or --asked-outside HOW when it was already asked by phone or otherwise",
            console="Write the question to send the customer, or choose how it was already asked "
                    "(by phone or otherwise).",
        )
    if target is Status.AWAITING_CONFIRMATION and not (note and note.strip()):
        raise InvalidInput(f"case {case_id}: awaiting_confirmation needs the resolution (--note)",
                           console="Write the resolution to send the customer.")
    if target is Status.CLOSED and not (reason and reason.strip()):
        raise InvalidInput(f"case {case_id}: closing needs a reason")


def raise_priority(priority: Priority) -> Priority:
    order = list(Priority)
    return order[max(0, order.index(priority) - 1)]
