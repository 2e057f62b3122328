"""Outbound mail that can be trusted: credentials only over TLS, a deadline per message, a prompt stop.

The happy paths run against a real SMTP server (aiosmtpd) on 127.0.0.1, one of them
with STARTTLS and a throwaway self-signed certificate; the hostile ones against a
plain socket server in this file that answers one line at a time, slowly, for ever.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import test_delivery
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlmodel import Session, select

from deskconsole.delivery import DeliveryOptions, SmtpTransport, deliver_once, parse_smtp_url
from deskconsole.delivery.cli import add_deliver_command, run_deliver
from deskconsole.delivery.smtp_url import smtp_config_from_env
from deskconsole.domain.clock import FixedClock, parse_time
from deskconsole.domain.errors import InvalidInput
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine
from deskconsole.store.models import Outbox

START = "2026-11-25T09:00:00Z"
SENDER = "desk@support.example"
OPTS = DeliveryOptions(sender=SENDER)
PASSWORD = "s3cret-Pa55"
WAIT = 30  # generous bound for anything that should end promptly: the point is "not for ever"


# ------------------------------------------------------------------ a desk with one queued message
class Desk:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        init_schema(self.engine)
        self.clock = FixedClock(START)
        self.svc = Service(self.engine, self.clock)
        self.svc.add_agent("mona", "manager", actor=None, email="mona@support.example")
        self.svc.add_agent("alice", "analyst", actor="mona", skills=["billing"], manager="mona")

    def awaiting(self, contact: str = "help@acme.example") -> None:
        """A case awaiting the customer's confirmation: one outbox row to the customer."""
        case, _ = self.svc.open_case("Invoice total is wrong", "acme", contact=contact, product_area="billing")
        self.svc.move(case.id, "in_progress", actor="alice")
        self.svc.move(case.id, "awaiting_confirmation", note="Cleared the stale cache.", actor="alice")

    def rows(self) -> list[Outbox]:
        with Session(self.engine) as s:
            return list(s.exec(select(Outbox).order_by(Outbox.id)).all())


def _desk(url: str):
    d = Desk(url)
    d.awaiting()
    try:
        yield d
    finally:
        d.engine.dispose()


@pytest.fixture
def desk(sqlite_url):
    yield from _desk(sqlite_url)


@pytest.fixture
def any_desk(db_url):
    """The same, on SQLite and on PostgreSQL."""
    yield from _desk(db_url)


def env_for(url: str, **more: str) -> dict[str, str]:
    return {"DESKCONSOLE_SMTP_URL": url, "DESKCONSOLE_SMTP_FROM": SENDER, **more}


def transport_for(url: str, **more: str) -> SmtpTransport:
    return SmtpTransport(smtp_config_from_env(env_for(url, **more)))


def finishes(fn, within: float = WAIT):
    """Run fn() in a thread; its result, or a failed test if it is still running after `within` seconds."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), f"still running after {within} s: stuck on the server"
    if "error" in box:
        raise box["error"]
    return box["value"]


# ------------------------------------------------------------------ a real SMTP server (aiosmtpd)
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """Keeps what it accepts and whether each message and each AUTH came over TLS."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: list[bool] = []  # per message: was the session encrypted?
        self.auth: list[tuple[bool, bytes, bytes]] = []  # (encrypted, login, password) per AUTH seen
        self.url = ""

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        with self.lock:
            self.auth.append((session.ssl is not None, auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == PASSWORD.encode(), handled=False)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd's hook name
        with self.lock:
            self.accepted.append(session.ssl is not None)
        return "250 2.0.0 Message accepted"


def start_box(**kwargs) -> tuple[Mailbox, Controller]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), authenticator=box.authenticator,
                            **kwargs)
    controller.start()
    box.url = f"smtp://127.0.0.1:{controller.port}"
    return box, controller


@pytest.fixture
def plain_box():
    """A server that offers AUTH but no STARTTLS (and takes a password in clear)."""
    box, controller = start_box(auth_require_tls=False)
    try:
        yield box
    finally:
        controller.stop()


tls_files = test_delivery.tls_files  # the certificate fixture, made once per module


@pytest.fixture
def starttls_box(tls_files):
    """A server that offers STARTTLS (not required) and refuses AUTH before it."""
    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    box, controller = start_box(tls_context=server_ctx, require_starttls=False, auth_require_tls=True)
    try:
        yield box
    finally:
        controller.stop()


def not_loopback(monkeypatch) -> None:
    """Make the transport take 127.0.0.1 for a distant host (the decision itself is tested on its own)."""
    import deskconsole.delivery.transport as transport

    monkeypatch.setattr(transport, "is_loopback", lambda address: False, raising=False)


