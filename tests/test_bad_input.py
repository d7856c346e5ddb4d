"""Every bad input: exit 1, a short message naming the problem and the fix, no output file."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run_cli

CASES = {
    "empty": (b"", "is empty"),
    "blank": (b"\n\n  \n", "is empty"),
    "no_email_column": (b"name,phone\nAnn,007\nBob,008\n", "no email column found"),
    "too_many_fields": (
        b"name,email\nAnn,ann@example.com\nBob,bob@example.com,extra\n",
        "line 3: 3 fields but the header has 2",
    ),
    "unclosed_quote": (
        b'name,email\n"Ann,ann@example.com\nBob,bob@example.com\n',
        "line 2: a quoted field is never closed",
    ),
    "unclosed_quote_last": (b'name,email\nAnn,"ann@example.com\n', "never closed"),
    "stray_quote": (b'name,email\nAnn 5" tall,ann@example.com\n', "line 2: a quote character"),
    "bad_utf8": (
        b"name,email\nAnn,ann@example.com\nJos\xe9,jose@example.com\n",
        "line 3: byte 0xe9 is not valid utf-8",
    ),
    "binary": (b"\x00\x01\x02garbage\x00" * 50, "binary file"),
    # a 300 KB cell before the error: the stdlib csv diagnosis must still find the line
    # (its default field limit is 128 KiB)
    "too_many_fields_after_a_huge_cell": (
        b"name,email\n" + b"A" * 300_000 + b",ann@example.com\nBob,bob@example.com,extra\n",
        "line 3: 3 fields but the header has 2",
    ),
    "xlsx": (b"PK\x03\x04" + b"\x00" * 100, "save it as CSV"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(tmp_path: Path, case: str) -> None:
    data, needle = CASES[case]
    src = tmp_path / "in.csv"
    src.write_bytes(data)
    proc = run_cli("verify", str(src), "--offline")
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert needle in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no output, no temp file


def test_bad_utf8_suggests_encoding(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(CASES["bad_utf8"][0])
    assert "--encoding" in run_cli("verify", str(src), "--offline").stderr.decode()


def test_missing_file_and_column(tmp_path: Path) -> None:
    proc = run_cli("verify", str(tmp_path / "nope.csv"))
    assert proc.returncode == 1 and "no such file" in proc.stderr.decode()
    src = tmp_path / "in.csv"
    src.write_text("name,email\nAnn,ann@example.com\n")
    proc = run_cli("verify", str(src), "--column", "mail", "--offline")
    assert proc.returncode == 1
    assert "no column named 'mail'" in proc.stderr.decode()
    assert "name, email" in proc.stderr.decode()


def test_stdin_bad_input_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    proc = run_cli("verify", "-", "-o", str(out), "--offline", stdin=b"name,email\nA,a@b.com,x\n")
    assert proc.returncode == 1
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_stdout_gets_nothing_on_failure() -> None:
    proc = run_cli(
        "verify",
        "-",
        "-o",
        "-",
        "--offline",
        stdin=b"name,email\nA,a@example.com\n" * 10 + b"B,b@example.com,extra\n",
    )
    assert proc.returncode == 1
    assert proc.stdout == b""


def test_missing_output_dir(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("email\nann@example.com\n")
    proc = run_cli("verify", str(src), "-o", str(tmp_path / "nodir" / "o.csv"), "--offline")
    assert proc.returncode == 1
    assert "does not exist" in proc.stderr.decode()


def test_non_ascii_delimiter_is_a_usage_error(tmp_path: Path) -> None:
    """Polars splits on one byte: a one-character but two-byte delimiter ("é", "§") failed
    deep inside the parser with a traceback (found by the option fuzzer, #12 item 10)."""
    src = tmp_path / "d.csv"
    src.write_text("email\nann@example.com\n")
    for delimiter in ("é", "§", "€"):
        proc = run_cli("verify", str(src), "--offline", "-o", "-", "--delimiter", delimiter)
        assert proc.returncode == 1
        assert b"one ASCII character" in proc.stderr and b"Traceback" not in proc.stderr
        assert proc.stdout == b""
