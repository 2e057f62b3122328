"""deskconsole's command line: argument parsing → service calls → text or JSON.

No rule lives here: every change goes through deskconsole.service.Service, which
refuses with a DeskError and changes nothing. Exit status: 0 done, 1 refused
(one line on stderr beginning "error: "), 2 bad usage (argparse).

Run without a command, deskconsole opens the console (imported lazily: the other
commands never load the console's toolkit).

The parser and the output helpers are in common.py; each command group has its module
(agent.py, case.py, escalation.py, ...), imported only when one of its commands runs.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from deskconsole.cli import common
from deskconsole.cli.common import MODULE_OF, Context, Output, _db_problem, _safe_url, build_parser
from deskconsole.domain.errors import DeskError
from deskconsole.settings import load_settings

TICK_PAUSE_ENV = "DESKCONSOLE_TICK_PAUSE_AFTER"


def tick_pause_hook(value: str | None) -> Callable[[int], None] | None:
    """The tick hook DESKCONSOLE_TICK_PAUSE_AFTER=N asks for (tests only; unset in normal use: None).

    It makes the process stop inside the tick's open transaction once N firings of the tick are
    applied, announce it with one line on standard error and wait there to be killed, so a test
    can SIGKILL a ticker in the middle of its work at a known point. (Read once, at start.)
    """
    if not value or not value.isdigit() or int(value) <= 0:
        return None
    limit = int(value)

    def pause(applied: int) -> None:
        if applied >= limit:
            sys.stderr.write(f"tick paused after {applied} firings ({TICK_PAUSE_ENV})\n")
            sys.stderr.flush()
            while True:
                time.sleep(60)

    return pause


def console_keys(table: Any, where: str, source: str | None) -> dict[str, str]:
    """The config file's [keys] for the console (tui/keymap.py), read only when the file has them."""
    from deskconsole.tui.keymap import read_keys

    return read_keys(table, where, source)


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]  # not a TextIOWrapper: caught
        except (AttributeError, ValueError):
            pass
    out = Output()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.func is None:  # a group without its command, e.g. `deskconsole case`
        args.group_parser.print_help(sys.stderr)
        return 2
    ctx: Context | None = None
    try:
        settings = load_settings(db=getattr(args, "db", None), user=getattr(args, "user", None),
                                 keys_reader=console_keys)
        ctx = Context(args, settings, out, tick_pause_hook(os.environ.get(TICK_PAUSE_ENV)))
        return args.func(ctx)
    except DeskError as exc:
        out.error(str(exc))
        return 1
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): nothing left to say.
        try:
            sys.stdout = open("/dev/null", "w")  # noqa: SIM115
        except OSError:
            pass
        return 1
    except Exception as exc:
        from sqlalchemy.exc import OperationalError, SQLAlchemyError

        url = _safe_url(ctx.settings.db_url) if ctx is not None else "?"
        if isinstance(exc, OperationalError):
            out.error(f"cannot use the database at {url}: {_db_problem(exc)}")
            return 1
        if isinstance(exc, SQLAlchemyError):
            out.error(f"database error at {url}: {_db_problem(exc)}")
            return 1
        if isinstance(exc, UnicodeError):
            out.error(f"not valid text (use UTF-8): {exc}")
            return 1
        if isinstance(exc, OSError):
            out.error(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
            return 1
        raise
    finally:
        if ctx is not None:
            try:
                ctx.out.out.flush()
            except (BrokenPipeError, OSError):
                pass
            ctx.close()


# The names this module gave before it became a package: the shared ones from common.py, the
# commands' from their modules, imported on first use (the console's start loads none of them).
_LAZY = {**MODULE_OF, "console_imports": "console", "ProgressBar": "demo", "PROGRESS_ABOVE": "demo",
         "_event_detail": "case", "_schema_line": "db"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        if not name.startswith("__") and hasattr(common, name):
            return getattr(common, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"deskconsole.cli.{module}"), name)
    globals()[name] = value
    return value
