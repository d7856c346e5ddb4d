"""`listclean compare OURS THEIRS`: agreement with a paid verifier's export, and, with learned
bounces, each side's accuracy and the score's calibration.

Each vendor's status words are mapped onto listclean's four statuses (VENDORS; the table with
sources is docs/compare.md). Rows match by address, case-folded. Nothing is sent anywhere: the
vendor's file is read like any other local file.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from listclean.errors import InputError
from listclean.rundiff import load_output
from listclean.tables import EMAIL_HEADERS, find_column, read_table

STATUSES = ("deliverable", "risky", "unknown", "undeliverable")
FOUR = {s: s for s in STATUSES}


@dataclass(frozen=True)
class Vendor:
    name: str
    status_columns: tuple[str, ...]
    words: dict[str, str]  # the vendor's word (case-folded) -> listclean status
    detail_columns: tuple[str, ...] = ()
    marker_columns: tuple[str, ...] = ()  # a header only this vendor writes


VENDORS: dict[str, Vendor] = {
    v.name: v
    for v in (
        Vendor(
            "zerobounce",
            ("ZB Status", "zb_status"),
            {
                "valid": "deliverable",
                "invalid": "undeliverable",
                "catch-all": "risky",
                "catch_all": "risky",
                "spamtrap": "risky",
                "abuse": "risky",
                "do_not_mail": "risky",
                "do not mail": "risky",
                "unknown": "unknown",
            },
            ("ZB Sub status", "ZB Sub Status", "zb_sub_status"),
            ("ZB Status", "zb_status"),
        ),
        Vendor(
            "neverbounce",
            ("email_status", "NeverBounce Result", "neverbounce_result", "result"),
            {
                "valid": "deliverable",
                "invalid": "undeliverable",
                "disposable": "risky",
                "catchall": "risky",
                "catch-all": "risky",
                "unknown": "unknown",
            },
            ("flags",),
            ("email_status", "NeverBounce Result", "neverbounce_result"),
        ),
        Vendor(
            "kickbox",
            ("result", "Result"),
            {**FOUR},
            ("reason", "Reason"),
            ("sendex", "Sendex"),
        ),
        Vendor(
            "emailable",
            ("state", "State"),
            {**FOUR},
            ("reason", "Reason"),
            ("state", "State"),
        ),
        Vendor(
            "bouncer",
            ("status", "Status"),
            {**FOUR},
            ("reason", "Reason"),
        ),
        Vendor(
            "millionverifier",
            ("result", "Result", "MillionVerifier Result"),
            {
                "ok": "deliverable",
                "good": "deliverable",
                "catch_all": "risky",
                "catch-all": "risky",
                "disposable": "risky",
                "unknown": "unknown",
                "error": "unknown",
                "invalid": "undeliverable",
                "bad": "undeliverable",
            },
            ("subresult", "quality"),
            ("quality", "subresult"),
        ),
    )
}


def _column(frame: pl.DataFrame, names: tuple[str, ...]) -> str | None:
    return find_column(frame.columns, *names)


def _fits(frame: pl.DataFrame, vendor: Vendor, col: str) -> bool:
    words = {w.strip().casefold() for w in frame.get_column(col).unique().to_list() if w.strip()}
    return bool(words) and words <= set(vendor.words)


def detect_vendor(frame: pl.DataFrame, name: str | None) -> tuple[Vendor, str]:
    """The vendor (given or detected from headers, then words) and its status column."""
    if name is not None:
        vendor = VENDORS.get(name.casefold())
        if vendor is None:
            raise InputError(f"unknown --vendor {name!r}; one of: {', '.join(VENDORS)}")
        col = _column(frame, vendor.status_columns)
        if col is None:
            raise InputError(
                f"THEIRS has no {vendor.name} status column ({', '.join(vendor.status_columns)})"
            )
        return vendor, col
    for vendor in VENDORS.values():  # a header only one vendor writes, with its words
        if vendor.marker_columns and _column(frame, vendor.marker_columns):
            col = _column(frame, vendor.status_columns)
            if col is not None and _fits(frame, vendor, col):
                return vendor, col
    for vendor in VENDORS.values():  # else the first whose words fit a status column
        col = _column(frame, vendor.status_columns)
        if col is not None and _fits(frame, vendor, col):
            return vendor, col
    raise InputError(
        "cannot tell which verifier wrote THEIRS (no status column with known words); "
        f"pass --vendor ({', '.join(VENDORS)}); docs/compare.md lists their columns"
    )


def load_theirs(
    path: str, vendor_name: str | None, column: str | None
) -> tuple[pl.DataFrame, Vendor]:
    frame = read_table(path, "THEIRS")
    vendor, status_col = detect_vendor(frame, vendor_name)
    email = column if column is not None else find_column(frame.columns, *EMAIL_HEADERS)
    if email is None or email not in frame.columns:
        raise InputError(
            f"THEIRS {path} has no email column (tried {', '.join(EMAIL_HEADERS)}); "
            "pass --their-column NAME"
        )
    detail = _column(frame, vendor.detail_columns) if vendor.detail_columns else None
    words = pl.col(status_col).str.strip_chars().str.to_lowercase()
    out = frame.select(
        key=pl.col(email).str.strip_chars().str.to_lowercase(),
        their_word=pl.col(status_col),
        their_status=words.replace_strict(vendor.words, default=None, return_dtype=pl.String),
        their_detail=pl.col(detail) if detail else pl.lit(""),
    ).filter(pl.col("key") != "")
    return out.unique("key", keep="first", maintain_order=True), vendor


LEARNED_FLAGS = ("complained", "unsubscribed", "previously_delivered", "soft_bounced")


def _truth(ours: pl.DataFrame, settings: Any) -> dict[str, str]:
    """key -> "bounced" | "delivered", from learned evidence (the latest of the two wins)."""
    from listclean.evidence import Evidence

    evidence = Evidence.open(settings)
    if evidence is None:
        return {}
    try:
        facts = evidence.facts(ours.get_column("normalized"))
    finally:
        evidence.close()
    out: dict[str, str] = {}
    for row in facts.iter_rows(named=True):
        hard, delivered = row["ev_hard"], row["ev_delivered"]
        key = row["lc_normalized"].casefold()
        if hard and (not delivered or hard > delivered):
            out[key] = "bounced"
        elif delivered:
            out[key] = "delivered"
    return out


def _accuracy(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """(said, truth) pairs -> how often the side was right, and how it was wrong."""
    right = sum(
        1
        for said, truth in pairs
        if (truth == "bounced" and said == "undeliverable")
        or (truth == "delivered" and said == "deliverable")
    )
    calls = sum(1 for said, _ in pairs if said in ("deliverable", "undeliverable"))
    return {
        "known": len(pairs),
        "right": right,
        "accuracy": round(right / len(pairs), 4) if pairs else None,
        "calls": calls,
        "said_deliverable_but_bounced": sum(
            1 for s, t in pairs if s == "deliverable" and t == "bounced"
        ),
        "said_undeliverable_but_delivered": sum(
            1 for s, t in pairs if s == "undeliverable" and t == "delivered"
        ),
        "no_call": len(pairs) - calls,
    }


BANDS = ((0, 19), (20, 39), (40, 59), (60, 79), (80, 100))


def calibration(ours: pl.DataFrame, truth: dict[str, str]) -> list[dict[str, Any]]:
    """Observed bounce rate per lc_score band, on rows whose outcome is known."""
    counts: dict[tuple[int, int], Counter[str]] = {band: Counter() for band in BANDS}
    for key, score in ours.select("key", "score").iter_rows():
        outcome = truth.get(key)
        if outcome is None or not score or not score.isdigit():
            continue
        value = int(score)
        for band in BANDS:
            if band[0] <= value <= band[1]:
                counts[band][outcome] += 1
    out = []
    for band in BANDS:
        n = counts[band]["bounced"] + counts[band]["delivered"]
        out.append(
            {
                "band": f"{band[0]}-{band[1]}",
                "known": n,
                "bounced": counts[band]["bounced"],
                "bounce_rate": round(counts[band]["bounced"] / n, 4) if n else None,
            }
        )
    return out


def compare(
    ours_path: str,
    theirs_path: str | None,
    settings: Any,
    *,
    vendor: str | None = None,
    their_column: str | None = None,
    disagreements: str | None = None,
    calibrate: bool = False,
) -> dict[str, Any]:
    ours_full = read_table(ours_path, "OURS")
    ours = load_output(ours_path, "OURS")
    scores = ours_full.get_column("lc_score") if "lc_score" in ours_full.columns else None
    # rows whose verdict already used the learned evidence would make the accuracy circular
    used = (pl.col("reason") == "previously_bounced") | pl.col("flags").str.contains(
        "|".join(LEARNED_FLAGS)
    )
    normalized = ours_full.get_column("lc_normalized")
    keyed = (
        ours_full.select(
            key=pl.when(pl.col("lc_normalized").str.strip_chars() != "")
            .then(pl.col("lc_normalized").str.strip_chars().str.to_lowercase())
            .otherwise(None),
            normalized=normalized.str.strip_chars(),
            score=scores if scores is not None else pl.lit(""),
        )
        .filter(pl.col("key").is_not_null())
        .unique("key", keep="first", maintain_order=True)
    )
    ours = ours.join(keyed, on="key", how="left", maintain_order="left")
    ours = ours.with_columns(pl.col("normalized").fill_null(""), pl.col("score").fill_null(""))
    truth = _truth(ours, settings) if (calibrate or theirs_path) else {}
    result: dict[str, Any] = {"ours": {"path": ours_path, "rows": ours.height}}
    fair = ours.filter(~used)
    if calibrate:
        result["calibration"] = {
            "rows_left_out": ours.height - fair.height,
            "bands": calibration(fair, truth),
        }
    if theirs_path is None:
        return result
    theirs, found = load_theirs(theirs_path, vendor, their_column)
    unmapped = Counter(
        theirs.filter(pl.col("their_status").is_null()).get_column("their_word").to_list()
    )
    joined = ours.join(theirs, on="key", how="inner", maintain_order="left")
    mapped = joined.filter(pl.col("their_status").is_not_null())
    agree = mapped.filter(pl.col("status") == pl.col("their_status"))
    matrix: dict[str, dict[str, int]] = {s: dict.fromkeys(STATUSES, 0) for s in STATUSES}
    for ours_s, theirs_s, n in mapped.group_by("status", "their_status").len().iter_rows():
        if ours_s in matrix:
            matrix[ours_s][theirs_s] = n
    differ = mapped.filter(pl.col("status") != pl.col("their_status"))
    result.update(
        {
            "theirs": {
                "path": theirs_path,
                "vendor": found.name,
                "rows": theirs.height,
                "unrecognised_words": dict(unmapped.most_common(10)),
            },
            "matched": mapped.height,
            "agree": agree.height,
            "agreement": round(agree.height / mapped.height, 4) if mapped.height else None,
            "matrix": matrix,
            "disagreements": {
                "count": differ.height,
                "examples": [
                    {
                        "address": row["email"],
                        "ours": f"{row['status']}/{row['reason']}",
                        "theirs": f"{row['their_word']}"
                        + (f" ({row['their_detail']})" if row["their_detail"] else ""),
                    }
                    for row in differ.head(20).iter_rows(named=True)
                ],
            },
        }
    )
    if truth:
        known = (
            mapped.filter(~used)
            .with_columns(
                truth=pl.col("key").replace_strict(truth, default=None, return_dtype=pl.String)
            )
            .filter(pl.col("truth").is_not_null())
        )
        result["accuracy"] = {
            "ours": _accuracy(list(known.select("status", "truth").iter_rows())),
            "theirs": _accuracy(list(known.select("their_status", "truth").iter_rows())),
        }
    if disagreements != "":
        target = disagreements or str(
            Path(ours_path).with_name(f"{Path(ours_path).stem}.disagreements.csv")
        )
        keys = set(differ.get_column("key").to_list())
        result["disagreements"]["path"] = target
        write_disagreements(ours_full, keys, theirs, target)
    return result


def write_disagreements(
    ours_full: pl.DataFrame, keys: set[str], theirs: pl.DataFrame, target: str
) -> None:
    """OURS' original columns (value for value, ready for `listclean verify`) of the rows in
    disagreement, with the vendor's word and detail after them; written whole or not at all."""
    from listclean.safety import neutralise_expr

    originals = [c for c in ours_full.columns if not c.startswith("lc_")]
    key = pl.col("lc_normalized").str.strip_chars().str.to_lowercase()
    rows = (
        ours_full.with_columns(_key=key)
        .filter(pl.col("_key").is_in(list(keys)))
        .join(
            theirs.select("key", "their_word", "their_detail"),
            left_on="_key",
            right_on="key",
            how="left",
            maintain_order="left",
        )
        .select(*originals, neutralise_expr("their_word"), neutralise_expr("their_detail"))
    )
    from listclean.io.atomic import write_bytes

    buffer = io.BytesIO()
    rows.write_csv(buffer)
    write_bytes(target, buffer.getvalue())


