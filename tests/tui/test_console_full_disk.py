"""The console on a full disk (SQLite on a small tmpfs, tests/tmpfs_disk.py): an action whose commit
fails says so and keeps the typed text in its form; with room again the same form is submitted."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from datetime import UTC

from textual.widgets import Select, TextArea
from tuidesk import make_service, screen_text, settle, until

import tmpfs_disk
from deskconsole.tui.app import make_app
from deskconsole.tui.screens.case import CaseScreen
from deskconsole.tui.widgets.composer import ComposerScreen
from deskconsole.tui.widgets.form import FormScreen

SIZE = (120, 40)
NOTE = "Called Globex: the billing address is Hamburg"
QUESTION = "Which VPN client version runs on the laptop?"
FULL = "Not saved: the disk holding the desk is full"


def form_error(app) -> str:
    return str(app.screen.query_one("#form-error").render())


@contextmanager
def desk_on_a_small_disk(tmp_path, desk_template, clock):
    """(service, ids, the disk's folder): a copy of the console tests' desk on an 8 MB tmpfs."""
    template, ids = desk_template
    with tmpfs_disk.small_disk(tmp_path, "8m") as disk:
        db = disk / "desk.db"
        shutil.copy(template, db)
        svc = make_service(db, clock)
        try:
            yield svc, ids, disk
        finally:
            svc.engine.dispose()


async def test_a_note_and_a_question_that_cannot_be_stored_keep_their_text_and_say_why(
    tmp_path, desk_template, clock,
):
    with desk_on_a_small_disk(tmp_path, desk_template, clock) as (svc, ids, disk):
        before = svc.get_case(ids["vpn"])
        app = make_app(svc, "alice", clock=clock, ticker=False, tz=UTC)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            app.open_case(ids["vpn"])
            assert await until(pilot, lambda: isinstance(app.screen, CaseScreen) and app.screen.case is not None)

            # an internal note, in the composer
            await pilot.press("n")
            await settle(pilot)
            app.screen.query_one("#composer-text", TextArea).focus()
            await pilot.press(*NOTE)
            tmpfs_disk.fill(disk)
            await pilot.press("ctrl+s")
            assert await until(pilot, lambda: isinstance(app.screen, ComposerScreen) and FULL in form_error(app))
            assert app.screen.query_one("#composer-text", TextArea).text == NOTE
            assert app.is_running
            await pilot.press("escape")
            await settle(pilot)

            # the question of a move to pending/customer_input
            await pilot.press("p")
            await settle(pilot)
            form = app.screen
            form.query_one("#field-sub_status", Select).value = "customer_input"
            await settle(pilot)
            form.query_one("#field-question", TextArea).focus()
            await pilot.press(*QUESTION)
            await pilot.press("ctrl+s")
            assert await until(pilot, lambda: isinstance(app.screen, FormScreen) and FULL in form_error(app))
            assert app.screen.query_one("#field-question", TextArea).text == QUESTION
            assert app.screen.query_one("#field-sub_status", Select).value == "customer_input"
            assert "Traceback" not in screen_text(app) and "OperationalError" not in screen_text(app)
            assert svc.get_case(ids["vpn"]) == before  # nothing of either was stored

            # room again: the same form, submitted again, is stored once
            tmpfs_disk.resize(disk, "64m")
            await pilot.press("ctrl+s")
            assert await until(pilot, lambda: isinstance(app.screen, CaseScreen)
                               and app.screen.case.status == "pending")
        case = svc.get_case(ids["vpn"])
        assert (case.status, case.sub_status) == ("pending", "customer_input")
        assert [o.body for o in svc.list_outbox(case_id=ids["vpn"]) if o.kind == "question"][0].count(QUESTION) == 1
        assert NOTE not in [e.body for e in case.events]  # (that form was left: nothing stored)


async def test_a_managers_decision_that_cannot_be_stored_keeps_its_reason(tmp_path, desk_template, clock):
    reason = "A workaround exists: export to CSV and import by hand"
    with desk_on_a_small_disk(tmp_path, desk_template, clock) as (svc, ids, disk):
        app = make_app(svc, "maria", clock=clock, ticker=False, tz=UTC)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            await pilot.press("3")  # the escalation review, the VPN case's request first
            await settle(pilot)
            await pilot.press("d")
            await settle(pilot)
            app.screen.query_one("#field-reason", TextArea).focus()
            await pilot.press(*reason)
            tmpfs_disk.fill(disk)
            await pilot.press("ctrl+s")
            assert await until(pilot, lambda: isinstance(app.screen, FormScreen) and FULL in form_error(app))
            assert app.screen.query_one("#field-reason", TextArea).text == reason
            assert svc.get_case(ids["vpn"]).escalation.state == "requested"
            tmpfs_disk.resize(disk, "64m")
            await pilot.press("ctrl+s")
            assert await until(pilot, lambda: not isinstance(app.screen, FormScreen))
        esc = svc.get_case(ids["vpn"]).escalation
        assert (esc.state, esc.decision_reason) == ("denied", reason)
