"""Where listclean's own files go, and how outputs reach their destination.

- Outputs (CSV, JSONL, split files, reports) are written to a temp file beside the destination
  and renamed into place, so a reader never sees half a file. Only a *regular file* is ever
  replaced that way: a destination that is a device, a FIFO, a socket or anything under /dev
  or /proc (``-o /dev/null``, ``-o /dev/stdout``) is written to directly, so running as root
  can never turn /dev/null into a file holding the list.
- Plaintext working copies (stdin or transcoded input, the first pass of a big list, output
  bound for stdout) live in ``LISTCLEAN_HOME/spool`` (0700, files 0600), named with the
  writer's PID, and every run removes the ones whose process is gone (a SIGKILL leaves no
  copy of a list behind for good). Never in the shared system temp directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

from listclean.store import ensure_home

SPOOL = "spool"


def is_special(path: str | Path) -> bool:
    """True when ``path`` must be written in place, never replaced by a rename."""
    text = os.path.abspath(str(path))
    if text.startswith(("/dev/", "/proc/", "/sys/")):
        return True
    try:
        info = os.stat(text)
    except OSError:
        return False  # does not exist yet: a new regular file
    return not stat.S_ISREG(info.st_mode)


def spool_dir(home: Path) -> Path:
    """LISTCLEAN_HOME/spool, private, with the leftovers of dead runs removed."""
    ensure_home(home)
    spool = home / SPOOL
    try:
        spool.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(spool)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            raise OSError(f"{spool} is not a directory of this user")
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.chmod(spool, 0o700)
    except OSError as exc:
        from listclean.errors import ConfigError

        raise ConfigError(f"cannot use {spool}: {exc}; remove it") from None
    remove_orphans(spool)
    return spool


def spool_name(kind: str) -> str:
    """A name prefix carrying this process's PID, so orphans can be told from live files."""
    return f"{kind}-{os.getpid()}-"


def remove_orphans(spool: Path) -> None:
    for entry in spool.iterdir():
        parts = entry.name.split("-")
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        if alive(pid):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def new_file_mode() -> int:
    """The mode a new regular file gets under the current umask (what outputs get)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def alive(pid: int) -> bool:
    """Whether a process still exists (another user's counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def copy_into(source: Path, dest: str) -> None:
    """Write a finished temp file's bytes to a special destination (or stdout for "-")."""
    import sys

    with open(source, "rb") as inp:
        if dest == "-":
            out = sys.stdout.buffer
            while chunk := inp.read(1 << 20):
                out.write(chunk)
            out.flush()
            return
        # Without O_CREAT/O_TRUNC: a device or FIFO is written, never replaced; O_APPEND so
        # /dev/stdout redirected to a file (`>>` or `>`) continues it rather than overwriting
        fd = os.open(dest, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        with os.fdopen(fd, "wb") as out:
            while chunk := inp.read(1 << 20):
                out.write(chunk)
