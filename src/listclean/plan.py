"""`listclean plan`: what a verification would do, without probing any mailbox.

Reads the list (offline checks), resolves its domains (unless --offline), groups the unique
addresses by MX host, and estimates SMTP sessions and time under the politeness limits. It
also checks whether outbound SMTP works from this machine by opening a connection to up to
three of the biggest MX hosts, reading the banner and saying QUIT: no MAIL, no RCPT.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import polars as pl

from listclean.checks.replies import provider_unverifiable
from listclean.checks.verdict import apply_dns
from listclean.fastpath import offline_frame
from listclean.io.source import open_source
from listclean.model import Reason
from listclean.network import resolve_domains
from listclean.pipeline import Memo, _flags_text, build_checker
from listclean.politeness import Budget, Providers
from listclean.probes.dns import MxHost
from listclean.probes.egress import Egress as Routes
from listclean.probes.egress import Proxy, RouteDown, label
from listclean.probes.smtp import (
    ADDRESSES_PER_PARALLEL_SESSION,
    MAX_ERRORS,
    MAX_RCPT_PER_SESSION,
    MAX_RCPT_PER_TRANSACTION,
    MIN_BATCH,
    PIPELINE_DEPTH,
    Connection,
    SmtpFailure,
    _tls_context,
)
from listclean.sender import check_identity, describe, helo_name
from listclean.settings import Settings

# The time estimate (#20 item 6) follows what the prober does (probes/smtp.py): sessions of at
# most MAX_RCPT_PER_SESSION recipients, a new session once fewer than MIN_BATCH of the
# MAX_ERRORS rejections a session may take are left, PIPELINE_DEPTH RCPTs per round trip,
# an RSET every MAX_RCPT_PER_TRANSACTION, smtp_per_host sessions at once on a host and
# smtp_concurrency in all, plus one catch-all RCPT per domain. Session set-up and the round
# trip are measured on the biggest MX hosts (the port-25 check below); these are used only
# when nothing could be measured:
ASSUMED_SETUP_S = 1.5  # connect, banner, EHLO, STARTTLS, EHLO on the Internet
ASSUMED_RTT_S = 0.1
# listclean's (and a local server's) CPU per recipient on the reference 2-core machine:
# 5,000 addresses on one loopback Postfix (`listclean plan`/`verify` on bulk.lab.test) took
# 1.6-1.8 s without TLS and 2.7-2.9 s with it (84 sessions).
CPU_PER_RCPT_S = 0.00033
CPU_PER_RCPT_TLS_S = 0.00052
# Share of probed addresses a server rejects (they use up the session's error allowance): a
# guess for a list that was not cleaned before; the testbed's bulk mailboxes have 10 %.
ASSUMED_REJECTED = 0.10
ERRORS_PER_SESSION = MAX_ERRORS - MIN_BATCH + 1  # rejections a session takes before a new one


@dataclass(frozen=True)
class Timing:
    """What one SMTP session costs on the hosts of a list."""

    setup_s: float  # connect to the second EHLO (after STARTTLS when the host offers it)
    rtt_s: float  # one command's round trip
    measured_on: int = 0  # hosts measured (0: the assumed Internet figures)
    tls: bool = True  # sessions are encrypted (STARTTLS offered and not turned off)


def estimate(
    groups: list[tuple[int, int, str]],
    timing: Timing,
    settings: Settings,
    providers: Providers | None = None,
) -> dict[str, Any]:
    """Sessions and seconds of the SMTP stage for MX groups given as (addresses, domains,
    provider key).

    A host's time is its sessions' set-up and round trips shared over its parallel sessions,
    plus CPU per recipient; the run takes the longest host, or all hosts' time shared over
    smtp_concurrency, or the CPU time of every recipient, whichever is largest. The groups of a
    provider with a budget (docs/politeness.md) share its sessions and its pace of new sessions,
    as one host would. Greylisting cannot be seen without probing: when a host greylists, its
    addresses wait greylist_delay up to greylist_retries times, which `if_greylisted_s` adds.
    """
    providers = providers or Providers()
    sessions_total = 0
    host_times: list[float] = []
    cpu = 0.0
    shared: dict[str, list[float]] = {}  # provider -> [sessions, work seconds, cpu]
    sessions: float
    for addresses, domains, key in groups:
        budget = providers.budget(key, settings.smtp_per_host)
        cap = MAX_RCPT_PER_SESSION if budget is None else budget.rcpts_per_session
        rcpts = addresses + domains  # one catch-all test per domain
        sessions = max(
            1,
            math.ceil(rcpts / cap),
            math.ceil(rcpts * ASSUMED_REJECTED / ERRORS_PER_SESSION),
        )
        round_trips = (
            sessions  # MAIL FROM
            + math.ceil(rcpts / PIPELINE_DEPTH)
            + rcpts // MAX_RCPT_PER_TRANSACTION  # RSET
        )
        host_cpu = rcpts * (CPU_PER_RCPT_TLS_S if timing.tls else CPU_PER_RCPT_S)
        cpu += host_cpu
        sessions_total += sessions
        work = sessions * timing.setup_s + round_trips * timing.rtt_s
        if budget is not None:
            acc = shared.setdefault(key, [0.0, 0.0, 0.0])
            acc[0] += sessions
            acc[1] += work
            acc[2] += host_cpu
            continue
        parallel = max(
            1,
            min(
                settings.smtp_per_host, math.ceil(rcpts / ADDRESSES_PER_PARALLEL_SESSION), sessions
            ),
        )
        host_times.append(work / parallel + host_cpu)
    for key, (sessions, work, host_cpu) in shared.items():
        budget = providers.budget(key, settings.smtp_per_host)
        assert budget is not None
        parallel = max(1, min(budget.sessions, int(sessions)))
        pace = (sessions - 1) * 60.0 / budget.per_minute if budget.per_minute else 0.0
        host_times.append(max(work / parallel + host_cpu, pace))
    seconds = max([0.0, *host_times, sum(host_times) / max(1, settings.smtp_concurrency), cpu])
    greylist = settings.greylist_delay * settings.greylist_retries if groups else 0.0
    if timing.measured_on:
        basis = (
            f"session set-up {timing.setup_s * 1000:.1f} ms and round trip "
            f"{timing.rtt_s * 1000:.1f} ms, measured on {timing.measured_on} MX host(s)"
        )
    else:
        basis = (
            f"session set-up {timing.setup_s} s and round trip {timing.rtt_s} s, assumed "
            "(nothing measured)"
        )
    return {
        "smtp_sessions_estimate": sessions_total,
        "probe_time_estimate_s": round(seconds, 1),
        "if_greylisted_s": round(seconds + greylist, 1),
        "estimate_assumes": [
            basis,
            f"{(CPU_PER_RCPT_TLS_S if timing.tls else CPU_PER_RCPT_S) * 1000:.2f} ms CPU per "
            f"recipient{' under TLS' if timing.tls else ''} (measured on 2 cores, see plan.py)",
            f"{ASSUMED_REJECTED:.0%} of addresses rejected, a new session every "
            f"{ERRORS_PER_SESSION} rejections or {MAX_RCPT_PER_SESSION} recipients",
            f"{settings.smtp_per_host} sessions per host, {settings.smtp_concurrency} in all, "
            f"{PIPELINE_DEPTH} RCPTs per round trip, one catch-all test per domain",
            f"a greylisting host adds {settings.greylist_delay:g} s x "
            f"{settings.greylist_retries} retries; a host that stops answering costs at most "
            f"--host-budget {settings.host_budget:g} s",
        ],
    }


def make_plan(input_path: str, settings: Settings) -> dict[str, Any]:
    src = open_source(
        input_path,
        encoding=settings.encoding,
        delimiter=settings.delimiter,
        column=settings.column,
        sheet=settings.sheet,
    )
    checker = build_checker(settings)
    memo = Memo(checker)
    rows = 0
    unique: set[str] = set()
    reasons: Counter[str] = Counter()
    per_domain: Counter[str] = Counter()
    try:
        for batch in src.batches(settings.batch_rows):
            # the run's own vectorised offline pass (fastpath), not a per-row loop
            frame, _ = offline_frame(src.email_series(batch), checker, memo.get, _flags_text)
            memo.clear()
            rows += frame.height
            firsts = frame.filter(pl.col("lc_normalized") != "").select(
                "lc_normalized", "lc_reason", "_domain"
            )
            for normalized, reason, domain in firsts.iter_rows():
                if normalized in unique:
                    continue
                unique.add(normalized)
                reasons[reason] += 1
                if domain and reason == Reason.NOT_PROBED.value:
                    per_domain[domain] += 1
    finally:
        src.close()
    plan: dict[str, Any] = {
        "input": src.name,
        "rows": rows,
        "unique_addresses": len(unique),
        "offline_verdicts": dict(reasons.most_common()),
        "domains": len(per_domain),
    }
    if settings.offline:
        plan["note"] = "offline: no DNS, so no MX grouping, session or time estimate"
        return plan
    egress: dict[str, Any] = {}
    infos = resolve_domains(sorted(per_domain), settings, egress, None)
    groups: Counter[tuple[str, ...]] = Counter()
    group_domains: Counter[tuple[str, ...]] = Counter()
    hosts_of: dict[tuple[str, ...], tuple[MxHost, ...]] = {}
    settled: Counter[str] = Counter()
    for domain, count in per_domain.items():
        info = infos[domain]
        decided = apply_dns(_probe_placeholder(domain), info.reason, info.mx)
        if decided.reason is not Reason.NOT_PROBED:
            settled[decided.reason.value] += count
        elif provider_unverifiable(info.mx):
            settled[Reason.PROVIDER_UNVERIFIABLE.value] += count
        else:
            key = tuple(h.name for h in info.hosts)
            groups[key] += count
            group_domains[key] += 1
            hosts_of[key] = info.hosts
    providers = Providers.from_options(settings.provider_mx, settings.provider_budgets)
    by_provider: Counter[str] = Counter()
    for key, n in groups.items():
        by_provider[providers.key(key[0])] += n
    biggest = groups.most_common(10)
    port25, samples = asyncio.run(_port_check([hosts_of[k] for k, _ in biggest[:3]], settings))
    timing = Timing(ASSUMED_SETUP_S, ASSUMED_RTT_S, tls=settings.starttls)
    if samples:
        timing = Timing(
            setup_s=statistics.median(s[0] for s in samples),
            rtt_s=statistics.median(s[1] for s in samples),
            measured_on=len(samples),
            tls=any(s[2] for s in samples),
        )
    plan.update(
        {
            "dns_queries": egress.get("dns_queries", 0),
            "settled_by_dns": dict(settled.most_common()),
            "to_probe": sum(groups.values()),
            "mx_groups": len(groups),
            "top_mx": [{"mx": key[0], "addresses": n} for key, n in biggest],
            "providers": {
                key or "(none)": {
                    "addresses": n,
                    "budget": b.text()
                    if (b := providers.budget(key, settings.smtp_per_host))
                    else f"{settings.smtp_per_host} sessions per host",
                }
                for key, n in by_provider.most_common()
            },
            **estimate(
                [(n, group_domains[k], providers.key(k[0])) for k, n in groups.items()],
                timing,
                settings,
                providers,
            ),
            "helo": helo_name(settings),
            "sender": describe(check_identity(settings), settings),
            **(
                {
                    "ray": ray_plan(
                        [
                            (n, group_domains[k], providers.key(k[0]), k[0])
                            for k, n in groups.items()
                        ],
                        timing,
                        settings,
                        providers,
                    )
                }
                if settings.engine == "ray"
                else {}
            ),
            "port25": port25,
        }
    )
    return plan


def ray_plan(
    groups: list[tuple[int, int, str, str]],
    timing: Timing,
    settings: Settings,
    providers: Providers,
    egress: list[str] | None = None,
) -> dict[str, Any]:
    """`plan --engine ray`: how the probes would be partitioned over the cluster's egress nodes
    (the same rule as engines/rayengine.partition, on counts), each node's share of every
    provider's budget, and the time: the slowest node's estimate."""
    from listclean.engines.rayengine import _stable, cluster_egress

    nodes = egress if egress is not None else cluster_egress(settings)
    count = max(1, len(nodes))
    per_node: list[list[tuple[int, int, str]]] = [[] for _ in range(count)]
    shares: list[dict[str, Budget]] = [{} for _ in range(count)]
    table: dict[str, dict[str, Any]] = {}
    for addresses, domains, key, host in groups:
        budget = providers.budget(key, settings.smtp_per_host)
        row = table.setdefault(
            key or "(none)", {"addresses": 0, "nodes": set(), "budget_per_node": {}}
        )
        row["addresses"] += addresses
        if budget is None or count == 1:
            node = _stable(key or host) % count
            per_node[node].append((addresses, domains, key))
            row["nodes"].add(nodes[node] if nodes else "local")
            if budget is not None:
                shares[node][key] = budget
                row["budget_per_node"][nodes[node] if nodes else "local"] = budget.text()
            continue
        n = max(1, min(count, budget.sessions))
        first = _stable(key) % count
        for i in range(n):
            node = (first + i) % count
            share = Budget(
                budget.sessions // n + (1 if i < budget.sessions % n else 0),
                budget.rcpts_per_session,
                budget.per_minute / n,
            )
            shares[node][key] = share
            per_node[node].append((math.ceil(addresses / n), math.ceil(domains / n), key))
            row["nodes"].add(nodes[node])
            row["budget_per_node"][nodes[node]] = share.text()
    times = []
    for i in range(count):
        if not per_node[i]:
            continue
        node_providers = Providers(providers.rules, tuple(shares[i].items()))
        times.append(
            estimate(per_node[i], timing, settings, node_providers)["probe_time_estimate_s"]
        )
    return {
        "egress_nodes": nodes or ["(one local egress)"],
        "providers": {k: {**v, "nodes": sorted(v["nodes"])} for k, v in sorted(table.items())},
        "probe_time_estimate_s": max(times, default=0.0),
    }


def _probe_placeholder(domain: str) -> Any:
    from listclean.model import Result

    return Result(Reason.NOT_PROBED, normalized=f"x@{domain}", domain=domain)


async def _port_check(
    groups: list[tuple[MxHost, ...]], settings: Settings
) -> tuple[dict[str, Any], list[tuple[float, float, bool]]]:
    """The egress plan: for each route the biggest MX hosts would take (direct, or a SOCKS5
    proxy), a session up to EHLO (after STARTTLS, as the run does) and QUIT on up to three of
    them: no MAIL, no RCPT. Also the (set-up, round trip) seconds of each session."""
    samples: list[tuple[float, float, bool]] = []
    routes = Routes.from_options(settings.proxies, settings.routes, settings.source_address)
    by_route: dict[str, tuple[Proxy | None, list[MxHost]]] = {}
    for group in groups:
        for proxy in routes.choices(group[0].name):
            by_route.setdefault(label(proxy), (proxy, []))[1].append(group[0])
    plan: dict[str, Any] = {}
    for name, (proxy, hosts) in by_route.items():
        plan[name] = await _banner_check(hosts, proxy, routes.source_address, settings, samples)
    if not plan:
        plan = {"direct": {"outbound_smtp": "not checked (no MX host to try)", "tried": []}}
    return plan, samples


async def _session(
    host: MxHost, proxy: Proxy | None, source: str | None, settings: Settings
) -> tuple[str, tuple[float, float, bool] | None]:
    """One session up to EHLO (after STARTTLS when offered and wanted), a NOOP and QUIT:
    what it showed, and its (set-up, round trip) seconds when it got that far."""
    helo = helo_name(settings)
    started = time.perf_counter()
    conn = await Connection.open(
        host.name,
        host.addresses[0],
        settings.smtp_port,
        min(settings.smtp_timeout, 10),
        proxy,
        source,
    )
    try:
        code, _ = await conn.reply()
        if code != 220:
            return f"banner {code}", None
        await conn.hello(helo)
        if settings.starttls and "STARTTLS" in conn.extensions:
            await conn.starttls(helo)
        setup = time.perf_counter() - started
        sent = time.perf_counter()
        await conn.command("NOOP")
        sample = (setup, time.perf_counter() - sent, conn.tls)
        return "banner 220, EHLO" + (" after STARTTLS" if conn.tls else ""), sample
    finally:
        await conn.close()


async def _banner_check(
    hosts: list[MxHost],
    proxy: Proxy | None,
    source: str | None,
    settings: Settings,
    samples: list[tuple[float, float, bool]],
) -> dict[str, Any]:
    tried: list[dict[str, str]] = []
    _tls_context()  # built once per run (~35 ms): not a per-session cost
    for host in hosts[:3]:
        if not host.addresses:
            continue
        try:
            result, first = await _session(host, proxy, source, settings)
            tried.append({"host": host.name, "result": result})
            if first is not None:
                # Two more sessions show the steady state, averaged: a server's first session
                # after a pause may include starting a process (Postfix's smtpd), and on
                # loopback TLS set-up alternates between ~4 and ~47 ms (delayed ACKs).
                more = [(await _session(host, proxy, source, settings))[1] for _ in range(2)]
                steady = [m for m in more if m is not None] or [first]
                samples.append(
                    (
                        statistics.fmean(m[0] for m in steady),
                        statistics.fmean(m[1] for m in steady),
                        first[2],
                    )
                )
            return {"outbound_smtp": "works", "tried": tried}
        except RouteDown as exc:
            return {"outbound_smtp": f"proxy unusable: {exc.message}", "tried": tried}
        except SmtpFailure as exc:
            tried.append({"host": host.name, "result": exc.text})
    if not tried:
        return {"outbound_smtp": "not checked (no MX host to try)", "tried": tried}
    return {
        "outbound_smtp": f"looks blocked: port {settings.smtp_port} unreachable",
        "tried": tried,
    }
