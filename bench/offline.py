"""Offline throughput and memory: `listclean verify --offline` on a generated CSV.

    python bench/offline.py --rows 1000000            # listclean alone
    python bench/offline.py --rows 400000 --baseline  # also the obvious stdlib script

Prints rows/s and peak RSS (the child's ru_maxrss) for each command. The CSV has 5 columns
(id with leading zeros, name, email, phone, note), mostly unique addresses with some invalid,
disposable, role and duplicate ones.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOMAINS = [
    "example.com",
    "gmail.com",
    "yahoo.co.uk",
    "outlook.com",
    "acme-widgets.io",
    "mailinator.com",
    "gmial.com",
    "northwind.test",
    "contoso.org",
    "web.de",
]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(["id", "name", "email", "phone", "note"])
        for i in range(rows):
            r = rng.random()
            if r < 0.03:
                email = f"broken{i}@"
            elif r < 0.05 and i:
                email = f"user{rng.randrange(i)}@{DOMAINS[i % len(DOMAINS)]}"
            elif r < 0.07:
                email = f"info@company{i}.com"
            else:
                email = f"user{i}@{rng.choice(DOMAINS)}" if r < 0.5 else f"u{i}@d{i % 5000}.com"
            w.writerow(
                [
                    f"{i:08d}",
                    f"Name {i}",
                    email,
                    f"0{rng.randrange(10**9):09d}",
                    "note, with comma" if i % 7 == 0 else "",
                ]
            )


BASELINE = r"""
import csv, sys
from email_validator import validate_email, EmailNotValidError
from disposable_email_domains import blocklist
src, dst = sys.argv[1], sys.argv[2]
with open(src, newline="", encoding="utf-8") as f, open(dst, "w", newline="") as o:
    r, w = csv.reader(f), csv.writer(o)
    header = next(r); col = header.index("email"); w.writerow(header + ["status"])
    for row in r:
        try:
            v = validate_email(row[col].strip(), check_deliverability=False)
            status = "risky" if v.domain in blocklist else "unknown"
        except EmailNotValidError:
            status = "undeliverable"
        w.writerow(row + [status])
"""


def measure(cmd: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--baseline", action="store_true", help="also time the obvious script")
    ap.add_argument("--keep", type=Path, help="directory to keep the generated files in")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = args.keep or Path(tmp)
        src = d / f"bench-{args.rows}.csv"
        if not src.exists():
            generate(src, args.rows)
        size = src.stat().st_size / 1e6
        print(f"input: {args.rows:,} rows, {size:.1f} MB")
        results = {}
        if args.baseline:
            script = d / "baseline.py"
            script.write_text(BASELINE)
            t, _ = measure([sys.executable, str(script), str(src), str(d / "base.csv")])
            results["baseline (stdlib csv + email-validator)"] = t
            print(f"baseline: {t:.2f} s, {args.rows / t:,.0f} rows/s")
        t, peak = measure(
            [
                sys.executable,
                "-m",
                "listclean",
                "verify",
                str(src),
                "-o",
                str(d / "out.csv"),
                "--offline",
                "--quiet",
            ]
        )
        print(
            f"listclean --offline: {t:.2f} s, {args.rows / t:,.0f} rows/s, peak RSS {peak:.0f} MB"
        )
        if args.baseline:
            base = results["baseline (stdlib csv + email-validator)"]
            print(f"speed-up over baseline: {base / t:.2f}x")


if __name__ == "__main__":
    main()
