"""`deskconsole survey ...`: satisfaction surveys.
"""

from __future__ import annotations

from deskconsole.cli.common import Context, when


def cmd_survey_answer(ctx: Context) -> int:
    a = ctx.args
    sv = ctx.service.answer_survey(a.id, a.score, a.comment)
    if a.json:
        ctx.out.json(sv.to_json())
    else:
        ctx.out.line(f"case {sv.case}: survey answered, score {sv.score}" + (" (flagged)" if sv.flagged else ""))
    return 0


def cmd_survey_summary(ctx: Context) -> int:
    summary = ctx.service.survey_summary(weeks=min(ctx.args.weeks, 520))
    if ctx.args.json:
        ctx.out.json(summary.to_json())
        return 0
    line = ctx.out.line
    csat = "-" if summary.csat is None else f"{summary.csat:.1f}%"
    line(f"surveys sent {summary.sent}, answered {summary.answered}, CSAT {csat}")
    line("scores: " + "  ".join(f"{k}: {v}" for k, v in sorted(summary.distribution.items())))
    if summary.flagged:
        line("flagged for follow-up:")
        ctx.out.table(
            ["CASE", "SCORE", "ANSWERED", "ASSIGNEE", "CUSTOMER", "COMMENT"],
            [[s.case, s.score, when(s.answered_at), s.assignee, s.customer, s.comment] for s in summary.flagged],
            widths={4: 24, 5: 70},
        )
    return 0
