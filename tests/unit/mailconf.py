"""The IMAP server for the mail tests: a real Dovecot (scripts/dovecot-throwaway.sh).

    imap_box   a fresh, empty mailbox (folder) on the server named by DESKCONSOLE_TEST_IMAP_URL,
               deleted afterwards; `.url` is a DESKCONSOLE_IMAP_URL for it, `.append(raw)` puts a
               message in (IMAP APPEND), `.flags()` reads every message's flags.

Without DESKCONSOLE_TEST_IMAP_URL the tests that use it skip; under CI (CI=true) they fail
instead, like the PostgreSQL tests (tests/conftest.py's policy).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

IMAP_URL_ENV = "DESKCONSOLE_TEST_IMAP_URL"
IMAP_PASSWORD_ENV = "DESKCONSOLE_TEST_IMAP_PASSWORD"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


class Box:
    def __init__(self, base: str, password: str) -> None:
        from imapclient import IMAPClient

        parts = urlsplit(base)
        self.host, self.port, self.user, self.password = parts.hostname, parts.port, parts.username, password
        self.folder = f"t{uuid.uuid4().hex[:12]}"
        self.url = f"imap://{self.user}@{self.host}:{self.port}/{self.folder}"
        self.client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        self.client.login(self.user, self.password)
        self.client.create_folder(self.folder)

    def env(self) -> dict[str, str]:
        return {"DESKCONSOLE_IMAP_URL": self.url, "DESKCONSOLE_IMAP_PASSWORD": self.password}

    def append(self, raw: bytes) -> None:
        self.client.append(self.folder, raw)

    def flags(self) -> dict[int, set[bytes]]:
        self.client.select_folder(self.folder, readonly=True)
        found = self.client.fetch("1:*", ["FLAGS"]) if self.client.folder_status(self.folder, ["MESSAGES"])[
            b"MESSAGES"] else {}
        self.client.unselect_folder()
        return {uid: set(d[b"FLAGS"]) for uid, d in found.items()}

    def close(self) -> None:
        try:
            self.client.delete_folder(self.folder)
        finally:
            self.client.logout()


@pytest.fixture
def imap_box() -> Iterator[Box]:
    base = os.environ.get(IMAP_URL_ENV, "").strip()
    if not base:
        if in_ci():
            pytest.fail(f"IMAP server required under CI: {IMAP_URL_ENV} is not set (scripts/dovecot-throwaway.sh)")
        pytest.skip(f"IMAP server not available: set {IMAP_URL_ENV} (scripts/dovecot-throwaway.sh)")
    box = Box(base, os.environ.get(IMAP_PASSWORD_ENV, ""))
    try:
        yield box
    finally:
        box.close()
