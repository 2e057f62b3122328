"""What the console hears from the change watcher (store/watch.py): a Change, or that the database
cannot be reached. Light enough for the console to import at start: the database libraries are
imported only when an error is looked at."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    """Something was committed. `cases`: the case ids touched, or None when not known (anything)."""

    cases: frozenset[int] | None = None
    reconnected: bool = False

    def touches(self, case_id: int | None) -> bool:
        return self.cases is None or (case_id is not None and case_id in self.cases)

    def merge(self, other: Change) -> Change:
        if self.cases is None or other.cases is None:
            return Change(None, self.reconnected or other.reconnected)
        return Change(self.cases | other.cases, self.reconnected or other.reconnected)


class WatchLost(Exception):
    """The watcher's connection is gone (and a reconnect just failed)."""


def connection_lost(error: BaseException) -> bool:
    """Whether an error means the database cannot be reached (rather than a refusal or a bug)."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, WatchLost):
        return True
    orig: BaseException | None = error
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        orig = error.orig
    if isinstance(orig, sqlite3.OperationalError):
        text = str(orig).lower()
        return "unable to open" in text or "disk i/o" in text
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg ships with deskconsole
        return False
    if isinstance(orig, psycopg.InterfaceError):
        return "closed" in str(orig).lower() or "connection" in str(orig).lower()
    if isinstance(orig, psycopg.OperationalError):
        state = getattr(orig, "sqlstate", None)
        # no SQLSTATE: libpq could not connect or the server went away; 08: connection exceptions;
        # 57P0x: the server or an administrator ended the session; 55000 + "accepting connections".
        return (
            state is None
            or state.startswith("08")
            or state in ("57P01", "57P02", "57P03")
            or "not currently accepting connections" in str(orig)
        )
    return False


__all__ = ["Change", "WatchLost", "connection_lost"]


def storage_full(error: BaseException) -> bool:
    """Whether an error means the database's disk is full (or failed under a write): nothing of the
    transaction was stored, and trying again once there is room will do. SQLite: SQLITE_FULL, or the
    transaction it rolled back by itself (store.engine.TransactionLost); PostgreSQL: class 53
    (disk full, out of memory) or a write the server's storage refused."""
    from sqlalchemy.exc import DBAPIError

    from deskconsole.store.engine import TransactionLost

    if isinstance(error, TransactionLost):
        return True
    orig = error.orig if isinstance(error, DBAPIError) else error
    if isinstance(orig, sqlite3.OperationalError):
        text = str(orig).lower()
        return "disk is full" in text or "disk i/o" in text
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str) and state.startswith("53"):
        return True
    return "no space left on device" in str(orig).lower()
