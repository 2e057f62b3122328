"""The lifecycle service's plumbing: engine, transactions, reading and locking cases, version
checks, writing events, outbox rows and timers, and the status engine (_enter). Its clocks are
ClockMixin's (service/clocks.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from deskconsole.domain import moves
from deskconsole.domain.clock import Clock, SyncedClock, SystemClock
from deskconsole.domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from deskconsole.domain.firing import CaseFacts
from deskconsole.domain.lifecycle import Role, Status, SubStatus
from deskconsole.domain.permissions import Action, CaseState, Person, Refusal, may
from deskconsole.domain.sla import DeskSla, SlaChange
from deskconsole.domain.templates import row_text
from deskconsole.domain.timers import Durations, TimerKind, TimerState
from deskconsole.domain.views import os_login_beside
from deskconsole.service.clocks import ClockMixin
from deskconsole.service.effects import apply as apply_effects
from deskconsole.service.records import (
    _ACTION_STATE,
    _ARTICLE_BY_FINGERPRINT,
    _CANCEL_TIMER,
    _CASE_BY_ID,
    _CASE_BY_ID_LOCKED,
    _HAS_TEXT_INDEX,
    _INDEX_NEW_CASE,
    _INSERT_ARTICLE,
    _INSERT_CASE,
    _INSERT_EVENT,
    _INSERT_OUTBOX,
    _INSERT_TIMER,
    _PENDING_TIMERS,
    _TIMER_IDS,
    MAX_SHORT,
    MAX_TITLE,
    AnyCase,
    CaseRecord,
    Written,
    _a,
    _aware,
    _customer_address,
    _db,
    _db_time,
    _event_data,
    _fingerprint,
    _pending_timers,
    _template_values,
    _write_cases,
    action_state,
    clean_text,
    forget_timers,
)
from deskconsole.store import identity
from deskconsole.store.engine import database_file, database_file_problem, is_postgres
from deskconsole.store.models import Agent, Timer
from deskconsole.store.prepared import Later
from deskconsole.store.watch import TrackedSession, announce, note_write

if TYPE_CHECKING:
    from deskconsole.domain.views import ArticleView, CaseView, EscalationView, Fired, SurveyView, TimerView
    from deskconsole.service.batch import Batch
    from deskconsole.service.routing import NewCase
    from deskconsole.store.models import Article, Escalation, Survey


_REFUSALS: dict[Refusal, type[Exception]] = {
    Refusal.PERMISSION: PermissionDenied, Refusal.STATE: InvalidTransition, Refusal.INPUT: InvalidInput,
}

_LOGIN = object()  # (os_login not given: the current operating-system login)


class _LaterWritten(Written):
    """A Written event whose id is read from the database only when asked for (Runner.insert_later)."""

    __slots__ = ("_later",)

    def __init__(self, later: Later, **values: Any) -> None:
        self._later = later
        self.os_login = None
        for name, value in values.items():
            setattr(self, name, value)

    @property
    def id(self) -> int:
        return self._later.id

    @id.setter
    def id(self, value: int) -> None:
        self._later.value = value


class ServiceBase(ClockMixin):
    """The support-case life cycle over one database: what every part of Service shares.

    Its methods call the other parts' through self (_settle and _fire in timers.py, _route in
    routing.py): Service (service/__init__.py) composes them all."""

    # Inside batch(): the batch this Service (batch.service, a copy bound to it) runs its actions in.
    _batch: Batch | None = None

    if TYPE_CHECKING:  # what the parts call on each other through self (for the type checker only)
        def _settle(self, s: Session, case: CaseRecord) -> None: ...  # timers.py
        def _fire(
            self, s: Session, timer_id: int, case_id: int, now: datetime, timer: tuple[str, datetime] | None = None,
        ) -> Fired | None: ...  # timers.py
        @staticmethod
        def _timer_view(t: Timer, c: AnyCase, assignee: str | None) -> TimerView: ...  # timers.py
        def _route(self, s: Session, case: NewCase) -> Agent | None: ...  # routing.py
        def _open_escalation(self, s: Session, case_id: int) -> Escalation | None: ...  # escalations.py
        def _escalation_view(self, s: Session, esc: Escalation, case: AnyCase) -> EscalationView: ...
        def _case_view(self, s: Session, case: AnyCase, *, events: bool | None = None) -> CaseView: ...  # views.py
        def _survey_view(self, s: Session, sv: Survey, case: AnyCase) -> SurveyView: ...  # surveys.py
        @staticmethod
        def _article_view(a: Article) -> ArticleView: ...  # knowledge.py
        def _sla(self, s: Session, case: Any, at: datetime, actor: str, change: SlaChange,
                 *, events: Sequence[dict[str, Any]] = ()) -> bool: ...  # sla.py
        def _sla_arming(self, s: Session) -> AbstractContextManager[None]: ...  # sla.py
        def _fire_sla(self, s: Session, case: CaseRecord, kind: TimerKind, due: datetime,
                      stamp: dict[str, str]) -> None: ...  # sla.py
        def _sla_view(self, s: Session, case: AnyCase) -> dict[str, Any]: ...  # sla.py
        def _sla_desk(self, s: Session) -> DeskSla | None: ...  # sla.py
        def _undo_window(self, s: Session, case: AnyCase) -> datetime | None: ...  # undo.py

    def __init__(
        self, engine: Engine, clock: Clock | None = None, durations: Durations | None = None, *,
        tick_hook: Callable[[int], None] | None = None, real_clock: Clock | None = None,
        os_login: str | object | None = _LOGIN,
    ) -> None:
        """`tick_hook`, when given, is called inside tick()'s open transaction each time firings
        were applied, with how many this tick applied so far (a test's crash point: see the CLI's
        DESKCONSOLE_TICK_PAUSE_AFTER).

        `real_clock` says when each event is really written (its `recorded_at`), whatever `clock`
        (DESKCONSOLE_NOW) says: the system clock, on PostgreSQL the database server's (Settings
        gives it); not given, the `clock` given (tests inject one clock for both).
        `os_login`, the operating-system login running this process (by default the current
        one), is recorded on every event whose actor is someone else."""
        self.engine = engine
        self.clock = clock or SystemClock()
        self.durations = durations or Durations()
        self._pg = is_postgres(engine)
        # what the desk's schema was found to have, asked once (shared with the batch copies of this service)
        self._schema_has: dict[str, bool] = {}
        self._read_engine = engine.execution_options(deskconsole_readonly=True)
        # On PostgreSQL the real clock is the database server's (see now()).
        self._db_clock = SyncedClock(self.clock) if self._pg and isinstance(self.clock, SystemClock) else None
        if self._db_clock is not None:
            self.clock = self._db_clock
        # Not given, it is the clock given (a test's injected clock; the system clock otherwise): the
        # CLI and the console give the system clock, so DESKCONSOLE_NOW never moves it.
        if real_clock is None:
            real_clock = clock or SystemClock()
        self._real_synced: SyncedClock | None = None
        self._real_clock: Clock = real_clock
        if self._pg and isinstance(real_clock, SystemClock):
            # the server's time, read as now() reads it (the same clock when now() is real)
            self._real_synced = self._db_clock or SyncedClock(real_clock)
            self._real_clock = self._real_synced
        if os_login is _LOGIN:
            from deskconsole.settings import login_name

            os_login = login_name()
        self.os_login: str | None = os_login[:64] if isinstance(os_login, str) else None
        self.tick_hook = tick_hook
        self._tick_applied = 0
        self._who: identity.Identity | None = None  # PostgreSQL: the login's identity, read once (login_identity())

    # ------------------------------------------------------------------ plumbing
    def database_file(self) -> Path | None:
        """The SQLite file this service works on (None: not a file)."""
        return database_file(self.engine)

    def database_file_problem(self) -> str | None:
        """Whether the SQLite file this service opened was deleted or replaced since (a
        sentence), else None: one stat of the path."""
        return database_file_problem(self.engine)

    def login_identity(self) -> identity.Identity | None:
        """Who this connection is on PostgreSQL (store/identity.py), read once: a login that is no
        agent of this desk is refused, and so is a fixed "now" (DESKCONSOLE_NOW) under any login
        but the administrator's. None on SQLite."""
        if not self._pg:
            return None
        if self._who is None:
            with self.engine.connect() as conn:
                who = identity.whoami(conn)
                conn.rollback()
            # a clock of its own (DESKCONSOLE_NOW), or a real clock of its own (recorded_at): the
            # administrator's; agents' logins take the server's
            identity.refuse(who, fixed_clock=self._db_clock is None or self._real_synced is None,
                            what="DESKCONSOLE_NOW" if self._db_clock is None else "a real clock of its own")
            self._who = who
        return self._who

    def acting_name(self, requested: str | None, *, explicit: bool = True) -> str | None:
        """The agent a front end acts as: on PostgreSQL under an agent's login, that agent (another
        name given explicitly is refused; a name only guessed from the system login is replaced);
        otherwise the name requested."""
        who = self.login_identity()
        if who is None or who.admin:
            return requested
        return identity.acting(who, requested if explicit else None)

    @contextmanager
    def _tx(self, *, savepoint: bool = False) -> Iterator[Session]:
        if self._pg and self._who is None:
            self.login_identity()
        batch = self._batch
        if batch is not None:  # inside batch(): a savepoint of its transaction
            yield from batch.savepoint(always=savepoint)
            return
        if not self._pg:
            with Session(self.engine, expire_on_commit=False, autoflush=True) as session, session.begin():
                yield session
                _write_cases(session)
            return
        # PostgreSQL: other consoles LISTEN; the touched case ids go out when this commits.
        with TrackedSession(self.engine, expire_on_commit=False, autoflush=True) as session, session.begin():
            yield session
            _write_cases(session)
            announce(session)

    @contextmanager
    def _read(self) -> Iterator[Session]:
        if self._pg and self._who is None:
            self.login_identity()
        with Session(self._read_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def _agent(self, s: Session, name: str | None) -> Agent:
        if not name:
            raise InvalidInput("who is acting? give --as NAME or set DESKCONSOLE_USER")
        clean_text(name, "agent name", max_len=MAX_SHORT)  # a NUL would break the query on PostgreSQL
        batch = self._batch  # (in a batch, its one session: the same object the query would give again)
        agent = batch.agents.get(name) if batch is not None else None
        if agent is None:
            agent = s.exec(select(Agent).where(Agent.name == name)).first()
            if agent is not None and batch is not None and s is batch.session:
                batch.agents[name] = agent
        if agent is None:
            raise NotFound(f"unknown agent {name!r}: add them with 'deskconsole agent add'")
        return agent

    def _me(self, s: Session, name: str | None) -> Agent:
        """The agent acting: the one named; on PostgreSQL under an agent's login, that login's agent
        (naming someone else is refused: store/identity.py)."""
        return self._agent(s, identity.acting(self._who, name))

    def _actor(self, s: Session, name: str | None, roles: Sequence[Role], doing: str) -> Agent:
        agent = self._me(s, name)
        if agent.role not in roles:
            who = " or ".join(r.value for r in roles)
            raise PermissionDenied(f"{agent.name} is {_a(agent.role)}: only {_a(who)} may {doing}")
        return agent

    def _acting(self, s: Session, name: str | None, action: Action, case: CaseRecord | None = None) -> Agent:
        """The agent acting, once the domain's permission model (domain.permissions.may) lets them
        do `action` (to `case` as it stands, when given); otherwise its refusal, as the error it
        names. The console offers keys and the CLI explains refusals from the same answers."""
        agent = self._me(s, name)
        self._enforce(agent, action, case)
        return agent

    @staticmethod
    def _enforce(agent: Agent, action: Action, case: CaseRecord | None = None, **escalation: str | None) -> None:
        """Raise the refusal of may(agent, action, case), if it refuses. `escalation`: the case's open
        escalation (escalation_state, escalation_requested_by, escalation_engineer) when it matters."""
        state = None if case is None else CaseState(
            id=case.id, status=case.status, sub_status=case.sub_status, **escalation)
        verdict = may(Person(agent.name, agent.role), action, state)
        if not verdict:
            raise _REFUSALS[verdict.refusal or Refusal.PERMISSION](verdict.reason or f"{agent.name} may not do that")

    def _case(self, s: Session, case_id: int, *, lock: bool = True) -> CaseRecord:
        """The case as a CaseRecord (the same one when an action reads it twice), locked on
        PostgreSQL, its overdue timers settled."""
        if not isinstance(case_id, int) or isinstance(case_id, bool):
            raise InvalidInput(f"case id must be a whole number, not {case_id!r}")
        if not 0 < case_id < 2**31:  # beyond the id column: no such case (and no driver overflow)
            raise NotFound(f"unknown case {case_id}")
        # (in a batch, the row it read ahead, locked on PostgreSQL: service/batch.py)
        ahead = self._batch.case_ahead(case_id) if lock and self._batch is not None else None
        case = self._record(s, case_id, _CASE_BY_ID_LOCKED if lock and self._pg else _CASE_BY_ID, ahead)
        if case is None:
            raise NotFound(f"unknown case {case_id}")
        if lock:
            self._settle(s, case)
        return case

    @staticmethod
    def _record(s: Session, case_id: int, query: Any = _CASE_BY_ID, row: Any = None) -> CaseRecord | None:
        """The action's CaseRecord of a case (read by `query`, unless its `row` was read already),
        the same one however often it is asked for."""
        if row is None:
            row = _db(s).first(query, {"case_id": case_id})
        if row is None:
            return None
        state = s.info.get(_ACTION_STATE)
        records = (state if state is not None else action_state(s)).case_records
        case = records.get(case_id)
        if case is None:
            case = records[case_id] = CaseRecord(row)
        return case


    def _open_case_or_refuse(self, case: CaseRecord, doing: str) -> None:
        if case.status == Status.CLOSED:
            raise InvalidTransition(
                f"case {case.id} is closed: cannot {doing}; closed cases never change (clone it to start new work)"
            )

    @staticmethod
    def _check_version(s: Session, case: CaseRecord, expected: int | None) -> None:
        """Refuse a write based on a stale read. Timers that _settle just fired do not count:
        the caller's version is compared with the case as people last left it, and the
        action is then judged against the settled state."""
        if expected is None:
            return
        state = s.info.get(_ACTION_STATE)
        version, who, what = (state if state is not None else action_state(s)).before_settle.get(
            case.id, (case.version, case.last_actor, case.last_change)
        )
        if expected != version:
            raise Conflict(
                f"case {case.id} changed since you read it (your version {expected}, now {version}): "
                f"{who or 'someone'} {what or 'changed it'}; reload and try again",
                current_version=version,
                changed_by=who,
                change=what,
            )

    @staticmethod
    def _touch(case: AnyCase, actor: str, change: str, now: datetime) -> None:
        case.version += 1
        # a late timer takes effect as of its due time, but the last update never moves back
        case.updated_at = max(_db_time(now), _aware(case.updated_at) or _db_time(now))
        case.last_actor = actor
        case.last_change = change[:MAX_SHORT]

    def _event(
        self, s: Session, case: AnyCase, kind: str, actor: str, at: datetime, body: str | None = None, **data: Any
    ) -> Written:
        row = self._event_row(case, kind, actor, at, body, **data)
        note_write(s, case.id)  # (the flush that would have seen an Event object does not happen)
        # An insert of the row alone: no ORM object and no flush of the unit of work; in a batch on
        # PostgreSQL kept to go with the next rows, its id read only if asked for (store/prepared.py).
        return _LaterWritten(_db(s).insert_later(_INSERT_EVENT, row), **row)

    def _event_row(
        self, case: AnyCase | SimpleNamespace, kind: str, actor: str, at: datetime, body: str | None = None,
        **data: Any,
    ) -> dict[str, Any]:
        """An audit event's row, for _event or for several events written together (one executemany)."""
        row = {
            "case_id": case.id,
            "at": _db_time(at),
            "recorded_at": self.real_now(),
            "actor": actor,
            "kind": kind,
            "body": body,
            "data": _event_data(data) if data else None,
        }
        login = self.os_login
        if login is not None:  # (a Service made without one writes no such column: older schemas too)
            row["os_login"] = os_login_beside(login, actor)
        return row

    def _outbox(
        self, s: Session, case: CaseRecord, event: Written, kind: str, to: str, subject: str, body: str,
        *, hold_until: datetime | None = None, values: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue a message; `hold_until`: not sent before then (an agent's close, for its undo window);
        `values`: what its template is filled with (an Outbox effect's: the row keeps them)."""
        _db(s).insert_later(_INSERT_OUTBOX, {
            "case_id": case.id, "event_id": event.id, "kind": kind, "to": to, "subject": subject, "body": body,
            "created_at": _db_time(self.now()), "state": "queued", "attempts": 0,
            **({"hold_until": _db_time(hold_until)} if hold_until is not None else {}),
            **({"template_values": _template_values(values)} if values is not None else {}),
        })

    def _pending_of(self, s: Session, case_id: int) -> list[Any]:
        """The case's pending timers (id, due_at, kind): the action's list of them (see
        _pending_timers); when it has none yet, what the batch read ahead for the case (the first
        action of the batch that asks: SlaMixin.prefetch_sla), else read, and kept as that list."""
        ledger = _pending_timers(s)
        pending = ledger.get(case_id)
        if pending is None:
            pending = ledger[case_id] = self._rows_of_case(s, case_id, _PENDING_TIMERS, lambda b: b.timers_ahead)
        return pending

    def _rows_of_case(self, s: Session, case_id: int, query: Any,
                      ahead: Callable[[Batch], dict[int, list[Any]]]) -> list[Any]:
        """The case's rows of `query` (its parameter: case_id): in a batch, those it read ahead for the
        case (`ahead`: which of its read-aheads; taken, so only the first asker has them), else read."""
        batch = self._batch
        rows = ahead(batch).pop(case_id, None) if batch is not None else None
        return rows if rows is not None else _db(s).all(query, {"case_id": case_id})

    def _message(self, s: Session, case: CaseRecord, event: Written, kind: str, to: str,
                 values: Mapping[str, Any]) -> None:
        """Queue a message of a templated kind: the row keeps `values`, and its subject and body are
        its template's English text filled with them (domain/templates.py's row_text)."""
        self._outbox(s, case, event, kind, to, *row_text(kind, values), values=values)

    def _cancel_timers(
        self, s: Session, case: CaseRecord, kinds: frozenset[TimerKind] | None, at: datetime
    ) -> list[str]:
        pending = self._pending_of(s, case.id)
        stopped = moves.cancelled([(timer_id, kind) for timer_id, _, kind in pending], kinds)
        self._cancel_timer_ids(s, case, [timer_id for timer_id, _ in stopped], at)
        return [kind for _, kind in stopped]

    def _cancel_timer_ids(self, s: Session, case: CaseRecord, ids: Sequence[int], at: datetime) -> None:
        """Cancel these pending timers of the case (and strike them from the action's list of its
        pending timers, when it has one: see _pending_timers)."""
        if ids:
            forget_timers(s, case.id, ids)
            # Core statements, not ORM objects and their flush; a Timer object this session
            # loaded before (a timer just fired) is read afresh if it is looked at again.
            at = _db_time(at)
            _db(s).execute_many(_CANCEL_TIMER, [{"b_case_id": case.id, "b_timer_id": i, "b_at": at} for i in ids])
            for timer_id in ids:
                loaded = s.identity_map.get(s.identity_key(Timer, timer_id))
                if loaded is not None:
                    s.expire(loaded)

    def _start_timer(self, s: Session, case: CaseRecord, kind: TimerKind, start: datetime, delay: timedelta) -> None:
        self._insert_timer(s, case.id, kind, start, start + delay)

    def _insert_timer(self, s: Session, case_id: int, kind: TimerKind, start: datetime, due: datetime) -> None:
        """A new pending timer, added to the action's list of the case's pending timers when it keeps
        one (so the action's next steps need not read them again: see _pending_timers)."""
        due_at = _db_time(due)
        row = {"case_id": case_id, "kind": kind, "state": TimerState.PENDING, "started_at": _db_time(start),
               "due_at": due_at}
        timer_id = self._timer_id_ahead(s)  # (a batch on PostgreSQL: the row is kept for later)
        if timer_id is not None:
            row["id"] = timer_id
        later = _db(s).insert_later(_INSERT_TIMER, row)
        ledger = _pending_timers(s)
        known = ledger.get(case_id)
        if known is not None:
            timer_id = later.value if timer_id is None else timer_id
            if timer_id is None:  # (not known until the kept rows are sent: the list is no longer whole)
                del ledger[case_id]
            else:
                ledger[case_id] = [*known, (timer_id, due_at, kind.value)]

    def _insert_case(self, s: Session, row: dict[str, Any]) -> int:
        """Insert a new case's row: its number. In an ingest batch on PostgreSQL the number is one
        drawn ahead (Batch.case_ids) and the row waits in the pipeline with the rows after it."""
        batch = self._batch
        ids = batch.case_ids if batch is not None else None
        db = _db(s)
        case_id = ids.take(db) if ids is not None else None
        if case_id is None:
            case_id = db.insert(_INSERT_CASE, row)
            self._index_new_case(s, case_id, row["title"], row["customer"])
            return case_id
        db.insert_later(_INSERT_CASE, {**row, "id": case_id})
        return case_id

    def _index_new_case(self, s: Session, case_id: int, title: str, customer: str) -> None:
        """A case just inserted goes into the SQLite text index (PostgreSQL's is kept by the server). Every
        insert of a case calls this: no trigger does it on SQLite (migration 0016 says why)."""
        if self._pg:
            return
        db = _db(s)
        has = self._schema_has.get("case_fts")
        if has is None:  # (a desk made before migration 0002 has none: it is made then)
            has = self._schema_has["case_fts"] = bool(db.all(_HAS_TEXT_INDEX, {}))
        if has:
            db.execute(_INDEX_NEW_CASE, {"rowid": case_id, "title": title, "customer": customer})

    def _timer_id_ahead(self, s: Session) -> int | None:
        """In a batch on PostgreSQL: an id for a new timer, from a block the batch took from the
        timer table's sequence (so the row can wait in the pipeline and still be listed among the
        case's pending timers); elsewhere None (the insert gives the id at once)."""
        batch = self._batch
        if batch is None or not self._pg:
            return None
        if not batch.timer_ids:
            batch.timer_ids = [r[0] for r in _db(s).all(_TIMER_IDS, {})][::-1]
        return batch.timer_ids.pop()

    def _manager_for(self, s: Session, case: CaseRecord) -> str:
        if case.assignee_id is not None:
            analyst = s.get(Agent, case.assignee_id)
            if analyst is not None and analyst.manager_id is not None:
                manager = s.get(Agent, analyst.manager_id)
                if manager is not None:
                    return manager.name
        return "managers"

    def _assignee_name(self, s: Session, case: AnyCase) -> str | None:
        if case.assignee_id is None:
            return None
        agent = s.get(Agent, case.assignee_id)
        return agent.name if agent else None

    # ------------------------------------------------------------ status engine
    def _enter(
        self,
        s: Session,
        case: CaseRecord,
        status: Status,
        sub_status: SubStatus | None,
        actor: str,
        at: datetime,
        *,
        resolution: str | None = None,
        reason: str | None = None,
        question: str | None = None,
        event_kind: str = "status_changed",
        quiet: bool = False,
        **data: Any,
    ) -> Written:
        """Move a case into a status: cancel the old status's timers, start the new ones, send what it sends.

        Entering pending/customer_input, `question` is what the customer is asked (the event's text):
        sent to them unless `data` says it was asked outside the desk (asked_outside=HOW).
        `quiet`: a close that sends the customer nothing after it (a merge: no survey, no follow-up).
        Closing with `undo_until=WHEN` in `data` (an agent's close): its messages are held until then
        (what `case undo` reads: service/undo.py)."""
        undo_until: datetime | None = data.pop("undo_until", None)
        pending = self._pending_of(s, case.id)
        previous = case.status
        facts = CaseFacts(case.id, case.title, case.customer, _customer_address(case), case.status, case.sub_status,
                          case.attention, case.resolution)
        # what the move writes is the domain's (domain/moves.py); routing, service levels and a
        # draft article are this service's, around it
        effects = moves.enter(facts, [(timer_id, kind) for timer_id, _, kind in pending], status, sub_status, actor,
                              at, self.durations, resolution=resolution, reason=reason, question=question,
                              event_kind=event_kind, quiet=quiet, hold_until=undo_until, data=data)
        if status is Status.CLOSED and (batch := self._batch) is not None and batch.routing is not None:
            batch.routing.closed(case.assignee_id)  # the batch's routing counts stay current
        event = apply_effects(self, s, case, effects)
        assert event is not None  # (the status change)
        # service levels: the clocks this move pauses, resumes or fulfils (sla.py)
        self._sla(s, case, at, actor, SlaChange(status=(previous, status.value),
                                                public_reply=bool(question) and "asked_outside" not in data))
        if status is Status.CLOSED and not quiet:
            self._draft_article(s, case, at)
        return event

    def _draft_article(self, s: Session, case: CaseRecord, at: datetime) -> None:
        """A closed case's resolution, new to the knowledge base, becomes a draft article."""
        if case.resolution:
            db = _db(s)
            fingerprint = _fingerprint(case.resolution)
            s.flush()  # (articles the session added: linked or written in this transaction)
            if db.first(_ARTICLE_BY_FINGERPRINT, {"fingerprint": fingerprint}) is None:
                title = case.title[:MAX_TITLE]
                article_id = db.insert(_INSERT_ARTICLE, {
                    "title": title, "body": case.resolution, "fingerprint": fingerprint, "state": "draft",
                    "source_case_id": case.id, "created_at": _db_time(at),
                })
                self._event(s, case, "article_drafted", "system", at, body=title, article=article_id)

    @staticmethod
    def _sub(case: CaseRecord) -> SubStatus | None:
        return SubStatus(case.sub_status) if case.sub_status else None
