"""Orchestration: read batches, check each unique address once, probe, write in input order.

Offline runs make one pass over the input. Networked runs make two: the first collects the
unique addresses and domains (so DNS and SMTP work can be grouped by domain and MX host across
the whole list), the second writes the output with the verdicts, in input order.
"""

from __future__ import annotations

import asyncio
import getpass
import platform
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from listclean import __version__, csvio
from listclean.checks.lists import DomainLists, disposable_version, read_domain_file
from listclean.checks.verdict import OfflineChecker, apply_dns, needs_dns
from listclean.model import LC_COLUMNS, Flag, Reason, Result
from listclean.probes.dns import (
    DomainInfo,
    Resolver,
    parse_nameserver,
    system_nameservers,
    without_private,
)
from listclean.report import Tally
from listclean.settings import Settings
from listclean.store import Store

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


def default_output(input_path: str) -> str:
    if input_path == "-":
        return "-"
    p = Path(input_path)
    return str(p.with_name(f"{p.stem}.verified.csv"))


def default_report(output: str) -> Path | None:
    if output == "-":
        return None
    p = Path(output)
    return p.with_name(f"{p.stem}.report.json")


def _domain_of(normalized: str) -> str:
    return normalized.rpartition("@")[2]


def annotate(
    emails: Sequence[str | None],
    first_row: int,
    lookup: Callable[[str], Result],
    seen: dict[str, int],
    tally: Tally,
) -> dict[str, list[str]]:
    """The lc_ columns for one batch. first_row is the 1-based data-row number of emails[0]."""
    cols: dict[str, list[str]] = {name: [] for name in LC_COLUMNS}
    status, reason, norm, flags, sugg, mx, code, reply, dup = cols.values()
    for offset, raw in enumerate(emails):
        result = lookup(raw or "")
        row_flags = [f.value for f in result.flags]
        duplicate_of = ""
        if result.normalized:
            first = seen.setdefault(result.normalized, first_row + offset)
            if first != first_row + offset:
                duplicate_of = str(first)
                row_flags.append(Flag.DUPLICATE.value)
            tally.domains[_domain_of(result.normalized)] += 1
        elif result.detail:
            tally.syntax_messages[result.detail] += 1
        st = result.status.value
        status.append(st)
        reason.append(result.reason.value)
        norm.append(result.normalized)
        flags.append(";".join(row_flags))
        sugg.append(result.suggestion)
        mx.append(result.mx)
        code.append(result.smtp_code)
        reply.append(result.smtp_reply)
        dup.append(duplicate_of)
        tally.status[st] += 1
        tally.reason[result.reason.value] += 1
        tally.flags.update(row_flags)
    tally.rows += len(emails)
    return cols


def _with_dns(memo: Memo, infos: dict[str, DomainInfo]) -> Callable[[str], Result]:
    def lookup(raw: str) -> Result:
        result = memo.get(raw)
        info = infos.get(result.domain)
        if info is None:
            return result
        return apply_dns(result, info.reason, info.mx)

    return lookup


def resolve_domains(
    domains: list[str],
    settings: Settings,
    egress: dict[str, Any],
    progress: ProgressCallback = _no_progress,
) -> dict[str, DomainInfo]:
    """DNS for every unique domain, from the cache where it is fresh."""
    if settings.nameservers:
        servers = [parse_nameserver(ns) for ns in settings.nameservers]
    else:
        servers = system_nameservers()
    store = Store(settings.home) if settings.use_cache else None
    infos: dict[str, DomainInfo] = {}
    try:
        if store is not None:
            for domain, data in store.get_domains(domains).items():
                infos[domain] = DomainInfo.from_json(data)
        egress["domains_from_cache"] = len(infos)
        todo = [d for d in domains if d not in infos]
        total = len(domains)
        progress("dns", len(infos), total)
        resolver = Resolver(
            servers,
            timeout=settings.dns_timeout,
            concurrency=settings.dns_concurrency,
            allow_private=True,  # cached unfiltered; the policy is applied below
        )
        fresh = asyncio.run(
            resolver.resolve_many(todo, on_done=lambda d, i: progress("dns", 1, total))
        )
        infos.update(fresh)
        egress["dns_queries"] = resolver.queries
        egress["domains_resolved"] = len(fresh)
        if store is not None:
            store.put_domains([(d, i.to_json(), i.ttl) for d, i in fresh.items() if _cacheable(i)])
    finally:
        if store is not None:
            store.close()
    if settings.allow_private_mx:
        return infos
    return {d: without_private(d, i) for d, i in infos.items()}


