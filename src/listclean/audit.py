"""The audit log: one JSON line per run in LISTCLEAN_HOME/audit.jsonl. Never an address."""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from typing import Any

from listclean.store import ensure_home, open_private

FILE = "audit.jsonl"


def user() -> str:
    """Who ran it, for the audit line ("unknown" without a passwd entry, as in containers)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "unknown"


def append(home: Path, manifest: dict[str, Any]) -> None:
    ensure_home(home)
    line = json.dumps(manifest, ensure_ascii=False, separators=(",", ":")) + "\n"
    fd = open_private(home / FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def recent(home: Path, count: int = 20) -> list[dict[str, Any]]:
    path = home / FILE
    if not path.exists():
        return []
    ensure_home(home)
    lines: deque[str] = deque(maxlen=count)
    with os.fdopen(open_private(path, os.O_RDONLY), encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                lines.append(line)
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn last line after a crash: skip it
    return out
