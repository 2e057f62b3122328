"""Hostile text in the console: every pane shows it literally, unstyled, and a 1,000,000-character
note neither floods the screen nor slows it down (what is drawn stays bounded).

The text arrives through the service (as it would from the command line or ingest): Rich markup
(balanced, links, a stray close tag), ANSI colours, an OSC title, clear-screen and cursor moves,
carriage return, backspace, DEL, an 8-bit CSI, a zero-width space, bidi overrides.
"""

from __future__ import annotations

import pytest
from rich.text import Text
from tuidesk import settle

from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.screens.escalations import EscalationsScreen
from deskconsole.tui.screens.surveys import SurveysScreen
from deskconsole.tui.text import clean

SIZE = (160, 50)
H = ("[bold red]x[/] [link=http://evil.example]y[/link] [/] \x1b[31mred\x1b[0m \x1b]0;title\x07 "
     "\x1b[2J\x1b[1;1H\x1b[A \r\b\x7f\x9b \u200b\u202eevil\u202c\u2028end")
BLOCK = H + "\nsecond line\ttabbed\r\nthird \x1b[5mblink"
RAW = ("\x1b", "\x07", "\r", "\b", "\x7f", "\x9b", "\u202e", "\u202c", "\u2028")
LIMIT = 1_000_000  # service.MAX_TEXT
HEAD = r"[bold red]x[/] [link=http://evil.example]y[/link]"  # what any column shows first


@pytest.fixture
def evil(service, ids) -> dict[str, int]:
    """A case with hostile text in every field, a 1,000,000-character note, an escalation request,
    a linked article; and a closed case whose survey comment is hostile."""
    case, _ = service.open_case(H, H, description=BLOCK, contact=H, product_area="billing", ref=H)
    cid = case.id
    assert case.assignee == "alice"
    line = "a long log line [red]x[/] \x1b[31m\n"
    service.add_note(cid, (line * (LIMIT // len(line))).ljust(LIMIT, "z"), actor="alice")
    service.customer_reply(cid, BLOCK)
    service.add_note(cid, BLOCK, actor="alice", internal=False)
    service.request_escalation(cid, BLOCK, actor="alice")
    article = service.add_article(H, BLOCK)
    service.link_article(cid, article.id, actor="alice")
    closed, _ = service.open_case(H, H, product_area="billing")
    service.close(closed.id, reason=BLOCK, actor="alice")
    service.answer_survey(closed.id, 1, BLOCK)
    return {"case": cid, "closed": closed.id}


def strips(app) -> list[list]:
    return [list(strip) for strip in app.screen._compositor.render_strips()]


def shown(app) -> str:
    return "\n".join("".join(seg.text for seg in line) for line in strips(app))


def assert_literal(app) -> str:
    """Nothing raw reached the screen, no link was made, and the hostile text kept one style
    from its first character to the end of what its column shows."""
    text = shown(app)
    assert not [ch for ch in RAW if ch in text], [ch for ch in RAW if ch in text]
    assert "[bold red]x[/]" in text
    for line in strips(app):
        for seg in line:
            assert seg.style is None or not seg.style.link, f"a link was made: {seg.text!r}"
        starts = [i for i, seg in enumerate(line) if "[bold red]x[/]" in seg.text]
        for i in starts:  # one run of text up to the column's edge, not restyled halfway
            after = line[i].text.split("[bold red]x[/]", 1)[1]
            assert "[li".startswith(after.strip()[:3]) and after[:1] in ("", " "), [s.text for s in line[i:i + 3]]
    return text


def plain(value) -> str:
    return value.plain if isinstance(value, Text) else str(value)


async def test_queue_row_shows_hostile_title_and_customer_literally(app_as, evil):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.table
        key = str(evil["case"])
        assert key in table.keys()
        cells = table.cells(key)
        for column in ("title", "customer"):
            value = cells[column]
            assert isinstance(value, Text) and not value.spans, (column, value.spans)
            assert plain(value).startswith(clean(H, single_line=True)[:20])
        table.move_cursor(row=table.keys().index(key))
        await settle(pilot)
        assert_literal(app)


async def test_case_detail_shows_everything_literally_and_bounded(app_as, evil):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(evil["case"])
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaseScreen)
        text = assert_literal(app)
        assert HEAD in text
        await pilot.press("v")  # everything: the internal trail (the note) too
        await settle(pilot)
        # every text part of the case, drawn from bounded text: the million-character note is cut
        drawn = screen.thread.plain()
        assert "more characters not shown" in drawn
        assert len(drawn) < 100_000
        assert not [ch for ch in RAW if ch in drawn]
        assert drawn.count(clean(BLOCK)[:40]) >= 3  # the reply, the public comment, the escalation request
        body = drawn  # (the case's text comes first in the thread)
        assert "second line    tabbed\nthird \\x1b[5mblink" in body  # description: lines kept, tab expanded
        assert clean(H, single_line=True)[:60] in body  # the linked article's title
        # the screen still answers keys
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, CaseScreen)


async def test_escalation_review_shows_the_hostile_request_literally(app_as, evil):
    app = app_as("maria")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, EscalationsScreen)
        requests = review.query_one("#esc-requests")
        key = str(evil["case"])
        requests.move_cursor(row=requests.keys().index(key))
        await settle(pilot)
        text = assert_literal(app)
        assert clean(BLOCK.split("\n")[0])[:60] in text.replace("\n", "") or HEAD in text
        for value in requests.cells(key).values():
            assert not (isinstance(value, Text) and value.spans and "[" in value.plain)


async def test_surveys_pane_shows_the_hostile_comment_literally(app_as, evil):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SurveysScreen)
        flagged = screen.query_one("#survey-flagged")
        key = str(evil["closed"])
        assert key in flagged.keys()
        for value in flagged.cells(key).values():
            assert not [ch for ch in RAW if ch in plain(value)]
        assert any(plain(v).startswith(HEAD[:12]) for v in flagged.cells(key).values())
        flagged.move_cursor(row=flagged.keys().index(key))
        await settle(pilot)
        assert_literal(app)
