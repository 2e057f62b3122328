"""`deskconsole mail …`: inbound e-mail from the command line.

    deskconsole mail fetch [--watch]   apply each new message of DESKCONSOLE_IMAP_URL's mailbox once
    deskconsole mail receive           apply one RFC 5322 message from standard input (a mail server's pipe)
    deskconsole mail parked [--json]   machine mail held with its reason
    deskconsole mail release ID        apply a parked message as an ordinary one
    deskconsole mail raw ID            the stored message, byte for byte, on standard output

Each message answers one JSON line: {"message_id", "ok", "outcome", "case", "reason"}
(with "error" when ok is false; then the exit status is 1).

Environment: DESKCONSOLE_IMAP_URL, DESKCONSOLE_IMAP_PASSWORD (mail fetch);
DESKCONSOLE_SMTP_FROM and DESKCONSOLE_MAIL_ADDRESSES (comma separated) are the desk's own
addresses, whose mail is parked; DESKCONSOLE_MAIL_LOOP_LIMIT (default 20) messages from one
address within an hour before the next ones are parked.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from deskconsole.domain.errors import InvalidInput

FROM_ENV = "DESKCONSOLE_SMTP_FROM"
ADDRESSES_ENV = "DESKCONSOLE_MAIL_ADDRESSES"
LOOP_ENV = "DESKCONSOLE_MAIL_LOOP_LIMIT"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 86400 seconds: {text!r}")
    return value


def register(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """Add the `mail` command group to the CLI's subparsers; its parser is returned."""
    group = subparsers.add_parser("mail", help="inbound e-mail: fetch, receive, parked, release",
                                  description="Inbound e-mail: customers' messages become cases and replies.")
    group.set_defaults(func=None, group_parser=group)
    sub = group.add_subparsers(title="commands", dest="mail_command", metavar="COMMAND")

    def leaf(name: str, func: Any, text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=text, description=text, parents=list(parents))
        parser.set_defaults(func=func)
        return parser

    p = leaf("fetch", cmd_mail_fetch, "apply each new message of the IMAP mailbox DESKCONSOLE_IMAP_URL once")
    p.add_argument("--watch", action="store_true", help="keep going: IDLE where the server has it, else polling")
    p.add_argument("--interval", type=_seconds, default=30.0, metavar="SECONDS",
                   help="with --watch: seconds between polls, and before reconnecting (default 30)")
    leaf("receive", cmd_mail_receive, "apply one RFC 5322 message from standard input")
    p = leaf("parked", cmd_mail_parked, "machine mail held with its reason")
    p.add_argument("--json", action="store_true")
    p = leaf("release", cmd_mail_release, "apply a parked message as an ordinary one")
    p.add_argument("id", type=_positive)
    p = leaf("raw", cmd_mail_raw, "print a stored message as it arrived")
    p.add_argument("id", type=_positive)
    return group


def own_addresses(environ: Mapping[str, str]) -> frozenset[str]:
    found = {environ.get(FROM_ENV, "").strip() or "deskconsole@localhost"}
    found.update(a.strip() for a in environ.get(ADDRESSES_ENV, "").split(","))
    url = environ.get("DESKCONSOLE_IMAP_URL", "")
    if url:
        try:
            from deskconsole.mail.imap import parse_imap_url

            user = parse_imap_url(url, environ).user
            if "@" in user:
                found.add(user)
        except InvalidInput:
            pass
    return frozenset(a.lower() for a in found if a and "@" in a)


def make_intake(service: Any, environ: Mapping[str, str] | None = None, source: str = "receive") -> Any:
    from deskconsole.mail.intake import Intake
    from deskconsole.mail.thread import LOOP_LIMIT

    env = os.environ if environ is None else environ
    limit = LOOP_LIMIT
    if env.get(LOOP_ENV, "").strip():
        try:
            limit = int(env[LOOP_ENV])
        except ValueError:
            raise InvalidInput(f"{LOOP_ENV} must be a whole number, not {env[LOOP_ENV]!r}") from None
        if limit < 1:
            raise InvalidInput(f"{LOOP_ENV} must be 1 or more")
    return Intake(service, own_addresses=own_addresses(env), loop_limit=limit, source=source)


