"""Merging a duplicate case into another (Service.merge, `case merge`), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from test_mail_intake import World
from test_pg_identity import Team, logins, ok, opened, refused  # noqa: F401 - fixtures
from test_pg_identity import cli as cli
from test_pg_identity import team as team

from deskconsole.domain.errors import InvalidInput, InvalidTransition, PermissionDenied
from deskconsole.store.models import InboundMessage, Outbox, Survey, Timer


def conversation(desk, case_id: int) -> list[tuple[str, str, str | None]]:
    return [(e.kind, e.actor, e.body) for e in desk.svc.get_case(case_id).events
            if e.kind in ("customer_replied", "comment", "note")]


@pytest.fixture
def pair(desk):
    """Two cases of Acme about the same invoice, both alice's: a duplicate with a conversation, and the one kept."""
    svc = desk.svc
    kept = desk.open("Invoice total is wrong", "acme", product_area="login")  # (alice's skill alone)
    desk.later(hours=1)
    dup = desk.open("Invoice total wrong again", "acme", product_area="login", ref="portal-77")
    svc.move(dup.id, "pending", sub_status="customer_input", note="Which invoice number?", actor="alice")
    desk.later(hours=1)
    svc.customer_reply(dup.id, "It is invoice 4711.")
    svc.add_note(dup.id, "Same as the other case.", actor="alice")
    svc.add_note(dup.id, "We are looking at it.", actor="alice", internal=False)
    return kept, svc.get_case(dup.id)


def test_the_conversation_goes_to_the_target_and_the_source_closes_quietly(desk, pair) -> None:
    kept, dup = pair
    svc = desk.svc
    before = conversation(desk, dup.id)
    assert [k for k, _, _ in before] == ["customer_replied", "note", "comment"]
    surveys, outbox = len(desk.rows(Survey)), len(desk.rows(Outbox))
    desk.later(minutes=5)
    target = svc.merge(dup.id, kept.id, actor="alice")

    assert target.id == kept.id and target.merged_from == [dup.id] and target.status == "new"
    assert conversation(desk, kept.id) == before  # each as it was: kind, author, words
    copies = [e for e in target.events if e.kind in ("customer_replied", "note", "comment")]
    originals = [e for e in svc.get_case(dup.id).events if e.kind in ("customer_replied", "note", "comment")]
    assert [c.at for c in copies] == [o.at for o in originals]
    assert all(c.data["merged_from"] == dup.id for c in copies)
    linked = [e for e in target.events if e.kind == "merged_from"]
    assert len(linked) == 1 and linked[0].data["from"] == dup.id and linked[0].data["ref"] == "portal-77"
    assert linked[0].data["events"] == 3

    source = svc.get_case(dup.id)
    assert source.status == "closed" and source.close_reason == f"merged into {kept.id}"
    assert source.merged_into == kept.id
    assert [e.data["into"] for e in source.events if e.kind == "merged_into"] == [kept.id]
    assert source.timers == [] and source.survey is None
    # no survey, no follow-up: nothing more is sent to the customer for a merge
    assert len(desk.rows(Survey)) == surveys and len(desk.rows(Outbox)) == outbox
    assert desk.rows(Timer, case_id=dup.id, state="pending") == []


def test_later_replies_confirmations_and_the_ref_land_on_the_target(desk, pair) -> None:
    kept, dup = pair
    svc = desk.svc
    svc.merge(dup.id, kept.id, actor="alice")
    case, notice = svc.customer_reply(dup.id, "Any news on invoice 4711?")
    assert case.id == kept.id and notice is None
    assert conversation(desk, kept.id)[-1] == ("customer_replied", "customer:acme", "Any news on invoice 4711?")
    again, created = svc.open_case("Invoice total wrong again", "acme", ref="portal-77")
    assert (again.id, created) == (kept.id, False)
    svc.move(kept.id, "in_progress", actor="alice")
    svc.move(kept.id, "awaiting_confirmation", note="Credit note issued.", actor="alice")
    assert svc.customer_confirm(dup.id).id == kept.id
    assert svc.get_case(kept.id).status == "closed"


