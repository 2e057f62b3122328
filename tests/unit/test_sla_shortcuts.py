"""What the service-level steps work out once, or without measuring business time, gives the same
answers as working it out in full: where a target's clock is (target_phase, History.phase), a
priority's targets (DeskSla.target, remembered per desk) and the events settle stores."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from deskconsole.domain.sla import (
    TARGETS,
    MetricEvent,
    MetricKind,
    applies_to,
    evaluate,
    load_toml,
    recorded,
    target_phase,
)
from deskconsole.domain.sla_steps import History, settle

H = 3600
DESK = load_toml("""\
[calendars.eu]
timezone = "Europe/Berlin"
hours = "mon-fri 08:00-18:00"
holidays = ["DE"]
[policies.P1]
first_response = "30m"
next_response = "1h"
resolution = "8h"
[policies.P3]
calendar = "eu"
first_response = "8h"
resolution = "5d"
""")
CALENDARS = DESK.calendars
T0 = datetime(2026, 3, 27, 16, 0, tzinfo=UTC)  # a Friday before Berlin's spring change

# one target's events: (kind, minutes after the one before, target seconds, calendar); policy
# events with no target withdraw it, starts and policy events carry a promise
KINDS = list(MetricKind)
event_steps = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 3 * 24 * 60), st.sampled_from([0, 20 * 60, 8 * H, 50 * H]),
              st.sampled_from(["24x7", "eu"]), st.sampled_from([None, 4 * H])),
    max_size=9,
)


def events_of(steps) -> list[MetricEvent]:
    events, at = [], T0
    for kind, minutes, target, calendar, used in steps:
        at += timedelta(minutes=minutes)
        if kind in (MetricKind.START, MetricKind.POLICY):
            events.append(MetricEvent(kind, at, target or None, calendar if target else None, 0.75,
                                      used if kind is MetricKind.POLICY else None))
        else:
            events.append(MetricEvent(kind, at, used=used if kind in (MetricKind.PAUSE, MetricKind.FULFIL) else None))
    return events


@settings(max_examples=300, deadline=None)
@given(event_steps, st.integers(-60, 4 * 24 * 60))
def test_where_the_clock_is_without_measuring_is_what_the_full_state_says(steps, minutes_after) -> None:
    events = events_of(steps)
    now = (events[-1].at if events else T0) + timedelta(minutes=minutes_after)
    state = evaluate(events, CALENDARS, now)
    expected = (state.phase, state.breach_recorded) if state is not None else (None, False)
    assert target_phase(events, CALENDARS, now) == expected


@settings(max_examples=300, deadline=None)
@given(event_steps, st.sampled_from(KINDS), st.integers(0, 2 * 24 * 60))
def test_settle_stores_what_the_full_state_decides(steps, kind, minutes_after) -> None:
    events = events_of(steps)
    at = (events[-1].at if events else T0) + timedelta(minutes=minutes_after)
    wanted = MetricEvent(kind, at, 8 * H, "eu", 0.75) if kind in (MetricKind.START, MetricKind.POLICY) \
        else MetricEvent(kind, at)
    state = evaluate(events, CALENDARS, at)
    expected = [("resolution", recorded(state, wanted))] if applies_to(state, wanted) else []
    history = History()
    history.events["resolution"] = list(events)
    assert list(settle(history, [("resolution", wanted)], CALENDARS)) == expected
    assert history.events["resolution"] == events + [e for _, e in expected]


def test_a_case_reply_while_the_next_response_runs_stores_nothing_and_after_the_answer_starts_it() -> None:
    history = History()
    reply = MetricEvent(MetricKind.START, T0, H, "24x7", 0.75)
    assert [k for k, _ in settle(history, [("next_response", reply)], CALENDARS)] == ["next_response"]
    # a second reply while it runs: nothing to store, whatever the action asked before
    history.state("next_response", CALENDARS, T0 + timedelta(minutes=5))
    again = replace(reply, at=T0 + timedelta(minutes=5))
    assert list(settle(history, [("next_response", again)], CALENDARS)) == []
    answer = MetricEvent(MetricKind.FULFIL, T0 + timedelta(minutes=20))
    assert [e.used for _, e in settle(history, [("next_response", answer)], CALENDARS)] == [20 * 60]
    # the answer stored, the same action's next reply starts the target again
    later = replace(reply, at=T0 + timedelta(minutes=20))
    assert [e for _, e in settle(history, [("next_response", later)], CALENDARS)] == [later]
    assert history.phase("next_response", CALENDARS, later.at) == (evaluate(
        history.events["next_response"], CALENDARS, later.at).phase, False)


def test_a_priority_s_targets_follow_the_desk_when_its_policies_change() -> None:
    desk = load_toml("[policies.P2]\nfirst_response = \"4h\"\nwarning = 0.5\n")
    first = desk.target("P2", "first_response")
    assert first is not None and (first.seconds, first.calendar, first.warning) == (4 * H, "24x7", 0.5)
    assert desk.target("P2", "first_response") == first
    assert desk.target("P2", "resolution") is None and desk.target("P4", "first_response") is None
    # the same desk given other policies (a reload builds a new desk; one changed in place is
    # answered from what it holds now, never from what was asked before)
    desk.policies["P2"] = replace(desk.policies["P2"], first_response="2h", resolution="1d")
    moved = desk.target("P2", "first_response")
    assert moved is not None and moved.seconds == 2 * H
    resolution = desk.target("P2", "resolution")
    assert resolution is not None and resolution.seconds == 24 * H
    desk.policies["P2"] = replace(desk.policies["P2"], warning=None)
    desk.warning = 0.9
    again = desk.target("P2", "first_response")
    assert again is not None and again.warning == 0.9
    del desk.policies["P2"]
    assert all(desk.target("P2", kind) is None for kind in TARGETS)
