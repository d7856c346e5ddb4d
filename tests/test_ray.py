"""`--engine ray` on a local multi-node Ray cluster (ray.cluster_utils.Cluster: three nodes on
this machine, each declaring its own loopback egress address) against the real testbed.

Network safety: every node is pinned to 127.0.0.1 (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 keeps
Ray from swapping loopback for the machine's outside address), the dashboard is off, the temp
dir and object stores are small and inside pytest's temp dir, and the cluster is shut down at
the end. A test asserts that no process of the cluster listens outside 127.0.0.0/8.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, lab_args, read_csv, without_checked_at

# before Ray is imported: its constants are read once, at import
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
ray = pytest.importorskip("ray")  # the test extra installs it; CI always has it

EGRESS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
STORE = 80 * 1024 * 1024


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from ray.cluster_utils import Cluster

    tmp = tmp_path_factory.mktemp("r")  # short: Ray's socket paths must fit in 107 bytes
    saved = {k: os.environ.get(k) for k in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_TMPDIR")}
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ["RAY_TMPDIR"] = str(tmp)
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    c = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "node_ip_address": "127.0.0.1",
            "include_dashboard": False,
            "object_store_memory": STORE,
            "resources": {f"listclean-egress-{EGRESS[0]}": 1},
        },
    )
    nodes = [
        c.add_node(
            num_cpus=1,
            node_ip_address="127.0.0.1",
            object_store_memory=STORE,
            resources={f"listclean-egress-{ip}": 1},
        )
        for ip in EGRESS[1:]
    ]
    c.wait_for_nodes()
    c.extra_nodes = nodes
    c.tmp = tmp
    try:
        yield c
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


LIST = (
    "\n".join(
        ["id,email"]
        + [f"{i},u{i:05d}@bulk.lab.test" for i in range(1, 301)]
        + [
            "301,ann@good.lab.test",
            "302,nobody@good.lab.test",
            "303,full@good.lab.test",
            "304,anyone@catchall.lab.test",
            "305,ann@grey.lab.test",
            "306,ann@limited.lab.test",
            "307,x@nullmx.lab.test",
            "308,not-an-address",
            "309,x@nope.lab.test",
            "310,Ann@good.lab.test",
        ]
    )
    + "\n"
)
# mx1 serves good/bulk: call it a provider with a budget, so its addresses are split over the
# three nodes (one session each, from three source addresses)
PROVIDER = ["--provider-mx", "mx1.lab.test=labone", "--provider-budget", "labone=3/20/0"]


def verify(
    tmp_path: Path,
    dns: str,
    name: str,
    *extra: str,
    env: dict[str, str] | None = None,
    background: bool = False,
) -> Any:
    src = tmp_path / "list.csv"
    src.write_text(LIST)
    out = tmp_path / f"{name}.csv"
    cmd = [
        sys.executable,
        "-m",
        "listclean",
        "verify",
        str(src),
        "-o",
        str(out),
        "--no-cache",
        *lab_args(dns),
        "--greylist-delay",
        "0.5",
        *PROVIDER,
        *extra,
    ]
    full_env = {**os.environ, **(env or {})}
    if background:
        return subprocess.Popen(
            cmd, env=full_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    proc = subprocess.run(cmd, env=full_env, cwd=ROOT, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return read_csv(out), json.loads((tmp_path / f"{name}.report.json").read_text())


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def test_three_nodes_give_the_local_output(cluster: Any, tmp_path: Path, testbed: str) -> None:
    local, _ = verify(tmp_path, testbed, "local")
    out, report = verify(
        tmp_path, testbed, "ray", "--engine", "ray", "--ray-address", cluster.address
    )
    assert without_checked_at(out) == without_checked_at(local)
    engine = report["egress"]["engine"]
    assert engine["engine"] == "ray" and sorted(engine["egress_nodes"]) == sorted(EGRESS)
    assert engine["partitions"] >= 3 and engine["nodes_lost"] == 0
    assert engine["actors"] >= 4  # labone on each of the 3 nodes, and the other hosts
    labone = report["egress"]["providers"]["labone"]
    assert labone["nodes"] == 3
    assert labone["most_sessions_at_once"] <= 3  # the sum of the nodes' maxima: the budget holds
    # the audit line and manifest are written by the driver as for a local run
    assert report["manifest"]["engine"] == {"name": "ray", "egress_nodes": 3}


def test_no_ray_process_listens_outside_loopback(cluster: Any) -> None:
    pids = descendants(os.getpid())
    assert pids, "the cluster's processes are this test process's children"
    listing = subprocess.run(["ss", "-ltnupH"], capture_output=True, text=True, check=True).stdout
    checked = 0
    for line in listing.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if not owners & pids:
            continue
        checked += 1
        local = line.split()[4]
        host = ipaddress.ip_address(local.rsplit(":", 1)[0].strip("[]").split("%")[0])
        if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped is not None:
            host = host.ipv4_mapped  # a dual-stack socket bound to ::ffff:127.0.0.1
        assert host.is_loopback, line
    assert checked >= 3  # GCS, raylets, object managers at least


def test_nothing_in_plain_text_in_rays_files(cluster: Any, tmp_path: Path, testbed: str) -> None:
    """Task arguments and results are sealed: after a run, no address of the list is in any
    file under the cluster's temp dir (logs, spill files, session state)."""
    verify(tmp_path, testbed, "sealed", "--engine", "ray", "--ray-address", cluster.address)
    needles = (b"bulk.lab.test", b"good.lab.test", b"catchall.lab.test")
    scanned = 0
    for path in Path(cluster.tmp).rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                data = path.read_bytes()
            except OSError:
                continue  # a socket
            scanned += 1
            assert not any(n in data for n in needles), path
    assert scanned > 10


