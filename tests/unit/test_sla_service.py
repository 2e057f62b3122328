"""Service levels through the service, to the second, on SQLite and PostgreSQL: the policy stored
and replaced whole, each case's targets started, paused, resumed, fulfilled, moved and breached by
the ordinary actions, and the sla_warning / sla_breach timers in business time.

Berlin is UTC+1 in winter: "Monday 10:00 local" is 09:00Z; the calendar "eu" is open 08:00-18:00
local on weekdays (07:00Z-17:00Z), closed on German public holidays.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlmodel import Session, select

from deskconsole.domain.clock import to_utc
from deskconsole.domain.errors import InvalidInput, PermissionDenied
from deskconsole.domain.sla import load_toml
from deskconsole.store.models import Event, Outbox, SlaDesk, SlaMetric, Timer

POLICY = """\
[calendars.eu]
timezone = "Europe/Berlin"
hours = "mon-fri 08:00-18:00"
holidays = ["DE"]
[calendars.night]
timezone = "Europe/Berlin"
hours = "mon-sun 01:00-05:00"
[policies.P1]
calendar = "night"
first_response = "2h"
resolution = "4h"
[policies.P2]
calendar = "eu"
first_response = "4h"
next_response = "4h"
resolution = "2d"
[policies.P3]
calendar = "eu"
first_response = "8h"
next_response = "4h"
resolution = "5d"
"""
H = 3600
MON_10 = "2026-11-30T09:00:00Z"  # Monday 10:00 in Berlin


@pytest.fixture
def sla(desk):
    desk.clock.set(MON_10)
    desk.svc.load_sla(POLICY, actor="sue")
    return desk


def open_case(desk, severity: str | None = None):
    return desk.open(product_area="billing", **({"severity": severity} if severity else {}))


def targets(desk, case_id: int) -> dict:
    return desk.svc.get_case(case_id).sla


def sla_timers(desk, case_id: int) -> dict[str, str]:
    """The case's pending SLA timers: kind -> due (ISO)."""
    return {t.kind: t.due.isoformat().replace("+00:00", "Z") for t in desk.svc.get_case(case_id).timers
            if t.kind.startswith("sla_")}


def audit(desk, case_id: int) -> list[tuple[str, str]]:
    return [(e.kind, e.data.get("target")) for e in desk.svc.get_case(case_id).events if e.kind.startswith("sla_")]


def test_a_case_opened_under_a_policy_starts_its_targets_with_their_timers(sla) -> None:
    case = open_case(sla)
    assert case.sla == {
        "first_response": {"due": "2026-11-30T17:00:00Z", "state": "running", "used": 0, "target": 8 * H},
        "next_response": None,
        "resolution": {"due": "2026-12-07T09:00:00Z", "state": "running", "used": 0, "target": 50 * H},
    }
    # warning at 75 % of 8 h = 6 h of business time: 16:00 local
    assert sla_timers(sla, case.id) == {"sla_warning": "2026-11-30T15:00:00Z", "sla_breach": "2026-11-30T17:00:00Z"}
    assert audit(sla, case.id) == [("sla_started", "first_response"), ("sla_started", "resolution")]
    rows = sla.rows(SlaMetric, case_id=case.id)
    assert [(r.target, r.kind, r.seconds, r.calendar) for r in rows] == [
        ("first_response", "start", 8 * H, "eu"), ("resolution", "start", 50 * H, "eu")]


def test_without_a_policy_a_case_has_no_targets_and_no_timers(desk) -> None:
    case = open_case(desk)
    assert case.sla == {"first_response": None, "next_response": None, "resolution": None}
    desk.svc.move(case.id, "in_progress", actor="alice")
    assert desk.rows(SlaMetric) == [] and not sla_timers(desk, case.id)
    assert desk.svc.sla_desk() is None


