"""After close (issue 16): a customer reply to a closed case is announced in the console of the
case's last assignee, and only theirs, as it arrives; `F` on such a case opens the follow-up case
with the reply as its description (a clone, linked both ways) and the case's flag clears."""

from __future__ import annotations

from datetime import UTC

from tuidesk import recording, screen_text, settle, until

from deskconsole.domain.asking import CLOSED_REPLY_ATTENTION
from deskconsole.store.changes import Change
from deskconsole.tui.app import make_app
from deskconsole.tui.messages import DeskChanged
from deskconsole.tui.screens.case import CaseScreen

SIZE = (120, 40)
HOSTILE = "It [b]broke[/b] again \x1b[31mafter[/] the update:\nsame error, please call me back on Monday morning"


async def test_a_reply_after_close_is_announced_live_to_the_last_assignee_only(shared):
    svc, other, ids = shared
    closed = ids["closed7"]
    assert svc.get_case(closed).assignee == "alice"
    alice = make_app(svc, "alice", ticker=False, live=True, tz=UTC)
    told = recording(alice)
    async with alice.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: alice.watching and alice.replies_seen is not None)
        other.customer_reply(ids["vpn"], "a reply on an open case is not announced")
        other.customer_reply(closed, HOSTILE, channel="email")
        assert await until(pilot, lambda: any("closed case" in t for t in told))
        [notice] = [t for t in told if "closed case" in t]
        assert f"closed case {closed} (Password reset request 8)" in notice
        # the first words, literally (markup and escapes shown as text, one line)
        assert "It [b]broke[/b] again" in notice and "\x1b" not in notice and "\n" not in notice
        assert "press F" in notice
        marker = alice.marker
        other.add_note(ids["vpn"], "another change elsewhere", actor="maria")

        def looked_again() -> bool:
            return alice.marker > marker and not any(w.group == "after-close" and w.is_running
                                                     for w in alice.workers)

        assert await until(pilot, looked_again)
        assert len([t for t in told if "closed case" in t]) == 1  # told once


async def test_another_analysts_console_is_not_told(app_as, service, ids):
    bob = app_as("bob")
    told = recording(bob)
    async with bob.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert bob.replies_seen is not None
        service.customer_reply(ids["closed7"], "It broke again.")
        bob.post_message(DeskChanged(Change(frozenset({ids["closed7"]}))))  # as the watcher would
        await settle(pilot)
        assert bob.replies_seen is not None and bob.replies_seen > 0
        assert not any("closed case" in t for t in told)


async def test_f_opens_the_follow_up_case_with_the_reply_and_clears_the_flag(app_as, service, ids):
    closed = ids["closed7"]
    service.customer_reply(closed, HOSTILE, channel="email")
    assert service.get_case(closed).attention == CLOSED_REPLY_ATTENTION
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(closed)
        await settle(pilot)
        assert "F Follow-up" in screen_text(app)  # offered: closed, and the customer wrote since
        await pilot.press("F")
        assert await until(pilot, lambda: app.case_id != closed)
        await settle(pilot)
        follow = service.get_case(app.case_id)
        assert follow.status == "new" and follow.cloned_from == closed
        assert follow.description == HOSTILE
        screen = app.screen
        assert isinstance(screen, CaseScreen) and screen.case is not None and screen.case.id == follow.id
        assert "It [b]broke[/b] again" in screen_text(app)  # the reply is the new case's text, literally
        # the thread says where the case came from (an agent opened it: not "via ingest")
        assert f"the follow-up of a reply to case {closed}" in screen_text(app)
        assert "via ingest" not in screen_text(app)
        source = service.get_case(closed)
        assert source.attention is None and source.events[-1].kind == "cloned"
        assert source.events[-1].data["clone"] == follow.id

        app.open_case(closed)  # the flag is gone: no follow-up offered, and F does nothing
        await settle(pilot)
        assert "Follow-up" not in screen_text(app)
        cases = len(service.list_cases())
        await pilot.press("F")
        await settle(pilot)
        assert app.case_id == closed and len(service.list_cases()) == cases


async def test_f_is_not_offered_on_a_closed_case_nobody_wrote_to(app_as, service, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["closed6"])
        await settle(pilot)
        assert "Clone" in screen_text(app) and "Follow-up" not in screen_text(app)
        cases = len(service.list_cases())
        await pilot.press("F")
        await settle(pilot)
        assert len(service.list_cases()) == cases and app.case_id == ids["closed6"]
