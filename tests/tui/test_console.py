"""Keys, help, palette, paging, hostile text in every pane, starting up."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.text import Text
from tuidesk import HOSTILE_TITLE, help_text, screen_text, settle

from deskconsole.domain.errors import NotFound
from deskconsole.settings import Settings
from deskconsole.tui import bindings as keys
from deskconsole.tui import panes, styles
from deskconsole.tui.app import DeskApp, make_app, run_console, styles_dir
from deskconsole.tui.headline import header_line
from deskconsole.tui.screens import queue as queue_module
from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.screens.countdowns import CountdownsScreen
from deskconsole.tui.screens.escalations import EscalationsScreen
from deskconsole.tui.screens.queue import QueueScreen
from deskconsole.tui.screens.surveys import SurveysScreen
from deskconsole.tui.text import cell, clean, safe
from deskconsole.tui.widgets.form import FormScreen
from deskconsole.tui.widgets.help import HelpScreen

SIZE = (120, 40)
LITERAL_TITLE = r"[bold red]pwned[/] \x1b[31mRED\x1b[0m [link=http://evil.example]click[/link] \x07bell"


def test_untrusted_text_is_literal():
    assert clean("a\x1b[31mb\x00c\x7f\x9b\u202ed") == r"a\x1b[31mb\x00c\x7f\x9b\u202ed"
    text = safe("[bold]x[/] [link=http://e]y[/link]")
    assert text.plain == "[bold]x[/] [link=http://e]y[/link]" and not text.spans
    assert cell("one\ntwo").plain == "one ⏎ two"
    assert clean(HOSTILE_TITLE) == LITERAL_TITLE
    assert isinstance(cell("x"), Text)


def test_one_list_feeds_every_pane():
    ids = [a.id for group in [panes.GLOBAL, *(p.actions for p in panes.PANES), keys.FORM] for a in group]
    assert len(ids) == len(set(ids)), "binding ids are unique"
    for pane in (QueueScreen, CaseScreen, EscalationsScreen, CountdownsScreen, SurveysScreen):
        bound = {b.id for b in pane.BINDINGS}
        assert bound == {a.id for a in pane.ACTIONS if a.key is not None}
    assert {b.id for b in DeskApp.BINDINGS} == {a.id for a in panes.GLOBAL if a.key and not a.builtin}


async def test_every_pane_of_the_registry_is_reached_by_its_key_titled_and_styled_from_it(app_as):
    """tui/panes.py alone says which panes there are: the number keys, the modes, the header,
    the help's title and the stylesheets read all follow it."""
    assert list(DeskApp.MODES) == [p.name for p in panes.PANES]
    assert [a.key for a in panes.GLOBAL[:len(panes.PANES)]] == [p.key for p in panes.PANES]
    assert set(styles.FIRST) | set(styles.LATER) == {"app.tcss", "forms.tcss", *(p.stylesheet for p in panes.PANES)}
    line = header_line("queue", "sam", "supervisor", __import__("datetime").datetime(2026, 1, 1), 160).plain
    assert all((p.header_title in line) == p.in_header for p in panes.PANES)  # (a role-only pane is not named)
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.case_id = 1  # the case pane shows the case last opened
        for p in panes.PANES:
            await pilot.press(p.key)
            await settle(pilot)
            assert type(app.screen) is p.screen_class() and app.screen.PANE == p.name
            assert list(app.screen.ACTIONS) == list(p.actions)
            await pilot.press("question_mark")
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen) and f"Keys — {p.title}" in screen_text(app)
            await pilot.press("escape")
            await settle(pilot)


def test_styles_are_found():
    assert (styles_dir() / "app.tcss").is_file()
    for path in DeskApp.CSS_PATH:
        assert path.is_file()
    for name in styles.LATER:
        assert (styles_dir() / name).is_file()


async def test_the_other_stylesheets_are_read_right_after_the_first_frame(app_as):
    """Only the queue's stylesheets style the first frame; the others are read once it is drawn,
    so the first showing of another pane or a form does not parse the whole stylesheet again."""
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        read = {Path(path).name for path, _ in app.stylesheet.source}
        assert set(styles.FIRST) | set(styles.LATER) <= read


