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
address within an hour before the next ones are parked (mail/intake.py's make_intake).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from deskconsole.cli.common import Context, when
from deskconsole.domain.errors import InvalidInput

if TYPE_CHECKING:
    from deskconsole.mail.intake import Intake


def _intake(ctx: Context, source: str = "receive") -> Intake:
    # (imported here: `case show` imports this module for event_detail, and reads no mail)
    from deskconsole.mail.intake import make_intake

    return make_intake(ctx.service, source=source)


def cmd_mail_receive(ctx: Context) -> int:
    raw = sys.stdin.buffer.read()
    result = _intake(ctx).receive(raw)
    ctx.out.json(result.to_json(), flush=True)
    return 0 if result.ok else 1


def cmd_mail_fetch(ctx: Context) -> int:
    from sqlalchemy.exc import DBAPIError

    from deskconsole.mail.imap import URL_ENV, ImapUnavailable, Mailbox, fetch_once, imap_config_from_env, watch

    config = imap_config_from_env(os.environ)
    if config is None:
        raise InvalidInput(f"no mailbox: set {URL_ENV} (e.g. imap://desk@mail.example/INBOX)")
    intake = _intake(ctx, "imap")
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


def cmd_mail_parked(ctx: Context) -> int:
    rows = ctx.service.parked_mail()
    if ctx.args.json:
        ctx.out.json([r.to_json() for r in rows])
        return 0
    if not rows:
        ctx.out.line("no parked mail")
        return 0
    ctx.out.table(
        ["id", "received", "from", "subject", "reason"],
        [[r.id, when(r.received_at), r.from_ or "-", r.subject, r.reason] for r in rows],
        widths={2: 40, 3: 60},
    )
    return 0


def cmd_mail_release(ctx: Context) -> int:
    result = _intake(ctx).release(ctx.args.id, actor=ctx.user)
    ctx.out.json(result.to_json(), flush=True)
    return 0 if result.ok else 1


def cmd_mail_raw(ctx: Context) -> int:
    data = ctx.service.raw_mail(ctx.args.id)
    ctx.out.out.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


def event_detail(kind: str, data: Mapping[str, Any]) -> str:
    """`case show`'s line for an event that came by e-mail: sender, subject, how it was threaded,
    attachments, and how to get the raw message (the caller makes the text safe to print)."""
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


def raw_hints(case_json: dict[str, Any]) -> dict[str, Any]:
    """`case show --json`: each event that came by e-mail also says how to get its raw message
    (`"raw": "deskconsole mail raw N"` in its data, beside channel, from, subject and threaded)."""
    for event in case_json.get("events") or []:
        data = event.get("data")
        if isinstance(data, dict) and data.get("channel") == "email" and data.get("inbound"):
            data["raw"] = f"deskconsole mail raw {data['inbound']}"
    return case_json
