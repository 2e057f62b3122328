"""Batches of actions in one transaction (what ingest runs), and the ingest progress marks.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from deskconsole.domain.clock import to_utc
from deskconsole.domain.lifecycle import Status
from deskconsole.domain.timers import TimerKind
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import _CASE_IDS, _write_cases, action_state
from deskconsole.store.prepared import Runner, defer_inserts, flush_deferred, writes_sent
from deskconsole.store.watch import TrackedSession, announce, session_writes

if TYPE_CHECKING:
    from deskconsole.service import Service
    from deskconsole.service.routing import RoutingMemo


# PostgreSQL: between a batch's actions its kept rows go to the server without waiting once this many
# statements' rows are kept (about 16 lines of ingest: enough rows for statements of many rows, soon
# enough that the server stores them while the next lines are worked out)
PUSH_AT = 128


class CaseIds:
    """PostgreSQL: case numbers drawn ahead from the case table's sequence, for the lines an ingest
    run expects to open new cases (so a new case's row can wait in the pipeline with the rows after
    it, instead of a round trip for its number). Handed out in order; the numbers a rolled-back batch
    handed out are handed out again (nobody else is given them), so a run leaves no gap in the case
    numbers but one per line it expected to open a case and that was refused. Keep one per run and
    give it to each batch (Service.batch(case_ids=...))."""

    __slots__ = ("free", "lent", "wanted")

    def __init__(self) -> None:
        self.free: list[int] = []  # drawn, not handed out (ascending)
        self.lent: list[int] = []  # handed out in the current batch
        self.wanted = 0  # new cases the current batch's lines may still open

    def expect(self, count: int, *, more: bool = False) -> None:
        """The lines the next batch reads ahead for open this many new cases (ingest's peek); `more`:
        the lines after those, read ahead for in the middle of the batch."""
        self.wanted = self.wanted + count if more else count

    def take(self, db: Runner) -> int | None:
        """The next number for a new case, or None (none expected: let the insert draw it)."""
        if not self.free:
            if self.wanted <= 0:
                return None
            self.free = sorted(row[0] for row in db.all(_CASE_IDS, {"n": self.wanted}))
        self.wanted -= 1
        case_id = self.free.pop(0)
        self.lent.append(case_id)
        return case_id

    def ended(self, *, committed: bool) -> None:
        """The batch committed (its numbers are used) or rolled back (they are free again)."""
        if not committed:
            self.free = sorted(self.free + self.lent)
        self.lent = []


class Batch:
    """One batch() of actions: its session, and `service`, the Service whose actions join it
    (a copy of the one batch() was called on, bound to this batch until the block ends; the
    original, and other threads using it, go on acting in transactions of their own)."""

    def __init__(
        self, service: Service, session: Session, light: bool, routing: RoutingMemo | None, savepoints: bool,
        case_ids: CaseIds | None = None,
    ) -> None:
        self.service: Service = copy.copy(service)
        self.service._batch = self
        self.session = session
        self.failed_without_savepoint = False
        self.light = light
        self.routing = routing
        self.case_ids = case_ids if service._pg else None  # (numbers for new cases drawn ahead: CaseIds)
        self.savepoints = savepoints
        self._pg = service._pg
        # case id -> its sla_metric rows, read ahead for the batch's lines (SlaMixin.prefetch_sla)
        self.ahead: dict[int, list[Any]] = {}
        # case id -> its pending timers, read ahead likewise (taken by ServiceBase._pending_of)
        self.timers_ahead: dict[int, list[Any]] = {}
        # case id -> its row ({column: value}), read ahead likewise (taken by case_ahead)
        self.cases_ahead: dict[int, dict[str, Any]] = {}
        self.agents: dict[str, Any] = {}  # agent name -> its Agent in the batch's session (ServiceBase._agent)
        # case id -> what its customer was asked (TimerMixin._asked), for the cases whose reminder is
        # due when the batch reads ahead: taken by the first reminder fired for the case
        self.asked_ahead: dict[int, dict[str, str]] = {}
        self.timer_ids: list[int] = []  # PostgreSQL: ids taken for new timers, not used yet (see SlaMixin)

    def prefetch(self, case_ids: Sequence[int]) -> None:
        """Read what the batch's next actions on these cases will read, in a few statements for all
        of them (their pending timers and service-level history: SlaMixin.prefetch_sla)."""
        if case_ids:
            self.service.prefetch_sla(self.session, case_ids)
            # what the reminders due on them will say (the question asked), in one statement for all
            now = self.service.now()
            due = [case_id for case_id in case_ids for _, due_at, kind in self.timers_ahead.get(case_id, ())
                   if kind == TimerKind.REMINDER and to_utc(due_at) <= now]
            if due:
                asked = self.service._asked(self.session, due)
                self.asked_ahead.update((case_id, asked.get(case_id, {})) for case_id in due)

    def case_ahead(self, case_id: int) -> dict[str, Any] | None:
        """The case's row as the batch read it ahead (locked on PostgreSQL), the first time an action
        of the batch reads the case (every write of a case's row follows such a read); else None."""
        return self.cases_ahead.pop(case_id, None)

    def alive(self) -> bool:
        """Whether the batch's transaction still exists in the database (see
        store.engine.transaction_alive): after a failure, SQLite may have rolled it back by itself
        (a full disk), or PostgreSQL aborted it; then nothing of the batch can be committed."""
        from deskconsole.store.engine import transaction_alive

        try:
            conn = self.session.connection()
        except Exception:  # noqa: BLE001 - a session that can no longer give its connection
            return False
        return transaction_alive(conn)

    def savepoint(self, *, always: bool = False) -> Iterator[Session]:
        action_state(self.session).next_action()  # the cases one action read belong to it alone
        if not (self.savepoints or always):  # see batch(): a failure ends the whole batch
            before = self._writes()
            try:
                yield self.session
            except BaseException:
                # even one its caller handles (a ref opened meanwhile by another writer); on PostgreSQL
                # not one that wrote nothing yet (most refusals: the checks come before the writes),
                # so the batch goes on without rolling back (PostgreSQL does not hand out again the
                # ids a rolled-back batch took: this keeps case ids without gaps, as a savepoint did)
                if before is None or self._writes() != before or self._unflushed():
                    self.failed_without_savepoint = True
                raise
            _write_cases(self.session)
            # PostgreSQL: the rows kept so far go to the server now, without waiting, once there are
            # enough of them: it stores them while the next actions are worked out
            flush_deferred(self.session.connection(), wait=False, at_least=PUSH_AT)
            return
        with self.session.begin_nested():
            yield self.session
            _write_cases(self.session)
            # the rows kept for later (PostgreSQL) go now, inside the line's savepoint: one that fails
            # is this line's failure, rolled back with it
            flush_deferred(self.session.connection())


    def _writes(self) -> tuple[int, int] | None:
        """PostgreSQL: the writes sent so far in this batch (through the session, through prepared
        statements), to tell whether a failed action wrote anything; None on SQLite (not counted)."""
        if not self._pg:
            return None
        return session_writes(self.session), writes_sent(self.session.connection())

    def _unflushed(self) -> bool:
        s = self.session
        return bool(s.new or s.dirty or s.deleted)


class CaseBrief:
    """What an action inside a light batch gives back instead of a CaseView."""

    __slots__ = ("id", "status")

    def __init__(self, id: int, status: str) -> None:
        self.id = id
        self.status = Status(status).value


class BatchMixin(ServiceBase):
    """batch() and the ingest progress marks."""

    @contextmanager
    def batch(
        self, *, light: bool = True, routing: RoutingMemo | None = None, savepoints: bool = True,
        case_ids: CaseIds | None = None,
    ) -> Iterator[Batch]:
        """Run several actions in one transaction, each action in a savepoint of it: the actions of
        the Batch's `service` (this Service, bound to the batch) join it.

        An action that refuses (or fails) rolls back to its own savepoint only, so each
        action is still whole or nothing; the batch commits when the block ends and rolls
        back entirely if the block raises. Without `savepoints` an action that refuses
        or fails may leave part of itself behind, and the batch's `failed_without_savepoint` is
        then set: the caller must end the block by raising (rolling the whole batch back), and
        not go on with it (on PostgreSQL it is set only when the action had written something;
        one refused before writing leaves the batch as it was). With `light`, actions give back a CaseBrief
        (id and status) instead of building a full CaseView. `routing` keeps what routing
        reads across batches (see RoutingMemo); `case_ids` draws numbers for new cases ahead
        (see CaseIds). Batches hold their row locks until they commit: keep them short in time.
        """
        if self._batch is not None:
            raise RuntimeError("Service.batch() does not nest")
        if self._pg and self._who is None:
            self.login_identity()
        # PostgreSQL: other consoles LISTEN; the touched case ids go out when the batch commits.
        session_type = TrackedSession if self._pg else Session
        with session_type(self.engine, expire_on_commit=False, autoflush=True) as session:
            batch = Batch(self, session, light, routing, savepoints, case_ids)  # type: ignore[arg-type]  # (self: a Service)
            try:
                with session.begin():
                    # PostgreSQL: rows whose ids nobody reads go in together (store/prepared.py)
                    with defer_inserts(session.connection()):
                        yield batch
                    if self._pg:
                        announce(session)
            except BaseException:
                if routing is not None:
                    routing.reset()  # its counts may include what was just rolled back
                if case_ids is not None:
                    case_ids.ended(committed=False)
                raise
            else:
                if case_ids is not None:
                    case_ids.ended(committed=True)
            finally:
                batch.service._batch = None  # once the block ends its service acts on its own again

    def ingest_progress(self, key: str) -> str | None:
        """What record_ingest_progress last kept under key, or None."""
        from deskconsole.store.models import Meta

        with self._read() as s:
            row = s.get(Meta, key)
            return row.value if row is not None else None

    def record_ingest_progress(self, key: str, value: str, offset: int, *, replace: bool = False) -> None:
        """Keep how far an ingest got through a file (JSON with an "offset"), never moving it back
        (unless `replace`: a run that starts the file over).

        Meant to be called on the service of the batch whose lines it covers (batch.service), so
        the mark commits with them.
        """
        from deskconsole.store.models import Meta

        for attempt in (1, 2):
            try:
                with self._tx(savepoint=True) as s:  # a refused insert is tried again
                    query = select(Meta).where(Meta.key == key)
                    if self._pg:
                        query = query.with_for_update()
                    row = s.exec(query).first()
                    if row is None:
                        s.add(Meta(key=key, value=value))
                        s.flush()
                    elif replace or int(json.loads(row.value).get("offset", -1)) < offset:
                        row.value = value
                return
            except IntegrityError:  # another ingest of the same file inserted the mark first
                if attempt == 2:
                    raise
