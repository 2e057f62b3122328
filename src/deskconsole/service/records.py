"""The rows the lifecycle service reads and writes, the statements it runs on them, its limits,
text checks and the per-action state (ActionState) its actions keep on their session.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal, Protocol, TypeAlias, overload

from sqlalchemy import Integer, bindparam, column, func, insert, table, text, update
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, select

from deskconsole.domain.clock import to_utc
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import OPEN_STATUSES, Priority, Role
from deskconsole.domain.timers import TimerState
from deskconsole.store.models import Article, Case, Event, Outbox, Survey, Timer
from deskconsole.store.prepared import Runner
from deskconsole.store.watch import note_write

MAX_TITLE = 500
MAX_TEXT = 1_000_000
MAX_SHORT = 200
CASE_WORKERS = (Role.ANALYST, Role.MANAGER)
DESK_LEADS = (Role.MANAGER, Role.SUPERVISOR)
COMM_MODES = ("email", "phone", "conference_call")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,2}$")
TICK_BATCH = 500
PG_TICK_CHUNK = 100  # timers per tick transaction on PostgreSQL, fired set-based (their cases locked until it commits)
PRIORITY_ORDER = [p.value for p in Priority]
_event_data = json.JSONEncoder(default=str).encode  # an event's data as json.dumps(data, default=str) writes it
# Routing's count of open cases per analyst: with `status IN (the open ones)` SQLite seeks each
# (assignee, status) range of the index; `status != 'closed'` walks every case those analysts ever
# had (1M cases, 20 analysts: 0.06 s against 0.25 s). (Counting every analyst at once, list_agents,
# is the other way round: an IN there walks the (status, id) index instead.)
_OPEN_STATUS_VALUES = sorted(s.value for s in OPEN_STATUSES)


def _template_values(values: Mapping[str, Any]) -> str:
    """An outbox row's template values, as its template_values column keeps them (JSON)."""
    return json.dumps(dict(values), default=str, ensure_ascii=False)


def _db_time(value: datetime) -> datetime:
    """Aware UTC, as the tables store it."""
    return to_utc(value)


def _pk(value: int | None) -> int:
    """A stored row's id (SQLModel types a primary key optional: it is None only before the insert)."""
    assert value is not None, "a stored row has an id"
    return value


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: datetime | None) -> datetime | None: ...
def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value)


@overload
def clean_text(value: Any, what: str, *, max_len: int = MAX_TEXT, required: Literal[True]) -> str: ...
@overload
def clean_text(value: Any, what: str, *, max_len: int = MAX_TEXT, required: bool = False) -> str | None: ...
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


class Addressee(Protocol):
    """Whom a case's customer messages go to: a Case, a CaseRecord, the values open_case inserts, or a
    row of those columns (tick's bulk firing)."""

    customer: str
    contact: str | None


def _customer_address(case: Addressee) -> str:
    return case.contact or f"customer:{case.customer}"


def _customer_actor(case: Addressee) -> str:
    return f"customer:{case.customer}"


class Written:
    """A row an action just wrote with a Core insert (an audit event): its id and its values."""

    __slots__ = ("actor", "at", "body", "case_id", "data", "id", "kind", "os_login", "recorded_at")
    id: int
    case_id: int
    at: datetime
    recorded_at: datetime
    actor: str
    kind: str
    body: str | None
    data: str | None  # JSON text
    os_login: str | None

    def __init__(self, id: int, **values: Any) -> None:
        self.id = id
        self.os_login = None
        for name, value in values.items():
            setattr(self, name, value)


