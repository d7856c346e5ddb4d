"""Big list, networked: N rows over 50,000 domains against the testbed (scripts/testbed start).

    python bench/biglist.py --rows 200000 1000000

Rows: u{i}@d{i % 50000}.bench.test (Unbound answers; their MX hosts 127.0.2.x have no SMTP
server, so those addresses end unknown/smtp_unreachable once port 25 "looks blocked"), and
every 20th row an address of bulk.lab.test (Postfix), so SMTP runs on a subset. Each size runs
in its own process; wall time and that process's peak anonymous and file-backed memory
(bench/memwatch.py) are reported, and the output is
checked to have one row per input row with every id in order.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from lab import LAB_ARGS  # noqa: E402
from memwatch import watch  # noqa: E402

NO_INDEX = (
    "import sys; import listclean.fastpath as F\n"
    "none = lambda self, n, first: F.pl.repeat('', len(n), dtype=F.pl.String, eager=True)\n"
    "F.DuplicateIndex.mark_series = F.PlannedDuplicates.mark_series = none\n"
    "from listclean.cli import main; sys.argv = sys.argv[1:]; main()"
)


def generate(path: Path, rows: int) -> None:
    with path.open("w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["id", "email", "plan"])
        for i in range(rows):
            email = (
                f"u{i % 20000:05d}@bulk.lab.test"
                if i % 20 == 0
                else f"u{i}@d{i % 50000:05d}.bench.test"
            )
            w.writerow([f"{i:07d}", email, "pro" if i % 3 else ""])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    ap.add_argument("--timeline", action="store_true", help="anonymous memory once a second")
    ap.add_argument(
        "--no-duplicate-index",
        action="store_true",
        help="diagnosis only: run with the duplicate index switched off (lc_duplicate_of stays "
        "empty) to see how much of the memory is the index",
    )
    args = ap.parse_args()
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            src, out, rep = Path(tmp) / "in.csv", Path(tmp) / "out.csv", Path(tmp) / "r.json"
            generate(src, rows)
            t0 = time.perf_counter()
            launcher = ["-m", "listclean"]
            if args.no_duplicate_index:
                launcher = ["-c", NO_INDEX, "listclean"]
            proc = watch(
                [
                    sys.executable,
                    *launcher,
                    "verify",
                    str(src),
                    "-o",
                    str(out),
                    "--report",
                    str(rep),
                    *LAB_ARGS,
                    "--no-cache",
                    "--smtp-timeout",
                    "5",
                ],
                timeline=args.timeline,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={"LISTCLEAN_HOME": tmp, "PATH": "/usr/bin:/bin"},
            )
            elapsed = time.perf_counter() - t0
            if proc["rc"] != 0:
                raise SystemExit(proc["stderr"])
            for t, anon in proc["timeline"]:
                print(f"  {t:6.1f} s  anon {anon / 1024:7.1f} MB")
            report = json.loads(rep.read_text())
            with out.open(newline="") as f:
                ids = [r[0] for r in csv.reader(f)][1:]
            assert ids == [f"{i:07d}" for i in range(rows)], "rows lost or reordered"
            print(
                f"{rows:,} rows: {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s), "
                f"peak anon {proc['peak_anon_kb'] / 1024:.0f} MB, "
                f"file-backed {proc['peak_file_kb'] / 1024:.0f} MB; "
                f"stages {report['run']['stages']}; status {report['counts']['status']}; "
                f"egress {report['egress']}"
            )


if __name__ == "__main__":
    main()
