"""`deskconsole` in a real terminal (a pty, 120x40): the pre-painted queue shows before the console
has loaded, the console's own frame follows it, and the terminal is left as it was found."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from datetime import UTC

import pytest
from tuidesk import NOW

DRIVER_STARTED = b"\x1b[?1000h"  # the console's terminal driver turning the mouse on: only it writes this


class Pty:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.before = termios.tcgetattr(self.slave)
        self.proc = subprocess.Popen(args, stdin=self.slave, stdout=self.slave, stderr=self.slave, env=env,
                                     start_new_session=True)
        self.out = b""

    def read_until(self, found, limit: float = 120.0) -> bool:
        """Read what the console writes until `found(output)` (a guard against hanging, not a timing)."""
        end = time.monotonic() + limit
        while not found(self.out) and time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:
                    break
        return found(self.out)

    def finish(self) -> int:
        os.write(self.master, b"q")
        self.read_until(lambda out: self.proc.poll() is not None, 60)
        code = self.proc.wait(30)
        self.read_until(lambda out: False, 0.2)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def console(service, monkeypatch):
    started: list[Pty] = []

    def start(user: str, **env: str) -> Pty:
        environ = {k: v for k, v in os.environ.items() if k not in ("DESKCONSOLE_NO_PREPAINT", "NO_COLOR",
                                                                     "TEXTUAL_DRIVER")}
        environ.update(TERM="xterm-256color", COLORTERM="truecolor", DESKCONSOLE_NOW=NOW.isoformat(), **env)
        pty = Pty([sys.executable, "-m", "deskconsole", "--db", str(service.engine.url), "--as", user], environ)
        started.append(pty)
        return pty

    yield start
    for pty in started:
        pty.close()


def first_title(service, user: str) -> bytes:
    row = service.list_cases(view="mine", actor=user, sort="oldest", limit=1)[0]
    return row.title[:20].encode()


def test_the_queue_is_pre_painted_then_the_console_paints_over_it(console, service):
    title = first_title(service, "alice")
    pty = console("alice")
    assert pty.read_until(lambda out: DRIVER_STARTED in out and out.count(title) >= 2), pty.out[-2000:]
    early, late = pty.out.split(DRIVER_STARTED, 1)
    # Before the console's driver started: the alternate screen, the queue's header, table and footer.
    assert early.startswith(b"\x1b[?1049h\x1b[?25l")
    assert b"deskconsole" in early and b" Case    P   SLA    Status " in early and title in early
    assert b"alice" in early and b"Take next" in early
    # Then the console's own frame, with the same row.
    assert title in late
    os.write(pty.master, b"jj")
    code = pty.finish()
    assert code == 0, pty.out[-2000:]
    assert pty.out.rfind(b"\x1b[?1049l") > pty.out.rfind(b"\x1b[?1049h")  # back on the shell's screen
    assert pty.out.count(b"\x1b[?1049h") == 1  # the console's own switch was left out: no blank screen between
    assert termios.tcgetattr(pty.slave) == pty.before  # echo and line editing back as they were


def test_without_the_pre_paint_only_the_console_paints(console, service):
    title = first_title(service, "alice")
    pty = console("alice", DESKCONSOLE_NO_PREPAINT="1")
    assert pty.read_until(lambda out: DRIVER_STARTED in out and title in out.split(DRIVER_STARTED, 1)[1])
    assert title not in pty.out.split(DRIVER_STARTED, 1)[0]
    assert pty.finish() == 0
    assert termios.tcgetattr(pty.slave) == pty.before


def test_an_unknown_user_starts_no_pre_paint_and_is_told(console):
    pty = console("nobody-here")
    pty.read_until(lambda out: pty.proc.poll() is not None, 60)
    assert pty.proc.wait(30) == 1
    pty.read_until(lambda out: False, 0.2)
    assert b"\x1b[?1049h" not in pty.out and b"error: " in pty.out
    assert termios.tcgetattr(pty.slave) == pty.before


async def test_the_console_shows_the_window_the_pre_paint_read_without_reading_it_again(service, clock):
    """The rows handed over are the queue's first window: the console asks exactly that question."""
    from dataclasses import replace
    from types import SimpleNamespace

    from tuidesk import screen_text, settle

    from deskconsole.settings import Settings
    from deskconsole.tui.app import open_console
    from deskconsole.tui.queuespec import PAGE
    from deskconsole.tui.quickstart import open_quick

    settings = Settings(db_url=str(service.engine.url), user="alice", clock=clock)
    quick = open_quick(settings.db_url, "alice", settings.make_service)
    assert quick is not None
    rows = quick.list_cases(view="mine", actor="alice", sort="oldest", limit=PAGE)
    marked = [replace(rows[0], title="Read by the pre-paint")]  # not in the database: only handed over
    quick.handover(dict(view="mine", actor="alice", text=None, sort="oldest", after=None, limit=PAGE), marked)
    app = open_console(settings, SimpleNamespace(quick=quick), ticker=False, tz=UTC)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(400):
            if app.screen.table.row_count:
                break
            await pilot.pause(0.01)
        await settle(pilot)
        assert "Read by the pre-paint" in screen_text(app)
        assert app.screen.table.row_count == 1
