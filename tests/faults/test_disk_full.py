"""Disk full while writing the output: a clear error, nothing half-written, and --resume
finishes once space is back. Uses a real 256 kB tmpfs (needs root, as CI has)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import lab_args, read_csv, run_cli


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the disk-full test needs root to mount a tmpfs")
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_then_resume(tmp_path: Path, small_disk: Path, testbed: str) -> None:
    src = tmp_path / "bulk.csv"
    src.write_text(
        "id,email,note\n"
        + "".join(
            f"{i:05d},u{i:05d}@bulk.lab.test,some padding to make the output larger\n"
            for i in range(3000)
        )
    )
    out = small_disk / "out.csv"
    home = tmp_path / "home"
    args = [
        "verify",
        str(src),
        "-o",
        str(out),
        "--allow-test-domains",
        "--allow-private-mx",
        "--nameserver",
        testbed,
        "--helo",
        "probe.lab.test",
    ]
    proc = run_cli(*args, env={"LISTCLEAN_HOME": str(home)})
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "disk full" in err and "--resume" in err
    assert "Traceback" not in err
    assert list(small_disk.iterdir()) == []  # no truncated output, no temp file
    # space comes back: the same command with --resume finishes, without probing again
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    proc = run_cli(*args, "--resume", env={"LISTCLEAN_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    report = json.loads((small_disk / "out.report.json").read_text())
    assert report["input"]["rows"] == report["output"]["rows"] == 3000
    assert report["egress"]["addresses_from_cache"] >= 2700  # the mailbox verdicts were kept
    assert report["egress"]["rcpt_commands"] <= 301
    assert report["counts"]["status"]["deliverable"] == 2700


def test_disk_full_offline(tmp_path: Path, small_disk: Path) -> None:
    src = tmp_path / "big.csv"
    src.write_text("email\n" + "".join(f"user{i}@example.com\n" for i in range(20000)))
    proc = run_cli("verify", str(src), "-o", str(small_disk / "o.csv"), "--offline")
    assert proc.returncode == 1
    assert "disk full" in proc.stderr.decode()
    assert list(small_disk.iterdir()) == []


def test_disk_full_at_the_report_then_resume(
    tmp_path: Path, small_disk: Path, testbed: str
) -> None:
    """The output fits, its report does not: nothing is published, and --resume finishes."""
    src = tmp_path / "l.csv"
    src.write_text("email\nann@good.lab.test\nbob@good.lab.test\n")
    filler = small_disk / "filler"
    out = small_disk / "out.csv"
    args = ["verify", str(src), "-o", str(out), *lab_args(testbed)]
    home = tmp_path / "home"
    # leave room for the output (~400 bytes) but not for the report and HTML (~10 kB)
    filler.write_bytes(b"x" * (256 * 1024 - 8 * 1024))
    proc = run_cli(*args, env={"LISTCLEAN_HOME": str(home)})
    assert proc.returncode == 1, proc.stderr
    assert b"disk full" in proc.stderr and b"--resume" in proc.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
    filler.unlink()
    proc = run_cli(*args, "--resume", env={"LISTCLEAN_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    assert len(read_csv(out)) == 3
