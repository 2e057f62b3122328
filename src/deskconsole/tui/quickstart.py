"""The console's fast start: the first window painted before the service has loaded.

Loading the lifecycle service (SQLAlchemy, the tables, the schema check) takes longer than
painting the queue. So `deskconsole` first opens a plain driver connection (sqlite3, or
psycopg for PostgreSQL), looks up who is using the console and reads the queue's first
window with the same SQL the service uses (deskconsole.store.window); right after the first
paint the service loads in a background thread (`QuickStart.load`), and from then on every
read and every change goes through it. Only the service writes: the quick connection is
read-only (`PRAGMA query_only` on SQLite, a read-only session on PostgreSQL).

When the fast start does not apply (an in-memory or unusual URL, a database without our
tables, an unknown user, any error) `open_quick` returns None and the console starts the
ordinary way, which reports the problem.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from deskconsole.domain.clock import SystemClock
from deskconsole.domain.rows import CaseRow
from deskconsole.domain.saved_views import View, from_record
from deskconsole.store.whoami import plain_acting
from deskconsole.store.window import Asked, Superseded, Superseding, read_window
from deskconsole.tui.loading import loading

if TYPE_CHECKING:
    from deskconsole.settings import Settings


def _sqlite_path(url: str) -> str | None:
    """The file of a plain `sqlite:///path` URL (None for anything else)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix):]
    if not path or path == ":memory:" or path.startswith("file:") or any(ch in path for ch in "?%#"):
        return None
    return path


