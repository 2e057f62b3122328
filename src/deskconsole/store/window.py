"""The queue's window of cases as one piece of SQL: views, sorts, the text filter, keyset paging.

`Service.list_cases` runs it through its engine's driver connection; the console runs the
same SQL on a plain sqlite3 (or psycopg) connection to paint its first window before the
service has loaded (see deskconsole.tui.app). Nothing here imports SQLAlchemy: plain SQL
with `?` placeholders (turned into `%s` for PostgreSQL's driver) and rows made into CaseRows.

    plan = window_sql(view="all", sort="oldest", limit=100)
    rows = [case_row(r) for r in cursor.execute(plan.sql, plan.params)]

The keyset sorts `priority` and `updated` continue after a case's place in the order; that
place is read first (`anchor_sql`) and handed to `window_sql` as `anchor`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deskconsole.domain.clock import to_utc
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import OPEN_ESCALATION_STATES
from deskconsole.domain.rows import CaseRow
from deskconsole.store.search import PG_DOCUMENT, case_number, filter_words, match_expression

VIEWS = ("all", "mine", "unassigned", "open", "escalated")
SORTS = ("oldest", "newest", "priority", "updated", "sla")

# The columns CaseRow is made from, in order (see case_row).
_COLUMNS = (
    "w.id, w.priority, w.status, w.sub_status, w.title, w.customer, a.name, w.product_area, "
    "w.created_at, w.updated_at, w.version, w.attention, "
    "(SELECT e.state FROM escalation e WHERE e.case_id = w.id ORDER BY e.id DESC LIMIT 1), "
    "t.kind, t.due_at, "
)


def sla_columns(sla: bool) -> str:
    """The window's service-level columns: the soonest pending breach and warning, whether a breach
    was recorded and whether an open target's warning fired (its cycle not begun again nor fulfilled
    since). Without policies (`sla` False: the desk never had any, so no case has a metric row or an
    SLA timer) they are constants and the page runs no lookup for them."""
    if not sla:
        return "NULL, NULL, 0, 0"
    # (lookups by the case: the (case_id, state) index of timer, the (case_id, id) one of sla_metric;
    # min(coalesce(..)) and `|| ''` keep SQLite off the (state, due_at) and (kind, at) indexes, which would
    # read every pending timer or breach)
    return (
        "(SELECT min(coalesce(s.due_at, s.due_at)) FROM timer s WHERE s.case_id = w.id AND s.state = 'pending' "
        "AND s.kind || '' = 'sla_breach'), "
        "(SELECT min(coalesce(s.due_at, s.due_at)) FROM timer s WHERE s.case_id = w.id AND s.state = 'pending' "
        "AND s.kind || '' = 'sla_warning'), "
        "(SELECT count(*) FROM (SELECT 1 FROM sla_metric m WHERE m.case_id = w.id AND m.kind || '' = 'breach' "
        "LIMIT 1) b), "
        "(SELECT count(*) FROM (SELECT 1 FROM sla_metric m WHERE m.case_id = w.id AND m.kind || '' = 'warning' "
        "AND NOT EXISTS (SELECT 1 FROM sla_metric n WHERE n.case_id = w.id AND n.target = m.target AND n.id > m.id "
        "AND n.kind IN ('start', 'policy', 'reopen', 'fulfil')) LIMIT 1) v)"
    )


SLA_PROBE = "SELECT count(*) FROM sla_desk"  # policies were loaded (the desk's one row): the page looks SLAs up


# The "sla" sort: cases with a running service-level target by the due time of their (one) pending
# breach timer (the partial index of those timers, migration 0014), then every other case by id.
_SLA_TIMER = "t.state = 'pending' AND t.kind = 'sla_breach'"
_CASE_COLUMNS = ("c.id, c.priority, c.status, c.sub_status, c.title, c.customer, c.assignee_id, c.product_area, "
                 "c.created_at, c.updated_at, c.version, c.attention")
_ORDER = {  # inner (over "case" c) and outer (over the window w)
    "oldest": ("c.id", "w.id"),
    "newest": ("c.id DESC", "w.id DESC"),
    "priority": ("c.priority, c.id", "w.priority, w.id"),
    "updated": ("c.updated_at DESC, c.id DESC", "w.updated_at DESC, w.id DESC"),
    "sla": ("part, CASE WHEN part = 0 THEN sla_key END, id", "w.part, CASE WHEN w.part = 0 THEN w.sla_key END, w.id"),
}


@dataclass(frozen=True)
class Plan:
    sql: str
    params: tuple[Any, ...]

    def for_driver(self, paramstyle: str) -> Plan:
        """The same statement for a driver whose placeholders are `%s` (psycopg)."""
        if paramstyle in ("qmark",):
            return self
        return Plan(self.sql.replace("?", "%s"), self.params)


def anchor_sql(sort: str, after: int) -> Plan | None:
    """What a keyset sort needs to know about the case a page continues after (None: nothing)."""
    if sort == "priority":
        return Plan('SELECT priority FROM "case" WHERE id = ?', (after,))
    if sort == "updated":
        return Plan('SELECT updated_at FROM "case" WHERE id = ?', (after,))
    if sort == "sla":  # (None: the case has no running target; the page goes on among those without)
        return Plan("SELECT min(t.due_at) FROM timer t WHERE t.case_id = ? AND " + _SLA_TIMER, (after,))
    return None


@dataclass(frozen=True)
class TextFilter:
    """The text filter as SQL: WHERE terms (ANDed) over the case `c` with their `?` parameters,
    and on SQLite the full-text table to join (its rowid is the case id; a page of a common word
    in id order then costs a page, not every match)."""

    terms: list[str]
    params: list[Any]
    join: str | None = None


# A filter word's window is first asked among this many cases of the view in order (window_sql's
# `probe`): a word in one case of 20 or more fills a page of 100 there (a rarer one: its matches are
# few, read first at little cost). On PostgreSQL for every order (its text index hands the matches
# unordered; ~25 ms at any size, of to_tsvector per case), on SQLite for priority and last update
# (its index hands them in id order, lazily: the id orders join it).
PROBE = 2000
# A word the first PROBE cases hold fewer than a page of, but not few (WIDER_AT or more: in one case
# of 80 or more), is asked once more over a range sized from what the first probe found (half as
# long again as the page needs, at most WIDEST cases): at a million cases such a word has 12,000
# matches or more, and reading them all to sort them costs more than the wider range (PostgreSQL,
# 1,000,000 cases, "logi": every match 150 ms; the 3,900 cases that hold a page of them 24 ms).
WIDER_AT = 25
WIDEST = 12_000


def wider_probe(found: int, limit: int) -> int | None:
    """The range to ask next after the first probe found `found` (< `limit`) matches among its
    PROBE cases, or None: read the matches first (few of them, or too rare for a range)."""
    if found < WIDER_AT:
        return None
    size = -(-PROBE * limit * 3 // (found * 2))  # (ceil) PROBE * limit / found, and half as much again
    return size if size <= WIDEST else None


def probes(*, view: str = "all", sort: str = "oldest", status: str | None = None,
           where_terms: Sequence[str] = (), dialect: str = "sqlite", **_: Any) -> bool:
    """Whether a filter word's window is asked among the first PROBE cases first (see PROBE; the
    views whose order is an index of their own, no other condition: the first PROBE are a range)."""
    orders = ("priority", "updated") if dialect == "sqlite" else ("oldest", "newest", "priority", "updated")
    return view in ("all", "open") and sort in orders and status is None and not where_terms

# The open view's condition, as its partial indexes state it (migration 0010: `c.id > 0`, true of
# every case, keeps those indexes to this view).
OPEN_VIEW = "c.status <> 'closed' AND c.id > 0"
FTS_JOIN = "JOIN case_fts ON case_fts.rowid = c.id"
# The cases a narrowing window (a filter word, the escalated view) matches, found first through
# their index (the text index, the escalations) into a materialized set, then sorted and paged:
# no planner can turn that into a walk of the case table in the sort's order filtering every row
# (what PostgreSQL did for a rare or absent word, estimating thousands of matches and finding none).
MATCHED = "matched"


def text_condition(text: str, dialect: str = "sqlite", *, join: bool = True) -> TextFilter:
    """The filter through the full-text index (migration 0002; its matching: store/search.py).

    Every word (at most six) must begin a word of the title or the customer; a number also
    matches the case with that id. Words reach the index as letters and digits only, so nothing
    typed is ever query syntax; a filter with no letters or digits at all matches nothing.
    `join` (SQLite): the plain words go through a join on the index table (for the id orders).
    """
    words = [parts for parts in filter_words(text) if parts]
    if not words:
        return TextFilter(["1 = 0"] if text.strip() else [], [])
    terms: list[str] = []
    params: list[Any] = []
    plain: list[list[str]] = []
    for parts in words:
        number = case_number(parts)
        if number is None:
            plain.append(parts)
            continue
        if dialect == "sqlite":
            terms.append("(c.id = ? OR c.id IN (SELECT rowid FROM case_fts WHERE case_fts MATCH ?))")
        else:
            terms.append(f"(c.id = ? OR {PG_DOCUMENT} @@ to_tsquery('simple', ?))")
        params += [number, match_expression([parts], dialect)]
    if not plain:
        return TextFilter(terms, params)
    query = match_expression(plain, dialect)
    if dialect != "sqlite":
        return TextFilter([*terms, f"{PG_DOCUMENT} @@ to_tsquery('simple', ?)"], [*params, query])
    if join:
        return TextFilter([*terms, "case_fts MATCH ?"], [*params, query], FTS_JOIN)
    return TextFilter([*terms, "c.id IN (SELECT rowid FROM case_fts WHERE case_fts MATCH ?)"], [*params, query])


def window_sql(
    *,
    view: str = "all",
    sort: str = "oldest",
    me: int | None = None,
    status: str | None = None,
    text: str | None = None,
    after: int | None = None,
    anchor: Any = None,
    limit: int | None = None,
    dialect: str = "sqlite",
    probe: int | None = None,
    where_terms: Sequence[str] = (),
    where_params: Sequence[Any] = (),
    sla: bool = True,
) -> Plan:
    """One window of the queue. `me` is the acting agent's id (view "mine"); `anchor` is what
    anchor_sql read for `after` (sorts priority and updated; None when that case is not there).
    `probe` (a filter word, views all and open, not the "sla" sort): the window among the first
    `probe` cases of the view in the sort's order only (a range that long), to be asked first:
    when it fills `limit` rows they are the window's (read_window; else the matches are read first).
    `where_terms`/`where_params`: more terms over `c` (a filter's: store/case_filter.py).
    `sla`: the desk has policies (False: no service-level lookups, see sla_columns)."""
    if view not in VIEWS:
        raise InvalidInput(f"unknown view {view!r} (all, mine, unassigned, open, escalated)")
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {sort!r} (oldest, newest, priority, updated, sla)")
    where: list[str] = []
    params: list[Any] = []
    if status is not None:
        where.append("c.status = ?")
        params.append(status)
    if view == "mine":
        where += ["c.assignee_id = ?", "c.status != 'closed'"]
        params.append(me)
    elif view == "unassigned":
        where += ["c.assignee_id IS NULL", "c.status != 'closed'"]
    elif view == "open":
        where.append(OPEN_VIEW)
    elif view == "escalated":
        states = sorted(str(s) for s in OPEN_ESCALATION_STATES)
        where.append(f"c.id IN (SELECT case_id FROM escalation WHERE state IN ({', '.join('?' * len(states))}))")
        params += states
    where += where_terms
    params += where_params
    key, join = "c.id", None  # in the id orders: the index's rowid when joined (the same number)
    probing: list[str] = []  # the text's terms over the first `probe` cases (with their params)
    probing_params: list[Any] = []
    # (PostgreSQL walks the case table in id order to keep one agent's cases rather than read the
    # range of the assignee's index, its rows being in id order: the agent's cases are read first)
    narrowed = view == "escalated" or (dialect != "sqlite" and view in ("mine", "unassigned"))
    if text and text.strip():
        # SQLite's full-text index hands its ids in id order, lazily: the id orders join it
        fts_join = dialect == "sqlite" and sort in ("oldest", "newest") and view != "escalated"
        found = text_condition(text, dialect, join=fts_join)
        if probe is not None and probes(view=view, sort=sort, status=status, where_terms=where_terms,
                                        dialect=dialect):
            probing, probing_params = found.terms, found.params
        else:
            where += found.terms
            params += found.params
        if probing:
            pass  # (the case table, read as a range: see below)
        elif found.join is not None:
            key, join = "case_fts.rowid", found.join
        else:
            narrowed = True
    source, cte, cte_params = '"case" c', "", []
    if narrowed:  # the matches first, through their index; then sorted and paged (MATCHED)
        cte = f'WITH {MATCHED} AS MATERIALIZED (SELECT {_CASE_COLUMNS} FROM "case" c WHERE {" AND ".join(where)}) '
        source, where, cte_params, params = f"{MATCHED} c", [], params, []
    if sort == "sla":
        inner, params = _sla_window(source, where, params, after, anchor, limit)
        return _outer(inner, sort, [*cte_params, *params], cte, sla)
    if after is not None:
        if sort == "oldest":
            where.append(f"{key} > ?")
            params.append(after)
        elif sort == "newest":
            where.append(f"{key} < ?")
            params.append(after)
        elif anchor is not None and sort == "priority":
            where.append("(c.priority > ? OR (c.priority = ? AND c.id > ?))")
            params += [anchor, anchor, after]
        elif anchor is not None and sort == "updated":
            where.append("(c.updated_at < ? OR (c.updated_at = ? AND c.id < ?))")
            params += [anchor, anchor, after]
    inner_order = _ORDER[sort][0]
    inner = f"SELECT {_CASE_COLUMNS} FROM {source}"
    if join is not None:
        inner += f" {join}"
        inner_order = inner_order.replace("c.id", key)
    if where:
        inner += " WHERE " + " AND ".join(where)
    inner += f" ORDER BY {inner_order}"
    if probing:  # the first `probe` cases in order (a range), the text's matches among them
        inner = (f"SELECT * FROM ({inner} LIMIT ?) c WHERE {' AND '.join(probing)} ORDER BY {inner_order}")
        params += [probe, *probing_params]
    if limit is not None:
        inner += " LIMIT ?"
        params.append(limit)
    return _outer(inner, sort, [*cte_params, *params], cte, sla)


def _outer(inner: str, sort: str, params: Sequence[Any], cte: str = "", sla: bool = True) -> Plan:
    """The window chosen first (its LIMIT keeps the joins to the rows shown), then its names,
    escalation, soonest running timer and service levels looked up per row. `cte`: the matched
    cases the window reads (MATCHED), when it narrows."""
    sql = (
        f"{cte}SELECT {_COLUMNS}{sla_columns(sla)} FROM ({inner}) w "
        "LEFT JOIN agent a ON a.id = w.assignee_id "
        "LEFT JOIN timer t ON t.id = (SELECT t2.id FROM timer t2 WHERE t2.case_id = w.id AND t2.state = 'pending' "
        # (an expression: the (case_id, state) index, not the due-time one)
        "ORDER BY coalesce(t2.due_at, t2.due_at), t2.id LIMIT 1) "
        f"ORDER BY {_ORDER[sort][1]}"
    )
    return Plan(sql, tuple(params))


def _sla_window(source: str, where: Sequence[str], params: Sequence[Any], after: int | None, anchor: Any,
                limit: int | None) -> tuple[str, list[Any]]:
    """The "sla" sort's window over `c`: the cases with a pending breach timer, soonest due first
    (a range of the pending breach timers' own index, migration 0014), then those without one by
    id, each part paged with its own LIMIT before the two are put together; a page goes on
    after `after` (its due time, `anchor`, None when it had no running target)."""
    running = [_SLA_TIMER, *where]  # (`source`: the case table or the matched cases, as `c`)
    running_params = list(params)
    others = [f"NOT EXISTS (SELECT 1 FROM timer t WHERE t.case_id = c.id AND {_SLA_TIMER})", *where]
    others_params = list(params)
    if after is not None:
        if anchor is not None:
            # (a range of the index from the anchor on: `>=` first, then past the anchor's own case)
            running.append("t.due_at >= ? AND (t.due_at > ? OR t.case_id > ?)")
            running_params += [anchor, anchor, after]
        else:  # past every running one
            running.append("1 = 0")
            others.append("c.id > ?")
            others_params.append(after)
    tail = " LIMIT ?" if limit is not None else ""
    # (the second part's sla_key is a time of the same type, never compared: its `part` orders it after)
    first = (f'SELECT {_CASE_COLUMNS}, 0 AS part, t.due_at AS sla_key FROM timer t JOIN {source} ON c.id = t.case_id '
             f"WHERE {' AND '.join(running)} ORDER BY t.due_at, t.case_id{tail}")
    second = (f'SELECT {_CASE_COLUMNS}, 1 AS part, c.created_at AS sla_key FROM {source} '
              f"WHERE {' AND '.join(others)} ORDER BY c.id{tail}")
    limits = [limit] if limit is not None else []
    inner = (f"SELECT * FROM (SELECT * FROM ({first}) s1 UNION ALL SELECT * FROM ({second}) s2) u "
             f"ORDER BY {_ORDER['sla'][0]}{tail}")
    return inner, [*running_params, *limits, *others_params, *limits, *limits]


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    return _time_of(value)


def _time_of(value: Any) -> datetime:
    """A time that is never NULL in the table (a case's created_at, updated_at)."""
    if isinstance(value, str):  # SQLite keeps times as text
        value = datetime.fromisoformat(value)
    return to_utc(value)


def case_row(row: Sequence[Any]) -> CaseRow:
    """One result row of window_sql as the queue's CaseRow."""
    (case_id, priority, status, sub_status, title, customer, assignee, product_area, created_at, updated_at,
     version, attention, escalation, timer_kind, timer_due, sla_due, sla_warning_due, sla_breached, sla_warned) = row
    return CaseRow(
        id=case_id, priority=priority, status=status, sub_status=sub_status, title=title, customer=customer,
        assignee=assignee, product_area=product_area, created_at=_time_of(created_at), updated_at=_time_of(updated_at),
        version=version, attention=attention, escalation=escalation, next_timer=timer_kind,
        next_timer_due=_time(timer_due), sla_due=_time(sla_due), sla_warning_due=_time(sla_warning_due),
        sla_breached=bool(sla_breached), sla_warned=bool(sla_warned),
    )


class Superseded(Exception):
    """A window read stopped because a newer one was asked for (Superseding): nobody wants it."""


class Superseding:
    """Window reads where only the newest is wanted (the console's queue: each keystroke asks for
    its window). Starting one stops the one still running, on the server: its driver connection is
    told to stop (sqlite3's interrupt(), psycopg's cancel_safe()), and that read raises Superseded.
    The stopped read's connection is usable again once its transaction is rolled back (the service's
    session and the quick connection do that as any failed read's).

    A read is told to stop only while it is inside `running` (under the lock that ends it), so a
    connection gone back to its pool for other work is never interrupted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._newest = 0
        self._running: dict[int, Any] = {}  # ticket -> the driver connection of a read in progress

    def ask(self) -> Asked:
        """A read asked for now (the console asks as keys are typed, in their order): its place among
        the reads is this moment's, whenever its thread gets to run it. A read asked earlier that
        starts later never stops it; it is itself superseded before it sends anything."""
        with self._lock:
            self._newest += 1
            return Asked(self, self._newest)

    def supersede(self, ticket: int | None = None) -> None:
        """Stop every read started so far (a newer one is about to start, after a wait of its own:
        the quick connection is read by one window at a time); with `ticket`, those asked before it."""
        with self._lock:
            if ticket is None:
                self._newest += 1
            for older, connection in list(self._running.items()):
                if ticket is None or older < ticket:
                    _stop(connection)

    @contextmanager
    def running(self, connection: Any, ticket: int | None = None) -> Iterator[Callable[[], None]]:
        """A read on `connection` (asked now, or as `ticket` when it was asked); it is given a check to
        call between statements (raises Superseded once a newer read has been asked)."""
        with self._lock:
            if ticket is None:
                self._newest += 1
                ticket = self._newest
            elif ticket != self._newest:
                raise Superseded("a newer window was asked for")  # (before it sent anything)
            for older, other in list(self._running.items()):
                if older < ticket:
                    _stop(other)
            self._running = {t: c for t, c in self._running.items() if t > ticket}
            self._running[ticket] = connection

        def check() -> None:
            if ticket != self._newest:
                raise Superseded("a newer window was asked for")

        try:
            yield check
        except Exception as exc:
            if ticket != self._newest:  # stopped (or failing) after a newer read started: not wanted
                raise Superseded("a newer window was asked for") from exc
            raise
        finally:
            with self._lock:
                self._running.pop(ticket, None)


class Asked:
    """One read's place among those where only the newest is wanted (Superseding.ask): it reads as
    Superseding's `running`, with the place it was given when asked."""

    def __init__(self, owner: Superseding, ticket: int) -> None:
        self.owner, self.ticket = owner, ticket

    def supersede(self) -> None:
        self.owner.supersede(self.ticket)

    def running(self, connection: Any) -> AbstractContextManager[Callable[[], None]]:
        return self.owner.running(connection, self.ticket)


def _stop(connection: Any) -> None:
    """Stop the statement running on this driver connection (sqlite3 or psycopg), if any."""
    if isinstance(connection, sqlite3.Connection):
        connection.interrupt()
        return
    cancel = getattr(connection, "cancel_safe", None) or connection.cancel
    try:
        cancel()
    except Exception:  # noqa: BLE001 -- the server could not be told: the read runs to its end, unseen
        pass


def read_window(cursor: Any, paramstyle: str, *, newest: Superseding | Asked | None = None, sla: bool | None = None,
                **query: Any) -> list[CaseRow]:
    """Run one window on a DB-API cursor (sqlite3 or psycopg): the anchor first when needed.
    `newest`: this read is one of those where only the newest is wanted (Superseding). `sla`: whether
    the desk has policies, if the caller knows (the service does); None: asked (SLA_PROBE)."""
    if newest is None:
        return _read_window(cursor, paramstyle, query, lambda: None, sla)
    with newest.running(cursor.connection) as check:
        return _read_window(cursor, paramstyle, query, check, sla)


def _read_window(cursor: Any, paramstyle: str, query: dict[str, Any], check: Callable[[], None],
                 sla: bool | None) -> list[CaseRow]:
    if sla is None:
        cursor.execute(SLA_PROBE)
        sla = cursor.fetchone()[0] > 0
    after, sort = query.get("after"), query.get("sort", "oldest")
    if after is not None:
        anchor = anchor_sql(sort, after)
        if anchor is not None:
            anchor = anchor.for_driver(paramstyle)
            check()
            cursor.execute(anchor.sql, anchor.params)
            found = cursor.fetchone()
            query["anchor"] = found[0] if found else None
    dialect = "sqlite" if paramstyle == "qmark" else "postgresql"
    limit = query.get("limit")
    if limit and (query.get("text") or "").strip() and probes(dialect=dialect, **query):
        # a common word fills its page among the first cases in order (PROBE cases, a range): asked
        # first, its matches need not all be read and sorted
        plan = window_sql(**query, dialect=dialect, probe=PROBE, sla=sla).for_driver(paramstyle)
        check()
        cursor.execute(plan.sql, plan.params)
        rows = cursor.fetchall()
        wider = wider_probe(len(rows), limit) if len(rows) < limit else None
        if wider is not None:  # a word neither common nor rare: a longer range, sized from the first
            plan = window_sql(**query, dialect=dialect, probe=wider, sla=sla).for_driver(paramstyle)
            check()
            cursor.execute(plan.sql, plan.params)
            rows = cursor.fetchall()
        if len(rows) >= limit:
            check()
            return [case_row(r) for r in rows]
    plan = window_sql(**query, dialect=dialect, sla=sla).for_driver(paramstyle)
    check()
    cursor.execute(plan.sql, plan.params)
    rows = cursor.fetchall()
    check()
    return [case_row(r) for r in rows]


__all__ = [
    "SORTS",
    "VIEWS",
    "Asked",
    "Plan",
    "Superseded",
    "Superseding",
    "TextFilter",
    "anchor_sql",
    "case_row",
    "read_window",
    "sla_columns",
    "text_condition",
    "window_sql",
]
