"""End to end against the real Unbound + Postfix testbed (scripts/testbed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import read_csv, run_cli

LIST = """id,email
1,ann@good.lab.test
2,nobody@good.lab.test
3,full@good.lab.test
4,gone@good.lab.test
5,anyone@catchall.lab.test
6,ann@grey.lab.test
7,ann@limited.lab.test
8,bob@limited.lab.test
9,zz@limited.lab.test
10,bob@pref.lab.test
11,ann@bücher.lab.test
12,ann@amx.lab.test
13,x@nullmx.lab.test
14,x@nope.lab.test
15,Ann@good.lab.test
"""


def verify(tmp_path: Path, testbed: str, *extra: str) -> tuple[dict[str, list[str]], dict]:
    src = tmp_path / "lab.csv"
    src.write_text(LIST)
    out = tmp_path / "lab.verified.csv"
    proc = run_cli(
        "verify",
        str(src),
        "-o",
        str(out),
        "--allow-test-domains",
        "--allow-private-mx",
        "--nameserver",
        testbed,
        "--helo",
        "probe.lab.test",
        "--greylist-delay",
        "0.5",
        *extra,
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out)
    report = json.loads((tmp_path / "lab.verified.report.json").read_text())
    return {r[0]: r for r in rows[1:]}, report


def test_postfix_end_to_end(tmp_path: Path, testbed: str) -> None:
    rows, report = verify(tmp_path, testbed, "--no-cache")
    got = {k: (r[2], r[3]) for k, r in rows.items()}
    assert got["1"] == ("deliverable", "accepted")
    assert got["2"] == ("undeliverable", "mailbox_not_found")
    assert "User unknown in relay recipient table" in rows["2"][9]
    assert got["3"] == ("risky", "mailbox_full")
    assert got["4"] == ("undeliverable", "mailbox_disabled")
    assert got["5"] == ("risky", "accept_all")
    assert got["6"] == ("unknown", "greylisted")
    assert got["7"] == got["8"] == ("deliverable", "accepted")  # despite mx5's anvil limit
    assert got["9"] == ("undeliverable", "mailbox_not_found")
    assert got["10"] == ("deliverable", "accepted")
    assert got["11"] == ("deliverable", "accepted")  # RCPT TO carries the A-label domain
    assert got["12"] == ("deliverable", "accepted")  # implicit MX
    assert got["13"] == ("undeliverable", "null_mx")
    assert got["14"] == ("undeliverable", "invalid_domain")
    assert got["15"] == ("deliverable", "accepted")  # local part as typed: Postfix folds case
    egress = report["egress"]
    assert egress["mx_hosts_contacted"] == 5
    assert egress["tls_sessions"] >= 1  # STARTTLS offered by the testbed and used
    assert egress["smtp_sessions"] <= 12


def test_postfix_no_starttls(tmp_path: Path, testbed: str) -> None:
    _, report = verify(tmp_path, testbed, "--no-cache", "--no-starttls")
    assert report["egress"]["tls_sessions"] == 0


@pytest.mark.parametrize("prepass_rows", [100_000, 0], ids=["one-pass", "two-pass"])
def test_chunked_run_with_dead_hosts(tmp_path: Path, testbed: str, prepass_rows: int) -> None:
    """Networked runs go chunk by chunk; dead MX hosts (bench.test: nothing listens) must not
    make a live one (Postfix) look blocked in any chunk. Also with the big-list first pass."""
    import collections
    import csv

    from listclean.pipeline import verify
    from listclean.settings import Settings

    src = tmp_path / "chunky.csv"
    with src.open("w") as f:
        f.write("email\n")
        for i in range(3000):
            f.write(
                f"u{i % 200 * 20:05d}@bulk.lab.test\n"
                if i % 2 == 0
                else f"u{i}@d{i % 300:05d}.bench.test\n"
            )
    settings = Settings(
        nameservers=(testbed,),
        allow_test_domains=True,
        allow_private_mx=True,
        helo="probe.lab.test",
        use_cache=False,
        chunk_rows=1000,
        batch_rows=500,
        prepass_rows=prepass_rows,
        home=tmp_path / "home",
        smtp_timeout=5,
    )
    result = verify(str(src), str(tmp_path / "out.csv"), settings, report_path=None)
    with (tmp_path / "out.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    got = collections.Counter((r["email"].endswith("@bulk.lab.test"), r["lc_reason"]) for r in rows)
    assert got == {(True, "accepted"): 1500, (False, "smtp_unreachable"): 1500}
    assert not result.notices  # no "port 25 looks blocked" warning
    # ~100 unique bulk addresses per chunk, probed again in each chunk (no cache), + 1 catch-all
    # test: more than one chunk really ran, and each probed only its own addresses
    assert 201 <= result.report["egress"]["rcpt_commands"] <= 301


def test_pipelined_sessions_end_before_the_error_budget_trickles(
    tmp_path: Path, testbed: str
) -> None:
    """Postfix offers PIPELINING: a batch is never larger than the rejections a session may
    still take (9), and once fewer than MIN_BATCH (4) are left a new session starts instead
    of one-RCPT round trips. 300 addresses, every 10th unknown: 30 rejections."""
    from listclean.probes.smtp import MAX_ERRORS, MIN_BATCH

    src = tmp_path / "bulk.csv"
    src.write_text("email\n" + "".join(f"u{i:05d}@bulk.lab.test\n" for i in range(300)))
    out = tmp_path / "bulk.verified.csv"
    proc = run_cli(
        "verify", str(src), "-o", str(out), "--allow-test-domains", "--allow-private-mx",
        "--nameserver", testbed, "--helo", "probe.lab.test", "--no-cache",
        "--smtp-per-host", "1",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = read_csv(out)[1:]
    reasons = [r[2] for r in rows]
    assert reasons.count("mailbox_not_found") == 30
    assert reasons.count("accepted") == 270
    sessions = json.loads((tmp_path / "bulk.verified.report.json").read_text())["egress"][
        "smtp_sessions"
    ]
    # Every 10th address unknown: a session's batches run 9, 9, 8, 7, 6, 6, 5, 4, 4, 4 RCPTs
    # and it ends with 6 rejections after ~60 addresses (~90 and 9 rejections if it went on
    # down to one-RCPT batches): 5 sessions, + 1 for the catch-all test.
    assert (MAX_ERRORS, MIN_BATCH) == (9, 4)
    assert 6 <= sessions <= 300 // 20
