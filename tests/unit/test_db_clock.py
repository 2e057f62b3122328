"""On PostgreSQL "now" is the database server's: a console whose clock runs ahead cannot fire a timer early."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from deskconsole.domain.clock import UTC, FixedClock, SystemClock
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine


class AheadClock(SystemClock):
    """This machine's clock, two days fast."""

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(days=2)


@pytest.fixture
def pg_engine(pg_url):
    engine = make_engine(pg_url)
    init_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def server_now(engine) -> datetime:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT now()").scalar_one()


@pytest.fixture
def due_tomorrow(pg_engine):
    """A case awaiting confirmation whose auto-close the server says is due in one day."""
    start = server_now(pg_engine) - timedelta(days=13)  # the auto-close runs 14 days
    setup = Service(pg_engine, FixedClock(start))
    setup.add_agent("alice", "analyst", actor=None)
    case, _ = setup.open_case("Invoice total is wrong", "acme", contact="ops@acme.example")
    setup.move(case.id, "in_progress", actor="alice")
    case = setup.move(case.id, "awaiting_confirmation", actor="alice", note="Cleared the stale cache.")
    assert case.auto_close_at is not None
    return case


def test_a_console_two_days_ahead_does_not_fire_a_timer_the_server_says_is_not_due(pg_engine, due_tomorrow):
    ahead = Service(pg_engine, AheadClock())
    assert ahead.tick() == []
    assert ahead.get_case(due_tomorrow.id).status == "awaiting_confirmation"
    # an action's own settling of due timers goes by the server's time too
    view = ahead.add_note(due_tomorrow.id, "called the customer", actor="alice")
    assert view.status == "awaiting_confirmation"
    assert abs(ahead.now() - server_now(pg_engine)) < timedelta(minutes=1)
    assert ahead.now() < due_tomorrow.auto_close_at


def test_a_fixed_clock_still_decides(pg_engine, due_tomorrow):
    fixed = FixedClock(server_now(pg_engine) + timedelta(days=2))
    svc = Service(pg_engine, fixed)
    assert svc.now() == fixed.now()
    fired = svc.tick()
    assert (due_tomorrow.id, "auto_close") in [(f.case, f.timer) for f in fired]
    assert svc.get_case(due_tomorrow.id).status == "closed"


def test_sqlite_keeps_this_machines_clock(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/desk.db")
    ahead = AheadClock()
    svc = Service(engine, ahead)
    assert svc.clock is ahead
    assert svc.now() - datetime.now(UTC) > timedelta(days=1)
