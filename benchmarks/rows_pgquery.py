"""The queue's reads on a large desk (issue 18): filter keystroke -> rows, and the first page of
the views an analyst opens, timed as the console asks for them (store/window.py read_window on a
plain driver connection, PAGE rows), on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/rows_pgquery.py --sqlite DESK.db [--pg URL]   # prints the rows

`rows(pristine, cases)` is what benchmarks/run.py calls on each database's pristine desk:
`sqlite_rows(path, cases)` on a SQLite file (a read-only connection: the desk is not changed),
`pg_rows(url, cases)` the same on a PostgreSQL desk.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deskconsole.store.window import read_window
from deskconsole.tui.queuespec import PAGE

sys.path.insert(0, str(Path(__file__).resolve().parent))  # desk.py, when run on its own

Row = tuple[str, str, str, str, str]
REPEAT = 9
# what is typed: "billing" letter by letter (a rare word, as the row), an absent word, a
# common one; and the desk's most frequent customer's name (_CUSTOMER); then the analyst's views
TYPED = ("b", "bi", "bil", "bill", "billing", "zzzq", "report")
_CUSTOMER = 'SELECT customer FROM "case" GROUP BY customer ORDER BY count(*) DESC LIMIT 1'



def _median_p90(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def _measure(read: Callable[..., list[Any]], me: int, customer: str) -> list[Row]:
    rows: list[Row] = []
    keystrokes: list[float] = []
    for text in (*TYPED, customer.split()[0].lower()):
        times = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            read(view="all", sort="oldest", text=text, after=None, limit=PAGE)
            times.append((time.perf_counter() - t) * 1000)
        keystrokes += times
        med, p90 = _median_p90(times)
        rows.append((f"filter {text!r} -> rows", f"{med:.1f} ms (p90 {p90:.1f})", "<= 50 ms",
                     "PASS" if med <= 50 and p90 <= 100 else "MISS", "view all, oldest first"))
    med, p90 = _median_p90(keystrokes)
    rows.append(("filter keystrokes, all", f"{med:.1f} ms (p90 {p90:.1f})", "median <= 50, p90 <= 100 ms",
                 "PASS" if med <= 50 and p90 <= 100 else "MISS", f"{len(keystrokes)} reads"))
    for text, sort in (("report", "priority"), ("report", "updated"), ("billing", "priority")):
        times = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            read(view="all", sort=sort, text=text, after=None, limit=PAGE)
            times.append((time.perf_counter() - t) * 1000)
        med, p90 = _median_p90(times)
        rows.append((f"filter {text!r}, {sort} -> rows", f"{med:.1f} ms (p90 {p90:.1f})", "<= 50 ms",
                     "PASS" if med <= 50 and p90 <= 100 else "MISS", "view all"))
    for view in ("mine", "open", "unassigned"):
        for sort in ("oldest", "priority", "updated"):
            times = []
            for _ in range(REPEAT):
                t = time.perf_counter()
                read(view=view, sort=sort, text=None, after=None, limit=PAGE, me=me)
                times.append((time.perf_counter() - t) * 1000)
            med, p90 = _median_p90(times)
            rows.append((f"{view} first page, {sort}", f"{med:.1f} ms (p90 {p90:.1f})", "<= 50 ms",
                         "PASS" if med <= 50 else "MISS", ""))
    return rows


_BUSIEST_ANALYST = ("SELECT c.assignee_id FROM \"case\" c JOIN agent a ON a.id = c.assignee_id "
                    "WHERE c.status <> 'closed' AND a.role = 'analyst' GROUP BY c.assignee_id "
                    "ORDER BY count(*) DESC LIMIT 1")


def rows(pristine: Path, cases: int) -> list[Row]:
    """run.py's rows on its pristine desk (desk.py): a SQLite file opened read-only, or (a .pg file
    naming it) the PostgreSQL template database, read through a copy of it (a template cannot be
    connected to while it is copied)."""
    from desk import drop_copy, is_pg, pristine_copy

    # (one name per row on both databases: run.py's table puts them side by side)
    if is_pg(pristine):
        url = pristine_copy(pristine, "bench-pgquery")
        try:
            found = pg_rows(url, cases)
        finally:
            drop_copy(url)
    else:
        found = sqlite_rows(pristine, cases)
    return [(f"queue read: {what.split(' ', 1)[1]}", *rest) for what, *rest in found]  # type: ignore[misc]


def sqlite_rows(pristine: Path, cases: int) -> list[Row]:
    """The rows on the SQLite desk `pristine` (opened read-only)."""
    con = sqlite3.connect(f"file:{pristine}?mode=ro", uri=True)
    try:
        (me,) = con.execute(_BUSIEST_ANALYST).fetchone()
        (customer,) = con.execute(_CUSTOMER).fetchone()

        def read(**query: Any) -> list[Any]:
            return read_window(con.cursor(), "qmark", **query)

        return [(f"SQLite {what}", *rest) for what, *rest in _measure(read, me, customer)]  # type: ignore[misc]
    finally:
        con.close()


def pg_rows(url: str, cases: int) -> list[Row]:
    """The same rows on a PostgreSQL desk (`url`: postgresql[+psycopg]://...)."""
    import psycopg

    con = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    try:
        (me,) = con.execute(_BUSIEST_ANALYST).fetchone()  # type: ignore[misc]
        (customer,) = con.execute(_CUSTOMER).fetchone()  # type: ignore[misc]

        def read(**query: Any) -> list[Any]:
            with con.cursor() as cursor:
                return read_window(cursor, "format", **query)

        return [(f"PostgreSQL {what}", *rest) for what, *rest in _measure(read, me, customer)]  # type: ignore[misc]
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", type=Path, help="a SQLite desk file")
    parser.add_argument("--pg", help="a PostgreSQL desk URL")
    parser.add_argument("--cases", type=int, default=0, help="(for the table only)")
    args = parser.parse_args()
    found: list[Row] = []
    if args.sqlite:
        found += sqlite_rows(args.sqlite, args.cases)
    if args.pg:
        found += pg_rows(args.pg, args.cases)
    width = max((len(r[0]) for r in found), default=0)
    for what, measured, target, result, note in found:
        print(f"{what:<{width}}  {measured:>22}  {target:<28} {result:<4}  {note}")


if __name__ == "__main__":
    main()
