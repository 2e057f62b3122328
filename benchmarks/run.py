"""The benchmark: every figure of the scale targets, measured on this machine, with the target beside it.

    make bench                                   # 1,000,000 cases, SQLite
    make bench DB=postgresql+psycopg://USER@HOST:PORT/DB   # the same rows on that PostgreSQL server
    make bench-pg                                # both side by side, on the project's own cluster
    .venv/bin/python benchmarks/run.py --cases 100000 --db sqlite,postgresql+psycopg://...   # a quicker run

--db names the databases measured, comma-separated: `sqlite`, a PostgreSQL URL (any database on the
server: the benchmark makes its own databases there), or `both` (SQLite and $DESKCONSOLE_BENCH_PG_URL).
The desks are built once by bulk insert and cached: SQLite files under benchmarks/.cache/, and on
PostgreSQL a database `deskbench_<cases>_<due>_<tag>` on the server (a 1M desk takes a few minutes the
first time); each measurement works on a fresh copy (a file copy; CREATE DATABASE ... TEMPLATE).
`make bench-pg` keeps its cluster under benchmarks/.cache/pg-cluster (halted between runs), so its
desks are cached too. With several databases the table shows a column for each; the notes follow it.
deskconsole's sources are compiled to bytecode first, as pip does when it installs the wheel.

Rows of other modules (benchmarks/rows_*.py, `rows(pristine, cases)`) run once per database: `pristine`
names that database's pristine desk (a SQLite file, or on PostgreSQL a small .pg file naming the
template database); `desk.pristine_copy(pristine, name)` gives the URL of a fresh copy to measure on,
`desk.drop_copy(url)` removes it, `desk.is_pg(pristine)` tells which database it is.

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
                  the same file in the same run (SQLite), against SQLite's tick in the same run
                  (PostgreSQL: <= 1.5x; n/a when SQLite is not measured).
  ingest          JSON lines (case.opened and customer.replied, half each) piped into `deskconsole ingest`
                  with DESKCONSOLE_NOW at the desk's end (as the console and tick rows), on a fresh copy of the
                  desk that is on disk before the clock starts (fsync), whole process,
                  lines per second (the process start, about a second, included; the note also gives
                  the rate without it). --ingest-only runs just this row.
  team            PostgreSQL only: 20 consoles' change pollers (LISTEN, as the console's watcher) and 8
                  processes ticking in a loop on the same database while the console types into the queue
                  filter: the filter keystroke -> rows p90 (benchmarks/team.py).
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
from desk import dbapi, sqlite_path  # noqa: E402  (benchmarks/ on the path first)
from terminal import bench_terminal, terminal_note  # noqa: E402

CACHE = HERE / ".cache"  # as desk.py
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
def bench_demo(cases: int, server: str | None) -> dict:
    """`deskconsole demo` into a new SQLite file, or (server: a PostgreSQL URL) a new database there."""
    from desk import _admin, drop_copy, with_database

    with tempfile.TemporaryDirectory() as tmp:
        if server is None:
            url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        else:
            url = with_database(server, "deskbench_work_demo")
            _admin(server, 'DROP DATABASE IF EXISTS "deskbench_work_demo" WITH (FORCE)',
                   'CREATE DATABASE "deskbench_work_demo"')
        t = time.perf_counter()
        out = subprocess.run(deskconsole() + ["--db", url, "demo", "--cases", str(cases)],
                             capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        if server is None:
            size = sum(p.stat().st_size for p in Path(tmp).glob("demo.db*"))
        else:
            size = _admin(server, "SELECT pg_database_size('deskbench_work_demo')")[0][0]
            drop_copy(url)
    if out.returncode != 0:
        return {"error": out.stderr.strip()[-300:]}
    return {"seconds": elapsed, "note": f"measured, whole process; {size / 1e6:,.0f} MB on disk"}


# --------------------------------------------------------------------- console
def bench_console(url: str, presses: int, user: str = USER) -> dict:
    from desk import NOW

    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "console.json"
        env = dict(os.environ, DESKCONSOLE_NOW=NOW.isoformat())
        start = f"import sys; sys.path.insert(0, {str(HERE)!r}); import consoleprobe; consoleprobe.main()"
        spawned = time.time()
        args = {"url": url, "result": str(result), "presses": presses, "spawned": spawned,
                "user": user}
        out = subprocess.run([sys.executable, "-c", start, json.dumps(args)], capture_output=True, text=True,
                             timeout=1800, env=env)
        if out.returncode != 0 or not result.exists():
            return {"error": (out.stderr or out.stdout).strip()[-800:]}
        return json.loads(result.read_text())


# ------------------------------------------------------------------------ tick
def bench_tick(pristine: Path, due: int) -> dict:
    from desk import NOW, drop_copy, is_pg, pristine_copy
    from deskconsole.domain.clock import FixedClock
    from deskconsole.service import Service
    from deskconsole.store.engine import make_engine

    figures: dict = {}
    work = pristine_copy(pristine, "bench-tick.db")
    engine = make_engine(work)
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
    drop_copy(work)
    if is_pg(pristine):
        return figures  # (compared with SQLite's tick in the same run)
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
    from desk import drop_copy, pristine_copy

    url = pristine_copy(pristine, "bench-ingest.db")
    work = sqlite_path(url)
    if work is not None:
        # The copy's gigabytes on disk before the clock starts: otherwise ingest's first commits (their
        # checkpoint's fsync) wait for the kernel to write the whole fresh copy, which a desk in use is not.
        fd = os.open(work, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    con, paramstyle = dbapi(url)
    cur = con.cursor()
    cur.execute("SELECT id FROM \"case\" WHERE status != 'closed' ORDER BY id DESC LIMIT "
                + ("?" if paramstyle == "qmark" else "%s"), (lines,))
    open_ids = [r[0] for r in cur.fetchall()]
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
    drop_copy(url)
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


Row = tuple[str, str, str, str, str]  # what, measured, target, result, note


def databases(spec: str) -> list[tuple[str, str | None]]:
    """(label, PostgreSQL server URL or None for SQLite) for each database --db names."""
    found: list[tuple[str, str | None]] = []
    for item in (part.strip() for part in spec.split(",")):
        if item == "both":
            server = os.environ.get("DESKCONSOLE_BENCH_PG_URL")
            if not server:
                raise SystemExit("error: --db both needs DESKCONSOLE_BENCH_PG_URL (a PostgreSQL URL); "
                                 "or run `make bench-pg`")
            found += [("sqlite", None), ("postgresql", server)]
        elif item == "sqlite":
            found.append(("sqlite", None))
        elif item.startswith("postgresql"):
            found.append(("postgresql", item))
        else:
            raise SystemExit(f"error: --db takes sqlite, a postgresql+psycopg:// URL or both, not {item!r}")
    return list(dict.fromkeys(found))


def measure(label: str, server: str | None, args: argparse.Namespace, sqlite_tick_s: float | None,
            figures: dict) -> list[Row]:
    """Every row on one database. `sqlite_tick_s`: SQLite's 1,000-due tick in this run, if measured;
    `figures` receives this database's (for the next one to compare with)."""
    from desk import cached, cached_pg, drop_copy, pristine_copy

    n = args.cases
    t = time.perf_counter()
    if server is None:
        work = cached(n, args.due)
        pristine = work.with_name(work.name.replace("work-", "bench-pristine-"))
        drop(pristine)
        work.rename(pristine)
        size = f"{pristine.stat().st_size / 1e6:,.0f} MB"
    else:
        pristine = cached_pg(server, n, args.due)
        from sqlalchemy.engine import make_url

        from desk import _admin

        name = make_url(pristine.read_text().strip()).database
        size_query = f"SELECT pg_database_size('{name}')"
        size = f"{_admin(server, size_query)[0][0] / 1e6:,.0f} MB"
    print(f"  {label}: desk ready in {time.perf_counter() - t:.1f} s ({size})", flush=True)

    rows: list[Row] = []
    try:
        if args.ingest_only:
            return [ingest_row(pristine, args.ingest)]
        demo_target = 60 if server is None else 90
        if not args.skip_demo:
            print(f"  {label}: demo ...", flush=True)
            demo = bench_demo(n, server)
            if "error" in demo:
                rows.append((f"demo --cases {n:,}", "failed", f"<= {demo_target} s", "MISS", demo["error"]))
            else:
                rows.append((f"demo --cases {n:,}", f"{demo['seconds']:,.1f} s", f"<= {demo_target} s",
                             verdict(demo["seconds"], demo_target), demo["note"]))

        print(f"  {label}: console ...", flush=True)
        work_url = pristine_copy(pristine, "bench-console.db")
        console = bench_console(work_url, args.presses)
        drop_copy(work_url)
        rows += console_rows(console)
        if args.terminal_runs > 0:
            print(f"  {label}: terminal start ...", flush=True)
            work_url = pristine_copy(pristine, "bench-terminal.db")
            terminal = bench_terminal(work_url, USER, args.terminal_runs)
            drop_copy(work_url)
            if "error" in terminal:
                rows.append(("terminal start -> queue pre-painted", "failed", "<= 0.5 s", "MISS",
                             (terminal["error"].splitlines() or [""])[-1]))
            else:
                value = median(terminal["prepaint"])
                rows.append(("terminal start -> queue pre-painted", f"{value:.2f} s", "<= 0.5 s",
                             verdict(value, 0.5), terminal_note(terminal)))

        print(f"  {label}: tick ...", flush=True)
        tick = bench_tick(pristine, args.due)
        figures["tick_s"] = tick["due_s"]
        rows.append(("tick, nothing due", f"{tick['idle_ms']:.2f} ms", "<= 2 ms", verdict(tick["idle_ms"], 2),
                     "in-process, median of 50"))
        what = f"tick, {args.due:,} due"
        if server is None:
            ratio = tick["due_s"] / tick["baseline_s"]
            rows.append((what, f"{tick['due_s'] * 1000:,.0f} ms", "<= 3x sqlite3", verdict(ratio, 3),
                         f"{tick['fired']:,} fired; {ratio:.1f}x plain sqlite3 ({tick['baseline_s'] * 1000:,.0f} ms, "
                         f"{tick['baseline_fired']:,} fired, same run)"))
        elif sqlite_tick_s is None:
            rows.append((what, f"{tick['due_s'] * 1000:,.0f} ms", "<= 1.5x SQLite", "n/a",
                         f"{tick['fired']:,} fired; SQLite not measured in this run (--db sqlite,URL compares)"))
        else:
            ratio = tick["due_s"] / sqlite_tick_s
            rows.append((what, f"{tick['due_s'] * 1000:,.0f} ms", "<= 1.5x SQLite", verdict(ratio, 1.5),
                         f"{tick['fired']:,} fired; {ratio:.2f}x SQLite's tick in this run "
                         f"({sqlite_tick_s * 1000:,.0f} ms)"))

        rows.append(ingest_row(pristine, args.ingest))
        if server is not None and args.team:
            print(f"  {label}: team (20 pollers, 8 tickers, one console typing) ...", flush=True)
            rows.append(team_row(pristine, args.presses))
        # rows of benchmarks/rows_*.py: one line each, here (they run once per database; see the top)
        rows += __import__("rows_marks").rows(pristine, n)  # bulk actions on 500 marked cases
        rows += __import__("rows_presence").rows(pristine, n)  # presence and the customer context
        rows += __import__("rows_views").rows(pristine, n)  # each built-in view's count
        rows += __import__("rows_sla").rows(pristine, n)  # service levels: reports, Insight, tick, SLA paging
        rows += __import__("rows_pgquery").rows(pristine, n)  # the queue's reads: filter keystrokes, first pages
    finally:
        if server is None:
            drop(pristine)
    return rows


