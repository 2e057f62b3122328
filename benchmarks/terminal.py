"""run.py's terminal start row: `deskconsole` spawned under a pseudo-terminal, timed to the first row on
screen (the pre-paint, then Textual's first frame), with and without the pre-paint (see run.py)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from desk import dbapi


def deskconsole() -> list[str]:
    return [sys.executable, "-m", "deskconsole"]


def median(values: list[float]) -> float:
    return statistics.median(values)


DRIVER_STARTED = b"\x1b[?1000h"  # Textual's terminal driver turning the mouse on: written by nothing else


def first_row_title(url: str, user: str) -> str:
    """The title the queue shows first for `user` (as the console reads it), cut to fit its column."""
    from deskconsole.store.window import read_window
    from deskconsole.tui.queuespec import first_view
    from deskconsole.tui.text import clean

    con, paramstyle = dbapi(url)
    try:
        cur = con.cursor()
        cur.execute("SELECT id, role FROM agent WHERE name = " + ("?" if paramstyle == "qmark" else "%s"), (user,))
        agent_id, role = cur.fetchone()
        view = first_view(role)
        rows = read_window(con.cursor(), paramstyle, view=view, sort="oldest", text=None, after=None, limit=1,
                           me=agent_id if view == "mine" else None)
    finally:
        con.close()
    return clean(rows[0].title, single_line=True)[:16] if rows else ""


def terminal_start(url: str, user: str, title: bytes, prepaint: bool) -> dict:
    """One `deskconsole` start under a pty: seconds to the first row on screen, pre-painted and Textual's."""
    import fcntl
    import select
    import struct
    import termios

    from desk import NOW

    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor", DESKCONSOLE_NOW=NOW.isoformat())
    for name in ("DESKCONSOLE_NO_PREPAINT", "NO_COLOR", "TEXTUAL_DRIVER"):
        env.pop(name, None)
    if not prepaint:
        env["DESKCONSOLE_NO_PREPAINT"] = "1"
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    import resource

    out = b""
    seen: dict[str, float] = {}
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(deskconsole() + ["--db", url, "--as", user], stdin=slave, stdout=slave,
                            stderr=slave, env=env, start_new_session=True)
    try:
        end = time.monotonic() + 300
        while "textual" not in seen and time.monotonic() < end and proc.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            out += os.read(master, 1 << 16)
            now = time.perf_counter() - t0
            before, started, after = out.partition(DRIVER_STARTED)
            if "prepaint" not in seen and title in before:
                seen["prepaint"] = now
            if started and title in after:
                seen["textual"] = now
        os.write(master, b"q")
        end = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < end:
            if select.select([master], [], [], 0.05)[0]:
                os.read(master, 1 << 16)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
        os.close(slave)
    if "textual" not in seen:
        return {"error": out.decode(errors="replace")[-300:]}
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seen["cpu"] = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)  # the whole run, start to quit
    return seen


def bench_terminal(url: str, user: str, runs: int) -> dict:
    """Median figures of `runs` pty starts with the pre-paint, and `runs` without it."""
    title = first_row_title(url, user).encode()
    figures: dict = {"prepaint": [], "textual": [], "alone": [], "cpu": [], "alone_cpu": []}
    for _ in range(runs):
        on = terminal_start(url, user, title, prepaint=True)
        off = terminal_start(url, user, title, prepaint=False)
        for result in (on, off):
            if "error" in result:
                return result
        figures["prepaint"].append(on.get("prepaint"))
        figures["textual"].append(on["textual"])
        figures["alone"].append(off["textual"])
        figures["cpu"].append(on["cpu"])
        figures["alone_cpu"].append(off["cpu"])
    if None in figures["prepaint"]:
        return {"error": "no pre-paint seen (is the terminal path off?)"}
    return figures


def terminal_note(figures: dict) -> str:
    def runs(values: list[float]) -> str:
        return "/".join(f"{v:.2f}" for v in values)

    return (f"pty 120x40, median of {len(figures['prepaint'])} ({runs(figures['prepaint'])} s); Textual's first "
            f"frame after it at {median(figures['textual']):.2f} s ({runs(figures['textual'])}); without the "
            f"pre-paint the first row shows at {median(figures['alone']):.2f} s ({runs(figures['alone'])}); "
            f"CPU per run (start to quit, user+sys) {median(figures['cpu']):.2f} s with, "
            f"{median(figures['alone_cpu']):.2f} s without")
