"""The per-row reference path: one Result per cell, the verdict rules applied one by one.

listclean itself computes whole batches as Polars columns (listclean.fastpath). This is the
obvious implementation of the same rules (checks/verdict.py's apply_dns and apply_smtp,
replies.provider_unverifiable), kept as the oracle the vectorised path is compared with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from listclean.checks.providers import provider_of
from listclean.checks.replies import provider_unverifiable
from listclean.checks.score import score
from listclean.checks.verdict import apply_dns, apply_smtp
from listclean.fastpath import DuplicateIndex
from listclean.model import Reason, Result, status_of
from listclean.pipeline import Memo, _flags_text
from listclean.probes.dns import DomainInfo
from listclean.probes.smtp import Probe
from listclean.report import Tally
from listclean.safety import neutralise_cell


def annotate(
    emails: Sequence[str | None],
    first_row: int,
    lookup: Callable[[str], Result],
    seen: DuplicateIndex,
    tally: Tally,
) -> dict[str, list[str]]:
    """The lc_ columns for one batch. first_row is the 1-based data-row number of emails[0]."""
    results = [lookup(raw or "") for raw in emails]
    # --dedupe casefold (the default): the local part is case-insensitive
    duplicate_of = seen.mark([r.normalized.lower() for r in results], first_row)
    statuses = [status_of(r.reason).value for r in results]
    reasons = [r.reason.value for r in results]
    flags = [_flags_text(r.flags, bool(d)) for r, d in zip(results, duplicate_of, strict=True)]
    tally.rows += len(results)
    tally.status.update(statuses)
    tally.reason.update(reasons)
    for text, count in Counter(flags).items():
        for flag in text.split(";") if text else ():
            tally.flags[flag] += count
    tally.domains.update(r.normalized.rpartition("@")[2] for r in results if r.normalized)
    tally.syntax_messages.update(r.detail for r in results if r.detail and not r.normalized)
    tally.mx.update(r.mx for r in results if r.mx)
    providers = [getattr(lookup, "provider", {}).get(r.domain, "") for r in results]
    tally.providers.update(zip(providers, statuses, strict=True))
    stamps = [getattr(lookup, "checked_at", {}).get(r.normalized, "") for r in results]
    if any(stamps):
        found = [s for s in stamps if s] + tally.checked
        tally.checked = [min(found), max(found)]
    return {
        "lc_status": statuses,
        "lc_reason": reasons,
        "lc_normalized": [neutralise_cell(r.normalized) for r in results],
        "lc_flags": flags,
        "lc_suggestion": [neutralise_cell(r.suggestion) for r in results],
        "lc_mx": [neutralise_cell(r.mx) for r in results],
        "lc_smtp_code": [r.smtp_code for r in results],
        "lc_smtp_reply": [neutralise_cell(r.smtp_reply) for r in results],
        "lc_duplicate_of": duplicate_of,
        "lc_provider": providers,
        "lc_score": [
            "" if (v := score(r.reason, [f.value for f in r.flags])) is None else str(v)
            for r in results
        ],
        "lc_checked_at": [getattr(lookup, "checked_at", {}).get(r.normalized, "") for r in results],
    }


def with_network(
    memo: Memo,
    infos: dict[str, DomainInfo],
    probes: dict[str, Probe],
    catchall: dict[str, bool],
) -> Callable[[str], Result]:
    """A lookup that merges DNS, provider and RCPT outcomes into each cell's offline result."""

    def lookup(raw: str) -> Result:
        result = memo.get(raw)
        info = infos.get(result.domain)
        if info is None:
            return result
        lookup.provider[result.domain] = provider_of(info.mx)  # type: ignore[attr-defined]
        result = apply_dns(result, info.reason, info.mx)
        if result.reason is not Reason.NOT_PROBED:
            return result
        if provider_unverifiable(info.mx):
            return result.evolve(reason=Reason.PROVIDER_UNVERIFIABLE)
        probe = probes.get(result.normalized)
        if probe is None:
            return result
        if probe.at:
            stamp = datetime.fromtimestamp(probe.at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            lookup.checked_at[result.normalized] = stamp  # type: ignore[attr-defined]
        return apply_smtp(
            result,
            probe.reason,
            probe.code,
            probe.reply,
            probe.host,
            catchall.get(result.domain, False),
        )

    lookup.provider = {}  # type: ignore[attr-defined]
    lookup.checked_at = {}  # type: ignore[attr-defined]
    return lookup
