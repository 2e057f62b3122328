"""The tables. Times are aware datetimes stored in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateIndex
from sqlmodel import Field, SQLModel, col


def partial(name: str, *columns: str, where: str) -> Index:
    """A partial index: only the rows `where` holds (SQL both databases read alike). The condition
    is added to the index's DDL when it is compiled (below) rather than given as SQLAlchemy's
    `sqlite_where` / `postgresql_where`: those load the dialect they name as the table is declared,
    so every process would import PostgreSQL's SQLAlchemy dialect, a SQLite console too (its
    memory), and SQLite's on PostgreSQL. The DDL is the same text."""
    return Index(name, *columns, info={"where": where})


@compiles(CreateIndex)
def _create_index(create: CreateIndex, compiler: Any, **kw: Any) -> str:
    ddl: str = compiler.visit_create_index(create, **kw)
    where = create.element.info.get("where")
    return f"{ddl} WHERE {where}" if where else ddl


class Agent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    role: str = Field(max_length=16)
    skills: str = Field(default="", max_length=512)  # comma separated, lower case
    manager_id: int | None = Field(default=None, foreign_key="agent.id")
    availability: str = Field(default="available", max_length=16)
    email: str | None = Field(default=None, max_length=320)
    created_at: datetime
    # the PostgreSQL login linked to the agent (store/identity.py; migration 0005); None: no login
    login: str | None = Field(default=None, index=True, unique=True, max_length=63)


_OPEN, _OPEN_VIEW = "status <> 'closed'", "status <> 'closed' AND id > 0"  # (migration 0010 says why)
_OPEN_INDEXES = (
    ("ix_case_open_id", ("id",), _OPEN_VIEW),
    ("ix_case_open_priority", ("priority", "id"), _OPEN_VIEW),
    ("ix_case_open_updated", ("updated_at", "id"), _OPEN_VIEW),
    ("ix_case_open_assignee_id", ("assignee_id", "id"), _OPEN),
    ("ix_case_open_assignee_priority", ("assignee_id", "priority", "id"), _OPEN),
    ("ix_case_open_assignee_updated", ("assignee_id", "updated_at", "id"), _OPEN),
)


