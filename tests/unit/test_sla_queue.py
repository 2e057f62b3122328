"""The queue's service levels on SQLite and PostgreSQL: each row carries its soonest pending breach
and warning and whether a breach was recorded, from the window's own query; the "sla" sort lists the
cases by their soonest breach due, then the others by id, page by page."""

from __future__ import annotations

from deskconsole.domain.clock import parse_time

POLICY = """\
[policies.P2]
calendar = "24x7"
first_response = "1h"
resolution = "4h"
[policies.P3]
calendar = "24x7"
first_response = "2h"
resolution = "8h"
"""
MON_09 = "2026-11-30T09:00:00Z"


def _desk(desk):
    """A (P3, due 11:00), B (P2, due 10:10), C (P4: no targets), D (closed), E (P3, due 11:20)."""
    desk.clock.set(MON_09)
    desk.svc.load_sla(POLICY, actor="sue")
    a = desk.open("A", "acme", product_area="billing")
    desk.later(minutes=10)
    b = desk.open("B", "acme", product_area="billing", severity="high")
    c = desk.open("C", "acme", product_area="billing", severity="low")
    d = desk.case_in("closed", title="D", customer="acme", product_area="billing")
    desk.later(minutes=10)
    e = desk.open("E", "acme", product_area="billing")
    return a.id, b.id, c.id, d.id, e.id


def walk(svc, **kw) -> list[int]:
    seen, after = [], None
    while True:
        page = svc.list_cases(sort="sla", after=after, limit=2, **kw)
        if not page:
            return seen
        seen += [r.id for r in page]
        after = page[-1].id


def test_the_sla_sort_puts_the_soonest_breach_first_and_pages(desk) -> None:
    a, b, c, d, e = _desk(desk)
    rows = desk.svc.list_cases(sort="sla")
    assert [r.id for r in rows] == [b, a, e, c, d]
    assert walk(desk.svc) == [b, a, e, c, d]
    assert walk(desk.svc, view="open") == [b, a, e, c]
    assert [r.id for r in desk.svc.list_cases(sort="sla", limit=2)] == [b, a]
    by_id = {r.id: r for r in rows}
    assert by_id[b].sla_due == parse_time("2026-11-30T10:10:00Z")
    assert by_id[b].sla_warning_due == parse_time("2026-11-30T09:55:00Z")  # 75 % of the hour
    assert by_id[a].sla_due == parse_time("2026-11-30T11:00:00Z")
    assert by_id[c].sla_due is None and by_id[d].sla_due is None
    assert not any(r.sla_breached for r in rows)


def test_a_breach_is_marked_and_the_case_moves_to_its_next_target(desk) -> None:
    a, b, c, d, e = _desk(desk)
    desk.clock.set("2026-11-30T10:15:00Z")
    desk.svc.tick()
    rows = {r.id: r for r in desk.svc.list_cases(sort="sla")}
    assert rows[b].sla_breached and not rows[a].sla_breached
    assert rows[b].sla_due == parse_time("2026-11-30T13:10:00Z")  # its resolution now
    assert [r.id for r in desk.svc.list_cases(sort="sla", view="open")] == [a, e, b, c]
    # the window's filter applies to both parts of the sort
    assert [r.id for r in desk.svc.list_cases(sort="sla", filter="sla:breached")] == [b]
    assert [r.id for r in desk.svc.list_cases(sort="sla", filter="prio:P3,P4")] == [a, e, c, d]
    assert [r.id for r in desk.svc.list_cases(sort="sla", text="B")] == [b]


def test_the_window_reads_service_levels_by_the_case_on_sqlite(desk, db_url) -> None:
    """The plan: the sort walks the pending timers by due time; each row's lookups go by its case
    (never every pending timer or every breach recorded)."""
    if not db_url.startswith("sqlite"):
        return
    from deskconsole.store.window import window_sql

    with desk.svc.engine.connect() as conn:
        for sort in ("sla", "oldest"):
            plan = window_sql(sort=sort, view="open", limit=100)
            steps = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + plan.sql, plan.params).all()]
            lookups = [s for s in steps if s.startswith(("SEARCH s ", "SEARCH m ", "SEARCH n "))]
            assert lookups == ["SEARCH s USING INDEX ix_timer_case_state (case_id=? AND state=?)"] * 2 + [
                "SEARCH m USING INDEX ix_sla_metric_case (case_id=?)"] * 2 + [
                "SEARCH n USING INDEX ix_sla_metric_case (case_id=? AND id>?)"], steps
            if sort == "sla":
                assert "SEARCH t USING INDEX ix_timer_pending_due (state=?)" in steps, steps
