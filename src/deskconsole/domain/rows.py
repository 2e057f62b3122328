"""The queue's row and the JSON form of every view (see deskconsole.domain.views, which has the rest)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deskconsole.domain.clock import format_time


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if hasattr(value, "to_json"):
        return value.to_json()
    return value


class JsonView:
    def to_json(self) -> dict[str, Any]:
        return {name: _json(getattr(self, name)) for name in self.__dataclass_fields__}  # type: ignore[attr-defined]  # views are dataclasses


@dataclass
class CaseRow(JsonView):
    """One line of the queue: enough to list, nothing more."""

    id: int
    priority: str
    status: str
    sub_status: str | None
    title: str
    customer: str
    assignee: str | None
    product_area: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    attention: str | None = None
    escalation: str | None = None
    next_timer: str | None = None
    next_timer_due: datetime | None = None
    # service levels: the soonest pending sla_breach and sla_warning timers, whether a breach was recorded,
    # and whether the warning of a target still open fired
    sla_due: datetime | None = None
    sla_warning_due: datetime | None = None
    sla_breached: bool = False
    sla_warned: bool = False
