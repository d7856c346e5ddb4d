"""Keys for data at rest: no address is ever stored in plain text in LISTCLEAN_HOME.

- Per-address records are keyed by HMAC-SHA256(normalized address) under a secret key.
- Values that can contain an address (an SMTP reply echoes the recipient) are sealed with
  AES-256-GCM (``cryptography``), a fresh 96-bit nonce per value.

The master key is 32 random bytes in ``LISTCLEAN_HOME/key`` (0600), made on first use, or
``LISTCLEAN_KEY`` (64 hex characters) when set; the HMAC and AES keys are derived from it
with HMAC-SHA256 under distinct labels, so one never stands in for the other. Losing the key
makes the cache unreadable, not wrong: lookups simply miss.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from listclean.errors import ConfigError
from listclean.store import ensure_home, open_private, write_private

KEY_FILE = "key"


def load_master_key(home: Path) -> bytes:
    env = os.environ.get("LISTCLEAN_KEY")
    if env:
        try:
            key = bytes.fromhex(env.strip())
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ConfigError("LISTCLEAN_KEY must be 64 hex characters (32 random bytes)")
        return key
    ensure_home(home)
    path = home / KEY_FILE
    for _attempt in range(50):
        found = _read_key(path)
        if found is not None:
            return found
        # Made whole in a private temp file, then linked into place: a run starting at the
        # same moment sees either no key or the complete key, never half of one.
        fresh = secrets.token_bytes(32)
        try:
            write_private(path, fresh, exclusive=True)
        except FileExistsError:
            continue  # another run made it first: use theirs
        return fresh
    raise ConfigError(f"cannot create the key {path}; check LISTCLEAN_HOME")


def _read_key(path: Path) -> bytes | None:
    try:
        fd = open_private(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(33)
    if len(data) == 32:
        return data
    raise ConfigError(f"{path} is not a listclean key (32 bytes); remove it to make a new one")


class Vault:
    def __init__(self, master: bytes) -> None:
        self._mac_key = hmac.new(master, b"listclean/v1/address-hmac", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(master, b"listclean/v1/aes-gcm", hashlib.sha256).digest())
        self._digest_key = hmac.new(master, b"listclean/v1/digest-hmac", hashlib.sha256).digest()

    @classmethod
    def open(cls, home: Path) -> Vault:
        return cls(load_master_key(home))

    def address_id(self, normalized: str) -> bytes:
        return hmac.new(self._mac_key, normalized.encode("utf-8"), hashlib.sha256).digest()

    def keyed(self, digest: str) -> str:
        """A digest of something derived from a list (its SHA-256), keyed for keeping at rest:
        nobody without the home's key can confirm a guess of the list (or of one address)."""
        return (
            "hmac-sha256:" + hmac.new(self._digest_key, digest.encode(), hashlib.sha256).hexdigest()
        )

    def seal(self, text: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, text.encode("utf-8"), b"listclean")

    def unseal(self, blob: bytes) -> str | None:
        try:
            return self._aead.decrypt(blob[:12], blob[12:], b"listclean").decode("utf-8")
        except (InvalidTag, ValueError):
            return None  # another key, or damaged: treat as a cache miss


def redact(address: str) -> str:
    """j***@example.com: enough to recognise a row, not enough to harvest it."""
    local, at, domain = address.rpartition("@")
    if not at:
        return address[:1] + "***" if address else ""
    return f"{local[:1]}***@{domain}"
