"""Applying inbound messages to the desk: parse, then let the service record and apply each one.

`Intake.receive(raw)` is what `mail receive` and `mail fetch` call for each message. The
service (service/mail.py) owns the records: one transaction writes a message's inbound_message
row and its effect on a case, a second copy of a Message-ID is a `duplicate`, a message that
cannot be applied is recorded as `refused`. This module is the mail side of it: the message
parsed (mail/parse.py), what the service should read for it, the threading decision
(mail/thread.py), and that decision carried out through the service's actions.

Outcomes: opened, replied, confirmed, survey, parked, duplicate; a message that cannot be
applied at all (over a size limit, empty, unreadable) is answered `ok: false` with the reason.

A reply to a closed case is kept on the case (its status stays) and the sender is told by mail
to write a new message (Service.answer_closed_reply: at most once a day per sender and case);
machine mail, even released by an agent, and the desk's own addresses are never answered.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from deskconsole.domain.errors import DeskError, InvalidInput
from deskconsole.domain.mail import MailFacts, MailLookups
from deskconsole.mail.parse import Parsed, clean, describe_attachments, one_line, parse_message
from deskconsole.mail.thread import (
    FREE_MAIL,
    LOOP_LIMIT,
    Decision,
    decide,
    domain_of,
    our_candidates,
    parse_our_id,
    subject_tag,
)
from deskconsole.service.mail import InboundMail, MailResult, MailStep, ParkedMail

FROM_ENV = "DESKCONSOLE_SMTP_FROM"
ADDRESSES_ENV = "DESKCONSOLE_MAIL_ADDRESSES"
LOOP_ENV = "DESKCONSOLE_MAIL_LOOP_LIMIT"
Result = MailResult  # (the name the IMAP side and the tests use)
ParkedView = ParkedMail
_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|tr|sv|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_TAG_TEXT = re.compile(r"\[\s*case\s*#?\s*\d{1,10}\s*\]", re.IGNORECASE)
TITLE_MAX = 200


def title_of(parsed: Parsed) -> str:
    subject = _TAG_TEXT.sub(" ", _PREFIX.sub("", parsed.subject))
    subject = " ".join(subject.split())
    if not subject:
        first = next((line.strip() for line in parsed.reply.split("\n") if line.strip()), "")
        subject = first or "(no subject)"
    return one_line(subject, TITLE_MAX)


def inbound(parsed: Parsed, raw: bytes | None) -> InboundMail:
    """A parsed message as the service records it (`raw` what is kept of it)."""
    return InboundMail(
        message_id=parsed.message_id, has_message_id=parsed.has_message_id, content_hash=parsed.content_hash,
        size=parsed.size, from_addr=parsed.from_addr, from_name=parsed.from_name, subject=parsed.subject,
        raw=None if parsed.refused is not None else (raw if parsed.kept is None else parsed.kept),
        refused=parsed.refused,
        attachments_json=json.dumps(describe_attachments(parsed)) if parsed.attachments else None,
        attachments=[(a.sha256, a.size, a.content_type, a.data) for a in parsed.attachments if a.data is not None],
        parsed=parsed,
    )


def own_addresses(environ: Mapping[str, str]) -> frozenset[str]:
    """The desk's own addresses (whose mail is parked): DESKCONSOLE_SMTP_FROM (default
    deskconsole@localhost), DESKCONSOLE_MAIL_ADDRESSES (comma separated), the IMAP login's address."""
    found = {environ.get(FROM_ENV, "").strip() or "deskconsole@localhost"}
    found.update(a.strip() for a in environ.get(ADDRESSES_ENV, "").split(","))
    url = environ.get("DESKCONSOLE_IMAP_URL", "")
    if url:
        try:
            from deskconsole.mail.imap import parse_imap_url

            user = parse_imap_url(url, environ).user
            if "@" in user:
                found.add(user)
        except InvalidInput:
            pass
    return frozenset(a.lower() for a in found if a and "@" in a)


def make_intake(service: Any, environ: Mapping[str, str] | None = None, source: str = "receive") -> Intake:
    """The Intake the environment configures (own addresses, DESKCONSOLE_MAIL_LOOP_LIMIT), for the
    CLI and the console alike; a bad loop limit is refused (InvalidInput)."""
    env = os.environ if environ is None else environ
    limit = LOOP_LIMIT
    if env.get(LOOP_ENV, "").strip():
        try:
            limit = int(env[LOOP_ENV])
        except ValueError:
            raise InvalidInput(f"{LOOP_ENV} must be a whole number, not {env[LOOP_ENV]!r}") from None
        if limit < 1:
            raise InvalidInput(f"{LOOP_ENV} must be 1 or more")
    return Intake(service, own_addresses=own_addresses(env), loop_limit=limit, source=source)


