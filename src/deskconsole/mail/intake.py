"""Applying one inbound message to the desk: duplicate check, threading, parking, then the case.

`Intake.receive(raw)` is what `mail receive` and `mail fetch` call for each message. The
message's record (table inbound_message: Message-ID unique, outcome, case, reason, the raw
message) and its effect on a case (Service.open_case / customer_reply / customer_confirm /
answer_survey, each inside Service.batch) commit in ONE transaction: a crash leaves either
both or neither. The record is written first, so a second copy of the message (another
`mail fetch` at the same moment, or a re-run after a crash before the IMAP flag was set) is
stopped by the unique Message-ID and answered `duplicate`, naming the case the first went to.

Outcomes: opened, replied, confirmed, survey, parked, duplicate; a message that cannot be
applied at all (over a size limit, empty, unreadable) is recorded as `refused` (its raw
message not kept) and answered `ok: false` with the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col

from deskconsole.domain.clock import format_time, to_utc
from deskconsole.domain.errors import DeskError, InvalidInput, NotFound
from deskconsole.mail.parse import Parsed, clean, describe_attachments, one_line, parse_message
from deskconsole.mail.thread import (
    FREE_MAIL,
    LOOP_LIMIT,
    LOOP_WINDOW,
    CaseFacts,
    Decision,
    SentMail,
    decide,
    domain_of,
    our_candidates,
    parse_our_id,
    subject_tag,
)
from deskconsole.store.models import Agent, Case, InboundMessage, MailAttachment, Outbox, Survey

# (SQLModel leaves __table__ untyped)
_IM = InboundMessage.__table__  # type: ignore[attr-defined]
_ATT = MailAttachment.__table__  # type: ignore[attr-defined]
_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|tr|sv|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_TAG_TEXT = re.compile(r"\[\s*case\s*#?\s*\d{1,10}\s*\]", re.IGNORECASE)
TITLE_MAX = 200
DOMAIN_LOOKBACK = 20_000  # cases looked at (newest first) to find a new sender's customer by domain


@dataclass
class Result:
    """One message's answer line: {"message_id", "ok", "outcome", "case", "reason"} (+ "error")."""

    message_id: str
    ok: bool
    outcome: str | None
    case: int | None
    reason: str
    error: str | None = None
    inbound: int | None = None  # the inbound_message row

    @property
    def handled(self) -> bool:
        """Recorded for good: the server may mark the message done."""
        return self.inbound is not None or self.outcome == "duplicate"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message_id": self.message_id, "ok": self.ok, "outcome": self.outcome,
                               "case": self.case, "reason": self.reason}
        if not self.ok:
            out["error"] = self.error or self.reason
        return out


@dataclass
class ParkedView:
    id: int
    message_id: str
    from_: str | None
    subject: str
    reason: str | None
    received_at: datetime
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "message_id": self.message_id, "from": self.from_, "subject": self.subject,
                "reason": self.reason, "received_at": format_time(self.received_at), "size": self.size}


def title_of(parsed: Parsed) -> str:
    subject = _TAG_TEXT.sub(" ", _PREFIX.sub("", parsed.subject))
    subject = " ".join(subject.split())
    if not subject:
        first = next((line.strip() for line in parsed.reply.split("\n") if line.strip()), "")
        subject = first or "(no subject)"
    return one_line(subject, TITLE_MAX)


