"""Drafts of the console's composer: what someone is writing on a case, kept until it is sent.

One small JSON file per desk, person and case, under the user's data dir
(platformdirs; `DESKCONSOLE_DRAFTS_DIR` moves it):
``drafts/<desk>/<person>/<case>.json`` with the text and the composer's mode.
`<desk>` is a digest of the database URL (without its password), so that case 12
of one desk never shows the draft of case 12 of another.

A file, not a table: a draft must survive exactly the moments the database does not
(it cannot be reached, it refused the text, someone changed the case meanwhile) and
a restart of the console; and it is one person's unsent words, which the rest of the
team has no business reading. Each save writes a temporary file in the same
directory, flushes it to disk and renames it over the old one (atomic on POSIX and
Windows), so a crash leaves the old draft or the new one, never half of one.
Plain Python: no Textual, no database.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPLY, NOTE = "reply", "note"  # the composer's modes: a public reply to the customer, an internal note
MODES = (REPLY, NOTE)


@dataclass(frozen=True)
class Draft:
    text: str
    mode: str = REPLY
    saved_at: str = ""


def default_root(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    given = env.get("DESKCONSOLE_DRAFTS_DIR")
    if given:
        return Path(given)
    from platformdirs import user_data_path

    return user_data_path("deskconsole") / "drafts"


def desk_key(url: str) -> str:
    """A digest naming one database (its URL without the password)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def url_of(service: Any) -> str:
    engine = getattr(service, "engine", None)
    url = getattr(engine, "url", None)
    if url is None:
        return "unknown"
    render = getattr(url, "render_as_string", None)
    return render(hide_password=True) if render else str(url)


class Drafts:
    """The drafts of one desk."""

    def __init__(self, root: Path, desk: str) -> None:
        self.root = Path(root)
        self.desk = desk

    @classmethod
    def for_service(cls, service: Any, environ: Mapping[str, str] | None = None) -> Drafts:
        return cls(default_root(environ), desk_key(url_of(service)))

    def path(self, person: str, case_id: int) -> Path:
        return self.root / self.desk / quote(person, safe="") / f"{int(case_id)}.json"

    def load(self, person: str, case_id: int) -> Draft | None:
        """The draft, or None (none kept, or a file that cannot be read: a draft never stops the console)."""
        try:
            data = json.loads(self.path(person, case_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            return None
        mode = data.get("mode") if data.get("mode") in MODES else REPLY
        return Draft(data["text"], mode, str(data.get("saved_at", "")))

    def save(self, person: str, case_id: int, text: str, mode: str) -> Draft:
        """Keep the draft (atomically); an empty text discards it. Raises OSError when it cannot be written."""
        if not text.strip():
            self.discard(person, case_id)
            return Draft(text, mode)
        draft = Draft(text, mode if mode in MODES else REPLY, datetime.now(UTC).isoformat(timespec="seconds"))
        target = self.path(person, case_id)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".draft-", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"text": draft.text, "mode": draft.mode, "saved_at": draft.saved_at}, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return draft

    def discard(self, person: str, case_id: int) -> None:
        try:
            self.path(person, case_id).unlink(missing_ok=True)
        except OSError:
            pass


__all__ = ["MODES", "NOTE", "REPLY", "Draft", "Drafts", "default_root", "desk_key", "url_of"]
