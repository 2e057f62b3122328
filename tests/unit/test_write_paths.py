"""The server-sized write paths: tick fires a chunk of timers set-based on both databases, with the
same rows on each, and the consoles hear which cases changed."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from deskconsole.domain.clock import to_utc
from deskconsole.store.models import Case, Event, Outbox, Timer

DAY = timedelta(days=1)


def _what_the_tick_wrote(desk) -> dict:
    events = desk.rows(Event, kind="timer_fired")
    return {
        "events": sorted((e.case_id, json.loads(e.data)["timer"], to_utc(e.at).isoformat()) for e in events),
        "outbox": sorted((o.case_id, o.kind, o.subject) for o in desk.rows(Outbox) if o.kind != "notice"),
        "timers": Counter((t.kind, t.state) for t in desk.rows(Timer)),
        "cases": sorted((c.id, c.status, c.attention, c.last_change) for c in desk.rows(Case)),
    }


def test_a_tick_fires_a_mixed_chunk_as_the_life_cycle_says(desk, db_url) -> None:
    """Reminders, auto-closes and follow-ups of 60 cases due in one tick (more than fit one PostgreSQL
    transaction's chunk on some of them): each timer fires once, in due order, with its message."""
    waiting = [desk.case_in("pending", "customer_input").id for _ in range(40)]
    confirming = [desk.case_in("awaiting_confirmation").id for _ in range(20)]
    desk.clock.advance(28 * DAY + timedelta(hours=1))
    fired = desk.svc.tick()
    kinds = Counter(f.timer for f in fired)
    # every waiting case: its reminder (day 7) then its auto-close (day 28); every confirming case its auto-close
    # (day 14); the auto-closes of days 14 and 28 start follow-ups a day later: those of day 14 are due too
    assert kinds == {"reminder": 40, "auto_close": 60, "followup": 20}
    assert len({(f.case, f.timer, f.due) for f in fired}) == len(fired), "a timer fired twice"
    wrote = _what_the_tick_wrote(desk)
    assert wrote["timers"][("reminder", "fired")] == 40 and wrote["timers"][("followup", "fired")] == 20
    reminders = [o for o in wrote["outbox"] if o[1] == "reminder"]
    assert sorted(case for case, _, _ in reminders) == sorted(waiting)
    assert all(subject == f"[case {case}] We are waiting for your answer" for case, _, subject in reminders)
    assert sorted(case for case, kind, _ in wrote["outbox"] if kind == "followup") == sorted(confirming)
    assert {status for _, status, _, _ in wrote["cases"]} == {"closed"}
    assert desk.svc.tick() == [], "nothing left to fire"


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_tick_on_postgres_names_the_cases_it_changed(desk, db_url) -> None:
    """The consoles LISTEN: a tick's notice names the cases whose reminders fired (not 'everything'),
    so a console re-reads only when a case it shows changed."""
    cases = {desk.case_in("pending", "customer_input").id for _ in range(3)}
    watcher = desk.svc.watch()
    try:
        while watcher.wait(0.5) is not None:  # what the setup wrote
            pass
        desk.clock.advance(7 * DAY + timedelta(hours=1))
        assert {f.case for f in desk.svc.tick()} == cases
        heard: set[int] = set()
        for _ in range(3):
            change = watcher.wait(5.0)
            if change is None:
                break
            assert change.cases is not None, "the tick's notice names its cases"
            heard |= change.cases
            if heard >= cases:
                break
        assert heard == cases
    finally:
        watcher.close()


# ---------------------------------------------------------------------- ingest
def _ingest(desk, *lines: str) -> tuple[int, list[dict]]:
    import io

    from deskconsole.ingest import ingest_stream

    class Out:
        def __init__(self) -> None:
            self.out, self.err, self.lines = io.StringIO(), io.StringIO(), []

        def json(self, value: dict, *, flush: bool = False) -> None:
            self.lines.append(value)

    out = Out()
    status = ingest_stream(desk.svc, io.BytesIO("".join(line + "\n" for line in lines).encode()), out)
    return status, out.lines


def test_bad_lines_among_good_ones_leave_the_good_ones_whole_and_case_ids_without_gaps(desk) -> None:
    """Lines are applied several to a transaction without a savepoint each: a line refused before it
    wrote anything (unknown case, bad JSON, a missing field) is answered alone and its neighbours are
    kept as they are; the cases opened around it get consecutive ids (on PostgreSQL a rolled-back
    batch would have used up ids)."""
    before = desk.open(title="Already here")
    opened = json.dumps({"type": "case.opened", "title": "Export drops accents", "customer": "globex"})
    status, results = _ingest(
        desk,
        opened, opened,
        json.dumps({"type": "customer.replied", "case": 999_999, "body": "Unknown case."}),
        opened,
        "{not json",
        json.dumps({"type": "case.opened", "customer": "globex"}),
        opened,
        json.dumps({"type": "customer.replied", "case": before.id, "body": "Any news?"}),
    )
    assert status == 1
    assert [r["ok"] for r in results] == [True, True, False, True, False, False, True, True]
    ids = [r["case"] for r in results if r["ok"] and r["case"] != before.id]
    assert ids == list(range(before.id + 1, before.id + 5)), "consecutive case ids"
    assert "unknown case 999999" in results[2]["error"] and "missing field 'title'" in results[5]["error"]
    assert [e.body for e in desk.svc.get_case(before.id).events if e.kind == "customer_replied"] == ["Any news?"]
    for case_id in ids:
        assert [e.kind for e in desk.svc.get_case(case_id).events][0] == "opened"
