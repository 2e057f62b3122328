"""Issue 16, after close: the follow-up case of a customer's reply to a closed case, and the
replies a console announces to the case's last assignee. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from deskconsole.domain.asking import CLOSED_REPLY_ATTENTION
from deskconsole.domain.errors import InvalidInput

REPLY = "It broke again after the update <b>[red]today[/red]</b>; same error as before."


def _closed_with_reply(desk):
    case = desk.case_in("closed", title="Login loops back to the start page", severity="high")
    desk.later(days=2)
    desk.svc.customer_reply(case.id, "Thanks, all good for now.")
    desk.later(hours=3)
    desk.svc.customer_reply(case.id, REPLY, channel="email")
    return desk.svc.get_case(case.id)


def test_follow_up_opens_a_linked_case_whose_description_is_the_reply(desk) -> None:
    case = _closed_with_reply(desk)
    assert case.attention == CLOSED_REPLY_ATTENTION
    desk.later(minutes=5)
    follow = desk.svc.follow_up(case.id, actor="alice")
    assert follow.id != case.id and follow.status == "new" and follow.cloned_from == case.id
    assert follow.description == REPLY  # the newest reply after close, literally
    assert (follow.title, follow.customer, follow.priority) == (case.title, case.customer, "P2")
    source = desk.svc.get_case(case.id)
    assert source.status == "closed" and source.attention is None
    linked = source.events[-1]
    assert linked.kind == "cloned" and linked.data["clone"] == follow.id
    assert linked.data["follow_up_of_reply"] == follow.events[0].data["follow_up_of_reply"]
    assert desk.svc.get_case(follow.id).events[0].body == REPLY


def test_clone_with_reply_is_the_same_call_and_a_plain_clone_keeps_the_description(desk) -> None:
    case = _closed_with_reply(desk)
    plain = desk.svc.clone(case.id, actor="alice")
    assert plain.description == case.description
    again = desk.svc.clone(case.id, actor="bob", with_reply=True)
    assert again.description == REPLY and again.cloned_from == case.id


def test_follow_up_without_a_reply_after_close_is_refused_and_changes_nothing(desk) -> None:
    case = desk.case_in("closed")
    before = desk.snapshot(case.id)
    cases = len(desk.svc.list_cases())
    with pytest.raises(InvalidInput, match=f"case {case.id} has no customer reply after close"):
        desk.svc.follow_up(case.id, actor="alice")
    assert desk.snapshot(case.id) == before
    assert len(desk.svc.list_cases()) == cases


def test_replies_after_close_reach_only_the_last_assignee_and_only_once(desk) -> None:
    case = desk.case_in("closed", title="Login loops back to the start page")
    owner = desk.svc.get_case(case.id).assignee
    other = "bob" if owner == "alice" else "alice"
    start, none = desk.svc.replies_after_close(owner)
    assert none == []
    open_case = desk.case_in("in_progress")
    desk.svc.customer_reply(open_case.id, "a reply on an open case is no alert")
    desk.svc.customer_reply(case.id, REPLY)
    mark, found = desk.svc.replies_after_close(owner, after=start)
    assert [(r.case, r.title, r.body) for r in found] == [(case.id, case.title, REPLY)]
    assert desk.svc.replies_after_close(other, after=start)[1] == []
    assert desk.svc.replies_after_close(owner, after=mark) == (mark, [])  # told once
