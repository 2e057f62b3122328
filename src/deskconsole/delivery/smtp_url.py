"""The SMTP server deskconsole sends through, configured by one URL.

    DESKCONSOLE_SMTP_URL=smtp://mail.example:25                 plain SMTP
    DESKCONSOLE_SMTP_URL=smtp://mail.example:587?starttls=1     SMTP, upgraded with STARTTLS
    DESKCONSOLE_SMTP_URL=smtps://desk%40example.org:secret@mail.example   implicit TLS (465)

User and password come from the URL (percent-encoded) or from
DESKCONSOLE_SMTP_USER / DESKCONSOLE_SMTP_PASSWORD, which win over the URL so the
secret need not sit in a unit file. Query options: `starttls` (1/0, true/false,
yes/no), `timeout` (seconds, default 30). The sender address is
DESKCONSOLE_SMTP_FROM (default `deskconsole@localhost`).

Without DESKCONSOLE_SMTP_URL delivery is off: outbox rows stay queued and visible.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from deskconsole.domain.errors import InvalidInput

URL_ENV = "DESKCONSOLE_SMTP_URL"
USER_ENV = "DESKCONSOLE_SMTP_USER"
PASSWORD_ENV = "DESKCONSOLE_SMTP_PASSWORD"
FROM_ENV = "DESKCONSOLE_SMTP_FROM"
DEFAULT_FROM = "deskconsole@localhost"
DEFAULT_TIMEOUT = 30.0

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool = False  # smtps://
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    sender: str = DEFAULT_FROM

    def __repr__(self) -> str:  # never show the password
        return f"SmtpConfig({self.safe_url()!r}, sender={self.sender!r})"

    def safe_url(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        who = f"{self.user}:***@" if self.user and self.password else (f"{self.user}@" if self.user else "")
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "?starttls=1" if self.starttls else ""
        return f"{scheme}://{who}{host}:{self.port}{query}"

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2] or "localhost"


def _flag(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise InvalidInput(f"SMTP URL option {name}={value!r}: use 1 or 0")


# Pragmatic: one local part and one domain, no spaces, quotes, brackets or separators.
_ADDRESS_RE = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}@[^@\s<>()\[\],;:\"\\_]{1,253}$")


def is_address(value: str | None) -> bool:
    """Whether `value` is a bare e-mail address (local@domain)."""
    if not value or not _ADDRESS_RE.match(value):
        return False
    domain = value.rpartition("@")[2]
    return not domain.startswith((".", "-")) and not domain.endswith((".", "-")) and ".." not in domain


def check_address(value: str, what: str) -> str:
    """A bare e-mail address (local@domain), or InvalidInput."""
    value = value.strip()
    if not is_address(value):
        raise InvalidInput(f"{what} {value!r} is not an e-mail address (local@domain)")
    return value


def parse_smtp_url(url: str, environ: Mapping[str, str] | None = None) -> SmtpConfig:
    """Parse an smtp:// or smtps:// URL (plus the credential and sender variables)."""
    env = os.environ if environ is None else environ
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise InvalidInput(f"SMTP URL must start with smtp:// or smtps://, not {url.split(':', 1)[0]!r}")
    try:
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"SMTP URL has a bad port: {exc}") from None
    if not host:
        raise InvalidInput("SMTP URL names no host (smtp://host:port)")
    if parts.path not in ("", "/"):
        raise InvalidInput(f"SMTP URL takes no path ({parts.path!r})")
    implicit_tls = scheme == "smtps"
    starttls = False
    timeout = DEFAULT_TIMEOUT
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "starttls":
            starttls = _flag(name, value)
        elif name == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                raise InvalidInput(f"SMTP URL option timeout={value!r}: give seconds") from None
            if not 0 < timeout <= 600:
                raise InvalidInput("SMTP URL option timeout must be between 0 and 600 seconds")
        else:
            raise InvalidInput(f"unknown SMTP URL option {name!r} (starttls, timeout)")
    if implicit_tls and starttls:
        raise InvalidInput("smtps:// already uses TLS; drop ?starttls=1 or use smtp://")
    if port is None:
        port = 465 if implicit_tls else (587 if starttls else 25)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    user = env.get(USER_ENV) or user
    password = env.get(PASSWORD_ENV) or password
    if password and not user:
        raise InvalidInput(f"an SMTP password is set but no user (put it in the URL or {USER_ENV})")
    sender = check_address(env.get(FROM_ENV) or DEFAULT_FROM, FROM_ENV)
    return SmtpConfig(
        host=host, port=port, implicit_tls=implicit_tls, starttls=starttls, user=user, password=password,
        timeout=timeout, sender=sender,
    )


def smtp_config_from_env(environ: Mapping[str, str] | None = None) -> SmtpConfig | None:
    """The configured server, or None when delivery is off (no DESKCONSOLE_SMTP_URL)."""
    env = os.environ if environ is None else environ
    url = (env.get(URL_ENV) or "").strip()
    if not url:
        return None
    return parse_smtp_url(url, env)
