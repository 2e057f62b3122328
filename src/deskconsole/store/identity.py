"""Who is at the keyboard on PostgreSQL: the database login, and what PostgreSQL lets it do.

On SQLite whoever can write the database file holds the desk: `--as` names the agent and
nothing here applies. On PostgreSQL:

- An agent may be linked to a login (`deskconsole agent add NAME --role ROLE --login LOGIN`,
  the column `agent.login`). Connected as that login you are that agent: `--as` someone else
  is refused, and so is a login that is no agent of this desk (it gets nothing, reads neither).
- The database's owner (or a member of the owning role, or a superuser) is the desk's
  administrator: it may act as anyone, also for agents without a login. Every audit event
  records the login that wrote it (`event.login`, filled in by the server), so what the
  administrator did for someone else shows.
- PostgreSQL itself holds the line, whatever SQL a login types: each agent login is a member
  of the group role of its role (`deskconsole_analyst`, `deskconsole_manager`,
  `deskconsole_supervisor`), and the groups are granted exactly what the service's actions
  write (GRANTS below, down to the columns). Row-level security on every desk table lets only
  logins that are agents of this desk see or write rows, lets only managers decide an
  escalation (UPDATE of its decision columns and state), and lets only managers and supervisors
  add agents. Events are append-only for every agent login: INSERT and SELECT, nothing else.
- "Now" for an agent login is the database server's clock: a fixed now (DESKCONSOLE_NOW) is
  for the administrator only.

The policies look an agent up by `current_user` through SECURITY DEFINER functions
(`deskconsole_role_of`, `deskconsole_agent_of`), which read the agent table as its owner.

The group roles belong to the whole PostgreSQL cluster while agents belong to one desk (one
database): a login linked in two desks of one cluster is a member of the groups of both its
roles, and the column grants of either apply in both; the row-level policies still judge it by
its role in the desk at hand. Give a person the same role in every desk of a cluster, or a
login per desk.

`install(conn)` sets all of it up and is idempotent: migration 0005 runs it; linking a login runs
it when the group roles are still missing (the migrating login could not create them). A later
migration that adds a table lists it in GRANTS and runs `install` again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from deskconsole.domain.errors import InvalidInput, PermissionDenied
from deskconsole.store.whoami import AGENT_SQL, LOGIN_SQL

#: The group role of each agent role (cluster-wide NOLOGIN roles).
GROUPS = {
    "analyst": "deskconsole_analyst",
    "manager": "deskconsole_manager",
    "supervisor": "deskconsole_supervisor",
}
EVERYONE = tuple(GROUPS)
LEADS = ("manager", "supervisor")
MAX_LOGIN = 63  # PostgreSQL's limit on a role name (NAMEDATALEN - 1)
NO_LOGINS_ON_SQLITE = ("--login links an agent to a PostgreSQL login: on SQLite whoever can write the database "
                       "file holds the desk, and --as names the agent")


class Except(tuple):
    """Every column of the table but these (resolved against the table when granting)."""

    def __new__(cls, *names: str) -> Except:
        return super().__new__(cls, names)


#: What each role's actions write, table by table: (privilege, columns, roles). Columns None is
#: the whole table; a tuple names the columns; Except(...) is every column but those. Every agent
#: role reads every table listed here. A table a later migration adds must be listed here.
GRANTS: dict[str, list[tuple[str, tuple[str, ...] | None, tuple[str, ...]]]] = {
    # opened by anyone (ingest runs under any agent's login); changed by every action and by tick
    "case": [("INSERT", None, EVERYONE), ("UPDATE", Except("id", "created_at"), EVERYONE)],
    # the audit trail: append-only
    "event": [("INSERT", None, EVERYONE)],
    # started by actions, cancelled by actions, claimed by tick (due_at never changes)
    "timer": [("INSERT", None, EVERYONE), ("UPDATE", ("state", "fired_at", "cancelled_at"), EVERYONE)],
    # queued by actions and timers; claimed and marked by delivery (subject, body, recipient never change)
    "outbox": [
        ("INSERT", None, EVERYONE),
        ("UPDATE", ("state", "sent_at", "attempts", "next_attempt_at", "last_error", "message_id",
                    "claimed_until"), EVERYONE),
    ],
    # requested by anyone (a new row carries no review and no decision: RLS); the review and the
    # decision by managers only; the daily status update and the de-escalation (by the escalation
    # engineer) by the others, on approved rows only (RLS). (INSERT is granted on the whole table:
    # the ORM names every column, NULL or not; the policy checks what is in them.)
    "escalation": [
        ("INSERT", None, EVERYONE),
        ("UPDATE", ("state", "last_status_update_at", "de_escalated_by", "de_escalated_at"), ("analyst", "supervisor")),
        ("UPDATE", Except("id", "case_id", "requested_by", "requested_at", "on_behalf", "reason"), ("manager",)),
    ],
    # sent on close; answered through ingest
    # (an undone close withdraws its survey while unanswered: DELETE, RLS; migration 0009)
    "survey": [("INSERT", None, EVERYONE), ("UPDATE", ("answered_at", "score", "comment", "flagged"), EVERYONE),
               ("DELETE", None, EVERYONE)],
    "article": [("INSERT", None, EVERYONE)],
    "casearticle": [("INSERT", None, EVERYONE)],
    "engineeringitem": [("INSERT", None, EVERYONE)],
    # ingest's progress marks
    "meta": [("INSERT", None, EVERYONE), ("UPDATE", ("value",), EVERYONE)],
    # added by managers and supervisors (never linked to a login: that is the administrator's, RLS);
    # availability changed by oneself or a lead (RLS)
    "agent": [("INSERT", None, LEADS), ("UPDATE", ("availability",), EVERYONE)],
    # inbound mail (mail fetch/receive run under any agent's login): recorded once, then its outcome;
    # a parked message released (the message itself never changes)
    "inbound_message": [
        ("INSERT", None, EVERYONE),
        ("UPDATE", ("outcome", "case_id", "reason", "threaded", "released_at", "released_by"), EVERYONE),
    ],
    # attachments, once per content hash; never changed
    "mail_attachment": [("INSERT", None, EVERYONE)],
    # service levels (migration 0007): the desk's calendars and policies, loaded by supervisors (and
    # the administrator, the owner); each case's metric events, appended by the service's actions
    "sla_desk": [("INSERT", None, ("supervisor",)),
                 ("UPDATE", ("document", "version", "loaded_at", "loaded_by"), ("supervisor",))],
    "sla_metric": [("INSERT", None, EVERYONE)],
    # the team's macros (migration 0009): loaded, replaced and removed by managers and supervisors (RLS)
    "macro": [("INSERT", None, LEADS), ("UPDATE", Except("id"), LEADS), ("DELETE", None, LEADS)],
    # presence (migration 0010): every agent reads everyone's heartbeats; writes and removes only
    # their own (RLS)
    "presence": [("INSERT", None, EVERYONE), ("UPDATE", ("state", "beat"), EVERYONE), ("DELETE", None, EVERYONE)],
    # tags on cases (migration 0010): added and removed by the service's edit actions
    "case_tag": [("INSERT", None, EVERYONE), ("DELETE", None, EVERYONE)],
    # views an agent saved (migration 0010): each agent reads and writes its own only (RLS)
    "saved_view": [("INSERT", None, EVERYONE), ("UPDATE", Except("id", "agent_id"), EVERYONE),
                   ("DELETE", None, EVERYONE)],
}

# The agent acting in this desk, by login (NULL: none). SECURITY DEFINER: they read the agent
# table as its owner, for policies evaluated under any login.
_ROLE = "(SELECT deskconsole_role_of(current_user))"
_AGENT = "(SELECT deskconsole_agent_of(current_user))"
_IS_AGENT = f"{_ROLE} IS NOT NULL"
# a saved view of the agent whose login this is (saved_view.agent_id)
_OWN_VIEW = "agent_id IN (SELECT a.id FROM agent a WHERE a.login = current_user)"
#: What only a manager writes on an escalation: a new request has none of it.
DECISION_COLUMNS = (
    "severity_impact", "business_risk", "sla_commitments", "actions_taken", "problem_statement_ok",
    "impact_described", "workaround_impractical", "milestone_date", "decided_by", "decided_at",
    "decision_reason", "engineer", "comm_mode", "comm_frequency", "comm_attendees", "prior_priority",
    "last_status_update_at", "de_escalated_by", "de_escalated_at",
)
_UNDECIDED = " AND ".join(f"{c} IS NULL" for c in DECISION_COLUMNS)

#: Row-level policies beyond "agents of this desk read and write what they are granted".
#: table -> {command: (USING, WITH CHECK)}; a command absent here gets the plain agent gate.
POLICIES: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "escalation": {
        "INSERT": (None, f"{_IS_AGENT} AND state = 'requested' AND {_UNDECIDED}"),
        # two UPDATE policies (either passes): a manager's, and the follow-up of an approved one
        "UPDATE": (f"{_ROLE} = 'manager'", f"{_ROLE} = 'manager'"),
        "UPDATE follow_up": (
            f"{_IS_AGENT} AND state = 'approved'",
            f"{_IS_AGENT} AND (state = 'approved' OR (state = 'de_escalated' AND engineer = {_AGENT}))",
        ),
    },
    "sla_desk": {
        "INSERT": (None, f"{_ROLE} = 'supervisor'"),
        "UPDATE": (f"{_ROLE} = 'supervisor'", f"{_ROLE} = 'supervisor'"),
    },
    "macro": {
        "INSERT": (None, f"{_ROLE} IN ('manager', 'supervisor')"),
        "UPDATE": (f"{_ROLE} IN ('manager', 'supervisor')", f"{_ROLE} IN ('manager', 'supervisor')"),
        "DELETE": (f"{_ROLE} IN ('manager', 'supervisor')", None),
    },
    "survey": {"DELETE": (f"{_IS_AGENT} AND answered_at IS NULL", None)},
    "presence": {
        "INSERT": (None, f"agent = {_AGENT}"),
        "UPDATE": (f"agent = {_AGENT}", f"agent = {_AGENT}"),
        "DELETE": (f"agent = {_AGENT}", None),
    },
    "saved_view": {command: (None if command == "INSERT" else _OWN_VIEW, None if command in ("SELECT", "DELETE")
                             else _OWN_VIEW) for command in ("SELECT", "INSERT", "UPDATE", "DELETE")},
    "agent": {
        "INSERT": (None, f"{_ROLE} IN ('manager', 'supervisor') AND login IS NULL"),
        "UPDATE": (f"login = current_user OR {_ROLE} IN ('manager', 'supervisor')",
                   f"login = current_user OR {_ROLE} IN ('manager', 'supervisor')"),
    },
}


def quote(name: str) -> str:
    """An SQL identifier, always quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _functions(schema: str) -> list[str]:
    agent = f"{quote(schema)}.agent"
    path = f"pg_catalog, {quote(schema)}"
    return [
        f"CREATE OR REPLACE FUNCTION deskconsole_role_of(who name) RETURNS text LANGUAGE sql STABLE "
        f"SECURITY DEFINER SET search_path = {path} AS $$ SELECT role::text FROM {agent} WHERE login = who $$",
        f"CREATE OR REPLACE FUNCTION deskconsole_agent_of(who name) RETURNS text LANGUAGE sql STABLE "
        f"SECURITY DEFINER SET search_path = {path} AS $$ SELECT name::text FROM {agent} WHERE login = who $$",
        # every event records the login that wrote it, whatever the INSERT said
        "CREATE OR REPLACE FUNCTION deskconsole_event_login() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.login := session_user; RETURN NEW; END $$",
    ]


