"""The change watcher: a commit made through another engine is seen; a refusal is not; silence times out."""

from __future__ import annotations

import sqlite3

import pytest

from deskconsole.domain.errors import Conflict
from deskconsole.service import Service
from deskconsole.store.engine import make_engine
from deskconsole.store.watch import Change, WatchUnavailable, parse_payload, payload

WAIT = 5.0  # an upper bound only: a watcher answers as soon as the change lands


@pytest.fixture
def other(engine, clock):
    """A second Service on its own engine: another console or the CLI writing to the same database."""
    eng = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        yield Service(eng, clock)
    finally:
        eng.dispose()


@pytest.fixture
def watcher(svc):
    w = svc.watch()
    try:
        yield w
    finally:
        w.close()


def wait_for(watcher, rounds: int = 3) -> Change | None:
    for _ in range(rounds):
        change = watcher.wait(WAIT)
        if change is not None:
            return change
    return None


def test_a_commit_from_another_engine_is_seen(desk, watcher, other, db_url):
    case = desk.open()
    watcher.wait(0.5)  # the opening above may or may not have been seen already
    other.move(case.id, "in_progress", actor="alice")
    change = wait_for(watcher)
    assert change is not None
    assert change.touches(case.id)
    if "postgresql" in db_url:
        assert change.cases == frozenset({case.id})  # PostgreSQL names the case


def test_a_case_opened_elsewhere_is_seen(desk, watcher, other, db_url):
    desk.open()
    while watcher.wait(0.5) is not None:  # drain what the setup wrote
        pass
    case, _ = other.open_case("Export to CSV drops accents", "globex")
    change = wait_for(watcher)
    assert change is not None and change.touches(case.id)
    if "postgresql" in db_url:
        assert change.cases == frozenset({case.id})


def test_nothing_committed_means_the_wait_times_out(desk, watcher):
    desk.open()
    while watcher.wait(0.5) is not None:  # drain what the setup wrote
        pass
    assert watcher.wait(0.6) is None


def test_a_refused_action_is_not_announced_on_postgres(pg_url, clock):
    """The refused move below first fires the case's overdue reminder (written, then rolled back)."""
    from deskconsole.store.engine import init_schema

    engine = make_engine(pg_url)
    init_schema(engine)
    svc = Service(engine, clock)
    svc.add_agent("alice", "analyst", actor=None)
    case, _ = svc.open_case("Invoice total is wrong", "acme")
    case = svc.move(case.id, "pending", sub_status="customer_input", actor="alice", note="Which invoice?")
    clock.advance(days=8)  # the 7-day reminder is overdue
    watcher = svc.watch()
    try:
        with pytest.raises(Conflict):
            svc.move(case.id, "in_progress", actor="alice", expected_version=case.version - 1)
        assert watcher.wait(1.0) is None
        assert svc.get_case(case.id).reminder_at is not None  # the reminder's firing was rolled back too
        assert [f.case for f in svc.tick()] == [case.id]
        change = wait_for(watcher)
        assert change is not None and change.cases == frozenset({case.id})
    finally:
        watcher.close()
        engine.dispose()


def test_many_cases_in_one_commit_fall_back_to_everything():
    assert payload({1, 2, 3}) == "1,2,3"
    assert payload(set(range(100_000, 102_000))) == "*"
    assert parse_payload("*").cases is None
    assert parse_payload("4,5").cases == frozenset({4, 5})
    assert Change(frozenset({4})).touches(4) and not Change(frozenset({4})).touches(5)


def test_an_in_memory_database_cannot_be_watched(clock):
    svc = Service(make_engine("sqlite://"), clock)
    with pytest.raises(WatchUnavailable):
        svc.watch()


class _Accepting:
    """A mail server that takes every message."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message, sender, recipients):
        self.sent.append(message["Subject"])
        return {}

    def close(self) -> None:
        pass


def test_a_delivery_is_seen_by_the_other_consoles(desk, svc, watcher, db_url, clock):
    """The Outbox pane of every console shows a message as sent once the worker has sent it."""
    from deskconsole.delivery import deliver_once

    case = desk.case_in("awaiting_confirmation")
    queued = svc.list_outbox(case_id=case.id)
    assert queued, "a proposed solution queues a confirmation request to the customer"
    while watcher.wait(0.5) is not None:  # drain what the setup wrote
        pass
    transport = _Accepting()
    results = deliver_once(svc.engine, clock, transport)
    assert [r.state for r in results if r.case == case.id] == ["sent"] * len(queued)
    change = wait_for(watcher)
    assert change is not None and change.touches(case.id)
    if "postgresql" in db_url:
        assert case.id in (change.cases or ())


def drain(watcher) -> None:
    while watcher.wait(0.5) is not None:  # what the setup wrote
        pass


def test_a_presence_heartbeat_is_no_change_but_a_real_change_still_is(desk, watcher, other):
    """Every console beats every few seconds while it shows a case (presence); the other consoles read
    presence for their page on its own schedule, so a beat must not wake their watchers (on SQLite
    every commit moves the database's version; on PostgreSQL a beat announces nothing)."""
    case = desk.open()
    other.presence_beat(case.id, actor="alice")
    drain(watcher)
    other.presence_beat(case.id, actor="alice")
    other.presence_beat(case.id, actor="bob", state="typing")
    other.presence_leave(case.id, actor="bob")
    assert watcher.wait(1.0) is None
    other.presence_beat(case.id, actor="alice")
    other.move(case.id, "in_progress", actor="alice")  # a beat and a real change between two looks
    change = wait_for(watcher)
    assert change is not None and change.touches(case.id)
    other.presence_beat(case.id, actor="alice")
    assert watcher.wait(1.0) is None


def test_after_a_checkpoint_started_the_log_afresh_a_beat_counts_once(sqlite_url, clock):
    """What the SQLite watcher cannot tell (the write-ahead log started afresh, so the commits in
    between are unknown) is a change, as every commit used to be; the next beat is quiet again."""
    from deskconsole.store.engine import init_schema

    mine, theirs = make_engine(sqlite_url), make_engine(sqlite_url)
    init_schema(mine)
    svc = Service(mine, clock)
    svc.add_agent("alice", "analyst", actor=None)
    case, _ = svc.open_case("Invoice total is wrong", "acme")
    other = Service(theirs, clock)
    watcher = svc.watch()
    try:
        other.presence_beat(case.id, actor="alice")
        drain(watcher)
        plain = sqlite3.connect(theirs.url.database, isolation_level=None)
        try:
            assert plain.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # (not busy)
        finally:
            plain.close()
        other.presence_beat(case.id, actor="alice")
        assert wait_for(watcher) is not None
        other.presence_beat(case.id, actor="alice")
        assert watcher.wait(1.0) is None
    finally:
        watcher.close()
        theirs.dispose()
        mine.dispose()
