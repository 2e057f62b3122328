"""Decisions with warnings (tui/decisions.py): reassigning to an analyst who is away or lacks the
case's skill asks once more (no: nothing changes); the escalation engineer must be chosen; an
approval over a fully ticked review goes straight to its form."""

from __future__ import annotations

from textual.widgets import Checkbox, Select
from tuidesk import screen_text, settle

from deskconsole.tui.decisions import CHOOSE_ENGINEER
from deskconsole.tui.screens.escalations import EscalationsScreen
from deskconsole.tui.widgets.form import ConfirmScreen, FormScreen

SIZE = (120, 40)


async def _reassign(pilot, app, to: str) -> None:
    await pilot.press("g")
    await settle(pilot)
    app.screen.query_one("#field-assignee", Select).value = to
    await pilot.press("ctrl+s")
    await settle(pilot)


async def test_reassigning_to_someone_away_and_without_the_skill_warns_and_no_changes_nothing(app_as, service, ids):
    service.set_availability("bob", "away", actor="sam")
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        app.open_case(ids["vat"])  # billing, alice's
        await settle(pilot)
        await _reassign(pilot, app, "bob")
        assert isinstance(app.screen, ConfirmScreen)
        text = screen_text(app)
        assert "Give case" in text and "to bob?" in text
        assert "bob is away" in text and "bob lacks the case's skill billing (has storage)" in text
        await pilot.press("n")
        await settle(pilot)
        assert service.get_case(ids["vat"]).assignee == "alice"
        # someone available with the skill: no question asked
        service.set_availability("bob", "available", actor="sam")
        await _reassign(pilot, app, "alice")  # (to the same analyst: the service says what it says)
        assert not isinstance(app.screen, ConfirmScreen)


async def test_the_escalation_engineer_must_be_chosen_and_a_ticked_review_is_not_asked_again(app_as, service, ids):
    service.review_escalation(ids["vpn"], actor="maria", problem_statement_ok=True, impact_described=True,
                              workaround_impractical=True)
    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, EscalationsScreen)
        await pilot.press("a")  # every check ticked: straight to the form
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert form.query_one("#field-engineer", Select).value is Select.NULL  # not the approving manager
        await pilot.press("ctrl+s")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen) and CHOOSE_ENGINEER in str(form.query_one("#form-error").render())
        assert service.get_case(ids["vpn"]).escalation.state == "requested"
        form.query_one("#field-engineer", Select).value = "carol"
        await pilot.press("ctrl+s")
        await settle(pilot)
        esc = service.get_case(ids["vpn"]).escalation
        assert (esc.state, esc.engineer) == ("approved", "carol")


async def test_an_unticked_review_asks_once_more_and_no_leaves_the_request(app_as, service, ids):
    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        text = screen_text(app)
        for words in ("the problem statement is correct", "the business impact is described",
                      "a workaround is impractical"):
            assert words in text
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, EscalationsScreen)
        assert service.get_case(ids["vpn"]).escalation.state == "requested"
        assert not app.screen.query(Checkbox)
