"""A customer's context (service/customer.py), on both databases: their other cases open first,
their CSAT from answered surveys, their open escalations; other customers' cases never appear."""

from __future__ import annotations

import pytest

from deskconsole.domain.errors import NotFound


def test_the_customers_other_cases_open_first_with_csat_and_open_escalations(desk) -> None:
    svc = desk.svc
    here = desk.open("Invoice total is wrong").id
    old = desk.case_in("closed", title="Old invoice question").id
    older = desk.case_in("closed", title="Older invoice question").id
    pending = desk.case_in("pending", title="Export fails").id
    escalated = desk.case_in("in_progress", title="Payments down").id
    desk.open("Someone else's problem", customer="globex")
    svc.answer_survey(old, 5, "quick")
    svc.answer_survey(older, 2, None)
    svc.request_escalation(escalated, "The customer's CFO asks for a call.", actor="alice")

    ctx = svc.customer_context(here)
    assert ctx.customer == "acme"
    assert [c.id for c in ctx.cases] == [escalated, pending, older, old]  # open first, newest first
    assert [c.open for c in ctx.cases] == [True, True, False, False]
    assert (ctx.total, ctx.open) == (5, 3)
    assert (ctx.answers, ctx.good, ctx.csat, ctx.average) == (2, 1, 50.0, 3.5)
    assert [(c.id, c.escalation) for c in ctx.escalations] == [(escalated, "requested")]
    assert ctx.cases[0].escalation == "requested" and ctx.cases[0].assignee is not None
    # from another of the customer's cases, the first one is among the others
    assert here in [c.id for c in svc.customer_context(pending).cases]


def test_a_customer_with_one_case_and_no_answers(desk) -> None:
    svc = desk.svc
    alone = desk.open(customer="initech").id
    ctx = svc.customer_context(alone)
    assert (ctx.cases, ctx.total, ctx.open, ctx.answers, ctx.csat, ctx.escalations) == ([], 1, 1, 0, None, [])
    with pytest.raises(NotFound, match="unknown case 9999"):
        svc.customer_context(9999)
