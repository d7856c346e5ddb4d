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
from listclean.store import ensure_home

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
    try:
        data = path.read_bytes()
        if len(data) == 32:
            return data
        raise ConfigError(f"{path} is not a listclean key (32 bytes); remove it to make a new one")
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


class Vault:
    def __init__(self, master: bytes) -> None:
        self._mac_key = hmac.new(master, b"listclean/v1/address-hmac", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(master, b"listclean/v1/aes-gcm", hashlib.sha256).digest())

    @classmethod
    def open(cls, home: Path) -> Vault:
        return cls(load_master_key(home))

    def address_id(self, normalized: str) -> bytes:
        return hmac.new(self._mac_key, normalized.encode("utf-8"), hashlib.sha256).digest()

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
