"""`deskconsole deliver`: send the due outbox rows by e-mail, once (for cron) or continuously (`--watch`).

    deskconsole deliver                  one pass, then exit
    deskconsole deliver --watch          keep going (systemd); SIGTERM or ctrl+c stops it
    deskconsole deliver --requeue 12     give failed row 12 another round first
    deskconsole deliver --requeue-failed give every failed row another round first

Prints one JSON line per row it handled:
    {"outbox": 12, "case": 3, "kind": "survey", "to": "...", "state": "sent", "attempts": 1,
     "message_id": "<c3.o12.TOKEN@example.org>", "recipients": [...], "error": null, "next_attempt_at": null}
`state` is `sent`, `queued` (a temporary failure: tried again at `next_attempt_at`) or `failed`.

Exit status: 0 the pass ran (whatever the server answered about single messages:
failures are recorded on the rows and shown by `deskconsole outbox list`); 1, with
one `error:` line, when delivery is not configured (no DESKCONSOLE_SMTP_URL), its
configuration is wrong, or the mail server could not be used at all (the rows stay
queued; a cron job's non-zero exit makes the outage noticed) — this includes
deskconsole's own refusal to send a password without TLS; 143 after SIGTERM and
130 after Ctrl-C (SIGINT), with or without --watch.

SIGTERM and Ctrl-C stop at once, also in the middle of a send: the connection is
shut down, the row being sent goes back to `queued` (the attempt not counted, its
JSON line says so) and is sent by the next run; a row is `sent` only once the
server has accepted it. A second signal ends the process on the spot (the row's
lease then runs out and the next run takes it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

from deskconsole.delivery.smtp_url import URL_ENV, smtp_config_from_env
from deskconsole.domain.errors import DeskError


def add_deliver_command(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """Add `deliver` to the CLI's subparsers; returns its parser."""
    parser = subparsers.add_parser(
        "deliver",
        parents=list(parents),
        help="send due outbox messages by e-mail (SMTP from DESKCONSOLE_SMTP_URL)",
        description="Send the due outbox rows over SMTP. Configure the server with DESKCONSOLE_SMTP_URL "
        "(smtp://host:port, smtps://user:pass@host; options ?starttls=1, ?cafile=PATH, ?insecure=1), "
        "DESKCONSOLE_SMTP_USER, DESKCONSOLE_SMTP_PASSWORD, DESKCONSOLE_SMTP_FROM and DESKCONSOLE_SMTP_DEADLINE "
        "(seconds one message may take, default 120). STARTTLS is used whenever offered; a password goes only "
        "over TLS, unless the server is on a loopback address or the URL says ?insecure=1. SIGTERM or ctrl+c "
        "stops at once (exit 143 or 130); the message being sent stays queued.",
    )
    parser.add_argument("--watch", action="store_true", help="keep delivering until stopped")
    parser.add_argument("--interval", type=float, default=30.0, metavar="SECONDS",
                        help="with --watch: seconds between passes (default 30)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="at most N rows per pass")
    parser.add_argument("--requeue", type=int, action="append", default=[], metavar="ID",
                        help="put failed outbox row ID back in the queue first (repeatable)")
    parser.add_argument("--requeue-failed", action="store_true", help="put every failed row back in the queue first")
    parser.set_defaults(command="deliver")
    return parser


def _engine_and_clock(source: Any) -> tuple[Any, Any]:
    if isinstance(source, tuple):
        return source[0], source[1]
    if hasattr(source, "engine") and hasattr(source, "clock"):  # a Service
        return source.engine, source.clock
    if hasattr(source, "make_service"):  # Settings
        service = source.make_service()
        return service.engine, service.clock
    raise TypeError(f"run_deliver needs a Service, Settings or (engine, clock), not {type(source).__name__}")


@contextmanager
def _stopped_by_signals(stop: threading.Event, abort: Callable[[], None]) -> Iterator[list[int]]:
    """While inside: SIGTERM and SIGINT set `stop` and call `abort` (which ends a send in progress); the
    signals received are listed in the yielded list. A second signal ends the process the default way.

    Only the main thread can install handlers: elsewhere this does nothing (the caller's `stop` still works)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, _frame: Any) -> None:
        if received:  # asked twice: no more waiting
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        received.append(signum)
        stop.set()
        abort()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _say_stopped(signum: int, results: Sequence[Any], err: IO[str]) -> int:
    name = signal.Signals(signum).name
    left = [r for r in results if getattr(r, "interrupted", False)]
    if left:
        rows = ", ".join(str(r.outbox) for r in left)
        print(f"stopped by {name}: outbox row {rows} was not sent and stays queued for the next run",
              file=err, flush=True)
    else:
        print(f"stopped by {name}", file=err, flush=True)
    return 128 + signum


def run_deliver(
    args: argparse.Namespace,
    source: Any,
    *,
    environ: Mapping[str, str] | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run `deskconsole deliver`. `source` is the CLI's Service, its Settings, or (engine, clock)."""
    from deskconsole.delivery.transport import SmtpTransport
    from deskconsole.delivery.worker import DeliveryResult, deliver_once, options_from_config, requeue, watch

    out = out or sys.stdout
    err = err or sys.stderr
    env = os.environ if environ is None else environ
    try:
        config = smtp_config_from_env(env)
    except DeskError as exc:
        print(f"error: {exc}", file=err)
        return 1
    if config is None:
        print(f"error: delivery is off: set {URL_ENV} (e.g. smtp://mail.example:587?starttls=1); "
              "until then messages stay queued in 'deskconsole outbox list'", file=err)
        return 1
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be 1 or more", file=err)
        return 1
    if args.interval <= 0:
        print("error: --interval must be more than 0 seconds", file=err)
        return 1
    try:
        options = options_from_config(config, **({"batch": args.limit} if args.limit else {}))
    except DeskError as exc:
        print(f"error: {exc}", file=err)
        return 1
    engine, clock = _engine_and_clock(source)
    if args.requeue_failed or args.requeue:
        requeue(engine, clock, None if args.requeue_failed else args.requeue)
    transport = SmtpTransport(config)
    stop = stop or threading.Event()
    shown: list[DeliveryResult] = []

    def show(results: list[DeliveryResult]) -> None:
        for result in results:
            print(json.dumps(result.to_json()), file=out, flush=True)
        shown[:] = results

    def show_watching(results: list[DeliveryResult]) -> None:
        show(results)
        if results[-1].server_unavailable:  # said every pass while it lasts, so the outage is seen
            print(f"error: {results[-1].error}; the messages stay queued for the next pass", file=err, flush=True)

    with _stopped_by_signals(stop, transport.abort) as received:
        if not args.watch:
            # each row printed as soon as what happened to it is recorded: should the database fail
            # part way (a full disk), what was printed is what was recorded, and the error follows
            results = deliver_once(engine, clock, transport, options, stop=stop,
                                   on_result=lambda result: show([result]))
            if received:
                return _say_stopped(received[0], results, err)
            if results and results[-1].server_unavailable:
                print(f"error: {results[-1].error}; the messages stay queued for the next pass", file=err)
                return 1
            return 0

        watch(
            engine, clock, transport, options, interval=args.interval, stop=stop, on_results=show_watching,
            on_error=lambda exc: print(f"error: delivery pass failed: {exc}", file=err, flush=True),
        )
        if received:
            return _say_stopped(received[0], shown, err)
    return 0
