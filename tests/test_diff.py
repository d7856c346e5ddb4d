"""`listclean diff OLD NEW` on two listclean outputs of the same list."""

from __future__ import annotations

import json
from pathlib import Path

from listclean.model import LC_COLUMNS

from .conftest import run_cli


def output(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    """A listclean output: (email, status, reason, flags, mx) per row, the other lc_ empty."""
    header = ["id", "email", *LC_COLUMNS]
    lines = [",".join(header)]
    for i, (email, status, reason, flags, mx) in enumerate(rows, 1):
        normalized = email.strip() if reason != "invalid_syntax" else ""
        cells = {n: "" for n in LC_COLUMNS}
        cells.update(
            lc_status=status, lc_reason=reason, lc_normalized=normalized, lc_flags=flags, lc_mx=mx
        )
        lines.append(",".join([str(i), email, *(cells[n] for n in LC_COLUMNS)]))
    path.write_text("\n".join(lines) + "\n")
    return path


OLD = [
    ("ann@a.example", "deliverable", "accepted", "", "mx.a.example"),
    ("bob@a.example", "deliverable", "accepted", "", "mx.a.example"),
    ("cat@b.example", "deliverable", "accepted", "", "mx.b.example"),
    ("dan@b.example", "undeliverable", "mailbox_not_found", "", "mx.b.example"),
    ("eve@c.example", "deliverable", "accepted", "", "mx1.c.example"),
    ("fay@d.example", "unknown", "greylisted", "", "mx.d.example"),
    ("gone@e.example", "deliverable", "accepted", "", "mx.e.example"),
    ("not-an-address", "undeliverable", "invalid_syntax", "", ""),
]
NEW = [
    ("ann@a.example", "deliverable", "accepted", "", "mx.a.example"),
    ("Bob@a.example", "undeliverable", "mailbox_not_found", "", "mx.a.example"),
    ("cat@b.example", "risky", "accept_all", "accept_all", "mx.b.example"),
    ("dan@b.example", "risky", "accept_all", "accept_all", "mx.b.example"),
    ("eve@c.example", "unknown", "greylisted", "", "mx2.c.example"),
    ("fay@d.example", "unknown", "ip_blocked", "", "mx.d.example"),
    ("new@f.example", "deliverable", "accepted", "", "mx.f.example"),
    ("not-an-address", "undeliverable", "invalid_syntax", "", ""),
]


def test_diff_json(tmp_path: Path) -> None:
    old = output(tmp_path / "old.csv", OLD)
    new = output(tmp_path / "new.csv", NEW)
    proc = run_cli("diff", str(old), str(new), "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["matched"] == 7 and got["old"]["rows"] == 8 and got["new"]["rows"] == 8
    pairs = {(c["from"], c["to"]): c["count"] for c in got["status_changes"]}
    assert pairs == {
        ("deliverable", "undeliverable"): 1,  # Bob: matched case-insensitively
        ("deliverable", "risky"): 1,
        ("undeliverable", "risky"): 1,
        ("deliverable", "unknown"): 1,
    }
    assert got["reason_changes"] == 1  # fay: unknown both times, greylisted -> ip_blocked
    assert got["unchanged"] == 2  # ann and the invalid row (matched by its cell)
    assert got["added"] == {"count": 1, "examples": ["new@f.example"]}
    assert got["removed"] == {"count": 1, "examples": ["gone@e.example"]}
    changes = {(d["domain"], d["change"]) for d in got["domains"]}
    assert ("b.example", "became catch-all") in changes
    assert ("c.example", "started greylisting") in changes
    assert ("c.example", "MX changed: mx1.c.example -> mx2.c.example") in changes
    assert ("d.example", "stopped greylisting") in changes
    assert ("d.example", "started refusing us (blocked or rate-limited)") in changes
    assert not any(d == "a.example" for d, _ in changes)


def test_diff_terminal_and_same_file(tmp_path: Path) -> None:
    old = output(tmp_path / "old.csv", OLD)
    new = output(tmp_path / "new.csv", NEW)
    proc = run_cli("diff", str(old), str(new))
    text = proc.stdout.decode()
    assert proc.returncode == 0 and "status changes" in text and "became catch-all" in text
    same = json.loads(run_cli("diff", str(old), str(old), "--json").stdout)
    assert same["status_changes"] == [] and same["unchanged"] == 8 and same["domains"] == []


def test_diff_neutralises_hostile_cells(tmp_path: Path) -> None:
    rows = [("\x1b]0;pwned\x07x@a.example", "deliverable", "accepted", "", "mx.a.example")]
    old = output(tmp_path / "old.csv", rows)
    new = output(tmp_path / "new.csv", [(rows[0][0], "undeliverable", "mailbox_not_found", "", "")])
    proc = run_cli("diff", str(old), str(new))
    assert proc.returncode == 0 and b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout


def test_diff_refuses_a_file_that_is_not_an_output(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("email\nann@a.example\n")
    new = output(tmp_path / "new.csv", NEW)
    proc = run_cli("diff", str(plain), str(new))
    err = proc.stderr.decode()
    assert proc.returncode != 0 and "not a listclean output" in err and "Traceback" not in err
    missing = run_cli("diff", str(tmp_path / "nope.csv"), str(new))
    assert missing.returncode != 0 and b"cannot read" in missing.stderr
