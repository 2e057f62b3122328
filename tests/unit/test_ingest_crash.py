"""kill -9 in the middle of a long `deskconsole ingest FILE`, then the same command again.

The desk after the interrupted run plus the rerun must equal the desk after one
uninterrupted run of the same file: every event applied exactly once (cases,
their timelines, assignments, escalations, surveys, outbox rows), and the output
lines of the two runs together answer each input line at most once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from test_cli import run_forked  # the forked-CLI runner of tests/unit/test_cli.py

from deskconsole.domain.clock import FixedClock
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine

NOW = "2026-11-25T09:00:00Z"
SEEDED = 60
LINES = 3000


def _seed(url: str) -> None:
    engine = make_engine(url)
    init_schema(engine)
    svc = Service(engine, FixedClock(NOW))
    svc.add_agent("mona", "manager", actor=None)
    svc.add_agent("al", "analyst", actor="mona", skills=["billing"], manager="mona")
    svc.add_agent("bo", "analyst", actor="mona", skills=["billing", "login"], manager="mona")
    for i in range(1, SEEDED + 1):
        case, _ = svc.open_case(f"Seed {i}", f"Customer {i % 7}", product_area="billing")
        if i % 3 == 0:
            assignee = svc.get_case(case.id).assignee
            svc.move(case.id, "in_progress", actor=assignee)
            svc.move(case.id, "awaiting_confirmation", actor=assignee, note=f"Fixed {i}.")
    engine.dispose()


def _feed(path: Path) -> None:
    lines = []
    for i in range(LINES):
        seed = i % SEEDED + 1
        match i % 8:
            case 0 | 1:
                event = {"type": "case.opened", "title": f"Opened {i}", "customer": f"Customer {i % 11}",
                         "description": "The billing export fails." if i % 2 else "Login loops."}
                if i % 3 == 0:
                    event["ref"] = f"ref-{i}"
                if i % 5 == 0 and i > 100:
                    event["ref"] = f"ref-{i - 96}"  # an earlier line's ref: the same case again
                line = json.dumps(event)
            case 2 | 3:
                line = json.dumps({"type": "customer.replied", "case": seed, "body": f"Reply {i}"})
            case 4:
                line = json.dumps({"type": "escalation.requested", "case": seed, "reason": f"Urgent {i}"})
            case 5:
                line = json.dumps({"type": "customer.confirmed", "case": seed})
            case 6:
                line = json.dumps({"type": "survey.answered", "case": seed, "score": i % 5 + 1})
            case _:
                line = "{broken" if i % 16 == 7 else json.dumps({"type": "customer.replied", "case": 99999,
                                                                   "body": "x"})
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def _snapshot(url: str) -> dict:
    """The desk, keyed by case title (new cases may get other ids after a rolled-back batch)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        titles = dict(conn.execute(text('SELECT id, title FROM "case"')).all())
        cases = {
            titles[r[0]]: r[1:]
            for r in conn.execute(text('SELECT id, status, sub_status, assignee_id, version, ref FROM "case"'))
        }
        events: dict[str, list] = {}
        for case_id, kind, body, actor in conn.execute(
                text("SELECT case_id, kind, body, actor FROM event ORDER BY id")):
            events.setdefault(titles[case_id], []).append((kind, body, actor))
        outbox = sorted((titles[c], k, to, subj) for c, k, to, subj in
                        conn.execute(text('SELECT case_id, kind, "to", subject FROM outbox')))
        timers = sorted((titles[c], k, st) for c, k, st in conn.execute(text("SELECT case_id, kind, state FROM timer")))
        escalations = sorted((titles[c], st, r) for c, st, r in
                             conn.execute(text("SELECT case_id, state, reason FROM escalation")))
        surveys = sorted((titles[c], sc) for c, sc in conn.execute(text("SELECT case_id, score FROM survey")))
    engine.dispose()
    return {"cases": cases, "events": events, "outbox": outbox, "timers": timers,
            "escalations": escalations, "surveys": surveys}


