"""`deskconsole escalation ...`: escalation requests and decisions.
"""

from __future__ import annotations

from deskconsole.cli.common import Context, done, safe, when
from deskconsole.domain.errors import NotFound
from deskconsole.domain.lifecycle import EscalationState


def cmd_escalation_request(ctx: Context) -> int:
    a = ctx.args
    actor = None if a.by_customer else ctx.user
    if actor is not None and ctx.settings.user_source == "login":
        # Nobody said who is filing (only the login name is known): unless that login is an
        # agent, the request is recorded as the customer's own.
        try:
            ctx.service.get_agent(actor)
        except NotFound:
            actor = None
    case = ctx.service.request_escalation(a.id, a.reason, actor=actor)
    if a.json:
        ctx.out.json(case.to_json())
    else:
        esc = case.escalation
        ctx.out.line(f"case {case.id}: escalation requested; {safe(esc.manager if esc else 'managers')} notified")
    return 0


def cmd_escalation_review(ctx: Context) -> int:
    a = ctx.args
    esc = ctx.service.review_escalation(
        a.id, actor=ctx.user, severity_impact=a.severity_impact, business_risk=a.business_risk,
        sla_commitments=a.sla_commitments, actions_taken=a.actions_taken,
        problem_statement_ok=a.problem_statement_ok, impact_described=a.impact_described,
        workaround_impractical=a.workaround_impractical, milestone_date=a.milestone_date,
    )
    if a.json:
        ctx.out.json(esc.to_json())
    else:
        ctx.out.line(f"case {esc.case}: review recorded ({esc.state})")
    return 0


def cmd_escalation_decide(ctx: Context) -> int:
    a = ctx.args
    case = ctx.service.decide_escalation(
        a.id, a.decision, actor=ctx.user, reason=a.reason, engineer=a.engineer, comm_mode=a.comm_mode,
        comm_frequency=a.comm_frequency, comm_attendees=a.comm_attendees, expected_version=a.expect_version,
    )
    if a.json:
        ctx.out.json(case.to_json())
        return 0
    esc = case.escalation
    if esc is not None and esc.state == EscalationState.APPROVED:
        ctx.out.line(f"case {case.id}: escalation approved; now {case.priority}; engineer {safe(esc.engineer)}")
    else:
        ctx.out.line(f"case {case.id}: escalation denied; {safe(case.assignee or 'the manager')} "
                     "will explain the decision to the customer")
    return 0


def cmd_escalation_update(ctx: Context) -> int:
    return done(ctx, ctx.service.log_status_update(ctx.args.id, ctx.args.text, actor=ctx.user))


def cmd_escalation_deescalate(ctx: Context) -> int:
    a = ctx.args
    case = ctx.service.de_escalate(a.id, actor=ctx.user, plan_accepted=a.plan_accepted,
                                   rca_on_track=a.rca_on_track, customer_agreed=a.customer_agreed, note=a.note)
    if a.json:
        ctx.out.json(case.to_json())
    else:
        ctx.out.line(f"case {case.id}: de-escalated; back to {case.priority}")
    return 0


def cmd_escalation_list(ctx: Context) -> int:
    a = ctx.args
    rows = ctx.service.list_escalations(a.state, open_cases_only=a.open_cases)
    if a.json:
        ctx.out.json([e.to_json() for e in rows])
        return 0
    ctx.out.table(
        ["CASE", "STATE", "PRI", "REQUESTED", "BY", "MANAGER", "CUSTOMER", "TITLE"],
        [[e.case, e.state, e.case_priority, when(e.requested_at), e.requested_by, e.manager, e.customer, e.case_title]
         for e in rows],
        widths={4: 24, 6: 24, 7: 60},
    )
    return 0
