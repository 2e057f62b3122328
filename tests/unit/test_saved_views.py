"""Views of the queue (domain/saved_views.py, service/saved_views.py, cli/views.py): the config
file's [[views]] (a bad one refused with the file, the view and the reason), views saved per
agent, and each view's count equal to the length of its list, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import Desk as CliDesk
from test_cli import add_people
from test_sla_queue import POLICY

from deskconsole.domain.errors import InvalidInput, NotFound
from deskconsole.domain.filters import parse_filter
from deskconsole.domain.saved_views import (
    BASE_FILTERS,
    BUILT_IN,
    COLUMNS,
    View,
    built_in,
    count_text,
    find_view,
    first_view,
    narrow,
    saved_filter,
    view_query,
)
from deskconsole.settings import load_settings
from deskconsole.store.case_filter import capped_count_sql, filter_sql
from deskconsole.store.window import VIEWS as WINDOW_VIEWS
from deskconsole.tui.queuespec import COLUMNS as QUEUE_COLUMNS


def settings_with(tmp_path: Path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(db="sqlite:///x.db", user="al", environ={}, config_path=path)


# ------------------------------------------------------------------------------ config file


def test_config_views_are_read_with_their_filter_sort_and_columns(tmp_path) -> None:
    settings = settings_with(tmp_path, '''
[[views]]
name = "Billing P1"
filter = "area:Billing prio:p1,P2 status:new,in_progress"
sort = "sla"
columns = ["id", "priority", "sla", "title"]

[[views]]
name = "Acme"
filter = 'customer:"Acme Corp"'
''')
    billing, acme = settings.views
    assert billing == View("Billing P1", "status:in_progress,new prio:P1,P2 area:billing", "sla",
                           ("id", "priority", "sla", "title"), source="config")
    assert acme.filter == 'customer:"Acme Corp"' and acme.sort is None and acme.columns is None


@pytest.mark.parametrize(("toml", "says"), [
    ('[[views]]\nname = "P1"\nfilter = "prio:P9"', "view 'P1': filter: prio:P9: unknown priority 'P9'"),
    ('[[views]]\nname = "X"\nfilter = "colour:red"', "view 'X': filter: colour:red: unknown filter key 'colour'"),
    ('[[views]]\nname = "X"\nfilter = "status:new"\nsort = "random"', "view 'X': unknown sort 'random'"),
    ('[[views]]\nname = "X"\nfilter = ""\ncolumns = ["id", "mood"]', "view 'X': unknown column 'mood'"),
    ('[[views]]\nname = "X"\nfilters = "status:new"', "view 'X': unknown key 'filters'"),
    ('[[views]]\nfilter = "status:new"', "view 1: a view needs a name"),
    ('[[views]]\nname = "Open"\nfilter = "status:new"', "view 'Open': the name is taken"),
    ('[[views]]\nname = "A"\n[[views]]\nname = "a"', "view 'a': the name is taken"),
    ('views = "Open"', "views must be [[views]] tables"),
])
def test_a_bad_config_view_is_refused_with_the_file_the_view_and_the_reason(tmp_path, toml, says) -> None:
    with pytest.raises(InvalidInput) as refused:
        settings_with(tmp_path, toml)
    assert str(refused.value).startswith(f"config file {tmp_path / 'config.toml'}: ")
    assert says in str(refused.value)


def test_a_bad_config_view_is_one_error_line_on_the_command_line(sqlite_url, tmp_path) -> None:
    cli = CliDesk(sqlite_url, tmp_path)
    add_people(cli)
    config = tmp_path / "bad.toml"
    config.write_text('[[views]]\nname = "Mine too"\nfilter = "assignee:me sort:x"\n', encoding="utf-8")
    run = cli.refused("view", "list", user="al", env={"DESKCONSOLE_CONFIG": str(config)})
    assert "config file" in run.err and "view 'Mine too'" in run.err and "unknown filter key 'sort'" in run.err


def test_the_domain_knows_the_queues_columns_and_window_views() -> None:
    assert tuple(key for key, _, _ in QUEUE_COLUMNS) == COLUMNS
    assert set(BASE_FILTERS) == set(WINDOW_VIEWS)


# ------------------------------------------------------------------------------ the domain


def test_built_in_views_and_the_first_one_by_role() -> None:
    assert [v.name for v in built_in("analyst")] == ["Mine", "Open", "Unassigned", "Breached", "Escalated", "All"]
    assert [v.name for v in built_in("supervisor")] == ["Open", "Unassigned", "Breached", "Escalated", "All"]
    assert first_view("analyst").name == "Mine"
    assert first_view("manager").name == first_view("supervisor").name == "Open"


def test_narrowing_keeps_what_both_filters_ask() -> None:
    both = narrow(parse_filter("status:new,pending prio:P1 age:>2d"), parse_filter("status:pending age:>5d acme"))
    assert both == parse_filter("status:pending prio:P1 age:>5d acme")
    assert narrow(parse_filter("status:new"), parse_filter("status:closed")) is None
    breached = find_view(BUILT_IN, "breached")
    assert breached is not None
    assert view_query(breached, "prio:P1") == {"view": "open", "filter": parse_filter("sla:breached prio:P1"),
                                               "text": None}
    assert view_query(breached, "acme") == {"view": "open", "filter": parse_filter("sla:breached"), "text": "acme"}
    mine = find_view(BUILT_IN, "MINE")
    assert mine is not None
    assert view_query(mine, None) == {"view": "mine", "filter": None, "text": None}
    assert saved_filter(mine, "prio:P1") == (
        "status:awaiting_confirmation,in_progress,new,pending,reopened,update_received prio:P1 assignee:me")
    with pytest.raises(InvalidInput, match="nothing can match"):
        saved_filter(mine, "status:closed")


def test_counts_at_the_cap_say_so() -> None:
    assert [count_text(n) for n in (None, 0, 7, 1204, 9999, 10_000)] == ["…", "0", "7", "1,204", "9,999", "10k+"]


def test_a_capped_count_stops_at_the_cap() -> None:
    plan = capped_count_sql(filter_sql(parse_filter("status:closed"), now=None, me=None, agents={}), "sqlite", 500)
    assert plan.sql == 'SELECT count(*) FROM (SELECT 1 FROM "case" c WHERE c.status IN (?) LIMIT ?) capped'
    assert plan.params == ("closed", 500)


# ------------------------------------------------------------------------------ the service


@pytest.fixture
def staffed(desk):
    """The conftest desk with service levels, two analysts' cases, a breach, an escalation, closed cases."""
    svc = desk.svc
    desk.clock.set("2026-11-30T09:00:00Z")
    svc.load_sla(POLICY, actor="sue")
    made = [desk.open(f"Case {n}", "Acme Corp" if n % 2 else "Globex", product_area="billing",
                      severity="high" if n % 3 == 0 else "normal") for n in range(8)]
    for case, who in zip(made, ["alice", "bob", None, "alice", "alice", "alice", "alice", "alice"], strict=True):
        if svc.get_case(case.id).assignee != who:
            svc.assign(case.id, who, actor="mona")
    svc.request_escalation(made[3].id, reason="Blocked at month end.", actor="alice")
    for case in made[5:7]:
        svc.close(case.id, reason="duplicate of an older case", actor="alice")
    desk.later(hours=2)
    svc.tick()  # the high-severity cases breach their first response
    return desk


