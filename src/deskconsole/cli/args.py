"""The command line's argument types and parser: each bad value is one `error: ...` line naming
what was wrong, and exit status 2 (argparse's own errors included)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from deskconsole.cli.output import safe

MAX_ID = 2**31 - 1  # ids and limits beyond this are out of every column's range


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return min(value, MAX_ID)  # a limit larger than any table is no limit


def positive(text: str) -> int:
    value = non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text}")
    return value


def seconds(text: str) -> float:
    """A number of seconds, more than 0 and at most a day (an interval between polls)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 86400 seconds: {text!r}")
    return value


def case_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a case id is a whole number, not {text!r}") from None
    return value


def calendar_date(text: str) -> str:
    """A day that exists on the calendar, written YYYY-MM-DD (kept as written)."""
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a calendar date (YYYY-MM-DD): {text!r}") from None
    return text


def _columns() -> int:
    """The terminal's width as argparse's help formatter reads it (shutil.get_terminal_size's columns:
    $COLUMNS, else the terminal's, else 80), without importing shutil (and the compression modules
    it loads) on every start: the console's start path never formats help."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]  # None: caught
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class Formatter(argparse.HelpFormatter):
    """argparse's help formatter, its width as argparse finds it (two columns less than the
    terminal's) but through _columns()."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class Parser(argparse.ArgumentParser):
    """Bad usage is one line on stderr, `error: ...` naming where to look, and exit status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {safe(message)} (see '{self.prog} --help')\n")


def skill_list(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]
