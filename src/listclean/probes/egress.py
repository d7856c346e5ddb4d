"""How SMTP connections leave this machine: directly (optionally from one source address) or
through a SOCKS5 proxy, chosen per MX host by route rules.

Proxies are spoken to with python-socks (asyncio flavour), not a hand-written SOCKS client.
DNS stays local: listclean resolves the MX hosts itself and asks the proxy to connect to the
IP address, so a proxy can neither see nor rewrite MX choices (``socks5h``, which hands
name resolution to the proxy, is refused for that reason).

Routes (``--route SUFFIX=PROXY``, repeatable; config key ``route``): an MX host whose name
ends with SUFFIX goes through PROXY (``direct`` for no proxy); several rules for one suffix
are used in rotation, one session each. Hosts no rule matches use ``--proxy`` (in rotation
when given several), else go direct.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from listclean.model import Reason

DIRECT = "direct"


class EgressError(ValueError):
    """A proxy URL or route rule that cannot be used (a usage error)."""


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def label(self) -> str:
        """What reports and logs show: never the credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"socks5://{host}:{self.port}"


def parse_proxy(text: str) -> Proxy | None:
    """``socks5://[user:pass@]host:port``, or ``direct`` (None)."""
    text = text.strip()
    if text.lower() == DIRECT:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise EgressError("a proxy URL must not contain control characters")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "socks5h":
        raise EgressError(
            f"{_safe(text)}: socks5h would let the proxy resolve the mail servers' names; "
            "listclean resolves MX hosts itself and asks the proxy for the IP: use socks5://"
        )
    if scheme != "socks5":
        raise EgressError(f"{_safe(text)}: give a SOCKS5 proxy as socks5://[user:pass@]host:port")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or not 0 < port < 65536:
        raise EgressError(f"{_safe(text)}: give the proxy's host and port, socks5://host:1080")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise EgressError(f"{_safe(text)}: a proxy URL has no path or query")
    return Proxy(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _safe(text: str) -> str:
    """A proxy URL or route rule for a message: any credentials replaced, wherever they are."""
    return re.sub(r"//[^/@\s]*@", "//***@", text)


def parse_route(text: str) -> tuple[str, Proxy | None]:
    """``SUFFIX=PROXY``: MX hosts ending with SUFFIX go through PROXY (or ``direct``)."""
    suffix, eq, target = text.partition("=")
    suffix = suffix.strip().lower().strip(".")
    if not eq or not suffix or any(ch.isspace() for ch in suffix):
        raise EgressError(
            f"{_safe(text)!r}: a route is SUFFIX=PROXY, e.g. outlook.com=socks5://127.0.0.1:1080"
        )
    return suffix, parse_proxy(target)


@dataclass(frozen=True)
class Egress:
    """Routes, the default proxies and the source address: everything about how to leave."""

    proxies: tuple[Proxy | None, ...] = ()
    routes: tuple[tuple[str, tuple[Proxy | None, ...]], ...] = ()
    source_address: str | None = None

    @classmethod
    def from_options(
        cls, proxies: tuple[str, ...], routes: tuple[str, ...], source_address: str | None
    ) -> Egress:
        table: dict[str, list[Proxy | None]] = {}
        for rule in routes:
            suffix, proxy = parse_route(rule)
            table.setdefault(suffix, []).append(proxy)
        if source_address:
            try:
                ipaddress.ip_address(source_address)
            except ValueError:
                raise EgressError(
                    f"--source-address {source_address!r} is not an IP address"
                ) from None
        return cls(
            proxies=tuple(parse_proxy(p) for p in proxies),
            routes=tuple(
                (s, tuple(p)) for s, p in sorted(table.items(), key=lambda kv: -len(kv[0]))
            ),
            source_address=source_address or None,
        )

    def choices(self, mx_host: str) -> tuple[Proxy | None, ...]:
        """The ways to reach one MX host, used in rotation (None: direct)."""
        host = mx_host.lower().rstrip(".")
        for suffix, proxies in self.routes:  # longest suffix first
            if host == suffix or host.endswith("." + suffix):
                return proxies
        return self.proxies or (None,)


def label(proxy: Proxy | None) -> str:
    return DIRECT if proxy is None else proxy.label


class RouteDown(Exception):
    """The route itself is broken (proxy unreachable, credentials or port 25 refused): no
    connection through it can work, whatever the mail server."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def open_socket(
    address: str, port: int, timeout: float, proxy: Proxy | None, source: str | None
) -> tuple[socket.socket | None, Reason | None, str]:
    """Connect to (address, port), through ``proxy`` when given.

    Returns (socket, None, "") on success; (None, reason, text) for a failure of this one
    connection (the proxy says the mail server is unreachable, refused or timed out); raises
    RouteDown when the proxy itself cannot be used.
    """
    local = (source, 0) if source else None
    if proxy is None:
        try:
            reader_sock = await asyncio.wait_for(_direct(address, port, local), timeout)
        except TimeoutError:
            return None, Reason.SMTP_TIMEOUT, "timed out"
        except OSError as exc:
            return None, Reason.SMTP_UNREACHABLE, str(exc.strerror or exc)
        return reader_sock, None, ""
    from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError
    from python_socks.async_.asyncio import Proxy as SocksProxy

    client = SocksProxy.create(
        proxy_type=_socks5(),
        host=proxy.host,
        port=proxy.port,
        username=proxy.username,
        password=proxy.password,
        rdns=False,  # the proxy connects to the IP listclean resolved
    )
    try:
        sock = await client.connect(
            dest_host=address, dest_port=port, timeout=timeout, local_addr=local
        )
    except ProxyConnectionError as exc:
        raise RouteDown(
            f"proxy {proxy.label} is unreachable ({exc.strerror or 'no answer'})"
        ) from None
    except ProxyTimeoutError:
        return None, Reason.SMTP_TIMEOUT, f"via {proxy.label}: timed out"
    except ProxyError as exc:
        code = getattr(exc, "error_code", None)
        text = str(exc)
        if code is None and ("authentication" in text.lower() or "auth" in text.lower()):
            raise RouteDown(f"proxy {proxy.label} refused the credentials ({text})") from None
        if code == 2:
            raise RouteDown(
                f"proxy {proxy.label} does not allow connections to port {port} ({text})"
            ) from None
        if code in (3, 4, 5, 6):  # network/host unreachable, refused, TTL expired
            return None, Reason.SMTP_UNREACHABLE, f"via {proxy.label}: {text}"
        raise RouteDown(f"proxy {proxy.label} failed: {text}") from None
    return sock, None, ""


def _socks5() -> object:
    from python_socks import ProxyType

    return ProxyType.SOCKS5


async def _direct(address: str, port: int, local: tuple[str, int] | None) -> socket.socket:
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        if local is not None:
            sock.bind(local)
        await loop.sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock
