"""Cases: opening, moving, closing, cloning, assigning, taking, notes, and the customer's
replies and confirmations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from deskconsole.domain.asking import CLOSED_REPLY_ATTENTION, CONFIRMED_HOW, CONFIRMED_WORDS
from deskconsole.domain.errors import InvalidInput, InvalidTransition, PermissionDenied
from deskconsole.domain.lifecycle import (
    REPLY_TARGET,
    SEVERITY_PRIORITY,
    Priority,
    Role,
    Severity,
    Status,
    SubStatus,
    check_move,
    parse_enum,
)
from deskconsole.domain.permissions import MOVE_ACTIONS, Action
from deskconsole.domain.sla import SlaChange
from deskconsole.domain.views import CaseView
from deskconsole.service.base import ServiceBase
from deskconsole.service.batch import CaseBrief
from deskconsole.service.merge import follow_merges, landing_case
from deskconsole.service.records import (
    _CASE_BY_REF,
    _INSERT_EVENT,
    CASE_WORKERS,
    DESK_LEADS,
    LANGUAGE_RE,
    MAX_SHORT,
    MAX_TEXT,
    MAX_TITLE,
    CaseRecord,
    _a,
    _customer_actor,
    _customer_address,
    _db,
    _db_time,
    _pk,
    clean_text,
)
from deskconsole.store import identity
from deskconsole.store.models import Agent, Case, Event
from deskconsole.store.watch import note_write

REPLY_LOOKBACK = 200  # the customer's replies a follow-up looks through for the newest one after close


@dataclass(frozen=True)
class ClosedReply:
    """A customer's reply to a closed case, as its assignee's console announces it."""

    case: int
    title: str
    event: int
    body: str


class CasesMixin(ServiceBase):
    """Cases and the customer's events on them."""

    def open_case(
        self,
        title: str,
        customer: str,
        *,
        description: str | None = "",
        contact: str | None = None,
        product_area: str | None = None,
        severity: str | None = None,
        ref: str | None = None,
        at: datetime | None = None,
        actor: str | None = None,
        language: str | None = None,
        event_data: dict[str, Any] | None = None,
        priority: str | None = None,
    ) -> tuple[CaseView, bool]:
        """Open a case (routing it), or give back the existing one for a known ref. Returns (case, created).
        `event_data` goes onto the "opened" event (e.g. the channel, sender and subject of a mail);
        `priority`, when given, instead of the one the severity gives."""
        title = clean_text(title, "title", max_len=MAX_TITLE, required=True)
        customer = clean_text(customer, "customer", max_len=MAX_SHORT, required=True)
        description = clean_text(description, "description") or ""
        contact = clean_text(contact, "contact", max_len=320)
        product_area = clean_text(product_area, "product_area", max_len=100)
        ref = clean_text(ref, "ref", max_len=MAX_SHORT)
        language = clean_text(language, "language", max_len=16)
        if language is not None and not LANGUAGE_RE.match(language):
            raise InvalidInput(f"language {language!r}: use a language tag such as en, de or fr-CH")
        sev = parse_enum(Severity, severity or Severity.NORMAL, "severity")
        prio = parse_enum(Priority, priority, "priority") if priority else SEVERITY_PRIORITY[sev]
        when = self._given_time(at)
        try:
            return self._open_new(title, customer, description, contact, language, product_area, sev, ref, when,
                                  actor, event_data, prio)
        except IntegrityError:
            if ref is None:
                raise
            # another writer opened the same ref at this moment; the unique ref refused ours
            with self._read() as s:
                existing = s.exec(select(Case).where(Case.ref == ref)).first()
                if existing is None:
                    raise
                return self._case_view(s, existing), False

    def _open_new(
        self, title: str, customer: str, description: str, contact: str | None, language: str | None,
        product_area: str | None, sev: Severity, ref: str | None, when: datetime, actor: str | None,
        event_data: dict[str, Any] | None = None, prio: Priority | None = None,
    ) -> tuple[CaseView, bool]:
        with self._tx() as s:
            actor = identity.acting(self._who, actor) if actor is not None else None
            if ref is not None:
                existing = _db(s).first(_CASE_BY_REF, {"ref": ref})
                if existing is not None:
                    if existing.get("merged_into_id") is not None:  # a merged case's ref leads to its target
                        landing = follow_merges(s, existing["id"])
                        return self._case_view(s, self._case(s, landing, lock=False)), False
                    return self._case_view(s, CaseRecord(existing)), False
            # The new case goes in by a Core insert (building and flushing an ORM Case costs more
            # than the insert); routing and the events read the same values from a plain object.
            case: Any = SimpleNamespace(
                ref=ref,
                title=title,
                description=description,
                customer=customer,
                contact=contact,
                language=language.lower() if language else None,
                product_area=product_area.strip().lower() if product_area else None,
                severity=sev.value,
                priority=(prio or SEVERITY_PRIORITY[sev]).value,
                status=Status.NEW.value,
                created_at=_db_time(when),
                updated_at=_db_time(when),
                version=1,
                last_actor=actor or f"customer:{customer}",
                last_change="opened it",
            )
            analyst = self._route(s, case)
            case.assignee_id = analyst.id if analyst else None
            db = _db(s)
            case.id = self._insert_case(s, vars(case))
            note_write(s, case.id)  # other consoles hear of the new case (PostgreSQL)
            events = [
                self._event_row(
                    case, "opened", actor or _customer_actor(case), when, body=description or None,
                    title=title, severity=sev.value, priority=case.priority, product_area=case.product_area,
                    **(event_data or {}),
                ),
                self._event_row(
                    case, "assigned", "router", when,
                    assignee=analyst.name if analyst else None,
                    queue=None if analyst else "team",
                ),
            ]
            # both events in one executemany, with the service levels' audit events when there are some
            if not self._sla(s, case, when, actor or _customer_actor(case), SlaChange(opened=True), events=events):
                db.insert_many(_INSERT_EVENT, events)
            batch = self._batch
            if batch is not None and batch.light:
                return CaseBrief(id=case.id, status=case.status), True  # type: ignore[return-value]  # a light batch's brief
            return self._case_view(s, s.get_one(Case, case.id)), True

    def get_case(self, case_id: int, *, events: bool = True) -> CaseView:
        """One case's view; `events=False` leaves its timeline out (`events` empty: case_events
        reads it in windows)."""
        with self._read() as s:
            return self._case_view(s, self._case(s, case_id, lock=False), events=None if events else False)

    def move(
        self,
        case_id: int,
        status: str,
        *,
        actor: str | None,
        sub_status: str | None = None,
        note: str | None = None,
        asked_outside: str | None = None,
        expected_version: int | None = None,
    ) -> CaseView:
        """An analyst action: move a case to another status (closing goes through close()).

        `note` is the resolution for awaiting_confirmation and the question sent to the customer
        for pending/customer_input; there, `asked_outside` (how: phone, chat, ...) records that it
        was already asked outside the desk instead, and nothing is sent."""
        target = parse_enum(Status, status, "status")
        target_sub = parse_enum(SubStatus, sub_status, "sub-status") if sub_status else None
        note = clean_text(note, "note")
        asked_outside = clean_text(asked_outside, "asked-outside", max_len=MAX_SHORT)
        if asked_outside is not None and not asked_outside.strip():
            raise InvalidInput("--asked-outside needs how the customer was asked (e.g. phone)",
                               console="Choose how the customer was already asked.")
        if target is Status.CLOSED and asked_outside is None:
            return self.close(case_id, reason=note or "", actor=actor, expected_version=expected_version)
        with self._tx() as s:
            agent = self._acting(s, actor, MOVE_ACTIONS.get(target, Action.START_WORK))
            case = self._case(s, case_id)
            self._check_version(s, case, expected_version)
            check_move(case.id, Status(case.status), self._sub(case), target, target_sub, note,
                       asked_outside=asked_outside)
            now = self.now()
            if case.assignee_id is None and agent.role == Role.ANALYST:
                case.assignee_id = agent.id
                self._event(s, case, "assigned", agent.name, now, assignee=agent.name, taken=True)
            if target is Status.IN_PROGRESS:
                case.attention = None
            asking = target is Status.PENDING and target_sub is SubStatus.CUSTOMER_INPUT
            if asking:
                # the question is the status change's text; sent unless it was asked outside the desk
                how: dict[str, Any] = (
                    {"asked_outside": asked_outside.strip()} if asked_outside else {"asked": "message"})
                self._enter(s, case, target, target_sub, agent.name, now, question=note, **how)
                return self._case_view(s, case)
            self._enter(
                s, case, target, target_sub, agent.name, now,
                resolution=note if target is Status.AWAITING_CONFIRMATION else None,
            )
            if note and target is not Status.AWAITING_CONFIRMATION:
                self._event(s, case, "note", agent.name, now, body=note)
            return self._case_view(s, case)


    def close(self, case_id: int, *, reason: str, actor: str | None, expected_version: int | None = None) -> CaseView:
        text = clean_text(reason, "reason", max_len=MAX_TEXT)
        with self._tx() as s:
            agent = self._acting(s, actor, Action.CLOSE)
            case = self._case(s, case_id)
            self._check_version(s, case, expected_version)
            check_move(case.id, Status(case.status), self._sub(case), Status.CLOSED, None, None, text)
            # (check_move refuses a close without a reason); its messages are held for the undo window
            now = self.now()
            self._enter(s, case, Status.CLOSED, None, agent.name, now, reason=(text or "").strip(),
                        undo_until=now + self.durations.undo_window)
            return self._case_view(s, case)

    def clone(self, case_id: int, *, actor: str | None, with_reply: bool = False) -> CaseView:
        """A new case from a closed one, linked both ways (its `cloned_from`, and a "cloned" event on
        the closed case). `with_reply`: the follow-up of a customer's reply after close, whose
        description is that reply (the newest such reply); refused when the case has none."""
        with self._tx() as s:
            agent = self._acting(s, actor, Action.CLONE)
            source = self._case(s, case_id)
            self._enforce(agent, Action.CLONE, source)
            reply = self._reply_after_close(s, source.id) if with_reply else None
            if with_reply and reply is None:
                raise InvalidInput(f"case {source.id} has no customer reply after close to follow up",
                                   console="The customer has not written since this case closed.")
            now = self.now()
            case = Case(
                title=source.title,
                description=reply.body or "" if reply is not None else source.description,
                customer=source.customer,
                contact=source.contact,
                language=source.language,
                product_area=source.product_area,
                severity=source.severity,
                priority=SEVERITY_PRIORITY[Severity(source.severity)],
                status=Status.NEW,
                cloned_from_id=source.id,
                created_at=_db_time(now),
                updated_at=_db_time(now),
                version=1,
                last_actor=agent.name,
                last_change=(f"opened it as the follow-up of case {source.id}" if reply is not None
                             else f"cloned it from case {source.id}"),
            )
            analyst = self._route(s, case)
            case.assignee_id = analyst.id if analyst else None
            s.add(case)
            s.flush()
            self._index_new_case(s, _pk(case.id), case.title, case.customer)
            follow: dict[str, Any] = {"follow_up_of_reply": reply.id} if reply is not None else {}
            self._event(s, case, "opened", agent.name, now, body=case.description or None,
                        title=case.title, cloned_from=source.id, priority=case.priority, **follow)
            self._event(s, case, "assigned", "router", now,
                        assignee=analyst.name if analyst else None, queue=None if analyst else "team")
            self._event(s, source, "cloned", agent.name, now, clone=case.id, **follow)
            self._sla(s, case, now, agent.name, SlaChange(opened=True))
            if source.attention == CLOSED_REPLY_ATTENTION:
                source.attention = None
            return self._case_view(s, case)

    def follow_up(self, case_id: int, *, actor: str | None) -> CaseView:
        """The follow-up case of a customer's reply to a closed case: clone(with_reply=True)."""
        return self.clone(case_id, actor=actor, with_reply=True)

    @staticmethod
    def _reply_after_close(s: Any, case_id: int) -> Event | None:
        """The newest customer reply written to a case after it closed."""
        replies = s.exec(select(Event).where(Event.case_id == case_id, Event.kind == "customer_replied")
                         .order_by(col(Event.id).desc()).limit(REPLY_LOOKBACK)).all()
        return next((e for e in replies if e.data and json.loads(e.data).get("after_close")), None)

    def replies_after_close(self, assignee: str, *, after: int | None = None,
                            limit: int = 20) -> tuple[int, list[ClosedReply]]:
        """What the console of `assignee` announces: customer replies to closed cases assigned to
        them, written after event `after` (oldest first, at most `limit`), and the event id to
        ask from next time. `after` None: none yet, only where the desk's events stand now."""
        with self._read() as s:
            if after is None:
                newest = s.exec(select(func.max(Event.id))).one()
                return int(newest or 0), []
            newest = int(s.exec(select(func.max(Event.id))).one() or 0)
            rows = s.exec(
                select(Event, Case.title)
                .join(Case, col(Case.id) == col(Event.case_id))
                .join(Agent, col(Agent.id) == col(Case.assignee_id))
                .where(col(Event.id) > after, col(Event.id) <= newest, Event.kind == "customer_replied",
                       Case.status == Status.CLOSED, Agent.name == assignee)
                .order_by(col(Event.id)).limit(limit)
            ).all()
            found = [ClosedReply(case=e.case_id, title=title, event=_pk(e.id), body=e.body or "")
                     for e, title in rows if e.data and json.loads(e.data).get("after_close")]
            last = _pk(rows[-1][0].id) if len(rows) >= limit else max(after, newest)
            return last, found

    def assign(
        self, case_id: int, assignee: str | None, *, actor: str | None, expected_version: int | None = None
    ) -> CaseView:
        """Reassign (manager or supervisor), or take a case yourself (an analyst naming themself)."""
        with self._tx() as s:
            who = self._me(s, actor)
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "reassign it")
            self._check_version(s, case, expected_version)
            target = self._agent(s, assignee) if assignee else None
            self_take = target is not None and target.id == who.id and who.role == Role.ANALYST
            if who.role not in DESK_LEADS and not self_take:
                raise PermissionDenied(f"{who.name} is {_a(who.role)}: only a manager or supervisor may reassign cases")
            if target is not None and target.role != Role.ANALYST:
                raise InvalidInput(f"{target.name} is {_a(target.role)}: cases are assigned to analysts")
            if target is not None and case.assignee_id == target.id:
                raise InvalidInput(f"case {case.id} is already assigned to {target.name}")
            now = self.now()
            previous = self._assignee_name(s, case)
            case.assignee_id = target.id if target else None
            label = f"assigned it to {target.name}" if target else "put it back in the team queue"
            self._touch(case, who.name, label, now)
            self._event(s, case, "assigned", who.name, now, assignee=target.name if target else None, previous=previous)
            return self._case_view(s, case)

    def set_priority(
        self, case_id: int, priority: str, *, actor: str | None, expected_version: int | None = None
    ) -> CaseView:
        """Change an open case's priority (analysts, managers, supervisors)."""
        target = parse_enum(Priority, priority, "priority")
        with self._tx() as s:
            agent = self._actor(s, actor, CASE_WORKERS + (Role.SUPERVISOR,), "change priorities")
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "change its priority")
            self._check_version(s, case, expected_version)
            if case.priority == target:
                raise InvalidInput(f"case {case.id} is already {target.value}")
            now = self.now()
            previous = case.priority
            self._touch(case, agent.name, f"changed the priority ({previous}→{target.value})", now)
            self._event(s, case, "priority_changed", agent.name, now, **{"from": previous, "to": target.value})
            case.priority = target.value
            self._sla(s, case, now, agent.name, SlaChange(priority=True))  # the targets move to the new policy
            return self._case_view(s, case)

    def take_next(self, *, actor: str | None) -> CaseView | None:
        """Atomically take the oldest most urgent unassigned open case that fits the analyst's skills."""
        with self._tx() as s:
            agent = self._acting(s, actor, Action.TAKE_NEXT)
            skills = [sk for sk in agent.skills.split(",") if sk]
            fits: ColumnElement[bool] = col(Case.product_area).is_(None)
            if skills:
                fits = or_(fits, col(Case.product_area).in_(skills))
            query = (
                select(Case)
                .where(col(Case.assignee_id).is_(None), Case.status != Status.CLOSED, fits)
                .order_by(col(Case.priority), col(Case.id))
                .limit(1)
            )
            if self._pg:
                query = query.with_for_update(skip_locked=True)
            case = s.exec(query).first()
            if case is None:
                return None
            now = self.now()
            case.assignee_id = agent.id
            self._touch(case, agent.name, f"took it ({agent.name})", now)
            self._event(s, case, "assigned", agent.name, now, assignee=agent.name, taken=True)
            return self._case_view(s, case)

    def add_note(
        self, case_id: int, body: str, *, actor: str | None, internal: bool = True, expected_version: int | None = None
    ) -> CaseView:
        """An internal note (team only) or a comment to the customer (sent through the outbox)."""
        body = clean_text(body, "note", required=True)
        with self._tx() as s:
            agent = self._acting(s, actor, Action.NOTE)
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "add a note")
            self._check_version(s, case, expected_version)
            now = self.now()
            kind = "note" if internal else "comment"
            self._touch(case, agent.name, "added an internal note" if internal else "wrote to the customer", now)
            event = self._event(s, case, kind, agent.name, now, body=body)
            if not internal:
                self._outbox(s, case, event, "comment", _customer_address(case),
                             f"[case {case.id}] {case.title[:120]}", body)
                self._sla(s, case, now, agent.name, SlaChange(public_reply=True))
            return self._case_view(s, case)

    # ---------------------------------------------------------- customer events
    def customer_reply(
        self, case_id: int, body: str, *, at: datetime | None = None, actor: str | None = None,
        channel: str = "portal", expected_version: int | None = None, event_data: dict[str, Any] | None = None,
    ) -> tuple[CaseView, str | None]:
        """A customer's words; never dropped. Returns (case, notice) where notice tells e.g. to clone."""
        body = clean_text(body, "body", required=True)
        channel = clean_text(channel, "channel", max_len=20) or "portal"
        with self._tx() as s:
            logged_by = None
            if actor is not None:
                logged_by = self._acting(s, actor, Action.LOG_CUSTOMER_REPLY).name
            case = landing_case(self, s, self._case(s, case_id))  # (a merged case's words go to its target)
            self._check_version(s, case, expected_version)
            when = self._given_time(at, case)
            who = _customer_actor(case)
            extra = {"channel": channel, **({"logged_by": logged_by} if logged_by else {}), **(event_data or {})}
            if case.status == Status.CLOSED:
                self._event(s, case, "customer_replied", who, when, body=body, after_close=True, **extra)
                case.attention = CLOSED_REPLY_ATTENTION
                return self._case_view(s, case), (
                    f"case {case.id} is closed: the reply is kept on its timeline; clone it to start new work"
                )
            self._event(s, case, "customer_replied", who, when, body=body, **extra)
            with self._sla_arming(s):  # (the reply's and the move's service-level changes: armed once)
                self._sla(s, case, when, who, SlaChange(customer_reply=True))
                if channel == "phone" and case.attention and case.attention.startswith("chase"):
                    case.attention = None
                target = REPLY_TARGET.get(Status(case.status))
                if target is not None:
                    self._enter(s, case, target, None, who, when, cause="customer_replied")
                else:
                    self._touch(case, who, "replied", when)
            return self._case_view(s, case), None

    def customer_confirm(self, case_id: int, *, at: datetime | None = None, actor: str | None = None,
                         channel: str | None = None, event_data: dict[str, Any] | None = None) -> CaseView:
        """The customer confirms the resolution: a case awaiting confirmation closes (any other is
        refused, never reopened). `actor` is the agent logging a confirmation given to them, and
        `channel` how it came (phone, email, chat)."""
        if channel is not None and channel not in CONFIRMED_HOW:
            raise InvalidInput(f"how the customer confirmed: one of {', '.join(CONFIRMED_HOW)}, not {channel!r}")
        with self._tx() as s:
            logger = None
            if actor is not None:
                logger = self._acting(s, actor, Action.LOG_CONFIRMATION)
            case = landing_case(self, s, self._case(s, case_id))
            if logger is not None:
                self._enforce(logger, Action.LOG_CONFIRMATION, case)
            elif case.status != Status.AWAITING_CONFIRMATION:  # (the customer's own confirmation)
                raise InvalidTransition(
                    f"case {case.id} is {case.status}: a confirmation only closes a case awaiting confirmation"
                )
            logged_by = logger.name if logger is not None else None
            when = self._given_time(at, case)
            who = _customer_actor(case)
            data = {**({"channel": channel} if channel else {}), **({"logged_by": logged_by} if logged_by else {}),
                    **(event_data or {})}
            self._event(s, case, "customer_confirmed", who, when, **data)
            reason = "resolution confirmed by the customer"
            if channel and logged_by:
                reason += f" ({CONFIRMED_WORDS[channel]}, logged by {logged_by})"
            self._enter(s, case, Status.CLOSED, None, who, when, reason=reason)
            return self._case_view(s, case)
