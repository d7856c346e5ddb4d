"""Egress where port 25 is blocked (#15): SOCKS5 proxies (a real microsocks from Debian's
packages, on loopback, with and without a password), routes per MX host, rotation, a source
address, and proxy failures as per-run outcomes, never a crash.

The lab's raw SMTP server resets every connection that does not come from a proxy's outgoing
address, the way a provider's port-25 block looks from the machine."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import lab_args, read_csv, run_cli
from .dnsserver import FakeDNS
from .smtpserver import Lab, Raw, pick_port

MX_A, MX_B = "127.0.6.11", "127.0.6.12"
OPEN_PROXY, AUTH_PROXY, SECOND_PROXY = "127.0.6.1", "127.0.6.2", "127.0.6.3"
SECRET = "s3cret-Pw"


def _start_proxy(ip: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    binary = shutil.which("microsocks")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("microsocks is missing: .ci/run must call `scripts/testbed install`")
        pytest.skip("the proxy tests need Debian's microsocks (`sudo scripts/testbed install`)")
    # -b: the proxy's own outgoing address, so the mail server sees who connected
    proc = subprocess.Popen([binary, "-i", ip, "-p", str(port), "-b", ip, *extra])
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex((ip, port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("microsocks did not start")


class Env:
    def __init__(self) -> None:
        self.dns = FakeDNS(
            {
                "a.test": {"MX": ["10 mx.a.test."]},
                "mx.a.test": {"A": [MX_A]},
                "b.test": {"MX": ["10 mx.b.example-cloud.test."]},
                "mx.b.example-cloud.test": {"A": [MX_B]},
            }
        )
        self.lab = Lab([MX_A, MX_B])
        self.a = self.lab.raw(
            MX_A,
            Raw(rcpt=lambda a: "250 2.1.5 Ok" if a.startswith("u") else "550 5.1.1 User unknown"),
        )
        self.b = self.lab.raw(
            MX_B,
            Raw(rcpt=lambda a: "250 2.1.5 Ok" if a.startswith("u") else "550 5.1.1 User unknown"),
        )
        for server in (self.a, self.b):
            server.allow_peers = {OPEN_PROXY, AUTH_PROXY, SECOND_PROXY, "127.0.6.7"}
        self.port = pick_port([OPEN_PROXY, AUTH_PROXY, SECOND_PROXY])
        self.proxies = [
            _start_proxy(OPEN_PROXY, self.port),
            _start_proxy(AUTH_PROXY, self.port, "-u", "lc", "-P", SECRET),
            _start_proxy(SECOND_PROXY, self.port),
        ]

    def url(self, ip: str, auth: str = "") -> str:
        return f"socks5://{auth}{ip}:{self.port}"

    def close(self) -> None:
        for proc in self.proxies:
            proc.kill()
            proc.wait(5)
        self.lab.close()
        self.dns.close()


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    e = Env()
    yield e
    e.close()


def _verify(
    env: Env, tmp_path: Path, addresses: list[str], *extra: str
) -> tuple[list[list[str]], Any, dict]:
    src = tmp_path / "l.csv"
    src.write_text("email\n" + "\n".join(addresses) + "\n")
    out = tmp_path / "o.csv"
    proc = run_cli(
        "verify",
        str(src),
        "-o",
        str(out),
        *lab_args(env.dns.address),
        "--no-cache",
        "--smtp-port",
        str(env.lab.port),
        "--smtp-timeout",
        "5",
        *extra,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "o.report.json").read_text())
    return read_csv(out), proc, report


def test_blocked_direct_works_through_the_proxy(env: Env, tmp_path: Path) -> None:
    rows, _, _ = _verify(env, tmp_path, ["u1@a.test", "x@a.test"])
    assert {(r[1], r[2]) for r in rows[1:]} == {("unknown", "smtp_unreachable")}  # blocked
    before = len(env.a.peers)
    rows, _, report = _verify(
        env, tmp_path, ["u1@a.test", "x@a.test"], "--proxy", env.url(OPEN_PROXY)
    )
    assert [(r[1], r[2]) for r in rows[1:]] == [
        ("deliverable", "accepted"),
        ("undeliverable", "mailbox_not_found"),
    ]
    assert set(env.a.peers[before:]) == {OPEN_PROXY}  # the server saw the proxy, not us
    assert report["egress"]["routes"] == {env.url(OPEN_PROXY): report["egress"]["smtp_sessions"]}


def test_password_proxy_and_credentials_never_shown(env: Env, tmp_path: Path, _home: Path) -> None:
    good = env.url(AUTH_PROXY, f"lc:{SECRET}@")
    rows, proc, report = _verify(env, tmp_path, ["u2@a.test"], "--proxy", good)
    assert rows[1][1:3] == ["deliverable", "accepted"]
    bad = env.url(AUTH_PROXY, "lc:wrong@")
    t0 = time.monotonic()
    rows, proc, report = _verify(env, tmp_path, [f"u{i}@a.test" for i in range(5)], "--proxy", bad)
    assert time.monotonic() - t0 < 20
    assert {(r[1], r[2]) for r in rows[1:]} == {("unknown", "smtp_unreachable")}
    err = proc.stderr.decode()
    assert err.count("refused the credentials") == 1
    for text in (err, json.dumps(report), (_home / "audit.jsonl").read_text()):
        assert SECRET not in text and "wrong" not in text


def test_proxy_down_is_said_once(env: Env, tmp_path: Path) -> None:
    dead = f"socks5://127.0.6.9:{env.port}"
    rows, proc, report = _verify(env, tmp_path, ["u1@a.test", "u2@b.test"], "--proxy", dead)
    assert {(r[1], r[2]) for r in rows[1:]} == {("unknown", "smtp_unreachable")}
    assert proc.stderr.decode().count("is unreachable") == 1
    assert any("is unreachable" in n for n in report["notices"])


def test_routes_per_provider_and_rotation(env: Env, tmp_path: Path) -> None:
    """b.test's MX (…example-cloud.test) goes through two proxies in rotation; a.test direct
    from a source address the server accepts."""
    before_a, before_b = len(env.a.peers), len(env.b.peers)
    addresses = [f"u{i}@b.test" for i in range(120)] + ["u1@a.test"]
    rows, _, report = _verify(
        env,
        tmp_path,
        addresses,
        "--route",
        f"example-cloud.test={env.url(OPEN_PROXY)}",
        "--route",
        f"example-cloud.test={env.url(SECOND_PROXY)}",
        "--route",
        "a.test=direct",
        "--source-address",
        "127.0.6.7",
        "--smtp-per-host",
        "2",
    )
    assert {(r[1], r[2]) for r in rows[1:]} == {("deliverable", "accepted")}
    assert set(env.b.peers[before_b:]) == {OPEN_PROXY, SECOND_PROXY}  # both, in rotation
    assert set(env.a.peers[before_a:]) == {"127.0.6.7"}  # direct, from --source-address
    assert set(report["egress"]["routes"]) == {env.url(OPEN_PROXY), env.url(SECOND_PROXY), "direct"}
    assert report["egress"]["mx_routes"]["mx.a.test"] == "direct"  # also in the audit log
    assert report["egress"]["mx_routes"]["mx.b.example-cloud.test"].startswith("socks5://")


@pytest.mark.parametrize(
    "bad",
    [
        "socks5h://127.0.0.1:1080",
        "http://127.0.0.1:8080",
        "socks5://127.0.0.1",
        "socks5://u:p@h:99999",
    ],
)
def test_bad_proxy_urls_are_usage_errors(bad: str) -> None:
    proc = run_cli("verify", "x.csv", "--proxy", bad)
    assert proc.returncode == 2
    assert b"Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert b":p@" not in proc.stderr  # the password is not echoed


@pytest.mark.testbed
def test_postfix_sees_the_proxy(testbed: str, tmp_path: Path) -> None:
    ip = "127.0.6.21"
    port = pick_port([ip])
    proxy = _start_proxy(ip, port)
    try:
        src = tmp_path / "l.csv"
        src.write_text("email\nann@good.lab.test\nnobody@good.lab.test\n")
        log = Path(os.environ.get("TESTBED_DIR", "/tmp/listclean-testbed")) / "postfix" / "maillog"
        seen = log.read_text(errors="replace").count(f"[{ip}]") if log.exists() else 0
        proc = run_cli(
            "verify",
            str(src),
            "-o",
            "-",
            *lab_args(testbed),
            "--no-cache",
            "--proxy",
            f"socks5://{ip}:{port}",
        )
        assert proc.returncode == 0, proc.stderr
        rows = read_csv(proc.stdout)
        assert [(r[1], r[2]) for r in rows[1:]] == [
            ("deliverable", "accepted"),
            ("undeliverable", "mailbox_not_found"),
        ]
        for _ in range(50):  # Postfix writes its log asynchronously
            if log.exists() and log.read_text(errors="replace").count(f"[{ip}]") > seen:
                break
            time.sleep(0.1)
        assert log.read_text(errors="replace").count(f"connect from unknown[{ip}]") > 0
    finally:
        proxy.kill()
        proxy.wait(5)


def test_plan_shows_the_egress_plan(env: Env, tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_text("email\nu1@a.test\nu2@b.test\n")
    proc = run_cli(
        "plan",
        str(src),
        "--json",
        *lab_args(env.dns.address),
        "--smtp-port",
        str(env.lab.port),
        "--route",
        f"example-cloud.test={env.url(OPEN_PROXY)}",
        "--proxy",
        f"socks5://127.0.6.9:{env.port}",
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["helo"] == "probe.lab.test"
    assert plan["port25"][env.url(OPEN_PROXY)]["outbound_smtp"] == "works"
    assert plan["port25"][f"socks5://127.0.6.9:{env.port}"]["outbound_smtp"].startswith(
        "proxy unusable"
    )
