"""Rows kept for later on PostgreSQL (store/prepared.py defer_inserts): inside a batch, the rows of
insert_many/insert_later go in together, yet every read sees them, a rollback to a savepoint forgets
exactly those written since, and a broken kept row fails its transaction instead of vanishing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from deskconsole.service import _INSERT_TIMER, _PENDING_TIMERS, _db
from deskconsole.store.engine import make_engine
from deskconsole.store.models import Case, Timer
from deskconsole.store.prepared import DEFERRED, defer_inserts

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _timer(case_id: int, kind: str = "reminder") -> dict:
    return {"case_id": case_id, "kind": kind, "state": "pending", "started_at": AT, "due_at": AT}


def _case(s: Session) -> int:
    case = Case(title="Export fails", description="", customer="acme", severity="normal", priority="P3",
                status="new", created_at=AT, updated_at=AT, version=1)
    s.add(case)
    s.flush()
    return int(case.id)  # type: ignore[arg-type]


def test_kept_rows_are_seen_by_every_later_read_and_commit_with_the_transaction(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with Session(engine) as s, s.begin():
        case_id = _case(s)
        conn = s.connection()
        with defer_inserts(conn):
            db = _db(s)
            db.insert_later(_INSERT_TIMER, _timer(case_id))
            assert conn.info[DEFERRED], "kept, not sent"
            # a Runner read of the table sends it first
            assert [kind for _, _, kind in db.all(_PENDING_TIMERS, {"case_id": case_id})] == ["reminder"]
            db.insert_later(_INSERT_TIMER, _timer(case_id, "auto_close"))
            # so does any statement through SQLAlchemy that names the table
            assert s.scalar(select(func.count()).select_from(Timer).where(Timer.case_id == case_id)) == 2
            db.insert_later(_INSERT_TIMER, _timer(case_id, "followup"))
    with Session(engine) as s:  # the last one went in when the block ended, and committed
        kinds = s.exec(select(Timer.kind).where(Timer.case_id == case_id).order_by(Timer.id)).all()
    assert kinds == ["reminder", "auto_close", "followup"]
    engine.dispose()


def test_a_rollback_to_a_savepoint_forgets_the_rows_kept_since(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with Session(engine) as s, s.begin():
        case_id = _case(s)
        with defer_inserts(s.connection()):
            _db(s).insert_later(_INSERT_TIMER, _timer(case_id))
            nested = s.begin_nested()
            _db(s).insert_later(_INSERT_TIMER, _timer(case_id, "auto_close"))
            nested.rollback()
            _db(s).insert_later(_INSERT_TIMER, _timer(case_id, "followup"))
    with Session(engine) as s:
        kinds = s.exec(select(Timer.kind).where(Timer.case_id == case_id).order_by(Timer.id)).all()
    assert kinds == ["reminder", "followup"]
    engine.dispose()


def test_a_broken_kept_row_fails_the_commit_and_nothing_is_stored(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with Session(engine) as s:
        before = s.scalar(select(func.count()).select_from(Case))
    with pytest.raises(IntegrityError), Session(engine) as s, s.begin():
        case_id = _case(s)
        with defer_inserts(s.connection()):
            _db(s).insert_later(_INSERT_TIMER, _timer(case_id))
            _db(s).insert_later(_INSERT_TIMER, _timer(10**9))  # no such case
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Case)) == before
        assert s.scalar(select(func.count()).select_from(Timer).where(Timer.case_id == case_id)) == 0
    engine.dispose()


def test_a_kept_events_id_is_read_when_asked_for_and_ids_follow_the_order_written(pg_url: str) -> None:
    from deskconsole.service import _INSERT_EVENT
    from deskconsole.store.models import Event

    engine = make_engine(pg_url)
    with Session(engine) as s, s.begin():
        case_id = _case(s)
        conn = s.connection()
        with defer_inserts(conn):
            db = _db(s)
            rows = [{"case_id": case_id, "at": AT, "recorded_at": AT, "actor": "sue", "kind": f"note{k}",
                     "body": None, "data": None} for k in range(3)]
            later = [db.insert_later(_INSERT_EVENT, row) for row in rows]
            assert all(item.value is None for item in later)  # kept, nothing sent
            ids = [item.id for item in later]  # asking for one sends them all
            assert not conn.info[DEFERRED]
            stored = s.exec(select(Event.id, Event.kind).where(Event.case_id == case_id).order_by(Event.id)).all()
    assert [tuple(row) for row in stored] == list(zip(ids, ["note0", "note1", "note2"], strict=True))
    assert ids == sorted(ids)
    engine.dispose()
