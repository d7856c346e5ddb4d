"""`listclean plan`'s time estimate against the run it predicts (#20 item 6).

It once said 6 s for a list that took 133 s, and 257 s for one that took 3 s: constants for
the Internet, no greylisting, no session limits. Now it measures session set-up and the
round trip on the biggest MX hosts, models the prober's own limits (sessions per host,
rejections per session, pipelining, catch-all tests) and states the greylisting cost apart.
Each list here is planned, then verified against the real testbed; the SMTP stage the run
reports must be within 2x of the estimate.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import lab_args, run_cli

LAB_USERS = ["ann", "bob", "carol", "nobody", "zed"]
LAB_DOMAINS = ["good", "pref", "amx", "xn--bcher-kva", "catchall", "nope", "nullmx"]


def _bulk(n: int, start: int = 0) -> list[str]:
    return [f"u{i:05d}@bulk.lab.test" for i in range(start, start + n)]


LISTS = {
    "one_host": (_bulk(3000), []),
    "mixed_hosts": (
        _bulk(1500) + [f"{u}@{d}.lab.test" for u in LAB_USERS for d in LAB_DOMAINS],
        [],
    ),
    "mixed_no_tls": (
        _bulk(2000, 3000) + [f"{u}@good.lab.test" for u in LAB_USERS],
        ["--no-starttls"],
    ),
}


def _plan_and_run(
    tmp_path: Path, dns: str, emails: list[str], extra: list[str]
) -> tuple[dict, dict]:
    src = tmp_path / "list.csv"
    src.write_text("email\n" + "\n".join(emails) + "\n")
    proc = run_cli("plan", str(src), "--json", *lab_args(dns), *extra)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    out = tmp_path / "list.verified.csv"
    proc = run_cli("verify", str(src), "-o", str(out), "--no-cache", "-q", *lab_args(dns), *extra)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "list.verified.report.json").read_text())
    return plan, report


@pytest.mark.parametrize("name", sorted(LISTS))
def test_estimate_within_2x(tmp_path: Path, testbed: str, name: str) -> None:
    emails, extra = LISTS[name]
    plan, report = _plan_and_run(tmp_path, testbed, emails, extra)
    assert "measured on" in plan["estimate_assumes"][0]  # not the Internet constants
    estimate = plan["probe_time_estimate_s"]
    actual = report["run"]["stages"]["smtp_s"]
    assert estimate / 2 <= actual <= estimate * 2, (
        name,
        estimate,
        actual,
        plan["estimate_assumes"],
    )
    sessions = report["egress"]["smtp_sessions"]
    assert plan["smtp_sessions_estimate"] / 2 <= sessions <= plan["smtp_sessions_estimate"] * 2


def test_greylisting_cost_is_stated(tmp_path: Path, testbed: str) -> None:
    """A greylisting host makes its addresses wait: the plan cannot see it without probing,
    so it states what it would add; the run with the greylisting host takes about that."""
    emails = _bulk(500) + ["ann@grey.lab.test", "bob@grey.lab.test"]
    plan, report = _plan_and_run(tmp_path, testbed, emails, ["--greylist-delay", "1.5"])
    assert any("1.5 s x 2 retries" in line for line in plan["estimate_assumes"])
    actual = report["run"]["stages"]["smtp_s"]
    worst = plan["if_greylisted_s"]
    assert worst == pytest.approx(plan["probe_time_estimate_s"] + 3.0, abs=0.11)
    assert worst / 2 <= actual <= worst * 2, (worst, actual)
