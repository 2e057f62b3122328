"""The one writer of effects (domain/effects.py): what the domain's rules say a step writes, written
through the action's prepared statements (service/records.py), on both databases.

`apply` writes one case's effects in order, within its action (the case's CaseRecord, written when
the action ends). `apply_many` writes the effects of many cases set-based, one statement per kind
of row (the tick's runs of reminders and follow-ups): the same rows, grouped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, update
from sqlmodel import Session

from deskconsole.domain.effects import (
    CancelTimers,
    CaseChange,
    Effect,
    Event,
    Move,
    Outbox,
    SlaFiring,
    Slot,
    StartTimer,
    Survey,
)
from deskconsole.domain.views import os_login_beside
from deskconsole.service.records import (
    _INSERT_SURVEY,
    MAX_SHORT,
    CaseRecord,
    Written,
    _db,
    _db_time,
    _event_data,
    _template_values,
)
from deskconsole.store.models import Case
from deskconsole.store.models import Event as EventRow
from deskconsole.store.models import Outbox as OutboxRow
from deskconsole.store.watch import note_write

if TYPE_CHECKING:
    from deskconsole.service.base import ServiceBase


def _at(value: datetime | Slot) -> datetime:
    assert isinstance(value, datetime), "the service writes instants (Slots are the bulk builder's)"
    return value


def apply(svc: ServiceBase, s: Session, case: CaseRecord, effects: Sequence[Effect]) -> Written | None:
    """Write one case's effects, in order; an Outbox row belongs to the event written last before it.
    The event written last is returned."""
    event: Written | None = None
    for effect in effects:
        if isinstance(effect, Event):
            event = svc._event(s, case, effect.kind, effect.actor, _at(effect.at), effect.body, **effect.data)
        elif isinstance(effect, CaseChange):
            for name, value in effect.fields.items():
                setattr(case, name, _db_time(value) if isinstance(value, datetime) else value)
            svc._touch(case, effect.actor, effect.change, _at(effect.at))
        elif isinstance(effect, Outbox):
            assert event is not None, "a message follows the event it is queued for"
            svc._outbox(s, case, event, effect.kind, effect.to, *effect.text(), values=effect.values,
                        hold_until=None if effect.hold_until is None else _at(effect.hold_until))
        elif isinstance(effect, Move):
            event = svc._enter(s, case, effect.status, effect.sub_status, effect.actor, _at(effect.at),
                               reason=effect.reason)
        elif isinstance(effect, StartTimer):
            svc._start_timer(s, case, effect.kind, _at(effect.start), effect.delay)
        elif isinstance(effect, CancelTimers):
            if effect.ids is None:
                svc._cancel_timers(s, case, effect.kinds, _at(effect.at))
            else:
                svc._cancel_timer_ids(s, case, effect.ids, _at(effect.at))
        elif isinstance(effect, Survey):
            # (nobody reads its id: in a batch on PostgreSQL it waits in the pipeline)
            _db(s).insert_later(_INSERT_SURVEY, {"case_id": case.id, "sent_at": _db_time(_at(effect.at)),
                                                 "to": effect.to})
        elif isinstance(effect, SlaFiring):
            svc._fire_sla(s, case, effect.kind, effect.due, dict(effect.stamp))  # service levels (sla.py)
        else:  # pragma: no cover - every kind of effect is above
            raise TypeError(f"not an effect: {effect!r}")
    return event


# (SQLModel leaves a table model's __table__ untyped)
_CASES_T, _EVENTS_T, _OUTBOX_T = Case.__table__, EventRow.__table__, OutboxRow.__table__  # type: ignore[attr-defined]
_INSERT_EVENTS = insert(_EVENTS_T).returning(_EVENTS_T.c.id, sort_by_parameter_order=True)
_INSERT_OUTBOX = insert(_OUTBOX_T)


def apply_many(svc: ServiceBase, s: Session, batch: Sequence[tuple[int, Sequence[Effect]]]) -> None:
    """Write the effects of several cases (case id, its effects) set-based: every event in one
    insert, every message in one, each set of case fields changed in one update. Only events,
    messages and case changes (what reminders and follow-ups write); the cases' rows are not in
    the session (their CaseRecords, if any, were written before)."""
    recorded, created = svc.real_now(), _db_time(svc.now())
    login = svc.os_login
    logins: dict[str, str | None] = {}
    events: list[dict[str, Any]] = []
    for case_id, effects in batch:
        note_write(s, case_id)  # (PostgreSQL: the consoles hear which cases changed)
        for effect in effects:
            if isinstance(effect, Event):
                row = {"case_id": case_id, "at": _db_time(_at(effect.at)), "recorded_at": recorded,
                       "actor": effect.actor, "kind": effect.kind, "body": effect.body,
                       "data": _event_data(effect.data) if effect.data else None}
                if login is not None:
                    if effect.actor not in logins:
                        logins[effect.actor] = os_login_beside(login, effect.actor)
                    row["os_login"] = logins[effect.actor]
                events.append(row)
            elif not isinstance(effect, (Outbox, CaseChange)):
                raise TypeError(f"not written set-based: {effect!r}")
    event_ids = iter(s.execute(_INSERT_EVENTS, events).scalars().all() if events else ())
    outbox: list[dict[str, Any]] = []
    changes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for case_id, effects in batch:
        event_id: int | None = None
        for effect in effects:
            if isinstance(effect, Event):
                event_id = next(event_ids)
            elif isinstance(effect, Outbox):
                assert event_id is not None, "a message follows the event it is queued for"
                subject, body = effect.text()
                outbox.append({
                    "case_id": case_id, "event_id": event_id, "kind": effect.kind, "to": effect.to,
                    "subject": subject, "body": body, "created_at": created, "state": "queued", "sent_at": None,
                    "attempts": 0, "next_attempt_at": None, "last_error": None, "message_id": None,
                    "claimed_until": None, "template_values": _template_values(effect.values),
                })
            elif isinstance(effect, CaseChange):
                changes.setdefault(tuple(sorted(effect.fields)), []).append({
                    "b_id": case_id, "b_at": _db_time(_at(effect.at)), "b_actor": effect.actor,
                    "b_change": effect.change[:MAX_SHORT], **{f"b_{k}": v for k, v in effect.fields.items()},
                })
    if outbox:
        s.execute(_INSERT_OUTBOX, outbox)
    latest = func.greatest if svc._pg else func.max
    for fields, rows in changes.items():
        # as _touch: version + 1, updated_at never moves back (a late timer is as of its due time)
        s.execute(
            update(_CASES_T)
            .where(_CASES_T.c.id == bindparam("b_id"))
            .values(
                version=_CASES_T.c.version + 1,
                updated_at=latest(_CASES_T.c.updated_at, bindparam("b_at", type_=_CASES_T.c.updated_at.type)),
                last_actor=bindparam("b_actor"),
                last_change=bindparam("b_change"),
                **{name: bindparam(f"b_{name}") for name in fields},
            ),
            rows,
        )
