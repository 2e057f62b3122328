"""The console explains itself: take next says why there was nothing to take."""

from __future__ import annotations

from tuidesk import recording, settle, until

SIZE = (120, 40)


async def test_take_next_with_nothing_to_take_names_the_skills_it_looked_in(app_as, ids):
    app = app_as("alice")  # (skills billing, network; the only unassigned case is a reports one)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = recording(app)
        await pilot.press("t")
        assert await until(pilot, lambda: bool(shown))
        assert shown == ["Nothing unassigned in billing, network — your skills; "
                         "1 unassigned in other areas (reports 1)."]
        assert app.current_mode == "queue"


async def test_help_marks_the_keys_that_do_not_apply_to_the_case_in_front_and_why(app_as, ids):
    from tuidesk import help_text

    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        app.open_case(ids["closed0"])
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = help_text(app)
        lines = text.splitlines()
        close = next(i for i, line in enumerate(lines) if "Close — Close the case with a reason" in line)
        assert "✗ not now: case 1 is closed: cannot move to closed" in lines[close + 1]
        clone = next(i for i, line in enumerate(lines) if "Clone — Open a new case from this closed one" in line)
        assert "not now" not in lines[clone + 1]  # cloning a closed case applies
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        app.open_case(ids["vat"])  # an open case of alice's: closing it applies
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        lines = help_text(app).splitlines()
        close = next(i for i, line in enumerate(lines) if "Close — Close the case with a reason" in line)
        assert "not now" not in lines[close + 1]


async def test_send_now_with_delivery_off_says_why_when_pressed(app_as):
    app = app_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        shown = recording(app)
        await pilot.press("s")
        assert await until(pilot, lambda: bool(shown))
        assert shown == ["delivery is off: set DESKCONSOLE_SMTP_URL to send from this console (messages wait here)"]
