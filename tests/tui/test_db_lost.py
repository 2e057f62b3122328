"""The database lost while the console is open (PostgreSQL): said in the header, typed text kept, recovered."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC

import psycopg
import pytest
from sqlalchemy.engine import make_url
from tuidesk import build_desk, screen_text, until

from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine
from deskconsole.tui.app import make_app
from deskconsole.tui.drafts import Drafts
from deskconsole.tui.widgets.composer import ComposerScreen

SIZE = (120, 40)
ROUNDS = 300  # pauses of 0.05 s at most; each loop ends as soon as the console shows what it waits for
NOTE = "Called Globex: the billing address is Hamburg"


@pytest.fixture
def pg_desk(pg_url, clock):
    engine = make_engine(pg_url)
    init_schema(engine)
    svc = Service(engine, clock)
    ids = build_desk(svc, clock)
    try:
        yield pg_url, svc, ids
    finally:
        engine.dispose()


@contextmanager
def database_down(url: str):
    """Refuse new connections to the test database and end the open ones, then let them in again."""
    parsed = make_url(url)
    name = parsed.database
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        try:
            yield
        finally:
            conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


def header(app) -> str:
    return screen_text(app).splitlines()[0]


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_the_console_says_the_database_is_gone_keeps_the_note_and_recovers(pg_desk, tmp_path):
    url, svc, ids = pg_desk
    drafts = Drafts(tmp_path / "drafts", "pg")
    app = make_app(svc, "alice", ticker=False, live=True, tz=UTC, drafts=drafts)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.open_case(ids["vat"])
        assert await until(pilot, lambda: "Invoice shows wrong VAT" in screen_text(app) and app.watching, ROUNDS)
        await pilot.press("n")  # the composer, as an internal note
        assert await until(pilot, lambda: isinstance(app.screen, ComposerScreen), ROUNDS)
        await pilot.press(*NOTE)

        with database_down(url):
            assert await until(pilot, lambda: "database unreachable since 09:00:00 — retrying" in header(app), ROUNDS)
            await pilot.press("ctrl+s")
            # the send fails; the composer comes back with the text and says why; the draft is kept on disk
            assert await until(pilot, lambda: isinstance(app.screen, ComposerScreen)
                               and "Not sent: the database cannot be reached" in screen_text(app), ROUNDS)
            assert NOTE in screen_text(app) and "INTERNAL NOTE" in screen_text(app)
            assert drafts.load("alice", ids["vat"]).text == NOTE
            assert app.is_running
        assert await until(pilot, lambda: "unreachable" not in header(app), ROUNDS)
        assert "1 Queue" in header(app)

        await pilot.press("ctrl+s")  # the same text, sent again once the database is back
        assert await until(pilot, lambda: not isinstance(app.screen, ComposerScreen)
                           and drafts.load("alice", ids["vat"]) is None, ROUNDS)  # sent: the draft is gone
        said = notices(app)
        assert sum("cannot be reached" in n for n in said) == 1  # said once, not once per failure
        assert "The database is reachable again." in said
        assert not [n for n in said if "Traceback" in n or "OperationalError" in n]
    assert [e.body for e in svc.get_case(ids["vat"]).events if e.body == NOTE] == [NOTE]


async def test_the_queue_reloads_by_itself_when_the_database_is_back(pg_desk, clock):
    url, svc, _ids = pg_desk
    app = make_app(svc, "maria", ticker=False, live=True, tz=UTC)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert await until(pilot, lambda: "Storage array degraded" in screen_text(app) and app.watching, ROUNDS)
        with database_down(url):
            assert await until(pilot, lambda: "database unreachable" in header(app), ROUNDS)
            await pilot.press("r")  # a reload that fails is not an error on screen: the header says it
            for _ in range(5):
                await pilot.pause(0.05)
        # a case opened while this console could not see it
        other = make_engine(url)
        try:
            Service(other, clock).open_case("Printer on fire", "Umbrella")
        finally:
            other.dispose()
        assert await until(pilot, lambda: "unreachable" not in header(app) and "Printer on fire" in screen_text(app),
                           ROUNDS)
        assert not [n for n in notices(app) if "OperationalError" in n or "Traceback" in n]
