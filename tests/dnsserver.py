"""A small authoritative-style DNS server for tests, on 127.0.0.1 (UDP and TCP, one port).

Answers from a zone written in the test. Special behaviours per name:
    "servfail" / "refused"  that rcode
    "drop"                  never answers (timeout)
    "truncate"              UDP answers with TC=1 and no records; TCP answers in full
Anything not in the zone is NXDOMAIN. CNAMEs are chased inside the zone like a recursive
server would, so the answer carries the whole chain.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections import Counter

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Zone = dict[str, dict[str, list[str]] | str]


class FakeDNS:
    def __init__(self, zone: Zone, ttl: int = 300) -> None:
        self.zone = {k.lower().rstrip("."): v for k, v in zone.items()}
        self.ttl = ttl
        self.queries: Counter[tuple[str, str]] = Counter()
        self.tcp_queries = 0
        self.answered = 0
        self.stop_after: int | None = None  # answer this many queries, then go silent
        self.lock = threading.Lock()
        server = self

        class UDP(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                reply = server.answer(data, tcp=False)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        class TCP(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                raw = self.request.recv(2)
                if len(raw) < 2:
                    return
                (length,) = struct.unpack("!H", raw)
                data = b""
                while len(data) < length:
                    chunk = self.request.recv(length - len(data))
                    if not chunk:
                        return
                    data += chunk
                reply = server.answer(data, tcp=True)
                if reply is not None:
                    self.request.sendall(struct.pack("!H", len(reply)) + reply)

        for _ in range(20):
            self.udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), UDP)
            self.port = self.udp.server_address[1]
            try:
                self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), TCP)
                break
            except OSError:
                self.udp.server_close()
        else:  # pragma: no cover
            raise RuntimeError("no free port pair")
        self.udp.daemon_threads = self.tcp.daemon_threads = True
        self.threads = [
            threading.Thread(target=s.serve_forever, daemon=True) for s in (self.udp, self.tcp)
        ]
        for t in self.threads:
            t.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        for s in (self.udp, self.tcp):
            s.shutdown()
            s.server_close()

    def answer(self, data: bytes, tcp: bool) -> bytes | None:
        query = dns.message.from_wire(data)
        q = query.question[0]
        name = str(q.name).rstrip(".").lower()
        rdtype = dns.rdatatype.to_text(q.rdtype)
        with self.lock:
            self.queries[(name, rdtype)] += 1
            if tcp:
                self.tcp_queries += 1
            if self.stop_after is not None and self.answered >= self.stop_after:
                return None  # the server has died: no answer at all
            self.answered += 1
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        entry = self.zone.get(name)
        if entry == "drop":
            return None
        if entry in ("servfail", "refused"):
            response.set_rcode(dns.rcode.SERVFAIL if entry == "servfail" else dns.rcode.REFUSED)
            return response.to_wire()
        if entry == "truncate" and not tcp:
            response.flags |= dns.flags.TC
            return response.to_wire()
        current = name
        for _ in range(10):
            entry = self.zone.get(current)
            if entry == "truncate":
                entry = self.zone.get(current + "#full")
            if not isinstance(entry, dict):
                if current == name:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                    self._soa(response)
                return response.to_wire(max_size=65535 if tcp else 65535)
            if "CNAME" in entry and rdtype != "CNAME":
                target = entry["CNAME"][0]
                response.answer.append(self._rrset(current, "CNAME", [target]))
                current = target.rstrip(".").lower()
                continue
            if rdtype in entry:
                response.answer.append(self._rrset(current, rdtype, entry[rdtype]))
            else:
                self._soa(response)
            break
        return response.to_wire(max_size=65535)

    def _rrset(self, name: str, rdtype: str, values: list[str]) -> dns.rrset.RRset:
        return dns.rrset.from_text_list(name + ".", self.ttl, "IN", rdtype, values)

    def _soa(self, response: dns.message.Message) -> None:
        response.authority.append(
            dns.rrset.from_text("test.", self.ttl, "IN", "SOA", "ns.test. h.test. 1 60 60 60 60")
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
