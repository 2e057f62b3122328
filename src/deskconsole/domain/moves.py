"""What a status move writes (LIFECYCLE.md, Statuses and Timers), as effects (domain/effects.py).

`enter` answers for every move into a status, whoever makes it (an analyst's move or close, a
customer's reply or confirmation, a timer's auto-close, a merge): the timers it cancels (the case's
pending ones, as given) and starts, its status_changed event and what that event records, the
case's fields, and the messages entering the status sends. The service writes the answer
(service/base.py `_enter`, through service/effects.py) and the bulk desk builder expands it over
the cases it makes (bulk/lives.py), with Slots for the seed row's cells.

Service levels, routing, the undo window's bookkeeping and a new resolution's draft article are
the service's, around the move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from deskconsole.domain.effects import CancelTimers, CaseChange, Effect, Event, Outbox, StartTimer, Survey, When, day
from deskconsole.domain.firing import CaseFacts
from deskconsole.domain.lifecycle import Status, SubStatus
from deskconsole.domain.timers import STATUS_TIMERS, Durations, TimerKind, timers_for

CHASE = "chase"  # the start of the attention flag the reminder sets: it ends when the case leaves the status


def label(status: Status, sub_status: SubStatus | None) -> str:
    """A status as the case's last change names it: `pending/customer_input`."""
    return status.value + (f"/{sub_status.value}" if sub_status else "")


def cancelled(pending: Sequence[tuple[int, str]], kinds: frozenset[TimerKind] | None) -> list[tuple[int, str]]:
    """The pending timers (id, kind) of these kinds (None: all), in the order given."""
    return [(timer_id, kind) for timer_id, kind in pending if kinds is None or kind in kinds]


def enter(
    case: CaseFacts,
    pending: Sequence[tuple[int, str]],
    status: Status,
    sub_status: SubStatus | None,
    actor: str,
    at: When,
    durations: Durations,
    *,
    resolution: str | None = None,
    reason: str | None = None,
    question: str | None = None,
    event_kind: str = "status_changed",
    quiet: bool = False,
    hold_until: datetime | None = None,
    data: Mapping[str, Any] | None = None,
    closes: When | None = None,
) -> list[Effect]:
    """The effects of `case` entering (status, sub_status), by `actor` as of `at`.

    `pending`: the case's pending timers (id, kind), in the order they were started. Leaving a
    status cancels the timers tied to it (every timer, on a close); the event records their kinds.
    Entering pending/customer_input, `question` is what the customer is asked (the event's text):
    sent to them unless `data` says it was asked outside the desk (asked_outside=HOW). Entering
    awaiting_confirmation, `resolution` is the event's text and the message's, which says the day
    the case closes without an answer (`closes`: when the auto-close it starts falls due; not given,
    `at` plus its duration; the bulk builder gives its seed cell). A close's `reason`
    is the event's text; it sends the survey (held until `hold_until`: an agent's close, for its
    undo window) and starts the follow-up, unless `quiet` (a merge: nothing sent after it).
    `data`: more of the event's values (cause, asked, reference, ...)."""
    data = data or {}
    previous = (case.status, case.sub_status)
    sub = sub_status.value if sub_status else None
    leaving = previous != (status.value, sub)
    effects: list[Effect] = []
    stopped: list[tuple[int, str]] = []
    if status is Status.CLOSED or leaving:
        kinds = None if status is Status.CLOSED else STATUS_TIMERS
        stopped = cancelled(pending, kinds)
        effects.append(CancelTimers(kinds, at, tuple(timer_id for timer_id, _ in stopped)))
    fields: dict[str, Any] = {"status": status.value, "sub_status": sub}
    if resolution is not None:
        fields["resolution"] = resolution
    if leaving and case.attention and case.attention.startswith(CHASE):
        fields["attention"] = None  # the reminder's chase flag ends with customer_input
    if status is Status.CLOSED:
        fields.update(close_reason=reason, closed_at=at, attention=None)
    effects.append(CaseChange(actor, at, f"moved it to {label(status, sub_status)}", fields))
    body = resolution if status is Status.AWAITING_CONFIRMATION else question if question else reason
    event_data = {"from": previous[0], "from_sub_status": previous[1], "to": status.value, "sub_status": sub,
                  **({"cancelled_timers": [kind for _, kind in stopped]} if stopped else {}), **data}
    effects.append(Event(event_kind, actor, at, event_data, body))
    if not quiet:
        effects += [StartTimer(kind, at, delay) for kind, delay in timers_for(status, sub_status, durations)]
    if status is Status.AWAITING_CONFIRMATION:
        if closes is None:
            assert isinstance(at, datetime), "a move as of a seed cell says when its auto-close falls due"
            closes = at + durations.awaiting_confirmation_close
        effects.append(Outbox("awaiting_confirmation", case.address, {
            "case": case.id, "title": case.title,
            "resolution": resolution if resolution is not None else case.resolution,
            "close_date": day(closes)}))
    if question and "asked_outside" not in data:
        effects.append(Outbox("question", case.address, {"case": case.id, "title": case.title, "question": question}))
    if status is Status.CLOSED and not quiet:
        effects += [Survey(case.address, at),
                    Outbox("survey", case.address, {"case": case.id, "title": case.title}, hold_until)]
    return effects
