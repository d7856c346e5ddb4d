"""The embedded store: one SQLite file in LISTCLEAN_HOME (created owner-only).

Domain-level records (MX answers) are kept readable: they are public DNS data, not personal.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from listclean.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS domains (
    domain  TEXT PRIMARY KEY,
    data    TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS catchall (
    domain     TEXT PRIMARY KEY,
    accept_all INTEGER NOT NULL,
    expires    REAL NOT NULL
);
"""


def ensure_home(home: Path) -> Path:
    """Create LISTCLEAN_HOME with owner-only permissions (0700)."""
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(home, 0o700)
    except OSError as exc:
        raise ConfigError(
            f"cannot create LISTCLEAN_HOME {home}: {exc.strerror or exc}; "
            "set LISTCLEAN_HOME to a writable directory"
        ) from None
    return home


class Store:
    def __init__(self, home: Path) -> None:
        ensure_home(home)
        self.path = home / "store.sqlite"
        old = os.umask(0o077)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def get_domains(self, domains: list[str], now: float | None = None) -> dict[str, dict]:
        now = time.time() if now is None else now
        out: dict[str, dict] = {}
        for i in range(0, len(domains), 500):
            chunk = domains[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT domain, data FROM domains WHERE expires > ? AND domain IN ({marks})",  # noqa: S608 - placeholders only
                [now, *chunk],
            )
            for domain, data in rows:
                out[domain] = json.loads(data)
        return out

    def put_domains(self, items: list[tuple[str, dict, int]], now: float | None = None) -> None:
        """items: (domain, data, ttl seconds). A ttl of 0 is not stored."""
        now = time.time() if now is None else now
        rows = [(d, json.dumps(data), now + ttl) for d, data, ttl in items if ttl > 0]
        if not rows:
            return
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO domains(domain, data, expires) VALUES (?, ?, ?)", rows
            )

    def get_catchall(self, domains: list[str], now: float | None = None) -> dict[str, bool]:
        now = time.time() if now is None else now
        out: dict[str, bool] = {}
        for i in range(0, len(domains), 500):
            chunk = domains[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT domain, accept_all FROM catchall WHERE expires > ? AND domain IN ({marks})",  # noqa: S608, E501 - placeholders only
                [now, *chunk],
            )
            out.update((d, bool(a)) for d, a in rows)
        return out

    def put_catchall(self, items: dict[str, bool], ttl: float, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO catchall(domain, accept_all, expires) VALUES (?, ?, ?)",
                [(d, int(a), now + ttl) for d, a in items.items()],
            )
