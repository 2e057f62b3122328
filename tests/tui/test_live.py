"""Live refresh: a change committed elsewhere (another console, the CLI) shows up without a key press."""

from __future__ import annotations

from datetime import UTC

from tuidesk import screen_text, settle, until

from deskconsole.tui.app import make_app

SIZE = (120, 40)


async def test_a_case_opened_elsewhere_appears_in_the_queue(shared):
    svc, other, _ids = shared
    app = make_app(svc, "sam", ticker=False, live=True, tz=UTC)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "Storage array degraded" in screen_text(app))
        assert "Printer on fire" not in screen_text(app)
        assert await until(pilot, lambda: app.watching)
        other.open_case("Printer on fire", "Umbrella", product_area="storage")
        assert await until(pilot, lambda: "Printer on fire" in screen_text(app))


def row_status(app, case_id: int) -> str:
    """The status cell of the case's row in the queue on screen ("" while the row is not there)."""
    key = str(case_id)
    return str(app.screen.table.get_cell(key, "status")) if key in app.screen.rows else ""


async def test_a_status_change_elsewhere_shows_in_the_queue_row(shared):
    svc, other, ids = shared
    app = make_app(svc, "sam", ticker=False, live=True, tz=UTC)
    async with app.run_test(size=SIZE) as pilot:
        def status() -> str:
            return row_status(app, ids["export"])

        assert await until(pilot, lambda: status() != "" and app.watching)
        assert "progress" not in status()
        other.move(ids["export"], "in_progress", actor="maria")
        assert await until(pilot, lambda: "progress" in status())


async def test_the_open_case_shows_a_note_written_elsewhere(shared):
    svc, other, ids = shared
    app = make_app(svc, "alice", ticker=False, live=True, tz=UTC)
    async with app.run_test(size=SIZE) as pilot:
        app.open_case(ids["vat"])
        assert await until(pilot, lambda: "Invoice shows wrong VAT" in screen_text(app) and app.watching)
        other.add_note(ids["vat"], "We are checking the VAT rate", actor="maria", internal=False)
        assert await until(pilot, lambda: "We are checking the VAT rate" in screen_text(app))  # the conversation
        await pilot.press("v")  # everything: the internal trail too
        other.add_note(ids["vat"], "Billing address confirmed by phone", actor="maria")
        assert await until(pilot, lambda: "Billing address confirmed by phone" in screen_text(app))


async def test_without_live_the_console_does_not_watch(shared):
    svc, _other, _ids = shared
    app = make_app(svc, "sam", ticker=False, tz=UTC)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.watching
        assert not [w for w in app.workers if w.group == "watch"]


async def test_presence_heartbeats_elsewhere_do_not_reload_the_queue_but_a_change_does(shared):
    """Another console showing a case beats every few seconds (presence): the queue does not read its
    page again for that (its presence marks are read on their own schedule); a real change still
    shows at once."""
    svc, other, ids = shared
    app = make_app(svc, "sam", ticker=False, live=True, tz=UTC)
    async with app.run_test(size=SIZE) as pilot:
        def status() -> str:
            return row_status(app, ids["export"])

        assert await until(pilot, lambda: status() != "" and app.watching)
        other.presence_beat(ids["export"], actor="maria")  # (the first write may start the log afresh)
        await until(pilot, lambda: False, rounds=20)
        before = app.marker  # (moves with every change the watcher reports)
        for state in ("typing", "viewing", "typing"):  # (each beat writes something new)
            other.presence_beat(ids["export"], actor="maria", state=state)
            assert not await until(pilot, lambda: app.marker != before, rounds=10)
        other.move(ids["export"], "in_progress", actor="maria")
        assert await until(pilot, lambda: "progress" in status())
        assert app.marker == before + 1
