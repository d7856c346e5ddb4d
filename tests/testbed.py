"""The real-server tier: Unbound (and Postfix) from Debian, started by scripts/testbed."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from .conftest import ROOT

DNS = "127.0.5.1:5300"


def start_testbed() -> None:
    if not shutil.which("unbound") and not os.path.exists("/usr/sbin/unbound"):
        if os.environ.get("CI"):
            pytest.fail("the testbed is not installed: .ci/run must call `scripts/testbed install`")
        pytest.skip("real-server tier: run `sudo scripts/testbed install` first (Debian packages)")
    proc = subprocess.run(
        [str(ROOT / "scripts" / "testbed"), "start"], capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        pytest.fail(f"scripts/testbed start failed:\n{proc.stdout}\n{proc.stderr}")