class Intake:
    """Inbound mail for one Service (one database): the rules the service applies messages by."""

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

    # ------------------------------------------------------------------ receive
    def receive(self, raw: bytes, *, after_commit: Callable[[Result], None] | None = None) -> Result:
        return self.receive_many([raw], after_commit=after_commit)[0]

    def receive_many(self, raws: list[bytes], *,
                     after_commit: Callable[[Result], None] | None = None) -> list[Result]:
        """Apply several messages in one transaction, each whole or nothing (Service.take_in_mail);
        the answers are final (committed) once this returns."""
        mails = [inbound(parse_message(raw, self.own_addresses), raw) for raw in raws]
        return self.service.take_in_mail(mails, self, after_commit)

    def parked(self, *, newest_first: bool = False) -> list[ParkedView]:
        return self.service.parked_mail(newest_first=newest_first)

    def release(self, inbound_id: int, *, actor: str | None) -> Result:
        """Apply a parked message as an ordinary one (machine mail and loop checks skipped)."""
        return self.service.release_mail(inbound_id, actor=actor, rules=self)

    def raw(self, inbound_id: int) -> bytes:
        return self.service.raw_mail(inbound_id)

    def text_of(self, inbound_id: int) -> str:
        """A stored message's words as the desk reads them (HTML made text), for a person to look at."""
        parsed = parse_message(self.raw(inbound_id), self.own_addresses)
        return parsed.text.strip() or parsed.refused or "(no text)"

    # ------------------------------------------------------------------ what the service asks (MailRules)
    def reread(self, raw: bytes, message_id: str) -> InboundMail:
        parsed = parse_message(raw, self.own_addresses)
        parsed.message_id = message_id
        return inbound(parsed, None)

    def lookups(self, mail: InboundMail) -> MailLookups:
        parsed: Parsed = mail.parsed
        ours = [mid for mid, _ in our_candidates(parsed)]
        if parse_our_id(parsed.message_id):
            ours.append(parsed.message_id)
        return MailLookups(ours, parsed.thread_ids, subject_tag(parsed.subject), parsed.from_addr)

    def decide(self, mail: InboundMail, facts: MailFacts, *, release: bool) -> Decision:
        parsed: Parsed = mail.parsed
        own_mail = facts.sent.get(parsed.message_id)
        if own_mail is not None and not release:
            return Decision("park", reason=f"the desk's own message (case {own_mail.case_id}) came back")
        return decide(parsed, loop_limit=self.loop_limit, release=release, sent=facts.sent, earlier=facts.earlier,
                      cases=facts.cases, recent_from_sender=facts.recent_from_sender)

    def apply(self, step: MailStep, mail: InboundMail, decision: Decision, row_id: int) -> tuple[str, int | None, str]:
        return self._do(step, mail.parsed, decision, row_id)

    # ------------------------------------------------------------------ apply
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

    def answerable(self, parsed: Parsed) -> bool:
        """Whether the desk may answer this message by mail: a sender that is not the desk's own, and
        no machine mail (also when an agent released it)."""
        sender = parsed.from_addr
        return bool(sender) and "@" in (sender or "") and parsed.machine is None and sender not in self.own_addresses

    def _do(self, step: MailStep, parsed: Parsed, d: Decision, row_id: int) -> tuple[str, int | None, str]:
        svc = step.service
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
            if case.status == "closed" and self.answerable(parsed):
                if svc.answer_closed_reply(case.id, parsed.from_addr):
                    reason += f"; {parsed.from_addr} is told by mail to write a new message"
                else:
                    reason += f"; {parsed.from_addr} was already told within a day"
            return "replied", case.id, reason
        customer = step.customer_for(parsed.from_addr, free_mail=FREE_MAIL, domain=domain_of(parsed.from_addr))
        case, _ = svc.open_case(
            title_of(parsed), customer, description=clean(self._words(parsed)), contact=parsed.from_addr,
            event_data=self._event_data(parsed, d, row_id, True),
        )
        reason = f"new case for {customer}"
        if d.notes:
            reason += "; " + "; ".join(d.notes)
        return "opened", case.id, reason
