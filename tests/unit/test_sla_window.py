"""The queue's service-level cells: amber once an open target is past its warning, whichever target
breaches first; and a desk without policies pages without any service-level lookup."""

from __future__ import annotations

import sqlite3

from sqlalchemy import event

from deskconsole.domain.clock import parse_time
from deskconsole.store.window import read_window, window_sql
from deskconsole.tui import format as fmt

# first response 4h (warns at 3h), resolution 5h (warns at 3h45m): opened at 09:00, the first
# response warns at 12:00 and breaches at 13:00, the resolution warns at 12:45 and breaches at 14:00
POLICY = """\
[policies.P3]
calendar = "24x7"
first_response = "4h"
resolution = "5h"
"""


def test_the_soonest_target_past_its_warning_is_amber_while_another_warning_is_pending(desk) -> None:
    desk.clock.set("2026-11-30T09:00:00Z")
    desk.svc.load_sla(POLICY, actor="sue")
    case = desk.open("Printer on fire", "acme", product_area="billing")
    desk.clock.set("2026-11-30T12:05:00Z")
    desk.svc.tick()  # the first response's warning fires
    desk.clock.set("2026-11-30T12:10:00Z")
    (row,) = desk.svc.list_cases()
    assert row.id == case.id
    assert row.sla_due == parse_time("2026-11-30T13:00:00Z")  # the first response breaches first
    assert row.sla_warning_due == parse_time("2026-11-30T12:45:00Z")  # the resolution's, still pending
    assert row.sla_warned
    shown = fmt.sla_text(row, desk.clock.now())
    assert (shown.plain, shown.style) == ("50m", fmt.SLA_WARNED)

    # answered: the first response is met, the resolution runs unwarned (plain until 12:45)
    desk.svc.move(case.id, "in_progress", actor="alice")
    desk.svc.add_note(case.id, "We are on it.", actor="alice", internal=False)
    (row,) = desk.svc.list_cases()
    assert not row.sla_warned and row.sla_due == parse_time("2026-11-30T14:00:00Z")
    shown = fmt.sla_text(row, desk.clock.now())
    assert (shown.plain, shown.style) == ("1h50m", "")


def test_before_any_warning_fired_the_row_is_plain(desk) -> None:
    desk.clock.set("2026-11-30T09:00:00Z")
    desk.svc.load_sla(POLICY, actor="sue")
    desk.open("Printer on fire", "acme", product_area="billing")
    desk.clock.set("2026-11-30T11:00:00Z")
    desk.svc.tick()
    (row,) = desk.svc.list_cases()
    assert not row.sla_warned
    assert fmt.sla_text(row, desk.clock.now()).style == ""


def test_without_policies_the_page_runs_no_service_level_lookup(desk, db_url) -> None:
    plain = window_sql(sort="oldest", limit=50, sla=False).sql
    looked_up = window_sql(sort="oldest", limit=50).sql
    assert "sla_metric" not in plain and "timer s " not in plain
    assert "sla_metric" in looked_up and "timer s " in looked_up
    for sort in ("oldest", "priority", "sla"):
        assert "sla_metric" not in window_sql(sort=sort, view="open", text="printer", sla=False).sql
    if not db_url.startswith("sqlite"):
        return
    desk.open("Printer on fire", "acme", product_area="billing")
    statements: list[str] = []
    engine = desk.svc.engine
    engine.dispose()
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(statements.append))
    rows = desk.svc.list_cases(view="open")
    assert [r.title for r in rows] == ["Printer on fire"] and not rows[0].sla_due
    assert statements and not any("sla_metric" in s or "sla_warning" in s for s in statements), statements

    # the console's quick connection asks whether the desk has policies, then pages the same way
    path = engine.url.database
    con = sqlite3.connect(path)
    seen: list[str] = []
    con.set_trace_callback(seen.append)
    quick = read_window(con.cursor(), "qmark", view="open", limit=10)
    assert [r.to_json() for r in quick] == [r.to_json() for r in rows]
    assert any(s.startswith("SELECT count(*) FROM sla_desk") for s in seen)
    assert not any("sla_metric" in s for s in seen), seen

    desk.svc.load_sla(POLICY, actor="sue")  # now the page looks service levels up
    seen.clear()
    read_window(con.cursor(), "qmark", view="open", limit=10)
    assert any("sla_metric" in s for s in seen)
    con.close()
