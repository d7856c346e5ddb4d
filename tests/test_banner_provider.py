"""lc_provider from the greeting when the MX name says nothing (#14 item 2): a vanity MX name
in front of Google or Microsoft still names its provider. The greeting is untrusted text: it
can only select one of our own keys and never reaches the output itself."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from listclean.pipeline import verify
from listclean.probes.smtp import provider_from_banner
from listclean.settings import Settings

from .conftest import read_csv
from .dnsserver import FakeDNS
from .smtpserver import Lab, Raw

IPS = ["127.0.3.40", "127.0.3.41", "127.0.3.42"]
ZONE = {
    "vanity.test": {"MX": ["10 mail.vanity.test."]},
    "mail.vanity.test": {"A": ["127.0.3.40"]},
    "own.test": {"MX": ["10 mx.own.test."]},
    "mx.own.test": {"A": ["127.0.3.41"]},
    "liar.test": {"MX": ["10 mx.liar.test."]},
    "mx.liar.test": {"A": ["127.0.3.42"]},
}
OK = "250 2.1.5 OK"


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[FakeDNS, Lab]]:
    dns = FakeDNS(ZONE)
    lab = Lab(IPS)
    # Google's greeting as its MX hosts send it ("220 mx.google.com ESMTP <id> - gsmtp")
    lab.raw("127.0.3.40", Raw(lambda a: OK, banner="220 mx.google.com ESMTP a1b2c3 - gsmtp"))
    lab.raw("127.0.3.41", Raw(lambda a: OK, banner="220 mx.own.test ESMTP Postfix"))
    lab.raw("127.0.3.42", Raw(lambda a: OK, banner="220 \x1b]0;x\x07.google.com=cmd ESMTP"))
    yield dns, lab
    lab.close()
    dns.close()


def test_provider_from_the_greeting(env: tuple[FakeDNS, Lab], tmp_path: Path) -> None:
    dns, lab = env
    src = tmp_path / "l.csv"
    src.write_text("email\nann@vanity.test\nbob@own.test\ncat@liar.test\n")
    settings = Settings(
        nameservers=(dns.address,),
        allow_test_domains=True,
        allow_private_mx=True,
        smtp_port=lab.port,
        helo="probe.lab.test",
        smtp_timeout=2.0,
        home=tmp_path / "home",
        use_cache=False,
    )
    out = tmp_path / "o.csv"
    verify(str(src), str(out), dataclasses.replace(settings), report_path=tmp_path / "r.json")
    rows = read_csv(out)
    got: dict[str, Any] = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert got["ann@vanity.test"]["lc_provider"] == "google"
    assert got["ann@vanity.test"]["lc_mx"] == "mail.vanity.test"  # the MX stays as DNS says
    assert got["bob@own.test"]["lc_provider"] == ""
    assert got["cat@liar.test"]["lc_provider"] == ""  # control characters: no host name


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("mx.google.com ESMTP x - gsmtp", "google"),
        (
            "BN8NAM11FT066.mail.protection.outlook.com Microsoft ESMTP MAIL Service ready",
            "microsoft",
        ),
        ("mx0a-00123.pphosted.com ESMTP mfa-m0123", "proofpoint"),
        ("us-smtp-inbound-1.mimecast.com ESMTP", "mimecast"),
        ("mail.example.org ESMTP Postfix", ""),
        ("ESMTP ready", ""),
        ("", ""),
        ("x" * 300 + ".google.com ESMTP", ""),
    ],
)
def test_greeting_host_names(line: str, key: str) -> None:
    assert provider_from_banner(line) == key