# ------------------------------------------------------------------ a hostile server: one line at a time
class Trickler:
    """A plain socket server on 127.0.0.1 that never finishes an answer: a line every `every` seconds.

    stage "greeting": the greeting is an endless run of `220-` lines.
    stage "data": a normal dialogue until the message has been sent, then an endless `250-` answer.
    """

    def __init__(self, stage: str = "greeting", every: float = 0.2) -> None:
        self.stage = stage
        self.every = every
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"smtp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.dripping = threading.Event()  # a client is being answered one slow line at a time
        self.got_message = threading.Event()  # the client sent a whole message (stage "data")
        self.hung_up = threading.Event()  # the client closed the connection
        self.commands: list[bytes] = []
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket, code: bytes) -> None:
        n = 0
        while not self._stop.is_set():
            conn.sendall(b"%s-still thinking %d\r\n" % (code, n))
            self.dripping.set()
            n += 1
            if self._stop.wait(self.every):
                return

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.stage == "greeting":
                self._drip(conn, b"220")
                return
            conn.sendall(b"220 trickle.example ESMTP\r\n")
            reader = conn.makefile("rb")
            while not self._stop.is_set():
                line = reader.readline()
                if not line:
                    self.hung_up.set()
                    return
                self.commands.append(line)
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250 trickle.example\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    while reader.readline() not in (b".\r\n", b""):
                        pass
                    self.got_message.set()
                    self._drip(conn, b"250")
                    return
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")
        except OSError:
            self.hung_up.set()
        finally:
            # Tell whether the client hung up first: a read returns b"" (or fails) once it has.
            try:
                conn.settimeout(0)
                if conn.recv(1) == b"":
                    self.hung_up.set()
            except BlockingIOError:
                pass
            except OSError:
                self.hung_up.set()

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()
        for conn in self._conns:
            try:
                conn.close()
            except OSError:
                pass


@pytest.fixture
def trickle():
    server = Trickler("greeting")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def trickle_data():
    server = Trickler("data")
    try:
        yield server
    finally:
        server.stop()


# ================================================================== credentials only over TLS
def test_no_password_in_clear_to_a_server_without_starttls(any_desk, plain_box, monkeypatch):
    not_loopback(monkeypatch)
    transport = transport_for(plain_box.url, DESKCONSOLE_SMTP_USER="desk", DESKCONSOLE_SMTP_PASSWORD=PASSWORD)
    [result] = finishes(lambda: deliver_once(any_desk.engine, any_desk.clock, transport, OPTS))
    assert plain_box.auth == []  # no AUTH command reached the server
    assert plain_box.accepted == []
    assert result.state == "queued" and result.server_unavailable
    assert "STARTTLS" in result.error and "insecure=1" in result.error and PASSWORD not in result.error
    [row] = any_desk.rows()
    # Refused by deskconsole itself before anything was sent: not counted as an attempt.
    assert (row.state, row.attempts, row.claimed_until, row.next_attempt_at) == ("queued", 0, None, None)


def test_cli_refuses_clear_credentials_with_one_error_line_and_insecure_1_allows_them(desk, plain_box,
                                                                                     monkeypatch):
    not_loopback(monkeypatch)
    parser = argparse.ArgumentParser()
    add_deliver_command(parser.add_subparsers())
    creds = {"DESKCONSOLE_SMTP_USER": "desk", "DESKCONSOLE_SMTP_PASSWORD": PASSWORD}
    out, err = io.StringIO(), io.StringIO()
    code = finishes(lambda: run_deliver(parser.parse_args(["deliver"]), desk.svc,
                                        environ=env_for(plain_box.url, **creds), out=out, err=err))
    assert code == 1
    [line] = err.getvalue().splitlines()
    assert line.startswith("error: ") and "TLS" in line and PASSWORD not in line
    assert json.loads(out.getvalue())["state"] == "queued"
    assert plain_box.auth == [] and [r.state for r in desk.rows()] == ["queued"]

    out, err = io.StringIO(), io.StringIO()
    code = finishes(lambda: run_deliver(parser.parse_args(["deliver"]), desk.svc,
                                        environ=env_for(plain_box.url + "?insecure=1", **creds), out=out, err=err))
    assert (code, err.getvalue()) == (0, "")
    assert json.loads(out.getvalue())["state"] == "sent"
    assert plain_box.auth == [(False, b"desk", PASSWORD.encode())]  # in clear, as the URL allowed
    assert plain_box.accepted == [False]


