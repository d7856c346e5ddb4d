"""Run a command and sample its memory from /proc every 50 ms.

    python bench/memwatch.py [--timeline] -- listclean verify big.csv --offline -o out.csv

Prints the peak RssAnon (heap: what the process itself allocated) and the peak RssFile (pages
of mapped files, such as the shared libraries and a memory-mapped input, which the kernel can
drop at will), and with --timeline one line per second, so growth over a run is visible.
ru_maxrss alone adds both together and cannot tell a growing heap from a file that is paged in.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def read_status(pid: int) -> tuple[int, int]:
    anon = file_ = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    anon = int(line.split()[1])
                elif line.startswith("RssFile:"):
                    file_ = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return anon, file_


def watch(cmd: list[str], timeline: bool = False, **popen) -> dict:
    """Run cmd to completion; return its exit code, wall time and peak anon/file memory (kB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, **popen)
    peak_anon = peak_file = 0
    samples: list[tuple[float, int]] = []
    next_tick = 1.0
    while proc.poll() is None:
        anon, file_ = read_status(proc.pid)
        peak_anon, peak_file = max(peak_anon, anon), max(peak_file, file_)
        now = time.perf_counter() - t0
        if now >= next_tick:
            samples.append((now, anon))
            next_tick += 1.0
        time.sleep(0.05)
    out, err = proc.communicate()
    return {
        "rc": proc.returncode,
        "wall_s": time.perf_counter() - t0,
        "peak_anon_kb": peak_anon,
        "peak_file_kb": peak_file,
        "timeline": samples if timeline else [],
        "stdout": out,
        "stderr": err,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeline", action="store_true")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    r = watch(cmd, timeline=args.timeline)
    for t, anon in r["timeline"]:
        print(f"{t:6.1f} s  anon {anon / 1024:7.1f} MB", file=sys.stderr)
    print(
        f"rc {r['rc']}, {r['wall_s']:.1f} s, peak anon {r['peak_anon_kb'] / 1024:.0f} MB, "
        f"peak file-backed {r['peak_file_kb'] / 1024:.0f} MB",
        file=sys.stderr,
    )
    sys.exit(r["rc"])


if __name__ == "__main__":
    main()
