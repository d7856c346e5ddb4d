"""Attack 14: the sixth session's faster paths meet hostile input as the slow ones did.

Three paths were rewritten for speed (#19): the wire check before every SMTP line and the
reply sanitiser now take a one-regex branch for ASCII text, and broken addresses of common
shapes get email-validator's message from a canonical stand-in (the second syntax tier)
instead of one call per row. Each is fed what an attacker would send: every control
character on the wire, a mail server's reply full of escapes and Unicode controls, and list
cells in the tier's shapes carrying formula prefixes, blanks and markup.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from listclean.checks.lists import DomainLists
from listclean.checks.verdict import OfflineChecker
from listclean.fastpath import _canonical_invalid, _parse
from listclean.model import Reason
from listclean.probes.smtp import Connection, SmtpFailure

from ..conftest import read_csv, run_cli
from ..dnsserver import FakeDNS
from ..smtpserver import Lab, Raw
from .helpers import verify_net, zone_mx

IP = "127.0.7.31"
FORMULA = ("=", "+", "-", "@")
UNICODE_CONTROLS = ["\x85", "\u2028", "\u2029", "\u200e", "\u202e", "\ufeff", "\U000e0001"]


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")


def _clean_cell(value: str) -> None:
    assert not value.startswith(FORMULA), value
    assert not any(_unsafe(ch) for ch in value), repr(value)


def test_wire_check_refuses_every_control_character() -> None:
    """All 33 ASCII controls (the regex branch) and Unicode ones (the per-character branch)."""

    class Sink:
        def __init__(self) -> None:
            self.data = b""

        def write(self, data: bytes) -> None:
            self.data += data

    sink = Sink()
    conn = Connection(None, sink, 1.0, "mx.evil.test")  # type: ignore[arg-type]
    for ch in [chr(i) for i in range(32)] + ["\x7f"] + UNICODE_CONTROLS:
        line = f"RCPT TO:<a{ch}b@evil.test>"
        with pytest.raises(SmtpFailure) as info:
            asyncio.run(conn.send(line))
        assert info.value.reason is Reason.SMTP_ERROR, repr(ch)
    assert sink.data == b""


REPLIES = {
    # ASCII only: the regex branch of the sanitiser
    "ascii": "550 5.1.1 =cmd|' /C calc'!A0 \x1b[2J\x1b]8;;https://evil.example/\x07x \x7f\x00\x08 unknown",
    # non-ASCII: the per-character branch
    "uni": "550 5.1.1 user unknown \u202edlrow\u2028next\x85line \U000e0001\ufeff =1+1 \x1b[31m",
}


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[FakeDNS, Lab]]:
    dns = FakeDNS(zone_mx("evil.test", "mx.evil.test", IP))
    lab = Lab([IP])
    lab.raw(IP, Raw(rcpt=lambda a: REPLIES.get(a.split("@")[0], "550 5.1.1 no")))
    yield dns, lab
    lab.close()
    dns.close()


def test_hostile_replies_reach_no_cell_and_no_terminal(
    tmp_path: Path, env: tuple[FakeDNS, Lab]
) -> None:
    dns, lab = env
    src = tmp_path / "l.csv"
    src.write_text("email\nascii@evil.test\nuni@evil.test\n")
    proc = verify_net(src, dns.address, lab.port, "-v", "--show-addresses")
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(proc.stdout)
    reply = rows[0].index("lc_smtp_reply")
    assert all(r[reply] for r in rows[1:])  # the replies did reach the output, cleaned
    for row in rows[1:]:
        for value in row[1:]:
            _clean_cell(value)
    err = proc.stderr.decode()
    assert "\x1b" not in err and "\u202e" not in err


CELLS = [
    "=cmd.@evil.io",  # trailing dot before the @: the tier
    "+a..b@evil.io",  # two dots: the tier
    "-x y@evil.io",  # a blank inside: the tier
    "@@=HYPERLINK(1)",  # nothing before the @: the tier
    "=1+2",  # no @ at all: the tier
    "a\tb@evil.io",  # a tab inside: the tier (shown as U+0009, never as a tab)
    "ann@=x@evil.io",  # a second @ in the domain: the tier
    "<script>alert(1)</script>@evil.io",  # angle brackets: the per-row path
]


def test_broken_addresses_in_the_second_tier_reach_no_cell_report_or_html(
    tmp_path: Path,
) -> None:
    checker = OfflineChecker(DomainLists())
    frame = _parse(pl.Series(CELLS, dtype=pl.String), checker)
    known = _canonical_invalid(frame.get_column("raw"), frame.get_column("fast"), checker.parse)
    assert known.to_list()[:-1] == [checker.check(c).detail for c in CELLS[:-1]]  # tier-decided
    assert known.to_list()[-1] is None

    src = tmp_path / "l.csv"
    src.write_text(
        "email\n" + "".join('"' + c.replace('"', '""') + '"\n' for c in CELLS), encoding="utf-8"
    )
    out, report = tmp_path / "o.csv", tmp_path / "o.report.json"
    proc = run_cli("verify", str(src), "--offline", "-o", str(out), "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out)
    assert [r[0] for r in rows[1:]] == CELLS  # the input, value for value
    for row in rows[1:]:
        assert row[2] == "invalid_syntax"
        for value in row[1:]:
            _clean_cell(value)
    data = json.loads(report.read_text())
    messages = data["counts"]["syntax_messages"]
    assert messages
    for text in messages:
        assert not any(_unsafe(ch) for ch in text), repr(text)
    html = report.with_suffix(".html").read_text()
    assert "<script>" not in html
    assert not any(ch in html for ch in "\x1b\u202e")
