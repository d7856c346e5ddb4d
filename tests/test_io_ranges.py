"""The range reader's invariant, exactly as stated in listclean/io/ranges.py, over generated files.

Files are built from records whose fields hold commas, quotes (doubled), LF and CRLF inside
quotes, with LF or CRLF record ends, blank lines, an optional UTF-8 BOM and an optional
"sep=," line; the reader is run with tiny chunk sizes so that records straddle its reads.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listclean.io import ranges

FIELD = st.lists(
    st.sampled_from(["a", "b@c.io", ",", " ", '"', "\n", "\r\n", "é", "x" * 9]), max_size=5
)


def _field(parts: list[str]) -> str:
    text = "".join(parts)
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


RECORD = st.tuples(st.lists(FIELD, min_size=1, max_size=4), st.sampled_from(["\n", "\r\n"])).map(
    lambda t: ",".join(_field(f) for f in t[0]) + t[1]
)
BODY = st.lists(st.one_of(RECORD, RECORD, RECORD, st.just("\n")), max_size=25).map("".join)


@settings(max_examples=400, deadline=None)
@given(
    body=BODY,
    last_newline=st.booleans(),
    bom=st.booleans(),
    sep_line=st.booleans(),
    blank_before=st.integers(0, 2),
    target=st.integers(1, 120),
    chunk=st.integers(3, 64),  # the first read holds a whole BOM (CHUNK is 1 MiB)
)
def test_pieces_concatenate_to_the_rest_and_end_on_record_boundaries(
    tmp_path_factory: pytest.TempPathFactory,
    body: str,
    last_newline: bool,
    bom: bool,
    sep_line: bool,
    blank_before: int,
    target: int,
    chunk: int,
) -> None:
    if not last_newline:
        body = body.rstrip("\r\n")
    skipped = ("sep=,\n" if sep_line else "") + "\n" * blank_before + "email,name\n"
    data = (codecs.BOM_UTF8 if bom else b"") + (skipped + body).encode("utf-8")
    path = Path(tmp_path_factory.mktemp("ranges")) / "in.csv"
    path.write_bytes(data)
    rest = body.encode("utf-8")
    old_chunk = ranges.CHUNK
    ranges.CHUNK = chunk  # records straddle the reader's reads
    try:
        start: list[int] = []
        pieces = list(ranges.record_ranges(path, target, skip=2 if sep_line else 1, start=start))
    finally:
        ranges.CHUNK = old_chunk
    joined = b"".join(pieces)
    # 1. the pieces are the rest of the file: plus one "\n" when it has none at its end, or
    #    minus a tail of blank lines (no records)
    if rest.strip(b"\r\n") and not rest.endswith(b"\n"):
        assert joined == rest + b"\n"
    else:
        assert rest.startswith(joined)
        assert not rest[len(joined) :].strip(b"\r\n")
    # 2. the first piece starts where the skipped records end
    assert start == [len(data) - len(rest)]
    for piece in pieces:
        # 3. every piece ends on a record boundary: a newline with even quotes before it
        assert piece.endswith(b"\n")
        assert piece.count(b'"') % 2 == 0
        # 4. about `target` bytes: longer only when one record is longer than that
        assert len(piece) <= target or ranges.boundary_after(piece, 0) == len(piece)
