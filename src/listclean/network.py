"""The network stage of a run: DNS and SMTP for the chunks of a list, and what they learn.

``NetworkStage`` is the one object that owns a run's resolver answers (``infos``), its prober
(one per run: per-domain facts, counters, the "port 25 looks blocked" state), the catch-all
facts, the cache it reads and checkpoints through, and the egress record the report shows.
``pipeline`` feeds it chunk by chunk (``chunk``) and gets back two frames to merge with the
offline columns: one row per domain (fastpath.DOMAIN_SCHEMA) and one per probed address
(fastpath.PROBE_SCHEMA). Nothing outside sets its attributes or its prober's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl

from listclean.cache import Cache
from listclean.checks.replies import provider_unverifiable, sanitize_reply
from listclean.fastpath import DOMAIN_SCHEMA, PROBE_SCHEMA, UNDECIDED, apply_network
from listclean.model import Flag, Reason
from listclean.politeness import Providers
from listclean.probes.dns import (
    DomainInfo,
    MxHost,
    Resolver,
    parse_nameserver,
    system_nameservers,
    without_private,
)
from listclean.probes.egress import Egress as Routes
from listclean.probes.smtp import Probe, Prober, SmtpConfig, Target
from listclean.sender import helo_name, mail_from
from listclean.settings import Settings

ProgressCallback = Callable[[str, int, int | None], None]
"""(stage, amount done since last call, total or None) — the CLI turns it into a progress bar."""


def _no_progress(stage: str, done: int, total: int | None) -> None:
    pass


class NetworkStage:
    """DNS and SMTP for one run, fed chunk by chunk so memory is bounded by the chunk.

    What must outlive a chunk is domain-level and small: MX answers, catch-all verdicts, the
    prober (its egress counters and the "port 25 looks blocked" state).
    """

    def __init__(
        self,
        settings: Settings,
        egress: dict[str, Any],
        notes: list[str],
        cache: Cache | None,
        progress: ProgressCallback = _no_progress,
        log: Callable[[str, str], None] | None = None,
        engine: Any = None,
    ) -> None:
        self.settings, self.egress, self.notes = settings, egress, notes
        self.engine = engine  # engines.rayengine.RayEngine, or None: probe here
        self.engine_providers: dict[str, dict[str, Any]] = {}
        self.banner_provider: dict[str, str] = {}  # MX host -> provider from its greeting
        self.cache, self.progress, self.log = cache, progress, log
        self.infos: dict[str, DomainInfo] = {}
        self.catchall: dict[str, bool] = {}
        self.cut_off: dict[str, str] = {}  # MX hosts cut off as slow, and why
        self.prober: Prober | None = None
        self.providers = Providers.from_options(settings.provider_mx, settings.provider_budgets)

    def chunk(
        self, frames: Sequence[pl.DataFrame], timings: dict[str, float] | None = None
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """DNS, then SMTP, for one chunk's offline frames: (one row per domain, one row per
        probed address), for fastpath.apply_network. ``timings`` gets dns_s and smtp_s added."""
        clock = time.perf_counter()
        domains = self.resolve(frames)
        dns_done = time.perf_counter()
        probes = self.probe(frames, domains)
        # the catch-all tests ran while probing: take their verdicts in
        domains = self.domain_frame(domains.get_column("_domain").to_list())
        if timings is not None:
            for key, seconds in (
                ("dns_s", dns_done - clock),
                ("smtp_s", time.perf_counter() - dns_done),
            ):
                timings[key] = round(timings.get(key, 0.0) + seconds, 3)
        return domains, probe_frame(probes)

    def resolve(self, frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
        """MX answers for the chunk's domains that are not known yet; the chunk's domain facts.

        ``frames`` are offline_frame results. The returned frame (fastpath.DOMAIN_SCHEMA) has
        one row per domain of the chunk that DNS was asked about.
        """
        wanted: set[str] = set()
        for frame in frames:
            undecided = frame.filter(
                (pl.col("_domain") != "") & pl.col("lc_reason").is_in(UNDECIDED)
            )
            wanted.update(undecided.get_column("_domain").unique().to_list())
        todo = sorted(d for d in wanted if d not in self.infos)
        if todo and self.settings.from_cache:
            # no socket: the MX answers kept by earlier runs, whatever their age; a domain
            # never resolved before keeps its offline verdict (not_probed)
            assert self.cache is not None
            kept = self.cache.all_domains(todo)
            found = kept
            if not self.settings.allow_private_mx:  # the same policy as a live run
                kept = {d: without_private(d, i) for d, i in kept.items()}
            self.infos.update(kept)
            self.egress["domains_from_cache"] += len(found)
        elif todo:
            self.infos.update(
                resolve_domains(todo, self.settings, self.egress, self.cache, self.progress)
            )
        return self.domain_frame(sorted(d for d in wanted if d in self.infos))

    def domain_frame(self, domains: list[str]) -> pl.DataFrame:
        infos, catchall = self.infos, self.catchall
        return pl.DataFrame(
            {
                "_domain": domains,
                "dns_reason": [
                    r.value if (r := infos[d].reason) is not None else None for d in domains
                ],
                "dns_mx": [infos[d].mx for d in domains],
                "unverifiable": [provider_unverifiable(infos[d].mx) for d in domains],
                "accept_all": [catchall.get(d, False) for d in domains],
                "provider": [
                    self.providers.key(infos[d].mx) or self.banner_provider.get(infos[d].mx, "")
                    for d in domains
                ],
            },
            schema=DOMAIN_SCHEMA,
        )

    def _new_prober(self) -> Prober:
        return Prober(smtp_config(self.settings, self.providers), warn=self.notes.append)

    def probe(self, frames: Sequence[pl.DataFrame], domains: pl.DataFrame) -> dict[str, Probe]:
        """RCPT probes for the chunk's unique addresses whose domains have usable mail hosts."""
        probe_domains = domains.filter(
            pl.col("dns_reason").is_null() & ~pl.col("unverifiable")
        ).get_column("_domain")
        no_probes = pl.DataFrame(schema=PROBE_SCHEMA)
        groups: dict[tuple[str, ...], tuple[tuple[MxHost, ...], dict[str, Target]]] = {}
        for frame in frames:
            candidates = (
                apply_network(frame, domains, no_probes)
                .filter(
                    (pl.col("lc_reason") == Reason.NOT_PROBED.value)
                    & pl.col("_domain").is_in(probe_domains.implode())
                )
                .select(
                    "lc_normalized",
                    "_domain",
                    utf8=pl.col("_flags").str.contains(Flag.SMTPUTF8.value, literal=True),
                )
                .unique("lc_normalized", keep="first", maintain_order=True)
            )
            for normalized, domain, utf8 in candidates.iter_rows():
                info = self.infos[domain]
                key = tuple(h.name for h in info.hosts)
                group = groups.setdefault(key, (info.hosts, {}))
                if normalized not in group[1]:
                    group[1][normalized] = Target(
                        key=normalized,
                        rcpt=f"{normalized.rpartition('@')[0]}@{domain}",
                        domain=domain,
                        smtputf8=utf8,
                    )
        if not groups:
            return {}
        results: dict[str, Probe] = {}
        cache = self.cache
        names = sorted({t.domain for _, ts in groups.values() for t in ts.values()})
        if self.settings.from_cache:
            assert cache is not None
            targets = [t for _, ts in groups.values() for t in ts.values()]
            self.catchall.update(cache.all_catchall(names))
            domain_of = {t.key: t.domain for t in targets}
            kept = cache.kept(targets)
            # the same rule as a reuse: an accept means nothing without its catch-all fact
            results = {
                key: probe
                for key, probe in kept.items()
                if probe.reason is not Reason.ACCEPTED or domain_of[key] in self.catchall
            }
            self.egress["addresses_from_cache"] += len(results)
            return results
        if cache is not None:
            targets = [t for _, ts in groups.values() for t in ts.values()]
            results = cache.probes(targets)
            self.catchall.update(cache.catchall([d for d in names if d not in self.catchall]))
            # An accepted verdict is only worth reusing with its domain's catch-all fact: without
            # it, "accepted" would read as deliverable where a clean run says accept_all (the
            # fact expired, or the run that cached the address was killed before learning it).
            domain_of = {t.key: t.domain for t in targets}
            results = {
                key: probe
                for key, probe in results.items()
                if probe.reason is not Reason.ACCEPTED or domain_of[key] in self.catchall
            }
            self.egress["addresses_from_cache"] += len(results)
        todo = [
            (hosts, [t for k, t in targets.items() if k not in results])
            for hosts, targets in groups.values()
        ]
        todo = [(hosts, targets) for hosts, targets in todo if targets]
        if not todo:
            return results
        if self.prober is None:
            self.prober = self._new_prober()
        prober = self.prober
        prober.know_catchall(self.catchall)
        known = dict(prober.catchall)
        total = sum(len(targets) for _, targets in todo)
        seen_keys: set[str] = set()
        progress, log = self.progress, self.log

        def on_result(key: str, probe: Probe) -> None:
            if cache is not None:
                cache.checkpoint(key, probe)
            if log is not None:
                log(key, f"{probe.reason.value} {probe.code} via {probe.host}".rstrip())
            if key not in seen_keys:
                seen_keys.add(key)
                progress("smtp", 1, total)

        def on_catchall(domain: str, accept_all: bool) -> None:
            # kept at once: a run killed after this still knows the fact on --resume
            self.catchall[domain] = accept_all
            if cache is not None and known.get(domain) != accept_all:
                cache.save_catchall({domain: accept_all})

        progress("smtp", 0, total)
        try:
            if self.engine is not None:
                self._probe_on_engine(prober, todo, results, on_result, on_catchall)
            else:
                results = asyncio.run(
                    prober.run(todo, results=results, on_result=on_result, on_catchall=on_catchall)
                )
        finally:
            self.banner_provider.update({h: k for h, k in prober.banner_provider.items() if k})
            self.egress["mx_hosts_contacted"] = len(prober.egress.hosts)
            self.egress["smtp_sessions"] = prober.egress.sessions
            self.egress["rcpt_commands"] = prober.egress.rcpt
            self.egress["tls_sessions"] = prober.egress.tls
            self.egress["routes"] = dict(prober.egress.routes)  # labels: never credentials
            self.egress["mx_routes"] = dict(sorted(prober.egress.mx_routes.items()))
            # per provider: its budget, the most sessions it had at once, rate-limit replies,
            # and the reply that paused it (docs/politeness.md)
            self.egress["providers"] = (
                dict(sorted(self.engine_providers.items()))
                if self.engine is not None
                else prober.provider_stats()
            )
            if cache is not None:
                cache.flush()
            for host, why in prober.cut_off.items():
                if host not in self.cut_off:
                    self.cut_off[host] = why
                    self.notes.append(
                        f"{host} was cut off: {why}; its remaining addresses are "
                        "unknown/smtp_timeout. Retry them later (the others are cached), or "
                        "give the host more time with --host-budget and --smtp-timeout"
                    )
        # A domain whose catch-all test never got a final answer (greylisted to the end, the
        # host stopped answering): its accepted addresses may be a catch-all's, so they are
        # unknown with the test's own answer, never deliverable.
        undecided = prober.undecided_catchall()  # forgotten there: asked again in a later chunk
        if undecided:
            domain_of = {t.key: t.domain for _, ts in todo for t in ts}
            for address, probe in list(results.items()):
                name = domain_of.get(address, "")
                if name in undecided and probe.reason is Reason.ACCEPTED:
                    results[address] = _undecided_catchall(probe, undecided[name])
        return results

    def _probe_on_engine(
        self,
        prober: Prober,
        todo: list[tuple[tuple[MxHost, ...], list[Target]]],
        results: dict[str, Probe],
        on_result: Callable[[str, Probe], None],
        on_catchall: Callable[[str, bool], None],
    ) -> None:
        """The chunk's probes on the engine's nodes, merged as if this prober had run them:
        the same results, catch-all facts, counters and cut-offs, the cache on this machine."""
        known = dict(prober.catchall)
        chunk_stats: dict[str, dict[str, Any]] = {}
        for outcome in self.engine.probe(todo, self.providers, known):
            prober.absorb(outcome, known, results, on_result, on_catchall)
            for note in outcome.notes:
                if note not in self.notes:
                    self.notes.append(note)
            for key, stats in outcome.providers.items():
                row = chunk_stats.setdefault(
                    key,
                    {
                        "most_sessions_at_once": 0,
                        "rate_limit_replies": 0,
                        "paused": None,
                        "nodes": 0,
                    },
                )
                # the nodes run at once: their maxima added are an upper bound of the total
                row["most_sessions_at_once"] += int(stats["most_sessions_at_once"] or 0)
                row["rate_limit_replies"] += int(stats["rate_limit_replies"] or 0)
                row["paused"] = row["paused"] or stats["paused"]
                row["nodes"] += 1
        for key, row in chunk_stats.items():
            merged = self.engine_providers.setdefault(
                key,
                {
                    "budget": _whole_budget(self.providers, key),
                    "most_sessions_at_once": 0,
                    "rate_limit_replies": 0,
                    "paused": None,
                    "nodes": 0,
                },
            )
            merged["most_sessions_at_once"] = max(
                merged["most_sessions_at_once"], row["most_sessions_at_once"]
            )
            merged["rate_limit_replies"] += row["rate_limit_replies"]
            merged["paused"] = merged["paused"] or row["paused"]
            merged["nodes"] = max(merged["nodes"], row["nodes"])
        self.egress["engine"] = self.engine.describe()


