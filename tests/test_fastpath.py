"""The vectorised offline path gives exactly the columns and tallies of the per-cell path."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from listclean.checks.lists import DomainLists
from listclean.checks.verdict import OfflineChecker
from listclean.fastpath import DuplicateIndex, annotate_offline
from listclean.pipeline import Memo, _flags_text, annotate
from listclean.report import Tally

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
CELL = st.one_of(
    st.tuples(LOCALS, DOMAINS, st.sampled_from(["", " ", "\t", "  "])).map(
        lambda t: f"{t[2]}{t[0]}@{t[1]}{t[2]}"
    ),
    st.text(max_size=20),
    st.sampled_from(
        ["", "plain", "@x.com", "a@", "a@@b.com", " \n ann@example.com", "\u00a0ann@example.com"]
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
