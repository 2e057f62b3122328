"""The bulk writer's writing: the planner's chunks into the database (see deskconsole.bulk).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Engine

from deskconsole.bulk.lives import (
    ARTICLE_COLUMNS,
    BESIDE,
    CACHE_KB,
    EVENT_COLUMNS,
    FINISH_SHARE,
    SEED_COLUMNS,
    SEED_CUSTOMER,
    SEED_TIMES,
    SEED_TITLE,
    SLA_TABLES,
    BulkSummary,
)
from deskconsole.bulk.planner import _Planner
from deskconsole.bulkload import (
    ROWS_PER_INSERT,
    Beside,
    Dialect,
    SeedImage,
    SeedLoad,
    copy_rows,
    insert_many,
    remove_database,
)
from deskconsole.store import search
from deskconsole.store.engine import adopt_database_file, refresh_statistics


class _Build:
    """Writes the planner's chunks: on PostgreSQL and into a desk with cases in one transaction; into a
    new SQLite desk beside the file, with the planner and the search index in a second process."""

    def __init__(self, engine: Engine, planner: _Planner, chunk: int,
                 progress: Callable[[int, int], None] | None) -> None:
        self.engine = engine
        self.planner = planner
        self.chunk = chunk
        self.progress = progress
        self.pg = planner.pg
        self.d = Dialect(pg=self.pg, iso_tail=planner.times.iso_tail, times=SEED_TIMES)
        self.timings: Counter[str] = Counter()
        self.total = planner.total

    def report(self, done: float) -> None:
        if self.progress is not None:
            self.progress(int(done), self.total)

    def run(self) -> BulkSummary:
        with self.engine.connect() as conn:
            self.planner.load(conn)
        if self.pg or not self.planner.fresh:
            summary = self._in_transaction()
        else:
            summary = self._new_sqlite_desk()
        start = time.perf_counter()
        refresh_statistics(self.engine)  # the planner knows the new rows at once
        self.timings["statistics"] += time.perf_counter() - start
        summary.phases.update(self.timings)
        summary.phases = {k: round(v, 3) for k, v in summary.phases.items()}
        return summary

    def _write(self, cur: Any, chunks: Any, share: float, images: bool = False, made: Sequence[str] = ()) -> SeedLoad:
        """The chunks' rows, with the progress bar going to `share` of the cases. A chunk's seed rows
        come as a list, or as a SeedImage of them (`images`) with the rows of the tables `made`."""
        self.report(0)
        done = 0
        p = self.planner
        article_sql = f'INSERT INTO article ({", ".join(ARTICLE_COLUMNS)}) VALUES ({", ".join([self.d.mark] * 7)})'
        marks = ", ".join([self.d.mark] * len(EVENT_COLUMNS))
        event_sql = f'INSERT INTO event ({", ".join(EVENT_COLUMNS)}) VALUES ({marks})'
        sla_sql = {table: self._insert(table, columns) for table, columns in SLA_TABLES}
        with SeedLoad(cur, self.d, SEED_COLUMNS, p.loads(self.d), images=images, made=made) as load:
            for size, articles, drafted, sla, seeds in chunks:
                if images:
                    load.take(seeds, self.timings)
                else:
                    load.load(seeds, self.timings)
                if articles:
                    if self.pg:  # (COPY: one stream, not a statement per row)
                        copy_rows(cur, "article", ARTICLE_COLUMNS, articles)
                        copy_rows(cur, "event", EVENT_COLUMNS, drafted)
                    else:
                        insert_many(cur, self.d, article_sql, article_sql, articles)
                        insert_many(cur, self.d, event_sql, event_sql, drafted)
                if sla:
                    start = time.perf_counter()
                    for table, rows in (("event", sla.events), ("sla_metric", sla.metrics), ("timer", sla.timers),
                                        ("outbox", sla.outbox)):
                        if rows and self.pg:
                            copy_rows(cur, table, dict(SLA_TABLES)[table], rows)
                        elif rows:
                            insert_many(cur, self.d, *sla_sql[table], rows)
                    self.timings["service levels"] += time.perf_counter() - start
                done += size
                self.report(done * share)
        return load

    def _insert(self, table: str, columns: Sequence[str]) -> tuple[str, str]:
        """INSERT statements of `table`'s `columns`: of ROWS_PER_INSERT rows at a time, and of one."""
        names = ", ".join(f'"{c}"' for c in columns)
        one = "(" + ", ".join([self.d.mark] * len(columns)) + ")"
        head = f'INSERT INTO "{table}" ({names}) VALUES '
        return head + ", ".join([one] * ROWS_PER_INSERT), head + one

    def _in_transaction(self) -> BulkSummary:
        # the planner works in a second process (fork) while the database writes the chunks before
        # (on two cores the planning and the writing overlap; a thread would hold this one's interpreter)
        side: Beside | None = None
        raw = self.engine.raw_connection()
        try:
            dbapi = raw.driver_connection
            cur = dbapi.cursor()
            try:
                if Beside.available():
                    planner, chunk = self.planner, self.chunk
                    side = Beside(lambda: planner.chunks(chunk), planner.summary)
                restore: list[str] = []
                if not self.pg:
                    cur.execute("BEGIN IMMEDIATE")
                    search.pause_case_index_on(cur)  # the search index is refilled once, after the cases are in
                elif self.planner.fresh:
                    restore = _pg_set_aside(cur)
                if side is not None:
                    self._write(cur, side, 1 - FINISH_SHARE)
                    summary = side.result
                else:
                    self._write(cur, self.planner.chunks(self.chunk), 1 - FINISH_SHARE)
                    summary = self.planner.summary()
                if not self.pg:
                    start = time.perf_counter()
                    search.rebuild_case_index_on(cur)
                    self.timings["index"] += time.perf_counter() - start
                else:
                    start = time.perf_counter()
                    for statement in restore:
                        cur.execute(statement)
                    self.timings["indexes and keys"] += time.perf_counter() - start
                    for table in ("case", "event", "timer", "outbox", "survey", "article", "sla_metric"):
                        cur.execute(
                            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                            f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"), false)'
                        )
                dbapi.commit() if self.pg else cur.execute("COMMIT")
            except BaseException:
                if self.pg:
                    dbapi.rollback()
                elif dbapi.in_transaction:
                    cur.execute("ROLLBACK")
                raise
            finally:
                if side is not None:
                    side.stop()
            cur.close()
        finally:
            raw.close()
        self.report(self.total)
        return summary

    def _new_sqlite_desk(self) -> BulkSummary:
        """A desk without cases yet: built with the journal off into `<file>.bulk` (a copy of the file),
        which replaces the file once complete. If another connection has the file open (its WAL is
        there), or it is not a plain file, the cases go into it in one ordinary transaction instead."""
        url = self.engine.url
        path = url.database
        self.engine.dispose()  # this process's pooled connections let go of the file
        if not path or path == ":memory:" or path.startswith("file:") or url.query or any(
                os.path.exists(path + suffix) for suffix in ("-wal", "-shm", "-journal")):
            return self._in_transaction()
        path = os.path.abspath(path)
        target = path + ".bulk"
        index_path = path + ".bulk-index"
        remove_database(index_path)
        source = sqlite3.connect(path)
        try:
            journal = source.execute("PRAGMA journal_mode").fetchone()[0]
            index_ddl = source.execute("SELECT sql FROM sqlite_master WHERE name = 'case_fts'").fetchone()
            beside_ddl = [row[0] for table in BESIDE for row in source.execute(  # tables first, then indexes
                "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type DESC",
                (table,))]
            remove_database(target)
            source.execute("VACUUM INTO ?", (target,))
        finally:
            source.close()
        planner = self.planner
        side: Beside | None = None
        index = search.CaseIndexFile(index_path, index_ddl[0]) if index_ddl and Beside.available() else None
        con = sqlite3.connect(target, isolation_level=None)
        try:
            cur = con.cursor()
            for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{CACHE_KB}", "temp_store=MEMORY",
                           "foreign_keys=OFF"):
                cur.execute(f"PRAGMA {pragma}")
            cur.execute("BEGIN")
            search.pause_case_index_on(cur)
            if index is not None:
                chunk = self.chunk

                def make() -> Iterator[tuple]:
                    """In the second process: the chunks with their seed rows as images; the index."""
                    # None is bound several times a seed row; an adapter for it spares sqlite3 a failed
                    # adapter lookup each time (this process only)
                    sqlite3.register_adapter(type(None), lambda none: none)
                    made = [t for t in planner.loads(self.d) if t.table in BESIDE]
                    images = SeedImage(SEED_COLUMNS, self.d, made, beside_ddl)
                    for size, articles, drafted, sla, seeds in planner.chunks(chunk):
                        yield size, articles, drafted, sla, images.image(seeds)
                        index.add((row[0], row[SEED_TITLE], row[SEED_CUSTOMER]) for row in seeds)
                    beside_phases.update((f"{phase} (beside)", seconds) for phase, seconds in images.seconds.items())

                def finish() -> BulkSummary:
                    start = time.perf_counter()
                    index.finish()
                    summary = planner.summary()
                    summary.phases.update(beside_phases)
                    summary.phases["index (beside)"] = index.seconds + time.perf_counter() - start
                    return summary

                beside_phases: dict[str, float] = {}
                side = Beside(make, finish)
                load = self._write(cur, side, 1 - FINISH_SHARE, images=True, made=BESIDE)
                summary = side.result
                cur.execute("COMMIT")
                load.detach()
                start = time.perf_counter()
                search.copy_case_index_on(cur, index_path)
                self.timings["index copy"] += time.perf_counter() - start
            else:
                self._write(cur, planner.chunks(self.chunk), 1 - FINISH_SHARE)
                start = time.perf_counter()
                search.rebuild_case_index_on(cur)
                self.timings["index"] += time.perf_counter() - start
                summary = planner.summary()
                cur.execute("COMMIT")
            cur.execute(f"PRAGMA journal_mode={journal}")
            cur.close()
            con.close()
            os.replace(target, path)
            adopt_database_file(self.engine)  # (the engine's check for a file replaced under it)
        except BaseException:
            if side is not None:
                side.stop()
            con.close()
            remove_database(target)
            raise
        finally:
            remove_database(index_path)
        self.report(self.total)
        return summary


