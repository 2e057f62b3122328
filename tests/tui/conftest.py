"""Fixtures for the console's tests: a deterministic desk on a frozen clock, and the app built on it.

The desk is built once per session through the Service (tuidesk.build_desk) and
copied for each test. Apps run with the ticker off; tests drive ticks and
countdowns by hand.
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tuidesk import NOW, build_desk, make_service

from deskconsole.domain.clock import FixedClock
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine
from deskconsole.tui.app import DeskApp, make_app

SIZE = (120, 40)


@pytest.fixture(scope="session")
def desk_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("desk") / "desk.db"
    clock = FixedClock(NOW)
    svc = make_service(path, clock)
    ids = build_desk(svc, clock)
    svc.engine.dispose()
    return path, ids


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def desk(tmp_path: Path, desk_template, clock):
    """(service, case ids by name) on a fresh copy of the desk."""
    template, ids = desk_template
    path = tmp_path / "desk.db"
    shutil.copy(template, path)
    svc = make_service(path, clock)
    yield svc, ids
    svc.engine.dispose()


@pytest.fixture
def service(desk):
    return desk[0]


@pytest.fixture
def ids(desk) -> dict[str, int]:
    return desk[1]


@pytest.fixture
def app_as(service, clock, tmp_path):
    from deskconsole.tui.drafts import Drafts

    def build(user: str) -> DeskApp:  # (the composer's drafts in the test's own directory)
        return make_app(service, user, clock=clock, ticker=False, tz=UTC, drafts=Drafts(tmp_path / "drafts", "test"))

    return build


@pytest.fixture
def smtp():
    """An SMTP server on 127.0.0.1 that refuses the first message for good (550) and accepts the rest."""
    from smtpbox import REFUSAL, Mailbox, start

    box = Mailbox([REFUSAL])
    controller = start(box)
    try:
        yield box
    finally:
        controller.stop()


def _seed_desk(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        init_schema(engine)
        clock = FixedClock(NOW)
        return build_desk(Service(engine, clock), clock)
    finally:
        engine.dispose()


@pytest.fixture
def _shared_pg(seeds):
    with seeds.pg("tuidesk", _seed_desk) as made:
        yield made


@pytest.fixture(params=["sqlite", "postgres"])
def shared(request, tmp_path, clock, seeds):
    """(this console's service, another process's service, case ids) over one database: what a
    second console or the CLI writes, seen live by the console under test. The desk is built
    once per worker on each database and copied for each test (conftest.py's seeds)."""
    if request.param == "sqlite":
        url, ids = seeds.sqlite("tuidesk", _seed_desk, tmp_path / "desk.db")
    else:
        url, ids = request.getfixturevalue("_shared_pg")
    mine, theirs = make_engine(url), make_engine(url)
    init_schema(mine)
    svc = Service(mine, clock)
    try:
        yield svc, Service(theirs, clock), ids
    finally:
        theirs.dispose()
        mine.dispose()
