"""Editing a case (its fields and tags) and splitting a customer's message out into its own case.

- edit_case: one action for every field an agent changes (title, contact, product area,
  severity, priority) and the case's tags, with one version check and one version step; each
  field changed writes its own audit event (`edited`, or `priority_changed` whose service-level
  targets move to the new policy), the tags one `tagged` event. The rule is domain/editing.py's.
- split: a `customer_replied` event that belongs to another matter becomes a new case of the
  same customer and contact, whose description is the message; the new case remembers where it
  came from (`split_from_id`), the old one records `split_into`; the message's inbound mail row
  moves to the new case, so that the customer's answers to that mail thread there. The message
  stays on the old case's timeline (the audit trail is append-only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from deskconsole.domain.editing import (
    EDITABLE,
    SPLIT_KINDS,
    TagChange,
    change_tags,
    clean_tags,
    describe_changes,
    may_edit,
    may_split,
)
from deskconsole.domain.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from deskconsole.domain.lifecycle import SEVERITY_PRIORITY, Priority, Severity, Status, parse_enum
from deskconsole.domain.permissions import Refusal, Verdict
from deskconsole.domain.sla import SlaChange
from deskconsole.domain.views import CaseView
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import MAX_TITLE, CaseRecord, _db_time, _pk, clean_text
from deskconsole.store.models import Case, CaseTag, Event, InboundMessage

_INBOUND_T = InboundMessage.__table__  # type: ignore[attr-defined]
_TAG_T = CaseTag.__table__  # type: ignore[attr-defined]
_REPLY_PREFIX = re.compile(r"^(?:(?:re|fwd?|aw|wg|tr)\s*:\s*)+", re.IGNORECASE)
SPLIT_TITLE = 120  # a split case's title, from the message's first words, is at most this long


def case_tags(s: Session, case_id: int) -> list[str]:
    """A case's tags, sorted (the case_tag primary key)."""
    return [str(t) for t in s.exec(select(CaseTag.tag).where(CaseTag.case_id == case_id)
                                   .order_by(col(CaseTag.tag))).all()]


def split_into(s: Session, case_id: int) -> list[int]:
    """The cases split out of this one, oldest first (the ix_case_split_from index)."""
    return [int(i) for i in s.exec(select(Case.id).where(Case.split_from_id == case_id)
                                   .order_by(col(Case.id))).all() if i is not None]


def refuse(verdict: Verdict) -> None:
    """Raise the domain's error for a verdict that says no."""
    if verdict.allowed:
        return
    error = PermissionDenied if verdict.refusal is Refusal.PERMISSION else InvalidTransition
    raise error(verdict.reason or "refused")


def _optional(value: str | None, what: str, max_len: int) -> str | None:
    """A field that may be cleared: None leaves it, "" (or spaces) clears it."""
    if value is None:
        return None
    return (clean_text(value, what, max_len=max_len) or "").strip()


