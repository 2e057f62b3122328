"""The analyst's path: filter, open, pending/customer input, reminder countdown, customer reply."""

from __future__ import annotations

from textual import events
from textual.widgets import Input, Select, TextArea
from tuidesk import screen_text, settle

from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.screens.queue import QueueScreen
from deskconsole.tui.widgets.composer import ComposerScreen
from deskconsole.tui.widgets.form import FormScreen

SIZE = (120, 40)


async def test_filter_open_pending_and_customer_reply(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        assert queue.view == "mine"
        assert str(ids["vpn"]) in queue.table.keys()

        await pilot.press("slash", *"vpn", "enter")  # enter applies the filter and returns to the table
        await settle(pilot)
        assert queue.table.keys() == [str(ids["vpn"])]
        await pilot.press("enter")  # opens the case
        await settle(pilot)
        case = app.screen
        assert isinstance(case, CaseScreen)
        assert case.case.id == ids["vpn"]
        assert "no timer running" in screen_text(app)

        await pilot.press("p")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#field-sub_status", Select).value = "customer_input"
        await settle(pilot)
        question = form.query_one("#field-question", TextArea)
        assert question.display and not form.query_one("#field-note", TextArea).display
        before = service.get_case(ids["vpn"])
        await pilot.press("ctrl+s")  # no question, not asked outside: refused in the console's words
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        text = screen_text(app)
        assert "Write the question to send the customer" in text and "--note" not in text
        assert service.get_case(ids["vpn"]) == before
        form.query_one("#field-question", TextArea).focus()
        await pilot.press(*"Which VPN client version?")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert case.case.status == "pending" and case.case.sub_status == "customer_input"
        sent = [o for o in service.list_outbox(case_id=ids["vpn"]) if o.kind == "question"]
        assert len(sent) == 1 and "Which VPN client version?" in sent[0].body
        text = screen_text(app)
        assert "pending/customer" in text  # (the queue's words)
        assert "remind 7d 00h" in text  # the reminder countdown appeared
        assert "auto-close 28d 00h" in text

        await pilot.press("i")  # log what the customer said
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert form.query_one("#field-channel", Select).value == "phone"
        form.query_one("#field-body", TextArea).focus()
        await pilot.press(*"Sent logs")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert case.case.status == "update_received"
        text = screen_text(app)
        assert "update received" in text
        assert "Sent logs" in text
        assert service.get_case(ids["vpn"]).status == "update_received"
        events = service.get_case(ids["vpn"]).events
        assert events[-2].kind == "customer_replied" and events[-2].data["channel"] == "phone"

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)


async def test_take_next_fits_skills(app_as, service, ids):
    service.set_availability("bob", "away", actor="bob")  # nobody available for storage: it waits unassigned
    tape, _ = service.open_case("Tape library offline", "Wayne", product_area="storage")
    assert tape.assignee is None
    app = app_as("bob")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert app.screen.case.id == tape.id
        assert app.screen.case.assignee == "bob"


async def test_internal_note_and_conflict_keeps_typed_text(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ComposerScreen) and "INTERNAL NOTE" in screen_text(app)
        await pilot.press(*"my findings")
        # meanwhile a manager changes the case
        service.add_note(ids["vpn"], "manager was here", actor="maria")
        await pilot.press("ctrl+s")
        await settle(pilot)
        again = app.screen
        assert isinstance(again, ComposerScreen)
        assert "maria added an internal note" in str(again.query_one("#form-error").render())
        assert again.query_one("#composer-text", TextArea).text == "my findings"
        assert "INTERNAL NOTE" in screen_text(app)  # still a note
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        bodies = [e.body for e in service.get_case(ids["vpn"]).events if e.kind == "note"]
        assert bodies[-2:] == ["manager was here", "my findings"]


async def test_filter_escape_clears(app_as, ids):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        everything = len(queue.table.keys())
        await pilot.press("slash", *"globex", "enter")
        await settle(pilot)
        assert queue.table.keys() == [str(ids["vat"])]
        await pilot.press("escape")
        await settle(pilot)
        assert len(queue.table.keys()) == everything
        assert queue.query_one("#queue-filter", Input).has_class("hidden")


async def test_close_then_clone(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press(*"duplicate of 12", "enter")  # enter in the last field submits
        await settle(pilot)
        case = app.screen
        assert isinstance(case, CaseScreen)
        assert case.case.status == "closed" and case.case.close_reason == "duplicate of 12"
        assert "followup" in {t.kind for t in case.case.timers}
        await pilot.press("l", "y")
        await settle(pilot)
        assert case.case.cloned_from == ids["vpn"]
        assert case.case.status == "new"
        assert f"cloned from case {ids['vpn']}" in screen_text(app)


async def test_search_and_link_an_article(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        box = app.screen.query_one("#article-query", Input)
        box.value = ""
        await pilot.press(*"tunnel", "enter")
        await settle(pilot)
        await pilot.press("enter")  # the first result
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert [a.title for a in app.screen.case.articles] == ["Resetting a VPN tunnel"]
        assert "Resetting a VPN tunnel" in screen_text(app)


async def test_refusal_is_shown_and_changes_nothing(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        await pilot.press("a")  # resolve without a resolution
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        error = str(form.query_one("#form-error").render())
        assert "Write the resolution" in error and "--note" not in error  # the console's own words
        await pilot.press("escape")
        await settle(pilot)
        assert service.get_case(ids["vpn"]).status == "in_progress"


async def test_direct_action_on_a_changed_case_reloads(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.open_case(ids["vat"])
        await settle(pilot)
        service.customer_reply(ids["vat"], "Here is the address")  # meanwhile, from the e-mail gateway
        await pilot.press("w")  # start work on the version shown
        await settle(pilot)
        notes = [str(n.message) for n in app._notifications]
        assert any("customer:Globex" in n and "since you opened it" in n for n in notes), notes
        case = app.screen.case
        assert case.status == "update_received"  # reloaded; nothing was applied on the stale version
        await pilot.press("w")
        await settle(pilot)
        assert app.screen.case.status == "in_progress"


async def test_a_word_typed_in_one_burst_after_slash_is_all_in_the_filter(app_as, ids):
    """A fast typist sends `/vpn` before the console has moved focus to the box: no letter is lost,
    and none is taken as a queue key (v would change the view, n would open a case form)."""
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        for key, char in [("slash", "/"), ("v", "v"), ("p", "p"), ("n", "n")]:
            app.post_message(events.Key(key, char))  # queued at once, as a terminal delivers a burst
        await settle(pilot)
        assert queue.query_one("#queue-filter", Input).value == "vpn"
        assert "alice · analyst" in screen_text(app)  # the box opens below the header, not over it
        assert queue.view == "mine"
        assert app.screen is queue
        assert queue.table.keys() == [str(ids["vpn"])]