def render(result: dict[str, Any]) -> list[Any]:
    from rich.table import Table

    from listclean.safety import for_terminal

    out: list[Any] = []
    if "matched" in result:
        vendor = result["theirs"]["vendor"]
        rate = result["agreement"]
        shown = f"{rate * 100:.1f}%" if rate is not None else "n/a"
        out.append(
            f"agreement with {vendor}: {shown} ({result['agree']} of {result['matched']} "
            "addresses in both files)"
        )
        table = Table(title=f"listclean (rows) x {vendor} (columns)")
        table.add_column("listclean")
        for s in STATUSES:
            table.add_column(s)
        for s in STATUSES:
            table.add_row(s, *(str(result["matrix"][s][t]) for t in STATUSES))
        out.append(table)
        if result["theirs"]["unrecognised_words"]:
            words = ", ".join(for_terminal(w) for w in result["theirs"]["unrecognised_words"])
            out.append(f"words of THEIRS not mapped (rows left out): {words}")
        dis = result["disagreements"]
        if dis["examples"]:
            table = Table(title=f"disagreements ({dis['count']})")
            for col in ("address", "listclean", vendor):
                table.add_column(col)
            for ex in dis["examples"]:
                table.add_row(for_terminal(ex["address"]), ex["ours"], for_terminal(ex["theirs"]))
            out.append(table)
        if dis.get("path"):
            out.append(f"disagreements written to {for_terminal(dis['path'])} (re-verify it)")
    if "accuracy" in result:
        table = Table(title="accuracy on addresses whose outcome you learned")
        for col in (
            "",
            "known",
            "right",
            "accuracy",
            "deliverable but bounced",
            "undeliverable but delivered",
            "no call",
        ):
            table.add_column(col)
        for side in ("ours", "theirs"):
            a = result["accuracy"][side]
            acc = f"{a['accuracy'] * 100:.1f}%" if a["accuracy"] is not None else "n/a"
            table.add_row(
                side,
                str(a["known"]),
                str(a["right"]),
                acc,
                str(a["said_deliverable_but_bounced"]),
                str(a["said_undeliverable_but_delivered"]),
                str(a["no_call"]),
            )
        out.append(table)
    if "calibration" in result:
        table = Table(title="lc_score calibration (learned outcomes)")
        for col in ("score", "known", "bounced", "bounce rate"):
            table.add_column(col)
        for band in result["calibration"]["bands"]:
            rate = band["bounce_rate"]
            table.add_row(
                band["band"],
                str(band["known"]),
                str(band["bounced"]),
                f"{rate * 100:.1f}%" if rate is not None else "",
            )
        out.append(table)
        if result["calibration"]["rows_left_out"]:
            out.append(
                f"{result['calibration']['rows_left_out']} rows whose verdict already used the "
                "learned evidence were left out"
            )
    return out
