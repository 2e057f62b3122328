"""`deskconsole sla load|show`, `case show` with its targets, `tick` lines of the SLA timers, and on
PostgreSQL who may load policies (enforced by the database for raw SQL too)."""

from __future__ import annotations

import pytest
from psycopg import errors
from test_cli import desk, desk_template, opened  # noqa: F401  (fixtures)
from test_pg_identity import cli, logins, ok, refused, team  # noqa: F401  (fixtures)
from test_pg_identity import opened as pg_opened

POLICY = """\
[calendars.eu]
timezone = "Europe/Berlin"
hours = "mon-fri 08:00-18:00"
holidays = ["DE"]
dates = ["2026-12-24"]
[policies.P3]
calendar = "eu"
first_response = "8h"
next_response = "4h"
resolution = "5d"
warning = "50%"
"""
MON_10 = "2026-11-30T09:00:00Z"


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "sla.toml"
    path.write_text(POLICY)
    return path


def test_sla_load_and_show(desk, policy_file, tmp_path) -> None:  # noqa: F811
    assert desk.ok("sla", "show").out.startswith("no service-level policies loaded")
    assert desk.ok("sla", "show", "--json").json() == {"loaded": False, "warning": None, "calendars": {},
                                                        "policies": {}}
    run = desk.ok("sla", "load", str(policy_file), user="boss")
    assert run.out == "loaded 1 calendar and 1 policy; 0 open cases moved to the new policies\n"
    shown = desk.ok("sla", "show", "--json").json()
    assert shown["loaded"] is True
    assert shown["policies"] == {"P3": {"calendar": "eu", "first_response": "8h", "next_response": "4h",
                                        "resolution": "5d", "warning": 0.5}}
    assert shown["calendars"]["eu"]["dates"] == ["2026-12-24"]
    text = desk.ok("sla", "show").out
    assert "  P3  calendar eu · first response 8h · next response 4h · resolution 5d · warning at 50%" in text


def test_a_bad_file_or_a_refused_user_changes_nothing(desk, policy_file, tmp_path) -> None:  # noqa: F811
    desk.ok("sla", "load", str(policy_file), user="boss")
    before = desk.ok("sla", "show", "--json").out
    bad = tmp_path / "bad.toml"
    bad.write_text(POLICY.replace('hours = "mon-fri 08:00-18:00"', 'hours = "mon-fri 18:00-08:00"'))
    run = desk.refused("sla", "load", str(bad), user="boss")
    assert run.err.startswith("error: line 3: calendars.eu.hours: ")
    broken = tmp_path / "broken.toml"
    broken.write_text(POLICY + "[policies.P4\n")
    assert desk.refused("sla", "load", str(broken), user="boss").err.startswith("error: line 12: not valid TOML")
    assert "only a supervisor or the administrator" in desk.refused("sla", "load", str(policy_file), user="al").err
    assert "cannot read" in desk.refused("sla", "load", str(tmp_path / "missing.toml"), user="boss").err
    assert desk.ok("sla", "show", "--json").out == before


def test_case_show_and_tick_show_the_targets(desk, policy_file) -> None:  # noqa: F811
    desk.ok("sla", "load", str(policy_file), user="boss", now=MON_10)
    case = desk.ingest(opened(), now=MON_10).lines()[0]["case"]
    shown = desk.ok("case", "show", str(case), "--json", now="2026-11-30T11:00:00Z").json()
    assert shown["sla"] == {
        "first_response": {"due": "2026-11-30T17:00:00Z", "state": "running", "used": 7200, "target": 28800},
        "next_response": None,
        "resolution": {"due": "2026-12-07T09:00:00Z", "state": "running", "used": 7200, "target": 180000},
    }
    text = desk.ok("case", "show", str(case), now="2026-11-30T11:00:00Z").out
    assert "  sla first response: running · 2h of 8h used · due 2026-11-30T17:00:00Z (6h 00m)\n" in text
    assert "  sla resolution: running · 2h of 50h used · due 2026-12-07T09:00:00Z (6d 22h)\n" in text
    lines = desk.ok("tick", now="2026-11-30T17:00:00Z").lines()
    assert lines == [
        {"case": case, "timer": "sla_warning", "due": "2026-11-30T13:00:00Z", "fired": "2026-11-30T17:00:00Z"},
        {"case": case, "timer": "sla_breach", "due": "2026-11-30T17:00:00Z", "fired": "2026-11-30T17:00:00Z"},
    ]
    assert desk.ok("tick", now="2026-11-30T17:00:00Z").out == ""
    outbox = [o for o in desk.ok("outbox", "list", "--json").json() if o["kind"] == "sla_breach"]
    assert len(outbox) == 1 and outbox[0]["to"] == "mia"  # al's manager
    kinds = [e["kind"] for e in desk.show(case)["events"]]
    assert kinds.count("sla_breached") == 1 and kinds.count("sla_started") == 2


# --------------------------------------------------------------------------- PostgreSQL: who may load


def test_on_postgresql_supervisors_and_the_administrator_load_and_analysts_cannot(team, cli, tmp_path) -> None:  # noqa: F811
    path = tmp_path / "sla.toml"
    path.write_text(POLICY)
    refused(cli("sla", "load", str(path), login=team.alice), "only a supervisor")
    refused(cli("sla", "load", str(path), login=team.helen), "only a supervisor")
    ok(cli("sla", "load", str(path), login=team.sofia))
    ok(cli("sla", "load", str(path)))  # the administrator, as no agent
    shown = ok(cli("sla", "show", "--json", login=team.alice)).json()  # every agent reads them
    assert shown["policies"]["P3"]["resolution"] == "5d"
    # the database itself refuses an analyst's or a manager's SQL on the policies and the metric events
    for login in (team.alice, team.helen):
        with team.sql(login) as conn, pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE sla_desk SET document = '{}'")
    case = pg_opened(cli, login=team.alice)  # the service's path writes metric events under an analyst's login
    shown = ok(cli("case", "show", str(case), "--json", login=team.alice)).json()
    assert shown["sla"]["first_response"]["state"] == "running"
    with team.sql(team.alice) as conn:
        assert conn.execute("SELECT count(*) FROM sla_metric WHERE case_id = %s", (case,)).fetchone()[0] == 2
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DELETE FROM sla_metric")


def test_report_sla_as_text_json_and_csv(desk, policy_file) -> None:  # noqa: F811
    desk.ok("sla", "load", str(policy_file), user="boss", now=MON_10)
    case = desk.ingest(opened(), now=MON_10).lines()[0]["case"]
    desk.ok("tick", now="2026-11-30T18:00:00Z")
    assert desk.ok("report", "sla", "--json", now="2026-11-30T18:00:00Z").json() == [
        {"group": "desk", "target": "first_response", "met": 0, "breached": 1, "compliance": 0.0}]
    assert desk.ok("report", "sla", "--csv", "--by", "priority", "--since", "2026-11-30", "--until", "2026-11-30",
                   ).out == "group,target,met,breached,compliance\nP3,first_response,0,1,0.0\n"
    assert desk.ok("report", "sla", "--since", "2026-12-01", "--json").json() == []
    text = desk.ok("report", "sla", "--by", "agent").out.splitlines()
    assert text[0].split() == ["AGENT", "TARGET", "MET", "BREACHED", "COMPLIANCE"]
    assert text[1].split() == [desk.show(case)["assignee"], "first_response", "0", "1", "0%"]
    assert desk("report", "sla", "--by", "weather").code == 2
