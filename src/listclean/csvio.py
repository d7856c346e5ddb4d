"""CSV in and out. The only module that imports Polars.

Reading happens in two steps:

1. ``open_source`` streams the input once (path or stdin) in 1 MiB chunks: it hashes the raw
   bytes (SHA-256 for the report), checks the encoding with an incremental decoder (so a bad
   byte is reported with its line number and never the whole file is held in memory), refuses
   binary files, and spools to a private UTF-8 temp file when Polars cannot read the source as
   it is (stdin, a non-UTF-8 encoding, a byte-order mark before a header-less list).
2. ``Source.batches`` streams that UTF-8 file through Polars in batches, every column as text.

Writing goes to a temporary file beside the destination which is renamed into place only when
the whole run succeeded, so a failed run never leaves a half-written output.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import polars as pl

from listclean.errors import InputError, OutputError
from listclean.files import alive, copy_into, is_special, new_file_mode, spool_dir, spool_name
from listclean.model import LC_COLUMNS, LC_COLUMNS_V01
from listclean.settings import default_home

CHUNK = 1 << 20
# Byte ranges handed to Polars stay about this size whatever the line length (a range grows
# to hold one longer record): memory is bounded by the longest record, not rows x line size.
MAX_RANGE = 32 << 20
MAX_HEADER_BYTES = 64 << 20  # the header record must end within this many bytes
csv.field_size_limit(2**31 - 1)  # cells as large as the file: Polars reads them anyway
_SEP_LINE = re.compile(r"sep=(.)[ \t]*\r?\n")  # Excel's delimiter directive, first line
DELIMITERS = (",", ";", "\t", "|")
# Used to read a list that has no delimiter at all (one address per line): a byte that
# does not occur in text, so a comma inside an address line is not split.
NO_DELIMITER = "\x1f"
EMAIL_HEADERS = {"email", "mail", "emailaddress", "emailadres", "courriel", "emailaddr"}
HEAD_BYTES = 256 * 1024
_ADDRESSISH = re.compile(r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$")
_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (an .xlsx workbook?): save it as CSV first",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office file: save it as CSV first",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip file: decompress it first (gunzip -c FILE | listclean verify -)",
}


def display_name(path: str) -> str:
    return "standard input" if path == "-" else path


@dataclass
class Source:
    """A validated, UTF-8 input ready to be read in batches."""

    path: Path  # the UTF-8 file Polars reads (the input itself or a private spool)
    name: str  # what the user called it
    sha256: str
    size: int
    has_header: bool
    header: list[str]  # original column names, as written back (synthesized when no header)
    separator: str  # what Polars splits on
    out_separator: str  # what the output uses (the input's delimiter)
    email_index: int
    keep: list[int]  # indexes of the original columns that are written back (lc_ ones dropped)
    spool: Path | None = None
    preamble: str = ""  # Excel's "sep=;" line, written back before the header
    bom: bool = False  # the input started with a UTF-8 BOM: so does the output
    crlf: bool = False  # the input's lines end in CRLF: so do the output's
    out_encoding: str = "utf-8"  # "utf-16" for Excel's "Unicode Text" input
    lines: int = 0  # physical lines (a quoted newline or a blank line is no record)
    _names: list[str] = field(default_factory=list)
    _read: tuple[int, int, bool] = (0, 0, False)  # rows and bytes read so far, and whether all

    def rows_estimate(self) -> int:
        """The number of rows, for a progress bar: exact once batches() has read the whole
        file, else the rows read so far scaled by the bytes left (physical lines before any
        batch was read). Lines are not rows: a quoted cell may span lines, and blank lines
        between records of a CSV are skipped (#20 item 8)."""
        rows, done, finished = self._read
        if finished or not done:
            return rows if finished else self.lines
        return max(rows, round(rows * self.size / done))

    @property
    def email_column(self) -> str:
        return self.header[self.email_index]

    @property
    def out_header(self) -> list[str]:
        return [self.header[i] for i in self.keep] + list(LC_COLUMNS)

    def batches(self, rows: int) -> Iterator[pl.DataFrame]:
        """Batches of about ``rows`` rows, every column as text, in file order.

        The file is cut into byte ranges that end on record boundaries and each range is parsed
        by Polars on its own. (``scan_csv().collect_batches()`` reads ahead of a slow consumer
        without a bound that suits us: its peak memory grew with the file, 60 MB at 200k rows
        to 200 MB at 2M.) A newline ends a record when the number of quote characters before
        it is even, which holds for RFC 4180 quoting (an escaped quote is a pair).
        """
        target = max(4096, rows * max(1, self.size // max(1, self.lines + 1)))
        target = min(target, MAX_RANGE)
        skip = int(self.has_header) + int(bool(self.preamble))
        dummy = self.separator.encode() * (len(self._names) - 1) + b"\n"
        start: list[int] = []
        rows = done = 0
        try:
            for piece in _record_ranges(self.path, target, skip=skip, start=start):
                done = done + len(piece) if done else start[0] + len(piece)
                if len(self._names) > 1:  # a one-column list keeps line N as row N
                    piece = _drop_blank_lines(piece)
                # A dummy first record of full width: Polars takes a range's width from its
                # first record (a short first record would be refused where the same record
                # later in a range is padded: the outcome would depend on batch boundaries),
                # and it strips a BOM at the start (a cell beginning with U+FEFF).
                piece = dummy + piece
                frame = pl.read_csv(
                    piece,
                    has_header=False,
                    separator=self.separator,
                    quote_char='"',
                    infer_schema=False,
                    empty_string_is_null=False,
                    new_columns=self._names,
                    truncate_ragged_lines=False,
                    raise_if_empty=False,
                    schema_overrides=dict.fromkeys(self._names, pl.String),
                )
                if frame.width != len(self._names):
                    raise pl.exceptions.ComputeError("found more fields than defined in 'Schema'")
                frame = frame.slice(1)
                rows += frame.height
                self._read = (rows, done, False)
                if frame.height:
                    yield frame.with_columns(pl.all().fill_null(""))
            self._read = (rows, done, True)
        except pl.exceptions.PolarsError as exc:
            raise diagnose(self, str(exc)) from None

    def emails(self, batch: pl.DataFrame) -> list[str]:
        values: list[str] = batch.get_column(self._names[self.email_index]).to_list()
        return values

    def email_series(self, batch: pl.DataFrame) -> pl.Series:
        return batch.get_column(self._names[self.email_index])

    def annotated(
        self, batch: pl.DataFrame, columns: dict[str, list[str]] | dict[str, pl.Series]
    ) -> pl.DataFrame:
        """The original columns that are written back, then the lc_ columns."""
        series = [
            values if isinstance(values, pl.Series) else pl.Series(name, values, dtype=pl.String)
            for name, values in columns.items()
        ]
        return self.kept(batch).with_columns(series)

    def kept(self, batch: pl.DataFrame) -> pl.DataFrame:
        return batch.select([self._names[i] for i in self.keep])

    def close(self) -> None:
        if self.spool is not None:
            with contextlib.suppress(OSError):
                self.spool.unlink()
            self.spool = None


def open_source(
    path: str,
    *,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    column: str | None = None,
    tmpdir: Path | None = None,
    sheet: str | None = None,
) -> Source:
    """Validate and prepare an input (a path or "-" for stdin)."""
    name = display_name(path)
    if path != "-" and is_workbook(path):
        return _open_workbook(path, sheet=sheet, column=column, tmpdir=tmpdir)
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise InputError(
            f"unknown encoding {encoding!r}; try --encoding utf-8, latin-1 or cp1252"
        ) from None
    if delimiter is not None:
        delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter.lower(), delimiter)
        if len(delimiter.encode("utf-8")) != 1 or delimiter in '"\r\n':
            # Polars splits on one byte: "é" or "§" would fail deep inside the parser
            raise InputError(
                f"--delimiter must be one ASCII character such as , ; | or tab, not {delimiter!r}"
            )
    utf8 = codec.name in ("utf-8", "utf-8-sig")
    stream: BinaryIO
    try:
        stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise InputError(f"{name}: no such file; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{name} is a directory; give the path of a CSV file") from None
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None

    # The first bytes say how the file was saved: Excel's "Unicode Text" is UTF-16 with a BOM
    # (read as such whatever --encoding says, since UTF-8 cannot start with FF FE / FE FF);
    # a UTF-8 BOM ("CSV UTF-8") is kept in the output, so Excel reads it back right.
    try:
        pending: bytes | None = stream.read(CHUNK)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    assert pending is not None
    out_encoding = "utf-8"
    if pending.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and (
        utf8 or codec.name.startswith("utf-16")
    ):
        codec, utf8, out_encoding = codecs.lookup("utf-16"), False, "utf-16"
    bom = utf8 and pending.startswith(codecs.BOM_UTF8)
    spool_needed = path == "-" or not utf8
    spool_file: BinaryIO | None = None
    spool_path: Path | None = None
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8-sig" if utf8 else codec.name)(errors="strict")
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
                    f"{name}, line {at}: byte 0x{bad} is not valid {codec.name}; "
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
                _bare_cr(name, lines)
            cr_parity = None
            if "\r" in text:
                for match in _BARE_CR.finditer(text):
                    parity = quotes + text.count('"', 0, match.start())
                    if match.start() == len(text) - 1 and not final:
                        cr_parity = parity  # a CRLF cut in two, or not: the next chunk tells
                    elif parity % 2 == 0:
                        _bare_cr(name, lines + text.count("\n", 0, match.start()))
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
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if spool_file is not None:
        spool_file.close()

    head_text = "".join(head)
    if not head_text.strip():
        if spool_path is not None:
            spool_path.unlink()
        raise InputError(f"{name} is empty; give a CSV with a header row, or one address per line")
    try:
        src = _describe(
            name=name,
            path=spool_path or Path(path),
            head_text=head_text,
            delimiter=delimiter,
            column=column,
            sha256=digest.hexdigest(),
            size=size,
            lines=lines + (0 if head_text.endswith("\n") else 1),
            spool=spool_path,
        )
        src.bom, src.out_encoding = bom, out_encoding
        if quotes % 2:
            _check_quotes(src)
    except BaseException:
        if spool_path is not None:
            with contextlib.suppress(OSError):
                spool_path.unlink()
        raise
    return src


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def is_workbook(path: str) -> bool:
    return Path(path).suffix.lower() in WORKBOOK_SUFFIXES


def _open_workbook(
    path: str, *, sheet: str | None, column: str | None, tmpdir: Path | None
) -> Source:
    """An Excel workbook: one sheet (the first, or ``sheet``) read by Polars' calamine engine
    (fastexcel), every cell as text, spooled as a private UTF-8 CSV that the usual reader
    takes from there. The first row goes through the same header detection as a CSV's."""
    name = display_name(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file; check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        frame = pl.read_excel(
            io.BytesIO(data),
            engine="calamine",
            sheet_name=sheet,
            sheet_id=None if sheet else 1,
            has_header=False,
            infer_schema_length=0,
            raise_if_empty=False,
        )
    except Exception as exc:  # noqa: BLE001 - fastexcel raises its own types; one message
        first = (str(exc).strip().splitlines() or ["unreadable"])[0][:200]
        where = f" has no sheet {sheet!r} or" if sheet else ""
        raise InputError(
            f"{name}{where} cannot be read as an Excel workbook ({first}); "
            "save it again from Excel or LibreOffice, or export it as CSV"
        ) from None
    if frame.height == 0:
        raise InputError(f"{name}: the sheet is empty; give a sheet with a header row")
    frame = frame.select(pl.all().cast(pl.String).fill_null(""))
    tmpdir = tmpdir if tmpdir is not None else spool_dir(default_home())
    fd, tmp = tempfile.mkstemp(prefix=spool_name("in"), suffix=".csv", dir=tmpdir)
    os.close(fd)
    try:
        frame.write_csv(tmp, include_header=False, line_terminator="\n")
        src = open_source(tmp, delimiter=",", column=column, tmpdir=tmpdir)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    src.name, src.spool = name, Path(tmp)
    src.sha256, src.size = hashlib.sha256(data).hexdigest(), len(data)
    src.bom = src.crlf = False
    return src


def _record_ranges(
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
            end = _boundary_after(buf, 0)
            while end < 0 and not eof:
                more = handle.read(CHUNK)
                eof = not more
                buf += more
                end = _boundary_after(buf, 0)
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
            cut = _last_boundary(buf[:target])
            if cut <= 0:  # one record longer than the target: cut after it
                cut = _boundary_after(buf, target)
            if cut <= 0:  # no boundary in what was read yet: read on
                more = handle.read(CHUNK)
                eof = not more
                buf += more
                continue
            yield buf[:cut]
            buf = buf[cut:]


_BARE_CR = re.compile(r"\r(?!\n)")


def _bare_cr(name: str, newlines_before: int) -> NoReturn:
    raise InputError(
        f"{name}, line {newlines_before + 1}: a line ends in a bare carriage return (classic Mac "
        'line endings); save the file with LF or CRLF line endings (e.g. as "CSV UTF-8")'
    )


_BLANK_LINE = re.compile(rb"(?:^|(?<=\n))(\r?\n)")


def _drop_blank_lines(piece: bytes) -> bytes:
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


def _boundary_after(buf: bytes, start: int) -> int:
    """Index just past the first newline at or after start that ends a record, or -1."""
    pos = start
    while True:
        nl = buf.find(b"\n", pos)
        if nl < 0:
            return -1
        if buf.count(b'"', 0, nl) % 2 == 0:
            return nl + 1
        pos = nl + 1


def _last_boundary(buf: bytes) -> int:
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


def _sniff_delimiter(line: str) -> str | None:
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: the earlier (comma) wins
    return best if counts[best] else None


def _first_record(head_text: str, sep: str) -> list[str]:
    reader = csv.reader(io.StringIO(head_text, newline=""), delimiter=sep, strict=False)
    try:
        for row in reader:
            if row:
                return row
    except csv.Error:
        pass
    return []


def _data_without_address(head_text: str, sep: str, first: list[str]) -> bool:
    """A first record with no address is still data, not a header, when it is blank where
    the next record has its address (a header-less list whose first address is missing), or
    blank altogether. A header names every column that holds addresses."""
    if not any(cell.strip() for cell in first):
        return True
    reader = csv.reader(io.StringIO(head_text, newline=""), delimiter=sep, strict=False)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) == 2:
                break
    except csv.Error:
        return False
    if len(rows) < 2:
        return False
    second = rows[1]
    return any(
        _addressish(cell) and i < len(first) and not first[i].strip()
        for i, cell in enumerate(second)
    )


def _addressish(cell: str) -> bool:
    text = cell.strip()
    return "@" in text and not any(ch.isspace() or ch in "()[]<>:" for ch in text)


def _norm_header(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name.strip().lower())


def _describe(
    *,
    name: str,
    path: Path,
    head_text: str,
    delimiter: str | None,
    column: str | None,
    sha256: str,
    size: int,
    lines: int,
    spool: Path | None,
) -> Source:
    head_text = head_text.lstrip("\ufeff")
    preamble = ""
    directive = _SEP_LINE.match(head_text.lstrip("\r\n"))
    if directive:  # Excel's "sep=;": a directive, not a record (written back as it was)
        preamble = directive.group(0).rstrip("\r\n")
        head_text = head_text.lstrip("\r\n")[directive.end() :]
        if directive.group(1) in '\r\n"':
            raise InputError(f"{name}: the first line {preamble!r} names no usable delimiter")
        delimiter = delimiter or directive.group(1)
    first_line = head_text.lstrip("\r\n").split("\n", 1)[0]
    sep = delimiter or _sniff_delimiter(first_line) or NO_DELIMITER
    record = _first_record(head_text, sep)
    # A header is a first record with no address in it. A header cell may contain an "@" in
    # a description ("Email (name@company.com)"); an address cell has no spaces around it.
    has_header = not any(_addressish(cell) for cell in record)
    if has_header and _data_without_address(head_text, sep, record):
        has_header = False
    width = len(record) or 1
    if has_header:
        header = record
    elif width == 1:
        header = ["email"]
    else:
        header = [f"column_{i + 1}" for i in range(width)]
    # Re-verifying a listclean output replaces listclean's own columns, and only when the file
    # is recognisably one (its header ends with every lc_ column, in order). Any other column
    # is the user's, whatever its name (an input "lc_email" is kept value for value).
    ours = 0
    for columns in (LC_COLUMNS, LC_COLUMNS_V01):  # this version's, or 0.1's nine
        if has_header and tuple(header[-len(columns) :]) == columns:
            ours = len(columns)
            break
    keep = [i for i in range(width) if not (ours and i >= width - ours)]
    if not keep:
        raise InputError(f"{name}: every column is an lc_ column; give the original list")
    # (open_source removes the spool if this fails)
    src = _build_source(
        name, path, sha256, size, has_header, header, sep, keep, spool, lines, width, column
    )
    if preamble:
        src.preamble = preamble
        src.lines = max(src.lines - 1, 0)
    # the output keeps the input's line-ending style (Excel writes CRLF)
    first_newline = head_text.find("\n")
    src.crlf = first_newline > 0 and head_text[first_newline - 1] == "\r"
    return src


def _build_source(
    name: str,
    path: Path,
    sha256: str,
    size: int,
    has_header: bool,
    header: list[str],
    sep: str,
    keep: list[int],
    spool: Path | None,
    lines: int,
    width: int,
    column: str | None,
) -> Source:
    src = Source(
        path=path,
        name=name,
        sha256=sha256,
        size=size,
        has_header=has_header,
        header=header,
        separator=sep,
        out_separator=sep if sep != NO_DELIMITER else ",",
        email_index=-1,
        keep=keep,
        spool=spool,
        lines=max(lines - (1 if has_header else 0), 0),
        _names=[f"c{i}" for i in range(width)],
    )
    src.email_index = _find_email_column(src, column)
    return src


def _find_email_column(src: Source, column: str | None) -> int:
    candidates = src.keep
    names = [src.header[i] for i in candidates]
    listing = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    if column is not None:
        for i in candidates:
            if src.header[i] == column:
                return i
        for i in candidates:
            if src.header[i].strip().lower() == column.strip().lower():
                return i
        raise InputError(f"{src.name} has no column named {column!r}; its columns are: {listing}")
    if len(candidates) == 1:
        return candidates[0]
    if src.has_header:
        for i in candidates:
            if _norm_header(src.header[i]) in EMAIL_HEADERS:
                return i
        for i in candidates:
            norm = _norm_header(src.header[i])
            if "email" in norm or "mail" == norm[-4:]:
                return i
    # By content: the column whose sampled values most often look like addresses.
    try:
        sample = next(src.batches(1000), None)
    except InputError:
        sample = None
    best, best_hits = -1, 0
    if sample is not None and sample.height:
        for i in candidates:
            values = sample.get_column(src._names[i]).to_list()
            hits = sum(1 for v in values if v and _ADDRESSISH.match(v))
            filled = sum(1 for v in values if v and v.strip())
            if hits > best_hits and hits * 3 >= filled:
                best, best_hits = i, hits
    if best < 0:
        raise InputError(
            f"{src.name}: no email column found (columns: {listing}); name it with --column NAME"
        )
    return best


def _check_quotes(src: Source) -> None:
    """An odd number of quote characters: find an unclosed quote before Polars guesses."""
    problem = _stdlib_problem(src)
    if problem:
        raise InputError(problem)


def diagnose(src: Source, polars_message: str) -> InputError:
    """Turn a Polars parse failure into a one-line message with a line number and a fix."""
    problem = _stdlib_problem(src)
    if problem:
        return InputError(problem)
    first = polars_message.strip().splitlines()[0] if polars_message.strip() else "parse error"
    return InputError(
        f"{src.name}: malformed CSV ({first}); check its quoting, or pass --delimiter"
    )


class _LineTracker:
    """Feeds csv.reader line by line and remembers the raw text of the current record."""

    def __init__(self, handle: io.TextIOBase) -> None:
        self.handle = handle
        self.line = 0
        self.raw: list[str] = []

    def __iter__(self) -> _LineTracker:
        return self

    def __next__(self) -> str:
        text = self.handle.readline()
        if not text:
            raise StopIteration
        self.line += 1
        self.raw.append(text)
        return text


def _stdlib_problem(src: Source) -> str | None:
    width = len(src.header)
    sep = src.separator
    with open(src.path, encoding="utf-8-sig", newline="") as handle:
        if src.preamble:
            handle.readline()
        tracker = _LineTracker(handle)
        reader = csv.reader(tracker, delimiter=sep, strict=True)
        first_data = not src.has_header
        while True:
            tracker.raw = []
            start = tracker.line + 1
            try:
                row = next(reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                if "unexpected end of data" in str(exc) or "EOF" in str(exc):
                    return (
                        f"{src.name}, line {start}: a quoted field is never closed; "
                        'add the missing closing quote (")'
                    )
                return (
                    f"{src.name}, line {tracker.line}: malformed quoting ({exc}); a quote inside "
                    'a quoted field must be doubled ("")'
                )
            raw = "".join(tracker.raw)
            for cell in row:
                if '"' in cell and f'"{cell.replace(chr(34), chr(34) * 2)}"' not in raw:
                    return (
                        f"{src.name}, line {start}: a quote character inside an unquoted field; "
                        'quote the whole field and double the inner quote ("5"" screen")'
                    )
            if not first_data:
                first_data = True
                continue
            if len(row) > width:
                what = "the header" if src.has_header else "the first line"
                return (
                    f"{src.name}, line {start}: {len(row)} fields but {what} has {width}; "
                    "quote fields that contain the delimiter, or pass --delimiter"
                )


class Writer:
    """Atomic output: temp file beside the destination, renamed into place on commit.

    fmt "csv" writes the header and rows with the input's delimiter; "jsonl" writes one JSON
    object per row (original fields and lc_ columns, all as strings; a repeated header name
    gets a "_2", "_3" ... suffix so no field is lost).
    """

    def __init__(
        self,
        dest: str,
        separator: str,
        fmt: str = "csv",
        spool: Path | None = None,
        *,
        bom: bool = False,
        crlf: bool = False,
        encoding: str = "utf-8",
    ) -> None:
        self.dest = dest
        self.separator = separator
        self.fmt = fmt
        # Excel round trips: the input's BOM, line endings and UTF-16 are kept (CSV only)
        self.bom = bom and fmt == "csv"
        self.newline = "\r\n" if crlf and fmt == "csv" else "\n"
        self.utf16 = encoding == "utf-16" and fmt == "csv"
        self.started = False
        self.xlsx = fmt == "xlsx"  # rows go to a CSV spool, made a workbook in prepare()
        self.names: list[str] = []
        self.digest = hashlib.sha256()
        self.rows = 0
        # stdout, a device, a FIFO, /dev/...: written directly on publish, never renamed over
        special = dest == "-" or is_special(dest)
        self.target_dir = None if special else (Path(dest).parent or Path("."))
        directory = Path(".") if special else (Path(dest).parent or Path("."))
        if not special and not directory.is_dir():
            raise OutputError(f"output directory {directory} does not exist; create it first")
        if not special and Path(dest).is_dir():
            raise OutputError(f"{dest} is a directory; give a file name for the output")
        if not special:
            _remove_orphans(directory)
        # a workbook is built from a CSV spool at the end; the rows spool in LISTCLEAN_HOME
        self.direct = special or self.xlsx
        if self.direct and spool is None:
            spool = spool_dir(default_home())
        try:
            fd, tmp = tempfile.mkstemp(
                prefix=spool_name("out") if self.direct else f".listclean-{os.getpid()}-",
                suffix=".tmp",
                dir=spool if self.direct else directory,
            )
        except OSError as exc:
            raise OutputError(f"cannot write to {directory}: {exc.strerror or exc}") from None
        self.tmp = Path(tmp)
        self.handle: BinaryIO = os.fdopen(fd, "wb")
        self.prepared = False

    def _write(self, data: bytes) -> None:
        if self.utf16:
            data = data.decode("utf-8").encode("utf-16-le")
        if not self.started:
            self.started = True
            if self.utf16:
                data = codecs.BOM_UTF16_LE + data
            elif self.bom:
                data = codecs.BOM_UTF8 + data
        try:
            self.handle.write(data)
        except OSError as exc:
            raise _write_error(self.dest, exc) from None
        self.digest.update(data)

    def header(self, names: Sequence[str], preamble: str = "") -> None:
        if self.fmt == "jsonl":
            seen: dict[str, int] = {}
            self.names = []
            for name in names:
                seen[name] = seen.get(name, 0) + 1
                self.names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
            return
        buf = io.StringIO()
        if preamble:
            buf.write(preamble + self.newline)  # Excel's "sep=;" line, as the input had it
        csv.writer(buf, delimiter=self.separator, lineterminator=self.newline).writerow(names)
        self._write(buf.getvalue().encode("utf-8"))

    def batch(self, frame: pl.DataFrame) -> None:
        if self.fmt == "jsonl":
            buf = io.BytesIO()
            frame.rename(dict(zip(frame.columns, self.names, strict=True))).write_ndjson(buf)
            self._write(buf.getvalue())
            self.rows += frame.height
            return
        buf = io.BytesIO()
        # Empty cells are written as nothing at all (not ""), like the input had them.
        frame = frame.select(pl.all().replace("", None))
        frame.write_csv(
            buf, include_header=False, separator=self.separator, line_terminator=self.newline
        )
        self._write(buf.getvalue())
        self.rows += frame.height

    def prepare(self) -> str:
        """Flush everything to the temp file; returns the output's SHA-256. Nothing is visible
        at the destination until publish()."""
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
        except OSError as exc:
            self.abort()
            raise _write_error(self.dest, exc) from None
        if self.xlsx:
            self._to_workbook()
        self.prepared = True
        return self.digest.hexdigest()

    def _to_workbook(self) -> None:
        """The CSV spool as an .xlsx beside the destination (every cell as text, values as
        read), with xlsxwriter through Polars; the digest becomes the workbook's."""
        directory = self.target_dir
        try:
            frame = pl.read_csv(
                self.tmp,
                has_header=False,
                infer_schema=False,
                quote_char='"',
                raise_if_empty=False,
            )
            fd, book = tempfile.mkstemp(
                prefix=f".listclean-{os.getpid()}-" if directory else spool_name("out"),
                suffix=".tmp",
                dir=directory if directory else self.tmp.parent,
            )
            os.close(fd)
            frame.write_excel(book, include_header=False, worksheet="listclean", autofit=False)
        except OSError as exc:
            self.abort()
            raise _write_error(self.dest, exc) from None
        self.tmp.unlink()
        self.tmp = Path(book)
        self.direct = directory is None
        self.digest = hashlib.sha256(self.tmp.read_bytes())

    def publish(self) -> None:
        """Rename into place (or copy to stdout / the device)."""
        try:
            if self.direct:
                copy_into(self.tmp, self.dest)
                self.tmp.unlink()
            else:
                os.chmod(self.tmp, new_file_mode())
                os.replace(self.tmp, self.dest)
        except BrokenPipeError:
            self.abort()
            raise
        except OSError as exc:
            self.abort()
            raise _write_error(self.dest, exc) from None

    def commit(self) -> str:
        """prepare() and publish() at once. Returns the output's SHA-256."""
        digest = self.prepare()
        self.publish()
        return digest

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()


class SplitWriter:
    """--split DIR: deliverable.csv, risky.csv, undeliverable.csv, unknown.csv (all atomic)."""

    STATUSES = ("deliverable", "risky", "undeliverable", "unknown")

    def __init__(
        self, directory: Path, separator: str, spool: Path | None = None, **style: Any
    ) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create {directory}: {exc.strerror or exc}") from None
        self.writers: dict[str, Writer] = {}
        try:
            for status in self.STATUSES:
                self.writers[status] = Writer(
                    str(directory / f"{status}.csv"), separator, spool=spool, **style
                )
        except BaseException:
            self.abort()
            raise

    def header(self, names: Sequence[str], preamble: str = "") -> None:
        for writer in self.writers.values():
            writer.header(names, preamble)

    def batch(self, frame: pl.DataFrame) -> None:
        for status, writer in self.writers.items():
            part = frame.filter(pl.col("lc_status") == status)
            if part.height:
                writer.batch(part)

    def prepare(self) -> dict[str, int]:
        for writer in self.writers.values():
            writer.prepare()
        return {status: writer.rows for status, writer in self.writers.items()}

    def publish(self) -> None:
        for writer in self.writers.values():
            writer.publish()

    def commit(self) -> dict[str, int]:
        rows = self.prepare()
        self.publish()
        return rows

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()


def _remove_orphans(directory: Path) -> None:
    """Delete temp outputs left by a listclean that was killed (SIGKILL, power loss).

    Their names carry the writer's PID; a file whose process is gone is an orphan. A partial
    output must not linger: it holds the list's addresses.
    """
    for path in directory.glob(".listclean-*-*.tmp"):
        try:
            pid = int(path.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if not alive(pid):
            with contextlib.suppress(OSError):
                path.unlink()


def _write_error(dest: str, exc: OSError) -> OutputError:
    import errno

    where = display_name(dest)
    if exc.errno == errno.ENOSPC:
        return OutputError(
            f"disk full while writing {where}; free some space and run the same command "
            "again with --resume"
        )
    return OutputError(f"cannot write {where}: {exc.strerror or exc}")
