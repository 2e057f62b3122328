"""Sending a built message: SMTP through the standard library's smtplib, within a deadline.

The worker sees three kinds of failure:
- TransportUnavailable: the server cannot be reached or will not let us in
  (connection refused, TLS or STARTTLS trouble, authentication), or did not
  finish within the deadline (DeadlineExceeded). Nothing about the message is
  wrong; the worker retries later and stops the pass. CredentialsNeedTLS is
  deskconsole's own refusal (below): the row is put back as it was.
- SendInterrupted: abort() was called (SIGTERM or Ctrl-C in `deskconsole
  deliver`): the row is put back for the next run.
- anything smtplib raises while sending one message, which the worker sorts
  into temporary (4xx, dropped connection) and permanent (5xx) with
  `classify()`.

Trust rules:
- TLS whenever it can be had. smtps:// is TLS from the first byte; on smtp:// the
  connection is upgraded with STARTTLS whenever the server offers it (and must
  be, with ?starttls=1). Certificates are verified against the system's CAs, or
  the ones in ?cafile=PATH.
- Credentials only over TLS. A user and password go in clear only to a loopback
  address (the address actually connected to, not the name in the URL) or when
  the URL says ?insecure=1; otherwise CredentialsNeedTLS is raised before AUTH
  and nothing of them is sent.
- One deadline per message (SmtpConfig.deadline, DESKCONSOLE_SMTP_DEADLINE):
  connecting, the greeting, STARTTLS, AUTH, every command and the data together.
  Socket timeouts start again with every byte, so a server that answers one
  byte at a time would outlast them; a watchdog thread shuts the connection
  down when the deadline passes, which ends whatever read or write is waiting.
  abort() shuts it down the same way, at once.
"""

from __future__ import annotations

import ipaddress
import math
import signal
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol

from deskconsole.delivery.smtp_url import DEADLINE_ENV, SmtpConfig

if TYPE_CHECKING:
    from _socket import _Address  # what socket.bind takes (typeshed's name)

QUIT_BUDGET = 5.0  # seconds a polite QUIT may take when the connection is closed after a pass


class TransportUnavailable(Exception):
    """The mail server cannot take messages now (not the message's fault)."""


class DeadlineExceeded(TransportUnavailable):
    """The server did not finish one message within the deadline; the connection was shut down."""


class CredentialsNeedTLS(TransportUnavailable):
    """deskconsole refused to send a password over a connection without TLS (fix the URL or the server)."""


class SendInterrupted(Exception):
    """The transport was aborted (deskconsole deliver got SIGTERM or Ctrl-C) before the server took the message."""


def is_loopback(address: str | None) -> bool:
    """Whether `address` (an IP address as connected to) is a loopback address: 127.0.0.0/8, ::1, ::ffff:127.x."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool((mapped or ip).is_loopback)


def credentials_allowed(*, tls: bool, peer: str | None, insecure: bool) -> bool:
    """Whether a user and password may be sent: over TLS always; in clear only to loopback or with ?insecure=1."""
    return tls or insecure or is_loopback(peer)


class Transport(Protocol):
    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        """Hand over one message; returns the recipients the server refused while accepting others."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Failure:
    temporary: bool
    error: str  # the server's answer ("550 5.1.1 no such user") or what went wrong
    transport: bool = False  # the connection itself failed: stop this pass
    release: bool = False  # nothing was attempted: put the row back as it was (the attempt does not count)
    interrupted: bool = False  # stopped on request (SIGTERM, Ctrl-C): stop this pass