def test_pause_inside_hours_and_resume_outside_hours(sla) -> None:
    case = open_case(sla)
    sla.clock.set("2026-11-30T11:00:00Z")  # 12:00 local: 2 h used
    sla.svc.move(case.id, "pending", sub_status="development", actor="alice")
    paused = targets(sla, case.id)["first_response"]
    assert paused == {"due": None, "state": "paused", "used": 2 * H, "target": 8 * H}
    assert sla_timers(sla, case.id) == {}  # pause cancels the timers
    sla.clock.set("2026-11-30T19:00:00Z")  # 20:00 local, after hours
    assert targets(sla, case.id)["first_response"]["used"] == 2 * H  # the clock stood still
    sla.svc.move(case.id, "in_progress", actor="alice")
    # 6 h left from Tuesday 08:00 local: due 14:00 local; warning (6 h used) at 12:00 local
    assert targets(sla, case.id)["first_response"] == {"due": "2026-12-01T13:00:00Z", "state": "running",
                                                        "used": 2 * H, "target": 8 * H}
    assert sla_timers(sla, case.id) == {"sla_warning": "2026-12-01T11:00:00Z", "sla_breach": "2026-12-01T13:00:00Z"}
    assert [k for k, t in audit(sla, case.id) if t == "first_response"] == [
        "sla_started", "sla_paused", "sla_resumed"]


def test_a_weekend_is_skipped(sla) -> None:
    sla.clock.set("2026-12-04T15:00:00Z")  # Friday 16:00 local: 2 h on Friday, 6 h on Monday
    case = open_case(sla)
    assert case.sla["first_response"]["due"] == "2026-12-07T13:00:00Z"
    sla.clock.set("2026-12-05T12:00:00Z")  # Saturday noon: nothing used since Friday 18:00
    assert targets(sla, case.id)["first_response"]["used"] == 2 * H


def test_a_public_holiday_is_skipped(sla) -> None:
    sla.clock.set("2026-12-24T16:00:00Z")  # Thursday 17:00 local; Friday 25th is Christmas, then a weekend
    case = open_case(sla)
    assert case.sla["first_response"]["due"] == "2026-12-28T14:00:00Z"  # 1 h Thursday + 7 h Monday


def test_the_clock_is_exact_across_the_spring_change(sla) -> None:
    # Sunday 2027-03-28 01:00 CET (00:00Z); at 02:00 the clocks jump to 03:00 CEST. The night calendar's
    # 01:00-05:00 that night lasts 3 h; 2 h of it end at 04:00 CEST = 02:00Z (not 03:00 local).
    sla.clock.set("2027-03-28T00:00:00Z")
    case = open_case(sla, "production_down")
    assert case.priority == "P1"
    assert case.sla["first_response"] == {"due": "2027-03-28T02:00:00Z", "state": "running", "used": 0,
                                          "target": 2 * H}
    assert case.sla["resolution"]["due"] == "2027-03-29T00:00:00Z"  # 3 h that night + 1 h Monday 01:00-02:00 CEST
    sla.clock.set("2027-03-28T02:00:00Z")
    assert [(f.timer, f.due.isoformat()) for f in sla.svc.tick() if f.timer == "sla_breach"] == [
        ("sla_breach", "2027-03-28T02:00:00+00:00")]


def test_the_clock_is_exact_across_the_autumn_change(sla) -> None:
    # Sunday 2026-10-25 01:00 CEST (23:00Z Saturday); at 03:00 CEST the clocks fall back to 02:00 CET.
    # 01:00-05:00 that night lasts 5 h: 4 h of it end at 04:00 CET = 03:00Z.
    sla.clock.set("2026-10-24T23:00:00Z")
    case = open_case(sla, "production_down")
    assert case.sla["resolution"] == {"due": "2026-10-25T03:00:00Z", "state": "running", "used": 0,
                                      "target": 4 * H}
    sla.clock.set("2026-10-25T02:30:00Z")  # 03:30 CET: 3 h 30 min of business time used
    assert targets(sla, case.id)["resolution"]["used"] == 3 * H + 1800


