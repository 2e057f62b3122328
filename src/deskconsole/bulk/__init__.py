"""Large desks written in bulk: the rows the lifecycle service would have written, without its round trips.

`deskconsole demo --cases N` (large N) and the benchmarks build their desks here. Each case
gets a life cycle drawn from the same plans as the demo (opened and routed, worked, pending
or awaiting confirmation, replied to, closed by the customer, the analyst or a timer) and
the builder writes exactly what the service writes for each step: the case row with its
version, last actor and last change; its events in order; its timers (running ones with
their due times from Durations, fired and cancelled ones with when that happened); its
outbox rows; its survey; a draft article for a resolution not seen before. Timers that fell
due before `end` are written as fired by the hourly tick of the demo (a reminder sent,
a case auto-closed, the follow-up sent), so a fresh desk has nothing due at `end`, except
the `due` reminders a benchmark asks for, written as not yet processed.

How it is written (deskconsole.bulkload): the rows of each kind of case are described once,
below (`_life`), as cells over the case's seed row; the planner makes one seed row per case
(its kind, its times, the texts drawn for it) and the database makes the rows with one
`INSERT ... SELECT` per table and chunk, on SQLite and PostgreSQL alike.

On a SQLite file that has no cases yet, the desk is built into a copy of the file with the
journal and syncing off, which then replaces the file (a failed or interrupted build leaves
the file as it was). Two processes share the work: the second plans the cases, makes their
outbox rows (BESIDE) and builds the search index in a file of its own; this one makes the
case, event, timer and survey rows, copies the outbox rows in chunk by chunk, and the index
at the end. A database that has cases already (or that another connection holds open, or PostgreSQL)
is added to in one ordinary transaction, while a second process plans the chunks ahead of it.

Modules: lives.py (the kinds of case and their rows), planner.py (the seed rows),
build.py (writing them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine

from deskconsole.bulk.build import _Build, refresh_statistics
from deskconsole.bulk.lives import CHUNK, BulkSummary, fingerprint  # noqa: F401 - (fingerprint: as before)
from deskconsole.bulk.planner import _Planner
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.sla import DeskSla, load_toml
from deskconsole.domain.timers import Durations

_LOGIN = object()  # build_bulk's os_login not given: this process's operating-system login


def build_bulk(
    engine: Engine,
    cases: int,
    *,
    end: datetime,
    durations: Durations | None = None,
    seed: int = 1,
    due: int = 0,
    open_share: float = 0.2,
    opened_before: datetime | None = None,
    customers: Sequence[tuple[str, str | None]] | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = CHUNK,
    os_login: str | object | None = _LOGIN,
    sla: DeskSla | str | None = None,
    sla_since: datetime | None = None,
) -> BulkSummary:
    """Add `cases` cases whose histories end by `end`, written in bulk.

    The agents must exist already (analysts with skills route the cases). `open_share` of the
    cases are still open, the newest most likely; `due` of them are pending/customer_input
    with their reminder due a second before `end`, not yet processed (for tick benchmarks).
    Cases open no later than `opened_before` (default: ten minutes before `end`), so that
    cases added afterwards through the service keep ids in order of opening. Every event records
    `os_login` (by default the operating-system login running this process, as a Service's
    events do) beside its actor when they differ. `sla`: the desk's service levels (a DeskSla or a
    policy file's text, loaded on the desk already: Service.load_sla); each case then gets its metric
    events, its audit events, its SLA timers and breach messages as the service would have written them.
    `sla_since`: when the policies were loaded (default: before every case): what happened before
    then had no service levels (a case opened before gets a next response target from a reply after).
    Each case walked costs about a millisecond (slalife): a million-case desk loads them late.
    """
    if not isinstance(cases, int) or cases < 0:
        raise InvalidInput(f"the bulk desk needs 0 cases or more, not {cases!r}")
    if not 0 <= due <= cases:
        raise InvalidInput(f"due reminders must be between 0 and the number of cases, not {due!r}")
    if os_login is _LOGIN:
        from deskconsole.settings import login_name

        os_login = login_name()
    login = os_login[:64] if isinstance(os_login, str) else None
    desk = load_toml(sla) if isinstance(sla, str) else sla
    planner = _Planner(engine, cases, end, durations or Durations(), seed, due, open_share, opened_before, customers,
                       login, desk, sla_since)
    return _Build(engine, planner, chunk, progress).run()


__all__ = ["BulkSummary", "build_bulk", "refresh_statistics"]
