"""`report backlog` and `report csat`: the open cases by age and satisfaction per week, each one
aggregate query (the plans are checked on SQLite), on both databases, and through the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_cli import desk as cli_desk_of
from test_cli import desk_template, opened  # noqa: F401  (fixtures)

from deskconsole.domain.errors import InvalidInput


def _backlog_desk(desk):
    """Wednesday 2026-11-25 09:00: an old P2 (40 days), a P3 of 10 days (bob's), a P3 of 2 days,
    a new P4 and a closed case; returns the ids (old, tenday, twoday, new, closed)."""
    desk.clock.set("2026-10-16T09:00:00Z")
    old = desk.open("Old export bug", "acme", severity="high")
    desk.clock.set("2026-11-15T09:00:00Z")
    tenday = desk.open("Ten-day login issue", "globex")
    desk.svc.assign(tenday.id, "bob", actor="mona")
    desk.clock.set("2026-11-23T09:00:00Z")
    twoday = desk.open("Two-day report issue", "acme")
    closed = desk.open("Closed at once", "acme")
    desk.svc.close(closed.id, reason="duplicate", actor="alice")
    desk.clock.set("2026-11-25T08:00:00Z")
    new = desk.open("New today", "initech", severity="low")
    desk.clock.set("2026-11-25T09:00:00Z")
    return old, tenday, twoday, new, closed


def test_backlog_counts_the_open_cases_by_age_and_group(desk) -> None:
    old, _, _, _, _ = _backlog_desk(desk)
    report = desk.svc.backlog_report()
    assert [(r["group"], r["age"], r["open"]) for r in report] == [
        ("desk", "<1d", 1), ("desk", "1-3d", 1), ("desk", "7-30d", 1), ("desk", ">30d", 1)]
    assert report[-1]["oldest"] == "2026-10-16T09:00:00Z"
    by_priority = desk.svc.backlog_report(by="priority")
    assert [(r["group"], r["age"], r["open"]) for r in by_priority] == [
        ("P2", ">30d", 1), ("P3", "1-3d", 1), ("P3", "7-30d", 1), ("P4", "<1d", 1)]
    by_agent = {(r["group"], r["age"]): r["open"] for r in desk.svc.backlog_report(by="agent")}
    assert by_agent[("bob", "7-30d")] == 1
    assert sum(by_agent.values()) == 4
    by_customer = {(r["group"], r["age"]): r["open"] for r in desk.svc.backlog_report(by="customer")}
    assert by_customer == {("acme", ">30d"): 1, ("acme", "1-3d"): 1, ("globex", "7-30d"): 1, ("initech", "<1d"): 1}
    # --since/--until keep the cases opened in that range
    since = datetime(2026, 11, 1, tzinfo=UTC)
    until = datetime(2026, 11, 24, tzinfo=UTC)
    assert [(r["age"], r["open"]) for r in desk.svc.backlog_report(since=since, until=until)] == [
        ("1-3d", 1), ("7-30d", 1)]
    # a case closed leaves the backlog
    desk.svc.close(old.id, reason="withdrawn", actor="mona")
    assert ">30d" not in [r["age"] for r in desk.svc.backlog_report()]
    with pytest.raises(InvalidInput, match="--by must be one of agent, priority, customer"):
        desk.svc.backlog_report(by="weather")
    with pytest.raises(InvalidInput, match="--until must come after --since"):
        desk.svc.backlog_report(since=until, until=since)


def _answered(desk, customer: str, score: int, at: str) -> None:
    case = desk.open("Survey me", customer)
    desk.svc.close(case.id, reason="fixed by phone", actor="alice")
    desk.clock.set(at)
    desk.svc.answer_survey(case.id, score)


def test_csat_per_week_counts_averages_and_shares_of_good_scores(desk) -> None:
    desk.clock.set("2026-11-16T09:00:00Z")
    _answered(desk, "acme", 5, "2026-11-16T10:00:00Z")  # Monday: week of 11-16
    _answered(desk, "acme", 2, "2026-11-22T23:59:00Z")  # Sunday night: still the week of 11-16
    _answered(desk, "globex", 4, "2026-11-23T00:00:00Z")  # Monday midnight: the week of 11-23
    _answered(desk, "globex", 3, "2026-11-25T08:00:00Z")
    unanswered = desk.open("No answer", "acme")
    desk.svc.close(unanswered.id, reason="fixed", actor="alice")
    assert desk.svc.csat_report() == [
        {"week": "2026-11-16", "group": "desk", "answered": 2, "average": 3.5, "csat": 50.0},
        {"week": "2026-11-23", "group": "desk", "answered": 2, "average": 3.5, "csat": 50.0},
    ]
    by_customer = desk.svc.csat_report(by="customer")
    assert [(r["week"], r["group"], r["answered"], r["csat"]) for r in by_customer] == [
        ("2026-11-16", "acme", 2, 50.0), ("2026-11-23", "globex", 2, 50.0)]
    assert [r["csat"] for r in desk.svc.csat_report(since=datetime(2026, 11, 23, tzinfo=UTC))] == [50.0]
    assert desk.svc.csat_report(until=datetime(2026, 11, 16, tzinfo=UTC)) == []
    by_agent = desk.svc.csat_report(by="agent")
    assert sum(r["answered"] for r in by_agent) == 4


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # (the plan checked is SQLite's)
def test_each_report_is_one_indexed_query_on_sqlite(desk, db_url) -> None:
    from deskconsole.service.insight import InsightMixin  # noqa: F401  (the queries are the service's)

    statements: list[str] = []
    from sqlalchemy import event

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "GROUP BY" in statement:
            statements.append((statement, parameters))

    event.listen(desk.svc.engine, "before_cursor_execute", seen)
    try:
        desk.svc.backlog_report(by="priority")
        desk.svc.csat_report(since=datetime(2026, 11, 1, tzinfo=UTC))
        desk.svc.insight()  # (backlog, csat again, then its two queries of the metric events)
    finally:
        event.remove(desk.svc.engine, "before_cursor_execute", seen)
    assert len(statements) == 6, "each report is one aggregate query; the Insight pane's figures four"
    plans = []
    with desk.svc.engine.connect() as conn:
        for statement, parameters in statements:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plans.append(" / ".join(row[-1] for row in plan))
    print("\n".join(plans))
    assert plans[0].startswith("SEARCH case USING INDEX ix_case_status"), plans[0]
    assert "USING INDEX ix_survey_answered_at" in plans[1], plans[1]
    assert "SCAN" not in plans[1].replace("SCAN CONSTANT", ""), plans[1]
    for plan in plans[4:]:  # the metric events by (kind, at); every lookup of a case's own by (case_id, id)
        assert plan.startswith("SEARCH sla_metric USING INDEX ix_sla_metric_kind_at (kind=? AND at>?)"), plan
        assert "SCAN" not in plan, plan
        lookups = [step for step in plan.split(" / ") if step.startswith("SEARCH ") and " AS " not in step
                   and not step.startswith(("SEARCH sla_metric USING INDEX ix_sla_metric_kind_at", "SEARCH case"))]
        assert all("ix_sla_metric_case" in step for step in lookups), plan


@pytest.fixture
def cli_desk(desk_template, tmp_path):  # noqa: F811
    """test_cli's desk: a small staffed SQLite desk driven through the command line."""
    return cli_desk_of.__wrapped__(desk_template, tmp_path)


def test_report_backlog_and_csat_on_the_command_line(cli_desk) -> None:
    desk = cli_desk
    desk.ingest(opened("Export fails"), opened("Login slow", customer="Globex"), now="2026-11-20T09:00:00Z")
    desk.ok("case", "close", "2", "--reason", "fixed by phone", user="al", now="2026-11-23T09:00:00Z")
    desk.ingest({"type": "survey.answered", "case": 2, "score": 5}, now="2026-11-24T09:00:00Z")
    run = desk.ok("report", "backlog", "--json", now="2026-11-25T09:00:00Z")
    assert run.json() == [{"group": "desk", "age": "3-7d", "open": 1, "oldest": "2026-11-20T09:00:00Z"}]
    assert desk.ok("report", "backlog", "--csv", "--by", "customer", now="2026-11-25T09:00:00Z").out == (
        "group,age,open,oldest\nAcme,3-7d,1,2026-11-20T09:00:00Z\n")
    table = desk.ok("report", "backlog", "--by", "priority", now="2026-11-25T09:00:00Z").out
    assert table.splitlines()[0].split() == ["PRIORITY", "AGE", "OPEN", "OLDEST"]
    assert table.splitlines()[1].split() == ["P3", "3-7d", "1", "2026-11-20T09:00:00Z"]
    assert desk.ok("report", "csat", "--json").json() == [
        {"week": "2026-11-23", "group": "desk", "answered": 1, "average": 5.0, "csat": 100.0}]
    assert desk.ok("report", "csat").out.splitlines()[1].split() == ["2026-11-23", "desk", "1", "5.00", "100%"]
    assert desk.ok("report", "csat", "--since", "2026-11-25", "--json").json() == []
    bad = desk("report", "csat", "--since", "2026-11-31")
    assert bad.code == 2 and bad.err.startswith("error: argument --since: not a calendar date")
    refused = desk.refused("report", "backlog", "--since", "2026-11-25", "--until", "2026-11-20")
    assert refused.err == "error: --until must come after --since\n"



INSIGHT_POLICY = """\
[policies.P3]
calendar = "24x7"
first_response = "2h"
resolution = "8h"
"""


def test_insight_weekly_figures(desk) -> None:
    """Mon 2026-11-30: A resolved at the first reply; B answered, then resolved; C resolved, reopened
    by the customer, resolved again; D breaches its first response (answered late)."""
    desk.clock.set("2026-11-30T09:00:00Z")
    desk.svc.load_sla(INSIGHT_POLICY, actor="sue")
    a, b, c, d = (desk.open(f"Case {n}", "acme", product_area="billing") for n in "ABCD")
    for case in (a, b, c, d):
        desk.svc.move(case.id, "in_progress", actor="alice")
    desk.later(minutes=30)
    desk.svc.move(a.id, "awaiting_confirmation", note="Cleared the cache.", actor="alice")
    desk.svc.add_note(b.id, "Looking into it.", internal=False, actor="alice")
    desk.later(minutes=30)
    desk.svc.move(b.id, "awaiting_confirmation", note="Fixed the export.", actor="alice")
    desk.svc.move(c.id, "awaiting_confirmation", note="Restarted the service.", actor="alice")
    desk.svc.customer_reply(c.id, "Still broken.")
    desk.later(hours=2)  # 11:00: D's first response is due
    desk.svc.tick()
    desk.svc.move(c.id, "awaiting_confirmation", note="Replaced the disk.", actor="alice")
    desk.svc.add_note(d.id, "Sorry for the wait.", internal=False, actor="alice")
    desk.clock.set("2026-12-08T09:00:00Z")  # the next week
    figures = desk.svc.insight(weeks=2)
    assert figures.weeks == ["2026-11-30", "2026-12-07"]
    # met: A (first response, resolution), B (2 + resolution), C (first response, resolution twice... the
    # second after reopening), D's late answer is no "met"; breached: D's first response
    assert figures.sla == [{"week": "2026-11-30", "priority": "P3", "met": 7, "breached": 1, "compliance": 87.5}]
    assert figures.resolutions == [{"week": "2026-11-30", "resolved": 4, "reopened": 1, "first_contact": 1,
                                    "reopen_rate": 25.0, "fcr_rate": 25.0}]
    assert [(r["age"], r["open"]) for r in figures.backlog] == [("7-30d", 4)]
    assert figures.csat == []
    with pytest.raises(InvalidInput):
        desk.svc.insight(weeks=0)


def test_insight_judges_each_next_response_by_its_own_cycle(desk) -> None:
    """A next response breached once and then answered in time the next time counts one of each."""
    desk.clock.set("2026-11-30T09:00:00Z")
    desk.svc.load_sla(INSIGHT_POLICY + 'next_response = "1h"\n', actor="sue")
    case = desk.open("Case E", "acme", product_area="billing")
    desk.svc.add_note(case.id, "On it.", internal=False, actor="alice")  # first response: met
    desk.svc.customer_reply(case.id, "Any news?")
    desk.later(hours=2)
    desk.svc.tick()  # next response: breached
    desk.svc.add_note(case.id, "Sorry, still looking.", internal=False, actor="alice")  # late: not met
    desk.svc.customer_reply(case.id, "Thanks, and now?")
    desk.later(minutes=10)
    desk.svc.add_note(case.id, "Found it.", internal=False, actor="alice")  # in time: met
    figures = desk.svc.insight(weeks=1)
    assert [(r["met"], r["breached"]) for r in figures.sla] == [(2, 1)]
