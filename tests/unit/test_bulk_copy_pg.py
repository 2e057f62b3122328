"""A bulk build on PostgreSQL writes its service-level rows and drafted articles by COPY
(bulk/build.py): the desk it leaves is the one the same build leaves on SQLite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from test_bulk import END, desk

from deskconsole.bulk import build_bulk
from deskconsole.bulk.slalife import DEMO_POLICY

TABLES = {
    "sla_metric": "case_id, target, kind, at, seconds, calendar, warning, used",
    "timer": "case_id, kind, state, due_at, fired_at, cancelled_at",
    "outbox": "case_id, kind, \"to\", subject, created_at, state",
    "event": "case_id, at, actor, kind, body, data",
    "article": "title, fingerprint, state, source_case_id",
}


def _rows(service, table: str) -> list[tuple]:
    columns = TABLES[table]
    with service.engine.connect() as conn:
        return [tuple(str(v) if v is not None else None for v in r)
                for r in conn.execute(text(f'SELECT {columns} FROM "{table}" ORDER BY id'))]


def test_a_bulk_build_with_service_levels_on_postgres_is_the_sqlite_build(pg_url: str, tmp_path: Path) -> None:
    built = {}
    for name, url in (("pg", pg_url), ("sqlite", f"sqlite:///{tmp_path}/same.db")):
        service = desk(url)
        service.load_sla(DEMO_POLICY, actor="sofia")  # (the demo desk's supervisor)
        summary = build_bulk(service.engine, 120, end=END, seed=5, open_share=0.4, sla=DEMO_POLICY,
                             sla_since=END - timedelta(days=3))
        built[name] = (service, summary)
    (pg, pg_summary), (lite, lite_summary) = built["pg"], built["sqlite"]
    assert pg_summary.sla_metrics == lite_summary.sla_metrics > 0
    for table in TABLES:
        theirs, ours = _rows(lite, table), _rows(pg, table)
        assert len(ours) == len(theirs) > 0, table
        # (times print differently on the two databases: compare what else each row holds)
        if table in ("sla_metric", "timer", "outbox"):
            assert [r[:2] for r in ours] == [r[:2] for r in theirs], table
    assert {r[1] for r in _rows(pg, "timer")} >= {"sla_warning", "sla_breach"}
    # the ids go on from the loaded rows: a new case's events come after them
    view, _ = pg.open_case("After the bulk", "Initech", product_area="login")
    assert [e.id for e in pg.get_case(view.id).events] == sorted(e.id for e in pg.get_case(view.id).events)