def team_row(pristine: Path, presses: int) -> Row:
    from team import console_under_load

    result = console_under_load(pristine, bench_console, presses)
    if "error" in result:
        return ("filter -> rows, 20 pollers + 8 tickers", "failed", "p90 <= 100 ms", "MISS",
                result["error"].splitlines()[-1])
    values = sorted(result["filter_result_ms"])
    p90 = values[min(len(values) - 1, int(len(values) * 0.9))] if values else None
    return ("filter -> rows, 20 pollers + 8 tickers", "-" if p90 is None else f"p90 {p90:.1f} ms",
            "p90 <= 100 ms", verdict(p90, 100),
            f"{spread(values)}; median {median(values) or 0:.1f} ms; {result['ticks']:,} ticks and "
            f"{result['notices']:,} change notices meanwhile")


def console_rows(console: dict) -> list[Row]:
    if "error" in console:
        return [("console (start, keys, memory)", "failed", "", "MISS", console["error"].splitlines()[-1])]
    start = console["start_s"]
    rows: list[Row] = [("console start -> queue painted", f"{start:.2f} s", "<= 0.5 s", verdict(start, 0.5),
                        f"CPU {console['start_cpu_s']:.2f} s; python up {console['python_start_s']:.2f} s, imports "
                        f"{console['imports_s']:.2f} s; "
                        f"service loaded behind it at {console['service_loaded_s']:.2f} s")]
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
    values = sorted(console["filter_result_ms"])
    p90 = values[min(len(values) - 1, int(len(values) * 0.9))] if values else None
    rows.append(("filter keystroke -> rows, p90", "-" if p90 is None else f"{p90:.1f} ms", "<= 100 ms",
                 verdict(p90, 100), "as the median's row"))
    rows.append(("console resident memory (peak)", f"{console['VmHWM']:.0f} MB", "<= 100 MB",
                 verdict(console["VmHWM"], 100), f"VmHWM; {console['VmRSS']:.0f} MB resident at the end"))
    return rows


