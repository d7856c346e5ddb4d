"""One way to write an output file: whole or not at all, with one file mode.

Every file listclean writes for the user (the annotated CSV/JSONL/XLSX, the --split files,
the JSON and HTML reports, compare's disagreements CSV) goes through ``AtomicFile``:

- the bytes go to a temporary file beside the destination (``.listclean-<pid>-*.tmp``), or,
  for standard output, a device or a FIFO, to a private spool file in LISTCLEAN_HOME;
- ``finish`` flushes and fsyncs it; nothing is visible at the destination yet;
- ``publish`` gives it the mode a new file gets under the umask (the same for every output)
  and renames it over the destination (atomic on one file system), or copies it into the
  stream or device, which is never replaced;
- ``abort`` removes it. A run killed before publishing leaves a temp file whose name carries
  its PID; the next writer in that directory removes it (``remove_orphans``).

The private cache (store.py) is not an output: it writes 0600 files its own way.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from listclean.errors import OutputError
from listclean.files import alive, copy_into, is_special, new_file_mode, spool_dir, spool_name


def display_name(path: str) -> str:
    return "standard input" if path == "-" else path


def write_error(dest: str, exc: OSError) -> OutputError:
    """An OSError while writing ``dest`` as a one-line message that says what to do."""
    where = display_name(dest)
    if exc.errno == errno.ENOSPC:
        return OutputError(
            f"disk full while writing {where}; free some space and run the same command "
            "again with --resume"
        )
    return OutputError(f"cannot write {where}: {exc.strerror or exc}")


def remove_orphans(directory: Path) -> None:
    """Delete temp outputs left by a listclean that was killed (SIGKILL, power loss).

    Their names carry the writer's PID; a file whose process is gone is an orphan. A partial
    output must not linger: it holds the list's addresses.
    """
    for path in directory.glob(".listclean-*-*.tmp"):
        try:
            pid = int(path.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if not alive(pid):
            with contextlib.suppress(OSError):
                path.unlink()


class AtomicFile:
    """A destination written in full to a temp file, made visible only by ``publish``."""

    def __init__(
        self,
        dest: str | Path,
        *,
        spool: Path | None = None,
        kind: str = "out",
        private_spool: bool = False,
    ) -> None:
        """``private_spool``: write to the spool even for a regular file (a workbook is
        built from a CSV spool; ``swap`` then puts the workbook in its place)."""
        self.dest = str(dest)
        special = self.dest == "-" or is_special(self.dest)
        self.directory = Path(".") if special else (Path(self.dest).parent or Path("."))
        if not special and not self.directory.is_dir():
            raise OutputError(f"output directory {self.directory} does not exist; create it first")
        if not special and Path(self.dest).is_dir():
            raise OutputError(f"{self.dest} is a directory; give a file name for the output")
        if not special:
            remove_orphans(self.directory)
        self.special = special
        self.direct = special or private_spool  # the temp file lives in the spool
        if self.direct and spool is None:
            from listclean.settings import default_home

            spool = spool_dir(default_home())
        self.kind = kind
        try:
            fd, tmp = tempfile.mkstemp(
                prefix=spool_name(kind) if self.direct else f".listclean-{os.getpid()}-",
                suffix=".tmp",
                dir=spool if self.direct else self.directory,
            )
        except OSError as exc:
            raise OutputError(f"cannot write to {self.directory}: {exc.strerror or exc}") from None
        self.tmp = Path(tmp)
        self.handle: BinaryIO = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        try:
            self.handle.write(data)
        except OSError as exc:
            raise write_error(self.dest, exc) from None

    def finish(self) -> None:
        """Flush and fsync the temp file and close it."""
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
        except OSError as exc:
            self.abort()
            raise write_error(self.dest, exc) from None

    def sibling(self) -> Path:
        """A new empty temp file beside the destination (in the spool for a stream)."""
        fd, path = tempfile.mkstemp(
            prefix=spool_name(self.kind) if self.special else f".listclean-{os.getpid()}-",
            suffix=".tmp",
            dir=self.tmp.parent if self.special else self.directory,
        )
        os.close(fd)
        return Path(path)

    def swap(self, replacement: Path) -> None:
        """Publish ``replacement`` (made by ``sibling``) instead of what was written."""
        with contextlib.suppress(OSError):
            self.tmp.unlink()
        self.tmp = replacement
        self.direct = self.special

    def publish(self) -> None:
        """Rename into place with the umask's file mode (or copy to the stream / device)."""
        try:
            if self.direct:
                copy_into(self.tmp, self.dest)
                self.tmp.unlink()
            else:
                os.chmod(self.tmp, new_file_mode())
                os.replace(self.tmp, self.dest)
        except BrokenPipeError:
            self.abort()
            raise
        except OSError as exc:
            self.abort()
            raise write_error(self.dest, exc) from None

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def prepared(dest: str | Path, data: bytes, *, spool: Path | None = None) -> AtomicFile:
    """A whole file written and fsynced, visible once its ``publish`` is called (a run's
    reports are prepared before its output is published, and published after it)."""
    out = AtomicFile(dest, spool=spool, kind="report")
    try:
        out.write(data)
        out.finish()
    except BaseException:
        out.abort()
        raise
    return out


def write_bytes(dest: str | Path, data: bytes, *, spool: Path | None = None) -> None:
    """A whole file at once, atomically."""
    prepared(dest, data, spool=spool).publish()
