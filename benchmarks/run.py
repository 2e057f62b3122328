"""The benchmark: every figure of the scale targets, measured on this machine, with the target beside it.

    make bench                                   # 1,000,000 cases
    .venv/bin/python benchmarks/run.py --cases 100000    # a quicker run

The desks are built once by bulk insert and cached under benchmarks/.cache/ (a 1M desk
takes a few minutes the first time); each measurement works on a fresh copy. deskconsole's
sources are compiled to bytecode first, as pip does when it installs the wheel.

What each row measures:
  demo            `deskconsole demo --cases N` into a fresh file, timed as a whole process (the real N:
                  the demo writes its older history in bulk), with the size of the file it leaves.
  console start   a fresh Python process (spawned by this script: `python -c` importing the small
                  benchmarks/consoleprobe.py, from bytecode) starts the console the way `deskconsole`
                  does: imports the command line (deskconsole.cli) and the console, reads the settings
                  (--db, --as, DESKCONSOLE_NOW), builds the app with open_console() (the fast start: the
                  first window read on a plain driver connection, the service loaded right after the
                  first paint) and runs it headless (App.run_test, 120x40, the timer ticker off); the
                  figure runs from just before the spawn to the end of the first screen refresh that shows
                  the queue with rows (the frame composed and rendered to terminal output; headless, so not
                  written to a terminal); CPU is that process's user+sys time up to then. "service
                  loaded" is when the service was ready behind it; the keys below are pressed after that.
  terminal start  `deskconsole --db ... --as sue` spawned under a pseudo-terminal (120x40, TERM xterm-256color,
                  COLORTERM truecolor, DESKCONSOLE_NOW as the probe), timed as a user sees it: from just before the
                  spawn to the first output holding the first queue row's title (the pre-paint, drawn with plain
                  ANSI escapes before Textual is imported), and to the first output after the console's terminal
                  driver started that holds it again (Textual's first frame); then `q`. Median of --terminal-runs
                  runs; the same with DESKCONSOLE_NO_PREPAINT=1 (the console alone) goes in the note.
  keypresses      in that process: from sending the key to the end of the first screen refresh that shows
                  its effect. j: the cursor on the next row. ]: the next page of cases on screen. Filter:
                  typing into the queue filter, echo (the character in the box) and result (the filtered
                  rows on screen: the window asked for on that keystroke, older answers dropped).
  memory          that process's peak resident set (VmHWM) after all of the above.
  tick            in-process Service.tick(): median of 50 with nothing due; one tick firing the due
                  reminders, against plain sqlite3 doing the same select and writes on another copy of
                  the same file in the same run.
  ingest          JSON lines (case.opened and customer.replied, half each) piped into `deskconsole ingest`
                  with DESKCONSOLE_NOW at the desk's end (as the console and tick rows), on a fresh copy of the
                  desk that is on disk before the clock starts (fsync), whole process,
                  lines per second (the process start, about a second, included; the note also gives
                  the rate without it). --ingest-only runs just this row.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
CACHE = HERE / ".cache"  # as desk.py (imported late: only where a desk is built or its clock read)
DB_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how the tables hold times in SQLite
USER = "sue"  # the desk's supervisor: the queue opens on every case


def deskconsole() -> list[str]:
    return [sys.executable, "-m", "deskconsole"]


def fresh_copy(source: Path, name: str) -> Path:
    target = CACHE / name
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def drop(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


# ------------------------------------------------------------------------ demo
def bench_demo(cases: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.db"
        t = time.perf_counter()
        out = subprocess.run(deskconsole() + ["--db", f"sqlite:///{path}", "demo", "--cases", str(cases)],
                             capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        size = sum(p.stat().st_size for p in Path(tmp).glob("demo.db*"))
    if out.returncode != 0:
        return {"error": out.stderr.strip()[-300:]}
    return {"seconds": elapsed, "note": f"measured, whole process; {size / 1e6:,.0f} MB on disk"}


# --------------------------------------------------------------------- console
def bench_console(path: Path, presses: int, user: str = USER) -> dict:
    from desk import NOW

    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "console.json"
        env = dict(os.environ, DESKCONSOLE_NOW=NOW.isoformat())
        start = f"import sys; sys.path.insert(0, {str(HERE)!r}); import consoleprobe; consoleprobe.main()"
        spawned = time.time()
        args = {"url": f"sqlite:///{path}", "result": str(result), "presses": presses, "spawned": spawned,
                "user": user}
        out = subprocess.run([sys.executable, "-c", start, json.dumps(args)], capture_output=True, text=True,
                             timeout=1800, env=env)
        if out.returncode != 0 or not result.exists():
            return {"error": (out.stderr or out.stdout).strip()[-800:]}
        return json.loads(result.read_text())


# -------------------------------------------------------------- terminal start
DRIVER_STARTED = b"\x1b[?1000h"  # Textual's terminal driver turning the mouse on: written by nothing else


def first_row_title(path: Path, user: str) -> str:
    """The title the queue shows first for `user` (as the console reads it), cut to fit its column."""
    from deskconsole.store.window import read_window
    from deskconsole.tui.queuespec import first_view
    from deskconsole.tui.text import clean

    con = sqlite3.connect(path)
    try:
        agent_id, role = con.execute("SELECT id, role FROM agent WHERE name = ?", (user,)).fetchone()
        view = first_view(role)
        rows = read_window(con.cursor(), "qmark", view=view, sort="oldest", text=None, after=None, limit=1,
                           me=agent_id if view == "mine" else None)
    finally:
        con.close()
    return clean(rows[0].title, single_line=True)[:16] if rows else ""


def terminal_start(path: Path, user: str, title: bytes, prepaint: bool) -> dict:
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
    proc = subprocess.Popen(deskconsole() + ["--db", f"sqlite:///{path}", "--as", user], stdin=slave, stdout=slave,
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


def bench_terminal(path: Path, user: str, runs: int) -> dict:
    """Median figures of `runs` pty starts with the pre-paint, and `runs` without it."""
    title = first_row_title(path, user).encode()
    figures: dict = {"prepaint": [], "textual": [], "alone": [], "cpu": [], "alone_cpu": []}
    for _ in range(runs):
        on = terminal_start(path, user, title, prepaint=True)
        off = terminal_start(path, user, title, prepaint=False)
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


# ------------------------------------------------------------------------ tick
def bench_tick(pristine: Path, due: int) -> dict:
    from desk import NOW
    from deskconsole.domain.clock import FixedClock
    from deskconsole.service import Service
    from deskconsole.store.engine import make_engine

    figures: dict = {}
    work = fresh_copy(pristine, "bench-tick.db")
    engine = make_engine(f"sqlite:///{work}")
    service = Service(engine, FixedClock(NOW))
    service.tick(now=NOW - timedelta(days=1))  # warm the connection; nothing is due a day earlier
    t = time.perf_counter()
    fired = service.tick(now=NOW)
    figures["due_s"] = time.perf_counter() - t
    figures["fired"] = len(fired)
    runs = []
    for _ in range(50):
        t = time.perf_counter()
        again = service.tick(now=NOW)
        runs.append(time.perf_counter() - t)
        assert not again
    figures["idle_ms"] = statistics.median(runs) * 1000
    engine.dispose()
    drop(work)

    base = fresh_copy(pristine, "bench-baseline.db")
    figures["baseline_s"], figures["baseline_fired"] = plain_sqlite_tick(base)
    drop(base)
    return figures


def plain_sqlite_tick(path: Path) -> tuple[float, int]:
    """What tick does for due reminders, written directly against sqlite3 (the floor to compare with)."""
    from desk import NOW

    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
        con.execute(f"PRAGMA {pragma}")
    con.execute("SELECT count(*) FROM timer WHERE state = 'pending' AND due_at <= ?",
                ((NOW - timedelta(days=1)).strftime(DB_TIME),)).fetchone()  # warm, like the service run
    now = NOW.strftime(DB_TIME)
    t = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    due = con.execute(
        "SELECT id, case_id, kind, due_at FROM timer WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id",
        (now,),
    ).fetchall()
    con.executemany("UPDATE timer SET state = 'fired', fired_at = ? WHERE id = ? AND state = 'pending'",
                    [(now, timer_id) for timer_id, *_ in due])
    ids = sorted({case_id for _, case_id, _, _ in due})
    cases = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for row in con.execute(
            f'SELECT id, title, customer, contact FROM "case" WHERE id IN ({",".join("?" * len(chunk))})', chunk
        ):
            cases[row[0]] = row
    outbox, changes = [], []
    for _, case_id, kind, due_at in due:
        _, title, customer, contact = cases[case_id]
        at = datetime.strptime(due_at, DB_TIME).replace(tzinfo=NOW.tzinfo)
        data = json.dumps({"timer": kind, "due": at.isoformat(), "fired": NOW.isoformat()})
        event_id = con.execute(
            "INSERT INTO event (case_id, at, recorded_at, actor, kind, body, data) VALUES (?, ?, ?, 'timer', "
            "'timer_fired', NULL, ?)",
            (case_id, due_at, now, data),
        ).lastrowid
        outbox.append((case_id, event_id, "reminder", contact or f"customer:{customer}",
                       f"[case {case_id}] We are waiting for your answer",
                       f"Case {case_id} ({title}) is waiting for information from you. Without an answer it closes "
                       f"on {at + timedelta(days=21):%Y-%m-%d}.", now))
        changes.append(("chase by phone: customer input overdue", due_at, "timer", "sent the customer a reminder",
                        case_id))
    con.executemany(
        'INSERT INTO outbox (case_id, event_id, kind, "to", subject, body, created_at, state, attempts) '
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0)",
        outbox,
    )
    con.executemany(
        'UPDATE "case" SET attention = ?, version = version + 1, updated_at = max(updated_at, ?), last_actor = ?, '
        "last_change = ? WHERE id = ?",
        changes,
    )
    con.execute("COMMIT")
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed, len(due)


# ---------------------------------------------------------------------- ingest
def bench_ingest(pristine: Path, lines: int) -> dict:
    work = fresh_copy(pristine, "bench-ingest.db")
    # The copy's gigabytes on disk before the clock starts: otherwise ingest's first commits (their
    # checkpoint's fsync) wait for the kernel to write the whole fresh copy, which a desk in use is not.
    fd = os.open(work, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    con = sqlite3.connect(work)
    open_ids = [r[0] for r in con.execute(
        "SELECT id FROM \"case\" WHERE status != 'closed' ORDER BY id DESC LIMIT ?", (lines,))]
    con.close()
    events = []
    for i in range(lines):
        if i % 2 == 0 or not open_ids:
            events.append({"type": "case.opened", "title": f"Cannot export report {i} to PDF",
                           "customer": f"Customer {i % 997}", "severity": "normal"})
        else:
            events.append({"type": "customer.replied", "case": open_ids[(i // 2) % len(open_ids)],
                           "body": f"Here are the logs you asked for ({i})."})
    payload = "".join(json.dumps(e) + "\n" for e in events).encode()
    url = f"sqlite:///{work}"
    from desk import NOW

    # the desk's own "now", as for the console and tick: on the real clock every timer that fell due
    # since the desk was built (more each day) would fire inside the first reply to its case
    env = dict(os.environ, DESKCONSOLE_NOW=NOW.isoformat())
    t = time.perf_counter()
    subprocess.run(deskconsole() + ["--db", url, "ingest"], input=b"", capture_output=True, check=True, env=env)
    startup = time.perf_counter() - t
    import resource

    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(deskconsole() + ["--db", url, "ingest"], input=payload, capture_output=True, env=env)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    drop(work)
    ok = sum(1 for line in out.stdout.splitlines() if json.loads(line).get("ok"))
    return {"rate": lines / elapsed, "seconds": elapsed, "ok": ok, "lines": lines,
            "steady_rate": lines / max(elapsed - startup, 1e-9), "startup_s": startup, "cpu_s": cpu_s}


def ingest_row(pristine: Path, lines: int) -> tuple[str, str, str, str, str]:
    print("  ingest ...", flush=True)
    ingest = bench_ingest(pristine, lines)
    return ("ingest", f"{ingest['rate']:,.0f} events/s", ">= 2,000/s", verdict_at_least(ingest["rate"], 2000),
            f"{ingest['lines']:,} lines ({ingest['ok']:,} ok) in {ingest['seconds']:.1f} s, whole process; "
            f"{ingest['steady_rate']:,.0f}/s without the {ingest['startup_s']:.2f} s start; "
            f"{ingest['cpu_s']:.1f} s CPU")


# ----------------------------------------------------------------------- table
def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value <= target else "MISS"


def verdict_at_least(value: float | None, target: float) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value >= target else "MISS"


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def spread(values: list[float]) -> str:
    if not values:
        return "no presses measured"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"{len(values)} presses, p90 {p90:.1f} ms, max {ordered[-1]:.1f} ms"


def compile_sources() -> None:
    """Bytecode for deskconsole's sources, as pip writes it when it installs a wheel: an editable install
    has none, and with PYTHONDONTWRITEBYTECODE set every spawned process would compile them again."""
    import compileall

    import deskconsole

    compileall.compile_dir(str(Path(deskconsole.__file__).parent), quiet=1)
    for helper in ("consoleprobe.py", "screenwatch.py"):  # the console probe's own modules, likewise
        compileall.compile_file(str(HERE / helper), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure deskconsole against its scale targets.")
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases in the desk (default 1,000,000)")
    parser.add_argument("--due", type=int, default=1_000, help="reminders due for the tick row (default 1,000)")
    parser.add_argument("--presses", type=int, default=30, help="presses per key measured (default 30)")
    parser.add_argument("--ingest", type=int, default=10_000, help="lines piped into ingest (default 10,000)")
    parser.add_argument("--ingest-only", action="store_true", help="measure only the ingest row")
    parser.add_argument("--skip-demo", action="store_true", help="leave the demo row out")
    parser.add_argument("--console-db", type=Path,
                        help="only time the console (start, keys, memory) on this SQLite file, e.g. the demo desk")
    parser.add_argument("--user", default=USER, help=f"who the console runs as (default {USER})")
    parser.add_argument("--terminal-runs", type=int, default=3,
                        help="pty starts measured for the terminal start row, each with and without the pre-paint "
                             "(default 3; 0 leaves the row out)")
    args = parser.parse_args()
    compile_sources()
    if args.console_db:
        result = bench_console(args.console_db.resolve(), args.presses, args.user)
        if "error" in result:
            raise SystemExit(f"error: {result['error'].splitlines()[-1]}")
        print(f"console on {args.console_db} as {args.user}: start -> queue painted {result['start_s']:.2f} s "
              f"(CPU {result['start_cpu_s']:.2f} s; python up {result['python_start_s']:.2f} s, imports "
              f"{result['imports_s']:.2f} s, service loaded "
              f"{result['service_loaded_s']:.2f} s); peak memory {result['VmHWM']:.0f} MB")
        for label, key in (("key j", "cursor_ms"), ("key ]", "page_ms"), ("filter echo", "filter_echo_ms"),
                           ("filter rows", "filter_result_ms")):
            value = median(result[key])
            print(f"  {label} median {'-' if value is None else f'{value:.1f}'} ms ({spread(result[key])})")
        if args.terminal_runs > 0:
            terminal = bench_terminal(args.console_db.resolve(), args.user, args.terminal_runs)
            if "error" in terminal:
                print(f"  terminal start failed: {terminal['error'].splitlines()[-1] if terminal['error'] else ''}")
            else:
                print(f"  terminal start -> queue pre-painted {median(terminal['prepaint']):.2f} s; "
                      + terminal_note(terminal))
        return

    from desk import cached

    n = args.cases
    print(f"deskconsole benchmark: {n:,} cases, {args.due:,} due; {os.cpu_count()} CPUs; "
          f"python {sys.version.split()[0]}", flush=True)
    t = time.perf_counter()
    work = cached(n, args.due)
    pristine = work.with_name(work.name.replace("work-", "bench-pristine-"))
    drop(pristine)
    work.rename(pristine)
    print(f"  desk ready in {time.perf_counter() - t:.1f} s ({pristine.stat().st_size / 1e6:,.0f} MB)", flush=True)

    rows: list[tuple[str, str, str, str, str]] = []  # what, measured, target, result, note
    if args.ingest_only:
        row = ingest_row(pristine, args.ingest)
        drop(pristine)
        print(f"{row[0]}: {row[1]} (target {row[2]}: {row[3]}); {row[4]}")
        return

    if not args.skip_demo:
        print("  demo ...", flush=True)
        demo = bench_demo(n)
        if "error" in demo:
            rows.append((f"demo --cases {n:,}", "failed", "<= 60 s", "MISS", demo["error"]))
        else:
            rows.append((f"demo --cases {n:,}", f"{demo['seconds']:,.1f} s", "<= 60 s",
                         verdict(demo["seconds"], 60), demo["note"]))

    print("  console ...", flush=True)
    work = fresh_copy(pristine, "bench-console.db")
    console = bench_console(work, args.presses)
    drop(work)
    if "error" in console:
        rows.append(("console (start, keys, memory)", "failed", "", "MISS", console["error"].splitlines()[-1]))
    else:
        start = console["start_s"]
        rows.append(("console start -> queue painted", f"{start:.2f} s", "<= 0.5 s", verdict(start, 0.5),
                     f"CPU {console['start_cpu_s']:.2f} s; python up {console['python_start_s']:.2f} s, imports "
                     f"{console['imports_s']:.2f} s; "
                     f"service loaded behind it at {console['service_loaded_s']:.2f} s"))
        for label, key, note in (
            ("key j (cursor move), median", "cursor_ms", ""),
            ("key ] (next page), median", "page_ms", ""),
            ("filter keystroke -> echo, median", "filter_echo_ms", ""),
            ("filter keystroke -> rows, median", "filter_result_ms", "query + screen, no debounce; "),
        ):
            value = median(console[key])
            target = 16 if key == "cursor_ms" else 50
            rows.append((label, "-" if value is None else f"{value:.1f} ms", f"<= {target} ms",
                         verdict(value, target), note + spread(console[key])))
        rows.append(("console resident memory (peak)", f"{console['VmHWM']:.0f} MB", "<= 100 MB",
                     verdict(console["VmHWM"], 100), f"VmHWM; {console['VmRSS']:.0f} MB resident at the end"))
    if args.terminal_runs > 0:
        print("  terminal start ...", flush=True)
        work = fresh_copy(pristine, "bench-terminal.db")
        terminal = bench_terminal(work, USER, args.terminal_runs)
        drop(work)
        if "error" in terminal:
            rows.append(("terminal start -> queue pre-painted", "failed", "<= 0.5 s", "MISS",
                         (terminal["error"].splitlines() or [""])[-1]))
        else:
            value = median(terminal["prepaint"])
            rows.append(("terminal start -> queue pre-painted", f"{value:.2f} s", "<= 0.5 s", verdict(value, 0.5),
                         terminal_note(terminal)))

    print("  tick ...", flush=True)
    tick = bench_tick(pristine, args.due)
    rows.append(("tick, nothing due", f"{tick['idle_ms']:.2f} ms", "<= 2 ms", verdict(tick["idle_ms"], 2),
                 "in-process, median of 50"))
    ratio = tick["due_s"] / tick["baseline_s"]
    rows.append((f"tick, {tick['fired']:,} due", f"{tick['due_s'] * 1000:,.0f} ms", "<= 3x sqlite3",
                 verdict(ratio, 3),
                 f"{ratio:.1f}x plain sqlite3 ({tick['baseline_s'] * 1000:,.0f} ms, "
                 f"{tick['baseline_fired']:,} fired, same run)"))

    rows.append(ingest_row(pristine, args.ingest))
    rows += __import__("rows_sla").rows(pristine, n)  # service levels (benchmarks/rows_sla.py)
    drop(pristine)

    widths = [max(len(r[i]) for r in rows + [("what", "measured", "target", "result", "")]) for i in range(4)]
    print()
    print(f"deskconsole at {n:,} cases")
    head = ("what", "measured", "target", "result")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + "  note")
    print("  ".join("-" * w for w in widths) + "  ----")
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])


if __name__ == "__main__":
    main()
