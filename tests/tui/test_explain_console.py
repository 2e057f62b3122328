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
