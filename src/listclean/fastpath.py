"""Vectorised offline verdicts for a whole batch (Polars expressions, Rust regex, all cores).

The obvious per-row loop spends ~25 µs a row in Python on this machine. Most real addresses
are plain ASCII ``local@domain.tld``: for those, everything the offline checks need (syntax,
normalized form, role, free/disposable, typo suggestion, verdict) is computed here as column
expressions, with the per-domain facts looked up once per distinct domain. Every other cell
(quotes, Unicode, IDNA, whitespace other than blanks, anything unusual) goes through the
ordinary ``Memo`` (email-validator), so the two paths give identical columns:
tests/test_fastpath.py checks that differentially, and tests/test_syntax_fastpath.py checks
the shape against email-validator itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from listclean.checks.lists import role_locals
from listclean.checks.score import (
    BASE,
    DELIVERED_FLOOR,
    NO_LIFT,
    NO_SCORE,
    OPT_OUT_CAP,
    ROLE_PENALTY,
    SOFT_PENALTY,
)
from listclean.checks.syntax import SPECIAL_TLDS, Address, SyntaxProblem
from listclean.checks.verdict import DNS_FINAL, OfflineChecker
from listclean.model import LC_COLUMNS, Flag, Reason, Result, status_of
from listclean.report import Tally
from listclean.safety import neutralise_expr

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
# Surrounding blanks only (Python's str.strip() and this agree on these).
FAST_SHAPE = (
    rf"^[ \t]*({_ATEXT}+(?:\.{_ATEXT}+)*)"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})[ \t]*$"
)

_NOT_PROBED = (status_of(Reason.NOT_PROBED).value, Reason.NOT_PROBED.value)
_DISPOSABLE = (status_of(Reason.DISPOSABLE).value, Reason.DISPOSABLE.value)


class DuplicateIndex:
    """normalized address -> 1-based data row of its first occurrence, for the whole file.

    Kept as two 64-bit hashes and a row number per unique address (20 bytes) in Polars frames,
    instead of a dict of strings (~200 bytes each). Two independently seeded 64-bit hashes make
    a false "duplicate" practically impossible (about 2^-128 per pair). Hash values are only
    compared within one process, so Polars' hash not being stable across versions is fine.

    The index is split into PARTS partitions by the second hash modulo PARTS, and a batch is
    joined against one partition at a time: a join allocates a hash table the size of what it
    joins against, and one table the size of the whole index per batch made memory grow with
    the list (the allocator keeps freed pages for a while).
    """

    SEEDS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)
    PARTS = 16

    def __init__(self) -> None:
        self.parts: list[pl.DataFrame] = [
            pl.DataFrame(schema={"h1": pl.UInt64, "h2": pl.UInt64, "first": pl.UInt32})
            for _ in range(self.PARTS)
        ]
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def mark(self, normalized: list[str], first_row: int) -> list[str]:
        """duplicate_of for each row ("" for a first occurrence or an empty address)."""
        series = self.mark_series(pl.Series(normalized, dtype=pl.String), first_row)
        marks: list[str] = series.to_list()
        return marks

    def mark_series(self, normalized: pl.Series, first_row: int) -> pl.Series:
        """``mark`` for a Series of normalized addresses, without Python lists."""
        n = len(normalized)
        frame = (
            pl.DataFrame({"n": normalized})
            .with_row_index("i")
            .filter(pl.col("n").is_not_null() & (pl.col("n") != ""))
            .with_columns(
                h1=pl.col("n").hash(self.SEEDS[0]),
                h2=pl.col("n").hash(self.SEEDS[1]),
                row=(pl.col("i") + first_row).cast(pl.UInt32),
            )
            .with_columns(part=(pl.col("h2") % self.PARTS).cast(pl.UInt8))
        )
        out = pl.repeat("", n, dtype=pl.String, eager=True)
        if frame.height == 0:
            return out
        for (part,), rows in frame.partition_by("part", as_dict=True).items():
            index = self.parts[part]
            local = rows.group_by(["h1", "h2"]).agg(pl.col("row").min().alias("local"))
            known = local.join(index, on=["h1", "h2"], how="left")
            fresh = known.filter(pl.col("first").is_null()).select(
                "h1", "h2", pl.col("local").alias("first")
            )
            if fresh.height:
                self.parts[part] = pl.concat([index, fresh], rechunk=False)
                self.size += fresh.height
            firsts = known.select("h1", "h2", pl.coalesce("first", "local").alias("first"))
            dups = rows.join(firsts, on=["h1", "h2"], how="left").filter(
                pl.col("first") != pl.col("row")
            )
            if dups.height:
                out = out.scatter(dups.get_column("i"), dups.get_column("first").cast(pl.String))
        return out


# The second tier: invalid cells whose email-validator message can be proved from a canonical
# stand-in, so the message is computed once per distinct stand-in instead of once per row.
#
# email-validator (2.x, unquoted addresses) checks the local part before the domain, and a
# local-part failure depends only on which characters are not atext and on where the dots
# are, never on which atext characters there are (checks in order: empty; dot-atom; the set
# of characters outside atext and "."; leading/trailing/doubled dots). So a cell whose local
# part fails gets the message of the same local part with every run of atext replaced by
# "a". When the local part passes, the domain is checked: its length, then the set of
# characters outside [A-Za-z0-9.-]; replacing each letter and digit by "a" one for one keeps
# both, so those two failures (and an empty domain) carry over too. Anything else (quotes,
# angle brackets, bracketed literals, non-ASCII, a failure of a later domain check, a repair
# suggestion that needs the real domain) stays on the per-row path.
# tests/test_fastpath.py checks the tier against email-validator, cell by cell.
_CANON_DOMAIN_FAILURES = (
    "There must be something after the @-sign.",
    "The email address is too long after the @-sign",
    "The part after the @-sign contains invalid characters: ",
)


def _canonical_invalid(
    raw: pl.Series, fast: pl.Series, parse: Callable[[str], Address | SyntaxProblem]
) -> pl.Series:
    """email-validator's message for the invalid cells the second tier can prove, else null."""
    n = len(raw)
    frame = (
        pl.DataFrame({"raw": raw, "fast": fast})
        .with_row_index("i")
        .filter(~pl.col("fast") & pl.col("raw").str.contains(r"^[\t -~]*$"))
        .with_columns(x=pl.col("raw").str.strip_chars(" \t"))
        .filter(pl.col("x") != "")
        .with_columns(at=pl.col("x").str.contains("@", literal=True))
        .with_columns(
            local=pl.when("at").then(pl.col("x").str.extract(r"^([^@]*)@", 1)).otherwise("x"),
            domain=pl.col("x").str.extract(r"^[^@]*@(.*)$", 1),  # after the first @-sign
            ats=pl.col("x").str.count_matches("@", literal=True),
        )
        .filter(~pl.col("local").str.contains(r'["<]'))
        .with_columns(canon=pl.col("local").str.replace_all(rf"{_ATEXT}+", "a"))
        .with_columns(
            key_a=pl.when("at").then(pl.col("canon") + "@a.com").otherwise("canon"),
            key_b=pl.lit("a@") + pl.col("domain").str.replace_all("[A-Za-z0-9]", "a"),
            # the domain-stage message carries over only when _repair has nothing to try
            b_ok=pl.col("at")
            & ~pl.col("domain").str.starts_with("[")
            & ((pl.col("ats") != 1) | (pl.col("domain") == "")),
        )
    )
    out = pl.Series("message", [None] * n, dtype=pl.String)
    if frame.height == 0:
        return out

    def message(key: str) -> str | None:
        parsed = parse(key)
        return parsed.message if isinstance(parsed, SyntaxProblem) else None

    local_msg = {k: message(k) for k in frame.get_column("key_a").unique().to_list()}
    frame = frame.with_columns(
        m_a=pl.col("key_a").replace_strict(local_msg, default=None, return_dtype=pl.String)
    )
    need_b = frame.filter(pl.col("m_a").is_null() & pl.col("b_ok"))
    domain_msg = {}
    for key in need_b.get_column("key_b").unique().to_list():
        text = message(key)
        if text is not None and text.startswith(_CANON_DOMAIN_FAILURES):
            domain_msg[key] = text
    frame = frame.with_columns(
        m=pl.coalesce(
            "m_a",
            pl.when(pl.col("b_ok")).then(
                pl.col("key_b").replace_strict(domain_msg, default=None, return_dtype=pl.String)
            ),
        )
    ).filter(pl.col("m").is_not_null())
    if frame.height:
        out = out.scatter(frame.get_column("i"), frame.get_column("m"))
    return out


