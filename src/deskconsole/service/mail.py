"""Inbound mail's storage: the inbound_message, mail_attachment and parked rows, and the one
transaction that records a message together with its effect on a case.

`take_in_mail(mails, rules)` is what `mail receive` and `mail fetch` come to (through
deskconsole.mail.intake, which parses the messages and holds the threading rules). The
message's record (table inbound_message: Message-ID unique, outcome, case, reason, the raw
message) and its effect on a case (open_case / customer_reply / customer_confirm /
answer_survey, run by the rules on the batch's service) commit in ONE transaction: a crash
leaves either both or neither. The record is written first, so a second copy of the message
(another `mail fetch` at the same moment, or a re-run after a crash before the IMAP flag was
set) is stopped by the unique Message-ID and answered `duplicate`, naming the case the first
went to.

A message that cannot be applied at all (over a size limit, empty, unreadable, or refused by
the service) is recorded as `refused` and answered `ok: false` with the reason.

A customer's reply to a closed case is kept on it (customer_reply), and the sender is told by
mail to write a new message (outbox kind `closed_reply`): at most once per sender and case
within CLOSED_REPLY_EVERY, never for machine mail (the rules decide who may be answered).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, and_, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col

from deskconsole.domain.clock import format_time, to_utc
from deskconsole.domain.errors import DeskError, InvalidInput, NotFound
from deskconsole.domain.lifecycle import Status
from deskconsole.domain.mail import LOOP_WINDOW, CaseFacts, MailFacts, MailLookups, SentMail
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import Written, _db_time
from deskconsole.store.models import Agent, Case, Event, InboundMessage, MailAttachment, Outbox, Survey

# (SQLModel leaves __table__ untyped)
_IM = InboundMessage.__table__  # type: ignore[attr-defined]
_ATT = MailAttachment.__table__  # type: ignore[attr-defined]
DOMAIN_LOOKBACK = 20_000  # cases looked at (newest first) to find a new sender's customer by domain
CLOSED_REPLY_EVERY = timedelta(days=1)  # a sender is told at most this often per closed case
CLOSED_REPLY = "closed_reply"


@dataclass
class MailResult:
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
class ParkedMail:
    """A parked message, as `mail parked` and the console's Parked list show it."""

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


@dataclass
class InboundMail:
    """One message as the service stores it; `parsed` is the rules' own reading of it."""

    message_id: str
    has_message_id: bool
    content_hash: str
    size: int
    from_addr: str | None = None
    from_name: str | None = None
    subject: str = ""
    raw: bytes | None = None  # what is kept of the message (None: nothing)
    refused: str | None = None  # why it cannot be applied at all
    attachments_json: str | None = None  # the listing (name, type, size, sha256) kept on the record
    attachments: list[tuple[str, int, str, bytes]] = field(default_factory=list)  # (sha256, size, type, data)
    parsed: Any = None


class MailDecision(Protocol):
    threaded: str | None


class MailRules(Protocol):
    """What the service asks the mail package (deskconsole.mail.intake) while it applies a message."""

    source: str

    def lookups(self, mail: InboundMail) -> MailLookups: ...

    def decide(self, mail: InboundMail, facts: MailFacts, *, release: bool) -> MailDecision: ...

    def apply(self, step: MailStep, mail: InboundMail, decision: Any, row_id: int) -> tuple[str, int | None, str]:
        """The decision carried out on step.service: (outcome, case id, reason)."""
        ...

    def reread(self, raw: bytes, message_id: str) -> InboundMail: ...