def _whole_budget(providers: Providers, key: str) -> str:
    budget = providers.budget(key, 0)
    return budget.text() if budget is not None else "per MX host"


def smtp_config(
    settings: Settings, providers: Providers, source_address: str | None = None
) -> SmtpConfig:
    """The prober's configuration for a run (a Ray egress node passes its own source address)."""
    return SmtpConfig(
        port=settings.smtp_port,
        helo=helo_name(settings),
        mail_from=mail_from(settings),
        timeout=settings.smtp_timeout,
        per_host=settings.smtp_per_host,
        concurrency=settings.smtp_concurrency,
        greylist_delay=settings.greylist_delay,
        greylist_retries=settings.greylist_retries,
        host_budget=settings.host_budget,
        routes=Routes.from_options(
            settings.proxies, settings.routes, source_address or settings.source_address
        ),
        providers=providers,
        starttls=settings.starttls,
    )


def _undecided_catchall(accepted: Probe, last: Probe | None) -> Probe:
    reason = Reason.SMTP_ERROR
    if last is not None and last.reason in (Reason.GREYLISTED, Reason.RATE_LIMITED):
        reason = last.reason
    detail = f": {last.code} {last.reply}".rstrip() if last is not None else ""
    reply = sanitize_reply(f"accepted, but the catch-all test got no final answer{detail}")
    code = last.code if last is not None else ""
    return Probe(reason, code, reply, accepted.host, at=accepted.at)


