"""Attack 13: the files the side commands read are untrusted too. A vendor's export, an old
output given to `diff` and a bounce log given to `learn` may carry terminal escapes, spreadsheet
formulas and junk "addresses": none reaches the terminal, a written CSV or the store as is."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ..conftest import read_csv, run_cli
from ..test_diff import output

ESC = "\x1b]0;owned\x07\x1b[31m"


def test_vendor_export_cells_are_neutralised(tmp_path: Path) -> None:
    ours = output(
        tmp_path / "ours.csv",
        [("ann@a.example", "deliverable", "accepted", "", "mx.a.example")],
    )
    theirs = tmp_path / "theirs.csv"
    theirs.write_text(
        "Email,Result,Reason,Sendex\n"
        f'ann@a.example,undeliverable,"=HYPERLINK(""http://x"")\u202e{ESC}",0.1\n'
    )
    proc = run_cli("compare", str(ours), str(theirs))
    assert proc.returncode == 0, proc.stderr
    assert b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout
    rows = read_csv(tmp_path / "ours.disagreements.csv")
    detail = rows[1][rows[0].index("their_detail")]
    assert detail.startswith("'=") and "\x1b" not in detail and "\u202e" not in detail
    assert rows[1][:2] == ["1", "ann@a.example"]  # our own cells, value for value


def test_learn_never_stores_or_prints_junk_addresses(tmp_path: Path) -> None:
    events = [
        {
            "email": f"{ESC}evil@example.org",
            "timestamp": 1764000000,
            "event": "bounce",
            "type": "bounce",
            "reason": "550 5.1.1 no such user",
        },
        {"email": "a" * 5000 + "@example.org", "timestamp": 1764000000, "event": "delivered"},
        {"email": "no-at-sign", "timestamp": 1764000000, "event": "delivered"},
        {"email": "ok@example.org", "timestamp": 1764000000, "event": "delivered"},
    ]
    hostile_name = tmp_path / f"events{ESC}.json"
    hostile_name.write_text(json.dumps(events))
    proc = run_cli("learn", str(hostile_name))
    assert proc.returncode == 0, proc.stderr
    assert b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout
    assert b"1 delivered" in proc.stdout and b"3 records without an address skipped" in proc.stdout
    home = Path(__import__("os").environ["LISTCLEAN_HOME"])
    db = sqlite3.connect(home / "store.sqlite")
    assert db.execute("SELECT COUNT(*) FROM evidence").fetchone()[0] == 1


def test_diff_of_a_file_with_hostile_domains(tmp_path: Path) -> None:
    rows = [(f"x@{ESC}a.example", "deliverable", "accepted", "", f"mx{ESC}.example")]
    old = output(tmp_path / "old.csv", rows)
    new = output(tmp_path / "new.csv", [(rows[0][0], "risky", "accept_all", "accept_all", "mx2")])
    proc = run_cli("diff", str(old), str(new))
    assert proc.returncode == 0 and b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout
    as_json = run_cli("diff", str(old), str(new), "--json")
    assert b"\x1b" not in as_json.stdout  # JSON escapes control characters
