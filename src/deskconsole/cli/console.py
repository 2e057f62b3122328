"""Opening the console (`deskconsole`, `deskconsole console`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from deskconsole.cli.common import Context


@contextmanager
def console_imports() -> Iterator[None]:
    """Load the console's modules (Textual with them) without the garbage collector running, then
    freeze them (deskconsole.tui.loading). Only the first time: once loaded there is nothing to do."""
    if "deskconsole.tui.app" in sys.modules:
        yield
        return
    from deskconsole.tui.loading import loading

    with loading():
        yield


def cmd_console(ctx: Context) -> int:
    # (on PostgreSQL the console is the login's agent, store/identity.py: the quick connection asks the
    # server who the login is, or, when it cannot start, the service does: tui/app.py open_console)
    prepainted = None
    try:
        with console_imports():
            from deskconsole.tui.prepaint import prepaint

            prepainted = prepaint(ctx.settings)  # the queue on screen before the console loads (a terminal only)
            from deskconsole.tui.app import run_console
    except BaseException as exc:
        if prepainted is not None:
            prepainted.abandon()
        # Only a missing console module (or its entry point) means "not there yet"; anything else is a bug.
        if isinstance(exc, ImportError) and getattr(exc, "name", None) in (
                "deskconsole.tui", "deskconsole.tui.app", "deskconsole.tui.prepaint"):
            ctx.out.error("the console is not available yet")
            return 1
        raise
    result = run_console(ctx.settings, prepainted) if prepainted is not None else run_console(ctx.settings)
    return result if isinstance(result, int) else 0
