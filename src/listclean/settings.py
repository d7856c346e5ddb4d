"""Every knob of a run, frozen. The CLI builds one; everything below reads it."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_MAIL_FROM = ""  # empty: derived from --helo as "verify@<helo>" (see README)


def default_home() -> Path:
    """LISTCLEAN_HOME, or a per-user default under XDG_STATE_HOME / ~/.local/state."""
    env = os.environ.get("LISTCLEAN_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "listclean"


@dataclass(frozen=True)
class Settings:
    # input / output
    column: str | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"
    output_format: str = "csv"  # csv | jsonl | xlsx (xlsx also when the output is named .xlsx)
    sheet: str | None = None  # the workbook sheet to read (default: the first)
    split_dir: Path | None = None
    html_path: Path | None = None
    # offline checks
    allow_test_domains: bool = False
    disposable_list: Path | None = None
    allow_list: Path | None = None
    dedupe: str = "casefold"  # exact | casefold | provider (fastpath.dedupe_key)
    # network
    offline: bool = False
    nameservers: tuple[str, ...] = ()
    dns_timeout: float = 5.0
    dns_concurrency: int = 200
    allow_private_mx: bool = False
    smtp_port: int = 25
    helo: str = ""
    mail_from: str = DEFAULT_MAIL_FROM
    smtp_timeout: float = 30.0
    smtp_concurrency: int = 20
    smtp_per_host: int = 2
    greylist_delay: float = 180.0
    greylist_retries: int = 2
    starttls: bool = True
    proxies: tuple[str, ...] = ()  # socks5:// URLs for SMTP, in rotation (probes/egress.py)
    routes: tuple[str, ...] = ()  # SUFFIX=PROXY|direct rules, per MX host
    source_address: str | None = None  # bind outbound SMTP to this local address
    provider_budgets: tuple[str, ...] = ()  # KEY=SESSIONS/RCPTS/PER_MINUTE (politeness.py)
    provider_mx: tuple[str, ...] = ()  # SUFFIX=KEY: more MX host names for a provider
    host_budget: float = 900.0  # seconds one MX host may take in a run (slow/tarpit breaker)
    # where the work runs (engines/): local, or a Ray cluster (docs/scale-out.md)
    engine: str = "local"
    ray_address: str | None = None  # join this cluster; None: start a local Ray on loopback
    # store
    home: Path = field(default_factory=default_home)
    use_cache: bool = True
    from_cache: bool = False  # verdicts from kept replies and MX answers: no socket at all
    use_evidence: bool = True  # apply what `listclean learn` stored (evidence.py)
    cache_ttl_days: float = 30.0
    resume: bool = False
    show_addresses: bool = False
    batch_rows: int = 50_000  # rows parsed and checked at a time (offline runs)
    # Networked runs: DNS, SMTP and writing are done this many rows at a time, read in batches
    # of half that. Bigger chunks gain little (a host's addresses in a chunk share sessions)
    # and cost memory: see docs/benchmarks.md, "Big list".
    chunk_rows: int = 50_000
    # Lists longer than this (physical lines) find their duplicates in a first pass over the
    # file, with memory bounded by 1/64 of the list, instead of an in-memory index of every
    # address (see fastpath.PlannedDuplicates).
    prepass_rows: int = 100_000

    def public(self) -> dict[str, object]:
        """The settings as JSON-able values for reports and the audit log (no secrets)."""
        out: dict[str, object] = {}
        for key, value in asdict(self).items():
            if key in ("proxies", "routes"):
                # proxy credentials never reach a report or the audit log
                value = tuple(re.sub(r"//[^/@]*@", "//***@", v) for v in value)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out
