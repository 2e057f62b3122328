"""The bulk writer's cases: each kind of case's life as the rows the service writes for it
(`_life`), over the cells of the case's seed row; and the builder's limits and summary.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from deskconsole.bulk.slalife import METRIC_COLUMNS, SLOT
from deskconsole.bulkload import TIME_WIDTH, Day, Id, Iso, Seed, Time, Unless, text
from deskconsole.demodata import PLAN_WEIGHTS
from deskconsole.domain import firing, moves
from deskconsole.domain.effects import (
    CancelTimers,
    CaseChange,
    Effect,
    Event,
    Move,
    Outbox,
    Slot,
    StartTimer,
    Survey,
    slots,
)
from deskconsole.domain.lifecycle import SEVERITY_PRIORITY, Status, SubStatus
from deskconsole.domain.sla import SlaChange
from deskconsole.domain.templates import row_text
from deskconsole.domain.timers import Durations
from deskconsole.domain.views import os_login_beside

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
EVENT_COLUMNS = ("id", "case_id", "at", "recorded_at", "actor", "kind", "body", "data", "os_login")
TIMER_COLUMNS = ("id", "case_id", "kind", "state", "started_at", "due_at", "fired_at", "cancelled_at")
OUTBOX_COLUMNS = ("id", "case_id", "event_id", "kind", "to", "subject", "body", "created_at", "state", "attempts")
SURVEY_COLUMNS = ("id", "case_id", "sent_at", "to", "answered_at", "score", "comment", "flagged")
ARTICLE_COLUMNS = ("id", "title", "body", "fingerprint", "state", "source_case_id", "created_at")
# the tables a chunk's service-level rows (slalife.SlaRows) go to, with their columns
SLA_TABLES = (("event", EVENT_COLUMNS), ("sla_metric", METRIC_COLUMNS), ("timer", TIMER_COLUMNS),
              ("outbox", OUTBOX_COLUMNS))
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
    ("close_data", "TEXT"),  # with service levels: the data of an analyst's close (the timers it cancelled)
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

# The seed row's cells as the domain's rules are asked with them (domain/effects.py's Slots)
RD_, RF_, CD_, CF_, FD_, FF_ = (Slot(n, "time") for n in ("rd", "rf", "cd", "cf", "fd", "ff"))
_SLOT_CELL: dict[str, Callable[[str], Any]] = {"seed": Seed, "time": Time, "iso": Iso, "day": Day}
WHO_, ASSIGNEE_ = Slot("who"), Slot("assignee")  # the actors of the seed row
T1_, T2_, T3_ = (Slot(n, "time") for n in ("t1", "t2", "t3"))
# the case fields a bulk case's effects may set, and the _Life attribute each is kept in
_LIFE_FIELDS = {"attention": "attention", "status": "status", "sub_status": "sub", "resolution": "resolution",
                "close_reason": "close_reason", "closed_at": "closed"}


def _cell(value: Any) -> Any:
    """A value of an effect as a cell over the seed row: a Slot its cell, a text with Slots in it
    the text joined from its pieces; anything else as it is."""
    if isinstance(value, Slot):
        return _SLOT_CELL[value.form](value.name)
    if isinstance(value, str) and "{{" in value:
        parts = [_cell(part) if isinstance(part, Slot) else part for part in slots(value)]
        return text(*parts) if len(parts) > 1 or not isinstance(parts[0], (Seed, Time)) else parts[0]
    return value


def _slot(cell: Any) -> Any:
    """A cell of the seed row as the Slot the rules are asked with (anything else as it is)."""
    if isinstance(cell, Seed):
        return Slot(cell.name)
    if isinstance(cell, Time):
        return Slot(cell.name, "time")
    return cell


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
    sla_metrics: int = 0  # service-level metric events (a desk with policies)
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

    def __init__(self, data: Callable[..., str], recorded: Any = None, login: str | None = None,
                 sla: bool = False, durations: Durations | None = None) -> None:
        self.data = data
        self.durations = durations or Durations()
        self.pending: list[tuple[int, str]] = []  # the timers its steps started and nothing ended yet (n, kind)
        self.started = 0
        self.surveyed: tuple[Any, Any] | None = None  # its survey's (to, sent_at) cells, once closed
        self.sla = sla  # the desk has service levels: the steps they hear of keep event ids (slot)
        self.span = 0  # the event ids the life takes: its events' and its slots'
        self.sla_steps: list[tuple[str, str, int | None, SlaChange, bool]] = []  # slalife.Step's, at seed times
        self.recorded = recorded  # every event's recorded_at: when the build really writes it
        self.login = login  # the operating-system login writing the build, recorded as the service does
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
        self.span += 1
        eid = Id("eb", self.span)
        if self.recorded is not None:
            recorded = self.recorded
        self.events.append({"id": eid, "case_id": CID, "at": at, "recorded_at": at if recorded is None else recorded,
                            "actor": actor, "kind": kind, "body": body, "data": data,
                            "os_login": self.os_login(actor)})
        return eid

    def step(self, at: str, actor: str, change: SlaChange, *, settle: bool = True, writes: bool = True) -> None:
        """An action service levels hear of, at the seed time `at` by "who" or "assignee": its audit
        events (`writes`) take the event ids kept here, after the life's events so far; `settle`: it
        fires the case's timers due by then first (slalife.CaseSla.walk)."""
        if self.sla:
            self.sla_steps.append((at, actor, self.span if writes else None, change, settle))
            if writes:
                self.span += SLOT

    def os_login(self, actor: Any) -> Any:
        """The event's os_login cell: the login beside an actor that is someone else (os_login_beside),
        for an actor of the seed row compared in SQL."""
        if isinstance(actor, Seed):
            return None if self.login is None else Unless(self.login, actor)
        return os_login_beside(self.login, actor)

    def facts(self) -> firing.CaseFacts:
        """The case as the rules read it: its seed row's cells, and where its life has got to."""
        return firing.CaseFacts(Slot("cid"), Slot("title"), Slot("customer"), Slot("address"), self.status, self.sub,
                                self.attention, _slot(self.resolution))

    def move(self, to: Status, to_sub: SubStatus | None, actor: Slot | str, at: Slot, *, recorded: Any = None,
             close_data: Any = None, **how: Any) -> Id:
        """The case enters a status: the rows domain/moves.py says the move writes (`how`: its
        resolution, reason, question, event data). `recorded`: when it was processed (a late
        timer's close); `close_data`: the status event's data as a cell of the seed row instead."""
        eid = self.apply(moves.enter(self.facts(), self.pending, to, to_sub, actor, at, self.durations, **how),
                         recorded)
        assert eid is not None  # (the status change)
        if close_data is not None:
            self.events[-1]["data"] = close_data
        return eid

    def fired(self, kind: str) -> None:
        """The case's pending timer of `kind` fired."""
        self.pending = [(n, k) for n, k in self.pending if k != kind]

    def timer(self, kind: str, state: str, started: Any, due: Any, fired: Any = None, cancelled: Any = None) -> None:
        self.timers.append({"id": Id("tb", len(self.timers) + 1), "case_id": CID, "kind": kind, "state": state,
                            "started_at": started, "due_at": due, "fired_at": fired, "cancelled_at": cancelled})

    def message(self, event: Id, kind: str, subject: Any, body: Any, created: Any, to: Any = ADDRESS) -> None:
        self.outbox.append({"id": Id("ob", len(self.outbox) + 1), "case_id": CID, "event_id": event, "kind": kind,
                            "to": to, "subject": subject, "body": body, "created_at": created,
                            "state": "queued", "attempts": 0})

    def send(self, event: Id, kind: str, values: Mapping[str, Any], created: Any, to: str = Slot("address")) -> None:
        """A message of `kind` for `event`, its subject and body its template's English text
        (domain/templates.py's `row_text`, as the service's rows) for `values` (Slots: the seed
        row's cells)."""
        subject, body = row_text(kind, values)
        self.message(event, kind, _cell(subject), _cell(body), created, to=_cell(to))

    def apply(self, effects: Sequence[Effect], recorded: Any = None) -> Id | None:
        """The rows of a step's effects (domain/effects.py), as the service's executor writes them
        (service/effects.py), their Slots the cells of the seed row; `recorded`: when the step was
        processed (a late timer's firing: its events' recorded_at, its messages' created_at; not
        given, as of the event). The id of the event written last. (Timer rows are the life's own:
        it knows what became of each; the pending ones are only followed here.)"""
        eid: Id | None = None
        created = recorded
        for effect in effects:
            if isinstance(effect, Event):
                at = _cell(effect.at)
                created = at if recorded is None else recorded
                eid = self.event(effect.kind, _cell(effect.actor), at, _cell(effect.body),
                                 _cell(json.dumps(dict(effect.data), default=str)) if effect.data else None, recorded)
            elif isinstance(effect, Outbox):
                assert eid is not None, "a message follows the event it is queued for"
                self.send(eid, effect.kind, effect.values, created, to=effect.to)
            elif isinstance(effect, CaseChange):
                self.version += 1
                self.updated = _cell(effect.at)
                self.last_actor, self.last_change = _cell(effect.actor), effect.change
                for name, value in effect.fields.items():
                    assert name in _LIFE_FIELDS, f"a bulk case keeps no {name}"
                    setattr(self, _LIFE_FIELDS[name], _cell(value))
            elif isinstance(effect, Move):
                eid = self.move(effect.status, effect.sub_status, effect.actor, effect.at,  # type: ignore[arg-type]
                                recorded=recorded, reason=effect.reason)
            elif isinstance(effect, StartTimer):
                self.started += 1
                self.pending.append((self.started, effect.kind.value))
            elif isinstance(effect, CancelTimers):
                self.pending = [(n, k) for n, k in self.pending if n not in (effect.ids or ())]
            elif isinstance(effect, Survey):
                self.surveyed = (_cell(effect.to), _cell(effect.at))
            else:
                raise TypeError(f"no bulk rows for {effect!r}")
        return eid

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


