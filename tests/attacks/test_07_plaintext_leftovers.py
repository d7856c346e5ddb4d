"""Attack 7: plaintext copies of a list left behind by a killed run.

A run reading stdin (or a non-UTF-8 file) keeps a working copy of the list. It lives in
LISTCLEAN_HOME/spool (0700, files 0600), never in the shared system temp directory, and the
next run removes copies whose process is gone.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from ..conftest import run_cli


def _body(rows: int) -> bytes:
    return b"email\n" + b"".join(b"person%06d@example.com\n" % i for i in range(rows))


def _wait_for_spool(spool: Path, timeout: float = 20) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = [p for p in spool.glob("*")] if spool.exists() else []
        if files and any(p.is_file() and p.stat().st_size > 0 for p in files):
            return files
        time.sleep(0.05)
    raise AssertionError("no spool file appeared")


def _kill_mid_read(args: list[str], feed: Path | None, tmp_path: Path, home: Path) -> None:
    tmpdir = tmp_path / "systmp"
    tmpdir.mkdir()
    env = {**os.environ, "LISTCLEAN_HOME": str(home), "TMPDIR": str(tmpdir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "listclean", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    writer = None
    try:
        data = _body(60_000)  # ~1.6 MB: more than one read chunk
        if feed is None:
            assert proc.stdin is not None
            proc.stdin.write(data)
            proc.stdin.flush()  # ... and the pipe stays open: the run waits for more
        else:
            writer = open(feed, "wb")  # noqa: SIM115 - a FIFO kept open on purpose
            writer.write(data)
            writer.flush()
        files = _wait_for_spool(home / "spool")
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if writer is not None:
            writer.close()
        if proc.poll() is None:
            proc.kill()
    # nothing in the system temp directory, ever
    assert list(tmpdir.iterdir()) == []
    # the orphan is in the private spool until the next run removes it
    assert list((home / "spool").iterdir())
    small = tmp_path / "small.csv"
    small.write_text("email\nx@example.com\n")
    later = run_cli("verify", str(small), "--offline", "-o", "-", env={"LISTCLEAN_HOME": str(home)})
    assert later.returncode == 0
    assert list((home / "spool").iterdir()) == []


def test_stdin_spool_is_private_and_cleaned(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _kill_mid_read(
        ["verify", "-", "-o", str(tmp_path / "o.csv"), "--offline"], None, tmp_path, home
    )


def test_transcoded_file_spool_is_private_and_cleaned(tmp_path: Path) -> None:
    home = tmp_path / "home"
    fifo = tmp_path / "list.csv"
    os.mkfifo(fifo)
    _kill_mid_read(
        ["verify", str(fifo), "--encoding", "latin-1", "-o", str(tmp_path / "o.csv"), "--offline"],
        fifo,
        tmp_path,
        home,
    )
