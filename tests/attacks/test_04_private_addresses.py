"""Attack 4: MX hosts resolving into non-global address space (CGNAT, 6to4, site-local...).

A hostile list (or DNS) must not make listclean connect into the user's network or to
special-purpose space. Everything not globally reachable, for A and AAAA alike, is refused
without --allow-private-mx: the IANA IPv4 and IPv6 Special-Purpose Address Registries
(https://www.iana.org/assignments/iana-ipv4-special-registry,
https://www.iana.org/assignments/iana-ipv6-special-registry), every entry whose "Globally
Reachable" column is False, plus the ranges that embed another address (6to4, NAT64, Teredo,
IPv4-mapped/compatible), deprecated site-local, multicast and the reserved block.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from listclean.probes.dns import is_private
from listclean.safety import is_public_ip

from ..conftest import read_csv, run_cli
from ..dnsserver import FakeDNS

NOT_GLOBAL_V4 = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.0.0/29",
    "192.0.0.8/32",
    "192.0.0.170/31",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "233.252.0.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
]
NOT_GLOBAL_V6 = [
    "::/128",
    "::1/128",
    "::/96",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "100::/64",
    "100:0:0:1::/64",
    "2001::/23",
    "2001::/32",
    "2001:2::/48",
    "2001:db8::/32",
    "2002::/16",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "142.250.27.26",  # a Google MX
    "40.93.212.0",  # Microsoft's inbound range
    "2607:f8b0:4004:c1b::1a",
    "2a00:1450:400c:c0c::1b",
    "2a01:111:f400::1",
    "2600:1f18::25",
]


def _samples(network: str) -> list[str]:
    net = ipaddress.ip_network(network)
    picks = {
        net.network_address,
        net.broadcast_address,
        net.network_address + net.num_addresses // 2,
    }
    out = [str(p) for p in picks]
    if net.version == 4:
        out += [f"::ffff:{p}" for p in picks]  # the same address, IPv4-mapped
    return out


@pytest.mark.parametrize("network", NOT_GLOBAL_V4 + NOT_GLOBAL_V6)
def test_registry_entries_are_refused(network: str) -> None:
    for address in _samples(network):
        assert not is_public_ip(address), address
        assert is_private(address), address


def test_public_unicast_is_allowed() -> None:
    for address in PUBLIC:
        assert is_public_ip(address), address
    for junk in ("", "mx.example.com", "1.2.3", "fe80::1%eth0", "8.8.8.8%1", "::ffff:8.8.8.8"):
        assert not is_public_ip(junk)


@pytest.fixture(scope="module")
def dns() -> Iterator[FakeDNS]:
    zone = {
        "cgnat.test": {"MX": ["10 mx.cgnat.test."]},
        "mx.cgnat.test": {"A": ["100.64.0.25"]},
        "sixtofour.test": {"MX": ["10 mx.sixtofour.test."]},
        "mx.sixtofour.test": {"AAAA": ["2002:a00:1::1"]},  # 6to4 for 10.0.0.1
        "sitelocal.test": {"MX": ["10 mx.sitelocal.test."]},
        "mx.sitelocal.test": {"AAAA": ["fec0::25"]},
        "nat64.test": {"MX": ["10 mx.nat64.test."]},
        "mx.nat64.test": {"AAAA": ["64:ff9b::a00:1"]},
        "mapped.test": {"MX": ["10 mx.mapped.test."]},
        "mx.mapped.test": {"AAAA": ["::ffff:192.168.1.1"]},
    }
    server = FakeDNS(zone)
    yield server
    server.close()


def test_a_run_never_probes_them(tmp_path: Path, dns: FakeDNS) -> None:
    src = tmp_path / "l.csv"
    domains = ["cgnat", "sixtofour", "sitelocal", "nat64", "mapped"]
    src.write_text("email\n" + "".join(f"ann@{d}.test\n" for d in domains))
    proc = run_cli(
        "verify",
        str(src),
        "-o",
        "-",
        "--nameserver",
        dns.address,
        "--helo",
        "probe.lab.test",
        "--allow-test-domains",
        "--smtp-timeout",
        "2",
    )  # no --allow-private-mx: nothing may be contacted (the loopback guard would also refuse)
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(proc.stdout)
    assert [r[1:3] for r in rows[1:]] == [["unknown", "private_mx"]] * len(domains)
