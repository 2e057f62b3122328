"""The queue's view tabs (tui/queueviews.py): every view with its count over the table, switched by
tab / shift+tab, a filter saved as a view of one's own (there after a restart), counts that follow
a change to the desk, the config file's views; snapshots at 80x24, 120x40 and 200x60."""

from __future__ import annotations

from datetime import UTC

import pytest
from tuidesk import screen_text, settle

from deskconsole.domain.saved_views import built_in, count_text, find_view, make_view
from deskconsole.tui.app import make_app
from deskconsole.tui.widgets.form import ConfirmScreen, FormScreen

SIZE = (120, 40)


@pytest.fixture
def open_as(service, clock, tmp_path):
    from deskconsole.tui.drafts import Drafts

    def build(user: str, **options):
        return make_app(service, user, clock=clock, ticker=False, tz=UTC, drafts=Drafts(tmp_path / "drafts", "test"),
                        **options)

    return build


def tab_text(service, user: str, views=None) -> str:
    """The tab line as it must read: each view's name and the service's count of it."""
    views = views if views is not None else built_in(service.get_agent(user).role)
    counts = service.view_counts(views, actor=user)
    return " · ".join(f"{v.name} {count_text(counts[v.name])}" for v in views)


async def test_the_tabs_show_every_view_with_its_count(open_as, service):
    app = open_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert queue.tabs.plain.strip() == tab_text(service, "alice")
        assert tab_text(service, "alice") in screen_text(app)
        assert queue.current.name == "Mine"
        mine = service.list_view(find_view(built_in("analyst"), "Mine"), actor="alice")
        assert queue.table.keys() == [str(r.id) for r in mine]
        assert f"Mine {len(mine)} " in screen_text(app)


@pytest.mark.parametrize(("user", "first"), [("sam", "Open"), ("maria", "Open"), ("alice", "Mine")])
async def test_managers_and_supervisors_open_on_open_analysts_on_mine(open_as, user, first):
    app = open_as(user)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.current.name == first
        assert f"view {first}" in screen_text(app)


async def test_tab_and_shift_tab_switch_views(open_as, service):
    app = open_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        views = built_in("supervisor")
        seen = []
        for _ in views:
            seen.append(queue.current.name)
            rows = service.list_view(queue.current, actor="sam", sort=queue.sort, limit=100)
            assert queue.table.keys() == [str(r.id) for r in rows], queue.current.name
            await pilot.press("tab")
            await settle(pilot)
        assert seen == [v.name for v in views] and queue.current.name == "Open"  # round again
        await pilot.press("shift+tab")
        await settle(pilot)
        assert queue.current.name == "All" and queue.view == "all"
        assert "view All" in screen_text(app)
        # Breached: open cases with a breached target only
        app.screen.action_set_view("breached")
        await settle(pilot)
        breached = {r.id for r in service.list_cases(filter="sla:breached", view="open")}
        assert {int(k) for k in queue.table.keys()} == breached


