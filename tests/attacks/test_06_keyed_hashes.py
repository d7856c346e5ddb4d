"""Attack 6: guessing what was verified from hashes kept at rest.

An unkeyed SHA-256 of the input in the shared home lets anyone confirm a guess (for `check
ADDR` it is the hash of one address). Everything derived from a list and kept in
LISTCLEAN_HOME is keyed with the home's secret key; only the report the user asked for
shows the plain SHA-256.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from listclean.vault import Vault

from ..conftest import run_cli


def _plain_hashes(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"(?<!hmac-sha256:)\b([0-9a-f]{64})\b", text)]


def test_check_leaves_no_guessable_hash(_home: Path) -> None:
    """`check ADDR` reads no file: it leaves no hash of the address anywhere in the home."""
    for extra in ([], ["--no-cache"]):
        proc = run_cli("check", "ann@example.com", "--offline", "--json", *extra)
        assert proc.returncode == 0, proc.stderr
    for path in _home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"ann@example.com" not in data
            assert hashlib.sha256(b"ann@example.com").hexdigest().encode() not in data
            assert _plain_hashes(data.decode("utf-8", "replace")) == []


def test_verify_keeps_keyed_hashes_only(tmp_path: Path, _home: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_bytes(b"email\nann@example.com\n")
    out = tmp_path / "o.csv"
    assert run_cli("verify", str(src), "--offline", "-o", str(out)).returncode == 0
    audit = (_home / "audit.jsonl").read_text()
    plain = hashlib.sha256(src.read_bytes()).hexdigest()
    assert plain not in audit and _plain_hashes(audit) == []
    assert Vault.open(_home).keyed(plain) in audit
    # the user's own report shows the plain hash, to compare with sha256sum
    assert plain in (tmp_path / "o.report.json").read_text()
    # another home's key gives another value: the keyed hash reveals nothing across homes
    assert Vault(b"\x02" * 32).keyed(plain) != Vault.open(_home).keyed(plain)
