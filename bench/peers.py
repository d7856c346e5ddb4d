"""listclean against the tools people use today, on the testbed (loopback only).

    scripts/testbed start && pip install py3-validate-email && python bench/peers.py

Peers, each pointed at the testbed's Unbound (127.0.5.1:5300):
- py3-validate-email (DNS + SMTP RCPT, one session per address), run with 8 threads;
- email-validator's own deliverability check (DNS only; cannot see mailboxes).
In the peer processes, every host name lookup goes to the testbed's DNS server and any
address outside 127.0.0.0/8 is refused, so nothing can leave the machine.

Two measurements:
1. speed: N addresses on one MX host (bulk.lab.test, Postfix mx1): addresses/s and SMTP
   sessions per address (counted from Postfix's log);
2. accuracy: a labelled list (LABELS below) whose truth the testbed defines.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from lab import LAB_ARGS  # noqa: E402

DNS = ("127.0.5.1", 5300)
MAILLOG = Path(os.environ.get("TESTBED_DIR", "/tmp/listclean-testbed")) / "postfix" / "maillog"

LABELS = {
    "ann@good.lab.test": "deliverable",
    "bob@good.lab.test": "deliverable",
    "carol@good.lab.test": "deliverable",
    "bob@pref.lab.test": "deliverable",
    "ann@amx.lab.test": "deliverable",
    "ann@xn--bcher-kva.lab.test": "deliverable",
    "ann@limited.lab.test": "deliverable",
    "nobody@good.lab.test": "undeliverable",
    "x1@good.lab.test": "undeliverable",
    "x2@pref.lab.test": "undeliverable",
    "zz@limited.lab.test": "undeliverable",
    "gone@good.lab.test": "undeliverable",
    "x@nullmx.lab.test": "undeliverable",
    "x@nope.lab.test": "undeliverable",
    "x@nomail.lab.test": "undeliverable",
    "x@deadmx.lab.test": "undeliverable",
    "bad@@good.lab.test": "undeliverable",
    "full@good.lab.test": "risky",
    "anyone@catchall.lab.test": "risky",
    "ann@grey.lab.test": "unknown",
}

# Runs inside the peer's process: DNS to the testbed, connections to loopback only.
GUARD = r"""
import ipaddress, socket, dns.resolver
_r = dns.resolver.Resolver(configure=False)
_r.nameservers = ["127.0.5.1"]; _r.port = 5300; _r.lifetime = 3
dns.resolver.default_resolver = _r
_orig = socket.getaddrinfo
def _guarded(host, port, *a, **k):
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            ans = _r.resolve(host, "A")
        except Exception as exc:
            raise socket.gaierror(socket.EAI_NONAME, str(exc)) from None
        ip = ipaddress.ip_address(ans[0].address)
    if not ip.is_loopback:
        raise OSError(f"refused: {ip} is not on loopback")
    return _orig(str(ip), port, *a, **k)
socket.getaddrinfo = _guarded
import email_validator
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [d for d in email_validator.SPECIAL_USE_DOMAIN_NAMES if d != "test"]
"""

PY3 = (
    GUARD
    + r"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from validate_email import validate_email
emails = json.load(open(sys.argv[1]))
def one(e):
    r = validate_email(e, check_blacklist=False, dns_timeout=3, smtp_timeout=10,
                       smtp_helo_host="probe.lab.test", smtp_from_address="verify@bench.lab.test")
    return {True: "deliverable", False: "undeliverable", None: "unknown"}[r]
t0 = time.perf_counter()
with ThreadPoolExecutor(8) as pool:
    out = list(pool.map(one, emails))
print(json.dumps({"seconds": time.perf_counter() - t0, "verdicts": out}))
"""
)

EV = (
    GUARD
    + r"""
import json, sys, time
from email_validator import validate_email, EmailNotValidError, caching_resolver
emails = json.load(open(sys.argv[1]))
res = caching_resolver(timeout=3); res.nameservers = ["127.0.5.1"]; res.port = 5300
out = []
t0 = time.perf_counter()
for e in emails:
    try:
        validate_email(e, check_deliverability=True, dns_resolver=res)
        out.append("deliverable")
    except EmailNotValidError:
        out.append("undeliverable")
print(json.dumps({"seconds": time.perf_counter() - t0, "verdicts": out}))
"""
)


def sessions_so_far() -> int:
    if not MAILLOG.exists():
        return 0
    return sum(
        1
        for line in MAILLOG.open(errors="replace")
        if "mx1/smtpd" in line and "]: connect from" in line
    )


def peer(code: str, emails: list[str], tmp: Path) -> dict:
    path = tmp / "emails.json"
    path.write_text(json.dumps(emails))
    before = sessions_so_far()
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=3600
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    time.sleep(0.5)
    result["sessions"] = sessions_so_far() - before
    return result


def listclean(emails: list[str], tmp: Path) -> dict:
    src = tmp / "in.csv"
    src.write_text("email\n" + "\n".join(emails) + "\n")
    before = sessions_so_far()
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "listclean",
            "verify",
            str(src),
            "-o",
            str(tmp / "o.csv"),
            *LAB_ARGS,
            "--no-cache",
            "--greylist-delay",
            "1",
            "--quiet",
        ],
        check=True,
        env={**os.environ, "LISTCLEAN_HOME": str(tmp)},
    )
    seconds = time.perf_counter() - t0
    import csv

    with (tmp / "o.csv").open(newline="") as f:
        verdicts = [r["lc_status"] for r in csv.DictReader(f)]
    # The peers are timed inside their process, after their imports; this is the same measure
    # for listclean (its report's run duration), beside the whole command's wall time.
    in_process = json.loads((tmp / "o.report.json").read_text())["run"]["duration_s"]
    time.sleep(0.5)
    return {
        "seconds": seconds,
        "in_process": in_process,
        "verdicts": verdicts,
        "sessions": sessions_so_far() - before,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addresses", type=int, default=5000)
    args = ap.parse_args()
    bulk = [f"u{i:05d}@bulk.lab.test" for i in range(args.addresses)]
    labelled = list(LABELS)
    truth = [LABELS[e] for e in labelled]
    print(
        f"| tool | {args.addresses:,} addresses on one MX host | addresses/s | SMTP sessions per address "
        f"| verdicts right on the labelled list ({len(labelled)}) |"
    )
    print("|---|---|---|---|---|")
    rates: dict[str, float] = {}
    for name, fn in (
        ("listclean", lambda e, t: listclean(e, t)),
        ("py3-validate-email, 8 threads", lambda e, t: peer(PY3, e, t)),
        ("email-validator deliverability (DNS only)", lambda e, t: peer(EV, e, t)),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            speed = fn(bulk, Path(tmp))
        with tempfile.TemporaryDirectory() as tmp:
            acc = fn(labelled, Path(tmp))
        right = sum(1 for got, want in zip(acc["verdicts"], truth, strict=True) if got == want)
        seconds = speed["seconds"]
        rate = f"{args.addresses / seconds:,.0f}"
        if "in_process" in speed:  # listclean: also timed like the peers, without start-up
            seconds = speed["in_process"]
            rate += f" ({args.addresses / seconds:,.0f} in-process)"
        rates[name] = args.addresses / seconds
        print(
            f"| {name} | {speed['seconds']:.1f} s | {rate} | "
            f"{speed['sessions'] / args.addresses:.3f} | {right} |",
            flush=True,
        )
    ratio = rates["listclean"] / rates["py3-validate-email, 8 threads"]
    print(f"\nlistclean in-process is {ratio:.1f}x py3-validate-email's rate (both after imports)")


if __name__ == "__main__":
    main()
