"""Attack 8 (robustness): several runs starting together on a fresh LISTCLEAN_HOME.

The key is made whole in a temp file and linked into place (a racing run sees no key or the
whole key, and takes the winner's); the store waits for another run setting it up.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

from listclean.store import Store
from listclean.vault import load_master_key


def _open_home(
    home: str, barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue
) -> None:  # type: ignore[name-defined]
    try:
        barrier.wait(10)
        key = load_master_key(Path(home))
        store = Store(Path(home))
        store.put_catchall({"x.test": True}, 60)
        store.close()
        out.put(("ok", key.hex()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        out.put(("error", repr(exc)))


def test_processes_racing_on_a_fresh_home(tmp_path: Path) -> None:
    for attempt in range(3):
        home = tmp_path / f"home{attempt}"
        ctx = multiprocessing.get_context("fork")
        barrier = ctx.Barrier(8)
        out = ctx.Queue()
        procs = [ctx.Process(target=_open_home, args=(str(home), barrier, out)) for _ in range(8)]
        for p in procs:
            p.start()
        results = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(10)
        assert all(kind == "ok" for kind, _ in results), results
        assert len({key for _, key in results}) == 1  # all use the same key
        assert len((home / "key").read_bytes()) == 32
        assert [p.name for p in home.iterdir() if p.name.startswith(".key")] == []


def test_cli_runs_racing(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    src = tmp_path / "l.csv"
    src.write_text("email\nann@example.com\n")
    env = {**os.environ, "LISTCLEAN_HOME": str(home)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "listclean",
                "verify",
                str(src),
                "--offline",
                "-o",
                str(tmp_path / f"o{i}.csv"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(6)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert len((home / "audit.jsonl").read_text().splitlines()) == 6