def test_replies_fulfil_the_responses_and_a_customer_reply_starts_the_next(sla) -> None:
    case = open_case(sla)
    sla.clock.set("2026-11-30T10:00:00Z")
    sla.svc.add_note(case.id, "We are looking at it.", actor="alice", internal=False)
    assert targets(sla, case.id)["first_response"] == {"due": None, "state": "met", "used": H, "target": 8 * H}
    sla.svc.add_note(case.id, "internal only", actor="alice")  # an internal note answers nobody
    sla.clock.set("2026-11-30T12:00:00Z")
    sla.svc.customer_reply(case.id, "Any news?")
    assert targets(sla, case.id)["next_response"] == {"due": "2026-11-30T16:00:00Z", "state": "running",
                                                       "used": 0, "target": 4 * H}
    sla.clock.set("2026-11-30T13:00:00Z")
    # the question sent with a move to customer_input answers the customer; the resolution pauses
    sla.svc.move(case.id, "pending", sub_status="customer_input", note="Which invoice number?", actor="alice")
    shown = targets(sla, case.id)
    assert shown["next_response"]["state"] == "met" and shown["next_response"]["used"] == H
    assert shown["resolution"] == {"due": None, "state": "paused", "used": 4 * H, "target": 50 * H}
    sla.clock.set("2026-11-30T14:00:00Z")
    sla.svc.customer_reply(case.id, "INV-4711")  # update_received: resolution resumes, next response starts
    shown = targets(sla, case.id)
    assert shown["resolution"]["state"] == "running" and shown["resolution"]["used"] == 4 * H
    assert shown["next_response"] == {"due": "2026-12-01T08:00:00Z", "state": "running", "used": 0, "target": 4 * H}
    sla.clock.set("2026-11-30T15:00:00Z")
    sla.svc.move(case.id, "awaiting_confirmation", note="Fixed the export.", actor="alice")
    shown = targets(sla, case.id)
    assert {k: v["state"] for k, v in shown.items()} == {"first_response": "met", "next_response": "met",
                                                         "resolution": "met"}
    assert shown["resolution"]["used"] == 5 * H
    assert sla_timers(sla, case.id) == {}
    sla.clock.set("2026-12-01T09:00:00Z")
    sla.svc.customer_reply(case.id, "Still broken.")  # reopened: the resolution runs on with its time used
    shown = targets(sla, case.id)
    assert shown["resolution"]["state"] == "running" and shown["resolution"]["used"] == 5 * H
    assert ("sla_reopened", "resolution") in audit(sla, case.id)


def test_closing_stops_the_clocks_and_cancels_the_timers(sla) -> None:
    case = open_case(sla)
    sla.clock.set("2026-11-30T10:00:00Z")
    sla.svc.close(case.id, reason="duplicate of an older case", actor="alice")
    shown = targets(sla, case.id)
    assert shown["first_response"] == {"due": None, "state": "paused", "used": H, "target": 8 * H}
    assert sla_timers(sla, case.id) == {}
    sla.clock.set("2026-12-31T10:00:00Z")
    assert all(f.timer == "followup" for f in sla.svc.tick())


def test_warning_then_breach_fire_once_each_and_the_breach_tells_the_manager(sla) -> None:
    case = open_case(sla)
    sla.clock.set("2026-11-30T18:00:00Z")  # both overdue: each fires as of its due instant
    fired = [(f.case, f.timer, f.due.isoformat()) for f in sla.svc.tick()]
    assert fired == [(case.id, "sla_warning", "2026-11-30T15:00:00+00:00"),
                     (case.id, "sla_breach", "2026-11-30T17:00:00+00:00")]
    assert sla.svc.tick() == []
    shown = targets(sla, case.id)
    assert shown["first_response"] == {"due": "2026-11-30T17:00:00Z", "state": "breached", "used": 8 * H,
                                       "target": 8 * H}
    events = [e for e in sla.svc.get_case(case.id).events if e.kind in ("timer_fired", "sla_breached")]
    assert [(e.kind, to_utc(e.at).isoformat(), e.data.get("targets") or e.data.get("target")) for e in events] == [
        ("timer_fired", "2026-11-30T15:00:00+00:00", ["first_response"]),
        ("timer_fired", "2026-11-30T17:00:00+00:00", ["first_response"]),
        ("sla_breached", "2026-11-30T17:00:00+00:00", "first_response")]
    breaches = [o for o in sla.outbox(case.id) if o.kind == "sla_breach"]
    assignee = sla.svc.get_case(case.id).assignee
    assert len(breaches) == 1 and breaches[0].to == {"alice": "mona", "bob": "max"}[assignee]  # their manager
    assert "first response" in breaches[0].subject and f"assigned to {assignee}" in breaches[0].body
    # the resolution's warning is armed next (75 % of 50 h = 37 h 30 min: Thursday 17:30 local)
    assert sla_timers(sla, case.id) == {"sla_warning": "2026-12-03T16:30:00Z", "sla_breach": "2026-12-07T09:00:00Z"}
    # a late answer keeps the breach
    sla.svc.add_note(case.id, "Sorry for the wait.", actor="alice", internal=False)
    assert targets(sla, case.id)["first_response"]["state"] == "breached"