def new_egress() -> dict[str, Any]:
    """The egress record of a run: what went out on the network, in counts."""
    return dict.fromkeys(
        (
            "dns_queries",
            "domains_resolved",
            "domains_from_cache",
            "mx_hosts_contacted",
            "smtp_sessions",
            "rcpt_commands",
            "tls_sessions",
            "addresses_from_cache",
        ),
        0,
    )


def resolve_domains(
    domains: list[str],
    settings: Settings,
    egress: dict[str, Any],
    cache: Cache | None,
    progress: ProgressCallback = _no_progress,
) -> dict[str, DomainInfo]:
    """DNS for every unique domain, from the cache where it is fresh."""
    if settings.nameservers:
        servers = [parse_nameserver(ns) for ns in settings.nameservers]
    else:
        servers = system_nameservers()
    infos: dict[str, DomainInfo] = cache.domains(domains) if cache is not None else {}
    egress["domains_from_cache"] = egress.get("domains_from_cache", 0) + len(infos)
    todo = [d for d in domains if d not in infos]
    total = len(domains)
    progress("dns", len(infos), total)
    resolver = Resolver(
        servers,
        timeout=settings.dns_timeout,
        concurrency=settings.dns_concurrency,
        allow_private=True,  # cached unfiltered; the policy is applied below
    )
    fresh = asyncio.run(resolver.resolve_many(todo, on_done=lambda d, i: progress("dns", 1, total)))
    infos.update(fresh)
    egress["dns_queries"] = egress.get("dns_queries", 0) + resolver.queries
    egress["domains_resolved"] = egress.get("domains_resolved", 0) + len(fresh)
    if cache is not None:
        cache.save_domains(fresh)
    if settings.allow_private_mx:
        return infos
    return {d: without_private(d, i) for d, i in infos.items()}


def _iso(epoch: float) -> str:
    """UTC, ISO 8601 to the second ("" when unknown)."""
    if not epoch:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def probe_frame(probes: dict[str, Probe]) -> pl.DataFrame:
    keys = list(probes)
    return pl.DataFrame(
        {
            "lc_normalized": keys,
            "p_reason": [probes[k].reason.value for k in keys],
            "p_code": [probes[k].code for k in keys],
            "p_reply": [probes[k].reply for k in keys],
            "p_host": [probes[k].host for k in keys],
            "p_at": [_iso(probes[k].at) for k in keys],
        },
        schema=PROBE_SCHEMA,
    )
