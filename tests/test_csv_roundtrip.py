"""Property tests: every original value survives, one output row per input row, in order."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listclean.model import LC_COLUMNS
from listclean.pipeline import verify
from listclean.settings import Settings

from .conftest import read_csv

CELL = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
    max_size=30,
) | st.sampled_from(["", "007", "00", " ", '"', ",", ";", "\n", "a,b", 'say "hi"', "null", "NA"])
EMAIL = st.sampled_from(
    [
        "ann@example.com",
        "Bob@Example.org",
        " ann@example.com ",
        "bad@",
        "",
        "info@acme.io",
        "x@mailinator.com",
        "ann@gmial.com",
        "jürgen@müller.de",
    ]
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]], str]:
    ncols = draw(st.integers(1, 6))
    email_at = draw(st.integers(0, ncols - 1))
    header = [f"col{i}" for i in range(ncols)]
    header[email_at] = "email"
    nrows = draw(st.integers(1, 25))
    rows = []
    for _ in range(nrows):
        row = [draw(CELL) for _ in range(ncols)]
        row[email_at] = draw(EMAIL)
        rows.append(row)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    return header, rows, delimiter


@settings(
    max_examples=int(__import__("os").environ.get("LC_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(tables(), st.booleans())
def test_values_survive(
    tmp_path: Path, table: tuple[list[str], list[list[str]], str], crlf: bool
) -> None:
    header, rows, delimiter = table
    buf = io.StringIO()
    csv.writer(
        buf, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n", quoting=csv.QUOTE_MINIMAL
    ).writerows([header, *rows])
    src = tmp_path / "in.csv"
    src.write_text(buf.getvalue(), encoding="utf-8", newline="")
    out = tmp_path / "out.csv"
    verify(
        str(src),
        str(out),
        Settings(offline=True, delimiter=delimiter if len(header) == 1 else None),
        report_path=tmp_path / "r.json",
    )
    got = read_csv(out, delimiter)  # the output keeps the input delimiter
    assert got[0] == header + list(LC_COLUMNS)
    assert len(got) == len(rows) + 1
    for want, have in zip(rows, got[1:], strict=True):
        assert have[: len(header)] == want
        assert have[len(header)] in {"deliverable", "undeliverable", "risky", "unknown"}
