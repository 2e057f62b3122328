"""A bulk build on PostgreSQL makes its times from the seed's seconds since the epoch (bulkload.seed_arrays),
SQLite from their text: every row of every table it writes holds the same values on both, each time to the
microsecond (the desk's end has microseconds, as the demo's clock does)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from test_bulk import END, desk

from deskconsole.bulk import build_bulk
from deskconsole.bulk.slalife import DEMO_POLICY
from deskconsole.bulkload import seed_arrays

# the tables a bulk build writes, and the columns that differ by design (when the build really ran)
TABLES = {"case": (), "event": ("recorded_at",), "timer": (), "outbox": (), "survey": (), "sla_metric": (),
          "article": ()}


def _value(v: Any) -> Any:
    """A time as an aware UTC datetime (SQLite keeps its text), anything else as it is."""
    if isinstance(v, datetime):
        return v.astimezone(UTC)
    if isinstance(v, str) and len(v) >= 19 and v[4] == "-" and v[10] in " T" and v[13] == ":":
        try:
            when = datetime.fromisoformat(v)
        except ValueError:
            return v
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return v


def _rows(service: Any, table: str) -> tuple[list[str], list[tuple]]:
    with service.engine.connect() as conn:
        result = conn.execute(text(f'SELECT * FROM "{table}" ORDER BY id'))
        names = [n for n in result.keys() if n not in TABLES[table] and n != "login"]
        return names, [tuple(_value(row._mapping[n]) for n in names) for row in result]


def test_every_row_of_a_bulk_build_holds_the_same_values_on_postgres_as_on_sqlite(pg_url: str,
                                                                                  tmp_path: Path) -> None:
    built = {}
    for name, url in (("pg", pg_url), ("sqlite", f"sqlite:///{tmp_path}/same.db")):
        service = desk(url)
        service.load_sla(DEMO_POLICY, actor="sofia")
        build_bulk(service.engine, 300, end=END, seed=11, open_share=0.4, due=3, sla=DEMO_POLICY,
                   sla_since=END - timedelta(days=5))
        built[name] = service
    assert END.microsecond  # (the times' microseconds come from the end)
    for table in TABLES:
        names, ours = _rows(built["pg"], table)
        _, theirs = _rows(built["sqlite"], table)
        assert len(ours) == len(theirs) > 0, table
        for mine, other in zip(ours, theirs, strict=True):
            assert mine == other, (table, [(n, a, b) for n, a, b in zip(names, mine, other, strict=True) if a != b])
    names, timers = _rows(built["pg"], "timer")
    kind = names.index("kind")  # (the life cycle's timers; service levels' come from business time)
    times = [v for row in timers if row[kind] in ("reminder", "auto_close", "followup") for v in row
             if isinstance(v, datetime)]
    assert times and all(t.microsecond == END.microsecond for t in times)


def test_a_seed_s_times_as_arrays() -> None:
    """The seed's times (text, then whole seconds since the epoch) as COPY's text of a BIGINT and a TEXT array."""
    width = 36
    first = "2026-11-25 09:00:00.429036" + "1795597200"
    blank = " " * width
    assert len(first) == width
    assert seed_arrays(first + blank + first) == ("{1795597200,NULL,1795597200}",
                                                  "{2026-11-25T09:00:00,NULL,2026-11-25T09:00:00}")
    assert seed_arrays("") == ("{}", "{}")
