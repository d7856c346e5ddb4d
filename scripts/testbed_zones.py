"""Write the testbed's data into the directory given.

testbed_zones.py DIR             zone files (RFC 6761 .test names only) for Unbound:
    lab.test   hand-written cases the integration tests assert on (tests/test_testbed_*.py)
    bench.test 50,000 generated domains d00000..d49999 over 50 MX hosts, for bench/, and
               20,000 domains s00000..s19999 on the lab's Postfix hosts mx1-mx4 (Postfix
               accepts u<n>@ for n not ending in 0 there), for bench/manydomains.py, and
               2,000 domains f0000..f1999 on mxfar (bench/latency.py's delaying proxy;
               u<n>@ exists unless n ends in 9, as on far.lab.test), for latency --domains
testbed_zones.py --postfix DIR   Postfix lookup tables: recipients (relay_recipient_maps)
                                 and access (check_recipient_access)
"""

import sys
from pathlib import Path

HEADER = """$ORIGIN {zone}.
$TTL 300
@ IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 60
@ IN NS ns.{zone}.
ns IN A 127.0.5.1
"""

LAB = """
; mail hosts (the SMTP testbed listens on these loopback addresses)
mx1 IN A 127.0.1.1
mx2 IN A 127.0.1.2
mx3 IN A 127.0.1.3
mx4 IN A 127.0.1.4
mx5 IN A 127.0.1.5
; per-client-IP rate limit (anvil), for bench/ray_scale.py
mx10 IN A 127.0.1.10
; replay hosts (scripts/replay_mx.py): answer like the big providers
mxg IN A 127.0.1.6
mxo IN A 127.0.1.7
mxb IN A 127.0.1.8
mxgrey IN A 127.0.1.9
gmail IN MX 10 mxg.lab.test.
outlook IN MX 10 mxo.lab.test.
blocker IN MX 10 mxb.lab.test.
greyreal IN MX 10 mxgrey.lab.test.
; the HELO name and MAIL FROM domain the tests use (verify@probe.lab.test): a resolvable name
probe IN A 127.0.0.1
; MX, sorted by preference
good IN MX 10 mx1.lab.test.
pref IN MX 20 mx2.lab.test.
pref IN MX 10 mx1.lab.test.
catchall IN MX 10 mx3.lab.test.
grey IN MX 10 mx4.lab.test.
limited IN MX 10 mx5.lab.test.
; no MX, but an address: implicit MX (RFC 5321 5.1)
amx IN A 127.0.1.1
; null MX (RFC 7505) with a trap A record that must not be used
nullmx IN MX 0 .
nullmx IN A 127.0.1.1
; exists with no MX and no address
nomail IN TXT "no mail here"
; every MX target fails to resolve
deadmx IN MX 10 missing.lab.test.
; CNAME at the domain
alias IN CNAME good.lab.test.
; MX on a private address: not probed without --allow-private-mx
private IN MX 10 mxpriv.lab.test.
mxpriv IN A 10.9.8.7
; internationalized domain, by its A-label (bücher.lab.test)
xn--bcher-kva IN MX 10 mx1.lab.test.
; 20,000 mailboxes on one MX host, for bench/smtp.py
bulk IN MX 10 mx1.lab.test.
; the same mailboxes behind bench/latency.py's delaying proxy (127.0.4.1 -> mx1)
far IN MX 10 mxfar.lab.test.
; the same mailboxes behind mx10's anvil limits (bench/ray_scale.py)
bulklim IN MX 10 mx10.lab.test.
mxfar IN A 127.0.4.1
"""

USERS = ["ann", "bob", "carol", "full", "gone"]
BULK = 20_000  # u00000..u19999@bulk.lab.test exist, except every 10th (u00009, u00019, ...)

RECIPIENTS = (
    [
        f"{u}@{d} OK"
        for d in (
            "good.lab.test",
            "pref.lab.test",
            "limited.lab.test",
            "grey.lab.test",
            "xn--bcher-kva.lab.test",
            "amx.lab.test",
        )
        for u in USERS
    ]
    + ["@catchall.lab.test OK"]
    + [
        f"u{i:05d}@{d} OK"
        for d in ("bulk.lab.test", "far.lab.test", "bulklim.lab.test")
        for i in range(BULK)
        if i % 10 != 9
    ]
)

ACCESS = [
    "full@good.lab.test 552 5.2.2 Mailbox full",
    "gone@good.lab.test 550 5.2.1 Mailbox disabled",
    "grey.lab.test 450 4.2.0 Greylisted, please try again later",
]


def postfix(out: Path) -> None:
    (out / "recipients").write_text("\n".join(RECIPIENTS) + "\n")
    (out / "access").write_text("\n".join(ACCESS) + "\n")


def main() -> None:
    if sys.argv[1] == "--postfix":
        postfix(Path(sys.argv[2]))
        return
    out = Path(sys.argv[1])
    (out / "lab.test.zone").write_text(HEADER.format(zone="lab.test") + LAB)
    lines = [HEADER.format(zone="bench.test")]
    for j in range(50):
        lines.append(f"mx{j} IN A 127.0.2.{j + 1}\n")
    for i in range(50_000):
        lines.append(f"d{i:05d} IN MX 10 mx{i % 50}.bench.test.\n")
    for k in range(20_000):
        host = 4 if k % 100 == 99 else 1 + k % 3
        lines.append(f"s{k:05d} IN MX 10 mx{host}.lab.test.\n")
    for k in range(2_000):
        lines.append(f"f{k:04d} IN MX 10 mxfar.lab.test.\n")
    (out / "bench.test.zone").write_text("".join(lines))


main()