def test_a_breach_overdue_when_someone_acts_is_settled_first(sla) -> None:
    case = open_case(sla)
    sla.clock.set("2026-11-30T17:30:00Z")
    sla.svc.add_note(case.id, "Here is what we found.", actor="alice", internal=False)  # too late
    assert targets(sla, case.id)["first_response"]["state"] == "breached"
    assert [o.kind for o in sla.outbox(case.id)].count("sla_breach") == 1


def test_a_policy_loaded_mid_case_applies_from_then_on_keeping_the_time_used(sla) -> None:
    case = open_case(sla)
    sla.clock.set("2026-11-30T11:00:00Z")  # 2 h used
    loaded = sla.svc.load_sla(POLICY.replace('first_response = "8h"', 'first_response = "3h"'), actor="sue")
    assert loaded.moved == 1
    shown = targets(sla, case.id)
    assert shown["first_response"] == {"due": "2026-11-30T12:00:00Z", "state": "running", "used": 2 * H,
                                       "target": 3 * H}
    assert shown["resolution"]["target"] == 50 * H  # unchanged: not moved
    assert sla_timers(sla, case.id) == {"sla_warning": "2026-11-30T11:15:00Z", "sla_breach": "2026-11-30T12:00:00Z"}
    assert audit(sla, case.id)[-1] == ("sla_policy_changed", "first_response")
    # loading the same file again moves nothing
    assert sla.svc.load_sla(POLICY.replace('first_response = "8h"', 'first_response = "3h"'), actor="sue").moved == 0


def test_an_escalation_raising_the_priority_moves_the_running_targets(sla) -> None:
    case = open_case(sla)
    sla.clock.set("2026-11-30T10:00:00Z")  # 1 h used of P3's 8 h
    sla.svc.request_escalation(case.id, "Month-end close is blocked")
    sla.svc.decide_escalation(case.id, "approve", actor="max", reason="Month-end", engineer="bob")
    shown = sla.svc.get_case(case.id)
    assert shown.priority == "P2"
    assert shown.sla["first_response"] == {"due": "2026-11-30T13:00:00Z", "state": "running", "used": H,
                                           "target": 4 * H}
    assert shown.sla["resolution"] == {"due": "2026-12-02T09:00:00Z", "state": "running", "used": H,
                                       "target": 20 * H}
    assert sla_timers(sla, case.id)["sla_breach"] == "2026-11-30T13:00:00Z"


def test_an_escalation_past_the_warning_within_a_second_warns_once(sla) -> None:
    # 15 h 30 of P3's 50 h resolution used by Tuesday 15:30:00.53 local; the escalation moves it to P2's
    # 20 h, past that one's warning (15 h): the warning is due at once, in the whole second the
    # escalation fell in, fires once, and the next tick fires nothing (it used to be taken for the
    # earlier cycle's warning and armed again at the same instant, tick after tick)
    case = open_case(sla)
    sla.clock.set("2026-12-01T14:30:00.531541Z")
    sla.svc.request_escalation(case.id, "Month-end close is blocked")
    sla.svc.decide_escalation(case.id, "approve", actor="max", reason="Month-end", engineer="bob")
    assert sla.svc.get_case(case.id).priority == "P2"
    sla.later(minutes=1)
    fired = [(f.timer, f.due.isoformat()) for f in sla.svc.tick()]
    assert ("sla_warning", "2026-12-01T14:30:00+00:00") in fired
    assert sla.svc.tick() == []
    with Session(sla.svc.engine) as s:
        warned = s.exec(select(SlaMetric).where(SlaMetric.case_id == case.id, SlaMetric.target == "resolution",
                                                SlaMetric.kind == "warning")).all()
    assert len(warned) == 1


def test_a_bad_file_is_refused_whole_and_changes_nothing(sla) -> None:
    with Session(sla.svc.engine) as s:
        before = s.exec(select(SlaDesk)).one().model_dump()
    bad = POLICY.replace('resolution = "5d"', 'resolution = "5 weeks"')
    with pytest.raises(InvalidInput, match=r"^line 21: policies\.P3\.resolution: not a duration"):
        sla.svc.load_sla(bad, actor="sue")
    with pytest.raises(PermissionDenied, match="only a supervisor"):
        sla.svc.load_sla(POLICY, actor="alice")
    with Session(sla.svc.engine) as s:
        assert s.exec(select(SlaDesk)).one().model_dump() == before
    assert sla.svc.sla_desk().policies["P3"].resolution == "5d"


