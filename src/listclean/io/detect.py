"""Dialect and header detection: pure functions of the file's first bytes (no I/O, no Polars).

What the delimiter is (an Excel "sep=" line, the option, or the most frequent of , ; tab |
outside quotes in the first line), whether the first record is a header (it is, unless it
holds an address or is data with its address missing), the column names, the line endings,
and which column holds the addresses by name. Choosing a column by its content needs a
sample of rows: ``source.find_email_column`` does that.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from listclean.errors import InputError
from listclean.model import LC_COLUMNS, LC_COLUMNS_V01

# The stdlib csv module reads heads here and re-diagnoses Polars' errors in io.source: cells
# may be as large as the file (Polars reads them anyway), far above csv's 128 KiB default.
csv.field_size_limit(2**31 - 1)

_SEP_LINE = re.compile(r"sep=(.)[ \t]*\r?\n")  # Excel's delimiter directive, first line


DELIMITERS = (",", ";", "\t", "|")


# Used to read a list that has no delimiter at all (one address per line): a byte that
# does not occur in text, so a comma inside an address line is not split.
NO_DELIMITER = "\x1f"


EMAIL_HEADERS = {"email", "mail", "emailaddress", "emailadres", "courriel", "emailaddr"}


_ADDRESSISH = re.compile(r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$")


def sniff_delimiter(line: str) -> str | None:
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: the earlier (comma) wins
    return best if counts[best] else None


def first_record(head_text: str, sep: str) -> list[str]:
    reader = csv.reader(io.StringIO(head_text, newline=""), delimiter=sep, strict=False)
    try:
        for row in reader:
            if row:
                return row
    except csv.Error:
        pass
    return []


def data_without_address(head_text: str, sep: str, first: list[str]) -> bool:
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
        addressish(cell) and i < len(first) and not first[i].strip()
        for i, cell in enumerate(second)
    )


def addressish(cell: str) -> bool:
    text = cell.strip()
    return "@" in text and not any(ch.isspace() or ch in "()[]<>:" for ch in text)


def norm_header(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name.strip().lower())


@dataclass(frozen=True)
class Layout:
    """What the head of a file says about its shape."""

    separator: str  # what the parser splits on (NO_DELIMITER for a one-column list)
    has_header: bool
    header: list[str]  # the names written back (synthesized when there is no header)
    keep: list[int]  # the columns written back (a listclean output's own lc_ ones dropped)
    preamble: str  # Excel's "sep=;" line, written back before the header ("" none)
    crlf: bool  # lines end in CRLF (the output keeps it)


def layout(name: str, head_text: str, delimiter: str | None) -> Layout:
    """The file's layout from its first bytes (decoded), or an InputError saying the fix."""
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
    sep = delimiter or sniff_delimiter(first_line) or NO_DELIMITER
    record = first_record(head_text, sep)
    # A header is a first record with no address in it. A header cell may contain an "@" in
    # a description ("Email (name@company.com)"); an address cell has no spaces around it.
    has_header = not any(addressish(cell) for cell in record)
    if has_header and data_without_address(head_text, sep, record):
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
    # the output keeps the input's line-ending style (Excel writes CRLF)
    first_newline = head_text.find("\n")
    crlf = first_newline > 0 and head_text[first_newline - 1] == "\r"
    return Layout(sep, has_header, header, keep, preamble, crlf)


def email_column_by_name(
    name: str, header: list[str], keep: list[int], has_header: bool, column: str | None
) -> int | None:
    """The address column chosen by --column or by its name; None: look at the content."""
    names = [header[i] for i in keep]
    if column is not None:
        for i in keep:
            if header[i] == column:
                return i
        for i in keep:
            if header[i].strip().lower() == column.strip().lower():
                return i
        raise InputError(
            f"{name} has no column named {column!r}; its columns are: {listing(names)}"
        )
    if len(keep) == 1:
        return keep[0]
    if has_header:
        for i in keep:
            if norm_header(header[i]) in EMAIL_HEADERS:
                return i
        for i in keep:
            norm = norm_header(header[i])
            if "email" in norm or "mail" == norm[-4:]:
                return i
    return None


def listing(names: list[str]) -> str:
    return ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")


def looks_like_address(value: str) -> bool:
    """A cell that looks like one address (to choose the address column by content)."""
    return bool(value) and _ADDRESSISH.match(value) is not None
