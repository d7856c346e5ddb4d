"""Who listclean says it is, checked before any probe (#14 item 4).

Many servers refuse a HELO name that is not a resolvable fully qualified name, or a MAIL FROM
whose domain cannot receive mail; with no --helo on a machine without a proper name, a run
would silently turn into unknowns. This pre-flight asks DNS (the run's own resolver, nothing
else) about the HELO name, the MAIL FROM domain and, when this machine's outbound address is
public, its reverse name. It never contacts a third party to learn a public IP behind NAT.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import asdict, dataclass, field
from typing import Any

from listclean.model import Reason
from listclean.probes.dns import Resolver, parse_nameserver, system_nameservers
from listclean.safety import is_public_ip
from listclean.settings import Settings


def default_helo() -> str:
    """The machine's fully qualified name (never another provider's)."""
    name = socket.getfqdn()
    return name if "." in name else f"{name}.localdomain"


def helo_name(settings: Settings) -> str:
    return settings.helo or default_helo()


def mail_from(settings: Settings) -> str:
    return settings.mail_from or f"verify@{helo_name(settings)}"


_NOT_FQDN = (".localdomain", ".local", ".localhost", ".lan", ".home", ".internal")


@dataclass
class Identity:
    """The sender identity of a run and what DNS says about it."""

    helo: str
    helo_from: str  # "--helo" or "this machine's name"
    mail_from: str
    helo_addresses: list[str] | None = None  # None: DNS failed
    sender_domain_receives: bool | None = None  # MX or A for MAIL FROM's domain
    local_address: str = ""  # the address SMTP leaves from, as this machine sees it
    public_ip: str = ""  # the same, when it is public (else behind NAT or a proxy)
    reverse_name: str | None = None  # its PTR name ("" none, None unknown)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _outbound_address(settings: Settings, servers: list[tuple[str, int]]) -> str:
    """The local address traffic leaves from: --source-address, else the one the kernel picks
    towards the first nameserver (a UDP connect sends no packet)."""
    if settings.source_address:
        return settings.source_address
    host, port = servers[0]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((host, port))
            return str(sock.getsockname()[0])
    except OSError:
        return ""


async def _ask(settings: Settings, servers: list[tuple[str, int]], ident: Identity) -> None:
    resolver = Resolver(servers, timeout=min(settings.dns_timeout, 5.0), allow_private=True)
    try:
        ident.helo_addresses = _listed(await resolver.host_addresses(ident.helo))
        domain = ident.mail_from.rpartition("@")[2]
        info = await resolver.resolve(domain)
        if info.reason in (Reason.DNS_ERROR, Reason.DNS_TIMEOUT):
            ident.sender_domain_receives = None
        else:  # no domain, no MX and no address, or a null MX (RFC 7505): refused as a sender
            ident.sender_domain_receives = info.reason is None
        if ident.public_ip:
            ident.reverse_name = await resolver.reverse(ident.public_ip)
    finally:
        resolver.close()


def _listed(value: tuple[str, ...] | None) -> list[str] | None:
    return None if value is None else list(value)


def check_identity(settings: Settings) -> Identity:
    """The run's HELO name and MAIL FROM, checked in DNS, with one-line warnings and fixes."""
    ident = Identity(
        helo=helo_name(settings),
        helo_from="--helo" if settings.helo else "this machine's name",
        mail_from=mail_from(settings),
    )
    if settings.nameservers:
        servers = [parse_nameserver(ns) for ns in settings.nameservers]
    else:
        servers = system_nameservers()
    ident.local_address = _outbound_address(settings, servers)
    if not settings.proxies and is_public_ip(ident.local_address):
        ident.public_ip = ident.local_address
    asyncio.run(_ask(settings, servers, ident))
    ident.warnings = _warnings(settings, ident)
    return ident


def _warnings(settings: Settings, ident: Identity) -> list[str]:
    out: list[str] = []
    helo = ident.helo.lower().rstrip(".")
    fix = "pass --helo with this machine's public DNS name, e.g. --helo mail.example.com"
    if "." not in helo or helo.endswith(_NOT_FQDN) or helo == "localhost":
        out.append(
            f"the HELO name {ident.helo!r} ({ident.helo_from}) is not a fully qualified "
            f"domain name and many servers refuse it: {fix}"
        )
    elif ident.helo_addresses == []:
        out.append(
            f"the HELO name {ident.helo!r} ({ident.helo_from}) does not resolve in DNS and "
            f"many servers refuse such names: {fix}"
        )
    domain = ident.mail_from.rpartition("@")[2]
    if ident.sender_domain_receives is False:
        out.append(
            f"the MAIL FROM domain {domain!r} has no MX or A record, so servers refuse the "
            "sender (sender_rejected): pass --mail-from with an address at a domain that "
            "receives mail"
        )
    if ident.public_ip and ident.reverse_name == "":
        out.append(
            f"this machine's public address {ident.public_ip} has no reverse DNS (PTR); many "
            "servers refuse such clients (ip_blocked): ask its provider for a PTR record"
        )
    elif ident.public_ip and ident.reverse_name and ident.reverse_name != helo:
        out.append(
            f"this machine's public address {ident.public_ip} has reverse DNS "
            f"{ident.reverse_name!r}, not the HELO name {ident.helo!r}: pass --helo "
            f"{ident.reverse_name}"
        )
    return out


def describe(ident: Identity, settings: Settings) -> dict[str, Any]:
    """The sender identity as `plan` shows it."""
    if settings.proxies:
        ip = "through a SOCKS5 proxy: servers see the proxy's address, not this machine's"
    elif ident.public_ip:
        ip = ident.public_ip
    else:
        ip = (
            f"{ident.local_address or 'unknown'} is not public (NAT or a lab): the public "
            "address is not learned, since that would mean asking a third party"
        )
    reverse: str
    if not ident.public_ip:
        reverse = "not checked"
    elif ident.reverse_name is None:
        reverse = "unknown (DNS failed)"
    else:
        reverse = ident.reverse_name or "none"
    return {
        "helo": f"{ident.helo} ({ident.helo_from})",
        "helo_resolves": (
            "unknown (DNS failed)"
            if ident.helo_addresses is None
            else ", ".join(ident.helo_addresses) or "no"
        ),
        "mail_from": ident.mail_from,
        "mail_from_domain_receives_mail": {True: "yes", False: "no", None: "unknown"}[
            ident.sender_domain_receives
        ],
        "public_ip": ip,
        "reverse_dns": reverse,
        "reverse_dns_matches_helo": (
            (reverse == ident.helo.lower().rstrip(".")) if ident.public_ip else "not checked"
        ),
        "warnings": ident.warnings or ["none"],
    }
