"""The delivery worker: sends due outbox rows by e-mail, at least once, never silently dropping one.

One pass (`deliver_once`) works through the rows that are due, oldest first:

1. Claim a row with a conditional UPDATE in its own short transaction: only a
   row still `queued` and due (`next_attempt_at` empty or past), or `sending`
   with an expired lease (`claimed_until` past: a worker stopped mid-send), is
   taken. The claim sets `state=sending`, `claimed_until=now+lease`,
   `attempts+1` and, the first time, `message_id`. Several workers (threads,
   processes, machines) therefore never send a row at the same time: the
   database lets exactly one claim win.
2. Render and send outside any transaction.
3. Mark the row: `sent` (with `sent_at`); or back to `queued` with
   `next_attempt_at = now + backoff` for a temporary failure (4xx answer,
   server unreachable, connection dropped); or `failed` with the server's
   answer for a permanent one (5xx) or when `max_attempts` are used up.

A worker that stops between 2 and 3 leaves the row `sending`; once its lease
runs out the next pass sends it again with the same Message-ID
(`<cCASE.oID.TOKEN@DOMAIN>`, fixed at the first claim; see message_id_for), so a receiver can
recognise the duplicate. That is the at-least-once promise.

The lease is never outrun by a slow server: the transport gives up on a message
at its deadline (DESKCONSOLE_SMTP_DEADLINE, at most 4 minutes against the
5-minute lease) and the row is retried later like any temporary failure. A pass
asked to stop (`stop` set, or the transport aborted by SIGTERM or Ctrl-C) puts
the row it was sending back as it was, `queued`, the attempt not counted; so
does deskconsole's own refusal to send a password without TLS. The server's
acceptance alone marks a row `sent`.

Recipients. `Outbox.to` is an e-mail address, or a label. Labels are resolved
when the row is claimed: `customer:NAME` uses the case's contact address;
`managers` goes to every manager with an e-mail address; any other label is an
agent's name and uses that agent's e-mail address. A row whose recipient has no
address is marked `failed` with `last_error` saying so: it stays visible in the
Outbox view and `deskconsole outbox list`, never dropped. `requeue()` puts failed
rows back once the address is known.

Time comes from the injected clock only; nothing here sleeps except `watch`
between passes.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, and_, func, or_, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from deskconsole.delivery.smtp_url import DEADLINE_ENV, DEFAULT_FROM, SmtpConfig, is_address, smtp_config_from_env
from deskconsole.delivery.templates import STAFF_KINDS, Rendered, one_line, render
from deskconsole.delivery.transport import Failure, SmtpTransport, Transport, classify
from deskconsole.domain.clock import Clock, format_time, to_utc
from deskconsole.domain.errors import InvalidInput
from deskconsole.store.models import Agent, Case, Event, Outbox, Timer
from deskconsole.store.watch import announce, note_write

log = logging.getLogger("deskconsole.delivery")

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
DEFAULT_BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
MAX_ERROR = 2000


@dataclass(frozen=True)
class DeliveryOptions:
    sender: str = DEFAULT_FROM
    lease: timedelta = timedelta(minutes=5)
    backoff: tuple[timedelta, ...] = DEFAULT_BACKOFF
    max_attempts: int = 8  # with the default backoff: about two days of trying
    batch: int = 100  # rows looked at per pass
    token: Callable[[], str] = lambda: secrets.token_urlsafe(12)  # the random part of each Message-ID

    def wait_after(self, attempts: int) -> timedelta:
        return self.backoff[min(max(attempts, 1), len(self.backoff)) - 1]

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2] or "localhost"


@dataclass
class DeliveryResult:
    """What a pass did with one row."""

    outbox: int
    case: int
    kind: str
    to: str
    state: str  # sent | queued (will retry) | failed
    attempts: int
    message_id: str | None
    recipients: list[str] = field(default_factory=list)
    error: str | None = None
    next_attempt_at: datetime | None = None
    server_unavailable: bool = False  # the mail server could not be used at all: the pass stopped here
    interrupted: bool = False  # the pass was stopped (SIGTERM, Ctrl-C) while this row was being sent

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("server_unavailable")
        data.pop("interrupted")
        data["next_attempt_at"] = format_time(self.next_attempt_at)
        return data


@dataclass
class _Claim:
    row: Outbox
    message: EmailMessage | None
    recipients: list[str]
    problem: str | None  # why it cannot be sent at all


# ------------------------------------------------------------------ claiming
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


def message_id_for(case_id: int, row_id: int, domain: str, token: str | None = None) -> str:
    """The row's Message-ID, `<cCASE.oROW.TOKEN@DOMAIN>` with a random TOKEN: fixed at the first
    claim and stored on the row, so it is the same for every attempt to send it. Inbound mail
    (deskconsole.mail) threads a reply to its case only by an id that is exactly one of these
    stored ones, so nobody outside can make one up."""
    return f"<c{case_id}.o{row_id}.{token or secrets.token_urlsafe(12)}@{domain}>"


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
    """One write transaction of the worker. On PostgreSQL the cases its writes named (`note_write`)
    go out to the consoles listening when it commits, so their Outbox panes show the new state."""
    with Session(engine, expire_on_commit=False) as s, s.begin():
        yield s
        if engine.dialect.name == "postgresql":
            announce(s)  # (nothing when nothing was written)


def _claim(engine: Engine, clock: Clock, row_id: int, created_at: datetime, opts: DeliveryOptions) -> _Claim | None:
    now = to_utc(clock.now())
    with _writing(engine) as s:
        case_id = s.exec(select(Outbox.case_id).where(Outbox.id == row_id)).first()
        if case_id is None:
            return None
        won = cast("CursorResult[Any]", s.execute(  # (an UPDATE's result has a rowcount)
            update(Outbox)
            .where(and_(col(Outbox.id) == row_id, _due(now)))
            .values(
                state=SENDING,
                claimed_until=now + opts.lease,
                attempts=col(Outbox.attempts) + 1,
                message_id=func.coalesce(
                    col(Outbox.message_id), message_id_for(case_id, row_id, opts.domain, opts.token())
                ),
            )
            .execution_options(synchronize_session=False)
        )).rowcount
        if won != 1:
            return None
        row = s.exec(select(Outbox).where(Outbox.id == row_id)).one()
        s.refresh(row)
        note_write(s, row.case_id)
        if row.attempts > opts.max_attempts:
            # Claimed again and again without ever being marked: workers keep stopping mid-send.
            row.state = FAILED
            row.claimed_until = None
            row.last_error = (
                f"gave up after {row.attempts - 1} attempts: delivery was interrupted each time "
                f"(it may have reached the recipient); last error: {row.last_error or 'none'}"
            )[:MAX_ERROR]
            return _Claim(row, None, [], row.last_error)
        case = s.get(Case, row.case_id)
        try:
            assert case is not None, f"case {row.case_id} of outbox row {row.id} exists"  # (a foreign key)
            recipients, problem = _recipients(s, row, case)
            if not problem:
                rendered = rendered_row(s, row, case)
                message = build_message(row, case, rendered, recipients, opts, now)
        except Exception as exc:  # one unbuildable row must not block the rows after it
            log.exception("cannot build the message for outbox row %s", row.id)
            problem = f"could not build the message: {type(exc).__name__}: {exc}"[:MAX_ERROR]
        if problem:
            row.state = FAILED
            row.claimed_until = None
            row.last_error = problem
            return _Claim(row, None, [], problem)
        return _Claim(row, message, recipients, None)


def _recipients(s: Session, row: Outbox, case: Case) -> tuple[list[str], str | None]:
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


_CLOSE_DATE_KINDS = frozenset({"awaiting_confirmation", "reminder"})  # the kinds whose text says when it closes


def rendered_row(s: Session, row: Outbox, case: Case) -> Rendered:
    """The message an outbox row is (or was) sent as: its template in the case's language, filled."""
    return render(
        row.kind, case.language if row.kind not in STAFF_KINDS else None, _values(s, row, case),
        fallback_subject=row.subject, fallback_body=row.body,
    )


