"""Servers that fail mid-run, and hostile ones: the run completes, only affected rows change."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from listclean.pipeline import verify
from listclean.settings import Settings

from ..conftest import read_csv
from ..dnsserver import FakeDNS
from ..smtpserver import Lab, Raw

DOMAINS = [f"d{i}.test" for i in range(40)]


def zone() -> dict[str, Any]:
    z: dict[str, Any] = {}
    for i, d in enumerate(DOMAINS):
        z[d] = {"MX": [f"10 mx.{d}."]}
        z[f"mx.{d}"] = {"A": ["127.0.4.1" if i % 2 else "127.0.4.2"]}
    z["restart.test"] = {"MX": ["10 mx.restart.test."]}
    z["mx.restart.test"] = {"A": ["127.0.4.3"]}
    z["reset.test"] = {"MX": ["10 mx.reset.test."]}
    z["mx.reset.test"] = {"A": ["127.0.4.4"]}
    z["huge.test"] = {"MX": ["10 mx.huge.test."]}
    z["mx.huge.test"] = {"A": ["127.0.4.5"]}
    return z


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[Lab, dict[str, Raw]]]:
    lab = Lab(["127.0.4.1", "127.0.4.2", "127.0.4.3", "127.0.4.4", "127.0.4.5"])
    ok = lambda a: "250 2.1.5 OK" if a.startswith("ok") else "550 5.1.1 User unknown"  # noqa: E731
    servers = {
        "a": lab.raw("127.0.4.1", Raw(ok)),
        "b": lab.raw("127.0.4.2", Raw(ok)),
        "restart": lab.raw("127.0.4.3", Raw(ok)),
        "reset": lab.raw("127.0.4.4", Raw(ok)),
        "huge": lab.raw(
            "127.0.4.5",
            Raw(
                rcpt_raw=b"550-"
                + b"x" * 1000
                + b"\r\n" * 0
                + b"\r\n"
                + (b"550-" + b"y" * 1000 + b"\r\n") * 10_000
                + b"550 end\r\n"
            ),
        ),
    }
    servers["reset"].reset = True
    yield lab, servers
    lab.close()


def settings_for(dns: FakeDNS, lab: Lab, home: Path, **extra: Any) -> Settings:
    base = Settings(
        nameservers=(dns.address,),
        allow_test_domains=True,
        allow_private_mx=True,
        smtp_port=lab.port,
        helo="probe.lab.test",
        smtp_timeout=2.0,
        dns_timeout=0.3,
        greylist_delay=0.2,
        home=home,
        use_cache=False,
    )
    return dataclasses.replace(base, **extra)


def run(
    tmp_path: Path, emails: list[str], settings: Settings, name: str
) -> dict[str, tuple[str, str]]:
    src = tmp_path / f"{name}.csv"
    src.write_text("email\n" + "\n".join(emails) + "\n")
    out = tmp_path / f"{name}.out.csv"
    verify(str(src), str(out), settings, report_path=None)
    rows = read_csv(out)
    assert [r[0] for r in rows[1:]] == emails  # nothing lost, nothing reordered
    return {r[0]: (r[1], r[2]) for r in rows[1:]}


def test_dns_server_dies_halfway(tmp_path: Path, lab: tuple[Lab, dict[str, Raw]]) -> None:
    emails = [f"ok{i}@{d}" for i, d in enumerate(DOMAINS)] + [
        f"no{i}@{d}" for i, d in enumerate(DOMAINS)
    ]
    healthy_dns = FakeDNS(zone())
    healthy = run(tmp_path, emails, settings_for(healthy_dns, lab[0], tmp_path / "h"), "healthy")
    healthy_dns.close()
    dying = FakeDNS(zone())
    dying.stop_after = 30  # then silence
    # one query at a time, so "the first 30 answers" is a deterministic set of domains
    got = run(
        tmp_path, emails, settings_for(dying, lab[0], tmp_path / "d", dns_concurrency=1), "dying"
    )
    dying.close()
    changed = {e for e in emails if got[e] != healthy[e]}
    assert changed, "the DNS failure should have affected some domains"
    assert all(got[e] == ("unknown", "dns_timeout") for e in changed)
    assert any(got[e] == healthy[e] for e in emails)  # what resolved before the failure stands


def test_smtp_server_restarts_halfway(tmp_path: Path, lab: tuple[Lab, dict[str, Raw]]) -> None:
    lab_, servers = lab
    dns = FakeDNS(zone())
    emails = [f"ok{i}@restart.test" for i in range(300)] + [f"no{i}@restart.test" for i in range(5)]
    server = servers["restart"]
    server.rcpts.clear()
    done = threading.Event()

    def bounce_when_busy() -> None:
        while len(server.rcpts) < 100 and not done.is_set():
            time.sleep(0.005)
        lab_.restart("127.0.4.3", down_for=0.6)

    watcher = threading.Thread(target=bounce_when_busy, daemon=True)
    watcher.start()
    settings = settings_for(dns, lab_, tmp_path / "r", smtp_per_host=1)
    got = run(tmp_path, emails, settings, "restart")
    done.set()
    dns.close()
    assert {got[e] for e in emails[:300]} == {("deliverable", "accepted")}
    assert {got[e] for e in emails[300:]} == {("undeliverable", "mailbox_not_found")}
    assert server.sessions >= 2  # it reconnected after the restart


def test_host_resets_every_connection(tmp_path: Path, lab: tuple[Lab, dict[str, Raw]]) -> None:
    dns = FakeDNS(zone())
    emails = ["ok1@reset.test", "ok2@reset.test", "ok3@d1.test"]
    got = run(tmp_path, emails, settings_for(dns, lab[0], tmp_path / "x"), "reset")
    dns.close()
    assert got["ok1@reset.test"] == got["ok2@reset.test"] == ("unknown", "smtp_unreachable")
    assert got["ok3@d1.test"][0] in ("deliverable", "risky")  # other hosts unaffected


def test_hostile_reply_memory_stays_bounded(
    tmp_path: Path, lab: tuple[Lab, dict[str, Raw]]
) -> None:
    """10,000 continuation lines of 1 kB (10 MB) per reply: refused after 64 kB, in a child
    process whose peak memory is measured."""
    dns = FakeDNS(zone())
    src = tmp_path / "h.csv"
    src.write_text("email\n" + "\n".join(f"u{i}@huge.test" for i in range(20)) + "\n")
    code = f"""
from listclean.pipeline import verify
from listclean.settings import Settings
from pathlib import Path
s = Settings(nameservers=({dns.address!r},), allow_test_domains=True, allow_private_mx=True,
             smtp_port={lab[0].port}, helo="probe.lab.test", smtp_timeout=5.0, use_cache=False,
             home=Path({str(tmp_path / "home")!r}))
verify({str(src)!r}, {str(tmp_path / "h.out.csv")!r}, s, report_path=None)
# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the forking parent
# across exec, so a child of a big pytest process reported the parent's 320 MB
print(next(ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM:")))
"""
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    dns.close()
    assert proc.returncode == 0, proc.stderr
    peak_mb = int(proc.stdout.split()[-1]) / 1024
    assert peak_mb < 300, peak_mb
    assert time.monotonic() - t0 < 60
    rows = read_csv(tmp_path / "h.out.csv")
    assert {(r[1], r[2]) for r in rows[1:]} == {("unknown", "smtp_error")}
