"""Every query the queue asks (each view x each sort x with and without a filter word, and the
filter language's counts), and what their plans read of the case table.

A plan passes when it reads the case table only through an index range (PostgreSQL: an Index
Cond, or a bitmap of one; SQLite: SEARCH), never a sequential scan or a walk of a whole index.
The one exception: a window with no condition at all (view "all" with no filter, or view "open"
through its partial index) may walk its order's index, since every row read is a row shown and
the LIMIT ends the walk at the page; so may PostgreSQL's first ask for a filter word's window,
among the first PROBE cases of such a view (store/window.py probes): a range PROBE long.
The open view's `c.id > 0` (true of every case: it names the view's partial indexes) is no range:
an index read with only that condition is a walk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from deskconsole.domain.filters import parse_filter
from deskconsole.store.case_filter import count_sql, filter_sql
from deskconsole.store.window import MATCHED, PROBE, SORTS, VIEWS, Plan, probes, window_sql

#: filter words: rare and absent ones, a common one, a customer's name, a word and a case number
WORDS = (None, "billing", "zzzq", "report", "acme", "export 42")
#: the filter language's terms, counted and listed
FILTERS = ("status:new", "status:pending sub:customer_input", "prio:P1,P2", "area:billing", "customer:acme",
           "assignee:me", "assignee:none", "esc:open", "sla:breached", "age:<1d", "age:>3d status:pending",
           "status:in_progress assignee:me", "prio:P1 login")
# (`age:>3d` alone is most of a desk with a history: counting it reads most of the desk, and a
# sequential scan is then the cheapest way; counted within a status it is a range)
# the partial indexes that hold exactly the open cases (migration 0010): a walk of one is the view
OPEN_INDEXES = ("ix_case_open_id", "ix_case_open_priority", "ix_case_open_updated")


@dataclass(frozen=True)
class Query:
    name: str
    plan: Plan
    walk_ok: bool  # no condition at all: walking the order's index reads only rows shown


def queries(dialect: str, me: int, now: datetime | None = None) -> Iterator[Query]:
    now = now or datetime(2026, 12, 5, tzinfo=UTC)
    for view in VIEWS:
        for sort in SORTS:
            for word in WORDS:
                plan = window_sql(view=view, sort=sort, me=me, text=word, limit=100, dialect=dialect)
                yield Query(f"{view}/{sort}/{word}", plan, word is None and view in ("all", "open"))
                if word and probes(view=view, sort=sort, dialect=dialect):
                    # asked first: the first PROBE cases in order, a range its LIMIT ends (read_window)
                    plan = window_sql(view=view, sort=sort, me=me, text=word, limit=100, dialect=dialect, probe=PROBE)
                    yield Query(f"{view}/{sort}/{word} among the first {PROBE}", plan, True)
    for expr in FILTERS:
        fs = filter_sql(parse_filter(expr), now=now, me=me, agents={}, dialect=dialect)
        yield Query(f"count {expr}", count_sql(fs, dialect), False)


def pg_walks(cursor: Any, q: Query) -> list[str]:
    """The plan's reads of the case table that are not index ranges (empty: the plan passes)."""
    p = q.plan.for_driver("format")
    cursor.execute("EXPLAIN (FORMAT JSON) " + p.sql, p.params)
    (raw,) = cursor.fetchone()
    doc = raw if isinstance(raw, list) else json.loads(raw)
    bad: list[str] = []

    def visit(node: dict[str, Any]) -> None:
        if node.get("Relation Name") == "case":
            kind = node["Node Type"]
            if kind == "Seq Scan":
                bad.append(f"Seq Scan on case (Filter: {node.get('Filter')})")
            elif (kind in ("Index Scan", "Index Only Scan") and node.get("Index Cond", "(id > 0)") == "(id > 0)"
                  and (not q.walk_ok or "Filter" in node)):
                bad.append(f"{kind} using {node.get('Index Name')} without Index Cond (Filter: {node.get('Filter')})")
        for child in node.get("Plans", []):
            visit(child)

    visit(doc[0]["Plan"])
    return bad


_CASE_READ = re.compile(r"^(SCAN|SEARCH) (c|case)\b(.*)$")


def sqlite_walks(connection: Any, q: Query) -> list[str]:
    """The same on SQLite: EXPLAIN QUERY PLAN's SCAN of the case table (a SEARCH is a range).
    When the window reads a set of cases made first (store/window.py MATCHED, or the first PROBE
    cases: a subquery), also aliased `c`, only the reads that fill that set read the table as `c`."""
    rows = connection.execute("EXPLAIN QUERY PLAN " + q.plan.sql, q.plan.params).fetchall()
    parent = {row[0]: row[1] for row in rows}
    matched = {row[0] for row in rows
               if row[-1] in (f"MATERIALIZE {MATCHED}", "MATERIALIZE c", "CO-ROUTINE c")}

    def in_matched(node: int) -> bool:
        while node in parent:
            if node in matched:
                return True
            node = parent[node]
        return False

    bad = []
    for row in rows:
        found = _CASE_READ.match(row[-1])
        if not found or (found.group(1) == "SEARCH" and not found.group(3).endswith("(rowid>?)")):
            continue
        if matched and found.group(2) == "c" and not in_matched(row[0]):
            continue  # the matched set, not the table
        rest = found.group(3)
        if q.walk_ok and (q.name.startswith("all/") or any(f"INDEX {i}" in rest for i in OPEN_INDEXES)):
            continue
        bad.append(row[-1])
    return bad
