"""`--engine ray`: the offline checks and the SMTP probes of a run on a Ray cluster (#17).

The driver (the machine that runs `listclean verify`) keeps everything that holds the list
or the user's keys: reading the input, DNS, the cache and the verdict store (HMAC-keyed),
merging the outcomes into the columns, and writing the output in input order with the same
report, audit line and manifest as a local run. Ray does two things:

- **Offline checks** run as Ray tasks, one per batch, over Arrow data (``offline_frames``).
- **Probes** run on one actor per (egress node, provider group) (``ProbeActorImpl``): a
  provider with a budget is a group of its own, the hosts of no known provider share one.
  A node declares its egress with a custom resource ``listclean-egress-<IP>`` (``ray start
  --resources '{"listclean-egress-203.0.113.5": 1}'``): its actors bind SMTP to that address.
  Each chunk's host groups are partitioned: a provider with a budget (docs/politeness.md) is
  split across the egress nodes by address, and each node's actor gets that share of the
  provider's budget (sessions at once and new sessions per minute), so the provider never
  sees more than its whole budget; a host group of no known provider goes whole to one node,
  where the per-host limits hold as on one machine. A provider's addresses are split by
  address (gmail.com is one domain with millions of them), so a node asks the catch-all test of
  each domain it was given once, and the driver keeps the first final answer.

Everything that crosses Ray (task arguments, results, anything the object store may spill to
disk) is sealed with AES-256-GCM under a random key of the run, so no address or reply is
ever in Ray's memory or spill files in plain text; the key is given to the actors and tasks
when they are created and dies with the run.

A node or worker that dies takes its partition's unfinished probes with it: the driver asks
another live node to probe that partition again (probes are read-only, so a repeat is safe)
and the output is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import os
import pickle
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from listclean.errors import ConfigError
from listclean.politeness import Budget, Providers
from listclean.probes.dns import MxHost
from listclean.probes.smtp import Probe, Prober, SmtpConfig, Target
from listclean.settings import Settings

RESOURCE_PREFIX = "listclean-egress-"
OTHER = "other"  # the actor of a node for the hosts of no known provider
NAMESPACE = "listclean"
NODE_CHECK_S = 3.0  # with no result for this long, look for dead egress nodes
ATTEMPTS = 3  # a partition is probed by at most this many nodes before its rows are unknown
Todo = list[tuple[tuple[MxHost, ...], list[Target]]]


def seal(key: bytes, value: object) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(key).encrypt(nonce, pickle.dumps(value, protocol=5), b"listclean-ray")


def unseal(key: bytes, blob: bytes) -> Any:
    return pickle.loads(AESGCM(key).decrypt(blob[:12], blob[12:], b"listclean-ray"))  # noqa: S301 - sealed by this run


def _stable(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@dataclass
class Partition:
    egress: int  # index into the run's egress list
    group: str  # the provider key, or OTHER: which of the node's actors probes it
    todo: Todo
    budgets: dict[str, Budget] = field(default_factory=dict)  # this node's share per provider
    attempts: int = 0
    label: str = ""


def partition(
    todo: Todo, providers: Providers, per_host: int, egress_count: int
) -> list[Partition]:
    """Each node's share of a chunk's host groups (see the module docstring)."""
    shares: dict[tuple[int, str], Partition] = {}

    def part(node: int, group: str) -> Partition:
        return shares.setdefault(
            (node, group), Partition(node, group, [], {}, 0, f"egress {node} {group}")
        )

    for hosts, targets in todo:
        key = providers.key(hosts[0].name)
        budget = providers.budget(key, per_host)
        if budget is None or egress_count == 1:
            node = _stable(key or hosts[0].name) % egress_count
            group = key if budget is not None else OTHER
            part(node, group).todo.append((hosts, targets))
            if budget is not None:
                part(node, group).budgets[key] = budget
            continue
        n = max(1, min(egress_count, budget.sessions))
        first = _stable(key) % egress_count  # which nodes carry the provider
        by_node: dict[int, list[Target]] = defaultdict(list)
        for target in targets:  # gmail.com is one domain: split by address, not domain
            by_node[(first + _stable(target.key) % n) % egress_count].append(target)
        for i in range(n):
            node = (first + i) % egress_count
            sessions = budget.sessions // n + (1 if i < budget.sessions % n else 0)
            part(node, key).budgets[key] = Budget(
                sessions, budget.rcpts_per_session, budget.per_minute / n
            )
            if by_node.get(node):
                part(node, key).todo.append((hosts, by_node[node]))
    return [p for p in shares.values() if p.todo]


@dataclass
class Outcome:
    """What one partition's probing produced, as the driver merges it."""

    results: dict[str, Probe] = field(default_factory=dict)
    catchall: dict[str, bool | None] = field(default_factory=dict)
    catchall_last: dict[str, Probe] = field(default_factory=dict)
    sessions: int = 0
    rcpt: int = 0
    tls: int = 0
    hosts: set[str] = field(default_factory=set)
    routes: dict[str, int] = field(default_factory=dict)
    mx_routes: dict[str, str] = field(default_factory=dict)
    cut_off: dict[str, str] = field(default_factory=dict)
    banner_provider: dict[str, str] = field(default_factory=dict)
    providers: dict[str, dict[str, object]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    node: str = ""


def probe_partition(config: SmtpConfig, todo: Todo, known: dict[str, bool | None]) -> Outcome:
    """Run the same async prober as a local run on one partition (inside an actor)."""
    notes: list[str] = []
    prober = Prober(config, warn=notes.append)
    prober.know_catchall({d: v for d, v in known.items() if v is not None})
    results = asyncio.run(prober.run(todo))
    return Outcome(
        results=results,
        catchall=dict(prober.catchall),
        catchall_last=dict(prober.catchall_last),
        sessions=prober.egress.sessions,
        rcpt=prober.egress.rcpt,
        tls=prober.egress.tls,
        hosts=set(prober.egress.hosts),
        routes=dict(prober.egress.routes),
        mx_routes=dict(prober.egress.mx_routes),
        cut_off=dict(prober.cut_off),
        banner_provider=dict(prober.banner_provider),
        providers=prober.provider_stats(),
        notes=notes,
    )


class ProbeActorImpl:
    """One per egress node: probes the partitions given to it from that node's address."""

    def __init__(self, key: bytes, config: SmtpConfig, node: str) -> None:
        self.key, self.config, self.node = key, config, node

    def pid(self) -> int:
        return os.getpid()

    def probe(self, sealed: bytes) -> bytes:
        todo, known, budgets = unseal(self.key, sealed)
        providers = self.config.providers
        if providers is not None and budgets:
            providers = replace(providers, budgets=tuple(budgets.items()))
        config = replace(self.config, providers=providers)
        outcome = probe_partition(config, todo, known)
        outcome.node = self.node
        return seal(self.key, outcome)


def offline_task(key: bytes, settings: Settings, sealed: bytes) -> bytes:
    """One batch's offline verdict frame (a Ray task): Arrow in, Arrow out, sealed."""
    from listclean.fastpath import offline_frame
    from listclean.pipeline import _flags_text, build_checker

    series = unseal(key, sealed)
    checker = _checker_for(settings, build_checker)
    frame, messages = offline_frame(
        series, checker, lambda raw: checker.check(raw.strip()), _flags_text
    )
    return seal(key, (frame, messages))


_CHECKERS: dict[int, Any] = {}


def _checker_for(settings: Settings, build: Callable[[Settings], Any]) -> Any:
    """One OfflineChecker per worker process and settings (loading the lists costs)."""
    key = hash((settings.disposable_list, settings.allow_list, settings.allow_test_domains))
    if key not in _CHECKERS:
        _CHECKERS[key] = build(settings)
    return _CHECKERS[key]


def _loopback(address: str | None) -> bool:
    if not address:
        return True
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cluster_egress(settings: Settings) -> list[str]:
    """The egress addresses of the cluster at --ray-address (for `plan`); a local Ray has one,
    this machine's (no Ray is started for that)."""
    if not settings.ray_address:
        return [settings.source_address or "(local)"]
    engine = RayEngine(settings, [])
    try:
        return [address or "(unbound)" for address, _ in engine.egress]
    finally:
        engine.close()
        engine.ray.shutdown()


class RayEngine:
    """Ray for one run: connect (or start a local Ray on loopback), find the egress nodes,
    run partitions, survive dead nodes, and stop what it started."""

    def __init__(self, settings: Settings, notes: list[str]) -> None:
        if _loopback(settings.ray_address):
            # A local Ray, or a cluster on loopback (tests, one machine): Ray would otherwise
            # swap 127.0.0.1 for the machine's outside address and listen there.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            import ray as ray_module
        except ImportError:
            raise ConfigError("--engine ray needs Ray: pip install 'listclean[ray]'") from None
        ray: Any = ray_module  # typed as Any: Ray's stubs are partial
        if _loopback(settings.ray_address):  # Ray was imported before: set it where it is read
            from ray._private import ray_constants

            ray_constants.ENABLE_RAY_CLUSTER = False
        self.ray = ray
        self.settings = settings
        self.notes = notes
        self.key = secrets.token_bytes(32)
        self.token = secrets.token_hex(4)
        self.started = False
        if not ray.is_initialized():
            try:
                if settings.ray_address:
                    ray.init(
                        address=settings.ray_address,
                        namespace=NAMESPACE,
                        log_to_driver=False,
                        configure_logging=False,
                    )
                else:
                    ray.init(
                        _node_ip_address="127.0.0.1",
                        include_dashboard=False,
                        namespace=NAMESPACE,
                        num_cpus=os.cpu_count() or 1,
                        object_store_memory=100 * 1024 * 1024,
                        log_to_driver=False,
                        configure_logging=False,
                    )
                    self.started = True
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(
                    f"cannot reach the Ray cluster at {settings.ray_address or 'local'}: "
                    f"{str(exc).splitlines()[0][:160]}; check --ray-address"
                ) from None
        self.egress = self._egress_nodes()
        self.actors: dict[tuple[int, str], Any] = {}  # (egress, provider group) -> actor
        self.dead: set[int] = set()
        self.retried = 0
        self.actors_started = 0
        self.partitions = 0
        self._remote_actor = self.ray.remote(num_cpus=0, max_concurrency=8, max_restarts=0)(
            ProbeActorImpl
        )
        self._remote_offline = self.ray.remote(num_cpus=1, max_retries=3)(offline_task)

    # -- egress -------------------------------------------------------------------------
    def _egress_nodes(self) -> list[tuple[str, str | None]]:
        """(source address, Ray resource) per egress node; one unbound egress when no node
        declares one (then the run's --source-address, if any, is used everywhere)."""
        found: list[tuple[str, str | None]] = []
        for node in self.ray.nodes():
            if not node.get("Alive"):
                continue
            for name in node.get("Resources", {}):
                if name.startswith(RESOURCE_PREFIX):
                    found.append((name[len(RESOURCE_PREFIX) :], name))
        if not found:
            return [(self.settings.source_address or "", None)]
        return sorted(set(found))

    def _actor(self, index: int, group: str) -> Any:
        actor = self.actors.get((index, group))
        if actor is None:
            address, resource = self.egress[index]
            # named, so that an operator (or a test) can find a run's actors:
            # ray.util.list_named_actors(all_namespaces=True)
            options: dict[str, Any] = {
                "name": f"listclean-probe-{self.token}-{group}-{address or index}",
                "namespace": NAMESPACE,
            }
            if resource is not None:
                options["resources"] = {resource: 0.001}
            config = self._config(address or None)
            actor = self._remote_actor.options(**options).remote(self.key, config, address)
            self.actors[(index, group)] = actor
            self.actors_started += 1
        return actor

    def _config(self, source: str | None) -> SmtpConfig:
        from listclean.network import smtp_config

        s = self.settings
        return smtp_config(s, Providers.from_options(s.provider_mx, s.provider_budgets), source)

    # -- work ---------------------------------------------------------------------------
    def offline_frames(self, series: Sequence[Any]) -> list[Any]:
        refs = [
            self._remote_offline.remote(self.key, self.settings, seal(self.key, s)) for s in series
        ]
        return [unseal(self.key, blob) for blob in self.ray.get(refs)]

    def probe(
        self, todo: Todo, providers: Providers, known: dict[str, bool | None]
    ) -> list[Outcome]:
        """Probe a chunk's host groups across the egress nodes; every partition's outcome."""
        ray = self.ray
        live = [i for i in range(len(self.egress)) if i not in self.dead]
        if not live:
            raise ConfigError(
                "every Ray egress node died; run again (the cache keeps what is done)"
            )
        parts = partition(todo, providers, self.settings.smtp_per_host, len(live))
        for p in parts:
            p.egress = live[p.egress]
        self.partitions += len(parts)
        pending: dict[Any, Partition] = {}

        def submit(p: Partition) -> None:
            p.attempts += 1
            payload = seal(self.key, (p.todo, known, p.budgets))
            pending[self._actor(p.egress, p.group).probe.remote(payload)] = p

        for p in parts:
            submit(p)
        outcomes: list[Outcome] = []

        def retry(p: Partition, exc: BaseException) -> None:
            self._lost(p.egress, exc)
            if p.attempts >= ATTEMPTS:
                raise ConfigError(f"a partition failed on {p.attempts} Ray nodes; run again")
            survivors = [i for i in range(len(self.egress)) if i not in self.dead]
            if not survivors:
                raise ConfigError(
                    "every Ray egress node died; run again (the cache keeps what is done)"
                )
            p.egress = survivors[_stable(p.label + str(p.attempts)) % len(survivors)]
            self.retried += 1
            submit(p)

        lost = (
            ray.exceptions.RayActorError,
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.NodeDiedError,
            ray.exceptions.ObjectLostError,
        )
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=NODE_CHECK_S)
            if not done:
                # nothing finished for a while: a partition whose egress node is gone (before
                # its actor was even placed, say) would wait for ever
                gone = self._dead_egress()
                for ref, p in list(pending.items()):
                    if p.egress in gone:
                        del pending[ref]
                        ray.cancel(ref, force=True)
                        retry(p, ConnectionError("node gone"))
                continue
            ref = done[0]
            p = pending.pop(ref)
            try:
                outcomes.append(unseal(self.key, ray.get(ref)))
            except lost as exc:
                retry(p, exc)
        return outcomes

    def _dead_egress(self) -> set[int]:
        """Egress indexes whose node is no longer alive in the cluster."""
        alive: set[str] = set()
        for node in self.ray.nodes():
            if node.get("Alive"):
                alive.update(n for n in node.get("Resources", {}) if n.startswith(RESOURCE_PREFIX))
        return {
            i
            for i, (_, resource) in enumerate(self.egress)
            if resource is not None and resource not in alive and i not in self.dead
        }

    def _lost(self, index: int, exc: BaseException) -> None:
        if index in self.dead:
            return
        self.dead.add(index)
        for key in [k for k in self.actors if k[0] == index]:
            del self.actors[key]
        address = self.egress[index][0] or "the Ray node"
        self.notes.append(
            f"Ray egress {address} died mid-run ({type(exc).__name__}); its unfinished "
            "probes were run again on another node"
        )

    def describe(self) -> dict[str, object]:
        return {
            "engine": "ray",
            "egress_nodes": [a or "(unbound)" for a, _ in self.egress],
            "partitions": self.partitions,
            "actors": self.actors_started,
            "partitions_retried": self.retried,
            "nodes_lost": len(self.dead),
        }

    def close(self) -> None:
        for actor in self.actors.values():
            with contextlib.suppress(Exception):  # already gone with its node
                self.ray.kill(actor)
        self.actors.clear()
        if self.started:
            self.ray.shutdown()
