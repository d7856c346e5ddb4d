"""The SMTP stage against servers the tests start on 127.0.3.x (aiosmtpd and a raw responder)."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from listclean.pipeline import verify
from listclean.settings import Settings

from .conftest import read_csv, run_cli
from .dnsserver import FakeDNS
from .smtpserver import Lab, Raw, Users

IPS = [f"127.0.3.{i}" for i in range(1, 25)]


def mx(domain_ip: dict[str, str]) -> dict[str, Any]:
    zone: dict[str, Any] = {}
    for domain, ip in domain_ip.items():
        zone[domain] = {"MX": [f"10 mx.{domain}."]}
        zone[f"mx.{domain}"] = {"A": [ip]}
    return zone


ZONE = {
    **mx(
        {
            "users.test": "127.0.3.1",
            "catchall.test": "127.0.3.2",
            "grey.test": "127.0.3.3",
            "defer.test": "127.0.3.4",
            "limited.test": "127.0.3.5",
            "blocked.test": "127.0.3.6",
            "slow.test": "127.0.3.7",
            "silent.test": "127.0.3.8",
            "refused.test": "127.0.3.9",
            "drop.test": "127.0.3.10",
            "endless.test": "127.0.3.11",
            "garbage.test": "127.0.3.12",
            "chatty.test": "127.0.3.13",
            "strict.test": "127.0.3.14",
            "formula.test": "127.0.3.15",
            "trickle.test": "127.0.3.16",
            **{f"r{i}.test": f"127.0.3.{20 + i}" for i in range(4)},
        }
    ),
    # same MX host as users.test: grouped into the same sessions
    "alias-users.test": {"MX": ["10 mx.users.test."]},
    # preference 10 refuses connections, 20 answers
    "fallback.test": {"MX": ["10 mx.refused.test.", "20 mx.users.test."]},
    # an accept-everything provider, matched on its MX host name: never probed
    "yahooish.test": {"MX": ["1 mta5.am0.yahoodns.net."]},
    "mta5.am0.yahoodns.net": {"A": ["127.0.3.1"]},
}


class Env:
    def __init__(self, dns: FakeDNS, lab: Lab, servers: dict[str, Any]) -> None:
        self.dns, self.lab, self.servers = dns, lab, servers


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    dns = FakeDNS(ZONE)
    lab = Lab(IPS)
    servers: dict[str, Any] = {
        "users": lab.aiosmtpd("127.0.3.1", Users({"ann", "bob", "ñandú"})),
        "catchall": lab.aiosmtpd("127.0.3.2", Users(catchall=True)),
        "grey": lab.aiosmtpd("127.0.3.3", Users({"ann"}, greylist=0.5)),
        "defer": lab.aiosmtpd("127.0.3.4", Users(always="451 4.3.0 Temporary local problem")),
        "limited": lab.raw(
            "127.0.3.5",
            Raw(
                lambda a: "250 2.1.5 OK" if a.startswith("ok") else "550 5.1.1 User unknown",
                max_sessions=1,
            ),
        ),
        "blocked": lab.raw(
            "127.0.3.6", Raw(banner="554 5.7.1 Client host rejected: poor reputation")
        ),
        "slow": lab.raw("127.0.3.7", Raw(banner_delay=5.0)),
        "silent": lab.raw("127.0.3.8", Raw(banner=None)),
        "drop": lab.raw("127.0.3.10", Raw(lambda a: "550 5.1.1 User unknown", drop_after_rcpts=3)),
        "endless": lab.raw("127.0.3.11", Raw(rcpt_raw=b"250-" + b"A" * (10 * 1024 * 1024))),
        "garbage": lab.raw("127.0.3.12", Raw(rcpt_raw=bytes(range(256)) * 4 + b"\r\n")),
        "chatty": lab.raw("127.0.3.13", Raw(rcpt_raw=b"250-x\r\n" * 10_000 + b"250 ok\r\n")),
        "strict": lab.raw("127.0.3.14", Raw(lambda a: "550 5.1.1 User unknown")),
        "formula": lab.raw("127.0.3.15", Raw(lambda a: '550 =HYPERLINK("http://x")\x1b[31m')),
        "trickle": lab.raw("127.0.3.16", Raw(byte_delay=0.3)),
    }
    yield Env(dns, lab, servers)
    lab.close()
    dns.close()


def run(
    env: Env, tmp_path: Path, emails: list[str], **overrides: Any
) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    src = tmp_path / "list.csv"
    src.write_text("email\n" + "\n".join(emails) + "\n")
    settings = Settings(
        nameservers=(env.dns.address,),
        allow_test_domains=True,
        allow_private_mx=True,
        smtp_port=env.lab.port,
        helo="probe.lab.test",
        smtp_timeout=2.0,
        greylist_delay=0.6,
        home=tmp_path / "home",
        dns_timeout=1.0,
    )
    settings = dataclasses.replace(settings, **overrides)
    out = tmp_path / "out.csv"
    result = verify(str(src), str(out), settings, report_path=tmp_path / "r.json")
    rows = read_csv(out)
    table = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    return table, result.report


def verdict(row: dict[str, str]) -> tuple[str, str]:
    return row["lc_status"], row["lc_reason"]


def test_users_full_disabled_and_session_reuse(env: Env, tmp_path: Path) -> None:
    users = env.servers["users"]
    before = users.sessions
    rows, report = run(
        env,
        tmp_path,
        [
            "ann@users.test",
            "bob@alias-users.test",
            "nobody@users.test",
            "full@users.test",
            "gone@users.test",
            "quota@users.test",
            "ñandú@users.test",
        ],
    )
    assert verdict(rows["ann@users.test"]) == ("deliverable", "accepted")
    assert rows["ann@users.test"]["lc_smtp_code"] == "250"
    assert rows["ann@users.test"]["lc_mx"] == "mx.users.test"
    assert verdict(rows["bob@alias-users.test"]) == ("deliverable", "accepted")
    assert verdict(rows["nobody@users.test"]) == ("undeliverable", "mailbox_not_found")
    assert "User unknown" in rows["nobody@users.test"]["lc_smtp_reply"]
    assert verdict(rows["full@users.test"]) == ("risky", "mailbox_full")
    assert rows["full@users.test"]["lc_smtp_code"] == "552"
    assert verdict(rows["gone@users.test"]) == ("undeliverable", "mailbox_disabled")
    assert verdict(rows["quota@users.test"]) == ("risky", "mailbox_full")
    assert verdict(rows["ñandú@users.test"]) == ("deliverable", "accepted")  # SMTPUTF8 offered
    # two domains on one MX host, 7 addresses: one session (per-host cap 2, one is enough)
    assert users.sessions - before <= 2
    assert report["egress"]["smtp_sessions"] == users.sessions - before
    assert report["egress"]["rcpt_commands"] >= 7


def test_catch_all(env: Env, tmp_path: Path) -> None:
    server = env.servers["catchall"]
    rows, _ = run(env, tmp_path, ["ann@catchall.test", "zed@catchall.test"])
    for address in ("ann@catchall.test", "zed@catchall.test"):
        assert verdict(rows[address]) == ("risky", "accept_all")
        assert "accept_all" in rows[address]["lc_flags"].split(";")
        assert rows[address]["lc_smtp_code"] == "250"  # the real reply kept as evidence
    random_probes = [r for r in server.rcpts if r.startswith("lc-")]
    assert len(random_probes) == 1  # once per domain
    # cached: a second run does not probe a random local part again
    run(env, tmp_path, ["ann@catchall.test"])
    assert len([r for r in server.rcpts if r.startswith("lc-")]) == 1


def test_not_catch_all_when_random_rejected(env: Env, tmp_path: Path) -> None:
    rows, _ = run(env, tmp_path, ["ann@users.test"], use_cache=False)
    assert verdict(rows["ann@users.test"]) == ("deliverable", "accepted")


def test_greylist_then_accept(env: Env, tmp_path: Path) -> None:
    t0 = time.monotonic()
    rows, _ = run(env, tmp_path, ["ann@grey.test", "nobody@grey.test", "ann@users.test"])
    assert verdict(rows["ann@grey.test"]) == ("deliverable", "accepted")
    assert verdict(rows["nobody@grey.test"]) == ("undeliverable", "mailbox_not_found")
    assert time.monotonic() - t0 >= 0.6  # it waited --greylist-delay before probing again


def test_always_451_is_unknown(env: Env, tmp_path: Path) -> None:
    rows, _ = run(env, tmp_path, ["ann@defer.test"], greylist_delay=0.1)
    # a 451 that outlives every retry is a temporary server failure, not greylisting (#13)
    assert verdict(rows["ann@defer.test"]) == ("unknown", "smtp_error")
    assert rows["ann@defer.test"]["lc_smtp_code"] == "451"
    rcpts = [r for r in env.servers["defer"].rcpts if r == "ann@defer.test"]
    assert len(rcpts) == 3  # the first try and --greylist-retries (2) more


def test_421_after_one_connection(env: Env, tmp_path: Path) -> None:
    server = env.servers["limited"]
    emails = [f"ok{i}@limited.test" for i in range(5)] + ["no@limited.test"]
    rows, _ = run(env, tmp_path, emails, use_cache=False)
    for e in emails[:5]:
        assert rows[e]["lc_status"] in ("deliverable", "risky")
    assert verdict(rows["no@limited.test"]) == ("undeliverable", "mailbox_not_found")
    assert server.sessions <= 2 + 3  # the 2nd parallel session backs off, never hammers


def test_blocked_banner_stops_host(env: Env, tmp_path: Path) -> None:
    server = env.servers["blocked"]
    before = server.sessions
    emails = [f"u{i}@blocked.test" for i in range(10)]
    rows, _ = run(env, tmp_path, emails)
    assert {verdict(rows[e]) for e in emails} == {("unknown", "ip_blocked")}
    assert server.sessions - before <= 2  # stopped at once (two sessions may race)


def test_slow_banner_works_with_defaults(env: Env, tmp_path: Path) -> None:
    rows, _ = run(env, tmp_path, ["ann@slow.test"], smtp_timeout=30.0)
    assert verdict(rows["ann@slow.test"])[0] in ("deliverable", "risky")


def test_no_banner_times_out(env: Env, tmp_path: Path) -> None:
    rows, _ = run(env, tmp_path, ["ann@silent.test"], smtp_timeout=0.5)
    assert verdict(rows["ann@silent.test"]) == ("unknown", "smtp_timeout")


def test_connection_refused_and_fallback(env: Env, tmp_path: Path) -> None:
    rows, _ = run(env, tmp_path, ["ann@refused.test", "ann@fallback.test"])
    assert verdict(rows["ann@refused.test"]) == ("unknown", "smtp_unreachable")
    assert verdict(rows["ann@fallback.test"]) == ("deliverable", "accepted")
    assert rows["ann@fallback.test"]["lc_mx"] == "mx.users.test"


def test_dropped_connection_mid_session(env: Env, tmp_path: Path) -> None:
    server = env.servers["drop"]
    before = server.sessions
    emails = [f"u{i}@drop.test" for i in range(7)]
    rows, _ = run(env, tmp_path, emails)
    assert {verdict(rows[e]) for e in emails} == {("undeliverable", "mailbox_not_found")}
    assert server.sessions - before >= 3  # reconnected after each drop


@pytest.mark.parametrize("name", ["endless", "garbage", "chatty"])
def test_hostile_replies_are_bounded(env: Env, tmp_path: Path, name: str) -> None:
    t0 = time.monotonic()
    rows, _ = run(env, tmp_path, [f"ann@{name}.test"])
    assert verdict(rows[f"ann@{name}.test"]) == ("unknown", "smtp_error")
    assert time.monotonic() - t0 < 20


def test_one_byte_at_a_time_times_out(env: Env, tmp_path: Path) -> None:
    rows, _ = run(env, tmp_path, ["ann@trickle.test"], smtp_timeout=1.0)
    assert verdict(rows["ann@trickle.test"]) == ("unknown", "smtp_timeout")


def test_reconnects_before_postfix_error_limits(env: Env, tmp_path: Path) -> None:
    server = env.servers["strict"]
    before = server.sessions
    emails = [f"u{i}@strict.test" for i in range(30)]
    rows, _ = run(env, tmp_path, emails, smtp_per_host=1)
    assert {verdict(rows[e]) for e in emails} == {("undeliverable", "mailbox_not_found")}
    assert server.sessions - before == 4  # 9 rejections per session: ceil(30 / 9)


def test_refused_hosts_raise_no_blocked_alarm(env: Env, tmp_path: Path) -> None:
    emails = [f"ann@r{i}.test" for i in range(4)]
    src = tmp_path / "l.csv"
    src.write_text("email\n" + "\n".join(emails) + "\n")
    proc = run_cli(
        "verify",
        str(src),
        "-o",
        "-",
        "--nameserver",
        env.dns.address,
        "--allow-test-domains",
        "--allow-private-mx",
        "--smtp-port",
        str(env.lab.port),
        "--helo",
        "probe.lab.test",
        "--smtp-timeout",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(proc.stdout)
    assert {(r[1], r[2]) for r in rows[1:]} == {("unknown", "smtp_unreachable")}
    # refused connections are the hosts' own answers (dead MX hosts), not a blocked port:
    # no alarm (#13). Timeouts raise it: tests/verdicts/test_hosts_and_replies.py
    err = proc.stderr.decode()
    assert "looks blocked" not in err


def test_utf8_address_on_server_without_smtputf8(env: Env, tmp_path: Path) -> None:
    rows, _ = run(env, tmp_path, ["ñandú@strict.test"])
    assert verdict(rows["ñandú@strict.test"]) == ("unknown", "smtp_error")
    assert "SMTPUTF8" in rows["ñandú@strict.test"]["lc_smtp_reply"]


def test_reply_is_spreadsheet_safe(env: Env, tmp_path: Path) -> None:
    rows, _ = run(env, tmp_path, ["ann@formula.test"])
    reply = rows["ann@formula.test"]["lc_smtp_reply"]
    assert reply.startswith("'=")
    assert "\x1b" not in reply


def test_provider_unverifiable_is_not_probed(env: Env, tmp_path: Path) -> None:
    users = env.servers["users"]
    before = len(users.rcpts)
    rows, _ = run(env, tmp_path, ["someone@yahooish.test"])
    assert verdict(rows["someone@yahooish.test"]) == ("unknown", "provider_unverifiable")
    assert len(users.rcpts) == before


def test_never_data_and_quit(env: Env, tmp_path: Path) -> None:
    server = env.servers["strict"]
    run(env, tmp_path, ["a@strict.test"])
    verbs = [c.split(" ", 1)[0].upper() for c in server.commands]
    assert "DATA" not in verbs
    assert "QUIT" in verbs
    assert any(c.startswith("EHLO probe.lab.test") for c in server.commands)
    assert any(c.startswith("MAIL FROM:<verify@probe.lab.test>") for c in server.commands)


def test_offline_opens_no_socket(tmp_path: Path) -> None:
    """--offline means no sockets: with socket creation failing, the run still completes."""
    src = tmp_path / "l.csv"
    src.write_text("email\nann@example.com\nbad@\n")
    code = (
        "import socket, sys\n"
        "class Denied(socket.socket):\n"
        "    def __init__(self, *a, **k): raise OSError('sockets are forbidden in this test')\n"
        "def deny(*a, **k): raise OSError('sockets are forbidden in this test')\n"
        "socket.socket = Denied; socket.create_connection = deny; socket.getaddrinfo = deny\n"
        "from listclean.cli import main\n"
        f"sys.argv = ['listclean', 'verify', {str(src)!r}, '-o', '-', '--offline']\n"
        "main()\n"
    )
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=60, env={**os.environ}
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(proc.stdout)
    assert [(r[1], r[2]) for r in rows[1:]] == [
        ("unknown", "not_probed"),
        ("undeliverable", "invalid_syntax"),
    ]


def test_report_egress(env: Env, tmp_path: Path) -> None:
    _, report = run(env, tmp_path, ["ann@users.test", "x@users.test"], use_cache=False)
    egress = report["egress"]
    assert egress["mx_hosts_contacted"] == 1
    assert egress["smtp_sessions"] >= 1
    assert egress["dns_queries"] >= 2
    json.dumps(report)


def test_plan_probes_no_mailbox(env: Env, tmp_path: Path) -> None:
    users = env.servers["users"]
    rcpts_before = len(users.rcpts)
    src = tmp_path / "p.csv"
    src.write_text(
        "email\n"
        + "\n".join(
            [f"u{i}@users.test" for i in range(120)]
            + ["x@nxdomain-here.test", "bad@", "u1@users.test"]
        )
        + "\n"
    )
    proc = run_cli(
        "plan",
        str(src),
        "--json",
        "--nameserver",
        env.dns.address,
        "--allow-test-domains",
        "--allow-private-mx",
        "--smtp-port",
        str(env.lab.port),
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["rows"] == 123 and plan["unique_addresses"] == 121
    assert plan["to_probe"] == 120 and plan["settled_by_dns"] == {"invalid_domain": 1}
    assert plan["top_mx"][0] == {"mx": "mx.users.test", "addresses": 120}
    # 121 RCPTs (one catch-all test); 10 % assumed rejected, a new session every 6 rejections
    assert plan["smtp_sessions_estimate"] == 3
    assert plan["port25"]["direct"]["outbound_smtp"] == "works"
    assert len(users.rcpts) == rcpts_before  # no RCPT was sent


def test_plan_reports_blocked_port(env: Env, tmp_path: Path) -> None:
    src = tmp_path / "p.csv"
    src.write_text("email\n" + "\n".join(f"a@r{i}.test" for i in range(3)) + "\n")
    proc = run_cli(
        "plan",
        str(src),
        "--json",
        "--nameserver",
        env.dns.address,
        "--allow-test-domains",
        "--allow-private-mx",
        "--smtp-port",
        str(env.lab.port),
        "--smtp-timeout",
        "1",
    )
    plan = json.loads(proc.stdout)
    assert plan["port25"]["direct"]["outbound_smtp"].startswith("looks blocked")
