"""What the service hands to front ends: plain, detached values with JSON forms.

The queue's row (CaseRow) and the JSON form every view shares (JsonView) are in
deskconsole.domain.rows, imported here: the console paints its first screen from rows alone,
without building the classes of every other view (a dataclass costs about a millisecond to make).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deskconsole.domain.rows import CaseRow, JsonView  # noqa: F401  (CaseRow is a view like the others)


@dataclass
class AgentView(JsonView):
    id: int
    name: str
    role: str
    skills: list[str]
    manager: str | None
    availability: str
    open_cases: int = 0


def os_login_beside(login: str | None, actor: str) -> str | None:
    """The operating-system login an event records beside its actor: the login that wrote it, when
    that is not the actor (so `--as someone` leaves a trace); None when they are the same."""
    return login if login != actor else None


@dataclass
class EventView(JsonView):
    id: int
    at: datetime
    actor: str
    kind: str
    body: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    recorded_at: datetime | None = None
    os_login: str | None = None  # the operating-system login that wrote it, when not the actor

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if out.get("os_login") is None:
            out.pop("os_login", None)  # shown when set
        return out


@dataclass
class TimerView(JsonView):
    id: int
    case: int
    kind: str
    state: str
    started_at: datetime
    due: datetime
    fired: datetime | None = None
    case_title: str | None = None
    case_status: str | None = None
    case_sub_status: str | None = None
    assignee: str | None = None
    priority: str | None = None


@dataclass
class EscalationView(JsonView):
    id: int
    case: int
    state: str
    requested_by: str
    requested_at: datetime
    on_behalf: bool
    reason: str
    manager: str | None
    severity_impact: str | None
    business_risk: str | None
    sla_commitments: str | None
    actions_taken: str | None
    problem_statement_ok: bool | None
    impact_described: bool | None
    workaround_impractical: bool | None
    milestone_date: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    engineer: str | None
    comm_mode: str | None
    comm_frequency: str | None
    comm_attendees: str | None
    prior_priority: str | None
    last_status_update_at: datetime | None
    status_update_due: datetime | None
    de_escalated_by: str | None
    de_escalated_at: datetime | None
    case_title: str | None = None
    case_status: str | None = None
    case_priority: str | None = None
    customer: str | None = None
    assignee: str | None = None


@dataclass
class SurveyView(JsonView):
    case: int
    sent_at: datetime
    to: str
    answered_at: datetime | None
    score: int | None
    comment: str | None
    flagged: bool
    case_title: str | None = None
    customer: str | None = None
    assignee: str | None = None


@dataclass
class ArticleView(JsonView):
    id: int
    title: str
    body: str
    state: str
    source_case: int | None
    created_at: datetime


@dataclass
class OutboxView(JsonView):
    id: int
    case: int
    kind: str
    to: str
    subject: str
    body: str
    created_at: datetime
    state: str
    sent_at: datetime | None
    attempts: int = 0
    last_error: str | None = None
    message_id: str | None = None
    held_until: datetime | None = None  # an agent's close holds its messages for the undo window


@dataclass
class CaseView(JsonView):
    id: int
    ref: str | None
    title: str
    description: str
    status: str
    sub_status: str | None
    priority: str
    severity: str
    assignee: str | None
    customer: str
    contact: str | None
    product_area: str | None
    auto_close_at: datetime | None
    reminder_at: datetime | None
    followup_at: datetime | None
    timers: list[TimerView]
    escalation: EscalationView | None
    version: int
    attention: str | None
    resolution: str | None
    close_reason: str | None
    engineering_ref: str | None
    cloned_from: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    last_actor: str | None
    last_change: str | None
    survey: SurveyView | None
    articles: list[ArticleView]
    events: list[EventView]
    language: str | None = None
    # the service-level targets: {"first_response", "next_response", "resolution"}, each None or
    # {"due", "state", "used", "target"} (domain/sla.py sla_json)
    sla: dict[str, Any] | None = None
    merged_into: int | None = None  # the case this one was merged into (case merge)
    merged_from: list[int] = field(default_factory=list)  # the cases merged into this one
    tags: list[str] = field(default_factory=list)  # sorted (case tag / case edit --tag)
    split_from: int | None = None  # the case this one's message was split out of (case split)
    split_into: list[int] = field(default_factory=list)  # the cases split out of this one
    # an agent's close within its undo window: until when `case undo` takes it back (Service.undo_until)
    undo_until: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if out.get("undo_until") is None:
            out.pop("undo_until", None)  # shown when set
        return out


@dataclass
class EventWindow(JsonView):
    """A window of a case's timeline (Service.case_events): `events`, oldest first, are the newest
    of the case's events before the id asked for; `earlier` counts the case's events before them."""

    case: int
    events: list[EventView]
    earlier: int


@dataclass
class Fired(JsonView):
    case: int
    timer: str
    due: datetime
    fired: datetime


@dataclass
class SurveySummary(JsonView):
    sent: int
    answered: int
    distribution: dict[int, int]
    csat: float | None  # share of answers scoring 4 or 5, in percent
    flagged: list[SurveyView]
    trend: list[tuple[str, float | None, int]]  # (week starting, csat %, answers)
    recent: list[SurveyView]
