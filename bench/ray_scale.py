"""Scale-out benchmark for `--engine ray` (#17): 1, 2 and 3 Ray nodes, each with its own
loopback source address, verify the same list against a testbed MX that limits every client
IP (Postfix anvil on mx10: one connection at a time and 20 new connections a minute per IP).
The provider budget is the same for every run; throughput should grow with the nodes while
the sessions open at once to the provider, counted from Postfix's own log, stay within it.

    scripts/testbed start
    python bench/ray_scale.py [--addresses 3000] [--nodes 1,2,3] [--budget lim=3/50/60]
    python bench/ray_scale.py --budget 'lim={n}/50/{rate}'   # the budget grows with the IPs

`{n}` and `{rate}` in --budget become the number of nodes and 20 x nodes (what the MX allows
that many IPs). Rates are over the SMTP stage (the report's stages.smtp_s): Ray's start-up
and the offline stage are not in them; wall_s has everything.

Loopback only: the nodes are pinned to 127.0.0.1, the egress addresses are 127.0.0.1-3, the
MX is 127.0.1.10 of the testbed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from lab import LAB_ARGS  # noqa: E402

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # before Ray is imported
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

MAILLOG = Path("/tmp/listclean-testbed/postfix/maillog")
EVENT = re.compile(r"mx10/smtpd\[(\d+)\]: (connect|disconnect) from \S+\[([\d.]+)\]")
REFUSED = re.compile(r"mx10/smtpd\[\d+\]: warning: Connection (?:concurrency|rate) limit exceeded")


def sessions_from_log(offset: int) -> dict[str, object]:
    """Sessions to mx10 after ``offset``: how many, and the most open at once (all clients
    together and per client IP), from the connect/disconnect lines in log order."""
    with open(MAILLOG, "rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", "replace")
    open_now: dict[str, int] = {}
    total = most = sessions = refused = 0
    most_per_ip: dict[str, int] = {}
    for line in text.splitlines():
        if REFUSED.search(line):
            refused += 1
        m = EVENT.search(line)
        if not m:
            continue
        ip = m.group(3)
        if m.group(2) == "connect":
            sessions += 1
            total += 1
            open_now[ip] = open_now.get(ip, 0) + 1
            most = max(most, total)
            most_per_ip[ip] = max(most_per_ip.get(ip, 0), open_now[ip])
        else:
            total -= 1
            open_now[ip] = open_now.get(ip, 1) - 1
    return {
        "sessions": sessions,
        "most_open_at_once": most,
        "most_open_per_ip": most_per_ip,
        "refused_by_anvil": refused,
    }


def run(nodes: int, addresses: int, budget: str, work: Path) -> dict[str, object]:
    from ray.cluster_utils import Cluster

    tmp = Path(tempfile.mkdtemp(prefix="lcr", dir="/tmp"))
    os.environ["RAY_TMPDIR"] = str(tmp)
    egress = [f"127.0.0.{i + 1}" for i in range(nodes)]
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "node_ip_address": "127.0.0.1",
            "include_dashboard": False,
            "object_store_memory": 80 * 1024 * 1024,
            "resources": {f"listclean-egress-{egress[0]}": 1},
        },
    )
    for ip in egress[1:]:
        cluster.add_node(
            num_cpus=1,
            node_ip_address="127.0.0.1",
            object_store_memory=80 * 1024 * 1024,
            resources={f"listclean-egress-{ip}": 1},
        )
    cluster.wait_for_nodes()
    try:
        src = work / "list.csv"
        src.write_text(
            "email\n" + "".join(f"u{i:05d}@bulklim.lab.test\n" for i in range(addresses))
        )
        out = work / f"out{nodes}.csv"
        offset = MAILLOG.stat().st_size
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "listclean",
                "verify",
                str(src),
                "-o",
                str(out),
                "--no-cache",
                *LAB_ARGS,
                "--provider-mx",
                "mx10.lab.test=lim",
                "--provider-budget",
                budget.format(n=nodes, rate=20 * nodes),
                "--engine",
                "ray",
                "--ray-address",
                cluster.address,
            ],
            capture_output=True,
            env={**os.environ, "LISTCLEAN_HOME": str(work / "home")},
            timeout=3600,
        )
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(proc.stderr.decode()[-2000:])
        time.sleep(1.0)  # let Postfix write the last disconnect lines
        report = json.loads((work / f"out{nodes}.report.json").read_text())
        counts = report["counts"]["reason"]
        decided = counts.get("accepted", 0) + counts.get("mailbox_not_found", 0)
        smtp_s = report["run"]["stages"]["smtp_s"]
        return {
            "nodes": nodes,
            "budget": budget.format(n=nodes, rate=20 * nodes),
            "wall_s": round(seconds, 1),
            "smtp_s": round(smtp_s, 1),
            "decided": decided,
            "decided_per_s": round(decided / smtp_s, 1),
            "reasons": counts,
            "listclean_provider_stats": report["egress"]["providers"].get("lim"),
            **sessions_from_log(offset),
        }
    finally:
        cluster.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addresses", type=int, default=3000)
    parser.add_argument("--nodes", default="1,2,3")
    parser.add_argument("--budget", default="lim=3/50/60")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        results = [
            run(int(n), args.addresses, args.budget, Path(work)) for n in args.nodes.split(",")
        ]
    base = results[0]["decided_per_s"]
    for r in results:
        r["speedup"] = round(float(r["decided_per_s"]) / float(base), 2) if base else None  # type: ignore[arg-type]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
