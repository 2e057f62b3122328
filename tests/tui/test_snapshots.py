"""Every pane at 120×40 on the deterministic desk, frozen clock, ticker off."""

from __future__ import annotations

from tuidesk import build, go

SIZE = (120, 40)




def test_queue(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go())


def test_queue_all_by_priority(snap_compare, app_as, ids):
    # (sam opens on Open: shift+tab goes round to All, then by priority)
    assert snap_compare(build(app_as, ids, "sam"), terminal_size=SIZE, run_before=go("shift+tab", "s", "s"))


def test_case_detail(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go(case="vat"))


def test_case_detail_everything(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go("v", case="vat"))


def test_composer(snap_compare, app_as, ids):
    keys = ("c", *"Could you send the invoice PDF?")
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go(*keys, case="vat"))


def test_case_detail_hostile(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go(case="hostile"))


def test_pending_form(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go("p", case="vpn"))


def test_escalation_review(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "maria"), terminal_size=SIZE, run_before=go("3"))


def test_countdowns(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "sam"), terminal_size=SIZE, run_before=go("4"))


def test_surveys(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "sam"), terminal_size=SIZE, run_before=go("5"))


def test_help(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go("question_mark"))


def test_outbox_message(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "sam"), terminal_size=SIZE, run_before=go("6", "enter"))


def test_outbox(snap_compare, app_as, ids, service, smtp):
    from smtpbox import deliverer

    deliverer(service, smtp.url).run_once(limit=14)  # sent, refused (550) and undeliverable rows; the rest queued
    assert snap_compare(build(app_as, ids, "sam"), terminal_size=SIZE, run_before=go("6", "ctrl+end"))


SLA_POLICY = """\
[calendars.office]
timezone = "UTC"
hours = "mon-fri 08:00-18:00"
[policies.P1]
calendar = "24x7"
first_response = "30m"
resolution = "8h"
[policies.P2]
calendar = "office"
first_response = "12h"
resolution = "5d"
"""


def sla_cases(service, clock) -> None:
    """Service levels loaded (now is Wednesday 09:00 UTC): a P2 past its warning (opened Tuesday 08:30 on
    office hours: 1h30m left), a P1 whose first response was breached (its resolution runs: 7h left, red),
    a P2 opened at 08:40 (11h40m of business time left, though its due is 25h40m away)."""
    from datetime import timedelta

    now = clock.now()
    clock.set(now - timedelta(days=1, minutes=30))
    service.load_sla(SLA_POLICY, actor="sam")
    service.open_case("Reports export times out", "Hooli", product_area="network", severity="high")
    clock.set(now - timedelta(hours=1))
    service.open_case("Storage array offline", "Initech", product_area="network", severity="production_down")
    clock.set(now - timedelta(minutes=20))
    service.open_case("Invoice PDF has no logo", "Globex", product_area="network", severity="high")
    clock.set(now)
    service.tick()


def test_queue_sla_sorted(snap_compare, app_as, ids, service, clock):
    """The SLA column (late red, past the warning amber, business time left) sorted by the soonest due."""
    sla_cases(service, clock)
    assert snap_compare(build(app_as, ids, "sam"), terminal_size=SIZE, run_before=go("s", "s", "s", "s", "j", "j", "j"))


def test_insight(snap_compare, app_as, ids, service, clock):
    """The Insight pane's charts: backlog by age, SLA compliance, CSAT, reopen rate, first contact."""
    from test_insight import resolve_one

    sla_cases(service, clock)
    resolve_one(service, clock)
    assert snap_compare(build(app_as, ids, "sam"), terminal_size=SIZE, run_before=go("8"))


def test_insight_numbers(snap_compare, app_as, ids, service, clock):
    """The same figures as tables (`n`)."""
    from test_insight import resolve_one

    sla_cases(service, clock)
    resolve_one(service, clock)
    assert snap_compare(build(app_as, ids, "sam"), terminal_size=SIZE, run_before=go("8", "n"))


MACROS = """\
[macros.ask-for-logs]
reply = "Hello {customer}, please send the logs of case {case.id}. {agent}"
status = "pending"
sub_status = "customer_input"

[macros.thank-you]
reply = "Thank you, {customer}!"
"""


def test_macro_picker(snap_compare, app_as, service, ids):
    service.load_macros(MACROS, actor="maria")
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go("M", *"ask", case="vpn"))


def test_case_closed_with_undo_offered(snap_compare, app_as, service, ids):
    service.close(ids["vpn"], reason="Solved on the phone", actor="alice")  # within the undo window: u offered
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go(case="vpn"))


def test_reply_after_close_offers_a_follow_up(snap_compare, app_as, service, ids):
    service.customer_reply(ids["closed7"], "It [b]broke[/b] again after the update.", channel="email")
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go(case="closed7"))