def test_watch_says_the_refusal_on_stderr_every_pass(desk, plain_box, monkeypatch):
    not_loopback(monkeypatch)
    parser = argparse.ArgumentParser()
    add_deliver_command(parser.add_subparsers())
    stop = threading.Event()

    class Out(io.StringIO):
        def write(self, text: str) -> int:
            if self.getvalue().count("\n") >= 1:
                stop.set()  # after the second pass's line
            return super().write(text)

    out, err = Out(), io.StringIO()
    args = parser.parse_args(["deliver", "--watch", "--interval", "0.01"])
    env = env_for(plain_box.url, DESKCONSOLE_SMTP_USER="desk", DESKCONSOLE_SMTP_PASSWORD=PASSWORD)
    code = finishes(lambda: run_deliver(args, desk.svc, environ=env, out=out, err=err, stop=stop))
    assert code == 0
    lines = err.getvalue().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") and "STARTTLS" in line for line in lines)
    assert [json.loads(x)["state"] for x in out.getvalue().splitlines()] == ["queued", "queued"]
    assert plain_box.auth == [] and [(r.state, r.attempts) for r in desk.rows()] == [("queued", 0)]


def test_password_goes_only_after_starttls_which_is_used_whenever_offered(desk, starttls_box, tls_files):
    cert, _ = tls_files
    client_ctx = ssl.create_default_context(cafile=str(cert))
    # No ?starttls=1: the server offers it, so it is used.
    cfg = parse_smtp_url(starttls_box.url, {"DESKCONSOLE_SMTP_USER": "desk", "DESKCONSOLE_SMTP_PASSWORD": PASSWORD,
                                            "DESKCONSOLE_SMTP_FROM": SENDER})
    transport = SmtpTransport(cfg, ssl_context=client_ctx)
    [result] = finishes(lambda: deliver_once(desk.engine, desk.clock, transport, OPTS))
    assert result.state == "sent", result.error
    assert starttls_box.auth == [(True, b"desk", PASSWORD.encode())]
    assert starttls_box.accepted == [True]


def test_starttls_without_credentials_too_and_the_cafile_url_option(desk, starttls_box, tls_files):
    cert, _ = tls_files
    transport = transport_for(f"{starttls_box.url}?cafile={cert}")
    [result] = finishes(lambda: deliver_once(desk.engine, desk.clock, transport, OPTS))
    assert result.state == "sent", result.error
    assert starttls_box.accepted == [True]


def test_certificates_are_verified_and_an_untrusted_one_gets_no_password(desk, starttls_box):
    transport = transport_for(starttls_box.url, DESKCONSOLE_SMTP_USER="desk", DESKCONSOLE_SMTP_PASSWORD=PASSWORD)
    [result] = finishes(lambda: deliver_once(desk.engine, desk.clock, transport, OPTS))
    assert result.state == "queued" and "CERTIFICATE_VERIFY_FAILED" in result.error
    assert starttls_box.auth == [] and starttls_box.accepted == []


def test_the_clear_credentials_decision():
    from deskconsole.delivery.transport import credentials_allowed, is_loopback

    for address in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        assert is_loopback(address), address
    for address in ("192.0.2.7", "10.0.0.1", "0.0.0.0", "::", "2001:db8::1", "::ffff:192.0.2.7", "", "mail.example"):
        assert not is_loopback(address), address
    assert credentials_allowed(tls=True, peer="192.0.2.7", insecure=False)
    assert not credentials_allowed(tls=False, peer="192.0.2.7", insecure=False)
    assert credentials_allowed(tls=False, peer="192.0.2.7", insecure=True)
    assert credentials_allowed(tls=False, peer="127.0.0.1", insecure=False)
    assert not credentials_allowed(tls=False, peer=None, insecure=False)


def test_url_options_insecure_and_cafile(tmp_path, tls_files):
    cert, _ = tls_files
    cfg = parse_smtp_url("smtp://u:p@mail.example?insecure=1", {})
    assert cfg.insecure and "insecure=1" in cfg.safe_url() and "p@" not in cfg.safe_url()
    assert not parse_smtp_url("smtp://mail.example", {}).insecure
    assert parse_smtp_url(f"smtps://mail.example?cafile={cert}", {}).cafile == str(cert)
    for bad in ("smtp://h?insecure=maybe", f"smtp://h?cafile={tmp_path / 'none.pem'}", f"smtp://h?cafile={tmp_path}"):
        with pytest.raises(InvalidInput):
            parse_smtp_url(bad, {})
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(InvalidInput, match="cafile"):
        parse_smtp_url(f"smtp://h?cafile={junk}", {})


# ================================================================== an overall deadline per message
def test_a_greeting_that_never_ends_is_left_at_the_deadline_and_the_row_tried_again(any_desk, trickle):
    transport = transport_for(trickle.url, DESKCONSOLE_SMTP_DEADLINE="1")
    [result] = finishes(lambda: deliver_once(any_desk.engine, any_desk.clock, transport, OPTS))
    assert trickle.dripping.is_set()
    assert result.state == "queued" and result.server_unavailable
    assert "deadline" in result.error
    assert result.next_attempt_at == parse_time(START) + timedelta(minutes=1)  # retried later, like a failure
    [row] = any_desk.rows()
    assert (row.state, row.attempts, row.claimed_until) == ("queued", 1, None)


