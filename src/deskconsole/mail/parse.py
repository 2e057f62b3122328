"""One inbound e-mail message, RFC 5322 bytes → `Parsed`: pure, no database, never raises on bad mail.

Parsing uses the standard library's `email` package (policy `default`). Whatever a real
mail system may send gets through or is refused with a reason:

- malformed MIME, unknown charsets, 8-bit headers, encoded words: decoded as far as
  they go; undecodable bytes become U+FFFD, never an exception;
- an HTML-only message: its text (scripts and styles dropped, blocks on their own lines);
- a `From ` line in front (mbox, old mail): dropped;
- limits (refused messages are recorded with the reason, never half applied):
    MAX_MESSAGE_BYTES   a message over 50 MiB is refused;
    MAX_HEADER_BYTES    a header section over 2 MiB is refused (a 1 MB header is read);
    MAX_PARTS           at most 2,000 MIME parts are looked at, nested at most 40 deep;
    MAX_ATTACHMENT_BYTES / MAX_STORED_BYTES / MAX_STORED_ATTACHMENTS
                        an attachment over 10 MiB, or beyond 25 MiB or 200 stored
                        attachments in one message, is listed (name, type, size, sha256)
                        but its content is not stored;
- archives (a zip bomb included) are never unpacked: an attachment is bytes and a hash.

A message without a Message-ID gets one made from a hash of its content
(`<content.HEX@deskconsole.invalid>`), so a second copy of it is recognised.

Header fields (decoded text, addresses, message ids, machine mail) are read by mail/headers.py.
"""

from __future__ import annotations

import base64
import hashlib
import quopri
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from deskconsole.mail.headers import (
    address_list,
    address_of,
    clean,
    decode_words,
    header_text,
    ids_in,
    machine_reason,
    normalise_id,
    one_line,
    raw_header,
)
from deskconsole.mail.text import first_word, html_to_text, reply_text

MAX_MESSAGE_BYTES = 50 * 1024 * 1024
MAX_HEADER_BYTES = 2 * 1024 * 1024
MAX_PARTS = 2000
MAX_DEPTH = 40
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_STORED_BYTES = 25 * 1024 * 1024
MAX_STORED_ATTACHMENTS = 200
MAX_SUBJECT = 998  # a header line's limit (RFC 5322)
MAX_BODY_CHARS = 1_000_000  # the service's limit for a text

CONTENT_ID_DOMAIN = "deskconsole.invalid"



@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int
    sha256: str
    data: bytes | None  # None: listed, not stored (see `note`)
    note: str | None = None

    def listing(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "type": self.content_type, "size": self.size,
                                  "sha256": self.sha256, "stored": self.data is not None}
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Parsed:
    message_id: str  # "<...>", the message's own or one made from its content
    has_message_id: bool
    content_hash: str  # sha256 hex
    size: int
    from_addr: str | None = None  # lower case
    from_name: str | None = None
    to: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    return_path: str | None = None  # None: no Return-Path header; "": the empty path <>
    text: str = ""  # the whole body as text
    reply: str = ""  # the new words: quoted history and signature stripped
    attachments: list[Attachment] = field(default_factory=list)
    machine: str | None = None  # why this is machine mail (auto-reply, bounce), or None
    refused: str | None = None  # why the message cannot be applied, or None
    defects: list[str] = field(default_factory=list)
    # what is kept as the raw message: None, the message itself; for a message over SKELETON_ABOVE,
    # the message with its parts over BIG_PART taken out (each replaced by a header naming its
    # place in `attachments`; stored there within the attachment limits)
    kept: bytes | None = None

    @property
    def thread_ids(self) -> list[str]:
        """In-Reply-To first, then References newest first, each once."""
        seen: list[str] = []
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            if mid not in seen:
                seen.append(mid)
        return seen


