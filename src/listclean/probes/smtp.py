"""SMTP RCPT probes: a small bounded asyncio client and a per-MX-host scheduler.

The conversation (RFC 5321): banner -> EHLO -> STARTTLS when offered (opportunistic,
RFC 7435: the addresses travel encrypted, certificates are not verified since MX hosts rarely
present one for their name) -> EHLO -> MAIL FROM -> RCPT TO ... -> RSET -> ... -> QUIT.
Never DATA: listclean never sends a message.

Scheduling:
- work is grouped by MX host list, not by domain (one provider serves thousands of domains);
- each host gets at most ``per_host`` sessions at once, all hosts together ``concurrency``;
- a session is reused for many recipients, and closed before stock Postfix's limits bite:
  after MAX_ERRORS rejected commands (smtpd_soft_error_limit 10 slows every reply to 1 s,
  smtpd_hard_error_limit 20 disconnects; with PIPELINING, once fewer than MIN_BATCH are left),
  after MAX_RCPT_PER_SESSION recipients, after SESSION_SECONDS, or as soon as replies turn
  slow (the server is tarpitting us);
- 421 / rate-limit replies back the host off; if it keeps refusing, its remaining addresses
  are ``rate_limited``. Blocklist replies stop the host at once (``ip_blocked``);
- greylisted (4xx) addresses are parked and probed again after ``greylist_delay`` while other
  work goes on, at most ``greylist_retries`` times;
- when connections to several distinct hosts all fail and none ever succeeded, outbound
  port 25 looks blocked: everything left is ``smtp_unreachable`` and one warning is raised.

Everything a remote server controls is bounded: line length, reply lines and bytes, the time
for each reply, and the length of a session.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import secrets
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from listclean.checks.replies import (
    HOST_LEVEL,
    TEMPORARY,
    after_retries,
    classify,
    sanitize_reply,
)
from listclean.model import Reason
from listclean.politeness import Gate, Providers
from listclean.probes.dns import MxHost
from listclean.probes.egress import Egress as Routes
from listclean.probes.egress import Proxy, RouteDown, label, open_socket
from listclean.safety import UnsafeValue, check_helo, check_mail_from, check_wire_line

MAX_LINE = 4096  # bytes in one reply line (RFC 5321 §4.5.3.1.5 allows 512)
MAX_REPLY_LINES = 64
MAX_REPLY_BYTES = 64 * 1024
MAX_ERRORS = 9  # rejected commands per session before reconnecting (Postfix soft limit 10)
MAX_RCPT_PER_SESSION = 500
MAX_RCPT_PER_TRANSACTION = 50  # then RSET (Postfix counts RSET as junk: limit 100)
SESSION_SECONDS = 300.0
SLOW_REPLY = 0.9  # seconds: Postfix sleeps 1 s per reply once it counts us as an error source
# Outbound port 25 "looks blocked" only when this many distinct hosts all *timed out* and no
# host answered at all. A refused connection (RST) is not counted: the host's own answer
# shows the path works (a dead MX), and a blocked port drops packets. Any later answer
# clears the state, and a host that answered is never stopped by it.
CONNECT_FAILURES_FOR_BLOCKED = 5
HOST_TIMEOUTS_FOR_CUTOFF = 2  # timed-out sessions before a host is judged slow (breaker)
SLOW_SESSIONS_FOR_CUTOFF = 3
HOST_BUDGET = 900.0  # seconds one MX host may take in a run, by default (--host-budget)
RATE_LIMIT_RETRIES = 3
RESTART_RETRIES = 3  # connect failures tolerated from a host that answered before
ADDRESSES_PER_PARALLEL_SESSION = 50
# RCPTs per write when the server offers PIPELINING: a whole transaction's worth. A batch is
# also never larger than the rejections the session may still take (_batch_limit) nor the
# provider's RCPTs per session (rcpt_cap), so these are the only limits (#14 item 5: RFC 2920,
# "as many RCPTs in flight as the budget and the server's error limits allow"). 20 here cost
# a clean list a third of its speed 50 ms away (bench/latency.py --all-exist: 242 -> 342/s).
PIPELINE_DEPTH = MAX_RCPT_PER_TRANSACTION
# A pipelined batch is never larger than the rejections the session may still take. Once
# fewer than this are left and more addresses wait, a new session (about 7 round trips) is
# cheaper than trickling batches of 1-3 RCPTs, one round trip each (bench/latency.py: 1.6x).
MIN_BATCH = 4
# A pipelined batch may be larger than the rejections the session may still take when this
# host's replies so far make "more rejections than that in one batch" less likely than this.
# Before any reply the rate is taken as 1/2, so the first batches stay within the allowance.
OVERSHOOT_RISK = 1e-4
RECENT_REPLIES = 40  # the window that catches a run of bad addresses (a sorted list)
BACKOFF_BASE = 1.0


@dataclass(frozen=True, slots=True)
class Target:
    key: str  # the normalized address: where the verdict goes
    rcpt: str  # what RCPT TO carries: local part as typed @ A-label domain
    domain: str  # A-label domain
    smtputf8: bool = False
    catchall_probe: bool = False  # the random address of a domain's catch-all test


@dataclass(frozen=True, slots=True)
class Probe:
    reason: Reason
    code: str = ""
    reply: str = ""
    host: str = ""
    at: float = field(default=0.0, compare=False)  # when it was decided (UTC epoch seconds)
    # the reply answered RCPT for this address (not a session, MAIL FROM or connection
    # outcome): `verify --from-cache` may classify it again with the current classifier
    rcpt: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class SmtpConfig:
    port: int = 25
    helo: str = "localhost"
    mail_from: str = ""
    timeout: float = 30.0
    per_host: int = 2
    concurrency: int = 20
    greylist_delay: float = 180.0
    greylist_retries: int = 2
    starttls: bool = True
    backoff: float = BACKOFF_BASE
    host_budget: float = HOST_BUDGET
    routes: Routes = field(default_factory=Routes)  # direct, or SOCKS5 proxies per MX host
    providers: Providers = field(default_factory=Providers)  # budgets keyed by provider

    def __post_init__(self) -> None:
        # Defence in depth: the CLI validates these too, but a library caller may not.
        check_helo(self.helo)
        check_mail_from(self.mail_from)


@dataclass
class Egress:
    sessions: int = 0
    rcpt: int = 0
    tls: int = 0
    hosts: set[str] = field(default_factory=set)
    routes: dict[str, int] = field(default_factory=dict)  # route label -> sessions
    mx_routes: dict[str, str] = field(default_factory=dict)  # MX host -> route label


class SmtpFailure(Exception):
    """A session-level failure: the connection, the banner, or the server's behaviour."""

    def __init__(
        self,
        reason: Reason,
        text: str = "",
        code: int = 0,
        connect: bool = False,
        route: bool = False,
    ):
        super().__init__(text)
        self.reason = reason
        self.text = text
        self.code = code
        self.connect = connect
        self.route = route  # the proxy route is unusable: stop this host at once
        self.partial: list[tuple[int, str]] = []


