"""The bulk writer's planner: one seed row per case, chunk by chunk.
"""

from __future__ import annotations

import random
import time
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import Engine

from deskconsole import demodata
from deskconsole.bulk.lives import (
    ANSWER_AFTER,
    ANSWER_FIRST,
    BLANK,
    CLOSED_PLANS,
    DAY,
    HOUR,
    MINUTE,
    NO_ANSWER,
    OPEN_PLANS,
    PRIORITY,
    SURVEY_SHARE,
    TABLES,
    BulkSummary,
    _json_cache,
    _kinds,
    _life,
    _Times,
    fingerprint,
)
from deskconsole.bulk.slalife import CaseSla, SlaRows, Step
from deskconsole.bulkload import EPOCH_WIDTH, TIME_WIDTH, Dialect, TableLoad, seed_arrays, text
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.sla import DeskSla
from deskconsole.domain.timers import Durations
from deskconsole.domain.views import os_login_beside
from deskconsole.store.engine import is_postgres


class _Planner:
    """One seed row per case, chunk by chunk: its kind, the times its steps happened, the texts drawn for it."""

    def __init__(
        self, engine: Engine, cases: int, end: datetime, durations: Durations, seed: int, due: int,
        open_share: float, opened_before: datetime | None, customers: Sequence[tuple[str, str | None]] | None,
        os_login: str | None = None, sla: DeskSla | None = None, sla_since: datetime | None = None,
    ) -> None:
        self.pg = is_postgres(engine)
        self.sla = sla  # the desk's service levels (None: none loaded, no rows for them)
        # when they were loaded: the steps of a case before then had none (None: before every case)
        self.sla_since = None if sla_since is None else int(sla_since.astimezone(UTC).timestamp())
        self.os_login = os_login  # the operating-system login the events record beside their actors
        self.total = cases
        self.rng = random.Random(seed)
        self.times = _Times(end)
        self.E = self.times.end
        last_open = opened_before if opened_before is not None else end - timedelta(minutes=10)
        self.last_open = min(self.E - 10 * MINUTE, int(last_open.astimezone(UTC).timestamp()))
        # about 100 cases a day on a small desk, up to 1,000 a day on a large one: a million span ~3 years
        span = max(35 * DAY, min(cases * 864, cases * 86))
        self.first_open = self.last_open - span
        self.open_share = max(0.0, min(1.0, open_share))
        self.due = due
        self.ac = int(durations.awaiting_confirmation_close.total_seconds())
        self.rem = int(durations.customer_input_reminder.total_seconds())
        self.ic = int(durations.customer_input_close.total_seconds())
        self.fu = int(durations.followup_after_close.total_seconds())
        self.ac_days = durations.awaiting_confirmation_close.days
        self.customers = [(name, contact, "customer:" + name, contact or "customer:" + name)
                          for name, contact in (customers or demodata.CUSTOMERS)]
        self.titles = demodata.TITLES
        self.descriptions = demodata.DESCRIPTIONS
        self.resolutions = demodata.RESOLUTIONS
        self.replies = demodata.REPLIES
        self.reopen_replies = demodata.REOPEN_REPLIES
        self.close_reasons = demodata.CLOSE_REASONS
        self.comments = demodata.SURVEY_COMMENTS
        self.scores = list(demodata.SCORE_WEIGHTS)
        self.score_cum = list(accumulate(demodata.SCORE_WEIGHTS.values()))
        self.data = _json_cache()
        self.kinds = _kinds()
        # recorded_at is when the rows are really written (the real clock, as the service's events):
        # one SQL literal for every event of the build, whatever its history's times
        real = datetime.now(UTC)
        self.recorded_value: Any = real if self.pg else real.strftime("%Y-%m-%d %H:%M:%S.%f")
        recorded = text(real.strftime("%Y-%m-%d %H:%M:%S.%f"))
        self.lives = [_life(kind, self.ac_days, self.data, recorded, os_login, sla is not None)
                      for kind in self.kinds]
        self.kind_id = {kind: v for v, kind in enumerate(self.kinds)}
        self.counts = [(life.span, len(life.timers), len(life.outbox), len(life.survey)) for life in self.lives]
        self.walker = None if sla is None else CaseSla(sla, self.E, self.times.micro, self.pg, self.recorded_value,
                                                        os_login, self.tick_at)
        self.sla_counts = Counter()  # the service-level rows written: events, metric events, timers, messages
        self._analyst_close = ("from", "in_progress"), ("from_sub_status", None), ("to", "closed"), ("sub_status", None)
        self.per_kind = [0] * len(self.kinds)
        self._opened_data: dict[tuple[str, str, str], str] = {}
        self._unassigned = self.data(("assignee", None), ("queue", "team"))
        self.articles = 0
        self.plan_seconds = 0.0

    # ------------------------------------------------------------------ reads
    def load(self, conn: Any) -> None:
        from sqlalchemy import func, select

        from deskconsole.store.models import Agent, Article, Case, Event, Outbox, Survey, Timer

        agents = conn.execute(select(Agent.id, Agent.name, Agent.role, Agent.skills, Agent.availability,
                                     Agent.manager_id)).all()
        names = {a.id: a.name for a in agents}
        # who hears of a breach: the analyst's manager (Service._manager_for)
        self.manager_of = {a.name: names.get(a.manager_id, "managers") if a.manager_id else "managers"
                           for a in agents}
        self.analysts = [(a.id, a.name, [s for s in a.skills.split(",") if s]) for a in agents
                         if a.role == "analyst" and a.availability == "available"]
        if not any(skills for _, _, skills in self.analysts):
            raise InvalidInput("a bulk desk needs analysts with skills: add agents first")
        areas = sorted({s for _, _, skills in self.analysts for s in skills})
        self.areas = areas
        self.fits = {area: [(i, n, self.data(("assignee", n), ("queue", None))) for i, n, skills in self.analysts
                            if area in skills] for area in areas}
        self.turn = Counter()
        # the titles and resolutions of each area a case can have (the areas nobody has: their own)
        known = set(self.titles) | set(areas) | {"hardware", "unknown"}
        self._titles = {a: self.titles.get(a) or [f"Trouble with {a}"] for a in known}
        self._fixes = {a: self.resolutions.get(a) or ["Fixed."] for a in known}
        self.case_id = conn.execute(select(func.max(Case.id))).scalar() or 0
        self.event_id = conn.execute(select(func.max(Event.id))).scalar() or 0
        self.timer_id = conn.execute(select(func.max(Timer.id))).scalar() or 0
        self.outbox_id = conn.execute(select(func.max(Outbox.id))).scalar() or 0
        self.survey_id = conn.execute(select(func.max(Survey.id))).scalar() or 0
        self.article_id = conn.execute(select(func.max(Article.id))).scalar() or 0
        if self.walker is not None:
            from deskconsole.store.models import SlaMetric

            self.walker.metric_id = conn.execute(select(func.max(SlaMetric.id))).scalar() or 0
        self.seen = set(conn.execute(select(Article.fingerprint)).scalars())
        self.fresh = self.case_id == 0
        self.drafts: dict[str, tuple[int, int, int, str]] = {}  # resolution -> its earliest closing so far
        self.final: set[str] = set()  # resolutions whose first closing is known
        self.due_keys = set(self.rng.sample(range(self._due_room()), self.due)) if self.due else set()

    # ---------------------------------------------------------------- planning
    def chunks(self, chunk: int) -> Iterator[tuple[int, list[tuple], list[tuple], SlaRows, list[tuple]]]:
        """(cases, article rows, their article_drafted events, service-level rows, seed rows), chunk by chunk."""
        done = 0
        while done < self.total:
            size = min(chunk, self.total - done)
            start = time.perf_counter()
            sla = SlaRows()
            seeds = self._seeds(done, size, sla)
            if self.walker is not None:
                self.sla_counts.update(events=len(sla.events), metrics=len(sla.metrics), outbox=len(sla.outbox),
                                       fired=sum(row[3] == "fired" for row in sla.timers))
            articles: list[tuple] = []
            drafted: list[tuple] = []
            self._draft(drafted, articles, None if done + size >= self.total else self._opened(done + size - 1))
            self.plan_seconds += time.perf_counter() - start
            yield size, articles, drafted, sla, seeds
            done += size

    def _opened(self, key: int) -> int:
        return self.first_open + ((self.last_open - self.first_open) * (2 * key + 1)) // (2 * max(1, self.total))

    def _due_room(self) -> int:
        """How many of the oldest cases opened early enough to have been waiting on the customer
        for a reminder's delay by `end` (cases open in key order)."""
        limit = self.E - self.rem - 2 * DAY
        low, high = 0, self.total
        while low < high:
            mid = (low + high) // 2
            if self._opened(mid) < limit:
                low = mid + 1
            else:
                high = mid
        if low < self.due:
            raise InvalidInput(f"only {low:,} of the cases are old enough to have a reminder due")
        return low

    _open_plans = list(OPEN_PLANS)
    _open_cum = list(accumulate(OPEN_PLANS.values()))
    _closed_plans = list(CLOSED_PLANS)
    _closed_cum = list(accumulate(CLOSED_PLANS.values()))

    def tick_at(self, due: int) -> int:
        """When the demo's hourly tick (on the hour grid that ends at `end`) processed a timer due then."""
        return self.E - ((self.E - due) // HOUR) * HOUR

    def _time_texts(self) -> tuple[Callable[[int], str], str]:
        """A seed time's text in `tt` (see Dialect.width), and a blank one."""
        if not self.pg:
            return self.times.text, BLANK
        text = self.times.text

        def text_and_seconds(t: int) -> str:
            return text(t) + f"{t:0{EPOCH_WIDTH}d}"

        return text_and_seconds, " " * (TIME_WIDTH + EPOCH_WIDTH)

    def _seeds(self, first: int, size: int, sla: SlaRows) -> list[tuple]:
        rng = self.rng
        rnd = rng.random
        T, B = self._time_texts()  # noqa: N806 -- hot-loop aliases, short like the row templates they fill
        pg, arrays = self.pg, seed_arrays
        data = self.data
        E, rem, ic, ac, fu = self.E, self.rem, self.ic, self.ac, self.fu  # noqa: N806 -- alias of self.E (the desk's end)
        tick_at = self.tick_at
        kind_id = self.kind_id
        counts = self.counts
        per_kind = self.per_kind
        areas, fits, turns = self.areas, self.fits, self.turn
        n_areas = len(areas)
        customers = self.customers
        n_customers = len(customers)
        descriptions = self.descriptions
        n_descriptions = len(descriptions)
        scores, score_cum, comments = self.scores, self.score_cum, self.comments
        drafts, final = self.drafts, self.final
        opened_cache: dict[tuple[str, str, str], str] = self._opened_data
        first_open, span, den = self.first_open, self.last_open - self.first_open, 2 * max(1, self.total)
        due_keys, total = self.due_keys, max(1, self.total)
        open_plans, open_cum, open_top = self._open_plans, self._open_cum, self._open_cum[-1]
        closed_plans, closed_cum, closed_top = self._closed_plans, self._closed_cum, self._closed_cum[-1]
        p = self.open_share
        late_input, late_confirm = ic + fu + 5 * DAY, ac + fu + 7 * DAY
        titles_of, fixes_of = self._titles, self._fixes
        cid, eb, tb, ob, sb = self.case_id, self.event_id, self.timer_id, self.outbox_id, self.survey_id
        seeds: list[tuple] = []
        append = seeds.append

        def randint(low: int, high: int) -> int:
            return low + int(rnd() * (high - low + 1))

        walker, lives, manager_of, sla_since = self.walker, self.lives, self.manager_of, self.sla_since
        for key in range(first, first + size):
            cid += 1
            t1 = t2 = t3 = 0
            opened = first_open + (span * (2 * key + 1)) // den
            # the plan: the newest cases are the open ones, the chance rising from 0 to 1 over the
            # newest 2 x open_share
            if key in due_keys:
                plan = "due"
            else:
                recency = (key + 0.5) / total
                chance = 0.0 if p <= 0 else max(0.0, (recency - (1 - 2 * p)) / (2 * p)) if p < 0.5 else \
                    min(1.0, recency * 2 * p)
                if rnd() < chance:
                    plan = open_plans[bisect(open_cum, rnd() * open_top)]
                    if plan == "new" and E - opened > 2 * DAY:
                        plan = "in_progress"  # nobody leaves a case untouched for days
                else:
                    plan = closed_plans[bisect(closed_cum, rnd() * closed_top)]
                    if (plan == "closed:auto_input" and E - opened < late_input) or (
                        plan == "closed:auto_confirm" and E - opened < late_confirm
                    ):
                        plan = "closed:confirmed"
            if plan == "new" and rnd() < 0.05:
                area = "hardware" if "hardware" not in fits else "unknown"  # nobody has the skill
            else:
                area = areas[int(rnd() * n_areas)]
            fit = fits.get(area)
            if fit:
                turn = turns[area]
                turns[area] = turn + 1
                assignee_id, assignee, assigned_data = fit[turn % len(fit)]
            else:
                assignee_id, assignee, assigned_data = None, None, self._unassigned  # waits in the team queue
            titles = titles_of[area]
            title = titles[int(rnd() * len(titles))]
            description = descriptions[int(rnd() * n_descriptions)]
            customer, contact, who, address = customers[int(rnd() * n_customers)]
            roll = rnd() * 100
            severity = "production_down" if roll < 4 else "high" if roll < 24 else "normal" if roll < 80 else "low"
            priority = PRIORITY[severity]
            ref = f"PORTAL-{cid:07d}" if rnd() < 0.6 else None
            opened_data = opened_cache.get((title, severity, area))
            if opened_data is None:
                opened_data = opened_cache[(title, severity, area)] = data(
                    ("title", title), ("severity", severity), ("priority", priority), ("product_area", area))

            resolution = reason = reply = comment = score = survey_data = None
            flagged = False
            if plan == "new":
                kind: tuple = ("new",)
                tt = T(opened)
            else:
                room = E - opened
                t1 = opened + min(randint(10 * MINUTE, DAY), room // 4)
                fixes = fixes_of[area]
                resolution = fixes[int(rnd() * len(fixes))]
                kind = (plan,)
                if plan == "in_progress":
                    tt = T(opened) + T(t1)
                elif plan == "due":
                    t2 = max(E - rem - 1, t1 + 1)
                    tt = T(opened) + T(t1) + T(t2) + B + T(t2 + rem) + B + T(t2 + ic)
                elif plan.startswith("pending:") or plan == "update_received":
                    s = plan.split(":", 1)[1] if plan.startswith("pending:") else "customer_input"
                    low = max(t1 + 1, E - ic + HOUR) if s == "customer_input" else t1 + 1
                    high = E - (30 * MINUTE if plan == "update_received" else MINUTE)
                    t2 = randint(min(low, high), high) if low < high else max(t1 + 1, high - 1)
                    if s != "customer_input":
                        tt = T(opened) + T(t1) + T(t2)
                    else:
                        rd, cd = t2 + rem, t2 + ic
                        if plan == "update_received":
                            t3 = randint(t2 + 1, max(t2 + 1, min(rd - 1, E - MINUTE)))
                            reply = self.replies[int(rnd() * len(self.replies))]
                            tt = T(opened) + T(t1) + T(t2) + T(t3) + T(rd) + B + T(cd)
                        elif rd <= E:
                            kind = (plan, True)
                            tt = T(opened) + T(t1) + T(t2) + B + T(rd) + T(tick_at(rd)) + T(cd)
                        else:
                            kind = (plan, False)
                            tt = T(opened) + T(t1) + T(t2) + B + T(rd) + B + T(cd)
                elif plan in ("awaiting_confirmation", "reopened"):
                    low, high = max(t1 + 1, E - ac + HOUR), E - (30 * MINUTE if plan == "reopened" else MINUTE)
                    t2 = randint(min(low, high), high) if low < high else max(t1 + 1, high - 1)
                    if plan == "reopened":
                        t3 = randint(t2 + 1, max(t2 + 1, min(t2 + ac - 1, E - MINUTE)))
                        reply = self.reopen_replies[int(rnd() * len(self.reopen_replies))]
                        tt = T(opened) + T(t1) + T(t2) + T(t3) + B + B + T(t2 + ac)
                    else:
                        tt = T(opened) + T(t1) + T(t2) + B + B + B + T(t2 + ac)
                else:
                    # closed, one way or another; the follow-up and the survey come after
                    work = max(2, room - 3 * DAY - fu)
                    if plan == "closed:analyst":
                        t2 = min(t1 + randint(HOUR, 10 * DAY), t1 + work // 2)
                        reason = self.close_reasons[int(rnd() * len(self.close_reasons))]
                        resolution = None
                        close_at = close_rec = t2
                        tt = T(opened) + T(t1) + T(t2) + B + B + B + B + B
                    elif plan == "closed:confirmed":
                        t2 = min(t1 + randint(HOUR, 5 * DAY), t1 + work // 3)
                        t3 = min(t2 + randint(2 * HOUR, 5 * DAY), t2 + work // 3)
                        close_at = close_rec = t3
                        tt = T(opened) + T(t1) + T(t2) + T(t3) + B + B + T(t2 + ac) + B
                    elif plan == "closed:auto_confirm":
                        t2 = t1 + randint(HOUR, 5 * DAY)
                        cd = t2 + ac
                        close_at, close_rec = cd, tick_at(cd)
                        tt = T(opened) + T(t1) + T(t2) + B + B + B + T(cd) + T(close_rec)
                    else:  # closed:auto_input
                        t2 = t1 + randint(HOUR, 3 * DAY)
                        rd, cd = t2 + rem, t2 + ic
                        close_at, close_rec = cd, tick_at(cd)
                        resolution = None
                        tt = T(opened) + T(t1) + T(t2) + B + T(rd) + T(tick_at(rd)) + T(cd) + T(close_rec)
                    if resolution is not None and resolution not in final:
                        # the first case to close with a new resolution drafts an article; cases close out of
                        # id order, so the earliest closing is held until no later case can close before it
                        held = drafts.get(resolution)
                        if held is None or close_at < held[0]:
                            drafts[resolution] = (close_at, close_rec, cid, title)
                    answered = None
                    if rnd() < SURVEY_SHARE:
                        at = close_at + randint(2 * HOUR, 3 * DAY)
                        if at < E:
                            answered = at
                    fd = close_at + fu
                    if fd <= E:
                        # fired by the next tick, or by the survey answer if that came first (it settles the case)
                        fired = tick_at(fd)
                        if answered is not None and fd <= answered < fired:
                            fired = answered
                        kind = (plan, True, NO_ANSWER if answered is None else
                                ANSWER_FIRST if answered < fired else ANSWER_AFTER)
                        tt += T(fd) + T(fired)
                    else:
                        kind = (plan, False, NO_ANSWER if answered is None else ANSWER_AFTER)
                        tt += T(fd) + B
                    if answered is not None:
                        tt += T(answered)
                        score = scores[bisect(score_cum, rnd() * score_cum[-1])]
                        texts = comments[score]
                        comment = texts[int(rnd() * len(texts))] if rnd() < 0.7 or score <= 2 else None
                        flagged = score <= 2
                        survey_data = data(("score", score), ("flagged", flagged))
            v = kind_id[kind]
            per_kind[v] += 1
            events, timers, outbox, surveys = counts[v]
            close_data = cancelled = None
            if walker is not None:
                at = {"t0": opened, "t1": t1, "t2": t2, "t3": t3}
                actors = {"who": who, "assignee": assignee}
                steps = [Step(at[t], actors[a], slot, change, settle) for t, a, slot, change, settle
                         in lives[v].sla_steps if sla_since is None or at[t] >= sla_since]
            if walker is not None and steps:
                cancelled, more_events, more_timers, more_outbox = walker.walk(
                    sla, (cid, priority, title, customer, assignee, manager_of.get(assignee, "managers")),
                    steps, eb, eb + events, tb + timers, ob + outbox)
                events, timers, outbox = events + more_events, timers + more_timers, outbox + more_outbox
            if walker is not None and plan == "closed:analyst":  # its close names the SLA timers it cancelled
                close_data = data(*self._analyst_close, *((("cancelled_timers", tuple(cancelled)),)
                                                          if cancelled else ()))
            row = (cid, v, eb, tb, ob, sb, ref, title, description, customer, contact, area, severity, priority,
                   assignee_id, assignee, who, address, opened_data, assigned_data, resolution, reason, reply,
                   score, comment, flagged, survey_data, close_data, tt)
            append((*row, *arrays(tt)) if pg else row)  # PostgreSQL: the times as arrays too (seed_arrays)
            eb, tb, ob, sb = eb + events, tb + timers, ob + outbox, sb + surveys
        self.case_id, self.event_id, self.timer_id, self.outbox_id, self.survey_id = cid, eb, tb, ob, sb
        return seeds

    def _draft(self, events: list[tuple], articles: list[tuple], opened: int | None) -> None:
        """Draft the articles of resolutions whose first closing is settled: the cases still to come
        open after `opened` (None: none are to come)."""
        value = self.times.value
        for resolution, (close_at, _close_rec, cid, title) in sorted(self.drafts.items(), key=lambda d: d[1]):
            if opened is not None and close_at >= opened:
                continue
            del self.drafts[resolution]
            self.final.add(resolution)
            print_ = fingerprint(resolution)
            if print_ in self.seen:
                continue
            self.seen.add(print_)
            aid = self.article_id = self.article_id + 1
            articles.append((aid, title[:500], resolution, print_, "draft", cid, value(close_at, self.pg)))
            eid = self.event_id = self.event_id + 1
            events.append((eid, cid, value(close_at, self.pg), self.recorded_value, "system",
                           "article_drafted", title, self.data(("article", aid)),
                           os_login_beside(self.os_login, "system")))
            self.articles += 1

    def summary(self) -> BulkSummary:
        s = BulkSummary(cases=self.total, articles=self.articles)
        statuses: Counter[str] = Counter()
        for life, n in zip(self.lives, self.per_kind, strict=True):
            statuses[life.status] += n
            s.events += n * len(life.events)
            s.outbox += n * len(life.outbox)
            s.timers_fired += n * sum(t["state"] == "fired" for t in life.timers)
            s.surveys_answered += n * life.answered
        s.events += self.articles + self.sla_counts["events"]
        s.outbox += self.sla_counts["outbox"]
        s.timers_fired += self.sla_counts["fired"]
        s.sla_metrics = self.sla_counts["metrics"]
        order = ("new", "in_progress", "pending", "awaiting_confirmation", "reopened", "update_received", "closed")
        s.by_status = {k: statuses[k] for k in order if statuses[k]}
        s.phases["plan"] = self.plan_seconds
        return s

    # ------------------------------------------------------------ the statements
    def loads(self, d: Dialect) -> list[TableLoad]:
        from sqlalchemy import Boolean, DateTime, Integer, TypeDecorator
        from sqlmodel import SQLModel

        import deskconsole.store.models  # noqa: F401  (registers the tables)

        def stored(column: Any) -> Any:
            return column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type

        loads = []
        for table, columns in TABLES:
            meta = SQLModel.metadata.tables[table]
            kinds = {c: stored(meta.c[c]) for c in columns}
            types = {c: "BIGINT" if isinstance(k, Integer) else "BOOLEAN" if isinstance(k, Boolean) else "TEXT"
                     for c, k in kinds.items()}
            times = {c for c, k in kinds.items() if isinstance(k, DateTime)}
            rows = [(v, seq, cells) for v, life in enumerate(self.lives)
                    for seq, cells in enumerate(life.rows()[table], 1)]
            loads.append(TableLoad(table, columns, rows, types, times, d))
        return loads
