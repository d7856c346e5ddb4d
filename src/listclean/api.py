"""The public library API: the CLI is one of its clients (docs/api.md).

Three entry points, keyword-only options, one ``Settings`` for every knob:

- ``annotate(frame, column="email", settings=...)``: a Polars frame with the ``lc_`` columns
  appended, exactly as ``listclean verify`` writes them;
- ``check(addresses, settings=...)``: one ``Result`` per address;
- ``verify_file(src, dst, settings=...)``: the whole file run (``listclean verify``), returning
  its ``Report``.

>>> import polars as pl, listclean
>>> out = listclean.annotate(
...     pl.DataFrame({"email": ["Ann@Example.com", "bob@gmial.com", "nope"]}),
...     settings=listclean.Settings(offline=True),
... )
>>> for row in out.select("email", "lc_status", "lc_reason", "lc_suggestion").rows():
...     print(row)
('Ann@Example.com', 'unknown', 'not_probed', '')
('bob@gmial.com', 'risky', 'disposable', 'bob@gmail.com')
('nope', 'undeliverable', 'invalid_syntax', '')
>>> offline = listclean.Settings(offline=True)
>>> [r.reason.value for r in listclean.check(["ann@example.com", "x@"], settings=offline)]
['not_probed', 'invalid_syntax']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from listclean.errors import InputError
from listclean.model import LC_COLUMNS, Flag, Reason, Result
from listclean.settings import Settings

__all__ = ["Report", "Settings", "annotate", "check", "verify_file"]


@dataclass(frozen=True)
class Report:
    """What a file run did: the JSON report's content, with the common parts as attributes."""

    data: Mapping[str, Any]
    notices: tuple[str, ...] = ()

    @property
    def counts(self) -> Mapping[str, int]:
        """Rows per status: ``{"deliverable": 10, "undeliverable": 2, ...}``."""
        return dict(self.data["counts"]["status"])

    @property
    def rows(self) -> int:
        return int(self.data["input"]["rows"])

    @property
    def output(self) -> str:
        return str(self.data["output"]["path"])


def annotate(
    frame: pl.DataFrame, column: str = "email", *, settings: Settings | None = None
) -> pl.DataFrame:
    """``frame`` with listclean's ``lc_`` columns appended (replacing any it already had).

    Every row gets a verdict; duplicates are found within the frame (``lc_duplicate_of`` is
    the 1-based row of the first occurrence). Without ``settings.offline`` this resolves MX
    records and probes mail servers like ``listclean verify`` (with its cache, politeness and
    safety rules). Raises ``InputError`` when ``column`` is missing.
    """
    from listclean import pipeline

    settings = settings or Settings()
    if column not in frame.columns:
        raise InputError(f"the frame has no column {column!r}; its columns: {frame.columns}")
    emails = frame.get_column(column).cast(pl.String).fill_null("")
    stage = pipeline.AnnotateRun(settings)
    columns = stage.columns(emails)
    kept = frame.drop([c for c in LC_COLUMNS if c in frame.columns])
    return kept.with_columns(list(columns.values()))


def check(addresses: Iterable[str], *, settings: Settings | None = None) -> list[Result]:
    """One ``Result`` per address, in order (duplicates get the same verdict).

    ``Result.status`` and ``Result.reason`` are the verdict; ``normalized``, ``suggestion``,
    ``mx``, ``smtp_code`` and ``smtp_reply`` what decided it.
    """
    items = list(addresses)
    out = annotate(pl.DataFrame({"email": items}, schema={"email": pl.String}), settings=settings)
    results = []
    for row in out.iter_rows(named=True):
        flags = tuple(Flag(f) for f in row["lc_flags"].split(";") if f and f != "duplicate")
        results.append(
            Result(
                reason=Reason(row["lc_reason"]),
                normalized=row["lc_normalized"],
                flags=flags,
                suggestion=row["lc_suggestion"],
                mx=row["lc_mx"],
                smtp_code=row["lc_smtp_code"],
                smtp_reply=row["lc_smtp_reply"],
                provider=row["lc_provider"],
                score=int(row["lc_score"]) if row["lc_score"] else None,
                checked_at=row["lc_checked_at"],
            )
        )
    return results


def verify_file(
    src: str | Path,
    dst: str | Path | None = None,
    *,
    settings: Settings | None = None,
    report: str | Path | None = None,
) -> Report:
    """``listclean verify SRC -o DST``: the whole file run, with its report and audit line.

    ``dst`` defaults to ``SRC.verified.csv``; ``"-"`` is stdout for either.
    """
    from listclean import pipeline

    result = pipeline.verify(
        str(src),
        None if dst is None else str(dst),
        settings or Settings(),
        report_path=None if report is None else Path(report),
    )
    return Report(result.report, tuple(result.notices))
