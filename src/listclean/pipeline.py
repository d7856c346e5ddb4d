"""Orchestration: read batches, check each unique address once, probe, write in input order.

Every run reads the input once, in batches, and computes the offline verdict of each batch as
Polars columns (``fastpath.offline_frame``). Offline runs write each batch at once. Networked
runs work in chunks of ``chunk_rows`` rows: resolve the chunk's new domains, probe its unique
addresses grouped by MX host list, merge the outcomes into the columns
(``fastpath.apply_network``) and write the chunk. Only domain-level state (MX answers,
catch-all verdicts, the prober's counters) and the duplicate index outlive a chunk.
"""

from __future__ import annotations

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from listclean import __version__, audit
from listclean.cache import Cache
from listclean.checks.lists import DomainLists, disposable_version, read_domain_file
from listclean.checks.verdict import OfflineChecker
from listclean.errors import ConfigError, ListcleanError, OutputError
from listclean.evidence import Evidence, apply_evidence
from listclean.fastpath import (
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
from listclean.network import NetworkStage, new_egress
from listclean.report import Tally, build_report, json_text, render_html
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
                frame = apply_network(frame, *network.chunk([frame]))
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
                previous = cache.resumable_run(fp)
                if previous is None:
                    raise ConfigError(
                        "nothing to resume: no interrupted run of this input with these "
                        "options; run it without --resume"
                    )
                notes.append(f"resuming run {previous}")
                manifest["resumed_from"] = previous
            if not settings.from_cache:  # nothing to resume in a run without sockets
                cache.start_run(manifest["run_id"], fp)
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
                    domains, probe_frame = network.chunk([f for f, _ in frames], timings)
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
            cache.end_run(manifest["run_id"], "interrupted")
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
    report = build_report(
        manifest=manifest,
        finished=datetime.now(UTC).isoformat(),
        duration=duration,
        timings=timings,
        tally_counts=counts,
        rows=tally.rows,
        source={
            "path": src.name,
            "sha256": src.sha256,
            "bytes": src.size,
            "email_column": src.email_column,
            "has_header": src.has_header,
            "delimiter": src.out_separator,
        },
        split=(
            {"dir": str(settings.split_dir), "rows": split_rows} if split_rows is not None else None
        ),
        unique=len(seen),
        learned={"addresses_matched": evidence.matched} if evidence is not None else None,
        egress=egress,
        notes=notes,
    )
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
