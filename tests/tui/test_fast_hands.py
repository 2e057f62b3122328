"""Keys typed in a burst, at machine speed, reach the pane (or form) they were meant for."""

from __future__ import annotations

from textual import events
from textual.widgets import Input, OptionList
from tuidesk import settle

from deskconsole.tui.widgets.articles import ArticlePicker
from deskconsole.tui.widgets.form import FormScreen

SIZE = (120, 40)


def burst(app, *keys: str) -> None:
    """Every key sent to the console at once, as a terminal hands over a fast typist's keys: none
    waits for the one before it to be handled (Pilot.press waits between keys)."""
    for key in keys:
        character = key if len(key) == 1 else {"space": " ", "tab": "\t"}.get(key)
        name = {" ": "space"}.get(key, key)
        if len(name) == 1 and not name.isalnum():
            from textual.keys import _character_to_key

            name = _character_to_key(name)
        event = events.Key(name, character)
        event.set_sender(app)
        app._driver.send_message(event)


async def test_number_keys_typed_fast_switch_panes_and_type_no_filter(app_as):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "1", "2", "3", "4", "5", "6", "1")
        await settle(pilot)
        assert app.current_mode == "queue"  # the last key: back on the queue
        for stack in app._screen_stacks.values():
            for screen in stack:
                for box in screen.query(Input):
                    assert box.value == "", f"{box.id} got {box.value!r}"
        burst(app, "4", "slash", *"vpn")  # a pane's first visit, then its filter: the word is typed there
        await settle(pilot)
        assert app.current_mode == "countdowns"
        assert app.screen.query_one("#timers-filter", Input).value == "vpn"


async def test_a_tab_after_a_refused_submit_moves_to_the_next_field(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        # log a call with nothing said (refused), then tab to the text and write it, and submit: one burst
        burst(app, "i", "ctrl+s", "tab", *"Called back", "ctrl+s")
        await settle(pilot, rounds=8)
        assert not isinstance(app.screen, FormScreen), "the second submit was accepted and closed the form"
        bodies = [e.body for e in service.case_events(ids["vpn"]).events]
        assert "Called back" in bodies, bodies[-3:]


async def test_down_from_the_knowledge_base_search_reaches_the_results(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        # typed fast: the key, the words, ↓ before the search as you type has run, enter on the first result
        burst(app, "b", *"tunnel", "down", "enter")
        await settle(pilot, rounds=8)
        assert not isinstance(app.screen, ArticlePicker)
        assert [a.title for a in app.screen.case.articles] == ["Resetting a VPN tunnel"]


async def test_down_moves_to_results_already_shown(app_as, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        await pilot.press("b", *"storage")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, ArticlePicker)
        await pilot.press("enter")  # (the search, now)
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("b", *"vat")
        picker = app.screen
        results = picker.query_one("#article-results", OptionList)
        picker.search("vat")  # the results for the words typed are on screen
        await settle(pilot)
        assert isinstance(app.focused, Input) and results.option_count == 1
        await pilot.press("down")
        assert app.focused is results and results.highlighted == 0
