"""The console's keystroke windows (issue 18): on PostgreSQL a window asked for by the typing (a
`newest` Superseding) is read outside a transaction, with no BEGIN and COMMIT round trips; it shows
the same cases as any other read, sees a change committed meanwhile, and leaves the pooled
connection transactional for the next action."""

from __future__ import annotations

from deskconsole.service import Close
from deskconsole.store.window import Superseding


def test_a_keystroke_window_shows_what_any_read_shows_and_sees_a_change_made_meanwhile(desk) -> None:
    cases = [desk.case_in("in_progress", title=f"Invoice export {i}") for i in range(3)]
    typing = Superseding()
    plain = desk.svc.list_cases(view="all", actor="alice", text="invoice", limit=10)
    typed = desk.svc.list_cases(view="all", actor="alice", text="invoice", limit=10, newest=typing)
    assert [r.id for r in typed] == [r.id for r in plain] == [c.id for c in cases]
    desk.svc.close(cases[1].id, reason="duplicate", actor="alice")
    again = desk.svc.list_cases(view="all", actor="alice", text="invoice", limit=10, newest=typing)
    assert [r.status for r in again] == ["in_progress", "closed", "in_progress"]
    filtered = desk.svc.list_cases(view="all", actor="alice", filter="status:closed", text="invoice", limit=10,
                                   newest=typing)
    assert [r.id for r in filtered] == [cases[1].id]


def test_after_a_keystroke_window_a_refused_action_still_leaves_nothing_behind(desk) -> None:
    case = desk.case_in("in_progress")
    shown = case.version
    desk.svc.list_cases(view="all", actor="alice", limit=10, newest=Superseding())
    desk.svc.add_note(case.id, "changed underneath", actor="bob")
    before = desk.snapshot(case.id)
    # the connection the window was read on is back in the pool, transactional again: an action
    # refused halfway (its version stale) is rolled back whole, whichever connection it gets
    engine = desk.svc.engine
    held = [engine.raw_connection() for _ in range(5)]
    try:
        if engine.dialect.name == "postgresql":
            assert not any(c.driver_connection.autocommit for c in held)
    finally:
        for c in held:
            c.close()
    outcomes = desk.svc.apply_many([case.id], Close(reason="withdrawn"), actor="alice", versions={case.id: shown})
    assert not outcomes[0].done
    assert desk.snapshot(case.id) == before

