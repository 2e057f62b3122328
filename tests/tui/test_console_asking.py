"""Asking is a message, and the customer's confirmation is logged in the console (issue 16)."""

from __future__ import annotations

from textual.widgets import Select, TextArea
from tuidesk import recording, screen_text, settle

from deskconsole.tui.bindings import CASE
from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.widgets.form import FormScreen
from deskconsole.tui.widgets.help import HelpScreen

SIZE = (120, 40)


async def test_a_question_already_asked_by_phone_is_recorded_and_nothing_is_sent(app_as, service, ids):
    app = app_as("alice")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        # the choice belongs to waiting on the customer: hidden until that sub-status is picked
        assert not form.query_one("#field-asked", Select).display
        form.query_one("#field-sub_status", Select).value = "customer_input"
        await settle(pilot)
        asked = form.query_one("#field-asked", Select)
        assert asked.display and asked.value == ""  # by default the question is sent
        assert "send it to the customer now" in screen_text(app)
        asked.value = "phone"
        form.query_one("#field-question", TextArea).focus()
        await pilot.press(*"Which client version runs on the laptops?")
        await pilot.press("ctrl+s")
        await settle(pilot)
        case = app.screen
        assert isinstance(case, CaseScreen)
        assert (case.case.status, case.case.sub_status) == ("pending", "customer_input")
        assert any("asked by phone (nothing sent)" in s for s in shown)
        assert [o for o in service.list_outbox(case_id=ids["vpn"]) if o.kind == "question"] == []
        moved = [e for e in service.get_case(ids["vpn"]).events if e.kind == "status_changed"][-1]
        assert moved.data["asked_outside"] == "phone"
        assert moved.body == "Which client version runs on the laptops?"
        assert "asked by phone: nothing sent" in screen_text(app)


async def test_other_sub_statuses_keep_an_internal_note_and_send_nothing(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        form = app.screen
        form.query_one("#field-sub_status", Select).value = "third_party"
        await settle(pilot)
        assert not form.query_one("#field-question", TextArea).display
        form.query_one("#field-note", TextArea).focus()
        await pilot.press(*"Carrier ticket 881")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert service.get_case(ids["vpn"]).sub_status == "third_party"
        assert [o.kind for o in service.list_outbox(case_id=ids["vpn"])] == ["escalation_requested"]  # (before)
        assert service.get_case(ids["vpn"]).events[-1].body == "Carrier ticket 881"


async def test_customer_confirmed_by_e_mail_closes_the_case(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])  # in progress: nothing to confirm, the key is not offered
        await settle(pilot)
        assert "Confirmed" not in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen) and service.get_case(ids["vpn"]).status == "in_progress"

        app.open_case(ids["login"])  # awaiting confirmation
        await settle(pilot)
        assert "Confirmed" in screen_text(app)  # in the footer
        await pilot.press("y")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        how = form.query_one("#field-how", Select)
        assert how.value == "phone"
        how.value = "email"
        await pilot.press("ctrl+s")
        await settle(pilot)
        case = app.screen
        assert isinstance(case, CaseScreen)
        view = service.get_case(ids["login"])
        assert view.status == "closed" and case.case.status == "closed"
        assert view.close_reason == "resolution confirmed by the customer (by e-mail, logged by alice)"
        confirmed = [e for e in view.events if e.kind == "customer_confirmed"]
        assert len(confirmed) == 1 and confirmed[0].data == {"channel": "email", "logged_by": "alice"}
        assert "reopened" not in [e.data.get("to") for e in view.events]
        assert {o.kind for o in service.list_outbox(case_id=ids["login"])} >= {"survey"}


async def test_customer_confirmed_is_in_help_and_the_palette(app_as, ids):
    entry = next(k for k in CASE if k.id == "case.confirmed")
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["login"])
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert entry.label in text and "The customer confirmed the resolution" in text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Confirmed")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert app.screen.form_title == "The customer confirmed the resolution"
