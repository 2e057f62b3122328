"""E-mail delivery of the outbox over SMTP (off until DESKCONSOLE_SMTP_URL is set).

    smtp_url   DESKCONSOLE_SMTP_URL and friends → SmtpConfig
    templates  per-kind messages, plain text + HTML, English / German / French
    transport  SmtpTransport (smtplib) and the temporary/permanent sorting of failures
    worker     deliver_once, watch, requeue, Deliverer (the claim/send/mark cycle)
    cli        `deskconsole deliver`
"""

from deskconsole.delivery.smtp_url import SmtpConfig, parse_smtp_url, smtp_config_from_env
from deskconsole.delivery.transport import SmtpTransport, TransportUnavailable
from deskconsole.delivery.worker import (
    Deliverer,
    DeliveryOptions,
    DeliveryResult,
    deliver_once,
    requeue,
    watch,
)

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
