"""The queue's window (store/window.py through Service.list_cases) on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3

import pytest

from deskconsole.domain.errors import InvalidInput
from deskconsole.store.window import read_window

PRIORITIES = {"production_down": "P1", "high": "P2", "normal": "P3", "low": "P4"}


@pytest.fixture
def queue(desk):
    """A dozen cases in mixed statuses, priorities and update times; one escalated, timers running."""
    made = []
    severities = ["low", "high", "normal", "production_down"]
    for i in range(12):
        status = ["new", "in_progress", "pending", "awaiting_confirmation", "closed"][i % 5]
        case = desk.case_in(status, title=f"Export {i} fails", customer=f"cust{i % 3}",
                            severity=severities[i % 4])
        made.append(case.id)
        desk.later(minutes=7 * (i % 4) + 1)
    desk.svc.request_escalation(made[1], "Month-end close is blocked.", actor="alice")
    return made


def walk(svc, sort: str, **kw) -> list[int]:
    """Every case of a list, page by page (3 at a time) with the keyset."""
    seen, after = [], None
    while True:
        page = svc.list_cases(sort=sort, after=after, limit=3, **kw)
        if not page:
            return seen
        seen += [r.id for r in page]
        after = page[-1].id


@pytest.mark.parametrize("sort", ["oldest", "newest", "priority", "updated"])
def test_paging_returns_every_case_once_in_order(desk, queue, sort):
    rows = desk.svc.list_cases(sort=sort)
    expected = {
        "oldest": sorted(rows, key=lambda r: r.id),
        "newest": sorted(rows, key=lambda r: -r.id),
        "priority": sorted(rows, key=lambda r: (r.priority, r.id)),
        "updated": sorted(rows, key=lambda r: (r.updated_at, r.id), reverse=True),
    }[sort]
    assert [r.id for r in rows] == [r.id for r in expected]
    assert len(rows) == len(queue)
    assert walk(desk.svc, sort) == [r.id for r in expected]
    assert walk(desk.svc, sort, view="open") == [r.id for r in expected if r.status != "closed"]


def test_rows_carry_assignee_escalation_and_the_soonest_timer(desk, queue):
    rows = {r.id: r for r in desk.svc.list_cases()}
    pending = rows[queue[2]]
    assert pending.status == "pending" and pending.next_timer == "reminder"  # 7 days before the 28-day close
    assert pending.next_timer_due == desk.svc.get_case(queue[2]).reminder_at
    assert rows[queue[3]].next_timer == "auto_close"
    assert rows[queue[0]].next_timer is None
    assert rows[queue[1]].escalation == "requested"
    assert rows[queue[0]].escalation is None
    assert rows[queue[1]].assignee == "alice"
    assert rows[queue[0]].priority == PRIORITIES["low"]


def test_views_filter_and_refusals(desk, queue):
    svc = desk.svc
    assert [r.id for r in svc.list_cases(view="escalated")] == [queue[1]]
    mine = svc.list_cases(view="mine", actor="alice")
    assert mine and all(r.assignee == "alice" and r.status != "closed" for r in mine)
    # every word must match; a number matches the title or customer, or the case id
    assert [r.id for r in svc.list_cases(text="EXPORT 10")] == sorted({queue[10], 10})
    assert [r.id for r in svc.list_cases(text="export cust2 1")] == [queue[11]]
    assert [r.id for r in svc.list_cases(text=str(queue[4]))] == [queue[4], queue[5]]  # id 5, "Export 5 fails"
    assert svc.list_cases(text="100%_") == []
    assert [r.id for r in svc.list_cases(status="closed")] == [queue[4], queue[9]]
    with pytest.raises(InvalidInput, match="unknown view"):
        svc.list_cases(view="everything")
    with pytest.raises(InvalidInput, match="unknown sort"):
        svc.list_cases(sort="random")


def test_a_plain_driver_connection_reads_the_same_window(desk, queue):
    """What the console's fast start does: the same SQL on sqlite3 / psycopg, without SQLAlchemy."""
    url = desk.svc.engine.url
    if url.get_backend_name() == "sqlite":
        connection, paramstyle = sqlite3.connect(url.database), "qmark"
    else:
        import psycopg

        connection = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
        paramstyle = "format"
    try:
        for sort in ("oldest", "priority", "updated"):
            plain = read_window(connection.cursor(), paramstyle, view="open", sort=sort, after=queue[3], limit=4)
            assert plain == desk.svc.list_cases(view="open", sort=sort, after=queue[3], limit=4)
    finally:
        connection.close()
