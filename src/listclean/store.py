"""The embedded store: one SQLite file in LISTCLEAN_HOME (directory 0700, files 0600).

Tables:
- ``domains``: MX answers per domain, for their DNS TTL (public DNS data, kept readable).
- ``catchall``: whether a domain accepts any local part (domain-level, readable).
- ``addresses``: decided SMTP verdicts, keyed by HMAC-SHA256 of the normalized address, the
  reply sealed with AES-GCM (see vault.py). Nothing here holds an address in plain text.
  These rows are also the checkpoint that ``--resume`` continues from.
- ``observed``: the other probe outcomes (unknowns, greylisting, refusals), sealed the same way,
  never reused by a normal run (an unknown is asked again) but read by ``verify --from-cache``,
  which derives verdicts again from the kept replies without a socket.
- ``evidence``: what ``listclean learn`` read from the user's bounce logs and exports, keyed
  by HMAC like ``addresses`` (kind, time and source format only: never an address or a reply).
- ``runs``: one row per run (input hash + options fingerprint) so ``--resume`` can tell an
  interrupted run of the same input and options from a new one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import sqlite3
import stat
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
CREATE TABLE IF NOT EXISTS observed (  -- every other probe outcome, for verify --from-cache
    id      BLOB PRIMARY KEY,      -- HMAC-SHA256(normalized address)
    reason  TEXT NOT NULL,
    code    TEXT NOT NULL,
    reply   BLOB NOT NULL,         -- AES-GCM sealed reply text
    host    TEXT NOT NULL,
    rcpt    INTEGER NOT NULL,      -- 1: a reply to RCPT (may be classified again)
    decided REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (  -- `listclean learn`: the user's own delivery evidence
    id      BLOB NOT NULL,         -- HMAC-SHA256(evidence key of the address)
    kind    TEXT NOT NULL,         -- hard_bounce soft_bounce complaint unsubscribed delivered
    at      REAL NOT NULL,         -- when it happened (epoch seconds)
    source  TEXT NOT NULL,         -- the format it was read from (postfix, mailchimp, ses...)
    learned REAL NOT NULL,         -- when it was learned
    PRIMARY KEY (id, kind, at, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS evidence_at ON evidence(at);
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    started     REAL NOT NULL,
    state       TEXT NOT NULL      -- running | interrupted | done
);
"""


