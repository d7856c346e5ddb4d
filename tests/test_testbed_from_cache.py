"""`verify --from-cache`: the verdicts of an earlier run derived again from what it kept, with
no socket, and with the current classifier."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from listclean.settings import Settings
from listclean.store import Store
from listclean.vault import Vault

from .conftest import lab_args, read_csv, run_cli
from .test_testbed_smtp import LIST

DEAD_DNS = "127.0.0.1:9"  # nothing answers there: a from-cache run must not need it


def run(tmp_path: Path, name: str, *args: str) -> tuple[list[list[str]], dict]:
    src = tmp_path / "lab.csv"
    src.write_text(LIST)
    out = tmp_path / f"{name}.csv"
    proc = run_cli("verify", str(src), "-o", str(out), *args)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / f"{name}.report.json").read_text())
    return read_csv(out), report


def test_from_cache_reproduces_the_run_without_a_socket(tmp_path: Path, testbed: str) -> None:
    live, _ = run(tmp_path, "live", *lab_args(testbed), "--greylist-delay", "0.5")
    args = ["--allow-test-domains", "--allow-private-mx", "--nameserver", DEAD_DNS]
    again, report = run(tmp_path, "again", *args, "--helo", "probe.lab.test", "--from-cache")
    egress = report["egress"]
    assert egress["dns_queries"] == 0 and egress["smtp_sessions"] == 0
    assert egress["rcpt_commands"] == 0
    # every cell the same, the probe times included (they are the kept probes' times)
    assert again == live


def test_from_cache_uses_the_current_classifier(tmp_path: Path) -> None:
    """A reply kept as smtp_error by an older classifier that the current one reads as a
    missing mailbox: --from-cache says mailbox_not_found, with the kept reply."""
    home = Settings().home
    store = Store(home)
    vault = Vault.open(home)
    reply = "5.1.1 <zed@old.example>: Recipient address rejected: User unknown in local table"
    store.put_observed(
        [
            (
                vault.address_id("zed@old.example"),
                "smtp_error",
                "550",
                vault.seal(reply),
                "mx.old.example",
                1,
                time.time() - 3600,
            )
        ]
    )
    # a session-level refusal (MAIL FROM) is never read as a verdict on the mailbox
    store.put_observed(
        [
            (
                vault.address_id("amy@old.example"),
                "sender_rejected",
                "550",
                vault.seal("5.1.0 User unknown"),
                "mx.old.example",
                0,
                time.time() - 3600,
            )
        ]
    )
    store.put_domains(
        [
            (
                "old.example",
                {"hosts": [["mx.old.example", 10, ["127.0.0.1"]]], "reason": None, "ttl": 60},
                60,
            )
        ]
    )
    store.close()
    src = tmp_path / "old.csv"
    src.write_text("email\nzed@old.example\namy@old.example\nnew@old.example\n")
    out = tmp_path / "old.verified.csv"
    proc = run_cli(
        "verify",
        str(src),
        "-o",
        str(out),
        "--from-cache",
        "--nameserver",
        DEAD_DNS,
        "--allow-private-mx",
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out)
    col = {n: i for i, n in enumerate(rows[0])}
    got = {r[0]: r for r in rows[1:]}
    assert got["zed@old.example"][col["lc_reason"]] == "mailbox_not_found"
    assert got["zed@old.example"][col["lc_smtp_reply"]] == reply
    assert got["amy@old.example"][col["lc_reason"]] == "sender_rejected"
    assert got["new@old.example"][col["lc_reason"]] == "not_probed"


def test_from_cache_refuses_contradictory_options(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_text("email\na@b.example\n")
    for extra in ("--offline", "--no-cache", "--resume"):
        proc = run_cli("verify", str(src), "--from-cache", extra)
        assert proc.returncode != 0 and b"--from-cache" in proc.stderr, extra
    assert not (tmp_path / "l.verified.csv").exists()
    db = (
        sqlite3.connect(Settings().home / "store.sqlite")
        if (Settings().home / "store.sqlite").exists()
        else None
    )
    if db is not None:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
