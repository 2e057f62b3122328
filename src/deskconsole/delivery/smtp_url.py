"""The SMTP server deskconsole sends through, configured by one URL.

    DESKCONSOLE_SMTP_URL=smtp://mail.example:25                 plain SMTP
    DESKCONSOLE_SMTP_URL=smtp://mail.example:587?starttls=1     SMTP, upgraded with STARTTLS
    DESKCONSOLE_SMTP_URL=smtps://desk%40example.org:secret@mail.example   implicit TLS (465)

User and password come from the URL (percent-encoded) or from
DESKCONSOLE_SMTP_USER / DESKCONSOLE_SMTP_PASSWORD, which win over the URL so the
secret need not sit in a unit file. The sender address is DESKCONSOLE_SMTP_FROM
(default `deskconsole@localhost`).

Query options:
    starttls=1      STARTTLS is required (without it, it is still used whenever the server offers it)
    insecure=1      a user and password may go in clear to a server that offers no TLS
                    (without it they go only over TLS, or to a loopback address)
    cafile=PATH     trust the CA certificates in PATH (PEM) instead of the system's
    timeout=S       seconds one network operation may wait (default 30)
Flags take 1/0, true/false, yes/no, on/off.

DESKCONSOLE_SMTP_DEADLINE (seconds, default 120, at most 240) bounds the whole of
one message: connecting, the greeting, every command and the data. It stays
shorter than the worker's five-minute lease, so a slow server never lets a
second worker send the same row.

Without DESKCONSOLE_SMTP_URL delivery is off: outbox rows stay queued and visible.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.mail import is_address

URL_ENV = "DESKCONSOLE_SMTP_URL"
USER_ENV = "DESKCONSOLE_SMTP_USER"
PASSWORD_ENV = "DESKCONSOLE_SMTP_PASSWORD"
FROM_ENV = "DESKCONSOLE_SMTP_FROM"
DEADLINE_ENV = "DESKCONSOLE_SMTP_DEADLINE"
DEFAULT_FROM = "deskconsole@localhost"
DEFAULT_TIMEOUT = 30.0
DEFAULT_DEADLINE = 120.0
MAX_DEADLINE = 240.0  # the worker's lease is 5 minutes: a minute is left to record the outcome

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
    insecure: bool = False  # ?insecure=1: credentials may go in clear when the server offers no TLS
    cafile: str | None = None  # ?cafile=PATH: the CAs to verify the server's certificate with
    deadline: float = DEFAULT_DEADLINE  # seconds for one whole message (DESKCONSOLE_SMTP_DEADLINE)

    def __repr__(self) -> str:  # never show the password
        return f"SmtpConfig({self.safe_url()!r}, sender={self.sender!r})"

    def safe_url(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        who = f"{self.user}:***@" if self.user and self.password else (f"{self.user}@" if self.user else "")
        host = f"[{self.host}]" if ":" in self.host else self.host
        options = [name for name, on in (("starttls=1", self.starttls), ("insecure=1", self.insecure)) if on]
        query = f"?{'&'.join(options)}" if options else ""
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
def check_address(value: str, what: str) -> str:
    """A bare e-mail address (local@domain), or InvalidInput."""
    value = value.strip()
    if not is_address(value):
        raise InvalidInput(f"{what} {value!r} is not an e-mail address (local@domain)")
    return value


# Plain ASCII digits only (str.isdigit would take "²"), an optional fraction and "s".
_SECONDS_RE = re.compile(r"(\d{1,6})(\.\d{1,3})?\s*s?", re.ASCII)


def parse_deadline(value: str | None) -> float:
    """DESKCONSOLE_SMTP_DEADLINE: seconds, more than 0 and at most MAX_DEADLINE; unset or empty: the default."""
    if value is None or value == "":
        return DEFAULT_DEADLINE
    match = _SECONDS_RE.fullmatch(value.strip())
    seconds = float(value.strip().rstrip("s").strip()) if match else math.nan
    if not (match and math.isfinite(seconds) and 0 < seconds <= MAX_DEADLINE):
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise InvalidInput(
            f"{DEADLINE_ENV}={shown!r}: give the seconds one message may take, "
            f"more than 0 and at most {MAX_DEADLINE:g} (default {DEFAULT_DEADLINE:g})"
        )
    return seconds


def _check_cafile(value: str) -> str:
    import ssl  # (here: the CLI imports this module on every start, and most starts send no mail)

    path = os.path.expanduser(value)
    if not os.path.isfile(path):
        raise InvalidInput(f"SMTP URL option cafile={value!r}: no such file")
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise InvalidInput(f"SMTP URL option cafile={value!r}: not a PEM file of CA certificates ({exc})") from None
    return path


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
    starttls = insecure = False
    cafile = None
    timeout = DEFAULT_TIMEOUT
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "starttls":
            starttls = _flag(name, value)
        elif name == "insecure":
            insecure = _flag(name, value)
        elif name == "cafile":
            cafile = _check_cafile(value)
        elif name == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                raise InvalidInput(f"SMTP URL option timeout={value!r}: give seconds") from None
            if not 0 < timeout <= 600:
                raise InvalidInput("SMTP URL option timeout must be between 0 and 600 seconds")
        else:
            raise InvalidInput(f"unknown SMTP URL option {name!r} (starttls, insecure, cafile, timeout)")
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
    deadline = parse_deadline(env.get(DEADLINE_ENV))
    return SmtpConfig(
        host=host, port=port, implicit_tls=implicit_tls, starttls=starttls, user=user, password=password,
        timeout=timeout, sender=sender, insecure=insecure, cafile=cafile, deadline=deadline,
    )


def smtp_config_from_env(environ: Mapping[str, str] | None = None) -> SmtpConfig | None:
    """The configured server, or None when delivery is off (no DESKCONSOLE_SMTP_URL)."""
    env = os.environ if environ is None else environ
    url = (env.get(URL_ENV) or "").strip()
    if not url:
        return None
    return parse_smtp_url(url, env)
