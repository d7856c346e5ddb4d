"""Politeness keyed by provider, not by MX host (#14 item 3; docs/politeness.md).

One provider ("corp") with four MX hosts, each its own Raw server on 127.0.7.x, as Microsoft
365 tenants each have their own MX name. A Tracker counts sessions over all four together.
- The provider's budget holds over all its hosts: sessions at once, RCPTs per session, and
  the pace of new sessions. Without the rule that groups the hosts (the control), the same run
  opens several sessions at once: the test can fail.
- A reply refusing our IP from one host pauses the whole provider for the rest of the run: no
  session starts on any of its hosts afterwards, its remaining addresses are unknown, and the
  report says which provider was paused and why.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from listclean.pipeline import verify
from listclean.politeness import Providers, parse_budget, parse_mx_rule
from listclean.settings import Settings

from .conftest import lab_args, read_csv, run_cli
from .dnsserver import FakeDNS
from .smtpserver import Lab, Raw, Tracker

IPS = [f"127.0.7.{i}" for i in range(1, 9)]
HOSTS = ["a", "b", "c", "d"]
ZONE: dict[str, Any] = {}
for i, name in enumerate(HOSTS):
    ZONE[f"{name}.example"] = {"MX": [f"10 mx.{name}.corp.test."]}
    ZONE[f"mx.{name}.corp.test"] = {"A": [f"127.0.7.{i + 1}"]}
ZONE["blk.example"] = {"MX": ["10 mx.blk.corp.test."]}
ZONE["mx.blk.corp.test"] = {"A": ["127.0.7.5"]}
BLOCK = "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"


class Env:
    def __init__(self, dns: FakeDNS, lab: Lab, tracker: Tracker, servers: list[Raw]) -> None:
        self.dns, self.lab, self.tracker, self.servers = dns, lab, tracker, servers

    def reset(self) -> None:
        self.tracker.__init__()  # type: ignore[misc]


@pytest.fixture()
def env() -> Iterator[Env]:
    dns = FakeDNS(ZONE)
    lab = Lab(IPS)
    tracker = Tracker()
    servers = [
        lab.raw(f"127.0.7.{i + 1}", Raw(reply_delay=0.01, tracker=tracker))
        for i in range(len(HOSTS))
    ]
    servers.append(lab.raw("127.0.7.5", Raw(lambda a: BLOCK, tracker=tracker)))
    yield Env(dns, lab, tracker, servers)
    lab.close()
    dns.close()


def _run(env: Env, tmp_path: Path, emails: list[str], **kw: Any) -> tuple[list[list[str]], dict]:
    src = tmp_path / "list.csv"
    src.write_text("email\n" + "\n".join(emails) + "\n")
    settings = dataclasses.replace(
        Settings(
            nameservers=(env.dns.address,),
            allow_test_domains=True,
            allow_private_mx=True,
            smtp_port=env.lab.port,
            helo="probe.lab.test",
            smtp_timeout=5.0,
            home=tmp_path / "home",
            use_cache=False,
        ),
        **kw,
    )
    result = verify(str(src), str(tmp_path / "out.csv"), settings)
    return read_csv(tmp_path / "out.csv"), result.report


def _list(per_host: int, hosts: list[str] = HOSTS) -> list[str]:
    return [f"u{i}@{h}.example" for h in hosts for i in range(per_host)]


def test_budget_holds_over_all_the_providers_hosts(env: Env, tmp_path: Path) -> None:
    emails = _list(120)
    rows, report = _run(
        env,
        tmp_path,
        emails,
        provider_mx=("corp.test=corp",),
        provider_budgets=("corp=1/20/0",),
    )
    assert len(rows) == len(emails) + 1
    assert all(r[rows[0].index("lc_reason")] in ("accepted", "accept_all") for r in rows[1:])
    assert env.tracker.most_open == 1  # one session at a time over the four hosts
    assert max(env.tracker.rcpts_per_session) <= 20
    assert {r[rows[0].index("lc_provider")] for r in rows[1:]} == {"corp"}
    stats = report["egress"]["providers"]["corp"]
    assert stats["most_sessions_at_once"] == 1 and stats["paused"] is None
    # the control: without the rule, each host is its own "provider" (2 sessions per host)
    env.reset()
    _run(env, tmp_path, emails)
    assert env.tracker.most_open > 1
    assert max(env.tracker.rcpts_per_session) > 20


def test_pace_of_new_sessions(env: Env, tmp_path: Path) -> None:
    """120 new sessions a minute: one every 0.5 s over all the provider's hosts. `plan` knows
    the pace, so its estimate is within 2x of the run."""
    emails = _list(20)
    budget = ("--provider-mx", "corp.test=corp", "--provider-budget", "corp=4/10/120")
    src = tmp_path / "plan.csv"
    src.write_text("email\n" + "\n".join(emails) + "\n")
    proc = run_cli(
        "plan",
        str(src),
        "--json",
        *lab_args(env.dns.address),
        "--smtp-port",
        str(env.lab.port),
        *budget,
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["providers"]["corp"]["budget"] == "4 sessions, 10 RCPTs each, 120 new/min"
    env.reset()
    _, report = _run(
        env,
        tmp_path,
        emails,
        provider_mx=("corp.test=corp",),
        provider_budgets=("corp=4/10/120",),
    )
    starts = sorted(env.tracker.starts)
    assert len(starts) >= 8  # 80 addresses + 4 catch-all tests, 10 RCPTs a session
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.45, gaps
    actual = report["run"]["stages"]["smtp_s"]
    estimate = plan["probe_time_estimate_s"]
    assert estimate / 2 <= actual <= estimate * 2, (estimate, actual)


def test_ip_block_pauses_the_provider(env: Env, tmp_path: Path) -> None:
    """The blocking host comes first in the list, and the budget is one session at a time:
    after its reply no other host of the provider is asked anything."""
    emails = [f"u{i}@blk.example" for i in range(3)] + _list(30)
    rows, report = _run(
        env,
        tmp_path,
        emails,
        provider_mx=("corp.test=corp",),
        provider_budgets=("corp=1/50/0",),
    )
    header = rows[0]
    status, reason, reply = (header.index(c) for c in ("lc_status", "lc_reason", "lc_smtp_reply"))
    good = env.servers[: len(HOSTS)]
    assert [len(s.rcpts) for s in good] == [0, 0, 0, 0]  # paused before they were asked
    assert {(r[status], r[reason]) for r in rows[1:]} == {("unknown", "ip_blocked")}
    assert sum("paused" in r[reply] for r in rows[1:]) == 4 * 30
    paused = report["egress"]["providers"]["corp"]["paused"]
    assert "mx.blk.corp.test" in paused and "spamhaus" in paused
    assert sum("provider corp paused" in n for n in report["notices"]) == 1  # said once
    # the control: without the provider rule the other hosts are asked (and accept)
    rows, report = _run(env, tmp_path, emails)
    assert all(len(s.rcpts) >= 30 for s in good)
    assert "providers" not in report["egress"] or not report["egress"]["providers"]


def test_parsers_refuse_bad_values() -> None:
    assert parse_budget("Google=2/50/10")[0] == "google"
    for bad in ("google", "google=2/50", "=1/1/1", "g=0/50/10", "g=2/0/10", "g=2/50/x"):
        with pytest.raises(ValueError):
            parse_budget(bad)
    for bad in ("corp", "=corp", "a b=corp", "corp.test=C O"):
        with pytest.raises(ValueError):
            parse_mx_rule(bad)
    providers = Providers.from_options(("corp.test=corp",), ("google=2/50/10",))
    assert providers.key("mx.a.corp.test") == "corp"
    assert providers.key("alt1.aspmx.l.google.com") == "google"
    assert providers.budget("google", 2).sessions == 2  # type: ignore[union-attr]
    assert providers.budget("", 2) is None  # unknown provider: per-host limits


def test_cli_usage_errors() -> None:
    for option, value in (("--provider-budget", "google=0/1/1"), ("--provider-mx", "x")):
        proc = run_cli("verify", "x.csv", "--offline", option, value)
        assert proc.returncode == 2
        assert b"Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_a_rate_limit_reply_slows_the_whole_provider() -> None:
    """Gate.slow_down (called for a rate-limit reply from any of the provider's hosts) doubles
    the pause between new sessions to the provider, from at least 2 s, up to 5 min; pace()
    spaces session starts by it."""
    import asyncio

    from listclean.politeness import Budget, Gate

    async def starts(gate: Gate, n: int) -> list[float]:
        out = []
        for _ in range(n):
            await gate.pace()
            out.append(asyncio.get_running_loop().time())
        return out

    async def main() -> None:
        gate = Gate("corp", Budget(sessions=2, rcpts_per_session=10, per_minute=600))
        assert gate.interval == pytest.approx(0.1)
        got = await starts(gate, 3)
        assert got[2] - got[0] == pytest.approx(0.2, abs=0.05)
        gate.slow_down()
        assert gate.interval == 2.0 and gate.slowed == 1
        gate.slow_down()
        assert gate.interval == 4.0
        for _ in range(10):
            gate.slow_down()
        assert gate.interval == 300.0
        unpaced = Gate("x", Budget(1, 1, 0))
        assert unpaced.interval == 0.0
        unpaced.slow_down()  # a provider with no pace gets one after a rate-limit reply
        assert unpaced.interval == 2.0

    asyncio.run(main())
