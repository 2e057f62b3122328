"""Service-level policies (the TOML file) and the target state machine over metric events, to the second."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskconsole.domain.calendar import from_seconds, to_seconds
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.sla import (
    DeskSla,
    MetricEvent,
    MetricKind,
    SlaFileError,
    TargetPhase,
    TargetStatus,
    applies,
    clock_runs,
    evaluate,
    load_toml,
    policy_change_event,
    record,
    sla_json,
    start_event,
    status_event,
    status_events,
)

H = 3600

ISSUE_FILE = """\
[calendars.eu]
timezone = "Europe/Berlin"
hours = "mon-fri 08:00-18:00"          # also per day: { mon = "08:00-12:00,13:00-17:00", … }
holidays = ["DE"]                      # country (or country-subdivision) codes
dates = ["2026-12-24", "2026-12-31"]   # extra closed days
[policies.P1]
calendar = "24x7"                      # built in: always open
first_response = "30m"
next_response = "1h"
resolution = "8h"
[policies.P2]
calendar = "eu"
first_response = "4h"
next_response = "4h"
resolution = "2d"
[policies.P3]
calendar = "eu"
first_response = "8h"                  # business time in that calendar
resolution = "5d"                      # a business day is that calendar's open hours of one day
"""

DESK = load_toml(ISSUE_FILE)
CALENDARS = DESK.calendars


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def ev(kind: str, at: str, **values) -> MetricEvent:
    return MetricEvent(MetricKind(kind), utc(at), **values)


def start(priority: str, kind: str, at: str, desk: DeskSla = DESK) -> MetricEvent:
    event = start_event(desk, priority, kind, utc(at))
    assert event is not None
    return event


def state(events, now: str):
    return evaluate(events, CALENDARS, utc(now))


# Monday 2026-11-30: Berlin is UTC+1, so 10:00 local is 09:00Z and 18:00 local is 17:00Z.
MON_10 = "2026-11-30T09:00:00Z"


# ---------------------------------------------------------------- the policy file

def test_the_issue_file_loads_and_shows() -> None:
    assert DESK.target("P3", "first_response").seconds == 8 * H
    assert DESK.target("P3", "resolution").seconds == 5 * 10 * H  # 5 business days of 10 h
    assert DESK.target("P2", "resolution").seconds == 20 * H
    assert DESK.target("P1", "resolution").calendar == "24x7"
    assert DESK.target("P3", "next_response") is None
    assert DESK.target("P4", "first_response") is None
    assert DESK.show() == (
        "calendars\n"
        "  24x7  always open (built in)\n"
        "  eu    Europe/Berlin · mon-fri 08:00-18:00 · holidays DE · closed 2026-12-24, 2026-12-31 · business day 10h\n"
        "policies\n"
        "  P1  calendar 24x7 · first response 30m · next response 1h · resolution 8h · warning at 75%\n"
        "  P2  calendar eu · first response 4h · next response 4h · resolution 2d · warning at 75%\n"
        "  P3  calendar eu · first response 8h · resolution 5d · warning at 75%\n")


def test_the_desk_survives_its_plain_dict_and_json() -> None:
    stored = json.loads(json.dumps(DESK.to_dict()))
    assert DeskSla.from_dict(stored) == DESK
    assert stored["policies"]["P3"] == {"calendar": "eu", "first_response": "8h", "resolution": "5d"}
    assert stored["calendars"]["eu"]["hours"] == "mon-fri 08:00-18:00"
    assert "24x7" not in stored["calendars"]


def test_hours_per_day_warning_shares_and_subdivisions() -> None:
    desk = load_toml("""
