"""Attack 3: DNS answers with hostile names (NUL, non-ASCII bytes, escape sequences, spaces).

One hostile row must not end the run of a whole list: such an answer is that domain's
outcome, unknown/dns_error, and nothing of it reaches the output or the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import read_csv
from ..dnsserver import FakeDNS
from ..smtpserver import Lab, Users
from .helpers import verify_net, zone_mx

IP = "127.0.7.11"
HOSTILE_NAMES = {
    "nul.test": "mx\\000.evil.test.",
    "latin1.test": "mx\\233.evil.test.",
    "utf8.test": "m\\195\\169x.evil.test.",
    "esc.test": "\\027]8\\;\\;http://evil/\\007mx.evil.test.",
    "csi.test": "\\027[2J.evil.test.",
    "space.test": "mx\\032x.evil.test.",
    "crlf.test": "mx\\013\\010RCPT.evil.test.",
    "formula.test": "=cmd|x.evil.test.",
}


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[FakeDNS, Lab]]:
    zone: dict = {**zone_mx("good.test", "mx.good.test", IP)}
    for domain, name in HOSTILE_NAMES.items():
        zone[domain] = {"MX": [f"10 {name}"]}
    zone["cname.test"] = {"MX": ["10 alias.cname.test."]}
    zone["alias.cname.test"] = {"CNAME": ["bad\\000target.evil.test."]}
    dns = FakeDNS(zone)
    lab = Lab([IP])
    lab.aiosmtpd(IP, Users({"ann"}))
    yield dns, lab
    lab.close()
    dns.close()


def test_hostile_names_are_dns_errors_not_crashes(tmp_path: Path, env: tuple[FakeDNS, Lab]) -> None:
    dns, lab = env
    src = tmp_path / "l.csv"
    domains = [*HOSTILE_NAMES, "cname.test"]
    src.write_text(
        "email\nann@good.test\n" + "".join(f"x@{d}\n" for d in domains) + "ann@good.test\n"
    )
    proc = verify_net(src, dns.address, lab.port, "-v")
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(proc.stdout)
    assert len(rows) == len(domains) + 3
    assert rows[1][1:3] == ["deliverable", "accepted"] and rows[-1][1:3] == rows[1][1:3]
    for row in rows[2:-1]:
        assert row[1:3] == ["unknown", "dns_error"], row
        assert row[6] == ""  # no hostile name in lc_mx
    for stream in (proc.stdout, proc.stderr):
        text = stream.decode("utf-8", "replace")
        assert "\x1b" not in text and "\x00" not in text and "evil" not in text


def test_hostile_ptr_name_never_reaches_a_warning() -> None:
    """The sender pre-flight (#14) shows this machine's reverse DNS name in a warning, in the
    report and in `plan`: a PTR answer carrying escape sequences, NUL or CR/LF is no name at
    all (unknown), and nothing of it reaches the text."""
    import asyncio

    from listclean.sender import Identity, _ask, _warnings, describe
    from listclean.settings import Settings

    reverse = {
        f"{i}.113.0.203.in-addr.arpa": {"PTR": [name]}
        for i, name in enumerate(HOSTILE_NAMES.values(), start=1)
    }
    dns = FakeDNS({"mail.good.test": {"A": ["127.0.0.1"]}, **reverse})
    try:
        settings = Settings(nameservers=(dns.address,), helo="mail.good.test")
        port = int(dns.address.rsplit(":", 1)[1])
        for i in range(1, len(HOSTILE_NAMES) + 1):
            ident = Identity(helo="mail.good.test", helo_from="--helo", mail_from="v@good.test")
            ident.public_ip = ident.local_address = f"203.0.113.{i}"
            asyncio.run(_ask(settings, [("127.0.0.1", port)], ident))
            assert ident.reverse_name is None  # refused, as for an MX or CNAME name
            text = " ".join(_warnings(settings, ident)) + str(describe(ident, settings))
            assert "evil" not in text and "\x1b" not in text and "\x00" not in text
    finally:
        dns.close()
