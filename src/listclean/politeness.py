"""Politeness keyed by provider, not by MX host (#14 item 3).

Every Microsoft 365 tenant has its own MX name (contoso-com.mail.protection.outlook.com), so
limits per MX host let a business list open far more sessions to Microsoft than
--smtp-per-host suggests. Here the budget is the provider's: sessions open at once over all
its MX hosts, RCPTs per session, and new sessions per minute. A host with no known provider
is its own "provider" with the per-host limit, as before.

Replies drive it: a rate-limit reply from any of a provider's hosts slows every session to
that provider (the pace between new sessions doubles), and a reply refusing our IP or our
sender pauses the provider for the rest of the run, so one run cannot get the user's IP
listed by a provider. The report says which provider was paused, and the reply.

Defaults (docs/politeness.md has the sources): no provider publishes exact numbers for
inbound SMTP. They start from Postfix's per-destination defaults (postconf(5):
default_destination_concurrency_limit = 20, default_destination_recipient_limit = 50,
initial_destination_concurrency = 5) and are lowered for the big mailbox providers and the
filtering gateways, whose postmaster pages ask senders to ramp up slowly and to keep
connections few. Override with --provider-budget KEY=SESSIONS/RCPTS/PER_MINUTE, also from a
trusted listclean.toml (provider_budget = [...]); map more MX host names to a provider with
--provider-mx SUFFIX=KEY.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

from listclean.checks.providers import provider_of


@dataclass(frozen=True)
class Budget:
    sessions: int  # open at once, all the provider's MX hosts together
    rcpts_per_session: int
    per_minute: float  # new sessions per minute; 0 = no pace

    def text(self) -> str:
        pace = f"{self.per_minute:g} new/min" if self.per_minute else "no pace"
        return f"{self.sessions} sessions, {self.rcpts_per_session} RCPTs each, {pace}"


MAILBOX = Budget(sessions=4, rcpts_per_session=50, per_minute=30)
GATEWAY = Budget(sessions=4, rcpts_per_session=50, per_minute=30)
DEFAULT_BUDGETS: dict[str, Budget] = {
    **dict.fromkeys(
        (
            "google",
            "microsoft",
            "apple",
            "zoho",
            "yandex",
            "mailru",
            "gmx",
            "webde",
            "ionos",
            "fastmail",
            "proton",
            "amazon",
        ),
        MAILBOX,
    ),
    **dict.fromkeys(
        ("mimecast", "proofpoint", "barracuda", "cisco", "trendmicro", "sophos"), GATEWAY
    ),
}
# Providers whose MX hosts accept every RCPT and bounce later, so a probe proves nothing: their
# addresses are never probed (provider_unverifiable). Yahoo and AOL share the yahoodns.net
# inbound hosts ("mta5.am0.yahoodns.net"), which answer 250 for any local part.
ACCEPT_ALL = frozenset({"yahoo"})

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_BUDGET = re.compile(r"^(\d{1,4})/(\d{1,4})/(\d{1,5}(?:\.\d+)?)$")
_SUFFIX = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}$")


def parse_budget(text: str) -> tuple[str, Budget]:
    """KEY=SESSIONS/RCPTS/PER_MINUTE, e.g. google=2/50/10 (PER_MINUTE 0: no pace)."""
    key, sep, value = text.strip().partition("=")
    key = key.strip().lower()
    m = _BUDGET.match(value.strip())
    if not sep or not _KEY.match(key) or m is None:
        raise ValueError(f"{text!r} is not KEY=SESSIONS/RCPTS/PER_MINUTE (e.g. google=2/50/10)")
    sessions, rcpts, per_minute = int(m.group(1)), int(m.group(2)), float(m.group(3))
    if not (1 <= sessions <= 100 and 1 <= rcpts <= 1000 and per_minute <= 10_000):
        raise ValueError(f"{text!r}: sessions 1-100, RCPTs 1-1000, new sessions per minute 0-10000")
    return key, Budget(sessions, rcpts, per_minute)


def parse_mx_rule(text: str) -> tuple[str, str]:
    """SUFFIX=KEY: MX host names ending in SUFFIX belong to provider KEY."""
    suffix, sep, key = text.strip().partition("=")
    suffix, key = suffix.strip().lower().strip("."), key.strip().lower()
    if not sep or not _SUFFIX.match(suffix) or not _KEY.match(key):
        raise ValueError(f"{text!r} is not SUFFIX=KEY (e.g. mx.example.net=example)")
    return suffix, key


@dataclass(frozen=True)
class Providers:
    """Provider keys for MX hosts, and each provider's budget, for one run."""

    rules: tuple[tuple[str, str], ...] = ()  # extra (suffix, key), checked first
    budgets: tuple[tuple[str, Budget], ...] = ()  # overrides of DEFAULT_BUDGETS

    @classmethod
    def from_options(cls, mx_rules: tuple[str, ...], budgets: tuple[str, ...]) -> Providers:
        return cls(
            tuple(parse_mx_rule(r) for r in mx_rules), tuple(parse_budget(b) for b in budgets)
        )

    def key(self, mx_host: str) -> str:
        """The provider of an MX host ("" when unknown)."""
        host = mx_host.lower().rstrip(".")
        for suffix, key in self.rules:
            if host == suffix or host.endswith("." + suffix):
                return key
        return provider_of(host)

    def budget(self, key: str, per_host: int) -> Budget | None:
        """The provider's budget; None for an unknown provider (per-host limits apply)."""
        for name, budget in self.budgets:
            if name == key:
                return budget
        if not key:
            return None
        return DEFAULT_BUDGETS.get(key)

    def accept_all(self, mx_host: str) -> bool:
        return self.key(mx_host) in ACCEPT_ALL


@dataclass
class Gate:
    """One provider's shared state in a run: its session slots, its pace, its pause."""

    key: str
    budget: Budget
    slots: asyncio.Semaphore = field(init=False)
    interval: float = field(init=False)  # seconds between new sessions
    next_start: float = 0.0
    paused: str = ""  # why the provider is paused for the rest of the run ("" running)
    slowed: int = 0  # rate-limit replies seen
    open_now: int = 0
    most_open: int = 0
    waited: float = 0.0  # seconds sessions spent waiting for a slot or the pace, summed

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.budget.sessions)
        self.interval = 60.0 / self.budget.per_minute if self.budget.per_minute else 0.0

    async def pace(self) -> None:
        """Wait for this provider's next new-session slot in time."""
        if not self.interval:
            return
        now = time.monotonic()
        start = max(now, self.next_start)
        self.next_start = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)

    def slow_down(self) -> None:
        """A rate-limit reply: every session to this provider starts half as often."""
        self.slowed += 1
        self.interval = min(max(self.interval * 2, 2.0), 300.0)

    def opened(self) -> None:
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)

    def closed(self) -> None:
        self.open_now -= 1