# The tables a bulk build writes, on PostgreSQL.
PG_BULK_TABLES = ("case", "event", "timer", "outbox", "survey", "article")


def _pg_set_aside(cur: Any) -> list[str]:
    """PostgreSQL, a desk without cases, inside the build's transaction: drop the bulk tables' plain
    indexes and their foreign keys, and give back the statements that make them again once the rows
    are in (in the same transaction: a failed build rolls the drops back with it).

    An index built once over all the rows, and a foreign key checked with one join, cost a fraction
    of keeping each index and checking each key row by row (most of a million-case build's server
    time). Primary keys and unique constraints stay: rows arrive in id order, so they only append.
    A login that does not own the tables (only their owner may drop and make indexes) loads them as
    they are."""
    tables = [f'"{t}"' for t in PG_BULK_TABLES]
    cur.execute("SELECT bool_and(pg_has_role(current_user, relowner, 'USAGE')) FROM pg_class "
                "WHERE oid = ANY(%s::regclass[])", (tables,))
    if not cur.fetchone()[0]:
        return []
    cur.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
        (tables,),
    )
    indexes = cur.fetchall()
    cur.execute(
        "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
        (tables,),
    )
    keys = cur.fetchall()
    for table, name, _ in keys:
        cur.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        cur.execute(f"DROP INDEX {name}")
    return (["SET LOCAL maintenance_work_mem = '256MB'"] + [ddl for _, ddl in indexes]
            + [f"ALTER TABLE {table} ADD CONSTRAINT {name} {ddl}" for table, name, ddl in keys])
