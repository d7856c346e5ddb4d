"""`listclean compare OURS THEIRS` against exports in each paid verifier's documented shape
(docs/compare.md has the columns and status words with their sources)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from .conftest import read_csv, run_cli
from .test_diff import output

OURS = [
    ("ann@a.example", "deliverable", "accepted", "", "mx.a.example"),
    ("bob@a.example", "undeliverable", "mailbox_not_found", "", "mx.a.example"),
    ("cat@b.example", "risky", "accept_all", "accept_all", "mx.b.example"),
    ("dan@b.example", "unknown", "greylisted", "", "mx.b.example"),
    ("eve@c.example", "deliverable", "accepted", "", "mx.c.example"),
    ("fay@c.example", "undeliverable", "mailbox_not_found", "", "mx.c.example"),
]
# what the vendor said, as listclean's status: ann, bob, cat agree; dan, eve, fay differ
THEIR_STATUS = ["deliverable", "undeliverable", "risky", "deliverable", "undeliverable", "unknown"]

# vendor -> (extra header columns, status column, word per listclean status, detail column)
SHAPES = {
    "zerobounce": (
        ["ZB Status", "ZB Sub status", "ZB Account", "ZB Domain", "ZB Free Email", "ZB MX Found"],
        "ZB Status",
        {
            "deliverable": "valid",
            "undeliverable": "invalid",
            "risky": "catch-all",
            "unknown": "unknown",
        },
        "ZB Sub status",
    ),
    "neverbounce": (
        ["email_status"],
        "email_status",
        {
            "deliverable": "valid",
            "undeliverable": "invalid",
            "risky": "catchall",
            "unknown": "unknown",
        },
        None,
    ),
    "kickbox": (
        ["Result", "Reason", "Role", "Free", "Disposable", "Accept All", "Did You Mean", "Sendex"],
        "Result",
        {s: s for s in ("deliverable", "undeliverable", "risky", "unknown")},
        "Reason",
    ),
    "emailable": (
        ["State", "Reason", "Score", "Free", "Role", "Disposable", "Accept All"],
        "State",
        {s: s for s in ("deliverable", "undeliverable", "risky", "unknown")},
        "Reason",
    ),
    "bouncer": (
        ["status", "reason", "domain", "score", "toxic"],
        "status",
        {s: s for s in ("deliverable", "undeliverable", "risky", "unknown")},
        "reason",
    ),
    "millionverifier": (
        ["quality", "result", "free", "role"],
        "result",
        {
            "deliverable": "ok",
            "undeliverable": "invalid",
            "risky": "catch_all",
            "unknown": "unknown",
        },
        "quality",
    ),
}


def theirs_file(tmp_path: Path, vendor: str, statuses: list[str] = THEIR_STATUS) -> Path:
    extra, status_col, words, detail = SHAPES[vendor]
    path = tmp_path / f"{vendor}.csv"
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["id", "Email", *extra])
        for i, ((email, *_), status) in enumerate(zip(OURS, statuses, strict=True), 1):
            cells = {c: "" for c in extra}
            cells[status_col] = words[status]
            if detail:
                cells[detail] = "mailbox_not_found" if status == "undeliverable" else "x"
            out.writerow([str(i), email.upper() if i == 1 else email, *(cells[c] for c in extra)])
    return path


@pytest.mark.parametrize("vendor", sorted(SHAPES))
def test_agreement_matrix_and_disagreements_per_vendor(tmp_path: Path, vendor: str) -> None:
    ours = output(tmp_path / "ours.csv", OURS)
    theirs = theirs_file(tmp_path, vendor)
    proc = run_cli("compare", str(ours), str(theirs), "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["theirs"]["vendor"] == vendor
    assert (got["agree"], got["matched"], got["agreement"]) == (3, 6, 0.5)
    assert got["matrix"]["unknown"]["deliverable"] == 1
    assert got["matrix"]["deliverable"]["undeliverable"] == 1
    assert got["matrix"]["undeliverable"]["unknown"] == 1
    assert got["matrix"]["deliverable"]["deliverable"] == 1
    assert got["disagreements"]["count"] == 3
    rows = read_csv(Path(got["disagreements"]["path"]))
    assert rows[0][:2] == ["id", "email"] and rows[0][-2:] == ["their_word", "their_detail"]
    assert [r[1] for r in rows[1:]] == ["dan@b.example", "eve@c.example", "fay@c.example"]
    text = run_cli("compare", str(ours), str(theirs)).stdout.decode()
    assert "50.0% (3 of 6" in text


def test_vendor_override_and_errors(tmp_path: Path) -> None:
    ours = output(tmp_path / "ours.csv", OURS)
    theirs = theirs_file(tmp_path, "bouncer")
    ok = run_cli("compare", str(ours), str(theirs), "--vendor", "bouncer", "--disagreements", "")
    assert ok.returncode == 0 and not (tmp_path / "ours.disagreements.csv").exists()
    wrong = run_cli("compare", str(ours), str(theirs), "--vendor", "zerobounce")
    assert wrong.returncode != 0 and b"no zerobounce status column" in wrong.stderr
    unknown = tmp_path / "other.csv"
    unknown.write_text("Email,verdict\nann@a.example,great\n")
    proc = run_cli("compare", str(ours), str(unknown))
    err = proc.stderr.decode()
    assert proc.returncode != 0 and "--vendor" in err and "Traceback" not in err
    none = run_cli("compare", str(ours))
    assert none.returncode == 2 and b"--calibrate" in none.stderr


def test_accuracy_and_calibration_with_learned_bounces(tmp_path: Path) -> None:
    ours_rows = [
        *(r for r in OURS),
        ("gus@d.example", "risky", "accept_all", "accept_all", "mx.d.example"),
    ]
    ours = output(tmp_path / "ours.csv", ours_rows)
    # scores as listclean would write them: accepted 95, not found 2, accept_all 60, grey 55
    table = read_csv(ours)
    col = table[0].index("lc_score")
    score = {"accepted": "95", "mailbox_not_found": "2", "accept_all": "60", "greylisted": "55"}
    reason = table[0].index("lc_reason")
    for row in table[1:]:
        row[col] = score[row[reason]]
    with open(ours, "w", newline="") as handle:
        csv.writer(handle).writerows(table)
    theirs = theirs_file(tmp_path, "kickbox")
    # the campaign after both verifications: eve and gus bounced, ann and fay got their mail
    events = [
        {
            "email": "eve@c.example",
            "timestamp": 1764000000,
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "reason": "550 5.1.1 user unknown",
        },
        {
            "email": "gus@d.example",
            "timestamp": 1764000000,
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "reason": "550 5.1.1 user unknown",
        },
        {"email": "ann@a.example", "timestamp": 1764000000, "event": "delivered"},
        {"email": "fay@c.example", "timestamp": 1764000000, "event": "delivered"},
    ]
    (tmp_path / "events.json").write_text(json.dumps(events))
    assert run_cli("learn", str(tmp_path / "events.json")).returncode == 0
    got = json.loads(run_cli("compare", str(ours), str(theirs), "--calibrate", "--json").stdout)
    assert got["accuracy"]["ours"] == {
        "known": 3,  # gus is not in THEIRS
        "right": 1,  # ann
        "accuracy": 0.3333,
        "calls": 3,
        "said_deliverable_but_bounced": 1,  # eve
        "said_undeliverable_but_delivered": 1,  # fay
        "no_call": 0,
    }
    assert got["accuracy"]["theirs"]["right"] == 2  # ann deliverable, eve undeliverable
    bands = {b["band"]: b for b in got["calibration"]["bands"]}
    assert bands["80-100"] == {"band": "80-100", "known": 2, "bounced": 1, "bounce_rate": 0.5}
    assert bands["60-79"]["bounced"] == 1 and bands["0-19"]["known"] == 1
    only = json.loads(run_cli("compare", str(ours), "--calibrate", "--json").stdout)
    assert only["calibration"] == got["calibration"] and "matched" not in only
