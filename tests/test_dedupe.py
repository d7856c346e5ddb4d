"""--dedupe exact|casefold|provider (#20 item 4): duplicates as mailboxes work."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from listclean.pipeline import verify
from listclean.settings import Settings

from .conftest import read_csv, run_cli

LIST = [
    "Alice@example.com",
    "alice@example.com",
    "ALICE@EXAMPLE.COM",
    "a.l.i.c.e+news@gmail.com",
    "alice@googlemail.com",
    "Alice@gmail.com",
    "bob+x@outlook.com",
    "bob@outlook.com",
    "bob+x@example.com",
    "bob@example.com",
    "not an address",
    "not an address",
]
EXPECTED = {
    "exact": ["", "", "", "", "", "", "", "", "", "", "", ""],
    "casefold": ["", "1", "1", "", "", "", "", "", "", "", "", ""],
    "provider": ["", "1", "1", "", "4", "4", "", "7", "", "", "", ""],
}


@pytest.mark.parametrize("mode", ["exact", "casefold", "provider", None])
def test_modes(tmp_path: Path, mode: str | None) -> None:
    src = tmp_path / "l.csv"
    src.write_text("email\n" + "\n".join(LIST) + "\n")
    args = ["verify", str(src), "--offline", "-o", "-"]
    if mode:
        args += ["--dedupe", mode]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(proc.stdout)
    column = rows[0].index("lc_duplicate_of")
    assert [r[column] for r in rows[1:]] == EXPECTED[mode or "casefold"]
    # the normalized address itself is never changed by the dedupe rule
    assert rows[1][rows[0].index("lc_normalized")] == "Alice@example.com"


@pytest.mark.parametrize("mode", ["exact", "casefold", "provider"])
def test_big_list_path_agrees(tmp_path: Path, mode: str) -> None:
    """The two-pass path of big lists finds the same duplicates as the in-memory index."""
    src = tmp_path / "l.csv"
    src.write_text("email\n" + "\n".join(LIST * 40) + "\n")
    base = Settings(offline=True, home=tmp_path / "h", dedupe=mode, batch_rows=50)
    outs = []
    for prepass in (10**9, 10):
        out = tmp_path / f"o{prepass}.csv"
        verify(
            str(src), str(out), dataclasses.replace(base, prepass_rows=prepass), report_path=None
        )
        outs.append(read_csv(out))
    assert outs[0] == outs[1]
