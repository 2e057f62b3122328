"""Presence in the console (tui/presence.py), on both databases: the case header says who else is
at the case ("bob is typing a reply"), the queue marks the rows someone else has open, and this
console's own heartbeat tells the others where its user is. The other person is a second service
on the same database (as their console would write); beats are driven by hand (the ticker is off)."""

from __future__ import annotations

from datetime import UTC

from tuidesk import screen_text, settle, until

from deskconsole.domain.presence import TTL, TYPING, VIEWING
from deskconsole.service import Service
from deskconsole.tui.app import make_app

SIZE = (120, 40)


def _at(other: Service, case: int) -> list[tuple[str, str]]:
    return [(p.agent, p.state) for p in other.presence_at([case], actor="bob").get(case, [])]


async def test_the_case_header_says_who_else_is_there_and_they_see_you(shared, clock):
    svc, bob, ids = shared
    vat = ids["vat"]
    app = make_app(svc, "alice", ticker=False, tz=UTC)
    async with app.run_test(size=SIZE) as pilot:
        bob.presence_beat(vat, actor="bob", state=TYPING)
        app.open_case(vat)
        assert await until(pilot, lambda: "Invoice shows wrong VAT" in screen_text(app))
        await settle(pilot)
        head = screen_text(app).splitlines()[1:4]
        assert any("bob is typing a reply" in line for line in head), head
        assert _at(bob, vat) == [("alice", VIEWING)]  # alice's console beat when the case opened

        bob.presence_beat(vat, actor="bob", state=VIEWING)
        app.presence.tick()
        await settle(pilot)
        assert "bob is viewing" in screen_text(app) and "typing" not in screen_text(app)

        bob.presence_leave(vat, actor="bob")
        app.presence.tick()
        await settle(pilot)
        assert "bob is" not in screen_text(app)

        await pilot.press("escape")  # back to the queue: alice has left the case
        await settle(pilot)
        assert _at(bob, vat) == []


async def test_typing_a_reply_shows_as_typing_and_closing_the_composer_as_viewing(shared):
    svc, bob, ids = shared
    vat = ids["vat"]
    app = make_app(svc, "alice", ticker=False, tz=UTC)
    async with app.run_test(size=SIZE) as pilot:
        app.open_case(vat)
        assert await until(pilot, lambda: "Invoice shows wrong VAT" in screen_text(app))
        await settle(pilot)
        await pilot.press("c")  # the composer, in reply mode
        await settle(pilot)
        assert _at(bob, vat) == [("alice", VIEWING)]  # opening it is not typing yet
        await pilot.press("H", "i")
        await settle(pilot)
        assert _at(bob, vat) == [("alice", TYPING)]
        await pilot.press("ctrl+t")  # an internal note: no longer a reply the customer gets
        await settle(pilot)
        assert _at(bob, vat) == [("alice", VIEWING)]
        await pilot.press("ctrl+t", "escape")  # a reply again, then closed (the draft kept)
        await settle(pilot)
        assert _at(bob, vat) == [("alice", VIEWING)]


async def test_the_queue_marks_the_rows_others_have_open_until_they_go_stale(shared, clock):
    svc, bob, ids = shared
    app = make_app(svc, "sam", ticker=False, tz=UTC)
    async with app.run_test(size=SIZE) as pilot:
        storage, vpn = str(ids["storage"]), str(ids["vpn"])
        assert await until(pilot, lambda: storage in app.screen.rows and vpn in app.screen.rows)
        table = app.screen.table

        def title(key: str) -> str:
            return str(table.get_cell(key, "title"))

        assert not title(storage).startswith(("◉", "✎"))
        bob.presence_beat(ids["storage"], actor="bob")
        bob.presence_beat(ids["vpn"], actor="bob", state=TYPING)
        app.presence.tick()
        await settle(pilot)
        assert title(storage) == "◉ ⚑ Storage array degraded"  # (before the attention flag)
        assert title(vpn) == "✎ VPN drops every 10 minutes"
        assert "◉ ⚑ Storage array degrad" in screen_text(app)  # (the title column is 24 wide at 120)

        clock.advance(TTL)  # bob's console went quiet (it crashed): his marks go once stale
        clock.advance(seconds=1)
        app.presence.tick()
        await settle(pilot)
        assert title(storage) == "⚑ Storage array degraded" and title(vpn) == "VPN drops every 10 minutes"
