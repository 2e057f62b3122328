"""What inbound mail's threading rules (deskconsole.mail.thread) decide from: the facts the service
reads for one message. Plain values, shared by the service (which reads them) and the rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

LOOP_WINDOW = timedelta(hours=1)  # recent_from_sender counts the messages of this window


@dataclass(frozen=True)
class SentMail:
    """An outbox row named by a message's In-Reply-To/References."""

    case_id: int
    kind: str


@dataclass(frozen=True)
class CaseFacts:
    id: int
    status: str
    contact: str | None
    customer: str
    survey_open: bool = False  # a survey was sent and is not answered


@dataclass(frozen=True)
class MailLookups:
    """What to read for one message: the desk's own Message-IDs it names, every id it names, its
    subject tag, its sender."""

    ours: list[str]
    thread_ids: list[str]
    tag: int | None
    sender: str | None


@dataclass
class MailFacts:
    """What was read: `sent` the desk's outbox rows named; `earlier` earlier inbound messages named
    (message id → their case); `cases` the facts of every case those and the tag name;
    `recent_from_sender` messages from the same address within the loop window."""

    sent: dict[str, SentMail] = field(default_factory=dict)
    earlier: dict[str, int] = field(default_factory=dict)
    cases: dict[int, CaseFacts] = field(default_factory=dict)
    recent_from_sender: int = 0


_ADDRESS_RE = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}@[^@\s<>()\[\],;:\"\\_]{1,253}$")


def is_address(value: str | None) -> bool:
    """Whether `value` is a bare e-mail address (local@domain)."""
    if not value or not _ADDRESS_RE.match(value):
        return False
    domain = value.rpartition("@")[2]
    return not domain.startswith((".", "-")) and not domain.endswith((".", "-")) and ".." not in domain