def test_two_tickers_fire_one_breach_once(sla, db_url, tmp_path) -> None:
    from test_service_concurrency import _run_together

    cases = [open_case(sla).id for _ in range(12)]
    results = _run_together(db_url, "2026-11-30T18:00:00Z", [("tick", "")] * 3, tmp_path)
    reported = Counter((case, timer) for result in results for case, timer, _ in result)
    assert reported == {**{(c, "sla_warning"): 1 for c in cases}, **{(c, "sla_breach"): 1 for c in cases}}
    with Session(sla.svc.engine) as s:
        breached = s.exec(select(SlaMetric).where(SlaMetric.kind == "breach")).all()
        events = s.exec(select(Event).where(Event.kind == "sla_breached")).all()
        mails = s.exec(select(Outbox).where(Outbox.kind == "sla_breach")).all()
        fired = s.exec(select(Timer).where(Timer.kind == "sla_breach", Timer.state == "fired")).all()
    assert sorted(m.case_id for m in breached) == cases
    assert sorted(e.case_id for e in events) == cases
    assert sorted(m.case_id for m in mails) == cases
    assert sorted(t.case_id for t in fired) == cases
    assert all(json.loads(e.data)["target"] == "first_response" for e in events)


def test_the_report_counts_targets_met_and_breached_and_breached_cases_are_found(sla) -> None:
    from datetime import UTC, datetime

    late, quick = open_case(sla), open_case(sla)
    sla.clock.set("2026-11-30T10:00:00Z")
    sla.svc.add_note(quick.id, "On it.", actor="alice", internal=False)
    assert sla.svc.breached_cases() == []
    sla.clock.set("2026-11-30T17:30:00Z")
    # the breach is due and nobody ticked: the case counts as breached already
    assert sla.svc.breached_cases() == [late.id]
    assert [r.id for r in sla.svc.list_cases(filter="sla:breached")] == [late.id]
    assert sla.svc.count_cases("sla:breached prio:P3") == 1 and sla.svc.count_cases("sla:breached prio:P1") == 0
    sla.svc.tick()
    sla.svc.add_note(late.id, "Sorry, on it now.", actor="alice", internal=False)  # late: not met
    assert sla.svc.breached_cases() == [late.id]
    assert sla.svc.sla_report() == [
        {"group": "desk", "target": "first_response", "met": 1, "breached": 1, "compliance": 50.0}]
    by_agent = sla.svc.sla_report(by="agent")
    assert sum(r["met"] + r["breached"] for r in by_agent) == 2
    assert {r["group"] for r in by_agent} <= {"alice", "bob"}
    assert sla.svc.sla_report(since=datetime(2026, 12, 1, tzinfo=UTC)) == []
    with pytest.raises(InvalidInput, match="--by must be one of"):
        sla.svc.sla_report(by="weather")


def test_without_a_policy_the_actions_read_nothing_of_service_levels(desk) -> None:
    from sqlalchemy import event

    desk.svc.get_case(desk.open().id)  # (the service has looked once: none loaded)
    seen: list[str] = []

    def record(conn, cursor, statement, *rest) -> None:
        seen.append(statement)

    event.listen(desk.svc.engine, "before_cursor_execute", record)
    try:
        case = open_case(desk)
        desk.svc.move(case.id, "in_progress", actor="alice")
        desk.svc.add_note(case.id, "Looking.", actor="alice", internal=False)
        desk.svc.customer_reply(case.id, "Thanks")
    finally:
        event.remove(desk.svc.engine, "before_cursor_execute", record)
    assert seen and not [sql for sql in seen if "sla_desk" in sql or "sla_metric" in sql]


def test_an_escalation_that_leaves_the_priority_moves_nothing(sla) -> None:
    sla.clock.set("2027-03-28T00:00:00Z")
    case = open_case(sla, "production_down")  # P1
    sla.svc.request_escalation(case.id, "Down again")
    sla.svc.decide_escalation(case.id, "approve", actor="max", reason="Down", engineer="bob")
    assert sla.svc.get_case(case.id).priority == "P1"
    assert [k for k, _ in audit(sla, case.id)] == ["sla_started", "sla_started"]


