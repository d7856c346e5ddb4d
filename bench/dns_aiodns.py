"""The DNS stage side by side: listclean's own resolver against aiodns (c-ares) (#16 item 5).

    scripts/testbed start && python bench/dns_aiodns.py --domains 20000

Both resolve the same N cold bench.test domains against the testbed's real Unbound, doing the
same work: MX for each domain, then A for each distinct MX host (cached per run), with the
same number of questions in flight. Each runs in a fresh process so neither warms the other.
"""

from __future__ import annotations

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402


async def with_aiodns(domains: list[str], server: str, concurrency: int) -> dict:
    import aiodns

    resolver = aiodns.DNSResolver(nameservers=[server], timeout=5.0, tries=2)
    sem = asyncio.Semaphore(concurrency)
    hosts: dict[str, asyncio.Future] = {}
    ok = failed = 0

    async def address(host: str) -> list[str]:
        fut = hosts.get(host)
        if fut is None:
            fut = hosts[host] = asyncio.get_running_loop().create_future()
            try:
                async with sem:
                    answer = await resolver.query(host, "A")
                fut.set_result([a.host for a in answer])
            except aiodns.error.DNSError:
                fut.set_result([])
        return await asyncio.shield(fut)

    async def one(domain: str) -> None:
        nonlocal ok, failed
        try:
            async with sem:
                mx = await resolver.query(domain, "MX")
            addrs = [await address(r.host) for r in mx]
            ok += bool(addrs and addrs[0])
        except aiodns.error.DNSError:
            failed += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one(d) for d in domains))
    return {"seconds": time.perf_counter() - t0, "ok": ok, "failed": failed}


async def with_listclean(domains: list[str], server: str, concurrency: int) -> dict:
    from listclean.probes.dns import Resolver, parse_nameserver

    resolver = Resolver(
        [parse_nameserver(server)], timeout=5.0, concurrency=concurrency, allow_private=True
    )
    t0 = time.perf_counter()
    infos = await resolver.resolve_many(domains)
    seconds = time.perf_counter() - t0
    ok = sum(1 for i in infos.values() if i.reason is None)
    return {"seconds": seconds, "ok": ok, "failed": len(domains) - ok}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--domains", type=int, default=20_000)
    ap.add_argument("--nameserver", default="127.0.5.1:5300")
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--engine", choices=["listclean", "aiodns"])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    domains = [f"d{i:05d}.bench.test" for i in range(args.domains)]
    if args.engine:
        fn = with_aiodns if args.engine == "aiodns" else with_listclean
        print(json.dumps(asyncio.run(fn(domains, args.nameserver, args.concurrency))))
        return
    print(
        f"| engine | {args.domains:,} domains, {args.concurrency} in flight | domains/s | resolved |"
    )
    print("|---|---|---|---|")
    for _ in range(args.runs):
        for engine in ("listclean", "aiodns"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--engine",
                    engine,
                    "--domains",
                    str(args.domains),
                    "--nameserver",
                    args.nameserver,
                    "--concurrency",
                    str(args.concurrency),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            got = json.loads(out.stdout)
            print(
                f"| {engine} | {got['seconds']:.2f} s | {args.domains / got['seconds']:,.0f} "
                f"| {got['ok']:,} |"
            )


if __name__ == "__main__":
    main()
