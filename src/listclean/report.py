"""Run summary: counts per status/reason/flag, top domains, the JSON report, the terminal table."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from listclean.model import Status

TOP = 20


@dataclass
class Tally:
    """Per-row counts accumulated while the output is written."""

    rows: int = 0
    status: Counter[str] = field(default_factory=Counter)
    reason: Counter[str] = field(default_factory=Counter)
    flags: Counter[str] = field(default_factory=Counter)
    domains: Counter[str] = field(default_factory=Counter)
    syntax_messages: Counter[str] = field(default_factory=Counter)
    mx: Counter[str] = field(default_factory=Counter)
    providers: Counter[tuple[str, str]] = field(default_factory=Counter)  # (provider, status)
    checked: list[str] = field(default_factory=list)  # [oldest, newest] lc_checked_at

    def count_domains(self, counts: Any) -> None:
        """Add a Polars frame of (domain, count) rows to ``domains``. (One dict update per
        batch: 0.08 s instead of 0.14 s of += per row on 400k rows; summing the frames in
        Polars instead was faster still but held ~50 MB more at 2M rows, #19.)"""
        names, rows = (counts.get_column(c).to_list() for c in counts.columns[:2])
        self.domains.update(dict(zip(names, rows, strict=True)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "status": {s.value: self.status.get(s.value, 0) for s in Status},
            "reason": dict(_ranked(self.reason)),
            "flags": dict(_ranked(self.flags)),
            "top_domains": [{"domain": d, "rows": n} for d, n in _ranked(self.domains, TOP)],
            "syntax_messages": dict(_ranked(self.syntax_messages, TOP)),
            "top_mx": [{"mx": m, "rows": n} for m, n in _ranked(self.mx, TOP)],
            "providers": self._providers(),
            # the age range of the probes behind the verdicts (cache reuse shows here)
            "checked_at": (
                {"oldest": self.checked[0], "newest": self.checked[1]} if self.checked else None
            ),
        }

    def _providers(self) -> dict[str, dict[str, int]]:
        """Rows per provider and status, biggest provider first ("" is no known provider)."""
        totals: Counter[str] = Counter()
        for (provider, _), n in self.providers.items():
            totals[provider] += n
        return {
            provider: {s.value: self.providers.get((provider, s.value), 0) for s in Status}
            for provider, _ in _ranked(totals)
        }


def _ranked(counter: Counter[str], top: int | None = None) -> list[tuple[str, int]]:
    """Most common first; ties in name order, so a report does not depend on row order."""
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked if top is None else ranked[:top]


def build_report(
    *,
    manifest: dict[str, Any],
    finished: str,
    duration: float,
    timings: dict[str, float],
    tally_counts: dict[str, Any],
    rows: int,
    source: dict[str, Any],
    split: dict[str, Any] | None,
    unique: int,
    learned: dict[str, int] | None,
    egress: dict[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    """The JSON report of a run, from its values (the shape is docs/design.md's and the
    README's; tests/test_report_files.py reads it back)."""
    from listclean import __version__

    return {
        "listclean_version": __version__,
        "run": {
            "run_id": manifest["run_id"],
            "started": manifest["started"],
            "finished": finished,
            "duration_s": round(duration, 3),
            "rows_per_s": round(rows / duration, 1) if duration > 0 else 0.0,
            "stages": timings,
            "user": manifest["user"],
            "host": manifest["host"],
        },
        "input": {
            "path": source["path"],
            "sha256": source["sha256"],
            "bytes": source["bytes"],
            "rows": rows,
            "email_column": source["email_column"],
            "has_header": source["has_header"],
            "delimiter": source["delimiter"],
        },
        "output": manifest["output"],
        "split": split,
        "counts": tally_counts,
        "unique_addresses": unique,
        "learned": learned,
        "egress": egress,
        "lists": manifest["lists"],
        "settings": manifest["settings"],
        "notices": notes,
        "manifest": manifest,
    }


def json_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


STATUS_STYLE = {
    "deliverable": "green",
    "risky": "yellow",
    "undeliverable": "red",
    "unknown": "blue",
}


def render_summary(report: dict[str, Any]) -> Any:
    """A Rich renderable summarising the run (the CLI prints it on stderr)."""
    from rich.console import Group
    from rich.table import Table

    from listclean.safety import for_terminal

    counts = report["counts"]
    rows = counts["rows"] or 1
    table = Table(title="listclean summary", show_edge=False)
    table.add_column("status")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    for status, n in counts["status"].items():
        table.add_row(f"[{STATUS_STYLE[status]}]{status}[/]", f"{n:,}", f"{100 * n / rows:.1f}%")
    reasons = Table(title="top reasons", show_edge=False)
    reasons.add_column("reason")
    reasons.add_column("rows", justify="right")
    for reason, n in list(counts["reason"].items())[:8]:
        reasons.add_row(reason, f"{n:,}")
    run = report["run"]
    footer = (
        f"{counts['rows']:,} rows in {run['duration_s']:.2f} s "
        f"({run['rows_per_s']:,.0f} rows/s) -> {for_terminal(str(report['output']['path']))}"
    )
    return Group(table, reasons, footer)


ADVICE = {
    "dns_error": "The domain's DNS servers failed (SERVFAIL/REFUSED). Retry later.",
    "dns_timeout": "No DNS answer in time. Retry later, or raise --dns-timeout.",
    "smtp_unreachable": "The mail server refused or could not be reached. If many hosts show "
    "this, outbound port 25 is probably blocked here: run from a machine that can reach it.",
    "smtp_timeout": "The mail server was too slow. Retry later, or raise --smtp-timeout.",
    "greylisted": "The server asked to try again later. Re-run after a while (results that "
    "were decided are reused from the cache).",
    "rate_limited": "The server limited us. Re-run later; lower --smtp-per-host.",
    "ip_blocked": "The server rejects this machine's IP (blocklist). Probe from another IP.",
    "sender_rejected": "The server refused our sender identity (EHLO name or MAIL FROM): set "
    "--helo to this machine's resolvable name and --mail-from to an address of your domain.",
    "provider_unverifiable": "This provider accepts every address at RCPT time: only sending "
    "can tell. Treat as deliverable-but-unconfirmed.",
    "smtp_error": "The server answered in a way that says nothing about the mailbox.",
    "private_mx": "The domain's mail hosts are on private addresses: not probed (use "
    "--allow-private-mx only for your own lab).",
    "not_probed": "Checked offline only. Run without --offline to probe.",
}


def _bars(items: list[tuple[str, int]], total: int, colors: dict[str, str] | None = None) -> str:
    """A horizontal bar chart as inline SVG (no scripts, no fonts, nothing fetched)."""
    from html import escape

    height = 22 * len(items) + 4
    rows = []
    for i, (label, count) in enumerate(items):
        width = 0 if total <= 0 else max(1, round(300 * count / total)) if count else 0
        color = (colors or {}).get(label, "#4c78a8")
        y = 22 * i + 2
        rows.append(
            f'<text x="0" y="{y + 14}" font-size="12">{escape(label)}</text>'
            f'<rect x="200" y="{y + 2}" width="{width}" height="16" fill="{color}"/>'
            f'<text x="{205 + width}" y="{y + 14}" font-size="12">{count:,}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="620" height="{height}" '
        f'role="img">{"".join(rows)}</svg>'
    )


SVG_COLORS = {
    "deliverable": "#2e7d32",
    "risky": "#f9a825",
    "undeliverable": "#c62828",
    "unknown": "#1565c0",
}


def render_html(report: dict[str, Any]) -> str:
    """One self-contained page: inline CSS and SVG only, so opening it fetches nothing."""
    from html import escape

    counts = report["counts"]
    rows = counts["rows"]
    status = list(counts["status"].items())
    reasons = list(counts["reason"].items())  # every reason: a rare one matters most
    flags = list(counts.get("flags", {}).items())
    domains = [(d["domain"], d["rows"]) for d in counts["top_domains"][:10]]
    mx = [(m["mx"], m["rows"]) for m in counts.get("top_mx", [])[:10]]
    accept_all = counts["reason"].get("accept_all", 0)
    share = f"{100 * accept_all / rows:.1f}%" if rows else "0%"
    unknown_rows = "".join(
        f"<tr><td>{escape(r)}</td><td>{n:,}</td><td>{escape(ADVICE.get(r, ''))}</td></tr>"
        for r, n in counts["reason"].items()
        if r in ADVICE
    )
    providers = counts.get("providers", {})
    if any(providers):  # at least one recognised provider ("" is none)
        head = "".join(f"<th>{escape(s.value)}</th>" for s in Status)
        body = "".join(
            f"<tr><td>{escape(p or '(not recognised)')}</td>"
            + "".join(f"<td>{n.get(s.value, 0):,}</td>" for s in Status)
            + "</tr>"
            for p, n in providers.items()
        )
        providers_table = f"<table><tr><th>provider</th>{head}</tr>{body}</table>"
    else:
        providers_table = "<p>No provider recognised (an offline run, or self-hosted mail).</p>"
    manifest = report.get("manifest", {})
    egress = report.get("egress", {})
    facts = [
        ("run", manifest.get("run_id", "")),
        ("input", report["input"]["path"]),
        ("input SHA-256", report["input"]["sha256"]),
        ("output", report["output"]["path"]),
        ("output SHA-256", report["output"]["sha256"]),
        ("rows in / out", f"{report['input']['rows']:,} / {report['output']['rows']:,}"),
        ("duration", f"{report['run']['duration_s']:.2f} s"),
        *(
            [("verdicts probed", f"{checked['oldest']} to {checked['newest']} (UTC)")]
            if (checked := counts.get("checked_at"))
            else []
        ),
        ("listclean", report["listclean_version"]),
        *((f"egress: {k}", f"{v:,}" if isinstance(v, int) else str(v)) for k, v in egress.items()),
    ]
    fact_rows = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in facts
    )
    status_cells = "".join(
        f'<div class="stat" id="count-{escape(s)}"><b>{n:,}</b><span>{escape(s)}</span></div>'
        for s, n in status
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>listclean report: {escape(report["input"]["path"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 980px; }}
h1 {{ font-size: 1.4em; }} h2 {{ font-size: 1.1em; margin-top: 1.6em; }}
.stats {{ display: flex; gap: 1em; }}
.stat {{ border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 8em; }}
.stat b {{ display: block; font-size: 1.6em; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #eee; padding: .3em .6em;
text-align: left; vertical-align: top; }}
</style></head><body>
<h1>listclean report</h1>
<p>{rows:,} rows from <code>{escape(report["input"]["path"])}</code>; catch-all share
<b id="catchall-share">{share}</b>.</p>
<div class="stats">{status_cells}</div>
<h2>Statuses</h2>{_bars(status, rows, SVG_COLORS)}
<h2>Reasons</h2>{_bars(reasons, rows)}
<h2>Flags</h2>{_bars(flags, rows) if flags else "<p>No row has a flag.</p>"}
<h2>Top domains</h2>{_bars(domains, rows)}
<h2>Providers</h2>{providers_table}
<h2>Top MX hosts</h2>{_bars(mx, rows) if mx else "<p>No MX hosts (offline run).</p>"}
<h2>Unknown and unchecked addresses: what to do</h2>
<table><tr><th>reason</th><th>rows</th><th>what to do</th></tr>{unknown_rows}</table>
<h2>Run manifest</h2><table>{fact_rows}</table>
</body></html>
"""