def _event_login() -> list[str]:
    return [
        "ALTER TABLE event ALTER COLUMN login SET DEFAULT session_user",
        "DROP TRIGGER IF EXISTS deskconsole_event_login ON event",
        "CREATE TRIGGER deskconsole_event_login BEFORE INSERT ON event FOR EACH ROW "
        "WHEN (NEW.login IS DISTINCT FROM session_user) EXECUTE FUNCTION deskconsole_event_login()",
    ]


def _policies(table: str) -> list[str]:
    t = quote(table)
    special = POLICIES.get(table, {})
    commands = {"SELECT"} | {privilege for privilege, _, _ in GRANTS[table]}
    statements = [f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY"]
    existing = ("SELECT policyname FROM pg_policies WHERE schemaname = current_schema() "
                f"AND tablename = {literal(table)} AND starts_with(policyname, 'deskconsole_')")
    statements.append(("drop-policies", existing, t))  # type: ignore[arg-type]  # a step run, not a statement
    for command in sorted(commands):
        rules = {key: value for key, value in special.items() if key.split()[0] == command}
        if not rules:
            # (PostgreSQL takes no WITH CHECK for SELECT or DELETE, no USING for INSERT)
            rules = {command: (None if command == "INSERT" else _IS_AGENT,
                               None if command in ("SELECT", "DELETE") else _IS_AGENT)}
        for key, (using, check) in rules.items():
            name = "deskconsole_" + key.lower().replace(" ", "_")
            clause = f"CREATE POLICY {name} ON {t} FOR {command}"
            if using is not None:
                clause += f" USING ({using})"
            if check is not None:
                clause += f" WITH CHECK ({check})"
            statements.append(clause)
    return statements


def _can_create_roles(conn: Connection) -> bool:
    return bool(conn.exec_driver_sql(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").scalar())


def _missing_groups(conn: Connection) -> list[str]:
    present = {r[0] for r in conn.exec_driver_sql(
        "SELECT rolname FROM pg_roles WHERE starts_with(rolname, 'deskconsole_')").all()}
    return [g for g in GROUPS.values() if g not in present]


def ensure_groups(conn: Connection) -> bool:
    """Create the group roles that are missing; False when some are missing and this login may
    not create roles. Consoles of several desks of one cluster may do this at once: a role made
    meanwhile by another counts as made."""
    missing = _missing_groups(conn)
    if not missing:
        return True
    if not _can_create_roles(conn):
        return False
    for group in missing:
        conn.exec_driver_sql(
            "DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {literal(group)}) THEN "
            f"BEGIN CREATE ROLE {quote(group)} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END; "
            "END IF; END $$")
    return True


def _columns(conn: Connection, table: str) -> list[str]:
    return [r[0] for r in conn.exec_driver_sql(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %(t)s ORDER BY ordinal_position", {"t": table}).all()]


def _grants(conn: Connection) -> list[str]:
    groups = ", ".join(quote(g) for g in GROUPS.values())
    statements = [
        f"GRANT USAGE ON SCHEMA {quote(_schema(conn))} TO {groups}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(_schema(conn))} TO {groups}",
    ]
    present = set(_tables(conn))
    for table, rules in GRANTS.items():
        if table not in present:
            continue
        t = quote(table)
        statements.append(f"REVOKE ALL ON {t} FROM {groups}")
        statements.append(f"GRANT SELECT ON {t} TO {groups}")
        for privilege, columns, roles in rules:
            names: list[str] | None
            if isinstance(columns, Except):
                names = [c for c in _columns(conn, table) if c not in columns]
            else:
                names = list(columns) if columns is not None else None
            target = f"{privilege} ({', '.join(quote(c) for c in names)})" if names is not None else privilege
            statements.append(f"GRANT {target} ON {t} TO {', '.join(quote(GROUPS[r]) for r in roles)}")
    return statements


def _schema(conn: Connection) -> str:
    return conn.exec_driver_sql("SELECT current_schema()").scalar_one()


def _tables(conn: Connection) -> list[str]:
    return [r[0] for r in conn.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").all()]


def _run(conn: Connection, statements: list) -> None:
    for statement in statements:
        if isinstance(statement, tuple):  # ("drop-policies", query, table)
            _, query, table = statement
            for (name,) in conn.exec_driver_sql(query).all():
                conn.exec_driver_sql(f"DROP POLICY {quote(name)} ON {table}")
            continue
        conn.exec_driver_sql(statement)


def install(conn: Connection) -> bool:
    """Functions, the event-login trigger, row-level security, the group roles and their grants.

    Idempotent. Returns False when the group roles do not exist and this login may not create
    them (a database owner without CREATEROLE): everything else is in place, and no agent login
    can work until someone who may creates them (linking a login tries again)."""
    schema = _schema(conn)
    _run(conn, _functions(schema))
    _run(conn, _event_login())
    present = set(_tables(conn))
    for table in GRANTS:
        if table in present:
            _run(conn, _policies(table))
    # the schema version is read before anything else: any login may (so a login that is no
    # agent hears so, and not "permission denied for table alembic_version")
    if "alembic_version" in present:
        conn.exec_driver_sql("GRANT SELECT ON alembic_version TO PUBLIC")
    if not ensure_groups(conn):
        return False
    _run(conn, _grants(conn))
    return True


def uninstall(conn: Connection) -> None:
    """What install made in this database (the cluster's group roles stay: other desks may use them)."""
    present = set(_tables(conn))
    groups = [quote(g) for g in GROUPS.values() if g not in _missing_groups(conn)]
    for table in GRANTS:
        if table not in present:
            continue
        t = quote(table)
        _run(conn, [(
            "drop-policies",
            "SELECT policyname FROM pg_policies WHERE schemaname = current_schema() "
            f"AND tablename = {literal(table)} AND starts_with(policyname, 'deskconsole_')",
            t,
        )])
        conn.exec_driver_sql(f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY")
        if groups:
            conn.exec_driver_sql(f"REVOKE ALL ON {t} FROM {', '.join(groups)}")
    if "alembic_version" in present:
        conn.exec_driver_sql("REVOKE SELECT ON alembic_version FROM PUBLIC")
    if groups:
        schema = quote(_schema(conn))
        conn.exec_driver_sql(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {', '.join(groups)}")
        conn.exec_driver_sql(f"REVOKE USAGE ON SCHEMA {schema} FROM {', '.join(groups)}")
    conn.exec_driver_sql("DROP TRIGGER IF EXISTS deskconsole_event_login ON event")
    conn.exec_driver_sql("ALTER TABLE event ALTER COLUMN login DROP DEFAULT")
    for function in ("deskconsole_event_login()", "deskconsole_role_of(name)", "deskconsole_agent_of(name)"):
        conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}")


# --------------------------------------------------------------------------- who is connected


@dataclass(frozen=True)
class Identity:
    """The login a PostgreSQL connection runs as, and what it is on this desk."""

    login: str
    admin: bool  # the database's owner (or a member of the owning role) or a superuser
    agent: str | None = None  # the agent linked to the login (None for the administrator: anyone)
    role: str | None = None


def whoami(conn: Connection) -> Identity:
    login, admin = conn.exec_driver_sql(LOGIN_SQL).one()
    if admin:
        return Identity(login=login, admin=True)
    try:
        with conn.begin_nested():
            agent, role = conn.exec_driver_sql(AGENT_SQL).one()
    except DBAPIError:  # no identity functions (a schema older than 0005): nobody is an agent
        agent = role = None
    return Identity(login=login, admin=False, agent=agent, role=role)


def refuse(who: Identity, *, fixed_clock: bool, what: str = "DESKCONSOLE_NOW") -> None:
    """Refuse a connection that may not work the desk: a login that is no agent, or an agent's
    login with a "now" of its own (`what`: DESKCONSOLE_NOW, a clock given to the service, or a
    time given to tick)."""
    if who.admin:
        return
    if who.agent is None:
        raise PermissionDenied(
            f"the database login {who.login!r} is no agent of this desk: the desk's administrator links it "
            f"with 'deskconsole agent add NAME --role ROLE --login {who.login}'")
    if fixed_clock:
        undo = "; unset DESKCONSOLE_NOW" if what == "DESKCONSOLE_NOW" else ""
        raise PermissionDenied(
            f"{what} is for the desk's administrator: connected as {who.login!r} ({who.agent}), "
            f"now is the database server's clock{undo}")


def acting(who: Identity | None, name: str | None) -> str | None:
    """The agent name an action runs as: on PostgreSQL under an agent's login, that agent (a
    different name asked for is refused); for the administrator and on SQLite, the name asked for."""
    if who is None or who.admin:
        return name
    if name is not None and name != who.agent:
        raise PermissionDenied(
            f"connected as the database login {who.login!r} you are {who.agent}: you cannot act as {name}")
    return who.agent


def link(conn: Connection, who: Identity | None, login: str, role: str) -> None:
    """Make `login` an agent login of `role`: checks that it may be (the administrator links an
    existing login that is no administrator and no other agent's), then grants it its group.
    Runs inside the transaction that adds the agent."""
    if who is None:
        raise InvalidInput(NO_LOGINS_ON_SQLITE)
    if not who.admin:
        raise PermissionDenied(f"only the desk's administrator (the database owner) links logins to agents; "
                               f"connected as {who.login!r}")
    if not login or len(login) > MAX_LOGIN or "\x00" in login:
        raise InvalidInput(f"login {login!r}: a PostgreSQL role name of 1 to {MAX_LOGIN} characters")
    row = conn.execute(text(
        "SELECT r.rolcanlogin, r.rolsuper OR pg_has_role(r.oid, d.datdba, 'MEMBER') "
        "FROM pg_roles r, pg_database d WHERE r.rolname = :login AND d.datname = current_database()"),
        {"login": login}).first()
    if row is None:
        raise InvalidInput(f"there is no PostgreSQL login {login!r}: create it first (CREATE ROLE ... LOGIN)")
    can_login, is_admin = row
    if not can_login:
        raise InvalidInput(f"PostgreSQL role {login!r} cannot log in (it is not a login)")
    if is_admin:
        raise InvalidInput(f"{login!r} is the desk's administrator (the database owner or a superuser), who "
                           "acts as anyone: link a login of the agent's own")
    taken = conn.execute(text("SELECT name FROM agent WHERE login = :login"), {"login": login}).scalar()
    if taken is not None:
        raise InvalidInput(f"login {login!r} is already {taken}'s")
    # The groups and their grants are made by the migration when it may create roles; if it could
    # not, here. (Not again when they exist: re-making the policies would lock every desk table.)
    if _missing_groups(conn) and not install(conn):
        raise PermissionDenied(f"the login {who.login!r} may not create the group roles "
                               f"({', '.join(GROUPS.values())}): give it CREATEROLE, or let a superuser link logins")
    conn.exec_driver_sql(f"GRANT {quote(GROUPS[role])} TO {quote(login)}")


__all__ = ["GRANTS", "GROUPS", "Identity", "acting", "install", "link", "refuse", "uninstall", "whoami"]
