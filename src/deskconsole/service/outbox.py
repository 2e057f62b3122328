"""The outbox's delivery ledger: which rows may be sent now, the claim on one, and what became of it.

The delivery worker (deskconsole.delivery.worker) sends; these functions are its only way to the
database. Each is one short transaction of its own, so a slow mail server never holds a lock:

    due_rows(engine, now, limit)        rows that may be claimed now, oldest first
    claim(engine, now, row_id, ...)     take one row (a conditional UPDATE: one claimant wins),
                                        resolve its recipients and build its message
    finish(engine, row, **values)       record the outcome, if the claim is still this worker's
    mark_sent(engine, row, now, note)   the server accepted it: sent, whoever holds the claim
    requeue(engine, now, ids)           failed rows back in the queue

A row may be claimed when it is `queued`, due (`next_attempt_at` empty or past) and not held for
an undo window (`hold_until`, service/undo.py); or `sending` with its claim run out (a worker
stopped mid-send). The claim sets `sending`, `claimed_until = now + lease`, `attempts + 1` and,
the first time, the row's Message-ID. Every write names its case to the change feed, so the
consoles' Outbox panes follow.

What a message says is rendered from the row's kind and the values gathered here
(`message_values`: those the row was queued with, the rest from its case and event) by
deskconsole.domain.templates: the worker's e-mail and `outbox list`'s subject and body are the
same text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, and_, func, or_, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from deskconsole.domain.clock import to_utc
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.mail import is_address
from deskconsole.domain.templates import STAFF_KINDS, Rendered, render
from deskconsole.store.models import Agent, Case, Event, Outbox, Timer
from deskconsole.store.watch import announce, note_write

log = logging.getLogger("deskconsole.delivery")

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
MAX_ERROR = 2000  # characters of a server's answer kept on the row

__all__ = ["Engine"]  # (named for the worker's signatures)

OutboxRow = Outbox  # the stored row, detached: what the worker holds between its claim and its mark
CaseRow = Case


@dataclass
class Claim:
    """A row this worker now holds: its message, built, or why it cannot be sent (then it is already
    marked `failed`)."""

    row: Outbox
    message: Any
    recipients: list[str]
    problem: str | None


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            col(Outbox.state) == QUEUED,
            or_(col(Outbox.next_attempt_at).is_(None), col(Outbox.next_attempt_at) <= now),
            # held for the undo window of an agent's close: never before it ends (service/undo.py)
            or_(col(Outbox.hold_until).is_(None), col(Outbox.hold_until) <= now),
        ),
        and_(col(Outbox.state) == SENDING, col(Outbox.claimed_until) < now),
    )


def due_rows(engine: Engine, now: datetime, limit: int) -> list[tuple[int, datetime]]:
    """(id, created_at) of rows that may be claimed now, oldest first."""
    with Session(engine.execution_options(deskconsole_readonly=True)) as s, s.begin():
        return [
            (rid, created)
            for rid, created in s.exec(
                select(Outbox.id, Outbox.created_at).where(_due(to_utc(now))).order_by(col(Outbox.id)).limit(limit)
            ).all()
            if rid is not None  # (a stored row's id never is)
        ]


@contextmanager
def _writing(engine: Engine) -> Iterator[Session]:
    """One write transaction of the ledger. On PostgreSQL the cases its writes named (`note_write`)
    go out to the consoles listening when it commits, so their Outbox panes show the new state."""
    with Session(engine, expire_on_commit=False) as s, s.begin():
        yield s
        if engine.dialect.name == "postgresql":
            announce(s)  # (nothing when nothing was written)


def claim(
    engine: Engine,
    now: datetime,
    row_id: int,
    *,
    lease: timedelta,
    max_attempts: int,
    message_id: Callable[[int, int], str],
    build: Callable[[Outbox, Case, list[str], Rendered], Any],
) -> Claim | None:
    """Claim row `row_id` if it may be claimed now; None when it may not (another worker has it).

    `message_id(case_id, row_id)` makes the row's Message-ID the first time it is claimed (it is
    kept for every later attempt). `build(row, case, recipients, rendered)` makes the message to
    send; should it fail, or the recipients have no address, or the row have been claimed more than
    `max_attempts` times, the row is marked `failed` with the reason in the same transaction."""
    now = to_utc(now)
    with _writing(engine) as s:
        case_id = s.exec(select(Outbox.case_id).where(Outbox.id == row_id)).first()
        if case_id is None:
            return None
        won = cast("CursorResult[Any]", s.execute(  # (an UPDATE's result has a rowcount)
            update(Outbox)
            .where(and_(col(Outbox.id) == row_id, _due(now)))
            .values(
                state=SENDING,
                claimed_until=now + lease,
                attempts=col(Outbox.attempts) + 1,
                message_id=func.coalesce(col(Outbox.message_id), message_id(case_id, row_id)),
            )
            .execution_options(synchronize_session=False)
        )).rowcount
        if won != 1:
            return None
        row = s.exec(select(Outbox).where(Outbox.id == row_id)).one()
        s.refresh(row)
        note_write(s, row.case_id)
        if row.attempts > max_attempts:
            # Claimed again and again without ever being marked: workers keep stopping mid-send.
            row.state = FAILED
            row.claimed_until = None
            row.last_error = (
                f"gave up after {row.attempts - 1} attempts: delivery was interrupted each time "
                f"(it may have reached the recipient); last error: {row.last_error or 'none'}"
            )[:MAX_ERROR]
            return Claim(row, None, [], row.last_error)
        case = s.get(Case, row.case_id)
        message = None
        try:
            assert case is not None, f"case {row.case_id} of outbox row {row.id} exists"  # (a foreign key)
            recipients, problem = _recipients(s, row, case)
            if not problem:
                message = build(row, case, recipients, rendered(s, row, case))
        except Exception as exc:  # one unbuildable row must not block the rows after it
            log.exception("cannot build the message for outbox row %s", row.id)
            recipients, problem = [], f"could not build the message: {type(exc).__name__}: {exc}"[:MAX_ERROR]
        if problem:
            row.state = FAILED
            row.claimed_until = None
            row.last_error = problem
            return Claim(row, None, [], problem)
        return Claim(row, message, recipients, None)


def _recipients(s: Session, row: Outbox, case: Case) -> tuple[list[str], str | None]:
    """The addresses `row.to` names: an address; `customer:NAME` (the case's contact); `managers`
    (every manager with an address); or an agent's name. Or why there are none."""
    to = row.to.strip()
    if is_address(to):
        return [to], None
    if to.startswith("customer:"):
        if case.contact and is_address(case.contact.strip()):
            return [case.contact.strip()], None
        return [], (
            f"no e-mail address for {to}: case {case.id} has no contact address "
            f"(the message stays here; tell the customer another way)"
        )
    if to == "managers":
        found = s.exec(
            select(Agent.email).where(Agent.role == "manager", col(Agent.email).is_not(None)).order_by(Agent.name)
        ).all()
        emails = [e.strip() for e in found if e and is_address(e.strip())]
        if emails:
            return emails, None
        return [], "no e-mail address for managers: no manager has one (add an e-mail address to a manager)"
    agent = s.exec(select(Agent).where(Agent.name == to)).first()
    if agent is None:
        return [], f"no e-mail address for {to!r}: not an address and no agent has that name"
    if agent.email and is_address(agent.email.strip()):
        return [agent.email.strip()], None
    return [], f"no e-mail address for agent {to}: add one to deliver messages to them"


# what a message says that may change between its queueing and its sending: read when it is sent (a
# reminder of a case that has since left customer_input no longer says when it closes)
_LIVE = frozenset({"close_date"})
_CLOSE_DATE_KINDS = frozenset({"awaiting_confirmation", "reminder"})  # the kinds whose text says when it closes


def rendered(s: Session, row: Outbox, case: Case) -> Rendered:
    """The message an outbox row is (or was) sent as: its template in the case's language, filled."""
    return render(
        row.kind, case.language if row.kind not in STAFF_KINDS else None, message_values(s, row, case),
        fallback_subject=row.subject, fallback_body=row.body,
    )


def message_values(s: Session, row: Outbox, case: Case) -> dict[str, Any]:
    """What the row's template is filled with: the values the row was queued with (its
    template_values: a message of the domain's rules, domain/effects.py), over what the case, the
    event that queued the row, and (for the kinds that say when the case closes) the pending
    auto-close say."""
    derived = _derived_values(s, row, case)
    if row.template_values:
        try:
            kept = json.loads(row.template_values)
        except ValueError:
            kept = None
        if isinstance(kept, dict):
            derived.update((name, value) for name, value in kept.items() if name in derived and name not in _LIVE)
    return derived


def _derived_values(s: Session, row: Outbox, case: Case) -> dict[str, Any]:
    event = s.get(Event, row.event_id)
    data: dict[str, Any] = {}
    if event is not None and event.data:
        try:
            loaded = json.loads(event.data)
            data = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            data = {}
    close_due = s.exec(
        select(func.min(Timer.due_at)).where(
            Timer.case_id == case.id, Timer.kind == "auto_close", Timer.state == "pending"
        )
    ).first() if row.kind in _CLOSE_DATE_KINDS else None
    actor = event.actor if event is not None else None
    return {
        "case": case.id,
        "title": case.title,
        "customer": case.customer,
        "priority": case.priority,
        "status": case.status,
        "resolution": (event.body if event is not None and row.kind == "awaiting_confirmation" else None)
        or case.resolution,
        "close_date": to_utc(close_due).strftime("%Y-%m-%d") if close_due else None,
        "agent": actor,
        "requested_by": actor,
        "decided_by": actor,
        "body": row.body,
        "reason": event.body if event is not None else None,
        "engineer": data.get("engineer"),
        "comm_mode": data.get("comm_mode"),
        "comm_frequency": data.get("comm_frequency"),
        "reference": data.get("reference") or case.engineering_ref,
        # the question sent (its status change's text), or the one a reminder quotes
        "question": (event.body if event is not None and row.kind == "question" else data.get("question")),
        "asked_outside": data.get("asked_outside") if row.kind == "reminder" else None,
    }


def finish(engine: Engine, row: Outbox, **values: Any) -> bool:
    """Write the outcome if this worker still holds the claim (same attempt number)."""
    with _writing(engine) as s:
        held = cast("CursorResult[Any]", s.execute(  # (an UPDATE's result has a rowcount)
            update(Outbox)
            .where(and_(col(Outbox.id) == row.id, col(Outbox.state) == SENDING, col(Outbox.attempts) == row.attempts))
            .values(**values)
            .execution_options(synchronize_session=False)
        )).rowcount == 1
        if held:
            note_write(s, row.case_id)
    return held


def mark_sent(engine: Engine, row: Outbox, now: datetime, note: str | None) -> None:
    """The server accepted the message. Delivered is the truth even if the claim ran out meanwhile
    and another worker took the row. Should the database refuse to record it (a full disk), that is
    InvalidInput saying what it means: the row stays `sending` and goes again once its claim runs out."""
    try:
        with _writing(engine) as s:
            note_write(s, row.case_id)
            s.execute(
                update(Outbox)
                .where(and_(col(Outbox.id) == row.id, col(Outbox.state) != SENT))
                .values(state=SENT, sent_at=now, claimed_until=None, next_attempt_at=None, last_error=note)
                .execution_options(synchronize_session=False)
            )
    except DBAPIError as exc:
        raise InvalidInput(
            f"outbox row {row.id} (case {row.case_id}, {row.kind}) was accepted by the mail server, but "
            f"recording it sent failed: {getattr(exc, 'orig', None) or exc}; it stays 'sending' and "
            f"is sent again with the same Message-ID once its claim runs out"
        ) from exc


def requeue(engine: Engine, now: datetime, ids: Sequence[int] | None = None) -> list[int]:
    """Put failed rows (all, or those in `ids`) back in the queue for another round of attempts.

    The Message-ID stays, so a message that did arrive before is still recognisable.
    """
    with _writing(engine) as s:
        query = select(Outbox.id).where(Outbox.state == FAILED)
        if ids is not None:
            query = query.where(col(Outbox.id).in_(list(ids)))
        found = [i for i in s.exec(query.order_by(col(Outbox.id))).all() if i is not None]  # (stored: never None)
        if found:
            s.execute(
                update(Outbox)
                .where(and_(col(Outbox.id).in_(found), col(Outbox.state) == FAILED))
                .values(state=QUEUED, attempts=0, next_attempt_at=to_utc(now), claimed_until=None)
                .execution_options(synchronize_session=False)
            )
            note_write(s, None)  # (their cases are not looked up: every console's Outbox pane reloads)
        return found