class MailStep:
    """One message being applied inside take_in_mail's transaction: `service` is the batch's
    service (its actions join the transaction)."""

    def __init__(self, service: Any, session: Session) -> None:
        self.service = service
        self._s = session

    def customer_for(self, sender: str | None, *, free_mail: frozenset[str], domain: str | None) -> str:
        """The sender's customer: by their address on an earlier case, then by their domain, else the
        domain itself (the address for a free-mail domain)."""
        s = self._s
        if not sender:
            return "unknown sender"
        found = s.execute(select(col(Case.customer)).where(col(Case.contact) == sender)
                          .order_by(col(Case.id).desc()).limit(1)).scalar_one_or_none()
        if found:
            return found
        if domain and domain not in free_mail:
            # the most recent DOMAIN_LOOKBACK cases only: a LIKE on the end of an address takes no index
            newest = s.execute(select(func.max(col(Case.id)))).scalar_one() or 0
            found = s.execute(select(col(Case.customer)).where(and_(
                col(Case.id) > newest - DOMAIN_LOOKBACK, col(Case.contact).like(f"%@{_like(domain)}", escape="\\"),
            )).order_by(col(Case.id).desc()).limit(1)).scalar_one_or_none()
            if found:
                return found
            return domain[:200]
        return sender[:200]


