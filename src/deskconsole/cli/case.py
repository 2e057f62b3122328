"""`deskconsole case ...`: work on cases.
"""

from __future__ import annotations

from typing import Any

from deskconsole.cli.common import Context, countdown, done, print_case_line, safe, safe_block, when
from deskconsole.cli.mail import event_detail as mail_event_detail
from deskconsole.cli.mail import raw_hints as mail_raw_hints
from deskconsole.domain.clock import format_countdown
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import EscalationState
from deskconsole.domain.saved_views import BASE_FILTERS as WINDOW_VIEWS
from deskconsole.service.many import Action, Assign, Close, Move


def cmd_case_list(ctx: Context) -> int:
    a = ctx.args
    if a.view in WINDOW_VIEWS:
        rows = ctx.service.list_cases(status=a.status, limit=a.limit, view=a.view, actor=ctx.user, text=a.search,
                                      filter=a.filter)
    else:  # a named view (cli/views.py): its filter narrowed by --filter, its sort
        from deskconsole.cli.views import named_view

        rows = ctx.service.list_view(named_view(ctx, a.view), actor=ctx.user, typed=a.filter, status=a.status,
                                     limit=a.limit, text=a.search)
    if a.json:
        ctx.out.json([r.to_json() for r in rows])
        return 0
    now = ctx.service.now()

    def next_timer(r: Any) -> str | None:
        if r.next_timer is None or r.next_timer_due is None:
            return None
        return f"{r.next_timer} {format_countdown(r.next_timer_due - now)}"

    ctx.out.table(
        ["ID", "PRI", "STATUS", "ASSIGNEE", "ESC", "NEXT TIMER", "CUSTOMER", "TITLE"],
        [
            [r.id, r.priority, r.status + (f"/{r.sub_status}" if r.sub_status else ""), r.assignee,
             r.escalation, next_timer(r), r.customer, r.title]
            for r in rows
        ],
        widths={4: 12, 5: 24, 6: 24, 7: 70},
    )
    return 0


def cmd_case_show(ctx: Context) -> int:
    case = ctx.service.get_case(ctx.args.id)
    if ctx.args.json:
        ctx.out.json(mail_raw_hints(case.to_json()))
        return 0
    line = ctx.out.line
    status = case.status + (f" / {case.sub_status}" if case.sub_status else "")
    line(f"case {case.id}: {safe(case.title)}")
    fields: list[tuple[str, object]] = [
        ("status", status),
        ("priority", f"{case.priority} (severity {case.severity})"),
        ("customer", case.customer + (f" <{case.contact}>" if case.contact else "")),
        ("assignee", case.assignee or "team queue"),
        ("product area", case.product_area),
        ("ref", case.ref),
        ("opened", when(case.created_at)),
        ("updated", f"{when(case.updated_at)} by {case.last_actor or '-'}: {case.last_change or '-'}"),
        ("version", case.version),
    ]
    if case.attention:
        fields.append(("attention", case.attention))
    for t in case.timers:
        fields.append((t.kind.replace("_", "-"), countdown(ctx, t.due)))
    for target, state in (case.sla or {}).items():  # service levels (cli/sla.py)
        if state is not None:
            from deskconsole.cli.sla import target_line

            fields.append((f"sla {target.replace('_', ' ')}", target_line(ctx, state)))
    if case.engineering_ref:
        fields.append(("engineering", case.engineering_ref))
    if case.cloned_from:
        fields.append(("cloned from", f"case {case.cloned_from}"))
    if case.merged_into:
        fields.append(("merged into", f"case {case.merged_into}"))
    if case.merged_from:
        fields.append(("merged from", ", ".join(f"case {n}" for n in case.merged_from)))
    if case.tags:
        fields.append(("tags", ", ".join(case.tags)))
    if case.split_from:
        fields.append(("split from", f"case {case.split_from}"))
    if case.split_into:
        fields.append(("split into", ", ".join(f"case {n}" for n in case.split_into)))
    if case.closed_at:
        fields.append(("closed", f"{when(case.closed_at)}: {case.close_reason or '-'}"))
    esc = case.escalation
    if esc is not None:
        text = f"{esc.state}, requested {when(esc.requested_at)} by {esc.requested_by}"
        if esc.decided_by:
            text += f"; decided by {esc.decided_by}"
        if esc.engineer and esc.state == EscalationState.APPROVED:
            text += f"; engineer {esc.engineer} ({esc.comm_mode}, {esc.comm_frequency})"
        fields.append(("escalation", text))
    if case.survey is not None:
        sv = case.survey
        answer = f"score {sv.score}" + (" (flagged)" if sv.flagged else "") if sv.score else "not answered"
        fields.append(("survey", f"sent {when(sv.sent_at)}, {answer}"))
    for art in case.articles:
        fields.append(("article", f"#{art.id} {art.title}"))
    for label, value in fields:
        line(f"  {label + ':':<15} {safe('-' if value is None else value)}")
    for label, body in (("description", case.description), ("resolution", case.resolution)):
        if body:
            line(f"  {label}:")
            for text in safe_block(body).split("\n"):
                line(f"    {text}")
    line("  timeline:")
    for e in case.events:
        detail = _event_detail(e)
        # both times when they differ by a minute or more (a late timer, a replayed or DESKCONSOLE_NOW
        # time); and who typed it, when not the actor
        recorded = (f" (recorded {when(e.recorded_at)})"
                    if e.recorded_at and abs((e.recorded_at - e.at).total_seconds()) >= 60 else "")
        login = f" (os login {safe(e.os_login)})" if e.os_login else ""
        line(f"    {when(e.at)}{recorded}  {safe(e.actor)}{login}  {e.kind}{(': ' + safe(detail)) if detail else ''}")
        if e.body:
            for text in safe_block(e.body).split("\n"):
                line(f"        {text}")
    return 0