def _values(s: Session, row: Outbox, case: Case) -> dict[str, Any]:
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
        "status": case.status.replace("_", " "),
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


def build_message(
    row: Outbox, case: Case, rendered: Rendered, recipients: Sequence[str], opts: DeliveryOptions, now: datetime
) -> EmailMessage:
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = rendered.subject
    msg["From"] = opts.sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(to_utc(now))
    msg["Message-ID"] = row.message_id
    # Every message about a case names the same thread root, so mail programs group them.
    msg["References"] = f"<case-{case.id}@{opts.domain}>"
    if row.kind == "closed_reply":  # an answer to the customer's own message (RFC 3834)
        msg["Auto-Submitted"] = "auto-replied"
    elif row.kind not in ("comment", "status_update"):
        msg["Auto-Submitted"] = "auto-generated"
    msg["X-Deskconsole-Case"] = str(case.id)
    msg["X-Deskconsole-Kind"] = one_line(row.kind, 40)
    msg["X-Deskconsole-Outbox"] = str(row.id)
    if row.kind == "survey":
        # How the desk records the customer's answer, for whoever reads the reply.
        msg["X-Deskconsole-Survey-Answer"] = (
            f'deskconsole ingest <<< \'{{"type": "survey.answered", "case": {case.id}, "score": N}}\''
        )
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    msg["Content-Language"] = rendered.language  # after the body: setting content drops Content-* headers
    return msg


