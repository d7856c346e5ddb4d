"""Run summary: counts per status/reason/flag, top domains, the JSON report, the terminal table."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "status": {s.value: self.status.get(s.value, 0) for s in Status},
            "reason": dict(_ranked(self.reason)),
            "flags": dict(_ranked(self.flags)),
            "top_domains": [{"domain": d, "rows": n} for d, n in _ranked(self.domains, TOP)],
            "syntax_messages": dict(_ranked(self.syntax_messages, TOP)),
        }


def _ranked(counter: Counter[str], top: int | None = None) -> list[tuple[str, int]]:
    """Most common first; ties in name order, so a report does not depend on row order."""
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked if top is None else ranked[:top]


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic write: a temp file in the same directory renamed into place."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=".listclean-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, ensure_ascii=False)
            out.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
        f"({run['rows_per_s']:,.0f} rows/s) -> {report['output']['path']}"
    )
    return Group(table, reasons, footer)
