"""Typing in the queue's filter stops the window the console no longer wants, on the server
(issue 18): the older keystroke's query is interrupted, only the newest answer is shown, and the
desk reads on as before."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from tuidesk import screen_text, settle, until

import deskconsole.store.window as window
from deskconsole.store.window import Plan

SIZE = (120, 40)
# minutes of work for SQLite unless stopped: a recursive count of two billion rows
SLOW = ("(WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 2000000000) "
        "SELECT count(*) AS k FROM r)")


async def test_a_newer_keystroke_stops_the_older_window(app_as, ids, monkeypatch):
    real_sql, real_read = window.window_sql, window._read_window
    started = threading.Event()
    ended: list[BaseException | None] = []

    def window_sql(**query: Any) -> Plan:  # the window of "vp" is slow on the server
        plan = real_sql(**query)
        if query.get("text") != "vp":
            return plan
        return Plan(f"SELECT w.* FROM {SLOW} s CROSS JOIN ({plan.sql}) w", plan.params)

    def read(cursor: Any, paramstyle: str, query: dict[str, Any], check: Any, sla: Any = None) -> Any:
        slow = query.get("text") == "vp"
        if slow:  # tell the test once the slow statement runs
            cursor.connection.set_progress_handler(lambda: started.set() or 0, 10_000)
        try:
            return real_read(cursor, paramstyle, query, check, sla)
        except BaseException as exc:
            if slow:
                ended.append(exc)
            raise
        finally:
            if slow:
                cursor.connection.set_progress_handler(None, 0)

    monkeypatch.setattr(window, "window_sql", window_sql)
    monkeypatch.setattr(window, "_read_window", read)
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        everyone = queue.table.keys()
        await pilot.press("slash", "v", "p")
        assert await until(pilot, started.is_set), "the slow window never ran"
        await pilot.press("n")  # "vpn": the window of "vp" is not wanted any more
        assert await until(pilot, lambda: bool(ended)), "the window of 'vp' is still running"
        (error,) = ended  # stopped by SQLite, in the middle of its statement
        assert isinstance(error, sqlite3.OperationalError) and "interrupt" in str(error)
        await settle(pilot)
        assert queue.shown is not None and queue.shown["text"] == "vpn"
        assert queue.table.keys() == [str(ids["vpn"])]
        assert "interrupt" not in screen_text(app)  # nobody wanted that window: no refusal is shown
        # the desk reads on: the filter cleared, every case is back
        await pilot.press("escape")
        await settle(pilot)
        assert queue.text == "" and queue.table.keys() == everyone