# ------------------------------------------------------------------ marking
def _finish(engine: Engine, row: Outbox, **values: Any) -> bool:
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


def _mark_sent(engine: Engine, row: Outbox, now: datetime, note: str | None) -> None:
    # Delivered is the truth even if the lease ran out meanwhile and another worker took the row.
    with _writing(engine) as s:
        note_write(s, row.case_id)
        s.execute(
            update(Outbox)
            .where(and_(col(Outbox.id) == row.id, col(Outbox.state) != SENT))
            .values(state=SENT, sent_at=now, claimed_until=None, next_attempt_at=None, last_error=note)
            .execution_options(synchronize_session=False)
        )


def _result(row: Outbox, state: str, recipients: list[str], error: str | None = None,
            next_at: datetime | None = None) -> DeliveryResult:
    return DeliveryResult(
        outbox=cast(int, row.id), case=row.case_id,  # (a stored row's id: never None)
        kind=row.kind, to=row.to, state=state, attempts=row.attempts,
        message_id=row.message_id, recipients=recipients, error=error, next_attempt_at=next_at,
    )


def _release(engine: Engine, row: Outbox, error: str, recipients: list[str]) -> DeliveryResult:
    """Put a claimed row back as it was before the claim: queued, due as before, the attempt not counted."""
    error = error[:MAX_ERROR]
    _finish(engine, row, state=QUEUED, claimed_until=None, attempts=row.attempts - 1, last_error=error)
    result = _result(row, QUEUED, recipients, error, row.next_attempt_at)
    result.attempts = row.attempts - 1
    return result


def _after_failure(engine: Engine, row: Outbox, failure: Failure, now: datetime, opts: DeliveryOptions,
                   recipients: list[str]) -> DeliveryResult:
    error = failure.error[:MAX_ERROR]
    if failure.temporary and row.attempts < opts.max_attempts:
        next_at = now + opts.wait_after(row.attempts)
        _finish(engine, row, state=QUEUED, claimed_until=None, next_attempt_at=next_at, last_error=error)
        return _result(row, QUEUED, recipients, error, next_at)
    if failure.temporary:
        error = f"gave up after {row.attempts} attempts: {error}"[:MAX_ERROR]
    _finish(engine, row, state=FAILED, claimed_until=None, next_attempt_at=None, last_error=error)
    return _result(row, FAILED, recipients, error)


# ------------------------------------------------------------------ passes
def deliver_once(
    engine: Engine,
    clock: Clock,
    transport: Transport,
    options: DeliveryOptions | None = None,
    *,
    limit: int | None = None,
    after_send: Callable[[Outbox], None] | None = None,
    stop: threading.Event | None = None,
    on_result: Callable[[DeliveryResult], None] | None = None,
) -> list[DeliveryResult]:
    """One pass over the due rows (at most `limit`, default options.batch). Returns what happened to each.

    `on_result` hears of each row as soon as what happened to it is recorded: should the database
    fail part way (a full disk), the pass ends with that error, and the rows heard of before are
    exactly those recorded. A message the server accepted whose `sent` could not be recorded ends
    the pass with InvalidInput saying so: the row stays `sending` and is sent again, with the same
    Message-ID, once its claim runs out.

    `after_send(row)` runs after the server accepted a message and before the row
    is marked sent; an exception there ends the pass with the row left `sending`
    (what a crash at that moment leaves behind). Once `stop` is set no further row
    is claimed; to end the send in progress too, abort the transport as well
    (SmtpTransport.abort, what SIGTERM does in `deskconsole deliver`).
    """
    opts = options or DeliveryOptions()
    results: list[DeliveryResult] = []

    def done(result: DeliveryResult) -> DeliveryResult:
        results.append(result)
        if on_result is not None:
            on_result(result)
        return result

    try:
        for row_id, created_at in due_rows(engine, to_utc(clock.now()), limit or opts.batch):
            if stop is not None and stop.is_set():
                break
            claim = _claim(engine, clock, row_id, created_at, opts)
            if claim is None:
                continue  # another worker has it
            row = claim.row
            if claim.message is None:
                done(_result(row, FAILED, [], claim.problem))
                continue
            try:
                refused = transport.send(claim.message, opts.sender, claim.recipients) or {}
            except KeyboardInterrupt:
                # Ctrl-C where no handler turns it into an abort: the row goes back before the pass ends.
                _release(engine, row, "delivery was interrupted before the server accepted the message",
                         claim.recipients)
                raise
            except Exception as exc:  # noqa: BLE001 - classify() re-raises what is not a delivery error
                failure = classify(exc)
                if failure.release:
                    result = _release(engine, row, failure.error, claim.recipients)
                else:
                    result = _after_failure(engine, row, failure, to_utc(clock.now()), opts, claim.recipients)
                result.interrupted = failure.interrupted
                result.server_unavailable = failure.transport and not failure.interrupted
                done(result)
                if failure.interrupted or failure.transport:
                    # stopped on request, or the server is unreachable: the other rows wait for the next run
                    break
                continue
            if after_send is not None:
                after_send(row)
            note = None
            if refused:
                note = "some recipients refused: " + "; ".join(
                    f"{rcpt}: {code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
                    for rcpt, (code, msg) in refused.items()
                )
                note = note[:MAX_ERROR]
            try:
                _mark_sent(engine, row, to_utc(clock.now()), note)
            except DBAPIError as exc:
                raise InvalidInput(
                    f"outbox row {row.id} (case {row.case_id}, {row.kind}) was accepted by the mail server, but "
                    f"recording it sent failed: {getattr(exc, 'orig', None) or exc}; it stays 'sending' and "
                    f"is sent again with the same Message-ID once its claim runs out"
                ) from exc
            done(_result(row, SENT, claim.recipients, note))
    finally:
        transport.close()
    return results


