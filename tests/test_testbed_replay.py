"""End to end through the testbed's replay hosts (#14): servers on 127.0.1.6-9 that answer
like the big providers (scripts/replay_mx.py; the replies' sources are in its docstring and in
tests/data/replies/). Multi-line enhanced replies, Microsoft's directory-based edge blocking, an
IP block at MAIL FROM that pauses the provider, greylisting with a real delay, and a host that
refuses a second session at once."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import lab_args, read_csv, run_cli


def _verify(tmp_path: Path, dns: str, emails: list[str], *extra: str) -> tuple[dict, dict]:
    src = tmp_path / "l.csv"
    src.write_text("email\n" + "\n".join(emails) + "\n")
    out = tmp_path / "l.verified.csv"
    proc = run_cli("verify", str(src), "-o", str(out), "--no-cache", *lab_args(dns), *extra)
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out)
    head = rows[0]
    table = {r[0]: dict(zip(head, r, strict=True)) for r in rows[1:]}
    report = json.loads((tmp_path / "l.verified.report.json").read_text())
    return table, report


def test_gmail_and_outlook_like_replies(tmp_path: Path, testbed: str) -> None:
    rows, report = _verify(
        tmp_path,
        testbed,
        [
            "ann@gmail.lab.test",
            "nobody@gmail.lab.test",
            "off@gmail.lab.test",
            "busy@gmail.lab.test",
            "bob@outlook.lab.test",
            "nobody@outlook.lab.test",
        ],
        "--provider-mx",
        "mxg.lab.test=google",
        "--provider-mx",
        "mxo.lab.test=microsoft",
    )
    got = {k: (v["lc_status"], v["lc_reason"]) for k, v in rows.items()}
    assert got["ann@gmail.lab.test"] == ("deliverable", "accepted")
    assert got["nobody@gmail.lab.test"] == ("undeliverable", "mailbox_not_found")
    assert "does not exist" in rows["nobody@gmail.lab.test"]["lc_smtp_reply"]  # lines joined
    assert got["off@gmail.lab.test"] == ("undeliverable", "mailbox_disabled")
    # a mailbox receiving too fast says nothing of its existence
    assert got["busy@gmail.lab.test"] == ("unknown", "smtp_error")
    assert got["bob@outlook.lab.test"] == ("deliverable", "accepted")
    assert got["nobody@outlook.lab.test"] == ("undeliverable", "mailbox_not_found")  # DBEB
    assert rows["ann@gmail.lab.test"]["lc_provider"] == "google"
    assert set(report["egress"]["providers"]) == {"google", "microsoft"}


def test_ip_block_at_mail_from_pauses_the_provider(tmp_path: Path, testbed: str) -> None:
    emails = [f"{u}@blocker.lab.test" for u in ("ann", "bob", "nobody")]
    rows, report = _verify(
        tmp_path,
        testbed,
        emails,
        "--provider-mx",
        "mxb.lab.test=blockerco",
        "--provider-budget",
        "blockerco=2/50/60",
    )
    assert {(v["lc_status"], v["lc_reason"]) for v in rows.values()} == {("unknown", "ip_blocked")}
    assert "TSS09" in rows["ann@blocker.lab.test"]["lc_smtp_reply"]
    assert "TSS09" in report["egress"]["providers"]["blockerco"]["paused"]
    assert report["egress"]["smtp_sessions"] == 1  # no second try at a host that refused us


def test_greylisting_with_a_real_delay_and_one_session_at_once(
    tmp_path: Path, testbed: str
) -> None:
    """The greylister answers 451 until 2 s after a pair's first try and refuses a second
    session open at once (421): 80 addresses make listclean want two. Every address is decided
    after the retry, none is called undeliverable for the refusal."""
    users = ["ann", "bob", "carol"]
    emails = [f"{users[i % 3]}+{i}@greyreal.lab.test" for i in range(40)] + [
        f"nobody{i}@greyreal.lab.test" for i in range(40)
    ]
    rows, report = _verify(
        tmp_path, testbed, emails, "--greylist-delay", "2.5", "--dedupe", "exact"
    )
    verdicts = {(v["lc_status"], v["lc_reason"]) for v in rows.values()}
    assert ("unknown", "greylisted") not in verdicts, verdicts
    assert ("unknown", "rate_limited") not in verdicts, verdicts
    nobody = {(v["lc_status"], v["lc_reason"]) for k, v in rows.items() if k.startswith("nobody")}
    assert nobody == {("undeliverable", "mailbox_not_found")}
    assert report["run"]["stages"]["smtp_s"] >= 2.0  # the real greylisting delay was waited out