# The statements every action runs (read and write its case, append audit events, outbox messages
# and timers, cancel timers) are Core statements run as Prepared ones (store/prepared.py) on the
# session's connection: compiled once, bound and run on the driver's cursor.
# (type: ignore[attr-defined]: SQLModel leaves a table model's __table__ untyped)
_INSERT_EVENT = insert(Event.__table__)  # type: ignore[attr-defined]
_INSERT_OUTBOX = insert(Outbox.__table__)  # type: ignore[attr-defined]
_INSERT_TIMER = insert(Timer.__table__)  # type: ignore[attr-defined]
_INSERT_CASE = insert(Case.__table__)  # type: ignore[attr-defined]
# SQLite: a new case's row in the text index `case_fts` (store/search.py), written with the case by the
# service (ServiceBase._index_new_case): no trigger does it (migration 0016 says why)
_INDEX_NEW_CASE = insert(table("case_fts", column("rowid"), column("title"), column("customer")))
_HAS_TEXT_INDEX = text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'case_fts'")
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
_CASE_IDS = (  # PostgreSQL: n numbers for new cases (CaseIds)
    select(func.nextval(func.pg_get_serial_sequence('"case"', "id")))
    .select_from(func.generate_series(1, bindparam("n", type_=Integer)))
)
_TIMER_IDS = (  # PostgreSQL: a block of ids for new timers (ServiceBase._timer_id_ahead)
    select(func.nextval(func.pg_get_serial_sequence("timer", "id"))).select_from(func.generate_series(1, 256))
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

    # (the columns of Case, set from the row read)
    id: int
    ref: str | None
    title: str
    description: str
    customer: str
    contact: str | None
    language: str | None
    product_area: str | None
    severity: str
    priority: str
    status: str
    sub_status: str | None
    assignee_id: int | None
    resolution: str | None
    close_reason: str | None
    attention: str | None
    engineering_ref: str | None
    cloned_from_id: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int
    last_actor: str | None
    last_change: str | None
    merged_into_id: int | None
    split_from_id: int | None
    _changed: dict[str, Any]

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


# A case as the service's helpers get it: the action's CaseRecord, or an ORM Case (a case just
# cloned, taken or listed).
AnyCase: TypeAlias = Case | CaseRecord


class ActionState:
    """What the actions on one session keep while they run: the one typed place for it.

    - `kept`: the session's connection as prepared statements run on it (a Runner), and the
      transaction or savepoint it was asked for in (see _db);
    - `case_records`: the CaseRecords the current action read, by case id (see ServiceBase._record),
      written back when its transaction or savepoint ends (_write_cases);
    - `pending_timers`: case id -> its pending timers (id, due_at, kind): read once by the action
      (_settle, or ServiceBase._pending_of) and kept whole since by every timer it started, cancelled or
      fired (ServiceBase._insert_timer, forget_timers); a step that cannot keep it whole drops it,
      and the next step that needs it reads it again;
    - `before_settle`: case id -> (version, last actor, last change) before _settle fired due timers
      (what _check_version compares the caller's version with).

    A batch runs many actions on one session: each starts with next_action(); the kept connection
    stays. Reached with action_state(session) (kept in the session's info under one key)."""

    __slots__ = ("before_settle", "case_records", "kept", "pending_timers")

    def __init__(self) -> None:
        self.kept: tuple[SessionTransaction, Runner] | None = None
        self.case_records: dict[int, CaseRecord] = {}
        self.pending_timers: dict[int, list[Any]] = {}
        self.before_settle: dict[int, tuple[int, str | None, str | None]] = {}

    def next_action(self) -> None:
        """Forget what the previous action on this session read (its cases, their timers)."""
        self.case_records = {}
        self.pending_timers = {}
        self.before_settle = {}


_ACTION_STATE = "deskconsole_action"  # the session.info key of its ActionState


def action_state(s: Session) -> ActionState:
    """The session's ActionState, made on first use."""
    state = s.info.get(_ACTION_STATE)
    if state is None:
        state = s.info[_ACTION_STATE] = ActionState()
    return state


def _db(s: Session) -> Runner:
    """Prepared statements on the session's connection for its current transaction, kept: asking
    the Session for its connection costs more than many of the statements run on it.

    It is asked again whenever a savepoint (begin_nested) began or ended since: the Session
    emits SAVEPOINT only when its connection is asked for inside it, and a statement run before
    that would not be rolled back with the savepoint."""
    current = s.get_nested_transaction() or s.get_transaction()
    state = s.info.get(_ACTION_STATE)
    if state is None:
        state = action_state(s)
    kept = state.kept
    if kept is None or kept[0] is not current:
        conn = s.connection()
        current = s.get_nested_transaction() or s.get_transaction()
        runner = kept[1] if kept is not None and kept[1].conn is conn else Runner(conn)
        kept = state.kept = (current, runner)
    return kept[1]


def _pending_timers(s: Session) -> dict[int, list[Any]]:
    """Case id -> its pending timers as this action last read them (see ActionState)."""
    state = s.info.get(_ACTION_STATE)
    return (state if state is not None else action_state(s)).pending_timers


def forget_timers(s: Session, case_id: int, ids: Iterable[int]) -> None:
    """Strike these timers (cancelled, fired) from the action's list of the case's pending timers."""
    ledger = _pending_timers(s)
    known = ledger.get(case_id)
    if known is not None:
        gone = set(ids)
        ledger[case_id] = [timer for timer in known if timer[0] not in gone]


def _write_case(s: Session, case: CaseRecord) -> None:
    """Write what an action changed on a CaseRecord (see there)."""
    changed = case._changed
    if not changed:
        return
    # (on PostgreSQL in a batch kept to go with the next rows: the row is locked, nobody else can
    # change it meanwhile, and every read of the case table sends the kept rows first)
    _db(s).execute_many(_UPDATE_CASE, [{"b_id": case.id, **changed}], changed)
    changed.clear()
    note_write(s, case.id)  # other consoles hear of it (PostgreSQL)
    loaded = s.identity_map.get(s.identity_key(Case, case.id))
    if loaded is not None:  # an ORM Case of the same row (a timer's effect) reads it afresh
        s.expire(loaded)


def _write_cases(s: Session) -> None:
    """Write the current action's CaseRecords; the next reads of those cases read them afresh."""
    state = s.info.get(_ACTION_STATE)
    if state is None or not state.case_records:
        return
    records, state.case_records = state.case_records, {}
    for case in records.values():
        _write_case(s, case)
