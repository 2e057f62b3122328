"""Nothing reported that is not durable, for mail: `mail receive`, `mail fetch` and `deliver` on a
real full disk (a small tmpfs, tests/tmpfs_disk.py).

A message answered ok, or marked handled on the IMAP server, is stored; an outbox row is recorded
`sent` only when that record committed, and printed `sent` only then; each command says `error:`
and exits 1 when the disk filled under it, and a rerun with room again applies the rest once.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
from pathlib import Path

import mailconf
import pytest
from aiosmtpd.controller import Controller
from test_cli import run_forked  # the forked-CLI runner of tests/unit/test_cli.py

import tmpfs_disk
from deskconsole.cli import main
from deskconsole.domain.clock import FixedClock
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine

imap_box = mailconf.imap_box  # the mailbox fixture (tests/unit/mailconf.py), used by name

NOW = "2026-11-30T09:00:00Z"
CLOSED = "2026-11-30T08:50:00Z"  # the closes whose surveys deliver sends: their undo window is over by NOW
DESK = "desk@support.example"
DONE = b"$Deskconsole"


@pytest.fixture
def disk(tmp_path: Path):
    with tmpfs_disk.small_disk(tmp_path, "3m") as where:  # (a new desk with its indexes, migration 0010: ~2 MB)
        yield where


def make_desk(db: Path) -> str:
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    init_schema(engine)
    svc = Service(engine, FixedClock(NOW))
    svc.add_agent("mona", "manager", actor=None)
    svc.add_agent("alice", "analyst", actor="mona", manager="mona", skills=["login"])
    engine.dispose()
    return url


def customer_mail(n: int, size: int = 0) -> bytes:
    # words, not one long run: the stored case description keeps them
    body = f"My export number {n} fails.\r\n" + ("the report will not load again " * (size // 32) + "\r\n"
                                                  if size else "")
    return (f"From: Ann <ann{n}@initech.example>\r\nTo: {DESK}\r\nSubject: Export {n} fails\r\n"
            f"Message-ID: <m{n}@mail.initech.example>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\n"
            f"{body}").encode()


def query(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return list(con.execute(sql))
    finally:
        con.close()


def stored_messages(db: Path) -> dict[str, int | None]:
    return dict(query(db, "SELECT message_id, case_id FROM inbound_message"))


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DESKCONSOLE_NOW": NOW, "DESKCONSOLE_SMTP_FROM": DESK, "DESKCONSOLE_USER": "alice",
            "DESKCONSOLE_CONFIG": "/nonexistent/deskconsole.toml", **extra}


def receive(url: str, raw: bytes) -> subprocess.CompletedProcess:
    """`deskconsole mail receive` in a forked child (test_cli's runner: its own process, environment,
    streams and exit status), the message on its standard input."""
    argv = ["--db", url, "mail", "receive"]
    run = run_forked(argv, env(), raw)
    return subprocess.CompletedProcess(argv, run.code, run.out.encode(), run.err.encode())


def test_mail_receive_on_a_full_disk_says_error_and_stores_nothing_then_applies_it_once(disk):
    db = disk / "desk.db"
    url = make_desk(db)
    assert receive(url, customer_mail(1)).returncode == 0
    before = stored_messages(db)
    cases = query(db, 'SELECT count(*) FROM "case"')
    tmpfs_disk.fill(disk, leave=40 * 1024)

    done = receive(url, customer_mail(2, 400_000))

    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 1
    assert not [line for line in lines(out) if line.get("ok")], out
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert stored_messages(db) == before
    assert query(db, 'SELECT count(*) FROM "case"') == cases

    # room again (the mail server hands the message over again): taken in once
    tmpfs_disk.resize(disk, "64m")
    done = receive(url, customer_mail(2, 400_000))
    assert done.returncode == 0, done.stderr
    [line] = lines(done.stdout.decode())
    assert line["ok"] and line["outcome"] == "opened"
    assert stored_messages(db)["<m2@mail.initech.example>"] == line["case"]
    again = receive(url, customer_mail(2, 400_000))
    assert lines(again.stdout.decode())[0]["outcome"] == "duplicate"


def fetch(url: str, box) -> subprocess.CompletedProcess:
    argv = ["--db", url, "mail", "fetch"]
    run = run_forked(argv, env(**box.env()), None)  # a forked child, as receive()
    return subprocess.CompletedProcess(argv, run.code, run.out, run.err)


def test_mail_fetch_on_a_full_disk_answers_and_marks_only_what_is_stored_and_a_rerun_takes_the_rest_once(
    disk, imap_box,
):
    db = disk / "desk.db"
    url = make_desk(db)
    total = 24
    for n in range(1, total + 1):
        imap_box.append(customer_mail(n, 60_000))  # 1.4 MB of mail for what is left of 2 MB (twice: raw + text)

    done = fetch(url, imap_box)

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    stored = stored_messages(db)
    answered = lines(done.stdout)
    assert stored, "the disk was too small for even one message: nothing to check"
    assert len(stored) < total
    ok = {a["message_id"]: a["case"] for a in answered if a["ok"]}
    assert ok == stored  # every message answered ok is stored, with its case, and every stored one is answered
    flags = imap_box.flags()
    marked = {f"<m{uid}@mail.initech.example>" for uid, f in flags.items() if DONE in f}  # (uid n is message n)
    assert marked == set(stored)
    assert "disk is full" in done.stderr and f"{len(stored)} message(s) taken in" in done.stderr, done.stderr

    tmpfs_disk.resize(disk, "64m")
    done = fetch(url, imap_box)
    assert done.returncode == 0, done.stderr
    again = lines(done.stdout)
    assert sorted(a["message_id"] for a in again) == sorted(
        f"<m{n}@mail.initech.example>" for n in range(1, total + 1) if f"<m{n}@mail.initech.example>" not in stored)
    assert all(a["ok"] and a["outcome"] == "opened" for a in again)
    cases = query(db, 'SELECT count(*), count(DISTINCT contact) FROM "case"')
    assert cases == [(total, total)]
    assert all(DONE in f for f in imap_box.flags().values())


# ------------------------------------------------------------------ deliver


class FillingSmtp:
    """An SMTP server that accepts every message, and fills the desk's disk after the `after`th."""

    def __init__(self, disk: Path, after: int) -> None:
        self.disk, self.after, self.accepted = disk, after, []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd's hook name
        self.accepted.append(envelope.content)
        if len(self.accepted) == self.after:
            tmpfs_disk.fill(self.disk)
        return "250 2.0.0 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_deliver_on_a_full_disk_records_and_prints_sent_only_for_what_it_recorded(disk, capsys, monkeypatch):
    db = disk / "desk.db"
    url = make_desk(db)
    engine = make_engine(url)
    svc = Service(engine, FixedClock(CLOSED))
    for n in range(12):
        case, _ = svc.open_case(f"Export {n} fails", "initech", contact=f"ann{n}@initech.example")
        svc.close(case.id, reason="duplicate of an older case", actor="alice")  # a survey each, to send
    engine.dispose()
    queued = query(db, "SELECT count(*) FROM outbox WHERE state = 'queued' AND kind = 'survey'")[0][0]
    assert queued == 12
    handler = FillingSmtp(disk, after=4)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    for name, value in env(DESKCONSOLE_SMTP_URL=f"smtp://127.0.0.1:{controller.port}").items():
        monkeypatch.setenv(name, value)
    try:
        code = main(["--db", url, "deliver"])
    finally:
        controller.stop()
    out, err = capsys.readouterr()

    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    printed = {r["outbox"] for r in lines(out) if r["state"] == "sent"}
    recorded = {row_id for (row_id,) in query(db, "SELECT id FROM outbox WHERE state = 'sent'")}
    assert printed == recorded
    assert len(recorded) == 3 and len(handler.accepted) == 4  # the fourth message accepted could not be recorded
    [(row_id, state)] = query(db, "SELECT id, state FROM outbox WHERE kind = 'survey' AND state != 'sent' "
                                  "AND attempts > 0")
    assert state == "sending"  # sent again, with the same Message-ID, once its claim runs out
    assert f"outbox row {row_id} " in err and "accepted by the mail server" in err, err
    assert not query(db, "SELECT id FROM outbox WHERE state = 'sent' AND sent_at IS NULL")


