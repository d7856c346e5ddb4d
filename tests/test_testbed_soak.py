"""Soak (#13): kill a mixed networked run at 10 random points against the real Unbound +
Postfix testbed, resume it, and compare with a clean run on a fresh home, cell for cell.

The list mixes a catch-all domain, a greylisting one (Postfix access map: 450 to the end),
full, disabled, unknown and accepted mailboxes, an anvil-limited host and a few hundred bulk
addresses so that kills land in every stage (DNS, probing, greylist waits, writing).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import lab_args, read_csv, run_cli, without_checked_at

MIXED = (
    ["ann@good.lab.test", "nobody@good.lab.test", "full@good.lab.test", "gone@good.lab.test"]
    + ["anyone@catchall.lab.test", "ann@catchall.lab.test", "ann@grey.lab.test"]
    + ["ann@limited.lab.test", "bob@limited.lab.test", "zz@limited.lab.test"]
    + [f"u{i:05d}@bulk.lab.test" for i in range(0, 600, 2)]
    + ["x@nullmx.lab.test", "x@nope.lab.test", "bob@pref.lab.test"]
)


def _args(src: Path, out: Path, dns: str, *extra: str) -> list[str]:
    return ["verify", str(src), "-o", str(out), *lab_args(dns), "--greylist-delay", "0.5", *extra]


@pytest.mark.slow
@pytest.mark.testbed
def test_kill_and_resume_soak(tmp_path: Path, testbed: str) -> None:
    src = tmp_path / "mixed.csv"
    src.write_text("id,email\n" + "".join(f"{i},{a}\n" for i, a in enumerate(MIXED)))
    clean_out = tmp_path / "clean.csv"
    t0 = time.monotonic()
    proc = run_cli(*_args(src, clean_out, testbed), env={"LISTCLEAN_HOME": str(tmp_path / "h0")})
    duration = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    expected = without_checked_at(read_csv(clean_out))
    statuses = {r[3] for r in expected[1:]}
    stamps = [r[read_csv(clean_out)[0].index("lc_checked_at")] for r in read_csv(clean_out)[1:]]
    assert any(stamps) and all(s.endswith("Z") for s in stamps if s)  # probed rows have a time
    assert {"accept_all", "greylisted", "mailbox_full", "mailbox_disabled", "accepted"} <= statuses
    rng = random.Random(20261130)
    for n in range(10):
        when = rng.uniform(0.2, duration)
        home = tmp_path / f"home{n}"
        out = tmp_path / f"out{n}.csv"
        run = subprocess.Popen(
            [sys.executable, "-m", "listclean", *_args(src, out, testbed)],
            env={**os.environ, "LISTCLEAN_HOME": str(home)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(when)
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        resumed = run_cli(*_args(src, out, testbed, "--resume"), env={"LISTCLEAN_HOME": str(home)})
        if resumed.returncode != 0:
            # killed before the run was registered (or after it finished): a plain re-run
            assert b"nothing to resume" in resumed.stderr, resumed.stderr
            again = run_cli(*_args(src, out, testbed), env={"LISTCLEAN_HOME": str(home)})
            assert again.returncode == 0, again.stderr
        assert without_checked_at(read_csv(out)) == expected, (
            f"kill {n} at {when:.2f}s of {duration:.2f}s"
        )
