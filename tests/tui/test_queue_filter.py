"""The queue's `/` takes the filter language (status:new prio:P1 ...); plain words still search."""

from __future__ import annotations

from textual.widgets import Input, Static
from tuidesk import screen_text, settle

from deskconsole.tui.screens.queue import QueueScreen

SIZE = (120, 40)


def status_line(queue: QueueScreen) -> str:
    return str(queue.query_one("#queue-status", Static).render())


async def test_slash_takes_filter_terms_and_plain_words(app_as, service, ids):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)

        await pilot.press("slash", *"customer:globex", "enter")
        await settle(pilot)
        assert queue.table.keys() == [str(ids["vat"])]

        await pilot.press("escape", "slash", *"status:pending sub:customer_input", "enter")
        await settle(pilot)
        expected = [str(r.id) for r in service.list_cases(view=queue.view, actor="sam",
                                                          filter="status:pending sub:customer_input")]
        assert str(ids["vat"]) in expected and str(ids["vpn"]) not in expected
        assert queue.table.keys() == expected

        await pilot.press("escape", "slash", *"prio:P1,P2 esc:open", "enter")
        await settle(pilot)
        assert set(queue.table.keys()) == {str(ids["vpn"]), str(ids["storage"])}

        await pilot.press("escape", "slash", *"vpn", "enter")  # a plain word: the search, as before
        await settle(pilot)
        assert queue.table.keys() == [str(ids["vpn"])]


async def test_a_half_typed_term_says_why_and_keeps_the_rows(app_as, ids):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        await pilot.press("slash", *"customer:globex", "enter")
        await settle(pilot)
        assert queue.table.keys() == [str(ids["vat"])]
        box = queue.query_one("#queue-filter", Input)
        await pilot.press("slash")
        box.value = "customer:globex status:pen"  # (pasted: one change)
        await settle(pilot)
        assert "unknown status 'pen'" in status_line(queue)
        assert queue.table.keys() == [str(ids["vat"])]  # the last good filter's rows stay
        box.value = "customer:globex status:pending"
        await pilot.press("enter")
        await settle(pilot)
        assert "unknown status" not in status_line(queue)
        assert queue.table.keys() == [str(ids["vat"])]  # Globex's case is pending
        assert "Refused" not in screen_text(app)  # said under the table, not as a notification