def _parse(emails: pl.Series, checker: OfflineChecker) -> pl.DataFrame:
    """raw, local, domain (lower case) and fast: whether the row can skip email-validator."""
    special = sorted(SPECIAL_TLDS - ({"test"} if checker.allow_test_domains else set()))
    frame = pl.DataFrame({"raw": emails.fill_null("")})
    parts = frame.select(pl.col("raw").str.extract_groups(FAST_SHAPE).alias("g")).unnest("g")
    frame = frame.with_columns(
        local=parts.get_column("1"), domain=parts.get_column("2").str.to_lowercase()
    )
    return frame.with_columns(
        fast=(
            pl.col("local").is_not_null()
            & (pl.col("local").str.len_bytes() <= 64)
            & (pl.col("domain").str.len_bytes() <= 253)
            & (pl.col("local").str.len_bytes() + pl.col("domain").str.len_bytes() < 254)
            & ~pl.col("domain").str.contains("--", literal=True)
            & ~pl.col("domain").str.extract(r"\.([a-z]+)$").is_in(special)
        ).fill_null(False)
    )


class DuplicateCollector:
    """Finds duplicates across a big list with memory bounded by a part of it, not all of it.

    ``DuplicateIndex`` keeps ~20-37 bytes per unique address in memory for the whole run. Here
    a first pass hands every batch's normalized column to ``add``, which keeps (h1, h2, row)
    and writes it out by hash into PARTS files once BUFFER rows have gathered. ``finish`` reads
    the files one at a time (1/PARTS of the rows each), finds first occurrences with a group-by
    and keeps only the duplicate rows, (row, first): 8 bytes per duplicate row. The hashes are
    DuplicateIndex's two seeded 64-bit hashes. The files live in the caller's private temporary
    directory.
    """

    PARTS = 64  # at most
    PART_KEYS = 100_000  # about the keys one part holds
    BUFFER = 250_000  # keys gathered before a flush

    def __init__(self, tmp: Path, rows: int | None = None) -> None:
        """``rows``: the list's expected size, to cut it into parts of about BUFFER keys.

        One part per PART_KEYS rows keeps what ``finish`` holds at once the same at 400k rows and
        at 20M; 64 fixed parts made a 400k list pay for 64 group-bys of 6k keys each (0.6 s of
        a 5 s run, #19).
        """
        self.tmp = tmp
        if rows is not None:
            self.PARTS = max(1, min(self.PARTS, -(-rows // self.PART_KEYS)))
        self.files: list[list[Path]] = [[] for _ in range(self.PARTS)]
        self.pending: list[pl.DataFrame] = []
        self.buffered = 0
        self.flushes = 0

    def add(self, normalized: pl.Series, first_row: int) -> None:
        keys = (
            pl.DataFrame({"n": normalized})
            .with_row_index("i")
            .filter(pl.col("n").is_not_null() & (pl.col("n") != ""))
            .select(
                h1=pl.col("n").hash(DuplicateIndex.SEEDS[0]),
                h2=pl.col("n").hash(DuplicateIndex.SEEDS[1]),
                row=(pl.col("i") + first_row).cast(pl.UInt32),
            )
        )
        self.pending.append(keys)
        self.buffered += keys.height
        if self.buffered >= self.BUFFER:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        frame = pl.concat(self.pending).with_columns(
            part=(pl.col("h2") % self.PARTS).cast(pl.UInt8)
        )
        self.pending, self.buffered = [], 0
        for (part,), rows in frame.partition_by("part", as_dict=True).items():
            path = self.tmp / f"keys-{part}-{self.flushes}.arrow"
            rows.drop("part").write_ipc(path)
            self.files[part].append(path)
        self.flushes += 1

    def finish(self) -> PlannedDuplicates:
        self._flush()
        found: list[pl.DataFrame] = []
        unique = 0
        for paths in self.files:
            if not paths:
                continue
            part = pl.concat([pl.read_ipc(path) for path in paths], rechunk=True)
            for path in paths:
                path.unlink()
            firsts = part.group_by(["h1", "h2"]).agg(pl.col("row").min().alias("first"))
            unique += firsts.height
            found.append(
                part.join(firsts, on=["h1", "h2"])
                .filter(pl.col("row") != pl.col("first"))
                .select("row", "first")
            )
        dups = (
            pl.concat(found).sort("row")
            if found
            else pl.DataFrame(schema={"row": pl.UInt32, "first": pl.UInt32})
        )
        return PlannedDuplicates(dups, unique)


class PlannedDuplicates:
    """duplicate_of for every row, from DuplicateCollector: only the duplicate rows are kept."""

    def __init__(self, dups: pl.DataFrame, unique: int) -> None:
        self.rows = dups.get_column("row")  # sorted
        self.firsts = dups.get_column("first")
        self.unique = unique

    def __len__(self) -> int:
        return self.unique

    def mark_series(self, normalized: pl.Series, first_row: int) -> pl.Series:
        n = len(normalized)
        lo = int(self.rows.search_sorted(first_row, side="left"))
        hi = int(self.rows.search_sorted(first_row + n, side="left"))
        out = pl.repeat("", n, dtype=pl.String, eager=True)
        if hi > lo:
            at = (self.rows.slice(lo, hi - lo) - first_row).cast(pl.UInt32)
            out = out.scatter(at, self.firsts.slice(lo, hi - lo).cast(pl.String))
        return out


# Providers that document sub-addressing ("local+tag@domain" reaches "local@domain"):
# Gmail (support.google.com/mail/answer/7436150: dots are ignored too, and googlemail.com is
# gmail.com), Outlook.com (learn.microsoft.com, "Plus addressing in Exchange Online" and
# Outlook.com), Fastmail (fastmail.help: "plus addressing"), Proton (proton.me/support,
# "addresses with a plus sign").
PLUS_DOMAINS = (
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "fastmail.com",
    "fastmail.fm",
    "protonmail.com",
    "protonmail.ch",
    "proton.me",
    "pm.me",
)


def dedupe_key(normalized: pl.Series, mode: str = "casefold") -> pl.Series:
    """What two rows must share to be duplicates (``--dedupe``).

    - ``exact``: the normalized address as is (local part as typed);
    - ``casefold``: local part case-insensitive, as every major provider treats it;
    - ``provider``: casefold, plus the rules of providers that document them: Gmail ignores
      dots and ``+tags`` (googlemail.com is gmail.com); PLUS_DOMAINS drop ``+tags``.
    """
    if mode == "exact":
        return normalized
    folded = normalized.str.to_lowercase()
    if mode == "casefold":
        return folded
    frame = pl.DataFrame({"a": folded}).select(
        local=pl.col("a").str.extract(r"^(.*)@[^@]*$", 1),
        domain=pl.col("a").str.extract(r"@([^@]*)$", 1),
        a=pl.col("a"),
    )
    domain = (
        pl.when(pl.col("domain") == "googlemail.com")
        .then(pl.lit("gmail.com"))
        .otherwise(pl.col("domain"))
    )
    untagged = (
        pl.when(domain.is_in(PLUS_DOMAINS))
        .then(pl.col("local").str.replace(r"\+.*$", ""))
        .otherwise(pl.col("local"))
    )
    local = (
        pl.when(domain == "gmail.com")
        .then(untagged.str.replace_all(".", "", literal=True))
        .otherwise(untagged)
    )
    key = pl.when(pl.col("domain").is_null()).then(pl.col("a")).otherwise(local + "@" + domain)
    return frame.select(key.alias(normalized.name)).to_series()


def with_duplicates(
    frame: pl.DataFrame,
    seen: DuplicateIndex | PlannedDuplicates,
    first_row: int,
    dedupe: str = "casefold",
) -> pl.DataFrame:
    """Fill in an offline_frame's duplicate columns from the index of the whole list."""
    key = dedupe_key(frame.get_column("lc_normalized"), dedupe)
    duplicate_of = seen.mark_series(key, first_row)
    return frame.with_columns(lc_duplicate_of=duplicate_of, _dup=duplicate_of != "")


def offline_frame(
    emails: pl.Series,
    checker: OfflineChecker,
    slow: Callable[[str], Result],
    flags_text: Callable[[tuple[Flag, ...], bool], str],
) -> tuple[pl.DataFrame, list[str]]:
    """The offline verdict of every row of one batch, as columns, and the syntax messages.

    Besides lc_ columns the frame has what the network stages and ``finish`` need: ``_flags``
    (the address's flags as text, without "duplicate"), ``_dup``, ``_accept_all`` and
    ``_domain`` (the A-label domain DNS is asked for; "" when the address is not valid).
    Duplicates depend on the rest of the list: ``with_duplicates`` fills them in.
    """
    n = len(emails)
    frame = _parse(emails, checker)
    fast = frame.get_column("fast")

    # Per distinct domain of the fast rows: free, disposable, typo suggestion (once each).
    domains = frame.filter("fast").get_column("domain").unique().to_list()
    facts = dict(zip(domains, checker.domain_facts_many(domains), strict=True))
    free = {d: bool(f[0]) for d, f in facts.items()}
    disposable = {d: bool(f[1]) for d, f in facts.items()}
    fixed = {d: f[2] for d, f in facts.items()}
    roles = sorted(role_locals())
    frame = frame.with_columns(
        normalized=pl.col("local") + "@" + pl.col("domain"),
        role=pl.col("local").str.split("+").list.first().str.to_lowercase().is_in(roles),
        free=pl.col("domain").replace_strict(free, default=False, return_dtype=pl.Boolean),
        disposable=pl.col("domain").replace_strict(
            disposable, default=False, return_dtype=pl.Boolean
        ),
        fixed=pl.col("domain").replace_strict(fixed, default="", return_dtype=pl.String),
    )

    # Invalid cells whose message the second tier proves: no per-row Result.
    known = _canonical_invalid(frame.get_column("raw"), fast, checker.parse)
    tier2 = known.is_not_null()

    # Every other cell: the ordinary path, one Result per row, placed back by position.
    slow_rows = (~fast & ~tier2).arg_true().to_list()
    slow_results = [slow(raw) for raw in frame.get_column("raw").gather(slow_rows).to_list()]

    # Duplicates need every row's normalized form, in order, against the whole file so far.
    normalized = frame.get_column("normalized")
    if tier2.any():
        normalized = normalized.zip_with(~tier2, pl.repeat("", n, dtype=pl.String, eager=True))
    if slow_rows:
        normalized = normalized.scatter(slow_rows, [r.normalized for r in slow_results])

    # Flags of the fast rows: role; free; disposable (the order OfflineChecker uses), one of 8
    # combinations per row, turned into text by a lookup table.
    combo_text = {}
    for key in range(8):
        combo: tuple[Flag, ...] = ()
        if key & 4:
            combo += (Flag.ROLE,)
        if key & 2:
            combo += (Flag.FREE,)
        if key & 1:
            combo += (Flag.DISPOSABLE,)
        combo_text[key] = flags_text(combo, False)
    vec = frame.select(
        _flags=(
            pl.col("role").fill_null(False).cast(pl.Int8) * 4
            + pl.col("free").fill_null(False).cast(pl.Int8) * 2
            + pl.col("disposable").fill_null(False).cast(pl.Int8)
        ).replace_strict(combo_text, return_dtype=pl.String),
        lc_reason=pl.when(tier2)
        .then(pl.lit(Reason.INVALID_SYNTAX.value))
        .when(pl.col("disposable"))
        .then(pl.lit(_DISPOSABLE[1]))
        .otherwise(pl.lit(_NOT_PROBED[1])),
        lc_suggestion=pl.when(pl.col("fixed") != "")
        .then(pl.col("local") + "@" + pl.col("fixed"))
        .otherwise(pl.lit("")),
        _domain=pl.col("domain").fill_null(""),
    )
    empty = pl.repeat("", n, dtype=pl.String, eager=True)
    columns = {
        "lc_reason": vec.get_column("lc_reason"),
        "lc_normalized": normalized,
        "_flags": vec.get_column("_flags"),
        "lc_suggestion": vec.get_column("lc_suggestion"),
        "lc_mx": empty,
        "lc_smtp_code": empty,
        "lc_smtp_reply": empty,
        "lc_duplicate_of": empty,
        "lc_provider": empty,
        "lc_checked_at": empty,
        "_domain": vec.get_column("_domain"),
    }
    if slow_rows:
        idx = pl.Series(slow_rows, dtype=pl.UInt32)
        per_slow = {
            "lc_reason": [r.reason.value for r in slow_results],
            "_flags": [flags_text(r.flags, False) for r in slow_results],
            "lc_suggestion": [r.suggestion for r in slow_results],
            "lc_mx": [r.mx for r in slow_results],
            "lc_smtp_code": [r.smtp_code for r in slow_results],
            "lc_smtp_reply": [r.smtp_reply for r in slow_results],
            "_domain": [r.domain for r in slow_results],
        }
        for name, values in per_slow.items():
            columns[name] = columns[name].clone().scatter(idx, values)
    out = pl.DataFrame([series.alias(name) for name, series in columns.items()]).with_columns(
        _dup=pl.lit(False), _accept_all=pl.lit(False)
    )
    if slow_rows:
        known = known.scatter(
            slow_rows, [r.detail if r.detail and not r.normalized else None for r in slow_results]
        )
    messages: list[str] = known.drop_nulls().to_list()
    return out, messages


DOMAIN_SCHEMA = {
    "_domain": pl.String,
    "dns_reason": pl.String,  # null: the domain has mail hosts
    "dns_mx": pl.String,
    "unverifiable": pl.Boolean,  # a provider whose servers accept every RCPT
    "accept_all": pl.Boolean,  # the catch-all test accepted a random address
    "provider": pl.String,  # checks/providers.py, from the MX host ("" unknown)
}
PROBE_SCHEMA = {
    "lc_normalized": pl.String,
    "p_reason": pl.String,
    "p_code": pl.String,
    "p_reply": pl.String,
    "p_host": pl.String,
    "p_at": pl.String,  # ISO 8601 UTC time of the deciding probe
}
_DNS_FINAL = sorted(r.value for r in DNS_FINAL)
UNDECIDED = [Reason.NOT_PROBED.value, Reason.DISPOSABLE.value]


def apply_network(frame: pl.DataFrame, domains: pl.DataFrame, probes: pl.DataFrame) -> pl.DataFrame:
    """Merge DNS outcomes (per domain) and RCPT probes (per address) into offline columns.

    The same rules as ``apply_dns``, ``provider_unverifiable`` and ``apply_smtp`` applied row
    by row (tests/test_fastpath.py checks the two agree), written as column expressions.
    A domain missing from ``domains`` was not resolved: its rows keep their offline verdict.
    """
    reason = pl.col("lc_reason")
    known = pl.col("dns_known")
    needs = (pl.col("_domain") != "") & reason.is_in(UNDECIDED) & known
    final = pl.col("dns_reason").is_in(_DNS_FINAL).fill_null(False)
    keep = (reason == Reason.DISPOSABLE.value) | pl.col("dns_reason").is_null()
    frame = (
        frame.join(
            domains.with_columns(dns_known=pl.lit(True)),
            on="_domain",
            how="left",
            maintain_order="left",
        )
        .with_columns(pl.col("dns_known").fill_null(False))
        .with_columns(
            lc_reason=pl.when(needs & (final | ~keep)).then("dns_reason").otherwise(reason),
            lc_mx=pl.when(needs).then("dns_mx").otherwise("lc_mx"),
            lc_provider=pl.when(known)
            .then(pl.col("provider").fill_null(""))
            .otherwise("lc_provider"),
        )
    )
    undecided = known & (reason == Reason.NOT_PROBED.value)
    unverifiable = undecided & pl.col("unverifiable").fill_null(False)
    frame = frame.with_columns(
        lc_reason=pl.when(unverifiable)
        .then(pl.lit(Reason.PROVIDER_UNVERIFIABLE.value))
        .otherwise(reason)
    )
    if probes.height:
        probed = undecided & pl.col("p_reason").is_not_null()
        catch_all = (pl.col("p_reason") == Reason.ACCEPTED.value) & pl.col("accept_all")
        frame = (
            frame.join(probes, on="lc_normalized", how="left", maintain_order="left")
            .with_columns(
                lc_reason=pl.when(probed & catch_all)
                .then(pl.lit(Reason.ACCEPT_ALL.value))
                .when(probed)
                .then("p_reason")
                .otherwise(reason),
                _accept_all=pl.when(probed & catch_all).then(True).otherwise("_accept_all"),
                lc_smtp_code=pl.when(probed).then("p_code").otherwise("lc_smtp_code"),
                lc_smtp_reply=pl.when(probed).then("p_reply").otherwise("lc_smtp_reply"),
                lc_mx=pl.when(probed & (pl.col("p_host") != "")).then("p_host").otherwise("lc_mx"),
                lc_checked_at=pl.when(probed).then("p_at").otherwise("lc_checked_at"),
            )
            .drop(PROBE_SCHEMA.keys() - {"lc_normalized"})
        )
    return frame.drop(DOMAIN_SCHEMA.keys() - {"_domain"}).drop("dns_known")


_STATUS_OF = {r.value: status_of(r).value for r in Reason}
_BASE_SCORE = {r.value: (None if r in NO_SCORE else BASE.get(r, 40)) for r in Reason}


def _has_flag(flag: Flag) -> pl.Expr:
    return pl.col("_flags").str.contains(rf"(^|;){flag.value}(;|$)")


def _score_expr() -> pl.Expr:
    """checks.score.score as one column expression (tests/test_fastpath.py checks they agree)."""
    base = pl.col("lc_reason").replace_strict(_BASE_SCORE, return_dtype=pl.Int64)
    value = base - pl.when(_has_flag(Flag.ROLE)).then(pl.lit(ROLE_PENALTY)).otherwise(pl.lit(0))
    lift = _has_flag(Flag.PREVIOUSLY_DELIVERED) & ~pl.col("lc_reason").is_in(
        [r.value for r in NO_LIFT]
    )
    value = pl.when(lift).then(pl.max_horizontal(value, pl.lit(DELIVERED_FLOOR))).otherwise(value)
    value = value - pl.when(_has_flag(Flag.SOFT_BOUNCED)).then(pl.lit(SOFT_PENALTY)).otherwise(0)
    opted_out = _has_flag(Flag.COMPLAINED) | _has_flag(Flag.UNSUBSCRIBED)
    value = pl.when(opted_out).then(pl.min_horizontal(value, pl.lit(OPT_OUT_CAP))).otherwise(value)
    value = pl.when(base.is_null()).then(None).otherwise(value)  # invalid syntax: no score
    return value.clip(0, 100).cast(pl.String).fill_null("")


NEUTRALISED = ("lc_normalized", "lc_suggestion", "lc_mx", "lc_smtp_reply")


def finish(frame: pl.DataFrame) -> dict[str, pl.Series]:
    """The contract's lc_ columns, in order, from a frame of offline_frame/apply_network."""
    cols = frame.select(
        # Every text listclean writes is neutralised: no control characters (ESC/OSC, CR/LF)
        # and no leading = + - @ a spreadsheet would run (values from the list and from DNS).
        *(neutralise_expr(name) for name in NEUTRALISED),
        lc_status=pl.col("lc_reason").replace_strict(_STATUS_OF, return_dtype=pl.String),
        lc_score=_score_expr(),
        lc_flags=pl.concat_str(
            pl.when(pl.col("_flags") != "").then("_flags"),
            pl.when("_accept_all").then(pl.lit(Flag.ACCEPT_ALL.value)),
            pl.when("_dup").then(pl.lit(Flag.DUPLICATE.value)),
            separator=";",
            ignore_nulls=True,
        ),
    )
    return {
        name: cols.get_column(name) if name in cols.columns else frame.get_column(name)
        for name in LC_COLUMNS
    }


def tally_columns(tally: Tally, columns: dict[str, pl.Series], messages: list[str]) -> None:
    """Count one batch's finished columns into the run's tally."""
    tally.rows += len(columns["lc_status"])
    for target, name in ((tally.status, "lc_status"), (tally.reason, "lc_reason")):
        for value, count in columns[name].value_counts().iter_rows():
            target[value] += count
    for text, count in columns["lc_flags"].value_counts().iter_rows():
        for flag in text.split(";") if text else ():
            tally.flags[flag] += count
    normalized = columns["lc_normalized"]
    tally.count_domains(
        normalized.filter(normalized != "").str.split("@").list.last().value_counts()
    )
    mx = columns["lc_mx"]
    for value, count in mx.filter(mx != "").value_counts().iter_rows():
        tally.mx[value] += count
    stamps = columns["lc_checked_at"].filter(columns["lc_checked_at"] != "")
    if len(stamps):
        low, high = str(stamps.min()), str(stamps.max())
        tally.checked = (
            [min(tally.checked[0], low), max(tally.checked[1], high)]
            if tally.checked
            else [low, high]
        )
    pairs = pl.DataFrame({"p": columns["lc_provider"], "s": columns["lc_status"]})
    for provider, status, count in pairs.group_by("p", "s").len().iter_rows():
        tally.providers[(provider, status)] += count
    tally.syntax_messages.update(messages)


def annotate_offline(
    emails: pl.Series,
    first_row: int,
    checker: OfflineChecker,
    slow: Callable[[str], Result],
    seen: DuplicateIndex | PlannedDuplicates,
    tally: Tally,
    flags_text: Callable[[tuple[Flag, ...], bool], str],
) -> dict[str, pl.Series]:
    """The lc_ columns of one batch, offline. ``slow`` is the per-cell path (Memo.get)."""
    frame, messages = offline_frame(emails, checker, slow, flags_text)
    columns = finish(with_duplicates(frame, seen, first_row))
    tally_columns(tally, columns, messages)
    return columns
