"""The service's hot statements run as Prepared statements on the driver's cursor
(store/prepared.py): they must store and read exactly what SQLAlchemy's own execute path does,
fail with SQLAlchemy's errors, and stay inside the transaction and savepoint they run in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from deskconsole.service import _db
from deskconsole.store.models import Case, Event, Timer
from deskconsole.store.prepared import sqlite_time

_UTC = UTC


@pytest.mark.parametrize("value", [
    datetime(2026, 11, 25, 9, 0, tzinfo=_UTC),
    datetime(2026, 11, 25, 9, 0, 0, 123456, tzinfo=_UTC),
    datetime(2026, 3, 29, 2, 30, 5, 7, tzinfo=timezone(timedelta(hours=2))),  # another zone: stored in UTC
    datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-11, minutes=-30))),
])
def test_a_time_is_stored_as_sqlalchemys_datetime_column_stores_it_on_sqlite(value: datetime) -> None:
    column_type = Event.__table__.c.at.type  # type: ignore[attr-defined]
    expected = column_type._cached_bind_processor(sqlite.dialect())(value)
    assert sqlite_time(value) == expected


def test_a_time_without_a_zone_is_refused_as_the_column_refuses_it() -> None:
    with pytest.raises(ValueError, match="timezone"):
        sqlite_time(datetime(2026, 11, 25, 9, 0))


def _case_row(n: int, **extra) -> dict:
    at = datetime(2026, 11, 25, 9, 0, 0, 250000, tzinfo=_UTC)
    return {"title": f"Export {n} fails", "description": "", "customer": "acme", "severity": "normal",
            "priority": "P3", "status": "new", "created_at": at, "updated_at": at, "version": 1, **extra}


def test_rows_written_and_read_by_prepared_statements_are_what_the_orm_sees(engine) -> None:
    from deskconsole.service import _CASE_BY_ID, _INSERT_CASE, _INSERT_TIMER, _PENDING_TIMERS

    due = datetime(2026, 12, 9, 9, 0, 0, 1, tzinfo=_UTC)
    with Session(engine) as s, s.begin():
        db = _db(s)
        case_id = db.insert(_INSERT_CASE, _case_row(1, ref="mail-1"))
        # the timer's state is left to the column's default ("pending"), as a Core insert would
        timer_id = db.insert(_INSERT_TIMER, {"case_id": case_id, "kind": "auto_close", "started_at": due,
                                             "due_at": due})
        row = db.first(_CASE_BY_ID, {"case_id": case_id})
        pending = db.all(_PENDING_TIMERS, {"case_id": case_id})
    assert row["id"] == case_id and row["ref"] == "mail-1" and row["version"] == 1
    assert row["created_at"] == datetime(2026, 11, 25, 9, 0, 0, 250000, tzinfo=_UTC)
    assert row["created_at"].tzinfo is not None and row["closed_at"] is None
    assert pending == [(timer_id, due, "auto_close")]
    with Session(engine) as s:
        case = s.get(Case, case_id)
        timer = s.get(Timer, timer_id)
        assert (case.title, case.created_at, case.updated_at) == (
            "Export 1 fails", row["created_at"], row["updated_at"])
        assert (timer.state, timer.due_at, timer.case_id) == ("pending", due, case_id)
        # and what SQLAlchemy's own path reads back is the same
        assert dict(s.execute(select(Case.__table__).where(Case.id == case_id)).one()._mapping) == row


def test_a_driver_error_comes_out_as_sqlalchemys_error(engine) -> None:
    from deskconsole.service import _INSERT_CASE

    with Session(engine) as s, s.begin():
        _db(s).insert(_INSERT_CASE, _case_row(1, ref="mail-7"))
    with Session(engine) as s, s.begin():
        with pytest.raises(IntegrityError):
            _db(s).insert(_INSERT_CASE, _case_row(2, ref="mail-7"))  # the ref is unique


def test_a_statement_in_a_savepoint_is_rolled_back_with_it(engine) -> None:
    """Even a savepoint's first statement (the Session emits SAVEPOINT only when asked for its
    connection inside it)."""
    from deskconsole.service import _INSERT_CASE

    with Session(engine) as s, s.begin():
        kept = _db(s).insert(_INSERT_CASE, _case_row(1))
        with pytest.raises(RuntimeError):
            with s.begin_nested():
                _db(s).insert(_INSERT_CASE, _case_row(2))
                raise RuntimeError("refused")
        with s.begin_nested():
            also = _db(s).insert(_INSERT_CASE, _case_row(3))
        after = _db(s).insert(_INSERT_CASE, _case_row(4))
    with Session(engine) as s:
        titles = s.execute(select(Case.title).order_by(Case.id)).scalars().all()
    assert titles == ["Export 1 fails", "Export 3 fails", "Export 4 fails"]
    assert kept < also < after


def test_the_same_statement_with_other_columns_is_compiled_for_them(engine) -> None:
    from deskconsole.service import _CASE_BY_ID, _INSERT_CASE, _UPDATE_CASE

    with Session(engine) as s, s.begin():
        db = _db(s)
        case_id = db.insert(_INSERT_CASE, _case_row(1))
        assert db.execute(_UPDATE_CASE, {"b_id": case_id, "status": "in_progress"}, ["status"]) == 1
        assert db.execute(_UPDATE_CASE, {"b_id": case_id, "version": 2, "last_actor": "alice"},
                          ["version", "last_actor"]) == 1
        row = db.first(_CASE_BY_ID, {"case_id": case_id})
    assert (row["status"], row["version"], row["last_actor"], row["title"]) == ("in_progress", 2, "alice",
                                                                                 "Export 1 fails")


def test_a_connection_lost_under_a_prepared_statement_is_reported_as_lost(pg_url) -> None:
    """The console tells "database unreachable" from a refusal by the error (connection_lost):
    a prepared statement's driver error says so as SQLAlchemy's own path would, and the pool
    gives a working connection afterwards."""
    from sqlalchemy.exc import DBAPIError

    from deskconsole.service import _CASE_BY_ID
    from deskconsole.store.changes import connection_lost
    from deskconsole.store.engine import init_schema, make_engine

    engine = make_engine(pg_url)
    init_schema(engine)
    try:
        with pytest.raises(DBAPIError) as lost:
            with Session(engine) as s, s.begin():
                db = _db(s)
                pid = s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
                with engine.connect() as other:  # an administrator ends the session
                    other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
                db.first(_CASE_BY_ID, {"case_id": 1})
        assert lost.value.connection_invalidated and connection_lost(lost.value)
        with Session(engine) as s:
            assert s.execute(select(Case.id).limit(1)).first() is None  # a fresh connection works
    finally:
        engine.dispose()


def test_after_the_engine_is_disposed_the_sqlite_file_alone_holds_every_change(tmp_path, clock) -> None:
    """Copying a desk's file is how desks are handed around (tests, benchmarks, backups by cp): once
    the engine is disposed nothing may be left behind in a WAL, which SQLite folds into the file
    when the last connection really closes (a driver cursor left open keeps it from closing)."""
    import gc
    import shutil

    from deskconsole.service import Service
    from deskconsole.store.engine import init_schema, make_engine

    path = tmp_path / "desk.db"
    gc.disable()  # (a kept cursor would be freed only by the cycle collector, at some later moment)
    try:
        engine = make_engine(f"sqlite:///{path}")
        init_schema(engine)
        svc = Service(engine, clock)
        svc.add_agent("mona", "manager", actor=None)
        case, _ = svc.open_case("Export fails", "acme", ref="mail-1")
        svc.customer_reply(case.id, "Still failing.")
        engine.dispose()
        shutil.copy(path, tmp_path / "copy.db")  # the file only, as `cp desk.db` does
    finally:
        gc.enable()
    copy = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    try:
        kinds = [e.kind for e in Service(copy, clock).get_case(case.id).events]
        assert kinds == ["opened", "assigned", "customer_replied"]
    finally:
        copy.dispose()