def ensure_home(home: Path) -> Path:
    """Create LISTCLEAN_HOME with owner-only permissions (0700), or check the one there is.

    A home that is a symbolic link, not a directory, or owned by another user is refused
    (chmod through a link would change the target's permissions); a home found wider than
    0700 is set back to 0700.
    """
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = os.lstat(home)
    except OSError as exc:
        raise ConfigError(
            f"cannot create LISTCLEAN_HOME {home}: {exc.strerror or exc}; "
            "set LISTCLEAN_HOME to a writable directory"
        ) from None
    if stat.S_ISLNK(info.st_mode):
        raise ConfigError(
            f"LISTCLEAN_HOME {home} is a symbolic link; set LISTCLEAN_HOME to the real "
            "directory (listclean does not follow links for its private files)"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"LISTCLEAN_HOME {home} is not a directory; set it to a directory")
    if info.st_uid != os.geteuid():
        raise ConfigError(
            f"LISTCLEAN_HOME {home} belongs to another user (uid {info.st_uid}); "
            "set LISTCLEAN_HOME to a directory of your own"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        try:
            os.chmod(home, 0o700)
        except OSError as exc:
            raise ConfigError(f"cannot set {home} to 0700: {exc.strerror or exc}") from None
    return home


def open_private(path: Path, flags: int) -> int:
    """os.open for a file in LISTCLEAN_HOME: never through a symlink, owner-only (0600).

    A file found with wider permissions is set back to 0600; one that is not a regular file
    or belongs to another user is refused.
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(f"{path} is a symbolic link; remove it") from None
        raise
    try:
        _check_private(path, os.fstat(fd), fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_private(path: Path, info: os.stat_result, fd: int | None = None) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path} is not a regular file; remove it")
    if info.st_uid != os.geteuid():
        raise ConfigError(f"{path} belongs to another user; remove it")
    if stat.S_IMODE(info.st_mode) != 0o600:
        if fd is not None:
            os.fchmod(fd, 0o600)
        else:
            os.chmod(path, 0o600, follow_symlinks=False)


def check_private(path: Path) -> None:
    """Repair the mode of an existing private file (no-op when absent); refuse links."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise ConfigError(f"{path} is a symbolic link; remove it")
    _check_private(path, info)


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write a private file whole: a 0600 temp file beside it, fsynced, then renamed over
    ``path`` or, with ``exclusive``, linked to it (FileExistsError when it exists: a racing
    writer made it first). A reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


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
        for suffix in ("", "-wal", "-shm"):
            check_private(Path(f"{self.path}{suffix}"))
        old = os.umask(0o077)
        try:
            self.db = self._connect()
        finally:
            os.umask(old)
        for suffix in ("", "-wal", "-shm"):
            check_private(Path(f"{self.path}{suffix}"))

    def _connect(self) -> sqlite3.Connection:
        """Open (or create) the database; several runs starting at once on a fresh home wait
        for each other instead of failing ("database is locked" while one sets up WAL)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                try:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.execute("PRAGMA synchronous=NORMAL")
                    db.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed on disk
                    db.executescript(SCHEMA)
                except BaseException:
                    db.close()
                    raise
                return db
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise ConfigError(f"cannot open the store {self.path}: {exc}") from None
                time.sleep(0.05 + secrets.randbelow(50) / 1000)
            except sqlite3.DatabaseError as exc:
                raise ConfigError(
                    f"the store {self.path} is damaged ({exc}); run `listclean cache purge` "
                    "or delete the file"
                ) from None

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

    def put_observed(self, rows: list[tuple[bytes, str, str, bytes, str, int, float]]) -> None:
        self._write(
            "INSERT OR REPLACE INTO observed(id, reason, code, reply, host, rcpt, decided) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def get_any(self, ids: list[bytes], ttl: float) -> dict[bytes, tuple[StoredProbe, bool]]:
        """Every kept outcome within the TTL, decided or not: (probe, answered RCPT)."""
        cut = time.time() - ttl
        out: dict[bytes, tuple[StoredProbe, bool]] = {}
        sql = (
            "SELECT id, reason, code, reply, host, rcpt, decided FROM observed "
            "WHERE decided > ? AND id IN ({marks})"
        )
        for row in self._select_in(sql, ids, [cut]):
            out[row[0]] = (StoredProbe(row[1], row[2], row[3], row[4], row[6]), bool(row[5]))
        for key, probe in self.get_addresses(ids, ttl).items():
            other = out.get(key)
            if other is None or other[0].decided <= probe.decided:
                out[key] = (probe, True)  # decided verdicts all answered RCPT
        return out

    def all_domains(self, domains: list[str]) -> dict[str, dict]:  # type: ignore[type-arg]
        """MX answers whatever their age (verify --from-cache re-derives an old run)."""
        sql = "SELECT domain, data FROM domains WHERE domain IN ({marks})"
        return {d: json.loads(data) for d, data in self._select_in(sql, domains, [])}

    def all_catchall(self, domains: list[str]) -> dict[str, bool]:
        sql = "SELECT domain, accept_all FROM catchall WHERE domain IN ({marks})"
        return {d: bool(a) for d, a in self._select_in(sql, domains, [])}

    # -- learned evidence -----------------------------------------------------------------
    def put_evidence(self, rows: list[tuple[bytes, str, float, str, float]]) -> int:
        """(id, kind, at, source, learned) rows, in one transaction; the number that were new."""
        before = self.db.execute("SELECT COUNT(*) FROM evidence").fetchone()[0]
        self._write(
            "INSERT OR IGNORE INTO evidence(id, kind, at, source, learned) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        return int(self.db.execute("SELECT COUNT(*) FROM evidence").fetchone()[0] - before)

    def has_evidence(self) -> bool:
        return self.db.execute("SELECT 1 FROM evidence LIMIT 1").fetchone() is not None

    def get_evidence(self, ids: list[bytes]) -> dict[bytes, list[tuple[str, float]]]:
        out: dict[bytes, list[tuple[str, float]]] = {}
        sql = "SELECT id, kind, at FROM evidence WHERE id IN ({marks})"
        for key, kind, at in self._select_in(sql, ids, []):
            out.setdefault(key, []).append((kind, at))
        return out

    def evidence_stats(self) -> dict[str, object]:
        rows = self.db.execute(
            "SELECT source, kind, COUNT(*), COUNT(DISTINCT id), MIN(at), MAX(at) "
            "FROM evidence GROUP BY source, kind ORDER BY source, kind"
        ).fetchall()
        total = self.db.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM evidence").fetchone()
        return {
            "records": total[0],
            "addresses": total[1],
            "by_source": [
                {
                    "source": source,
                    "kind": kind,
                    "records": n,
                    "addresses": distinct,
                    "first": first,
                    "last": last,
                }
                for source, kind, n, distinct, first, last in rows
            ],
        }

    def forget_evidence(self, source: str | None = None, before: float | None = None) -> int:
        """Delete learned evidence: all of it, or of one source format, or older than a time."""
        where: list[str] = []
        args: list[object] = []
        if source is not None:
            where.append("source = ?")
            args.append(source)
        if before is not None:
            where.append("at < ?")
            args.append(before)
        # fixed fragments only; the values are bound parameters
        sql = "DELETE FROM evidence" + (" WHERE " + " AND ".join(where) if where else "")  # noqa: S608
        self.db.execute("BEGIN")
        try:
            deleted = self.db.execute(sql, args).rowcount
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.execute("VACUUM")
        return int(deleted)

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
            "observed": self.db.execute("SELECT COUNT(*) FROM observed").fetchone()[0],
            "evidence": self.db.execute("SELECT COUNT(*) FROM evidence").fetchone()[0],
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
                for table in ("addresses", "observed", "domains", "catchall", "runs", "evidence"):
                    deleted[table] = self.db.execute(f"DELETE FROM {table}").rowcount  # noqa: S608 - fixed names
            else:
                deleted["addresses"] = self.db.execute(
                    "DELETE FROM addresses WHERE decided < ?", [cut]
                ).rowcount
                deleted["observed"] = self.db.execute(
                    "DELETE FROM observed WHERE decided < ?", [cut]
                ).rowcount
                deleted["domains"] = self.db.execute(
                    "DELETE FROM domains WHERE expires < ?", [time.time()]
                ).rowcount
                deleted["runs"] = self.db.execute(
                    "DELETE FROM runs WHERE started < ?", [cut]
                ).rowcount
                deleted["evidence"] = self.db.execute(
                    "DELETE FROM evidence WHERE at < ?", [cut]
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
        self._write("DELETE FROM observed WHERE decided < ?", [(cut,)])