def test_deliver_watch_on_a_full_disk_reports_what_it_recorded_before_the_error(disk):
    import threading

    from deskconsole.delivery import SmtpTransport, parse_smtp_url
    from deskconsole.delivery.worker import DeliveryOptions, watch

    url = make_desk(disk / "desk.db")
    engine = make_engine(url)
    svc = Service(engine, FixedClock(CLOSED))
    for n in range(6):
        case, _ = svc.open_case(f"Export {n} fails", "initech", contact=f"ann{n}@initech.example")
        svc.close(case.id, reason="duplicate of an older case", actor="alice")
    handler = FillingSmtp(disk, after=3)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    stop = threading.Event()
    heard: list = []
    errors: list[Exception] = []

    def failed(exc: Exception) -> None:
        errors.append(exc)
        stop.set()

    try:
        watch(engine, FixedClock(NOW), SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{controller.port}")),
              DeliveryOptions(sender=DESK), interval=0.01, stop=stop, on_results=heard.extend, on_error=failed)
    finally:
        controller.stop()
        engine.dispose()
    assert len(errors) == 1 and "accepted by the mail server" in str(errors[0])
    recorded = {row_id for (row_id,) in query(disk / "desk.db", "SELECT id FROM outbox WHERE state = 'sent'")}
    assert {r.outbox for r in heard if r.state == "sent"} == recorded and len(recorded) == 2
