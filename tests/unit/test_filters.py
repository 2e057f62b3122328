"""The filter language: parsing and formatting (domain/filters.py), and the lists and counts the
service makes of it (one indexed query each), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.filters import (
    ESCALATION_VALUES,
    CaseFilter,
    format_filter,
    looks_like_filter,
    parse_filter,
)
from deskconsole.domain.lifecycle import Priority, Status, SubStatus
from deskconsole.store.case_filter import count_sql, filter_sql
from deskconsole.store.window import window_sql

# ------------------------------------------------------------------------------ the language

_TEXT = st.text(st.characters(codec="utf-8", exclude_characters='"', exclude_categories=("Cc", "Cs")),
                min_size=1, max_size=20).map(lambda t: " ".join(t.split())).filter(bool)
_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(lambda n: n not in ("me", "none"))


def _set(values: st.SearchStrategy[str], max_size: int = 3) -> st.SearchStrategy[tuple[str, ...]]:
    return st.sets(values, max_size=max_size).map(lambda s: tuple(sorted(s)))


_AGE = st.integers(min_value=1, max_value=3650 * 86400).map(lambda s: timedelta(seconds=s))

FILTERS = st.builds(
    CaseFilter,
    statuses=_set(st.sampled_from([s.value for s in Status])),
    sub_statuses=_set(st.sampled_from([s.value for s in SubStatus])),
    priorities=_set(st.sampled_from([p.value for p in Priority])),
    areas=_set(_TEXT.map(str.lower).filter(lambda t: t == " ".join(t.split()) and t)),
    customers=_set(_TEXT),
    assignees=_set(st.one_of(st.sampled_from(["me", "none"]), _NAME)),
    escalations=_set(st.sampled_from(ESCALATION_VALUES)),
    sla=_set(st.just("breached")),
    older_than=st.none() | _AGE,
    newer_than=st.none() | _AGE,
    tags=_set(_TEXT.map(str.lower).filter(lambda t: t == " ".join(t.split()) and t)),  # (kept lower case)
    words=st.lists(_TEXT, max_size=4).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(FILTERS)
def test_format_then_parse_gives_the_same_filter(f: CaseFilter) -> None:
    text = format_filter(f)
    assert parse_filter(text) == f
    assert format_filter(parse_filter(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_is_refused_with_input_error(text: str) -> None:
    try:
        f = parse_filter(text)
    except InvalidInput as exc:
        refusal = str(exc)
        assert refusal and "\n" not in refusal  # one line to show
        return
    assert parse_filter(format_filter(f)) == f


def test_every_term_of_the_issue_parses() -> None:
    f = parse_filter('status:pending sub:customer_input prio:P1,p2 area:Billing customer:acme '
                     'assignee:me|none|bob esc:open sla:breached age:>3d tag:x login "month  end"')
    assert f == CaseFilter(
        statuses=("pending",), sub_statuses=("customer_input",), priorities=("P1", "P2"), areas=("billing",),
        customers=("acme",), assignees=("bob", "me", "none"), escalations=("open",), sla=("breached",),
        older_than=timedelta(days=3), tags=("x",), words=("login", "month end"),
    )
    assert f.search_text() == "login month-end"


def test_repeated_keys_add_values_and_age_takes_two_bounds() -> None:
    f = parse_filter("status:new status:pending,new age:>1d age:<2d12h")
    assert f.statuses == ("new", "pending")
    assert (f.older_than, f.newer_than) == (timedelta(days=1), timedelta(days=2, hours=12))
    assert format_filter(f) == "status:new,pending age:>1d age:<2d12h"
    assert parse_filter('customer:"Acme Corp" customer:globex').customers == ("Acme Corp", "globex")


@pytest.mark.parametrize(("text", "says"), [
    ("colour:red", ["colour:red", "unknown filter key 'colour'", "status:", "tag:"]),
    ("status:done", ["status:done", "unknown status 'done'", "awaiting_confirmation"]),
    ("sub:lunch", ["unknown sub-status 'lunch'", "customer_input"]),
    ("prio:P7", ["unknown priority 'P7'", "P1, P2, P3, P4"]),
    ("esc:maybe", ["unknown escalation state 'maybe'", "open"]),
    ("sla:fine", ["unknown service-level state 'fine'", "breached"]),
    ("age:3d", ["age:3d", "bad age '3d'", "age:>3d"]),
    ("age:>soon", ["bad age '>soon'", "not a duration"]),
    ("age:>1d age:>2d", ["age:> is given twice"]),
    ("status:", ["status: needs a value"]),
    ('login "month end', ["quote is left open"]),
])
def test_a_bad_term_is_refused_naming_it_and_what_is_allowed(text: str, says: list[str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_filter(text)
    for words in says:
        assert words in str(refused.value)


def test_filter_text_is_told_from_plain_search_words() -> None:
    assert looks_like_filter("status:new")
    assert looks_like_filter("login prio:P1")
    assert not looks_like_filter("login fails")
    assert not looks_like_filter("a:b 12:30")  # unknown keys: plain words for the search


# ------------------------------------------------------------------------------ the service


@pytest.fixture
def cases(desk):
    """Six cases of two customers, opened over a week; one escalated, one pending on the customer."""
    svc = desk.svc
    made = {}
    made["login"] = desk.open("Login fails on mobile", "Acme Corp", product_area="billing", severity="high")
    desk.later(days=2)
    made["invoice"] = desk.open("Invoice total is wrong", "Globex", product_area="billing")
    made["export"] = desk.open("Month end export is slow", "Acme Corp", product_area="reporting",
                               severity="production_down")
    desk.later(days=2)
    made["asked"] = desk.case_in("pending", "customer_input", title="Password reset mail missing",
                                 customer="Initech", product_area="billing")
    made["escalated"] = desk.open("Refund not received", "Acme Corp", product_area="billing", severity="low")
    svc.request_escalation(made["escalated"].id, reason="Month-end close is blocked.", actor="alice")
    made["closed"] = desk.case_in("closed", title="Old login question", customer="Acme Corp")
    desk.later(days=1)
    return {k: v.id for k, v in made.items()}


FILTER_CASES = [
    ("status:new", {"login", "invoice", "export", "escalated"}),
    ("status:closed,pending", {"asked", "closed"}),
    ("sub:customer_input", {"asked"}),
    ("prio:P1,P2", {"login", "export"}),
    ("area:Billing", {"login", "invoice", "asked", "escalated"}),
    ("customer:acme", {"login", "export", "escalated", "closed"}),
    ('customer:"acme corp" month', {"export"}),
    ("customer:glob,initech", {"invoice", "asked"}),
    ("assignee:none", {"export"}),  # nobody has the reporting skill
    ("esc:open", {"escalated"}),
    ("esc:requested", {"escalated"}),
    ("esc:none status:new", {"login", "invoice", "export"}),
    ("age:>4d", {"login"}),
    ("age:<2d", {"asked", "escalated", "closed"}),
    ("age:>2d age:<4d", {"invoice", "export"}),
    ('"month end"', {"export"}),
    ("end month", {"export"}),
    ('"end month"', set()),  # a phrase keeps its words in order
    ("login", {"login", "closed"}),
    ("login status:new", {"login"}),
    ("", {"login", "invoice", "export", "asked", "escalated", "closed"}),
]


@pytest.mark.parametrize(("text", "expected"), FILTER_CASES, ids=[t or "(empty)" for t, _ in FILTER_CASES])
def test_the_list_and_the_count_answer_the_filter(desk, cases, text, expected) -> None:
    svc = desk.svc
    rows = svc.list_cases(filter=text, actor="alice")
    assert {r.id for r in rows} == {cases[k] for k in expected}
    assert [r.id for r in rows] == sorted(r.id for r in rows)  # oldest first, as every list
    assert svc.count_cases(text, actor="alice") == len(expected)


def test_assignee_me_is_whoever_acts_and_names_must_be_agents(desk, cases) -> None:
    svc = desk.svc
    mine = {r.id for r in svc.list_cases(filter="assignee:me", actor="alice")}
    bobs = {r.id for r in svc.list_cases(filter="assignee:me", actor="bob")}
    assert mine and bobs and not mine & bobs
    assert {r.id for r in svc.list_cases(filter="assignee:alice", actor="bob")} == mine
    assert {r.id for r in svc.list_cases(filter="assignee:alice,bob", actor="sue")} == mine | bobs
    assert svc.count_cases("assignee:me", actor="alice") == len(mine)
    with pytest.raises(InvalidInput, match="assignee:carol: no agent is called 'carol'"):
        svc.list_cases(filter="assignee:carol", actor="alice")
    with pytest.raises(InvalidInput, match="assignee:me: who is acting"):
        svc.count_cases("assignee:me")


def test_a_filter_combines_with_limit_view_and_search(desk, cases) -> None:
    svc = desk.svc
    assert [r.id for r in svc.list_cases(filter="customer:acme", limit=2)] == [cases["login"], cases["export"]]
    assert {r.id for r in svc.list_cases(filter="customer:acme", view="open")} == {
        cases["login"], cases["export"], cases["escalated"]}
    assert [r.id for r in svc.list_cases(filter="customer:acme", text="refund")] == [cases["escalated"]]


def test_tags_filter_the_cases_carrying_them(desk, cases) -> None:
    svc = desk.svc
    assert svc.list_cases(filter="sla:breached") == []  # no service levels loaded: nothing breached
    assert svc.count_cases("tag:x") == 0
    svc.tag_case(cases["login"], add=["x"], actor="alice")
    svc.tag_case(cases["export"], add=["y"], actor="alice")
    assert [r.id for r in svc.list_cases(filter="tag:X")] == [cases["login"]]
    assert [r.id for r in svc.list_cases(filter="tag:x,y")] == [cases["login"], cases["export"]]
    assert svc.count_cases("tag:x,y") == 2


# ------------------------------------------------------------------------------ the plans

INDEXED = [
    ("status:new,in_progress", "ix_case_status_"),  # (_id or _sub: either has the status first)
    ("sub:customer_input", "ix_case_status_sub"),
    ("prio:P1", "ix_case_priority_id"),
    ("area:billing status:new", "ix_case_area_status"),
    ("area:billing", "ix_case_area_status"),
    ("age:<3d", "ix_case_created_id"),
    ("assignee:bob", "ix_case_assignee_status"),
    ("customer:acme", "case_fts"),
    ("customer:acme status:new", "case_fts"),
    ("login fails", "case_fts"),
    ("tag:vip", "ix_case_tag_tag"),
    ("tag:vip status:new", "ix_case_tag_tag"),
]


@pytest.mark.parametrize(("text", "index"), INDEXED, ids=[t for t, _ in INDEXED])
def test_counts_and_windows_go_through_an_index_on_sqlite(sqlite_url, text, index) -> None:
    from datetime import UTC, datetime

    f = parse_filter(text)
    fs = filter_sql(f, now=datetime(2026, 11, 25, tzinfo=UTC), me=None, agents={"bob": 5})
    con = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    try:
        plans = [count_sql(fs)]
        if not text.startswith("age:"):  # (a window by id order with only an age bound may walk the ids)
            plans.append(window_sql(limit=50, text=fs.text, where_terms=fs.terms, where_params=fs.params))
        for plan in plans:
            steps = [row[3] for row in con.execute("EXPLAIN QUERY PLAN " + plan.sql, plan.params)]
            assert any(index in step for step in steps), steps
            assert "SCAN c" not in steps, steps  # never every case of the desk
    finally:
        con.close()


def test_a_breached_count_reads_the_breached_ids_and_asks_nothing_of_them_again() -> None:
    from datetime import UTC, datetime

    fs = filter_sql(parse_filter("status:new sla:breached tag:vip,urgent"), now=datetime(2026, 11, 25, tzinfo=UTC),
                    me=None, agents={})
    plan = count_sql(fs)
    # the breached cases come from their own lookups (the ids); the term that says the same of each
    # case is left out, and every other term keeps its own parameters, in order
    assert plan.sql.startswith("WITH matched AS MATERIALIZED (SELECT m.case_id")
    assert "m.case_id = c.id" not in plan.sql
    assert plan.sql.count("?") == len(plan.params)
    assert sorted(plan.params[-2:]) == ["urgent", "vip"]
    assert "new" in plan.params
