"""Pipelined batches sized by the host's own replies (#14 item 5).

A batch used to be capped at the rejections the session could still take (9 before Postfix's
soft error limit of 10), so even a host that accepted everything got batches of 9. Now a batch
may be bigger when this host's replies so far make "more rejections than the allowance in one
batch" less likely than 1 in 10,000, at an upper estimate of its rejection rate (over the run
and over its last 40 replies). Properties: never more than PIPELINE_DEPTH; never less than the
allowance (always safe); exactly the allowance before any reply or while rejections run high;
and against a host that rejects everything no session ever takes more than MAX_ERRORS."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listclean.pipeline import verify
from listclean.probes.dns import MxHost
from listclean.probes.smtp import (
    MAX_ERRORS,
    PIPELINE_DEPTH,
    HostWorker,
    Prober,
    SmtpConfig,
    _more_than,
)
from listclean.settings import Settings

from .conftest import read_csv
from .dnsserver import FakeDNS
from .smtpserver import Lab, Raw, Tracker


def _worker() -> HostWorker:
    prober = Prober(SmtpConfig(helo="probe.lab.test"))
    return HostWorker(prober, (MxHost("mx.example.test", 10, ("127.0.0.1",)),), [])


def _feed(worker: HostWorker, outcomes: list[bool]) -> None:
    for rejected in outcomes:
        worker.replies += 1
        worker.rejections += rejected
        worker.recent.append(rejected)


def test_before_any_reply_the_batch_is_the_allowance() -> None:
    worker = _worker()
    for allowance in range(0, MAX_ERRORS + 1):
        assert worker._batch_limit(allowance, PIPELINE_DEPTH) == min(allowance, PIPELINE_DEPTH)


def test_a_clean_host_gets_full_batches_and_a_bad_run_shrinks_them() -> None:
    worker = _worker()
    _feed(worker, [False] * 300)
    assert worker._batch_limit(MAX_ERRORS, PIPELINE_DEPTH) == PIPELINE_DEPTH
    _feed(worker, [True] * 30)  # a sorted list reaches its block of bad addresses
    assert worker._batch_limit(MAX_ERRORS, PIPELINE_DEPTH) == MAX_ERRORS
    assert worker._batch_limit(MAX_ERRORS, 1) == 1  # no PIPELINING: one at a time


@settings(max_examples=300, deadline=None)
@given(
    outcomes=st.lists(st.booleans(), max_size=400),
    allowance=st.integers(0, MAX_ERRORS),
    depth=st.integers(1, PIPELINE_DEPTH),
)
def test_batch_limit_properties(outcomes: list[bool], allowance: int, depth: int) -> None:
    worker = _worker()
    _feed(worker, outcomes)
    n = worker._batch_limit(allowance, depth)
    assert min(allowance, depth) <= n <= depth
    if n > allowance:  # bigger than always-safe only when the estimated risk is tiny
        rate = max(
            (worker.rejections + 1) / (worker.replies + 2),
            (sum(worker.recent) + 1) / (len(worker.recent) + 2),
        )
        assert _more_than(n, rate, allowance) <= 1e-4


def test_more_than_is_the_binomial_tail() -> None:
    assert _more_than(10, 0.5, 9) == pytest.approx(1 / 1024)
    assert _more_than(5, 0.2, 5) == pytest.approx(0.0, abs=1e-12)
    assert _more_than(3, 0.5, 0) == pytest.approx(7 / 8)


IPS = [f"127.0.8.{i}" for i in range(1, 4)]
ZONE = {
    "clean.test": {"MX": ["10 mx.clean.test."]},
    "mx.clean.test": {"A": ["127.0.8.1"]},
    "reject.test": {"MX": ["10 mx.reject.test."]},
    "mx.reject.test": {"A": ["127.0.8.2"]},
    "oneatatime.test": {"MX": ["10 mx.oneatatime.test."]},
    "mx.oneatatime.test": {"A": ["127.0.8.3"]},
}


@pytest.fixture()
def lab() -> Iterator[tuple[FakeDNS, Lab, Tracker, Tracker]]:
    dns = FakeDNS(ZONE)
    lab = Lab(IPS)
    clean, reject = Tracker(), Tracker()
    lab.raw("127.0.8.1", Raw(tracker=clean))
    lab.raw("127.0.8.2", Raw(lambda a: "550 5.1.1 User unknown", tracker=reject))
    lab.raw("127.0.8.3", Raw(reply_delay=0.03, max_open=1))
    yield dns, lab, clean, reject
    lab.close()
    dns.close()


def _run(dns: FakeDNS, server: Lab, tmp_path: Path, emails: list[str]) -> list[list[str]]:
    src = tmp_path / "l.csv"
    src.write_text("email\n" + "\n".join(emails) + "\n")
    settings = dataclasses.replace(
        Settings(),
        nameservers=(dns.address,),
        allow_test_domains=True,
        allow_private_mx=True,
        smtp_port=server.port,
        helo="probe.lab.test",
        use_cache=False,
        home=tmp_path / "home",
    )
    verify(str(src), str(tmp_path / "o.csv"), settings)
    return read_csv(tmp_path / "o.csv")


def test_end_to_end_error_allowance_holds(lab: tuple, tmp_path: Path) -> None:
    dns, server, clean, reject = lab
    emails = [f"u{i}@clean.test" for i in range(300)] + [f"u{i}@reject.test" for i in range(60)]
    rows = _run(dns, server, tmp_path, emails)
    assert len(rows) == len(emails) + 1
    # a host that rejects everything never sees more than MAX_ERRORS in one session
    assert reject.rcpts_per_session and max(reject.rcpts_per_session) <= MAX_ERRORS
    # the clean host's sessions are not cut short by the allowance
    assert max(clean.rcpts_per_session) > 100


def test_a_host_that_allows_one_session_at_once_is_not_given_up(lab: tuple, tmp_path: Path) -> None:
    """300 addresses make listclean want two sessions; the host answers the second one's
    greeting with 421 "too many connections" (Postfix anvil) while the first works. That once
    counted as rate-limit strikes, and after three backoffs (7 s) the host was stopped with its
    remaining addresses unknown/rate_limited. Now the extra session just ends."""
    dns, server, _clean, _reject = lab
    emails = [f"u{i}@oneatatime.test" for i in range(300)]
    rows = _run(dns, server, tmp_path, emails)
    reason = rows[0].index("lc_reason")
    assert {r[reason] for r in rows[1:]} == {"accept_all"}  # the host accepts anything
