"""The vectorised offline path gives exactly the columns and tallies of the per-cell path."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from listclean.checks.lists import DomainLists
from listclean.checks.providers import provider_of
from listclean.checks.replies import provider_unverifiable
from listclean.checks.verdict import OfflineChecker
from listclean.fastpath import (
    DOMAIN_SCHEMA,
    DuplicateCollector,
    DuplicateIndex,
    annotate_offline,
    apply_network,
    finish,
    offline_frame,
    tally_columns,
    with_duplicates,
)
from listclean.model import Reason
from listclean.network import probe_frame as _probe_frame
from listclean.pipeline import Memo, _flags_text
from listclean.probes.dns import DomainInfo, MxHost
from listclean.probes.smtp import Probe
from listclean.report import Tally

from .reference import annotate, with_network

LOCALS = st.sampled_from(
    [
        "ann",
        "Ann.Smith",
        "info",
        "Sales+eu",
        "noreply",
        "o'brien",
        "a..b",
        "ñandú",
        "x" * 65,
        "",
        "bob",
        "a+b+c",
        "user_1",
        "-x-",
        ".",
    ]
)
DOMAINS = st.sampled_from(
    [
        "example.com",
        "Example.COM",
        "gmail.com",
        "gmial.com",
        "gmail.con",
        "mailinator.com",
        "x.mailinator.com",
        "yahoo.co.uk",
        "müller.de",
        "xn--bcher-kva.de",
        "ab--cd.com",
        "shop.test",
        "localhost",
        "a.b1",
        "exa_mple.com",
        "-bad.com",
        "e.x",
        "company.cmo",
        "web.de",
    ]
)
# Cells near the shapes the second syntax tier decides (fastpath._canonical_invalid): dots in
# the wrong place, blanks and punctuation inside, several @-signs, empty parts, and the
# characters that must keep a cell on the per-row path (quotes, angle brackets, brackets,
# backslashes, non-ASCII, control characters).
_PIECES = st.sampled_from(
    ["a", "Bc", "x9", "o'b", "-", "_", "+t", ".", "..", " ", "\t", "@", "@@", ",", '"', "<",
     ">", "[", "]", "\\", "é", "\x00", "(", "mail", "gmial", ".com", ".co.uk", "-x", "1"]
)  # fmt: skip
NEAR_INVALID = st.lists(_PIECES, max_size=9).map("".join)
CELL = st.one_of(
    NEAR_INVALID,
    st.tuples(LOCALS, DOMAINS, st.sampled_from(["", " ", "\t", "  "])).map(
        lambda t: f"{t[2]}{t[0]}@{t[1]}{t[2]}"
    ),
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@@b.com",
            " \n ann@example.com",
            "\u00a0ann@example.com",
            ".ann@gmail.com",
            "ann.@gmail.com",
            "a..b@x.io",
            "a b@x.io",
            "a@b@c.io",
            "ann@gmial.c_m",
            "a@" + "b" * 260,
            "a.@" + "b" * 260,
            "ann@[1.2.3.4]",
            "ann@gmail.com.",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL, min_size=1, max_size=40), st.booleans(), st.integers(1, 1000))
def test_vectorised_equals_per_cell(cells: list[str], allow_test: bool, first_row: int) -> None:
    checker = OfflineChecker(DomainLists(), allow_test_domains=allow_test)
    slow_tally, fast_tally = Tally(), Tally()
    slow_seen, fast_seen = DuplicateIndex(), DuplicateIndex()
    slow_seen.mark(["ann@example.com"], 1)
    fast_seen.mark(["ann@example.com"], 1)
    # two batches, so duplicates across batches are covered too
    half = len(cells) // 2
    expected: dict[str, list[str]] = {}
    got: dict[str, list[str]] = {}
    row = first_row
    for part in (cells[:half], cells[half:]):
        slow = annotate(part, row, Memo(checker).get, slow_seen, slow_tally)
        fast = annotate_offline(
            pl.Series(part, dtype=pl.String),
            row,
            checker,
            Memo(checker).get,
            fast_seen,
            fast_tally,
            _flags_text,
        )
        for name, values in slow.items():
            expected.setdefault(name, []).extend(values)
            got.setdefault(name, []).extend(fast[name].to_list())
        row += len(part)
    assert got == expected
    assert len(fast_seen) == len(slow_seen)
    assert fast_tally.as_dict() == slow_tally.as_dict()


_CHECKERS = {allow: OfflineChecker(DomainLists(), allow_test_domains=allow) for allow in (0, 1)}


@settings(max_examples=500, deadline=None)
@given(st.lists(NEAR_INVALID, min_size=1, max_size=40), st.booleans())
def test_second_syntax_tier_gives_email_validators_message(cells: list[str], allow: bool) -> None:
    """Whatever the tier decides is exactly the per-row verdict: invalid, that message, no
    repair suggestion; what it cannot prove it leaves to the per-row path."""
    from listclean.fastpath import _canonical_invalid, _parse

    checker = _CHECKERS[allow]
    frame = _parse(pl.Series(cells, dtype=pl.String), checker)
    known = _canonical_invalid(frame.get_column("raw"), frame.get_column("fast"), checker.parse)
    for cell, message in zip(cells, known.to_list(), strict=True):
        if message is None:
            continue
        result = checker.check(cell)
        assert result.reason is Reason.INVALID_SYNTAX, cell
        assert (result.detail, result.suggestion) == (message, ""), cell


def test_second_syntax_tier_takes_the_common_broken_shapes() -> None:
    """The shapes real lists are full of do not go row by row (else the tier is dead code)."""
    from listclean.fastpath import _canonical_invalid, _parse

    cells = [".ann@gmail.com", "ann.@gmail.com", "a..b@x.io", "a b@x.io", "plain", "a@",
             "a@@b.com", "@x.com", "a b@c@d.io"]  # fmt: skip
    checker = OfflineChecker(DomainLists())
    frame = _parse(pl.Series(cells, dtype=pl.String), checker)
    known = _canonical_invalid(frame.get_column("raw"), frame.get_column("fast"), checker.parse)
    assert known.null_count() == 0
    assert known.to_list() == [checker.check(c).detail for c in cells]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["", "a@x.io", "b@x.io", "A@x.io", "c@y.io"]), max_size=8),
        max_size=5,
    )
)
def test_duplicate_index_matches_a_dict(batches: list[list[str]]) -> None:
    index, reference = DuplicateIndex(), {}
    row = 1
    for batch in batches:
        expected = []
        for offset, value in enumerate(batch):
            first = reference.setdefault(value, row + offset) if value else row + offset
            expected.append(str(first) if first != row + offset else "")
        assert index.mark(batch, row) == expected
        row += len(batch)
    assert len(index) == len(reference)


DNS_OUTCOMES = st.sampled_from(
    [
        None,
        None,
        None,
        Reason.INVALID_DOMAIN,
        Reason.NULL_MX,
        Reason.NO_MAIL_SERVER,
        Reason.DNS_ERROR,
        Reason.DNS_TIMEOUT,
        Reason.PRIVATE_MX,
    ]
)
MX_NAMES = st.sampled_from(["", "mx.example.com", "mta5.am0.yahoodns.net", "mx.aol.com"])
PROBE_REASONS = st.sampled_from(
    [
        Reason.ACCEPTED,
        Reason.MAILBOX_NOT_FOUND,
        Reason.MAILBOX_FULL,
        Reason.GREYLISTED,
        Reason.SMTP_TIMEOUT,
        Reason.SMTP_UNREACHABLE,
    ]
)


@settings(max_examples=300, deadline=None)
@example(  # an accepted RCPT on a catch-all domain, next to one on an ordinary domain
    cells=["ann@example.com", "bob@web.de", "bob@web.de", "info@gmail.com"],
    outcomes={
        "example.com": (None, "mx.example.com"),
        "web.de": (None, "mx.example.com"),
        "gmail.com": (None, "mta5.am0.yahoodns.net"),
    },
    catchall={"example.com": True},
    probe_for=[(0, Reason.ACCEPTED, "h1"), (1, Reason.ACCEPTED, ""), (3, Reason.ACCEPTED, "")],
)
@given(
    cells=st.lists(CELL, min_size=1, max_size=40),
    outcomes=st.dictionaries(DOMAINS.map(str.lower), st.tuples(DNS_OUTCOMES, MX_NAMES)),
    catchall=st.dictionaries(DOMAINS.map(str.lower), st.booleans()),
    probe_for=st.lists(st.tuples(st.integers(0, 39), PROBE_REASONS, st.sampled_from(["", "h1"]))),
)
def test_network_merge_equals_per_row(
    cells: list[str],
    outcomes: dict[str, tuple[Reason | None, str]],
    catchall: dict[str, bool],
    probe_for: list[tuple[int, Reason, str]],
) -> None:
    """DNS, provider and RCPT outcomes merged as columns give the per-row verdicts exactly."""
    checker = OfflineChecker(DomainLists(), allow_test_domains=True)
    memo = Memo(checker)
    infos = {
        d: DomainInfo(reason, (MxHost(mx, 10, ("127.0.0.1",)),) if mx else ())
        for d, (reason, mx) in outcomes.items()
    }
    probes = {}
    for i, reason, host in probe_for:
        normalized = memo.get(cells[i % len(cells)]).normalized
        if normalized:
            probes[normalized] = Probe(
                reason,
                "250" if reason is Reason.ACCEPTED else "550",
                f"reply {i}",
                host,
                at=1_700_000_000.0 + 3600 * i,
            )
    slow_tally, fast_tally = Tally(), Tally()
    expected = annotate(
        cells, 1, with_network(memo, infos, probes, catchall), DuplicateIndex(), slow_tally
    )
    frame, messages = offline_frame(
        pl.Series(cells, dtype=pl.String), checker, memo.get, _flags_text
    )
    frame = with_duplicates(frame, DuplicateIndex(), 1)
    known = sorted(infos)
    domains = pl.DataFrame(
        {
            "_domain": known,
            "dns_reason": [infos[d].reason.value if infos[d].reason else None for d in known],
            "dns_mx": [infos[d].mx for d in known],
            "unverifiable": [provider_unverifiable(infos[d].mx) for d in known],
            "accept_all": [catchall.get(d, False) for d in known],
            "provider": [provider_of(infos[d].mx) for d in known],
        },
        schema=DOMAIN_SCHEMA,
    )
    columns = finish(apply_network(frame, domains, _probe_frame(probes)))
    tally_columns(fast_tally, columns, messages)
    assert {name: series.to_list() for name, series in columns.items()} == expected
    assert fast_tally.as_dict() == slow_tally.as_dict()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["", "a@x.io", "b@x.io", "A@x.io", "c@y.io", "d@z.io"]), max_size=9
        ),
        max_size=6,
    ),
    st.integers(1, 7),
    st.integers(1, 4),
)
def test_two_pass_duplicates_match_the_index(
    batches: list[list[str]], buffer: int, parts: int
) -> None:
    """DuplicateCollector (first pass, keys spilled to files) marks what DuplicateIndex marks."""
    with tempfile.TemporaryDirectory() as name:
        _check_two_pass(batches, buffer, parts, Path(name))


def _check_two_pass(batches: list[list[str]], buffer: int, parts: int, tmp: Path) -> None:
    collector = DuplicateCollector(tmp)
    collector.BUFFER, collector.PARTS = buffer, parts  # many small files and flushes
    collector.files = [[] for _ in range(parts)]
    index = DuplicateIndex()
    row = 1
    for batch in batches:
        collector.add(pl.Series(batch, dtype=pl.String), row)
        row += len(batch)
    planned = collector.finish()
    assert not list(tmp.iterdir())  # the key files are gone
    row = 1
    for batch in batches:
        series = pl.Series(batch, dtype=pl.String)
        assert planned.mark_series(series, row).to_list() == index.mark(batch, row)
        row += len(batch)
    assert len(planned) == len(index)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["a.io", "b.io", "c.de", "x.y.org"]), max_size=6), max_size=60
    )
)
def test_domain_counts_summed_in_polars_match_a_counter(batches: list[list[str]]) -> None:
    """Tally.count_domains (one dict update per batch) counts what a Counter counts."""
    from collections import Counter

    tally = Tally()
    for batch in batches:
        tally.count_domains(pl.Series("lc_normalized", batch, dtype=pl.String).value_counts())
    expected = Counter(d for batch in batches for d in batch)
    assert tally.domains == expected