def print_table(n: int, results: dict[str, list[Row]]) -> None:
    """One column of measured/target/result per database; then each database's notes."""
    labels = list(results)
    whats = list(dict.fromkeys(row[0] for rows in results.values() for row in rows))
    by = {label: {row[0]: row for row in rows} for label, rows in results.items()}
    head = ["what"]
    for label in labels:
        head += [label if len(labels) > 1 else "measured", "target", "result"]
    table = [head]
    for what in whats:
        line = [what]
        for label in labels:
            row = by[label].get(what)
            line += list(row[1:4]) if row else ["-", "", ""]
        table.append(line)
    widths = [max(len(line[i]) for line in table) for i in range(len(head))]
    print()
    print(f"deskconsole at {n:,} cases" + (f" ({labels[0]})" if len(labels) == 1 else ""))
    for k, line in enumerate(table):
        text = "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
        if len(labels) == 1:
            text += "  " + ("note" if k == 0 else by[labels[0]][line[0]][4])
        print(text.rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths) + ("  ----" if len(labels) == 1 else ""))
    if len(labels) > 1:
        for label in labels:
            print(f"\nnotes, {label}:")
            for row in results[label]:
                if row[4]:
                    print(f"  {row[0]}: {row[4]}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure deskconsole against its scale targets.")
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases in the desk (default 1,000,000)")
    parser.add_argument("--db", default="sqlite",
                        help="databases measured, comma-separated: sqlite, a postgresql+psycopg:// URL, or both "
                             "(SQLite and $DESKCONSOLE_BENCH_PG_URL); default sqlite")
    parser.add_argument("--due", type=int, default=1_000, help="reminders due for the tick row (default 1,000)")
    parser.add_argument("--presses", type=int, default=30, help="presses per key measured (default 30)")
    parser.add_argument("--ingest", type=int, default=10_000, help="lines piped into ingest (default 10,000)")
    parser.add_argument("--ingest-only", action="store_true", help="measure only the ingest row")
    parser.add_argument("--skip-demo", action="store_true", help="leave the demo row out")
    parser.add_argument("--no-team", dest="team", action="store_false",
                        help="leave the PostgreSQL team row (pollers and tickers under a typing console) out")
    parser.add_argument("--console-db", help="only time the console (start, keys, memory) on this SQLite file "
                                             "or database URL, e.g. the demo desk")
    parser.add_argument("--user", default=USER, help=f"who the console runs as (default {USER})")
    parser.add_argument("--terminal-runs", type=int, default=3,
                        help="pty starts measured for the terminal start row, each with and without the pre-paint "
                             "(default 3; 0 leaves the row out)")
    args = parser.parse_args()
    compile_sources()
    if args.console_db:
        url = args.console_db if "://" in args.console_db else f"sqlite:///{Path(args.console_db).resolve()}"
        result = bench_console(url, args.presses, args.user)
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
            terminal = bench_terminal(url, args.user, args.terminal_runs)
            if "error" in terminal:
                print(f"  terminal start failed: {terminal['error'].splitlines()[-1] if terminal['error'] else ''}")
            else:
                print(f"  terminal start -> queue pre-painted {median(terminal['prepaint']):.2f} s; "
                      + terminal_note(terminal))
        return

    targets = databases(args.db)
    n = args.cases
    print(f"deskconsole benchmark: {n:,} cases, {args.due:,} due; {', '.join(label for label, _ in targets)}; "
          f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}", flush=True)
    results: dict[str, list[Row]] = {}
    sqlite_figures: dict = {}
    for label, server in targets:
        figures: dict = {}
        results[label] = measure(label, server, args, sqlite_figures.get("tick_s"), figures)
        if server is None:
            sqlite_figures = figures
    if args.ingest_only:
        for label, rows in results.items():
            row = rows[0]
            print(f"{label}, {row[0]}: {row[1]} (target {row[2]}: {row[3]}); {row[4]}")
        return
    print_table(n, results)


if __name__ == "__main__":
    main()
