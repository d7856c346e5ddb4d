"""The output writers: the annotated list as CSV, JSON Lines or an Excel workbook, and
--split's four files. Each output is an ``AtomicFile``: nothing is visible until publish()."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from listclean.errors import OutputError
from listclean.io.atomic import AtomicFile, write_error


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
        # a workbook is built from a CSV spool at the end; the rows spool in LISTCLEAN_HOME
        self.file = AtomicFile(dest, spool=spool, kind="out", private_spool=self.xlsx)
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
        self.file.write(data)
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
        self.file.finish()
        if self.xlsx:
            self._to_workbook()
        self.prepared = True
        return self.digest.hexdigest()

    def _to_workbook(self) -> None:
        """The CSV spool as an .xlsx beside the destination (every cell as text, values as
        read), with xlsxwriter through Polars; the digest becomes the workbook's."""
        try:
            frame = pl.read_csv(
                self.file.tmp,
                has_header=False,
                infer_schema=False,
                quote_char='"',
                raise_if_empty=False,
            )
            book = self.file.sibling()
            frame.write_excel(book, include_header=False, worksheet="listclean", autofit=False)
        except OSError as exc:
            self.abort()
            raise write_error(self.dest, exc) from None
        self.file.swap(book)
        self.digest = hashlib.sha256(book.read_bytes())

    def publish(self) -> None:
        """Rename into place (or copy to stdout / the device)."""
        self.file.publish()

    def abort(self) -> None:
        self.file.abort()


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

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()
