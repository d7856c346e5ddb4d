"""Attack 11: permission drift and a hijacked LISTCLEAN_HOME.

The key, the audit log and the store are set back to 0600 (the home to 0700) whenever they
are found wider; a home that is a symbolic link, or belongs to another user, is refused with a
message, and nothing is chmodded through a link.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ..conftest import run_cli
from .helpers import one_line_error


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _run(home: Path, tmp_path: Path) -> object:
    """A file run: it opens the key and appends to the audit log."""
    src = tmp_path / "l.csv"
    src.write_text("email\nann@example.com\n")
    return run_cli("verify", str(src), "--offline", "-o", "-", env={"LISTCLEAN_HOME": str(home)})


def test_modes_are_repaired(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _run(home, tmp_path).returncode == 0  # type: ignore[attr-defined]
    os.chmod(home / "key", 0o644)
    os.chmod(home / "audit.jsonl", 0o666)
    os.chmod(home, 0o755)
    assert _run(home, tmp_path).returncode == 0  # type: ignore[attr-defined]
    assert _mode(home) == 0o700
    assert _mode(home / "key") == 0o600 and _mode(home / "audit.jsonl") == 0o600
    assert run_cli("cache", "stats", env={"LISTCLEAN_HOME": str(home)}).returncode == 0
    os.chmod(home / "store.sqlite", 0o644)
    assert run_cli("cache", "stats", env={"LISTCLEAN_HOME": str(home)}).returncode == 0
    assert _mode(home / "store.sqlite") == 0o600


def test_symlinked_home_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "shared"
    target.mkdir(mode=0o755)
    os.chmod(target, 0o755)
    link = tmp_path / "home"
    link.symlink_to(target)
    proc = _run(link, tmp_path)
    assert proc.returncode == 2  # type: ignore[attr-defined]
    assert "symbolic link" in one_line_error(proc)
    assert _mode(target) == 0o755 and list(target.iterdir()) == []


def test_symlinked_key_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"k" * 32)
    os.chmod(elsewhere, 0o644)
    (home / "key").symlink_to(elsewhere)
    proc = _run(home, tmp_path)
    assert proc.returncode == 2  # type: ignore[attr-defined]
    assert "symbolic link" in one_line_error(proc)
    assert _mode(elsewhere) == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the home to another user")
def test_home_of_another_user_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    os.chown(home, 65534, 65534)
    proc = _run(home, tmp_path)
    assert proc.returncode == 2  # type: ignore[attr-defined]
    assert "another user" in one_line_error(proc)