def requeue(engine: Engine, clock: Clock, ids: Sequence[int] | None = None) -> list[int]:
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
                .values(state=QUEUED, attempts=0, next_attempt_at=to_utc(clock.now()), claimed_until=None)
                .execution_options(synchronize_session=False)
            )
            note_write(s, None)  # (their cases are not looked up: every console's Outbox pane reloads)
        return found


def watch(
    engine: Engine,
    clock: Clock,
    transport: Transport,
    options: DeliveryOptions | None = None,
    *,
    interval: float = 30.0,
    stop: threading.Event | None = None,
    on_results: Callable[[list[DeliveryResult]], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """Pass after pass until `stop` is set: a full batch goes straight on, otherwise wait `interval` seconds.

    A failing pass (the database away, say) is reported to `on_error` and tried again after the interval.
    """
    opts = options or DeliveryOptions()
    stop = stop or threading.Event()
    while not stop.is_set():
        recorded: list[DeliveryResult] = []
        try:
            results = deliver_once(engine, clock, transport, opts, stop=stop, on_result=recorded.append)
        except Exception as exc:  # keep the watch alive; report and wait
            if recorded and on_results is not None:
                on_results(recorded)  # the rows whose outcome was recorded before the failure (a full disk)
            if on_error is None:
                log.exception("delivery pass failed")
            else:
                on_error(exc)
            results = []
        if results and on_results is not None:
            on_results(results)
        if len(results) >= opts.batch:
            continue
        stop.wait(interval)


# ------------------------------------------------------------------ wiring
LEASE_MARGIN = timedelta(seconds=30)  # between the end of a send's deadline and the end of its lease


def options_from_config(config: SmtpConfig, **overrides: Any) -> DeliveryOptions:
    """The worker's options for this server. The transport's deadline must end well inside the lease, or a slow
    send could outlast its claim and a second worker send the row again."""
    options = DeliveryOptions(sender=config.sender, **overrides)
    if timedelta(seconds=config.deadline) + LEASE_MARGIN > options.lease:
        raise InvalidInput(
            f"{DEADLINE_ENV} ({config.deadline:g} s) must end at least {LEASE_MARGIN.seconds} s before the "
            f"delivery lease ({options.lease.total_seconds():g} s) runs out"
        )
    return options


class Deliverer:
    """Delivery for one database, ready to run: what the console's background worker holds.

        deliverer = Deliverer.from_env(engine, clock)   # None: delivery is off
        if deliverer: results = deliverer.run_once()
    """

    def __init__(self, engine: Engine, clock: Clock, transport: Transport, options: DeliveryOptions) -> None:
        self.engine = engine
        self.clock = clock
        self.transport = transport
        self.options = options
        self._lock = threading.Lock()

    @classmethod
    def from_env(
        cls, engine: Engine, clock: Clock, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Deliverer | None:
        """Configured from DESKCONSOLE_SMTP_URL (and friends); None when no SMTP URL is set."""
        config = smtp_config_from_env(environ)
        if config is None:
            return None
        return cls(engine, clock, SmtpTransport(config), options_from_config(config, **overrides))

    def run_once(self, *, limit: int | None = None) -> list[DeliveryResult]:
        with self._lock:
            return deliver_once(self.engine, self.clock, self.transport, self.options, limit=limit)

    def watch(self, **kwargs: Any) -> None:
        watch(self.engine, self.clock, self.transport, self.options, **kwargs)
