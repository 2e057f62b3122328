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
from deskconsole.store.prepared import DEFERRED, defer_inserts, flush_deferred

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


def test_rows_sent_without_waiting_are_seen_by_the_next_read_and_a_rollback_undoes_them(pg_url: str) -> None:
    """Between a batch's actions the kept rows go to the server without waiting for it: the next
    read sees them (it waits for them first), and a rollback to a savepoint after them undoes only
    what came after the savepoint."""
    engine = make_engine(pg_url)
    with Session(engine) as s, s.begin():
        case_id = _case(s)
        conn = s.connection()
        with defer_inserts(conn):
            db = _db(s)
            db.insert_later(_INSERT_TIMER, _timer(case_id))
            flush_deferred(conn, wait=False)
            assert not conn.info[DEFERRED] and conn.info[DEFERRED].pipeline is not None  # sent, not waited for
            assert [kind for _, _, kind in db.all(_PENDING_TIMERS, {"case_id": case_id})] == ["reminder"]
            assert conn.info[DEFERRED].pipeline is None  # the read waited for them
            nested = s.begin_nested()
            _db(s).insert_later(_INSERT_TIMER, _timer(case_id, "auto_close"))  # (_db: SAVEPOINT sent first)
            flush_deferred(conn, wait=False)
            nested.rollback()
            _db(s).insert_later(_INSERT_TIMER, _timer(case_id, "followup"))
            flush_deferred(conn, wait=False)
    with Session(engine) as s:  # the last ones were waited for at the commit
        kinds = s.exec(select(Timer.kind).where(Timer.case_id == case_id).order_by(Timer.id)).all()
    assert kinds == ["reminder", "followup"]
    engine.dispose()


def test_a_broken_row_sent_without_waiting_fails_the_next_statement_and_nothing_is_stored(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with Session(engine) as s:
        before = s.scalar(select(func.count()).select_from(Case))
    with pytest.raises(IntegrityError), Session(engine) as s, s.begin():
        case_id = _case(s)
        conn = s.connection()
        with defer_inserts(conn):
            db = _db(s)
            db.insert_later(_INSERT_TIMER, _timer(case_id))
            db.insert_later(_INSERT_TIMER, _timer(10**9))  # no such case
            flush_deferred(conn, wait=False)  # sent: the error is not known yet
            db.all(_PENDING_TIMERS, {"case_id": case_id})  # the next statement raises it
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


def test_an_ingest_batch_links_each_message_to_its_own_event_and_a_refused_line_leaves_nothing(desk) -> None:
    """On both databases (on PostgreSQL the events are kept and sent together): the manager's
    message names the escalation's event, and the refused lines around it write nothing."""
    import io
    import json

    from deskconsole.ingest import ingest_stream
    from deskconsole.store.models import Event, Outbox

    case = desk.open(title="Export is empty")
    other = desk.open(title="Login loops")
    before = desk.snapshot(other.id)

    class Out:
        def __init__(self) -> None:
            self.out, self.err = io.StringIO(), io.StringIO()

        def json(self, value: dict, *, flush: bool = False) -> None:
            self.out.write(json.dumps(value) + "\n")

    lines = [
        {"type": "escalation.requested", "case": case.id, "reason": "Month end is blocked"},
        {"type": "customer.replied", "case": 10**6, "body": "Anyone?"},  # no such case
        {"type": "customer.replied", "case": case.id, "body": "Here are the logs."},
        {"type": "escalation.requested", "case": case.id, "reason": "Again"},  # one open escalation per case
        {"type": "customer.confirmed", "case": other.id},  # not awaiting confirmation: refused
    ]
    out = Out()
    status = ingest_stream(desk.svc, io.BytesIO("".join(json.dumps(x) + "\n" for x in lines).encode()), out)
    results = [json.loads(line) for line in out.out.getvalue().splitlines()]
    assert status == 1
    assert [r["ok"] for r in results] == [True, False, True, False, False]
    assert desk.snapshot(other.id) == before
    with Session(desk.svc.engine) as s:
        events = s.exec(select(Event).where(Event.case_id == case.id).order_by(Event.id)).all()
        messages = s.exec(select(Outbox).where(Outbox.case_id == case.id,
                                               Outbox.kind == "escalation_requested")).all()
    kinds = [e.kind for e in events]
    assert kinds.count("escalation_requested") == 1 and kinds.count("customer_replied") == 1
    assert kinds.index("escalation_requested") < kinds.index("customer_replied")  # ids in the order written
    assert len(messages) == 1
    assert messages[0].event_id == next(e.id for e in events if e.kind == "escalation_requested")
