"""Outbox delivery over SMTP, against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import argparse
import email
import io
import json
import socket
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlmodel import Session, select

from deskconsole.delivery import Deliverer, DeliveryOptions, SmtpTransport, deliver_once, parse_smtp_url, requeue
from deskconsole.delivery.cli import add_deliver_command, run_deliver
from deskconsole.delivery.smtp_url import smtp_config_from_env
from deskconsole.delivery.worker import watch
from deskconsole.domain.clock import FixedClock
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.templates import pick_language, render
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine
from deskconsole.store.models import Outbox

START = "2026-11-25T09:00:00Z"
SENDER = "desk@support.example"


# ------------------------------------------------------------------ the SMTP server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler: keeps what it accepts; `refuse_data` / `refuse_rcpt` script refusals."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: list[tuple[str, list[str], EmailMessage]] = []
        self.refused: list[EmailMessage] = []
        self.refuse_data: list[str] = []  # answers to give to DATA, one per message, before accepting
        self.always_refuse_data: str | None = None
        self.refuse_rcpt: dict[str, str] = {}  # address -> answer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        answer = self.refuse_rcpt.get(address)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            answer = self.always_refuse_data or (self.refuse_data.pop(0) if self.refuse_data else None)
            if answer:
                self.refused.append(msg)
                return answer
            self.accepted.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 2.0.0 Message accepted"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [m for _, _, m in self.accepted]


def _start(handler: Mailbox, **kwargs) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def smtp():
    box = Mailbox()
    controller = _start(box)
    box.url = f"smtp://127.0.0.1:{controller.port}"
    try:
        yield box
    finally:
        controller.stop()


def transport_for(url: str, **env: str) -> SmtpTransport:
    return SmtpTransport(parse_smtp_url(url, {"DESKCONSOLE_SMTP_FROM": SENDER, **env}))


OPTS = DeliveryOptions(sender=SENDER)


# ------------------------------------------------------------------ a desk
class World:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        init_schema(self.engine)
        self.clock = FixedClock(START)
        self.svc = Service(self.engine, self.clock)
        self.svc.add_agent("mona", "manager", actor=None, email="mona@support.example")
        self.svc.add_agent("max", "manager", actor="mona")
        self.svc.add_agent("alice", "analyst", actor="mona", skills=["billing"], manager="mona",
                           email="alice@support.example")
        self.svc.add_agent("bob", "analyst", actor="mona", skills=["login"], manager="max")

    def awaiting(self, title="Invoice total is wrong", contact="help@acme.example", language=None,
                 resolution="Cleared the stale cache.", **kw):
        kw.setdefault("product_area", "billing")
        case, _ = self.svc.open_case(title, kw.pop("customer", "acme"), contact=contact, language=language, **kw)
        self.svc.move(case.id, "in_progress", actor="alice")
        return self.svc.move(case.id, "awaiting_confirmation", note=resolution, actor="alice")

    def rows(self) -> list[Outbox]:
        with Session(self.engine) as s:
            return list(s.exec(select(Outbox).order_by(Outbox.id)).all())

    def row(self, row_id: int) -> Outbox:
        with Session(self.engine) as s:
            return s.get(Outbox, row_id)

    def deliver(self, url: str, **kw):
        return deliver_once(self.engine, self.clock, transport_for(url), kw.pop("options", OPTS), **kw)


@pytest.fixture
def world(db_url):
    w = World(db_url)
    try:
        yield w
    finally:
        w.engine.dispose()


@pytest.fixture
def lite(sqlite_url):
    w = World(sqlite_url)
    try:
        yield w
    finally:
        w.engine.dispose()


def parts(msg: EmailMessage) -> tuple[str, str]:
    return (msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content())


# ------------------------------------------------------------------ configuration
def test_smtp_url_forms_and_credentials():
    cfg = parse_smtp_url("smtp://mail.example", {})
    assert (cfg.host, cfg.port, cfg.implicit_tls, cfg.starttls, cfg.user) == ("mail.example", 25, False, False, None)
    assert cfg.sender == "deskconsole@localhost"
    cfg = parse_smtp_url("smtp://mail.example?starttls=1", {})
    assert (cfg.port, cfg.starttls) == (587, True)
    cfg = parse_smtp_url("smtps://desk%40acme.example:p%2Fss@mail.example", {"DESKCONSOLE_SMTP_FROM": SENDER})
    assert (cfg.port, cfg.implicit_tls, cfg.user, cfg.password, cfg.sender) == (
        465, True, "desk@acme.example", "p/ss", SENDER)
    assert "p/ss" not in repr(cfg) and "***" in repr(cfg)
    cfg = parse_smtp_url("smtp://u:old@mail.example:2525?timeout=5",
                         {"DESKCONSOLE_SMTP_USER": "desk", "DESKCONSOLE_SMTP_PASSWORD": "new"})
    assert (cfg.port, cfg.user, cfg.password, cfg.timeout) == (2525, "desk", "new", 5.0)
    for bad in ("http://mail.example", "smtp://", "smtp://mail.example?tls=1", "smtps://h?starttls=1",
                "smtp://h:99999", "smtp://h?starttls=maybe", "smtp://h/path"):
        with pytest.raises(InvalidInput):
            parse_smtp_url(bad, {})
    with pytest.raises(InvalidInput):
        parse_smtp_url("smtp://h", {"DESKCONSOLE_SMTP_FROM": "not an address"})
    assert smtp_config_from_env({}) is None
    assert smtp_config_from_env({"DESKCONSOLE_SMTP_URL": "  "}) is None


def test_templates_escape_case_text_and_pick_language():
    values = {"case": 7, "title": "<b>Broken</b> & \x1b[31mred", "customer": "acme", "resolution": "Use <i>x</i>",
              "close_date": "2026-12-09"}
    out = render("awaiting_confirmation", "fr-CH", values, fallback_subject="s", fallback_body="b")
    assert out.language == "fr"
    assert out.subject == "[case 7] Merci de confirmer notre solution"
    assert "<b>Broken</b> & [31mred" in out.text  # literal in text, control characters removed
    assert "\x1b" not in out.text + out.html
    assert "&lt;b&gt;Broken&lt;/b&gt; &amp;" in out.html and "<b>" not in out.html
    assert "Use &lt;i&gt;x&lt;/i&gt;" in out.html and '<html lang="fr">' in out.html
    assert "2026-12-09" in out.text
    # a missing fact leaves its paragraph out rather than printing a blank
    out = render("reminder", "de", {"case": 7, "title": "T", "close_date": None}, fallback_subject="", fallback_body="")
    assert "Ihr Fall 7 (T)" in out.text and "geschlossen" not in out.text
    assert [pick_language(t) for t in (None, "", "EN", "de_AT", "pt")] == ["en", "en", "en", "de", "en"]
    # a kind without a template goes out as the row's own words
    out = render("something_new", "de", {"case": 1}, fallback_subject="[case 1] Hi\nthere", fallback_body="a <b>")
    assert (out.subject, out.text, out.language) == ("[case 1] Hi there", "a <b>\n", "en")
    assert "a &lt;b&gt;" in out.html


# ------------------------------------------------------------------ delivery
def test_delivers_rendered_message_in_customers_language(world, smtp):
    case = world.awaiting(title="Rechnung <falsch> & doppelt", language="de", resolution="Cache <geleert>.")
    english = world.awaiting(title="Login loops", contact="it@globex.example")
    results = world.deliver(smtp.url)
    assert [(r.case, r.kind, r.state, r.attempts) for r in results] == [
        (case.id, "awaiting_confirmation", "sent", 1), (english.id, "awaiting_confirmation", "sent", 1)]

    assert len(smtp.accepted) == 2
    sender, rcpts, msg = smtp.accepted[0]
    assert sender == SENDER and rcpts == ["help@acme.example"]
    assert msg["Subject"] == f"[case {case.id}] Bitte bestätigen Sie unsere Lösung"
    assert msg["From"] == SENDER and msg["To"] == "help@acme.example"
    assert msg["Content-Language"] == "de"
    assert msg["X-Deskconsole-Case"] == str(case.id) and msg["X-Deskconsole-Kind"] == "awaiting_confirmation"
    text, html = parts(msg)
    assert "Rechnung <falsch> & doppelt" in text and "Cache <geleert>." in text
    assert "2026-12-09" in text  # the auto-close date, 14 days on
    assert "Rechnung &lt;falsch&gt; &amp; doppelt" in html and "Cache &lt;geleert&gt;." in html
    assert "<falsch>" not in html

    _, _, msg2 = smtp.accepted[1]
    assert msg2["Subject"] == f"[case {english.id}] Please confirm our resolution"
    assert "Please keep [case" in parts(msg2)[0]

    rows = {r.case_id: r for r in world.rows()}
    row = rows[case.id]
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.message_id == msg["Message-ID"] and row.message_id.endswith("@support.example>")
    assert msg["Message-ID"] != msg2["Message-ID"]
    view = {o.case: o for o in world.svc.list_outbox()}[case.id]
    assert (view.state, view.attempts, view.message_id) == ("sent", 1, row.message_id)
    assert view.to_json()["sent_at"] == START
    assert world.deliver(smtp.url) == []  # nothing is sent twice


def test_survey_invitation_says_how_to_answer(lite, smtp):
    case = lite.awaiting(language="fr")
    lite.svc.customer_confirm(case.id)
    lite.deliver(smtp.url)
    survey = next(m for m in smtp.messages if m["X-Deskconsole-Kind"] == "survey")
    text, html = parts(survey)
    assert "chiffre de 1 à 5" in text and "chiffre de 1 à 5" in html
    assert '"type": "survey.answered"' in survey["X-Deskconsole-Survey-Answer"]
    assert f'"case": {case.id}' in survey["X-Deskconsole-Survey-Answer"]


def test_escalation_and_defect_messages(lite, smtp):
    case = lite.awaiting()
    lite.svc.customer_reply(case.id, "still broken")
    lite.svc.request_escalation(case.id, "Month-end close <blocked>", actor="alice")
    lite.svc.log_engineering(case.id, "BUG-1234", "Totals double-count credits", actor="alice")
    lite.deliver(smtp.url)
    by_kind = {m["X-Deskconsole-Kind"]: (rcpt, m) for _, rcpt, m in smtp.accepted}
    rcpts, req = by_kind["escalation_requested"]
    assert rcpts == ["mona@support.example"]  # alice's manager, by her e-mail address
    text, html = parts(req)
    assert "alice asks to escalate case" in text and "Month-end close <blocked>" in text
    assert "Month-end close &lt;blocked&gt;" in html
    rcpts, defect = by_kind["defect_logged"]
    assert rcpts == ["help@acme.example"] and "BUG-1234" in defect["Subject"]
    assert "as defect BUG-1234" in parts(defect)[0]


def test_temporary_refusal_is_retried_with_backoff_and_the_same_message_id(world, smtp):
    world.awaiting()
    smtp.refuse_data = ["451 4.3.0 Try again later", "452 4.3.1 Still busy"]
    [first] = world.deliver(smtp.url)
    assert (first.state, first.attempts) == ("queued", 1)
    assert first.error == "451 4.3.0 Try again later"
    assert first.next_attempt_at == world.clock.now() + timedelta(minutes=1)
    view = world.svc.list_outbox()[0]
    assert (view.state, view.attempts, view.last_error) == ("queued", 1, "451 4.3.0 Try again later")

    assert world.deliver(smtp.url) == []  # not due yet: no time has passed
    world.clock.advance(minutes=1)
    [second] = world.deliver(smtp.url)
    assert (second.state, second.attempts, second.error) == ("queued", 2, "452 4.3.1 Still busy")
    assert second.next_attempt_at == world.clock.now() + timedelta(minutes=5)
    world.clock.advance(minutes=4, seconds=59)
    assert world.deliver(smtp.url) == []
    world.clock.advance(seconds=1)
    [third] = world.deliver(smtp.url)
    assert (third.state, third.attempts) == ("sent", 3)

    ids = {m["Message-ID"] for m in smtp.refused + smtp.messages}
    assert len(smtp.refused) == 2 and len(smtp.messages) == 1 and len(ids) == 1
    row = world.rows()[0]
    assert (row.state, row.message_id, row.last_error, row.next_attempt_at) == ("sent", ids.pop(), None, None)


def test_permanent_refusal_marks_failed_with_the_servers_answer(lite, smtp):
    lite.awaiting(contact="nobody@acme.example")
    other = lite.awaiting(contact="ok@acme.example")
    smtp.refuse_rcpt["nobody@acme.example"] = "550 5.1.1 <nobody@acme.example>: no such user"
    results = lite.deliver(smtp.url)
    assert [r.state for r in results] == ["failed", "sent"]
    assert "550 5.1.1 <nobody@acme.example>: no such user" in results[0].error
    [failed] = [o for o in lite.svc.list_outbox() if o.state == "failed"]
    assert failed.case != other.id and "550 5.1.1" in failed.last_error
    assert failed.to_json()["last_error"] == failed.last_error  # what `deskconsole outbox list` prints
    lite.clock.advance(days=3)
    assert lite.deliver(smtp.url) == []  # a failed row is not retried by itself...
    del smtp.refuse_rcpt["nobody@acme.example"]
    assert requeue(lite.engine, lite.clock) == [failed.id]  # ...but can be put back
    [again] = lite.deliver(smtp.url)
    assert (again.outbox, again.state, again.message_id) == (failed.id, "sent", failed.message_id)


def test_5xx_after_data_is_permanent(lite, smtp):
    lite.awaiting()
    smtp.refuse_data = ["554 5.7.1 Message rejected as spam"]
    [result] = lite.deliver(smtp.url)
    assert (result.state, result.error) == ("failed", "554 5.7.1 Message rejected as spam")


def test_gives_up_after_max_attempts(lite, smtp):
    lite.awaiting()
    smtp.always_refuse_data = "421 4.4.2 Overloaded"
    opts = DeliveryOptions(sender=SENDER, max_attempts=3, backoff=(timedelta(minutes=1),))
    states = []
    for _ in range(3):
        [r] = lite.deliver(smtp.url, options=opts)
        states.append(r.state)
        lite.clock.advance(minutes=1)
    assert states == ["queued", "queued", "failed"]
    row = lite.rows()[0]
    assert row.state == "failed" and row.last_error == "gave up after 3 attempts: 421 4.4.2 Overloaded"
    assert len(smtp.refused) == 3 and lite.deliver(smtp.url, options=opts) == []


def test_unreachable_server_keeps_rows_queued_and_stops_the_pass(lite):
    lite.awaiting()
    lite.awaiting(contact="b@acme.example")
    results = lite.deliver(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    assert len(results) == 1 and results[0].state == "queued"
    assert "cannot use the mail server smtp://127.0.0.1" in results[0].error
    assert [(r.state, r.attempts) for r in lite.rows()] == [("queued", 1), ("queued", 0)]


def test_crash_between_send_and_mark_resends_with_same_message_id_after_lease(world, smtp):
    case = world.awaiting()

    def crash(row):
        raise SystemExit("power cut")

    with pytest.raises(SystemExit):
        world.deliver(smtp.url, after_send=crash)
    assert len(smtp.messages) == 1
    row = world.rows()[0]
    assert (row.state, row.attempts, row.sent_at) == ("sending", 1, None)
    assert world.svc.list_outbox()[0].state == "sending"

    # Within the lease nobody touches it: the first worker might still be about to mark it.
    world.clock.advance(minutes=4, seconds=59)
    assert world.deliver(smtp.url) == []
    world.clock.advance(seconds=2)
    [result] = world.deliver(smtp.url)
    assert (result.case, result.state, result.attempts) == (case.id, "sent", 2)
    first, second = smtp.messages
    assert first["Message-ID"] == second["Message-ID"] == row.message_id == result.message_id
    assert world.rows()[0].state == "sent"
    world.clock.advance(hours=1)
    assert world.deliver(smtp.url) == []


def test_rows_without_an_address_fail_visibly(lite, smtp):
    no_contact = lite.awaiting(contact=None)
    case = lite.awaiting(product_area=None, title="Login loops")  # routed to bob (login), manager max
    lite.svc.request_escalation(case.id, "urgent", actor="bob")
    results = {(r.case, r.kind): r for r in lite.deliver(smtp.url)}
    missing = results[(no_contact.id, "awaiting_confirmation")]
    assert missing.state == "failed"
    assert missing.error.startswith("no e-mail address for customer:acme: case")
    esc = results[(case.id, "escalation_requested")]
    assert esc.state == "failed" and esc.error == "no e-mail address for agent max: add one to deliver messages to them"
    assert results[(case.id, "awaiting_confirmation")].state == "sent"
    assert {o.state for o in lite.svc.list_outbox()} == {"failed", "sent"}


def test_several_workers_send_each_row_once(world, smtp):
    for n in range(24):
        world.awaiting(title=f"Case {n}", contact=f"c{n}@acme.example")
    rows = world.rows()
    assert len(rows) == 24
    url = world.engine.url.render_as_string(hide_password=False)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker():
        engine = make_engine(url)
        try:
            barrier.wait()
            while deliver_once(engine, world.clock, transport_for(smtp.url), OPTS, limit=5):
                pass
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 24 and len(set(ids)) == 24
    assert {(r.state, r.attempts) for r in world.rows()} == {("sent", 1)}
    assert set(ids) == {r.message_id for r in world.rows()}


# ------------------------------------------------------------------ auth, off switch, CLI, watch
def test_login_with_credentials_from_the_environment(lite):
    box = Mailbox()

    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"desk" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)

    controller = _start(box, authenticator=check, auth_require_tls=False)
    try:
        url = f"smtp://127.0.0.1:{controller.port}"
        lite.awaiting()
        lite.awaiting(contact="b@acme.example")
        [bad] = deliver_once(lite.engine, lite.clock,
                             transport_for(url, DESKCONSOLE_SMTP_USER="desk", DESKCONSOLE_SMTP_PASSWORD="nope"),
                             OPTS)
        assert bad.state == "queued" and "535" in bad.error and "nope" not in bad.error
        lite.clock.advance(minutes=1)
        good = deliver_once(lite.engine, lite.clock,
                            transport_for(url, DESKCONSOLE_SMTP_USER="desk", DESKCONSOLE_SMTP_PASSWORD="s3cret"),
                            OPTS)
        assert [r.state for r in good] == ["sent", "sent"] and len(box.messages) == 2
    finally:
        controller.stop()


def test_delivery_is_off_without_an_smtp_url(lite):
    lite.awaiting()
    assert Deliverer.from_env(lite.engine, lite.clock, {}) is None
    parser = argparse.ArgumentParser()
    add_deliver_command(parser.add_subparsers())
    err = io.StringIO()
    assert run_deliver(parser.parse_args(["deliver"]), (lite.engine, lite.clock), environ={}, err=err) == 1
    assert err.getvalue().startswith("error: delivery is off: set DESKCONSOLE_SMTP_URL")
    assert [o.state for o in lite.svc.list_outbox()] == ["queued"]
    err = io.StringIO()
    bad = {"DESKCONSOLE_SMTP_URL": "imap://x"}
    assert run_deliver(parser.parse_args(["deliver"]), (lite.engine, lite.clock), environ=bad, err=err) == 1
    assert err.getvalue().startswith("error: SMTP URL must start with smtp://")


def test_cli_deliver_prints_one_json_line_per_row(lite, smtp):
    lite.awaiting()
    lite.awaiting(contact=None)
    parser = argparse.ArgumentParser()
    add_deliver_command(parser.add_subparsers())
    env = {"DESKCONSOLE_SMTP_URL": smtp.url, "DESKCONSOLE_SMTP_FROM": SENDER}
    out = io.StringIO()
    assert run_deliver(parser.parse_args(["deliver"]), lite.svc, environ=env, out=out) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(d["state"], d["kind"]) for d in lines] == [("sent", "awaiting_confirmation"),
                                                        ("failed", "awaiting_confirmation")]
    assert lines[0]["message_id"].startswith("<c") and lines[1]["error"].startswith("no e-mail address")
    out = io.StringIO()
    args = parser.parse_args(["deliver", "--requeue-failed"])
    assert run_deliver(args, lite.svc, environ=env, out=out) == 0
    assert json.loads(out.getvalue())["state"] == "failed"  # requeued, tried again, still no address


def test_watch_keeps_delivering_until_stopped(lite, smtp):
    lite.awaiting()
    stop = threading.Event()
    seen = []

    def on_results(results):
        seen.extend(results)
        if len(seen) == 1:
            lite.awaiting(contact="late@acme.example")  # arrives while the worker runs
        else:
            stop.set()

    thread = threading.Thread(
        target=watch, args=(lite.engine, lite.clock, transport_for(smtp.url), OPTS),
        kwargs={"interval": 0.05, "stop": stop, "on_results": on_results},
    )
    thread.start()
    thread.join(20)
    assert not thread.is_alive()
    assert [r.state for r in seen] == ["sent", "sent"]
    assert [m["To"] for m in smtp.messages] == ["help@acme.example", "late@acme.example"]


def test_open_case_language_is_validated_and_kept_on_clone(lite):
    case = lite.awaiting(language="de-CH")
    with pytest.raises(InvalidInput):
        lite.svc.open_case("t", "acme", language="not a tag!")
    lite.svc.customer_confirm(case.id)
    clone = lite.svc.clone(case.id, actor="alice")
    from deskconsole.store.models import Case

    with Session(lite.engine) as s:
        assert s.get(Case, clone.id).language == "de-ch"


def test_international_address_goes_out_with_smtputf8(lite, smtp):
    lite.awaiting(contact="jürgen@bücher.example", language="de")
    [result] = lite.deliver(smtp.url)
    assert result.state == "sent"
    [(_, rcpts, msg)] = smtp.accepted
    assert rcpts == ["jürgen@bücher.example"] and "Lösung" in msg["Subject"]


def test_a_message_that_cannot_be_built_fails_alone(lite, smtp, monkeypatch):
    import deskconsole.service.outbox as worker  # (where the message is rendered)

    bad = lite.awaiting()
    good = lite.awaiting(contact="b@acme.example")
    real = worker.render

    def render(kind, language, values, **kw):
        if values["case"] == bad.id:
            raise ValueError("template trouble")
        return real(kind, language, values, **kw)

    monkeypatch.setattr(worker, "render", render)
    results = {r.case: r for r in lite.deliver(smtp.url)}
    assert results[bad.id].state == "failed"
    assert results[bad.id].error == "could not build the message: ValueError: template trouble"
    assert results[good.id].state == "sent"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a certificate for the TLS tests")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"), "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return folder / "cert.pem", folder / "key.pem"


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_tls_starttls_and_implicit(lite, tls_files, mode):
    import ssl

    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    box = Mailbox()
    if mode == "starttls":
        controller = _start(box, tls_context=server_ctx, require_starttls=True)
        url = f"smtp://127.0.0.1:{controller.port}?starttls=1"
    else:
        controller = _start(box, ssl_context=server_ctx)
        url = f"smtps://127.0.0.1:{controller.port}"
    try:
        lite.awaiting()
        cfg = parse_smtp_url(url, {"DESKCONSOLE_SMTP_FROM": SENDER})
        [result] = deliver_once(lite.engine, lite.clock, SmtpTransport(cfg, ssl_context=client_ctx), OPTS)
        assert result.state == "sent" and len(box.messages) == 1
        # Without trusting the certificate the server is not used, and the row waits.
        lite.awaiting(contact="b@acme.example")
        [result] = deliver_once(lite.engine, lite.clock, SmtpTransport(cfg), OPTS)
        assert result.state == "queued" and "CERTIFICATE_VERIFY_FAILED" in result.error
    finally:
        controller.stop()


def test_cli_deliver_exits_1_when_the_server_cannot_be_used(lite):
    lite.awaiting()
    parser = argparse.ArgumentParser()
    add_deliver_command(parser.add_subparsers())
    env = {"DESKCONSOLE_SMTP_URL": f"smtp://127.0.0.1:{free_port()}?timeout=2"}
    out, err = io.StringIO(), io.StringIO()
    assert run_deliver(parser.parse_args(["deliver"]), lite.svc, environ=env, out=out, err=err) == 1
    assert json.loads(out.getvalue())["state"] == "queued"
    assert err.getvalue().startswith("error: cannot use the mail server smtp://127.0.0.1:")
    assert "stay queued" in err.getvalue()


WORKER_SCRIPT = """
import sys, time
from pathlib import Path
from deskconsole.delivery import DeliveryOptions, SmtpTransport, deliver_once, parse_smtp_url
from deskconsole.domain.clock import FixedClock
from deskconsole.store.engine import make_engine

db, smtp_url, now, go = sys.argv[1:5]
engine = make_engine(db)
transport = SmtpTransport(parse_smtp_url(smtp_url, {}))
opts = DeliveryOptions(sender="desk@support.example")
deadline = time.monotonic() + 30
while not Path(go).exists() and time.monotonic() < deadline:
    time.sleep(0.01)  # start together with the other workers
handled = 0
while True:
    results = deliver_once(engine, FixedClock(now), transport, opts, limit=3)
    if not results:
        break
    handled += sum(r.state == "sent" for r in results)
print(handled)
"""


@pytest.mark.slow
def test_several_worker_processes_send_each_row_once(world, smtp, tmp_path):
    import subprocess
    import sys

    for n in range(18):
        world.awaiting(title=f"Case {n}", contact=f"c{n}@acme.example")
    url = world.engine.url.render_as_string(hide_password=False)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, url, smtp.url, START, str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    go.touch()
    outputs = [p.communicate(timeout=90) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outputs]
    assert sum(int(o) for o, _ in outputs) == 18, outputs
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 18 and len(set(ids)) == 18
    assert {(r.state, r.attempts) for r in world.rows()} == {("sent", 1)}
