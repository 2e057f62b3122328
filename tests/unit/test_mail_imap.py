"""Issue 13 end to end: the desk mails a customer through a real SMTP server (aiosmtpd), the
customer's reply is APPENDed to a real IMAP server (Dovecot, tests/unit/mailconf.py), and
`deskconsole mail fetch` (the real command, in its own process) applies it once.
On SQLite and PostgreSQL."""

from __future__ import annotations

import email
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from email.policy import default as default_policy

import mailconf
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlmodel import Session
from test_cli import run_forked  # the forked-CLI runner of tests/unit/test_cli.py

from deskconsole.delivery import DeliveryOptions, SmtpTransport, deliver_once, parse_smtp_url
from deskconsole.domain.clock import FixedClock
from deskconsole.mail.imap import ImapConfig, ImapUnavailable, Mailbox, parse_imap_url
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine
from deskconsole.store.models import Case, InboundMessage

imap_box = mailconf.imap_box  # the mailbox fixture (tests/unit/mailconf.py), used by name

START = "2026-11-30T09:00:00Z"
DESK = "desk@support.example"
DONE = b"$Deskconsole"


class Smtp:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 2.0.0 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    handler = Smtp()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


@pytest.fixture
def desk(db_url):
    engine = make_engine(db_url)
    init_schema(engine)
    svc = Service(engine, FixedClock(START))
    svc.add_agent("mona", "manager", actor=None)
    svc.add_agent("alice", "analyst", actor="mona", manager="mona", skills=["login"])
    svc.url = db_url
    yield svc
    engine.dispose()