def test_plan_shows_the_partition_plan(cluster: Any, tmp_path: Path, testbed: str) -> None:
    src = tmp_path / "list.csv"
    src.write_text(LIST)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "listclean",
            "plan",
            str(src),
            *lab_args(testbed),
            *PROVIDER,
            "--engine",
            "ray",
            "--ray-address",
            cluster.address,
            "--json",
        ],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    plan = json.loads(proc.stdout)["ray"]
    assert sorted(plan["egress_nodes"]) == sorted(EGRESS)
    labone = plan["providers"]["labone"]
    assert sorted(labone["nodes"]) == sorted(EGRESS)
    assert set(labone["budget_per_node"].values()) == {"1 sessions, 20 RCPTs each, no pace"}
    assert plan["probe_time_estimate_s"] > 0


def test_ray_plan_splits_only_budgeted_providers() -> None:
    """The plan's partition rule on counts, without a cluster."""
    from listclean.plan import Timing, ray_plan
    from listclean.politeness import Providers
    from listclean.settings import Settings

    providers = Providers.from_options((), ("google=4/50/40",))
    plan = ray_plan(
        [(1000, 1, "google", "gmail-smtp-in.l.google.com"), (50, 2, "", "mx.small.example")],
        Timing(0.05, 0.01, tls=False),
        Settings(),
        providers,
        egress=["10.0.0.1", "10.0.0.2", "10.0.0.3"],
    )
    google = plan["providers"]["google"]
    assert len(google["nodes"]) == 3
    sessions = sorted(int(t.split()[0]) for t in google["budget_per_node"].values())
    assert sessions == [1, 1, 2] and sum(sessions) == 4  # the whole budget, never more
    assert len(plan["providers"]["(none)"]["nodes"]) == 1  # a small host goes whole to one node


# last: it removes a node of the module's cluster
def test_a_node_dying_mid_run_changes_nothing(cluster: Any, tmp_path: Path, testbed: str) -> None:
    """Kill the node of egress 127.0.0.3 while its actor is probing: its partition is probed
    again on a live node and the output is identical to a local run."""
    paced = ["--provider-budget", "labone=3/10/120"]  # 120 new sessions a minute, 10 RCPTs each
    local, _ = verify(tmp_path, testbed, "local", *paced)
    if not ray.is_initialized():
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
    victim = cluster.extra_nodes[-1]  # the node of egress 127.0.0.3
    proc = verify(
        tmp_path,
        testbed,
        "killed",
        "--engine",
        "ray",
        "--ray-address",
        cluster.address,
        *paced,
        background=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        names = ray.util.list_named_actors(all_namespaces=True)
        alive = [n for n in names if str(n.get("name", "")).endswith("-127.0.0.3")]
        if alive or proc.poll() is not None:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before its actor on the victim node started"
    time.sleep(0.5)  # its first partition is on its way to it, or being probed
    cluster.remove_node(victim)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    out = read_csv(tmp_path / "killed.csv")
    report = json.loads((tmp_path / "killed.report.json").read_text())
    assert without_checked_at(out) == without_checked_at(local)
    engine = report["egress"]["engine"]
    assert engine["nodes_lost"] == 1 and engine["partitions_retried"] >= 1
    assert any("died mid-run" in note for note in report["notices"])
