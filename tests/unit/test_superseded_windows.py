"""A newer window read stops the older one on the server (issue 18): typing in the queue's filter
leaves no superseded query running, on SQLite (interrupt) and PostgreSQL (cancel).

The older read is made slow honestly, in the query the server runs: a window joined to
pg_sleep on PostgreSQL, to a recursive count of two billion rows on SQLite (minutes either way,
unless stopped).
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest

import deskconsole.store.window as window
from deskconsole.store.window import Plan, Superseded, Superseding, read_window

SLOW_SQLITE = ("(WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 2000000000) "
               "SELECT count(*) AS k FROM r)")
SLOW_PG = "(SELECT pg_sleep(600) AS k)"


def slow_windows(monkeypatch: pytest.MonkeyPatch, slow_text: str) -> None:
    """The window for the filter `slow_text` takes minutes on the server; every other as it is."""
    real = window.window_sql

    def window_sql(**query: Any) -> Plan:
        plan = real(**query)
        if query.get("text") != slow_text:
            return plan
        slow = SLOW_SQLITE if query.get("dialect") == "sqlite" else SLOW_PG
        # (the slow part first: the server's list of running statements shows their beginning)
        return Plan(f"SELECT w.* FROM {slow} s CROSS JOIN ({plan.sql}) w", plan.params)

    monkeypatch.setattr(window, "window_sql", window_sql)


def connect(url: Any) -> tuple[Any, str]:
    if url.get_backend_name() == "sqlite":
        return sqlite3.connect(url.database, check_same_thread=False), "qmark"
    import psycopg

    return psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False)), "format"


def until_running(connection: Any, started: threading.Event) -> None:
    """Wait (at most a minute) until the slow statement runs on the server."""
    if isinstance(connection, sqlite3.Connection):
        assert started.wait(60), "the slow window never started"
        return
    import psycopg

    with psycopg.connect(connection.info.dsn, autocommit=True) as watcher:
        for _ in range(600):
            found = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' "
                                    "AND state = 'active' AND pid <> pg_backend_pid()").fetchone()
            if found and found[0]:
                return
            started.wait(0.1)
    raise AssertionError("the slow window never started")


def test_a_newer_window_stops_the_older_one_on_the_server(desk, monkeypatch: pytest.MonkeyPatch) -> None:
    for title in ("VPN drops every hour", "VPN client crashes", "Invoice total wrong"):
        desk.open(title, "initech")
    slow_windows(monkeypatch, "vp")
    newest = Superseding()
    older, paramstyle = connect(desk.svc.engine.url)
    newer, _ = connect(desk.svc.engine.url)
    started = threading.Event()
    if isinstance(older, sqlite3.Connection):
        older.set_progress_handler(lambda: started.set() or 0, 10_000)
    failed: list[BaseException] = []

    def typed_vp() -> None:
        try:
            read_window(older.cursor(), paramstyle, text="vp", limit=50, newest=newest)
        except BaseException as exc:  # noqa: BLE001 -- what the older read ended with is the test's
            failed.append(exc)

    reader = threading.Thread(target=typed_vp)
    reader.start()
    try:
        until_running(older, started)
        rows = read_window(newer.cursor(), paramstyle, text="vpn", limit=50, newest=newest)
        reader.join(60)
        assert not reader.is_alive(), "the superseded window is still running"
        assert [r.title for r in rows] == ["VPN drops every hour", "VPN client crashes"]
        (error,) = failed
        assert isinstance(error, Superseded)
        stopped = error.__cause__
        if isinstance(older, sqlite3.Connection):
            assert isinstance(stopped, sqlite3.OperationalError) and "interrupt" in str(stopped)
            older.set_progress_handler(None, 0)
        else:
            import psycopg

            assert isinstance(stopped, psycopg.errors.QueryCanceled)
            older.rollback()  # (as the service's session and the quick connection end a failed read)
        # the stopped read's connection reads again, and a window without a newer one is not stopped
        again = read_window(older.cursor(), paramstyle, text="invoice", limit=50, newest=newest)
        assert [r.title for r in again] == ["Invoice total wrong"]
    finally:
        older.close()
        newer.close()


def test_a_read_superseded_before_it_sent_its_statement_sends_none() -> None:
    """A newer read started before the older sent its statement (nothing to stop on the server
    yet): the older one's check refuses to send it."""
    newest = Superseding()
    con = sqlite3.connect(":memory:")
    try:
        with newest.running(con) as older, newest.running(con) as newer:
            newer()  # the newest goes on
            with pytest.raises(Superseded):
                older()
    finally:
        con.close()


def test_the_quick_connection_stops_the_older_window_before_it_waits_for_it(desk, monkeypatch) -> None:
    """The console's first windows come from one quick connection, read by one window at a time: a
    newer window stops the older first instead of waiting minutes for the connection."""
    from deskconsole.tui.quickstart import open_quick

    for title in ("VPN drops every hour", "Invoice total wrong"):
        desk.open(title, "initech")
    slow_windows(monkeypatch, "vp")
    url = desk.svc.engine.url.render_as_string(hide_password=False)
    user = desk.svc.list_agents()[0].name
    quick = open_quick(url, user, lambda: None)
    assert quick is not None
    newest = Superseding()
    failed: list[BaseException] = []
    running = threading.Event()

    def typed_vp() -> None:
        try:
            quick.list_cases(actor=user, text="vp", limit=50, newest=newest)
        except BaseException as exc:  # noqa: BLE001 -- what the older read ended with is the test's
            failed.append(exc)

    connection = quick._connection
    if isinstance(connection, sqlite3.Connection):
        connection.set_progress_handler(lambda: running.set() or 0, 10_000)
    reader = threading.Thread(target=typed_vp)
    reader.start()
    try:
        until_running(connection, running)
        rows = quick.list_cases(actor=user, text="vpn", limit=50, newest=newest)
        reader.join(60)
        assert not reader.is_alive(), "the superseded window is still running"
        assert [r.title for r in rows] == ["VPN drops every hour"]
        (error,) = failed
        assert isinstance(error, Superseded)
    finally:
        quick.close()


class _Connection:
    """A driver connection that only records being told to stop (as psycopg's cancel)."""

    def __init__(self) -> None:
        self.stopped = 0

    def cancel(self) -> None:
        self.stopped += 1


def test_a_window_asked_earlier_whose_read_starts_later_never_stops_the_newer_one() -> None:
    """Typing asks a window per key; each is read in a thread of its own, and threads may start in
    another order. The window asked last is the one shown: an older one starting late is stopped
    before it sends anything, and it stops nothing (the console showed 'Superseded' and kept the
    older rows when it did)."""
    typing = Superseding()
    first, second = typing.ask(), typing.ask()
    newer, older = _Connection(), _Connection()
    with second.running(newer) as check:  # the window asked last: its thread ran first
        with pytest.raises(Superseded), first.running(older):
            pytest.fail("a window asked before the newest one read anyway")
        check()  # still the one wanted
    assert newer.stopped == 0
    with second.running(newer):  # a window asked later still stops the one running before it
        third = typing.ask()
        with third.running(older) as check:
            check()
        assert newer.stopped == 1
