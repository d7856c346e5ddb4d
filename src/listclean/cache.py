"""What a networked run keeps between runs, through the store and the vault.

Per-address verdicts are written as they are decided (every CHECKPOINT_ROWS or
CHECKPOINT_SECONDS), so a killed run loses at most those; ``--resume`` (or any later run of
the same list within the TTL) takes them back instead of probing again. Only verdicts that
say something about the mailbox are reused (accepted, not found, disabled, full): an unknown is
asked again next time. The other outcomes are kept too, sealed in the same way, for
``verify --from-cache`` only: it derives the verdicts again from the kept replies, with the
current classifier, without opening a socket.
"""

from __future__ import annotations

import time

from listclean.checks.replies import TEMPORARY, after_retries, classify
from listclean.model import Reason
from listclean.probes.dns import DomainInfo
from listclean.probes.smtp import Probe, Target
from listclean.settings import Settings
from listclean.store import Store
from listclean.vault import Vault

CHECKPOINT_ROWS = 200
CHECKPOINT_SECONDS = 1.0
CATCHALL_TTL = 86_400.0
KEEP = {
    Reason.ACCEPTED,
    Reason.MAILBOX_NOT_FOUND,
    Reason.MAILBOX_DISABLED,
    Reason.MAILBOX_FULL,
}


class Cache:
    def __init__(self, settings: Settings) -> None:
        self.store = Store(settings.home)
        self.vault = Vault.open(settings.home)
        self.ttl = settings.cache_ttl_days * 86_400
        self.store.expire(self.ttl)
        self._pending: list[tuple[bytes, str, str, bytes, str, float]] = []
        self._observed: list[tuple[bytes, str, str, bytes, str, int, float]] = []
        self._last_flush = time.monotonic()

    def close(self) -> None:
        self.flush()
        self.store.close()

    # domains
    # --- what --from-cache and --resume read (through the store, never around it) ---

    def all_domains(self, names: list[str]) -> dict[str, DomainInfo]:
        """MX answers kept by earlier runs for these domains, whatever their age."""
        return {d: DomainInfo.from_json(v) for d, v in self.store.all_domains(names).items()}

    def all_catchall(self, names: list[str]) -> dict[str, bool]:
        """Catch-all facts kept by earlier runs, whatever their age."""
        return self.store.all_catchall(names)

    def resumable_run(self, fingerprint: str) -> str | None:
        return self.store.resumable_run(fingerprint)

    def start_run(self, run_id: str, fingerprint: str) -> None:
        self.store.start_run(run_id, fingerprint)

    def end_run(self, run_id: str, state: str) -> None:
        self.store.end_run(run_id, state)

    def domains(self, names: list[str]) -> dict[str, DomainInfo]:
        return {d: DomainInfo.from_json(v) for d, v in self.store.get_domains(names).items()}

    def save_domains(self, infos: dict[str, DomainInfo]) -> None:
        cacheable = [
            (d, i.to_json(), i.ttl)
            for d, i in infos.items()
            if i.reason not in (Reason.DNS_ERROR, Reason.DNS_TIMEOUT)  # failures: ask again
        ]
        self.store.put_domains(cacheable)

    def catchall(self, domains: list[str]) -> dict[str, bool]:
        return self.store.get_catchall(domains)

    def save_catchall(self, decided: dict[str, bool]) -> None:
        self.store.put_catchall(decided, CATCHALL_TTL)

    # per-address verdicts
    def probes(self, targets: list[Target]) -> dict[str, Probe]:
        ids = {self.vault.address_id(t.key): t.key for t in targets}
        out: dict[str, Probe] = {}
        for key_id, stored in self.store.get_addresses(list(ids), self.ttl).items():
            reply = self.vault.unseal(stored.reply)
            if reply is None:
                continue
            out[ids[key_id]] = Probe(
                Reason(stored.reason), stored.code, reply, stored.host, at=stored.decided
            )
        return out

    def kept(self, targets: list[Target]) -> dict[str, Probe]:
        """Every kept outcome of these addresses (``verify --from-cache``), the RCPT replies
        classified again with the current classifier."""
        ids = {self.vault.address_id(t.key): t for t in targets}
        out: dict[str, Probe] = {}
        for key_id, (stored, rcpt) in self.store.get_any(list(ids), self.ttl).items():
            reply = self.vault.unseal(stored.reply)
            if reply is None:
                continue
            target = ids[key_id]
            reason = Reason(stored.reason)
            if rcpt and stored.code.isdigit():
                reason = classify(int(stored.code), reply, target.rcpt)
                if reason in TEMPORARY and stored.code.startswith("4"):
                    reason = after_retries(reason, reply)  # it outlived the retries then
            out[target.key] = Probe(reason, stored.code, reply, stored.host, at=stored.decided)
        return out

    def checkpoint(self, key: str, probe: Probe) -> None:
        if probe.reason not in KEEP:
            self._observed.append(
                (
                    self.vault.address_id(key),
                    probe.reason.value,
                    probe.code,
                    self.vault.seal(probe.reply),
                    probe.host,
                    int(probe.rcpt),
                    probe.at or time.time(),
                )
            )
            if len(self._observed) >= CHECKPOINT_ROWS:
                self.flush()
            return
        self._pending.append(
            (
                self.vault.address_id(key),
                probe.reason.value,
                probe.code,
                self.vault.seal(probe.reply),
                probe.host,
                probe.at or time.time(),
            )
        )
        if (
            len(self._pending) >= CHECKPOINT_ROWS
            or time.monotonic() - self._last_flush > CHECKPOINT_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        if self._observed:
            self.store.put_observed(self._observed)
            self._observed = []
        if self._pending:
            self.store.put_addresses(self._pending)
            self._pending = []
        self._last_flush = time.monotonic()
