"""Large desks written in bulk: the rows the lifecycle service would have written, without its round trips.

`deskconsole demo --cases N` (large N) and the benchmarks build their desks here. Each case
gets a life cycle drawn from the same plans as the demo (opened and routed, worked, pending
or awaiting confirmation, replied to, closed by the customer, the analyst or a timer) and
the builder writes exactly what the service writes for each step: the case row with its
version, last actor and last change; its events in order; its timers (running ones with
their due times from Durations, fired and cancelled ones with when that happened); its
outbox rows; its survey; a draft article for a resolution not seen before. Timers that fell
due before `end` are written as fired by the hourly tick of the demo (a reminder sent,
a case auto-closed, the follow-up sent), so a fresh desk has nothing due at `end`, except
the `due` reminders a benchmark asks for, written as not yet processed.

How it is written (deskconsole.bulkload): the rows of each kind of case are described once,
below (`_life`), as cells over the case's seed row; the planner makes one seed row per case
(its kind, its times, the texts drawn for it) and the database makes the rows with one
`INSERT ... SELECT` per table and chunk, on SQLite and PostgreSQL alike.

On a SQLite file that has no cases yet, the desk is built into a copy of the file with the
journal and syncing off, which then replaces the file (a failed or interrupted build leaves
the file as it was). Two processes share the work: the second plans the cases, makes their
outbox rows (BESIDE) and builds the search index in a file of its own; this one makes the
case, event, timer and survey rows, copies the outbox rows in chunk by chunk, and the index
at the end. A database that has cases already (or that another connection holds open, or PostgreSQL)
is added to in one ordinary transaction, in this process alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import time
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import Engine

from deskconsole.bulkload import (
    Beside,
    TIME_WIDTH,
    Day,
    Dialect,
    Id,
    Iso,
    Seed,
    Time,
    SeedImage,
    SeedLoad,
    TableLoad,
    insert_many,
    remove_database,
    text,
)
from deskconsole.demo import PLAN_WEIGHTS
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import SEVERITY_PRIORITY
from deskconsole.domain.timers import Durations
from deskconsole.store.engine import is_postgres
from deskconsole.store import search

CHUNK = 10_000  # cases: a new desk's seed images stay small enough for malloc to reuse their memory
CACHE_KB = 262_144  # SQLite page cache of the writer of a new desk
HOUR = 3600
DAY = 86400
MINUTE = 60
# the tables of a new SQLite desk the second process makes (their rows come in its seed images, copied)
# (the outbox rows cost the most to make for their size: copying them costs half as much. Timer rows
# copied in are no cheaper than made here, and their (state, due_at) index, copied in its own order
# chunk by chunk, was left a third full; survey's unique index makes SQLite copy its rows one by one.)
BESIDE = ("outbox",)
FINISH_SHARE = 0.03  # of the progress bar: the search index and the move into place, after the chunks

# Where a bulk case ends up (the demo's plans; escalations, clones and engineering items
# belong to the demo's lively cases built through the service).
OPEN_PLANS = {plan: weight for plan, weight in PLAN_WEIGHTS.items() if not plan.startswith("closed")}
CLOSED_PLANS = {plan: weight for plan, weight in PLAN_WEIGHTS.items() if plan.startswith("closed")}
PENDING_NOTES = {
    "customer_input": "Could you send us the exact time it happened and a screenshot?",
    "development": "Logged with engineering; waiting for the fix.",
    "scheduled_service": "An engineer visit is booked for next week.",
    "third_party": "Waiting for the payment provider to answer.",
}
INPUT_NOTE = "Please send the log file from the affected machine."
PRIORITY = {s.value: p.value for s, p in SEVERITY_PRIORITY.items()}
SURVEY_SHARE = 0.55  # closed cases whose customer answers the survey

CASE_COLUMNS = (
    "id", "ref", "title", "description", "customer", "contact", "language", "product_area", "severity", "priority",
    "status", "sub_status", "assignee_id", "resolution", "close_reason", "attention", "engineering_ref",
    "cloned_from_id", "created_at", "updated_at", "closed_at", "version", "last_actor", "last_change",
)
EVENT_COLUMNS = ("id", "case_id", "at", "recorded_at", "actor", "kind", "body", "data")
TIMER_COLUMNS = ("id", "case_id", "kind", "state", "started_at", "due_at", "fired_at", "cancelled_at")
OUTBOX_COLUMNS = ("id", "case_id", "event_id", "kind", "to", "subject", "body", "created_at", "state", "attempts")
SURVEY_COLUMNS = ("id", "case_id", "sent_at", "to", "answered_at", "score", "comment", "flagged")
ARTICLE_COLUMNS = ("id", "title", "body", "fingerprint", "state", "source_case_id", "created_at")
TABLES = (
    ("case", CASE_COLUMNS), ("event", EVENT_COLUMNS), ("timer", TIMER_COLUMNS), ("outbox", OUTBOX_COLUMNS),
    ("survey", SURVEY_COLUMNS),
)

# The seed row of a case: what its rows are made of.
SEED_COLUMNS = (
    # case id, kind of case; the ids its events, timers, outbox rows and survey count from
    ("cid", "BIGINT"), ("v", "BIGINT"), ("eb", "BIGINT"), ("tb", "BIGINT"), ("ob", "BIGINT"), ("sb", "BIGINT"),
    ("ref", "TEXT"), ("title", "TEXT"), ("description", "TEXT"), ("customer", "TEXT"), ("contact", "TEXT"),
    ("area", "TEXT"), ("severity", "TEXT"), ("priority", "TEXT"), ("assignee_id", "BIGINT"), ("assignee", "TEXT"),
    ("who", "TEXT"), ("address", "TEXT"), ("opened_data", "TEXT"), ("assigned_data", "TEXT"),
    ("resolution", "TEXT"), ("reason", "TEXT"), ("reply", "TEXT"),
    ("score", "BIGINT"), ("comment", "TEXT"), ("flagged", "BOOLEAN"), ("survey_data", "TEXT"),
    ("tt", "TEXT"),  # the times below, each TIME_WIDTH characters (UTC, 'YYYY-MM-DD HH:MM:SS.ffffff')
)
# opened, worked, the third step (pending, awaiting confirmation, closed by the analyst), the customer's
# reply or confirmation; the reminder due and fired, the auto-close due and fired, the follow-up due and
# fired, the survey answered. A time the case's kind does not have is blank.
SEED_TIMES = ("t0", "t1", "t2", "t3", "rd", "rf", "cd", "cf", "fd", "ff", "ta")
SEED_TITLE = 7
SEED_CUSTOMER = 9
CID, WHO, ASSIGNEE, ADDRESS, TITLE = Seed("cid"), Seed("who"), Seed("assignee"), Seed("address"), Seed("title")
RESOLUTION, REASON, REPLY = Seed("resolution"), Seed("reason"), Seed("reply")
T0, T1, T2, T3, RD, RF, CD, CF, FD, FF, TA = (Time(n) for n in SEED_TIMES)
BLANK = " " * TIME_WIDTH

# kinds of case: (plan,), ("pending:customer_input", reminder fired?), (closed plan, follow-up fired?, answer)
NO_ANSWER, ANSWER_FIRST, ANSWER_AFTER = 0, 1, 2  # the survey answer: none, before the follow-up fired, after


@dataclass
class BulkSummary:
    cases: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    surveys_answered: int = 0
    timers_fired: int = 0
    events: int = 0
    outbox: int = 0
    articles: int = 0
    phases: dict[str, float] = field(default_factory=dict)  # seconds spent: planning, each table, the index, ...


def fingerprint(text: str) -> str:
    """As the service fingerprints a resolution (normalised, hashed)."""
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


class _Times:
    """Whole seconds since the epoch -> the text a seed row carries, fast (a million cases format ~8M times).

    Every time keeps the microseconds of `end`, as the demo's clock does when it steps from a real "now".
    """

    def __init__(self, end: datetime) -> None:
        end = end.astimezone(UTC)
        self.end = int(end.replace(microsecond=0).timestamp())
        self.micro = end.microsecond
        tail = f".{self.micro:06d}"
        self.iso_tail = (tail if self.micro else "") + "+00:00"
        hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{tail}" for s in range(DAY)]

        class Days(dict):
            def __missing__(self, day: int) -> str:
                prefix = self[day] = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%d ")
                return prefix

        days = Days()

        def text(t: int) -> str:
            return days[t // DAY] + hms[t % DAY]

        self.text = text

    def value(self, t: int, postgres: bool) -> Any:
        """As a bound parameter: text on SQLite, an aware datetime on PostgreSQL."""
        return datetime.fromtimestamp(t, UTC).replace(microsecond=self.micro) if postgres else self.text(t)


def _json_cache() -> Callable[..., str]:
    cache: dict[tuple, str] = {}

    def data(*items: tuple[str, Any]) -> str:
        key = tuple(items)
        text = cache.get(key)
        if text is None:
            text = cache[key] = json.dumps(dict(items), default=str)
        return text

    return data


# ------------------------------------------------------------------------------------ the lives
class _Life:
    """The rows one kind of case gets, each cell a constant or an expression over its seed row."""

    def __init__(self, data: Callable[..., str]) -> None:
        self.data = data
        self.events: list[dict[str, Any]] = []
        self.timers: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []
        self.survey: list[dict[str, Any]] = []
        self.status: str = "new"
        self.sub: str | None = None
        self.version = 1
        self.updated: Any = T0
        self.last_actor: Any = WHO
        self.last_change = "opened it"
        self.resolution: Any = None
        self.close_reason: Any = None
        self.attention: str | None = None
        self.closed: Any = None
        self.answered = False

    def event(self, kind: str, actor: Any, at: Any, body: Any = None, data: Any = None,
              recorded: Any = None) -> Id:
        eid = Id("eb", len(self.events) + 1)
        self.events.append({"id": eid, "case_id": CID, "at": at, "recorded_at": at if recorded is None else recorded,
                            "actor": actor, "kind": kind, "body": body, "data": data})
        return eid

    def enter(self, to: str, to_sub: str | None, actor: Any, at: Any, *, body: Any = None,
              cancelled: tuple[str, ...] = (), cause: str | None = None, recorded: Any = None) -> Id:
        items = [("from", self.status), ("from_sub_status", self.sub), ("to", to), ("sub_status", to_sub)]
        if cancelled:
            items.append(("cancelled_timers", cancelled))  # a tuple: JSON writes it as a list
        if cause:
            items.append(("cause", cause))
        self.version += 1
        self.updated = at
        self.last_actor = actor
        self.last_change = "moved it to " + to + (f"/{to_sub}" if to_sub else "")
        self.status, self.sub = to, to_sub
        return self.event("status_changed", actor, at, body, self.data(*items), recorded)

    def timer(self, kind: str, state: str, started: Any, due: Any, fired: Any = None, cancelled: Any = None) -> None:
        self.timers.append({"id": Id("tb", len(self.timers) + 1), "case_id": CID, "kind": kind, "state": state,
                            "started_at": started, "due_at": due, "fired_at": fired, "cancelled_at": cancelled})

    def message(self, event: Id, kind: str, subject: Any, body: Any, created: Any) -> None:
        self.outbox.append({"id": Id("ob", len(self.outbox) + 1), "case_id": CID, "event_id": event, "kind": kind,
                            "to": ADDRESS, "subject": subject, "body": body, "created_at": created,
                            "state": "queued", "attempts": 0})

    def fired(self, kind: str, due: Any, fired: Any) -> Id:
        """The tick processed the timer due at `due` at `fired`: its firing event."""
        stamp = text('{"timer": "', kind, '", "due": "', Iso(due.name), '", "fired": "', Iso(fired.name), '"}')
        return self.event("timer_fired", "timer", due, None, stamp, fired)

    def case_row(self) -> dict[str, Any]:
        return {
            "id": CID, "ref": Seed("ref"), "title": TITLE, "description": Seed("description"),
            "customer": Seed("customer"), "contact": Seed("contact"), "language": None, "product_area": Seed("area"),
            "severity": Seed("severity"), "priority": Seed("priority"), "status": self.status, "sub_status": self.sub,
            "assignee_id": Seed("assignee_id"), "resolution": self.resolution, "close_reason": self.close_reason,
            "attention": self.attention, "engineering_ref": None, "cloned_from_id": None, "created_at": T0,
            "updated_at": self.updated, "closed_at": self.closed, "version": self.version,
            "last_actor": self.last_actor, "last_change": self.last_change,
        }

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        return {"case": [self.case_row()], "event": self.events, "timer": self.timers, "outbox": self.outbox,
                "survey": self.survey}


def _life(kind: tuple, ac_days: int, data: Callable[..., str]) -> _Life:
    """What the service writes for a case of this kind: the steps of its plan, as rows over its seed row."""
    plan = kind[0]
    life = _Life(data)
    life.event("opened", WHO, T0, Seed("description"), Seed("opened_data"))
    life.event("assigned", "router", T0, None, Seed("assigned_data"))
    if plan == "new":
        return life
    life.enter("in_progress", None, ASSIGNEE, T1)

    def confirm_request() -> None:
        life.resolution = RESOLUTION
        eid = life.enter("awaiting_confirmation", None, ASSIGNEE, T2, body=RESOLUTION)
        life.message(eid, "awaiting_confirmation", text("[case ", CID, "] Please confirm our resolution"),
                     text("We believe case ", CID, " (", TITLE, ") is resolved:\n\n", RESOLUTION,
                          "\n\nReply if it is not; to confirm it and close the case, reply with the word CONFIRM "
                          "first. Without an answer the case closes in "
                          f"{ac_days} days."), T2)

    def reminder() -> None:
        """The reminder of pending/customer_input, fired by the tick: sent, and the case flagged."""
        life.timer("reminder", "fired", T2, RD, RF)
        eid = life.fired("reminder", RD, RF)
        life.message(eid, "reminder", text("[case ", CID, "] We are waiting for your answer"),
                     text("Case ", CID, " (", TITLE, ") is waiting for information from you. Without an answer "
                          "it closes on ", Day("cd"), "."), RF)
        life.version += 1
        life.updated = RD
        life.last_actor, life.last_change = "timer", "sent the customer a reminder"
        life.attention = "chase by phone: customer input overdue"

    def auto_close(reason: str) -> Id:
        """The auto-close started at T2, due at CD, fired at CF, closes the case as "timer"."""
        life.timer("auto_close", "fired", T2, CD, CF)
        life.fired("auto_close", CD, CF)
        return life.enter("closed", None, "timer", CD, body=reason, recorded=CF)

    def answer() -> None:
        life.answered = True
        life.event("survey_answered", WHO, TA, Seed("comment"), Seed("survey_data"))

    if plan == "in_progress":
        pass
    elif plan in ("due", "update_received", "closed:auto_input") or plan.startswith("pending:"):
        sub = plan.split(":", 1)[1] if plan.startswith("pending:") else "customer_input"
        life.enter("pending", sub, ASSIGNEE, T2)
        life.event("note", ASSIGNEE, T2, PENDING_NOTES[sub] if plan.startswith("pending:") else INPUT_NOTE)
        if plan == "update_received":
            life.event("customer_replied", WHO, T3, REPLY, data(("channel", "portal")))
            life.enter("update_received", None, WHO, T3, cancelled=("reminder", "auto_close"),
                       cause="customer_replied")
            life.timer("reminder", "cancelled", T2, RD, None, T3)
            life.timer("auto_close", "cancelled", T2, CD, None, T3)
        elif sub == "customer_input" and plan != "closed:auto_input":
            if plan == "due" or not kind[1]:
                life.timer("reminder", "pending", T2, RD)
            else:
                reminder()
            life.timer("auto_close", "pending", T2, CD)
    elif plan in ("awaiting_confirmation", "reopened"):
        confirm_request()
        if plan == "reopened":
            life.event("customer_replied", WHO, T3, REPLY, data(("channel", "portal")))
            life.enter("reopened", None, WHO, T3, cancelled=("auto_close",), cause="customer_replied")
            life.timer("auto_close", "cancelled", T2, CD, None, T3)
        else:
            life.timer("auto_close", "pending", T2, CD)
    if not plan.startswith("closed"):
        return life

    # closed, one way or another; the follow-up and the survey come after
    if plan == "closed:analyst":
        life.close_reason = REASON
        close = life.enter("closed", None, ASSIGNEE, T2, body=REASON)
        closed_at, recorded = T2, T2
    elif plan == "closed:confirmed":
        confirm_request()
        life.timer("auto_close", "cancelled", T2, CD, None, T3)
        life.event("customer_confirmed", WHO, T3)
        life.close_reason = "resolution confirmed by the customer"
        close = life.enter("closed", None, WHO, T3, body=life.close_reason, cancelled=("auto_close",))
        closed_at, recorded = T3, T3
    elif plan == "closed:auto_confirm":
        confirm_request()
        life.close_reason = "auto-closed: resolution not confirmed in time"
        close = auto_close(life.close_reason)
        closed_at, recorded = CD, CF
    else:  # closed:auto_input (pending/customer_input entered above)
        reminder()
        life.close_reason = "auto-closed: no customer input in time"
        close = auto_close(life.close_reason)
        closed_at, recorded = CD, CF
    # _on_closed: the survey and its message (a draft article for a new resolution: _Planner.drafts)
    life.attention = None
    life.closed = closed_at
    life.message(close, "survey", text("[case ", CID, "] How did we do?"),
                 text("Case ", CID, " (", TITLE, ") is closed. Please rate our support from 1 to 5, "
                      "with a comment if you like."), recorded)
    follow_fired, answered = kind[1], kind[2]
    if follow_fired:
        # fired by the next tick, or by the survey answer if that came first (it settles the case)
        if answered == ANSWER_FIRST:
            answer()
        life.timer("followup", "fired", closed_at, FD, FF)
        eid = life.fired("followup", FD, FF)
        life.message(eid, "followup", text("[case ", CID, "] Following up"),
                     text("Case ", CID, " (", TITLE, ") was closed yesterday. If anything is still wrong, "
                          "reply and we will open a new case linked to it."), FF)
    else:
        life.timer("followup", "pending", closed_at, FD)
    if answered == ANSWER_AFTER:
        answer()
    answer_cells = (TA, Seed("score"), Seed("comment"), Seed("flagged")) if answered else (None, None, None, False)
    life.survey.append({"id": Id("sb", 1), "case_id": CID, "sent_at": closed_at, "to": ADDRESS,
                        **dict(zip(("answered_at", "score", "comment", "flagged"), answer_cells))})
    return life


def _kinds() -> list[tuple]:
    """Every kind of case the planner makes."""
    kinds: list[tuple] = []
    for plan in OPEN_PLANS:
        kinds += [(plan, False), (plan, True)] if plan == "pending:customer_input" else [(plan,)]
    kinds.append(("due",))
    for plan in CLOSED_PLANS:
        kinds += [(plan, True, NO_ANSWER), (plan, True, ANSWER_FIRST), (plan, True, ANSWER_AFTER),
                  (plan, False, NO_ANSWER), (plan, False, ANSWER_AFTER)]
    return kinds


# ------------------------------------------------------------------------------------- building
def build_bulk(
    engine: Engine,
    cases: int,
    *,
    end: datetime,
    durations: Durations | None = None,
    seed: int = 1,
    due: int = 0,
    open_share: float = 0.2,
    opened_before: datetime | None = None,
    customers: Sequence[tuple[str, str | None]] | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = CHUNK,
) -> BulkSummary:
    """Add `cases` cases whose histories end by `end`, written in bulk.

    The agents must exist already (analysts with skills route the cases). `open_share` of the
    cases are still open, the newest most likely; `due` of them are pending/customer_input
    with their reminder due a second before `end`, not yet processed (for tick benchmarks).
    Cases open no later than `opened_before` (default: ten minutes before `end`), so that
    cases added afterwards through the service keep ids in order of opening.
    """
    if not isinstance(cases, int) or cases < 0:
        raise InvalidInput(f"the bulk desk needs 0 cases or more, not {cases!r}")
    if not 0 <= due <= cases:
        raise InvalidInput(f"due reminders must be between 0 and the number of cases, not {due!r}")
    planner = _Planner(engine, cases, end, durations or Durations(), seed, due, open_share, opened_before, customers)
    return _Build(engine, planner, chunk, progress).run()


class _Planner:
    """One seed row per case, chunk by chunk: its kind, the times its steps happened, the texts drawn for it."""

    def __init__(
        self, engine: Engine, cases: int, end: datetime, durations: Durations, seed: int, due: int,
        open_share: float, opened_before: datetime | None, customers: Sequence[tuple[str, str | None]] | None,
    ) -> None:
        from deskconsole import demo

        self.pg = is_postgres(engine)
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
                          for name, contact in (customers or demo.CUSTOMERS)]
        self.titles = demo.TITLES
        self.descriptions = demo.DESCRIPTIONS
        self.resolutions = demo.RESOLUTIONS
        self.replies = demo.REPLIES
        self.reopen_replies = demo.REOPEN_REPLIES
        self.close_reasons = demo.CLOSE_REASONS
        self.comments = demo.SURVEY_COMMENTS
        self.scores = list(demo.SCORE_WEIGHTS)
        self.score_cum = list(accumulate(demo.SCORE_WEIGHTS.values()))
        self.data = _json_cache()
        self.kinds = _kinds()
        self.lives = [_life(kind, self.ac_days, self.data) for kind in self.kinds]
        self.kind_id = {kind: v for v, kind in enumerate(self.kinds)}
        self.counts = [(len(life.events), len(life.timers), len(life.outbox), len(life.survey))
                       for life in self.lives]
        self.per_kind = [0] * len(self.kinds)
        self._opened_data: dict[tuple[str, str, str], str] = {}
        self._unassigned = self.data(("assignee", None), ("queue", "team"))
        self.articles = 0
        self.plan_seconds = 0.0

    # ------------------------------------------------------------------ reads
    def load(self, conn: Any) -> None:
        from sqlalchemy import func, select

        from deskconsole.store.models import Agent, Article, Case, Event, Outbox, Survey, Timer

        agents = conn.execute(select(Agent.id, Agent.name, Agent.role, Agent.skills, Agent.availability)).all()
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
        self.seen = set(conn.execute(select(Article.fingerprint)).scalars())
        self.fresh = self.case_id == 0
        self.drafts: dict[str, tuple[int, int, int, str]] = {}  # resolution -> its earliest closing so far
        self.final: set[str] = set()  # resolutions whose first closing is known
        self.due_keys = set(self.rng.sample(range(self._due_room()), self.due)) if self.due else set()

    # ---------------------------------------------------------------- planning
    def chunks(self, chunk: int) -> Iterator[tuple[int, list[tuple], list[tuple], list[tuple]]]:
        """(cases, article rows, their article_drafted events, seed rows), chunk by chunk."""
        done = 0
        while done < self.total:
            size = min(chunk, self.total - done)
            start = time.perf_counter()
            seeds = self._seeds(done, size)
            articles: list[tuple] = []
            drafted: list[tuple] = []
            self._draft(drafted, articles, None if done + size >= self.total else self._opened(done + size - 1))
            self.plan_seconds += time.perf_counter() - start
            yield size, articles, drafted, seeds
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

    def _seeds(self, first: int, size: int) -> list[tuple]:
        rng = self.rng
        rnd = rng.random
        T = self.times.text
        B = BLANK
        data = self.data
        E, rem, ic, ac, fu = self.E, self.rem, self.ic, self.ac, self.fu
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

        for key in range(first, first + size):
            cid += 1
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
                    if plan == "closed:auto_input" and E - opened < late_input:
                        plan = "closed:confirmed"
                    elif plan == "closed:auto_confirm" and E - opened < late_confirm:
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
            append((cid, v, eb, tb, ob, sb, ref, title, description, customer, contact, area, severity, priority,
                    assignee_id, assignee, who, address, opened_data, assigned_data, resolution, reason, reply,
                    score, comment, flagged, survey_data, tt))
            eb, tb, ob, sb = eb + events, tb + timers, ob + outbox, sb + surveys
        self.case_id, self.event_id, self.timer_id, self.outbox_id, self.survey_id = cid, eb, tb, ob, sb
        return seeds

    def _draft(self, events: list[tuple], articles: list[tuple], opened: int | None) -> None:
        """Draft the articles of resolutions whose first closing is settled: the cases still to come
        open after `opened` (None: none are to come)."""
        value = self.times.value
        for resolution, (close_at, close_rec, cid, title) in sorted(self.drafts.items(), key=lambda d: d[1]):
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
            events.append((eid, cid, value(close_at, self.pg), value(close_rec, self.pg), "system",
                           "article_drafted", title, self.data(("article", aid))))
            self.articles += 1

    def summary(self) -> BulkSummary:
        s = BulkSummary(cases=self.total, articles=self.articles)
        statuses: Counter[str] = Counter()
        for life, n in zip(self.lives, self.per_kind):
            statuses[life.status] += n
            s.events += n * len(life.events)
            s.outbox += n * len(life.outbox)
            s.timers_fired += n * sum(t["state"] == "fired" for t in life.timers)
            s.surveys_answered += n * life.answered
        s.events += self.articles
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


class _Build:
    """Writes the planner's chunks: on PostgreSQL and into a desk with cases in one transaction; into a
    new SQLite desk beside the file, with the planner and the search index in a second process."""

    def __init__(self, engine: Engine, planner: _Planner, chunk: int,
                 progress: Callable[[int, int], None] | None) -> None:
        self.engine = engine
        self.planner = planner
        self.chunk = chunk
        self.progress = progress
        self.pg = planner.pg
        self.d = Dialect(pg=self.pg, iso_tail=planner.times.iso_tail, times=SEED_TIMES)
        self.timings: Counter[str] = Counter()
        self.total = planner.total

    def report(self, done: float) -> None:
        if self.progress is not None:
            self.progress(int(done), self.total)

    def run(self) -> BulkSummary:
        with self.engine.connect() as conn:
            self.planner.load(conn)
        if self.pg or not self.planner.fresh:
            summary = self._in_transaction()
        else:
            summary = self._new_sqlite_desk()
        summary.phases.update(self.timings)
        summary.phases = {k: round(v, 3) for k, v in summary.phases.items()}
        return summary

    def _write(self, cur: Any, chunks: Any, share: float, images: bool = False, made: Sequence[str] = ()) -> SeedLoad:
        """The chunks' rows, with the progress bar going to `share` of the cases. A chunk's seed rows
        come as a list, or as a SeedImage of them (`images`) with the rows of the tables `made`."""
        self.report(0)
        done = 0
        p = self.planner
        article_sql = f'INSERT INTO article ({", ".join(ARTICLE_COLUMNS)}) VALUES ({", ".join([self.d.mark] * 7)})'
        event_sql = f'INSERT INTO event ({", ".join(EVENT_COLUMNS)}) VALUES ({", ".join([self.d.mark] * 8)})'
        with SeedLoad(cur, self.d, SEED_COLUMNS, p.loads(self.d), images=images, made=made) as load:
            for size, articles, drafted, seeds in chunks:
                if images:
                    load.take(seeds, self.timings)
                else:
                    load.load(seeds, self.timings)
                if articles:
                    insert_many(cur, self.d, article_sql, article_sql, articles)
                    insert_many(cur, self.d, event_sql, event_sql, drafted)
                done += size
                self.report(done * share)
        return load

    def _in_transaction(self) -> BulkSummary:
        raw = self.engine.raw_connection()
        try:
            dbapi = raw.driver_connection
            cur = dbapi.cursor()
            try:
                if not self.pg:
                    cur.execute("BEGIN IMMEDIATE")
                    search.pause_case_index_on(cur)  # the search index is refilled once, after the cases are in
                self._write(cur, self.planner.chunks(self.chunk), 1 - FINISH_SHARE)
                if not self.pg:
                    start = time.perf_counter()
                    search.rebuild_case_index_on(cur)
                    self.timings["index"] += time.perf_counter() - start
                else:
                    for table in ("case", "event", "timer", "outbox", "survey", "article"):
                        cur.execute(
                            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                            f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"), false)'
                        )
                dbapi.commit() if self.pg else cur.execute("COMMIT")
            except BaseException:
                if self.pg:
                    dbapi.rollback()
                elif dbapi.in_transaction:
                    cur.execute("ROLLBACK")
                raise
            cur.close()
        finally:
            raw.close()
        self.report(self.total)
        return self.planner.summary()

    def _new_sqlite_desk(self) -> BulkSummary:
        """A desk without cases yet: built with the journal off into `<file>.bulk` (a copy of the file),
        which replaces the file once complete. If another connection has the file open (its WAL is
        there), or it is not a plain file, the cases go into it in one ordinary transaction instead."""
        url = self.engine.url
        path = url.database
        self.engine.dispose()  # this process's pooled connections let go of the file
        if not path or path == ":memory:" or path.startswith("file:") or url.query or any(
                os.path.exists(path + suffix) for suffix in ("-wal", "-shm", "-journal")):
            return self._in_transaction()
        path = os.path.abspath(path)
        target = path + ".bulk"
        index_path = path + ".bulk-index"
        remove_database(index_path)
        source = sqlite3.connect(path)
        try:
            journal = source.execute("PRAGMA journal_mode").fetchone()[0]
            index_ddl = source.execute("SELECT sql FROM sqlite_master WHERE name = 'case_fts'").fetchone()
            beside_ddl = [row[0] for table in BESIDE for row in source.execute(  # tables first, then indexes
                "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type DESC",
                (table,))]
            remove_database(target)
            source.execute("VACUUM INTO ?", (target,))
        finally:
            source.close()
        planner = self.planner
        side: Beside | None = None
        index = search.CaseIndexFile(index_path, index_ddl[0]) if index_ddl and Beside.available() else None
        con = sqlite3.connect(target, isolation_level=None)
        try:
            cur = con.cursor()
            for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{CACHE_KB}", "temp_store=MEMORY",
                           "foreign_keys=OFF"):
                cur.execute(f"PRAGMA {pragma}")
            cur.execute("BEGIN")
            search.pause_case_index_on(cur)
            if index is not None:
                chunk = self.chunk

                def make() -> Iterator[tuple]:
                    """In the second process: the chunks with their seed rows as images; the index."""
                    # None is bound several times a seed row; an adapter for it spares sqlite3 a failed
                    # adapter lookup each time (this process only)
                    sqlite3.register_adapter(type(None), lambda none: none)
                    made = [t for t in planner.loads(self.d) if t.table in BESIDE]
                    images = SeedImage(SEED_COLUMNS, self.d, made, beside_ddl)
                    for size, articles, drafted, seeds in planner.chunks(chunk):
                        yield size, articles, drafted, images.image(seeds)
                        index.add((row[0], row[SEED_TITLE], row[SEED_CUSTOMER]) for row in seeds)
                    beside_phases.update((f"{phase} (beside)", seconds) for phase, seconds in images.seconds.items())

                def finish() -> BulkSummary:
                    start = time.perf_counter()
                    index.finish()
                    summary = planner.summary()
                    summary.phases.update(beside_phases)
                    summary.phases["index (beside)"] = index.seconds + time.perf_counter() - start
                    return summary

                beside_phases: dict[str, float] = {}
                side = Beside(make, finish)
                load = self._write(cur, side, 1 - FINISH_SHARE, images=True, made=BESIDE)
                summary = side.result
                cur.execute("COMMIT")
                load.detach()
                start = time.perf_counter()
                search.copy_case_index_on(cur, index_path)
                self.timings["index copy"] += time.perf_counter() - start
            else:
                self._write(cur, planner.chunks(self.chunk), 1 - FINISH_SHARE)
                start = time.perf_counter()
                search.rebuild_case_index_on(cur)
                self.timings["index"] += time.perf_counter() - start
                summary = planner.summary()
                cur.execute("COMMIT")
            cur.execute(f"PRAGMA journal_mode={journal}")
            cur.close()
            con.close()
            os.replace(target, path)
        except BaseException:
            if side is not None:
                side.stop()
            con.close()
            remove_database(target)
            raise
        finally:
            remove_database(index_path)
        self.report(self.total)
        return summary


__all__ = ["build_bulk", "BulkSummary"]
