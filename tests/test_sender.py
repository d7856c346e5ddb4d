"""The sender identity pre-flight (#14 item 4): with no --helo on a machine without a proper
name listclean used to send `localhost.localdomain` silently, and many servers refuse that,
turning a whole run into unknowns. Now `verify` warns once, before probing, with the fix, and
`plan` shows the identity. Everything is asked of the run's own DNS server (here a FakeDNS on
loopback); a public IP behind NAT is never learned from a third party."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from listclean.sender import Identity, _ask, _warnings, check_identity, describe
from listclean.settings import Settings

from .conftest import run_cli
from .dnsserver import FakeDNS

ZONE = {
    "mail.good.test": {"A": ["127.0.0.1"]},
    "good.test": {"MX": ["10 mail.good.test."]},
    "nomail.test": {"TXT": ['"no mail"']},
    # the reverse zone of a TEST-NET-3 address: a DNS name, not traffic to that address
    "5.113.0.203.in-addr.arpa": {"PTR": ["mail.good.test."]},
    "6.113.0.203.in-addr.arpa": {"PTR": ["host-6.isp.test."]},
}


@pytest.fixture()
def dns_server() -> Iterator[FakeDNS]:
    server = FakeDNS(ZONE)
    yield server
    server.close()


def _settings(dns: FakeDNS, **kw: object) -> Settings:
    return dataclasses.replace(Settings(), nameservers=(dns.address,), **kw)


def test_good_identity_has_no_warning(dns_server: FakeDNS) -> None:
    ident = check_identity(_settings(dns_server, helo="mail.good.test"))
    assert ident.helo_addresses == ["127.0.0.1"]
    assert ident.mail_from == "verify@mail.good.test"
    assert ident.sender_domain_receives is True  # an A record: implicit MX
    assert ident.warnings == []
    assert ident.public_ip == ""  # loopback: not public, and never asked of a third party


@pytest.mark.parametrize(
    ("helo", "mail_from", "words"),
    [
        ("localhost.localdomain", "", "not a fully qualified"),
        ("vm", "", "not a fully qualified"),
        ("box.lan", "", "not a fully qualified"),
        ("missing.good.test", "", "does not resolve"),
        ("mail.good.test", "verify@nomail.test", "has no MX or A record"),
        ("mail.good.test", "verify@nowhere.test", "has no MX or A record"),
    ],
)
def test_bad_identity_warns_with_the_fix(
    dns_server: FakeDNS, helo: str, mail_from: str, words: str
) -> None:
    ident = check_identity(_settings(dns_server, helo=helo, mail_from=mail_from))
    assert any(words in w for w in ident.warnings), ident.warnings
    assert all("pass --" in w for w in ident.warnings)  # each says how to fix it
    if not mail_from:  # verify@<a bad HELO name>: the sender domain is refused as well
        assert any("MAIL FROM" in w for w in ident.warnings)


def test_reverse_dns_of_a_public_address(dns_server: FakeDNS) -> None:
    """When the outbound address is public, its PTR is asked of the run's resolver and compared
    with the HELO name (the addresses are TEST-NET-3 names in the FakeDNS zone)."""
    settings = _settings(dns_server, helo="mail.good.test")
    servers = [("127.0.0.1", int(dns_server.address.rsplit(":", 1)[1]))]
    for ip, reverse, warned in [
        ("203.0.113.5", "mail.good.test", False),
        ("203.0.113.6", "host-6.isp.test", True),
        ("203.0.113.7", "", True),
    ]:
        ident = Identity(helo="mail.good.test", helo_from="--helo", mail_from="v@good.test")
        ident.public_ip = ident.local_address = ip
        asyncio.run(_ask(settings, servers, ident))
        assert ident.reverse_name == reverse
        warnings = _warnings(settings, ident)
        assert bool(warnings) is warned, warnings
        shown = describe(ident, settings)
        assert shown["reverse_dns_matches_helo"] is (not warned)


def test_verify_warns_once_before_probing_and_reports_it(
    dns_server: FakeDNS, tmp_path: Path
) -> None:
    src = tmp_path / "l.csv"
    src.write_text("email\nann@nomail.test\n")
    proc = run_cli(
        "verify",
        str(src),
        "--nameserver",
        dns_server.address,
        "--allow-test-domains",
        "--helo",
        "localhost.localdomain",
    )
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.decode()
    assert err.count("not a fully qualified") == 1
    report = json.loads((tmp_path / "l.verified.report.json").read_text())
    assert any("not a fully qualified" in n for n in report["notices"])


def test_plan_shows_the_sender(dns_server: FakeDNS, tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_text("email\nann@good.test\n")
    proc = run_cli(
        "plan",
        str(src),
        "--json",
        "--nameserver",
        dns_server.address,
        "--allow-test-domains",
        "--allow-private-mx",
        "--helo",
        "missing.good.test",
        "--smtp-port",
        "1",  # nothing listens: the banner check fails fast, no mailbox is asked
    )
    assert proc.returncode == 0, proc.stderr
    sender = json.loads(proc.stdout)["sender"]
    assert sender["helo"] == "missing.good.test (--helo)"
    assert sender["helo_resolves"] == "no"
    assert sender["mail_from"] == "verify@missing.good.test"
    assert "does not resolve" in sender["warnings"][0]