def _event_detail(e: Any) -> str:
    detail = _detail_of(e)
    merged = (e.data or {}).get("merged_from")
    if merged and e.kind != "merged_from":  # a copy of a merged case's conversation
        return f"{detail}{'; ' if detail else ''}from case {merged}"
    return detail


def _detail_of(e: Any) -> str:
    d = e.data or {}
    if e.kind == "merged_into":
        return f"case {d.get('into')}"
    if e.kind == "merged_from":
        return (f"case {d.get('from')} ({d.get('events', 0)} conversation events, {d.get('messages', 0)} mail "
                f"messages{', customers differ' if d.get('forced') else ''})")
    if d.get("channel") == "email" and "logged_by" not in d:  # (came by mail, not logged by an agent)
        return mail_event_detail(e.kind, d)
    if e.kind in ("status_changed",) and d.get("to"):
        moved = f"{d.get('from')} → {d['to']}" + (f"/{d['sub_status']}" if d.get("sub_status") else "")
        if d.get("asked") == "message":
            moved += " (question sent to the customer)"
        elif d.get("asked_outside"):
            moved += f" (asked outside the desk: {d['asked_outside']}; nothing sent)"
        return moved
    if e.kind == "customer_confirmed" and (d.get("channel") or d.get("logged_by")):
        return ", ".join(str(b) for b in (d.get("channel"), d.get("logged_by") and f"logged by {d['logged_by']}")
                         if b)
    if e.kind == "assigned":
        return d.get("assignee") or "team queue"
    if e.kind == "timer_fired":
        return f"{d.get('timer')} (due {d.get('due', '')[:19]})"
    if e.kind == "priority_changed":
        return f"{d.get('from')} → {d.get('to')}"
    if e.kind in ("edited", "tagged", "split_into") or (e.kind == "opened" and d.get("split_from")):
        from deskconsole.domain.editing import edit_words  # (the console's thread says the same)

        return edit_words(e.kind, d)
    if e.kind.startswith("sla_") and d.get("target"):  # service levels: the target named
        return str(d["target"]).replace("_", " ")
    if e.kind == "survey_answered":
        return f"score {d.get('score')}"
    if e.kind.endswith("_logged") and d.get("reference"):
        return str(d["reference"])
    return ""


def cmd_case_open(ctx: Context) -> int:
    a = ctx.args
    case, created = ctx.service.open_case(
        a.title, a.customer, description=a.description, contact=a.contact, product_area=a.product_area,
        severity=a.severity, ref=a.ref, actor=ctx.user, language=a.language, priority=a.priority,
    )
    return done(ctx, case, "opened:" if created else "already exists:")


