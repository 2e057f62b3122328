"""Untrusted text, shown literally.

Titles, descriptions, comments and names come from customers. They are never
parsed as markup and never reach the terminal raw: control characters (ANSI
escapes included) become visible escapes such as ``\\x1b``.
"""

from __future__ import annotations

from rich.text import Text

from deskconsole.domain.text import visible


def clean(value: object, *, single_line: bool = False) -> str:
    """The text with every control character replaced by a visible escape (domain/text.py);
    tabs become spaces, and with `single_line` a newline becomes ` ⏎ `."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n")
    if single_line:
        text = text.replace("\t", " ").replace("\n", " ⏎ ")
    else:
        text = text.replace("\t", "    ")
    return visible(text)


def safe(value: object, style: str = "", *, single_line: bool = False, limit: int | None = None) -> Text:
    """A rich Text holding the value literally (no markup, no escapes interpreted). A single line
    cut by a narrow column or pane ends in `…`, so that a reader sees there is more."""
    text = clean(value, single_line=single_line)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return Text(text, style=style, no_wrap=single_line, overflow="ellipsis" if single_line else None)


def cell(value: object, style: str = "", limit: int | None = 60) -> Text:
    """One table cell: a single line of literal text."""
    return safe(value, style, single_line=True, limit=limit)


def long_text(value: object, style: str = "", *, limit: int = 20_000) -> Text:
    """Multi-line literal text, cut at `limit` characters with a note of how much was left out."""
    raw = "" if value is None else str(value)
    text = safe(raw[:limit], style)
    if len(raw) > limit:
        text.append(f"\n… {len(raw) - limit:,} more characters not shown", "dim italic")
    return text
