"""The pre-pass: the input streamed once, in 1 MiB chunks, before anything is parsed.

It hashes the raw bytes (SHA-256, for the report), checks the encoding with an incremental
decoder (a bad byte is reported with its line number, and the whole file is never held in
memory), refuses binary files and classic-Mac line endings, counts lines and quote characters,
keeps the head (at least HEAD_BYTES and the whole first record) for dialect detection, and
spools the text to a private UTF-8 temp file when Polars cannot read the source as it is
(stdin, or an encoding other than UTF-8).
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NoReturn

from listclean.errors import InputError
from listclean.files import spool_dir, spool_name
from listclean.io.ranges import CHUNK
from listclean.settings import default_home

MAX_HEADER_BYTES = 64 << 20  # the header record must end within this many bytes
HEAD_BYTES = 256 * 1024
_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (an .xlsx workbook?): save it as CSV first",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office file: save it as CSV first",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip file: decompress it first (gunzip -c FILE | listclean verify -)",
}
_BARE_CR = re.compile(r"\r(?!\n)")


@dataclass
class Scan:
    """What the pre-pass learned."""

    sha256: str
    size: int  # bytes
    lines: int  # newlines seen
    quotes: int  # quote characters seen (odd: an unclosed quote somewhere)
    head_text: str  # the decoded head
    spool: Path | None  # the UTF-8 copy, when one was needed (the caller removes it)


def bare_cr(name: str, newlines_before: int) -> NoReturn:
    raise InputError(
        f"{name}, line {newlines_before + 1}: a line ends in a bare carriage return (classic Mac "
        'line endings); save the file with LF or CRLF line endings (e.g. as "CSV UTF-8")'
    )


def scan(
    stream: BinaryIO,
    first_chunk: bytes,
    *,
    name: str,
    codec_name: str,
    utf8: bool,
    spool_needed: bool,
    tmpdir: Path | None,
) -> Scan:
    """Read ``stream`` to its end (``first_chunk`` already read from it)."""
    pending: bytes | None = first_chunk
    spool_file: BinaryIO | None = None
    spool_path: Path | None = None
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8-sig" if utf8 else codec_name)(errors="strict")
    size = lines = quotes = 0
    cr_parity: int | None = None
    head: list[str] = []
    head_len = 0
    head_done = False
    first = True
    try:
        while True:
            try:
                chunk, pending = (
                    (pending, None) if pending is not None else (stream.read(CHUNK), None)
                )
            except OSError as exc:
                raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
            final = not chunk
            if first and chunk:
                for magic, what in _MAGIC.items():
                    if chunk.startswith(magic):
                        raise InputError(f"{name} is {what}; listclean reads CSV or text lists")
            try:
                text = decoder.decode(chunk, final)
            except UnicodeDecodeError as exc:
                at = lines + 1 + chunk[: max(exc.start, 0)].count(b"\n")
                bad = chunk[exc.start : exc.start + 1].hex() if chunk else "end of file"
                raise InputError(
                    f"{name}, line {at}: byte 0x{bad} is not valid {codec_name}; "
                    "pass the file's encoding, e.g. --encoding cp1252 (Windows/Excel) "
                    "or --encoding latin-1"
                ) from None
            if "\x00" in text:
                raise InputError(
                    f"{name} looks like a binary file (it contains NUL bytes); "
                    "listclean reads CSV or text lists (for UTF-16 pass --encoding utf-16)"
                )
            first = False
            size += len(chunk)
            digest.update(chunk)
            if cr_parity is not None and not text.startswith("\n") and cr_parity % 2 == 0:
                bare_cr(name, lines)
            cr_parity = None
            if "\r" in text:
                for match in _BARE_CR.finditer(text):
                    parity = quotes + text.count('"', 0, match.start())
                    if match.start() == len(text) - 1 and not final:
                        cr_parity = parity  # a CRLF cut in two, or not: the next chunk tells
                    elif parity % 2 == 0:
                        bare_cr(name, lines + text.count("\n", 0, match.start()))
            lines += text.count("\n")
            quotes += text.count('"')
            if head_len < HEAD_BYTES or not head_done:
                head.append(text)
                head_len += len(text)
                # the head must hold the whole first record(s), however long the header line
                head_done = head_len >= HEAD_BYTES and "\n" in text
                if not head_done and head_len > MAX_HEADER_BYTES:
                    raise InputError(
                        f"{name}: the first line is longer than {MAX_HEADER_BYTES >> 20} MiB; "
                        "is this a CSV file?"
                    )
            if spool_needed and text:
                if spool_file is None:
                    if tmpdir is None:
                        tmpdir = spool_dir(default_home())
                    fd, tmp = tempfile.mkstemp(prefix=spool_name("in"), suffix=".csv", dir=tmpdir)
                    spool_path = Path(tmp)
                    spool_file = os.fdopen(fd, "wb")
                spool_file.write(text.encode("utf-8"))
            if final:
                break
    except BaseException:
        if spool_file is not None:
            spool_file.close()
        if spool_path is not None:
            with contextlib.suppress(OSError):
                spool_path.unlink()
        raise
    if spool_file is not None:
        spool_file.close()
    return Scan(digest.hexdigest(), size, lines, quotes, "".join(head), spool_path)
