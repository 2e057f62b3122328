"""The console at scale: the fast start, paging in place, the filter following the typing."""

from __future__ import annotations

import gc
import threading
from datetime import UTC, timedelta

from tuidesk import screen_text, settle

from deskconsole.domain.errors import InvalidInput
from deskconsole.settings import Settings
from deskconsole.tui import quickstart
from deskconsole.tui.app import open_console
from deskconsole.tui.screens import queue as queue_module
from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.screens.queue import QueueScreen

SIZE = (120, 40)


def settings_for(service, user: str, clock, monkeypatch, gate: threading.Event | None = None,
                 fail: Exception | None = None) -> Settings:
    """Settings on the test desk whose service load waits for `gate` (or fails with `fail`)."""
    settings = Settings(db_url=str(service.engine.url), user=user, clock=clock)
    real = Settings.make_service

    def make_service(self, **kw):
        if gate is not None:
            assert gate.wait(30), "the test never let the service load"
        if fail is not None:
            raise fail
        return real(self, **kw)

    monkeypatch.setattr(Settings, "make_service", make_service)
    return settings


async def wait_until(pilot, condition, rounds: int = 400) -> None:
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the console never got there")


async def test_fast_start_paints_the_queue_before_the_service_and_then_works(service, ids, clock, monkeypatch):
    gate = threading.Event()
    app = open_console(settings_for(service, "alice", clock, monkeypatch, gate), ticker=False, tz=UTC)
    assert app.quick is not None and not app.service_ready
    async with app.run_test(size=SIZE) as pilot:
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        await wait_until(pilot, lambda: queue.table.row_count > 0)
        # The first window is on screen while the service is still loading.
        assert not app.service_ready
        assert str(ids["vpn"]) in queue.table.keys()
        assert "VPN drops every 10 minu…" in screen_text(app)  # (the title column: 24 cells, cut with …)
        assert queue.view == "mine" and app.role == "analyst"
        gate.set()
        await wait_until(pilot, lambda: app.service_ready)
        await settle(pilot)
        assert gc.isenabled()  # paused while the service loaded, running again since
        # From now on the service answers: open the case and start work on it.
        await pilot.press("slash", *"vpn", "enter")
        await settle(pilot)
        assert queue.table.keys() == [str(ids["vpn"])]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        before = service.get_case(ids["vpn"]).status
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("escape")  # the form opened: the case pane works through the service
        await settle(pilot)
        assert service.get_case(ids["vpn"]).status == before
        await pilot.press("t")  # take: alice already has it, the service says so
        await settle(pilot)
    assert app.startup_error is None


async def test_the_first_screen_drawn_already_shows_the_queue(service, ids, clock, monkeypatch):
    """The fast start reads the first window before the console runs: no empty queue is ever drawn,
    however long a read made in the background would take."""
    gate = threading.Event()
    real_read = quickstart.read_window

    def read_window(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            assert gate.wait(30), "the test never let the read finish"
        return real_read(*args, **kwargs)

    monkeypatch.setattr(quickstart, "read_window", read_window)
    app = open_console(settings_for(service, "alice", clock, monkeypatch, gate), ticker=False, tz=UTC)
    drawn: list[list[str]] = []  # the queue's rows at each screen refresh written out
    real = app._display

    def display(screen, renderable) -> None:
        if renderable is not None and not app._batch_count:
            drawn.append(app.screen.table.keys() if isinstance(app.screen, QueueScreen) else [])
        real(screen, renderable)

    app._display = display
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: drawn)
            assert str(ids["vpn"]) in drawn[0]
            assert not app.service_ready  # drawn from the quick connection, the service still loading
            assert "VPN drops every 10 minu…" in screen_text(app)  # (the title column: 24 cells, cut with …)
    finally:
        gate.set()


async def test_a_live_console_on_the_fast_start_fires_due_timers(service, clock, monkeypatch):
    """As `deskconsole` opens it (watching the database, the ticker on): the change watcher asks for
    the service before the first frame, and the ticker must still start once it has loaded."""
    running = service.running_timers()
    assert running, "the test desk has running timers"
    soonest = min(running, key=lambda t: t.due)
    clock.set(soonest.due + timedelta(seconds=1))
    app = open_console(settings_for(service, "sam", clock, monkeypatch), live=True, tz=UTC)
    assert app.quick is not None and app.ticker
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: soonest.id not in {t.id for t in service.running_timers()}, rounds=2000)
        fired = [e for e in service.get_case(soonest.case).events if e.kind == "timer_fired"]
        assert [e.data["timer"] for e in fired] == [soonest.kind], "fired once, by the console's ticker"
    assert app.startup_error is None


