"""The DNS stage against a DNS server the tests start on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from listclean.model import Reason
from listclean.probes.dns import MAX_MX_HOSTS, DomainInfo, Resolver, is_private, parse_nameserver

from .conftest import read_csv, run_cli
from .dnsserver import FakeDNS

ZONE = {
    "good.test": {"MX": ["10 mx1.good.test.", "20 mx2.good.test."]},
    "mx1.good.test": {"A": ["127.0.0.10"]},
    "mx2.good.test": {"A": ["127.0.0.11"], "AAAA": ["::1"]},
    "equal.test": {"MX": [f"10 mx{i}.equal.test." for i in range(4)]},
    **{f"mx{i}.equal.test": {"A": [f"127.0.1.{i}"]} for i in range(4)},
    "amx.test": {"A": ["127.0.0.20"]},
    "aaaa.test": {"AAAA": ["::1"]},
    "nullmx.test": {"MX": ["0 ."], "A": ["127.0.0.30"]},  # the A record is a trap
    "nodata.test": {"TXT": ['"no mail"']},
    "alias.test": {"CNAME": ["hop.test."]},
    "hop.test": {"CNAME": ["good.test."]},
    "loop.test": {"CNAME": ["loop2.test."]},
    "loop2.test": {"CNAME": ["loop.test."]},
    "servfail.test": "servfail",
    "refused.test": "refused",
    "silent.test": "drop",
    "big.test": "truncate",
    "big.test#full": {"MX": [f"10 mx{i}.big.test." for i in range(60)]},
    **{f"mx{i}.big.test": {"A": ["127.0.0.40"]} for i in range(60)},
    "many.test": {"MX": [f"{i % 50} m{i}.many.test." for i in range(500)]},
    **{f"m{i}.many.test": {"A": [f"127.0.2.{i % 250 + 1}"]} for i in range(500)},
    "private10.test": {"MX": ["10 p.private10.test."]},
    "p.private10.test": {"A": ["10.1.2.3"]},
    "linklocal.test": {"MX": ["10 l.linklocal.test."]},
    "l.linklocal.test": {"A": ["169.254.1.1"]},
    "mixed.test": {"MX": ["10 in.mixed.test.", "20 out.mixed.test."]},
    "in.mixed.test": {"A": ["192.168.1.1"]},
    "out.mixed.test": {"A": ["8.8.8.8"]},  # never contacted: the DNS tests open no SMTP
    "deadmx.test": {"MX": ["10 gone.deadmx.test."]},
    "halfdead.test": {"MX": ["10 gone.halfdead.test.", "20 sf.test."]},
    "sf.test": "servfail",
    "xn--bcher-kva.test": {"MX": ["10 mx1.good.test."]},
    "mailinator.com": {"MX": ["10 mx1.good.test."]},
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeDNS]:
    srv = FakeDNS(ZONE)
    yield srv
    srv.close()


def resolve(
    server: FakeDNS, domain: str, *, allow_private: bool = True, timeout: float = 2.0
) -> DomainInfo:
    host, port = parse_nameserver(server.address)
    resolver = Resolver([(host, port)], timeout=timeout, allow_private=allow_private)
    return asyncio.run(resolver.resolve(domain))


def test_mx_sorted_by_preference(server: FakeDNS) -> None:
    info = resolve(server, "good.test")
    assert info.reason is None
    assert [h.name for h in info.hosts] == ["mx1.good.test", "mx2.good.test"]
    assert info.hosts[0].addresses == ("127.0.0.10",)
    assert info.mx == "mx1.good.test"
    assert 0 < info.ttl <= 300


def test_equal_preferences_are_shuffled(server: FakeDNS) -> None:
    firsts = {resolve(server, "equal.test").mx for _ in range(30)}
    assert len(firsts) > 1


def test_implicit_mx_from_a_and_aaaa(server: FakeDNS) -> None:
    info = resolve(server, "amx.test")
    assert info.reason is None and info.implicit
    assert info.mx == "amx.test" and info.hosts[0].addresses == ("127.0.0.20",)
    assert resolve(server, "aaaa.test").hosts[0].addresses == ("::1",)


def test_null_mx_ignores_a_record(server: FakeDNS) -> None:
    info = resolve(server, "nullmx.test")
    assert info.reason is Reason.NULL_MX and not info.hosts


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("nxdomain.test", Reason.INVALID_DOMAIN),
        ("nodata.test", Reason.NO_MAIL_SERVER),
        ("deadmx.test", Reason.NO_MAIL_SERVER),  # every MX target fails to resolve
        ("servfail.test", Reason.DNS_ERROR),
        ("refused.test", Reason.DNS_ERROR),
        ("loop.test", Reason.DNS_ERROR),
        ("halfdead.test", Reason.DNS_ERROR),  # one target NXDOMAIN, one SERVFAIL: not sure
    ],
)
def test_failures(server: FakeDNS, domain: str, reason: Reason) -> None:
    assert resolve(server, domain).reason is reason


def test_timeout_after_one_retry(server: FakeDNS) -> None:
    before = server.queries[("silent.test", "MX")]
    info = resolve(server, "silent.test", timeout=0.3)
    assert info.reason is Reason.DNS_TIMEOUT
    assert server.queries[("silent.test", "MX")] - before == 2  # the query and one retry


def test_cname_chain_followed(server: FakeDNS) -> None:
    info = resolve(server, "alias.test")
    assert info.reason is None and info.mx == "mx1.good.test"


def test_truncated_answer_retried_over_tcp(server: FakeDNS) -> None:
    before = server.tcp_queries
    info = resolve(server, "big.test")
    assert info.reason is None
    assert server.tcp_queries > before
    assert len(info.hosts) == MAX_MX_HOSTS


def test_500_mx_records_stay_bounded(server: FakeDNS) -> None:
    info = resolve(server, "many.test")
    assert info.reason is None
    assert len(info.hosts) == MAX_MX_HOSTS
    assert all(h.preference == 0 for h in info.hosts)  # the best preference first
    # only the kept hosts were looked up, not 500
    looked_up = sum(1 for (n, t) in server.queries if n.endswith(".many.test") and t == "A")
    assert looked_up <= MAX_MX_HOSTS


@pytest.mark.parametrize("domain", ["private10.test", "linklocal.test", "good.test"])
def test_private_mx_refused_by_default(server: FakeDNS, domain: str) -> None:
    info = resolve(server, domain, allow_private=False)
    assert info.reason is Reason.PRIVATE_MX
    assert info.mx  # the host is still named, for the user to see
    assert resolve(server, domain, allow_private=True).reason is None


def test_private_hosts_dropped_public_kept(server: FakeDNS) -> None:
    info = resolve(server, "mixed.test", allow_private=False)
    assert info.reason is None
    assert [h.name for h in info.hosts] == ["out.mixed.test"]


def test_idn_queried_by_a_label(server: FakeDNS) -> None:
    assert resolve(server, "xn--bcher-kva.test").mx == "mx1.good.test"


@pytest.mark.parametrize(
    ("ip", "private"),
    [
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.0.1", True),
        ("169.254.1.1", True),
        ("224.0.0.1", True),
        ("0.0.0.0", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:10.0.0.1", True),
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
        ("not-an-ip", True),
    ],
)
def test_is_private(ip: str, private: bool) -> None:
    assert is_private(ip) is private


def test_nameserver_parsing() -> None:
    assert parse_nameserver("127.0.0.1") == ("127.0.0.1", 53)
    assert parse_nameserver("127.0.0.1:5300") == ("127.0.0.1", 5300)
    assert parse_nameserver("[::1]:5300") == ("::1", 5300)
    assert parse_nameserver("::1") == ("::1", 53)


LIST = """name,email
a,ann@good.test
b,bob@nxdomain.test
c,c@nullmx.test
d,d@nodata.test
e,e@servfail.test
f,f@alias.test
g,g@bücher.test
h,h@private10.test
i,i@mailinator.com
j,ann@good.test
k,broken@
l,l@yopmail.com
"""


def verify_list(
    tmp_path: Path, server: FakeDNS, *extra: str, home: Path | None = None
) -> list[dict[str, str]]:
    src = tmp_path / "list.csv"
    src.write_text(LIST)
    env = {"LISTCLEAN_HOME": str(home)} if home else None
    proc = run_cli(
        "verify",
        str(src),
        "-o",
        str(tmp_path / "out.csv"),
        "--allow-test-domains",
        "--nameserver",
        server.address,
        "--dns-timeout",
        "0.5",
        "--smtp-port",
        "9",
        *extra,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(tmp_path / "out.csv")
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_cli_verdicts(tmp_path: Path, server: FakeDNS) -> None:
    rows = verify_list(tmp_path, server, "--no-cache")
    got = {r["name"]: (r["lc_status"], r["lc_reason"], r["lc_mx"]) for r in rows}
    assert got["b"] == ("undeliverable", "invalid_domain", "")
    assert got["c"] == ("undeliverable", "null_mx", "")
    assert got["d"] == ("undeliverable", "no_mail_server", "")
    assert got["e"] == ("unknown", "dns_error", "")
    assert got["h"] == ("unknown", "private_mx", "p.private10.test")
    assert got["a"] == ("unknown", "private_mx", "mx1.good.test")  # loopback MX: not probed
    assert got["i"] == ("risky", "disposable", "mx1.good.test")
    assert got["l"] == ("undeliverable", "invalid_domain", "")  # a dead domain settles it
    assert got["k"][:2] == ("undeliverable", "invalid_syntax")
    assert got["g"][2] == "mx1.good.test"


def test_cache_avoids_requery_and_no_cache_bypasses(tmp_path: Path, server: FakeDNS) -> None:
    home = tmp_path / "home"
    verify_list(tmp_path, server, home=home)
    first = server.queries[("nxdomain.test", "MX")]
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert report["egress"]["domains_resolved"] > 0
    verify_list(tmp_path, server, home=home)
    assert server.queries[("nxdomain.test", "MX")] == first  # answered from the cache
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert report["egress"]["domains_from_cache"] >= 5
    # SERVFAIL is not cached: asked again
    verify_list(tmp_path, server, "--no-cache", home=home)
    assert server.queries[("nxdomain.test", "MX")] == first + 1
    # the cache holds domains only
    data = (home / "store.sqlite").read_bytes()
    assert b"ann@" not in data and b"bob@" not in data


def test_cache_respects_allow_private_mx(tmp_path: Path, server: FakeDNS) -> None:
    home = tmp_path / "home"
    rows = verify_list(tmp_path, server, home=home)
    assert rows[0]["lc_reason"] == "private_mx"
    rows = verify_list(tmp_path, server, "--allow-private-mx", home=home)
    assert rows[0]["lc_reason"] != "private_mx"