def _life(kind: tuple, ac_days: int, data: Callable[..., str], recorded: Any = None,
          login: str | None = None, sla: bool = False) -> _Life:
    """What the service writes for a case of this kind: the steps of its plan, as rows over its seed row
    (with `sla`, the steps service levels hear of: their rows are slalife's)."""
    plan = kind[0]
    # recorded: every event's recorded_at (the build's real time)
    life = _Life(data, recorded, login, sla, Durations(awaiting_confirmation_close=timedelta(days=ac_days)))
    life.event("opened", WHO, T0, Seed("description"), Seed("opened_data"))
    life.event("assigned", "router", T0, None, Seed("assigned_data"))
    life.step("t0", "who", SlaChange(opened=True))
    if plan == "new":
        return life
    life.move(Status.IN_PROGRESS, None, ASSIGNEE_, T1_)
    life.step("t1", "assignee", SlaChange(status=("new", "in_progress")), writes=False)  # (both clocks run on)

    def confirm_request() -> None:
        life.move(Status.AWAITING_CONFIRMATION, None, ASSIGNEE_, T2_, resolution=Slot("resolution"), closes=CD_)
        life.step("t2", "assignee", SlaChange(status=("in_progress", "awaiting_confirmation")))

    def reminder(question: str) -> None:
        """The reminder of pending/customer_input, fired by the tick (domain/firing.py): sent quoting
        the question, and the case flagged."""
        life.timer("reminder", "fired", T2, RD, RF)
        life.fired("reminder")
        life.apply(firing.reminder(life.facts(), RD_, RF_, CD_, {"question": question}), RF)

    def auto_close() -> None:
        """The auto-close started at T2, due at CD, fired at CF, closes the case as "timer"."""
        life.timer("auto_close", "fired", T2, CD, CF)
        life.fired("auto_close")
        life.apply(firing.auto_close(life.facts(), CD_, CF_), CF)

    def answer() -> None:
        life.answered = True
        life.event("survey_answered", WHO, TA, Seed("comment"), Seed("survey_data"))

    if plan == "in_progress":
        pass
    elif plan in ("due", "update_received", "closed:auto_input") or plan.startswith("pending:"):
        sub = plan.split(":", 1)[1] if plan.startswith("pending:") else "customer_input"
        note = PENDING_NOTES[sub] if plan.startswith("pending:") else INPUT_NOTE
        if sub == "customer_input":  # the note is the question, sent to the customer (Service.move)
            life.move(Status.PENDING, SubStatus(sub), ASSIGNEE_, T2_, question=note, data={"asked": "message"})
            life.step("t2", "assignee", SlaChange(status=("in_progress", "pending"), public_reply=True))
        else:
            life.move(Status.PENDING, SubStatus(sub), ASSIGNEE_, T2_)
            life.step("t2", "assignee", SlaChange(status=("in_progress", "pending")))
            life.event("note", ASSIGNEE, T2, note)
        if plan == "update_received":
            life.event("customer_replied", WHO, T3, REPLY, data(("channel", "portal")))
            life.step("t3", "who", SlaChange(customer_reply=True))
            life.move(Status.UPDATE_RECEIVED, None, WHO_, T3_, data={"cause": "customer_replied"})
            life.step("t3", "who", SlaChange(status=("pending", "update_received")), settle=False)
            life.timer("reminder", "cancelled", T2, RD, None, T3)
            life.timer("auto_close", "cancelled", T2, CD, None, T3)
        elif sub == "customer_input" and plan != "closed:auto_input":
            if plan == "due" or not kind[1]:
                life.timer("reminder", "pending", T2, RD)
            else:
                reminder(note)
            life.timer("auto_close", "pending", T2, CD)
    elif plan in ("awaiting_confirmation", "reopened"):
        confirm_request()
        if plan == "reopened":
            life.event("customer_replied", WHO, T3, REPLY, data(("channel", "portal")))
            life.step("t3", "who", SlaChange(customer_reply=True))
            life.move(Status.REOPENED, None, WHO_, T3_, data={"cause": "customer_replied"})
            life.step("t3", "who", SlaChange(status=("awaiting_confirmation", "reopened")), settle=False)
            life.timer("auto_close", "cancelled", T2, CD, None, T3)
        else:
            life.timer("auto_close", "pending", T2, CD)
    if not plan.startswith("closed"):
        return life

    # closed, one way or another; the follow-up and the survey come after
    if plan == "closed:analyst":
        # (with service levels, the timers the close cancelled are the case's own: its close_data cell)
        life.move(Status.CLOSED, None, ASSIGNEE_, T2_, reason=Slot("reason"),
                  close_data=Seed("close_data") if sla else None)
        life.step("t2", "assignee", SlaChange(status=("in_progress", "closed")))
    elif plan == "closed:confirmed":
        confirm_request()
        life.timer("auto_close", "cancelled", T2, CD, None, T3)
        life.event("customer_confirmed", WHO, T3)
        life.move(Status.CLOSED, None, WHO_, T3_, reason="resolution confirmed by the customer")
    elif plan == "closed:auto_confirm":
        confirm_request()
        auto_close()
    else:  # closed:auto_input (pending/customer_input entered above)
        reminder(INPUT_NOTE)
        auto_close()
    # the close sent the survey (a draft article for a new resolution: _Planner.drafts)
    assert life.surveyed is not None
    closed_at = life.closed
    follow_fired, answered = kind[1], kind[2]
    if follow_fired:
        # fired by the next tick, or by the survey answer if that came first (it settles the case)
        if answered == ANSWER_FIRST:
            answer()
        life.timer("followup", "fired", closed_at, FD, FF)
        life.apply(firing.followup(life.facts(), FD_, FF_), FF)
    else:
        life.timer("followup", "pending", closed_at, FD)
    if answered == ANSWER_AFTER:
        answer()
    answer_cells = (TA, Seed("score"), Seed("comment"), Seed("flagged")) if answered else (None, None, None, False)
    to, sent_at = life.surveyed
    life.survey.append({"id": Id("sb", 1), "case_id": CID, "sent_at": sent_at, "to": to,
                        **dict(zip(("answered_at", "score", "comment", "flagged"), answer_cells, strict=True))})
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
