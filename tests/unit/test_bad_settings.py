"""Impossible settings are one `error:` line and exit 1, never a traceback, and change nothing.

Each of these crashed with a traceback before (or, worse, stored a timer no datetime can hold
and then crashed at every later move): a duration with a superscript digit, durations of
millions of years, a "now" at the end of year 9999 or before year 1 in UTC, a database URL whose
port is not a number. A URL that is not a URL is echoed without its password.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_cli import Desk, add_people
from test_hostile import dump

from deskconsole.domain.clock import clock_from_env
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.timers import MAX_DURATION, parse_duration


@pytest.mark.parametrize("text", ["²d", "٣d", "1²h", "１d"])
def test_durations_take_ascii_digits_only(text: str) -> None:
    with pytest.raises(InvalidInput, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["99999999999999d", "3651d", "87601h", "999999999999999999999999s"])
def test_durations_longer_than_ten_years_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="too long"):
        parse_duration(text)


def test_the_longest_duration_is_taken() -> None:
    assert parse_duration("3650d") == MAX_DURATION
    assert parse_duration("1d12h") == timedelta(hours=36)


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00", "1969-12-31T23:59:59Z",
                                 "9000-01-01T00:00:00Z"])
def test_a_now_no_timer_fits_after_is_refused(now: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- each edge is refused in its own words
        clock_from_env({"DESKCONSOLE_NOW": now})


def test_the_edges_of_now_are_taken() -> None:
    assert clock_from_env({"DESKCONSOLE_NOW": "1970-01-01T00:00:00Z"}).now().year == 1970
    assert clock_from_env({"DESKCONSOLE_NOW": "8999-12-31T23:59:59Z"}).now().year == 8999


@pytest.fixture
def desk(sqlite_url: str, tmp_path) -> Desk:
    d = Desk(sqlite_url, tmp_path)
    add_people(d)
    d.ok("case", "open", "Export fails", "--customer", "ACME", "--area", "billing", user="al")
    return d


@pytest.mark.parametrize(("name", "value", "says"), [
    ("DESKCONSOLE_CUSTOMER_INPUT_REMINDER", "²d", "not a duration"),
    ("DESKCONSOLE_CUSTOMER_INPUT_REMINDER", "99999999999999d", "too long"),
    ("DESKCONSOLE_CUSTOMER_INPUT_CLOSE", "999999999d", "too long"),
])
def test_an_impossible_timer_setting_is_refused_before_anything_moves(desk: Desk, sqlite_url: str, name: str,
                                                                        value: str, says: str) -> None:
    before = dump(sqlite_url)
    run = desk.refused("case", "move", "1", "pending", "--sub-status", "customer_input", "--note", "Logs please?",
                       user="al", env={name: value})
    assert says in run.err and name in run.err
    assert dump(sqlite_url) == before


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00"])
def test_tick_at_an_impossible_now_is_refused(desk: Desk, sqlite_url: str, now: str) -> None:
    before = dump(sqlite_url)
    run = desk.refused("tick", now=now)
    assert "DESKCONSOLE_NOW" in run.err
    assert dump(sqlite_url) == before


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://u:secret@h:notaport/x", "port must be a number"),
    ("postgresql+psycopg://u:secret@h:99999/x", "port must be a number"),
    ("u:secret@host/x", "not a database URL"),
])
def test_a_broken_database_url_is_refused_without_its_password(tmp_path, url: str, shown: str) -> None:
    run = Desk(url, tmp_path).refused("case", "list")
    assert shown in run.err
    assert "secret" not in run.err