def _answer(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


def classify(exc: BaseException) -> Failure:
    """Temporary or permanent, with the server's answer, for an error raised while sending."""
    if isinstance(exc, SendInterrupted):
        return Failure(True, str(exc), release=True, interrupted=True)
    if isinstance(exc, CredentialsNeedTLS):
        return Failure(True, str(exc), transport=True, release=True)
    if isinstance(exc, TransportUnavailable):
        return Failure(True, str(exc), transport=True)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = [(code, _answer(code, msg)) for code, msg in exc.recipients.values()]
        text = "; ".join(f"{rcpt}: {answer}" for rcpt, (_, answer) in zip(exc.recipients, answers, strict=True))
        return Failure(any(400 <= code < 500 for code, _ in answers), f"recipient refused: {text}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return Failure(True, f"the server closed the connection: {exc}", transport=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        answer = _answer(code, exc.smtp_error)
        if 400 <= code < 500:
            return Failure(True, answer)
        if 500 <= code < 600:
            return Failure(False, answer)
        return Failure(True, f"unexpected answer {answer}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Failure(False, f"the server does not support what this message needs: {exc}")
    if isinstance(exc, (OSError, smtplib.SMTPException)):
        return Failure(True, f"{type(exc).__name__}: {exc}", transport=True)
    raise exc


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Threads started in here never receive SIGINT/SIGTERM, so the signal interrupts the thread that waits on
    the network (a signal the kernel hands to another thread would leave that one blocked)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _Watchdog:
    """Shuts the connection down when the deadline passes or abort() is called, ending any wait on it.

    It holds a duplicate of the connection's socket: shutting that down ends the TCP
    connection under every layer above it (smtplib's reader, TLS), and it stays valid
    when STARTTLS replaces smtplib's socket object.
    """

    def __init__(self, server: str) -> None:
        self.server = server  # the server's safe URL, for the messages
        self.expired = False
        self.aborted = False
        self.seconds = 0.0
        self._handle: socket.socket | None = None
        self._ends_at: float | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()  # the watchdog thread against the sending thread's attach/detach

    # -- the sending thread
    def start(self, seconds: float) -> None:
        self.stop()
        self.expired = False
        self.seconds = seconds
        self._ends_at = time.monotonic() + seconds
        timer = threading.Timer(seconds, self._expire)
        timer.daemon = True
        with _signals_blocked():
            timer.start()
        self._timer = timer

    def stop(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            timer.join()
        self._ends_at = None

    @property
    def running(self) -> bool:
        return self._timer is not None

    def remaining(self) -> float:
        if self._ends_at is None:
            return math.inf
        return max(self._ends_at - time.monotonic(), 0.0)

    def attach(self, sock: socket.socket) -> None:
        handle = sock.dup()
        with self._lock:
            old, self._handle = self._handle, handle
        if old is not None:
            old.close()
        if self.aborted or self.expired:
            self._shut()

    def detach(self) -> None:
        with self._lock:
            old, self._handle = self._handle, None
        if old is not None:
            old.close()

    def check(self) -> None:
        """Raise SendInterrupted or DeadlineExceeded if the send must end now."""
        if self.aborted:
            raise SendInterrupted("delivery was stopped before the server accepted the message")
        if self.expired or self.remaining() <= 0:
            self.expired = True
            raise DeadlineExceeded(
                f"the mail server {self.server} did not finish within the {self.seconds:g}-second deadline "
                f"({DEADLINE_ENV}); the message is tried again later"
            )

    # -- any thread, and signal handlers
    def _expire(self) -> None:
        self.expired = True
        with self._lock:
            self._shut_locked()

    def abort(self) -> None:
        """End the current send now and refuse later ones. Safe in a signal handler: it never waits for a lock."""
        self.aborted = True
        self._shut()

    def _shut(self) -> None:
        if self._lock.acquire(blocking=False):
            try:
                self._shut_locked()
            finally:
                self._lock.release()
        # else: the watchdog is shutting the connection down already, or the sender is replacing or closing
        # it; the flags set before are checked at the sender's next step.

    def _shut_locked(self) -> None:
        if self._handle is not None:
            try:
                self._handle.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _open_socket(watchdog: _Watchdog, host: str, port: int, timeout: float,
                 source_address: _Address | None) -> socket.socket:
    """socket.create_connection, with each socket handed to the watchdog before it connects."""
    error: OSError | None = None
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        watchdog.check()
        sock = socket.socket(family, kind, proto)
        try:
            watchdog.attach(sock)
            # Connecting never outlasts the deadline (a connect in progress is not ended by every system's
            # shutdown()); after that `timeout` is the wait for one read or write, the watchdog the whole.
            sock.settimeout(max(min(timeout, watchdog.remaining()), 0.001))
            if source_address:
                sock.bind(source_address)
            sock.connect(address)
            sock.settimeout(timeout)
            return sock
        except OSError as exc:
            error = exc
            watchdog.detach()
            sock.close()
    raise error or OSError(f"no address found for {host}")


class _SMTP(smtplib.SMTP):
    def __init__(self, watchdog: _Watchdog, host: str, timeout: float, local_hostname: str | None) -> None:
        self._watchdog = watchdog
        super().__init__(local_hostname=local_hostname, timeout=timeout)  # no host: connect() comes next
        self._host = host  # the name STARTTLS checks the certificate against

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:  # smtplib's signature
        return _open_socket(self._watchdog, host, port, timeout, self.source_address)


class _SMTP_SSL(smtplib.SMTP_SSL):  # noqa: N801 - after smtplib.SMTP_SSL
    def __init__(self, watchdog: _Watchdog, host: str, timeout: float, local_hostname: str | None,
                 context: ssl.SSLContext) -> None:
        self._watchdog = watchdog
        super().__init__(local_hostname=local_hostname, timeout=timeout, context=context)
        self._host = host

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:  # smtplib's signature
        raw = _open_socket(self._watchdog, host, port, timeout, self.source_address)
        try:
            return self.context.wrap_socket(raw, server_hostname=self._host)
        except BaseException:
            raw.close()
            raise


class SmtpTransport:
    """One SMTP connection, opened on first use and reused until close() or an error.

    Every send() runs under the configured deadline; abort() ends the one in progress
    (SendInterrupted) and refuses the ones after it.
    """

    def __init__(self, config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None
        self._watchdog = _Watchdog(config.safe_url())
        self._local_hostname: str | None = None  # found once (socket.getfqdn), then reused

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context(cafile=self.config.cafile)

    def abort(self) -> None:
        """Stop: the send in progress ends at once with SendInterrupted, and so does every later one.

        Meant for a signal handler in the sending thread (it never blocks) or another thread."""
        self._watchdog.abort()

    @property
    def aborted(self) -> bool:
        return self._watchdog.aborted

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        watchdog = self._watchdog
        smtp: smtplib.SMTP | None = None
        try:
            if cfg.implicit_tls:
                smtp = _SMTP_SSL(watchdog, cfg.host, cfg.timeout, self._local_hostname, self._context())
            else:
                smtp = _SMTP(watchdog, cfg.host, cfg.timeout, self._local_hostname)
            self._local_hostname = smtp.local_hostname
            code, answer = smtp.connect(cfg.host, cfg.port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, answer)
            peer = _peer(smtp)
            watchdog.check()
            smtp.ehlo_or_helo_if_needed()
            tls = cfg.implicit_tls
            if not tls and (cfg.starttls or smtp.has_extn("starttls")):
                watchdog.check()
                smtp.starttls(context=self._context())
                smtp.ehlo()
                tls = True
            if cfg.user:
                if not credentials_allowed(tls=tls, peer=peer, insecure=cfg.insecure):
                    raise CredentialsNeedTLS(
                        f"the mail server {cfg.safe_url()} offers no STARTTLS, and deskconsole sends a password "
                        "only over TLS: use smtps://, a server that offers STARTTLS, or add ?insecure=1 to the "
                        "URL to send it in clear"
                    )
                watchdog.check()
                smtp.login(cfg.user, cfg.password or "")
            watchdog.check()
        except (OSError, smtplib.SMTPException, SendInterrupted, TransportUnavailable) as exc:
            if smtp is not None:
                _close_quietly(smtp)
            watchdog.detach()
            if isinstance(exc, (SendInterrupted, TransportUnavailable)):
                raise
            self._raise_if_stopped(exc)
            if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code:
                detail = _answer(exc.smtp_code, exc.smtp_error)
            else:
                detail = f"{type(exc).__name__}: {exc}"
            raise TransportUnavailable(f"cannot use the mail server {cfg.safe_url()}: {detail}") from exc
        return smtp

    def _raise_if_stopped(self, exc: BaseException) -> None:
        """After a failed network step: was it the watchdog's doing (abort, deadline)? Then say so."""
        try:
            self._watchdog.check()
        except (DeadlineExceeded, SendInterrupted) as stopped:
            raise stopped from exc

    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        if self._watchdog.aborted:
            raise SendInterrupted("delivery was stopped before the server accepted the message")
        self._watchdog.start(self.config.deadline)
        try:
            return self._send(message, sender, recipients)
        except (OSError, smtplib.SMTPException) as exc:
            if self._watchdog.aborted or self._watchdog.expired:
                self._drop()
                self._raise_if_stopped(exc)
            raise
        finally:
            self._watchdog.stop()

    def _send(self, message: EmailMessage, sender: str, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        reused = self._smtp is not None
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            return self._smtp.send_message(message, from_addr=sender, to_addrs=recipients)
        except smtplib.SMTPServerDisconnected:
            self._drop()
            if not reused:
                raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code in (421,):  # the server is closing this connection
                self._drop()
            else:
                self._reset()
            raise
        except (OSError, smtplib.SMTPException):
            self._drop()
            raise
        # A kept-open connection the server had dropped: one fresh try (within the same deadline).
        self._watchdog.check()
        self._smtp = self._connect()
        try:
            return self._smtp.send_message(message, from_addr=sender, to_addrs=recipients)
        except (OSError, smtplib.SMTPException):
            self._drop()
            raise

    def _reset(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        """Close the connection (under the watchdog already running)."""
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            _close_quietly(smtp)
        self._watchdog.detach()

    def close(self) -> None:
        """Say QUIT and close; a server that drips its answer to QUIT gets QUIT_BUDGET seconds, an aborted
        transport none (it just closes)."""
        if self._smtp is None or self._watchdog.aborted:
            if self._smtp is not None:
                smtp, self._smtp = self._smtp, None
                smtp.close()
            self._watchdog.detach()
            return
        self._watchdog.start(min(QUIT_BUDGET, self.config.deadline))
        try:
            self._drop()
        finally:
            self._watchdog.stop()


def _peer(smtp: smtplib.SMTP) -> str | None:
    sock = smtp.sock
    if sock is None:
        return None
    try:
        return str(sock.getpeername()[0])
    except (OSError, AttributeError, IndexError, TypeError):
        return None


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        try:
            smtp.close()
        except OSError:
            pass
