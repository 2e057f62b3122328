"""A customer's context, seen from one of their cases: their other cases (open first), their
satisfaction (CSAT) and their open escalations. Plain values; the service reads them
(service/customer.py), the console shows them (tui/widgets/customer.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from deskconsole.domain.lifecycle import Status

GOOD_SCORE = 4  # CSAT: the share of answers scoring 4 or 5
OPEN_ESCALATION_STATES = ("requested", "approved")


@dataclass(frozen=True)
class ContextCase:
    id: int
    priority: str
    status: str
    sub_status: str | None
    title: str
    assignee: str | None
    updated_at: datetime
    escalation: str | None = None  # an open escalation's state

    @property
    def open(self) -> bool:
        return self.status != Status.CLOSED


@dataclass(frozen=True)
class CustomerContext:
    customer: str
    case_id: int  # the case it was asked from
    cases: list[ContextCase]  # the other cases shown: open ones first, newest first in each
    total: int  # the customer's cases, this one too
    open: int
    answers: int  # answered surveys
    good: int  # of them scoring 4 or 5
    average: float | None
    escalations: list[ContextCase] = field(default_factory=list)  # cases with an open escalation

    @property
    def csat(self) -> float | None:
        """The share of answers scoring 4 or 5, in percent (None: no answer yet)."""
        return csat(self.good, self.answers)


def csat(good: int, answers: int) -> float | None:
    return round(100.0 * good / answers, 1) if answers else None


def open_first(cases: Iterable[ContextCase]) -> list[ContextCase]:
    """Open cases before closed ones; newest first within each."""
    return sorted(cases, key=lambda c: (not c.open, -c.id))


__all__ = ["GOOD_SCORE", "OPEN_ESCALATION_STATES", "ContextCase", "CustomerContext", "csat", "open_first"]