_REPLY_LINE = re.compile(rb"^([2-5][0-9][0-9])([ -]|$)(.*)$", re.DOTALL)


class Connection:
    """One SMTP connection with bounded reads."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        timeout: float,
        host: str,
    ) -> None:
        self.reader, self.writer, self.timeout, self.host = reader, writer, timeout, host
        self.extensions: set[str] = set()
        self.tls = False
        self.greeted = False  # a banner was read: later failures are mid-session

    @classmethod
    async def open(
        cls,
        host: str,
        address: str,
        port: int,
        timeout: float,
        proxy: Proxy | None = None,
        source: str | None = None,
    ) -> Connection:
        """Connect directly or through ``proxy``; RouteDown when the proxy cannot be used."""
        if proxy is not None or source is not None:
            sock, reason, text = await open_socket(address, port, timeout, proxy, source)
            if sock is None:
                assert reason is not None
                raise SmtpFailure(
                    reason, f"connect to {host} [{address}]:{port}: {text}", connect=True
                )
            reader, writer = await asyncio.open_connection(sock=sock, limit=MAX_LINE)
            return cls(reader, writer, timeout, host)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(address, port, limit=MAX_LINE), timeout
            )
        except TimeoutError:
            raise SmtpFailure(
                Reason.SMTP_TIMEOUT, f"connect to {host} [{address}]:{port} timed out", connect=True
            ) from None
        except OSError as exc:
            raise SmtpFailure(
                Reason.SMTP_UNREACHABLE,
                f"connect to {host} [{address}]:{port}: {exc.strerror or exc}",
                connect=True,
            ) from None
        return cls(reader, writer, timeout, host)

    async def reply(self) -> tuple[int, list[str]]:
        """Read one (possibly multi-line) reply within the timeout, bounded in size."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._reply()
        except TimeoutError:
            raise SmtpFailure(Reason.SMTP_TIMEOUT, f"{self.host}: reply timed out") from None

    async def _reply(self) -> tuple[int, list[str]]:
        lines: list[str] = []
        size = 0
        code = 0
        while True:
            try:
                raw = await self.reader.readuntil(b"\n")
            except asyncio.LimitOverrunError:
                raise SmtpFailure(
                    Reason.SMTP_ERROR, f"{self.host}: reply line longer than {MAX_LINE} bytes"
                ) from None
            except (asyncio.IncompleteReadError, OSError) as exc:
                # Closed or reset before the banner: the host does not serve us (unreachable);
                # after it, the session broke (retried, then smtp_error).
                what = "connection closed" if isinstance(exc, asyncio.IncompleteReadError) else exc
                reason = Reason.SMTP_ERROR if self.greeted else Reason.SMTP_UNREACHABLE
                raise SmtpFailure(
                    reason, f"{self.host}: {what}", connect=not self.greeted
                ) from None
            size += len(raw)
            match = _REPLY_LINE.match(raw.rstrip(b"\r\n"))
            if match is None:
                raise SmtpFailure(Reason.SMTP_ERROR, f"{self.host}: not an SMTP reply")
            line_code = int(match.group(1))
            if code and line_code != code:
                raise SmtpFailure(Reason.SMTP_ERROR, f"{self.host}: inconsistent reply codes")
            code = line_code
            lines.append(match.group(3).decode("utf-8", "replace"))
            if size > MAX_REPLY_BYTES or len(lines) > MAX_REPLY_LINES:
                raise SmtpFailure(Reason.SMTP_ERROR, f"{self.host}: reply too long")
            if match.group(2) != b"-":
                return code, lines

    def _encode(self, lines: list[str]) -> bytes:
        """The bytes of some commands, each checked: one line, a known verb, never DATA."""
        try:
            for line in lines:
                check_wire_line(line)
        except UnsafeValue as exc:
            raise SmtpFailure(Reason.SMTP_ERROR, f"{self.host}: {exc}") from None
        return "".join(f"{line}\r\n" for line in lines).encode("utf-8")

    async def send(self, line: str) -> tuple[int, list[str]]:
        data = self._encode([line])
        try:
            self.writer.write(data)
            if self.writer.transport.get_write_buffer_size() > 65536:
                async with asyncio.timeout(self.timeout):
                    await self.writer.drain()
        except TimeoutError:
            raise SmtpFailure(Reason.SMTP_TIMEOUT, f"{self.host}: write timed out") from None
        except OSError as exc:
            raise SmtpFailure(Reason.SMTP_ERROR, f"{self.host}: {exc}") from None
        return await self.reply()

    async def pipeline(self, lines: list[str]) -> list[tuple[int, str]]:
        """Send several commands in one write, then read their replies in order (RFC 2920)."""
        data = self._encode(lines)
        try:
            self.writer.write(data)
            async with asyncio.timeout(self.timeout):
                await self.writer.drain()
        except TimeoutError:
            raise SmtpFailure(Reason.SMTP_TIMEOUT, f"{self.host}: write timed out") from None
        except OSError as exc:
            raise SmtpFailure(Reason.SMTP_ERROR, f"{self.host}: {exc}") from None
        out: list[tuple[int, str]] = []
        for _ in lines:
            try:
                code, reply_lines = await self.reply()
            except SmtpFailure as exc:
                exc.partial = out  # the replies read before the failure still count
                raise
            out.append((code, " ".join(reply_lines)))
        return out

    async def command(self, line: str) -> tuple[int, str]:
        code, lines = await self.send(line)
        return code, " ".join(lines)

    async def hello(self, helo: str) -> None:
        code, lines = await self.send(f"EHLO {helo}")
        if code == 250:
            self.extensions = {ln.split(" ", 1)[0].upper() for ln in lines[1:]}
            return
        code, text = await self.command(f"HELO {helo}")
        if code != 250:
            raise SmtpFailure(_session_reason(code, text), f"{code} {text}", code)
        self.extensions = set()

    async def starttls(self, helo: str) -> bool:
        code, _ = await self.command("STARTTLS")
        if code != 220:
            return False
        try:
            await asyncio.wait_for(
                self.writer.start_tls(_tls_context(), server_hostname=self.host), self.timeout
            )
        except (TimeoutError, ssl.SSLError, OSError) as exc:
            raise SmtpFailure(
                Reason.SMTP_ERROR, f"{self.host}: TLS handshake failed: {exc}"
            ) from None
        self.tls = True
        await self.hello(helo)
        return True

    async def close(self, polite: bool = True) -> None:
        if polite:
            with contextlib.suppress(Exception):
                self.writer.write(self._encode(["QUIT"]))
                await asyncio.wait_for(self.writer.drain(), 2)
                await asyncio.wait_for(self.reader.readuntil(b"\n"), 2)
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 2)


