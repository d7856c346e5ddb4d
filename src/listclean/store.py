"""The embedded store: one SQLite file in LISTCLEAN_HOME (directory 0700, files 0600).

Tables:
- ``domains``: MX answers per domain, for their DNS TTL (public DNS data, kept readable).
- ``catchall``: whether a domain accepts any local part (domain-level, readable).
- ``addresses``: decided SMTP verdicts, keyed by HMAC-SHA256 of the normalized address, the
  reply sealed with AES-GCM (see vault.py). Nothing here holds an address in plain text.
  These rows are also the checkpoint that ``--resume`` continues from.
- ``runs``: one row per run (input hash + options fingerprint) so ``--resume`` can tell an
  interrupted run of the same input and options from a new one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
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
CREATE TABLE IF NOT EXISTS addresses (
    id      BLOB PRIMARY KEY,      -- HMAC-SHA256(normalized address)
    reason  TEXT NOT NULL,
    code    TEXT NOT NULL,
    reply   BLOB NOT NULL,         -- AES-GCM sealed reply text
    host    TEXT NOT NULL,         -- MX host that answered (domain-level)
    decided REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS addresses_decided ON addresses(decided);
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    started     REAL NOT NULL,
    state       TEXT NOT NULL      -- running | interrupted | done
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


@dataclass(frozen=True)
class StoredProbe:
    reason: str
    code: str
    reply: bytes
    host: str
    decided: float


class Store:
    def __init__(self, home: Path) -> None:
        ensure_home(home)
        self.home = home
        self.path = home / "store.sqlite"
        old = os.umask(0o077)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed on disk
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"the store {self.path} is damaged ({exc}); run `listclean cache purge` "
                "or delete the file"
            ) from None
        finally:
            os.umask(old)
        for suffix in ("", "-wal", "-shm"):
            p = Path(f"{self.path}{suffix}")
            if p.exists():
                os.chmod(p, 0o600)

    def close(self) -> None:
        self.db.close()

    def _select_in(self, sql: str, keys: list, extra: list) -> Iterable[tuple]:  # type: ignore[type-arg]
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(sql.format(marks=marks), [*extra, *chunk])

    def _write(self, sql: str, rows: list[tuple]) -> None:  # type: ignore[type-arg]
        if not rows:
            return
        self.db.execute("BEGIN")
        try:
            self.db.executemany(sql, rows)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # -- domains ---------------------------------------------------------------------------
    def get_domains(self, domains: list[str], now: float | None = None) -> dict[str, dict]:  # type: ignore[type-arg]
        now = time.time() if now is None else now
        sql = "SELECT domain, data FROM domains WHERE expires > ? AND domain IN ({marks})"
        return {d: json.loads(data) for d, data in self._select_in(sql, domains, [now])}

    def put_domains(self, items: list[tuple[str, dict, int]], now: float | None = None) -> None:  # type: ignore[type-arg]
        """items: (domain, data, ttl seconds). A ttl of 0 is not stored."""
        now = time.time() if now is None else now
        rows = [(d, json.dumps(data), now + ttl) for d, data, ttl in items if ttl > 0]
        self._write("INSERT OR REPLACE INTO domains(domain, data, expires) VALUES (?, ?, ?)", rows)

    # -- catch-all -------------------------------------------------------------------------
    def get_catchall(self, domains: list[str], now: float | None = None) -> dict[str, bool]:
        now = time.time() if now is None else now
        sql = "SELECT domain, accept_all FROM catchall WHERE expires > ? AND domain IN ({marks})"
        return {d: bool(a) for d, a in self._select_in(sql, domains, [now])}

    def put_catchall(self, items: dict[str, bool], ttl: float, now: float | None = None) -> None:
        now = time.time() if now is None else now
        rows = [(d, int(a), now + ttl) for d, a in items.items()]
        self._write(
            "INSERT OR REPLACE INTO catchall(domain, accept_all, expires) VALUES (?, ?, ?)", rows
        )

    # -- per-address verdicts (checkpoint) -------------------------------------------------
    def get_addresses(
        self, ids: list[bytes], ttl: float, now: float | None = None
    ) -> dict[bytes, StoredProbe]:
        """Verdicts decided within the last ttl seconds."""
        now = time.time() if now is None else now
        sql = (
            "SELECT id, reason, code, reply, host, decided FROM addresses "
            "WHERE decided > ? AND id IN ({marks})"
        )
        return {
            row[0]: StoredProbe(row[1], row[2], row[3], row[4], row[5])
            for row in self._select_in(sql, ids, [now - ttl])
        }

    def put_addresses(self, rows: list[tuple[bytes, str, str, bytes, str, float]]) -> None:
        self._write(
            "INSERT OR REPLACE INTO addresses(id, reason, code, reply, host, decided) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    # -- runs ------------------------------------------------------------------------------
    def resumable_run(self, fingerprint: str) -> str | None:
        row = self.db.execute(
            "SELECT run_id FROM runs WHERE fingerprint = ? AND state != 'done' "
            "ORDER BY started DESC LIMIT 1",
            [fingerprint],
        ).fetchone()
        return row[0] if row else None

    def start_run(self, run_id: str, fingerprint: str) -> None:
        self._write(
            "INSERT OR REPLACE INTO runs(run_id, fingerprint, started, state) "
            "VALUES (?, ?, ?, 'running')",
            [(run_id, fingerprint, time.time())],
        )

    def end_run(self, run_id: str, state: str) -> None:
        self._write("UPDATE runs SET state = ? WHERE run_id = ?", [(state, run_id)])

    # -- retention -------------------------------------------------------------------------
    def stats(self) -> dict[str, object]:
        now = time.time()
        counts = {
            "addresses": self.db.execute("SELECT COUNT(*) FROM addresses").fetchone()[0],
            "domains": self.db.execute(
                "SELECT COUNT(*) FROM domains WHERE expires > ?", [now]
            ).fetchone()[0],
            "domains_expired": self.db.execute(
                "SELECT COUNT(*) FROM domains WHERE expires <= ?", [now]
            ).fetchone()[0],
            "catchall_domains": self.db.execute("SELECT COUNT(*) FROM catchall").fetchone()[0],
            "runs": self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0],
        }
        oldest = self.db.execute("SELECT MIN(decided) FROM addresses").fetchone()[0]
        counts["oldest_address_result"] = oldest
        return counts

    def purge(self, older_than: float | None = None) -> dict[str, int]:
        """Delete everything, or what was decided/cached more than older_than seconds ago."""
        cut = None if older_than is None else time.time() - older_than
        deleted: dict[str, int] = {}
        self.db.execute("BEGIN")
        try:
            if cut is None:
                for table in ("addresses", "domains", "catchall", "runs"):
                    deleted[table] = self.db.execute(f"DELETE FROM {table}").rowcount  # noqa: S608 - fixed names
            else:
                deleted["addresses"] = self.db.execute(
                    "DELETE FROM addresses WHERE decided < ?", [cut]
                ).rowcount
                deleted["domains"] = self.db.execute(
                    "DELETE FROM domains WHERE expires < ?", [time.time()]
                ).rowcount
                deleted["runs"] = self.db.execute(
                    "DELETE FROM runs WHERE started < ?", [cut]
                ).rowcount
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.execute("VACUUM")  # deleted rows must not linger in free pages
        return deleted

    def expire(self, address_ttl: float) -> None:
        """Drop per-address verdicts past their TTL (run at the start of every networked run)."""
        cut = time.time() - address_ttl
        self._write("DELETE FROM addresses WHERE decided < ?", [(cut,)])