def _pg_conninfo(url: str) -> str | None:
    for prefix in ("postgresql+psycopg://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return None


class QuickStart:
    """A read-only connection for the first windows, and the service loading behind it."""

    def __init__(self, connection: Any, paramstyle: str, agent: tuple[int, str, str],
                 load: Callable[[], Any]) -> None:
        self._connection = connection
        self._paramstyle = paramstyle
        self.agent_id, self.name, self.role = agent
        self._load = load
        self._lock = threading.Lock()
        self._loaded = threading.Event()
        self._started = False
        self._waiting: list[Callable[[Any, BaseException | None], None]] = []  # start()'s `done`s
        self._service: Any = None
        self._error: BaseException | None = None
        self._handed: tuple[dict[str, Any], list[CaseRow]] | None = None
        self._saved: list[View] | None = None  # saved_views(), once read

    def handover(self, query: dict[str, Any], rows: list[CaseRow]) -> None:
        """A window read already (the terminal pre-paint's): the console's first ask for this
        same window gets these rows instead of a second read."""
        self._handed = (dict(query), list(rows))

    def handed(self, query: dict[str, Any]) -> list[CaseRow] | None:
        """The window handed over, if `query` asks for that same window (it is given once); None
        otherwise. Never reads: the console shows these rows at once, without a worker."""
        with self._lock:
            if self._handed is None or self._handed[0] != query:
                return None
            rows, self._handed = self._handed[1], None
        return rows

    def read_ahead(self, query: dict[str, Any]) -> None:
        """Read this window now and hand it over (the console's first window), unless it is
        handed already; a failed read is left to the console's own ask, which reports it."""
        with self._lock:
            if self._handed is not None and self._handed[0] == query:
                return
        try:
            rows = self.list_cases(**query)
        except Exception:  # noqa: BLE001 -- nothing handed over: the service reads the window
            return
        self.handover(query, rows)

    # ------------------------------------------------------------ reading
    def list_cases(self, *, view: str = "all", actor: str | None = None, text: str | None = None,
                   sort: str = "oldest", after: int | None = None, limit: int | None = None,
                   newest: Superseding | Asked | None = None) -> list[CaseRow]:
        """One window, as Service.list_cases reads it (for this console's own user)."""
        if newest is not None:
            newest.supersede()  # the window read before this one holds the connection: stopped first
        query = dict(view=view, actor=actor, text=text, sort=sort, after=after, limit=limit)
        handed = self.handed(query)
        if handed is not None:
            return handed
        with self._lock:
            self._handed = None  # asked for another window: the handed one is out of date
        if actor != self.name or (text and ("\x00" in text or len(text) > 200)):
            raise LookupError("not for the quick connection")  # the service answers (and refuses) these
        with self._lock:
            if self._connection is None:
                raise LookupError("the quick connection is closed")
            cursor = self._connection.cursor()
            try:
                return read_window(cursor, self._paramstyle, view=view, sort=sort, text=text, after=after,
                                   limit=limit, me=self.agent_id if view == "mine" else None, newest=newest)
            finally:
                cursor.close()
                if self._paramstyle != "qmark":
                    self._connection.rollback()  # end the read transaction psycopg opened

    def saved_views(self) -> list[View]:
        """This user's saved views (the queue's tabs: domain/saved_views.py), read once; [] when they
        cannot be read here (a desk older than migration 0010: the service reads them once loaded)."""
        if self._saved is not None:
            return self._saved
        found: list[View] = []
        with self._lock:
            if self._connection is not None:
                cursor = self._connection.cursor()
                mark = "?" if self._paramstyle == "qmark" else "%s"
                try:
                    cursor.execute(f"SELECT name, filter, sort, columns FROM saved_view WHERE agent_id = {mark} "
                                   "ORDER BY id", (self.agent_id,))
                    found = [from_record(*row) for row in cursor.fetchall()]
                except Exception:  # noqa: BLE001 -- no tabs of one's own in the first frame; the service reads them
                    found = []
                finally:
                    cursor.close()
                    if self._paramstyle != "qmark":
                        self._connection.rollback()
        self._saved = found
        return found

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    # ------------------------------------------------------------ the service
    def start(self, done: Callable[[Any, BaseException | None], None]) -> None:
        """Load the service in a background thread (once). `done(service, error)` runs once it has
        loaded, for every caller, whoever started the load: in the loading thread, or at once in
        the caller's if it has loaded already (a worker that needed the service may have started it
        with wait() before the console asked)."""
        with self._lock:
            if self._loaded.is_set():
                ready = True
            else:
                ready = False
                self._waiting.append(done)
                if self._started:
                    return
                self._started = True
        if ready:
            done(self._service, self._error)
            return

        def run() -> None:
            try:
                with loading():  # SQLAlchemy and the tables: not walked by every collection from now on
                    self._service = self._load()
            except BaseException as exc:  # noqa: BLE001 -- reported to the console, which exits with it
                self._error = exc
            with self._lock:
                self._loaded.set()
                waiting, self._waiting = self._waiting, []
            for done in waiting:
                done(self._service, self._error)

        threading.Thread(target=run, name="deskconsole-service-load", daemon=True).start()

    @property
    def loaded(self) -> bool:
        return self._loaded.is_set()

    def wait(self) -> Any:
        """The service, once loaded (blocks until then; starts loading if nobody has)."""
        if not self._started:
            self.start(lambda service, error: None)
        self._loaded.wait()
        if self._error is not None:
            raise self._error
        return self._service


def open_quick(db_url: str, user: str | None, load: Callable[[], Any], *, explicit: bool = True,
               fixed_clock: bool = False) -> QuickStart | None:
    """The fast start on this database for this user, or None when it does not apply.

    On PostgreSQL the user is whom the login acts as (store/whoami.py: the name asked for under the
    administrator's login, the login's own agent under an agent's; `explicit`: the name was given,
    not guessed from the system login; `fixed_clock`: a "now" of its own, the administrator's only),
    asked on this same connection, so the service need not load first to tell; whatever the service
    would refuse gets None here, and the service reports it."""
    if not user or "\x00" in user:
        return None
    try:
        path = _sqlite_path(db_url)
        if path is not None:
            connection = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, check_same_thread=False,
                                         timeout=30.0)
            paramstyle = "qmark"
            connection.execute("PRAGMA query_only=1")
        else:
            conninfo = _pg_conninfo(db_url)
            if conninfo is None:
                return None
            import psycopg

            connection = psycopg.connect(conninfo, connect_timeout=5)
            connection.read_only = True
            paramstyle = "format"
    except Exception:  # noqa: BLE001 -- no fast start: the console starts through the service
        return None
    try:
        cursor = connection.cursor()
        if paramstyle != "qmark":
            user = plain_acting(cursor, user, explicit=explicit, fixed_clock=fixed_clock)
            if user is None:
                raise LookupError("the service decides who this login is")
        cursor.execute("SELECT id, name, role FROM agent WHERE name = " + ("?" if paramstyle == "qmark" else "%s"),
                       (user,))
        agent = cursor.fetchone()
        cursor.close()
        if paramstyle != "qmark":
            connection.rollback()
    except Exception:  # noqa: BLE001 -- no fast start: the console starts through the service
        agent = None
    if agent is None:
        connection.close()
        return None
    return QuickStart(connection, paramstyle, tuple(agent), load)


def open_for(settings: Settings) -> QuickStart | None:
    """open_quick for the console of these settings (its user, its database, its clock)."""
    return open_quick(settings.db_url, settings.user, settings.make_service,
                      explicit=settings.user_source != "login", fixed_clock=not isinstance(settings.clock, SystemClock))


__all__ = ["QuickStart", "Superseded", "Superseding", "open_for", "open_quick"]