def _more_than(n: int, p: float, k: int) -> float:
    """P(X > k) for X ~ Binomial(n, p)."""
    q = 1.0 - p
    term = q**n  # P(X = 0)
    total = term
    for i in range(k):
        term *= (n - i) / (i + 1) * p / q
        total += term
    return max(0.0, 1.0 - total)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One client context for the run (building one loads the CA store: ~35 ms each).

    Opportunistic TLS (RFC 7435): encrypt against passive observers. MX certificates rarely
    match the host name, and a failed verification must not turn into a cleartext retry, so
    certificates are not verified and no CA store is needed.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# Replies about us (our IP, our sender identity) hold for every address of the host: stop it.
STOPS_HOST = (Reason.IP_BLOCKED, Reason.SENDER_REJECTED)


def provider_from_banner(line: str) -> str:
    """The provider key of the host name a greeting starts with ("" when none is known).

    The greeting is the server's word, untrusted: it only picks one of our own fixed keys
    (checks/providers.py), is never copied to the output, and never changes a budget."""
    from listclean.checks.providers import provider_of

    first = line.split(None, 1)[0] if line.split() else ""
    if len(first) > 253 or "." not in first or not _HOST_NAME.fullmatch(first):
        return ""
    return provider_of(first)


_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def _after_retries(probe: Probe) -> Probe:
    """A 4xx that outlived the greylist retries is no longer "greylisted" unless the server
    says so: it is a temporary server failure (rate limits are classified before this)."""
    reason = after_retries(probe.reason, probe.reply)
    if reason is not probe.reason:
        return Probe(reason, probe.code, probe.reply, probe.host, rcpt=probe.rcpt)
    return probe


def _session_reason(code: int, text: str) -> Reason:
    reason = classify(code, text)
    if reason in HOST_LEVEL:
        return reason
    return Reason.SMTP_ERROR


@dataclass
class _Parked:
    target: Target
    due: float
    attempts: int
    last: Probe


