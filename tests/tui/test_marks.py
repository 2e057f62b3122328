"""Marks and bulk actions in the queue (issue 17): `space`, `V` and `*` mark rows visibly (● and a tinted
row, "N marked" in the status line); marks survive a page and a reload; a bulk close is one service call
that closes each marked case or refuses it with its reason (a case changed underneath is refused while
the others close); `u` undoes the bulk close as a whole."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tuidesk import recording, screen_text, settle

from deskconsole.tui.macros import MacroPicker
from deskconsole.tui.marks import MARK, BulkOutcomeScreen
from deskconsole.tui.screens import queue as queue_module
from deskconsole.tui.screens.queue import QueueScreen
from deskconsole.tui.widgets.form import FormScreen

SIZE = (120, 40)


def status_line(app) -> str:
    return str(app.screen.query_one("#queue-status").render())


def marked_on_screen(app) -> list[str]:
    """The case ids shown with the mark glyph."""
    out = []
    for line in screen_text(app).splitlines():
        cell = line.strip().split(" ")[0] if line.strip() else ""
        if cell.startswith(MARK):
            out.append(cell[len(MARK):])
    return out


async def put_cursor(pilot, case_id: int) -> None:
    table = pilot.app.screen.table
    table.move_cursor(row=table.get_row_index(str(case_id)), animate=False)
    await pilot.pause()


async def test_space_v_and_star_mark_rows_visibly_and_the_marks_survive_a_page_and_a_reload(app_as, monkeypatch):
    monkeypatch.setattr(queue_module, "PAGE", 5)  # (pages of five cases: the Open view has two)
    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        first_page = queue.table.keys()
        assert len(first_page) == 5 and "marked" not in status_line(app)
        await pilot.press("space")  # marks the first row; the cursor steps down
        await settle(pilot)
        assert marked_on_screen(app) == first_page[:1]
        assert " 1 marked " in status_line(app) and "x close" in status_line(app)
        assert queue.table.selected_key == first_page[1]
        await pilot.press("j", "j", "V")  # from the last marked (row 1) to the cursor (row 4)
        await settle(pilot)
        assert marked_on_screen(app) == first_page[:4]
        assert " 4 marked " in status_line(app)
        await pilot.press("right_square_bracket")  # the next page: the marks stay, counted
        await settle(pilot)
        assert queue.table.keys()[0] not in first_page and marked_on_screen(app) == []
        assert " 4 marked " in status_line(app)
        await pilot.press("asterisk")  # the whole page too
        await settle(pilot)
        second_page = queue.table.keys()
        assert len(second_page) == 3  # (the Open view's eight cases, a manager's first view)
        assert marked_on_screen(app) == second_page and " 7 marked " in status_line(app)
        await pilot.press("asterisk")  # all marked: * unmarks the page
        await settle(pilot)
        assert marked_on_screen(app) == [] and " 4 marked " in status_line(app)
        await pilot.press("left_square_bracket", "r")  # back, and read again: still marked
        await settle(pilot)
        assert marked_on_screen(app) == first_page[:4]
        await put_cursor(pilot, int(first_page[1]))
        await pilot.press("space")  # unmark one
        await settle(pilot)
        assert marked_on_screen(app) == [first_page[0], first_page[2], first_page[3]]
        await pilot.press("escape")  # no filter open: esc clears the marks
        await settle(pilot)
        assert marked_on_screen(app) == [] and "marked" not in status_line(app)


async def test_a_bulk_close_refuses_the_case_changed_underneath_closes_the_others_and_u_undoes_it(
        app_as, service, ids):
    app = app_as("maria")
    shown = recording(app)
    open_cases = [ids["vpn"], ids["login"], ids["export"]]
    before = [service.get_case(i).status for i in open_cases]  # in progress, awaiting confirmation, new
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for case_id in open_cases:
            await put_cursor(pilot, case_id)
            await pilot.press("space")
        await settle(pilot)
        assert sorted(marked_on_screen(app)) == sorted(str(i) for i in open_cases)
        # someone else writes on one of them after the queue showed it (this console does not see it yet)
        service.add_note(ids["login"], "Called the customer: they still see it.", actor="carol")
        await pilot.press("x")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen) and "Close 3 cases" in screen_text(app)
        await pilot.press("ctrl+s")  # a blank reason: the form says so and stays
        await settle(pilot)
        assert isinstance(app.screen, FormScreen) and "Give the reason the cases close for." in screen_text(app)
        await pilot.press(*"fixed by the gateway repair", "ctrl+s")
        await settle(pilot)
        outcome = app.screen
        assert isinstance(outcome, BulkOutcomeScreen)
        text = screen_text(app)
        assert "Close: 2 done, 1 refused" in text, text
        assert f"case {ids['login']}  changed since you read it" in text and "carol added" in text, text
        assert [service.get_case(i).status for i in open_cases] == ["closed", before[1], "closed"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert marked_on_screen(app) == [str(ids["login"])]  # the refused stays marked
        assert " 1 marked " in status_line(app)
        await pilot.press("u")  # the bulk close, undone as a whole
        await settle(pilot)
        assert "2 undone" in shown
        assert [service.get_case(i).status for i in open_cases] == before
        closes = [o for i in open_cases for o in service.list_outbox(case_id=i) if o.kind == "survey"]
        assert closes and {o.state for o in closes} == {"cancelled"}


async def test_after_the_undo_window_u_no_longer_undoes_the_bulk(app_as, service, ids, clock):
    app = app_as("maria")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.action_set_view("all")  # (a closed case stays in view)
        await settle(pilot)
        await put_cursor(pilot, ids["export"])  # nothing marked: the selected case alone
        await pilot.press("x", *"withdrawn", "ctrl+s")
        await settle(pilot)
        assert "1 done; u undoes it within the undo window" in shown
        assert service.get_case(ids["export"]).status == "closed"
        clock.advance(timedelta(seconds=11))
        await put_cursor(pilot, ids["export"])
        await pilot.press("u")
        await settle(pilot)
        assert service.get_case(ids["export"]).status == "closed"
        assert "the undo window of its close ended" in shown[-1]


@pytest.mark.parametrize("choice", ["reply", "assign", "macro"])
async def test_reply_assign_and_macro_on_marked_cases_are_one_call_each(app_as, service, ids, choice):
    service.load_macros('[macros.thanks]\nreply = "Thank you, {customer}!"\n', actor="maria")
    app = app_as("maria")
    shown = recording(app)
    cases = [ids["vpn"], ids["storage"]]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for case_id in cases:
            await put_cursor(pilot, case_id)
            await pilot.press("space")
        if choice == "reply":
            await pilot.press("c")
            await settle(pilot)
            assert "Reply to 2 customers" in screen_text(app)
            await pilot.press(*"The fix ships on Friday.", "ctrl+s")
        elif choice == "assign":
            await pilot.press("g")
            await settle(pilot)
            assert "Assign 2 cases" in screen_text(app)
            await pilot.press("ctrl+s")  # the first choice: the team queue
        else:
            await pilot.press("M")
            await settle(pilot)
            assert isinstance(app.screen, MacroPicker) and "Apply a macro to 2 cases" in screen_text(app)
            await pilot.press("enter")
        await settle(pilot)
        assert "2 done" in " ".join(shown)
        assert isinstance(app.screen, QueueScreen) and "marked" not in status_line(app)
    if choice == "reply":
        for case_id in cases:
            assert [o.body for o in service.list_outbox(case_id=case_id) if o.kind == "comment"] == [
                "The fix ships on Friday."]
    elif choice == "assign":
        assert [service.get_case(i).assignee for i in cases] == [None, None]
    else:
        bodies = {o.body for i in cases for o in service.list_outbox(case_id=i) if o.kind == "comment"}
        assert bodies == {"Thank you, Acme!", "Thank you, Initech!"}


async def test_a_bulk_move_to_pending_asks_for_the_question_and_sends_it_to_each_customer(app_as, service, ids):
    app = app_as("maria")
    shown = recording(app)
    cases = [ids["vpn"], ids["export"]]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for case_id in cases:
            await put_cursor(pilot, case_id)
            await pilot.press("space")
        await pilot.press("m")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen) and "Move 2 cases" in screen_text(app)
        form.query_one("#field-target").value = "pending/customer_input"
        await settle(pilot)
        assert "Question to each customer" in screen_text(app)
        await pilot.press("ctrl+s")  # no question written and none asked outside: the form says so
        await settle(pilot)
        assert "Write the question to the customers" in screen_text(app)
        app.screen.query_one("#field-question").text = "Which version of the app do you run?"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "2 done" in shown
    for case_id in cases:
        view = service.get_case(case_id)
        assert (view.status, view.sub_status) == ("pending", "customer_input")
        assert [o.body for o in service.list_outbox(case_id=case_id) if o.kind == "question"][-1].count(
            "Which version of the app do you run?")


async def test_the_status_line_offers_only_the_bulk_keys_this_person_has(app_as):
    """A supervisor watches and does not close cases: with cases marked, the status line does not
    offer x close (pressing it did nothing), only the keys the key list gives a supervisor."""
    from deskconsole.tui.bindings import MARKS

    app = app_as("sam")  # a supervisor
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("asterisk")
        await settle(pilot)
        line = status_line(app)
        assert " marked " in line and "U unmark" in line
        assert "x close" not in line
        offered = [k for k in MARKS if k.id.startswith("queue.bulk_") and k.offered_to("supervisor")]
        for k in MARKS:
            if k.id.startswith("queue.bulk_"):
                assert (f"{k.display_key()} {k.label.split()[0].lower()}" in line) == (k in offered), k.id
