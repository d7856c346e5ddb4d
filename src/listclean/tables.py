"""Reading whole tables that are not the list being verified: listclean outputs (``diff``,
``compare``), paid verifiers' exports (``compare``) and CSV evidence files (``learn``).

Every cell is text (no type guessing: "007" stays "007"), the delimiter is detected from the
header line, and any problem is one ``InputError`` line that names the file and the fix.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

from listclean.errors import InputError

DELIMITERS = ",;\t|"


def sniff_delimiter(header: str) -> str:
    """The delimiter of a header line: the candidate that splits it into the most fields."""
    best, fields = ",", 1
    for sep in DELIMITERS:
        try:
            n = len(next(csv.reader([header], delimiter=sep)))
        except (csv.Error, StopIteration):
            continue
        if n > fields:
            best, fields = sep, n
    return best


def read_table(path: str | Path, what: str = "file") -> pl.DataFrame:
    """A CSV (or ; tab | separated) file with a header row, every column as text."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(65_536)
    except OSError as exc:
        raise InputError(f"cannot read {what} {name}: {exc.strerror or exc}") from None
    if not head.strip():
        raise InputError(f"{what} {name} is empty; pass a CSV file with a header row")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if "\x00" in text:
        raise InputError(f"{what} {name} is not a text file; pass a CSV file")
    header = text.splitlines()[0] if text.splitlines() else ""
    sep = sniff_delimiter(header)
    try:
        frame = pl.read_csv(
            path,
            separator=sep,
            infer_schema=False,
            encoding="utf8-lossy",
            truncate_ragged_lines=False,
        )
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"cannot read {what} {name} as CSV ({first[:120]}); check that it is a "
            "comma-, semicolon- or tab-separated file with one header row"
        ) from None
    renamed = {c: c.lstrip("\ufeff").strip() for c in frame.columns}
    frame = frame.rename(renamed)
    return frame.with_columns(pl.all().fill_null(""))


def find_column(columns: list[str], *candidates: str) -> str | None:
    """The first column whose name matches a candidate (case, spaces, _ and - ignored)."""

    def norm(name: str) -> str:
        return "".join(ch for ch in name.casefold() if ch.isalnum())

    by_norm: dict[str, str] = {}
    for name in columns:
        by_norm.setdefault(norm(name), name)
    for cand in candidates:
        hit = by_norm.get(norm(cand))
        if hit is not None:
            return hit
    return None


EMAIL_HEADERS = ("email", "email address", "emailaddress", "e-mail", "mail", "address", "recipient")