def every_view(svc, actor: str) -> list[View]:
    role = svc.get_agent(actor).role
    return [*built_in(role), *svc.saved_views(actor=actor)]


@pytest.mark.parametrize("actor", ["alice", "bob", "sue"])
def test_each_views_count_is_its_lists_length(staffed, actor) -> None:
    svc = staffed.svc
    svc.save_view("Acme open", "customer:acme status:new,in_progress", actor=actor)
    views = every_view(svc, actor)
    counts = svc.view_counts(views, actor=actor)
    lengths = {v.name: len(svc.list_view(v, actor=actor)) for v in views}
    assert counts == lengths
    assert counts["Breached"] > 0 and counts["Escalated"] == 1 and counts["All"] == 8
    assert counts["Open"] == 6 and counts["Acme open"] > 0
    # at the cap the count stops
    assert svc.count_view(find_view(views, "All"), actor=actor, cap=3) == 3


def test_counts_follow_a_change(staffed) -> None:
    svc = staffed.svc
    before = svc.view_counts(built_in("analyst"), actor="alice")
    case = svc.list_view(find_view(BUILT_IN, "Mine"), actor="alice")[0]
    svc.close(case.id, reason="answered on the phone", actor="alice")
    after = svc.view_counts(built_in("analyst"), actor="alice")
    assert after["Mine"] == before["Mine"] - 1 and after["Open"] == before["Open"] - 1
    assert after["All"] == before["All"]


