"""Messages the console's workers send back, named for what happened."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.message import Message

from deskconsole.domain.errors import DeskError
from deskconsole.store.changes import Change

if TYPE_CHECKING:
    from deskconsole.domain.views import Fired


class ServiceAnswered(Message):
    """A service call made in a worker came back with a result."""

    def __init__(self, result: Any, then: Callable[[Any], None] | None) -> None:
        super().__init__()
        self.result = result
        self.then = then


class ServiceRefused(Message):
    """A service call made in a worker was refused (DeskError) or failed."""

    def __init__(self, error: Exception, otherwise: Callable[[Exception], None] | None) -> None:
        super().__init__()
        self.error = error
        self.otherwise = otherwise

    @property
    def refused(self) -> bool:
        return isinstance(self.error, DeskError)


class ServiceLoaded(Message):
    """The service finished loading in the background (fast start); `error` when it could not."""

    def __init__(self, service: Any, error: BaseException | None) -> None:
        super().__init__()
        self.service = service
        self.error = error


class TimersTicked(Message):
    """The background worker reached the database: what fired, and the newest change marker (None: not polled)."""

    def __init__(self, fired: list[Fired], marker: int | None) -> None:
        super().__init__()
        self.fired = fired
        self.marker = marker


class OutboxDelivered(Message):
    """The delivery worker made a pass over the outbox: what happened to each message it tried."""

    def __init__(self, results: list[Any]) -> None:
        super().__init__()
        self.results = results



class DeskChanged(Message):
    """The change watcher saw a commit: which cases it touched (Change.cases None: any)."""

    def __init__(self, change: Change) -> None:
        super().__init__()
        self.change = change


class DatabaseLost(Message):
    """A background worker could not reach the database."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error
