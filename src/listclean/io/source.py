"""An input ready to be read: ``open_source`` validates it and ``Source.batches`` reads it.

1. ``open_source`` runs the pre-pass (``scan``) and reads the file's layout from its head
   (``detect``): delimiter, header, the address column.
2. ``Source.batches`` cuts the UTF-8 file into record-aligned byte ranges (``ranges``) and
   parses each with Polars, every column as text, in file order.

Workbooks (.xlsx) are read by Polars' calamine engine and spooled as a private UTF-8 CSV that
takes the same path from there.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import polars as pl

from listclean.errors import InputError
from listclean.files import spool_dir, spool_name
from listclean.io import detect
from listclean.io.atomic import display_name
from listclean.io.ranges import CHUNK, MAX_RANGE, drop_blank_lines, record_ranges
from listclean.io.scan import scan
from listclean.model import LC_COLUMNS
from listclean.settings import default_home


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
            for piece in record_ranges(self.path, target, skip=skip, start=start):
                done = done + len(piece) if done else start[0] + len(piece)
                if len(self._names) > 1:  # a one-column list keeps line N as row N
                    piece = drop_blank_lines(piece)
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
        try:
            first_chunk = stream.read(CHUNK)
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
        out_encoding = "utf-8"
        if first_chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and (
            utf8 or codec.name.startswith("utf-16")
        ):
            codec, utf8, out_encoding = codecs.lookup("utf-16"), False, "utf-16"
        bom = utf8 and first_chunk.startswith(codecs.BOM_UTF8)
        scanned = scan(
            stream,
            first_chunk,
            name=name,
            codec_name=codec.name,
            utf8=utf8,
            spool_needed=path == "-" or not utf8,
            tmpdir=tmpdir,
        )
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    spool_path = scanned.spool
    head_text = scanned.head_text
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
            sha256=scanned.sha256,
            size=scanned.size,
            lines=scanned.lines + (0 if head_text.endswith("\n") else 1),
            spool=spool_path,
        )
        src.bom, src.out_encoding = bom, out_encoding
        if scanned.quotes % 2:
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
    shape = detect.layout(name, head_text, delimiter)
    width = len(shape.header)
    src = Source(
        path=path,
        name=name,
        sha256=sha256,
        size=size,
        has_header=shape.has_header,
        header=shape.header,
        separator=shape.separator,
        out_separator=shape.separator if shape.separator != detect.NO_DELIMITER else ",",
        email_index=-1,
        keep=shape.keep,
        spool=spool,
        lines=max(lines - (1 if shape.has_header else 0), 0),
        _names=[f"c{i}" for i in range(width)],
    )
    # (open_source removes the spool if this fails)
    src.email_index = find_email_column(src, column)
    if shape.preamble:
        src.preamble = shape.preamble
        src.lines = max(src.lines - 1, 0)
    src.crlf = shape.crlf
    return src


def find_email_column(src: Source, column: str | None) -> int:
    """--column, a telling header name, or else the column whose sampled values most often
    look like addresses."""
    by_name = detect.email_column_by_name(src.name, src.header, src.keep, src.has_header, column)
    if by_name is not None:
        return by_name
    try:
        sample = next(src.batches(1000), None)
    except InputError:
        sample = None
    best, best_hits = -1, 0
    if sample is not None and sample.height:
        for i in src.keep:
            values = sample.get_column(src._names[i]).to_list()
            hits = sum(1 for v in values if detect.looks_like_address(v))
            filled = sum(1 for v in values if v and v.strip())
            if hits > best_hits and hits * 3 >= filled:
                best, best_hits = i, hits
    if best < 0:
        names = detect.listing([src.header[i] for i in src.keep])
        raise InputError(
            f"{src.name}: no email column found (columns: {names}); name it with --column NAME"
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
