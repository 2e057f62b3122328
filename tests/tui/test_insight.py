"""The Insight pane: leads only, charts with their numbers one key away, following changes."""

from __future__ import annotations

from test_snapshots import sla_cases
from tuidesk import screen_text, settle

from deskconsole.store.changes import Change
from deskconsole.tui.messages import DeskChanged
from deskconsole.tui.screens.insight import InsightScreen
from deskconsole.tui.screens.queue import QueueScreen
from deskconsole.tui.widgets.chart import Chart

SIZE = (120, 40)


def resolve_one(service, clock) -> int:
    """An SLA case resolved at its first reply (first-contact resolution)."""
    case = next(r for r in service.list_cases(text="Invoice PDF") if r.title == "Invoice PDF has no logo")
    service.move(case.id, "in_progress", actor="carol")
    service.move(case.id, "awaiting_confirmation", note="Re-uploaded the logo.", actor="carol")
    return case.id


async def test_insight_shows_charts_numbers_and_follows_changes(app_as, service, clock):
    sla_cases(service, clock)
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("8")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InsightScreen)
        assert len(screen.query(Chart)) == 5
        text = screen_text(app)
        assert "Open backlog by age" in text and "CSAT % by week" in text
        assert "Open cases" in text
        before = screen.figures
        assert sum(r["open"] for r in before.backlog) == len(service.list_cases(view="open")) == 10
        assert before.resolutions == []

        await pilot.press("n")
        await settle(pilot)
        text = screen_text(app)
        assert "showing numbers" in text
        assert "Age" in text and ">30d" in text  # the backlog's table
        assert "Answers" in text  # the CSAT table's columns

        resolve_one(service, clock)
        app.post_message(DeskChanged(Change()))  # what the change watcher posts when someone commits
        await settle(pilot)
        after = screen.figures
        assert after.resolutions == [{"week": "2026-11-23", "resolved": 1, "reopened": 0, "first_contact": 1,
                                      "reopen_rate": 0.0, "fcr_rate": 100.0}]
        assert "100%" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert "showing charts" in screen_text(app)


async def test_an_analyst_is_not_shown_the_insight_pane(app_as):
    app = app_as("alice")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("8")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert any("Insight is for managers and supervisors" in str(n.message) for n in app._notifications)
