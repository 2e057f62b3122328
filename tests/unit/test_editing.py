"""Editing a case (Service.edit_case, tags) and splitting a message out (Service.split), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from test_mail_intake import World

from deskconsole.domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from deskconsole.store.models import CaseTag, InboundMessage


def test_each_field_changes_with_its_own_event_and_one_version_step(desk) -> None:
    svc = desk.svc
    case = desk.open("Invoice total is wrong", "acme", product_area="billing")
    desk.later(minutes=5)
    after = svc.edit_case(case.id, actor="alice", expected_version=case.version, title="Invoice 4711 total wrong",
                          contact="ann@acme.example", product_area="Login", severity="high", priority="P1")
    assert (after.title, after.contact, after.product_area, after.severity, after.priority) == (
        "Invoice 4711 total wrong", "ann@acme.example", "login", "high", "P1")
    assert after.version == case.version + 1
    assert after.last_actor == "alice" and after.last_change.startswith("changed the title, contact, product area")
    edits = {e.data["field"]: (e.data["from"], e.data["to"]) for e in after.events if e.kind == "edited"}
    assert edits == {"title": ("Invoice total is wrong", "Invoice 4711 total wrong"),
                     "contact": ("help@acme.example", "ann@acme.example"),
                     "product_area": ("billing", "login"), "severity": ("normal", "high")}
    assert [(e.data["from"], e.data["to"], e.actor) for e in after.events if e.kind == "priority_changed"] == [
        ("P3", "P1", "alice")]
    # the new title is what the case search finds
    assert [r.id for r in svc.list_cases(text="4711")] == [case.id]
    # an empty contact or area clears it
    cleared = svc.edit_case(case.id, actor="alice", contact="", product_area=" ")
    assert (cleared.contact, cleared.product_area) == (None, None)


def test_an_edit_is_refused_whole_when_stale_closed_not_allowed_or_a_no_op(desk) -> None:
    svc = desk.svc
    case = desk.open()
    before = desk.snapshot(case.id)
    with pytest.raises(Conflict, match="changed since you read it"):
        svc.edit_case(case.id, actor="alice", expected_version=case.version - 1, title="New")
    with pytest.raises(InvalidInput, match="nothing to change"):
        svc.edit_case(case.id, actor="alice", title=case.title, priority=case.priority)
    with pytest.raises(InvalidInput, match="title"):
        svc.edit_case(case.id, actor="alice", title="   ")
    with pytest.raises(InvalidInput, match="priority"):
        svc.edit_case(case.id, actor="alice", priority="P9")
    with pytest.raises(InvalidInput, match="tag 'bad!': a tag is one word"):
        svc.edit_case(case.id, actor="alice", add_tags=["ok", "bad!"])
    with pytest.raises(InvalidInput, match="both added and removed"):
        svc.edit_case(case.id, actor="alice", add_tags=["x"], remove_tags=["x"])
    assert desk.snapshot(case.id) == before and svc.get_case(case.id).tags == []
    svc.close(case.id, reason="withdrawn", actor="alice")
    with pytest.raises(InvalidTransition, match="is closed: cannot edit it"):
        svc.edit_case(case.id, actor="alice", title="Later")


def test_supervisors_edit_and_unknown_people_do_not(desk) -> None:
    case = desk.open()
    assert desk.svc.edit_case(case.id, actor="sue", priority="P2").priority == "P2"
    with pytest.raises(NotFound):
        desk.svc.edit_case(case.id, actor="zed", priority="P1")


def test_tags_are_added_removed_shown_and_filtered(desk) -> None:
    svc = desk.svc
    one, two = desk.open("Invoice total is wrong"), desk.open("Export fails", "globex")
    tagged = svc.tag_case(one.id, add=["VIP", "billing,month-end"], actor="alice")
    assert tagged.tags == ["billing", "month-end", "vip"] and tagged.version == one.version + 1
    assert [e.data["added"] for e in tagged.events if e.kind == "tagged"] == [["billing", "month-end", "vip"]]
    svc.tag_case(two.id, add=["vip"], actor="bob")
    assert [r.id for r in svc.list_cases(filter="tag:vip")] == [one.id, two.id]
    assert svc.count_cases("tag:month-end") == 1
    untagged = svc.tag_case(one.id, remove=["vip", "never-had"], actor="alice")
    assert untagged.tags == ["billing", "month-end"]
    assert [r.id for r in svc.list_cases(filter="tag:vip")] == [two.id]
    assert svc.get_case(one.id).to_json()["tags"] == ["billing", "month-end"]
    from sqlmodel import Session, select

    with Session(svc.engine) as s:
        rows = {(t.case_id, t.tag) for t in s.exec(select(CaseTag))}
    assert rows == {
        (one.id, "billing"), (one.id, "month-end"), (two.id, "vip")}
    # removing only tags the case lacks changes nothing: refused
    with pytest.raises(InvalidInput, match="nothing to change"):
        svc.tag_case(one.id, remove=["vip"], actor="alice")
    with pytest.raises(InvalidInput, match="at most 20"):
        svc.tag_case(one.id, add=[f"t{n}" for n in range(19)], actor="alice")


def _mail_case(world: World) -> tuple[int, int, int]:
    """A case opened by mail, with a second mail threaded onto it: (case, the reply's event, its inbound row)."""
    first = world.receive(world.mail("Login fails since this morning", message_id="<a1@initech.example>"))
    second = world.receive(world.mail("Also: our invoice 4711 is wrong", subject="Re: Login fails",
                                      message_id="<a2@initech.example>",
                                      headers="In-Reply-To: <a1@initech.example>\r\n"))
    assert first.outcome == "opened" and (second.outcome, second.case) == ("replied", first.case)
    event = [e for e in world.svc.get_case(first.case).events if e.kind == "customer_replied"][-1]
    return first.case, event.id, event.data["inbound"]


def test_a_split_message_becomes_a_case_and_its_mail_thread_follows(db_url) -> None:
    world = World(db_url)
    try:
        svc = world.svc
        case_id, event_id, inbound = _mail_case(world)
        source = svc.get_case(case_id)
        new = svc.split(case_id, event_id, actor="alice", expected_version=source.version)
        assert new.id != case_id and new.status == "new"
        assert new.description.startswith("Also: our invoice 4711 is wrong")
        assert (new.customer, new.contact) == (source.customer, source.contact)
        # (the subject is the old case's: the message's first words are the title)
        assert new.title == "Also: our invoice 4711 is wrong" and new.split_from == case_id
        after = svc.get_case(case_id)
        assert after.split_into == [new.id] and after.version == source.version + 1
        assert [e.data["into"] for e in after.events if e.kind == "split_into"] == [new.id]
        # the message stays on the old case's timeline (append-only), its mail row moves
        assert event_id in [e.id for e in after.events]
        from sqlmodel import Session

        with Session(world.engine) as s:
            assert s.get(InboundMessage, inbound).case_id == new.id
        # the customer's answer to the split mail threads to the new case
        reply = world.receive(world.mail("Invoice 4711 is still wrong", subject="Re: Login fails",
                                         headers="In-Reply-To: <a2@initech.example>\r\n"))
        assert (reply.outcome, reply.case) == ("replied", new.id)
        # ...and an answer to the first mail stays on the old case
        other = world.receive(world.mail("Login works again", subject="Re: Login fails",
                                         headers="In-Reply-To: <a1@initech.example>\r\n"))
        assert other.case == case_id
        # a message is split out once
        with pytest.raises(InvalidInput, match=f"split out already, into case {new.id}"):
            svc.split(case_id, event_id, actor="alice")
    finally:
        world.engine.dispose()


def test_split_refusals_change_nothing(db_url) -> None:
    world = World(db_url)
    try:
        svc = world.svc
        case_id, event_id, _ = _mail_case(world)
        svc.add_agent("sue", "supervisor", actor="mona")
        opened = [e for e in svc.get_case(case_id).events if e.kind == "opened"][0]
        before = svc.get_case(case_id)
        cases = len(svc.list_cases())
        with pytest.raises(InvalidInput, match="only a customer's message"):
            svc.split(case_id, opened.id, actor="alice")
        with pytest.raises(NotFound, match=f"case {case_id} has no event 999999"):
            svc.split(case_id, 999999, actor="alice")
        with pytest.raises(PermissionDenied, match="only an analyst or manager may split"):
            svc.split(case_id, event_id, actor="sue")
        with pytest.raises(Conflict):
            svc.split(case_id, event_id, actor="alice", expected_version=before.version - 1)
        after = svc.get_case(case_id)
        assert (after.version, len(after.events), after.split_into) == (before.version, len(before.events), [])
        assert len(svc.list_cases()) == cases
    finally:
        world.engine.dispose()


def test_open_case_takes_a_priority_other_than_the_severitys(desk) -> None:
    case, _ = desk.svc.open_case("Phone: printer down", "acme", severity="low", priority="P1", actor="alice")
    assert (case.severity, case.priority) == ("low", "P1")
    with pytest.raises(InvalidInput, match="priority"):
        desk.svc.open_case("x", "acme", priority="urgent", actor="alice")
