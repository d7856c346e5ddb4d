"""SMTP stage throughput against the testbed's real Postfix (scripts/testbed start).

    python bench/smtp.py --addresses 20000

Two figures from the same run:
1. the raw RCPT rate of one reused session on mx1 (EHLO once, MAIL FROM once, then RCPT after
   RCPT, RSET every 50 like listclean does, no reconnects): the ceiling for one connection;
2. `listclean verify` on N addresses of bulk.lab.test (one MX host; 90% existing mailboxes,
   every 10th missing), end to end with DNS: addresses/s and SMTP sessions opened, and
   listclean's own CPU time (user + system, the child's rusage) per probed address.
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from lab import LAB_ARGS  # noqa: E402

HOST = "127.0.1.1"


def raw_rate(count: int) -> float:
    """RCPTs per second on one plain session (no TLS), reading each reply before the next."""
    with socket.create_connection((HOST, 25), timeout=10) as sock:
        f = sock.makefile("rwb")

        def reply() -> bytes:
            while True:
                line = f.readline()
                if line[3:4] != b"-":
                    return line

        def cmd(line: str) -> bytes:
            f.write(line.encode() + b"\r\n")
            f.flush()
            return reply()

        reply()
        cmd("EHLO probe.lab.test")
        cmd("MAIL FROM:<verify@probe.lab.test>")
        t0 = time.perf_counter()
        for i in range(count):
            if i and i % 50 == 0:
                cmd("RSET")
                cmd("MAIL FROM:<verify@probe.lab.test>")
            cmd(f"RCPT TO:<u{i * 10 % 20000:05d}@bulk.lab.test>")  # existing ones: no error limit
        elapsed = time.perf_counter() - t0
        cmd("QUIT")
    return count / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addresses", type=int, default=20_000)
    ap.add_argument("--raw", type=int, default=2_000, help="RCPTs for the raw single-session rate")
    args = ap.parse_args()
    raw = raw_rate(args.raw)
    print(f"raw single session: {raw:,.0f} RCPT/s ({args.raw:,} RCPTs)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "bulk.csv"
        src.write_text(
            "email\n" + "".join(f"u{i:05d}@bulk.lab.test\n" for i in range(args.addresses))
        )
        out = Path(tmp) / "out.csv"
        t0 = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "listclean",
                "verify",
                str(src),
                "-o",
                str(out),
                "--quiet",
                *LAB_ARGS,
                "--no-cache",
                "--report",
                str(Path(tmp) / "r.json"),
            ],
            check=True,
            env={"LISTCLEAN_HOME": tmp, "PATH": "/usr/bin:/bin"},
        )
        elapsed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        report = json.loads((Path(tmp) / "r.json").read_text())
    egress = report["egress"]
    rate = args.addresses / elapsed
    print(
        f"listclean verify: {args.addresses:,} addresses in {elapsed:.1f} s = {rate:,.0f} addresses/s "
        f"({rate / raw:.0%} of the raw rate); {egress['smtp_sessions']} SMTP sessions "
        f"(1 per {args.addresses / max(1, egress['smtp_sessions']):,.0f} addresses), "
        f"{egress['rcpt_commands']:,} RCPTs, {egress['tls_sessions']} with TLS"
    )
    stages = report["run"]["stages"]
    smtp_rate = args.addresses / stages["smtp_s"]
    print(
        f"SMTP stage alone: {stages['smtp_s']:.1f} s = {smtp_rate:,.0f} addresses/s "
        f"({smtp_rate / raw:.0%} of the raw rate); stages {stages}"
    )
    print(
        f"listclean's own CPU: {cpu:.1f} s for the whole run = {cpu / args.addresses * 1e6:,.0f} "
        f"µs per probed address ({cpu / elapsed:.0%} of one core over the run)"
    )
    print("statuses:", report["counts"]["status"])


if __name__ == "__main__":
    main()