def cmd_case_move(ctx: Context) -> int:
    a = ctx.args
    if len(a.id) > 1:
        return _many(ctx, Move(a.status, sub_status=a.sub_status, note=a.note, asked_outside=a.asked_outside))
    case = ctx.service.move(a.id[0], a.status, actor=ctx.user, sub_status=a.sub_status, note=a.note,
                            asked_outside=a.asked_outside, expected_version=a.expect_version)
    return done(ctx, case)


def cmd_case_close(ctx: Context) -> int:
    a = ctx.args
    if len(a.id) > 1:
        return _many(ctx, Close(a.reason))
    case = ctx.service.close(a.id[0], reason=a.reason, actor=ctx.user, expected_version=a.expect_version)
    return done(ctx, case)


def _many(ctx: Context, action: Action) -> int:
    """One action on several cases, each on its own: the done ones as one case alone prints them,
    one `error: case N: ...` line per refusal; exit status 1 when any was refused."""
    if ctx.args.expect_version is not None:
        raise InvalidInput("--expect-version names one case's version: give one case with it")
    refused = 0
    for outcome in ctx.service.apply_many(ctx.args.id, action, actor=ctx.user):
        if outcome.error is not None:
            refused += 1
            ctx.out.error(f"case {outcome.case_id}: {outcome.error}")
        else:
            done(ctx, outcome.case)
    return 1 if refused else 0


def cmd_case_merge(ctx: Context) -> int:
    a = ctx.args
    target = ctx.service.merge(a.source, a.target, actor=ctx.user, force=a.force)
    if a.json:
        ctx.out.json(target.to_json())
    else:
        ctx.out.line(f"case {a.source} is merged into case {target.id} and closed")
        print_case_line(ctx, target)
    return 0


def cmd_case_clone(ctx: Context) -> int:
    case = ctx.service.clone(ctx.args.id, actor=ctx.user, with_reply=ctx.args.with_reply)
    ctx.out.line(str(case.id))
    return 0


def cmd_case_assign(ctx: Context) -> int:
    a = ctx.args
    if len(a.id) > 1:
        return _many(ctx, Assign(a.name))
    return done(ctx, ctx.service.assign(a.id[0], a.name, actor=ctx.user, expected_version=a.expect_version))


def cmd_case_unassign(ctx: Context) -> int:
    a = ctx.args
    return done(ctx, ctx.service.assign(a.id, None, actor=ctx.user, expected_version=a.expect_version))


def cmd_case_take(ctx: Context) -> int:
    case = ctx.service.take_next(actor=ctx.user)
    if case is None:
        if ctx.args.json:
            ctx.out.json(None)
        else:
            # the console's words (domain/explain.py): the analyst's skills and what waits elsewhere
            ctx.out.line(f"nothing to take: {ctx.service.nothing_to_take(actor=ctx.user)}")
        return 0
    return done(ctx, case, "taken:")


def cmd_case_note(ctx: Context) -> int:
    a = ctx.args
    case = ctx.service.add_note(a.id, a.text, actor=ctx.user, internal=not a.public, expected_version=a.expect_version)
    return done(ctx, case)


def cmd_case_reply(ctx: Context) -> int:
    a = ctx.args
    case, notice = ctx.service.customer_reply(a.id, a.text, actor=ctx.user, channel="phone" if a.phone else "portal",
                                              expected_version=a.expect_version)
    if notice and not a.json:
        ctx.out.line(f"note: {safe(notice)}")
    return done(ctx, case)


def cmd_case_confirm(ctx: Context) -> int:
    return done(ctx, ctx.service.customer_confirm(ctx.args.id, actor=ctx.user, channel=ctx.args.how))


def cmd_case_defect(ctx: Context) -> int:
    a = ctx.args
    case = ctx.service.log_engineering(a.id, a.reference, a.summary, actor=ctx.user,
                                       kind="enhancement" if a.enhancement else "defect",
                                       expected_version=a.expect_version)
    return done(ctx, case)
