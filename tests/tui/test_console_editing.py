"""Editing cases in the console (issue 17): `E` edit (fields and tags), `U` unassign, `m` merge into another case
(the target shown before confirming; across customers asked as such), `S` split the customer's message in view
out into a new case, `N` open a new case (queue and case pane)."""

from __future__ import annotations

from textual.widgets import Input, Select
from tuidesk import help_text, recording, screen_text, settle

from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.widgets.form import ConfirmScreen, FormScreen
from deskconsole.tui.widgets.help import HelpScreen

SIZE = (120, 40)


async def open_case(pilot, case_id: int) -> CaseScreen:
    pilot.app.open_case(case_id)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CaseScreen) and screen.case is not None and screen.case.id == case_id
    return screen


async def test_e_edits_the_fields_and_tags_in_one_form(app_as, service, ids):
    app = app_as("alice")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_case(pilot, ids["vat"])
        await pilot.press("E")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen) and form.form_title == "Edit the case"
        assert form.query_one("#field-title", Input).value == "Invoice shows wrong VAT"
        assert form.query_one("#field-priority", Select).value == "P3"
        form.query_one("#field-title", Input).value = "Invoice 2026-114: wrong VAT rate"
        form.query_one("#field-priority", Select).value = "P2"
        form.query_one("#field-tags", Input).value = "VIP  month-end"
        await pilot.press("ctrl+s")
        await settle(pilot)
        case = service.get_case(ids["vat"])
        assert (case.title, case.priority, case.tags) == (
            "Invoice 2026-114: wrong VAT rate", "P2", ["month-end", "vip"])
        assert "Case changed" in shown
        text = screen_text(app)
        assert "#month-end #vip" in text and "Invoice 2026-114: wrong VAT rate" in text
        # the form again: removing a tag is leaving it out
        await pilot.press("E")
        await settle(pilot)
        assert app.screen.query_one("#field-tags", Input).value == "month-end vip"
        app.screen.query_one("#field-tags", Input).value = "vip"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert service.get_case(ids["vat"]).tags == ["vip"]


async def test_an_edit_that_changes_nothing_reopens_the_form_saying_so(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_case(pilot, ids["vat"])
        version = service.get_case(ids["vat"]).version
        await pilot.press("E")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert "Nothing changed: the case already has these values." in screen_text(app)
        assert service.get_case(ids["vat"]).version == version


async def test_e_on_a_closed_case_says_why_and_opens_nothing(app_as, service, ids):
    app = app_as("alice")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_case(pilot, ids["closed0"])
        await pilot.press("E")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert any("is closed: cannot edit it" in s for s in shown), shown


async def test_u_puts_the_case_back_in_the_team_queue_for_a_manager_only(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_case(pilot, ids["vat"])
        await pilot.press("U")
        await settle(pilot)
        assert service.get_case(ids["vat"]).assignee == "alice"  # (not offered to an analyst)
    app = app_as("maria")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_case(pilot, ids["vat"])
        await pilot.press("U")
        await settle(pilot)
        assert service.get_case(ids["vat"]).assignee is None
        assert "Back in the team queue" in shown
        assert "team queue" in screen_text(app)
        await pilot.press("U")  # nobody to take it from now
        await settle(pilot)
        assert any("is in the team queue already" in s for s in shown), shown


async def test_m_shows_the_target_before_merging(app_as, service, ids):
    dup, _ = service.open_case("VAT wrong on invoice again", "Globex", contact="help@globex.example",
                               product_area="billing")
    app = app_as("maria")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_case(pilot, dup.id)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await pilot.press(*"99999", "enter")
        await settle(pilot)
        assert "unknown case 99999" in screen_text(app)  # the form again, saying so
        app.screen.query_one("#field-target", Input).value = str(ids["vat"])
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        text = screen_text(app)
        assert f"into case {ids['vat']} Invoice shows wrong VAT" in text and "different customers" not in text
        await pilot.press("y")
        await settle(pilot)
        source = service.get_case(dup.id)
        assert source.status == "closed" and source.merged_into == ids["vat"]
        assert service.get_case(ids["vat"]).merged_from == [dup.id]
        assert f"Case {dup.id} merged into case {ids['vat']}" in shown
        assert f"merged into case {ids['vat']}" in screen_text(app)


async def test_m_across_customers_asks_as_such_and_no_keeps_both(app_as, service, ids):
    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_case(pilot, ids["export"])
        await pilot.press("m")
        await settle(pilot)
        app.screen.query_one("#field-target", Input).value = str(ids["vat"])
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "The cases are for different customers: Umbrella and Globex" in text
        await pilot.press("n")
        await settle(pilot)
        assert service.get_case(ids["export"]).status != "closed"
        await pilot.press("m")
        await settle(pilot)
        app.screen.query_one("#field-target", Input).value = str(ids["vat"])
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert service.get_case(ids["export"]).merged_into == ids["vat"]
        forced = [e for e in service.get_case(ids["vat"]).events if e.kind == "merged_from"]
        assert forced[-1].data.get("forced") is True


async def test_m_on_a_case_with_an_open_escalation_says_why(app_as, service, ids):
    app = app_as("maria")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_case(pilot, ids["vpn"])
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert any("has an open escalation" in s for s in shown), shown


async def test_s_splits_the_customers_message_out_and_shows_the_new_case(app_as, service, ids):
    app = app_as("bob")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_case(pilot, ids["replied"])
        reply = [e for e in service.get_case(ids["replied"]).events if e.kind == "customer_replied"][-1]
        await pilot.press("S")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen) and form.query_one("#field-event", Select).value == str(reply.id)
        assert "Here are the logs you asked for." in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaseScreen) and screen.case is not None and screen.case.id != ids["replied"]
        new = service.get_case(screen.case.id)
        assert new.split_from == ids["replied"] and new.description == "Here are the logs you asked for."
        assert service.get_case(ids["replied"]).split_into == [new.id]
        assert f"split from case {ids['replied']}" in screen_text(app)
        assert any(f"Case {new.id} opened with the message split out of case {ids['replied']}" in s for s in shown)


async def test_s_is_not_offered_to_a_supervisor(app_as, service, ids):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_case(pilot, ids["replied"])
        await pilot.press("S")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert service.get_case(ids["replied"]).split_into == []


async def test_n_opens_a_new_case_from_the_queue(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("N")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen) and form.form_title == "Open a new case"
        await pilot.press("ctrl+s")  # nothing typed: refused in the form
        await settle(pilot)
        assert isinstance(app.screen, FormScreen) and "title" in screen_text(app)
        app.screen.query_one("#field-customer", Input).value = "Acme"
        app.screen.query_one("#field-title", Input).value = "Phone: the VPN client crashes on start"
        app.screen.query_one("#field-priority", Select).value = "P1"
        await pilot.press("ctrl+s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaseScreen) and screen.case is not None
        new = service.get_case(screen.case.id)
        assert (new.title, new.customer, new.priority, new.severity) == (
            "Phone: the VPN client crashes on start", "Acme", "P1", "normal")
        assert [e.actor for e in new.events if e.kind == "opened"] == ["alice"]


async def test_help_lists_the_edit_keys(app_as, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_case(pilot, ids["vat"])
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app)
        for words in ("Edit the case: title, contact", "Merge this case into another", "Split a customer's message",
                      "Open a new case for a customer"):
            assert words in text, text
        assert "Put the case back in the team queue" not in text  # (a manager's or supervisor's)
