"""What firing a timer does to a case (LIFECYCLE.md, Timers), as effects (domain/effects.py).

`fire` answers for every kind of timer; the service writes its answer (service/effects.py, for
one timer or a chunk of them) and the bulk desk builder expands the per-kind functions below
over the cases it makes (bulk/lives.py). A late timer takes effect as of its due time: its event
is at `due`; `fired` is when the tick processed it.

The service-level timers (sla_warning, sla_breach) are domain/sla_steps.py's: their firing is one
SlaFiring effect that the service's service-level part carries out with those steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from deskconsole.domain.effects import (
    CaseChange,
    Effect,
    Event,
    Move,
    Outbox,
    SlaFiring,
    Slot,
    StartTimer,
    When,
    day,
    iso,
)
from deskconsole.domain.lifecycle import EscalationState, Status
from deskconsole.domain.timers import Durations, TimerKind

REMINDER_ATTENTION = "chase by phone: customer input overdue"
STATUS_UPDATE_ATTENTION = "daily escalation status update due"
TIMER_ACTOR = "timer"


@dataclass(frozen=True)
class CaseFacts:
    """What a firing or a status move (domain/moves.py) reads of its case (plain values, or Slots
    for the bulk builder)."""

    id: int | Slot
    title: str
    customer: str
    address: str  # whom the customer's messages go to (its contact, or customer:NAME)
    status: str
    sub_status: str | None = None
    attention: str | None = None
    resolution: str | None = None


@dataclass(frozen=True)
class EscalationFacts:
    """The case's open escalation, as a status update's firing reads it."""

    state: str
    to: str  # whom the update is owed by: its engineer, else its manager, else "managers"


def stamp(kind: TimerKind, due: When, fired: When) -> dict[str, str]:
    """The data of a firing's timer_fired event."""
    return {"timer": kind.value, "due": iso(due), "fired": iso(fired)}


def reminder(case: CaseFacts, due: When, fired: When, closes: When, asked: Mapping[str, str]) -> list[Effect]:
    """The reminder of a customer_input stay: the case flagged for a call, the customer reminded,
    quoting what they were asked (`asked`: {"question": TEXT} and/or {"asked_outside": HOW}) and
    saying when the case closes (`closes`)."""
    return [
        CaseChange(TIMER_ACTOR, due, "sent the customer a reminder", {"attention": REMINDER_ATTENTION}),
        Event("timer_fired", TIMER_ACTOR, due, {**stamp(TimerKind.REMINDER, due, fired), **asked}),
        Outbox("reminder", case.address, {"case": case.id, "title": case.title, "close_date": day(closes),
                                          "question": asked.get("question"),
                                          "asked_outside": asked.get("asked_outside")}),
    ]


def auto_close_reason(status: str) -> str:
    return ("auto-closed: resolution not confirmed in time" if status == Status.AWAITING_CONFIRMATION
            else "auto-closed: no customer input in time")


def auto_close(case: CaseFacts, due: When, fired: When) -> list[Effect]:
    """The case closed by the timer, for want of a confirmation or of the customer's input."""
    return [
        Event("timer_fired", TIMER_ACTOR, due, stamp(TimerKind.AUTO_CLOSE, due, fired)),
        Move(Status.CLOSED, None, TIMER_ACTOR, due, reason=auto_close_reason(case.status)),
    ]


def followup(case: CaseFacts, due: When, fired: When) -> list[Effect]:
    """The day after a close: the customer asked whether anything is still wrong."""
    return [
        Event("timer_fired", TIMER_ACTOR, due, stamp(TimerKind.FOLLOWUP, due, fired)),
        Outbox("followup", case.address, {"case": case.id, "title": case.title}),
    ]


def status_update(case: CaseFacts, due: datetime, fired: datetime, durations: Durations,
                  escalation: EscalationFacts | None) -> list[Effect]:
    """An approved escalation's daily update is due: the case flagged, whoever owes it told, and the
    next one armed (the first due after `fired`, on the same daily beat). Nothing but the event
    once the escalation is no longer approved or the case is closed."""
    effects: list[Effect] = [Event("timer_fired", TIMER_ACTOR, due, stamp(TimerKind.STATUS_UPDATE, due, fired))]
    if escalation is None or escalation.state != EscalationState.APPROVED or case.status == Status.CLOSED:
        return effects
    step = durations.escalation_status_update
    following = due + step
    while following <= fired:
        following += step
    return effects + [
        CaseChange(TIMER_ACTOR, due, "flagged the daily status update as due", {"attention": STATUS_UPDATE_ATTENTION}),
        Outbox("status_update_due", escalation.to, {"case": case.id, "title": case.title, "customer": case.customer}),
        StartTimer(TimerKind.STATUS_UPDATE, following - step, step),
    ]


def fire(case: CaseFacts, kind: TimerKind, due: datetime, fired: datetime, durations: Durations, *,
         asked: Mapping[str, str] | None = None, escalation: EscalationFacts | None = None) -> list[Effect]:
    """The effects of firing a timer of `kind` due at `due`, processed at `fired`. A reminder needs
    what the customer was asked (`asked`), a status update the case's open escalation."""
    if kind is TimerKind.REMINDER:
        closes = due + durations.customer_input_close - durations.customer_input_reminder
        return reminder(case, due, fired, closes, asked or {})
    if kind is TimerKind.AUTO_CLOSE:
        return auto_close(case, due, fired)
    if kind is TimerKind.FOLLOWUP:
        return followup(case, due, fired)
    if kind is TimerKind.STATUS_UPDATE:
        return status_update(case, due, fired, durations, escalation)
    if kind in (TimerKind.SLA_WARNING, TimerKind.SLA_BREACH):
        return [SlaFiring(kind, due, stamp(kind, due, fired))]
    raise ValueError(f"no rule for firing a {kind.value} timer")
