"""The console's own delivery of the outbox (DeskApp's part): off until DESKCONSOLE_SMTP_URL is
set; a pass every DELIVERY_INTERVAL seconds in a worker (deskconsole.delivery.worker), its outcome in
the Outbox pane's status line and as notices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.worker import Worker

from deskconsole.domain.errors import InvalidInput
from deskconsole.tui.messages import OutboxDelivered
from deskconsole.tui.text import clean

if TYPE_CHECKING:
    from datetime import tzinfo

    from textual.timer import Timer

    from deskconsole.domain.clock import Clock

DELIVERY_INTERVAL = 30.0  # seconds from the end of one delivery pass to the start of the next
DELIVERY_FIRST_DELAY = 1.0
DELIVERY_BATCH = 20


class DeliveryPart:
    """Mixed into DeskApp: its attributes are set in DeskApp.__init__."""

    if TYPE_CHECKING:
        deliverer: Any
        delivery_problem: str | None
        last_delivery: tuple[Any, int, int] | None
        delivery_interval: float
        environ: Any
        clock: Clock
        tz: tzinfo | None
        _server_down: bool
        _delivery_timer: Timer | None

        @property
        def service(self) -> Any: ...
        @property
        def pane(self) -> Any: ...
        @property
        def workers(self) -> Any: ...
        def notify(self, *args: Any, **kwargs: Any) -> None: ...
        def set_timer(self, *args: Any, **kwargs: Any) -> Timer: ...
        def run_worker(self, *args: Any, **kwargs: Any) -> Worker[Any]: ...
        def post_message(self, message: Any) -> bool: ...

    def _start_delivery(self) -> None:
        """Build the deliverer once, from the environment (off without DESKCONSOLE_SMTP_URL)."""
        if self.deliverer is None:
            from deskconsole.delivery.worker import Deliverer

            try:
                self.deliverer = Deliverer.from_env(self.service.engine, self.clock, self.environ)
            except InvalidInput as exc:
                self.delivery_problem = clean(str(exc), single_line=True)
                self.notify(f"Delivery is off: {self.delivery_problem}", title="DESKCONSOLE_SMTP_URL",
                            severity="warning", timeout=10, markup=False)
        if self.deliverer is not None:
            self._arm_delivery(DELIVERY_FIRST_DELAY)

    def delivery_line(self) -> Text:
        """Whether this console delivers the outbox, for the Outbox pane."""
        line = Text(no_wrap=True, overflow="ellipsis")
        if self.deliverer is None:
            line.append(" delivery off", "bold yellow")
            if self.delivery_problem:
                line.append(": DESKCONSOLE_SMTP_URL is not usable (", "dim")
                line.append(self.delivery_problem, "yellow")
                line.append("); messages wait here", "dim")
            else:
                line.append(": set DESKCONSOLE_SMTP_URL; messages wait here", "dim")
            return line
        line.append(" delivery on", "bold green")
        config = getattr(self.deliverer.transport, "config", None)
        where = config.safe_url() if config is not None else type(self.deliverer.transport).__name__
        line.append(": ")
        line.append(clean(where, single_line=True), "bold")
        if self._server_down and self.last_delivery is not None:
            line.append(f"  mail server unreachable at {self.last_delivery[0].astimezone(self.tz):%H:%M:%S}; "
                        "messages stay queued and are tried again", "bold yellow")
        elif self.last_delivery is not None:
            at, sent, failed = self.last_delivery
            line.append(f"  last pass {at.astimezone(self.tz):%H:%M:%S}: ", "dim")
            line.append(f"{sent} sent", "green" if sent else "dim")
            line.append(", ", "dim")
            line.append(f"{failed} failed", "bold red" if failed else "dim")
        return line

    def _arm_delivery(self, delay: float | None = None) -> None:
        if self._delivery_timer is not None:
            self._delivery_timer.stop()
        self._delivery_timer = self.set_timer(self.delivery_interval if delay is None else delay,
                                              self._deliver, name="delivery")

    def _delivering(self) -> bool:
        return any(w.group == "delivery" and w.is_running for w in self.workers)

    def deliver_now(self) -> None:
        """Send what is due now (the delivery worker, once), unless a pass is running already."""
        if self.deliverer is None:
            self.notify("Delivery is off: set DESKCONSOLE_SMTP_URL to send from this console.", title="Outbox")
            return
        if self._delivering():
            self.notify("A delivery pass is running already.", title="Outbox")
            return
        self._deliver()

    def _deliver(self) -> Worker | None:
        if self.deliverer is None or self._delivering():
            return None
        if self._delivery_timer is not None:
            self._delivery_timer.stop()
            self._delivery_timer = None
        return self.run_worker(self._deliver_run, thread=True, group="delivery", exclusive=True,
                               exit_on_error=False, name="delivery")

    def _deliver_run(self) -> None:
        results = self.deliverer.run_once(limit=DELIVERY_BATCH)
        self.post_message(OutboxDelivered(results))

    def on_outbox_delivered(self, message: OutboxDelivered) -> None:
        results = message.results
        failed = [r for r in results if r.state == "failed"]
        self.last_delivery = (self.clock.now(), sum(1 for r in results if r.state == "sent"), len(failed))
        for r in failed[:3]:
            self.notify(
                clean(f"message {r.outbox} (case {r.case}, {r.kind.replace('_', ' ')} to {r.to}) failed: {r.error}",
                      single_line=True)[:400],
                title="Delivery failed", severity="error", timeout=15, markup=False,
            )
        if len(failed) > 3:
            self.notify(f"and {len(failed) - 3} more messages failed: see the Outbox (6)", title="Delivery failed",
                        severity="error", timeout=15, markup=False)
        down = any(getattr(r, "server_unavailable", False) for r in results)
        if down and not self._server_down:
            error = next((r.error for r in results if r.server_unavailable), "")
            self.notify(clean(f"The mail server cannot be reached; messages stay queued and are tried again. "
                              f"{error}", single_line=True)[:400],
                        title="Delivery", severity="warning", timeout=10, markup=False)
        self._server_down = down
        pane = self.pane
        if pane is not None and pane.PANE == "outbox":
            if results:
                pane.reload()
            else:
                pane.show_delivery()


__all__ = ["DELIVERY_BATCH", "DELIVERY_FIRST_DELAY", "DELIVERY_INTERVAL", "DeliveryPart"]
