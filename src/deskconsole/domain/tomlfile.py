"""TOML files the desk loads whole (service levels, macros): parsed with the line of each problem.

`loads` gives the document and a locator: where a key path (`("macros", "ask", "status")`) is
written, the line of `key =` under its table, else the line of the table itself. A file that is
no TOML is refused with the line tomllib names.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from typing import Any

from deskconsole.domain.errors import InvalidInput

Locate = Callable[[tuple[str, ...]], "int | None"]


class TomlSyntaxError(ValueError):
    """Not TOML at all: `line` is where the parser stopped, `reason` what it found."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class FileRefused(InvalidInput):
    """A file of these (or what was stored from one) refused whole: `line` is where, when known, and
    `where` the key at fault; the message says both before the reason."""

    def __init__(self, reason: str, *, line: int | None = None, where: str | None = None) -> None:
        prefix = (f"line {line}: " if line else "") + (f"{where}: " if where else "")
        super().__init__(prefix + reason)
        self.line = line
        self.where = where
        self.reason = reason


def loads(text: str) -> tuple[dict[str, Any], Locate]:
    """The document and its locator; a TomlSyntaxError for text that is no TOML."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)$", message)
        line = int(match.group(1)) if match else None
        reason = message[:match.start()].strip() if match else message
        if message.endswith("(at end of document)"):
            line, reason = max(1, len(text.splitlines())), message[:-len("(at end of document)")].strip()
        raise TomlSyntaxError(f"not valid TOML: {reason}", line) from None
    return data, locator(text)


def locator(text: str) -> Locate:
    """Where a key path is written in the file: the line of `key =` under its table, else of the table."""
    keys: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    assignment = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        found = header.match(line)
        if found:
            table = split_key(found.group(1))
            keys.setdefault(table, number)
            continue
        found = assignment.match(line)
        if found:
            keys.setdefault(table + split_key(found.group(1)), number)

    def locate(path: tuple[str, ...]) -> int | None:
        for size in range(len(path), 0, -1):
            if path[:size] in keys:
                return keys[path[:size]]
        return None
    return locate


def split_key(text: str) -> tuple[str, ...]:
    """A dotted TOML key's parts, quotes removed."""
    return tuple(part.strip().strip("\"'") for part in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", text))
