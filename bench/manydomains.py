"""Networked, many domains: 200k rows over 20,000 domains on a few shared MX hosts (#19 item 3).

    scripts/testbed start
    python bench/manydomains.py --rows 200000

The list: u{j}@s{k:05d}.bench.test for 20,000 domains s00000..s19999 (the testbed's
bench.test zone), ten addresses a domain, in list order that interleaves the domains (row i is
domain i % 20000), as an export sorted by sign-up date would. Domain k's MX host is
mx{1 + k % 3}.lab.test (three shared Postfix hosts, 127.0.1.1-3), except every 100th domain,
which is on mx4 (a small host of its own). Local parts ending in 0 do not exist (10 %).

Reported: wall time, domains/s and addresses/s, SMTP sessions per address (from the report's
egress record), the time listclean waited on politeness limits, and listclean's own CPU time
(user + system, from the child's rusage) as a share of the wall time, and how busy the whole
machine was (/proc/stat: Postfix and Unbound run here too): a run bound by the MX hosts'
budgets shows a small share; a run bound by listclean's CPU shows one near 100 % (or more,
with threads); a machine near 100 % busy means the loopback lab itself is the limit.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from lab import LAB_ARGS  # noqa: E402
from memwatch import watch  # noqa: E402

DOMAINS = 20_000


def generate(path: Path, rows: int, domains: int = DOMAINS) -> None:
    with path.open("w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["id", "email", "plan"])
        for i in range(rows):
            w.writerow([f"{i:07d}", f"u{i // domains}@s{i % domains:05d}.bench.test", "x"])


def busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more verify options")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src, out, rep = Path(tmp) / "in.csv", Path(tmp) / "out.csv", Path(tmp) / "r.json"
        generate(src, args.rows)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy0, total0 = busy_ticks()
        proc = watch(
            [
                sys.executable,
                "-m",
                "listclean",
                "verify",
                str(src),
                "-o",
                str(out),
                "--report",
                str(rep),
                *LAB_ARGS,
                "--no-cache",
                "--quiet",
                *args.extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"LISTCLEAN_HOME": tmp, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy1, total1 = busy_ticks()
        if proc["rc"] != 0:
            raise SystemExit(proc["stderr"])
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        wall = proc["wall_s"]
        report = json.loads(rep.read_text())
        with out.open(newline="") as f:
            ids = [r[0] for r in csv.reader(f)][1:]
        assert ids == [f"{i:07d}" for i in range(args.rows)], "rows lost or reordered"
        egress = report["egress"]
        sessions = egress.get("smtp_sessions", 0)
        rcpts = egress.get("rcpt_commands", 0)
        waited = sum(p.get("waited_s", 0.0) for p in egress.get("providers", {}).values())
        domains = min(DOMAINS, args.rows)
        stages = report["run"]["stages"]
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "domains": domains,
                    "wall_s": round(wall, 1),
                    "domains_per_s": round(domains / wall, 1),
                    "addresses_per_s": round(args.rows / wall, 1),
                    "sessions": sessions,
                    "sessions_per_address": round(sessions / args.rows, 4) if sessions else None,
                    "rcpt_commands": rcpts,
                    "politeness_wait_s": round(waited, 1),
                    "cpu_s": round(cpu, 1),
                    "cpu_share": round(cpu / wall, 2),
                    # every process on the machine (Postfix, Unbound, listclean), all cores
                    "machine_busy": round((busy1 - busy0) / (total1 - total0), 2),
                    "cores": os.cpu_count(),
                    "peak_anon_mb": round(proc["peak_anon_kb"] / 1024),
                    "stages": stages,
                    "status": report["counts"]["status"],
                    "reason": report["counts"]["reason"],
                    "providers": egress.get("providers"),
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    started = time.time()
    main()