class EditingMixin(ServiceBase):
    """case edit, case tag, case split."""

    def edit_case(
        self,
        case_id: int,
        *,
        actor: str | None,
        expected_version: int | None = None,
        title: str | None = None,
        contact: str | None = None,
        product_area: str | None = None,
        severity: str | None = None,
        priority: str | None = None,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
    ) -> CaseView:
        """Change the fields given (None: leave it; "" clears the contact or the product area) and
        add or remove tags, as one action. Refused when nothing would change."""
        wanted: dict[str, Any] = {}
        if title is not None:
            wanted["title"] = clean_text(title, "title", max_len=MAX_TITLE, required=True).strip()
        if contact is not None:
            wanted["contact"] = _optional(contact, "contact", 320) or None
        if product_area is not None:
            wanted["product_area"] = (_optional(product_area, "product_area", 100) or "").lower() or None
        if severity is not None:
            wanted["severity"] = parse_enum(Severity, severity, "severity").value
        if priority is not None:
            wanted["priority"] = parse_enum(Priority, priority, "priority").value
        add, remove = clean_tags(add_tags), clean_tags(remove_tags)
        with self._tx() as s:
            agent = self._me(s, actor)
            case = self._case(s, case_id)
            refuse(may_edit(agent.name, agent.role, case.id, case.status))
            self._check_version(s, case, expected_version)
            changes = {name: (getattr(case, name), value) for name, value in wanted.items()
                       if getattr(case, name) != value}
            tags = change_tags(case.id, case_tags(s, case.id), add, remove) if add or remove else None
            if not changes and (tags is None or not (tags.added or tags.removed)):
                raise InvalidInput(f"case {case.id} already has these values: nothing to change",
                                   console="Nothing changed: the case already has these values.")
            now = self.now()
            self._touch(case, agent.name, describe_changes(changes, tags), now)
            for name, (before, after) in changes.items():
                setattr(case, name, after)
                if name == "priority":
                    self._event(s, case, "priority_changed", agent.name, now, **{"from": before, "to": after})
                else:
                    self._event(s, case, "edited", agent.name, now, field=name, label=EDITABLE[name],
                                **{"from": before, "to": after})
            if "priority" in changes:
                self._sla(s, case, now, agent.name, SlaChange(priority=True))  # the targets move to the new policy
            if tags is not None and (tags.added or tags.removed):
                self._write_tags(s, case, tags, agent.name, now)
            return self._case_view(s, case)

    def tag_case(self, case_id: int, *, add: Iterable[str] = (), remove: Iterable[str] = (), actor: str | None,
                 expected_version: int | None = None) -> CaseView:
        """Add and remove tags (edit_case with tags alone)."""
        return self.edit_case(case_id, actor=actor, expected_version=expected_version, add_tags=add,
                              remove_tags=remove)

    def _write_tags(self, s: Session, case: CaseRecord, tags: TagChange, who: str, now: Any) -> None:
        if tags.added:
            s.execute(insert(_TAG_T), [
                {"case_id": case.id, "tag": t, "added_by": who[:64], "added_at": _db_time(now)} for t in tags.added])
        if tags.removed:
            s.execute(delete(_TAG_T).where(_TAG_T.c.case_id == case.id, col(_TAG_T.c.tag).in_(tags.removed)))
        self._event(s, case, "tagged", who, now, added=list(tags.added), removed=list(tags.removed),
                    tags=list(tags.after))

    # ------------------------------------------------------------------ split
    def split(
        self, case_id: int, event_id: int, *, actor: str | None, title: str | None = None,
        expected_version: int | None = None,
    ) -> CaseView:
        """Split the customer's message `event_id` out of case `case_id` into a new case (see the
        module); returns the new case."""
        title = clean_text(title, "title", max_len=MAX_TITLE)
        if not isinstance(event_id, int) or isinstance(event_id, bool) or not 0 < event_id < 2**63:
            raise InvalidInput(f"event id must be a whole number, not {event_id!r}")
        with self._tx() as s:
            agent = self._me(s, actor)
            refuse(may_split(agent.name, agent.role))
            source = self._case(s, case_id)
            self._check_version(s, source, expected_version)
            event = s.exec(select(Event).where(Event.id == event_id)).first()
            if event is None or event.case_id != source.id:
                raise NotFound(f"case {source.id} has no event {event_id}",
                               console=f"That message is not on case {source.id}.")
            if event.kind not in SPLIT_KINDS:
                raise InvalidInput(f"event {event_id} of case {source.id} is {event.kind!r}: only a customer's "
                                   "message is split out into its own case",
                                   console="Only a customer's message is split out into its own case.")
            done = self._split_before(s, source.id, event_id)
            if done is not None:
                raise InvalidInput(f"event {event_id} of case {source.id} was split out already, into case {done}",
                                   console=f"This message was split out already, into case {done}.")
            data = json.loads(event.data) if event.data else {}
            body = event.body or ""
            now = self.now()
            sev = Severity(source.severity)
            new = Case(
                title=title or _title_of(data, body, source.id, source.title),
                description=body,
                customer=source.customer,
                contact=source.contact,
                language=source.language,
                product_area=source.product_area,
                severity=sev.value,
                priority=SEVERITY_PRIORITY[sev].value,
                status=Status.NEW.value,
                split_from_id=source.id,
                created_at=_db_time(now),
                updated_at=_db_time(now),
                version=1,
                last_actor=agent.name,
                last_change=f"split it out of case {source.id}",
            )
            analyst = self._route(s, new)
            new.assignee_id = analyst.id if analyst else None
            s.add(new)
            s.flush()
            self._index_new_case(s, _pk(new.id), new.title, new.customer)
            inbound = data.get("inbound")
            moved = 0
            if isinstance(inbound, int):
                moved = s.connection().execute(
                    update(_INBOUND_T).where(_INBOUND_T.c.id == inbound, _INBOUND_T.c.case_id == source.id)
                    .values(case_id=new.id)).rowcount
            self._event(s, new, "opened", agent.name, now, body=body or None, title=new.title,
                        priority=new.priority, split_from=source.id, split_event=event_id, messages=moved,
                        **{k: data[k] for k in ("channel", "from", "subject") if k in data})
            self._event(s, new, "assigned", "router", now,
                        assignee=analyst.name if analyst else None, queue=None if analyst else "team")
            self._event(s, source, "split_into", agent.name, now, into=new.id, event=event_id, messages=moved)
            self._touch(source, agent.name, f"split a message out into case {new.id}", now)
            self._sla(s, new, now, agent.name, SlaChange(opened=True))
            return self._case_view(s, new)

    @staticmethod
    def _split_before(s: Session, case_id: int, event_id: int) -> int | None:
        """The case the message was split into already, if it was."""
        for e in s.exec(select(Event).where(Event.case_id == case_id, Event.kind == "split_into")):
            d = json.loads(e.data) if e.data else {}
            if d.get("event") == event_id:
                return int(d["into"])
        return None


def _title_of(data: dict[str, Any], body: str, source_id: int, source_title: str) -> str:
    """A split case's title: the mail's subject (without Re:/Fwd:) when it is not the old case's
    title, else the message's first words."""
    subject = _REPLY_PREFIX.sub("", " ".join(str(data.get("subject") or "").split()))
    if subject and subject.casefold() != " ".join(source_title.split()).casefold():
        return subject[:SPLIT_TITLE]
    words = " ".join(body.split())
    if not words:
        return f"Split from case {source_id}"
    return words if len(words) <= SPLIT_TITLE else words[: SPLIT_TITLE - 1] + "…"


__all__ = ["EditingMixin", "case_tags", "split_into"]
