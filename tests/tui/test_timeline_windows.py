"""A case with 100,000 events opens on its newest window; earlier pages come from the database on `o`."""

from __future__ import annotations

from datetime import timedelta

from tuidesk import NOW, add_notes, screen_text, settle

from deskconsole.tui.screens.case import CaseScreen

SIZE = (120, 40)
EVENTS = 100_000


async def test_a_case_of_100000_events_opens_on_its_newest_window(app_as, service, clock, tmp_path):
    clock.set(NOW - timedelta(minutes=EVENTS + 60))
    case, _ = service.open_case("A very long timeline", "Acme", description="Many notes.")
    add_notes(tmp_path / "desk.db", case.id, EVENTS)
    clock.set(NOW)
    total = len(service.get_case(case.id).events)  # the opened and assigned events, then the notes
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(case.id)
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        text = screen_text(app)
        assert f"Note {EVENTS}" in text  # the newest event, on screen
        assert "o Earlier" in text  # the key, in the footer
        # the top of the timeline: how many events are not loaded, and the key that loads them
        await pilot.press("home")
        await settle(pilot)
        text = screen_text(app)
        assert f"Timeline ({total:,} events)" in text
        assert f"{total - 200:,} earlier events — press o to load more" in text
        assert "Note 99801" in text and "Note 99800" not in text  # the oldest of the window, nothing before
        await pilot.press("o")
        await settle(pilot)
        text = screen_text(app)
        assert "Note 99800" in text  # the newest of the page loaded, just above the events shown before
        assert "Note 99801" in text
        await pilot.press("home")
        await settle(pilot)
        text = screen_text(app)
        assert f"{total - 400:,} earlier events — press o to load more" in text
        assert "Note 99601" in text and "Note 99600" not in text
