"""A target reopened (or moved to a policy) past its warning warns once, as of then: the warning's
due instant is never before the event that began its cycle. (It was computed from the time used
before, in the past: once fired, its record predated the reopening, so the warning was armed again
at the same instant, for ever; the bulk builder's walk of such a case never ended.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deskconsole.domain.calendar import BusinessCalendar
from deskconsole.domain.sla import MetricEvent, MetricKind
from deskconsole.domain.sla_steps import History, armed, timer_hits
from deskconsole.domain.timers import TimerKind

CALENDARS = {"24x7": BusinessCalendar.always_open()}
T0 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _history(*events: MetricEvent) -> History:
    history = History()
    history.events["resolution"] = list(events)
    return history


def test_a_reopened_resolution_past_its_warning_warns_once_as_of_the_reopening() -> None:
    # 8 h resolution, warning at 75 % (6 h): warned at T0+6h, resolved at T0+7h, reopened at T0+20h
    history = _history(MetricEvent(MetricKind.START, T0, 8 * 3600, "24x7", 0.75),
                       MetricEvent(MetricKind.FULFIL, T0 + 7 * H, used=7 * 3600),
                       MetricEvent(MetricKind.REOPEN, T0 + 20 * H))
    history.warned["resolution"].append(T0 + 6 * H)
    reopened = T0 + 20 * H
    want = armed(history, CALENDARS, reopened)
    assert want[TimerKind.SLA_WARNING] == reopened  # not T0+6h, before the reopening
    assert want[TimerKind.SLA_BREACH] == reopened + H  # the hour left of the eight
    assert timer_hits(history, CALENDARS, TimerKind.SLA_WARNING, reopened) == [("resolution", reopened)]
    history.warned["resolution"].append(reopened)  # the warning fires, as the service records it
    assert TimerKind.SLA_WARNING not in armed(history, CALENDARS, reopened)  # and is not armed again
    assert armed(history, CALENDARS, reopened)[TimerKind.SLA_BREACH] == reopened + H


def test_a_smaller_target_after_an_escalation_warns_as_of_the_change() -> None:
    # 8 h resolution moved after 5 h to a 6 h one (75 %: 4 h 30, passed): warned at the change, once
    history = _history(MetricEvent(MetricKind.START, T0, 8 * 3600, "24x7", 0.75),
                       MetricEvent(MetricKind.POLICY, T0 + 5 * H, 6 * 3600, "24x7", 0.75, used=5 * 3600))
    moved = T0 + 5 * H
    assert armed(history, CALENDARS, moved)[TimerKind.SLA_WARNING] == moved
    history.warned["resolution"].append(moved)
    assert TimerKind.SLA_WARNING not in armed(history, CALENDARS, moved)


def test_a_change_within_a_second_warns_once_though_the_warning_is_timed_to_the_whole_second() -> None:
    # the escalation lands at 16:03:07.53, past the new target's warning: the warning is due (and fires)
    # at 16:03:07, in the whole seconds service levels count in; it is this cycle's, and is not armed again
    moved = T0 + 5 * H + timedelta(microseconds=531_541)
    history = _history(MetricEvent(MetricKind.START, T0, 8 * 3600, "24x7", 0.75),
                       MetricEvent(MetricKind.POLICY, moved, 6 * 3600, "24x7", 0.75, used=5 * 3600))
    due = armed(history, CALENDARS, moved)[TimerKind.SLA_WARNING]
    assert due == T0 + 5 * H  # (the second it falls in)
    assert timer_hits(history, CALENDARS, TimerKind.SLA_WARNING, due) == [("resolution", due)]
    history.warned["resolution"].append(due)  # fired, as the service records it
    assert TimerKind.SLA_WARNING not in armed(history, CALENDARS, moved)
    assert TimerKind.SLA_WARNING not in armed(history, CALENDARS, due + H)
