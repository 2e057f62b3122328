"""The command line's output: untrusted text made inert, tables, JSON, `error: ...` lines."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

from deskconsole.domain.clock import format_time
from deskconsole.domain.text import visible


def safe(value: object) -> str:
    """One line of untrusted text made inert: every control character shown as an escape (\\x1b)."""
    return visible(value, lines=False)


def safe_block(value: object) -> str:
    """Multi-line untrusted text: newlines and tabs kept, every other control character escaped."""
    return visible(value)


# Characters JSON may carry raw but a terminal must not get raw (json.dumps escapes only C0 itself).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def when(value: datetime | None) -> str:
    return format_time(value) or "-"


class Output:
    """stdout/stderr for one run; JSON is printed with non-ASCII kept when the stream can take it."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        encoding = (getattr(self.out, "encoding", None) or "").lower().replace("-", "")
        self.ascii_json = encoding not in ("utf8", "utf16", "utf32")

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def json(self, value: Any, *, flush: bool = False) -> None:
        text = json.dumps(value, ensure_ascii=self.ascii_json)
        if not self.ascii_json:  # DEL, C1 and bidi controls stay escaped (\u009b) even in UTF-8 output
            text = _JSON_UNSAFE.sub(_json_escape, text)
        self.out.write(text + "\n")
        if flush:
            self.out.flush()

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[object]], *, widths: dict[int, int] | None = None
    ) -> None:
        """Left-aligned columns; every cell is untrusted text made safe; the last column is not padded."""
        widths = widths or {}
        cells = [
            [clip(safe("-" if c is None else c), widths.get(i, 10_000)) for i, c in enumerate(r)] for r in rows
        ]
        size = [len(h) for h in headers]
        for r in cells:
            for i, c in enumerate(r):
                size[i] = max(size[i], len(c))
        last = len(headers) - 1
        for r in [list(headers), *cells]:
            self.line("  ".join(c if i == last else c.ljust(size[i]) for i, c in enumerate(r)).rstrip())

    def error(self, message: str) -> None:
        self.err.write("error: " + safe(message) + "\n")
        self.err.flush()