def _count_cases(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text('SELECT count(*) FROM "case"')).scalar_one())
    finally:
        engine.dispose()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_")}
    env.update(DESKCONSOLE_NOW=NOW, PYTHONUTF8="1", DESKCONSOLE_CONFIG="/nonexistent/deskconsole.toml")
    return env


def _ingest(url: str, path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`deskconsole --db URL ingest [FLAGS] PATH` in a forked child of this process (test_cli's runner:
    its own process, environment, streams and exit status); the run that is killed is a real subprocess."""
    argv = ["--db", url, "ingest", *flags, str(path)]
    run = run_forked(argv, _env(), None)
    return subprocess.CompletedProcess(argv, run.code, run.out, run.err)


@pytest.fixture
def second_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty database on the same backend, for the uninterrupted reference run."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/reference.db"
        return
    name = f"t_{uuid.uuid4().hex}"
    admin = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_kill_9_mid_ingest_then_rerun_applies_every_line_exactly_once(
    db_url: str, second_url: str, tmp_path: Path,
) -> None:
    feed = tmp_path / "events.jsonl"
    _feed(feed)

    _seed(second_url)
    reference = _ingest(second_url, feed)
    assert reference.returncode == 1, reference.stderr  # the file has refused lines
    ref_lines = [json.loads(line) for line in reference.stdout.splitlines()]
    assert [r["line"] for r in ref_lines] == list(range(1, LINES + 1))
    want = _snapshot(second_url)
    assert len(want["cases"]) > SEEDED + LINES // 8

    _seed(db_url)
    first = subprocess.Popen([sys.executable, "-m", "deskconsole", "--db", db_url, "ingest", str(feed)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    deadline = time.monotonic() + 300
    while _count_cases(db_url) < SEEDED + 100:  # some batches are committed
        assert first.poll() is None, "the ingest ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert first.poll() is None, "the ingest ended before it could be interrupted"
    first.send_signal(signal.SIGKILL)
    out, _ = first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL
    interrupted = _count_cases(db_url)
    assert interrupted < len(want["cases"]), "the kill came after the last line"

    second = _ingest(db_url, feed)
    assert second.returncode == 1, second.stderr
    assert "applied by an earlier run" in second.stderr

    assert _snapshot(db_url) == want

    # The output lines: the killed run's are a prefix, the rerun's carry on after the last
    # committed line, and no line is answered twice (a kill between a commit and its
    # printing can cost output lines, never applied events).
    before = [json.loads(line) for line in out.decode().splitlines()]
    after = [json.loads(line) for line in second.stdout.splitlines()]
    numbers = [r["line"] for r in before] + [r["line"] for r in after]
    assert len(numbers) == len(set(numbers))
    assert [r["line"] for r in before] == list(range(1, len(before) + 1))
    assert [r["line"] for r in after] == list(range(after[0]["line"], LINES + 1))
    by_line = {r["line"]: r for r in ref_lines}
    for r in before + after:
        assert r["ok"] == by_line[r["line"]]["ok"], r

    # A third run finds nothing left to do and changes nothing.
    third = _ingest(db_url, feed)
    assert third.returncode == 1 and third.stdout == ""
    assert f"lines 1-{LINES:,} were applied" in third.stderr
    assert _snapshot(db_url) == want


def test_a_rerun_applies_only_appended_lines_and_refuses_a_changed_file(sqlite_url: str, tmp_path: Path) -> None:
    _seed(sqlite_url)
    feed = tmp_path / "log.jsonl"
    reply = {"type": "customer.replied", "case": 1}
    feed.write_text("".join(json.dumps({**reply, "body": f"Reply {i}"}) + "\n" for i in range(3)))
    first = _ingest(sqlite_url, feed)
    assert first.returncode == 0 and len(first.stdout.splitlines()) == 3

    with feed.open("a") as f:  # the sender appends to its log
        f.write(json.dumps({**reply, "body": "Reply 3"}) + "\n" + json.dumps({**reply, "case": 99999, "body": "x"}))
    second = _ingest(sqlite_url, feed)
    assert second.returncode == 1
    assert [json.loads(line)["line"] for line in second.stdout.splitlines()] == [4, 5]
    assert "lines 1-3 were applied by an earlier run; going on from line 4" in second.stderr

    def replies() -> list[str]:
        engine = create_engine(sqlite_url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT body FROM event WHERE case_id = 1 AND kind = 'customer_replied' "
                                     "ORDER BY id")).scalars().all()
        engine.dispose()
        return list(rows)

    assert replies() == ["Reply 0", "Reply 1", "Reply 2", "Reply 3"]

    feed.write_text(feed.read_text().replace("Reply 1", "Reply one"))  # the part already read changed
    changed = _ingest(sqlite_url, feed)
    assert changed.returncode == 1 and changed.stdout == ""
    assert changed.stderr.startswith("error: ") and "--restart" in changed.stderr
    assert replies() == ["Reply 0", "Reply 1", "Reply 2", "Reply 3"]

    restarted = _ingest(sqlite_url, feed, "--restart")
    assert restarted.returncode == 1 and len(restarted.stdout.splitlines()) == 5
    assert replies()[4:] == ["Reply 0", "Reply one", "Reply 2", "Reply 3"]

    feed.write_text(json.dumps({**reply, "body": "Short"}) + "\n")  # rewritten, shorter than before
    shorter = _ingest(sqlite_url, feed, "--restart")
    assert shorter.returncode == 0 and len(shorter.stdout.splitlines()) == 1
    again = _ingest(sqlite_url, feed)  # the restart's mark replaced the longer file's
    assert again.returncode == 0 and again.stdout == "" and "lines 1-1 were applied" in again.stderr
    assert replies()[-2:] == ["Reply 3", "Short"]


def test_batched_ingest_routes_exactly_as_one_action_at_a_time(tmp_path: Path) -> None:
    """Routing inside batches (kept counts) assigns every case as the plain service does."""
    import io

    from deskconsole.ingest import apply_event, ingest_stream

    urls = [f"sqlite:///{tmp_path}/batched.db", f"sqlite:///{tmp_path}/plain.db"]
    events = []
    for i in range(240):
        if i % 8 == 7:  # confirmations close seeded cases, so their analysts have fewer open cases
            events.append({"type": "customer.confirmed", "case": 3 * (i // 8 % SEEDED // 3) + 3})
        else:
            area = ["billing", "billing", "login", None][i % 4]
            events.append({"type": "case.opened", "title": f"New {i}", "customer": "ACME",
                           **({"product_area": area} if area else {"description": "login fails"})})
    for url in urls:
        _seed(url)

    class Out:
        def __init__(self) -> None:
            self.out, self.err = io.StringIO(), io.StringIO()

        def json(self, value: dict, *, flush: bool = False) -> None:
            self.out.write(json.dumps(value) + "\n")

    batched = Service(make_engine(urls[0]), FixedClock(NOW))
    out = Out()
    data = "".join(json.dumps(e) + "\n" for e in events).encode()
    assert ingest_stream(batched, io.BytesIO(data), out, path=None) == 1  # repeated confirmations are refused
    plain = Service(make_engine(urls[1]), FixedClock(NOW))
    for event in events:
        try:
            apply_event(plain, event)
        except Exception:  # noqa: BLE001 - the same refusals as the batched run
            continue

    def assignments(svc: Service) -> list[tuple[str, str | None, str]]:
        return [(r.title, r.assignee, r.status) for r in svc.list_cases()]

    got, want = assignments(batched), assignments(plain)
    assert got == want
    assert {a for _, a, _ in got} >= {"al", "bo"}
    batched.engine.dispose()
    plain.engine.dispose()