def test_an_answer_to_data_that_never_ends_leaves_the_row_unsent(any_desk, trickle_data):
    transport = transport_for(trickle_data.url, DESKCONSOLE_SMTP_DEADLINE="1")
    [result] = finishes(lambda: deliver_once(any_desk.engine, any_desk.clock, transport, OPTS))
    assert trickle_data.got_message.is_set()  # the message went over, the server never said it took it
    assert result.state == "queued" and "deadline" in result.error
    [row] = any_desk.rows()
    assert (row.state, row.sent_at, row.claimed_until) == ("queued", None, None)


def test_the_deadline_setting_is_validated(desk):
    from deskconsole.delivery.worker import options_from_config

    assert smtp_config_from_env(env_for("smtp://h")).deadline == 120
    assert smtp_config_from_env(env_for("smtp://h", DESKCONSOLE_SMTP_DEADLINE="2.5")).deadline == 2.5
    assert smtp_config_from_env(env_for("smtp://h", DESKCONSOLE_SMTP_DEADLINE="90s")).deadline == 90
    parser = argparse.ArgumentParser()
    add_deliver_command(parser.add_subparsers())
    for bad in ("²", "abc", "0", "-1", "nan", "inf", "1e3", "241", "99999999999999999999", " ", "1.2.3"):
        with pytest.raises(InvalidInput, match="DESKCONSOLE_SMTP_DEADLINE"):
            smtp_config_from_env(env_for("smtp://h", DESKCONSOLE_SMTP_DEADLINE=bad))
        out, err = io.StringIO(), io.StringIO()
        code = run_deliver(parser.parse_args(["deliver"]), desk.svc,
                           environ=env_for("smtp://127.0.0.1:9", DESKCONSOLE_SMTP_DEADLINE=bad), out=out, err=err)
        [line] = err.getvalue().splitlines()
        assert code == 1 and line.startswith("error: DESKCONSOLE_SMTP_DEADLINE") and out.getvalue() == ""
    assert [(r.state, r.attempts) for r in desk.rows()] == [("queued", 0)]
    # The deadline stays shorter than the lease, so a slow send never lets a second worker send the row.
    cfg = smtp_config_from_env(env_for("smtp://h", DESKCONSOLE_SMTP_DEADLINE="200"))
    assert options_from_config(cfg).lease > timedelta(seconds=cfg.deadline)
    with pytest.raises(InvalidInput, match="lease"):
        options_from_config(cfg, lease=timedelta(minutes=3))


# ================================================================== SIGTERM and Ctrl-C
def deliver_process(desk: Desk, url: str, tmp_path: Path, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCONSOLE_")}
    env.update(env_for(url), DESKCONSOLE_DB=desk.url, DESKCONSOLE_CONFIG=str(tmp_path / "no-config.toml"),
               DESKCONSOLE_USER="mona")
    return subprocess.Popen([sys.executable, "-m", "deskconsole", "deliver", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize(("extra", "sig"), [
    (["--watch"], signal.SIGTERM),
    (["--watch"], signal.SIGINT),
    ([], signal.SIGTERM),
    ([], signal.SIGINT),
], ids=["watch-sigterm", "watch-ctrl-c", "once-sigterm", "once-ctrl-c"])
def test_a_signal_ends_deliver_stuck_on_a_dripping_server_and_the_row_stays_queued(desk, trickle, tmp_path,
                                                                                    extra, sig):
    proc = deliver_process(desk, trickle.url, tmp_path, *extra)
    try:
        assert trickle.dripping.wait(WAIT), "deliver never reached the server"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + sig, err
    [row] = desk.rows()
    # Not sent, not failed, not held: the next run takes it; the interrupted attempt does not count.
    assert (row.state, row.attempts, row.claimed_until, row.sent_at) == ("queued", 0, None, None)
    [line] = [json.loads(x) for x in out.splitlines()]
    assert line["state"] == "queued" and "stopped" in line["error"]
    assert err.strip().endswith("stays queued for the next run") or "stopped by" in err
    assert trickle.hung_up.wait(WAIT)  # the connection was closed, not left open


def test_watch_waiting_between_passes_stops_on_sigterm_and_what_was_sent_stays_sent(desk, plain_box, tmp_path):
    proc = deliver_process(desk, plain_box.url, tmp_path, "--watch")
    try:
        first = json.loads(proc.stdout.readline())  # printed once the row is marked: the watch now waits 30 s
        assert first["state"] == "sent"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out, err) == (143, "", "stopped by SIGTERM\n")
    assert [(r.state, r.attempts) for r in desk.rows()] == [("sent", 1)]
    assert plain_box.accepted == [False]