def _cacheable(info: DomainInfo) -> bool:
    """Failures to get an answer are not remembered; answers are, for their TTL."""
    return info.reason not in (Reason.DNS_ERROR, Reason.DNS_TIMEOUT)


def verify(
    input_path: str,
    output: str | None,
    settings: Settings,
    *,
    report_path: Path | None = None,
    progress: ProgressCallback = _no_progress,
    notices: list[str] | None = None,
) -> RunResult:
    """Run a whole verification. Raises ListcleanError subclasses for run-level failures."""
    notes: list[str] = notices if notices is not None else []
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    output = output or default_output(input_path)
    checker = build_checker(settings)
    src = csvio.open_source(
        input_path,
        encoding=settings.encoding,
        delimiter=settings.delimiter,
        column=settings.column,
    )
    try:
        memo = Memo(checker)
        lookup: Callable[[str], Result] = memo.get
        egress: dict[str, Any] = {
            "dns_queries": 0,
            "domains_resolved": 0,
            "domains_from_cache": 0,
            "mx_hosts_contacted": 0,
            "smtp_sessions": 0,
            "rcpt_commands": 0,
            "tls_sessions": 0,
        }
        if not settings.offline:
            domains: set[str] = set()
            progress("scan", 0, src.lines)
            for batch in src.batches(settings.batch_rows):
                for raw in src.emails(batch):
                    result = memo.get(raw or "")
                    if needs_dns(result):
                        domains.add(result.domain)
                progress("scan", batch.height, src.lines)
            infos = resolve_domains(sorted(domains), settings, egress, progress)
            lookup = _with_dns(memo, infos)
        writer = csvio.Writer(output, src.out_separator)
        try:
            writer.header(src.out_header)
            tally = Tally()
            seen: dict[str, int] = {}
            row = 1
            progress("write", 0, src.lines)
            for batch in src.batches(settings.batch_rows):
                emails = src.emails(batch)
                cols = annotate(emails, row, lookup, seen, tally)
                frame = src.kept(batch).with_columns(
                    [pl.Series(name, values, dtype=pl.String) for name, values in cols.items()]
                )
                writer.batch(frame)
                row += batch.height
                progress("write", batch.height, src.lines)
            output_sha = writer.commit()
        except BaseException:
            writer.abort()
            raise
    finally:
        src.close()
    finished = datetime.now(UTC)
    duration = time.perf_counter() - t0
    report = {
        "listclean_version": __version__,
        "run": {
            "started": started.isoformat(),
            "finished": finished.isoformat(),
            "duration_s": round(duration, 3),
            "rows_per_s": round(tally.rows / duration, 1) if duration > 0 else 0.0,
            "user": _user(),
            "host": platform.node(),
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
        "output": {"path": csvio.display_name(output), "sha256": output_sha, "rows": writer.rows},
        "counts": tally.as_dict(),
        "unique_addresses": len(seen),
        "egress": egress,
        "lists": {"disposable_email_domains": disposable_version()},
        "settings": settings.public(),
        "notices": notes,
    }
    if report_path is None:
        report_path = default_report(output)
    if report_path is not None:
        from listclean.report import write_json

        try:
            write_json(report_path, report)
        except OSError as exc:
            from listclean.errors import OutputError

            raise OutputError(f"cannot write report {report_path}: {exc.strerror or exc}") from None
        report["report_path"] = str(report_path)
    return RunResult(report=report, output=output, notices=notes)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "unknown"


__all__ = ["RunResult", "verify", "annotate", "Reason"]
