"""#13 items 1-3: a verdict reused from the cache is the verdict a clean run gives, including
the domain-level facts behind it (catch-all); the catch-all test goes through greylisting
retries; a reset during it loses no answer already received.

Property: for any kill point and any cache state, `--resume` and a re-run give the output of
a clean run on a fresh home, cell for cell.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import read_csv, run_cli, without_checked_at
from ..dnsserver import FakeDNS
from ..smtpserver import Lab, Raw, Users

IPS = {
    "normal.test": "127.0.8.1",
    "catchall.test": "127.0.8.2",
    "grey.test": "127.0.8.3",
    "greycatch.test": "127.0.8.4",
    "reset.test": "127.0.8.5",
}


def _zone() -> dict[str, Any]:
    zone: dict[str, Any] = {}
    for domain, ip in IPS.items():
        zone[domain] = {"MX": [f"10 mx.{domain}."]}
        zone[f"mx.{domain}"] = {"A": [ip]}
    return zone


class Env:
    def __init__(self) -> None:
        self.dns = FakeDNS(_zone())
        self.lab = Lab(list(IPS.values()))
        self.lab.aiosmtpd(IPS["normal.test"], Users({"ann", "bob", "cy", "dee"}))
        self.lab.aiosmtpd(IPS["catchall.test"], Users(catchall=True))
        self.lab.aiosmtpd(IPS["grey.test"], Users({"ann", "bob"}, greylist=0.3))
        self.greycatch = self.lab.aiosmtpd(
            IPS["greycatch.test"], Users(catchall=True, greylist=0.3)
        )
        self.dropped: list[str] = []

        def drop_once(address: str) -> bool:
            if address.startswith("lc-") and not self.dropped:
                self.dropped.append(address)
                return True
            return False

        self.reset = self.lab.raw(IPS["reset.test"], Raw(drop_on=drop_once))


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    e = Env()
    yield e
    e.lab.close()
    e.dns.close()


MIXED = [
    "ann@normal.test",
    "zed@normal.test",
    "full@normal.test",
    "gone@normal.test",
    "ann@catchall.test",
    "qx7vj2@catchall.test",
    "ann@grey.test",
    "nobody@grey.test",
    "ann@greycatch.test",
    "zz9plural@greycatch.test",
    "bob@normal.test",
    "cy@normal.test",
    "anyone@catchall.test",
    "dee@normal.test",
]


def _args(env: Env, src: Path, out: Path, *extra: str) -> list[str]:
    return [
        "verify",
        str(src),
        "-o",
        str(out),
        "--nameserver",
        env.dns.address,
        "--helo",
        "probe.lab.test",
        "--smtp-port",
        str(env.lab.port),
        "--allow-test-domains",
        "--allow-private-mx",
        "--greylist-delay",
        "0.4",
        "--smtp-timeout",
        "5",
        *extra,
    ]


def _run(env: Env, src: Path, out: Path, home: Path, *extra: str) -> list[list[str]]:
    proc = run_cli(*_args(env, src, out, *extra), env={"LISTCLEAN_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    return without_checked_at(read_csv(out))


@pytest.fixture(scope="module")
def clean(env: Env, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[str]]]:
    tmp = tmp_path_factory.mktemp("clean")
    src = tmp / "mixed.csv"
    src.write_text("email\n" + "\n".join(MIXED) + "\n")
    rows = _run(env, src, tmp / "o.csv", tmp / "home")
    return src, rows


def test_clean_run_verdicts(clean: tuple[Path, list[list[str]]]) -> None:
    _, rows = clean
    got = {r[0]: (r[1], r[2]) for r in rows[1:]}
    assert got["ann@normal.test"] == ("deliverable", "accepted")
    assert got["zed@normal.test"] == ("undeliverable", "mailbox_not_found")
    assert got["full@normal.test"] == ("risky", "mailbox_full")
    assert got["gone@normal.test"] == ("undeliverable", "mailbox_disabled")
    assert got["ann@grey.test"] == ("deliverable", "accepted")
    assert got["nobody@grey.test"] == ("undeliverable", "mailbox_not_found")
    # item 2: a catch-all that greylists is still found out, through the same retries
    for address in (
        "ann@catchall.test",
        "qx7vj2@catchall.test",
        "ann@greycatch.test",
        "zz9plural@greycatch.test",
    ):
        assert got[address] == ("risky", "accept_all"), address


def test_rerun_and_shared_home_give_the_clean_output(
    env: Env, clean: tuple[Path, list[list[str]]], tmp_path: Path
) -> None:
    src, expected = clean
    home = tmp_path / "home"
    assert _run(env, src, tmp_path / "a.csv", home) == expected
    assert _run(env, src, tmp_path / "b.csv", home) == expected  # within the cache TTL
    # a cache state where the domain facts expired but the address verdicts did not
    db = sqlite3.connect(home / "store.sqlite")
    db.execute("DELETE FROM catchall")
    db.commit()
    db.close()
    assert _run(env, src, tmp_path / "c.csv", home) == expected


def test_resume_after_kill_at_many_points(
    env: Env, clean: tuple[Path, list[list[str]]], tmp_path: Path
) -> None:
    src, expected = clean
    rng = random.Random(13)
    t0 = time.monotonic()
    _run(env, src, tmp_path / "timing.csv", tmp_path / "timing-home")
    duration = time.monotonic() - t0
    points = sorted(rng.uniform(0.3, duration) for _ in range(8))
    for n, when in enumerate(points):
        home = tmp_path / f"home{n}"
        out = tmp_path / f"o{n}.csv"
        proc = subprocess.Popen(
            [sys.executable, "-m", "listclean", *_args(env, src, out)],
            env={**os.environ, "LISTCLEAN_HOME": str(home)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(when)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        resumed = run_cli(*_args(env, src, out, "--resume"), env={"LISTCLEAN_HOME": str(home)})
        if resumed.returncode != 0:  # killed before the run was registered: run it again
            assert b"nothing to resume" in resumed.stderr, resumed.stderr
            rows = _run(env, src, out, home)
        else:
            rows = without_checked_at(read_csv(out))
        assert rows == expected, f"kill at {when:.2f}s"


def test_reset_during_catchall_test_keeps_answers(env: Env, tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    addresses = [f"u{i}@reset.test" for i in range(6)]
    src.write_text("email\n" + "\n".join(addresses) + "\n")
    rows = _run(env, src, tmp_path / "o.csv", tmp_path / "home", "--no-cache")
    assert env.dropped, "the server reset the connection during the catch-all test"
    assert [(r[1], r[2]) for r in rows[1:]] == [("risky", "accept_all")] * 6
