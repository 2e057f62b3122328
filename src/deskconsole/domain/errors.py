"""Refusals. Every front end shows these as one line; nothing was changed."""


class DeskError(Exception):
    """An action was refused; the message is meant for the user.

    `console`, when given, is the same refusal in the console's words (the message itself may name
    command-line options such as --note, which mean nothing in the console)."""

    def __init__(self, *args: object, console: str | None = None) -> None:
        super().__init__(*args)
        self.console = console


class NotFound(DeskError):
    pass


class InvalidTransition(DeskError):
    pass


class PermissionDenied(DeskError):
    pass


class Conflict(DeskError):
    """The case changed since the caller read it (stale version)."""

    def __init__(self, message: str, *, current_version: int | None = None, changed_by: str | None = None,
                 change: str | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version
        self.changed_by = changed_by
        self.change = change


class InvalidInput(DeskError):
    pass
