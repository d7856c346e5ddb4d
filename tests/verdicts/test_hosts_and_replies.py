"""#13 items 4-8, 13, 14: false port-25 alarms, slow hosts, echoed addresses, the 64-octet
local part, persistent 4xx, all-or-nothing outputs and the manifest's state."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from listclean.checks.replies import classify
from listclean.model import Reason
from listclean.probes.smtp import CONNECT_FAILURES_FOR_BLOCKED, Prober, SmtpConfig

from ..conftest import read_csv, run_cli
from ..dnsserver import FakeDNS
from ..smtpserver import Lab, Raw, Users

GOOD = "127.0.9.1"
TARPIT = "127.0.9.2"
ECHO = "127.0.9.3"
REFUSING = [f"127.0.9.{i}" for i in range(100, 122)]  # nothing listens there: RST


def _zone() -> dict[str, Any]:
    zone: dict[str, Any] = {}
    for domain, ip in {"good.test": GOOD, "tarpit.test": TARPIT, "echo.test": ECHO}.items():
        zone[domain] = {"MX": [f"10 mx.{domain}."]}
        zone[f"mx.{domain}"] = {"A": [ip]}
    for n, ip in enumerate(REFUSING):
        zone[f"dead{n}.test"] = {"MX": [f"10 mx.dead{n}.test."]}
        zone[f"mx.dead{n}.test"] = {"A": [ip]}
    return zone


class EchoUsers(Users):
    """Postfix's reply for an unknown user, echoing the address (whatever its local part)."""

    def reply(self, address: str) -> str:
        if address.split("@")[0] in self.users:
            return "250 2.1.5 Ok"
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[FakeDNS, Lab]]:
    dns = FakeDNS(_zone())
    lab = Lab([GOOD, TARPIT, ECHO, *REFUSING])
    lab.aiosmtpd(GOOD, Users({f"u{i}" for i in range(400)}))
    # no PIPELINING: one RCPT per round trip, every reply just under the timeout
    lab.raw(TARPIT, Raw(reply_delay=0.95, ehlo="250 tarpit.lab.test"))
    lab.aiosmtpd(ECHO, EchoUsers({"ann", "bob"}))
    yield dns, lab
    lab.close()
    dns.close()


def _verify(
    env: tuple[FakeDNS, Lab], tmp_path: Path, addresses: list[str], *extra: str
) -> tuple[list[list[str]], Any]:
    dns, lab = env
    src = tmp_path / "l.csv"
    src.write_text("email\n" + "\n".join(addresses) + "\n")
    out = tmp_path / "o.csv"
    proc = run_cli(
        "verify",
        str(src),
        "-o",
        str(out),
        "--nameserver",
        dns.address,
        "--helo",
        "probe.lab.test",
        "--smtp-port",
        str(lab.port),
        "--allow-test-domains",
        "--allow-private-mx",
        "--no-cache",
        "--greylist-delay",
        "0.2",
        *extra,
    )
    assert proc.returncode == 0, proc.stderr
    return read_csv(out), proc


@pytest.mark.parametrize("dead", [0, 3, 8, 22])
def test_refusing_hosts_never_stop_good_ones(
    env: tuple[FakeDNS, Lab], tmp_path: Path, dead: int
) -> None:
    """Property: the good rows' verdicts do not depend on how many refusing hosts come first."""
    good = [f"u{i}@good.test" for i in range(300)]
    rows, proc = _verify(env, tmp_path, [f"x@dead{n}.test" for n in range(dead)] + good)
    verdicts = {r[0]: (r[1], r[2]) for r in rows[1:]}
    assert all(verdicts[a] == ("deliverable", "accepted") for a in good), proc.stderr
    assert all(verdicts[f"x@dead{n}.test"] == ("unknown", "smtp_unreachable") for n in range(dead))
    assert b"looks blocked" not in proc.stderr


def test_blocked_alarm_needs_timeouts_and_is_rechecked() -> None:
    notes: list[str] = []
    prober = Prober(SmtpConfig(), warn=notes.append)
    for n in range(30):
        prober.note_connect(f"refused{n}", ok=False, timed_out=False)
    assert not prober.port25_blocked  # refusals are the hosts' own answers
    for n in range(CONNECT_FAILURES_FOR_BLOCKED):
        prober.note_connect(f"silent{n}", ok=False, timed_out=True)
    assert prober.port25_blocked and "looks blocked" in notes[-1]
    prober.note_connect("answers", ok=True)  # a later host answers: not blocked after all
    assert not prober.port25_blocked and "not blocked after all" in notes[-1]


