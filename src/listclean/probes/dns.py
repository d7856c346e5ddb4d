"""MX resolution for each unique domain: a small asyncio stub resolver on dnspython.

Why not dnspython's Resolver: it folds SERVFAIL and REFUSED into "no nameservers", hides
truncation and retries in its own lifetime budget, and its message objects cost ~250 µs per
answer. listclean needs each outcome as its own verdict and thousands of domains a second, so
this module asks the configured recursive servers directly (RD=1) over a few shared UDP sockets
(``dnswire`` encodes and decodes), retries a timeout once, asks again over TCP when the UDP
answer is truncated (RFC 7766), and shares MX-host address lookups across all domains (one
provider serves thousands of them). dnspython is used only to read the system's resolv.conf.

Rules, with their sources:
- MX sorted by preference, random order among equal preferences (RFC 5321 §5.1).
- No MX but the name has A/AAAA: the domain itself is the implicit MX (RFC 5321 §5.1).
- ``MX 0 .`` is a null MX: the domain accepts no mail, no fallback to A/AAAA (RFC 7505 §3).
- NXDOMAIN: the domain does not exist. SERVFAIL/REFUSED/timeouts are never "undeliverable".
- MX hosts on loopback/private/link-local/multicast/unspecified addresses are not probed
  unless allowed: a hostile list must not make listclean connect into the user's network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import dns.resolver

from listclean.errors import ConfigError
from listclean.model import Reason
from listclean.probes import dnswire as wire
from listclean.safety import is_public_ip

MAX_MX_HOSTS = 5  # hosts kept per domain, in preference order (a 500-MX zone stays small)
MAX_ADDRESSES = 4  # addresses kept per host
MAX_CNAME = 8
MAX_TTL = 86_400  # positive answers are cached at most a day
MAX_NEGATIVE_TTL = 3_600  # NXDOMAIN / no mail server: at most an hour
DEFAULT_NEGATIVE_TTL = 300


@dataclass(frozen=True, slots=True)
class MxHost:
    name: str  # host name without the trailing dot (A-label form)
    preference: int
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DomainInfo:
    """What DNS says about one domain. reason is None when there are hosts to probe."""

    reason: Reason | None
    hosts: tuple[MxHost, ...] = ()
    ttl: int = 0
    implicit: bool = False
    detail: str = ""

    @property
    def mx(self) -> str:
        return self.hosts[0].name if self.hosts else ""

    def to_json(self) -> dict[str, object]:
        return {
            "reason": self.reason.value if self.reason else None,
            "hosts": [[h.name, h.preference, list(h.addresses)] for h in self.hosts],
            "ttl": self.ttl,
            "implicit": self.implicit,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> DomainInfo:
        reason = data.get("reason")
        hosts = tuple(
            MxHost(str(h[0]), int(h[1]), tuple(h[2]))
            for h in data.get("hosts", [])  # type: ignore[attr-defined]
        )
        return cls(
            Reason(str(reason)) if reason else None,
            hosts,
            int(data.get("ttl", 0)),  # type: ignore[call-overload]
            bool(data.get("implicit")),
            str(data.get("detail", "")),
        )


def is_private(address: str) -> bool:
    """True for every address that is not globally routable unicast (safety.is_public_ip):
    loopback, private, CGNAT, link- and site-local, 6to4/NAT64/Teredo, multicast, reserved..."""
    return not is_public_ip(address)


# A host name as DNS may give it for an MX exchange or a CNAME target: letters, digits,
# hyphens (and underscores, seen in the wild) only. Anything else (non-ASCII or NUL bytes,
# spaces, escape sequences) is a hostile or broken answer: dns_error, never a crash.
_HOST_NAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*$")


def _check_name(name: str, what: str) -> str:
    if len(name) > 253 or not _HOST_NAME.match(name):
        raise _Failure(Reason.DNS_ERROR, f"{what} is not a valid host name")
    return name


def without_private(domain: str, info: DomainInfo) -> DomainInfo:
    """Drop private addresses; a domain left with no host gets unknown/private_mx."""
    if info.reason is not None:
        return info
    public = [
        MxHost(h.name, h.preference, tuple(a for a in h.addresses if not is_private(a)))
        for h in info.hosts
    ]
    public = [h for h in public if h.addresses]
    if public:
        return DomainInfo(None, tuple(public), info.ttl, info.implicit, info.detail)
    return DomainInfo(
        Reason.PRIVATE_MX,
        hosts=info.hosts,
        ttl=info.ttl,
        implicit=info.implicit,
        detail=f"{domain}'s mail hosts are on private addresses",
    )


def parse_nameserver(text: str) -> tuple[str, int]:
    """IP, IP:PORT, [IPv6]:PORT or a bare IPv6 address."""
    text = text.strip()
    host, port_text = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                host = ""  # not an address: refused below
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(
            f"--nameserver {text!r}: give an IP address, e.g. 127.0.0.1:5300"
        ) from None
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise ConfigError(f"--nameserver {text!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


def system_nameservers() -> list[tuple[str, int]]:
    try:
        resolver = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError):
        raise ConfigError(
            "no DNS server configured on this machine; pass --nameserver IP[:PORT]"
        ) from None
    servers = [(str(ns), int(resolver.port)) for ns in resolver.nameservers]
    if not servers:
        raise ConfigError("no DNS server configured on this machine; pass --nameserver IP[:PORT]")
    return servers


class _Failure(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


TYPE_NAMES = {
    wire.A: "A",
    wire.AAAA: "AAAA",
    wire.MX: "MX",
    wire.CNAME: "CNAME",
    wire.PTR: "PTR",
}
RCODE_NAMES = {wire.SERVFAIL: "SERVFAIL", wire.REFUSED: "REFUSED", 1: "FORMERR", 4: "NOTIMP"}


@dataclass
class Resolver:
    """Resolves domains to DomainInfo with bounded concurrency. One per run."""

    nameservers: list[tuple[str, int]]
    timeout: float = 5.0
    concurrency: int = 200
    allow_private: bool = False
    queries: int = 0
    _sem: asyncio.Semaphore | None = None
    _hosts: dict[str, asyncio.Future[tuple[tuple[str, ...], int] | _Failure]] = field(
        default_factory=dict
    )
    _rng: random.Random = field(default_factory=random.Random)
    _muxes: dict[tuple[str, int], _UdpMux] = field(default_factory=dict)

    async def query(self, name: str, rtype: int) -> wire.Reply:
        """One question to the configured servers: a timeout is retried once per server."""
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.concurrency)
        what = f"{name} {TYPE_NAMES.get(rtype, rtype)}"
        last: _Failure | None = None
        async with self._sem:
            for host, port in self.nameservers:
                for _attempt in range(2):
                    self.queries += 1
                    try:
                        reply = await self._ask(host, port, name, rtype)
                    except TimeoutError:
                        last = _Failure(Reason.DNS_TIMEOUT, f"no answer for {what}")
                        continue
                    except (OSError, wire.WireError) as exc:
                        last = _Failure(Reason.DNS_ERROR, f"{what}: {exc}")
                        break
                    if reply.rcode in (wire.NOERROR, wire.NXDOMAIN):
                        return reply
                    rcode = RCODE_NAMES.get(reply.rcode, f"rcode {reply.rcode}")
                    last = _Failure(Reason.DNS_ERROR, f"{what}: {rcode}")
                    break  # SERVFAIL/REFUSED: ask the next server, not the same one again
        assert last is not None
        raise last

    async def _ask(self, host: str, port: int, name: str, rtype: int) -> wire.Reply:
        mux = self._muxes.get((host, port))
        if mux is None:
            mux = self._muxes[(host, port)] = _UdpMux(host, port)
        reply = await mux.ask(name, rtype, self.timeout)
        if reply.truncated:  # RFC 7766: the full answer over TCP
            reply = await asyncio.wait_for(_tcp_query(host, port, name, rtype), self.timeout)
        return reply

    def close(self) -> None:
        for mux in self._muxes.values():
            mux.close()
        self._muxes.clear()

    async def _records(self, name: str, rtype: int) -> tuple[str, list[wire.Record], int, bool]:
        """Follow CNAMEs; returns (final name, records of rtype, ttl, nxdomain)."""
        seen = {name}
        current = name
        for _ in range(MAX_CNAME):
            reply = await self.query(current, rtype)
            target = current
            ttl = MAX_TTL
            # The recursive server usually returns the whole chain: walk it in the answer.
            for _hop in range(MAX_CNAME):
                cname = next(
                    (r for r in reply.answers if r.rtype == wire.CNAME and r.name == target), None
                )
                if cname is None:
                    break
                ttl = min(ttl, cname.ttl)
                target = _check_name(str(cname.value), "a CNAME target")
                if target in seen:
                    raise _Failure(Reason.DNS_ERROR, f"CNAME loop at {target}")
                seen.add(target)
            found = [r for r in reply.answers if r.rtype == rtype and r.name == target]
            nxdomain = reply.rcode == wire.NXDOMAIN
            if found or nxdomain or target == current:
                if found:
                    ttl = min([ttl, *(r.ttl for r in found)])
                else:
                    negative = reply.negative_ttl
                    ttl = DEFAULT_NEGATIVE_TTL if negative is None else negative
                    ttl = min(ttl, MAX_NEGATIVE_TTL)
                return target, found, ttl, nxdomain
            current = target  # the chain ended outside the answer: ask for the target
        raise _Failure(Reason.DNS_ERROR, f"CNAME chain longer than {MAX_CNAME} at {name}")

    async def _addresses(self, host: str) -> tuple[tuple[str, ...], int]:
        """A, else AAAA, for a host; shared across all domains of the run."""
        future = self._hosts.get(host)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._hosts[host] = future
            try:
                value: tuple[tuple[str, ...], int] | _Failure = await self._lookup_host(host)
            except _Failure as exc:
                value = exc
            future.set_result(value)
        value = await asyncio.shield(future)
        if isinstance(value, _Failure):
            raise value
        return value

    async def _lookup_host(self, host: str) -> tuple[tuple[str, ...], int]:
        ttl = MAX_TTL
        for rtype in (wire.A, wire.AAAA):
            _, records, t, nx = await self._records(host, rtype)
            if nx:
                return (), t
            ttl = min(ttl, t)
            addresses = [str(r.value) for r in records]
            if addresses:
                return tuple(addresses[:MAX_ADDRESSES]), ttl
        return (), ttl

    async def host_addresses(self, host: str) -> tuple[str, ...] | None:
        """A (else AAAA) addresses of a host name; () when it has none, None when DNS failed."""
        try:
            addresses, _ = await self._lookup_host(host.rstrip(".").lower())
        except (_Failure, ValueError, UnicodeError, wire.WireError, OSError):
            return None
        return addresses

    async def reverse(self, address: str) -> str | None:
        """The PTR name of an IP address ("" when it has none, None when DNS failed)."""
        try:
            _, records, _, _ = await self._records(
                ipaddress.ip_address(address).reverse_pointer, wire.PTR
            )
        except (_Failure, ValueError, wire.WireError, OSError):
            return None
        if not records:
            return ""
        try:
            # a PTR name is a hostile DNS answer like any other: checked as a host name before
            # it reaches a warning, a report or a terminal
            return _check_name(str(records[0].value).rstrip(".").lower(), "a PTR name")
        except _Failure:
            return None

    async def resolve(self, domain: str) -> DomainInfo:
        """domain: the A-label (ASCII) form."""
        try:
            return await self._resolve(domain.rstrip(".").lower())
        except _Failure as exc:
            return DomainInfo(exc.reason, detail=exc.detail)
        except (ValueError, UnicodeError, wire.WireError, OSError) as exc:
            # Whatever an answer holds, it is one domain's outcome, never the run's end.
            return DomainInfo(
                Reason.DNS_ERROR, detail=f"{domain}: unusable answer ({type(exc).__name__})"
            )

    async def _resolve(self, domain: str) -> DomainInfo:
        _, records, ttl, nxdomain = await self._records(domain, wire.MX)
        if nxdomain:
            return DomainInfo(
                Reason.INVALID_DOMAIN, ttl=ttl, detail=f"{domain} does not exist (NXDOMAIN)"
            )
        mx: list[tuple[int, str]] = [r.value for r in records]  # type: ignore[misc]
        for _, exchange in mx:
            if exchange:
                _check_name(exchange, f"an MX host of {domain}")
        # RFC 7505: "MX 0 ." says the domain accepts no mail (a lone root exchange counts too).
        if any(ex == "" for _, ex in mx):
            return DomainInfo(Reason.NULL_MX, ttl=ttl, detail=f"{domain} has a null MX (RFC 7505)")
        if not mx:
            addresses, host_ttl = await self._addresses(domain)
            if not addresses:
                return DomainInfo(
                    Reason.NO_MAIL_SERVER,
                    ttl=min(ttl, host_ttl, MAX_NEGATIVE_TTL),
                    detail=f"{domain} has no MX and no A/AAAA record",
                )
            return self._finish(domain, [MxHost(domain, 0, addresses)], min(ttl, host_ttl), True)
        ordered = sorted(mx, key=lambda r: (r[0], self._rng.random()))
        names: list[tuple[str, int]] = []
        for pref, name in ordered:
            if all(name != n for n, _ in names):
                names.append((name, pref))
            if len(names) >= MAX_MX_HOSTS:
                break
        results = await asyncio.gather(
            *(self._addresses(n) for n, _ in names), return_exceptions=True
        )
        hosts: list[MxHost] = []
        failures: list[_Failure] = []
        for (name, pref), res in zip(names, results, strict=True):
            if isinstance(res, _Failure):
                failures.append(res)
            elif isinstance(res, BaseException):
                raise res
            elif res[0]:
                hosts.append(MxHost(name, pref, res[0]))
                ttl = min(ttl, res[1])
        if not hosts:
            if failures:  # a lookup failed: we cannot say there is no server
                return DomainInfo(failures[0].reason, detail=failures[0].detail)
            return DomainInfo(
                Reason.NO_MAIL_SERVER,
                ttl=min(ttl, MAX_NEGATIVE_TTL),
                detail=f"no MX host of {domain} resolves to an address",
            )
        return self._finish(domain, hosts, ttl, False)

    def _finish(self, domain: str, hosts: list[MxHost], ttl: int, implicit: bool) -> DomainInfo:
        info = DomainInfo(None, hosts=tuple(hosts), ttl=min(ttl, MAX_TTL), implicit=implicit)
        return info if self.allow_private else without_private(domain, info)

    async def resolve_many(
        self, domains: Iterable[str], on_done: Callable[[str, DomainInfo], None] | None = None
    ) -> dict[str, DomainInfo]:
        out: dict[str, DomainInfo] = {}
        todo = iter(domains)

        async def worker() -> None:
            # A fixed pool of workers pulling from one iterator: memory stays flat however
            # many domains there are (one coroutine per domain cost ~4 kB each).
            for domain in todo:
                info = await self.resolve(domain)
                out[domain] = info
                if on_done is not None:
                    on_done(domain, info)

        try:
            await asyncio.gather(*(worker() for _ in range(max(1, self.concurrency))))
        finally:
            self.close()
        return out


async def _tcp_query(host: str, port: int, name: str, rtype: int) -> wire.Reply:
    qid = random.SystemRandom().randrange(65536)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        query = wire.encode_query(qid, name, rtype)
        writer.write(len(query).to_bytes(2, "big") + query)
        await writer.drain()
        length = int.from_bytes(await reader.readexactly(2), "big")
        reply = wire.decode_reply(await reader.readexactly(length))
    except asyncio.IncompleteReadError as exc:
        raise wire.WireError("TCP answer cut short") from exc
    finally:
        writer.close()
    if reply.id != qid or reply.qname != name.lower() or reply.qtype != rtype:
        raise wire.WireError("TCP answer does not match the question")
    return reply


def _expire(future: asyncio.Future[wire.Reply]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class _UdpMux(asyncio.DatagramProtocol):
    """A few long-lived UDP sockets to one server, answers matched by ID and question.

    One socket per query (what dnspython's asyncquery does) costs a socket, a bind and an event
    loop registration every time; sharing a handful of sockets with random 16-bit IDs is much
    cheaper. Each socket gets its own random source port from the kernel; an answer is only
    taken if it matches a pending query's ID, name and type (else it is ignored, and the query
    times out and is retried).
    """

    SOCKETS = 4

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.transports: list[asyncio.DatagramTransport] = []
        self.pending: dict[int, tuple[str, int, asyncio.Future[wire.Reply]]] = {}
        self.next = 0
        self._lock: asyncio.Lock | None = None
        self._rng = random.SystemRandom()

    async def _open(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.transports:
                return
            loop = asyncio.get_running_loop()
            for _ in range(self.SOCKETS):
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: self, remote_addr=(self.host, self.port)
                )
                self.transports.append(transport)

    async def ask(self, name: str, rtype: int, timeout: float) -> wire.Reply:
        if not self.transports:
            await self._open()
        while True:
            qid = self._rng.randrange(65536)
            if qid not in self.pending:
                break
        data = wire.encode_query(qid, name, rtype)
        future: asyncio.Future[wire.Reply] = asyncio.get_running_loop().create_future()
        self.pending[qid] = (name.lower(), rtype, future)
        self.next = (self.next + 1) % len(self.transports)
        # A timer callback instead of asyncio.wait_for: no extra task per query.
        timer = asyncio.get_running_loop().call_later(timeout, _expire, future)
        try:
            self.transports[self.next].sendto(data)
            return await future
        finally:
            timer.cancel()
            self.pending.pop(qid, None)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if len(data) < 12:
            return
        entry = self.pending.get(int.from_bytes(data[:2], "big"))
        if entry is None:
            return
        name, rtype, future = entry
        try:
            reply = wire.decode_reply(data)
        except wire.WireError:
            return  # garbage: keep waiting for the real answer (or time out)
        if reply.qname == name and reply.qtype == rtype and not future.done():
            future.set_result(reply)

    def error_received(self, exc: Exception) -> None:
        return None  # e.g. ICMP port unreachable: the query times out and is retried

    def close(self) -> None:
        for transport in self.transports:
            transport.close()
        self.transports.clear()
