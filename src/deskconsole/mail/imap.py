"""`mail fetch`: the desk's IMAP mailbox, each new message applied once (deskconsole.mail.intake).

    DESKCONSOLE_IMAP_URL=imap://desk@mail.example:143/INBOX     STARTTLS when the server offers it
    DESKCONSOLE_IMAP_URL=imaps://desk%40example.org@mail.example/Support   implicit TLS (993)
    DESKCONSOLE_IMAP_PASSWORD=secret                             (or in the URL: imap://user:pass@host)

The password is never sent in clear: over `imap://` the connection is upgraded with STARTTLS,
and a server that does not offer it is refused unless it is this machine (loopback).

A message is marked handled on the server (the keyword `$Deskconsole`, or `\\Seen` where the
mailbox takes no keywords) only after its effect has committed. Messages already marked are
not fetched again. Stopped between the commit and the mark (a crash, kill -9), the next run
fetches the message again, finds its Message-ID recorded (`duplicate`) and marks it then: no
second case.

`--watch` waits with IDLE where the server has it (waking at least every second to notice a
stop), polling every `interval` seconds otherwise; SIGTERM or ctrl+c end it within a second.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from deskconsole.domain.errors import InvalidInput
from deskconsole.mail.intake import Intake, Result

URL_ENV = "DESKCONSOLE_IMAP_URL"
PASSWORD_ENV = "DESKCONSOLE_IMAP_PASSWORD"
DONE_FLAG = b"$Deskconsole"
FETCH_BYTES = 32 * 1024 * 1024  # message bytes asked for in one FETCH (a larger message comes alone)
IDLE_RENEW = 25 * 60.0  # IDLE is ended and started again before servers drop it (RFC 2177: 29 min)
GROUP = 100  # messages applied in one transaction (and marked with one STORE)


class ImapUnavailable(Exception):
    """The IMAP server could not be used (unreachable, refused the login, no such mailbox)."""


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    tls: bool  # imaps://
    user: str
    password: str | None
    mailbox: str = "INBOX"
    timeout: float = 30.0

    def safe_url(self) -> str:
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.mailbox}"

    def __repr__(self) -> str:  # never the password
        return f"ImapConfig({self.safe_url()!r})"

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_imap_url(url: str, environ: Mapping[str, str] | None = None) -> ImapConfig:
    environ = environ or {}
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"{URL_ENV}: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps"):
        raise InvalidInput(f"{URL_ENV}: use imap://user@host:port/MAILBOX or imaps://…, not {scheme or 'no'} scheme")
    if not parts.hostname:
        raise InvalidInput(f"{URL_ENV}: no host in the URL")
    if not parts.username:
        raise InvalidInput(f"{URL_ENV}: no user in the URL (imap://USER@host/MAILBOX)")
    password = environ.get(PASSWORD_ENV) or (unquote(parts.password) if parts.password else None)
    mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapConfig(
        host=parts.hostname, port=port or (993 if scheme == "imaps" else 143), tls=scheme == "imaps",
        user=unquote(parts.username), password=password, mailbox=mailbox,
    )


def imap_config_from_env(environ: Mapping[str, str]) -> ImapConfig | None:
    url = environ.get(URL_ENV, "").strip()
    return parse_imap_url(url, environ) if url else None


class Mailbox:
    """One logged-in IMAP connection with the mailbox selected."""

    def __init__(self, config: ImapConfig) -> None:
        from imapclient import IMAPClient

        self.config = config
        try:
            self.client = IMAPClient(config.host, port=config.port, ssl=config.tls,
                                     ssl_context=ssl.create_default_context() if config.tls else None,
                                     timeout=config.timeout)
        except OSError as exc:
            raise ImapUnavailable(f"cannot reach the IMAP server {config.safe_url()}: {exc}") from None
        try:
            self._login()
            info = self.client.select_folder(config.mailbox)
        except ImapUnavailable:
            self.close()
            raise
        except Exception as exc:  # noqa: BLE001 - imaplib's errors, socket errors, TLS errors
            self.close()
            raise ImapUnavailable(f"IMAP {config.safe_url()}: {exc}") from None
        permanent = [bytes(f) for f in info.get(b"PERMANENTFLAGS", ())]
        self.flag = DONE_FLAG if b"\\*" in permanent else b"\\Seen"
        self.can_idle = self.client.has_capability("IDLE")

    def _login(self) -> None:
        c = self.client
        if not self.config.tls:
            if c.has_capability("STARTTLS"):
                c.starttls(ssl.create_default_context())
            elif not self.config.loopback:
                raise ImapUnavailable(
                    f"refusing to send the password in clear to {self.config.host}: the server offers no STARTTLS "
                    "(use imaps://)")
        if self.config.password is None:
            raise ImapUnavailable(f"no password for {self.config.user}: set {PASSWORD_ENV} or put it in the URL")
        c.login(self.config.user, self.config.password)

    def new_uids(self) -> list[int]:
        flag = self.flag.decode()
        criteria = ["NOT", "KEYWORD", flag] if self.flag == DONE_FLAG else ["UNSEEN"]
        return sorted(self.client.search(criteria))

    def messages(self, uids: list[int]) -> Iterator[tuple[int, bytes]]:
        """(uid, raw message) for each uid, in groups of about FETCH_BYTES (peeking: nothing marked)."""
        sizes = self.client.fetch(uids, ["RFC822.SIZE"]) if uids else {}
        group: list[int] = []
        total = 0
        for uid in uids:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            if group and total + size > FETCH_BYTES:
                yield from self._fetch(group)
                group, total = [], 0
            group.append(uid)
            total += size
        if group:
            yield from self._fetch(group)

    def _fetch(self, uids: list[int]) -> Iterator[tuple[int, bytes]]:
        data = self.client.fetch(uids, ["BODY.PEEK[]"])
        for uid in uids:
            item = data.pop(uid, None)
            if item is None:
                continue  # expunged meanwhile
            raw = item.get(b"BODY[]")
            if raw is not None:
                yield uid, bytes(raw)

    def mark(self, uids: list[int]) -> None:
        self.client.add_flags(uids, [self.flag], silent=True)

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001 - closing a connection that is gone
            try:
                self.client.shutdown()
            except Exception:  # noqa: BLE001 -- the socket may be gone as well
                pass


def fetch_once(
    intake: Intake,
    box: Mailbox,
    *,
    on_result: Callable[[Result], None],
    stop: threading.Event | None = None,
    after_commit: Callable[[Result], None] | None = None,
    group: int = GROUP,
) -> int:
    """Apply every new message of the mailbox once; the number of messages looked at.

    Messages are applied `group` at a time in one transaction; they are marked on the server
    (one STORE) only after it has committed."""
    count = 0
    pending: list[tuple[int, bytes]] = []

    def flush() -> None:
        # The messages answered and marked are those whose transaction committed, in order: all of
        # them, or (should the database fail part way, a full disk say) those before the failure,
        # whose error then ends the pass.
        committed: list[Result] = []

        def kept(result: Result) -> None:
            committed.append(result)
            if after_commit is not None:
                after_commit(result)

        try:
            intake.receive_many([raw for _, raw in pending], after_commit=kept)
        finally:
            done = [uid for (uid, _), result in zip(pending, committed, strict=False) if result.handled]
            if done:
                box.mark(done)  # only now: their effect (or refusal) is committed
            for result in committed:
                on_result(result)
            pending.clear()

    size = 0
    for uid, raw in box.messages(box.new_uids()):
        if stop is not None and stop.is_set():
            break
        pending.append((uid, raw))
        size += len(raw)
        count += 1
        if len(pending) >= group or size >= FETCH_BYTES:
            flush()
            size = 0
    if pending:
        flush()
    return count


def watch(
    intake: Intake,
    config: ImapConfig,
    *,
    on_result: Callable[[Result], None],
    on_error: Callable[[Exception], None],
    stop: threading.Event,
    interval: float = 30.0,
) -> None:
    """Fetch, then wait for new mail (IDLE, or `interval` seconds), until `stop` is set.
    A lost connection is reported to on_error and opened again after `interval`."""
    while not stop.is_set():
        box: Mailbox | None = None
        try:
            box = Mailbox(config)
            while not stop.is_set():
                fetch_once(intake, box, on_result=on_result, stop=stop)
                if stop.is_set():
                    break
                if box.can_idle:
                    _idle(box, stop)
                else:
                    stop.wait(interval)
        except Exception as exc:  # noqa: BLE001 - keep watching; report and try again
            on_error(exc)
            stop.wait(interval)
        finally:
            if box is not None:
                box.close()


def _idle(box: Mailbox, stop: threading.Event) -> None:
    client = box.client
    client.idle()
    started = time.monotonic()
    try:
        while not stop.is_set() and time.monotonic() - started < IDLE_RENEW:
            responses = client.idle_check(timeout=1)
            if any(isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                break
    finally:
        client.idle_done()