def test_a_calendar_redefined_mid_case_keeps_the_time_used_on_the_old_hours(sla) -> None:
    sla.clock.set("2026-11-30T07:00:00Z")  # Monday 08:00 local
    case = open_case(sla)
    sla.clock.set("2026-11-30T09:00:00Z")  # 10:00 local: 2 h used on 08:00-18:00 (none on the new 10:00-16:00)
    moved = sla.svc.load_sla(POLICY.replace('hours = "mon-fri 08:00-18:00"', 'hours = "mon-fri 10:00-16:00"'),
                             actor="sue")
    assert moved.moved == 1
    # 6 h left on the new hours from 10:00 local: due 16:00 local the same day
    assert targets(sla, case.id)["first_response"] == {"due": "2026-11-30T15:00:00Z", "state": "running",
                                                        "used": 2 * H, "target": 8 * H}


def test_the_breach_mail_to_the_manager_renders(sla) -> None:
    case = open_case(sla)
    sla.clock.set("2026-11-30T17:00:00Z")
    sla.svc.tick()
    mail = [o for o in sla.svc.list_outbox(case_id=case.id, rendered=True) if o.kind == "sla_breach"]
    assert len(mail) == 1
    assert mail[0].subject == f"[case {case.id}] Service level breached: Invoice total is wrong"
    assert "breached its first response target at 2026-11-30T17:00:00Z" in mail[0].body
    assert f"deskconsole case show {case.id}" in mail[0].body


LOADER = r"""
import os, sys, time
from deskconsole.domain.clock import FixedClock
from deskconsole.service import Service
from deskconsole.store.engine import make_engine

url, go, hours = sys.argv[1:4]
svc = Service(make_engine(url), FixedClock("2026-11-30T09:00:00Z"))
svc.list_agents()
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
svc.load_sla(open(sys.argv[4]).read().replace("mon-fri 08:00-18:00", hours), actor="sue")
print("loaded", flush=True)
"""


def test_two_loads_at_once_both_succeed_one_after_the_other(desk, db_url, tmp_path) -> None:
    import subprocess
    import sys

    policy = tmp_path / "p.toml"
    policy.write_text(POLICY)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", LOADER, db_url, str(go), hours, str(policy)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for hours in ("mon-fri 09:00-17:00", "mon-fri 07:00-19:00")]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip() == "loaded", err
    with Session(desk.svc.engine) as s:
        stored = s.exec(select(SlaDesk)).one()
    assert stored.version == 2
    assert desk.svc.sla_desk().calendars["eu"].describe() in {
        load_toml(POLICY.replace("mon-fri 08:00-18:00", h)).calendars["eu"].describe()
        for h in ("mon-fri 09:00-17:00", "mon-fri 07:00-19:00")}


def test_a_priority_set_by_hand_moves_the_running_targets_keeping_the_time_used(sla) -> None:
    case = open_case(sla)
    sla.clock.set("2026-11-30T10:00:00Z")  # 1 h used of P3's 8 h
    sla.svc.set_priority(case.id, "P2", actor="alice")
    shown = sla.svc.get_case(case.id)
    assert shown.sla["first_response"] == {"due": "2026-11-30T13:00:00Z", "state": "running", "used": H,
                                           "target": 4 * H}
    assert sla_timers(sla, case.id)["sla_breach"] == "2026-11-30T13:00:00Z"
    assert ("sla_policy_changed", "first_response") in audit(sla, case.id)


def test_a_customer_reply_that_moves_the_case_arms_its_timers_once(sla) -> None:
    case = open_case(sla)  # P3: first response 8 h, next response 4 h, on the "eu" calendar
    sla.clock.set("2026-11-30T14:00:00Z")  # 15:00 local: 5 h of the first response used
    sla.svc.move(case.id, "pending", sub_status="development", actor="alice")
    assert sla_timers(sla, case.id) == {}  # every target paused
    sla.clock.set("2026-11-30T15:00:00Z")
    sla.svc.customer_reply(case.id, "Any news?")  # update_received: the next response starts, the rest resume
    # the first response (3 h left from 16:00 local) warns at 17:00 local and is due Tuesday 09:00
    # local, before the next response (4 h: due Tuesday 10:00 local)
    assert sla_timers(sla, case.id) == {"sla_warning": "2026-11-30T16:00:00Z", "sla_breach": "2026-12-01T08:00:00Z"}
    with Session(sla.svc.engine) as s:
        armed = s.exec(select(Timer.kind, Timer.state).where(
            Timer.case_id == case.id, Timer.started_at == to_utc(sla.clock.now()))).all()
    # the reply's timers and the move's are armed together: none written only to be cancelled
    assert sorted(armed) == [("sla_breach", "pending"), ("sla_warning", "pending")]
