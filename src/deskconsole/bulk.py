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

Rows are plain tuples, inserted with the DBAPI's executemany in chunks inside one
transaction. On SQLite, a database that has no cases yet is filled with the journal and
syncing off (nothing to lose if the build is interrupted; the settings are restored
afterwards).
"""

from __future__ import annotations

import hashlib
import json
import random
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate, chain
from typing import Any

from sqlalchemy import Engine

from deskconsole.demo import PLAN_WEIGHTS
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.lifecycle import SEVERITY_PRIORITY
from deskconsole.domain.timers import Durations
from deskconsole.store.engine import is_postgres
from deskconsole.store.search import pause_case_index_on, rebuild_case_index_on

CHUNK = 25_000
ROWS_PER_INSERT = 100  # SQLite: rows to one INSERT statement
HOUR = 3600
DAY = 86400
MINUTE = 60

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
TIMER_COLUMNS = ("case_id", "kind", "state", "started_at", "due_at", "fired_at", "cancelled_at")
OUTBOX_COLUMNS = ("case_id", "event_id", "kind", "to", "subject", "body", "created_at", "state", "attempts")
SURVEY_COLUMNS = ("case_id", "sent_at", "to", "answered_at", "score", "comment", "flagged")
ARTICLE_COLUMNS = ("id", "title", "body", "fingerprint", "state", "source_case_id", "created_at")
TABLES = (
    ("case", CASE_COLUMNS), ("event", EVENT_COLUMNS), ("timer", TIMER_COLUMNS), ("outbox", OUTBOX_COLUMNS),
    ("survey", SURVEY_COLUMNS), ("article", ARTICLE_COLUMNS),
)


@dataclass
class BulkSummary:
    cases: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    surveys_answered: int = 0
    timers_fired: int = 0
    events: int = 0
    outbox: int = 0
    articles: int = 0


def _insert_sql(table: str, columns: Sequence[str], mark: str) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join([mark] * len(columns))})'


def fingerprint(text: str) -> str:
    """As the service fingerprints a resolution (normalised, hashed)."""
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


class _Times:
    """Whole seconds since the epoch -> the value a table stores, fast (a million cases format ~20M times).

    Every time keeps the microseconds of `end`, as the demo's clock does when it steps from a real "now".
    """

    def __init__(self, end: datetime, postgres: bool) -> None:
        end = end.astimezone(UTC)
        self.end = int(end.replace(microsecond=0).timestamp())
        self.micro = end.microsecond
        self.postgres = postgres
        self._days: dict[int, str] = {}
        self._days_iso: dict[int, str] = {}
        self._hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)]
        self._sql_tail = f".{self.micro:06d}"
        self._iso_tail = (f".{self.micro:06d}" if self.micro else "") + "+00:00"

    def db(self, t: int) -> Any:
        if self.postgres:
            return datetime.fromtimestamp(t, UTC).replace(microsecond=self.micro)
        day, sec = divmod(t, DAY)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%d ")
        return prefix + self._hms[sec] + self._sql_tail

    def iso(self, t: int) -> str:
        """As datetime.isoformat() of the aware UTC time (the timer stamps in event data)."""
        day, sec = divmod(t, DAY)
        prefix = self._days_iso.get(day)
        if prefix is None:
            prefix = self._days_iso[day] = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%dT")
        return prefix + self._hms[sec] + self._iso_tail

    def date(self, t: int) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


def _json_cache() -> Callable[..., str]:
    cache: dict[tuple, str] = {}

    def data(*items: tuple[str, Any]) -> str:
        key = tuple(items)
        text = cache.get(key)
        if text is None:
            text = cache[key] = json.dumps(dict(items), default=str)
        return text

    return data


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
    builder = _Bulk(engine, cases, end, durations or Durations(), seed, due, open_share, opened_before, customers)
    return builder.run(progress, chunk)


class _Bulk:
    def __init__(
        self, engine: Engine, cases: int, end: datetime, durations: Durations, seed: int, due: int,
        open_share: float, opened_before: datetime | None, customers: Sequence[tuple[str, str | None]] | None,
    ) -> None:
        from deskconsole import demo

        self.engine = engine
        self.pg = is_postgres(engine)
        self.total = cases
        self.rng = random.Random(seed)
        self.times = _Times(end, self.pg)
        self.E = self.times.end
        last_open = opened_before if opened_before is not None else end - timedelta(minutes=10)
        self.last_open = min(self.E - 10 * MINUTE, int(last_open.astimezone(UTC).timestamp()))
        # about 100 cases a day on a small desk, up to 1,000 a day on a large one: a million span ~3 years
        span = max(35 * DAY, min(cases * 864, cases * 86))
        self.first_open = self.last_open - span
        self.open_share = max(0.0, min(1.0, open_share))
        self.due = due
        self.d = durations
        self.ac = int(durations.awaiting_confirmation_close.total_seconds())
        self.rem = int(durations.customer_input_reminder.total_seconds())
        self.ic = int(durations.customer_input_close.total_seconds())
        self.fu = int(durations.followup_after_close.total_seconds())
        self.ac_days = durations.awaiting_confirmation_close.days
        self.customers = list(customers or demo.CUSTOMERS)
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
        self.summary = BulkSummary()
        self._moves: dict[tuple, tuple[str, str]] = {}
        self._many: dict[str, str] = {}
        self.status_counts: Counter[str] = Counter()

    # ------------------------------------------------------------------ reads
    def _load(self, conn: Any) -> None:
        from sqlalchemy import func, select

        from deskconsole.store.models import Agent, Article, Case, Event

        agents = conn.execute(select(Agent.id, Agent.name, Agent.role, Agent.skills, Agent.availability)).all()
        self.analysts = [(a.id, a.name, [s for s in a.skills.split(",") if s]) for a in agents
                         if a.role == "analyst" and a.availability == "available"]
        if not any(skills for _, _, skills in self.analysts):
            raise InvalidInput("a bulk desk needs analysts with skills: add agents first")
        areas = sorted({s for _, _, skills in self.analysts for s in skills})
        self.areas = areas
        self.fits = {area: [(i, n) for i, n, skills in self.analysts if area in skills] for area in areas}
        self.turn = Counter()
        self.case_id = conn.execute(select(func.max(Case.id))).scalar() or 0
        self.event_id = conn.execute(select(func.max(Event.id))).scalar() or 0
        self.article_id = conn.execute(select(func.max(Article.id))).scalar() or 0
        self.seen = set(conn.execute(select(Article.fingerprint)).scalars())
        self.fresh = self.case_id == 0
        self.drafts: dict[str, tuple[int, int, int, str]] = {}  # resolution -> its earliest closing so far
        self.final: set[str] = set()  # resolutions whose first closing is known

    # ----------------------------------------------------------------- writing
    def run(self, progress: Callable[[int, int], None] | None, chunk: int) -> BulkSummary:
        with self.engine.connect() as conn:
            self._load(conn)
        if not self.pg and self.fresh:
            self.engine.dispose()  # idle pooled connections would keep the journal mode from changing
        raw = self.engine.raw_connection()
        try:
            dbapi = raw.driver_connection
            cur = dbapi.cursor()
            statements = {name: _insert_sql(name, cols, "%s" if self.pg else "?") for name, cols in TABLES}
            fast = not self.pg and self.fresh
            if fast:
                journal = cur.execute("PRAGMA journal_mode").fetchone()[0]
                cur.execute("PRAGMA journal_mode=OFF")
                cur.execute("PRAGMA synchronous=OFF")
                cur.execute("PRAGMA cache_size=-262144")
            if not self.pg:
                cur.execute("BEGIN IMMEDIATE")
                pause_case_index_on(cur)  # the search index is refilled once, after the cases are in
            try:
                done = 0
                if progress is not None:
                    progress(0, self.total)
                self.due_keys = set(self.rng.sample(range(self._due_room()), self.due)) if self.due else set()
                for size, rows in self._chunks(chunk):
                    for name, cols in TABLES:
                        if rows[name]:
                            self._insert(cur, name, cols, rows[name], statements[name])
                    done += size
                    if progress is not None:
                        progress(done, self.total)
                # after the cases are inserted: the case title/customer search index (SQLite)
                if not self.pg:
                    rebuild_case_index_on(cur)
                if self.pg:
                    for table in ("case", "event", "article"):
                        cur.execute(
                            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                            f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"), false)'
                        )
                dbapi.commit() if self.pg else cur.execute("COMMIT")
            except BaseException:
                if self.pg:
                    dbapi.rollback()
                else:
                    cur.execute("ROLLBACK") if dbapi.in_transaction else None
                raise
            finally:
                if fast:
                    cur.execute(f"PRAGMA journal_mode={journal}")
                    cur.execute("PRAGMA synchronous=NORMAL")
                    cur.execute("PRAGMA cache_size=-2000")
            cur.close()
        finally:
            raw.close()
        self.summary.cases = self.total
        order = ("new", "in_progress", "pending", "awaiting_confirmation", "reopened", "update_received", "closed")
        self.summary.by_status = {k: self.status_counts[k] for k in order if self.status_counts[k]}
        return self.summary

    def _insert(self, cur: Any, name: str, columns: Sequence[str], rows: list[tuple], one_row: str) -> None:
        """executemany; on SQLite with many rows to a statement (fewer, larger steps: faster)."""
        per = ROWS_PER_INSERT
        full = 0 if self.pg else len(rows) // per * per
        if full:
            many = self._many.get(name)
            if many is None:
                values = "(" + ", ".join(["?"] * len(columns)) + ")"
                many = self._many[name] = one_row.split(" VALUES ")[0] + " VALUES " + ", ".join([values] * per)
            flat = chain.from_iterable
            cur.executemany(many, [tuple(flat(rows[i:i + per])) for i in range(0, full, per)])
        if full < len(rows):
            cur.executemany(one_row, rows[full:])

    def _chunks(self, chunk: int) -> Iterator[tuple[int, dict[str, list[tuple]]]]:
        """The rows, chunk by chunk (a chunk is inserted before the next is made: memory stays flat)."""
        done = 0
        while done < self.total:
            size = min(chunk, self.total - done)
            yield size, self._chunk(done, size)
            done += size

    # ---------------------------------------------------------------- planning
    def _plan(self, key: int, opened: int) -> str:
        rng = self.rng
        if key in self.due_keys:
            return "due"
        # the newest cases are the open ones: the chance rises from 0 to 1 over the newest 2 x open_share
        recency = (key + 0.5) / max(1, self.total)
        p = self.open_share
        chance = 0.0 if p <= 0 else max(0.0, (recency - (1 - 2 * p)) / (2 * p)) if p < 0.5 else \
            min(1.0, recency * 2 * p)
        if rng.random() < chance:
            plan = self._open_plans[bisect(self._open_cum, rng.random() * self._open_cum[-1])]
            if plan == "new" and self.E - opened > 2 * DAY:
                plan = "in_progress"  # nobody leaves a case untouched for days
            return plan
        plan = self._closed_plans[bisect(self._closed_cum, rng.random() * self._closed_cum[-1])]
        room = self.E - opened
        if plan == "closed:auto_input" and room < self.ic + self.fu + 5 * DAY:
            plan = "closed:confirmed"
        if plan == "closed:auto_confirm" and room < self.ac + self.fu + 7 * DAY:
            plan = "closed:confirmed"
        return plan

    def _opened(self, key: int) -> int:
        return self.first_open + ((self.last_open - self.first_open) * (2 * key + 1)) // (2 * max(1, self.total))

    def _due_room(self) -> int:
        """How many of the oldest cases opened early enough to have been waiting on the customer
        for a reminder's delay by `end`."""
        limit = self.E - self.rem - 2 * DAY
        room = sum(1 for key in range(self.total) if self._opened(key) < limit)
        if room < self.due:
            raise InvalidInput(f"only {room:,} of the cases are old enough to have a reminder due")
        return room

    _open_plans = list(OPEN_PLANS)
    _open_cum = list(accumulate(OPEN_PLANS.values()))
    _closed_plans = list(CLOSED_PLANS)
    _closed_cum = list(accumulate(CLOSED_PLANS.values()))

    def tick_at(self, due: int) -> int:
        """When the demo's hourly tick (on the hour grid that ends at `end`) processed a timer due then."""
        return self.E - ((self.E - due) // HOUR) * HOUR

    # ----------------------------------------------------------------- the rows
    def _chunk(self, first: int, size: int) -> dict[str, list[tuple]]:
        rng = self.rng
        T = self.times.db
        data = self.data
        E = self.E
        cases: list[tuple] = []
        events: list[tuple] = []
        timers: list[tuple] = []
        outbox: list[tuple] = []
        surveys: list[tuple] = []
        articles: list[tuple] = []
        counts = self.status_counts
        summary = self.summary
        rnd = rng.random
        moves = self._moves

        def randint(low: int, high: int) -> int:
            return low + int(rnd() * (high - low + 1))

        for key in range(first, first + size):
            cid = self.case_id = self.case_id + 1
            opened = self._opened(key)
            plan = self._plan(key, opened)
            if plan == "new" and rnd() < 0.05:
                area = "hardware" if "hardware" not in self.fits else "unknown"  # nobody has the skill
            else:
                area = self.areas[int(rnd() * len(self.areas))]
            fits = self.fits.get(area)
            if fits:
                turn = self.turn[area]
                self.turn[area] = turn + 1
                assignee_id, assignee = fits[turn % len(fits)]
            else:
                assignee_id, assignee = None, None  # waits in the team queue
            titles = self.titles.get(area) or [f"Trouble with {area}"]
            title = titles[int(rnd() * len(titles))]
            description = self.descriptions[int(rnd() * len(self.descriptions))]
            customer, contact = self.customers[int(rnd() * len(self.customers))]
            address = contact or "customer:" + customer
            who = "customer:" + customer
            roll = rnd() * 100
            severity = "production_down" if roll < 4 else "high" if roll < 24 else "normal" if roll < 80 else "low"
            priority = PRIORITY[severity]
            ref = f"PORTAL-{cid:07d}" if rnd() < 0.6 else None

            # state of the row as the service leaves it
            version = 1
            updated = opened
            last_actor, last_change = who, "opened it"
            status, sub = "new", None
            resolution = close_reason = attention = None
            closed_at = None

            def event(kind: str, actor: str, at: int, body: str | None = None, payload: str | None = None,
                      recorded: int | None = None) -> int:
                eid = self.event_id = self.event_id + 1
                stamp = T(at)
                events.append((eid, cid, stamp, stamp if recorded is None else T(recorded), actor, kind, body, payload))
                return eid

            def enter(to: str, to_sub: str | None, actor: str, at: int, *, body: str | None = None,
                      cancelled: tuple[str, ...] = (), cause: str | None = None, recorded: int | None = None) -> int:
                nonlocal version, updated, last_actor, last_change, status, sub
                move = (status, sub, to, to_sub, cancelled, cause)
                known = moves.get(move)
                if known is None:
                    items = [("from", status), ("from_sub_status", sub), ("to", to), ("sub_status", to_sub)]
                    if cancelled:
                        items.append(("cancelled_timers", cancelled))  # a tuple: JSON writes it as a list
                    if cause:
                        items.append(("cause", cause))
                    known = moves[move] = (data(*items), "moved it to " + to + (f"/{to_sub}" if to_sub else ""))
                payload, last_change = known
                version += 1
                if at > updated:
                    updated = at
                last_actor = actor
                status, sub = to, to_sub
                return event("status_changed", actor, at, body, payload, recorded)

            def fired_stamp(kind: str, at: int, fired: int) -> str:
                iso = self.times.iso
                return f'{{"timer": "{kind}", "due": "{iso(at)}", "fired": "{iso(fired)}"}}'

            def auto_close(since: int, delay: int, reason: str) -> tuple[int, int, int]:
                """The auto-close started at `since` fires at its tick and closes the case as "timer":
                its due time, the tick's time and the closing event's id."""
                at = since + delay
                fired = self.tick_at(at)
                timers.append((cid, "auto_close", "fired", T(since), T(at), T(fired), None))
                event("timer_fired", "timer", at, None, fired_stamp("auto_close", at, fired), fired)
                return at, fired, enter("closed", None, "timer", at, body=reason, recorded=fired)

            event("opened", who, opened, description,
                  data(("title", title), ("severity", severity), ("priority", priority), ("product_area", area)))
            event("assigned", "router", opened, None,
                  data(("assignee", assignee), ("queue", None if assignee else "team")))
            if plan == "new":
                counts["new"] += 1
                cases.append((cid, ref, title, description, customer, contact, None, area, severity, priority,
                              "new", None, assignee_id, None, None, None, None, None, T(opened), T(updated), None,
                              version, last_actor, last_change))
                continue

            room = E - opened
            t1 = opened + min(randint(10 * MINUTE, DAY), room // 4)
            enter("in_progress", None, assignee, t1)
            fixes = self.resolutions.get(area) or ["Fixed."]
            resolution_text = fixes[int(rnd() * len(fixes))]

            if plan == "in_progress":
                pass
            elif plan == "due":
                t2 = E - self.rem - 1
                t2 = max(t2, t1 + 1)
                enter("pending", "customer_input", assignee, t2)
                event("note", assignee, t2, INPUT_NOTE)
                timers.append((cid, "reminder", "pending", T(t2), T(t2 + self.rem), None, None))
                timers.append((cid, "auto_close", "pending", T(t2), T(t2 + self.ic), None, None))
            elif plan.startswith("pending:") or plan == "update_received":
                s = plan.split(":", 1)[1] if plan.startswith("pending:") else "customer_input"
                if s == "customer_input":
                    low = max(t1 + 1, E - self.ic + HOUR)
                else:
                    low = t1 + 1
                high = E - (30 * MINUTE if plan == "update_received" else MINUTE)
                t2 = randint(min(low, high), high) if low < high else max(t1 + 1, high - 1)
                enter("pending", s, assignee, t2)
                note = INPUT_NOTE if plan == "update_received" else PENDING_NOTES[s]
                event("note", assignee, t2, note)
                if s == "customer_input":
                    reminder_due, close_due = t2 + self.rem, t2 + self.ic
                    if plan == "update_received":
                        t3 = randint(t2 + 1, max(t2 + 1, min(reminder_due - 1, E - MINUTE)))
                        event("customer_replied", who, t3, self.replies[int(rnd() * len(self.replies))],
                              data(("channel", "portal")))
                        enter("update_received", None, who, t3, cancelled=("reminder", "auto_close"),
                              cause="customer_replied")
                        timers.append((cid, "reminder", "cancelled", T(t2), T(reminder_due), None, T(t3)))
                        timers.append((cid, "auto_close", "cancelled", T(t2), T(close_due), None, T(t3)))
                    else:
                        if reminder_due <= E:
                            tick = self.tick_at(reminder_due)
                            self._reminder(cid, title, address, reminder_due, tick, event, events, outbox,
                                           fired_stamp, timers, t2)
                            summary.timers_fired += 1
                            attention = "chase by phone: customer input overdue"
                            version += 1
                            updated = max(updated, reminder_due)
                            last_actor, last_change = "timer", "sent the customer a reminder"
                        else:
                            timers.append((cid, "reminder", "pending", T(t2), T(reminder_due), None, None))
                        timers.append((cid, "auto_close", "pending", T(t2), T(close_due), None, None))
            elif plan in ("awaiting_confirmation", "reopened"):
                low, high = max(t1 + 1, E - self.ac + HOUR), E - (30 * MINUTE if plan == "reopened" else MINUTE)
                t2 = randint(min(low, high), high) if low < high else max(t1 + 1, high - 1)
                resolution = resolution_text
                eid = enter("awaiting_confirmation", None, assignee, t2, body=resolution)
                self._confirm_request(cid, title, resolution, address, eid, t2, outbox)
                if plan == "reopened":
                    t3 = randint(t2 + 1, max(t2 + 1, min(t2 + self.ac - 1, E - MINUTE)))
                    event("customer_replied", who, t3, self.reopen_replies[int(rnd() * len(self.reopen_replies))],
                          data(("channel", "portal")))
                    enter("reopened", None, who, t3, cancelled=("auto_close",), cause="customer_replied")
                    timers.append((cid, "auto_close", "cancelled", T(t2), T(t2 + self.ac), None, T(t3)))
                else:
                    timers.append((cid, "auto_close", "pending", T(t2), T(t2 + self.ac), None, None))
            else:
                # closed, one way or another; the follow-up and the survey come after
                work = max(2, room - 3 * DAY - self.fu)
                if plan == "closed:analyst":
                    t2 = min(t1 + randint(HOUR, 10 * DAY), t1 + work // 2)
                    reason = self.close_reasons[int(rnd() * len(self.close_reasons))]
                    close_eid = enter("closed", None, assignee, t2, body=reason)
                    close_at, close_rec, close_reason = t2, t2, reason
                elif plan == "closed:confirmed":
                    t2 = min(t1 + randint(HOUR, 5 * DAY), t1 + work // 3)
                    resolution = resolution_text
                    eid = enter("awaiting_confirmation", None, assignee, t2, body=resolution)
                    self._confirm_request(cid, title, resolution, address, eid, t2, outbox)
                    t3 = min(t2 + randint(2 * HOUR, 5 * DAY), t2 + work // 3)
                    timers.append((cid, "auto_close", "cancelled", T(t2), T(t2 + self.ac), None, T(t3)))
                    event("customer_confirmed", who, t3)
                    close_reason = "resolution confirmed by the customer"
                    close_eid = enter("closed", None, who, t3, body=close_reason, cancelled=("auto_close",))
                    close_at = close_rec = t3
                elif plan == "closed:auto_confirm":
                    t2 = t1 + randint(HOUR, 5 * DAY)
                    resolution = resolution_text
                    eid = enter("awaiting_confirmation", None, assignee, t2, body=resolution)
                    self._confirm_request(cid, title, resolution, address, eid, t2, outbox)
                    close_reason = "auto-closed: resolution not confirmed in time"
                    close_at, close_rec, close_eid = auto_close(t2, self.ac, close_reason)
                    summary.timers_fired += 1
                else:  # closed:auto_input
                    t2 = t1 + randint(HOUR, 3 * DAY)
                    enter("pending", "customer_input", assignee, t2)
                    event("note", assignee, t2, INPUT_NOTE)
                    reminder_due = t2 + self.rem
                    self._reminder(cid, title, address, reminder_due, self.tick_at(reminder_due), event, events,
                                   outbox, fired_stamp, timers, t2)
                    version += 1
                    updated = max(updated, reminder_due)
                    close_reason = "auto-closed: no customer input in time"
                    close_at, close_rec, close_eid = auto_close(t2, self.ic, close_reason)
                    summary.timers_fired += 2
                attention = None
                closed_at = close_at
                # _on_closed: the survey and its message, and a draft article for a new resolution
                surveys_row = [cid, T(close_at), address, None, None, None, False]
                outbox.append((cid, close_eid, "survey", address, f"[case {cid}] How did we do?",
                               f"Case {cid} ({title}) is closed. Please rate our support from 1 to 5, "
                               "with a comment if you like.", T(close_rec), "queued", 0))
                if resolution and resolution not in self.final:
                    # the first case to close with a new resolution drafts an article; cases close out of
                    # id order, so the earliest closing is held until no later case can close before it
                    held = self.drafts.get(resolution)
                    if held is None or close_at < held[0]:
                        self.drafts[resolution] = (close_at, close_rec, cid, title)
                answered = None
                if rnd() < SURVEY_SHARE:
                    at = close_at + randint(2 * HOUR, 3 * DAY)
                    if at < E:
                        answered = at
                follow_due = close_at + self.fu
                if follow_due <= E:
                    # fired by the next tick, or by the survey answer if that came first (it settles the case)
                    fired = self.tick_at(follow_due)
                    if answered is not None and follow_due <= answered < fired:
                        fired = answered
                    if answered is not None and answered < fired:
                        self._answer(cid, who, answered, surveys_row, event)
                        answered = None
                    timers.append((cid, "followup", "fired", T(close_at), T(follow_due), T(fired), None))
                    eid = event("timer_fired", "timer", follow_due, None,
                                fired_stamp("followup", follow_due, fired), fired)
                    outbox.append((cid, eid, "followup", address, f"[case {cid}] Following up",
                                   f"Case {cid} ({title}) was closed yesterday. If anything is still wrong, "
                                   "reply and we will open a new case linked to it.", T(fired), "queued", 0))
                    summary.timers_fired += 1
                else:
                    timers.append((cid, "followup", "pending", T(close_at), T(follow_due), None, None))
                if answered is not None:
                    self._answer(cid, who, answered, surveys_row, event)
                surveys.append(tuple(surveys_row))
            counts[status] += 1
            cases.append((cid, ref, title, description, customer, contact, None, area, severity, priority,
                          status, sub, assignee_id, resolution, close_reason, attention, None, None, T(opened),
                          T(updated), T(closed_at) if closed_at is not None else None, version, last_actor,
                          last_change))
        self._draft(events, articles, None if first + size >= self.total else opened)
        summary.events += len(events)
        summary.outbox += len(outbox)
        return {"case": cases, "event": events, "timer": timers, "outbox": outbox, "survey": surveys,
                "article": articles}

    def _draft(self, events: list[tuple], articles: list[tuple], opened: int | None) -> None:
        """Draft the articles of resolutions whose first closing is settled: the cases still to come
        open after `opened` (None: none are to come)."""
        T = self.times.db
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
            articles.append((aid, title[:500], resolution, print_, "draft", cid, T(close_at)))
            eid = self.event_id = self.event_id + 1
            events.append((eid, cid, T(close_at), T(close_rec), "system", "article_drafted", title,
                           self.data(("article", aid))))
            self.summary.articles += 1

    def _confirm_request(self, cid: int, title: str, resolution: str, address: str, eid: int, at: int,
                         outbox: list[tuple]) -> None:
        outbox.append((
            cid, eid, "awaiting_confirmation", address, f"[case {cid}] Please confirm our resolution",
            f"We believe case {cid} ({title}) is resolved:\n\n{resolution}\n\n"
            f"Reply if it is not; confirm to close it. Without an answer the case closes in {self.ac_days} days.",
            self.times.db(at), "queued", 0,
        ))

    def _reminder(self, cid: int, title: str, address: str, due: int, fired: int, event: Callable[..., int],
                  events: list[tuple], outbox: list[tuple], stamp: Callable[[str, int, int], str],
                  timers: list[tuple], started: int) -> None:
        T = self.times.db
        timers.append((cid, "reminder", "fired", T(started), T(due), T(fired), None))
        eid = event("timer_fired", "timer", due, None, stamp("reminder", due, fired), fired)
        closes = self.times.date(due + self.ic - self.rem)
        outbox.append((cid, eid, "reminder", address, f"[case {cid}] We are waiting for your answer",
                       f"Case {cid} ({title}) is waiting for information from you. Without an answer it closes "
                       f"on {closes}.", T(fired), "queued", 0))

    def _answer(self, cid: int, who: str, at: int, row: list[Any], event: Callable[..., int]) -> None:
        rng = self.rng
        score = self.scores[bisect(self.score_cum, rng.random() * self.score_cum[-1])]
        comments = self.comments[score]
        comment = comments[int(rng.random() * len(comments))] if rng.random() < 0.7 or score <= 2 else None
        row[3], row[4], row[5], row[6] = self.times.db(at), score, comment, score <= 2
        event("survey_answered", who, at, comment, self.data(("score", score), ("flagged", score <= 2)))
        self.summary.surveys_answered += 1


__all__ = ["build_bulk", "BulkSummary"]
