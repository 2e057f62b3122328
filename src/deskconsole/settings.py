"""Where deskconsole finds its database, who is acting, and how long the timers run.

Each setting comes from, strongest first: a command-line flag, an environment
variable, the config file, a default that just works.

| setting | flag | environment | config file | default |
|---|---|---|---|---|
| database URL | `--db` | `DESKCONSOLE_DB` | `db = "..."` | SQLite file in the user data dir |
| acting user | `--as` | `DESKCONSOLE_USER` | `user = "..."` | the login name |
| "now" | — | `DESKCONSOLE_NOW` | — | the real clock |
| timer durations | — | `DESKCONSOLE_<NAME>`, e.g. `..._CUSTOMER_INPUT_REMINDER=3d` | `[timers]` | LIFECYCLE.md |
| views of the queue | — | — | `[[views]]` (read_views) | the built-in views only |

The config file is `config.toml` in the user config dir (platformdirs), or the
file named by `DESKCONSOLE_CONFIG`:

    db = "postgresql+psycopg://desk@db.example:5432/desk"
    user = "alice"

    [keys]                       # the console's keys, by action id (tui/keymap.py)
    close = "X"

    [timers]
    awaiting_confirmation_close = "14d"
    customer_input_reminder = "7d"
    customer_input_close = "28d"
    followup_after_close = "1d"
    escalation_status_update = "1d"

Nothing here opens a database or creates a file; `Settings.make_service()` does
that when a command needs it.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskconsole.domain.clock import Clock, SystemClock, clock_from_env
from deskconsole.domain.errors import InvalidInput
from deskconsole.domain.timers import Durations

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from deskconsole.domain.saved_views import View
    from deskconsole.service import Service

CONFIG_ENV = "DESKCONSOLE_CONFIG"


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("deskconsole", appauthor=False)) / "config.toml"


def login_name() -> str | None:
    try:
        return getpass.getuser() or None
    except (OSError, KeyError, ImportError):
        # No LOGNAME/USER and no passwd entry (some containers): nobody by default.
        return None


def read_config(path: Path) -> dict[str, Any]:
    """The config file's table, {} when there is no file. A broken file is refused."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InvalidInput(f"cannot read the config file {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"config file {path} is not valid TOML: {exc}") from None
    for key in ("db", "user"):
        if key in data and not isinstance(data[key], str):
            raise InvalidInput(f"config file {path}: {key} must be a string")
    timers = data.get("timers", {})
    if not isinstance(timers, dict):
        raise InvalidInput(f"config file {path}: [timers] must be a table")
    known = set(Durations.__dataclass_fields__)
    for name, value in timers.items():
        if name not in known:
            raise InvalidInput(
                f"config file {path}: unknown timer {name!r} (one of: {', '.join(sorted(known))})"
            )
        if not isinstance(value, str):
            raise InvalidInput(f"config file {path}: timers.{name} must be a duration string like \"14d\"")
    return data


@dataclass
class Settings:
    db_url: str
    user: str | None
    durations: Durations = field(default_factory=Durations)
    clock: Clock = field(default_factory=clock_from_env)
    config_path: Path | None = None
    user_source: str = "flag"  # where user came from: flag, env, config or login (the default)
    keys: dict[str, str] = field(default_factory=dict)  # the config file's [keys]: binding id -> keys
    views: list[View] = field(default_factory=list)  # the config file's [[views]] (read_views)
    bulk_writes: bool = False  # the command writes many cases a transaction (ingest): see make_engine

    def make_engine(self) -> Engine:
        from deskconsole.store.engine import make_engine

        return make_engine(self.db_url, bulk_writes=self.bulk_writes)

    def make_service(self, *, init: bool = True) -> Service:
        """A Service over this database (schema created if missing), clock and durations."""
        from deskconsole.service import Service
        from deskconsole.store.engine import init_schema

        engine = self.make_engine()
        if init:
            init_schema(engine)
        # events' recorded_at: the real clock, whatever DESKCONSOLE_NOW says
        return Service(engine, self.clock, self.durations, real_clock=SystemClock())


def load_settings(
    *,
    db: str | None = None,
    user: str | None = None,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
    keys_reader: KeysReader | None = None,
) -> Settings:
    """Flags (the arguments) over environment over config file over defaults. `keys_reader`: reads
    the file's [keys] for the console (read_keys_table)."""
    env = os.environ if environ is None else environ
    if config_path is None:
        named = env.get(CONFIG_ENV)
        config_path = Path(named).expanduser() if named else default_config_path()
    config = read_config(config_path)

    if db:
        db_url = db
    elif env.get("DESKCONSOLE_DB"):
        db_url = env["DESKCONSOLE_DB"]
    elif config.get("db"):
        db_url = config["db"]
    else:
        from deskconsole.store.engine import default_db_url

        db_url = default_db_url()

    who: str | None
    if user:
        who, user_source = user, "flag"
    elif env.get("DESKCONSOLE_USER"):
        who, user_source = env["DESKCONSOLE_USER"], "env"
    elif config.get("user"):
        who, user_source = config["user"], "config"
    else:
        who, user_source = login_name(), "login"

    # File durations first, environment variables on top (same names as Durations.from_env reads).
    merged = {f"DESKCONSOLE_{name.upper()}": value for name, value in config.get("timers", {}).items()}
    merged.update({k: v for k, v in env.items() if k.startswith("DESKCONSOLE_")})
    durations = Durations.from_env(merged)
    try:
        clock = clock_from_env(dict(env))
    except ValueError as exc:
        raise InvalidInput(f"DESKCONSOLE_NOW: {exc}") from None
    return Settings(db_url=db_url, user=who, durations=durations, clock=clock, config_path=config_path,
                    user_source=user_source, keys=read_keys_table(config, config_path, keys_reader),
                    views=read_views(config, config_path))


KeysReader = Callable[[Any, str, str | None], dict[str, str]]


def read_keys_table(config: Mapping[str, Any], path: Path, reader: KeysReader | None) -> dict[str, str]:
    """The config file's `[keys]` table: the console's keys remapped by action id. `reader` checks
    it (the console's, deskconsole.tui.keymap.read_keys, handed in by the CLI: the settings, which
    the core reads too, never import the console); a bad table is refused with the file, the line,
    the entry and the reason. Without a reader the table is not read ({})."""
    if "keys" not in config or reader is None:
        return {}
    try:
        source: str | None = path.read_text(encoding="utf-8")
    except OSError:
        source = None
    return reader(config["keys"], str(path), source)


def read_views(config: Mapping[str, Any], path: Path) -> list[View]:
    """The config file's views of the queue, `[[views]]` tables (name, filter, optional sort and
    columns; domain/saved_views.py): a bad one is refused with the file, the view and the reason.

        [[views]]
        name = "Billing P1"
        filter = "area:billing prio:P1 status:new,in_progress"
        sort = "sla"
        columns = ["id", "priority", "sla", "status", "title"]
    """
    if "views" not in config:
        return []
    from deskconsole.domain.saved_views import config_views

    return config_views(config["views"], path)


__all__ = ["Settings", "default_config_path", "load_settings", "login_name", "read_config", "read_keys_table",
           "read_views"]
