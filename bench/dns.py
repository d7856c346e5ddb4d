"""DNS stage throughput: resolve N unique domains against the testbed's real Unbound.

    scripts/testbed start && python bench/dns.py --domains 20000

Uses listclean's own Resolver (the code `listclean verify` runs), with the default concurrency.
Reports domains/s, queries sent and peak RSS. The bench.test zone has 50,000 domains over
50 MX hosts (scripts/testbed_zones.py); each is resolved cold (the resolver's host cache starts
empty, Unbound's answers come from its authoritative zone).
"""

from __future__ import annotations

import os
import sys

# This file is named dns.py: keep its folder off sys.path so `import dns` finds dnspython.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

from listclean.probes.dns import Resolver, parse_nameserver  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--domains", type=int, default=20_000)
    ap.add_argument("--nameserver", default="127.0.5.1:5300")
    ap.add_argument("--concurrency", type=int, default=200)
    args = ap.parse_args()
    domains = [f"d{i:05d}.bench.test" for i in range(args.domains)]
    resolver = Resolver(
        [parse_nameserver(args.nameserver)],
        timeout=5.0,
        concurrency=args.concurrency,
        allow_private=True,
    )
    t0 = time.perf_counter()
    infos = asyncio.run(resolver.resolve_many(domains))
    elapsed = time.perf_counter() - t0
    outcomes = Counter(i.reason.value if i.reason else "ok" for i in infos.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{len(domains):,} domains in {elapsed:.2f} s = {len(domains) / elapsed:,.0f} domains/s; "
        f"{resolver.queries:,} queries; outcomes {dict(outcomes)}; peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
