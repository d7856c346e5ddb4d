"""Excel workbooks in and out (#20 item 3): `listclean verify contacts.xlsx` writes
contacts.verified.xlsx; --sheet picks a sheet; cells keep their values (as calamine reads them)."""

from __future__ import annotations

import datetime
from pathlib import Path

import polars as pl
import xlsxwriter

from .conftest import read_csv, run_cli


def _workbook(path: Path) -> None:
    book = xlsxwriter.Workbook(path)
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    people = book.add_worksheet("People")
    people.write_row(0, 0, ["id", "Name", "Email Address", "joined", "score"])
    people.write_string(1, 0, "00001")
    people.write_row(1, 1, ["Jürgen", "juergen@example.de"])
    people.write_datetime(1, 3, datetime.datetime(2024, 1, 2), dates)
    people.write_number(1, 4, 3.5)
    people.write_row(2, 0, [2, "Ann", "Ann@Example.com", None, 10])
    people.write_row(3, 0, [3, "Dup", "ann@example.com", None, None])
    people.write_row(4, 0, [4, "Bad", "not an address", None, "=1+1"])
    other = book.add_worksheet("Other")
    other.write_row(0, 0, ["email"])
    other.write_row(1, 0, ["x@example.org"])
    book.close()


def _cells(path: Path, sheet: str | None = None) -> list[list[str]]:
    frame = pl.read_excel(
        path,
        engine="calamine",
        sheet_name=sheet,
        sheet_id=None if sheet else 1,
        has_header=False,
        infer_schema_length=0,
    )
    return [[v or "" for v in row] for row in frame.rows()]


def test_workbook_in_workbook_out(tmp_path: Path) -> None:
    src = tmp_path / "contacts.xlsx"
    _workbook(src)
    proc = run_cli("verify", str(src), "--offline")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "contacts.verified.xlsx"
    assert out.is_file() and (tmp_path / "contacts.verified.report.json").is_file()
    before, after = _cells(src), _cells(out)
    assert len(after) == len(before)
    width = len(before[0])
    assert [r[:width] for r in after] == before  # original cells, value for value
    header = after[0]
    assert header[width : width + 2] == ["lc_status", "lc_reason"]
    col = {name: i for i, name in enumerate(header)}
    assert after[1][col["lc_normalized"]] == "juergen@example.de"
    assert after[3][col["lc_duplicate_of"]] == "2"  # casefold: Ann@ and ann@ are one mailbox
    assert after[4][col["lc_reason"]] == "invalid_syntax"


def test_sheet_and_csv_output(tmp_path: Path) -> None:
    src = tmp_path / "book.xlsx"
    _workbook(src)
    rows = read_csv(run_cli("verify", str(src), "--offline", "--sheet", "Other", "-o", "-").stdout)
    assert rows[0][0] == "email" and rows[1][:3] == ["x@example.org", "unknown", "not_probed"]
    proc = run_cli("verify", str(src), "--offline", "--sheet", "Missing", "-o", "-")
    assert proc.returncode == 1 and b"Missing" in proc.stderr and proc.stdout == b""
    # a CSV in, a workbook out, when the output is named so
    csv_src = tmp_path / "l.csv"
    csv_src.write_text("email,n\nann@example.com,007\n")
    assert (
        run_cli("verify", str(csv_src), "--offline", "-o", str(tmp_path / "l.xlsx")).returncode == 0
    )
    assert _cells(tmp_path / "l.xlsx")[1][:4] == ["ann@example.com", "007", "unknown", "not_probed"]


def test_not_a_workbook(tmp_path: Path) -> None:
    src = tmp_path / "fake.xlsx"
    src.write_text("email\nann@example.com\n")
    proc = run_cli("verify", str(src), "--offline", "-o", "-")
    assert proc.returncode == 1
    assert b"Excel workbook" in proc.stderr and b"Traceback" not in proc.stderr
