"""Threading rules for inbound mail, as pure functions over facts the intake reads from the database.

Which case a message belongs to, in this order:

1. by the desk's own Message-ID: every message the desk sends has a Message-ID
   `<cCASE.oOUTBOX.TOKEN@DOMAIN>` with a random TOKEN, stored on its outbox row. An id in
   In-Reply-To ("by In-Reply-To") or References ("by References") that is exactly one of those
   rows threads the message to that row's case, whoever sent it (nobody can guess the token).
2. by an earlier inbound message of the same case named in In-Reply-To/References
   (a customer following up their own mail), trusted like the subject tag;
3. by the subject tag `[case N]`, trusted only when the sender is the case's contact or
   writes from the contact's domain (not a free-mail domain). A stranger's tag opens a new
   case that notes the mention.

Otherwise a new case opens. On a threaded case:

- a reply whose first word is CONFIRM (also CONFIRMED, and the German and French words the
  messages name: BESTÄTIGT, CONFIRMÉ) while the case awaits confirmation confirms it (the
  awaiting-confirmation e-mail says so); anything else is a reply, as the life cycle says;
- a reply to the survey e-mail (by its Message-ID, or a trusted tag on a closed case whose
  survey is unanswered) whose first word is a score 1–5 ("4", "4/5", "5!") answers the survey,
  the rest of its words being the comment;
- anything else is a reply (`customer.replied`).

Machine mail (parse.machine_reason) and more than LOOP_LIMIT messages from one address within
LOOP_WINDOW are parked, never applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from deskconsole.domain.mail import LOOP_WINDOW as LOOP_WINDOW  # (the rules name it; the service counts in it)
from deskconsole.domain.mail import CaseFacts, SentMail
from deskconsole.mail.parse import Parsed
from deskconsole.mail.text import first_word

LOOP_LIMIT = 20  # messages from one address per LOOP_WINDOW; the next ones are parked

CONFIRM_WORDS = frozenset({"confirm", "confirmed", "bestätigt", "bestätige", "confirme", "confirmé"})
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
    "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com",
    "mail.ru", "yandex.ru", "t-online.de", "orange.fr", "free.fr", "laposte.net", "zoho.com",
})

_OUR_ID = re.compile(r"^<c(\d{1,10})\.o(\d{1,12})\.([A-Za-z0-9_-]{8,64})@[^<>@\s]+>$")
_TAG = re.compile(r"\[\s*case\s*#?\s*(\d{1,10})\s*\]", re.IGNORECASE)
_SCORE = re.compile(r"^([1-5])(?:\s*/\s*5)?[.!,;:)]*$")


@dataclass
class Decision:
    action: str  # open | reply | confirm | survey | park
    case_id: int | None = None
    threaded: str | None = None  # by In-Reply-To | by References | by subject tag
    reason: str = ""
    score: int | None = None
    comment: str | None = None
    mentioned_case: int | None = None  # a tag not trusted from this sender
    notes: list[str] = field(default_factory=list)


def parse_our_id(message_id: str) -> tuple[int, int] | None:
    """(case, outbox row) named by one of the desk's Message-IDs, or None."""
    found = _OUR_ID.match(message_id)
    return (int(found.group(1)), int(found.group(2))) if found else None


