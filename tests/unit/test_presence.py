"""Presence (service/presence.py): who else has a case open or is typing in it, on both databases.

Heartbeats carry the service's (injected) clock: a beat older than domain.presence.TTL counts as
gone without anyone waiting for it; leaving a case removes the row at once."""

from __future__ import annotations

import pytest

from deskconsole.domain.errors import InvalidInput, NotFound
from deskconsole.domain.presence import TTL, TYPING, VIEWING, Presence, describe, mark


def _who(rows: list[Presence]) -> list[tuple[str, str]]:
    return [(p.agent, p.state) for p in rows]


def test_two_agents_at_one_case_see_each_other_and_not_themselves(desk) -> None:
    svc = desk.svc
    case = desk.open().id
    assert svc.presence_beat(case, actor="alice") == []  # alone at the case
    assert _who(svc.presence_beat(case, actor="bob")) == [("alice", VIEWING)]
    assert _who(svc.presence_beat(case, actor="alice", state=TYPING)) == [("bob", VIEWING)]
    seen = svc.presence_beat(case, actor="bob")
    assert _who(seen) == [("alice", TYPING)]
    assert describe(seen) == "alice is typing a reply"
    # the queue's read: one case's marks, the reader left out
    other = desk.open(title="Second case").id
    marks = svc.presence_at([case, other], actor="alice")
    assert {cid: _who(rows) for cid, rows in marks.items()} == {case: [("bob", VIEWING)]}
    assert mark(marks[case]) == "◉"
    assert mark(svc.presence_at([case], actor="bob")[case]) == "✎"


def test_leaving_removes_the_row_at_once_and_a_silent_console_is_gone_after_the_ttl(desk) -> None:
    svc = desk.svc
    case, other = desk.open().id, desk.open(title="Another").id
    svc.presence_beat(case, actor="alice")
    svc.presence_beat(case, actor="bob")
    svc.presence_leave(case, actor="bob")
    assert svc.presence_beat(case, actor="alice") == []
    # bob opens the other case: the beat that moves him there removes his row at the first one
    svc.presence_beat(case, actor="bob")
    svc.presence_beat(other, actor="bob", left=case)
    assert svc.presence_at([case, other], actor="alice").keys() == {other}
    # bob's console stops beating (crashed): still there just inside the TTL, gone after it
    desk.later(seconds=TTL.total_seconds() - 1)
    assert svc.presence_at([other], actor="alice").keys() == {other}
    desk.later(seconds=2)
    assert svc.presence_at([other], actor="alice") == {}
    # and beating again brings him back
    svc.presence_beat(other, actor="bob")
    assert _who(svc.presence_at([other], actor="alice")[other]) == [("bob", VIEWING)]


def test_several_people_are_named_typing_first(desk) -> None:
    svc = desk.svc
    case = desk.open().id
    svc.presence_beat(case, actor="mona")
    svc.presence_beat(case, actor="bob", state=TYPING)
    seen = svc.presence_beat(case, actor="sue")
    assert _who(seen) == [("bob", TYPING), ("mona", VIEWING)]
    assert describe(seen) == "bob is typing a reply · mona is viewing"
    svc.presence_beat(case, actor="alice")
    assert describe(svc.presence_at([case], actor="bob")[case]) == "alice, mona and sue are viewing"


def test_bad_beats_are_refused_and_write_nothing(desk) -> None:
    svc = desk.svc
    case = desk.open().id
    with pytest.raises(NotFound, match="unknown case 999"):
        svc.presence_beat(999, actor="alice")
    with pytest.raises(NotFound, match="unknown agent 'nobody'"):
        svc.presence_beat(case, actor="nobody")
    with pytest.raises(ValueError, match="presence state 'dancing'"):
        svc.presence_beat(case, actor="alice", state="dancing")
    with pytest.raises(InvalidInput, match="whole number"):
        svc.presence_at(["1"], actor="alice")  # type: ignore[list-item]
    assert svc.presence_at([case], actor="sue") == {}


def test_the_reads_walk_indexes_not_tables(empty_sqlite_url) -> None:
    """Presence's read and the customer context's (SQLite's plan): the presence primary key and
    the case table's (customer, status, id) index, never a scan of a table."""
    from sqlalchemy import text

    from deskconsole.store.engine import init_schema, make_engine

    engine = make_engine(empty_sqlite_url)
    init_schema(engine)
    try:
        with engine.connect() as conn:
            def plan(sql: str) -> str:
                return " | ".join(r[-1] for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)).all())

            presence = plan("SELECT case_id, agent, state, beat FROM presence WHERE case_id IN (1, 2, 3) "
                            "AND beat >= '2026-01-01'")
            assert "USING INDEX sqlite_autoindex_presence_1 (case_id=?)" in presence, presence
            customer = plan("SELECT id FROM \"case\" WHERE customer = 'acme' AND status IN ('new', 'pending') "
                            "ORDER BY id DESC LIMIT 50")
            assert "ix_case_customer_status (customer=? AND status=?)" in customer, customer
            for shown in (presence, customer):
                assert "SCAN" not in shown.replace("SCAN CONSTANT ROW", ""), shown
    finally:
        engine.dispose()
