"""The console on PostgreSQL is the login's agent, told by its quick connection before the service loads.

The console asks the server who its login is on the plain connection it paints the first window
from (store/whoami.py, the service's own SQL), so it neither builds the service before its first
frame nor builds it twice. What the service would refuse (a login that is no agent, another agent's
name, a "now" of its own under an agent's login) the quick connection leaves to the service, which
refuses it as every command does: one `error:` line, exit 1. Real logins, as test_pg_identity.py.
"""

from __future__ import annotations

import pytest
from test_pg_identity import as_login, cli, logins, refused, team  # noqa: F401 -- (fixtures)

from deskconsole.domain.errors import PermissionDenied
from deskconsole.settings import load_settings
from deskconsole.tui.app import open_console


def console_as(url: str, user: str | None = None):
    app = open_console(load_settings(db=url, user=user), ticker=False)
    assert app.quick is not None, "the console should have started on its quick connection"
    return app


def test_an_agents_login_opens_the_console_as_that_agent_before_the_service_loads(team) -> None:  # noqa: F811
    # no --as: the system login name ("somebody", no agent) is only a guess; the login decides
    app = console_as(as_login(team.url, team.alice))
    try:
        assert (app.user, app.role) == ("alice", "analyst")
        assert not app.quick.loaded  # who she is came from the quick connection, not from the service
    finally:
        app.quick.close()
    app = console_as(as_login(team.url, team.helen), "helen")  # naming oneself is fine
    try:
        assert (app.user, app.role) == ("helen", "manager")
    finally:
        app.quick.close()
    app = console_as(team.url, "marcus")  # the administrator acts as anyone, also an agent without a login
    try:
        assert (app.user, app.role) == ("marcus", "manager")
    finally:
        app.quick.close()


def test_what_the_service_refuses_the_console_refuses_too(team, logins, cli, monkeypatch) -> None:  # noqa: F811
    with pytest.raises(PermissionDenied, match="you cannot act as marcus"):
        open_console(load_settings(db=as_login(team.url, team.alice), user="marcus"), ticker=False)
    stranger = logins.make("stranger")
    with pytest.raises(PermissionDenied, match="is no agent of this desk"):
        open_console(load_settings(db=as_login(team.url, stranger)), ticker=False)
    monkeypatch.setenv("DESKCONSOLE_NOW", "2026-03-02T09:00:00Z")
    with pytest.raises(PermissionDenied, match="DESKCONSOLE_NOW is for the desk's administrator"):
        open_console(load_settings(db=as_login(team.url, team.alice)), ticker=False)
    monkeypatch.delenv("DESKCONSOLE_NOW")

    # `deskconsole` (the console is its default command): one error line, exit 1, before any screen
    refused(cli(user="marcus", login=team.alice), f"connected as the database login '{team.alice}' you are alice: "
                                                   "you cannot act as marcus")
    refused(cli(login=stranger), f"the database login '{stranger}' is no agent of this desk")
