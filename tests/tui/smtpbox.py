"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the console's outbox tests, and one delivery pass through it."""

from __future__ import annotations

import socket
import threading

from aiosmtpd.controller import Controller

from deskconsole.delivery import Deliverer, DeliveryOptions, SmtpTransport, parse_smtp_url

REFUSAL = "550 5.7.1 [bold]Refused[/bold] by policy: <help@customer1.example> $x {y}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """Accepts every message except the ones scripted in `refuse_data` (one answer per message, in order)."""

    def __init__(self, refuse_data: list[str] | None = None) -> None:
        self.lock = threading.Lock()
        self.accepted: list[bytes] = []
        self.refuse_data = list(refuse_data or [])
        self.url = ""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            if self.refuse_data:
                return self.refuse_data.pop(0)
            self.accepted.append(envelope.content)
        return "250 2.0.0 Message accepted"


def start(box: Mailbox) -> Controller:
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.url = f"smtp://127.0.0.1:{controller.port}"
    return controller


def deliverer(service, url: str) -> Deliverer:
    config = parse_smtp_url(url, {})
    # a fixed token: the Message-IDs (shown in the outbox pane) are the same every run
    return Deliverer(service.engine, service.clock, SmtpTransport(config),
                     DeliveryOptions(sender=config.sender, token=lambda: "T0KEN123"))
