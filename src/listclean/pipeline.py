"""Orchestration: read batches, check each unique address once, probe, write in input order.

Every run reads the input once, in batches, and computes the offline verdict of each batch as
Polars columns (``fastpath.offline_frame``). Offline runs write each batch at once. Networked
runs work in chunks of ``chunk_rows`` rows: resolve the chunk's new domains, probe its unique
addresses grouped by MX host list, merge the outcomes into the columns
(``fastpath.apply_network``) and write the chunk. Only domain-level state (MX answers,
catch-all verdicts, the prober's counters) and the duplicate index outlive a chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import errno
import gc
import hashlib
import json
import platform
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from listclean import __version__, audit
from listclean.cache import Cache
from listclean.checks.lists import DomainLists, disposable_version, read_domain_file
from listclean.checks.replies import provider_unverifiable, sanitize_reply
from listclean.checks.verdict import OfflineChecker
from listclean.errors import ConfigError, ListcleanError, OutputError
from listclean.evidence import Evidence, apply_evidence
from listclean.fastpath import (
    DOMAIN_SCHEMA,
    PROBE_SCHEMA,
    UNDECIDED,
    DuplicateCollector,
    DuplicateIndex,
    PlannedDuplicates,
    apply_network,
    dedupe_key,
    finish,
    offline_frame,
    tally_columns,
    with_duplicates,
)
from listclean.files import is_special, spool_dir, spool_name
from listclean.io.atomic import AtomicFile, display_name, prepared, write_error
from listclean.io.source import Source, is_workbook, open_source
from listclean.io.writers import SplitWriter, Writer
from listclean.model import Flag, Reason, Result
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
from listclean.report import Tally, json_text, render_html
from listclean.sender import helo_name, mail_from
from listclean.settings import Settings

ProgressCallback = Callable[[str, int, int | None], None]
"""(stage, amount done since last call, total or None) — the CLI turns it into a progress bar."""

MEMO_SIZE = 200_000


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


class Memo:
    """Offline results per raw cell (trimmed), bounded so memory stays flat on huge lists."""

    def __init__(self, checker: OfflineChecker, size: int = MEMO_SIZE) -> None:
        self.checker = checker
        self.size = size
        self.cache: OrderedDict[str, Result] = OrderedDict()
        self.checked = 0

    def get(self, raw: str) -> Result:
        key = raw.strip()
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        result = self.checker.check(key)
        self.checked += 1
        self.cache[key] = result
        if len(self.cache) > self.size:
            self.cache.popitem(last=False)
        return result

    def clear(self) -> None:
        self.cache.clear()


@dataclass
class RunResult:
    report: dict[str, Any]
    output: str
    notices: list[str] = field(default_factory=list)


def build_checker(settings: Settings) -> OfflineChecker:
    extra = read_domain_file(settings.disposable_list) if settings.disposable_list else frozenset()
    allow = read_domain_file(settings.allow_list) if settings.allow_list else frozenset()
    return OfflineChecker(
        DomainLists(extra_disposable=extra, allow=allow),
        allow_test_domains=settings.allow_test_domains,
    )


def default_output(input_path: str, fmt: str = "csv") -> str:
    if input_path == "-":
        return "-"
    p = Path(input_path)
    if fmt == "csv" and is_workbook(input_path):
        fmt = "xlsx"  # a workbook in, a workbook out
    return str(p.with_name(f"{p.stem}.verified.{fmt}"))


def output_format(output: str, settings: Settings) -> str:
    """--format, or xlsx when the output is named .xlsx."""
    if settings.output_format == "csv" and output != "-" and is_workbook(output):
        return "xlsx"
    return settings.output_format


def default_report(output: str) -> Path | None:
    from listclean.files import is_special

    if output == "-" or is_special(output):
        return None  # stdout, /dev/null, a FIFO...: no report beside it
    p = Path(output)
    return p.with_name(f"{p.stem}.report.json")


_FLAGS_TEXT: dict[tuple[tuple[Flag, ...], bool], str] = {}


def _flags_text(flags: tuple[Flag, ...], duplicate: bool) -> str:
    key = (flags, duplicate)
    text = _FLAGS_TEXT.get(key)
    if text is None:
        names = [f.value for f in flags] + ([Flag.DUPLICATE.value] if duplicate else [])
        text = _FLAGS_TEXT[key] = ";".join(names)
    return text


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
            found = self.cache.store.all_domains(todo)
            kept = {d: DomainInfo.from_json(v) for d, v in found.items()}
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
            self.catchall.update(cache.store.all_catchall(names))
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
        prober.results = results
        prober.catchall.update(self.catchall)
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

        prober.on_result = on_result
        prober.on_catchall = on_catchall
        progress("smtp", 0, total)
        try:
            if self.engine is not None:
                self._probe_on_engine(prober, todo, on_result, on_catchall)
            else:
                asyncio.run(prober.run(todo))
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
        undecided = {d for d, v in prober.catchall.items() if v is None}
        if undecided:
            domain_of = {t.key: t.domain for _, ts in todo for t in ts}
            for address, probe in list(results.items()):
                name = domain_of.get(address, "")
                if name in undecided and probe.reason is Reason.ACCEPTED:
                    last = prober.catchall_last.get(name)
                    results[address] = _undecided_catchall(probe, last)
            for name in undecided:
                del prober.catchall[name]  # asked again in a later chunk
        prober.results = {}
        return results

    def _probe_on_engine(
        self,
        prober: Prober,
        todo: list[tuple[tuple[MxHost, ...], list[Target]]],
        on_result: Callable[[str, Probe], None],
        on_catchall: Callable[[str, bool], None],
    ) -> None:
        """The chunk's probes on the engine's nodes, merged as if this prober had run them:
        the same results, catch-all facts, counters and cut-offs, the cache on this machine."""
        known = dict(prober.catchall)
        chunk_stats: dict[str, dict[str, Any]] = {}
        for outcome in self.engine.probe(todo, self.providers, known):
            for key, probe in outcome.results.items():
                prober.results[key] = probe
                on_result(key, probe)
            for domain, fact in outcome.catchall.items():
                if fact is None:
                    if prober.catchall.get(domain) is None:
                        prober.catchall[domain] = None
                        if domain in outcome.catchall_last:
                            prober.catchall_last[domain] = outcome.catchall_last[domain]
                elif domain not in known or known[domain] is None:
                    prober.catchall[domain] = fact
                    on_catchall(domain, fact)
            egress = prober.egress
            egress.sessions += outcome.sessions
            egress.rcpt += outcome.rcpt
            egress.tls += outcome.tls
            egress.hosts |= outcome.hosts
            for label, n in outcome.routes.items():
                egress.routes[label] = egress.routes.get(label, 0) + n
            egress.mx_routes.update(outcome.mx_routes)
            prober.banner_provider.update(outcome.banner_provider)
            for host, why in outcome.cut_off.items():
                prober.cut_off.setdefault(host, why)
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


class AnnotateRun:
    """Verdict columns for a frame of addresses outside a file run (``listclean.annotate``,
    ``listclean.check``, ``listclean check``): the same offline checks, DNS, probes, cache and
    merge rules as ``verify``, for one frame held in memory. No audit line: no file was read."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.checker = build_checker(settings)
        self.memo = Memo(self.checker)
        self.egress = new_egress()
        self.notes: list[str] = []

    def columns(self, emails: pl.Series) -> dict[str, pl.Series]:
        frame, _ = offline_frame(emails, self.checker, self.memo.get, _flags_text)
        frame = with_duplicates(frame, DuplicateIndex(), 1, self.settings.dedupe)
        if not self.settings.offline:
            _check_home(self.settings.home)
            cache = Cache(self.settings) if self.settings.use_cache else None
            try:
                network = NetworkStage(self.settings, self.egress, self.notes, cache)
                domains = network.resolve([frame])
                probes = network.probe([frame], domains)
                domains = network.domain_frame(domains.get_column("_domain").to_list())
                frame = apply_network(frame, domains, _probe_frame(probes))
            finally:
                if cache is not None:
                    cache.close()
        evidence = Evidence.open(self.settings)
        if evidence is not None:
            try:
                frame = apply_evidence(frame, evidence.facts(frame.get_column("lc_normalized")))
            finally:
                evidence.close()
        return finish(frame)


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