async def test_a_screen_shown_before_the_other_stylesheets_are_read_is_styled(app_as, monkeypatch):
    monkeypatch.setattr(DeskApp, "load_styles", lambda self: None)  # as if 4 and ? came before that
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = app.screen.query_one("#queue-status").styles.background
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, CountdownsScreen)
        assert app.screen.query_one("#timers-status").styles.background == panel  # countdowns.tcss
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.query_one("#form").region.width == 84  # forms.tcss


async def test_help_lists_every_binding_of_the_pane(app_as):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app)
        for entry in [*panes.pane("queue").actions, *panes.GLOBAL]:
            if entry.offered_to("alice" and "analyst"):
                assert entry.label in text, entry.label
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)


async def test_help_hides_what_the_role_may_not_do(app_as):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert "Take next" not in screen_text(app)


async def test_palette_runs_actions_by_name(app_as, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vpn"])
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"pending")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert app.screen.form_title == "Set pending"


async def test_queue_pages_by_keyset(app_as, service, monkeypatch):
    monkeypatch.setattr(queue_module, "PAGE", 5)
    app = app_as("sam")
    # a supervisor opens on the Open view: its cases, oldest first, five to a page
    opened = [str(r.id) for r in service.list_cases(view="open")]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        first = queue.table.keys()
        assert first == opened[:5]
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert queue.table.keys() == opened[5:10]
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert queue.table.keys() == first


async def test_views_and_sort(app_as, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert queue.view == "mine" and queue.current.name == "Mine"
        await pilot.press("tab", "v")  # Open, Unassigned
        await settle(pilot)
        assert queue.current.name == "Unassigned"
        assert queue.table.keys() == [str(ids["export"])]
        await pilot.press("tab", "tab")  # Breached, Escalated
        await settle(pilot)
        assert queue.current.name == "Escalated"
        assert set(queue.table.keys()) == {str(ids["vpn"]), str(ids["storage"]), str(ids["hostile"])}
        await pilot.press("s", "s")  # priority
        await settle(pilot)
        assert queue.table.keys()[0] == str(ids["storage"])  # P1 first


@pytest.mark.parametrize(("user", "pane"), [("alice", "1"), ("alice", "2"), ("maria", "3"), ("sam", "4"),
                                       ("sam", "5")])
async def test_hostile_text_in_every_pane(app_as, ids, user, pane):
    app = app_as(user)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        if pane == "2":
            app.open_case(ids["hostile"])
        else:
            await pilot.press(pane)
        await settle(pilot)
        if pane == "3":
            app.screen.query_one("#esc-requests").move_cursor(row=1)
            await settle(pilot)
        text = screen_text(app)
        if pane == "5":
            assert r"[bold red]TERRIBLE[/] \x1b[31m" in text
        else:
            assert "[bold red]pwned[/]" in text
        assert "\x1b" not in text and "\x07" not in text
        await pilot.press("enter")  # and open it from there
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert "\x1b" not in screen_text(app)


def test_unknown_user_is_refused(service, tmp_path, capsys):
    with pytest.raises(NotFound):
        make_app(service, "nobody")
    url = str(service.engine.url)
    settings = Settings(db_url=url, user="nobody")
    assert run_console(settings) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nobody" in err and len(err.strip().splitlines()) == 1


def test_the_core_never_imports_textual():
    import subprocess
    import sys

    code = ("import sys, deskconsole.service, deskconsole.domain.views, deskconsole.store.engine;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_queue_pages_in_priority_order(app_as, service, monkeypatch):
    monkeypatch.setattr(queue_module, "PAGE", 4)
    everything = [str(r.id) for r in service.list_cases(view="open", sort="priority")]  # (sam opens on Open)
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s", "s")
        await settle(pilot)
        queue = app.screen
        seen = list(queue.table.keys())
        for _ in range(10):
            await pilot.press("right_square_bracket")
            await settle(pilot)
            page = queue.table.keys()
            if not page:
                break
            seen += page
            if len(page) < 4:
                break
        assert seen == everything


async def test_a_huge_description_opens_quickly(app_as, service):
    huge, _ = service.open_case("Log dump", "Initech", description="[b]x[/b] \x1b[31m" * 70_000)
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(huge.id)
        await settle(pilot)
        text = screen_text(app)
        assert r"[b]x[/b] \x1b[31m" in text
        app.screen.thread.scroll_end(animate=False)
        await settle(pilot)
        assert "more characters not shown" in screen_text(app)