def test_saved_views_are_each_agents_own(staffed) -> None:
    svc = staffed.svc
    view = svc.save_view("  Billing   P1 ", "area:billing prio:P1,P2", sort="sla", columns=["id", "title"],
                         actor="alice")
    assert view == View("Billing P1", "prio:P1,P2 area:billing", "sla", ("id", "title"))
    assert svc.saved_views(actor="alice") == [view]
    assert svc.saved_views(actor="bob") == []
    svc.save_view("billing p1", "status:new", actor="bob")  # bob's own, the same name
    with pytest.raises(InvalidInput, match="you have a view called 'BILLING P1' already"):
        svc.save_view("BILLING P1", "status:new", actor="alice")
    with pytest.raises(InvalidInput, match="taken by a view every desk has"):
        svc.save_view("breached", "status:new", actor="alice")
    with pytest.raises(InvalidInput, match="taken"):
        svc.save_view("Team", "status:new", actor="alice", reserved=["team"])
    with pytest.raises(InvalidInput, match="unknown status"):
        svc.save_view("Bad", "status:nope", actor="alice")
    with pytest.raises(InvalidInput, match="unknown sort"):
        svc.save_view("Bad", "status:new", sort="loudest", actor="alice")
    assert svc.saved_views(actor="alice") == [view]  # nothing refused was stored
    assert svc.delete_view("billing P1", actor="alice") == view
    assert svc.saved_views(actor="alice") == []
    assert [v.filter for v in svc.saved_views(actor="bob")] == ["status:new"]
    with pytest.raises(NotFound, match="no saved view called 'Billing P1'"):
        svc.delete_view("Billing P1", actor="alice")
    with pytest.raises(NotFound, match="cannot be deleted"):
        svc.delete_view("Open", actor="alice")


def test_a_view_with_assignee_me_counts_for_whoever_acts(staffed) -> None:
    svc = staffed.svc
    mine = find_view(BUILT_IN, "Mine")
    assert svc.count_view(mine, actor="alice") != svc.count_view(mine, actor="bob")
    assert svc.count_view(mine, actor="bob") == 1


# ------------------------------------------------------------------------------ the command line


def test_view_commands(sqlite_url, tmp_path) -> None:
    cli = CliDesk(sqlite_url, tmp_path)
    add_people(cli)
    for title in ("Export fails", "Invoice wrong", "Login broken"):
        cli.ok("case", "open", title, "--customer", "ACME", "--area", "billing", user="al")
    config = tmp_path / "views.toml"
    config.write_text('[[views]]\nname = "Billing"\nfilter = "area:billing"\nsort = "newest"\n', encoding="utf-8")
    env = {"DESKCONSOLE_CONFIG": str(config)}
    cli.ok("view", "save", "Acme new", "--filter", "customer:acme status:new", "--sort", "priority", user="al",
           env=env)
    listed = json.loads(cli.ok("view", "list", "--json", user="al", env=env).out)
    by_name = {v["name"]: v for v in listed}
    assert [v["name"] for v in listed if v["source"] == "built-in"] == [v.name for v in built_in("analyst")]
    assert by_name["Billing"] == {"name": "Billing", "source": "config", "filter": "area:billing", "sort": "newest",
                                  "columns": None}
    assert by_name["Acme new"]["filter"] == "status:new customer:acme" and by_name["Acme new"]["sort"] == "priority"
    assert "Open" in by_name and by_name["All"]["filter"] == ""
    # case list --view NAME: the view's filter (narrowed by --filter) and sort
    newest = json.loads(cli.ok("case", "list", "--view", "billing", "--json", user="al", env=env).out)
    assert [r["id"] for r in newest] == sorted((r["id"] for r in newest), reverse=True) and len(newest) == 3
    narrowed = json.loads(cli.ok("case", "list", "--view", "Billing", "--filter", "export", "--json", user="al",
                                 env=env).out)
    assert [r["title"] for r in narrowed] == ["Export fails"]
    run = cli.refused("case", "list", "--view", "nothing", user="al", env=env)
    assert "no view called 'nothing'" in run.err and "Billing" in run.err
    run = cli.refused("view", "save", "Billing", "--filter", "status:new", user="al", env=env)
    assert "taken" in run.err
    run = cli.refused("view", "save", "Odd", "--filter", "status:new", "--columns", "id,mood", user="al", env=env)
    assert "unknown column 'mood'" in run.err
    cli.ok("view", "delete", "ACME NEW", user="al", env=env)
    cli.refused("view", "delete", "Acme new", user="al", env=env)
    assert "Acme new" not in cli.ok("view", "list", user="al", env=env).out


def test_an_unknown_agent_saves_nothing(desk) -> None:
    with pytest.raises(NotFound, match="unknown agent 'nobody'"):
        desk.svc.save_view("Mine too", "status:new", actor="nobody")
    assert desk.svc.saved_views(actor="alice") == []
