"""The console offers and refuses keys by domain/permissions.py, and says why a key does not apply."""

from __future__ import annotations

from tuidesk import recording, settle

from deskconsole.domain.permissions import Action, CaseState, Person, may
from deskconsole.tui.screens.case import PERMISSIONS, CaseScreen

SIZE = (120, 40)


async def test_a_key_that_does_not_apply_says_why_and_changes_nothing(app_as, service, ids):
    app = app_as("alice")
    shown = recording(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(ids["vat"])  # pending/customer_input, alice's
        await settle(pilot)
        case = app.screen
        assert isinstance(case, CaseScreen) and case.case.id == ids["vat"]
        version = case.case.version
        await pilot.press("l")  # clone: only a closed case
        await settle(pilot)
        assert f"case {ids['vat']} is pending: only a closed case is cloned; work on it instead" in shown
        await pilot.press("t")  # take: it is hers already
        await settle(pilot)
        assert f"case {ids['vat']} is already assigned to alice" in shown
        assert service.get_case(ids["vat"]).version == version
        assert isinstance(app.screen, CaseScreen)  # no form opened


async def test_the_case_keys_shown_are_what_the_permission_function_allows(app_as, ids):
    app = app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for name in ("vat", "closed0", "storage"):
            app.open_case(ids[name])
            await settle(pilot)
            screen = app.screen
            state = CaseState.of(screen.case)
            for key_action, action in PERMISSIONS.items():
                allowed = bool(may(Person("alice", "analyst"), action, state))
                if key_action == "follow_up":  # (a clone, offered only while a reply after close waits)
                    allowed = allowed and screen.follow_up_waits()
                assert screen.check_action(key_action, ()) is allowed, (name, key_action)
            assert (screen.why_not("clone") is None) == (name == "closed0")
        assert may(Person("alice", "analyst"), Action.TAKE_NEXT)
