"""`deskconsole ingest` on SQLite opens its desk for bulk writes (a bigger page cache, the WAL
checkpointed less often); every other command, the console's included, keeps SQLite's defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import deskconsole.store.engine as engine_module
from deskconsole.cli import main
from deskconsole.store.engine import SQLITE_BULK_CACHE_KIB, SQLITE_BULK_CHECKPOINT_PAGES, make_engine


def pragmas(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        cache = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        checkpoint = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
    return cache, checkpoint


def test_a_bulk_writer_s_connections_keep_a_bigger_cache_and_checkpoint_less_often(tmp_path: Path) -> None:
    bulk = make_engine(f"sqlite:///{tmp_path / 'desk.db'}", bulk_writes=True)
    plain = make_engine(f"sqlite:///{tmp_path / 'desk.db'}")
    try:
        assert pragmas(bulk) == (-SQLITE_BULK_CACHE_KIB, SQLITE_BULK_CHECKPOINT_PAGES)
        assert pragmas(plain) == (-2000, 1000)  # SQLite's own defaults
    finally:
        bulk.dispose()
        plain.dispose()


def test_ingest_opens_the_desk_for_bulk_writes_and_other_commands_do_not(
        tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[bool, tuple[int, int]]] = []
    real = engine_module.make_engine

    def watched(url=None, **options):
        engine = real(url, **options)
        made.append((options.get("bulk_writes", False), pragmas(engine)))
        return engine

    monkeypatch.setattr(engine_module, "make_engine", watched)
    monkeypatch.setenv("DESKCONSOLE_NOW", "2026-11-25T09:00:00Z")
    db = f"sqlite:///{tmp_path / 'desk.db'}"
    assert main(["--db", db, "agent", "add", "alice", "--role", "analyst"]) == 0
    lines = tmp_path / "events.jsonl"
    lines.write_text(json.dumps({"type": "case.opened", "title": "Export fails", "customer": "Acme"}) + "\n")
    assert main(["--db", db, "ingest", str(lines)]) == 0
    out = capsys.readouterr().out
    assert json.loads(out.splitlines()[-1])["ok"] is True
    assert main(["--db", db, "case", "list"]) == 0
    assert "Export fails" in capsys.readouterr().out
    assert made == [(False, (-2000, 1000)),
                    (True, (-SQLITE_BULK_CACHE_KIB, SQLITE_BULK_CHECKPOINT_PAGES)),
                    (False, (-2000, 1000))]
