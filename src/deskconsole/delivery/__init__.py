"""E-mail delivery of the outbox over SMTP (off until DESKCONSOLE_SMTP_URL is set).

    smtp_url   DESKCONSOLE_SMTP_URL and friends → SmtpConfig
    templates  per-kind messages, plain text + HTML, English / German / French
    transport  SmtpTransport (smtplib) and the temporary/permanent sorting of failures
    worker     deliver_once, watch, requeue, Deliverer (the claim/send/mark cycle)
    cli        `deskconsole deliver`
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use: the worker pulls in SQLAlchemy and the mail modules, which the
# console's start and `deskconsole --help` do not need.
_WHERE = {
    "SmtpConfig": "smtp_url", "parse_smtp_url": "smtp_url", "smtp_config_from_env": "smtp_url",
    "SmtpTransport": "transport", "TransportUnavailable": "transport",
    "Deliverer": "worker", "DeliveryOptions": "worker", "DeliveryResult": "worker", "deliver_once": "worker",
    "requeue": "worker", "watch": "worker",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"deskconsole.delivery.{module}"), name)


__all__ = [
    "Deliverer",
    "DeliveryOptions",
    "DeliveryResult",
    "SmtpConfig",
    "SmtpTransport",
    "TransportUnavailable",
    "deliver_once",
    "parse_smtp_url",
    "requeue",
    "smtp_config_from_env",
    "watch",
]
