"""Untrusted text made harmless: one definition of the characters that must never reach a
terminal or a message raw, and the two ways of dealing with them.

Customer text (titles, descriptions, replies, names) may carry ANSI escapes, other C0 and C1
controls, DEL, line/paragraph separators and bidi overrides or isolates (which reorder what
follows them on screen). Screens show them as visible escapes (`\\x1b`, `\\u202e`): what was
sent stays readable and nothing is interpreted. Outgoing mail drops them.
"""

from __future__ import annotations

import re

# Every control character but tab and newline: C0, DEL, C1, U+2028/U+2029, bidi embeddings,
# overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_IN_LINES = re.compile(f"[{CONTROLS}]")
_IN_ONE_LINE = re.compile(f"[\t\n{CONTROLS}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object, *, lines: bool = True) -> str:
    """The text with every control character replaced by a visible escape (`\\x1b`).

    `lines`: newlines and tabs are kept (a CR LF becomes a newline); otherwise they are
    escaped too, so the text stays on one line. None reads as empty."""
    text = "" if value is None else str(value)
    if lines:
        return _IN_LINES.sub(_escape, text.replace("\r\n", "\n"))
    return _IN_ONE_LINE.sub(_escape, text)


def without_controls(value: object) -> str | None:
    """The text with every control character removed, newlines and tabs kept (CR LF and a
    lone CR become newlines): for mail. None stays None."""
    if value is None:
        return None
    return _IN_LINES.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n"))


__all__ = ["CONTROLS", "visible", "without_controls"]