class Intake:
    """Inbound mail for one Service (one database)."""

    def __init__(
        self,
        service: Any,
        *,
        own_addresses: frozenset[str] = frozenset(),
        loop_limit: int = LOOP_LIMIT,
        source: str = "receive",
    ) -> None:
        self.service = service
        self.own_addresses = frozenset(a.lower() for a in own_addresses)
        self.loop_limit = loop_limit
        self.source = source
        self._reader = service.engine.execution_options(deskconsole_readonly=True)

    @contextmanager
    def _batch(self) -> Iterator[Session]:
        """One Service.batch(): its session, with self.service bound to it meanwhile (so the
        actions this intake calls join the batch's transaction)."""
        outer = self.service
        with outer.batch(light=True) as batch:
            self.service = batch.service
            try:
                yield batch.session
            finally:
                self.service = outer

    # ------------------------------------------------------------------ receive
    def receive(self, raw: bytes, *, after_commit: Callable[[Result], None] | None = None) -> Result:
        return self.receive_many([raw], after_commit=after_commit)[0]

    def receive_many(self, raws: list[bytes], *,
                     after_commit: Callable[[Result], None] | None = None) -> list[Result]:
        """Apply several messages in one transaction, each in a savepoint of it (a message is still
        whole or nothing); the answers are final once this returns (committed). Should the
        transaction fail as a whole (a deadlock between two fetches on PostgreSQL, say), each
        message is applied again in a transaction of its own."""
        parsed = [parse_message(raw, self.own_addresses) for raw in raws]
        try:
            with self._batch() as s:
                results = [self._one(s, p, raw) for p, raw in zip(parsed, raws, strict=True)]
        except DBAPIError:
            if len(raws) == 1:
                found = self._existing(parsed[0].message_id)
                if found is None:
                    raise
                results = [found]
            else:
                return [self.receive(raw, after_commit=after_commit) for raw in raws]
        if after_commit is not None:
            for result in results:
                after_commit(result)
        return results

    def _one(self, s: Session, parsed: Parsed, raw: bytes) -> Result:
        found = self._existing(parsed.message_id, s)
        if found is not None:
            return found
        try:
            with s.begin_nested():
                if parsed.refused is not None:
                    row_id = self._insert(s, parsed, None, outcome="refused", reason=parsed.refused,
                                          with_attachments=False)
                    return Result(parsed.message_id, False, None, None, parsed.refused, inbound=row_id)
                return self._apply_in(s, parsed, raw)
        except IntegrityError:
            # another intake recorded the same Message-ID at this moment (PostgreSQL: it has committed)
            found = self._existing(parsed.message_id, s)
            if found is None:
                raise
            return found
        except DeskError as exc:  # the service refused it: recorded as refused, so it is not tried forever
            reason = f"cannot be applied: {exc}"
            with s.begin_nested():
                row_id = self._insert(s, parsed, raw, outcome="refused", reason=reason, with_attachments=False)
            return Result(parsed.message_id, False, None, None, reason, inbound=row_id)

    def _existing(self, message_id: str, s: Session | None = None) -> Result | None:
        query = (select(_IM.c.id, _IM.c.case_id, _IM.c.outcome, _IM.c.reason, _IM.c.received_at)
                 .where(_IM.c.message_id == message_id))
        if s is None:
            with Session(self._reader) as own, own.begin():
                row = own.execute(query).first()
        else:
            row = s.execute(query).first()
        if row is None or row.outcome == "pending":
            return None
        if row.outcome == "refused":
            return Result(message_id, False, None, None, row.reason or "refused", inbound=row.id)
        first = f"case {row.case_id}" if row.case_id else f"parked as #{row.id}" if row.outcome == "parked" else "-"
        return Result(message_id, True, "duplicate", row.case_id,
                      f"already taken in at {format_time(to_utc(row.received_at))} ({row.outcome}, {first})")

    def _insert(self, s: Session, parsed: Parsed, raw: bytes | None, *, outcome: str, reason: str | None,
                with_attachments: bool = True) -> int:
        values = {
            "message_id": parsed.message_id, "has_message_id": parsed.has_message_id,
            "content_hash": parsed.content_hash, "from_addr": parsed.from_addr, "from_name": parsed.from_name,
            "subject": parsed.subject, "outcome": outcome, "reason": reason, "source": self.source,
            "received_at": self.service.now(), "size": parsed.size, "raw": raw,
            "attachments": json.dumps(describe_attachments(parsed)) if parsed.attachments else None,
        }
        inserted = cast("CursorResult[Any]", s.execute(_IM.insert().values(**values)))  # (an INSERT's result)
        key = inserted.inserted_primary_key
        assert key is not None, "an INSERT's result has the new row's key"
        row_id = key[0]
        if with_attachments:
            self._store_attachments(s, parsed)
        return int(row_id)

    def _store_attachments(self, s: Session, parsed: Parsed) -> None:
        wanted = {a.sha256: a for a in parsed.attachments if a.data is not None}
        if not wanted:
            return
        have = set(s.execute(select(_ATT.c.sha256).where(_ATT.c.sha256.in_(list(wanted)))).scalars())
        now = self.service.now()
        dialect = s.get_bind().dialect.name
        dialect_insert: Callable[..., Any]  # (the two dialects' INSERTs both have ON CONFLICT DO NOTHING)
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        for digest, att in wanted.items():
            if digest in have:
                continue
            s.execute(dialect_insert(_ATT).values(
                sha256=digest, size=att.size, content_type=att.content_type[:200], data=att.data, created_at=now,
            ).on_conflict_do_nothing(index_elements=["sha256"]))

    # ------------------------------------------------------------------ facts
    def _facts(self, s: Session, parsed: Parsed, row_id: int) -> dict[str, Any]:
        ours = [mid for mid, _ in our_candidates(parsed)]
        sent: dict[str, SentMail] = {}
        look = [*ours, *([parsed.message_id] if parse_our_id(parsed.message_id) else [])]
        if look:
            for mid, case_id, kind in s.execute(
                select(col(Outbox.message_id), col(Outbox.case_id), col(Outbox.kind))
                .where(col(Outbox.message_id).in_(look))
            ).all():
                sent[mid] = SentMail(case_id, kind)
        earlier: dict[str, int] = {}
        thread_ids = parsed.thread_ids
        if thread_ids:
            for mid, case_id in s.execute(
                select(_IM.c.message_id, _IM.c.case_id).where(
                    and_(_IM.c.message_id.in_(thread_ids), _IM.c.case_id.is_not(None), _IM.c.id != row_id))
            ).all():
                earlier[mid] = case_id
        wanted = {m.case_id for m in sent.values()} | set(earlier.values())
        tag = subject_tag(parsed.subject)
        if tag is not None:
            wanted.add(tag)
        cases: dict[int, CaseFacts] = {}
        if wanted:
            rows = s.execute(
                select(col(Case.id), col(Case.status), col(Case.contact), col(Case.customer), col(Survey.id),
                       col(Survey.answered_at))
                .outerjoin(Survey, col(Survey.case_id) == col(Case.id))
                .where(col(Case.id).in_(sorted(wanted)))
            ).all()
            for cid, status, contact, customer, survey_id, answered in rows:
                cases[cid] = CaseFacts(cid, status, contact, customer, survey_id is not None and answered is None)
        recent = 0
        if parsed.from_addr:
            since = self.service.now() - LOOP_WINDOW
            recent = s.execute(
                select(func.count()).select_from(_IM).where(and_(
                    _IM.c.from_addr == parsed.from_addr, _IM.c.received_at >= since, _IM.c.id != row_id,
                    _IM.c.outcome != "refused",
                ))
            ).scalar_one()
        return {"sent": sent, "earlier": earlier, "cases": cases, "recent_from_sender": recent}

    def _customer_for(self, s: Session, sender: str | None) -> str:
        """The sender's customer: by their address on an earlier case, then by their domain, else the
        domain itself (the address for a free-mail domain)."""
        if not sender:
            return "unknown sender"
        found = s.execute(select(col(Case.customer)).where(col(Case.contact) == sender)
                          .order_by(col(Case.id).desc()).limit(1)).scalar_one_or_none()
        if found:
            return found
        domain = domain_of(sender)
        if domain and domain not in FREE_MAIL:
            # the most recent DOMAIN_LOOKBACK cases only: a LIKE on the end of an address takes no index
            newest = s.execute(select(func.max(col(Case.id)))).scalar_one() or 0
            found = s.execute(select(col(Case.customer)).where(and_(
                col(Case.id) > newest - DOMAIN_LOOKBACK, col(Case.contact).like(f"%@{_like(domain)}", escape="\\"),
            )).order_by(col(Case.id).desc()).limit(1)).scalar_one_or_none()
            if found:
                return found
            return domain[:200]
        return sender[:200]

    # ------------------------------------------------------------------ apply
    def _apply_in(self, s: Session, parsed: Parsed, raw: bytes | None, *, release_row: int | None = None,
                  released_by: str | None = None) -> Result:
        svc = self.service
        if release_row is None:
            row_id = self._insert(s, parsed, raw if parsed.kept is None else parsed.kept, outcome="pending",
                                  reason=None)
        else:
            row_id = release_row
            held = cast("CursorResult[Any]", s.execute(  # (an UPDATE's result has a rowcount)
                update(_IM).where(and_(_IM.c.id == row_id, _IM.c.outcome == "parked")).values(outcome="pending")
            )).rowcount
            if held != 1:  # another release took it first
                raise InvalidInput(f"inbound message {row_id} is no longer parked")
        facts = self._facts(s, parsed, row_id)
        own_mail = facts["sent"].get(parsed.message_id)
        if own_mail is not None and release_row is None:
            decision = Decision("park", reason=f"the desk's own message (case {own_mail.case_id}) came back")
        else:
            decision = decide(parsed, loop_limit=self.loop_limit, release=release_row is not None, **facts)
        outcome, case_id, reason = self._do(s, parsed, decision, row_id)
        values: dict[str, Any] = {"outcome": outcome, "case_id": case_id, "reason": reason,
                                  "threaded": decision.threaded}
        if release_row is not None:
            values.update(released_at=svc.now(), released_by=released_by)
        s.execute(update(_IM).where(_IM.c.id == row_id).values(**values))
        return Result(parsed.message_id, True, outcome, case_id, reason, inbound=row_id)

    def _event_data(self, parsed: Parsed, decision: Decision, row_id: int, full: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "channel": "email", "from": parsed.from_addr, "subject": parsed.subject,
            "message_id": parsed.message_id, "inbound": row_id,
        }
        if parsed.from_name:
            data["from_name"] = parsed.from_name
        if decision.threaded:
            data["threaded"] = decision.threaded
        if full and parsed.text.strip() != parsed.reply.strip():
            data["full_text"] = parsed.text
        if parsed.attachments:
            data["attachments"] = describe_attachments(parsed)
        if decision.mentioned_case is not None:
            data["mentioned_case"] = decision.mentioned_case
        if decision.notes:
            data["note"] = "; ".join(decision.notes)
        return data

    def _words(self, parsed: Parsed) -> str:
        text = parsed.reply.strip() or parsed.text.strip()
        if text:
            return text
        if parsed.attachments:
            return "(no text; attachments: " + ", ".join(a.name for a in parsed.attachments[:20]) + ")"
        return "(an empty message)"

    def _do(self, s: Session, parsed: Parsed, d: Decision, row_id: int) -> tuple[str, int | None, str]:
        svc = self.service
        if d.action == "park":
            return "parked", None, d.reason
        how = f" {d.threaded}" if d.threaded else ""
        if d.action == "confirm":
            try:
                case = svc.customer_confirm(d.case_id, event_data=self._event_data(parsed, d, row_id, True))
                return "confirmed", case.id, f"confirmed{how}: case {case.id} is closed"
            except DeskError:
                pass  # (changed meanwhile) a reply after all
        if d.action == "survey":
            try:
                svc.answer_survey(d.case_id, d.score, d.comment,
                                  event_data=self._event_data(parsed, d, row_id, False))
                return "survey", d.case_id, f"survey answered{how}: score {d.score} for case {d.case_id}"
            except DeskError:
                pass
        if d.action in ("reply", "confirm", "survey"):
            case, notice = svc.customer_reply(d.case_id, clean(self._words(parsed)), channel="email",
                                              event_data=self._event_data(parsed, d, row_id, True))
            reason = notice or f"reply{how}: case {case.id} is {case.status}"
            return "replied", case.id, reason
        customer = self._customer_for(s, parsed.from_addr)
        case, _ = svc.open_case(
            title_of(parsed), customer, description=clean(self._words(parsed)), contact=parsed.from_addr,
            event_data=self._event_data(parsed, d, row_id, True),
        )
        reason = f"new case for {customer}"
        if d.notes:
            reason += "; " + "; ".join(d.notes)
        return "opened", case.id, reason

    # ------------------------------------------------------------------ parked
    def parked(self) -> list[ParkedView]:
        with Session(self._reader) as s, s.begin():
            rows = s.execute(
                select(_IM.c.id, _IM.c.message_id, _IM.c.from_addr, _IM.c.subject, _IM.c.reason,
                       _IM.c.received_at, _IM.c.size).where(_IM.c.outcome == "parked").order_by(_IM.c.id)
            ).all()
        return [ParkedView(r.id, r.message_id, r.from_addr, r.subject, r.reason, to_utc(r.received_at), r.size)
                for r in rows]

    def release(self, inbound_id: int, *, actor: str | None) -> Result:
        """Apply a parked message as an ordinary one (machine mail and loop checks skipped)."""
        if not actor:
            raise InvalidInput("who is releasing it? give --as NAME or set DESKCONSOLE_USER")
        with Session(self._reader) as s, s.begin():
            agent = s.execute(select(col(Agent.name)).where(col(Agent.name) == actor)).scalar_one_or_none()
            if agent is None:
                raise NotFound(f"unknown agent {actor!r}: add them with 'deskconsole agent add'")
            row = s.execute(select(_IM.c.outcome, _IM.c.raw, _IM.c.message_id)
                            .where(_IM.c.id == inbound_id)).first()
        if row is None:
            raise NotFound(f"no inbound message {inbound_id}")
        if row.outcome != "parked":
            raise InvalidInput(f"inbound message {inbound_id} is not parked (it was {row.outcome})")
        parsed = parse_message(bytes(row.raw or b""), self.own_addresses)
        parsed.message_id = row.message_id
        with self._batch() as s:
            return self._apply_in(s, parsed, None, release_row=inbound_id, released_by=actor)

    def raw(self, inbound_id: int) -> bytes:
        with Session(self._reader) as s, s.begin():
            row = s.execute(select(_IM.c.raw).where(_IM.c.id == inbound_id)).first()
        if row is None or row.raw is None:
            raise NotFound(f"no stored message {inbound_id}")
        return bytes(row.raw)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
