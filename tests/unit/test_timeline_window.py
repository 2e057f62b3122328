"""Service.case_events: a case's timeline in windows, newest first, on both databases."""

from __future__ import annotations

import pytest

from deskconsole.domain.errors import InvalidInput, NotFound


def test_pages_cover_the_timeline_in_order_without_gaps_or_repeats(desk):
    svc = desk.svc
    case = desk.open("A long timeline")
    other = desk.open("Another case")
    for i in range(1, 53):
        svc.add_note(case.id, f"note {i}", actor="alice")
        if i % 10 == 0:
            svc.add_note(other.id, f"elsewhere {i}", actor="alice")  # other cases' events interleave
    whole = svc.get_case(case.id).events
    assert len(whole) > 52

    pages, before = [], None
    while True:
        window = svc.case_events(case.id, before_id=before, limit=10)
        assert window.case == case.id
        assert [e.id for e in window.events] == sorted(e.id for e in window.events)  # oldest first
        pages.append(window)
        if not window.earlier:
            break
        before = window.events[0].id
    seen = [e.id for page in reversed(pages) for e in page.events]
    assert seen == [e.id for e in whole]  # every event once, in order, nothing of the other case
    assert [len(p.events) for p in pages[:-1]] == [10] * (len(pages) - 1)
    assert [p.earlier for p in pages] == [len(whole) - 10 * (n + 1) for n in range(len(pages) - 1)] + [0]
    newest = svc.case_events(case.id)
    assert [e.body for e in newest.events][-1] == "note 52" and newest.earlier == 0
    assert len(newest.events) == len(whole)


def test_a_case_view_without_its_timeline(desk):
    svc = desk.svc
    case = desk.open("Quiet case")
    svc.add_note(case.id, "hello", actor="alice")
    assert svc.get_case(case.id, events=False).events == []
    assert [e.body for e in svc.get_case(case.id).events][-1] == "hello"  # the whole timeline, as before
    lean = svc.without_timelines()
    assert lean.add_note(case.id, "again", actor="alice").events == []
    assert [e.body for e in svc.get_case(case.id).events][-2:] == ["hello", "again"]


def test_bad_windows_are_refused(desk):
    svc = desk.svc
    case = desk.open("Case")
    for limit in (0, -1, 10_000, "5", True):
        with pytest.raises(InvalidInput):
            svc.case_events(case.id, limit=limit)
    with pytest.raises(InvalidInput):
        svc.case_events(case.id, before_id="7")
    with pytest.raises(NotFound):
        svc.case_events(case.id + 1000)
    assert svc.case_events(case.id, before_id=1).events == []


def test_the_conversation_window_keeps_what_passed_between_customer_and_desk(desk):
    svc = desk.svc
    case = desk.open("Printer jams")
    svc.add_note(case.id, "internal: looks like the fuser", actor="alice")
    svc.add_note(case.id, "Could you send a photo of the jam?", actor="alice", internal=False)
    for i in range(30):
        svc.add_note(case.id, f"trail {i}", actor="alice")  # internal trail between the messages
    svc.customer_reply(case.id, "Photo attached.")
    svc.move(case.id, "pending", actor="alice", sub_status="customer_input", note="Which tray jams?")
    svc.customer_reply(case.id, "Tray 2.")
    svc.move(case.id, "in_progress", actor="alice")
    svc.move(case.id, "awaiting_confirmation", actor="alice", note="Replace the tray 2 roller.")
    window = svc.case_events(case.id, conversation=True, limit=3)
    assert [(e.kind, e.body) for e in window.events] == [
        ("status_changed", "Which tray jams?"), ("customer_replied", "Tray 2."),
        ("status_changed", "Replace the tray 2 roller."),
    ]
    assert window.earlier == 3  # opened, the comment, the first reply
    earlier = svc.case_events(case.id, conversation=True, before_id=window.events[0].id, limit=10)
    assert [e.kind for e in earlier.events] == ["opened", "comment", "customer_replied"] and earlier.earlier == 0
    assert "trail 3" in [e.body for e in svc.case_events(case.id, limit=100).events]  # everything, as before
