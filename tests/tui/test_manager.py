"""The manager's path: review, approve (priority and engineer shown), deny (reason required), de-escalate."""

from __future__ import annotations

import re

from textual.widgets import Checkbox, Input, Select, TextArea
from tuidesk import screen_text, settle

from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.screens.escalations import EscalationsScreen
from deskconsole.tui.widgets.form import ConfirmScreen, FormScreen

SIZE = (120, 40)


async def open_review(app, pilot) -> EscalationsScreen:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, EscalationsScreen)
    return screen


async def test_review_then_approve_shows_priority_and_engineer(app_as, service, ids):
    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(app, pilot)
        # oldest request first: the VPN case (requested by alice), then the hostile one
        assert review.query_one("#esc-requests").keys() == [str(ids["vpn"]), str(ids["hostile"])]
        assert "The customer's CIO asks for daily calls." in screen_text(app)

        await pilot.press("v")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#field-severity_impact", Input).value = "Site-to-site VPN down for 40 users"
        form.query_one("#field-business_risk", Input).value = "Month-end close"
        form.query_one("#field-problem_statement_ok", Checkbox).value = True
        form.query_one("#field-impact_described", Checkbox).value = True
        form.query_one("#field-milestone_date", Input).value = "2026-11-30"
        await pilot.press("ctrl+s")
        await settle(pilot)
        esc = service.get_case(ids["vpn"]).escalation
        assert esc.severity_impact == "Site-to-site VPN down for 40 users"
        assert esc.problem_statement_ok is True and esc.workaround_impractical is False
        assert "Site-to-site VPN down" in screen_text(app)

        await pilot.press("a")  # the review left "a workaround is impractical" unticked: asked once more
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and "a workaround is impractical" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#field-engineer", Select).value = "carol"
        form.query_one("#field-comm_mode", Select).value = "conference_call"
        form.query_one("#field-comm_attendees", Input).value = "Acme CIO, carol"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, EscalationsScreen)
        assert review.query_one("#esc-requests").keys() == [str(ids["hostile"])]
        assert str(ids["vpn"]) in review.query_one("#esc-approved").keys()

        app.open_case(ids["vpn"])
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        text = screen_text(app)
        assert f"Case {ids['vpn']}  P1" in text  # raised from P2
        assert re.search(r"Engineer\s+carol", text)
        assert "approved" in text


async def test_deny_needs_a_reason(app_as, service, ids):
    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        await open_review(app, pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("ctrl+s")  # no reason
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert "needs a reason" in str(form.query_one("#form-error").render())
        assert service.get_case(ids["vpn"]).escalation.state == "requested"
        form.query_one("#field-reason", TextArea).focus()
        await pilot.press(*"Workaround exists")
        await pilot.press("ctrl+s")
        await settle(pilot)
        esc = service.get_case(ids["vpn"]).escalation
        assert esc.state == "denied" and esc.decision_reason == "Workaround exists"


async def test_status_update_and_de_escalation(app_as, service, ids):
    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        review = await open_review(app, pilot)
        review.query_one("#esc-approved").focus()
        await pilot.press("u")
        await settle(pilot)
        app.screen.query_one("#field-body", TextArea).focus()
        await pilot.press(*"Disk replaced")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert service.get_case(ids["storage"]).events[-1].kind == "status_update"

        await pilot.press("x")
        await settle(pilot)
        form = app.screen
        form.query_one("#field-plan_accepted", Checkbox).value = True
        form.query_one("#field-rca_on_track", Checkbox).value = True
        await pilot.press("ctrl+s")  # one confirmation missing: refused, form kept
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert "customer's agreement" in str(form.query_one("#form-error").render())
        assert form.query_one("#field-plan_accepted", Checkbox).value is True
        form.query_one("#field-customer_agreed", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        case = service.get_case(ids["storage"])
        assert case.escalation.state == "de_escalated" and case.priority == "P2"
        assert review.query_one("#esc-approved").keys() == []


async def test_analyst_is_not_offered_decisions(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_review(app, pilot)
        footer = screen_text(app).splitlines()[-1]
        assert "Approve" not in footer and "Deny" not in footer
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, EscalationsScreen)
        assert service.get_case(ids["vpn"]).escalation.state == "requested"


async def test_supervisor_reassigns_and_notes(app_as, service, ids):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["export"])
        await settle(pilot)
        footer = screen_text(app).splitlines()[-1]
        assert "Reassign" in footer and "Pending" not in footer  # a supervisor does not move cases
        await pilot.press("g")
        await settle(pilot)
        app.screen.query_one("#field-assignee", Select).value = "carol"
        await pilot.press("ctrl+s")
        await settle(pilot)
        # carol has network, not the case's reports: asked once more
        assert isinstance(app.screen, ConfirmScreen)
        assert "carol lacks the case's skill reports (has network)" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen.case.assignee == "carol"
        await pilot.press("n")  # the composer, as an internal note
        await settle(pilot)
        await pilot.press(*"Carol knows reports")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert service.get_case(ids["export"]).events[-1].body == "Carol knows reports"


async def test_log_a_defect(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        form = app.screen
        form.query_one("#field-reference", Input).value = "ENG-4242"
        form.query_one("#field-summary", TextArea).text = "Tunnel drops on rekey"
        await pilot.press("ctrl+s")
        await settle(pilot)
        case = app.screen.case
        assert (case.status, case.sub_status, case.engineering_ref) == ("pending", "development", "ENG-4242")
        assert "ENG-4242" in screen_text(app)