async def test_save_the_filter_as_a_view_and_find_it_after_a_restart(open_as, service):
    app = open_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        await pilot.press("slash", *"prio:P1,P2", "enter")
        await settle(pilot)
        shown = set(queue.table.keys())
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert "assignee:me" in str(app.screen.context)  # what is saved: Mine narrowed by the filter
        await pilot.press(*"Urgent mine", "ctrl+s")
        await settle(pilot)
        assert app.screen is queue and queue.current.name == "Urgent mine" and queue.text == ""
        assert set(queue.table.keys()) == shown  # the same cases, now as the view
        assert "Urgent mine" in queue.tabs.plain
        saved = service.saved_views(actor="alice")
        assert [v.name for v in saved] == ["Urgent mine"]
        assert saved[0].filter.startswith("status:") and "prio:P1,P2" in saved[0].filter
    again = open_as("alice")
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        views = [*built_in("analyst"), *saved]
        assert again.screen.tabs.plain.strip() == tab_text(service, "alice", views)
        await pilot.press("shift+tab")  # Mine -> the last tab, the saved one
        await settle(pilot)
        assert again.screen.current.name == "Urgent mine"
        assert set(again.screen.table.keys()) == shown
        await pilot.press("W")
        await settle(pilot)
        assert isinstance(again.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert service.saved_views(actor="alice") == []
        assert again.screen.current.name == "Mine" and "Urgent mine" not in again.screen.tabs.plain
    # another analyst never sees alice's views
    assert service.saved_views(actor="bob") == []


async def test_a_name_taken_is_refused_and_the_form_stays(open_as, service):
    app = open_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        await pilot.press(*"Open", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen) and "taken" in (app.screen.error or "")
        assert service.saved_views(actor="alice") == []


async def test_built_in_views_cannot_be_deleted(open_as, service):
    app = open_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("W")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert "only views you saved can be deleted" in " ".join(str(n.message) for n in app._notifications)


async def test_counts_follow_a_change_to_the_desk(open_as, service):
    app = open_as("sam")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = service.view_counts(built_in("supervisor"), actor="sam")
        assert f"Open {before['Open']}" in app.screen.tabs.plain
        typed = app.screen.counted_marker
        await pilot.press("slash", *"tyrell")  # typing reads windows, never counts
        await settle(pilot)
        assert app.screen.counted_marker == typed
        await pilot.press("escape")
        service.open_case("Fresh from the portal", "Tyrell")
        app.action_tick()  # the worker notices the change marker grew
        await settle(pilot)
        after = service.view_counts(built_in("supervisor"), actor="sam")
        assert after["All"] == before["All"] + 1
        assert app.screen.tabs.plain.strip() == tab_text(service, "sam")
        assert f"All {after['All']}" in screen_text(app)


async def test_config_views_are_tabs(open_as, service):
    billing = make_view("Billing", "area:billing", "newest", source="config")
    app = open_as("sam", views=[billing])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.tabs.plain.strip() == tab_text(service, "sam", [*built_in("supervisor"), billing])
        app.screen.action_set_view("billing")
        await settle(pilot)
        queue = app.screen
        assert queue.current == billing and queue.sort == "newest"
        rows = service.list_view(billing, actor="sam")
        assert queue.table.keys() == [str(r.id) for r in rows] and rows


# ------------------------------------------------------------------------------ snapshots


def _with_a_saved_view(service, open_as, user: str):
    service.save_view("P1 and P2", "prio:P1,P2 status:new,in_progress,pending", sort="priority", actor=user)
    return open_as(user)


def _settled(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)], ids=["80x24", "120x40", "200x60"])
def test_snapshot_queue_with_tabs(snap_compare, open_as, service, size):
    app = _with_a_saved_view(service, open_as, "maria")
    # Open -> Mine -> round to the saved view
    assert snap_compare(app, terminal_size=size, run_before=_settled("shift+tab", "shift+tab"))


async def test_on_a_fast_start_the_counts_come_once_the_service_has_loaded(service, clock, monkeypatch):
    import threading

    from test_quickstart import settings_for, wait_until

    from deskconsole.tui.app import open_console

    gate = threading.Event()
    settings = settings_for(service, "sam", clock, monkeypatch, gate)
    service.save_view("Acme", "customer:acme", actor="sam")
    app = open_console(settings, ticker=False, tz=UTC)
    async with app.run_test(size=SIZE) as pilot:
        queue = app.screen
        await wait_until(pilot, lambda: queue.table.row_count > 0)
        # the first frame: the tabs every desk has and sam's own (read by the fast start), not counted yet
        assert queue.tabs.plain.strip() == " · ".join([*(v.name for v in built_in("supervisor")), "Acme"])
        gate.set()
        await wait_until(pilot, lambda: app.service_ready)
        await wait_until(pilot, lambda: queue.counts is not None and "Acme" in queue.counts)
        await settle(pilot)
        views = [*built_in("supervisor"), *service.saved_views(actor="sam")]
        assert queue.tabs.plain.strip() == tab_text(service, "sam", views)