class MailMixin(ServiceBase):
    """Inbound mail's records: taking messages in, the parked list, releasing, the raw message."""

    @contextmanager
    def _mail_batch(self) -> Iterator[MailStep]:
        with self.batch(light=True) as batch:  # type: ignore[attr-defined]  # (BatchMixin, on the Service)
            yield MailStep(batch.service, batch.session)

    def take_in_mail(self, mails: Sequence[InboundMail], rules: MailRules,
                     after_commit: Callable[[MailResult], None] | None = None) -> list[MailResult]:
        """Apply several messages in one transaction, each in a savepoint of it (a message is still
        whole or nothing); the answers are final once this returns (committed), and each is given
        to `after_commit` once its transaction has committed. Should the transaction fail as a whole
        (a deadlock between two fetches on PostgreSQL, a full disk), each message is applied again
        in a transaction of its own, each reported as it commits: should one of them fail too, its
        error ends the call, and those before it are stored and were reported."""
        try:
            with self._mail_batch() as step:
                results = [self._take_one(step, mail, rules) for mail in mails]
        except DBAPIError:
            if len(mails) != 1:
                one_by_one: list[MailResult] = []
                for mail in mails:
                    one_by_one += self.take_in_mail([mail], rules, after_commit)
                return one_by_one
            found = self._mail_existing(mails[0].message_id)
            if found is None:
                raise
            results = [found]
        if after_commit is not None:
            for result in results:
                after_commit(result)
        return results

    def _take_one(self, step: MailStep, mail: InboundMail, rules: MailRules) -> MailResult:
        s = step._s
        found = self._mail_existing(mail.message_id, s)
        if found is not None:
            return found
        try:
            with s.begin_nested():
                if mail.refused is not None:
                    row_id = self._mail_insert(s, mail, None, rules.source, outcome="refused", reason=mail.refused,
                                               with_attachments=False)
                    return MailResult(mail.message_id, False, None, None, mail.refused, inbound=row_id)
                return self._apply_mail(step, mail, rules)
        except IntegrityError:
            # another intake recorded the same Message-ID at this moment (PostgreSQL: it has committed)
            found = self._mail_existing(mail.message_id, s)
            if found is None:
                raise
            return found
        except DeskError as exc:  # the service refused it: recorded as refused, so it is not tried forever
            reason = f"cannot be applied: {exc}"
            with s.begin_nested():
                row_id = self._mail_insert(s, mail, mail.raw, rules.source, outcome="refused", reason=reason,
                                           with_attachments=False)
            return MailResult(mail.message_id, False, None, None, reason, inbound=row_id)

    def _mail_existing(self, message_id: str, s: Session | None = None) -> MailResult | None:
        query = (select(_IM.c.id, _IM.c.case_id, _IM.c.outcome, _IM.c.reason, _IM.c.received_at)
                 .where(_IM.c.message_id == message_id))
        if s is None:
            with self._read() as own:
                row = own.execute(query).first()
        else:
            row = s.execute(query).first()
        if row is None or row.outcome == "pending":
            return None
        if row.outcome == "refused":
            return MailResult(message_id, False, None, None, row.reason or "refused", inbound=row.id)
        first = f"case {row.case_id}" if row.case_id else f"parked as #{row.id}" if row.outcome == "parked" else "-"
        return MailResult(message_id, True, "duplicate", row.case_id,
                          f"already taken in at {format_time(to_utc(row.received_at))} ({row.outcome}, {first})")

    def _mail_insert(self, s: Session, mail: InboundMail, raw: bytes | None, source: str, *, outcome: str,
                     reason: str | None, with_attachments: bool = True) -> int:
        values = {
            "message_id": mail.message_id, "has_message_id": mail.has_message_id,
            "content_hash": mail.content_hash, "from_addr": mail.from_addr, "from_name": mail.from_name,
            "subject": mail.subject, "outcome": outcome, "reason": reason, "source": source,
            "received_at": self.now(), "size": mail.size, "raw": raw, "attachments": mail.attachments_json,
        }
        inserted = cast("CursorResult[Any]", s.execute(_IM.insert().values(**values)))  # (an INSERT's result)
        key = inserted.inserted_primary_key
        assert key is not None, "an INSERT's result has the new row's key"
        if with_attachments:
            self._store_attachments(s, mail)
        return int(key[0])

    def _store_attachments(self, s: Session, mail: InboundMail) -> None:
        wanted = {digest: (size, ctype, data) for digest, size, ctype, data in mail.attachments}
        if not wanted:
            return
        have = set(s.execute(select(_ATT.c.sha256).where(_ATT.c.sha256.in_(list(wanted)))).scalars())
        now = self.now()
        dialect_insert: Callable[..., Any]  # (the two dialects' INSERTs both have ON CONFLICT DO NOTHING)
        if self._pg:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        for digest, (size, ctype, data) in wanted.items():
            if digest in have:
                continue
            s.execute(dialect_insert(_ATT).values(
                sha256=digest, size=size, content_type=ctype[:200], data=data, created_at=now,
            ).on_conflict_do_nothing(index_elements=["sha256"]))

    def _mail_facts(self, s: Session, look: MailLookups, row_id: int) -> MailFacts:
        facts = MailFacts()
        if look.ours:
            for mid, case_id, kind in s.execute(
                select(col(Outbox.message_id), col(Outbox.case_id), col(Outbox.kind))
                .where(col(Outbox.message_id).in_(look.ours))
            ).all():
                facts.sent[mid] = SentMail(case_id, kind)
        if look.thread_ids:
            for mid, case_id in s.execute(
                select(_IM.c.message_id, _IM.c.case_id).where(
                    and_(_IM.c.message_id.in_(look.thread_ids), _IM.c.case_id.is_not(None), _IM.c.id != row_id))
            ).all():
                facts.earlier[mid] = case_id
        wanted = {m.case_id for m in facts.sent.values()} | set(facts.earlier.values())
        if look.tag is not None:
            wanted.add(look.tag)
        if wanted:
            rows = s.execute(
                select(col(Case.id), col(Case.status), col(Case.contact), col(Case.customer), col(Survey.id),
                       col(Survey.answered_at))
                .outerjoin(Survey, col(Survey.case_id) == col(Case.id))
                .where(col(Case.id).in_(sorted(wanted)))
            ).all()
            for cid, status, contact, customer, survey_id, answered in rows:
                facts.cases[cid] = CaseFacts(cid, status, contact, customer, survey_id is not None and answered is None)
        if look.sender:
            since = self.now() - LOOP_WINDOW
            facts.recent_from_sender = s.execute(
                select(func.count()).select_from(_IM).where(and_(
                    _IM.c.from_addr == look.sender, _IM.c.received_at >= since, _IM.c.id != row_id,
                    _IM.c.outcome != "refused",
                ))
            ).scalar_one()
        return facts

    def _apply_mail(self, step: MailStep, mail: InboundMail, rules: MailRules, *, release_row: int | None = None,
                    released_by: str | None = None) -> MailResult:
        s = step._s
        if release_row is None:
            row_id = self._mail_insert(s, mail, mail.raw, rules.source, outcome="pending", reason=None)
        else:
            row_id = release_row
            held = cast("CursorResult[Any]", s.execute(  # (an UPDATE's result has a rowcount)
                update(_IM).where(and_(_IM.c.id == row_id, _IM.c.outcome == "parked")).values(outcome="pending")
            )).rowcount
            if held != 1:  # another release took it first
                raise InvalidInput(f"inbound message {row_id} is no longer parked")
        facts = self._mail_facts(s, rules.lookups(mail), row_id)
        decision = rules.decide(mail, facts, release=release_row is not None)
        outcome, case_id, reason = rules.apply(step, mail, decision, row_id)
        values: dict[str, Any] = {"outcome": outcome, "case_id": case_id, "reason": reason,
                                  "threaded": decision.threaded}
        if release_row is not None:
            values.update(released_at=self.now(), released_by=released_by)
        s.execute(update(_IM).where(_IM.c.id == row_id).values(**values))
        return MailResult(mail.message_id, True, outcome, case_id, reason, inbound=row_id)

    # ------------------------------------------------------------------ a reply to a closed case
    def answer_closed_reply(self, case_id: int, sender: str) -> bool:
        """Tell `sender`, who wrote to closed case `case_id`, to write a new message: an outbox row
        of kind closed_reply, unless one went to them for this case within CLOSED_REPLY_EVERY.
        Whether they were told now. Call it on the service of the transaction that kept the reply
        (the case row is locked by it: two intakes at once write one row)."""
        with self._tx() as s:
            case = self._case(s, case_id)
            if case.status != Status.CLOSED:
                return False
            now = self.now()
            told = s.execute(select(col(Outbox.id)).where(and_(
                col(Outbox.case_id) == case.id, col(Outbox.kind) == CLOSED_REPLY, col(Outbox.to) == sender,
                col(Outbox.created_at) > _db_time(now - CLOSED_REPLY_EVERY),
            )).limit(1)).first()
            if told is not None:
                return False
            reply = s.execute(select(col(Event.id), col(Event.case_id), col(Event.kind)).where(and_(
                col(Event.case_id) == case.id, col(Event.kind) == "customer_replied",
            )).order_by(col(Event.id).desc()).limit(1)).first()
            if reply is None:
                return False
            self._message(s, case, Written(id=reply.id, case_id=case.id, kind=reply.kind), CLOSED_REPLY, sender,
                          {"case": case.id, "title": case.title})
            return True

    # ------------------------------------------------------------------ parked
    def parked_mail(self, *, newest_first: bool = False) -> list[ParkedMail]:
        """Machine mail held with its reason, in the order it came (or newest first)."""
        order = _IM.c.id.desc() if newest_first else _IM.c.id
        with self._read() as s:
            rows = s.execute(
                select(_IM.c.id, _IM.c.message_id, _IM.c.from_addr, _IM.c.subject, _IM.c.reason,
                       _IM.c.received_at, _IM.c.size).where(_IM.c.outcome == "parked").order_by(order)
            ).all()
        return [ParkedMail(r.id, r.message_id, r.from_addr, r.subject, r.reason, to_utc(r.received_at), r.size)
                for r in rows]

    def release_mail(self, inbound_id: int, *, actor: str | None, rules: MailRules) -> MailResult:
        """Apply a parked message as an ordinary one (machine mail and loop checks skipped)."""
        if not actor:
            raise InvalidInput("who is releasing it? give --as NAME or set DESKCONSOLE_USER")
        with self._read() as s:
            agent = s.execute(select(col(Agent.name)).where(col(Agent.name) == actor)).scalar_one_or_none()
            if agent is None:
                raise NotFound(f"unknown agent {actor!r}: add them with 'deskconsole agent add'")
            row = s.execute(select(_IM.c.outcome, _IM.c.raw, _IM.c.message_id)
                            .where(_IM.c.id == inbound_id)).first()
        if row is None:
            raise NotFound(f"no inbound message {inbound_id}")
        if row.outcome != "parked":
            raise InvalidInput(f"inbound message {inbound_id} is not parked (it was {row.outcome})")
        mail = rules.reread(bytes(row.raw or b""), row.message_id)
        with self._mail_batch() as step:
            return self._apply_mail(step, mail, rules, release_row=inbound_id, released_by=actor)

    def raw_mail(self, inbound_id: int) -> bytes:
        """A stored message as it arrived."""
        with self._read() as s:
            row = s.execute(select(_IM.c.raw).where(_IM.c.id == inbound_id)).first()
        if row is None or row.raw is None:
            raise NotFound(f"no stored message {inbound_id}")
        return bytes(row.raw)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
