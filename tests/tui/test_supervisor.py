"""The supervisor's path: countdowns move with the clock, an auto-close fires and leaves the countdowns."""

from __future__ import annotations

from textual import events
from tuidesk import screen_text, settle

from deskconsole.tui.screens.countdowns import CountdownsScreen
from deskconsole.tui.screens.surveys import SurveysScreen

SIZE = (120, 40)


def row_of(screen: CountdownsScreen, case_id: int, kind: str) -> str | None:
    for key, t in screen.shown.items():
        if t.case == case_id and t.kind == kind:
            return key
    return None


async def test_countdowns_move_and_auto_close_fires(app_as, service, clock, ids):
    app = app_as("sam")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CountdownsScreen)
        login = row_of(screen, ids["login"], "auto_close")
        overdue = row_of(screen, ids["overdue"], "auto_close")
        assert screen.table.cells(login)["left"].plain == "in 4h 00m"
        assert screen.table.cells(overdue)["left"].plain == "overdue 1h 00m"
        assert "reverse" in str(screen.table.cells(overdue)["left"].style)
        dues = [t.due for t in screen.shown.values()]
        assert dues == sorted(dues)  # soonest first

        clock.advance(minutes=30, seconds=5)
        app.countdown_tick()  # what the one-second interval does: no database
        await pilot.pause()
        assert screen.table.cells(login)["left"].plain == "in 3h 29m"
        assert screen.table.cells(overdue)["left"].plain == "overdue 1h 30m"

        clock.advance(hours=4)  # the login case's auto-close is now due as well
        app.action_tick()  # the background worker, once
        await settle(pilot)
        assert row_of(screen, ids["login"], "auto_close") is None
        assert row_of(screen, ids["overdue"], "auto_close") is None
        assert service.get_case(ids["login"]).status == "closed"
        notes = [str(n.message) for n in app._notifications]
        assert any(f"case {ids['login']}: auto close fired" in n for n in notes)
        # the closed case now waits only for its follow-up
        assert row_of(screen, ids["login"], "followup") is not None

        await pilot.press("f")  # kind: auto-close only
        await settle(pilot)
        assert {t.kind for t in screen.shown.values()} == {"auto_close"}
        assert ids["login"] not in {t.case for t in screen.shown.values()}


async def test_countdowns_filter(app_as, ids):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("slash", *"wrong vat", "enter")
        await settle(pilot)
        screen = app.screen
        assert {t.case for t in screen.shown.values()} == {ids["vat"]}


async def test_countdowns_filter_typed_in_one_burst(app_as, ids):
    """`/wrong vat` sent faster than focus moves: every character lands in the box (f would switch
    the kind shown, escape-less letters must not act as the pane's keys)."""
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        for char in "/wrong vat":
            key = {"/": "slash", " ": "space"}.get(char, char)
            app.post_message(events.Key(key, char))
        await settle(pilot)
        screen = app.screen
        assert screen.text == "wrong vat"
        assert {t.case for t in screen.shown.values()} == {ids["vat"]}


async def test_surveys_pane(app_as, ids):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SurveysScreen)
        text = screen_text(app)
        assert "55.6%" in text  # 5 of 9 answers scored 4 or 5
        assert screen.query_one("#survey-flagged").keys()[0] == str(ids["hostile_closed"])
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.case.id == ids["hostile_closed"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SurveysScreen)


async def test_live_refresh_when_the_desk_changes(app_as, service, clock):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = set(app.screen.table.keys())
        new, _ = service.open_case("Fresh from the portal", "Tyrell")
        app.action_tick()  # the worker notices the change marker grew
        await settle(pilot)
        # (sam's queue opens on Open: what the tick closed leaves it)
        assert set(app.screen.table.keys()) == {str(r.id) for r in service.list_cases(view="open")}
        assert str(new.id) in set(app.screen.table.keys()) - before
        assert "Fresh from the portal" in screen_text(app)


async def test_ticker_rearms_itself_without_overlap(service, clock):
    from deskconsole.tui.app import make_app

    calls = []
    real_tick = service.tick

    def counting_tick(*a, **k):
        calls.append(1)
        return real_tick(*a, **k)

    service.tick = counting_tick
    app = make_app(service, "sam", clock=clock, ticker=True, tick_interval=0.0, poll_interval=0.01)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(500):  # the ticker runs on its own timers; give it up to ~10 s
            if len(calls) >= 3:
                break
            await pilot.pause(0.02)
        app.ticker = False  # stop re-arming
        await app.workers.wait_for_complete()
        assert len([w for w in app.workers if w.group == "ticker" and w.is_running]) == 0
    assert len(calls) >= 3


async def test_escape_goes_back(app_as, ids):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("enter")  # open the soonest timer's case
        await settle(pilot)
        assert app.screen.case.id == ids["overdue"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CountdownsScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.current_mode == "queue"
