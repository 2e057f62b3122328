"""Sending a built message: SMTP through the standard library's smtplib.

The worker sees two kinds of failure:
- TransportUnavailable: the server cannot be reached or will not let us in
  (connection refused, TLS or STARTTLS trouble, authentication). Nothing about
  the message is wrong; the worker retries later and stops the pass.
- anything smtplib raises while sending one message, which the worker sorts
  into temporary (4xx, dropped connection) and permanent (5xx) with
  `classify()`.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from deskconsole.delivery.smtp_url import SmtpConfig


class TransportUnavailable(Exception):
    """The mail server cannot take messages now (not the message's fault)."""


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


def _answer(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


def classify(exc: BaseException) -> Failure:
    """Temporary or permanent, with the server's answer, for an error raised while sending."""
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


class SmtpTransport:
    """One SMTP connection, opened on first use and reused until close() or an error."""

    def __init__(self, config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        smtp: smtplib.SMTP | None = None
        try:
            if cfg.implicit_tls:
                smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            smtp.ehlo_or_helo_if_needed()
            if cfg.starttls:
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if cfg.user:
                smtp.login(cfg.user, cfg.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            if smtp is not None:
                _close_quietly(smtp)
            what = exc.smtp_code if isinstance(exc, smtplib.SMTPResponseException) else None
            detail = _answer(exc.smtp_code, exc.smtp_error) if what else f"{type(exc).__name__}: {exc}"
            raise TransportUnavailable(f"cannot use the mail server {cfg.safe_url()}: {detail}") from exc
        return smtp

    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        reused = self._smtp is not None
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            return self._smtp.send_message(message, from_addr=sender, to_addrs=recipients)
        except smtplib.SMTPServerDisconnected:
            self.close()
            if not reused:
                raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code in (421,):  # the server is closing this connection
                self.close()
            else:
                self._reset()
            raise
        except (OSError, smtplib.SMTPException):
            self.close()
            raise
        # A kept-open connection the server had dropped: one fresh try.
        self._smtp = self._connect()
        try:
            return self._smtp.send_message(message, from_addr=sender, to_addrs=recipients)
        except (OSError, smtplib.SMTPException):
            self.close()
            raise

    def _reset(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            _close_quietly(smtp)


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        try:
            smtp.close()
        except OSError:
            pass
