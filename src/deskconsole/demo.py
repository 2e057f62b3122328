"""A realistic demo desk, built through the lifecycle service (a large one's older history in bulk).

The desk gets a history: the demo runs its own Service over the same database
with a clock that starts five weeks before "now" and steps forward, opening
cases, working them, and ticking the timers as time passes, so reminders,
auto-closes and follow-ups fire the way they would have on a real desk. It ends
at the service's "now" with every status and pending sub-status present,
escalations in every state, answered surveys (a few flagged), cases hours away
from auto-closing, knowledge-base articles, a defect, a clone of a closed case,
one away analyst, and one case whose customer text looks hostile (markup and
terminal escapes) to keep front ends honest.

A large demo (`--cases` above BULK_ABOVE) writes all but its LIVELY newest cases with
deskconsole.bulk: older cases, most closed, each with the rows the service would have
written for its life cycle; the lively ones then go through the service as above.

The same seed and end time give the same desk.

Its people, customers and texts are in deskconsole.demodata (re-exported here).
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deskconsole.demodata import (
    AGENTS,
    ANALYSTS,
    AREAS,
    ARTICLES,
    AWAY_ANALYST,
    CLOSE_REASONS,
    CUSTOMERS,
    DESCRIPTIONS,
    MANAGER_OF,
    PLAN_WEIGHTS,
    REOPEN_REPLIES,
    REPLIES,
    RESOLUTIONS,
    SCORE_WEIGHTS,
    SKILLS,
    SUPERVISOR,
    SURVEY_COMMENTS,
    TITLES,
)
from deskconsole.domain.clock import FixedClock
from deskconsole.domain.errors import DeskError, InvalidInput

HORIZON = timedelta(days=35)
# A large demo's service levels were loaded this long before its lively weeks: the bulk cases active
# since then have their targets, timers and breaches (walked case by case: bulk/slalife.py, about a
# millisecond each), the older history had none. Each day more costs about 10 s at 1,000,000 cases
# (measured at 100,000: 14 days took the demo from 6.8 s to 22.5 s), and the demo's target is 60 s.
SLA_BEFORE = timedelta(days=1)
BULK_ABOVE = 200  # larger demos write all but the LIVELY newest cases in bulk
LIVELY = 60
TICK_EVERY = timedelta(hours=1)
H = timedelta(hours=1)
D = timedelta(days=1)


# The first cases of every demo: together they show every status, sub-status,
# escalation state and survey score, whatever the seed.
MANDATORY: list[dict[str, Any]] = [
    {"plan": "new", "hostile": True},
    {"plan": "new", "area": "hardware"},  # nobody has the skill: waits in the team queue
    {"plan": "in_progress", "escalation": "requested", "severity": "high"},
    {"plan": "in_progress", "escalation": "approved", "severity": "production_down"},
    {"plan": "pending:customer_input", "pending_at": 10 * D},  # reminder fired: chase by phone
    {"plan": "pending:customer_input", "pending_at": 28 * D - 5 * H},  # auto-closes in about 5 hours
    {"plan": "pending:development", "escalation": "denied"},
    {"plan": "pending:scheduled_service"},
    {"plan": "pending:third_party", "escalation": "de_escalated"},
    {"plan": "awaiting_confirmation", "pending_at": 14 * D - 3 * H},  # auto-closes in about 3 hours
    {"plan": "awaiting_confirmation", "pending_at": 2 * D, "article": True},
    {"plan": "reopened"},
    {"plan": "update_received", "escalation": "requested", "on_behalf": True},
    {"plan": "closed:confirmed", "score": 5},
    {"plan": "closed:confirmed", "score": 1},
    {"plan": "closed:analyst", "score": 2, "clone": True},
    {"plan": "closed:auto_confirm", "score": 4},
    {"plan": "closed:auto_input", "score": 3},
    {"plan": "closed:confirmed"},
    {"plan": "in_progress", "severity": "production_down"},
]


@dataclass
class DemoSummary:
    agents: int = 0
    cases: int = 0
    articles: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    escalations: dict[str, int] = field(default_factory=dict)
    surveys_answered: int = 0
    timers_fired: int = 0
    skipped_steps: int = 0
    problems: list[str] = field(default_factory=list)  # the first refusals, if any
    try_as: str = SUPERVISOR
    end: datetime | None = None


@dataclass
class _Case:
    key: int
    spec: dict[str, Any]
    area: str
    fallback: str  # the analyst who works it when routing left it unassigned
    id: int | None = None
    assignee: str | None = None
    status: str = "new"
    escalation: str | None = None
    broken: bool = False


Step = tuple[datetime, int, Callable[[], None]]


class _Builder:
    def __init__(
        self, service: Any, cases: int, seed: int, progress: Callable[[int, int], None] | None, bulk: int = 0,
    ) -> None:
        from deskconsole.service import Service

        self.end = service.now()
        self.start = self.end - HORIZON
        self.clock = FixedClock(self.start)
        self.svc = Service(service.engine, self.clock, service.durations)
        self.rng = random.Random(seed)
        self.total_cases = cases
        self.progress = progress
        self.steps: list[Step] = []
        self.seq = 0
        self.cases: list[_Case] = []
        self.summary = DemoSummary(end=self.end)
        self.articles: list[int] = []
        self.status_of: dict[int, str] = {}
        self.fired = 0
        self.next_tick = self.start + TICK_EVERY
        self.seed = seed
        self.bulk = bulk
        self.bulk_summary: Any = None

    # ---------------------------------------------------------------- plumbing
    def at(self, when: datetime, action: Callable[[], None]) -> None:
        when = min(when, self.end)
        self.steps.append((when, self.seq, action))
        self.seq += 1

    def ago(self, delta: timedelta) -> datetime:
        return self.end - delta

    def between(self, low: timedelta, high: timedelta) -> timedelta:
        """A random duration in [low, high] (whole seconds)."""
        lo, hi = int(low.total_seconds()), int(high.total_seconds())
        return timedelta(seconds=self.rng.randint(lo, max(lo, hi)))

    def tick_until(self, when: datetime) -> None:
        while self.next_tick <= when:
            self.clock.set(self.next_tick)
            self._fired(self.svc.tick())
            self.next_tick += TICK_EVERY

    def _fired(self, fired: list[Any]) -> None:
        for f in fired:
            self.fired += 1
            if f.timer == "auto_close":
                self.status_of[f.case] = "closed"

    def guarded(self, c: _Case, fn: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            if c.broken:
                self.summary.skipped_steps += 1
                return
            try:
                view = fn()
            except DeskError as exc:
                c.broken = True
                self.summary.skipped_steps += 1
                if len(self.summary.problems) < 5:
                    self.summary.problems.append(str(exc))
                return
            if view is not None and hasattr(view, "status") and getattr(view, "id", None) == c.id:
                self.seen(c, view)

        return run

    def seen(self, c: _Case, view: Any) -> None:
        c.assignee = view.assignee
        self.status_of[view.id] = str(view.status)
        if view.escalation is not None:
            c.escalation = str(view.escalation.state)

    def actor(self, c: _Case) -> str:
        return c.assignee or c.fallback

    def manager(self, c: _Case) -> str:
        return MANAGER_OF.get(c.assignee or "", None) or MANAGER_OF[c.fallback] or "marcus"

    # ------------------------------------------------------------------ people
    def add_people(self) -> None:
        self.clock.set(self.start)
        for name, role, skills, manager in AGENTS:
            actor = None if name == AGENTS[0][0] else SUPERVISOR
            self.svc.add_agent(name, role, actor=actor, skills=skills, manager=manager, email=f"{name}@desk.example")
        self.summary.agents = len(AGENTS)
        for title, body in ARTICLES:
            self.articles.append(self.svc.add_article(title, body).id)
        self.summary.articles = len(ARTICLES)
        self.svc.load_macros(DEMO_MACROS, actor=SUPERVISOR)  # the team's macros (M in the case pane)
        if self.bulk:
            # a large desk has service levels (the demo policy: P1-P4 on two calendars), loaded SLA_BEFORE
            # its lively weeks: the cases active since then get their targets, timers and breaches
            from deskconsole.bulk.slalife import DEMO_POLICY

            self.clock.set(self.start - SLA_BEFORE)
            self.svc.load_sla(DEMO_POLICY, actor=SUPERVISOR)
            self.clock.set(self.start)
        self.at(self.ago(3 * D), lambda: self.svc.set_availability(AWAY_ANALYST, "away", actor=SUPERVISOR))

    # ------------------------------------------------------------------- cases
    def plan_all(self) -> None:
        plans = list(PLAN_WEIGHTS)
        weights = list(PLAN_WEIGHTS.values())
        for key in range(self.total_cases):
            if key < len(MANDATORY):
                spec = dict(MANDATORY[key])
            else:
                spec = {"plan": self.rng.choices(plans, weights)[0]}
                roll = self.rng.random()
                if roll < 0.02:
                    spec["area"] = "hardware"
                if not spec["plan"].startswith("closed") and spec["plan"] != "new":
                    roll = self.rng.random()
                    if roll < 0.03:
                        spec["escalation"] = "requested"
                    elif roll < 0.05:
                        spec["escalation"] = "approved"
                    elif roll < 0.06:
                        spec["escalation"] = "denied"
                    elif roll < 0.065:
                        spec["escalation"] = "de_escalated"
                    spec["on_behalf"] = self.rng.random() < 0.4
                    spec["article"] = self.rng.random() < 0.08
                if spec["plan"].startswith("closed") and self.rng.random() < 0.55:
                    spec["score"] = self.rng.choices(list(SCORE_WEIGHTS), list(SCORE_WEIGHTS.values()))[0]
            self.plan_case(key, spec)

    def plan_case(self, key: int, spec: dict[str, Any]) -> None:
        rng = self.rng
        area = spec.get("area") or rng.choice(AREAS)
        fits = [a for a in ANALYSTS if area in SKILLS[a] and a != AWAY_ANALYST]
        c = _Case(key=key, spec=spec, area=area, fallback=rng.choice(fits or ANALYSTS[:5]))
        self.cases.append(c)
        plan = spec["plan"]
        # When does the case reach its last status ("pivot"), and when does it open?
        pivot_at = spec.get("pending_at")
        if plan == "new":
            opened = self.ago(self.between(10 * 60 * timedelta(seconds=1), 36 * H))
        elif plan == "in_progress":
            opened = self.ago(self.between(1 * D, 6 * D))
        else:
            if pivot_at is None:
                pivot_at = {
                    "pending:customer_input": self.between(1 * H, 27 * D + 12 * H),
                    "pending:development": self.between(1 * H, 20 * D),
                    "pending:scheduled_service": self.between(1 * H, 15 * D),
                    "pending:third_party": self.between(1 * H, 15 * D),
                    "awaiting_confirmation": self.between(1 * H, 13 * D + 20 * H),
                    "reopened": self.between(1 * D, 12 * D),
                    "update_received": self.between(1 * D, 20 * D),
                    "closed:confirmed": self.between(2 * D, 29 * D),
                    "closed:analyst": self.between(1 * D, 29 * D),
                    "closed:auto_confirm": self.between(14 * D + 2 * H, 30 * D),
                    "closed:auto_input": self.between(28 * D + 2 * H, 32 * D),
                }[plan]
            opened = self.ago(pivot_at) - self.between(8 * H, 3 * D)
        opened = max(opened, self.start + H)
        pivot = self.ago(pivot_at) if pivot_at is not None else None
        self.at(opened, self.guarded(c, lambda: self.open_case(c)))
        if plan == "new":
            return
        worked = opened + (((pivot or self.end) - opened) * rng.uniform(0.1, 0.5))
        self.at(worked, self.guarded(c, lambda: self.svc.move(c.id, "in_progress", actor=self.actor(c))))
        last = worked
        if rng.random() < 0.3:
            last = worked + ((pivot or self.end) - worked) * 0.5
            public = rng.random() < 0.5
            text = ("We are looking into it and will update you today." if public
                    else "Reproduced on staging; checking the logs.")
            self.at(last, self.guarded(
                c, lambda: self.svc.add_note(c.id, text, actor=self.actor(c), internal=not public)))
        if spec.get("article"):
            article = self.articles[key % len(self.articles)]
            self.at(last + 10 * timedelta(minutes=1), self.guarded(
                c, lambda: self.svc.link_article(c.id, article, actor=self.actor(c))))
        resolution = rng.choice(RESOLUTIONS[area])
        if plan == "in_progress":
            if rng.random() < 0.4:
                reply = rng.choice(REPLIES)
                self.at(worked + (self.end - worked) * 0.7,
                        self.guarded(c, lambda: self.svc.customer_reply(c.id, reply)[0]))
        elif plan == "pending:development":
            ref = f"ENG-{4000 + key}"
            self.at(pivot, self.guarded(c, lambda: self.svc.log_engineering(
                c.id, ref, f"{area}: fix needed in the product", actor=self.actor(c),
                kind="enhancement" if key % 5 == 4 else "defect")))
        elif plan.startswith("pending:"):
            sub = plan.split(":", 1)[1]
            note = {"customer_input": "Could you send us the exact time it happened and a screenshot?",
                    "scheduled_service": "An engineer visit is booked for next week.",
                    "third_party": "Waiting for the payment provider to answer."}.get(sub)
            self.at(pivot, self.guarded(c, lambda: self.svc.move(c.id, "pending", sub_status=sub, note=note,
                                                                  actor=self.actor(c))))
        elif plan in ("awaiting_confirmation", "reopened", "closed:confirmed", "closed:auto_confirm"):
            self.at(pivot, self.guarded(c, lambda: self.svc.move(c.id, "awaiting_confirmation", note=resolution,
                                                                  actor=self.actor(c))))
            if plan == "reopened":
                later = pivot + self.between(2 * H, min(10 * D, self.end - pivot - 30 * timedelta(minutes=1)))
                reply = rng.choice(REOPEN_REPLIES)
                self.at(later, self.guarded(c, lambda: self.svc.customer_reply(c.id, reply)[0]))
            elif plan == "closed:confirmed":
                closed = pivot + self.between(2 * H, min(5 * D, self.end - pivot - 3 * H))
                self.at(closed, self.guarded(c, lambda: self.svc.customer_confirm(c.id)))
                self.after_close(c, closed)
            elif plan == "closed:auto_confirm":
                self.after_close(c, pivot + self.svc.durations.awaiting_confirmation_close)
        elif plan in ("update_received", "closed:auto_input"):
            self.at(pivot, self.guarded(c, lambda: self.svc.move(
                c.id, "pending", sub_status="customer_input", actor=self.actor(c),
                note="Please send the log file from the affected machine.")))
            if plan == "update_received":
                later = pivot + self.between(2 * H, min(12 * D, self.end - pivot - 30 * timedelta(minutes=1)))
                reply = rng.choice(REPLIES)
                self.at(later, self.guarded(c, lambda: self.svc.customer_reply(c.id, reply)[0]))
            else:
                self.after_close(c, pivot + self.svc.durations.customer_input_close)
        elif plan == "closed:analyst":
            reason = rng.choice(CLOSE_REASONS)
            self.at(pivot, self.guarded(c, lambda: self.svc.close(c.id, reason=reason, actor=self.actor(c))))
            self.after_close(c, pivot)
        if spec.get("escalation"):
            self.plan_escalation(c, worked)

    def open_case(self, c: _Case) -> Any:
        rng = self.rng
        customer, contact = CUSTOMERS[(c.key * 7 + rng.randrange(len(CUSTOMERS))) % len(CUSTOMERS)]
        title = rng.choice(TITLES[c.area])
        description = rng.choice(DESCRIPTIONS)
        area: str | None = c.area
        if rng.random() < 0.3 and c.area != "hardware":
            # Leave the area out; routing infers it from the text.
            description += f" Our {c.area} people are asking about it every hour."
            area = None
        if c.spec.get("hostile"):
            title = "Export shows [bold]x[/ and \x1b[31mred\x1b[0m text \x07"
            description = ("Pasted from the portal: [link=https://example.invalid]click[/link] "
                           "\x1b]0;owned\x07 \u202eedoc\u202c [/] \\[not markup] \x1b[2J")
            customer, contact = "Mallory [red]Ltd[/red]", "mallory@example.invalid"
        severity = c.spec.get("severity") or rng.choices(
            ["production_down", "high", "normal", "low"], [4, 20, 56, 20])[0]
        ref = f"PORTAL-{c.key + 1:06d}" if rng.random() < 0.6 else None
        view, _created = self.svc.open_case(title, customer, description=description, contact=contact,
                                            product_area=area, severity=severity, ref=ref)
        c.id = view.id
        return view

    def after_close(self, c: _Case, closed: datetime) -> None:
        score = c.spec.get("score")
        if score is not None:
            answered = closed + self.between(2 * H, 3 * D)
            if answered < self.end:
                comment = self.rng.choice(SURVEY_COMMENTS[score]) if self.rng.random() < 0.7 or score <= 2 else None

                def answer() -> None:
                    self.svc.answer_survey(c.id, score, comment)
                    self.summary.surveys_answered += 1

                self.at(answered, self.guarded(c, answer))
        if c.spec.get("clone"):
            self.at(closed + D, self.guarded(c, lambda: self.clone(c)))

    def clone(self, c: _Case) -> None:
        view = self.svc.clone(c.id, actor=self.actor(c))
        self.status_of[view.id] = view.status

    def plan_escalation(self, c: _Case, worked: datetime) -> None:
        state = c.spec["escalation"]
        room = self.end - worked
        asked = worked + room * self.rng.uniform(0.05, 0.3)
        on_behalf = bool(c.spec.get("on_behalf"))
        reasons = ["Production is affected and the workaround no longer works.",
                   "Quarter-end closing is on Friday; we cannot wait.",
                   "Third week without a fix; our CEO is asking."]
        reason = self.rng.choice(reasons)
        self.at(asked, self.guarded(c, lambda: self.svc.request_escalation(
            c.id, reason, actor=self.actor(c) if on_behalf else None)))
        if state == "requested":
            return
        decided = asked + room * self.rng.uniform(0.05, 0.2)
        self.at(asked + (decided - asked) / 2, self.guarded(c, lambda: self.svc.review_escalation(
            c.id, actor=self.manager(c), severity_impact="Several users blocked", business_risk="Revenue at risk",
            sla_commitments="P2 response within 4 hours", actions_taken="Logs reviewed; workaround tried",
            problem_statement_ok=True, impact_described=True, workaround_impractical=state != "denied")))
        if state == "denied":
            self.at(decided, self.guarded(c, lambda: self.svc.decide_escalation(
                c.id, "deny", actor=self.manager(c),
                reason="A workaround is in place and the fix is scheduled; normal priority is right.")))
            return
        engineer = self.rng.choice(["chen", "emeka", self.manager(c)])
        self.at(decided, self.guarded(c, lambda: self.svc.decide_escalation(
            c.id, "approve", actor=self.manager(c), reason="Business impact confirmed.", engineer=engineer,
            comm_mode=self.rng.choice(["email", "phone", "conference_call"]), comm_frequency="daily")))
        update_at = decided + 20 * H
        undo = decided + (self.end - decided) * 0.6 if state == "de_escalated" else self.end
        if update_at < undo - H:
            self.at(update_at, self.guarded(c, lambda: self.svc.log_status_update(
                c.id, "Root cause found; the fix is in testing.", actor=self.manager(c))))
        if state == "de_escalated":
            self.at(undo, self.guarded(c, lambda: self.svc.de_escalate(
                c.id, actor=self.manager(c), plan_accepted=True, rca_on_track=True, customer_agreed=True,
                note="Customer agreed on the call; fix ships next week.")))

    # -------------------------------------------------------------------- run
    def add_history(self) -> None:
        """The bulk of a large desk: cases opened before the lively weeks, written in bulk (deskconsole.bulk)."""
        from deskconsole.bulk import build_bulk
        from deskconsole.bulk.slalife import DEMO_POLICY

        self.bulk_summary = build_bulk(
            self.svc.engine, self.bulk, end=self.end, durations=self.svc.durations, seed=self.seed,
            opened_before=self.start, progress=self._report_bulk if self.progress is not None else None,
            os_login=self.svc.os_login, sla=DEMO_POLICY, sla_since=self.start - SLA_BEFORE,
        )

    def _report_bulk(self, done: int, _total: int) -> None:
        if self.progress is not None:
            self.progress(done, self.bulk + self.total_cases)

    def _report(self, done: int, total: int) -> None:
        """Steps of the service-built cases; on a large desk, counted in cases after the bulk history."""
        if self.progress is None:
            return
        if not self.bulk:
            self.progress(done, total)
        else:
            self.progress(self.bulk + self.total_cases * done // max(1, total), self.bulk + self.total_cases)

    def run(self) -> DemoSummary:
        self.add_people()
        if self.bulk:
            self.add_history()
        self.plan_all()
        heapq.heapify(self.steps)
        total = len(self.steps)
        done = 0
        report_every = max(1, total // 200)
        while self.steps:
            when, _seq, action = heapq.heappop(self.steps)
            self.tick_until(when)
            self.clock.set(when)
            action()
            done += 1
            if self.progress is not None and (done % report_every == 0 or done == total):
                self._report(done, total)
        self.tick_until(self.end)
        self.clock.set(self.end)
        self._fired(self.svc.tick())
        if not self.bulk:  # (build_bulk refreshed them after the bulk of a large desk)
            from deskconsole.bulk import refresh_statistics

            refresh_statistics(self.svc.engine)  # ANALYZE / PRAGMA optimize: sane plans on the new desk at once
        s = self.summary
        s.cases = len(self.status_of)
        s.timers_fired = self.fired
        counts = Counter(self.status_of.values())
        s.by_status = {k: counts[k] for k in
                       ("new", "in_progress", "pending", "awaiting_confirmation", "reopened", "update_received",
                        "closed") if counts[k]}
        esc = Counter(c.escalation for c in self.cases if c.escalation)
        s.escalations = dict(sorted(esc.items()))
        if self.bulk_summary is not None:
            b = self.bulk_summary
            s.cases += b.cases
            s.by_status = {k: s.by_status.get(k, 0) + b.by_status.get(k, 0) for k in
                           ("new", "in_progress", "pending", "awaiting_confirmation", "reopened", "update_received",
                            "closed") if s.by_status.get(k, 0) + b.by_status.get(k, 0)}
            s.surveys_answered += b.surveys_answered
            s.timers_fired += b.timers_fired
            s.articles += b.articles
        if self.progress is not None and total == 0:
            self.progress(1, 1)
        return s


# Two of the team's macros (domain/macros.py): asking for logs, and a resolution to confirm.
DEMO_MACROS = """\
[macros.ask-for-logs]
reply = "Hello {customer}, to look into case {case.id} we need the log files from the affected machine \
(Help > Export logs). Thank you, {agent}"
status = "pending"
sub_status = "customer_input"

