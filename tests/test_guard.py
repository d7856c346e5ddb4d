"""The suite's own promise: nothing leaves loopback (see tests/guard/)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest


def test_in_process_guard() -> None:
    with pytest.raises(OSError, match="test guard"):
        socket.create_connection(("10.255.255.1", 9), timeout=0.1)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s,
        pytest.raises(OSError, match="test guard"),
    ):
        s.sendto(b"x", ("192.0.2.1", 53))


def test_subprocess_guard() -> None:
    code = (
        "import socket\ntry:\n    socket.create_connection(('10.255.255.1', 9), timeout=0.1)\n"
        "except OSError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "test guard" in out.stdout