def our_candidates(parsed: Parsed) -> list[tuple[str, str]]:
    """(message id, how) for each id in In-Reply-To/References shaped like the desk's own, best first."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for mid in parsed.in_reply_to:
        if mid not in seen and parse_our_id(mid):
            out.append((mid, "by In-Reply-To"))
            seen.add(mid)
    for mid in reversed(parsed.references):
        if mid not in seen and parse_our_id(mid):
            out.append((mid, "by References"))
            seen.add(mid)
    return out


def subject_tag(subject: str) -> int | None:
    found = _TAG.search(subject or "")
    if not found:
        return None
    value = int(found.group(1))
    return value if 0 < value < 2**31 else None


def domain_of(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rpartition("@")[2].strip().lower() or None


def trusted_sender(sender: str | None, case: CaseFacts) -> bool:
    """The case's contact, or someone at the contact's domain (not a free-mail domain)."""
    if not sender:
        return False
    sender = sender.lower()
    contact = (case.contact or "").strip().lower()
    if contact and sender == contact:
        return True
    domain = domain_of(contact)
    return bool(domain) and domain not in FREE_MAIL and domain_of(sender) == domain


def is_confirmation(text: str) -> bool:
    return first_word(text) in CONFIRM_WORDS


def survey_score(text: str) -> tuple[int, str | None] | None:
    """(score, comment) when the first word is a score 1–5, else None."""
    parts = text.strip().split(None, 1)
    if not parts:
        return None
    word, rest = parts[0], (parts[1] if len(parts) > 1 else "")
    found = _SCORE.match(word)
    if not found:
        return None
    comment = rest.strip().lstrip("-–:").strip() or None
    return int(found.group(1)), comment


def too_many(recent_from_sender: int, limit: int = LOOP_LIMIT) -> bool:
    """`recent_from_sender`: messages already taken from this address within the window."""
    return recent_from_sender >= limit


def decide(
    parsed: Parsed,
    *,
    sent: dict[str, SentMail],
    earlier: dict[str, int],
    cases: dict[int, CaseFacts],
    recent_from_sender: int,
    loop_limit: int = LOOP_LIMIT,
    release: bool = False,
) -> Decision:
    """What to do with a message.

    sent      the outbox rows named in its In-Reply-To/References (message id → row), as read;
    earlier   earlier inbound messages it names (message id → their case);
    cases     the facts of every case those and its subject tag name;
    recent_from_sender  messages from the same address in the last LOOP_WINDOW;
    release   a parked message released by an agent: machine mail and loop checks are skipped.
    """
    if not release:
        if parsed.machine:
            return Decision("park", reason=parsed.machine)
        if parsed.from_addr and too_many(recent_from_sender, loop_limit):
            return Decision("park", reason=(
                f"a mail loop? more than {loop_limit} messages from {parsed.from_addr} within an hour"
            ))
    case: CaseFacts | None = None
    how: str | None = None
    via: SentMail | None = None
    for mid, label in our_candidates(parsed):
        row = sent.get(mid)
        ids = parse_our_id(mid)
        if row is not None and ids is not None and ids[0] == row.case_id and row.case_id in cases:
            case, how, via = cases[row.case_id], label, row
            break
    if case is None:
        for mid in parsed.thread_ids:
            case_id = earlier.get(mid)
            if case_id is not None and case_id in cases and trusted_sender(parsed.from_addr, cases[case_id]):
                case = cases[case_id]
                how = "by In-Reply-To" if mid in parsed.in_reply_to else "by References"
                break
    mentioned: int | None = None
    if case is None:
        tag = subject_tag(parsed.subject)
        if tag is not None:
            facts = cases.get(tag)
            if facts is not None and trusted_sender(parsed.from_addr, facts):
                case, how = facts, "by subject tag"
            else:
                mentioned = tag
    if case is None:
        decision = Decision("open", mentioned_case=mentioned)
        if mentioned is not None:
            decision.notes.append(
                f"the subject names case {mentioned}, but {parsed.from_addr or 'the sender'} is not that case's "
                "contact or of its customer's domain: opened as a new case"
                if mentioned in cases else f"the subject names case {mentioned}, which does not exist"
            )
        return decision
    words = parsed.reply if parsed.reply.strip() else parsed.text
    if case.status == "awaiting_confirmation" and is_confirmation(words):
        return Decision("confirm", case.id, how)
    survey_mail = via is not None and via.kind == "survey"
    if case.survey_open and (survey_mail or (how == "by subject tag" and case.status == "closed")):
        scored = survey_score(words)
        if scored is not None:
            return Decision("survey", case.id, how, score=scored[0], comment=scored[1])
    return Decision("reply", case.id, how)
