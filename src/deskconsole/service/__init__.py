"""The lifecycle service: the only code that changes cases.

Every public action is one transaction that writes the change, its audit
event(s) and its outbox row(s) together, or refuses with a DeskError and writes
nothing. Front ends (CLI, console) call these methods and show what comes back.

Service is one facade composed of one part per capability:

- records.py      the rows, the statements run on them, text checks, ActionState
- base.py         engine, transactions, clock, case loading and locking, events,
                  outbox rows and timers written, the status engine (_enter)
- agents.py       agents and their availability
- routing.py      which analyst a new case goes to (RoutingMemo)
- cases.py        opening, moving, closing, cloning, assigning, notes, customer events
- escalations.py  escalation requests, reviews, decisions, status updates
- knowledge.py    knowledge-base articles and engineering items
- surveys.py      satisfaction surveys
- timers.py       tick, firing timers, settling a case's overdue ones
- views.py        case lists, a case's view, the outbox, change markers
- batch.py        batches of actions in one transaction, ingest progress marks
- sla.py          service levels: the desk's policies, each case's targets and their timers
- filtering.py    the filter language's lists and counts (count_cases)
- many.py         one action on several cases, each on its own (apply_many: close, move, assign,
                  reply, macro)
- merge.py        merging a duplicate case into another
- editing.py      editing a case's fields and tags; splitting a customer's message out into its own case
- macros.py       the team's macros: loaded from a file, listed, applied as one action
- undo.py         undoing an agent's close within the undo window; a bulk close or assign (undo_many)
- mail.py         inbound mail's records (taken in, parked, released, raw) and the answer to a closed case
- insight.py      the backlog and CSAT figures (report backlog|csat, the Insight pane)
- presence.py     who else has a case open or is typing in it (heartbeats)
- customer.py     a customer's context: their other cases, CSAT and open escalations
- saved_views.py  an agent's saved views of the queue, and every view's capped count
"""

from __future__ import annotations

from deskconsole.domain.errors import DeskError
from deskconsole.domain.lifecycle import describe_refusal
from deskconsole.service.agents import AgentsMixin
from deskconsole.service.base import ServiceBase
from deskconsole.service.batch import Batch, BatchMixin, CaseBrief, CaseIds
from deskconsole.service.cases import CasesMixin
from deskconsole.service.customer import CustomerMixin
from deskconsole.service.editing import EditingMixin
from deskconsole.service.escalations import EscalationsMixin
from deskconsole.service.filtering import FilteringMixin
from deskconsole.service.insight import InsightFiguresMixin
from deskconsole.service.knowledge import KnowledgeMixin
from deskconsole.service.macros import LoadedMacros, MacrosMixin
from deskconsole.service.mail import MailMixin
from deskconsole.service.many import Action, ApplyMacro, Assign, Close, ManyMixin, Move, Outcome, Reply
from deskconsole.service.merge import MergeMixin
from deskconsole.service.presence import PresenceMixin
from deskconsole.service.records import (  # noqa: F401 - the names modules and tests import from here
    _CASE_BY_ID,
    _CASE_BY_ID_LOCKED,
    _CASE_BY_REF,
    _INSERT_CASE,
    _INSERT_EVENT,
    _INSERT_OUTBOX,
    _INSERT_TIMER,
    _PENDING_TIMERS,
    _UPDATE_CASE,
    CASE_WORKERS,
    COMM_MODES,
    DESK_LEADS,
    LANGUAGE_RE,
    MAX_SHORT,
    MAX_TEXT,
    MAX_TITLE,
    NAME_RE,
    PG_TICK_CHUNK,
    PRIORITY_ORDER,
    TICK_BATCH,
    ActionState,
    CaseRecord,
    Written,
    _db,
    action_state,
    clean_text,
)
from deskconsole.service.routing import RoutingMemo, RoutingMixin
from deskconsole.service.saved_views import SavedViewsMixin
from deskconsole.service.sla import SlaMixin
from deskconsole.service.surveys import SurveysMixin
from deskconsole.service.timers import TimersMixin
from deskconsole.service.undo import UndoMixin
from deskconsole.service.views import ViewsMixin
from deskconsole.store.engine import FileReplaced


class Service(
    ManyMixin,
    MergeMixin,
    EditingMixin,
    CasesMixin,
    EscalationsMixin,
    KnowledgeMixin,
    SurveysMixin,
    AgentsMixin,
    TimersMixin,
    SlaMixin,
    ViewsMixin,
    FilteringMixin,
    BatchMixin,
    MailMixin,
    RoutingMixin,
    MacrosMixin,
    UndoMixin,
    InsightFiguresMixin,
    PresenceMixin,
    CustomerMixin,
    SavedViewsMixin,
    ServiceBase,
):
    """The support-case life cycle over one database."""


__all__ = [
    "Action",
    "ActionState",
    "ApplyMacro",
    "Assign",
    "Batch",
    "CaseBrief",
    "CaseIds",
    "CaseRecord",
    "Close",
    "DeskError",
    "FileReplaced",
    "LoadedMacros",
    "Move",
    "Outcome",
    "Reply",
    "RoutingMemo",
    "Service",
    "clean_text",
    "describe_refusal",
]
