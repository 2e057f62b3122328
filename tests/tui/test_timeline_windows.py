"""A case with 100,000 events opens on its newest window; earlier pages come from the database on `o`."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from tuidesk import NOW, add_notes, screen_text, settle

from deskconsole.tui.screens.case import CaseScreen

SIZE = (120, 40)


def note(n: int, text: str) -> bool:
    """Whether note number `n` is on screen."""
    return re.search(rf"\bNote {n}\b", text) is not None
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
        assert "Conversation (1 message)" in text and "Note 1" not in text  # notes are the internal trail
        await pilot.press("v")  # everything
        await settle(pilot)
        text = screen_text(app)
        assert f"Note {EVENTS}" in text  # the newest event, on screen
        assert "v View" in text  # the key that switches the view, in the footer
        # the top of the timeline: how many events are not loaded, and the key that loads them
        await pilot.press("home")
        await settle(pilot)
        text = screen_text(app)
        assert f"Everything ({total:,} events)" in text
        first = 2 * SIZE[1]  # the first window: the newest events that fill the screen twice over
        assert f"{total - first:,} earlier events — press o to load more" in text
        oldest = EVENTS - first + 1
        assert note(oldest, text) and not note(oldest - 1, text)  # the window's oldest event
        await pilot.press("o")
        await settle(pilot)
        text = screen_text(app)
        assert note(oldest - 1, text)  # the newest of the page loaded, just above the events shown before
        assert note(oldest, text)
        await pilot.press("home")
        await settle(pilot)
        text = screen_text(app)
        assert f"{total - first - 200:,} earlier events — press o to load more" in text  # a page is 200 events
        assert note(oldest - 200, text) and not note(oldest - 201, text)


async def test_the_escalation_review_of_a_case_of_100000_events_shows_its_newest_window(
    app_as, service, ids, clock, tmp_path,
):
    from rich.console import Console
    from textual.widgets import Static

    from deskconsole.tui.screens.escalations import REVIEW_WINDOW, EscalationsScreen

    add_notes(tmp_path / "desk.db", ids["vpn"], EVENTS)  # the first request the review shows
    total = len(service.get_case(ids["vpn"]).events)
    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, EscalationsScreen)
        assert review.case is not None and review.case.id == ids["vpn"]
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(review.query_one("#esc-timeline", Static).content)
        text = console.export_text()
        assert f"Timeline ({total:,} events)  the newest {REVIEW_WINDOW}" in text
        assert note(EVENTS, text) and not note(EVENTS - REVIEW_WINDOW, text)