[macros.resolved-config]
reply = "The fault came from a configuration setting that we have corrected on our side. \
Please check that everything works for you again. {agent}"
status = "awaiting_confirmation"
"""


def build_demo(
    service: Any,
    cases: int = 60,
    progress: Callable[[int, int], None] | None = None,
    seed: int = 7,
    bulk_above: int | None = None,
) -> DemoSummary:
    """Fill an empty database with a desk whose history ends at service.now().

    Up to BULK_ABOVE cases (or `bulk_above`) every case goes through the service. Above, the
    newest LIVELY cases still do (every status, escalations, surveys, a clone, the hostile
    case) and the rest are older history written in bulk by deskconsole.bulk.
    """
    if not isinstance(cases, int) or cases < 1:
        raise InvalidInput(f"the demo needs 1 case or more, not {cases!r}")
    if service.has_agents() or service.list_cases(limit=1):
        raise InvalidInput(
            "the database already has a desk: the demo fills an empty database (use --db with a new one)"
        )
    limit = BULK_ABOVE if bulk_above is None else bulk_above
    bulk = cases - LIVELY if cases > max(limit, LIVELY) else 0
    return _Builder(service, cases - bulk, seed, progress, bulk=bulk).run()


__all__ = ["DemoSummary", "build_demo"]
