"""`listclean diff OLD NEW`: what changed between two listclean outputs of the same list.

Rows are matched by address: ``lc_normalized`` case-folded (the same address typed in another
case is the same row), or, for rows without one (invalid syntax), by the trimmed cell of the
email column. A key seen twice in one file counts once (its first row). The result is a plain
dict (``--json`` prints it as is); ``render`` makes the terminal tables.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import polars as pl

from listclean.errors import InputError
from listclean.tables import EMAIL_HEADERS, find_column, read_table

NEEDED = ("lc_status", "lc_reason", "lc_normalized")
EXAMPLES = 5
BLOCKED = ("ip_blocked", "sender_rejected", "rate_limited")
NO_MAIL = ("invalid_domain", "no_mail_server", "null_mx")


def load_output(path: str, what: str) -> pl.DataFrame:
    """A listclean output as (key, domain, status, reason, flags, mx, email) rows."""
    frame = read_table(path, what)
    missing = [c for c in NEEDED if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} {path} is not a listclean output (no {', '.join(missing)} column); "
            "pass files written by `listclean verify`"
        )
    originals = [c for c in frame.columns if not c.startswith("lc_")]
    email = find_column(originals, *EMAIL_HEADERS) or (
        originals[0] if originals else "lc_normalized"
    )
    for col in ("lc_flags", "lc_mx"):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit("").alias(col))
    normalized = pl.col("lc_normalized").str.strip_chars()
    return frame.select(
        key=pl.when(normalized != "")
        .then(normalized.str.to_lowercase())
        .otherwise(pl.lit("raw:") + pl.col(email).str.strip_chars()),
        domain=pl.when(normalized != "")
        .then(normalized.str.split("@").list.last().str.to_lowercase())
        .otherwise(pl.lit("")),
        status=pl.col("lc_status"),
        reason=pl.col("lc_reason"),
        flags=pl.col("lc_flags"),
        mx=pl.col("lc_mx"),
        email=pl.col(email),
    ).unique("key", keep="first", maintain_order=True)


def _domain_facts(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    facts = (
        frame.filter(pl.col("domain") != "")
        .group_by("domain")
        .agg(
            catch_all=(
                (pl.col("reason") == "accept_all") | pl.col("flags").str.contains("accept_all")
            ).any(),
            greylisting=(pl.col("reason") == "greylisted").any(),
            blocked=pl.col("reason").is_in(BLOCKED).any(),
            no_mail=pl.col("reason").is_in(NO_MAIL).all(),
            mx=pl.col("mx").filter(pl.col("mx") != "").mode().first(),
        )
    )
    return {row["domain"]: row for row in facts.iter_rows(named=True)}


CHANGES = (
    ("catch_all", "became catch-all", "no longer catch-all"),
    ("greylisting", "started greylisting", "stopped greylisting"),
    ("blocked", "started refusing us (blocked or rate-limited)", "stopped refusing us"),
    ("no_mail", "stopped taking mail", "takes mail again"),
)


def diff(old_path: str, new_path: str) -> dict[str, Any]:
    old = load_output(old_path, "OLD")
    new = load_output(new_path, "NEW")
    joined = old.join(new, on="key", how="full", suffix="_new", coalesce=True)
    both = joined.filter(pl.col("status").is_not_null() & pl.col("status_new").is_not_null())
    added = joined.filter(pl.col("status").is_null())
    removed = joined.filter(pl.col("status_new").is_null())
    changed = both.filter(pl.col("status") != pl.col("status_new"))
    reason_only = both.filter(
        (pl.col("status") == pl.col("status_new")) & (pl.col("reason") != pl.col("reason_new"))
    )
    transitions: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in changed.iter_rows(named=True):
        pair = (row["status"], row["status_new"])
        transitions[pair] += 1
        if len(examples[pair]) < EXAMPLES:
            examples[pair].append(
                {
                    "address": row["email_new"] or row["email"],
                    "old_reason": row["reason"],
                    "new_reason": row["reason_new"],
                }
            )
    old_facts, new_facts = _domain_facts(old), _domain_facts(new)
    domains: list[dict[str, str]] = []
    for name in sorted(old_facts.keys() & new_facts.keys()):
        before, after = old_facts[name], new_facts[name]
        for key, became, stopped in CHANGES:
            if bool(before[key]) != bool(after[key]):
                domains.append({"domain": name, "change": became if after[key] else stopped})
        if before["mx"] and after["mx"] and before["mx"] != after["mx"]:
            domains.append(
                {"domain": name, "change": f"MX changed: {before['mx']} -> {after['mx']}"}
            )

    def status_counts(frame: pl.DataFrame) -> dict[str, int]:
        return dict(sorted(Counter(frame.get_column("status").to_list()).items()))

    return {
        "old": {"path": old_path, "rows": old.height, "status": status_counts(old)},
        "new": {"path": new_path, "rows": new.height, "status": status_counts(new)},
        "matched": both.height,
        "unchanged": both.height - changed.height - reason_only.height,
        "status_changes": [
            {"from": a, "to": b, "count": n, "examples": examples[(a, b)]}
            for (a, b), n in sorted(transitions.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "reason_changes": reason_only.height,
        "added": {
            "count": added.height,
            "examples": added.get_column("email_new").head(EXAMPLES).to_list(),
        },
        "removed": {
            "count": removed.height,
            "examples": removed.get_column("email").head(EXAMPLES).to_list(),
        },
        "domains": domains,
    }


def render(result: dict[str, Any]) -> list[Any]:
    """Rich renderables for the terminal (every value from the files neutralised)."""
    from rich.table import Table

    from listclean.safety import for_terminal

    out: list[Any] = []
    summary = Table(title="listclean diff", show_header=True)
    summary.add_column("")
    summary.add_column("OLD")
    summary.add_column("NEW")
    summary.add_row(
        "file", for_terminal(result["old"]["path"]), for_terminal(result["new"]["path"])
    )
    summary.add_row("addresses", str(result["old"]["rows"]), str(result["new"]["rows"]))
    for status in ("deliverable", "risky", "unknown", "undeliverable"):
        summary.add_row(
            status,
            str(result["old"]["status"].get(status, 0)),
            str(result["new"]["status"].get(status, 0)),
        )
    out.append(summary)
    lines = [
        f"matched {result['matched']}: {result['unchanged']} unchanged, "
        f"{sum(c['count'] for c in result['status_changes'])} changed status, "
        f"{result['reason_changes']} changed reason only; "
        f"{result['added']['count']} new, {result['removed']['count']} removed"
    ]
    out.extend(lines)
    if result["status_changes"]:
        table = Table(title="status changes")
        for col in ("from", "to", "count", "examples"):
            table.add_column(col)
        for change in result["status_changes"]:
            shown = "; ".join(
                f"{e['address']} ({e['old_reason']} -> {e['new_reason']})"
                for e in change["examples"][:3]
            )
            table.add_row(change["from"], change["to"], str(change["count"]), for_terminal(shown))
        out.append(table)
    if result["domains"]:
        table = Table(title="domains whose behaviour changed")
        table.add_column("domain")
        table.add_column("change")
        for item in result["domains"]:
            table.add_row(for_terminal(item["domain"]), for_terminal(item["change"]))
        out.append(table)
    return out
