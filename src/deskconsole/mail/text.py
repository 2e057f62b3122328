"""The words of a message: HTML made text, and a reply's own words without the quoted history
and the signature (the full text is kept elsewhere). Pure."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser


class _HtmlText(HTMLParser):
    _BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table",
              "ul", "ol", "hr", "section", "article", "header", "footer"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif tag == "blockquote":
            self.quote += 1
            self.out.append("\n")
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self.out.append("\n")
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.quote:  # quoted history in HTML mail: marked as quotes in the text too
            data = "\n".join(("> " + line) if line.strip() else line for line in data.split("\n"))
        self.out.append(data)


def html_to_text(markup: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # noqa: BLE001 - broken markup: its text without tags is still better than nothing
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line.strip() and out and not out[-1].strip():
            continue  # one blank line at most
        out.append(line.strip() if not line.startswith(">") else line)
    return "\n".join(out).strip()


# ------------------------------------------------------------------ reply text
_ATTRIBUTION = re.compile(
    r"^\s*(On\b.{0,300}\bwrote:|Am\b.{0,300}\bschrieb.{0,80}:|Le\b.{0,300}\ba écrit\s*:|"
    r"-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Forwarded message)\s*-{2,}|"
    r"_{10,})\s*$",
    re.IGNORECASE,
)
_HEADER_BLOCK = re.compile(r"^\s*(From|Von|De)\s*:\s*\S", re.IGNORECASE)
_SENT_LINE = re.compile(r"^\s*(Sent|Date|Gesendet|Datum|Envoyé|To|An|À)\s*:", re.IGNORECASE)
_SIGNOFF = re.compile(r"^\s*(Sent from my \w+|Get Outlook for \w+|Von meinem \w+ gesendet)", re.IGNORECASE)


def reply_text(text: str) -> str:
    """The new words of a reply: up to the quoted history (`>` lines, "On … wrote:", an
    "Original Message" block, a "From: … Sent: …" block) and without the signature
    (after a `-- ` line, or "Sent from my phone")."""
    lines = text.split("\n")
    # "On Mon, 3 Mar 2025, Ann <ann@x> wrote:" is often folded over two lines
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        joined = line + " " + lines[i + 1] if i + 1 < len(lines) else line
        if line.rstrip() == "--" or line == "-- ":
            break
        if _SIGNOFF.match(line):
            break
        if _ATTRIBUTION.match(line) or (line.strip().startswith("On ") and _ATTRIBUTION.match(joined)):
            break
        if _HEADER_BLOCK.match(line) and any(_SENT_LINE.match(x) for x in lines[i + 1: i + 4]):
            break
        if line.lstrip().startswith(">"):
            # a quoted block; words after it (inline answers) are kept, the quote is not
            i += 1
            continue
        out.append(line)
        i += 1
    while out and not out[-1].strip():
        out.pop()
    while out and not out[0].strip():
        out.pop(0)
    return "\n".join(out)


def first_word(text: str) -> str:
    for word in text.split():
        return word.strip(".,;:!?()[]\"'*").lower()
    return ""


# ------------------------------------------------------------------ machine mail
