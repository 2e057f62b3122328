"""The console's edit form and the merge question across customers, at 120×40 (frozen clock, ticker off)."""

from __future__ import annotations

from tuidesk import settle

SIZE = (120, 40)


def go(case: str, *keys: str, typed: str = ""):
    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.open_case(pilot.app.desk_ids[case])
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        if typed:
            await pilot.press(*typed, "enter")
            await settle(pilot)

    return run_before


def build(app_as, ids, user):
    app = app_as(user)
    app.desk_ids = ids
    return app


def test_edit_form(snap_compare, app_as, ids, service):
    service.tag_case(ids["vat"], add=["vip", "month-end"], actor="alice")
    assert snap_compare(build(app_as, ids, "alice"), terminal_size=SIZE, run_before=go("vat", "E"))


def test_merge_across_customers_asks(snap_compare, app_as, ids):
    assert snap_compare(build(app_as, ids, "maria"), terminal_size=SIZE,
                        run_before=go("export", "m", typed=str(ids["vat"])))
