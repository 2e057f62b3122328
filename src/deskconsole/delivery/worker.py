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

import logging
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from typing import Any, cast

from deskconsole.delivery.smtp_url import DEADLINE_ENV, DEFAULT_FROM, SmtpConfig, smtp_config_from_env
from deskconsole.delivery.transport import Failure, SmtpTransport, Transport, classify
from deskconsole.domain.clock import Clock, format_time, to_utc
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.templates import Rendered, one_line
from deskconsole.service import outbox as ledger
from deskconsole.service.outbox import FAILED, MAX_ERROR, QUEUED, SENDING, SENT, CaseRow, Engine, OutboxRow
from deskconsole.service.outbox import due_rows as due_rows
from deskconsole.service.outbox import requeue as _requeue

log = logging.getLogger("deskconsole.delivery")

__all__ = ["FAILED", "QUEUED", "SENDING", "SENT"]  # (the row states, named here for the worker's callers)
DEFAULT_BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)


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


# ------------------------------------------------------------------ claiming
def message_id_for(case_id: int, row_id: int, domain: str, token: str | None = None) -> str:
    """The row's Message-ID, `<cCASE.oROW.TOKEN@DOMAIN>` with a random TOKEN: fixed at the first
    claim and stored on the row, so it is the same for every attempt to send it. Inbound mail
    (deskconsole.mail) threads a reply to its case only by an id that is exactly one of these
    stored ones, so nobody outside can make one up."""
    return f"<c{case_id}.o{row_id}.{token or secrets.token_urlsafe(12)}@{domain}>"


def _claim(engine: Engine, clock: Clock, row_id: int, opts: DeliveryOptions) -> ledger.Claim | None:
    now = to_utc(clock.now())

    def build(row: OutboxRow, case: CaseRow, recipients: list[str], rendered: Rendered) -> EmailMessage:
        return build_message(row, case, rendered, recipients, opts, now)

    return ledger.claim(
        engine, now, row_id, lease=opts.lease, max_attempts=opts.max_attempts, build=build,
        message_id=lambda case_id, rid: message_id_for(case_id, rid, opts.domain, opts.token()),
    )


def build_message(
    row: OutboxRow, case: CaseRow, rendered: Rendered, recipients: Sequence[str], opts: DeliveryOptions,
    now: datetime,
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
def _finish(engine: Engine, row: OutboxRow, **values: Any) -> bool:
    return ledger.finish(engine, row, **values)


def _result(row: OutboxRow, state: str, recipients: list[str], error: str | None = None,
            next_at: datetime | None = None) -> DeliveryResult:
    return DeliveryResult(
        outbox=cast(int, row.id), case=row.case_id,  # (a stored row's id: never None)
        kind=row.kind, to=row.to, state=state, attempts=row.attempts,
        message_id=row.message_id, recipients=recipients, error=error, next_attempt_at=next_at,
    )


def _release(engine: Engine, row: OutboxRow, error: str, recipients: list[str]) -> DeliveryResult:
    """Put a claimed row back as it was before the claim: queued, due as before, the attempt not counted."""
    error = error[:MAX_ERROR]
    _finish(engine, row, state=QUEUED, claimed_until=None, attempts=row.attempts - 1, last_error=error)
    result = _result(row, QUEUED, recipients, error, row.next_attempt_at)
    result.attempts = row.attempts - 1
    return result


def _after_failure(engine: Engine, row: OutboxRow, failure: Failure, now: datetime, opts: DeliveryOptions,
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
    after_send: Callable[[OutboxRow], None] | None = None,
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
        for row_id, _created in due_rows(engine, to_utc(clock.now()), limit or opts.batch):
            if stop is not None and stop.is_set():
                break
            claim = _claim(engine, clock, row_id, opts)
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
            ledger.mark_sent(engine, row, to_utc(clock.now()), note)
            done(_result(row, SENT, claim.recipients, note))
    finally:
        transport.close()
    return results


def requeue(engine: Engine, clock: Clock, ids: Sequence[int] | None = None) -> list[int]:
    """Put failed rows (all, or those in `ids`) back in the queue for another round of attempts.

    The Message-ID stays, so a message that did arrive before is still recognisable.
    """
    return _requeue(engine, to_utc(clock.now()), ids)


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
