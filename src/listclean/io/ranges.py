"""The byte-range reader: a UTF-8 CSV cut into pieces that each end on a record boundary.

**Invariant** (``tests/test_io_ranges.py`` checks exactly this, over generated files):
the pieces ``record_ranges(path, target, skip=k)`` yields, concatenated, are the file's bytes
after its first ``k`` records (a leading UTF-8 byte-order mark and the blank lines before each
skipped record removed), plus one "\n" when the file does not end in one; and every piece
ends just after a newline that has an even number of quote characters before it in the
piece, so no quoted field is ever cut. (A newline ends a record exactly when the quotes before
it are even, which holds for RFC 4180 quoting: an escaped quote is a pair.) A piece is about
``target`` bytes: longer only when one record is longer than that.

Pure bytes in, bytes out: no Polars, no decoding. ``Source.batches`` hands each piece to
Polars on its own, so memory is bounded by a piece, not by the file.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1 << 20


# Byte ranges handed to Polars stay about this size whatever the line length (a range grows
# to hold one longer record): memory is bounded by the longest record, not rows x line size.
MAX_RANGE = 32 << 20


def record_ranges(
    path: Path, target: int, *, skip: int, start: list[int] | None = None
) -> Iterator[bytes]:
    """Consecutive byte ranges of about ``target`` bytes, each ending on a record boundary,
    after the first ``skip`` records (a "sep=" line, the header), whose bytes are appended to
    ``start`` when given (the offset of the first range)."""
    with open(path, "rb") as handle:
        buf = handle.read(CHUNK).removeprefix(codecs.BOM_UTF8)
        eof = False
        for _ in range(skip):
            buf = buf.lstrip(b"\r\n")  # blank lines before the header are no records
            while not buf and not eof:
                more = handle.read(CHUNK)
                eof = not more
                buf = more.lstrip(b"\r\n")
            end = boundary_after(buf, 0)
            while end < 0 and not eof:
                more = handle.read(CHUNK)
                eof = not more
                buf += more
                end = boundary_after(buf, 0)
            buf = b"" if end < 0 else buf[end:]
        if start is not None:
            start.append(handle.tell() - len(buf))
        while True:
            while len(buf) < target and not eof:
                more = handle.read(max(CHUNK, target - len(buf)))
                eof = not more
                buf += more
            if eof:
                if buf.strip(b"\r\n"):
                    # Polars drops an empty last field of a last line with no newline ("a,"),
                    # hiding a row that is one field too long: end every range with one.
                    yield buf if buf.endswith(b"\n") else buf + b"\n"
                return
            cut = last_boundary(buf[:target])
            if cut <= 0:  # one record longer than the target: cut after it
                cut = boundary_after(buf, target)
            if cut <= 0:  # no boundary in what was read yet: read on
                more = handle.read(CHUNK)
                eof = not more
                buf += more
                continue
            yield buf[:cut]
            buf = buf[cut:]


_BLANK_LINE = re.compile(rb"(?:^|(?<=\n))(\r?\n)")


def drop_blank_lines(piece: bytes) -> bytes:
    """Remove blank lines between records: in a CSV with several columns a blank line is no
    record (RFC 4180, Python's csv). A one-column list is read line by line instead, so that
    line N of a plain list is row N of the output, blank lines included.

    Polars would read one as a record of empty fields, which is indistinguishable from a real
    one (``""`` or ``,``) once parsed. A blank line inside a quoted field is content and kept.
    """
    if not (piece.startswith((b"\n", b"\r\n")) or b"\n\n" in piece or b"\n\r\n" in piece):
        return piece
    keep: list[bytes] = []
    start = 0
    for match in _BLANK_LINE.finditer(piece):
        blank_at = match.start(1)
        if piece.count(b'"', 0, blank_at) % 2 == 0:  # outside quotes: between records
            keep.append(piece[start:blank_at])
            start = match.end(1)
    keep.append(piece[start:])
    return b"".join(keep)


def boundary_after(buf: bytes, start: int) -> int:
    """Index just past the first newline at or after start that ends a record, or -1."""
    pos = start
    while True:
        nl = buf.find(b"\n", pos)
        if nl < 0:
            return -1
        if buf.count(b'"', 0, nl) % 2 == 0:
            return nl + 1
        pos = nl + 1


def last_boundary(buf: bytes) -> int:
    """Index just past the last newline in buf that ends a record (quotes before it even)."""
    nl = buf.rfind(b"\n")
    quotes = buf.count(b'"', 0, nl) if nl >= 0 else 0
    while nl >= 0:
        if quotes % 2 == 0:
            return nl + 1
        prev = buf.rfind(b"\n", 0, nl)
        quotes -= buf.count(b'"', prev + 1 if prev >= 0 else 0, nl)
        nl = prev
    return 0
