"""Issue 2: timers. Boundaries to the second, cancellation, restarts, late ticks, durations."""

from __future__ import annotations

from datetime import timedelta

from deskconsole.domain.timers import Durations
from deskconsole.service import Service
from deskconsole.store.models import Event, Outbox, Timer

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def fired_for(fired, case_id):
    return [(f.timer, f.due, f.fired) for f in fired if f.case == case_id]


def timers_of(desk, case_id):
    return {(t.kind, t.state): t for t in desk.rows(Timer, case_id=case_id)}


def test_awaiting_confirmation_auto_closes_at_exactly_14_days(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("awaiting_confirmation")
    due = start + 14 * DAY
    assert case.auto_close_at == due

    assert desk.svc.tick(due - SECOND) == []
    assert desk.svc.get_case(case.id).status == "awaiting_confirmation"

    fired = desk.svc.tick(due)
    assert fired_for(fired, case.id) == [("auto_close", due, due)]
    closed = desk.svc.get_case(case.id)
    assert closed.status == "closed" and closed.closed_at == due
    assert "not confirmed" in closed.close_reason
    assert closed.followup_at == due + DAY
    assert [o.kind for o in desk.outbox(case.id)] == ["awaiting_confirmation", "survey"]


def test_customer_input_reminds_at_7_days_and_closes_at_28(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("pending", "customer_input")
    assert case.reminder_at == start + 7 * DAY
    assert case.auto_close_at == start + 28 * DAY

    assert desk.svc.tick(start + 7 * DAY - SECOND) == []
    assert desk.svc.get_case(case.id).attention is None

    fired = desk.svc.tick(start + 7 * DAY)
    assert fired_for(fired, case.id) == [("reminder", start + 7 * DAY, start + 7 * DAY)]
    reminded = desk.svc.get_case(case.id)
    assert (reminded.status, reminded.sub_status) == ("pending", "customer_input")
    assert reminded.attention and reminded.attention.startswith("chase")
    assert reminded.reminder_at is None and reminded.auto_close_at == start + 28 * DAY
    reminders = [o for o in desk.outbox(case.id) if o.kind == "reminder"]
    assert len(reminders) == 1 and reminders[0].to == "help@acme.example"

    assert desk.svc.tick(start + 28 * DAY - SECOND) == []
    assert desk.svc.get_case(case.id).status == "pending"

    fired = desk.svc.tick(start + 28 * DAY)
    assert fired_for(fired, case.id) == [("auto_close", start + 28 * DAY, start + 28 * DAY)]
    closed = desk.svc.get_case(case.id)
    assert closed.status == "closed" and closed.sub_status is None
    assert closed.closed_at == start + 28 * DAY
    assert closed.attention is None
    assert "no customer input" in closed.close_reason


def test_survey_at_close_and_followup_one_day_later(desk) -> None:
    case = desk.case_in("in_progress")
    desk.later(hours=2)
    closed_at = desk.clock.now()
    desk.svc.close(case.id, reason="confirmed by phone", actor="alice")
    survey = [o for o in desk.outbox(case.id) if o.kind == "survey"]
    assert len(survey) == 1 and survey[0].created_at == closed_at

    assert desk.svc.tick(closed_at + DAY - SECOND) == []
    fired = desk.svc.tick(closed_at + DAY)
    assert fired_for(fired, case.id) == [("followup", closed_at + DAY, closed_at + DAY)]
    assert [o.kind for o in desk.outbox(case.id)] == ["survey", "followup"]
    assert desk.svc.tick(closed_at + 30 * DAY) == []


def _other_pending_sub_statuses_start_no_timers(desk) -> None:
    for sub in ("development", "scheduled_service", "third_party"):
        case = desk.case_in("pending", sub)
        assert case.timers == [] and case.auto_close_at is None and case.reminder_at is None
    assert desk.svc.tick(desk.clock.now() + 60 * DAY) == []


def _leaving_customer_input_for_development_cancels_its_timers(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("pending", "customer_input")
    desk.later(days=2)
    moved = desk.svc.move(case.id, "pending", sub_status="development", actor="alice")
    assert moved.reminder_at is None and moved.auto_close_at is None
    timers = desk.rows(Timer, case_id=case.id)
    assert {(t.kind, t.state) for t in timers} == {("reminder", "cancelled"), ("auto_close", "cancelled")}
    assert all(t.cancelled_at == start + 2 * DAY for t in timers)

    assert desk.svc.tick(start + 40 * DAY) == []
    after = desk.svc.get_case(case.id)
    assert (after.status, after.sub_status) == ("pending", "development")
    assert [o.kind for o in desk.outbox(case.id)] == ["question"]  # the question only: no reminder


def test_leaving_by_any_route_cancels_the_unfired_timers(desk) -> None:
    start = desk.clock.now()
    to_progress = desk.case_in("pending", "customer_input")
    replied = desk.case_in("pending", "customer_input")
    reopened = desk.case_in("awaiting_confirmation")
    desk.later(days=1)
    desk.svc.move(to_progress.id, "in_progress", actor="alice")
    desk.svc.customer_reply(replied.id, "Attached the file.")
    desk.svc.customer_reply(reopened.id, "Not fixed.")

    assert desk.svc.tick(start + 60 * DAY) == []
    for case in (to_progress, replied, reopened):
        assert desk.svc.get_case(case.id).status != "closed"
        assert {t.state for t in desk.rows(Timer, case_id=case.id)} == {"cancelled"}


def _reminder_fired_then_leaving_cancels_only_the_auto_close(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("pending", "customer_input")
    desk.svc.tick(start + 7 * DAY)
    desk.clock.set(start + 8 * DAY)
    desk.svc.customer_reply(case.id, "Sorry, was on holiday.")
    timers = timers_of(desk, case.id)
    assert set(timers) == {("reminder", "fired"), ("auto_close", "cancelled")}
    assert desk.svc.tick(start + 60 * DAY) == []


def _re_entering_a_status_restarts_its_timers_from_the_new_time(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("pending", "customer_input")
    desk.later(days=5)
    desk.svc.move(case.id, "in_progress", actor="alice")
    desk.later(days=1)
    again = desk.svc.move(case.id, "pending", sub_status="customer_input", actor="alice", note="Any news?")
    restart = start + 6 * DAY
    assert again.reminder_at == restart + 7 * DAY
    assert again.auto_close_at == restart + 28 * DAY

    assert desk.svc.tick(start + 7 * DAY) == []  # the first countdown is gone
    assert desk.svc.tick(restart + 7 * DAY - SECOND) == []
    assert fired_for(desk.svc.tick(restart + 7 * DAY), case.id) == [
        ("reminder", restart + 7 * DAY, restart + 7 * DAY)
    ]
    assert desk.svc.tick(restart + 28 * DAY - SECOND) == []
    assert [f.timer for f in desk.svc.tick(restart + 28 * DAY)] == ["auto_close"]


def _re_entering_awaiting_confirmation_restarts_the_14_days(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("reopened")  # awaiting since start, reopened by a reply
    desk.later(days=10)
    again = desk.svc.move(case.id, "awaiting_confirmation", note="Second fix applied.", actor="alice")
    assert again.auto_close_at == start + 24 * DAY
    assert desk.svc.tick(start + 24 * DAY - SECOND) == []
    assert desk.svc.get_case(case.id).status == "awaiting_confirmation"
    assert [f.timer for f in desk.svc.tick(start + 24 * DAY)] == ["auto_close"]


def test_a_late_tick_fires_everything_once_as_of_the_due_times(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("pending", "customer_input")
    late = start + 40 * DAY
    desk.clock.set(late)

    fired = desk.svc.tick()  # nobody had the console open for 40 days
    assert fired_for(fired, case.id) == [
        ("reminder", start + 7 * DAY, late),
        ("auto_close", start + 28 * DAY, late),
        ("followup", start + 29 * DAY, late),  # due by now too: fires in the same tick
    ]
    view = desk.svc.get_case(case.id)
    assert view.status == "closed" and view.closed_at == start + 28 * DAY
    timer_events = [e for e in view.events if e.kind == "timer_fired"]
    assert [(e.at, e.data["timer"]) for e in timer_events] == [
        (start + 7 * DAY, "reminder"),
        (start + 28 * DAY, "auto_close"),
        (start + 29 * DAY, "followup"),
    ]
    assert all(e.recorded_at == late for e in timer_events)
    close_event = [e for e in view.events if e.kind == "status_changed" and e.data["to"] == "closed"][0]
    assert close_event.at == start + 28 * DAY
    for timer in desk.rows(Timer, case_id=case.id):
        assert timer.state == "fired"
        assert timer.fired_at.replace(tzinfo=None) == late.replace(tzinfo=None)
    assert [o.kind for o in desk.outbox(case.id)] == ["question", "reminder", "survey", "followup"]

    assert desk.svc.tick() == []
    assert desk.svc.tick(late + 100 * DAY) == []
    assert len(desk.outbox(case.id)) == 4


def _late_auto_close_without_the_followup_due_yet(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("awaiting_confirmation")
    late = start + 14 * DAY + timedelta(hours=6)
    fired = desk.svc.tick(late)
    assert fired_for(fired, case.id) == [("auto_close", start + 14 * DAY, late)]
    view = desk.svc.get_case(case.id)
    assert view.closed_at == start + 14 * DAY
    assert view.followup_at == start + 15 * DAY  # counted from the effective close, not the tick
    assert fired_for(desk.svc.tick(start + 15 * DAY), case.id) == [
        ("followup", start + 15 * DAY, start + 15 * DAY)
    ]


def _tick_without_a_time_uses_the_clock(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("pending", "customer_input")
    desk.clock.set(start + 7 * DAY - SECOND)
    assert desk.svc.tick() == []
    desk.later(seconds=1)
    assert fired_for(desk.svc.tick(), case.id) == [("reminder", start + 7 * DAY, start + 7 * DAY)]


def test_timer_events_and_outbox_rows_belong_together(desk) -> None:
    start = desk.clock.now()
    for _ in range(3):
        desk.case_in("pending", "customer_input")
    desk.case_in("awaiting_confirmation")
    desk.svc.tick(start + 40 * DAY)
    events = {e.id: e for e in desk.rows(Event)}
    for row in desk.rows(Outbox):
        assert events[row.event_id].case_id == row.case_id
    fired_timers = [t for t in desk.rows(Timer) if t.state == "fired"]
    assert len(fired_timers) == len([e for e in events.values() if e.kind == "timer_fired"]) == 3 * 3 + 2


def test_running_timers_are_the_supervisors_countdowns(desk) -> None:
    start = desk.clock.now()
    waiting = desk.case_in("pending", "customer_input")
    awaiting = desk.case_in("awaiting_confirmation")
    rows = desk.svc.running_timers()
    assert [(t.case, t.kind, t.due) for t in rows] == [
        (waiting.id, "reminder", start + 7 * DAY),
        (awaiting.id, "auto_close", start + 14 * DAY),
        (waiting.id, "auto_close", start + 28 * DAY),
    ]
    assert [t.case for t in desk.svc.running_timers(kind="reminder")] == [waiting.id]


def test_durations_are_configurable(desk, engine, clock) -> None:
    quick = Service(engine, clock, Durations(
        awaiting_confirmation_close=timedelta(hours=1),
        customer_input_reminder=timedelta(minutes=10),
        customer_input_close=timedelta(minutes=30),
        followup_after_close=timedelta(minutes=5),
    ))
    start = clock.now()
    waiting, _ = quick.open_case("Card declined", "globex")
    quick.move(waiting.id, "pending", sub_status="customer_input", actor="alice", note="Which card was it?")
    awaiting, _ = quick.open_case("Refund missing", "globex")
    quick.move(awaiting.id, "in_progress", actor="alice")
    awaiting = quick.move(awaiting.id, "awaiting_confirmation", note="Refund re-sent.", actor="alice")
    assert awaiting.auto_close_at == start + timedelta(hours=1)

    assert quick.tick(start + timedelta(minutes=10) - SECOND) == []
    assert [f.timer for f in quick.tick(start + timedelta(minutes=10))] == ["reminder"]
    assert [f.timer for f in quick.tick(start + timedelta(minutes=30))] == ["auto_close"]
    assert [f.timer for f in quick.tick(start + timedelta(minutes=35))] == ["followup"]
    assert [(f.case, f.timer) for f in quick.tick(start + timedelta(hours=1))] == [(awaiting.id, "auto_close")]
    assert quick.get_case(waiting.id).closed_at == start + timedelta(minutes=30)


def test_durations_from_the_environment() -> None:
    durations = Durations.from_env({"DESKCONSOLE_CUSTOMER_INPUT_REMINDER": "3d",
                                    "DESKCONSOLE_AWAITING_CONFIRMATION_CLOSE": "1d12h"})
    assert durations.customer_input_reminder == timedelta(days=3)
    assert durations.awaiting_confirmation_close == timedelta(days=1, hours=12)
    assert durations.customer_input_close == timedelta(days=28)


def test_times_stay_utc_on_a_postgres_server_in_another_zone(pg_url, clock) -> None:
    """A team's server often runs in local time; due times and fired times must not shift."""
    import psycopg
    from sqlalchemy.engine import make_url

    from deskconsole.store.engine import init_schema, make_engine

    name = make_url(pg_url).database
    libpq = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE \"{name}\" SET timezone TO 'America/New_York'")
    engine = make_engine(pg_url)
    try:
        init_schema(engine)
        svc = Service(engine, clock)
        svc.add_agent("mona", "manager", actor=None)
        start = clock.now()
        case, _ = svc.open_case("Export hangs", "initech")
        svc.move(case.id, "pending", sub_status="customer_input", actor="mona", note="Which report?")
        view = svc.get_case(case.id)
        assert view.created_at == start
        assert view.reminder_at == start + 7 * DAY
        assert svc.tick(start + 7 * DAY - SECOND) == []
        assert [(f.timer, f.due) for f in svc.tick(start + 7 * DAY)] == [("reminder", start + 7 * DAY)]
        assert svc.get_case(case.id).events[-1].at == start + 7 * DAY
    finally:
        engine.dispose()


def test_the_chase_flag_goes_once_the_customer_answers_or_the_case_moves_on(desk) -> None:
    """The reminder flags the case 'chase by phone'; an answer by any channel, or leaving
    customer_input, makes that flag stale and it must not linger on the queue."""
    start = desk.clock.now()
    by_portal = desk.case_in("pending", "customer_input")
    by_phone = desk.case_in("pending", "customer_input")
    to_dev = desk.case_in("pending", "customer_input")
    desk.svc.tick(start + 7 * DAY)
    assert all(desk.svc.get_case(c.id).attention.startswith("chase") for c in (by_portal, by_phone, to_dev))
    desk.clock.set(start + 8 * DAY)
    assert desk.svc.customer_reply(by_portal.id, "Logs attached.")[0].attention is None
    assert desk.svc.customer_reply(by_phone.id, "Called back.", channel="phone")[0].attention is None
    assert desk.svc.move(to_dev.id, "pending", sub_status="development", actor="alice").attention is None


# --- some checks above, grouped: one fresh database per group keeps PostgreSQL runs short ---------


def test_tick_without_a_time_and_a_late_auto_close(desk) -> None:
    _tick_without_a_time_uses_the_clock(desk)
    _late_auto_close_without_the_followup_due_yet(desk)


def test_cancellation_on_leaving(desk) -> None:
    _other_pending_sub_statuses_start_no_timers(desk)
    _leaving_customer_input_for_development_cancels_its_timers(desk)
    _reminder_fired_then_leaving_cancels_only_the_auto_close(desk)


def test_restarts_on_re_entering(desk) -> None:
    _re_entering_a_status_restarts_its_timers_from_the_new_time(desk)
    _re_entering_awaiting_confirmation_restarts_the_14_days(desk)


def test_a_late_timer_does_not_move_the_last_update_back_in_time(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("pending", "customer_input")
    desk.clock.set(start + 8 * DAY)
    # the overdue reminder fires (as of day 7) within the note's transaction, before the note
    noted = desk.svc.add_note(case.id, "Left a voicemail", actor="alice")
    assert noted.updated_at == start + 8 * DAY
    assert [(e.kind, e.at) for e in noted.events[-2:]] == [("timer_fired", start + 7 * DAY), ("note", start + 8 * DAY)]
    assert noted.version == case.version + 2
    desk.clock.set(start + 9 * DAY)
    assert desk.svc.tick() == []  # nothing left: the reminder fired once
    after = desk.svc.get_case(case.id)
    assert after.updated_at == start + 8 * DAY
    assert after.version == noted.version


# -- timers nobody ticked take effect before the next action on their case --------


def test_reply_after_an_unticked_auto_close_lands_on_the_closed_case(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("awaiting_confirmation")
    due = start + 14 * DAY
    desk.clock.set(due + 3 * DAY)  # nobody had a console open; no tick ran

    replied, notice = desk.svc.customer_reply(case.id, "Sorry for the delay: it works now.")

    assert replied.status == "closed" and replied.closed_at == due
    assert notice and "clone" in notice
    assert replied.events[-1].kind == "customer_replied"
    fired = [e for e in replied.events if e.kind == "timer_fired"]
    assert [(e.data["timer"], e.at) for e in fired] == [("auto_close", due), ("followup", due + DAY)]
    # the next tick finds nothing left to do for this case
    assert fired_for(desk.svc.tick(), case.id) == []


def test_a_due_reminder_fires_with_the_action_and_is_no_conflict(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("pending", "customer_input")
    read_version = case.version
    desk.clock.set(start + 8 * DAY)  # the 7-day reminder is a day overdue, unticked

    moved = desk.svc.move(case.id, "in_progress", actor="alice", expected_version=read_version)

    assert moved.status == "in_progress"
    fired = [(e.data["timer"], e.at) for e in moved.events if e.kind == "timer_fired"]
    assert fired == [("reminder", start + 7 * DAY)]
    assert moved.events[-1].kind == "status_changed" and moved.events[-1].at == start + 8 * DAY
    assert [o.kind for o in desk.outbox(case.id)].count("reminder") == 1
    assert moved.auto_close_at is None  # leaving customer_input cancelled the 28-day close


def test_a_refused_action_on_an_overdue_case_writes_nothing_and_tick_still_fires(desk) -> None:
    start = desk.clock.now()
    case = desk.case_in("awaiting_confirmation")
    desk.clock.set(start + 15 * DAY)
    before = desk.snapshot(case.id)

    import pytest

    from deskconsole.domain.errors import InvalidTransition

    with pytest.raises(InvalidTransition, match="is closed"):
        desk.svc.close(case.id, reason="confirmed by phone", actor="alice")
    assert desk.snapshot(case.id) == before

    assert fired_for(desk.svc.tick(), case.id)[0][0] == "auto_close"
    assert desk.svc.get_case(case.id).closed_at == start + 14 * DAY


def test_a_tick_hook_hears_each_firing_applied_inside_the_tick(desk) -> None:
    """The hook a test's crash point hangs on (the CLI's DESKCONSOLE_TICK_PAUSE_AFTER): called
    inside the tick with the firings applied so far; a hook that raises rolls the firing back."""
    start = desk.clock.now()
    first = desk.case_in("awaiting_confirmation")
    second = desk.case_in("awaiting_confirmation")
    heard: list[int] = []

    def stop_at_the_second(applied: int) -> None:
        heard.append(applied)
        if applied >= 2:
            raise RuntimeError("stopped")

    desk.svc.tick_hook = stop_at_the_second
    try:
        desk.svc.tick(start + 14 * DAY)
    except RuntimeError:
        pass
    assert heard and heard[-1] == 2 and heard == sorted(heard)
    desk.svc.tick_hook = None
    fired = desk.svc.tick(start + 14 * DAY)
    assert {first.id, second.id} <= {f.case for f in fired}  # the stopped tick committed neither
    assert desk.svc.get_case(first.id).status == desk.svc.get_case(second.id).status == "closed"
