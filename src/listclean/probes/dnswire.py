"""A minimal DNS wire codec (RFC 1035 §4.1) for the few record types the MX stage reads.

dnspython's Message.from_wire builds a full object model (Name, Rdata, RRset objects): about
250 µs per answer on this project's CI machine, which capped the DNS stage near 1,500 domains/s.
This codec reads just the header, the answer section (CNAME, PTR, MX, A, AAAA) and the SOA minimum
of the authority section, in a few tens of µs. Every malformed input raises WireError, which
the resolver treats as no answer (the query is retried or times out). tests/test_dnswire.py
checks it against dnspython on generated messages.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA = 1, 2, 5, 6, 12, 15, 16, 28
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5
MAX_POINTERS = 64


class WireError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Record:
    name: str  # lower case, no trailing dot ("" is the root)
    rtype: int
    ttl: int
    value: object  # str for CNAME/A/AAAA, (preference, exchange) for MX, None otherwise


@dataclass(frozen=True, slots=True)
class Reply:
    id: int
    rcode: int
    truncated: bool
    qname: str
    qtype: int
    answers: tuple[Record, ...]
    negative_ttl: int | None  # min(SOA TTL, SOA MINIMUM) from the authority section


_LABEL_BYTES = re.compile(rb"[A-Za-z0-9_-]+")


def encode_query(qid: int, name: str, qtype: int, *, recursion: bool = True) -> bytes:
    """A standard query with one question, class IN."""
    flags = 0x0100 if recursion else 0
    out = bytearray(struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0))
    for label in name.rstrip(".").split(".") if name.strip(".") else []:
        raw = label.encode("ascii", "replace")
        if not 0 < len(raw) < 64 or not _LABEL_BYTES.fullmatch(raw):
            raise WireError(f"bad label in {name!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    if len(out) - 12 > 255:
        raise WireError(f"name too long: {name!r}")
    out += struct.pack("!HH", qtype, 1)
    return bytes(out)


def _name(data: bytes, offset: int) -> tuple[str, int]:
    """Read a possibly compressed name; returns (name, offset after it in the original stream)."""
    labels: list[str] = []
    end = -1
    jumps = 0
    total = 0
    while True:
        if offset >= len(data):
            raise WireError("name runs past the end")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise WireError("truncated pointer")
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            jumps += 1
            if jumps > MAX_POINTERS:
                raise WireError("compression loop")
            continue
        if length & 0xC0:
            raise WireError("unknown label type")
        offset += 1
        if length == 0:
            break
        label = data[offset : offset + length]
        if len(label) != length:
            raise WireError("label runs past the end")
        total += length + 1
        if total > 255:
            raise WireError("name too long")
        labels.append(label.decode("ascii", "replace").lower())
        offset += length
    return ".".join(labels), (end if end >= 0 else offset)


def decode_reply(data: bytes) -> Reply:
    if len(data) < 12:
        raise WireError("short message")
    qid, flags, qd, an, ns, _ar = struct.unpack_from("!HHHHHH", data)
    if not flags & 0x8000:
        raise WireError("not a response")
    offset = 12
    qname, qtype = "", 0
    for i in range(qd):
        name, offset = _name(data, offset)
        if offset + 4 > len(data):
            raise WireError("question runs past the end")
        if i == 0:
            qname, qtype = name, struct.unpack_from("!H", data, offset)[0]
        offset += 4
    answers: list[Record] = []
    negative: int | None = None
    for section, count in ((0, an), (1, ns)):
        for _ in range(count):
            name, offset = _name(data, offset)
            if offset + 10 > len(data):
                raise WireError("record header runs past the end")
            rtype, _rclass, ttl, rdlen = struct.unpack_from("!HHIH", data, offset)
            offset += 10
            rdata_at = offset
            offset += rdlen
            if offset > len(data):
                raise WireError("rdata runs past the end")
            ttl &= 0x7FFFFFFF  # RFC 2181 §8: a TTL with the top bit set is 0... treat as positive
            if section == 1:
                if rtype == SOA:
                    _, at = _name(data, rdata_at)
                    _, at = _name(data, at)
                    if at + 20 > offset:
                        raise WireError("short SOA")
                    minimum = struct.unpack_from("!I", data, at + 16)[0]
                    negative = min(ttl, minimum)
                continue
            value: object = None
            if rtype == A:
                if rdlen != 4:
                    raise WireError("bad A record")
                value = str(ipaddress.IPv4Address(data[rdata_at:offset]))
            elif rtype == AAAA:
                if rdlen != 16:
                    raise WireError("bad AAAA record")
                value = ipaddress.IPv6Address(data[rdata_at:offset]).compressed
            elif rtype in (CNAME, PTR):
                value, _ = _name(data, rdata_at)
            elif rtype == MX:
                if rdlen < 3:
                    raise WireError("bad MX record")
                pref = struct.unpack_from("!H", data, rdata_at)[0]
                exchange, _ = _name(data, rdata_at + 2)
                value = (pref, exchange)
            answers.append(Record(name, rtype, ttl, value))
    return Reply(qid, flags & 0x000F, bool(flags & 0x0200), qname, qtype, tuple(answers), negative)
