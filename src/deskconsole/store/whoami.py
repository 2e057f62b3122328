"""Who a PostgreSQL connection is, as plain SQL: read by the service through SQLAlchemy
(store/identity.py) and by the console's quick connection before SQLAlchemy has loaded
(tui/quickstart.py), so both ask the server the same questions."""

from __future__ import annotations

from typing import Any

#: The login, and whether it is the desk's administrator (a superuser, or the database's owner or
#: a member of the owning role).
LOGIN_SQL = ("SELECT current_user::text, r.rolsuper OR pg_has_role(current_user, d.datdba, 'MEMBER') "
             "FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()")
#: The agent linked to the login, and its role (NULLs for a login that is no agent of this desk).
AGENT_SQL = "SELECT deskconsole_agent_of(current_user), deskconsole_role_of(current_user)"


def plain_acting(cursor: Any, requested: str | None, *, explicit: bool, fixed_clock: bool) -> str | None:
    """The agent a console on this plain driver cursor (psycopg) acts as, when the login may work the
    desk as the service would let it (store/identity.py: `acting`, `refuse`): the name requested for
    the administrator, the login's agent for an agent's login. None whenever the service would refuse
    (a login that is no agent, a "now" of its own, another agent's name given explicitly) or this
    cannot tell (a schema without the identity functions): the service then decides and reports."""
    cursor.execute(LOGIN_SQL)
    row = cursor.fetchone()
    if row is None:
        return None
    if row[1]:
        return requested
    cursor.execute(AGENT_SQL)
    agent = cursor.fetchone()[0]
    if agent is None or fixed_clock or (explicit and requested is not None and requested != agent):
        return None
    return str(agent)


__all__ = ["AGENT_SQL", "LOGIN_SQL", "plain_acting"]
