"""`listclean plan`: what a verification would do, without probing any mailbox.

Reads the list (offline checks), resolves its domains (unless --offline), groups the unique
addresses by MX host, and estimates SMTP sessions and time under the politeness limits. It
also checks whether outbound SMTP works from this machine by opening a connection to up to
three of the biggest MX hosts, reading the banner and saying QUIT: no MAIL, no RCPT.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from typing import Any

from listclean import csvio
from listclean.checks.replies import provider_unverifiable
from listclean.checks.verdict import apply_dns, needs_dns
from listclean.model import Reason
from listclean.pipeline import Memo, build_checker, default_helo, resolve_domains
from listclean.probes.dns import MxHost
from listclean.probes.egress import Egress as Routes
from listclean.probes.egress import Proxy, RouteDown, label
from listclean.probes.smtp import (
    ADDRESSES_PER_PARALLEL_SESSION,
    MAX_RCPT_PER_SESSION,
    Connection,
    SmtpFailure,
)
from listclean.settings import Settings

# Assumptions of the time estimate, for a server on the Internet (not loopback):
SESSION_SETUP_S = 1.5  # connect, banner, EHLO, STARTTLS, EHLO
RCPT_S = 0.1  # per recipient, pipelined batches over a ~100 ms round trip


def make_plan(input_path: str, settings: Settings) -> dict[str, Any]:
    src = csvio.open_source(
        input_path,
        encoding=settings.encoding,
        delimiter=settings.delimiter,
        column=settings.column,
        sheet=settings.sheet,
    )
    memo = Memo(build_checker(settings))
    rows = 0
    unique: set[str] = set()
    reasons: Counter[str] = Counter()
    per_domain: Counter[str] = Counter()
    try:
        for batch in src.batches(settings.batch_rows):
            for raw in src.emails(batch):
                rows += 1
                result = memo.get(raw or "")
                if not result.normalized or result.normalized in unique:
                    continue
                unique.add(result.normalized)
                reasons[result.reason.value] += 1
                if needs_dns(result) and result.reason is Reason.NOT_PROBED:
                    per_domain[result.domain] += 1
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
            hosts_of[key] = info.hosts
    sessions = 0
    host_times = []
    for count in groups.values():
        parallel = max(
            1, min(settings.smtp_per_host, math.ceil(count / ADDRESSES_PER_PARALLEL_SESSION))
        )
        n_sessions = max(1, math.ceil(count / MAX_RCPT_PER_SESSION))
        sessions += n_sessions
        host_times.append((n_sessions * SESSION_SETUP_S + count * RCPT_S) / parallel)
    total_work = sum(host_times)
    seconds = max([0.0, *host_times, total_work / max(1, settings.smtp_concurrency)])
    biggest = groups.most_common(10)
    plan.update(
        {
            "dns_queries": egress.get("dns_queries", 0),
            "settled_by_dns": dict(settled.most_common()),
            "to_probe": sum(groups.values()),
            "mx_groups": len(groups),
            "top_mx": [{"mx": key[0], "addresses": n} for key, n in biggest],
            "smtp_sessions_estimate": sessions,
            "probe_time_estimate_s": round(seconds, 1),
            "estimate_assumes": f"{SESSION_SETUP_S}s per session set-up, {RCPT_S}s per recipient,"
            f" {settings.smtp_per_host} sessions per host, {settings.smtp_concurrency} in all",
            "helo": settings.helo or default_helo(),
            "port25": asyncio.run(_port_check([hosts_of[k] for k, _ in biggest[:3]], settings)),
        }
    )
    return plan


def _probe_placeholder(domain: str) -> Any:
    from listclean.model import Result

    return Result(Reason.NOT_PROBED, normalized=f"x@{domain}", domain=domain)


async def _port_check(groups: list[tuple[MxHost, ...]], settings: Settings) -> dict[str, Any]:
    """The egress plan: for each route the biggest MX hosts would take (direct, or a SOCKS5
    proxy), a banner and QUIT on up to three of them: no MAIL, no RCPT."""
    routes = Routes.from_options(settings.proxies, settings.routes, settings.source_address)
    by_route: dict[str, tuple[Proxy | None, list[MxHost]]] = {}
    for hosts in groups:
        for proxy in routes.choices(hosts[0].name):
            by_route.setdefault(label(proxy), (proxy, []))[1].append(hosts[0])
    plan: dict[str, Any] = {}
    for name, (proxy, hosts) in by_route.items():
        plan[name] = await _banner_check(hosts, proxy, routes.source_address, settings)
    if not plan:
        return {"direct": {"outbound_smtp": "not checked (no MX host to try)", "tried": []}}
    return plan


async def _banner_check(
    hosts: list[MxHost], proxy: Proxy | None, source: str | None, settings: Settings
) -> dict[str, Any]:
    tried: list[dict[str, str]] = []
    for host in hosts[:3]:
        if not host.addresses:
            continue
        try:
            conn = await Connection.open(
                host.name,
                host.addresses[0],
                settings.smtp_port,
                min(settings.smtp_timeout, 10),
                proxy,
                source,
            )
            code, _ = await conn.reply()
            await conn.close()
            tried.append({"host": host.name, "result": f"banner {code}"})
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
