"""An inbound message's header fields, read so that hostile mail never raises (mail/parse.py's
part): decoded header text, address lists, message ids for threading, and whether the message is
machine mail (an auto-reply, a bounce, the desk's own mail). Also the text cleaning every parsed
field goes through.
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr

MAX_REFS = 100  # message ids kept from References (the newest)

_MSGID = re.compile(r"<([^<>\s]{1,250})>")
_CONTROL = re.compile("[\x00\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


# ------------------------------------------------------------------ text helpers
def clean(text: str, limit: int | None = None) -> str:
    """Text the database and service take: no NUL or other C0 controls (newline, tab, CR kept),
    no unpaired surrogates."""
    text = _SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub("", text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def one_line(text: str, limit: int) -> str:
    return clean(" ".join(text.split()), limit)


def normalise_id(value: str) -> str | None:
    found = _MSGID.search(value or "")
    return f"<{found.group(1)}>" if found else None


def ids_in(value: str | None, limit: int = MAX_REFS) -> list[str]:
    if not value:
        return []
    found = [f"<{m}>" for m in _MSGID.findall(value)]
    return found[-limit:]


def address_of(value: str | None) -> str | None:
    if not value:
        return None
    _, addr = parseaddr(value)
    addr = addr.strip().lower()
    return addr if "@" in addr or addr else None


_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_BOUNCE_LOCAL = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


def machine_reason(msg: Message, from_addr: str | None, return_path: str | None,
                   own_addresses: frozenset[str] = frozenset()) -> str | None:
    """Why `msg` is machine mail (an auto-reply, a bounce, our own mail), or None for a person's."""
    auto = header_text(msg, "Auto-Submitted")
    if auto and auto.split(";")[0].strip().lower() != "no":
        return f"auto-submitted mail (Auto-Submitted: {one_line(auto, 60)})"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        value = header_text(msg, name)
        if value is not None:
            return f"automatic reply ({name}: {one_line(value, 60)})"
    precedence = (header_text(msg, "Precedence") or "").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"bulk or automatic mail (Precedence: {precedence})"
    ctype = msg.get_content_type()
    if ctype == "multipart/report":
        report = (msg.get_param("report-type") or "")
        report = report.lower() if isinstance(report, str) else ""
        if report == "delivery-status":
            return "a bounce (delivery status report)"
        return f"an automatic report (multipart/report{'; ' + report if report else ''})"
    if return_path == "":
        return "a bounce or notification (empty return path <>)"
    if from_addr:
        local = from_addr.partition("@")[0]
        if local in _BOUNCE_LOCAL:
            return f"a bounce ({local})"
        if from_addr in own_addresses:
            return f"mail from the desk's own address {from_addr}"
    return None


# ------------------------------------------------------------------ headers
def header_text(msg: Message, name: str) -> str | None:
    """A header's text, decoded; never raises (8-bit bytes, broken encoded words, bad syntax)."""
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - the header parser can trip over hostile syntax
        value = None
        for key, raw in msg.raw_items():
            if key.lower() == name.lower():
                value = raw
                break
    if value is None:
        return None
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 -- hostile mail can make the email package raise anything
        return None
    if "\ufffd" in text:  # raw 8-bit bytes in the header: UTF-8 if they are, else Latin-1
        raw_text = raw_header(msg, name, keep=True)
        if raw_text is not None and _SURROGATE.search(raw_text):
            text = _eight_bit(raw_text)
    return clean(text)


def address_list(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, address) pairs of an address header, read from its raw text (the structured
    header parser is slow and strict); display names still encoded (see decode_words)."""
    raw = raw_header(msg, name, keep=True)
    if not raw:
        return []
    if _SURROGATE.search(raw):
        data = raw.encode("utf-8", "surrogateescape")
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            raw = data.decode("latin-1")
    try:
        return [(n, clean(a)) for n, a in getaddresses([" ".join(raw.split())])]
    except Exception:  # noqa: BLE001 -- hostile mail can make the email package raise anything
        return []


def decode_words(text: str) -> str:
    """Encoded words (=?utf-8?q?...?=) decoded; text without them as it is."""
    if "=?" not in text:
        return clean(text)
    try:
        return clean(str(make_header(decode_header(text))))
    except Exception:  # noqa: BLE001 -- hostile mail can make the email package raise anything
        return clean(text)


def _eight_bit(raw: str) -> str:
    data = raw.encode("utf-8", "surrogateescape")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    try:
        return str(make_header(decode_header(text)))  # encoded words beside the 8-bit text
    except Exception:  # noqa: BLE001 -- hostile mail can make the email package raise anything
        return text


def raw_header(msg: Message, name: str, *, keep: bool = False) -> str | None:
    for key, raw in msg.raw_items():
        if key.lower() == name.lower():
            return str(raw) if keep else clean(str(raw))
    return None
