"""Learned evidence in a run: what ``listclean learn`` stored, applied to the verdict columns.

Rules (docs/learn.md):

- A hard bounce gives ``undeliverable/previously_bounced`` when it is newer than the last
  accepted probe of the address (``lc_checked_at`` of an ``accepted`` verdict) and newer than
  any delivery seen since. A verdict that is already undeliverable keeps its own reason (the
  server or DNS said so now), and a newer accepted probe wins over an older bounce.
- Complaints and unsubscribes become the flags ``complained`` and ``unsubscribed``; they never
  change the status. A delivery newer than any hard bounce is the flag
  ``previously_delivered`` (evidence for catch-all and other uncertain rows, through the
  score); a soft bounce in the last SOFT_DAYS days, with no delivery since, is ``soft_bounced``.

Addresses are matched by ``learn.evidence_key`` (case-folded) through the home's HMAC key:
nothing here reads or writes an address in plain text.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import polars as pl

from listclean.learn import Event, Kind, evidence_key
from listclean.model import Flag, Reason
from listclean.settings import Settings
from listclean.store import Store
from listclean.vault import Vault

SOFT_DAYS = 30
KEEP_OWN = [
    r.value
    for r in (
        Reason.INVALID_SYNTAX,
        Reason.INVALID_DOMAIN,
        Reason.NO_MAIL_SERVER,
        Reason.NULL_MX,
        Reason.MAILBOX_NOT_FOUND,
        Reason.MAILBOX_DISABLED,
    )
]
FACT_SCHEMA = {
    "lc_normalized": pl.String,
    "ev_hard": pl.String,
    "ev_delivered": pl.String,
    "ev_soft": pl.String,
    "ev_complaint": pl.Boolean,
    "ev_unsub": pl.Boolean,
}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Evidence:
    """The store's learned evidence, looked up per chunk for the chunk's addresses."""

    def __init__(self, store: Store, vault: Vault) -> None:
        self.store, self.vault = store, vault
        self.matched = 0

    @classmethod
    def open(cls, settings: Settings) -> Evidence | None:
        """None when there is nothing learned (or ``--no-evidence``): no file is created."""
        if not settings.use_evidence or not (settings.home / "store.sqlite").exists():
            return None
        store = Store(settings.home)
        if not store.has_evidence():
            store.close()
            return None
        return cls(store, Vault.open(settings.home))

    def close(self) -> None:
        self.store.close()

    def learn(self, events: list[Event], source: str) -> int:
        now = time.time()
        rows = [
            (self.vault.address_id(evidence_key(e.address)), e.kind.value, e.at, source, now)
            for e in events
        ]
        return self.store.put_evidence(rows)

    def facts(self, normalized: pl.Series) -> pl.DataFrame:
        """Per address of ``normalized`` that has evidence: its latest of each kind."""
        names = normalized.filter(normalized != "").unique().to_list()
        ids = {self.vault.address_id(evidence_key(n)): n for n in names}
        found = self.store.get_evidence(list(ids))
        soft_after = time.time() - SOFT_DAYS * 86_400
        rows: dict[str, list[object]] = {k: [] for k in FACT_SCHEMA}
        for key, events in found.items():
            latest: dict[str, float] = {}
            for kind, at in events:
                latest[kind] = max(at, latest.get(kind, at))
            rows["lc_normalized"].append(ids[key])
            hard, soft = latest.get(Kind.HARD.value), latest.get(Kind.SOFT.value)
            delivered = latest.get(Kind.DELIVERED.value)
            rows["ev_hard"].append(iso(hard) if hard is not None else None)
            rows["ev_delivered"].append(iso(delivered) if delivered is not None else None)
            recent_soft = (
                soft is not None and soft > soft_after and (delivered is None or soft > delivered)
            )
            rows["ev_soft"].append(iso(soft) if recent_soft and soft is not None else None)
            rows["ev_complaint"].append(Kind.COMPLAINT.value in latest)
            rows["ev_unsub"].append(Kind.UNSUBSCRIBED.value in latest)
        self.matched += len(found)
        return pl.DataFrame(rows, schema=FACT_SCHEMA)


def apply_evidence(frame: pl.DataFrame, facts: pl.DataFrame) -> pl.DataFrame:
    """Merge learned evidence into a frame of offline_frame/apply_network columns."""
    if not facts.height:
        return frame
    reason = pl.col("lc_reason")
    hard, delivered = pl.col("ev_hard"), pl.col("ev_delivered")
    hard_stands = hard.is_not_null() & (delivered.is_null() | (hard > delivered))
    newer_accept = (reason == Reason.ACCEPTED.value) & (pl.col("lc_checked_at") > hard)
    bounced = hard_stands & ~newer_accept.fill_null(False) & ~reason.is_in(KEEP_OWN)
    was_delivered = delivered.is_not_null() & (hard.is_null() | (delivered > hard))
    added = pl.concat_str(
        pl.when(pl.col("ev_complaint")).then(pl.lit(Flag.COMPLAINED.value)),
        pl.when(pl.col("ev_unsub")).then(pl.lit(Flag.UNSUBSCRIBED.value)),
        pl.when(was_delivered).then(pl.lit(Flag.PREVIOUSLY_DELIVERED.value)),
        pl.when(pl.col("ev_soft").is_not_null()).then(pl.lit(Flag.SOFT_BOUNCED.value)),
        separator=";",
        ignore_nulls=True,
    )
    joined = frame.join(facts, on="lc_normalized", how="left", maintain_order="left")
    has = pl.col("ev_complaint").is_not_null()  # the row's address has evidence
    return joined.with_columns(
        lc_reason=pl.when(has & bounced)
        .then(pl.lit(Reason.PREVIOUSLY_BOUNCED.value))
        .otherwise(reason),
        _flags=pl.when(has & (added != ""))
        .then(
            pl.when(pl.col("_flags") != "")
            .then(pl.concat_str(pl.col("_flags"), pl.lit(";"), added))
            .otherwise(added)
        )
        .otherwise(pl.col("_flags")),
    ).drop([c for c in FACT_SCHEMA if c != "lc_normalized"])
