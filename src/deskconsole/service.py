"""The lifecycle service: the only code that changes cases.

Every public action is one transaction that writes the change, its audit
event(s) and its outbox row(s) together, or refuses with a DeskError and writes
nothing. Front ends (CLI, console) call these methods and show what comes back.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, or_, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from deskconsole.domain.clock import Clock, SyncedClock, SystemClock, to_utc
from deskconsole.domain.errors import (
    Conflict,
    DeskError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from deskconsole.domain.lifecycle import (
    OPEN_ESCALATION_STATES,
    OPEN_STATUSES,
    REPLY_TARGET,
    SEVERITY_PRIORITY,
    Availability,
    EscalationState,
    Priority,
    Role,
    Severity,
    Status,
    SubStatus,
    check_move,
    describe_refusal,
    parse_enum,
    raise_priority,
)
from deskconsole.domain.timers import STATUS_TIMERS, Durations, TimerKind, TimerState, timers_for
from deskconsole.domain.views import (
    AgentView,
    ArticleView,
    CaseRow,
    CaseView,
    EscalationView,
    EventView,
    Fired,
    OutboxView,
    SurveySummary,
    SurveyView,
    TimerView,
)
from deskconsole.store.engine import is_postgres
from deskconsole.store.prepared import Runner
from deskconsole.store.watch import TrackedSession, Watcher, announce, note_write, open_watcher
from deskconsole.store.window import read_window
from deskconsole.store.models import (
    Agent,
    Article,
    Case,
    CaseArticle,
    EngineeringItem,
    Escalation,
    Event,
    Outbox,
    Survey,
    Timer,
)

MAX_TITLE = 500
MAX_TEXT = 1_000_000
MAX_SHORT = 200
CASE_WORKERS = (Role.ANALYST, Role.MANAGER)
DESK_LEADS = (Role.MANAGER, Role.SUPERVISOR)
COMM_MODES = ("email", "phone", "conference_call")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,2}$")
TICK_BATCH = 500
PG_TICK_CHUNK = 25  # timers per tick transaction on PostgreSQL (their cases stay locked until it commits)
PRIORITY_ORDER = [p.value for p in Priority]
_event_data = json.JSONEncoder(default=str).encode  # an event's data as json.dumps(data, default=str) writes it
# Routing's count of open cases per analyst: with `status IN (the open ones)` SQLite seeks each
# (assignee, status) range of the index; `status != 'closed'` walks every case those analysts ever
# had (1M cases, 20 analysts: 0.06 s against 0.25 s). (Counting every analyst at once, list_agents,
# is the other way round: an IN there walks the (status, id) index instead.)
_OPEN_STATUS_VALUES = sorted(s.value for s in OPEN_STATUSES)


def _db_time(value: datetime) -> datetime:
    """Aware UTC, as the tables store it."""
    return to_utc(value)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value)


def clean_text(value: Any, what: str, *, max_len: int = MAX_TEXT, required: bool = False) -> str | None:
    """Validate untrusted text: a string, no NUL bytes, within size. Returned unchanged otherwise."""
    if value is None:
        if required:
            raise InvalidInput(f"{what} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInput(f"{what} contains a NUL byte; remove it and send again")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid text (an unpaired surrogate); send it as UTF-8") from None
    if len(value) > max_len:
        raise InvalidInput(f"{what} is too long ({len(value):,} characters; at most {max_len:,})")
    if required and not value.strip():
        raise InvalidInput(f"{what} is required")
    return value


def _fingerprint(text: str) -> str:
    normal = " ".join(text.lower().split())
    return hashlib.sha256(normal.encode()).hexdigest()


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _customer_address(case: Case) -> str:
    return case.contact or f"customer:{case.customer}"


def _customer_actor(case: Case) -> str:
    return f"customer:{case.customer}"


class Written:
    """A row an action just wrote with a Core insert (an audit event): its id and its values."""

    __slots__ = ("id", "case_id", "at", "recorded_at", "actor", "kind", "body", "data")

    def __init__(self, id: int, **values: Any) -> None:  # noqa: A002
        self.id = id
        for name, value in values.items():
            setattr(self, name, value)


# The statements every action runs (read and write its case, append audit events, outbox messages
# and timers, cancel timers) are Core statements run as Prepared ones (store/prepared.py) on the
# session's connection: compiled once, bound and run on the driver's cursor.
_INSERT_EVENT = insert(Event.__table__)  # type: ignore[attr-defined]
_INSERT_OUTBOX = insert(Outbox.__table__)  # type: ignore[attr-defined]
_INSERT_TIMER = insert(Timer.__table__)  # type: ignore[attr-defined]
_INSERT_CASE = insert(Case.__table__)  # type: ignore[attr-defined]
_CASE_T = Case.__table__  # type: ignore[attr-defined]
_CASE_BY_ID = select(_CASE_T).where(_CASE_T.c.id == bindparam("case_id"))
_CASE_BY_REF = select(_CASE_T).where(_CASE_T.c.ref == bindparam("ref"))
_CASE_BY_ID_LOCKED = _CASE_BY_ID.with_for_update()
_UPDATE_CASE = update(_CASE_T).where(_CASE_T.c.id == bindparam("b_id"))  # SET: the columns an action changed
_TIMERS_T = Timer.__table__  # type: ignore[attr-defined]
_PENDING_TIMERS = (  # one case's pending timers, by the (case_id, state) index
    select(_TIMERS_T.c.id, _TIMERS_T.c.due_at, _TIMERS_T.c.kind)
    .where(_TIMERS_T.c.case_id == bindparam("case_id"), _TIMERS_T.c.state == TimerState.PENDING.value)
)
_CANCEL_TIMER = (  # run once per timer (an executemany)
    update(_TIMERS_T)
    .where(  # (the case too: SQLite then looks them up by case, not among every pending timer by state)
        _TIMERS_T.c.case_id == bindparam("b_case_id"),
        _TIMERS_T.c.state == TimerState.PENDING.value,
        _TIMERS_T.c.id == bindparam("b_timer_id"),
    )
    .values(state=TimerState.CANCELLED.value, cancelled_at=bindparam("b_at"))
)
_TIMER_BY_ID = select(_TIMERS_T.c.kind, _TIMERS_T.c.due_at).where(_TIMERS_T.c.id == bindparam("timer_id"))
_INSERT_SURVEY = insert(Survey.__table__)  # type: ignore[attr-defined]
_ARTICLE_T = Article.__table__  # type: ignore[attr-defined]
_INSERT_ARTICLE = insert(_ARTICLE_T)
_ARTICLE_BY_FINGERPRINT = select(_ARTICLE_T.c.id).where(_ARTICLE_T.c.fingerprint == bindparam("fingerprint")).limit(1)
_CLAIM_TIMER = (  # a timer is claimed by the one transaction whose update finds it still pending
    update(_TIMERS_T)
    .where(_TIMERS_T.c.id == bindparam("b_timer_id"), _TIMERS_T.c.state == TimerState.PENDING.value)
    .values(state=TimerState.FIRED.value, fired_at=bindparam("b_at"))
)


class CaseRecord:
    """A case as an action reads and changes it: its row, read by a Core select (loading an ORM
    Case and flushing it costs several times the statements themselves). Attributes are the
    Case columns; what the action sets is written back by one Core update when its transaction
    (or savepoint) ends, and not at all when it refuses."""

    def __init__(self, values: Any) -> None:
        self.__dict__.update(values)
        self.__dict__["_changed"] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self.__dict__ or self.__dict__[name] != value:
            self.__dict__[name] = value
            self._changed[name] = value

    def reload(self, values: Any) -> None:
        """The row as the database now holds it (after writes made through ORM objects)."""
        self.__dict__.update(values)
        self._changed.clear()


def _db(s: Session) -> Runner:
    """Prepared statements on the session's connection for its current transaction, kept: asking
    the Session for its connection costs more than many of the statements run on it.

    It is asked again whenever a savepoint (begin_nested) began or ended since: the Session
    emits SAVEPOINT only when its connection is asked for inside it, and a statement run before
    that would not be rolled back with the savepoint."""
    current = s.get_nested_transaction() or s.get_transaction()
    kept = s.info.get("connection")
    if kept is None or kept[0] is not current:
        conn = s.connection()
        current = s.get_nested_transaction() or s.get_transaction()
        runner = kept[1] if kept is not None and kept[1].conn is conn else Runner(conn)
        kept = s.info["connection"] = (current, runner)
    return kept[1]


def _pending_timers(s: Session) -> dict[int, list[Any]]:
    """Case id -> its pending timers (id, due_at, kind) as this action last read them, while no
    timer of that case has been written since: _settle reads them, _cancel_timers uses them."""
    return s.info.setdefault("pending_timers", {})


def _write_case(s: Session, case: CaseRecord) -> None:
    """Write what an action changed on a CaseRecord (see there)."""
    changed = case._changed
    if not changed:
        return
    _db(s).execute(_UPDATE_CASE, {"b_id": case.id, **changed}, changed)
    changed.clear()
    note_write(s, case.id)  # other consoles hear of it (PostgreSQL)
    loaded = s.identity_map.get(s.identity_key(Case, case.id))
    if loaded is not None:  # an ORM Case of the same row (a timer's effect) reads it afresh
        s.expire(loaded)


def _write_cases(s: Session) -> None:
    for case in s.info.pop("case_records", {}).values():
        _write_case(s, case)


class Service:
    """The support-case life cycle over one database."""

    def __init__(self, engine: Engine, clock: Clock | None = None, durations: Durations | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self.durations = durations or Durations()
        self._pg = is_postgres(engine)
        self._read_engine = engine.execution_options(deskconsole_readonly=True)
        # On PostgreSQL the real clock is the database server's (see now()).
        self._db_clock = SyncedClock(self.clock) if self._pg and isinstance(self.clock, SystemClock) else None
        if self._db_clock is not None:
            self.clock = self._db_clock

    # ------------------------------------------------------------------ plumbing
    def now(self) -> datetime:
        """"Now" for timers and actions: the injected clock (DESKCONSOLE_NOW, a FixedClock).

        On PostgreSQL with the system clock it is the database server's time, read at
        most once a minute and carried forward on this machine's monotonic clock, so a
        console whose clock runs ahead cannot fire a timer early. The reading is taken
        as of the moment the answer arrived, so the estimate is never ahead of the server.
        """
        db_clock = self._db_clock
        if db_clock is not None and db_clock.stale():
            self._sync_clock(db_clock)
        return to_utc(self.clock.now())

    def _sync_clock(self, db_clock: SyncedClock) -> None:
        try:
            with self.engine.connect() as conn:
                server = conn.exec_driver_sql("SELECT clock_timestamp()").scalar_one()
                at = time.monotonic()
                conn.rollback()
        except SQLAlchemyError:
            if not db_clock.synced:
                raise  # never reached the server: no time to act on
            db_clock.failed()  # keep carrying the last reading forward
            return
        db_clock.set(server, at)

    @contextmanager
    def _tx(self, *, savepoint: bool = False) -> Iterator[Session]:
        batch = _BATCH.get()
        if batch is not None and batch.service is self:  # inside batch(): a savepoint of its transaction
            yield from batch.savepoint(always=savepoint)
            return
        if not self._pg:
            with Session(self.engine, expire_on_commit=False, autoflush=True) as session:
                with session.begin():
                    yield session
                    _write_cases(session)
            return
        # PostgreSQL: other consoles LISTEN; the touched case ids go out when this commits.
        with TrackedSession(self.engine, expire_on_commit=False, autoflush=True) as session:
            with session.begin():
                yield session
                _write_cases(session)
                announce(session)

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._read_engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    def _agent(self, s: Session, name: str | None) -> Agent:
        if not name:
            raise InvalidInput("who is acting? give --as NAME or set DESKCONSOLE_USER")
        clean_text(name, "agent name", max_len=MAX_SHORT)  # a NUL would break the query on PostgreSQL
        agent = s.exec(select(Agent).where(Agent.name == name)).first()
        if agent is None:
            raise NotFound(f"unknown agent {name!r}: add them with 'deskconsole agent add'")
        return agent

    def _actor(self, s: Session, name: str | None, roles: Sequence[Role], doing: str) -> Agent:
        agent = self._agent(s, name)
        if agent.role not in roles:
            who = " or ".join(r.value for r in roles)
            raise PermissionDenied(f"{agent.name} is {_a(agent.role)}: only {_a(who)} may {doing}")
        return agent

    def _case(self, s: Session, case_id: int, *, lock: bool = True) -> Case:
        """The case as a CaseRecord (the same one when an action reads it twice), locked on
        PostgreSQL, its overdue timers settled."""
        if not isinstance(case_id, int) or isinstance(case_id, bool):
            raise InvalidInput(f"case id must be a whole number, not {case_id!r}")
        if not 0 < case_id < 2**31:  # beyond the id column: no such case (and no driver overflow)
            raise NotFound(f"unknown case {case_id}")
        case = self._record(s, case_id, _CASE_BY_ID_LOCKED if lock and self._pg else _CASE_BY_ID)
        if case is None:
            raise NotFound(f"unknown case {case_id}")
        if lock:
            self._settle(s, case)
        return case

    @staticmethod
    def _record(s: Session, case_id: int, query: Any = _CASE_BY_ID) -> CaseRecord | None:
        """The action's CaseRecord of a case (read by `query`), the same one however often it is asked for."""
        row = _db(s).first(query, {"case_id": case_id})
        if row is None:
            return None
        records = s.info.setdefault("case_records", {})
        case = records.get(case_id)
        if case is None:
            case = records[case_id] = CaseRecord(row)
        return case

    def _settle(self, s: Session, case: Case) -> None:
        """Fire this case's timers that are already due before acting on it.

        A timer takes effect as of its due time even when nobody ticked: a customer
        reply that arrives after an overdue auto-close finds the case closed. The
        firing is part of the action's transaction (a refused action leaves it to
        the next tick), and the claim is the same conditional update tick uses.
        """
        now = self.now()
        before = (case.version, case.last_actor, case.last_change)
        db = _db(s)
        # This case's pending timers (the (case_id, state) index), due ones picked and sorted here:
        # a due_at condition in SQL makes SQLite walk the desk-wide (state, due_at) index instead.
        # (Timers change only by Core statements, so there is nothing to flush first.)
        # An effect may start timers that are already due (the follow-up after a late close): read again.
        while True:
            pending = db.all(_PENDING_TIMERS, {"case_id": case.id})
            due = sorted((to_utc(due_at), timer_id) for timer_id, due_at, _ in pending if to_utc(due_at) <= now)
            if not due:
                _pending_timers(s)[case.id] = pending  # the action's _cancel_timers need not read them again
                return
            s.info.setdefault("before_settle", {}).setdefault(case.id, before)
            kinds = {timer_id: kind for timer_id, _, kind in pending}
            for due_at, timer_id in due:  # (their effects change this same CaseRecord)
                self._fire(s, timer_id, case.id, now, (kinds[timer_id], due_at))

    def _open_case_or_refuse(self, case: Case, doing: str) -> None:
        if case.status == Status.CLOSED:
            raise InvalidTransition(
                f"case {case.id} is closed: cannot {doing}; closed cases never change (clone it to start new work)"
            )

    @staticmethod
    def _check_version(s: Session, case: Case, expected: int | None) -> None:
        """Refuse a write based on a stale read. Timers that _settle just fired do not count:
        the caller's version is compared with the case as people last left it, and the
        action is then judged against the settled state."""
        if expected is None:
            return
        version, who, what = s.info.get("before_settle", {}).get(
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
    def _touch(case: Case, actor: str, change: str, now: datetime) -> None:
        case.version += 1
        # a late timer takes effect as of its due time, but the last update never moves back
        case.updated_at = max(_db_time(now), _aware(case.updated_at) or _db_time(now))
        case.last_actor = actor
        case.last_change = change[:MAX_SHORT]

    def _event(
        self, s: Session, case: Case, kind: str, actor: str, at: datetime, body: str | None = None, **data: Any
    ) -> Written:
        row = self._event_row(case, kind, actor, at, body, **data)
        note_write(s, case.id)  # (the flush that would have seen an Event object does not happen)
        # An insert of the row alone: no ORM object and no flush of the unit of work.
        return Written(id=_db(s).insert(_INSERT_EVENT, row), **row)

    def _event_row(
        self, case: Case, kind: str, actor: str, at: datetime, body: str | None = None, **data: Any
    ) -> dict[str, Any]:
        """An audit event's row, for _event or for several events written together (one executemany)."""
        return {
            "case_id": case.id,
            "at": _db_time(at),
            "recorded_at": _db_time(self.now()),
            "actor": actor,
            "kind": kind,
            "body": body,
            "data": _event_data(data) if data else None,
        }

    def _outbox(self, s: Session, case: Case, event: Written, kind: str, to: str, subject: str, body: str) -> None:
        _db(s).insert(_INSERT_OUTBOX, {
            "case_id": case.id, "event_id": event.id, "kind": kind, "to": to, "subject": subject, "body": body,
            "created_at": event.recorded_at, "state": "queued", "attempts": 0,
        })

    def _cancel_timers(self, s: Session, case: Case, kinds: frozenset[TimerKind] | None, at: datetime) -> list[str]:
        db = _db(s)
        pending = _pending_timers(s).pop(case.id, None)
        if pending is None:
            pending = db.all(_PENDING_TIMERS, {"case_id": case.id})
        ids, cancelled = [], []
        for timer_id, _, kind in pending:
            if kinds is None or kind in kinds:
                ids.append(timer_id)
                cancelled.append(kind)
        if ids:
            # Core statements, not ORM objects and their flush; a Timer object this session
            # loaded before (a timer just fired) is read afresh if it is looked at again.
            at = _db_time(at)
            db.execute_many(_CANCEL_TIMER, [{"b_case_id": case.id, "b_timer_id": i, "b_at": at} for i in ids])
            for timer_id in ids:
                loaded = s.identity_map.get(s.identity_key(Timer, timer_id))
                if loaded is not None:
                    s.expire(loaded)
        return cancelled

    def _start_timer(self, s: Session, case: Case, kind: TimerKind, start: datetime, delay: timedelta) -> None:
        _pending_timers(s).pop(case.id, None)
        _db(s).insert(_INSERT_TIMER, {
            "case_id": case.id, "kind": kind, "state": TimerState.PENDING,
            "started_at": _db_time(start), "due_at": _db_time(start + delay),
        })

    def _manager_for(self, s: Session, case: Case) -> str:
        if case.assignee_id is not None:
            analyst = s.get(Agent, case.assignee_id)
            if analyst is not None and analyst.manager_id is not None:
                manager = s.get(Agent, analyst.manager_id)
                if manager is not None:
                    return manager.name
        return "managers"

    def _assignee_name(self, s: Session, case: Case) -> str | None:
        if case.assignee_id is None:
            return None
        agent = s.get(Agent, case.assignee_id)
        return agent.name if agent else None

    # ------------------------------------------------------------ status engine
    def _enter(
        self,
        s: Session,
        case: Case,
        status: Status,
        sub_status: SubStatus | None,
        actor: str,
        at: datetime,
        *,
        resolution: str | None = None,
        reason: str | None = None,
        event_kind: str = "status_changed",
        **data: Any,
    ) -> Written:
        """Move a case into a status: cancel the old status's timers, start the new ones, send what it sends."""
        previous = (case.status, case.sub_status)
        leaving_customer_input = previous != (status, sub_status)
        cancelled: list[str] = []
        if status is Status.CLOSED:
            cancelled = self._cancel_timers(s, case, None, at)
        elif leaving_customer_input:
            cancelled = self._cancel_timers(s, case, STATUS_TIMERS, at)
        if leaving_customer_input and case.attention and case.attention.startswith("chase"):
            case.attention = None  # the reminder's chase flag ends with customer_input
        case.status = status
        case.sub_status = sub_status.value if sub_status else None
        if resolution is not None:
            case.resolution = resolution
        label = status.value + (f"/{sub_status.value}" if sub_status else "")
        if status is Status.CLOSED:
            if (batch := _BATCH.get()) is not None and batch.service is self and batch.routing is not None:
                batch.routing.closed(case.assignee_id)  # the batch's routing counts stay current
            case.close_reason = reason
            case.closed_at = _db_time(at)
            case.attention = None
        self._touch(case, actor, f"moved it to {label}", at)
        event = self._event(
            s,
            case,
            event_kind,
            actor,
            at,
            body=resolution if status is Status.AWAITING_CONFIRMATION else reason,
            **{
                "from": previous[0],
                "from_sub_status": previous[1],
                "to": status.value,
                "sub_status": case.sub_status,
                **({"cancelled_timers": cancelled} if cancelled else {}),
                **data,
            },
        )
        for kind, delay in timers_for(status, sub_status, self.durations):
            self._start_timer(s, case, kind, at, delay)
        if status is Status.AWAITING_CONFIRMATION:
            days = self.durations.awaiting_confirmation_close.days
            self._outbox(
                s, case, event, "awaiting_confirmation", _customer_address(case),
                f"[case {case.id}] Please confirm our resolution",
                f"We believe case {case.id} ({case.title}) is resolved:\n\n{case.resolution}\n\n"
                f"Reply if it is not; to confirm it and close the case, reply with the word CONFIRM first. "
                f"Without an answer the case closes in {days} days.",
            )
        if status is Status.CLOSED:
            self._on_closed(s, case, event, at)
        return event

    def _on_closed(self, s: Session, case: Case, event: Written, at: datetime) -> None:
        to = _customer_address(case)
        db = _db(s)
        db.insert(_INSERT_SURVEY, {"case_id": case.id, "sent_at": _db_time(at), "to": to})
        self._outbox(
            s, case, event, "survey", to,
            f"[case {case.id}] How did we do?",
            f"Case {case.id} ({case.title}) is closed. Please rate our support from 1 to 5, with a comment if you like.",
        )
        if case.resolution:
            fingerprint = _fingerprint(case.resolution)
            s.flush()  # (articles the session added: linked or written in this transaction)
            if db.first(_ARTICLE_BY_FINGERPRINT, {"fingerprint": fingerprint}) is None:
                title = case.title[:MAX_TITLE]
                article_id = db.insert(_INSERT_ARTICLE, {
                    "title": title, "body": case.resolution, "fingerprint": fingerprint, "state": "draft",
                    "source_case_id": case.id, "created_at": _db_time(at),
                })
                self._event(s, case, "article_drafted", "system", at, body=title, article=article_id)

    # ----------------------------------------------------------------- agents
    def add_agent(
        self,
        name: str,
        role: str,
        *,
        actor: str | None,
        skills: Sequence[str] = (),
        manager: str | None = None,
        email: str | None = None,
    ) -> AgentView:
        role_value = parse_enum(Role, role, "role")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise InvalidInput(f"agent name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        skill_list = sorted({sk.strip().lower() for sk in skills if sk.strip()})
        for skill in skill_list:
            clean_text(skill, "skill", max_len=64)
        clean_text(",".join(skill_list), "skills (all together)", max_len=512)  # the column's size
        with self._tx() as s:
            any_agent = s.exec(select(Agent.id).limit(1)).first()
            if any_agent is not None:
                self._actor(s, actor, DESK_LEADS, "add agents")
            if s.exec(select(Agent).where(Agent.name == name)).first() is not None:
                raise InvalidInput(f"agent {name!r} already exists")
            manager_id = None
            if manager:
                boss = self._agent(s, manager)
                if boss.role != Role.MANAGER:
                    raise InvalidInput(f"{manager} is {_a(boss.role)}, not a manager")
                manager_id = boss.id
            agent = Agent(
                name=name,
                role=role_value,
                skills=",".join(skill_list),
                manager_id=manager_id,
                email=clean_text(email, "email", max_len=320),
                created_at=_db_time(self.now()),
            )
            s.add(agent)
            s.flush()
            return self._agent_view(s, agent, 0)

    def _agent_view(self, s: Session, agent: Agent, open_cases: int) -> AgentView:
        manager = s.get(Agent, agent.manager_id).name if agent.manager_id else None
        return AgentView(
            id=agent.id,
            name=agent.name,
            role=agent.role,
            skills=[sk for sk in agent.skills.split(",") if sk],
            manager=manager,
            availability=agent.availability,
            open_cases=open_cases,
        )

    def list_agents(self) -> list[AgentView]:
        with self._read() as s:
            counts = dict(
                s.exec(
                    select(Case.assignee_id, func.count())
                    .where(Case.status != Status.CLOSED, col(Case.assignee_id).is_not(None))
                    .group_by(Case.assignee_id)
                ).all()
            )
            agents = s.exec(select(Agent).order_by(Agent.name)).all()
            return [self._agent_view(s, a, counts.get(a.id, 0)) for a in agents]

    def get_agent(self, name: str) -> AgentView:
        with self._read() as s:
            agent = self._agent(s, name)
            return self._agent_view(s, agent, 0)

    def has_agents(self) -> bool:
        with self._read() as s:
            return s.exec(select(Agent.id).limit(1)).first() is not None

    def set_availability(self, name: str, availability: str, *, actor: str) -> AgentView:
        value = parse_enum(Availability, availability, "availability")
        with self._tx() as s:
            who = self._agent(s, actor)
            agent = self._agent(s, name)
            if who.id != agent.id and who.role not in DESK_LEADS:
                raise PermissionDenied(f"{who.name} is {_a(who.role)}: only their own availability may be changed")
            agent.availability = value
            return self._agent_view(s, agent, 0)

    # ------------------------------------------------------------------ routing
    def _route(self, s: Session, case: Case) -> Agent | None:
        """The available analyst with the case's skill and the fewest open cases (see RoutingMemo);
        a batch keeps routing's reads across its actions, a single action reads them afresh."""
        batch = _BATCH.get()
        routing = batch.routing if batch is not None and batch.service is self else None
        return (routing or RoutingMemo()).route(s, case)

    # ------------------------------------------------------------------- cases
    def open_case(
        self,
        title: str,
        customer: str,
        *,
        description: str | None = "",
        contact: str | None = None,
        product_area: str | None = None,
        severity: str | None = None,
        ref: str | None = None,
        at: datetime | None = None,
        actor: str | None = None,
        language: str | None = None,
        event_data: dict[str, Any] | None = None,
    ) -> tuple[CaseView, bool]:
        """Open a case (routing it), or give back the existing one for a known ref. Returns (case, created)."""
        title = clean_text(title, "title", max_len=MAX_TITLE, required=True)
        customer = clean_text(customer, "customer", max_len=MAX_SHORT, required=True)
        description = clean_text(description, "description") or ""
        contact = clean_text(contact, "contact", max_len=320)
        product_area = clean_text(product_area, "product_area", max_len=100)
        ref = clean_text(ref, "ref", max_len=MAX_SHORT)
        language = clean_text(language, "language", max_len=16)
        if language is not None and not LANGUAGE_RE.match(language):
            raise InvalidInput(f"language {language!r}: use a language tag such as en, de or fr-CH")
        sev = parse_enum(Severity, severity or Severity.NORMAL, "severity")
        when = to_utc(at) if at else self.now()
        try:
            return self._open_new(title, customer, description, contact, language, product_area, sev, ref, when,
                                  actor, event_data)
        except IntegrityError:
            if ref is None:
                raise
            # another writer opened the same ref at this moment; the unique ref refused ours
            with self._read() as s:
                existing = s.exec(select(Case).where(Case.ref == ref)).first()
                if existing is None:
                    raise
                return self._case_view(s, existing), False

    def _open_new(
        self, title: str, customer: str, description: str, contact: str | None, language: str | None,
        product_area: str | None, sev: Severity, ref: str | None, when: datetime, actor: str | None,
        event_data: dict[str, Any] | None = None,
    ) -> tuple[CaseView, bool]:
        with self._tx() as s:
            if ref is not None:
                existing = _db(s).first(_CASE_BY_REF, {"ref": ref})
                if existing is not None:
                    return self._case_view(s, CaseRecord(existing)), False
            # The new case goes in by a Core insert (building and flushing an ORM Case costs more
            # than the insert); routing and the events read the same values from a plain object.
            case: Any = SimpleNamespace(
                ref=ref,
                title=title,
                description=description,
                customer=customer,
                contact=contact,
                language=language.lower() if language else None,
                product_area=product_area.strip().lower() if product_area else None,
                severity=sev.value,
                priority=SEVERITY_PRIORITY[sev].value,
                status=Status.NEW.value,
                created_at=_db_time(when),
                updated_at=_db_time(when),
                version=1,
                last_actor=actor or f"customer:{customer}",
                last_change="opened it",
            )
            analyst = self._route(s, case)
            case.assignee_id = analyst.id if analyst else None
            db = _db(s)
            case.id = db.insert(_INSERT_CASE, vars(case))
            note_write(s, case.id)  # other consoles hear of the new case (PostgreSQL)
            db.insert_many(_INSERT_EVENT, [  # both events in one executemany
                self._event_row(
                    case, "opened", actor or _customer_actor(case), when, body=description or None,
                    title=title, severity=sev.value, priority=case.priority, product_area=case.product_area,
                    **(event_data or {}),
                ),
                self._event_row(
                    case, "assigned", "router", when,
                    assignee=analyst.name if analyst else None,
                    queue=None if analyst else "team",
                ),
            ])
            batch = _BATCH.get()
            if batch is not None and batch.service is self and batch.light:
                return CaseBrief(id=case.id, status=case.status), True  # type: ignore[return-value]
            return self._case_view(s, s.get_one(Case, case.id)), True

    def get_case(self, case_id: int) -> CaseView:
        with self._read() as s:
            return self._case_view(s, self._case(s, case_id, lock=False))

    def move(
        self,
        case_id: int,
        status: str,
        *,
        actor: str,
        sub_status: str | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> CaseView:
        """An analyst action: move a case to another status (closing goes through close())."""
        target = parse_enum(Status, status, "status")
        target_sub = parse_enum(SubStatus, sub_status, "sub-status") if sub_status else None
        note = clean_text(note, "note")
        if target is Status.CLOSED:
            return self.close(case_id, reason=note or "", actor=actor, expected_version=expected_version)
        with self._tx() as s:
            agent = self._actor(s, actor, CASE_WORKERS, "move cases")
            case = self._case(s, case_id)
            self._check_version(s, case, expected_version)
            check_move(case.id, Status(case.status), self._sub(case), target, target_sub, note)
            now = self.now()
            if case.assignee_id is None and agent.role == Role.ANALYST:
                case.assignee_id = agent.id
                self._event(s, case, "assigned", agent.name, now, assignee=agent.name, taken=True)
            if target is Status.IN_PROGRESS:
                case.attention = None
            self._enter(
                s, case, target, target_sub, agent.name, now,
                resolution=note if target is Status.AWAITING_CONFIRMATION else None,
            )
            if note and target is not Status.AWAITING_CONFIRMATION:
                self._event(s, case, "note", agent.name, now, body=note)
            return self._case_view(s, case)

    @staticmethod
    def _sub(case: Case) -> SubStatus | None:
        return SubStatus(case.sub_status) if case.sub_status else None

    def close(self, case_id: int, *, reason: str, actor: str, expected_version: int | None = None) -> CaseView:
        reason = clean_text(reason, "reason", max_len=MAX_TEXT)
        with self._tx() as s:
            agent = self._actor(s, actor, CASE_WORKERS, "close cases")
            case = self._case(s, case_id)
            self._check_version(s, case, expected_version)
            check_move(case.id, Status(case.status), self._sub(case), Status.CLOSED, None, None, reason)
            self._enter(s, case, Status.CLOSED, None, agent.name, self.now(), reason=reason.strip())
            return self._case_view(s, case)

    def clone(self, case_id: int, *, actor: str) -> CaseView:
        with self._tx() as s:
            agent = self._actor(s, actor, CASE_WORKERS, "clone cases")
            source = self._case(s, case_id)
            if source.status != Status.CLOSED:
                raise InvalidTransition(
                    f"case {source.id} is {source.status}: only a closed case is cloned; work on it instead"
                )
            now = self.now()
            case = Case(
                title=source.title,
                description=source.description,
                customer=source.customer,
                contact=source.contact,
                language=source.language,
                product_area=source.product_area,
                severity=source.severity,
                priority=SEVERITY_PRIORITY[Severity(source.severity)],
                status=Status.NEW,
                cloned_from_id=source.id,
                created_at=_db_time(now),
                updated_at=_db_time(now),
                version=1,
                last_actor=agent.name,
                last_change=f"cloned it from case {source.id}",
            )
            analyst = self._route(s, case)
            case.assignee_id = analyst.id if analyst else None
            s.add(case)
            s.flush()
            self._event(s, case, "opened", agent.name, now, body=case.description or None,
                        title=case.title, cloned_from=source.id, priority=case.priority)
            self._event(s, case, "assigned", "router", now,
                        assignee=analyst.name if analyst else None, queue=None if analyst else "team")
            self._event(s, source, "cloned", agent.name, now, clone=case.id)
            return self._case_view(s, case)

    def assign(self, case_id: int, assignee: str | None, *, actor: str, expected_version: int | None = None) -> CaseView:
        """Reassign (manager or supervisor), or take a case yourself (an analyst naming themself)."""
        with self._tx() as s:
            who = self._agent(s, actor)
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "reassign it")
            self._check_version(s, case, expected_version)
            target = self._agent(s, assignee) if assignee else None
            self_take = target is not None and target.id == who.id and who.role == Role.ANALYST
            if who.role not in DESK_LEADS and not self_take:
                raise PermissionDenied(f"{who.name} is {_a(who.role)}: only a manager or supervisor may reassign cases")
            if target is not None and target.role != Role.ANALYST:
                raise InvalidInput(f"{target.name} is {_a(target.role)}: cases are assigned to analysts")
            if target is not None and case.assignee_id == target.id:
                raise InvalidInput(f"case {case.id} is already assigned to {target.name}")
            now = self.now()
            previous = self._assignee_name(s, case)
            case.assignee_id = target.id if target else None
            label = f"assigned it to {target.name}" if target else "put it back in the team queue"
            self._touch(case, who.name, label, now)
            self._event(s, case, "assigned", who.name, now, assignee=target.name if target else None, previous=previous)
            return self._case_view(s, case)

    def take_next(self, *, actor: str) -> CaseView | None:
        """Atomically take the oldest most urgent unassigned open case that fits the analyst's skills."""
        with self._tx() as s:
            agent = self._actor(s, actor, (Role.ANALYST,), "take cases")
            skills = [sk for sk in agent.skills.split(",") if sk]
            fits = col(Case.product_area).is_(None)
            if skills:
                fits = or_(fits, col(Case.product_area).in_(skills))
            query = (
                select(Case)
                .where(col(Case.assignee_id).is_(None), Case.status != Status.CLOSED, fits)
                .order_by(Case.priority, Case.id)
                .limit(1)
            )
            if self._pg:
                query = query.with_for_update(skip_locked=True)
            case = s.exec(query).first()
            if case is None:
                return None
            now = self.now()
            case.assignee_id = agent.id
            self._touch(case, agent.name, f"took it ({agent.name})", now)
            self._event(s, case, "assigned", agent.name, now, assignee=agent.name, taken=True)
            return self._case_view(s, case)

    def add_note(
        self, case_id: int, body: str, *, actor: str, internal: bool = True, expected_version: int | None = None
    ) -> CaseView:
        """An internal note (team only) or a comment to the customer (sent through the outbox)."""
        body = clean_text(body, "note", required=True)
        with self._tx() as s:
            agent = self._actor(s, actor, CASE_WORKERS + (Role.SUPERVISOR,), "write on cases")
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "add a note")
            self._check_version(s, case, expected_version)
            now = self.now()
            kind = "note" if internal else "comment"
            self._touch(case, agent.name, "added an internal note" if internal else "wrote to the customer", now)
            event = self._event(s, case, kind, agent.name, now, body=body)
            if not internal:
                self._outbox(s, case, event, "comment", _customer_address(case),
                             f"[case {case.id}] {case.title[:120]}", body)
            return self._case_view(s, case)

    # ---------------------------------------------------------- customer events
    def customer_reply(
        self, case_id: int, body: str, *, at: datetime | None = None, actor: str | None = None,
        channel: str = "portal", expected_version: int | None = None, event_data: dict[str, Any] | None = None,
    ) -> tuple[CaseView, str | None]:
        """A customer's words; never dropped. Returns (case, notice) where notice tells e.g. to clone."""
        body = clean_text(body, "body", required=True)
        channel = clean_text(channel, "channel", max_len=20) or "portal"
        with self._tx() as s:
            logged_by = None
            if actor is not None:
                logged_by = self._actor(s, actor, CASE_WORKERS, "log customer contact").name
            case = self._case(s, case_id)
            self._check_version(s, case, expected_version)
            when = to_utc(at) if at else self.now()
            who = _customer_actor(case)
            extra = {"channel": channel, **({"logged_by": logged_by} if logged_by else {}), **(event_data or {})}
            if case.status == Status.CLOSED:
                self._event(s, case, "customer_replied", who, when, body=body, after_close=True, **extra)
                return self._case_view(s, case), (
                    f"case {case.id} is closed: the reply is kept on its timeline; clone it to start new work"
                )
            self._event(s, case, "customer_replied", who, when, body=body, **extra)
            if channel == "phone" and case.attention and case.attention.startswith("chase"):
                case.attention = None
            target = REPLY_TARGET.get(Status(case.status))
            if target is not None:
                self._enter(s, case, target, None, who, when, cause="customer_replied")
            else:
                self._touch(case, who, "replied", when)
            return self._case_view(s, case), None

    def customer_confirm(self, case_id: int, *, at: datetime | None = None, actor: str | None = None,
                         event_data: dict[str, Any] | None = None) -> CaseView:
        with self._tx() as s:
            logged_by = None
            if actor is not None:
                logged_by = self._actor(s, actor, CASE_WORKERS, "log a customer confirmation").name
            case = self._case(s, case_id)
            if case.status != Status.AWAITING_CONFIRMATION:
                raise InvalidTransition(
                    f"case {case.id} is {case.status}: a confirmation only closes a case awaiting confirmation"
                )
            when = to_utc(at) if at else self.now()
            who = _customer_actor(case)
            self._event(s, case, "customer_confirmed", who, when,
                        **({"logged_by": logged_by} if logged_by else {}), **(event_data or {}))
            self._enter(s, case, Status.CLOSED, None, who, when, reason="resolution confirmed by the customer")
            return self._case_view(s, case)

    # -------------------------------------------------------------- escalation
    def request_escalation(
        self, case_id: int, reason: str, *, actor: str | None = None, at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CaseView:
        """Filed by the customer (actor None) or by an agent on the customer's behalf."""
        reason = clean_text(reason, "reason", required=True)
        with self._tx() as s:
            agent = self._agent(s, actor) if actor is not None else None
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "escalate it")
            self._check_version(s, case, expected_version)
            open_one = self._open_escalation(s, case.id)
            if open_one is not None:
                raise InvalidTransition(
                    f"case {case.id} already has an open escalation ({open_one.state} since "
                    f"{_aware(open_one.requested_at):%Y-%m-%d}); one open escalation per case"
                )
            when = to_utc(at) if at else self.now()
            who = agent.name if agent else _customer_actor(case)
            manager = self._manager_for(s, case)
            esc = Escalation(
                case_id=case.id, state=EscalationState.REQUESTED, requested_by=who, requested_at=_db_time(when),
                on_behalf=agent is not None, reason=reason, manager=manager,
            )
            s.add(esc)
            self._touch(case, who, "requested escalation", when)
            event = self._event(s, case, "escalation_requested", who, when, body=reason,
                                manager=manager, on_behalf=agent is not None)
            manager_agent = s.exec(select(Agent).where(Agent.name == manager)).first()
            self._outbox(
                s, case, event, "escalation_requested",
                (manager_agent.email if manager_agent and manager_agent.email else manager),
                f"[case {case.id}] Escalation requested: {case.title[:120]}",
                f"{who} asks to escalate case {case.id} ({case.priority}, {case.status}) for {case.customer}.\n\n"
                f"Reason: {reason}\n\nReview it in deskconsole's escalation review.",
            )
            return self._case_view(s, case)

    def _open_escalation(self, s: Session, case_id: int) -> Escalation | None:
        return s.exec(
            select(Escalation).where(
                Escalation.case_id == case_id, col(Escalation.state).in_(list(OPEN_ESCALATION_STATES))
            )
        ).first()

    def review_escalation(
        self,
        case_id: int,
        *,
        actor: str,
        severity_impact: str | None = None,
        business_risk: str | None = None,
        sla_commitments: str | None = None,
        actions_taken: str | None = None,
        problem_statement_ok: bool | None = None,
        impact_described: bool | None = None,
        workaround_impractical: bool | None = None,
        milestone_date: str | None = None,
    ) -> EscalationView:
        """Record the manager's assessment and checklist on the open request."""
        fields = {
            "severity_impact": clean_text(severity_impact, "severity and impact"),
            "business_risk": clean_text(business_risk, "business risk"),
            "sla_commitments": clean_text(sla_commitments, "SLA commitments"),
            "actions_taken": clean_text(actions_taken, "actions taken"),
            "milestone_date": clean_text(milestone_date, "milestone date", max_len=40),
        }
        checks = {
            "problem_statement_ok": problem_statement_ok,
            "impact_described": impact_described,
            "workaround_impractical": workaround_impractical,
        }
        with self._tx() as s:
            manager = self._actor(s, actor, (Role.MANAGER,), "review escalations")
            case = self._case(s, case_id)
            esc = self._requested(s, case)
            for name, value in {**fields, **checks}.items():
                if value is not None:
                    setattr(esc, name, value)
            now = self.now()
            self._event(s, case, "escalation_reviewed", manager.name, now,
                        **{k: v for k, v in {**fields, **checks}.items() if v is not None})
            return self._escalation_view(s, esc, case)

    def _requested(self, s: Session, case: Case) -> Escalation:
        esc = s.exec(
            select(Escalation).where(Escalation.case_id == case.id, Escalation.state == EscalationState.REQUESTED)
        ).first()
        if esc is None:
            raise InvalidTransition(f"case {case.id} has no escalation request awaiting a decision")
        return esc

    def decide_escalation(
        self,
        case_id: int,
        decision: str,
        *,
        actor: str,
        reason: str | None = None,
        engineer: str | None = None,
        comm_mode: str = "email",
        comm_frequency: str = "daily",
        comm_attendees: str | None = None,
        expected_version: int | None = None,
    ) -> CaseView:
        if decision not in ("approve", "deny"):
            raise InvalidInput(f"decision must be approve or deny, not {decision!r}")
        reason = clean_text(reason, "reason")
        if comm_mode not in COMM_MODES:
            raise InvalidInput(f"communication mode must be one of {', '.join(COMM_MODES)}, not {comm_mode!r}")
        comm_frequency = clean_text(comm_frequency, "frequency", max_len=40) or "daily"
        comm_attendees = clean_text(comm_attendees, "attendees", max_len=2000)
        if decision == "deny" and not (reason and reason.strip()):
            raise InvalidInput(f"case {case_id}: denying an escalation needs a reason")
        with self._tx() as s:
            manager = self._actor(s, actor, (Role.MANAGER,), "decide escalations")
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "decide its escalation")
            self._check_version(s, case, expected_version)
            esc = self._requested(s, case)
            if esc.requested_by == manager.name:
                raise PermissionDenied(
                    f"{manager.name} filed this escalation request: another manager must decide it"
                )
            now = self.now()
            esc.decided_by = manager.name
            esc.decided_at = _db_time(now)
            esc.decision_reason = reason
            if decision == "approve":
                engineer_agent = self._agent(s, engineer) if engineer else manager
                esc.state = EscalationState.APPROVED
                esc.engineer = engineer_agent.name
                esc.comm_mode = comm_mode
                esc.comm_frequency = comm_frequency
                esc.comm_attendees = comm_attendees or f"{case.customer}, {engineer_agent.name}"
                esc.prior_priority = case.priority
                new_priority = raise_priority(Priority(case.priority))
                self._touch(case, manager.name, f"approved escalation ({case.priority}→{new_priority})", now)
                event = self._event(
                    s, case, "escalation_approved", manager.name, now, body=reason,
                    engineer=esc.engineer, comm_mode=comm_mode, comm_frequency=comm_frequency,
                    comm_attendees=esc.comm_attendees,
                )
                if new_priority != case.priority:
                    self._event(s, case, "priority_changed", manager.name, now,
                                **{"from": case.priority, "to": new_priority.value})
                case.priority = new_priority
                self._start_timer(s, case, TimerKind.STATUS_UPDATE, now, self.durations.escalation_status_update)
                self._outbox(
                    s, case, event, "escalation_approved", _customer_address(case),
                    f"[case {case.id}] Your escalation is approved",
                    f"Case {case.id} is now {case.priority}. {esc.engineer} is your escalation engineer and "
                    f"primary contact. We will update you by {comm_mode.replace('_', ' ')}, {comm_frequency}.",
                )
            else:
                esc.state = EscalationState.DENIED
                analyst = self._assignee_name(s, case)
                case.attention = "explain the escalation decision to the customer"
                self._touch(case, manager.name, "denied escalation", now)
                event = self._event(s, case, "escalation_denied", manager.name, now, body=reason,
                                    followup_for=analyst or esc.manager)
                self._outbox(
                    s, case, event, "escalation_denied", analyst or esc.manager or "managers",
                    f"[case {case.id}] Escalation denied: explain the decision to the customer",
                    f"{manager.name} denied the escalation of case {case.id}.\n\nReason: {reason}\n\n"
                    "Please explain the decision to the customer; the case carries on normally.",
                )
            return self._case_view(s, case)

    def log_status_update(self, case_id: int, body: str, *, actor: str) -> CaseView:
        """The daily status update an approved escalation expects; sent to the customer."""
        body = clean_text(body, "status update", required=True)
        with self._tx() as s:
            agent = self._actor(s, actor, CASE_WORKERS, "send escalation status updates")
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "send a status update")
            esc = self._open_escalation(s, case.id)
            if esc is None or esc.state != EscalationState.APPROVED:
                raise InvalidTransition(f"case {case.id} has no approved escalation to report on")
            now = self.now()
            esc.last_status_update_at = _db_time(now)
            self._cancel_timers(s, case, frozenset({TimerKind.STATUS_UPDATE}), now)
            self._start_timer(s, case, TimerKind.STATUS_UPDATE, now, self.durations.escalation_status_update)
            if case.attention == "daily escalation status update due":
                case.attention = None
            self._touch(case, agent.name, "sent the escalation status update", now)
            event = self._event(s, case, "status_update", agent.name, now, body=body)
            self._outbox(s, case, event, "status_update", _customer_address(case),
                         f"[case {case.id}] Status update", body)
            return self._case_view(s, case)

    def de_escalate(
        self,
        case_id: int,
        *,
        actor: str,
        plan_accepted: bool,
        rca_on_track: bool,
        customer_agreed: bool,
        note: str | None = None,
    ) -> CaseView:
        note = clean_text(note, "note")
        with self._tx() as s:
            agent = self._agent(s, actor)
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "de-escalate it")
            esc = self._open_escalation(s, case.id)
            if esc is None or esc.state != EscalationState.APPROVED:
                raise InvalidTransition(f"case {case.id} has no approved escalation to de-escalate")
            if agent.role != Role.MANAGER and agent.name != esc.engineer:
                raise PermissionDenied(
                    f"{agent.name} is {_a(agent.role)}: only a manager or the escalation engineer may de-escalate"
                )
            missing = [
                label
                for label, ok in (
                    ("the action plan is accepted", plan_accepted),
                    ("troubleshooting/root-cause analysis is on track", rca_on_track),
                    ("the customer's agreement is documented", customer_agreed),
                )
                if not ok
            ]
            if missing:
                raise InvalidInput(f"case {case.id}: de-escalation needs confirmation that " + "; ".join(missing))
            now = self.now()
            esc.state = EscalationState.DE_ESCALATED
            esc.de_escalated_by = agent.name
            esc.de_escalated_at = _db_time(now)
            self._cancel_timers(s, case, frozenset({TimerKind.STATUS_UPDATE}), now)
            previous = case.priority
            restored = esc.prior_priority or case.priority
            self._touch(case, agent.name, f"de-escalated ({previous}→{restored})", now)
            event = self._event(s, case, "de_escalated", agent.name, now, body=note,
                                plan_accepted=True, rca_on_track=True, customer_agreed=True)
            if restored != previous:
                self._event(s, case, "priority_changed", agent.name, now, **{"from": previous, "to": restored})
            case.priority = restored
            if case.attention == "daily escalation status update due":
                case.attention = None
            self._outbox(s, case, event, "de_escalated", _customer_address(case),
                         f"[case {case.id}] Escalation closed",
                         f"As agreed, case {case.id} is de-escalated and continues at {restored}.")
            return self._case_view(s, case)

    def list_escalations(self, state: str | None = None, *, open_cases_only: bool = False) -> list[EscalationView]:
        """Escalations, oldest request first."""
        if state is not None:
            parse_enum(EscalationState, state, "escalation state")
        with self._read() as s:
            query = select(Escalation, Case).join(Case, Case.id == Escalation.case_id)
            if state is not None:
                query = query.where(Escalation.state == state)
            if open_cases_only:
                query = query.where(Case.status != Status.CLOSED)
            rows = s.exec(query.order_by(Escalation.requested_at, Escalation.id)).all()
            return [self._escalation_view(s, esc, case) for esc, case in rows]

    def _escalation_view(self, s: Session, esc: Escalation, case: Case) -> EscalationView:
        due = None
        if esc.state == EscalationState.APPROVED:
            # min() in Python: an SQL min()/ORDER BY on due_at makes SQLite scan every pending timer.
            dues = s.exec(
                select(Timer.due_at).where(
                    Timer.case_id == case.id, Timer.kind == TimerKind.STATUS_UPDATE, Timer.state == TimerState.PENDING
                )
            ).all()
            due = min(dues) if dues else None
        return EscalationView(
            id=esc.id, case=case.id, state=esc.state, requested_by=esc.requested_by,
            requested_at=_aware(esc.requested_at), on_behalf=esc.on_behalf, reason=esc.reason, manager=esc.manager,
            severity_impact=esc.severity_impact, business_risk=esc.business_risk,
            sla_commitments=esc.sla_commitments, actions_taken=esc.actions_taken,
            problem_statement_ok=esc.problem_statement_ok, impact_described=esc.impact_described,
            workaround_impractical=esc.workaround_impractical, milestone_date=esc.milestone_date,
            decided_by=esc.decided_by, decided_at=_aware(esc.decided_at), decision_reason=esc.decision_reason,
            engineer=esc.engineer, comm_mode=esc.comm_mode, comm_frequency=esc.comm_frequency,
            comm_attendees=esc.comm_attendees, prior_priority=esc.prior_priority,
            last_status_update_at=_aware(esc.last_status_update_at), status_update_due=_aware(due),
            de_escalated_by=esc.de_escalated_by, de_escalated_at=_aware(esc.de_escalated_at),
            case_title=case.title, case_status=case.status, case_priority=case.priority,
            customer=case.customer, assignee=self._assignee_name(s, case),
        )

    # ------------------------------------------------ knowledge and engineering
    def add_article(self, title: str, body: str, *, state: str = "published") -> ArticleView:
        title = clean_text(title, "title", max_len=MAX_TITLE, required=True)
        body = clean_text(body, "body", required=True)
        with self._tx() as s:
            article = Article(title=title, body=body, fingerprint=_fingerprint(body), state=state,
                              created_at=_db_time(self.now()))
            s.add(article)
            s.flush()
            return self._article_view(article)

    @staticmethod
    def _article_view(a: Article) -> ArticleView:
        return ArticleView(id=a.id, title=a.title, body=a.body, state=a.state, source_case=a.source_case_id,
                           created_at=_aware(a.created_at))

    def search_articles(self, query: str, limit: int = 20) -> list[ArticleView]:
        query = clean_text(query, "search", max_len=MAX_SHORT) or ""
        words = [w for w in query.lower().split() if w][:8]
        with self._read() as s:
            stmt = select(Article)
            for word in words:
                like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                stmt = stmt.where(or_(func.lower(Article.title).like(like, escape="\\"),
                                      func.lower(Article.body).like(like, escape="\\")))
            rows = s.exec(stmt.order_by(Article.state.desc(), Article.id).limit(limit)).all()
            return [self._article_view(a) for a in rows]

    def link_article(self, case_id: int, article_id: int, *, actor: str) -> CaseView:
        with self._tx() as s:
            agent = self._actor(s, actor, CASE_WORKERS, "link articles")
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "link an article")
            article = s.get(Article, article_id)
            if article is None:
                raise NotFound(f"unknown article {article_id}")
            exists = s.exec(
                select(CaseArticle).where(CaseArticle.case_id == case.id, CaseArticle.article_id == article.id)
            ).first()
            if exists is not None:
                raise InvalidInput(f"article {article.id} is already linked to case {case.id}")
            now = self.now()
            s.add(CaseArticle(case_id=case.id, article_id=article.id, linked_by=agent.name, linked_at=_db_time(now)))
            self._touch(case, agent.name, f"linked article {article.id}", now)
            self._event(s, case, "article_linked", agent.name, now, body=article.title, article=article.id)
            return self._case_view(s, case)

    def log_engineering(
        self, case_id: int, reference: str, summary: str, *, actor: str, kind: str = "defect",
        expected_version: int | None = None,
    ) -> CaseView:
        """Log a defect or enhancement with engineering: case to pending/development, customer told the reference."""
        if kind not in ("defect", "enhancement"):
            raise InvalidInput(f"kind must be defect or enhancement, not {kind!r}")
        reference = clean_text(reference, "engineering reference", max_len=100, required=True).strip()
        summary = clean_text(summary, "summary", required=True)
        with self._tx() as s:
            agent = self._actor(s, actor, CASE_WORKERS, "log defects")
            case = self._case(s, case_id)
            self._check_version(s, case, expected_version)
            status, sub = Status(case.status), self._sub(case)
            if not (status is Status.PENDING and sub is SubStatus.DEVELOPMENT):
                check_move(case.id, status, sub, Status.PENDING, SubStatus.DEVELOPMENT, None)
            now = self.now()
            s.add(EngineeringItem(case_id=case.id, kind=kind, reference=reference, summary=summary,
                                  logged_by=agent.name, logged_at=_db_time(now)))
            case.engineering_ref = reference
            event = self._event(s, case, f"{kind}_logged", agent.name, now, body=summary, reference=reference)
            if not (status is Status.PENDING and sub is SubStatus.DEVELOPMENT):
                self._enter(s, case, Status.PENDING, SubStatus.DEVELOPMENT, agent.name, now, reference=reference)
            else:
                self._touch(case, agent.name, f"logged {kind} {reference}", now)
            self._outbox(
                s, case, event, f"{kind}_logged", _customer_address(case),
                f"[case {case.id}] Logged with engineering as {reference}",
                f"We logged your case {case.id} with engineering as {kind} {reference}. "
                "Quote this reference when you ask about it; we will tell you when it moves.",
            )
            return self._case_view(s, case)

    # ------------------------------------------------------------------ surveys
    def answer_survey(self, case_id: int, score: Any, comment: str | None = None, *,
                      at: datetime | None = None, event_data: dict[str, Any] | None = None) -> SurveyView:
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise InvalidInput(f"survey score must be a whole number from 1 to 5, not {score!r}")
        comment = clean_text(comment, "comment")
        with self._tx() as s:
            case = self._case(s, case_id)
            survey = s.exec(select(Survey).where(Survey.case_id == case.id)).first()
            if survey is None:
                raise InvalidTransition(f"case {case.id} is {case.status}: no survey was sent (surveys follow closing)")
            if survey.answered_at is not None:
                raise InvalidTransition(f"case {case.id}: the survey was already answered (one answer per case)")
            when = to_utc(at) if at else self.now()
            survey.answered_at = _db_time(when)
            survey.score = score
            survey.comment = comment
            survey.flagged = score <= 2
            self._event(s, case, "survey_answered", _customer_actor(case), when, body=comment,
                        score=score, flagged=survey.flagged, **(event_data or {}))
            return self._survey_view(s, survey, case)

    def _survey_view(self, s: Session, sv: Survey, case: Case) -> SurveyView:
        return SurveyView(
            case=case.id, sent_at=_aware(sv.sent_at), to=sv.to, answered_at=_aware(sv.answered_at), score=sv.score,
            comment=sv.comment, flagged=sv.flagged, case_title=case.title, customer=case.customer,
            assignee=self._assignee_name(s, case),
        )

    def survey_summary(self, *, weeks: int = 12, recent: int = 50) -> SurveySummary:
        with self._read() as s:
            sent = s.exec(select(func.count()).select_from(Survey)).one()
            dist_rows = s.exec(
                select(Survey.score, func.count()).where(col(Survey.score).is_not(None)).group_by(Survey.score)
            ).all()
            distribution = {n: 0 for n in range(1, 6)}
            distribution.update({int(k): int(v) for k, v in dist_rows})
            answered = sum(distribution.values())
            good = distribution[4] + distribution[5]
            csat = round(100.0 * good / answered, 1) if answered else None
            flagged_rows = s.exec(
                select(Survey, Case).join(Case, Case.id == Survey.case_id)
                .where(Survey.flagged == True)  # noqa: E712
                .order_by(col(Survey.answered_at).desc()).limit(recent)
            ).all()
            recent_rows = s.exec(
                select(Survey, Case).join(Case, Case.id == Survey.case_id)
                .where(col(Survey.answered_at).is_not(None))
                .order_by(col(Survey.answered_at).desc()).limit(recent)
            ).all()
            now = self.now()
            start_of_week = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
            first = start_of_week - timedelta(weeks=weeks - 1)
            answers = s.exec(
                select(Survey.answered_at, Survey.score).where(col(Survey.answered_at) >= _db_time(first))
            ).all()
            buckets: dict[int, list[int]] = {i: [] for i in range(weeks)}
            for answered_at, score in answers:
                index = (to_utc(answered_at) - first).days // 7
                if 0 <= index < weeks:
                    buckets[index].append(score)
            trend = []
            for i in range(weeks):
                scores = buckets[i]
                pct = round(100.0 * sum(1 for x in scores if x >= 4) / len(scores), 1) if scores else None
                trend.append(((first + timedelta(weeks=i)).date().isoformat(), pct, len(scores)))
            return SurveySummary(
                sent=int(sent), answered=answered, distribution=distribution, csat=csat,
                flagged=[self._survey_view(s, sv, c) for sv, c in flagged_rows],
                trend=trend,
                recent=[self._survey_view(s, sv, c) for sv, c in recent_rows],
            )

    # ------------------------------------------------------------------- timers
    def tick(self, now: datetime | None = None) -> list[Fired]:
        """Fire every timer due at `now`, each exactly once across all processes ticking this database.

        A late timer takes effect as of its due time; the record keeps when it was processed.
        Effects that start new timers already due (e.g. the follow-up after a late auto-close)
        fire in the same call.
        """
        now = to_utc(now) if now else self.now()
        fired: list[Fired] = []
        self._tick_applied = 0
        while True:
            batch, seen = self._tick_pass(now)
            fired.extend(batch)
            if not seen:
                return fired

    def _tick_checkpoint(self, applied: int) -> None:
        """Count firings applied (not yet committed) by this tick; the crash-test hook lives here.

        DESKCONSOLE_TICK_PAUSE_AFTER=N (tests only; unset in normal use, and then this only counts)
        makes the process stop inside the open transaction once N firings of this tick are applied,
        announce it with one line on standard error and wait there to be killed, so a test can
        SIGKILL a ticker in the middle of its work at a known point.
        """
        import os

        self._tick_applied = getattr(self, "_tick_applied", 0) + applied
        limit = os.environ.get("DESKCONSOLE_TICK_PAUSE_AFTER", "")
        if applied and limit.isdigit() and self._tick_applied >= int(limit) > 0:
            import sys
            import time

            sys.stderr.write(f"tick paused after {self._tick_applied} firings (DESKCONSOLE_TICK_PAUSE_AFTER)\n")
            sys.stderr.flush()
            while True:
                time.sleep(60)

    def _due(self, s: Session, now: datetime, limit: int) -> list[tuple[int, int]]:
        return list(
            s.exec(
                select(Timer.id, Timer.case_id)
                .where(Timer.state == TimerState.PENDING, Timer.due_at <= _db_time(now))
                .order_by(Timer.due_at, Timer.id)
                .limit(limit)
            ).all()
        )

    def _tick_pass(self, now: datetime) -> tuple[list[Fired], bool]:
        """One batch of due timers: (what this process fired, whether any were due at all)."""
        if not self._pg:
            # SQLite: the whole pass holds the write lock (BEGIN IMMEDIATE); other tickers wait.
            with self._tx() as s:
                return self._tick_pass_bulk(s, now)
        # PostgreSQL: a few dozen timers per transaction. Lock their cases first (the same order as
        # every action), skipping cases another ticker or an action holds; those are retried one by
        # one, blocking, at the end if their timer is still pending. A claim and its effect always
        # commit together: a ticker killed mid-transaction leaves neither.
        with self._read() as s:
            due = self._due(s, now, TICK_BATCH)
        fired, skipped = [], []
        for first in range(0, len(due), PG_TICK_CHUNK):
            chunk = due[first:first + PG_TICK_CHUNK]
            done: list[Fired] = []
            with self._tx() as s:
                locked = set(s.exec(  # only cases whose timer is still pending: another ticker's work is done
                    select(Case.id)
                    .join(Timer, col(Timer.case_id) == col(Case.id))
                    .where(col(Timer.id).in_([timer_id for timer_id, _ in chunk]), Timer.state == TimerState.PENDING)
                    .order_by(Case.id)
                    .with_for_update(of=Case, skip_locked=True)
                ).all())
                for timer_id, case_id in chunk:
                    if case_id not in locked:
                        skipped.append((timer_id, case_id))
                        continue
                    result = self._fire(s, timer_id, case_id, now)
                    self._tick_checkpoint(int(result is not None))
                    if result:
                        done.append(result)
            fired.extend(done)
        if skipped:
            with self._read() as s:
                pending = set(s.exec(
                    select(Timer.id).where(col(Timer.id).in_([t for t, _ in skipped]),
                                           Timer.state == TimerState.PENDING)
                ).all())
            skipped = [(t, c) for t, c in skipped if t in pending]
        for timer_id, case_id in skipped:
            with self._tx() as s:
                s.exec(select(Case.id).where(Case.id == case_id).with_for_update()).first()
                result = self._fire(s, timer_id, case_id, now)
                self._tick_checkpoint(int(result is not None))
            if result:
                fired.append(result)
        return fired, bool(due)

    def _tick_pass_bulk(self, s: Session, now: datetime) -> tuple[list[Fired], bool]:
        """One batch of due timers in one transaction, the common kinds written with bulk statements.

        The batch is claimed in one conditional UPDATE; RETURNING names exactly the timers this
        pass won. Timers are applied in due order: runs of reminders and follow-ups go through
        executemany statements, auto-closes and status updates through the per-timer effects.
        """
        table = Timer.__table__
        due = s.execute(
            select(table.c.id, table.c.case_id, table.c.kind, table.c.due_at)
            .where(table.c.state == TimerState.PENDING, table.c.due_at <= _db_time(now))
            .order_by(table.c.due_at, table.c.id)
            .limit(TICK_BATCH)
        ).all()
        if not due:
            return [], False
        # Only reminders and follow-ups are claimed up front: nothing earlier in a batch can cancel
        # them (a reminder precedes its case's auto-close; a follow-up belongs to a closed case).
        # Auto-closes and status updates are claimed one by one when their turn comes, so that an
        # earlier effect in the same batch (an auto-close cancelling the daily update) still wins.
        bulk_kinds = (TimerKind.REMINDER, TimerKind.FOLLOWUP)
        bulk_ids = [row.id for row in due if row.kind in bulk_kinds]
        won = set(
            s.execute(
                update(table)
                .where(table.c.state == TimerState.PENDING, table.c.id.in_(bulk_ids))
                .values(state=TimerState.FIRED, fired_at=_db_time(now))
                .returning(table.c.id)
            ).scalars()
        ) if bulk_ids else set()
        fired: list[Fired] = []
        run: list[Any] = []
        for row in due:
            if row.kind in bulk_kinds:
                if row.id in won:
                    run.append(row)
                continue
            if run:
                fired.extend(self._fire_bulk(s, run, now))
                self._tick_checkpoint(len(run))
                run = []
            result = self._fire(s, row.id, row.case_id, now, (row.kind, row.due_at))
            self._tick_checkpoint(int(result is not None))
            if result:
                fired.append(result)
        if run:
            fired.extend(self._fire_bulk(s, run, now))
            self._tick_checkpoint(len(run))
        return fired, True

    def _fire_bulk(self, s: Session, timers: Sequence[Any], now: datetime) -> list[Fired]:
        """The effects of claimed reminders and follow-ups, as _fire_claimed writes them, in bulk."""
        _write_cases(s)  # the per-timer effects before these rows, in order (their cases read afresh after)
        s.flush()
        s.info.pop("pending_timers", None)  # (their timers were claimed past _fire)
        cases_t, events_t, outbox_t = Case.__table__, Event.__table__, Outbox.__table__
        case_ids = sorted({t.case_id for t in timers})
        cases = {
            c.id: c
            for c in s.execute(
                select(cases_t.c.id, cases_t.c.title, cases_t.c.customer, cases_t.c.contact)
                .where(cases_t.c.id.in_(case_ids))
            ).all()
        }
        events, fired = [], []
        for t in timers:
            due = to_utc(t.due_at)
            kind = TimerKind(t.kind)
            stamp = {"timer": kind.value, "due": due.isoformat(), "fired": now.isoformat()}
            events.append({
                "case_id": t.case_id, "at": _db_time(due), "recorded_at": _db_time(self.now()), "actor": "timer",
                "kind": "timer_fired", "body": None, "data": _event_data(stamp),
            })
            fired.append(Fired(case=t.case_id, timer=kind.value, due=due, fired=now))
        event_ids = s.execute(
            insert(events_t).returning(events_t.c.id, sort_by_parameter_order=True), events
        ).scalars().all()
        outbox, touched = [], []
        for t, event, event_id in zip(timers, events, event_ids, strict=True):
            case = cases[t.case_id]
            due = to_utc(t.due_at)
            if t.kind == TimerKind.REMINDER:
                kind, (subject, body) = "reminder", self._reminder_message(case.id, case.title, due)
                touched.append({"b_id": t.case_id, "b_due": _db_time(due)})
            else:
                kind, (subject, body) = "followup", self._followup_message(case.id, case.title)
            outbox.append({
                "case_id": t.case_id, "event_id": event_id, "kind": kind,
                "to": _customer_address(case), "subject": subject, "body": body,
                "created_at": event["recorded_at"], "state": "queued", "sent_at": None, "attempts": 0,
                "next_attempt_at": None, "last_error": None, "message_id": None, "claimed_until": None,
            })
        s.execute(insert(outbox_t), outbox)
        if touched:
            # as _touch: version + 1, updated_at never moves back (a late timer is as of its due time)
            s.execute(
                update(cases_t)
                .where(cases_t.c.id == bindparam("b_id"))
                .values(
                    attention="chase by phone: customer input overdue",
                    version=cases_t.c.version + 1,
                    updated_at=func.max(cases_t.c.updated_at, bindparam("b_due", type_=cases_t.c.updated_at.type)),
                    last_actor="timer",
                    last_change="sent the customer a reminder"[:MAX_SHORT],
                ),
                touched,
            )
        s.expire_all()  # rows written past the session: later per-timer effects read them afresh
        return fired

    def _reminder_message(self, case_id: int, title: str, due: datetime) -> tuple[str, str]:
        closes = due + self.durations.customer_input_close - self.durations.customer_input_reminder
        return (
            f"[case {case_id}] We are waiting for your answer",
            f"Case {case_id} ({title}) is waiting for information from you. Without an answer it closes "
            f"on {closes:%Y-%m-%d}.",
        )

    @staticmethod
    def _followup_message(case_id: int, title: str) -> tuple[str, str]:
        return (
            f"[case {case_id}] Following up",
            f"Case {case_id} ({title}) was closed yesterday. If anything is still wrong, "
            "reply and we will open a new case linked to it.",
        )

    def _fire(
        self, s: Session, timer_id: int, case_id: int, now: datetime, timer: tuple[str, datetime] | None = None,
    ) -> Fired | None:
        """Claim the timer with a conditional update; apply its effect only if this call won it.
        `timer`: its kind and due time, when the caller has read them."""
        _pending_timers(s).pop(case_id, None)
        db = _db(s)
        if db.execute(_CLAIM_TIMER, {"b_timer_id": timer_id, "b_at": _db_time(now)}) != 1:
            return None
        if timer is None:
            row = db.first(_TIMER_BY_ID, {"timer_id": timer_id})
            timer = (row["kind"], row["due_at"])  # type: ignore[index]
        return self._fire_claimed(s, case_id, timer[0], timer[1], now)

    def _fire_claimed(self, s: Session, case_id: int, timer_kind: str, due_at: datetime, now: datetime) -> Fired:
        """Apply the effect of a timer this process has claimed (its state is already 'fired').

        The effect changes the case's CaseRecord (the one the action firing it works on, when one
        does), written when the transaction or savepoint ends; the caller holds the case's lock."""
        case = s.info.get("case_records", {}).get(case_id) or self._record(s, case_id)
        due = to_utc(due_at)
        kind = TimerKind(timer_kind)
        stamp = {"timer": kind.value, "due": due.isoformat(), "fired": now.isoformat()}
        if kind is TimerKind.REMINDER:
            case.attention = "chase by phone: customer input overdue"
            self._touch(case, "timer", "sent the customer a reminder", due)
            event = self._event(s, case, "timer_fired", "timer", due, **stamp)
            self._outbox(
                s, case, event, "reminder", _customer_address(case), *self._reminder_message(case.id, case.title, due)
            )
        elif kind is TimerKind.AUTO_CLOSE:
            self._event(s, case, "timer_fired", "timer", due, **stamp)
            reason = (
                "auto-closed: resolution not confirmed in time"
                if case.status == Status.AWAITING_CONFIRMATION
                else "auto-closed: no customer input in time"
            )
            self._enter(s, case, Status.CLOSED, None, "timer", due, reason=reason)
        elif kind is TimerKind.FOLLOWUP:
            event = self._event(s, case, "timer_fired", "timer", due, **stamp)
            self._outbox(
                s, case, event, "followup", _customer_address(case), *self._followup_message(case.id, case.title)
            )
        elif kind is TimerKind.STATUS_UPDATE:
            esc = self._open_escalation(s, case.id)
            event = self._event(s, case, "timer_fired", "timer", due, **stamp)
            if esc is not None and esc.state == EscalationState.APPROVED and case.status != Status.CLOSED:
                case.attention = "daily escalation status update due"
                self._touch(case, "timer", "flagged the daily status update as due", due)
                self._outbox(
                    s, case, event, "status_update_due", esc.engineer or esc.manager or "managers",
                    f"[case {case.id}] Daily status update due",
                    f"Escalated case {case.id} ({case.title}) is due its daily status update to {case.customer}.",
                )
                step = self.durations.escalation_status_update
                following = due + step
                while following <= now:
                    following += step
                self._start_timer(s, case, TimerKind.STATUS_UPDATE, following - step, step)
        return Fired(case=case.id, timer=kind.value, due=due, fired=now)

    def running_timers(self, *, kind: str | None = None, limit: int = 500) -> list[TimerView]:
        """Every timer still to fire, soonest first (the supervisor's countdowns)."""
        if kind is not None:
            parse_enum(TimerKind, kind, "timer kind")
        with self._read() as s:
            query = (
                select(Timer, Case)
                .join(Case, Case.id == Timer.case_id)
                .where(Timer.state == TimerState.PENDING)
            )
            if kind is not None:
                query = query.where(Timer.kind == kind)
            rows = s.exec(query.order_by(Timer.due_at, Timer.id).limit(limit)).all()
            names = self._names(s, {c.assignee_id for _, c in rows})
            return [self._timer_view(t, c, names.get(c.assignee_id)) for t, c in rows]

    @staticmethod
    def _timer_view(t: Timer, c: Case, assignee: str | None) -> TimerView:
        return TimerView(
            id=t.id, case=c.id, kind=t.kind, state=t.state, started_at=_aware(t.started_at), due=_aware(t.due_at),
            fired=_aware(t.fired_at), case_title=c.title, case_status=c.status, case_sub_status=c.sub_status,
            assignee=assignee, priority=c.priority,
        )

    def _names(self, s: Session, ids: set[int | None]) -> dict[int, str]:
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return {}
        return dict(s.exec(select(Agent.id, Agent.name).where(col(Agent.id).in_(wanted))).all())

    # ------------------------------------------------------------------- lists
    def list_cases(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        view: str = "all",
        actor: str | None = None,
        text: str | None = None,
        sort: str = "oldest",
        after: int | None = None,
    ) -> list[CaseRow]:
        """Cases for a list: oldest first by default; views all/mine/unassigned/escalated/open.

        `after` continues from a case id (keyset pagination): the next page after that case in the
        chosen order (for priority and updated, after that case's place in the order).
        """
        if status is not None:
            parse_enum(Status, status, "status")
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise InvalidInput(f"limit must be a whole number of 0 or more, not {limit!r}")
        text = clean_text(text, "filter", max_len=MAX_SHORT)
        with self._read() as s:
            me = self._agent(s, actor).id if view == "mine" else None
            # One piece of SQL (store/window.py) for the service and the console's first paint.
            driver = s.connection()
            cursor = driver.connection.driver_connection.cursor()
            try:
                return read_window(cursor, driver.dialect.paramstyle, view=view, sort=sort, me=me, status=status,
                                   text=text, after=after, limit=limit)
            finally:
                cursor.close()

    def list_outbox(
        self,
        *,
        case_id: int | None = None,
        limit: int | None = None,
        state: str | None = None,
        newest_first: bool = False,
        before: int | None = None,
    ) -> list[OutboxView]:
        """Outbox rows, oldest first (or newest first); `state` keeps one state, `before` pages by id."""
        with self._read() as s:
            query = select(Outbox)
            if case_id is not None:
                query = query.where(Outbox.case_id == case_id)
            if state is not None:
                query = query.where(Outbox.state == state)
            if before is not None:
                query = query.where(col(Outbox.id) < before)
            query = query.order_by(col(Outbox.id).desc() if newest_first else col(Outbox.id))
            if limit is not None:
                query = query.limit(limit)
            return [
                OutboxView(id=o.id, case=o.case_id, kind=o.kind, to=o.to, subject=o.subject, body=o.body,
                           created_at=_aware(o.created_at), state=o.state, sent_at=_aware(o.sent_at),
                           attempts=o.attempts or 0, last_error=o.last_error, message_id=o.message_id)
                for o in s.exec(query).all()
            ]

    def watch(self) -> Watcher:
        """A change watcher on a connection of its own (store/watch.py): `wait(timeout)`, `close()`.

        Raises WatchUnavailable when this database cannot be watched (poll
        last_change_marker() instead).
        """
        return open_watcher(self.engine)

    def last_change_marker(self) -> int:
        """A cheap number that grows with every change (the newest audit event id)."""
        with self._read() as s:
            return int(s.exec(select(func.max(Event.id))).one() or 0)

    # ------------------------------------------------------------------- views
    def _case_view(self, s: Session, case: Case) -> CaseView:
        batch = _BATCH.get()
        if batch is not None and batch.service is self and batch.light:
            return CaseBrief(id=case.id, status=case.status)  # type: ignore[return-value]
        s.flush()
        # Sorted in Python: ORDER BY due_at makes SQLite pick the (state, due_at) index and scan
        # every pending timer of the desk instead of this case's few.
        timers = sorted(
            s.exec(select(Timer).where(Timer.case_id == case.id, Timer.state == TimerState.PENDING)).all(),
            key=lambda t: (to_utc(t.due_at), t.id),  # rows just added hold aware times, loaded ones may not
        )
        assignee = self._assignee_name(s, case)
        timer_views = [self._timer_view(t, case, assignee) for t in timers]

        def due(kind: TimerKind) -> datetime | None:
            return next((t.due for t in timer_views if t.kind == kind), None)

        esc = s.exec(
            select(Escalation).where(Escalation.case_id == case.id).order_by(col(Escalation.id).desc())
        ).first()
        survey = s.exec(select(Survey).where(Survey.case_id == case.id)).first()
        articles = s.exec(
            select(Article).join(CaseArticle, CaseArticle.article_id == Article.id)
            .where(CaseArticle.case_id == case.id).order_by(CaseArticle.id)
        ).all()
        events = s.exec(select(Event).where(Event.case_id == case.id).order_by(Event.at, Event.id)).all()
        return CaseView(
            id=case.id, ref=case.ref, title=case.title, description=case.description, status=case.status,
            sub_status=case.sub_status, priority=case.priority, severity=case.severity, assignee=assignee,
            customer=case.customer, contact=case.contact, product_area=case.product_area,
            auto_close_at=due(TimerKind.AUTO_CLOSE), reminder_at=due(TimerKind.REMINDER),
            followup_at=due(TimerKind.FOLLOWUP), timers=timer_views,
            escalation=self._escalation_view(s, esc, case) if esc else None,
            version=case.version, attention=case.attention, resolution=case.resolution,
            close_reason=case.close_reason, engineering_ref=case.engineering_ref, cloned_from=case.cloned_from_id,
            created_at=_aware(case.created_at), updated_at=_aware(case.updated_at), closed_at=_aware(case.closed_at),
            last_actor=case.last_actor, last_change=case.last_change,
            survey=self._survey_view(s, survey, case) if survey else None,
            articles=[self._article_view(a) for a in articles],
            events=[
                EventView(id=e.id, at=_aware(e.at), actor=e.actor, kind=e.kind, body=e.body,
                          data=json.loads(e.data) if e.data else {}, recorded_at=_aware(e.recorded_at))
                for e in events
            ],
            language=case.language,
        )

    # ----------------------------------------------------------------- batches
    @contextmanager
    def batch(
        self, *, light: bool = True, routing: RoutingMemo | None = None, savepoints: bool = True,
    ) -> Iterator[Session]:
        """Run several actions in one transaction, each action in a savepoint of it.

        An action that refuses (or fails) rolls back to its own savepoint only, so each
        action is still whole or nothing; the batch commits when the block ends and rolls
        back entirely if the block raises. Without `savepoints` (SQLite) an action that refuses
        or fails may leave part of itself behind, and the session's info then holds
        "failed_without_savepoint": the caller must end the block by raising (rolling the
        whole batch back), and not go on with it. With `light`, actions give back a CaseBrief
        (id and status) instead of building a full CaseView. `routing` keeps what routing
        reads across batches (see RoutingMemo). Batches hold their row locks until they
        commit: keep them short in time.
        """
        if _BATCH.get() is not None:
            raise RuntimeError("Service.batch() does not nest")
        # PostgreSQL: other consoles LISTEN; the touched case ids go out when the batch commits.
        session_type = TrackedSession if self._pg else Session
        with session_type(self.engine, expire_on_commit=False, autoflush=True) as session:
            token = _BATCH.set(_Batch(self, session, light, routing, savepoints))
            try:
                with session.begin():
                    yield session
                    if self._pg:
                        announce(session)
            except BaseException:
                if routing is not None:
                    routing.reset()  # its counts may include what was just rolled back
                raise
            finally:
                _BATCH.reset(token)

    def ingest_progress(self, key: str) -> str | None:
        """What record_ingest_progress last kept under key, or None."""
        from deskconsole.store.models import Meta

        with self._read() as s:
            row = s.get(Meta, key)
            return row.value if row is not None else None

    def record_ingest_progress(self, key: str, value: str, offset: int, *, replace: bool = False) -> None:
        """Keep how far an ingest got through a file (JSON with an "offset"), never moving it back
        (unless `replace`: a run that starts the file over).

        Meant to run inside the batch whose lines it covers, so the mark commits with them.
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


_BATCH: ContextVar[_Batch | None] = ContextVar("deskconsole_batch", default=None)


class _Batch:
    def __init__(
        self, service: Service, session: Session, light: bool, routing: RoutingMemo | None, savepoints: bool,
    ) -> None:
        self.service = service
        self.session = session
        self.light = light
        self.routing = routing
        # PostgreSQL does not hand out again the ids a rolled-back batch took: keep case ids
        # without gaps there by rolling back single actions only.
        self.savepoints = savepoints or service._pg

    def savepoint(self, *, always: bool = False) -> Iterator[Session]:
        self.session.info.pop("before_settle", None)  # that bookkeeping belongs to one action
        self.session.info.pop("case_records", None)  # and so do the cases it read
        self.session.info.pop("pending_timers", None)  # and their timers
        if not (self.savepoints or always):  # see batch(): a failure ends the whole batch
            try:
                yield self.session
            except BaseException:
                # even one its caller handles (a ref opened meanwhile by another writer)
                self.session.info["failed_without_savepoint"] = True
                raise
            _write_cases(self.session)
            return
        with self.session.begin_nested():
            yield self.session
            _write_cases(self.session)


class CaseBrief:
    """What an action inside a light batch gives back instead of a CaseView."""

    __slots__ = ("id", "status")

    def __init__(self, id: int, status: str) -> None:  # noqa: A002
        self.id = id
        self.status = Status(status).value


class RoutingMemo:
    """Routing, and its reads (the analysts, their skills, their open-case counts).

    Routing gives a new case to the available analyst with the fitting skill who has the
    fewest open cases (ties: by name); a case without a product area gets the skill named
    first in its title or description. One action routes with a fresh memo. Counting at a
    million cases costs a large part of a second, so a long ingest keeps one memo across its
    batches: it reads the analysts and counts once and keeps the counts current with its
    own assignments and closes; every REFRESH_S seconds it reads them again, to see what
    other consoles changed meanwhile. mark()/undo() bracket one action: a refused action's
    assignment is taken back.
    """

    REFRESH_S = 5.0

    def __init__(self) -> None:
        self.reset()
        self._saved: dict[int, int] | None = None

    def reset(self) -> None:
        self._loaded_at: float | None = None
        self.available: list[tuple[int, str, list[str]]] = []
        self.skills: list[tuple[str, re.Pattern[str]]] = []
        self.counts: dict[int, int] = {}

    def mark(self) -> None:
        self._saved = dict(self.counts)

    def state(self) -> Any:
        """What restore() puts back: the memo as it is now (before a batch that may be rolled back)."""
        return self._loaded_at, self.available, self.skills, dict(self.counts)

    def restore(self, state: Any) -> None:
        self._loaded_at, self.available, self.skills, counts = state
        self.counts = dict(counts)
        self._saved = None

    def undo(self) -> None:
        if self._saved is not None:
            self.counts = self._saved
            self._saved = None

    def closed(self, assignee_id: int | None) -> None:
        if assignee_id is not None and assignee_id in self.counts:
            self.counts[assignee_id] -= 1

    def _load(self, s: Session) -> None:
        now = time.monotonic()
        if self._loaded_at is not None and now - self._loaded_at < self.REFRESH_S:
            return
        rows = s.exec(
            select(Agent.id, Agent.name, Agent.skills, Agent.availability).where(Agent.role == Role.ANALYST)
        ).all()
        self.available = [(i, n, sk.split(",")) for i, n, sk, av in rows if av == Availability.AVAILABLE]
        skills = {sk for _, _, row, _ in rows for sk in row.split(",") if sk}
        self.skills = [(sk, re.compile(rf"(?<![a-z0-9]){re.escape(sk)}(?![a-z0-9])")) for sk in sorted(skills)]
        self.counts = {}
        self._loaded_at = now

    def _infer_area(self, case: Case) -> str | None:
        """The skill named first in the case's title or description (any analyst's skill)."""
        text = f"{case.title}\n{case.description}".lower()
        best = None
        for skill, pattern in self.skills:
            match = pattern.search(text)
            if match and (best is None or match.start() < best[0]):
                best = (match.start(), skill)
        return best[1] if best else None

    def route(self, s: Session, case: Case) -> Agent | None:
        """The analyst for a new case, over the kept analysts and counts; counts the assignment it makes."""
        self._load(s)
        if not self.available:
            return None
        if not case.product_area:
            case.product_area = self._infer_area(case)
        area = (case.product_area or "").lower()
        fits = [a for a in self.available if area and area in a[2]]
        if not fits:
            return None
        missing = [a[0] for a in fits if a[0] not in self.counts]
        if missing:
            self.counts.update(dict.fromkeys(missing, 0))
            self.counts.update(s.exec(
                select(Case.assignee_id, func.count())
                .where(col(Case.status).in_(_OPEN_STATUS_VALUES), col(Case.assignee_id).in_(missing))
                .group_by(Case.assignee_id)
            ).all())
        best = min(fits, key=lambda a: (self.counts[a[0]], a[1]))
        self.counts[best[0]] += 1
        return s.get(Agent, best[0])


__all__ = ["Service", "DeskError", "clean_text", "describe_refusal"]
