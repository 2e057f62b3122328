"""Nothing reported that is not durable: a full disk and a deleted database file.

The desk lives on a real, small filesystem (a tmpfs mounted by the test: the tests run as root
here and in CI). SQLite may roll a whole transaction back by itself on SQLITE_FULL; a line
answered ok, a progress mark and a printed firing must still be exactly what is stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections import Counter
from pathlib import Path

import pytest

import deskconsole.ingest as ingest_module
import tmpfs_disk
from deskconsole.cli import main
from deskconsole.domain.clock import FixedClock
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine

NOW = "2026-11-25T09:00:00Z"


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MB tmpfs at tmp_path/disk (tests/tmpfs_disk.py)."""
    with tmpfs_disk.small_disk(tmp_path, "2m") as where:
        yield where


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def answers(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def stored_cases(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {ref: cid for cid, ref in con.execute('SELECT id, ref FROM "case" WHERE ref IS NOT NULL')}
    finally:
        con.close()


def progress_mark(db: Path, lines: Path) -> dict | None:
    """How far ingest recorded it got through the file `lines`."""
    key = "ingest:" + hashlib.sha256(os.path.realpath(lines).encode()).hexdigest()[:32]
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    finally:
        con.close()
    return json.loads(row[0]) if row else None


def feed(path: Path, count: int, width: int) -> None:
    with path.open("w") as f:
        for i in range(1, count + 1):
            f.write(json.dumps({"type": "case.opened", "title": f"Export {i} fails", "customer": "Acme",
                                "description": f"{i} " + "x" * width, "ref": f"r-{i}"}) + "\n")


def test_ingest_on_a_full_disk_answers_ok_only_for_stored_lines_and_a_rerun_applies_the_rest_once(
    small_disk, tmp_path, capsys, monkeypatch,
):
    monkeypatch.setenv("DESKCONSOLE_NOW", NOW)
    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(tmp_path / "none.toml"))
    # batches as large as they get (500 lines), whatever the machine's speed: a batch then
    # outgrows SQLite's page cache, which spills to the full disk in the middle of a statement
    monkeypatch.setattr(ingest_module, "BATCH_SECONDS", 3600.0)
    db = small_disk / "desk.db"
    url = f"sqlite:///{db}"
    assert run(capsys, "--db", url, "--as", "mona", "agent", "add", "mona", "--role", "manager")[0] == 0
    first = tmp_path / "first.jsonl"
    feed(first, 3, 100)
    assert run(capsys, "--db", url, "ingest", str(first))[0] == 0

    lines = tmp_path / "lines.jsonl"
    total = 300
    feed(lines, total, 20_000)  # 6 MB of lines for a 2 MB disk
    code, out, err = run(capsys, "--db", url, "ingest", str(lines))

    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    ok = [a for a in answers(out) if a["ok"]]
    assert len(ok) < total
    stored = stored_cases(db)
    # every line answered ok is stored, as the case it named, and no case id is answered twice
    ids = Counter(a["case"] for a in ok)
    assert not [cid for cid, n in ids.items() if n > 1]
    for a in ok:
        assert stored.get(f"r-{a['line']}") == a["case"]
    for a in ok[:3] + ok[-3:]:
        code, shown, _ = run(capsys, "--db", url, "--as", "mona", "case", "show", str(a["case"]), "--json")
        assert code == 0 and json.loads(shown)["title"] == f"Export {a['line']} fails"
    # stderr says up to which line everything is stored, and that is so
    last_ok = max((a["line"] for a in ok), default=0)
    assert f"from {last_ok + 1:,} on" in err
    assert all(f"r-{n}" in stored for n in range(1, last_ok + 1))
    assert not [ref for ref in stored if ref.startswith("r-") and int(ref[2:]) > last_ok]
    # the progress record never passes what is stored
    mark = progress_mark(db, lines)
    assert mark is None or mark["line"] <= last_ok

    # room again: the rerun applies exactly the rest, once
    tmpfs_disk.resize(small_disk, "64m")
    code, out, err = run(capsys, "--db", url, "ingest", str(lines))
    assert code == 0, err
    again = answers(out)
    assert [a["line"] for a in again] == list(range(last_ok + 1, total + 1))
    assert all(a["ok"] for a in again)
    stored = stored_cases(db)
    assert sorted(int(ref[2:]) for ref in stored if ref.startswith("r-")) == list(range(1, total + 1))
    assert len(set(stored.values())) == len(stored)
    assert progress_mark(db, lines)["line"] == total


def _desk_with_due_followups(tmp_path: Path, count: int) -> Path:
    """A desk (on a roomy disk) with `count` closed cases, each with a follow-up due a day later."""
    db = tmp_path / "build.db"
    engine = make_engine(f"sqlite:///{db}")
    init_schema(engine)
    svc = Service(engine, FixedClock(NOW))
    svc.add_agent("mona", "manager", actor=None)
    with svc.batch() as batch:
        for i in range(count):
            case = batch.service.open_case(f"Case {i}", "Acme")[0]
            batch.service.close(case.id, reason="duplicate", actor="mona")
    engine.dispose()
    return db


def _fired(db: Path) -> set[tuple[int, str]]:
    con = sqlite3.connect(db)
    try:
        return set(con.execute("SELECT case_id, kind FROM timer WHERE state = 'fired'"))
    finally:
        con.close()


def test_tick_on_a_full_disk_prints_exactly_the_firings_that_were_stored(small_disk, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DESKCONSOLE_NOW", NOW)
    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(tmp_path / "none.toml"))
    built = _desk_with_due_followups(tmp_path, 1200)  # 1.8 MB
    tmpfs_disk.resize(small_disk, "4m")
    db = small_disk / "desk.db"
    source, target = sqlite3.connect(built), sqlite3.connect(db)
    source.backup(target)
    source.close()
    target.execute("PRAGMA journal_mode=WAL")
    target.close()
    before = _fired(db)
    # leave room for one pass of tick's (500 firings: 440 kB of the WAL), not for all three
    tmpfs_disk.fill(small_disk, leave=650 * 1024)
    monkeypatch.setenv("DESKCONSOLE_NOW", "2026-11-27T09:00:00Z")
    code, out, err = run(capsys, "--db", f"sqlite:///{db}", "tick")

    printed = {(f["case"], f["timer"]) for f in answers(out)}
    stored = _fired(db) - before
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert stored, "the disk was too small for even one pass of tick: nothing to check"
    assert len(stored) < 1200
    assert printed == stored


def test_ingest_stops_when_the_database_file_is_deleted_and_the_next_command_makes_no_new_desk(
    tmp_path, capsys, monkeypatch,
):
    monkeypatch.setenv("DESKCONSOLE_NOW", NOW)
    monkeypatch.setenv("DESKCONSOLE_CONFIG", str(tmp_path / "none.toml"))
    db = tmp_path / "desk.db"
    url = f"sqlite:///{db}"
    code, _, err = run(capsys, "--db", url, "--as", "mona", "agent", "add", "mona", "--role", "manager")
    assert code == 0 and err == f"created a new desk at {db}\n"
    read, write = os.pipe()
    deleted = threading.Event()

    def writer() -> None:
        with os.fdopen(write, "w") as f:
            for i in range(1, 21):
                f.write(json.dumps({"type": "case.opened", "title": f"Case {i}", "customer": "Acme"}) + "\n")
                f.flush()
                if i == 10:
                    deleted.wait(30)
                    for name in ("desk.db", "desk.db-wal", "desk.db-shm"):
                        (tmp_path / name).unlink(missing_ok=True)
                    deleted.clear()

    def on_batch_printed(result) -> None:  # the first ten lines answered: delete the file now
        if result.get("line") == 10:
            deleted.set()

    thread = threading.Thread(target=writer)
    thread.start()
    from deskconsole.cli.common import Output

    real_json = Output.json

    def spying_json(self, value, *, flush=False):
        real_json(self, value, flush=flush)
        if isinstance(value, dict):
            on_batch_printed(value)

    monkeypatch.setattr(Output, "json", spying_json)
    monkeypatch.setattr("sys.stdin", os.fdopen(read, "r"))
    code, out, err = run(capsys, "--db", url, "ingest")
    thread.join(30)

    answered = answers(out)
    assert code == 1
    assert all(a["ok"] for a in answered)
    assert max(a["line"] for a in answered) < 11  # no line after the deletion is answered ok
    assert err == (f"error: the database file {db} was deleted or replaced while ingest ran; "
                   f"lines from {max(a['line'] for a in answered) + 1} on were not stored\n")

    # the next command does not silently make a new, empty desk there
    code, out, err = run(capsys, "--db", url, "--as", "mona", "case", "list")
    assert code == 1
    assert err.startswith("error: ") and str(db) in err and "no desk" in err
    assert not db.exists()
    code, out, err = run(capsys, "--db", url, "tick")
    assert code == 1 and not db.exists()
