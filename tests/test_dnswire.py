"""The DNS wire codec against dnspython, on generated messages and on malformed bytes."""

from __future__ import annotations

import dns.message
import dns.rcode
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listclean.probes import dnswire as wire

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
NAME = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
IPV4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
IPV6 = st.ip_addresses(v=6).map(str)


@st.composite
def replies(draw: st.DrawFn) -> tuple[bytes, dns.message.Message]:
    qname = draw(NAME)
    qtype = draw(st.sampled_from(["MX", "A", "AAAA"]))
    query = dns.message.make_query(qname, qtype, id=draw(st.integers(0, 65535)))
    response = dns.message.make_response(query)
    response.set_rcode(draw(st.sampled_from([0, 2, 3, 5])))
    owner = qname
    if draw(st.booleans()):
        target = draw(NAME)
        response.answer.append(dns.rrset.from_text(owner + ".", 60, "IN", "CNAME", target + "."))
        owner = target
    ttl = draw(st.integers(0, 2**31 - 1))
    if qtype == "MX":
        values = [
            f"{draw(st.integers(0, 65535))} {draw(NAME | st.just(''))}."
            for _ in range(draw(st.integers(0, 5)))
        ]
        values = [v.replace(" .", " .") for v in values]
    elif qtype == "A":
        values = draw(st.lists(IPV4, max_size=4, unique=True))
    else:
        values = draw(st.lists(IPV6, max_size=4, unique=True))
    if values:
        response.answer.append(dns.rrset.from_text_list(owner + ".", ttl, "IN", qtype, values))
    else:
        response.authority.append(
            dns.rrset.from_text(
                "zone.",
                draw(st.integers(0, 9999)),
                "IN",
                "SOA",
                f"ns.zone. h.zone. 1 2 3 4 {draw(st.integers(0, 9999))}",
            )
        )
    if draw(st.booleans()):
        response.flags |= dns.flags.TC
    return response.to_wire(), response


@settings(max_examples=300, deadline=None)
@given(replies())
def test_decode_matches_dnspython(case: tuple[bytes, dns.message.Message]) -> None:
    data, msg = case
    reply = wire.decode_reply(data)
    assert reply.id == msg.id
    assert reply.rcode == msg.rcode()
    assert reply.truncated == bool(msg.flags & dns.flags.TC)
    assert reply.qname == str(msg.question[0].name).rstrip(".")
    expected = []
    for rrset in msg.answer:
        for rd in rrset:
            name = str(rrset.name).rstrip(".")
            if rrset.rdtype == dns.rdatatype.MX:
                value: object = (rd.preference, str(rd.exchange).rstrip("."))
            elif rrset.rdtype == dns.rdatatype.CNAME:
                value = str(rd.target).rstrip(".")
            elif rrset.rdtype == dns.rdatatype.AAAA:
                import ipaddress

                value = ipaddress.IPv6Address(rd.address).compressed
            else:
                value = rd.address
            expected.append((name, int(rrset.rdtype), rrset.ttl, value))
    got = [(r.name, r.rtype, r.ttl, r.value) for r in reply.answers]
    assert sorted(got, key=repr) == sorted(expected, key=repr)  # an rrset has no order
    soa = [r for r in msg.authority if r.rdtype == dns.rdatatype.SOA]
    assert reply.negative_ttl == (min(soa[0].ttl, soa[0][0].minimum) if soa else None)


def test_query_encoding_is_what_dnspython_reads() -> None:
    data = wire.encode_query(4242, "xn--bcher-kva.test", wire.MX)
    msg = dns.message.from_wire(data)
    assert msg.id == 4242
    assert str(msg.question[0].name) == "xn--bcher-kva.test."
    assert msg.question[0].rdtype == dns.rdatatype.MX
    assert msg.flags & dns.flags.RD


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_raises_wire_error_only(data: bytes) -> None:
    try:
        wire.decode_reply(data)
    except wire.WireError:
        pass


def test_compression_loop_is_refused() -> None:
    header = bytes([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0])
    loop = header + bytes([0xC0, 12]) + b"\x00\x0f\x00\x01"  # a pointer to itself
    with pytest.raises(wire.WireError):
        wire.decode_reply(loop)