def test_tarpit_is_cut_off_by_budget(env: tuple[FakeDNS, Lab], tmp_path: Path) -> None:
    addresses = [f"t{i}@tarpit.test" for i in range(6)] + ["u1@good.test"]
    t0 = time.monotonic()
    rows, proc = _verify(env, tmp_path, addresses, "--smtp-timeout", "1", "--host-budget", "3")
    assert time.monotonic() - t0 < 20  # was ~4 x timeout per address, one after another
    verdicts = {r[0]: (r[1], r[2]) for r in rows[1:]}
    assert verdicts["u1@good.test"] == ("deliverable", "accepted")
    cut = [a for a in addresses[:6] if verdicts[a] == ("unknown", "smtp_timeout")]
    assert len(cut) >= 4
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert any(
        "mx.tarpit.test was cut off" in n and "--host-budget" in n for n in report["notices"]
    )


def test_tarpit_is_cut_off_by_breaker(env: tuple[FakeDNS, Lab], tmp_path: Path) -> None:
    addresses = [f"t{i}@tarpit.test" for i in range(8)]
    t0 = time.monotonic()
    rows, proc = _verify(env, tmp_path, addresses, "--smtp-timeout", "1")
    assert time.monotonic() - t0 < 25  # 3 slow sessions, not 8 x 4 slow replies
    assert [(r[1], r[2]) for r in rows[-3:]] == [("unknown", "smtp_timeout")] * 3
    assert b"tarpitting" in proc.stderr


def test_echoed_address_does_not_decide(env: tuple[FakeDNS, Lab], tmp_path: Path) -> None:
    names = [
        "blocked",
        "throttle",
        "disabled",
        "ratelimit",
        "spamhaus",
        "full",
        "quota",
        "ann",
        "bob",
    ]
    rows, _ = _verify(env, tmp_path, [f"{n}@echo.test" for n in names])
    verdicts = {r[0].split("@")[0]: (r[1], r[2]) for r in rows[1:]}
    for name in names[:-2]:
        assert verdicts[name] == ("undeliverable", "mailbox_not_found"), name
    assert verdicts["ann"] == verdicts["bob"] == ("deliverable", "accepted")


@pytest.mark.parametrize(
    ("code", "text", "address", "expected"),
    [
        (
            550,
            "5.1.1 <blocked@x.test>: Recipient address rejected: User unknown",
            "blocked@x.test",
            Reason.MAILBOX_NOT_FOUND,
        ),
        (
            550,
            "5.1.1 <disabled@x.test>: Recipient address rejected: User unknown",
            "disabled@x.test",
            Reason.MAILBOX_NOT_FOUND,
        ),
        (
            450,
            "4.2.0 <throttle@x.test>: Recipient address rejected: Greylisted",
            "throttle@x.test",
            Reason.GREYLISTED,
        ),
        (550, "5.1.1 user banned-user unknown", "banned-user@x.test", Reason.MAILBOX_NOT_FOUND),
        (
            554,
            "5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
            "a@x.test",
            Reason.IP_BLOCKED,
        ),
    ],
)
def test_classify_without_echo(code: int, text: str, address: str, expected: Reason) -> None:
    assert classify(code, text, address) is expected


def test_local_part_limit(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    cells = [
        "a" * 64 + "@example.com",
        "a" * 65 + "@example.com",
        "ä" * 32 + "@example.com",
        "ä" * 33 + "@example.com",
    ]
    src.write_text("email\n" + "\n".join(cells) + "\n", encoding="utf-8")
    rows = read_csv(run_cli("verify", str(src), "--offline", "-o", "-").stdout)
    assert [r[2] for r in rows[1:]] == [
        "not_probed",
        "invalid_syntax",
        "not_probed",
        "invalid_syntax",
    ]


def test_unwritable_report_commits_nothing(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_text("email\nann@example.com\n")
    out = tmp_path / "o.csv"
    for extra in (
        ["--report", str(tmp_path / "no" / "r.json")],
        ["--html", str(tmp_path / "no" / "r.html")],
    ):
        proc = run_cli("verify", str(src), "--offline", "-o", str(out), *extra)
        assert proc.returncode == 1 and not out.exists()
        assert [p.name for p in tmp_path.iterdir()] == ["l.csv"]
        proc = run_cli("verify", str(src), "--offline", "-o", "-", *extra)
        assert proc.returncode == 1 and proc.stdout == b""


def test_manifest_state_of_a_finished_run(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_text("email\nann@example.com\n")
    assert run_cli("verify", str(src), "--offline").returncode == 0
    report = json.loads((tmp_path / "l.verified.report.json").read_text())
    assert report["manifest"]["state"] == "done"
    assert "error" not in report["manifest"]