class Case(SQLModel, table=True):
    __table_args__ = (
        Index("ix_case_status_id", "status", "id"),
        Index("ix_case_assignee_status", "assignee_id", "status"),
        Index("ix_case_priority_id", "priority", "id"),
        Index("ix_case_updated_id", "updated_at", "id"),  # the queue's "updated" sort (migration 0003)
        # the filter language's area: and age: (migration 0008)
        Index("ix_case_area_status", "product_area", "status"),
        Index("ix_case_status_sub", "status", "sub_status"),
        Index("ix_case_created_id", "created_at", "id"),
        Index("ix_case_merged_into", "merged_into_id"),  # "merged from" (migration 0008)
        Index("ix_case_customer_status", "customer", "status", "id"),  # a customer's cases (migration 0010)
        # the queue's open, mine and unassigned views in each order: open cases only (migration 0010)
        *(partial(name, *columns, where=where) for name, columns, where in _OPEN_INDEXES),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str | None = Field(default=None, unique=True, max_length=200)
    title: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    customer: str = Field(max_length=200)
    contact: str | None = Field(default=None, max_length=320)
    language: str | None = Field(default=None, max_length=16)  # the customer's, e.g. "de"; None: English
    product_area: str | None = Field(default=None, max_length=100)
    severity: str = Field(default="normal", max_length=20)
    priority: str = Field(max_length=2)
    status: str = Field(max_length=32)
    sub_status: str | None = Field(default=None, max_length=32)
    assignee_id: int | None = Field(default=None, foreign_key="agent.id")
    resolution: str | None = Field(default=None, sa_column=Column(Text))
    close_reason: str | None = Field(default=None, sa_column=Column(Text))
    attention: str | None = Field(default=None, max_length=200)  # what the analyst must do next
    engineering_ref: str | None = Field(default=None, max_length=100)
    cloned_from_id: int | None = Field(default=None, foreign_key="case.id")
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    version: int = Field(default=1)
    last_actor: str | None = Field(default=None, max_length=220)  # "customer:" + a 200-character name
    last_change: str | None = Field(default=None, max_length=200)
    # the case this one was merged into (`case merge`; migration 0008; no foreign key: see there)
    merged_into_id: int | None = None
    # the case a message was split out of (`case split`; migration 0010; no foreign key, as merged_into_id)
    split_from_id: int | None = None


class Event(SQLModel, table=True):
    """The append-only audit trail and timeline of a case."""

    __table_args__ = (Index("ix_event_case_id", "case_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    at: datetime
    recorded_at: datetime
    actor: str = Field(max_length=220)  # an agent, "timer", "router" or "customer:" + a 200-character name
    kind: str = Field(max_length=40)
    body: str | None = Field(default=None, sa_column=Column(Text))
    data: str | None = Field(default=None, sa_column=Column(Text))  # JSON object
    # PostgreSQL: the login that wrote the event, set by the server (store/identity.py); SQLite: None
    login: str | None = Field(default=None, max_length=63)
    # the operating-system login that wrote it, when not the actor (migration 0006)
    os_login: str | None = Field(default=None, max_length=64)


_SLA_DUE = "state = 'pending' AND kind = 'sla_breach'"


class Timer(SQLModel, table=True):
    __table_args__ = (
        # tick looks only at pending timers by due time: cost follows what is due.
        Index("ix_timer_pending_due", "state", "due_at"),
        Index("ix_timer_case_state", "case_id", "state"),
        # the queue's "sla" sort: pending breach timers by due time (migration 0014)
        partial("ix_timer_sla_due", "due_at", "case_id", where=_SLA_DUE),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    kind: str = Field(max_length=20)
    state: str = Field(default="pending", max_length=12)
    started_at: datetime
    due_at: datetime
    fired_at: datetime | None = None  # when tick processed it (effect is as of due_at)
    cancelled_at: datetime | None = None


class Outbox(SQLModel, table=True):
    __table_args__ = (Index("ix_outbox_state_id", "state", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    event_id: int = Field(foreign_key="event.id")
    kind: str = Field(max_length=40)
    to: str = Field(max_length=320)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    state: str = Field(default="queued", max_length=12)  # queued | sending | sent | failed
    sent_at: datetime | None = None
    # delivery (deskconsole.delivery): a claim holds the row until claimed_until (a lease)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    message_id: str | None = Field(default=None, max_length=250)
    claimed_until: datetime | None = None
    # an agent's close holds its messages for the undo window: not sent before (migration 0009)
    hold_until: datetime | None = None
    template_values: str | None = Field(default=None, sa_column=Column(Text))  # JSON: its message's values (0015)


class Escalation(SQLModel, table=True):
    __table_args__ = (Index("ix_escalation_case", "case_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    state: str = Field(default="requested", max_length=16)
    requested_by: str = Field(max_length=220)
    requested_at: datetime
    on_behalf: bool = True  # filed by an agent for the customer
    reason: str = Field(sa_column=Column(Text, nullable=False))
    manager: str | None = Field(default=None, max_length=64)
    # the review
    severity_impact: str | None = Field(default=None, sa_column=Column(Text))
    business_risk: str | None = Field(default=None, sa_column=Column(Text))
    sla_commitments: str | None = Field(default=None, sa_column=Column(Text))
    actions_taken: str | None = Field(default=None, sa_column=Column(Text))
    problem_statement_ok: bool | None = None
    impact_described: bool | None = None
    workaround_impractical: bool | None = None
    milestone_date: str | None = Field(default=None, max_length=40)
    # the decision
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = None
    decision_reason: str | None = Field(default=None, sa_column=Column(Text))
    engineer: str | None = Field(default=None, max_length=64)
    comm_mode: str | None = Field(default=None, max_length=20)
    comm_frequency: str | None = Field(default=None, max_length=40)
    comm_attendees: str | None = Field(default=None, sa_column=Column(Text))
    prior_priority: str | None = Field(default=None, max_length=2)
    last_status_update_at: datetime | None = None
    # de-escalation
    de_escalated_by: str | None = Field(default=None, max_length=64)
    de_escalated_at: datetime | None = None


class Survey(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    sent_at: datetime
    to: str = Field(max_length=320)
    answered_at: datetime | None = Field(default=None, index=True)
    score: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text))
    flagged: bool = False


class Article(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(index=True, max_length=64)  # normalised body, hashed
    state: str = Field(default="published", max_length=12)  # published | draft
    source_case_id: int | None = Field(default=None, foreign_key="case.id")
    created_at: datetime


class CaseArticle(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("case_id", "article_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    article_id: int = Field(foreign_key="article.id")
    linked_by: str = Field(max_length=64)
    linked_at: datetime


class EngineeringItem(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: str = Field(max_length=12)  # defect | enhancement
    reference: str = Field(max_length=100)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    logged_by: str = Field(max_length=64)
    logged_at: datetime


class Meta(SQLModel, table=True):
    key: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=200)


SCHEMA_VERSION = "1"


# --- inbound e-mail (deskconsole.mail; migration 0004) -------------------------------------------
from sqlalchemy import LargeBinary  # noqa: E402


class InboundMessage(SQLModel, table=True):
    """Every e-mail message the desk took in, once per Message-ID (or content hash when it had none):
    what became of it (outcome opened/replied/confirmed/survey/parked/refused), and the raw message."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        Index("ix_inbound_from_received", "from_addr", "received_at"),  # the loop guard's count
        Index("ix_inbound_outcome_id", "outcome", "id"),  # the parked list
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=255, sa_column_kwargs={"unique": True}, nullable=False)
    has_message_id: bool = True
    content_hash: str = Field(max_length=64, index=True)
    from_addr: str | None = Field(default=None, max_length=320)
    from_name: str | None = Field(default=None, max_length=200)
    subject: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    outcome: str = Field(max_length=16)  # opened | replied | confirmed | survey | parked | refused
    reason: str | None = Field(default=None, sa_column=Column(Text))
    threaded: str | None = Field(default=None, max_length=40)  # by In-Reply-To | by References | by subject tag
    source: str = Field(default="receive", max_length=16)  # receive | imap
    received_at: datetime
    released_at: datetime | None = None
    released_by: str | None = Field(default=None, max_length=64)
    size: int = 0
    attachments: str | None = Field(default=None, sa_column=Column(Text))  # JSON list: name, type, size, sha256
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class MailAttachment(SQLModel, table=True):
    """An attachment's content, stored once however many messages carried it."""

    __tablename__ = "mail_attachment"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    content_type: str = Field(max_length=200)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime


# Replies are threaded by the Message-ID the desk gave its mail (outbox.message_id).
Index("ix_outbox_message_id", col(Outbox.message_id))
# A new e-mail sender's customer is looked up by their address on earlier cases, newest first.
Index("ix_case_contact_id", col(Case.contact), col(Case.id))


# --- service levels (deskconsole.service.sla; migration 0007) -------------------------------------

class SlaDesk(SQLModel, table=True):
    """The desk's calendars and policies (domain/sla.py DeskSla.to_dict() as JSON): one row, id 1,
    replaced whole by `sla load`."""

    __tablename__ = "sla_desk"

    id: int | None = Field(default=None, primary_key=True)
    document: str = Field(sa_column=Column(Text, nullable=False))
    version: int = 1
    loaded_at: datetime
    loaded_by: str | None = Field(default=None, max_length=64)


class SlaMetric(SQLModel, table=True):
    """A case's service-level metric events, append-only: per target (first_response,
    next_response, resolution) its start, pause, resume, fulfil, breach, policy and reopen
    (domain/sla.py MetricEvent), and `warning` when its warning timer fired."""

    __tablename__ = "sla_metric"
    __table_args__ = (
        Index("ix_sla_metric_case", "case_id", "id"),
        Index("ix_sla_metric_kind_at", "kind", "at"),  # reports, and cases with a breached target
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    target: str = Field(max_length=20)
    kind: str = Field(max_length=12)
    at: datetime
    seconds: int | None = None  # the target, in business seconds (start, policy)
    calendar: str | None = Field(default=None, max_length=64)
    warning: float | None = None
    used: int | None = None  # business seconds used until then (pause, fulfil, policy)


# --- macros: the team's named replies and actions (domain/macros.py; migration 0009) ------------


class MacroRow(SQLModel, table=True):
    """One macro of the team, as `macro load` stored it."""

    __tablename__ = "macro"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    reply: str | None = Field(default=None, sa_column=Column(Text))
    note: str | None = Field(default=None, sa_column=Column(Text))
    status: str | None = Field(default=None, max_length=32)
    sub_status: str | None = Field(default=None, max_length=32)
    priority: str | None = Field(default=None, max_length=2)
    assignee: str | None = Field(default=None, max_length=64)
    loaded_by: str = Field(max_length=64)
    loaded_at: datetime


# --- presence: who has a case open, or is typing in it (domain/presence.py; migration 0010) -----


class PresenceRow(SQLModel, table=True):
    """One agent's heartbeat at one case (service/presence.py): written every few seconds while
    their console shows the case, removed when they leave it; older than domain.presence.TTL, gone."""

    __tablename__ = "presence"

    # (case_id, agent): the primary key's index serves "who is at these cases"
    case_id: int = Field(foreign_key="case.id", primary_key=True)
    agent: str = Field(max_length=64, primary_key=True)
    state: str = Field(max_length=16)
    beat: datetime


# --- tags on cases (service/editing.py; migration 0010) -----------------------------------------


class CaseTag(SQLModel, table=True):
    """One tag of a case (lower case); `tag:x` in the filter language reads ix_case_tag_tag."""

    __tablename__ = "case_tag"
    __table_args__ = (Index("ix_case_tag_tag", "tag", "case_id"),)

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    tag: str = Field(max_length=64, primary_key=True)
    added_by: str = Field(max_length=64)
    added_at: datetime


# "split into" (the cases split out of one), by the case they came from (migration 0010)
Index("ix_case_split_from", col(Case.split_from_id))


# --- saved views: an agent's own tabs of the queue (domain/saved_views.py; migration 0010) -------


class SavedViewRow(SQLModel, table=True):
    """A view an agent saved from the console (or `view save`): theirs alone (PostgreSQL: RLS)."""

    __tablename__ = "saved_view"
    __table_args__ = (UniqueConstraint("agent_id", "name_key", name="uq_saved_view_agent_name"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", nullable=False)
    name: str = Field(max_length=32)
    name_key: str = Field(max_length=32)  # the name casefolded: one view of a name per agent
    filter: str = Field(sa_column=Column(Text, nullable=False))
    sort: str | None = Field(default=None, max_length=16)
    columns: str | None = Field(default=None, max_length=200)  # column ids, comma separated
    created_at: datetime