_malloc_trim: Callable[[int], int] | None
try:
    _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
except (OSError, AttributeError):  # not glibc
    _malloc_trim = None


def _release_memory() -> None:
    """Hand the memory of a finished networked chunk back to the system.

    Probing leaves reference cycles behind (asyncio tasks, exceptions and their tracebacks for
    every failed connection) that only a full collection frees, and glibc keeps freed heap
    until asked. Without both, a run's memory crept up for its first ~5 chunks (bench/biglist.py:
    242 MB at 200k rows, 288 MB at 1M; with them, 238 and 250 MB).
    """
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)


def _first_pass(
    src: Source,
    batch_rows: int,
    checker: OfflineChecker,
    memo: Memo,
    tally: Tally,
    progress: ProgressCallback,
    spool: Path,
    dedupe: str = "casefold",
) -> tuple[PlannedDuplicates, Iterator[pl.DataFrame]]:
    """For a big list: compute every batch's offline verdicts, keep them in temporary files and
    find the duplicates; the returned iterator gives the batches' frames back, in order.

    Memory stays bounded by a batch and a part of the duplicate keys, whatever the list's size.
    The files (verdict columns, which hold the normalized addresses, and hashed keys) live in a
    private temporary directory (0700) that is removed as soon as the run ends.
    """
    tmp = tempfile.TemporaryDirectory(prefix=spool_name("pass1"), dir=spool)
    paths: list[Path] = []
    try:
        collector = DuplicateCollector(Path(tmp.name), src.lines)
        row = 1
        for number, batch in enumerate(src.batches(batch_rows)):
            frame, messages = offline_frame(src.email_series(batch), checker, memo.get, _flags_text)
            memo.clear()
            tally.syntax_messages.update(messages)
            collector.add(dedupe_key(frame.get_column("lc_normalized"), dedupe), row)
            path = Path(tmp.name) / f"frame-{number}.arrow"
            frame.write_ipc(path)
            paths.append(path)
            row += batch.height
            progress("check", batch.height, src.rows_estimate())
        seen = collector.finish()
    except BaseException:
        tmp.cleanup()
        raise

    def frames() -> Iterator[pl.DataFrame]:
        with tmp:
            for path in paths:
                frame = pl.read_ipc(path)
                path.unlink()
                yield frame

    return seen, frames()


