"""The service's clocks: "now" for timers and actions, the real time events are recorded at, and
the time an outside event says it happened. On PostgreSQL with the system clock both are the
database server's, read at most once a minute (SyncedClock). ServiceBase (service/base.py) sets
the attributes up; its methods are here.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from deskconsole.domain.clock import Clock, SyncedClock, format_time, to_utc
from deskconsole.domain.errors import InvalidInput
from deskconsole.service.records import AnyCase


class ClockMixin:
    engine: Engine
    clock: Clock
    _db_clock: SyncedClock | None  # PostgreSQL, the system clock: the server's, for now()
    _real_synced: SyncedClock | None  # PostgreSQL, the system clock: the server's, for real_now()
    _real_clock: Clock

    def now(self) -> datetime:
        """"Now" for timers and actions: the injected clock (DESKCONSOLE_NOW, a FixedClock).

        On PostgreSQL with the system clock it is the database server's time, read at
        most once a minute and carried forward on this machine's monotonic clock, so a
        console whose clock runs ahead cannot fire a timer early. The reading is taken
        as of the moment the answer arrived, so the estimate is never ahead of the server.
        """
        db_clock = self._db_clock
        if db_clock is not None and db_clock.stale():
            self._sync_clock(db_clock)
        return to_utc(self.clock.now())

    def real_now(self) -> datetime:
        """The real time, whatever DESKCONSOLE_NOW says (events' `recorded_at`; on PostgreSQL the
        database server's, read at most once a minute as now() reads it)."""
        synced = self._real_synced
        if synced is not None and synced.stale():
            self._sync_clock(synced)
        return to_utc(self._real_clock.now())

    def _given_time(self, at: datetime | None, case: AnyCase | None = None) -> datetime:
        """The time an outside event says it happened (ingest's `at`), or now when it says none.

        Refused: more than a day ahead of the real clock (whatever DESKCONSOLE_NOW says), or
        before the case it names was opened."""
        if at is None:
            return self.now()
        at = to_utc(at)
        real = self.real_now()
        if at > real + timedelta(days=1):
            raise InvalidInput(f"'at' {format_time(at)} is more than a day ahead of the real clock "
                               f"({format_time(real)})")
        if case is not None:
            opened = to_utc(case.created_at)
            if at < opened:
                raise InvalidInput(f"'at' {format_time(at)} is before case {case.id} was opened "
                                   f"({format_time(opened)})")
        return at

    def _sync_clock(self, db_clock: SyncedClock) -> None:
        try:
            with self.engine.connect() as conn:
                server = conn.exec_driver_sql("SELECT clock_timestamp()").scalar_one()
                at = time.monotonic()
                conn.rollback()
        except SQLAlchemyError:
            if not db_clock.synced:
                raise  # never reached the server: no time to act on
            db_clock.failed()  # keep carrying the last reading forward
            return
        db_clock.set(server, at)