def cli(svc: Service, box, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, **box.env(), "DESKCONSOLE_NOW": START, "DESKCONSOLE_SMTP_FROM": DESK,
               "DESKCONSOLE_USER": "alice", **(env or {})}
    # a forked child of this process (tests/unit/test_cli.py's runner): its own process, environment,
    # streams and exit status; the real entry point runs as a subprocess in the tests that run two at once
    run = run_forked(["--db", svc.url, *args], environ, None)
    return subprocess.CompletedProcess(args, run.code, run.out, run.err)


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def count(svc: Service, model) -> int:
    with Session(svc.engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def customer_mail(n: int, body: str, *, sender: str = "ann@initech.example", subject: str = "Help",
                  headers: str = "") -> bytes:
    return (f"From: Ann <{sender}>\r\nTo: {DESK}\r\nSubject: {subject}\r\nMessage-ID: <r{n}@mail.initech.example>\r\n"
            f"Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n{headers}\r\n{body}\r\n").encode()


def test_a_reply_to_the_desks_mail_moves_the_case_and_a_second_fetch_changes_nothing(desk, smtp, imap_box):
    case, _ = desk.open_case("Login fails", "initech", contact="ann@initech.example")
    desk.move(case.id, "in_progress", actor="alice")
    desk.move(case.id, "awaiting_confirmation", note="Cleared the cache", actor="alice")
    config = parse_smtp_url(smtp.url, {})
    deliver_once(desk.engine, desk.clock, SmtpTransport(config), DeliveryOptions(sender=DESK))
    [sent] = smtp.messages
    assert sent["Subject"].startswith(f"[case {case.id}]") and sent["Auto-Submitted"] == "auto-generated"
    imap_box.append(customer_mail(1, "It still fails on Safari.\r\n\r\n> We believe it is resolved",
                                  subject=f"Re: {sent['Subject']}", headers=f"In-Reply-To: {sent['Message-ID']}\r\n"))
    first = cli(desk, imap_box, "mail", "fetch")
    assert first.returncode == 0, first.stderr
    assert lines(first.stdout) == [{"message_id": "<r1@mail.initech.example>", "ok": True, "outcome": "replied",
                                    "case": case.id, "reason": f"reply by In-Reply-To: case {case.id} is reopened"}]
    after = desk.get_case(case.id)
    assert after.status == "reopened"
    assert [e.body for e in after.events if e.kind == "customer_replied"] == ["It still fails on Safari."]
    assert all(DONE in flags for flags in imap_box.flags().values())
    second = cli(desk, imap_box, "mail", "fetch")
    assert (second.returncode, second.stdout) == (0, "")
    assert desk.get_case(case.id).version == after.version
    show = cli(desk, imap_box, "case", "show", str(case.id))
    assert "by e-mail from ann@initech.example" in show.stdout and "threaded by In-Reply-To" in show.stdout


def test_two_fetches_at_once_apply_each_message_once(desk, imap_box):
    for n in range(12):
        imap_box.append(customer_mail(n, f"problem {n}", sender=f"user{n}@initech.example", subject=f"Problem {n}"))
    environ = {**os.environ, **imap_box.env(), "DESKCONSOLE_NOW": START}
    procs = [subprocess.Popen([sys.executable, "-m", "deskconsole", "--db", desk.url, "mail", "fetch"], env=environ,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    results = [r for out, _ in outs for r in lines(out)]
    opened = [r for r in results if r["outcome"] == "opened"]
    assert len(opened) == 12 and len({r["message_id"] for r in opened}) == 12
    assert {r["outcome"] for r in results} <= {"opened", "duplicate"}
    assert count(desk, Case) == 12 and count(desk, InboundMessage) == 12
    assert all(DONE in flags for flags in imap_box.flags().values())


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from deskconsole.domain.clock import FixedClock
    from deskconsole.mail.imap import Mailbox, fetch_once, imap_config_from_env
    from deskconsole.mail.intake import Intake
    from deskconsole.service import Service
    from deskconsole.store.engine import make_engine

    svc = Service(make_engine(sys.argv[1]), FixedClock("2026-11-30T09:00:00Z"))
    box = Mailbox(imap_config_from_env(os.environ))
    fetch_once(Intake(svc), box, on_result=print,
               after_commit=lambda result: os.kill(os.getpid(), signal.SIGKILL))  # committed, not yet marked
""")


def test_killed_between_commit_and_mark_the_next_fetch_makes_no_second_case(desk, imap_box):
    imap_box.append(customer_mail(1, "Printer on fire", subject="Printer"))
    killed = subprocess.run([sys.executable, "-c", KILL_SCRIPT, desk.url], env={**os.environ, **imap_box.env()},
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert count(desk, Case) == 1
    assert not any(DONE in flags for flags in imap_box.flags().values())  # the mark never happened
    again = cli(desk, imap_box, "mail", "fetch")
    [line] = lines(again.stdout)
    assert (line["outcome"], line["case"]) == ("duplicate", 1)
    assert count(desk, Case) == 1 and all(DONE in f for f in imap_box.flags().values())


def test_watch_applies_new_mail_as_it_arrives_and_ends_on_sigterm(desk, imap_box):
    environ = {**os.environ, **imap_box.env(), "DESKCONSOLE_NOW": START}
    proc = subprocess.Popen([sys.executable, "-m", "deskconsole", "--db", desk.url, "mail", "fetch", "--watch"],
                            env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        imap_box.append(customer_mail(1, "Printer on fire", subject="Printer"))
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()))
        reader.start()
        reader.join(timeout=60)
        assert got and json.loads(got[0])["outcome"] == "opened"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert count(desk, Case) == 1


def test_bad_mailbox_settings_are_one_error_line(desk, imap_box):
    wrong = cli(desk, imap_box, "mail", "fetch", env={"DESKCONSOLE_IMAP_PASSWORD": "wrong"})
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert wrong.stderr.startswith("error: ") and len(wrong.stderr.strip().splitlines()) == 1
    assert "wrong" not in wrong.stderr
    bad = cli(desk, imap_box, "mail", "fetch", env={"DESKCONSOLE_IMAP_URL": "pop3://desk@host/INBOX"})
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "imap://" in bad.stderr
    assert count(desk, InboundMessage) == 0


class FakeClient:
    def __init__(self, capabilities: set[str]) -> None:
        self.capabilities = capabilities
        self.calls: list[str] = []

    def has_capability(self, name: str) -> bool:
        return name in self.capabilities

    def starttls(self, context) -> None:
        self.calls.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.calls.append("login")


def login_with(host: str, capabilities: set[str], *, tls: bool = False) -> FakeClient:
    box = Mailbox.__new__(Mailbox)
    box.config = ImapConfig(host=host, port=143, tls=tls, user="desk", password="secret")
    box.client = FakeClient(capabilities)
    box._login()
    return box.client


def test_the_password_is_never_sent_in_clear_to_another_host():
    assert login_with("mail.example", {"STARTTLS"}).calls == ["starttls", "login"]
    with pytest.raises(ImapUnavailable, match=r"refusing to send the password in clear to mail.example"):
        login_with("mail.example", set())
    assert login_with("127.0.0.1", set()).calls == ["login"]  # this machine
    assert login_with("::1", set()).calls == ["login"]
    assert login_with("mail.example", set(), tls=True).calls == ["login"]  # imaps://
    config = parse_imap_url("imaps://desk%40example.org:p%40ss@mail.example/Support%20Box", {})
    assert (config.user, config.password, config.port, config.mailbox, config.tls) == (
        "desk@example.org", "p@ss", 993, "Support Box", True)
    assert "p@ss" not in repr(config)
    assert parse_imap_url("imap://desk@h", {"DESKCONSOLE_IMAP_PASSWORD": "x"}).password == "x"
