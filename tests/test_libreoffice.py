"""Real office-suite files (#20 item 3): workbooks and Excel's "Unicode Text" written by
LibreOffice in headless mode (Debian's libreoffice-calc-nogui, installed by
`scripts/testbed install`), verified by listclean, and listclean's outputs opened again by
LibreOffice. Values must survive both ways, cell for cell."""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import run_cli
from .test_xlsx import _cells

ROWS = [
    ["id", "Name", "Email", "Note"],
    ["001", "Jürgen Müller", "juergen@example.de", "leading zeros kept"],
    ["2", "Smith, Ann", "Ann@Example.com", 'says "hi"'],
    ["3", "Zoë", "not an address", ""],
    ["4", "Ann again", "ann@example.com", "café ☕"],
]


def _soffice(tmp_path: Path, *args: str) -> None:
    exe = shutil.which("soffice")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice is not installed: .ci/run must call `scripts/testbed install`")
        pytest.skip("needs LibreOffice: `sudo scripts/testbed install`")
    profile = tmp_path / "lo-profile"  # its own profile: parallel runs do not share a lock
    proc = subprocess.run(
        [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr


def _source_csv(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(ROWS)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _to_xlsx(tmp_path: Path) -> Path:
    """contacts.csv -> contacts.xlsx by LibreOffice, every column imported as text."""
    src = _source_csv(tmp_path)
    # CSV import: comma, double quote, UTF-8 (76), from line 1, columns 1-4 as Text (2)
    _soffice(
        tmp_path,
        "--infilter=Text - txt - csv (StarCalc):44,34,76,1,1/2/2/2/3/2/4/2",
        "--convert-to",
        "xlsx",
        "--outdir",
        str(tmp_path),
        str(src),
    )
    src.unlink()
    return tmp_path / "contacts.xlsx"


def _lo_csv(tmp_path: Path, book: Path) -> list[list[str]]:
    """What LibreOffice reads from a workbook, exported as UTF-8 CSV."""
    out = tmp_path / "lo-out"
    _soffice(
        tmp_path,
        "--convert-to",
        "csv:Text - txt - csv (StarCalc):44,34,76,1",
        "--outdir",
        str(out),
        str(book),
    )
    text = (out / (book.stem + ".csv")).read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_libreoffice_workbook_round_trip(tmp_path: Path) -> None:
    src = _to_xlsx(tmp_path)
    assert _cells(src) == ROWS  # LibreOffice wrote what we meant (text cells)
    proc = run_cli("verify", str(src), "--offline")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "contacts.verified.xlsx"
    cells = _cells(out)
    assert [r[:4] for r in cells] == ROWS
    col = {name: i for i, name in enumerate(cells[0])}
    assert cells[3][col["lc_reason"]] == "invalid_syntax"
    assert cells[4][col["lc_duplicate_of"]] == "2"  # casefold: Ann@Example.com
    # LibreOffice opens listclean's workbook and sees the same cells
    seen = _lo_csv(tmp_path, out)
    assert [r[:4] for r in seen] == ROWS
    assert seen[0][4:] == cells[0][4:]
    assert [r[col["lc_status"]] for r in seen] == [r[col["lc_status"]] for r in cells]


def test_libreoffice_unicode_text_round_trip(tmp_path: Path) -> None:
    """Excel's "Unicode Text" is UTF-16 with a BOM, tab-separated: LibreOffice's export of the
    same name is read, and the output is written back in the same encoding and opened again."""
    book = _to_xlsx(tmp_path)
    _soffice(
        tmp_path,
        "--convert-to",
        "txt:Text - txt - csv (StarCalc):9,34,65535",  # tab, quote, Unicode (UTF-16)
        "--outdir",
        str(tmp_path / "u16"),
        str(book),
    )
    src = tmp_path / "u16" / "contacts.txt"
    raw = src.read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_LE)  # made by LibreOffice, not by this test
    out = tmp_path / "u16" / "contacts.verified.txt"
    proc = run_cli("verify", str(src), "--offline", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data.startswith(codecs.BOM_UTF16_LE)
    rows = list(csv.reader(io.StringIO(data[2:].decode("utf-16-le")), delimiter="\t"))
    assert [r[:4] for r in rows] == ROWS
    # LibreOffice reads listclean's Unicode Text back (import as UTF-16, tab, text columns)
    _soffice(
        tmp_path,
        "--infilter=Text - txt - csv (StarCalc):9,34,65535,1,1/2/2/2/3/2/4/2",
        "--convert-to",
        "xlsx",
        "--outdir",
        str(tmp_path / "back"),
        str(out),
    )
    back = _cells(tmp_path / "back" / "contacts.verified.xlsx")
    assert [r[:4] for r in back] == ROWS
    assert back[0][4:6] == ["lc_status", "lc_reason"]
