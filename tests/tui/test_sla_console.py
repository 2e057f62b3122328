"""Service levels in the console: the queue's SLA column (business time left, amber past the
warning, red when late) and its sort by the soonest due, moving with the clock; SLA timers in the
Countdowns pane; a case's targets beside the assessment in the Escalation review."""

from __future__ import annotations

from test_snapshots import sla_cases
from tuidesk import screen_text, settle

from deskconsole.tui.screens.countdowns import CountdownsScreen
from deskconsole.tui.screens.escalations import EscalationsScreen
from deskconsole.tui.screens.queue import QueueScreen

SIZE = (120, 40)


def opened(service, title: str) -> int:
    return next(r.id for r in service.list_cases(text=title) if r.title == title)


async def test_the_sla_column_sorts_and_counts_business_time(app_as, service, clock):
    sla_cases(service, clock)
    late, warned, fresh = (opened(service, t) for t in
                           ("Storage array offline", "Reports export times out", "Invoice PDF has no logo"))
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        for _ in range(4):
            await pilot.press("s")
        await settle(pilot)
        assert queue.sort == "sla"
        keys = queue.table.keys()
        assert keys[:3] == [str(warned), str(late), str(fresh)]  # by the soonest breach due
        cells = {k: queue.table.cells(k)["sla"] for k in keys[:3]}
        assert cells[str(warned)].plain == "1h30m" and "dark_orange" in str(cells[str(warned)].style)
        assert cells[str(late)].plain == "7h" and "red" in str(cells[str(late)].style)
        # office hours: 11h40m of business time left though the due is 25h40m away
        assert cells[str(fresh)].plain == "11h" and not str(cells[str(fresh)].style)
        assert queue.table.cells(keys[3])["sla"].plain == ""  # no targets: blank

        clock.advance(hours=1, minutes=20)
        app.countdown_tick()  # the one-second refresh: no database
        await pilot.pause()
        assert queue.table.cells(str(warned))["sla"].plain == "10m"
        clock.advance(minutes=10)
        app.countdown_tick()
        await pilot.pause()
        assert queue.table.cells(str(warned))["sla"].plain == "late"  # due, not ticked yet
        clock.set("2026-11-25T18:00:00Z")  # office closed: the fresh case's clock stops at 18:00
        app.countdown_tick()
        await pilot.pause()
        assert queue.table.cells(str(fresh))["sla"].plain == "2h40m"
        clock.set("2026-11-26T07:00:00Z")
        app.countdown_tick()
        await pilot.pause()
        assert queue.table.cells(str(fresh))["sla"].plain == "2h40m"


async def test_countdowns_list_sla_timers_and_filter_by_their_kind(app_as, service, clock):
    sla_cases(service, clock)
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CountdownsScreen)
        kinds = {t.kind for t in screen.shown.values()}
        assert {"sla_warning", "sla_breach"} <= kinds
        while screen.kind != "sla_breach":
            await pilot.press("f")
            await settle(pilot)
        assert {t.kind for t in screen.shown.values()} == {"sla_breach"}
        assert "SLA breach" in screen_text(app)


async def test_escalation_review_shows_the_case_service_levels(app_as, service, clock):
    sla_cases(service, clock)
    late = opened(service, "Storage array offline")
    service.request_escalation(late, "Production is down for the whole plant.", actor="carol")
    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, EscalationsScreen)
        table = review.query_one("#esc-requests")
        table.move_cursor(row=table.keys().index(str(late)))
        await settle(pilot)
        text = screen_text(app)
        assert "first response  breached 1h/30m · at 11-25 08:30" in text  # business time used, of the target
        assert "resolution      running 1h/8h · due 11-25 16:00" in text