def _split_header_section(raw: bytes) -> tuple[int, bytes]:
    """(length of the header section, the body's bytes)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at >= 0:
            return at, raw[at + len(sep):]
    return len(raw), b""


def strip_from_line(raw: bytes) -> bytes:
    if raw.startswith(b"From "):
        end = raw.find(b"\n")
        return raw[end + 1:] if end >= 0 else b""
    return raw


def content_hash(raw: bytes) -> str:
    """A hash of what makes two copies the same message: From, To, Cc, Date, Subject and the
    body (not Received, Delivered-To and the like, which differ between copies)."""
    msg = BytesParser(policy=policy.compat32).parsebytes(raw[:MAX_HEADER_BYTES], headersonly=True)
    h = hashlib.sha256()
    for name in ("From", "To", "Cc", "Date", "Subject"):
        for value in msg.get_all(name) or []:
            h.update(name.encode() + b":" + " ".join(str(value).split()).encode("utf-8", "surrogateescape") + b"\n")
    at = _body_start(raw, 0, len(raw))
    end = len(raw)
    while end > at and raw[end - 1] in (0x0A, 0x0D):  # trailing line ends do not count
        end -= 1
    h.update(b"\n")
    view = memoryview(raw)
    step = 1 << 20
    while at < end:  # CRLF or LF: the same message (1 MiB at a time: a big message is not copied whole)
        stop = min(at + step, end)
        if stop < end and raw[stop - 1] == 0x0D:
            stop += 1
        h.update(bytes(view[at:stop]).replace(b"\r\n", b"\n"))
        at = stop
    return h.hexdigest()


def _body_start(raw: bytes, start: int, end: int) -> int:
    """Where the body of the entity at raw[start:end] begins (after its blank line)."""
    if raw.startswith(b"\r\n", start):
        return start + 2
    if raw.startswith(b"\n", start):
        return start + 1
    found = [i for i in (raw.find(b"\n\r\n", start, end), raw.find(b"\n\n", start, end)) if i >= 0]
    if not found:
        return end
    i = min(found)
    return i + (3 if raw.startswith(b"\n\r\n", i) else 2)


# ------------------------------------------------------------------ large messages
SKELETON_ABOVE = 4 * 1024 * 1024  # messages larger than this have their big parts taken out before parsing
BIG_PART = 512 * 1024
EXTRACTED = "X-Deskconsole-Extracted"


def _delimiters(raw: bytes, start: int, end: int, boundary: bytes) -> Iterator[tuple[int, int, bool]]:
    """(line start, line end, closing?) of each delimiter line of a multipart body."""
    marker = b"--" + boundary
    pos = start
    while pos < end:
        if raw.startswith(marker, pos) and (pos == start or raw[pos - 1] == 0x0A):
            i = pos
        else:
            i = raw.find(b"\n" + marker, pos, end)
            if i < 0:
                return
            i += 1
        after = i + len(marker)
        close = raw.startswith(b"--", after)
        nxt = raw[after + (2 if close else 0): after + (3 if close else 1)]
        if nxt and nxt not in (b"\r", b"\n", b" ", b"\t"):
            pos = after  # a longer word that starts like the boundary
            continue
        nl = raw.find(b"\n", after, end)
        line_end = end if nl < 0 else nl + 1
        yield i, line_end, close
        if close:
            return
        pos = line_end


def _take_out(raw: bytes, start: int, end: int, found: list[Attachment], depth: int = 0) -> list:
    """The entity raw[start:end] with every big non-text leaf body replaced by nothing and a header
    naming its place in `found` (memoryview pieces; nothing big is copied)."""
    view = memoryview(raw)
    body = _body_start(raw, start, end)
    head = BytesParser(policy=policy.compat32).parsebytes(bytes(view[start:body]), headersonly=True)
    ctype = head.get_content_type()
    if head.get_content_maintype() == "multipart" and depth < MAX_DEPTH:
        boundary = head.get_boundary()
        if not boundary:
            return [view[start:end]]
        pieces: list = [view[start:body]]
        prev = body
        for line_start, line_end, _close in _delimiters(raw, body, end, boundary.encode("utf-8", "replace")):
            if prev == body:
                pieces.append(view[prev:line_start])  # the preamble
            else:
                pieces.extend(_take_out(raw, prev, line_start, found, depth + 1))
            pieces.append(view[line_start:line_end])
            prev = line_end
        pieces.append(view[prev:end])  # the epilogue (or the rest of a part left open)
        return pieces
    disposition = (head.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if end - body <= BIG_PART or (ctype in ("text/plain", "text/html") and disposition != "attachment"):
        return [view[start:end]]
    cte = (head.get("Content-Transfer-Encoding") or "").strip().lower()
    if cte == "base64":
        data = base64.b64decode(view[body:end])  # (characters outside the alphabet, line ends too, are skipped)
    elif cte == "quoted-printable":
        data = quopri.decodestring(bytes(view[body:end]))
    else:
        data = bytes(view[body:end])
    name = _filename(head) or f"part-{len(found) + 1}"
    keep = len(data) <= MAX_ATTACHMENT_BYTES
    found.append(Attachment(name, ctype, len(data), hashlib.sha256(data).hexdigest(), data if keep else None,
                            None if keep else f"not stored: over the {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB "
                            "attachment limit"))
    del data
    header_end = body - (2 if raw.startswith(b"\r\n", body - 2) else 1)  # before the blank line
    return [view[start:header_end], f"{EXTRACTED}: {len(found) - 1}\r\n\r\n".encode()]


# ------------------------------------------------------------------ parts
def _decoded_payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 -- hostile mail can make the email package raise anything
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()  # (None: a multipart part, or one that could not be decoded)
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _part_text(part: Message) -> str:
    data = _decoded_payload(part)
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:  # an unknown charset: UTF-8 if it is, Latin-1 (every byte a character) otherwise
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def _filename(part: Message) -> str | None:
    name: str | tuple[str | None, str | None, str] | None
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 -- hostile mail can make the email package raise anything
        name = None
    if not name:
        ctype = part.get_content_type()
        try:
            name = part.get_param("name")
        except Exception:  # noqa: BLE001 -- hostile mail can make the email package raise anything
            name = None
        if isinstance(name, tuple):  # RFC 2231 (charset, language, value)
            name = name[2]
        if not name and ctype == "message/rfc822":
            name = "message.eml"
    return one_line(str(name), 255) if name else None


def _walk(msg: Message, defects: list[str]) -> list[Message]:
    """The leaf parts, depth first, without recursion (a deeply nested message cannot blow the stack)."""
    leaves: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            defects.append(f"more than {MAX_PARTS} MIME parts: the rest were not read")
            break
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            if depth >= MAX_DEPTH:
                defects.append(f"MIME parts nested deeper than {MAX_DEPTH}: the inner ones were not read")
                continue
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((p, depth + 1) for p in reversed(payload) if isinstance(p, Message))
            continue
        leaves.append(part)
    return leaves


def _is_attachment(part: Message) -> bool:
    ctype = part.get_content_type()
    try:
        disposition = (part.get_content_disposition() or "").lower()
    except Exception:  # noqa: BLE001 -- hostile mail can make the email package raise anything
        disposition = ""
    if disposition == "attachment":
        return True
    return not (ctype in ("text/plain", "text/html") and disposition in ("", "inline"))


def _body_and_attachments(msg: Message, defects: list[str],
                          taken_out: list[Attachment] | None = None) -> tuple[str, list[Attachment]]:
    plain: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    stored_bytes = 0
    stored_count = 0
    for part in _walk(msg, defects):
        ctype = part.get_content_type()
        if not _is_attachment(part):
            try:
                text = _part_text(part)
            except Exception as exc:  # noqa: BLE001 -- hostile mail can make the email package raise anything
                defects.append(f"a {ctype} part could not be read: {exc}")
                continue
            (plain if ctype == "text/plain" else htmls).append(text)
            continue
        extracted = part.get(EXTRACTED) if taken_out else None
        if taken_out and extracted is not None and extracted.strip().isdigit() and int(extracted) < len(taken_out):
            att = taken_out[int(extracted)]
            if att.data is not None and (stored_count >= MAX_STORED_ATTACHMENTS
                                         or stored_bytes + att.size > MAX_STORED_BYTES):
                att = Attachment(att.name, att.content_type, att.size, att.sha256, None,
                                 "not stored: the message's attachments pass the limits")
            attachments.append(att)
            if att.data is not None:
                stored_bytes += att.size
                stored_count += 1
            continue
        if ctype == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            data = inner.as_bytes(policy=policy.compat32) if isinstance(inner, Message) else _decoded_payload(part)
        else:
            data = _decoded_payload(part)
        digest = hashlib.sha256(data).hexdigest()
        name = _filename(part) or f"part-{len(attachments) + 1}"
        note = None
        if len(data) > MAX_ATTACHMENT_BYTES:
            note = f"not stored: over the {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB attachment limit"
        elif stored_count >= MAX_STORED_ATTACHMENTS:
            note = f"not stored: more than {MAX_STORED_ATTACHMENTS} attachments"
        elif stored_bytes + len(data) > MAX_STORED_BYTES:
            note = f"not stored: the message's attachments pass {MAX_STORED_BYTES // (1024 * 1024)} MiB"
        attachments.append(Attachment(name, ctype, len(data), digest, None if note else data, note))
        if note is None:
            stored_bytes += len(data)
            stored_count += 1
    if plain:
        text = "\n\n".join(t.strip("\n") for t in plain)
    elif htmls:
        text = "\n\n".join(html_to_text(t) for t in htmls)
    else:
        text = ""
    return text.replace("\r\n", "\n").replace("\r", "\n"), attachments


# ------------------------------------------------------------------ the message
def parse_message(raw: bytes, own_addresses: frozenset[str] = frozenset()) -> Parsed:
    """Parse one message. Never raises for bad mail: a message that cannot be applied comes back
    with `refused` saying why (its Message-ID and sender still read when they can be)."""
    raw = strip_from_line(raw)
    size = len(raw)
    header_len, _ = _split_header_section(raw)
    digest = content_hash(raw)
    head = BytesParser(policy=policy.default).parsebytes(raw[: min(header_len + 4, MAX_HEADER_BYTES)],
                                                        headersonly=True)
    refused = None
    if size > MAX_MESSAGE_BYTES:
        refused = (f"the message is {size / (1024 * 1024):.1f} MiB, over the "
                   f"{MAX_MESSAGE_BYTES // (1024 * 1024)} MiB limit")
    elif header_len > MAX_HEADER_BYTES:
        refused = (f"the header section is {header_len / (1024 * 1024):.1f} MiB, over the "
                   f"{MAX_HEADER_BYTES // (1024 * 1024)} MiB limit")
    elif not raw.strip():
        refused = "the message is empty"
    msg: Message = head
    defects: list[str] = []
    taken_out: list[Attachment] = []
    skeleton = None
    if refused is None:
        try:
            if size > SKELETON_ABOVE:  # big parts out first: the parser would hold each several times over
                skeleton = b"".join(_take_out(raw, 0, size, taken_out))
                msg = BytesParser(policy=policy.default).parsebytes(skeleton)
            else:
                msg = BytesParser(policy=policy.default).parsebytes(raw)
        except Exception as exc:  # noqa: BLE001 - the parser is lenient; this is a last resort
            refused = f"the message cannot be parsed: {type(exc).__name__}: {one_line(str(exc), 200)}"
            msg = head
    skeleton = skeleton if refused is None and taken_out else None
    own_id = normalise_id(raw_header(msg, "Message-ID") or "")
    parsed = Parsed(
        message_id=own_id or f"<content.{digest[:40]}@{CONTENT_ID_DOMAIN}>",
        has_message_id=own_id is not None,
        content_hash=digest,
        size=size,
        refused=refused,
        kept=skeleton,
    )
    pairs = address_list(msg, "From")
    name, addr = pairs[0] if pairs else ("", "")
    parsed.from_addr = clean(addr.strip().lower(), 320) or None
    parsed.from_name = one_line(decode_words(name), 200) or None
    parsed.to = [a.lower() for _, a in address_list(msg, "To") + address_list(msg, "Cc") if a]
    parsed.subject = one_line(header_text(msg, "Subject") or "", MAX_SUBJECT)
    date = raw_header(msg, "Date")
    if date:
        try:
            parsed.date = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            parsed.date = None
    parsed.in_reply_to = ids_in(raw_header(msg, "In-Reply-To"), 10)
    parsed.references = ids_in(raw_header(msg, "References"))
    rp = raw_header(msg, "Return-Path")
    if rp is not None:
        parsed.return_path = "" if rp.strip() in ("<>", "") else (address_of(rp) or "")
    parsed.machine = machine_reason(msg, parsed.from_addr, parsed.return_path, own_addresses)
    if refused is not None:
        return parsed
    try:
        text, attachments = _body_and_attachments(msg, defects, taken_out)
    except Exception as exc:  # noqa: BLE001 -- hostile mail can make the email package raise anything
        parsed.refused = f"the message's body cannot be read: {type(exc).__name__}: {one_line(str(exc), 200)}"
        return parsed
    parsed.text = clean(text, MAX_BODY_CHARS)
    parsed.reply = reply_text(parsed.text)
    parsed.attachments = attachments
    parsed.defects = defects + [type(d).__name__ for d in getattr(msg, "defects", [])][:20]
    return parsed


def describe_attachments(parsed: Parsed) -> list[dict[str, object]]:
    return [a.listing() for a in parsed.attachments]


__all__ = [
    "Attachment",
    "EmailMessage",
    "Parsed",
    "address_of",
    "clean",
    "first_word",
    "html_to_text",
    "machine_reason",
    "parse_message",
    "reply_text",
]
