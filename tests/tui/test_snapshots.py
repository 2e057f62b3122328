"""Every pane at 120×40 on the deterministic desk, frozen clock, ticker off."""

from __future__ import annotations

from tuidesk import settle

SIZE = (120, 40)


def go(*keys: str, case: str | None = None):
    async def run_before(pilot) -> None:
        await settle(pilot)
        if case is not None:
            pilot.app.open_case(pilot.app.desk_ids[case])
            await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def build(app_as, ids, user):
    app = app_as(user)
    app.desk_ids = ids
    return app


def test_queue(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go())


def test_queue_all_by_priority(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "sam"), terminal_size=SIZE, run_before=go("s", "s"))


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