async def test_fast_start_reports_a_service_that_cannot_load(service, clock, monkeypatch):
    fail = InvalidInput("database is at schema version 9999, newer than this deskconsole: upgrade deskconsole")
    app = open_console(settings_for(service, "alice", clock, monkeypatch, fail=fail), ticker=False)
    assert app.quick is not None
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.startup_error is not None)
    assert app.return_code == 1
    assert "newer than this deskconsole" in app.startup_error
    assert gc.isenabled()


async def test_fast_start_does_not_apply_to_an_unknown_user(service, clock, monkeypatch):
    settings = Settings(db_url=str(service.engine.url), user="nobody", clock=clock)
    from deskconsole.tui.quickstart import open_quick

    assert open_quick(settings.db_url, "nobody", settings.make_service) is None
    assert open_quick("sqlite:///" + "/nonexistent/desk.db", "alice", settings.make_service) is None


async def test_paging_puts_the_cursor_on_top_and_a_refresh_keeps_it_on_its_case(app_as, service, ids, monkeypatch):
    monkeypatch.setattr(queue_module, "PAGE", 5)
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        await pilot.press("shift+tab")  # Open -> All (the tabs go round)
        await settle(pilot)
        assert queue.view == "all"
        await pilot.press("j", "j", "j")
        assert queue.table.selected_key == "4"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert queue.table.keys() == ["6", "7", "8", "9", "10"]
        assert queue.table.cursor_row == 0 and queue.table.selected_key == "6"
        assert "Case" in screen_text(app) and "page 2" in screen_text(app)
        await pilot.press("j", "j")
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert queue.table.keys() == ["1", "2", "3", "4", "5"]
        assert queue.table.selected_key == "1"
        # Another view starts on top too; a live refresh of the same window keeps the cursor on its
        # case while the change shows.
        await pilot.press("j", "shift+tab")  # All -> Escalated
        await settle(pilot)
        assert queue.view == "escalated" and queue.table.cursor_row == 0
        await pilot.press("j")
        key = queue.table.selected_key
        service.assign(int(key), "carol", actor="sam")
        queue.reload()
        await settle(pilot)
        assert queue.table.selected_key == key and queue.table.cursor_row == 1
        assert "carol" in queue.table.cells(key)["assignee"].plain


async def test_the_footer_follows_what_each_key_can_do(app_as, monkeypatch):
    """The footer is rebuilt only when a key's label or availability changed: it still shows
    `]` dimmed on the last page and `[` lit once there is a page to go back to."""
    monkeypatch.setattr(queue_module, "PAGE", 5)
    app = app_as("sam")

    def dimmed() -> dict[str, bool]:
        return {key.key: key.has_class("-disabled") for key in app.screen.query("FooterKey")}

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert dimmed()["right_square_bracket"] is False and dimmed()["left_square_bracket"] is True
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert dimmed()["left_square_bracket"] is False
        while len(queue.rows) == 5:
            await pilot.press("right_square_bracket")
            await settle(pilot)
        assert dimmed()["right_square_bracket"] is True and dimmed()["left_square_bracket"] is False
        await pilot.press("slash")  # the filter box has the focus: the footer shows what it offers
        await settle(pilot)
        assert "right_square_bracket" not in dimmed()
        await pilot.press("escape")  # back on the table: the queue's keys as they were
        await settle(pilot)
        assert dimmed()["right_square_bracket"] is True and dimmed()["left_square_bracket"] is False


async def test_filter_rows_follow_the_typing(app_as, ids):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        await pilot.press("slash", *"vpn")  # no enter: the rows follow the keystrokes
        await settle(pilot)
        assert queue.table.keys() == [str(ids["vpn"])]
        assert queue.shown["text"] == "vpn"
        await pilot.press("backspace", "backspace", "backspace", *"storage")
        await settle(pilot)
        assert queue.table.keys() == [str(ids["storage"])]


async def test_a_stale_filter_answer_never_overwrites_a_newer_one(app_as, ids):
    app = app_as("sam")
    slow = threading.Event()
    real = app.list_cases

    def list_cases(**query):
        if query.get("text") == "s":
            assert slow.wait(30)  # the answer for "s" arrives only after the one for "st..."
        return real(**query)

    app.list_cases = list_cases
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        await pilot.press("slash", "s")
        await pilot.press(*"torage")
        await wait_until(pilot, lambda: queue.shown is not None and queue.shown["text"] == "storage")
        assert queue.table.keys() == [str(ids["storage"])]
        slow.set()  # now the old answer for "s" (many rows) comes back
        await settle(pilot)
        assert queue.shown["text"] == "storage"
        assert queue.table.keys() == [str(ids["storage"])]
