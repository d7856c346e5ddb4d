"""Excel round trips (#20 item 3): the output keeps the input's UTF-8 BOM and line endings, and
Excel's "Unicode Text" (UTF-16 with a BOM, tab-separated) is detected and written back as such."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from .conftest import read_csv, run_cli

ROWS = [
    ["Name", "E-Mail", "Stadt"],
    ["Jürgen", "juergen@example.de", "Köln"],
    ["Zoë", "zoe@example.fr", "Lyon"],
]


def _csv(rows: list[list[str]], sep: str, newline: str) -> str:
    return "".join(sep.join(r) + newline for r in rows)


@pytest.mark.parametrize("bom", [True, False])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_bom_and_line_endings_are_kept(tmp_path: Path, bom: bool, newline: str) -> None:
    src = tmp_path / "excel.csv"
    data = _csv(ROWS, ";", newline).encode("utf-8")
    src.write_bytes((codecs.BOM_UTF8 if bom else b"") + data)
    out = tmp_path / "out.csv"
    proc = run_cli(
        "verify", str(src), "--offline", "-o", str(out), "--split", str(tmp_path / "split")
    )
    assert proc.returncode == 0, proc.stderr
    for path in (out, tmp_path / "split" / "unknown.csv"):
        raw = path.read_bytes()
        assert raw.startswith(codecs.BOM_UTF8) == bom, path
        body = raw.removeprefix(codecs.BOM_UTF8).decode("utf-8")
        lines = body.split(newline)
        assert lines[-1] == "" and all("\r" not in ln and "\n" not in ln for ln in lines), path
    rows = read_csv(out.read_bytes().removeprefix(codecs.BOM_UTF8), delimiter=";")
    assert [r[:3] for r in rows] == ROWS


def test_utf16_unicode_text(tmp_path: Path) -> None:
    src = tmp_path / "unicode.txt"
    src.write_bytes(codecs.BOM_UTF16_LE + _csv(ROWS, "\t", "\r\n").encode("utf-16-le"))
    out = tmp_path / "out.txt"
    proc = run_cli("verify", str(src), "--offline", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    raw = out.read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_LE)
    text = raw[2:].decode("utf-16-le")
    rows = [line.split("\t") for line in text.split("\r\n")[:-1]]
    assert [r[:3] for r in rows] == ROWS
    assert rows[1][3:5] == ["unknown", "not_probed"]
    # big-endian too, and from stdin
    proc = run_cli(
        "verify",
        "-",
        "--offline",
        "-o",
        "-",
        stdin=codecs.BOM_UTF16_BE + _csv(ROWS, "\t", "\r\n").encode("utf-16-be"),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(codecs.BOM_UTF16_LE)
    assert (
        proc.stdout[2:]
        .decode("utf-16-le")
        .split("\r\n")[1]
        .startswith("Jürgen\tjuergen@example.de\t")
    )