class Prober:
    """Probes many host groups with global and per-host limits. One per run."""

    def __init__(self, config: SmtpConfig, warn: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.egress = Egress()
        self.warn = warn or (lambda message: None)
        self.results: dict[str, Probe] = {}
        # domain -> True (accepts any local part) / False / None (test asked, no final answer)
        self.catchall: dict[str, bool | None] = {}
        self.catchall_last: dict[str, Probe] = {}  # the test's last answer, for undecided ones
        self._catchall_local: dict[str, str] = {}
        self.on_catchall: Callable[[str, bool], None] | None = None
        self.connect_failed: set[str] = set()  # hosts whose connection timed out
        self.connect_ok: set[str] = set()
        self.cut_off: dict[str, str] = {}  # MX host -> why its remaining addresses were cut
        self.routes_down: dict[str, str] = {}  # route label -> why no connection can use it
        self.port25_blocked = False
        # MX host -> provider key read from its greeting ("220 mx.google.com ESMTP ..."), for
        # lc_provider when the MX name says nothing (a vanity MX name in front of Google)
        self.banner_provider: dict[str, str] = {}
        self.connecting = 0  # connection attempts in flight
        self._sem: asyncio.Semaphore | None = None
        self.on_result: Callable[[str, Probe], None] | None = None
        self.gates: dict[str, Gate] = {}  # provider key -> its shared budget state

    def gate_for(self, mx_host: str) -> Gate | None:
        """The provider's shared budget for an MX host; None: a host of no known provider,
        limited per host (--smtp-per-host) as before."""
        key = self.config.providers.key(mx_host)
        budget = self.config.providers.budget(key, self.config.per_host)
        if budget is None:
            return None
        gate = self.gates.get(key)
        if gate is None:
            gate = self.gates[key] = Gate(key, budget)
        return gate

    def pause(self, gate: Gate, probe: Probe) -> None:
        """A reply refusing our IP or our sender: the provider is paused for the rest of the
        run, so the run cannot get the IP listed by hammering on its other hosts."""
        if gate.paused:
            return
        gate.paused = f"{probe.reason.value} at {probe.host}: {probe.code} {probe.reply}".strip()
        self.warn(
            f"provider {gate.key} paused for the rest of the run after {probe.host} answered "
            f"{probe.code} {probe.reply!r} ({probe.reason.value}); its remaining addresses are "
            "unknown"
        )

    def provider_stats(self) -> dict[str, dict[str, object]]:
        return {
            key: {
                "budget": gate.budget.text(),
                "most_sessions_at_once": gate.most_open,
                "rate_limit_replies": gate.slowed,
                # time sessions spent waiting for this provider's slots and pace, summed
                "waited_s": round(gate.waited, 1),
                "paused": gate.paused or None,
            }
            for key, gate in sorted(self.gates.items())
        }

    def record(self, target: Target, probe: Probe) -> None:
        if target.catchall_probe:
            self._catchall_result(target.domain, probe)
            return
        if not probe.at:
            probe = replace(probe, at=time.time())
        self.results[target.key] = probe
        if self.on_result is not None:
            self.on_result(target.key, probe)

    def catchall_target(self, domain: str) -> Target:
        """The domain's catch-all test as an ordinary queued RCPT: it gets the same greylist
        retries and reconnects as any address. One random local part per domain and run, so
        a greylisting server sees the same triplet again on the retry."""
        local = self._catchall_local.setdefault(domain, "lc-" + secrets.token_hex(8))
        self.catchall[domain] = None  # asked, not answered yet
        return Target(
            key=f"\x00catchall\x00{domain}",
            rcpt=f"{local}@{domain}",
            domain=domain,
            catchall_probe=True,
        )

    def _catchall_result(self, domain: str, probe: Probe) -> None:
        self.catchall_last[domain] = probe
        if probe.reason is Reason.ACCEPTED:
            decided = True
        elif probe.code.startswith("5") and probe.reason not in HOST_LEVEL:
            decided = False  # the server refuses an address it cannot have: not catch-all
        else:
            return  # 4xx to the end, or the host stopped answering: undecided
        self.catchall[domain] = decided
        if self.on_catchall is not None:
            self.on_catchall(domain, decided)

    def note_connect(self, host: str, ok: bool, timed_out: bool = True) -> None:
        if ok:
            self.connect_ok.add(host)
            if self.port25_blocked:
                self.port25_blocked = False  # re-checked: a host answers after all
                self.warn(
                    f"{host} answered on port {self.config.port}: outbound port "
                    f"{self.config.port} is not blocked after all; probing goes on"
                )
            return
        if not timed_out:
            return  # refused: that host's own answer, not a sign of a blocked port
        self.connect_failed.add(host)
        if (
            not self.connect_ok
            and not self.connecting  # a connection still being tried may yet prove it works
            and len(self.connect_failed) >= CONNECT_FAILURES_FOR_BLOCKED
            and not self.port25_blocked
        ):
            self.port25_blocked = True
            self.warn(
                f"connections to {len(self.connect_failed)} different mail servers on port "
                f"{self.config.port} all failed: outbound port {self.config.port} looks blocked "
                "from this machine (many ISPs and clouds block it); remaining addresses are "
                "marked unknown/smtp_unreachable"
            )

    def route_down(self, route: str, why: str) -> None:
        """A proxy cannot be used: said once; every host routed through it stops."""
        if route in self.routes_down:
            return
        self.routes_down[route] = why
        self.warn(
            f"{why}: SMTP through it is stopped, and the addresses routed through it are "
            "marked unknown/smtp_unreachable"
        )

    async def run(
        self,
        groups: Iterable[tuple[tuple[MxHost, ...], list[Target]]],
        *,
        results: dict[str, Probe] | None = None,
        on_result: Callable[[str, Probe], None] | None = None,
        on_catchall: Callable[[str, bool], None] | None = None,
    ) -> dict[str, Probe]:
        """Probe every group; returns ``results`` (a new dict when none is given) with each
        target's deciding probe added. ``on_result`` is called for every probe as it is
        decided (the cache's checkpoint, the progress bar), ``on_catchall`` for every domain
        whose catch-all test is decided. The prober keeps its per-domain facts and counters
        across calls (one prober per run, one call per chunk)."""
        self.results = results if results is not None else {}
        self.on_result, self.on_catchall = on_result, on_catchall
        self._sem = asyncio.Semaphore(self.config.concurrency)
        try:
            await asyncio.gather(
                *(HostWorker(self, hosts, targets).run() for hosts, targets in groups)
            )
        finally:
            self.on_result = self.on_catchall = None
        done, self.results = self.results, {}
        return done

    def know_catchall(self, facts: dict[str, bool]) -> None:
        """Catch-all facts learned elsewhere (the cache, an earlier chunk): not asked again."""
        self.catchall.update(facts)

    def undecided_catchall(self) -> dict[str, Probe | None]:
        """Domains whose catch-all test got no final answer, with its last answer; they are
        forgotten, so a later chunk asks again."""
        names = [d for d, v in self.catchall.items() if v is None]
        for name in names:
            del self.catchall[name]
        return {name: self.catchall_last.get(name) for name in names}

    def absorb(
        self,
        outcome: Any,
        known: dict[str, bool | None],
        results: dict[str, Probe],
        on_result: Callable[[str, Probe], None],
        on_catchall: Callable[[str, bool], None],
    ) -> None:
        """Merge a partition probed elsewhere (engines.rayengine.Outcome) as if this prober
        had run it: results, catch-all facts, counters, greetings and cut-offs."""
        for key, probe in outcome.results.items():
            results[key] = probe
            on_result(key, probe)
        for domain, fact in outcome.catchall.items():
            if fact is None:
                if self.catchall.get(domain) is None:
                    self.catchall[domain] = None
                    if domain in outcome.catchall_last:
                        self.catchall_last[domain] = outcome.catchall_last[domain]
            elif domain not in known or known[domain] is None:
                self.catchall[domain] = fact
                on_catchall(domain, fact)
        egress = self.egress
        egress.sessions += outcome.sessions
        egress.rcpt += outcome.rcpt
        egress.tls += outcome.tls
        egress.hosts |= outcome.hosts
        for route, n in outcome.routes.items():
            egress.routes[route] = egress.routes.get(route, 0) + n
        egress.mx_routes.update(outcome.mx_routes)
        self.banner_provider.update(outcome.banner_provider)
        for host, why in outcome.cut_off.items():
            self.cut_off.setdefault(host, why)


class HostWorker:
    """All the addresses whose domains share one MX host list."""

    def __init__(self, prober: Prober, hosts: tuple[MxHost, ...], targets: list[Target]) -> None:
        self.prober = prober
        self.config = prober.config
        self.hosts = hosts
        self.name = hosts[0].name
        self.queue: deque[Target] = deque(targets)
        self.parked: list[_Parked] = []
        self.attempts: dict[str, int] = {}
        self.stopped: Probe | None = None
        self.rate_strikes = 0
        self.worked = False  # a session with this host got as far as EHLO
        self.reconnects = 0
        self.choices = prober.config.routes.choices(self.name)  # used in rotation
        self.session_no = 0
        self.timeouts = 0  # sessions that ended in a timeout (circuit breaker)
        self.slow_sessions = 0  # sessions ended because every reply was slow
        self.started = time.monotonic()
        self.needs_utf8 = any(t.smtputf8 for t in targets)
        self.replies = self.rejections = 0  # RCPT replies from this host in this run
        self.live = 0  # sessions of this worker open now
        self.recent: deque[bool] = deque(maxlen=RECENT_REPLIES)  # rejected?
        self.gate = prober.gate_for(self.name)
        self.rcpt_cap = MAX_RCPT_PER_SESSION
        if self.gate is not None:
            self.rcpt_cap = min(MAX_RCPT_PER_SESSION, self.gate.budget.rcpts_per_session)

    def _halt(self, probe: Probe) -> None:
        """Stop this host; a refusal of our IP or sender pauses its whole provider."""
        self.stopped = probe
        if self.gate is not None and probe.reason in STOPS_HOST:
            self.prober.pause(self.gate, probe)

    def _rate_limited(self) -> None:
        self.rate_strikes += 1
        if self.gate is not None:
            self.gate.slow_down()

    def _gate_paused(self) -> bool:
        if self.gate is None or not self.gate.paused or self.stopped is not None:
            return self.stopped is not None
        self.stopped = Probe(
            Reason.IP_BLOCKED if "ip_blocked" in self.gate.paused else Reason.SENDER_REJECTED,
            "",
            sanitize_reply(f"not probed: provider {self.gate.key} paused ({self.gate.paused})"),
            self.name,
        )
        return True

    def finish_all(self, probe: Probe) -> None:
        while self.queue:
            self.prober.record(self.queue.popleft(), probe)
        for parked in self.parked:
            self.prober.record(parked.target, probe)
        self.parked.clear()

    def _blocked(self) -> bool:
        """The port-25 alarm stops only hosts that never answered."""
        return self.prober.port25_blocked and not self.worked

    def _over_budget(self) -> bool:
        if time.monotonic() - self.started <= self.config.host_budget:
            return False
        self._cut_off(
            f"its time budget of {self.config.host_budget:g} s was used up "
            "(a slow or tarpitting host)"
        )
        return True

    def _cut_off(self, why: str) -> None:
        self.prober.cut_off[self.name] = why
        if self.stopped is None:
            self.stopped = Probe(
                Reason.SMTP_TIMEOUT, "", f"not probed: {self.name} was cut off: {why}", self.name
            )

    async def run(self) -> None:
        while True:
            await self._round()
            if self.stopped is not None or self._blocked():
                break
            if not self.parked:
                return
            # Greylisting: wait for the earliest parked address, then probe the due ones again.
            due = min(p.due for p in self.parked)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if self._over_budget():
                break
            now = time.monotonic()
            ready = [p for p in self.parked if p.due <= now]
            self.parked = [p for p in self.parked if p.due > now]
            for p in ready:
                self.attempts[p.target.key] = p.attempts
                self.queue.append(p.target)
        if self._blocked() and self.stopped is None:
            self.stopped = Probe(
                Reason.SMTP_UNREACHABLE, "", "outbound port looks blocked", self.name
            )
        assert self.stopped is not None
        self.finish_all(self.stopped)

    async def _round(self) -> None:
        # A second parallel session only pays off for a long queue; a short one is served by
        # one session (fewer connections, nicer to the host).
        wanted = -(-len(self.queue) // ADDRESSES_PER_PARALLEL_SESSION)
        per_host = self.config.per_host if self.gate is None else self.gate.budget.sessions
        sessions = max(1, min(per_host, wanted))
        await asyncio.gather(*(self._session_loop() for _ in range(sessions)))

    async def _session_loop(self) -> None:
        assert self.prober._sem is not None
        while self.queue and self.stopped is None and not self._blocked():
            if self._over_budget() or self._gate_paused():
                return
            gate = self.gate
            async with contextlib.AsyncExitStack() as stack:
                if gate is not None:
                    # the provider's slots first, then the run's: a provider that is full
                    # never holds run-wide slots others could use
                    asked = time.monotonic()
                    await stack.enter_async_context(gate.slots)
                    await gate.pace()
                    gate.waited += time.monotonic() - asked
                await stack.enter_async_context(self.prober._sem)
                if not self.queue or self._gate_paused():
                    return
                try:
                    conn = await self._connect()
                except SmtpFailure as exc:
                    if exc.reason is Reason.RATE_LIMITED and self.live:
                        # An extra session refused while ours is open (Postfix anvil's "too
                        # many connections"): the host wants fewer at once, not a pause. This
                        # loop ends; the open session carries on with the queue.
                        return
                    await self._session_failed(exc)
                    continue
                if gate is not None:
                    gate.opened()
                self.live += 1
                inflight: list[Target] = []
                try:
                    await self._transactions(conn, inflight)
                    await conn.close()
                except SmtpFailure as exc:
                    await conn.close(polite=False)
                    self._retry_inflight(inflight, exc)
                finally:
                    self.live -= 1
                    if gate is not None:
                        gate.closed()

    async def _connect(self) -> Connection:
        """Hosts in preference order; fall over to the next on refusal or timeout."""
        failure: SmtpFailure | None = None
        proxy = self.choices[self.session_no % len(self.choices)]
        self.session_no += 1
        route = label(proxy)
        if route in self.prober.routes_down:
            raise SmtpFailure(Reason.SMTP_UNREACHABLE, self.prober.routes_down[route], route=True)
        for host in self.hosts:
            for address in host.addresses:
                self.prober.connecting += 1
                try:
                    conn = await Connection.open(
                        host.name,
                        address,
                        self.config.port,
                        self.config.timeout,
                        proxy,
                        self.config.routes.source_address,
                    )
                except RouteDown as exc:
                    self.prober.connecting -= 1
                    self.prober.route_down(route, exc.message)
                    raise SmtpFailure(Reason.SMTP_UNREACHABLE, exc.message, route=True) from None
                except SmtpFailure as exc:
                    self.prober.connecting -= 1
                    failure = exc
                    self.prober.note_connect(
                        host.name, ok=False, timed_out=exc.reason is Reason.SMTP_TIMEOUT
                    )
                    continue
                self.prober.connecting -= 1
                self.prober.note_connect(host.name, ok=True)
                self.prober.egress.sessions += 1
                self.prober.egress.hosts.add(host.name)
                self.prober.egress.routes[route] = self.prober.egress.routes.get(route, 0) + 1
                self.prober.egress.mx_routes[host.name] = route
                try:
                    code, lines = await conn.reply()
                    conn.greeted = True
                    if code == 220 and lines and host.name not in self.prober.banner_provider:
                        self.prober.banner_provider[host.name] = provider_from_banner(lines[0])
                    if code != 220:
                        text = " ".join(lines)
                        raise SmtpFailure(_session_reason(code, text), text, code)
                    await conn.hello(self.config.helo)
                    self.worked = True
                    self.reconnects = 0
                    if self.config.starttls and "STARTTLS" in conn.extensions:
                        if await conn.starttls(self.config.helo):
                            self.prober.egress.tls += 1
                except SmtpFailure:
                    await conn.close(polite=False)
                    raise
                return conn
        assert failure is not None
        raise failure

    def _note_timeout(self, exc: SmtpFailure) -> None:
        """Circuit breaker: a host that times out again and again is judged slow, and its
        remaining addresses are settled at once instead of costing timeouts one by one."""
        if exc.reason is not Reason.SMTP_TIMEOUT:
            return
        self.timeouts += 1
        if self.timeouts >= HOST_TIMEOUTS_FOR_CUTOFF and self.worked:
            self._cut_off(f"{self.timeouts} sessions timed out (replies slower than the timeout)")

    async def _session_failed(self, exc: SmtpFailure) -> None:
        self._note_timeout(exc)
        probe = Probe(exc.reason, str(exc.code or ""), sanitize_reply(exc.text), self.name)
        if exc.route:
            # the proxy cannot be used: another proxy of the rotation may still be
            if any(label(p) not in self.prober.routes_down for p in self.choices):
                return
            self.stopped = probe
            return
        if exc.reason is Reason.RATE_LIMITED:
            self._rate_limited()
            if self.rate_strikes > RATE_LIMIT_RETRIES:
                self.stopped = probe
                return
            await asyncio.sleep(self.config.backoff * 2 ** (self.rate_strikes - 1))
            return
        if exc.connect and self.worked and self.reconnects < RESTART_RETRIES:
            # The host answered earlier in this run: it may be restarting. Back off and retry.
            self.reconnects += 1
            await asyncio.sleep(self.config.backoff * 2 ** (self.reconnects - 1))
            return
        # unreachable, timed out, blocked, or a broken server: nothing more to learn here
        self._halt(probe)

    def _retry_inflight(self, inflight: list[Target], exc: SmtpFailure) -> None:
        """The connection broke mid-conversation: the address in flight gets one more try."""
        self._note_timeout(exc)
        if exc.reason in HOST_LEVEL:
            probe = Probe(exc.reason, str(exc.code or ""), sanitize_reply(exc.text), self.name)
            for target in inflight:
                self.prober.record(target, probe)
            if exc.reason in STOPS_HOST:
                self._halt(probe)
            else:
                self._rate_limited()
                if self.rate_strikes > RATE_LIMIT_RETRIES:
                    self.stopped = probe
            return
        # Only the first unanswered address is charged a try: it was on the wire when the
        # server failed. The others of a pipelined batch go back to the queue as they were.
        for position, target in enumerate(inflight):
            tries = self.attempts.get(target.key, 0) + (1 if position == 0 else 0)
            self.attempts[target.key] = tries
            if tries >= 2:
                probe = Probe(exc.reason, str(exc.code or ""), sanitize_reply(exc.text), self.name)
                self.prober.record(target, probe)
            else:
                self.queue.append(target)

    async def _transactions(self, conn: Connection, inflight: list[Target]) -> None:
        """Probe queued addresses on one session until a limit says reconnect.

        With PIPELINING (RFC 2920) a batch of RCPTs goes out in one write and the replies are
        read in order; a batch is never larger than the rejections the session may still
        take, so even an all-rejected batch stays under the server's error limits.
        """
        config = self.config
        started = time.monotonic()
        errors = rcpts = in_transaction = 0
        utf8 = self.needs_utf8 and "SMTPUTF8" in conn.extensions
        depth = PIPELINE_DEPTH if "PIPELINING" in conn.extensions else 1
        sender = f"MAIL FROM:<{config.mail_from}>" + (" SMTPUTF8" if utf8 else "")
        while self.queue and self.stopped is None:
            if self._over_budget():
                return
            window = self._batch_limit(MAX_ERRORS - errors, depth)
            if (
                errors >= MAX_ERRORS
                or (depth > 1 and window < MIN_BATCH < len(self.queue))
                or rcpts >= self.rcpt_cap
                or time.monotonic() - started > SESSION_SECONDS
            ):
                return  # reconnect before the server's limits bite
            reset = in_transaction >= MAX_RCPT_PER_TRANSACTION
            if reset:
                in_transaction = 0  # RSET goes out in the next batch (RFC 2920 allows it)
                if depth == 1:
                    await conn.command("RSET")
                    reset = False
            budget = min(
                window,
                MAX_RCPT_PER_TRANSACTION - in_transaction,
                self.rcpt_cap - rcpts,
            )
            batch: list[Target] = []
            while self.queue and len(batch) < budget:
                target = self.queue.popleft()
                if target.smtputf8 and "SMTPUTF8" not in conn.extensions:
                    # RFC 6531 §3.4: a UTF-8 address must not be sent to a server that does
                    # not offer SMTPUTF8. We cannot ask, so we do not know.
                    probe = Probe(
                        Reason.SMTP_ERROR, "", "server does not offer SMTPUTF8", conn.host
                    )
                    self.prober.record(target, probe)
                    continue
                try:
                    check_wire_line(f"RCPT TO:<{target.rcpt}>")
                except UnsafeValue:
                    probe = Probe(Reason.SMTP_ERROR, "", "address not safe to send", conn.host)
                    self.prober.record(target, probe)
                    continue
                batch.append(target)
            if not batch:
                if reset:
                    await conn.command("RSET")
                continue
            inflight[:] = batch
            commands = [f"RCPT TO:<{t.rcpt}>" for t in batch]
            if in_transaction == 0:
                commands.insert(0, sender)
            if reset:
                commands.insert(0, "RSET")
            t0 = time.monotonic()
            failure: SmtpFailure | None = None
            try:
                replies = await conn.pipeline(commands)
            except SmtpFailure as exc:
                failure, replies = exc, exc.partial
            slow = (time.monotonic() - t0) / len(commands) > SLOW_REPLY
            if reset and replies:
                code, text = replies.pop(0)
                if code != 250:
                    raise SmtpFailure(
                        _session_reason(code, text), f"RSET refused: {code} {text}", code
                    )
            if in_transaction == 0 and replies:
                code, text = replies.pop(0)
                if code != 250:
                    raise SmtpFailure(
                        _session_reason(code, text), f"MAIL FROM refused: {code} {text}", code
                    )
            if failure is not None:
                # decide what was answered; the rest is retried (see _retry_inflight)
                inflight[:] = batch[len(replies) :]
                batch = batch[: len(replies)]
            else:
                inflight.clear()
            self.prober.egress.rcpt += len(batch) + len(inflight)
            for i, (target, (code, text)) in enumerate(zip(batch, replies, strict=True)):
                rcpts += 1
                in_transaction += 1
                self.replies += 1
                self.recent.append(code >= 400)
                if code >= 400:
                    errors += 1
                    self.rejections += 1
                reason = classify(code, text, target.rcpt)
                probe = Probe(reason, str(code), sanitize_reply(text), conn.host, rcpt=True)
                if reason in HOST_LEVEL:
                    if target.catchall_probe:
                        self.queue.appendleft(target)  # the test is asked again later
                    else:
                        self.prober.record(target, probe)
                    self.queue.extendleft(reversed(batch[i + 1 :]))  # not decided: ask again
                    await self._host_trouble(probe)
                    return
                if 400 <= code < 500 and reason in TEMPORARY:
                    self._park(target, probe)
                else:
                    self.prober.record(target, probe)
                if reason is Reason.ACCEPTED and target.domain not in self.prober.catchall:
                    # the domain accepted a real address: does it accept a random one too?
                    # Asked next, as a queued RCPT (greylist retries, reconnects included).
                    self.queue.appendleft(self.prober.catchall_target(target.domain))
            if failure is not None:
                raise failure
            if slow and errors >= MAX_ERRORS:
                return  # our own batch passed the error allowance: the server slows down
            if slow:
                self.slow_sessions += 1
                if self.slow_sessions >= SLOW_SESSIONS_FOR_CUTOFF:
                    self._cut_off(
                        f"its replies took over {SLOW_REPLY:g} s each in "
                        f"{self.slow_sessions} sessions (tarpitting)"
                    )
                return  # the server is delaying replies (tarpit): start afresh

    def _batch_limit(self, allowance: int, depth: int) -> int:
        """The largest batch whose chance of bringing more than ``allowance`` rejections is
        under OVERSHOOT_RISK, at an upper estimate of this host's rejection rate: over the
        run, or over its last RECENT_REPLIES replies, whichever is higher (Laplace's rule).
        Never more than ``depth``; never less than the allowance itself (always safe)."""
        if allowance <= 0:
            return 0
        rate = max(
            (self.rejections + 1) / (self.replies + 2),
            (sum(self.recent) + 1) / (len(self.recent) + 2),
        )
        n = min(allowance, depth)
        while n < depth and _more_than(n + 1, rate, allowance) <= OVERSHOOT_RISK:
            n += 1
        return n

    async def _host_trouble(self, probe: Probe) -> None:
        """A blocklist reply stops the host; a rate limit backs off, then gives up."""
        if probe.reason in STOPS_HOST:
            self._halt(probe)
            return
        self._rate_limited()
        if self.rate_strikes > RATE_LIMIT_RETRIES:
            self.stopped = probe
            return
        await asyncio.sleep(self.config.backoff * 2 ** (self.rate_strikes - 1))

    def _park(self, target: Target, probe: Probe) -> None:
        tries = self.attempts.get(target.key, 0)
        if tries >= self.config.greylist_retries:
            self.prober.record(target, _after_retries(probe))
            return
        due = time.monotonic() + self.config.greylist_delay
        self.parked.append(_Parked(target, due, tries + 1, probe))
        if not target.catchall_probe:
            self.prober.record(target, probe)  # provisional: replaced when a retry decides
