"""Trust: resume after SIGKILL, nothing in plain text at rest, permissions, TTL, purge, audit.

On a loopback lab of the tests' own (aiosmtpd behind FakeDNS, both on 127.0.0.0/8), not the
Debian testbed: these privacy guarantees are checked wherever the tests run (#16 item 6).
The lab's one domain answers like the testbed's bulk.lab.test: u<n>@ exists unless n ends in 9,
and a refused RCPT's reply echoes the address (as Postfix's does)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from listclean.vault import Vault, redact

from .conftest import lab_args, read_csv, run_cli, without_checked_at
from .dnsserver import FakeDNS
from .smtpserver import Lab, Users

N = 4000
MX_IP = "127.0.12.1"


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[str, int]]:
    """(the DNS server's address, the SMTP port) of a loopback lab serving bulk.lab.test."""
    dns = FakeDNS(
        {"bulk.lab.test": {"MX": ["10 mx.bulk.lab.test."]}, "mx.bulk.lab.test": {"A": [MX_IP]}}
    )
    smtp = Lab([MX_IP])
    smtp.aiosmtpd(MX_IP, Users({f"u{i:05d}" for i in range(N) if i % 10 != 9}))
    yield dns.address, smtp.port
    smtp.close()
    dns.close()


def bulk_list(path: Path, n: int = N) -> list[str]:
    emails = [f"u{i:05d}@bulk.lab.test" for i in range(n)]
    path.write_text("id,email\n" + "".join(f"{i:05d},{e}\n" for i, e in enumerate(emails)))
    return emails


def args(src: Path, out: Path, lab: tuple[str, int], *extra: str) -> list[str]:
    dns, port = lab
    return [
        "verify",
        str(src),
        "-o",
        str(out),
        *lab_args(dns),
        "--smtp-port",
        str(port),
        "--smtp-per-host",
        "1",
        *extra,
    ]


def addresses_kept(home: Path) -> int:
    db = home / "store.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM addresses").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_sigkill_then_resume_matches_uninterrupted(tmp_path: Path, lab: tuple[str, int]) -> None:
    src = tmp_path / "bulk.csv"
    bulk_list(src)
    clean_home, killed_home = tmp_path / "clean", tmp_path / "killed"
    proc = run_cli(*args(src, tmp_path / "clean.csv", lab), env={"LISTCLEAN_HOME": str(clean_home)})
    assert proc.returncode == 0, proc.stderr

    out = tmp_path / "resumed.csv"
    env = {**os.environ, "LISTCLEAN_HOME": str(killed_home)}
    child = subprocess.Popen(
        [sys.executable, "-m", "listclean", *args(src, out, lab)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while addresses_kept(killed_home) < N // 4 and time.monotonic() < deadline:
        if child.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: {child.stderr.read()!r}")
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    kept = addresses_kept(killed_home)
    assert N // 4 <= kept < N
    assert not out.exists()  # no half-written output in place

    proc = run_cli(*args(src, out, lab, "--resume"), env={"LISTCLEAN_HOME": str(killed_home)})
    assert proc.returncode == 0, proc.stderr
    # the same output, cell for cell, but for lc_checked_at: a resumed verdict keeps the time
    # of the probe that decided it, before the kill
    assert without_checked_at(read_csv(out)) == without_checked_at(read_csv(tmp_path / "clean.csv"))
    assert not list(tmp_path.glob(".listclean-*"))  # the killed run's partial output is gone
    report = json.loads((tmp_path / "resumed.report.json").read_text())
    assert report["egress"]["addresses_from_cache"] >= kept
    assert report["egress"]["rcpt_commands"] <= N - kept + 1
    assert report["manifest"]["resumed_from"]


def test_sigint_prints_resume_command(tmp_path: Path, lab: tuple[str, int]) -> None:
    src = tmp_path / "bulk.csv"
    bulk_list(src)
    home = tmp_path / "home"
    env = {**os.environ, "LISTCLEAN_HOME": str(home)}
    child = subprocess.Popen(
        [sys.executable, "-m", "listclean", *args(src, tmp_path / "o.csv", lab)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while addresses_kept(home) < 200 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    text = err.decode()
    assert "Traceback" not in text
    assert "resume with: listclean verify" in text and "--resume" in text
    assert not (tmp_path / "o.csv").exists()
    lines = [json.loads(x) for x in (home / "audit.jsonl").read_text().splitlines()]
    assert lines[-1]["state"] == "interrupted"


def test_resume_without_interrupted_run(tmp_path: Path, lab: tuple[str, int]) -> None:
    src = tmp_path / "l.csv"
    bulk_list(src, 5)
    proc = run_cli(*args(src, tmp_path / "o.csv", lab, "--resume"))
    assert proc.returncode == 2
    assert "nothing to resume" in proc.stderr.decode()
    proc = run_cli(*args(src, tmp_path / "o.csv", lab, "--resume", "--no-cache"))
    assert proc.returncode == 2


def test_no_plaintext_at_rest_and_permissions(tmp_path: Path, lab: tuple[str, int]) -> None:
    src = tmp_path / "l.csv"
    emails = bulk_list(src, 60)  # u00009, u00019, ... are rejected with a reply that echoes them
    home = tmp_path / "home"
    proc = run_cli(*args(src, tmp_path / "o.csv", lab, "-v"), env={"LISTCLEAN_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(tmp_path / "o.csv")
    assert any("u00009@bulk.lab.test" in r[9] for r in rows[1:])  # the reply did echo it
    blobs = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
    for email in emails:
        local = email.split("@")[0]
        assert email.encode() not in blobs
        assert local.encode() not in blobs
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in ("store.sqlite", "key", "audit.jsonl"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    # verbose output shows addresses redacted, unless asked
    err = proc.stderr.decode()
    assert "u***@bulk.lab.test" in err and "u00001@" not in err
    proc = run_cli(*args(src, tmp_path / "o.csv", lab, "-v", "--show-addresses", "--no-cache"))
    assert "u00001@bulk.lab.test" in proc.stderr.decode()


def test_ttl_expiry_key_and_purge(tmp_path: Path, lab: tuple[str, int]) -> None:
    src = tmp_path / "l.csv"
    bulk_list(src, 30)
    home = tmp_path / "home"
    env = {"LISTCLEAN_HOME": str(home)}

    def run(*extra: str, key: str | None = None) -> dict:
        e = dict(env)
        if key:
            e["LISTCLEAN_KEY"] = key
        proc = run_cli(*args(src, tmp_path / "o.csv", lab, *extra), env=e)
        assert proc.returncode == 0, proc.stderr
        return json.loads((tmp_path / "o.report.json").read_text())["egress"]

    assert run()["addresses_from_cache"] == 0
    assert run()["addresses_from_cache"] == 30  # reused within the TTL
    time.sleep(1.2)
    assert run("--cache-ttl", "0.00001")["addresses_from_cache"] == 0  # 0.86 s: expired
    other = "11" * 32
    assert run(key=other)["addresses_from_cache"] == 0  # another key reads nothing
    stats = json.loads(run_cli("cache", "stats", "--json", env=env).stdout)
    assert stats["addresses"] >= 30 and stats["domains"] >= 1
    assert "bulk.lab.test" not in json.dumps({k: v for k, v in stats.items() if k != "home"})
    kept = run_cli("cache", "purge", "--older-than", "1", env=env)
    assert kept.returncode == 0
    assert json.loads(run_cli("cache", "stats", "--json", env=env).stdout)["addresses"] >= 30
    gone = run_cli("cache", "purge", env=env)
    assert gone.returncode == 0 and "deleted" in gone.stdout.decode()
    stats = json.loads(run_cli("cache", "stats", "--json", env=env).stdout)
    assert stats["addresses"] == 0 and stats["domains"] == 0


def test_audit_line(tmp_path: Path, lab: tuple[str, int]) -> None:
    src = tmp_path / "l.csv"
    emails = bulk_list(src, 12)
    home = tmp_path / "home"
    env = {"LISTCLEAN_HOME": str(home)}
    assert run_cli(*args(src, tmp_path / "o.csv", lab), env=env).returncode == 0
    assert (
        run_cli("verify", str(src), "-o", str(tmp_path / "p.csv"), "--offline", env=env).returncode
        == 0
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("")
    assert run_cli("verify", str(bad), env=env).returncode == 1
    raw = (home / "audit.jsonl").read_text()
    for email in emails:
        assert email not in raw
    lines = [json.loads(x) for x in raw.splitlines()]
    assert [x["state"] for x in lines] == ["done", "done", "failed"]
    first = lines[0]
    for field in (
        "run_id",
        "started",
        "finished",
        "user",
        "host",
        "listclean_version",
        "lists",
        "settings",
        "input",
        "output",
        "counts",
        "egress",
    ):
        assert field in first, field
    # at rest in the shared home, list hashes are keyed (a guess cannot be confirmed) ...
    vault = Vault.open(home)
    plain_in = hashlib.sha256(src.read_bytes()).hexdigest()
    plain_out = hashlib.sha256((tmp_path / "o.csv").read_bytes()).hexdigest()
    assert plain_in not in raw and plain_out not in raw
    assert first["input"]["sha256"] == vault.keyed(plain_in)
    assert first["output"]["sha256"] == vault.keyed(plain_out)
    assert first["input"]["rows"] == first["output"]["rows"] == 12
    assert first["counts"]["deliverable"] == 11 and first["counts"]["undeliverable"] == 1
    assert first["egress"]["smtp_sessions"] >= 1 and first["egress"]["rcpt_commands"] >= 12
    assert first["lists"]["disposable_email_domains"]
    assert lines[1]["egress"]["dns_queries"] == 0  # offline
    assert "empty" in lines[2]["error"]
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert report["manifest"]["run_id"] == first["run_id"]
    # ... while the report the user asked for shows the plain SHA-256, and a finished run
    # says so in its own manifest
    assert report["manifest"]["input"]["sha256"] == plain_in
    assert report["output"]["sha256"] == plain_out
    assert report["manifest"]["state"] == "done"
    table = run_cli("audit", env=env)
    assert table.returncode == 0 and first["run_id"] in table.stdout.decode()


def test_redact() -> None:
    assert redact("john@example.com") == "j***@example.com"
    assert redact("x") == "x***"
    assert redact("") == ""


def test_vault_roundtrip_and_ids(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path)
    sealed = vault.seal("550 <ann@example.com> unknown")
    assert b"ann" not in sealed
    assert vault.unseal(sealed) == "550 <ann@example.com> unknown"
    assert vault.address_id("a@x.test") == Vault.open(tmp_path).address_id("a@x.test")
    assert Vault(b"\x01" * 32).unseal(sealed) is None
