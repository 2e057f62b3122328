"""Macros and the undo of a close in the console (issue 16): `M` opens the macro picker (fuzzy by name),
the palette offers "Apply macro: NAME", `u` undoes an agent's close within the undo window (case pane:
shown only while possible; queue: the current row)."""

from __future__ import annotations

from datetime import timedelta

from tuidesk import help_text, recording, screen_text, settle

from deskconsole.tui.bindings import CASE, QUEUE
from deskconsole.tui.macros import MacroPicker
from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.screens.queue import QueueScreen
from deskconsole.tui.widgets.form import FormScreen
from deskconsole.tui.widgets.help import HelpScreen

SIZE = (120, 40)
MACROS = """\
[macros.ask-for-logs]
reply = "Hello {customer}, please send the logs of case {case.id}. {agent}"
status = "pending"
sub_status = "customer_input"

[macros.thank-you]
reply = "Thank you, {customer}!"

[macros.duplicate]
note = "Duplicate"
status = "closed"
"""


def footer_keys(app) -> str:
    return screen_text(app).splitlines()[-1]


async def test_the_macro_picker_applies_a_macro_picked_by_part_of_its_name(app_as, service, ids):
    service.load_macros(MACROS, actor="maria")
    app = app_as("alice")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        assert "Macro" in footer_keys(app)
        await pilot.press("M")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, MacroPicker)
        assert ["ask-for-logs", "duplicate", "thank-you"] == [
            o.id for o in (picker.query_one("#macro-results").get_option_at_index(i) for i in range(3))]
        await pilot.press(*"alg")  # a-sk-for-l-o-g-s: its letters in order
        await settle(pilot)
        assert "question · pending/customer_input" in screen_text(app)
        assert "thank-you" not in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        case = app.screen
        assert isinstance(case, CaseScreen)
        assert (case.case.status, case.case.sub_status) == ("pending", "customer_input")
        assert "Macro ask-for-logs applied" in shown
        [question] = [o for o in service.list_outbox(case_id=ids["vpn"]) if o.kind == "question"][-1:]
        assert f"Hello Acme, please send the logs of case {ids['vpn']}. alice" in question.body


async def test_the_palette_offers_each_macro_by_name_and_refusals_keep_the_console_words(app_as, service, ids):
    service.load_macros(MACROS, actor="maria")
    app = app_as("alice")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Apply macro: thank")
        await settle(pilot)
        assert "Apply macro: thank-you" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert "Macro thank-you applied" in shown
        [reply] = [o for o in service.list_outbox(case_id=ids["vpn"]) if o.kind == "comment"]
        assert reply.body == "Thank you, Acme!"
        # a macro that cannot apply is refused whole, shown as the service says it
        before = service.get_case(ids["login"]).version
        app.open_case(ids["login"])  # awaiting confirmation: pending is not a next status
        await settle(pilot)
        app.screen.apply_macro_named("ask-for-logs")
        await settle(pilot)
        assert any("cannot move to pending" in s for s in shown), shown
        assert service.get_case(ids["login"]).version == before


async def test_u_undoes_a_close_made_in_the_console_within_the_window(app_as, service, ids, clock):
    app = app_as("alice")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        assert "Undo close" not in footer_keys(app)  # nothing to undo on an open case
        await pilot.press("u")
        await settle(pilot)
        assert f"Nothing to undo: case {ids['vpn']} is not closed." in shown
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        await pilot.press(*"solved on the phone")
        await pilot.press("ctrl+s")
        await settle(pilot)
        case = app.screen
        assert isinstance(case, CaseScreen) and case.case.status == "closed"
        [survey] = [o for o in service.list_outbox(case_id=ids["vpn"]) if o.kind == "survey"]
        assert survey.state == "queued" and survey.held_until == clock.now() + timedelta(seconds=10)
        assert "Undo close" in footer_keys(app)  # shown while an undo is possible
        assert "Macro" not in footer_keys(app)  # macros work on open cases
        await pilot.press("M")
        await settle(pilot)
        assert f"Case {ids['vpn']} is closed: macros work on open cases (clone it to start new work)." in shown
        assert isinstance(app.screen, CaseScreen)
        await pilot.press("u")
        await settle(pilot)
        assert case.case.status == "in_progress"
        assert "Close undone: the held messages are withdrawn" in shown
        assert [o.state for o in service.list_outbox(case_id=ids["vpn"]) if o.kind == "survey"] == ["cancelled"]
        # closed again; once the window ends the key leaves the footer, and says why
        await pilot.press("x")
        await settle(pilot)
        await pilot.press(*"solved on the phone")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert case.case.status == "closed" and "Undo close" in footer_keys(app)
        clock.advance(timedelta(seconds=10))
        case.refresh_countdowns()
        await settle(pilot)
        assert "Undo close" not in footer_keys(app)
        await pilot.press("u")
        await settle(pilot)
        assert any("The undo window of this close has ended" in s for s in shown)
        assert service.get_case(ids["vpn"]).status == "closed"


async def test_u_in_the_queue_undoes_the_close_of_the_current_row(app_as, service, ids, clock):
    service.close(ids["export"], reason="withdrawn by the customer", actor="maria")
    app = app_as("maria")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        queue.set_view_to("all")
        await settle(pilot)
        table = queue.table
        table.move_cursor(row=table.get_row_index(str(ids["export"])))
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert service.get_case(ids["export"]).status == "new"
        assert "Close undone: back to new; the held messages are withdrawn" in shown
        await pilot.press("u")  # nothing left to undo: the service's refusal, shown
        await settle(pilot)
        assert any(f"case {ids['export']} is new: there is no close to undo" in s for s in shown)


async def test_the_keys_are_in_help_and_their_lists(app_as):
    assert {"case.macro", "case.undo"} <= {k.id for k in CASE}
    assert "queue.undo" in {k.id for k in QUEUE}
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "Undo close — Undo the last bulk close or assign within the undo window" in help_text(app)


async def test_u_is_not_offered_on_a_case_a_merge_closed(app_as, service, ids):
    """A merge closes its source case at once, but a merge is not undone: the case pane does not offer
    `u` on it (only what may be done now), and pressing it says why."""
    first, _ = service.open_case("Invoice twice", "Soylent", product_area="billing", contact="ap@soylent.example")
    again, _ = service.open_case("Invoice twice (again)", "Soylent", product_area="billing",
                                 contact="ap@soylent.example")
    service.merge(first.id, again.id, actor="maria")  # (a manager merges)
    assert service.get_case(first.id).status == "closed"
    app = app_as("alice")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(first.id)
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen) and app.screen.case.merged_into == again.id
        assert "Undo close" not in footer_keys(app)
        await pilot.press("u")
        await settle(pilot)
        assert (f"Case {first.id} was merged into case {again.id}: a merge is not undone "
                "(its conversation is in that case now).") in shown
        assert service.get_case(first.id).status == "closed"
