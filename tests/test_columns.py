"""lc_provider, lc_score and lc_checked_at (shared/DESIGN.md; #20 item 5, #14 item 2, #18
item 4): filled from the MX host, the documented formula and the deciding probe's time."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from listclean.checks.providers import provider_of
from listclean.checks.score import score
from listclean.model import LC_COLUMNS, Reason

from .conftest import lab_args, read_csv, run_cli
from .dnsserver import FakeDNS
from .smtpserver import Lab, Users

IP = "127.0.9.41"


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[FakeDNS, Lab]]:
    # MX host names as the providers publish them; every one points at a loopback server here
    dns = FakeDNS(
        {
            "gcorp.test": {"MX": ["1 aspmx.l.google.com."]},
            "aspmx.l.google.com": {"A": [IP]},
            "mcorp.test": {"MX": ["0 mcorp-test.mail.protection.outlook.com."]},
            "mcorp-test.mail.protection.outlook.com": {"A": [IP]},
            "own.test": {"MX": ["10 mail.own.test."]},
            "mail.own.test": {"A": [IP]},
        }
    )
    lab = Lab([IP])
    lab.aiosmtpd(IP, Users({"ann", "info"}))
    yield dns, lab
    lab.close()
    dns.close()


def test_order_of_the_contract() -> None:
    assert LC_COLUMNS[-4:] == ("lc_duplicate_of", "lc_provider", "lc_score", "lc_checked_at")


@pytest.mark.parametrize(
    ("mx", "provider"),
    [
        ("aspmx.l.google.com", "google"),
        ("alt1.aspmx.l.google.com.", "google"),
        ("contoso-com.mail.protection.outlook.com", "microsoft"),
        ("mta5.am0.yahoodns.net", "yahoo"),
        ("mx01.mail.icloud.com", "apple"),
        ("us-smtp-inbound-1.mimecast.com", "mimecast"),
        ("mx0a-001.pphosted.com", "proofpoint"),
        ("in1-smtp.messagingengine.com", "fastmail"),
        ("mail.example.com", ""),
        ("notgoogle.com", ""),
    ],
)
def test_provider_of(mx: str, provider: str) -> None:
    assert provider_of(mx) == provider


def test_columns_on_a_networked_run(env: tuple[FakeDNS, Lab], tmp_path: Path) -> None:
    dns, lab = env
    src = tmp_path / "l.csv"
    src.write_text("email\nann@gcorp.test\nzed@mcorp.test\ninfo@own.test\nbad@\n")
    args = ["verify", str(src), "-o", str(tmp_path / "o.csv"), *lab_args(dns.address)]
    args += ["--smtp-port", str(lab.port)]
    before = time.time()
    assert run_cli(*args).returncode == 0
    rows = read_csv(tmp_path / "o.csv")
    col = {name: i for i, name in enumerate(rows[0])}
    got = {r[0]: r for r in rows[1:]}
    assert got["ann@gcorp.test"][col["lc_provider"]] == "google"
    assert got["zed@mcorp.test"][col["lc_provider"]] == "microsoft"
    assert got["info@own.test"][col["lc_provider"]] == ""
    assert got["ann@gcorp.test"][col["lc_score"]] == str(score(Reason.ACCEPTED))
    assert got["info@own.test"][col["lc_score"]] == str(score(Reason.ACCEPTED, ["role"]))
    assert got["zed@mcorp.test"][col["lc_score"]] == str(score(Reason.MAILBOX_NOT_FOUND))
    assert got["bad@"][col["lc_score"]] == "" and got["bad@"][col["lc_checked_at"]] == ""
    stamp = got["ann@gcorp.test"][col["lc_checked_at"]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert report["counts"]["providers"]["google"]["deliverable"] == 1
    assert report["counts"]["checked_at"]["oldest"] <= report["counts"]["checked_at"]["newest"]
    html = (tmp_path / "o.report.html").read_text()
    assert "<h2>Providers</h2>" in html and ">google<" in html
    # a re-run takes the verdicts from the cache: they keep the time of their probe
    time.sleep(max(0.0, before + 1.1 - time.time()))
    assert run_cli(*args).returncode == 0
    again = {r[0]: r for r in read_csv(tmp_path / "o.csv")[1:]}
    assert again["ann@gcorp.test"][col["lc_checked_at"]] == stamp
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert report["egress"]["addresses_from_cache"] == 3