def test_refusals_name_the_reason_and_change_nothing(desk) -> None:
    svc = desk.svc
    a = desk.open("Invoice total is wrong", "acme")
    b = desk.open("Invoice wrong", "acme")
    other = desk.open("Invoice wrong", "globex")
    bobs = desk.open("Invoice wrong", "acme", product_area="billing")
    svc.assign(bobs.id, "bob", actor="mona")
    closed = desk.case_in("closed", customer="acme")
    escalated = desk.open("Invoice wrong", "acme")
    svc.request_escalation(escalated.id, reason="Month end", actor="alice")
    cases = [a, b, other, bobs, closed, escalated]
    before = {c.id: desk.snapshot(c.id) for c in cases}

    for source, target, actor, error, words in [
        (a, a, "alice", InvalidInput, "cannot be merged into itself"),
        (closed, a, "alice", InvalidTransition, f"case {closed.id} is closed"),
        (a, closed, "alice", InvalidTransition, f"case {closed.id} is closed"),
        (other, a, "mona", InvalidInput, "merging across customers needs --force"),
        (bobs, a, "alice", PermissionDenied, f"case {bobs.id} is assigned to someone else"),
        (escalated, a, "mona", InvalidTransition, "open escalation"),
    ]:
        with pytest.raises(error, match=words):
            svc.merge(source.id, target.id, actor=actor)
    assert {c.id: desk.snapshot(c.id) for c in cases} == before

    # confirmed across customers; a manager merges anyone's
    assert svc.merge(other.id, a.id, actor="mona", force=True).merged_from == [other.id]
    assert [e.data.get("forced") for e in svc.get_case(a.id).events if e.kind == "merged_from"] == [True]
    assert svc.merge(bobs.id, b.id, actor="sue").merged_from == [bobs.id]


def test_a_stale_version_refuses_the_merge(desk, pair) -> None:
    kept, dup = pair
    from deskconsole.domain.errors import Conflict

    before = desk.snapshot(dup.id)
    with pytest.raises(Conflict, match="changed since you read it"):
        desk.svc.merge(dup.id, kept.id, actor="alice", source_version=dup.version - 1)
    assert desk.snapshot(dup.id) == before


def test_mail_of_the_merged_case_threads_to_the_target(db_url) -> None:
    world = World(db_url)
    try:
        first = world.receive(world.mail("Login fails since this morning", message_id="<a1@initech.example>"))
        second = world.receive(world.mail("Cannot log in", subject="No login", message_id="<b1@initech.example>"))
        assert first.outcome == second.outcome == "opened" and first.case != second.case
        world.svc.merge(first.case, second.case, actor="alice")
        assert {m.case_id for m in _inbound(world)} == {second.case}
        # a reply in the first thread (by References to its message) goes to the case kept
        reply = world.receive(world.mail("Still broken", subject="Re: Login fails",
                                         headers="In-Reply-To: <a1@initech.example>\r\n"
                                                 "References: <a1@initech.example>\r\n"))
        assert (reply.outcome, reply.case) == ("replied", second.case)
        words = [e.body for e in world.events(second.case) if e.kind == "customer_replied"]
        assert "Still broken" in words[-1]
    finally:
        world.engine.dispose()


def _inbound(world: World) -> list[InboundMessage]:
    from sqlmodel import Session, select

    with Session(world.engine) as s:
        return list(s.exec(select(InboundMessage)).all())


def test_a_reply_to_the_desks_mail_about_the_merged_case_lands_on_the_target(db_url) -> None:
    world = World(db_url)
    try:
        svc = world.svc
        source, _ = svc.open_case("Login fails", "initech", contact="ann@initech.example", product_area="login")
        target, _ = svc.open_case("Cannot log in", "initech", contact="ann@initech.example", product_area="login")
        svc.add_note(source.id, "Which browser do you use?", actor="alice", internal=False)
        sent = world.deliver()
        svc.merge(source.id, target.id, actor="alice")
        reply = world.receive(world.mail("Firefox", subject=f"Re: [case {source.id}] Login fails",
                                         headers=f"In-Reply-To: {sent['comment']}\r\n"))
        assert (reply.outcome, reply.case) == ("replied", target.id)
        assert [e.body for e in world.events(target.id) if e.kind == "customer_replied"][-1].startswith("Firefox")
    finally:
        world.engine.dispose()


def test_merge_under_real_logins(team: Team, cli) -> None:
    kept = opened(cli, team.alice)
    dup = opened(cli, team.alice, title="Invoices fail to export again")
    ok(cli("case", "note", str(dup), "Same as the first", login=team.alice))
    run = ok(cli("case", "merge", str(dup), "--into", str(kept), "--json", login=team.alice))
    assert run.json()["merged_from"] == [dup]
    shown = ok(cli("case", "show", str(dup), "--json", login=team.alice)).json()
    assert shown["status"] == "closed" and shown["merged_into"] == kept
    with team.sql() as conn:
        logins_seen = {row[0] for row in conn.execute("SELECT login FROM event WHERE case_id IN (%s, %s)",
                                                       (kept, dup)).fetchall()}
    assert logins_seen == {team.alice}
    third = opened(cli, team.helen, title="Export broken")
    refused(cli("case", "merge", str(third), "--into", str(dup), login=team.alice), "is closed")

