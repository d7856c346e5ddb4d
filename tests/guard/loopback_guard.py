"""Test-suite guard: any socket connect/send to an address outside 127.0.0.0/8 and ::1 fails.

The tests promise never to send traffic anywhere but loopback; this makes it a rule rather than
an intention. In-process tests get it from tests/conftest.py; subprocesses started by the tests
get it from sitecustomize.py in this folder (on PYTHONPATH). Only Python-level sockets are
covered: the tests always pass --nameserver and --helo so no C-level resolver lookups happen.
"""

from __future__ import annotations

import ipaddress
import socket

_PATCHED = False


def _allowed(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and the like
    host = address[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host in ("localhost",)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def install() -> None:
    global _PATCHED
    if _PATCHED:
        return
    _PATCHED = True
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_sendto = socket.socket.sendto

    def connect(self: socket.socket, address: object) -> None:
        if not _allowed(address):
            raise OSError(
                f"test guard: {address!r} is not loopback; tests must stay on 127.0.0.0/8"
            )
        return original_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        if not _allowed(address):
            raise OSError(
                f"test guard: {address!r} is not loopback; tests must stay on 127.0.0.0/8"
            )
        return original_connect_ex(self, address)

    def sendto(self: socket.socket, data: bytes, *args: object) -> int:
        address = args[-1]
        if not _allowed(address):
            raise OSError(
                f"test guard: {address!r} is not loopback; tests must stay on 127.0.0.0/8"
            )
        return original_sendto(self, data, *args)  # type: ignore[arg-type]

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign]