def cmd_mail_receive(ctx: Any) -> int:
    raw = sys.stdin.buffer.read()
    result = make_intake(ctx.service).receive(raw)
    ctx.out.json(result.to_json(), flush=True)
    return 0 if result.ok else 1


def cmd_mail_fetch(ctx: Any) -> int:
    from sqlalchemy.exc import DBAPIError

    from deskconsole.mail.imap import URL_ENV, ImapUnavailable, Mailbox, fetch_once, imap_config_from_env, watch

    config = imap_config_from_env(os.environ)
    if config is None:
        raise InvalidInput(f"no mailbox: set {URL_ENV} (e.g. imap://desk@mail.example/INBOX)")
    intake = make_intake(ctx.service, source="imap")
    failed = []
    taken = []

    def show(result: Any) -> None:
        taken.append(result)
        if not result.ok:
            failed.append(result)
        ctx.out.json(result.to_json(), flush=True)

    if not ctx.args.watch:
        try:
            box = Mailbox(config)
        except ImapUnavailable as exc:
            raise InvalidInput(str(exc)) from None
        try:
            fetch_once(intake, box, on_result=show)
        except DBAPIError as exc:  # (a full disk, say): what was answered above is stored, and marked
            raise InvalidInput(f"cannot store mail in the database: {getattr(exc, 'orig', None) or exc}; "
                               f"{len(taken)} message(s) taken in, the others stay new in the mailbox "
                               "for the next fetch") from exc
        finally:
            box.close()
        return 1 if failed else 0

    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        watch(intake, config, on_result=show, stop=stop, interval=ctx.args.interval,
              on_error=lambda exc: ctx.out.error(f"mail fetch: {exc}; trying again in {ctx.args.interval:g} s"))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def cmd_mail_parked(ctx: Any) -> int:
    rows = make_intake(ctx.service).parked()
    if ctx.args.json:
        ctx.out.json([r.to_json() for r in rows])
        return 0
    if not rows:
        ctx.out.line("no parked mail")
        return 0
    from deskconsole.domain.clock import format_time

    ctx.out.table(
        ["id", "received", "from", "subject", "reason"],
        [[r.id, format_time(r.received_at), r.from_ or "-", r.subject, r.reason] for r in rows],
        widths={2: 40, 3: 60},
    )
    return 0


def cmd_mail_release(ctx: Any) -> int:
    result = make_intake(ctx.service).release(ctx.args.id, actor=ctx.user)
    ctx.out.json(result.to_json(), flush=True)
    return 0 if result.ok else 1


def cmd_mail_raw(ctx: Any) -> int:
    data = make_intake(ctx.service).raw(ctx.args.id)
    ctx.out.out.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


def event_detail(kind: str, data: Mapping[str, Any]) -> str:
    """`case show`'s line for an event that came by e-mail: sender, subject, how it was threaded,
    attachments (the caller makes the text safe to print)."""
    parts = []
    if kind == "survey_answered":
        parts.append(f"score {data.get('score')}")
    parts.append(f"by e-mail from {data.get('from') or 'an unknown sender'}")
    parts.append(f"subject {data.get('subject') or ''!r}")
    if data.get("threaded"):
        parts.append(f"threaded {data['threaded']}")
    if data.get("mentioned_case"):
        parts.append(f"names case {data['mentioned_case']} (sender not trusted for it)")
    attachments = data.get("attachments") or []
    if isinstance(attachments, list) and attachments:
        names = ", ".join(f"{a.get('name')} ({a.get('size')} bytes)" for a in attachments[:10]
                          if isinstance(a, dict))
        more = f" and {len(attachments) - 10} more" if len(attachments) > 10 else ""
        parts.append(f"attachments {names}{more}")
    if data.get("inbound"):
        parts.append(f"message #{data['inbound']} (deskconsole mail raw {data['inbound']})")
    return "; ".join(parts)