def _iso(epoch: float) -> str:
    """UTC, ISO 8601 to the second ("" when unknown)."""
    if not epoch:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _probe_frame(probes: dict[str, Probe]) -> pl.DataFrame:
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


def _chunks(batches: Iterable[Any], rows: int) -> Iterator[list[Any]]:
    """Group batches into chunks of about `rows` rows: networked work is done chunk by chunk."""
    chunk: list[Any] = []
    size = 0
    for batch in batches:
        chunk.append(batch)
        size += batch.height
        if size >= rows:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


@contextlib.contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = round(timings.get(key, 0.0) + time.perf_counter() - start, 3)


def fingerprint(input_sha256: str, settings: Settings) -> str:
    """What makes two runs "the same run" for --resume: the input and the verdict options."""
    options = settings.public()
    for key in ("resume", "show_addresses", "home", "batch_rows", "chunk_rows", "prepass_rows"):
        options.pop(key, None)
    blob = json.dumps([input_sha256, options], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


class Interrupted(ListcleanError):
    """Ctrl-C or SIGTERM: what was decided is kept; the message says how to go on."""

    exit_code = 130


def verify(
    input_path: str,
    output: str | None,
    settings: Settings,
    *,
    report_path: Path | None = None,
    progress: ProgressCallback = _no_progress,
    notices: list[str] | None = None,
    log: Callable[[str, str], None] | None = None,
) -> RunResult:
    """Run a whole verification. Raises ListcleanError subclasses for run-level failures.

    Every run, whatever its end, appends one line to the audit log.
    """
    notes: list[str] = notices if notices is not None else []
    _check_home(settings.home)
    run_id = uuid.uuid4().hex[:16]
    started = datetime.now(UTC)
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "state": "failed",
        "started": started.isoformat(),
        "finished": None,
        "user": audit.user(),
        "host": platform.node(),
        "listclean_version": __version__,
        "lists": {"disposable_email_domains": disposable_version()},
        "settings": settings.public(),
        "input": {"path": display_name(input_path)},
        "output": {
            "path": display_name(output or default_output(input_path, settings.output_format))
        },
        "counts": {},
        "egress": {},
    }
    try:
        report = _verify(input_path, output, settings, manifest, report_path, progress, notes, log)
        return RunResult(report=report, output=report["output"]["path"], notices=notes)
    except KeyboardInterrupt:
        manifest["state"] = "interrupted"
        raise Interrupted(
            "interrupted; what was decided is saved. To continue, run the same command with "
            "--resume" + ("" if settings.use_cache else " (and without --no-cache)")
        ) from None
    except ListcleanError as exc:
        manifest["state"] = "failed"
        manifest["error"] = str(exc)
        raise
    finally:
        manifest["finished"] = datetime.now(UTC).isoformat()
        try:
            audit.append(settings.home, _keyed_manifest(manifest, settings.home))
        except (OSError, ListcleanError) as exc:
            notes.append(f"could not write the audit log in {settings.home}: {exc}")


