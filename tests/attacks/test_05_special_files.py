"""Attack 5: outputs aimed at special files (-o /dev/null as root, /dev/stdout, a FIFO).

The atomic rename only ever replaces a regular file: a device, a FIFO or a /dev path is
written to directly, so /dev/null stays the null device and never becomes a file holding the
verified addresses. Same for --report, --html and --split.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from ..conftest import read_csv, run_cli

LIST = "email\nann@example.com\nbob@example.org\n"


def _src(tmp_path: Path) -> Path:
    src = tmp_path / "l.csv"
    src.write_text(LIST)
    return src


def _is_null_device() -> bool:
    info = os.stat("/dev/null")
    return (
        stat.S_ISCHR(info.st_mode) and os.major(info.st_rdev) == 1 and os.minor(info.st_rdev) == 3
    )


def test_dev_null_stays_a_device(tmp_path: Path) -> None:
    src = _src(tmp_path)
    for args in (
        ["-o", "/dev/null"],
        ["--report", "/dev/null", "--html", "/dev/null"],
        ["-o", "/dev/null", "--report", "/dev/null"],
    ):
        proc = run_cli("verify", str(src), "--offline", *args)
        assert proc.returncode == 0, proc.stderr
        assert _is_null_device()
        assert Path("/dev/null").read_bytes() == b""


def test_dev_stdout_is_written_not_replaced(tmp_path: Path) -> None:
    src = _src(tmp_path)
    proc = run_cli("verify", str(src), "--offline", "-o", "/dev/stdout")
    assert proc.returncode == 0, proc.stderr
    assert [r[0] for r in read_csv(proc.stdout)] == ["email", "ann@example.com", "bob@example.org"]
    assert os.path.islink("/dev/stdout") or not os.path.isfile("/dev/stdout")


def test_fifo_is_written_not_replaced(tmp_path: Path) -> None:
    src = _src(tmp_path)
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = run_cli("verify", str(src), "--offline", "-o", str(fifo))
    reader.join(30)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [r[0] for r in read_csv(got[0])] == ["email", "ann@example.com", "bob@example.org"]


def test_split_file_pointing_at_a_device(tmp_path: Path) -> None:
    src = _src(tmp_path)
    split = tmp_path / "split"
    split.mkdir()
    (split / "unknown.csv").symlink_to("/dev/null")
    proc = run_cli(
        "verify", str(src), "--offline", "--split", str(split), "-o", str(tmp_path / "o.csv")
    )
    assert proc.returncode == 0, proc.stderr
    assert os.readlink(split / "unknown.csv") == "/dev/null" and _is_null_device()
    assert (split / "deliverable.csv").is_file()