warning = "80%"
[calendars.us]
timezone = "America/New_York"
holidays = ["US-NY"]
[calendars.us.hours]
mon = "09:00-12:00,13:00-17:00"
fri = "09:00-13:00"
[policies.P2]
calendar = "us"
first_response = "1d4h"
warning = 0.5
[policies.P4]
calendar = "us"
resolution = "90m"
""")
    cal = desk.calendars["us"]
    assert cal.business_day == (7 * H + 4 * H) // 2
    assert desk.target("P2", "first_response").seconds == cal.business_day + 4 * H
    assert desk.target("P2", "first_response").warning == 0.5
    assert desk.target("P4", "resolution").warning == 0.8
    assert "mon 09:00-12:00,13:00-17:00; fri 09:00-13:00" in desk.show()
    assert "warning at 50%" in desk.show() and "warning at 80%" in desk.show()
    assert DeskSla.from_dict(desk.to_dict()) == desk


def test_closed_dates_may_be_written_as_toml_dates() -> None:
    desk = load_toml('[calendars.eu]\ntimezone = "Europe/Berlin"\nhours = "mon-fri 08:00-18:00"\n'
                     'dates = [2026-12-24, "2026-12-31"]\n')
    assert desk.calendars["eu"].to_dict()["dates"] == ["2026-12-24", "2026-12-31"]
    with pytest.raises(SlaFileError, match=r"line 4: calendars.eu.dates: not a date"):
        load_toml('[calendars.eu]\ntimezone = "Europe/Berlin"\nhours = "mon-fri 08:00-18:00"\n'
                  'dates = [2026-12-24T10:00:00]\n')


BAD_FILES = [
    ("[calendars.eu\ntimezone = 'UTC'\n", "line 1: not valid TOML: Expected ']' at the end of a table declaration"),
    ("[policies.P1]\nresolution = \n", "line 2: not valid TOML: Invalid value"),
    ("[policies.P3]\ncalendar = \"eu\"\nresolution = \"5d\"\n",
     "line 2: policies.P3.calendar: unknown calendar 'eu' (known: 24x7)"),
    ("[calendars.eu]\ntimezone = \"Europe/Berln\"\nhours = \"mon-fri 08:00-18:00\"\n",
     "line 2: calendars.eu.timezone: unknown time zone: 'Europe/Berln' (an IANA name like \"Europe/Berlin\")"),
    ("[calendars.eu]\ntimezone = \"Europe/Berlin\"\nhours = \"mon-fri 18:00-08:00\"\n",
     "line 3: calendars.eu.hours: a range of hours must end after it starts: '18:00-08:00'"),
    ("[calendars.eu]\ntimezone = \"Europe/Berlin\"\nhours = \"mon-fri 08:00-18:00\"\nholidays = [\"ZZ\"]\n",
     "line 4: calendars.eu.holidays: unknown holiday country: 'ZZ' (a code like \"DE\" or \"DE-BY\")"),
    ("[calendars.eu]\ntimezone = \"Europe/Berlin\"\n\n[calendars.eu.hours]\nmon = \"closed\"\nsun = \"\"\n",
     "line 4: calendars.eu.hours: calendar eu is closed all week (no open hours)"),
    ("[calendars.eu]\ntimezone = \"Europe/Berlin\"\nhours = \"mon-fri 08:00-18:00\"\ndates = [\"2026-13-01\"]\n",
     "line 4: calendars.eu.dates: not a date (YYYY-MM-DD): '2026-13-01'"),
    ("[calendars.eu]\ntimezone = \"Europe/Berlin\"\n", "line 1: calendars.eu: calendar eu needs hours"),
    ("[calendars.24x7]\ntimezone = \"UTC\"\nhours = \"24x7\"\n",
     "line 1: calendars.24x7: 24x7 is built in (always open) and cannot be redefined"),
    ("[policies.P1]\nfirst_response = \"-30m\"\n",
     "line 2: policies.P1.first_response: a duration must not be negative: '-30m'"),
    ("[policies.P1]\nfirst_response = \"0h\"\n",
     "line 2: policies.P1.first_response: a duration must be longer than zero: '0h'"),
    ("[policies.P1]\n\nresolution = \"400d\"\n",
     "line 3: policies.P1.resolution: a duration longer than 365 business days is not a service level: '400d'"),
    ("[policies.P1]\nresolution = \"8 hours\"\n",
     "line 2: policies.P1.resolution: not a duration (like \"30m\", \"8h\", \"5d\", \"1d4h\"): '8 hours'"),
    ("[policies.P1]\nresolution = 8\n",
     "line 2: policies.P1.resolution: a duration must be a string like \"8h\" or \"1d4h\": 8"),
    ("[policies.P1]\nresolution = \"4h1d\"\n",
     "line 2: policies.P1.resolution: not a duration (like \"30m\", \"8h\", \"5d\", \"1d4h\"): '4h1d'"),
    ("[policies.P5]\nresolution = \"8h\"\n", "line 1: policies.P5: unknown priority 'P5' (P1, P2, P3 or P4)"),
    ("[policies.P1]\ncalendar = \"24x7\"\n",
     "line 1: policies.P1: policy P1 sets no target (first_response, next_response, resolution)"),
    ("[policies.P1]\nresolution = \"8h\"\nresponse = \"1h\"\n",
     "line 3: policies.P1.response: unknown key "
     "(expected calendar, first_response, next_response, resolution, warning)"),
    ("[policies.P1]\nresolution = \"8h\"\nwarning = 1.5\n",
     "line 3: policies.P1.warning: a warning share must be between 0 and 1 (like 0.75 or \"75%\"): 1.5"),
    ("warning = \"100%\"\n", "line 1: warning: a warning share must be between 0 and 1 (like 0.75 or \"75%\"): '100%'"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES, ids=[m.split(": ", 2)[-1][:40] for _, m in BAD_FILES])
def test_a_bad_file_is_refused_whole_with_line_and_reason(text: str, message: str) -> None:
    with pytest.raises(SlaFileError) as caught:
        load_toml(text)
    assert str(caught.value) == message
    assert isinstance(caught.value, InvalidInput)


def test_a_bad_stored_desk_is_refused_too() -> None:
    stored = DESK.to_dict()
    stored["policies"]["P3"]["calendar"] = "gone"
    with pytest.raises(SlaFileError, match=r"policies.P3.calendar: unknown calendar 'gone'"):
        DeskSla.from_dict(stored)


# ---------------------------------------------------------------- the clock of one target

def test_a_running_target_counts_business_time_and_is_due_when_used_reaches_it() -> None:
    events = [start("P3", "first_response", MON_10)]
    now = state(events, "2026-11-30T11:00:00Z")  # Monday 12:00 local
    assert now.as_json() == {"due": "2026-11-30T17:00:00Z", "state": "running", "used": 2 * H, "target": 8 * H}
    assert now.breach_due == utc("2026-11-30T17:00:00Z")
    assert now.warning_due == utc("2026-11-30T15:00:00Z")  # 75 % of 8 h = 6 h: 16:00 local
    assert state(events, "2026-11-30T16:59:59Z").state is TargetStatus.RUNNING
    late = state(events, "2026-11-30T17:00:00Z")
    assert late.as_json() == {"due": "2026-11-30T17:00:00Z", "state": "breached", "used": 8 * H, "target": 8 * H}
    assert state(events, "2026-12-01T08:00:00Z").used == 9 * H  # Tuesday 09:00 local


def test_a_fulfilment_before_the_due_instant_is_met_and_at_it_is_breached() -> None:
    started = start("P3", "first_response", MON_10)
    met = state([started, ev("fulfil", "2026-11-30T16:59:59Z")], "2026-12-03T00:00:00Z")
    assert met.as_json() == {"due": None, "state": "met", "used": 8 * H - 1, "target": 8 * H}
    assert met.warning_due is None and met.breach_due is None
    late = state([started, ev("fulfil", "2026-11-30T17:00:00Z")], "2026-12-03T00:00:00Z")
    assert late.as_json() == {"due": "2026-11-30T17:00:00Z", "state": "breached", "used": 8 * H, "target": 8 * H}
    assert late.breach_due == utc("2026-11-30T17:00:00Z")  # no breach recorded yet: the timer still tells the manager


def test_pause_inside_hours_and_resume_outside_hours() -> None:
    events = [start("P3", "first_response", MON_10),
              ev("pause", "2026-11-30T11:00:00Z"),    # Monday 12:00 local: 2 h used
              ev("resume", "2026-11-30T19:00:00Z")]   # Monday 20:00 local: closed, nothing counts until Tuesday
    paused = state(events[:2], "2026-12-02T12:00:00Z")
    assert paused.as_json() == {"due": None, "state": "paused", "used": 2 * H, "target": 8 * H}
    assert paused.warning_due is None and paused.breach_due is None
    resumed = state(events, "2026-12-01T08:00:00Z")  # Tuesday 09:00 local
    assert resumed.as_json() == {"due": "2026-12-01T13:00:00Z", "state": "running", "used": 3 * H, "target": 8 * H}
    assert resumed.warning_due == utc("2026-12-01T11:00:00Z")  # 6 h used: Tuesday 12:00 local


def test_pause_outside_hours_and_resume_on_a_weekend() -> None:
    events = [start("P3", "first_response", "2026-12-04T16:00:00Z"),  # Friday 17:00 local
              ev("pause", "2026-12-04T18:00:00Z"),                    # Friday 19:00: 1 h used
              ev("resume", "2026-12-05T09:00:00Z")]                   # Saturday
    now = state(events, "2026-12-07T08:00:00Z")  # Monday 09:00 local
    assert now.as_json() == {"due": "2026-12-07T14:00:00Z", "state": "running", "used": 2 * H, "target": 8 * H}


def test_a_target_running_over_the_spring_change_is_due_by_the_wall_clock() -> None:
    # Friday 2026-03-27 17:00 CET (16:00Z) + 2 h on eu: Monday 30th 09:00 CEST = 07:00Z.
    events = [start("P2", "first_response", "2026-03-27T16:00:00Z")]
    events[0] = MetricEvent(MetricKind.START, events[0].at, 2 * H, "eu", 0.75)
    assert state(events, "2026-03-28T12:00:00Z").as_json() == {
        "due": "2026-03-30T07:00:00Z", "state": "running", "used": H, "target": 2 * H}


def test_a_breach_event_is_final_and_a_later_fulfilment_keeps_it() -> None:
    events = [start("P3", "first_response", MON_10), ev("breach", "2026-11-30T17:00:00Z"),
              ev("fulfil", "2026-12-01T08:00:00Z")]
    assert state(events, "2026-12-02T00:00:00Z").as_json() == {
        "due": "2026-11-30T17:00:00Z", "state": "breached", "used": 9 * H, "target": 8 * H}
    assert policy_change_event(events, DESK, "P1", "first_response", utc("2026-12-02T00:00:00Z")) is None


def test_next_response_measures_from_the_first_unanswered_reply_and_starts_again_after_the_answer() -> None:
    events = [start("P2", "next_response", MON_10),
              start("P2", "next_response", "2026-11-30T10:00:00Z"),  # a second reply: the clock runs on
              ev("fulfil", "2026-11-30T12:00:00Z")]
    assert state(events, "2026-11-30T13:00:00Z").as_json() == {
        "due": None, "state": "met", "used": 3 * H, "target": 4 * H}
    events.append(start("P2", "next_response", "2026-11-30T14:00:00Z"))
    assert state(events, "2026-11-30T15:00:00Z").as_json() == {
        "due": "2026-12-01T08:00:00Z", "state": "running", "used": H, "target": 4 * H}


def test_a_reopened_resolution_runs_on_with_its_time_used() -> None:
    events = [start("P3", "resolution", MON_10), ev("fulfil", "2026-11-30T13:00:00Z"),   # 4 h used
              ev("pause", "2026-11-30T13:00:00Z"), ev("resume", "2026-12-01T08:00:00Z")]  # ignored: fulfilled
    assert state(events, "2026-12-02T08:00:00Z").as_json() == {
        "due": None, "state": "met", "used": 4 * H, "target": 50 * H}
    events.append(ev("reopen", "2026-12-01T08:00:00Z"))  # Tuesday 09:00 local; 46 h left: Monday 7th 15:00
    assert state(events, "2026-12-01T09:00:00Z").as_json() == {
        "due": "2026-12-07T14:00:00Z", "state": "running", "used": 5 * H, "target": 50 * H}


# ---------------------------------------------------------------- policies changing under a running target

def test_a_policy_loaded_mid_case_keeps_the_business_time_used() -> None:
    events = [start("P3", "first_response", MON_10)]
    newer = load_toml(ISSUE_FILE.replace('first_response = "8h"', 'first_response = "3h"')
                      .replace('hours = "mon-fri 08:00-18:00"', 'hours = "mon-fri 10:00-16:00"'))
    change = policy_change_event(events, newer, "P3", "first_response", utc("2026-11-30T11:00:00Z"))
    assert change == MetricEvent(MetricKind.POLICY, utc("2026-11-30T11:00:00Z"), 3 * H, "eu", 0.75, used=2 * H)
    events.append(change)
    # Measured on the new desk's calendars: the 2 h before the change stay 2 h (checkpointed), 1 h more is due
    # at 13:00 local, and the new hours (10:00-16:00) apply from the change on.
    after = evaluate(events, newer.calendars, utc("2026-11-30T11:30:00Z"))
    assert after.as_json() == {"due": "2026-11-30T12:00:00Z", "state": "running", "used": 2 * H + 1800,
                               "target": 3 * H}
    assert after.warning_due == utc("2026-11-30T11:15:00Z")  # 75 % of 3 h = 2 h 15 min used


def test_a_target_started_before_a_reload_keeps_what_it_was_promised() -> None:
    events = [start("P3", "first_response", MON_10)]
    newer = load_toml(ISSUE_FILE.replace('first_response = "8h"', 'first_response = "1h"'))
    assert evaluate(events, newer.calendars, utc("2026-11-30T11:00:00Z")).target == 8 * H
    assert start_event(newer, "P3", "first_response", utc(MON_10)).target == H


def test_an_escalation_raising_the_priority_moves_the_running_target_keeping_time_used() -> None:
    events = [start("P3", "resolution", "2026-11-30T07:00:00Z")]  # Monday 08:00 local, 5 d = 50 h
    at = utc("2026-12-01T11:00:00Z")  # Tuesday 12:00 local: 10 h + 4 h = 14 h used
    change = record(events, MetricEvent(MetricKind.POLICY, at, 20 * H, "eu", 0.75), CALENDARS)
    assert change.used == 14 * H
    assert policy_change_event(events, DESK, "P2", "resolution", at) == change
    events.append(change)
    assert state(events, "2026-12-01T12:00:00Z").as_json() == {
        "due": "2026-12-01T17:00:00Z", "state": "running", "used": 15 * H, "target": 20 * H}


def test_a_raise_past_the_new_target_is_breached_since_the_time_used_reached_it() -> None:
    events = [start("P3", "resolution", "2026-11-30T07:00:00Z")]
    at = utc("2026-12-01T11:00:00Z")
    events.append(policy_change_event(events, DESK, "P1", "resolution", at))  # P1: 8 h on 24x7
    now = state(events, "2026-12-01T11:00:05Z")
    # 8 h were used on Monday 16:00 local (15:00Z) under the eu hours the target ran on then.
    assert now.as_json() == {"due": "2026-11-30T15:00:00Z", "state": "breached", "used": 14 * H + 5, "target": 8 * H}
    assert now.breach_due == utc("2026-11-30T15:00:00Z")  # in the past: the ticker fires it at once


def test_a_paused_target_moved_to_another_policy_stays_paused() -> None:
    events = [start("P3", "first_response", MON_10), ev("pause", "2026-11-30T10:00:00Z", used=H)]
    moved = events + [policy_change_event(events, DESK, "P2", "first_response", utc("2026-11-30T12:00:00Z"))]
    assert state(moved, "2026-11-30T13:00:00Z").as_json() == {
        "due": None, "state": "paused", "used": H, "target": 4 * H}
    moved.append(ev("resume", "2026-12-01T08:00:00Z"))  # Tuesday 09:00 local: 3 h left
    assert state(moved, "2026-12-01T08:00:00Z").as_json() == {
        "due": "2026-12-01T11:00:00Z", "state": "running", "used": H, "target": 4 * H}


def test_a_paused_target_moved_past_its_new_target_is_breached_as_of_when_it_was_reached() -> None:
    events = [start("P3", "first_response", MON_10), ev("pause", "2026-11-30T10:00:00Z", used=H)]
    events.append(policy_change_event(events, DESK, "P1", "first_response", utc("2026-11-30T12:00:00Z")))
    # P1 gives 30 min; the hour used ran from 10:00 to 11:00 local, so 30 min were reached at 10:30 local.
    assert state(events, "2026-11-30T13:00:00Z").as_json() == {
        "due": "2026-11-30T09:30:00Z", "state": "breached", "used": H, "target": 1800}


def test_a_breach_reached_before_a_priority_is_lowered_stands() -> None:
    events = [start("P1", "first_response", MON_10)]  # 30 min on 24x7: reached at 09:30Z, not yet recorded
    events.append(policy_change_event(events, DESK, "P3", "first_response", utc("2026-11-30T10:00:00Z")))
    now = state(events, "2026-11-30T10:30:00Z")
    assert now.as_json() == {"due": "2026-11-30T09:30:00Z", "state": "breached", "used": H + 1800, "target": 8 * H}
    assert now.breach_due == utc("2026-11-30T09:30:00Z") and now.warning_due is None
    events.append(ev("breach", "2026-11-30T09:30:00Z"))
    assert state(events, "2026-11-30T10:30:00Z").breach_due is None  # recorded once: no timer any more


def test_a_target_breached_while_paused_still_has_its_breach_timer_due() -> None:
    events = [start("P3", "first_response", MON_10), ev("pause", "2026-11-30T10:00:00Z", used=H)]
    events.append(policy_change_event(events, DESK, "P1", "first_response", utc("2026-11-30T12:00:00Z")))
    now = state(events, "2026-11-30T12:00:00Z")
    assert now.phase is TargetPhase.PAUSED and now.state is TargetStatus.BREACHED
    assert now.breach_due == utc("2026-11-30T09:30:00Z")


def test_a_priority_without_such_a_target_withdraws_it() -> None:
    events = [start("P2", "next_response", MON_10)]
    events.append(policy_change_event(events, DESK, "P3", "next_response", utc("2026-11-30T10:00:00Z")))
    assert state(events, "2026-11-30T11:00:00Z") is None


# ---------------------------------------------------------------- what the service records

def test_the_clock_pauses_in_pending_and_awaiting_confirmation_only() -> None:
    assert not clock_runs("pending") and not clock_runs("awaiting_confirmation")
    assert all(clock_runs(s) for s in ("new", "in_progress", "reopened", "update_received", "closed"))
    at = utc(MON_10)
    assert status_event("in_progress", "pending", at) == MetricEvent(MetricKind.PAUSE, at)
    assert status_event("pending", "awaiting_confirmation", at) is None  # stays paused
    assert status_event("pending", "pending", at) is None                # another sub-status
    assert status_event("pending", "update_received", at) == MetricEvent(MetricKind.RESUME, at)
    assert status_event("new", "in_progress", at) is None


def test_awaiting_confirmation_fulfils_every_target_and_a_reopen_reopens_the_resolution() -> None:
    at = utc(MON_10)
    assert status_events("in_progress", "awaiting_confirmation", at) == {
        kind: MetricEvent(MetricKind.FULFIL, at) for kind in ("first_response", "next_response", "resolution")}
    assert status_events("pending", "awaiting_confirmation", at)["resolution"].kind is MetricKind.FULFIL
    assert status_events("awaiting_confirmation", "reopened", at) == {
        "first_response": MetricEvent(MetricKind.RESUME, at), "next_response": MetricEvent(MetricKind.RESUME, at),
        "resolution": MetricEvent(MetricKind.REOPEN, at)}
    assert status_events("update_received", "pending", at) == {
        kind: MetricEvent(MetricKind.PAUSE, at) for kind in ("first_response", "next_response", "resolution")}
    assert status_events("pending", "pending", at) == {}
    assert status_events("new", "in_progress", at) == {}


def test_only_events_that_change_a_target_apply() -> None:
    events = [start("P3", "first_response", MON_10)]
    pause, resume = ev("pause", "2026-11-30T10:00:00Z"), ev("resume", "2026-11-30T11:00:00Z")
    assert applies([], start("P3", "first_response", MON_10), CALENDARS)
    assert not applies(events, start("P3", "first_response", "2026-11-30T09:30:00Z"), CALENDARS)
    assert not applies(events, ev("resume", "2026-11-30T10:00:00Z"), CALENDARS)
    assert applies(events, pause, CALENDARS)
    events.append(pause)
    assert not applies(events, ev("pause", "2026-11-30T10:30:00Z"), CALENDARS)
    assert applies(events, resume, CALENDARS)
    events += [resume, ev("fulfil", "2026-11-30T12:00:00Z")]
    assert not applies(events, ev("pause", "2026-11-30T13:00:00Z"), CALENDARS)
    assert not applies(events, ev("fulfil", "2026-11-30T13:00:00Z"), CALENDARS)
    assert applies(events, ev("reopen", "2026-11-30T13:00:00Z"), CALENDARS)
    assert policy_change_event(events, DESK, "P1", "first_response", utc("2026-11-30T13:00:00Z")) is None
    late = [start("P1", "first_response", MON_10)]
    assert applies(late, ev("breach", "2026-11-30T09:30:00Z"), CALENDARS)
    late.append(ev("breach", "2026-11-30T09:30:00Z"))
    assert not applies(late, ev("breach", "2026-11-30T09:31:00Z"), CALENDARS)


def test_case_show_json_sla_shape_and_events_as_plain_values() -> None:
    first = [start("P3", "first_response", MON_10)]
    resolution = [start("P3", "resolution", MON_10)]
    shown = sla_json({"first_response": first, "resolution": resolution}, CALENDARS, utc("2026-11-30T10:00:00Z"))
    assert shown == {
        "first_response": {"due": "2026-11-30T17:00:00Z", "state": "running", "used": H, "target": 8 * H},
        "next_response": None,
        "resolution": {"due": "2026-12-07T09:00:00Z", "state": "running", "used": H, "target": 50 * H},
    }
    stored = json.loads(json.dumps([e.to_dict() for e in first]))
    assert stored == [{"kind": "start", "at": "2026-11-30T09:00:00Z", "target": 8 * H, "calendar": "eu",
                       "warning": 0.75}]
    assert [MetricEvent.from_dict(d) for d in stored] == first


# ---------------------------------------------------------------- properties of the target clock

T0 = to_seconds(utc("2026-03-20T00:00:00Z"))  # around Berlin's spring change and Easter


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 3 * 86400), min_size=1, max_size=6), st.integers(1, 60 * H),
       st.integers(0, 4 * 86400))
def test_the_target_clock_counts_exactly_the_running_business_time(gaps, target, after) -> None:
    cal = CALENDARS["eu"]
    moments = [T0]
    for gap in gaps:
        moments.append(moments[-1] + gap)
    events = [MetricEvent(MetricKind.START, from_seconds(T0), target, "eu", 0.75)]
    running = []
    for index, moment in enumerate(moments[1:]):
        kind = MetricKind.PAUSE if index % 2 == 0 else MetricKind.RESUME
        events.append(MetricEvent(kind, from_seconds(moment)))
        if kind is MetricKind.PAUSE:
            running.append((moments[index], moment))
    now = moments[-1] + after
    if len(gaps) % 2 == 0:  # ends running
        running.append((moments[-1], now))
    expected = sum(cal.measure_seconds(a, b) for a, b in running)
    result = evaluate(events, CALENDARS, from_seconds(now))
    assert result.used == expected
    assert result.state is (TargetStatus.BREACHED if expected >= target else
                            TargetStatus.RUNNING if len(gaps) % 2 == 0 else TargetStatus.PAUSED)
    if result.state is TargetStatus.RUNNING:
        # the due instant is exactly the first second at which the target is breached
        assert evaluate(events, CALENDARS, result.due).state is TargetStatus.BREACHED
        assert evaluate(events, CALENDARS, from_seconds(to_seconds(result.due) - 1)).state is TargetStatus.RUNNING
        assert evaluate(events, CALENDARS, result.warning_due).used == round(target * 0.75) or target < 2
    if result.state is TargetStatus.BREACHED:
        reached = to_seconds(result.due)
        assert evaluate(events, CALENDARS, from_seconds(reached)).used == target
        assert evaluate(events, CALENDARS, from_seconds(reached - 1)).used == target - 1