def _check_home(home: Path) -> None:
    """Before any work: the home is ours (no link, our owner, 0700) and so are its files."""
    from listclean.store import check_private, ensure_home

    ensure_home(home)
    for name in ("key", audit.FILE):
        check_private(home / name)


def _keyed_manifest(manifest: dict[str, Any], home: Path) -> dict[str, Any]:
    """The manifest as kept in the shared home: every hash of list data keyed (HMAC) with the
    home's key, so the log cannot confirm a guessed list or address. The report the user asked
    for keeps the plain SHA-256, for them to compare with `sha256sum`."""
    from listclean.vault import Vault

    vault = Vault.open(home)
    kept = dict(manifest)
    for part in ("input", "output"):
        section = dict(kept.get(part) or {})
        if section.get("sha256"):
            section["sha256"] = vault.keyed(str(section["sha256"]))
        kept[part] = section
    return kept


def _verify(
    input_path: str,
    output: str | None,
    settings: Settings,
    manifest: dict[str, Any],
    report_path: Path | None,
    progress: ProgressCallback,
    notes: list[str],
    log: Callable[[str, str], None] | None = None,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    output = output or default_output(input_path, settings.output_format)
    checker = build_checker(settings)
    spool = spool_dir(settings.home)
    src = open_source(
        input_path,
        encoding=settings.encoding,
        delimiter=settings.delimiter,
        column=settings.column,
        tmpdir=spool,
        sheet=settings.sheet,
    )
    manifest["input"] = {"path": src.name, "sha256": src.sha256, "bytes": src.size}
    networked = not settings.offline
    if settings.resume and not settings.use_cache:
        src.close()
        raise ConfigError("--resume continues from the cache; drop --no-cache")
    if settings.from_cache and (settings.offline or not settings.use_cache or settings.resume):
        src.close()
        raise ConfigError(
            "--from-cache reads the cache instead of the network; drop --offline, --no-cache "
            "and --resume"
        )
    cache: Cache | None = None
    evidence: Evidence | None = None
    engine: Any = None
    try:
        evidence = Evidence.open(settings)
        if networked and settings.use_cache:
            cache = Cache(settings)
            fp = fingerprint(cache.vault.keyed(src.sha256), settings)
            if settings.resume:
                previous = cache.store.resumable_run(fp)
                if previous is None:
                    raise ConfigError(
                        "nothing to resume: no interrupted run of this input with these "
                        "options; run it without --resume"
                    )
                notes.append(f"resuming run {previous}")
                manifest["resumed_from"] = previous
            if not settings.from_cache:  # nothing to resume in a run without sockets
                cache.store.start_run(manifest["run_id"], fp)
        memo = Memo(checker)
        timings: dict[str, float] = {}
        egress = new_egress()
        manifest["egress"] = egress
        if settings.engine == "ray":
            from listclean.engines.rayengine import RayEngine

            engine = RayEngine(settings, notes)
            manifest["engine"] = {"name": "ray", "egress_nodes": len(engine.egress)}
        writer = Writer(
            output,
            src.out_separator,
            output_format(output, settings),
            spool=spool,
            bom=src.bom,
            crlf=src.crlf,
            encoding=src.out_encoding,
        )
        split = None
        if settings.split_dir is not None:
            split = SplitWriter(
                settings.split_dir,
                src.out_separator,
                spool=spool,
                bom=src.bom,
                crlf=src.crlf,
                encoding=src.out_encoding,
            )
        network = (
            NetworkStage(settings, egress, notes, cache, progress, log, engine)
            if networked
            else None
        )
        spilled: Iterator[pl.DataFrame] | None = None
        try:
            writer.header(src.out_header, src.preamble)
            if split is not None:
                split.header(src.out_header, src.preamble)
            tally = Tally()
            row = 1
            if network is not None:
                chunk_rows = settings.chunk_rows
                batch_rows = max(1, min(settings.batch_rows, chunk_rows // 2))
            else:
                chunk_rows, batch_rows = 1, settings.batch_rows  # offline: chunk = batch
            seen: DuplicateIndex | PlannedDuplicates = DuplicateIndex()
            if src.lines > settings.prepass_rows:  # a big list: two passes, bounded memory
                with _timed(timings, "check_s"):
                    seen, spilled = _first_pass(
                        src, batch_rows, checker, memo, tally, progress, spool, settings.dedupe
                    )
            for chunk in _chunks(src.batches(batch_rows), chunk_rows):
                with _timed(timings, "check_s"):
                    frames: list[tuple[pl.DataFrame, list[str]]] = []
                    remote: list[tuple[pl.DataFrame, list[str]]] = []
                    if engine is not None and spilled is None:  # offline checks on Ray tasks
                        remote = engine.offline_frames([src.email_series(b) for b in chunk])
                    for n, batch in enumerate(chunk):
                        messages: list[str]
                        if spilled is not None:  # its syntax messages are counted already
                            frame, messages = next(spilled), []
                        elif remote:
                            frame, messages = remote[n]
                        else:
                            frame, messages = offline_frame(
                                src.email_series(batch), checker, memo.get, _flags_text
                            )
                        frame = with_duplicates(frame, seen, row, settings.dedupe)
                        frames.append((frame, messages))
                        row += batch.height
                if network is not None:
                    with _timed(timings, "dns_s"):
                        domains = network.resolve([f for f, _ in frames])
                    with _timed(timings, "smtp_s"):
                        probes = network.probe([f for f, _ in frames], domains)
                    # the catch-all tests ran while probing: take their verdicts in
                    domains = network.domain_frame(domains.get_column("_domain").to_list())
                    probe_frame = _probe_frame(probes)
                    del probes
                with _timed(timings, "write_s"):
                    for batch, (frame, messages) in zip(chunk, frames, strict=True):
                        if network is not None:
                            frame = apply_network(frame, domains, probe_frame)
                        if evidence is not None:
                            facts = evidence.facts(frame.get_column("lc_normalized"))
                            frame = apply_evidence(frame, facts)
                        cols = finish(frame)
                        tally_columns(tally, cols, messages)
                        out = src.annotated(batch, cols)
                        writer.batch(out)
                        if split is not None:
                            split.batch(out)
                        progress("write", batch.height, src.rows_estimate())
                del chunk, frames
                memo.clear()
                if network is not None:
                    _release_memory()
            if engine is not None:
                egress["engine"] = engine.describe()
            output_sha = writer.prepare()
            split_rows = split.prepare() if split is not None else None
        except BaseException:
            if spilled is not None:
                spilled.close()  # type: ignore[attr-defined]  # removes the temporary files
            writer.abort()
            if split is not None:
                split.abort()
            raise
        registered = (
            cache is not None and not settings.from_cache
        )  # marked done once everything is published
    except KeyboardInterrupt:
        if cache is not None:
            cache.flush()
            cache.store.end_run(manifest["run_id"], "interrupted")
        raise
    finally:
        if cache is not None:
            cache.close()
        if evidence is not None:
            evidence.close()
        if engine is not None:
            engine.close()
        src.close()
    duration = time.perf_counter() - t0
    counts = tally.as_dict()
    manifest["input"]["rows"] = tally.rows
    manifest["output"] = {
        "path": display_name(output),
        "sha256": output_sha,
        "rows": writer.rows,
    }
    manifest["counts"] = counts["status"]
    report = {
        "listclean_version": __version__,
        "run": {
            "run_id": manifest["run_id"],
            "started": manifest["started"],
            "finished": datetime.now(UTC).isoformat(),
            "duration_s": round(duration, 3),
            "rows_per_s": round(tally.rows / duration, 1) if duration > 0 else 0.0,
            "stages": timings,
            "user": manifest["user"],
            "host": manifest["host"],
        },
        "input": {
            "path": src.name,
            "sha256": src.sha256,
            "bytes": src.size,
            "rows": tally.rows,
            "email_column": src.email_column,
            "has_header": src.has_header,
            "delimiter": src.out_separator,
        },
        "output": manifest["output"],
        "split": (
            {"dir": str(settings.split_dir), "rows": split_rows} if split_rows is not None else None
        ),
        "counts": counts,
        "unique_addresses": len(seen),
        "learned": {"addresses_matched": evidence.matched} if evidence is not None else None,
        "egress": egress,
        "lists": manifest["lists"],
        "settings": manifest["settings"],
        "notices": notes,
        "manifest": manifest,
    }
    if report_path is None:
        report_path = default_report(output)
    html_path = settings.html_path
    if html_path is None and report_path is not None and output != "-" and not is_special(output):
        html_path = report_path.with_suffix(".html")
    # All or nothing: the reports are written in full before any output becomes visible; if
    # one cannot be written, neither is the output (nor, with -o -, a byte of stdout).
    pending: list[AtomicFile] = []
    try:
        try:
            manifest["state"] = "done"
            if report_path is not None:
                report["report_path"] = str(report_path)
            if html_path is not None:
                report["html_path"] = str(html_path)
            if report_path is not None:
                pending.append(prepared(report_path, json_text(report).encode(), spool=spool))
            if html_path is not None:
                pending.append(prepared(html_path, render_html(report).encode(), spool=spool))
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise write_error("the report", exc) from None
            raise OutputError(
                f"cannot write the report: {exc.strerror or exc}; nothing was written"
            ) from None
        if split is not None:
            split.publish()
        for item in pending:
            try:
                item.publish()
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise write_error("the report", exc) from None
                raise OutputError(f"cannot write the report: {exc.strerror or exc}") from None
        writer.publish()  # last: stdout cannot be taken back
        if registered:
            # only now is the run over: until here, --resume can take it up again
            from listclean.store import Store

            store = Store(settings.home)
            try:
                store.end_run(manifest["run_id"], "done")
            finally:
                store.close()
    except BaseException:
        manifest["state"] = "failed"
        for item in pending:
            item.abort()
        writer.abort()
        if split is not None:
            split.abort()
        raise
    return report


__all__ = ["RunResult", "verify", "Reason"]
