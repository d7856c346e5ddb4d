"""Offline throughput and memory: `listclean verify --offline` on a generated CSV.

    python bench/offline.py --rows 1000000            # listclean alone
    python bench/offline.py --rows 400000 --baseline  # also the obvious stdlib script
    python bench/offline.py --rows 400000 --baseline --shape realistic

Shapes: `synthetic` (the original list: ~7,000 domains, 5 % under `.test`, which makes the
obvious script slow) and `realistic` (#19: random local parts of 4-16 characters from
`a-z0-9._-`, about 20,000 distinct domains, 3 % broken addresses, 5 columns). `--baseline`
also times the obvious script and a bare Polars read + one email regex + write of the same
file (the machine's floor for this work), in the same run.

Prints rows/s and peak RSS (the child's ru_maxrss) for each command. The CSV has 5 columns
(id with leading zeros, name, email, phone, note), mostly unique addresses with some invalid,
disposable, role and duplicate ones.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
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


TLDS = ["com"] * 12 + ["net", "org", "io", "co.uk", "de", "fr", "nl", "com.au", "info", "biz"]
FREEMAIL = [
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "aol.com",
    "icloud.com",
    "gmx.de",
    "web.de",
    "yahoo.co.uk",
    "mail.ru",
]
LOCAL_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789._-"


def generate_realistic(path: Path, rows: int, seed: int = 7, domains: int = 20_000) -> None:
    """Random local parts of 4-16 characters from a-z0-9._-, ~20,000 domains, 3 % broken.

    Domains follow a long tail: about 40 % of rows go to ten free-mail providers, the rest
    to `domains` company-like names drawn with a Zipf-ish weight. Some local parts come out
    invalid by construction (a leading, trailing or doubled dot), as real lists have them.
    """
    rng = random.Random(seed)
    names = []
    for i in range(domains):
        stem = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 12)))
        if rng.random() < 0.15:
            stem += "-" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3))
        names.append(f"{stem}{i % 97 if rng.random() < 0.2 else ''}.{rng.choice(TLDS)}")
    weights = [1.0 / (k + 1) ** 0.6 for k in range(domains)]
    cum = list(itertools.accumulate(weights))
    with path.open("w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(["id", "name", "email", "phone", "note"])
        for i in range(rows):
            r = rng.random()
            local = "".join(rng.choice(LOCAL_CHARS) for _ in range(rng.randint(4, 16)))
            if r < 0.4:
                domain = rng.choice(FREEMAIL)
            else:
                domain = names[bisect.bisect_left(cum, rng.random() * cum[-1])]
            if r > 0.97:
                broken = rng.randrange(4)
                email = (
                    f"{local}@",
                    f"{local}{domain}",
                    f"{local}@@{domain}",
                    f"{local} {local}@{domain}",
                )[broken]
            else:
                email = f"{local}@{domain}"
            if rng.random() < 0.02:
                email = email.upper()
            w.writerow(
                [
                    f"{i:08d}",
                    f"Name {i}",
                    email,
                    f"0{rng.randrange(10**9):09d}",
                    "note, with comma" if i % 7 == 0 else "",
                ]
            )


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


BARE_POLARS = r"""
import sys, polars as pl
src, dst = sys.argv[1], sys.argv[2]
df = pl.read_csv(src, infer_schema=False)
ok = df["email"].str.contains(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
df.with_columns(status=pl.when(ok).then(pl.lit("unknown")).otherwise(pl.lit("undeliverable"))).write_csv(dst)
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
    ap.add_argument("--shape", choices=["synthetic", "realistic"], default="synthetic")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = args.keep or Path(tmp)
        src = d / f"bench-{args.shape}-{args.rows}.csv"
        if not src.exists():
            (generate_realistic if args.shape == "realistic" else generate)(src, args.rows)
        size = src.stat().st_size / 1e6
        print(f"input: {args.rows:,} rows, {size:.1f} MB")
        results = {}
        if args.baseline:
            script = d / "baseline.py"
            script.write_text(BASELINE)
            t, _ = measure([sys.executable, str(script), str(src), str(d / "base.csv")])
            results["baseline (stdlib csv + email-validator)"] = t
            print(f"baseline: {t:.2f} s, {args.rows / t:,.0f} rows/s")
            bare = d / "bare.py"
            bare.write_text(BARE_POLARS)
            tb, _ = measure([sys.executable, str(bare), str(src), str(d / "bare.csv")])
            results["bare"] = tb
            print(f"bare Polars read + regex + write: {tb:.2f} s, {args.rows / tb:,.0f} rows/s")
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
            print(f"listclean / bare Polars: {t / results['bare']:.2f}x")


if __name__ == "__main__":
    main()
