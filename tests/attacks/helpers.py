"""Shared pieces of the attack suite: a hostile lab on loopback and a run helper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..conftest import run_cli


def zone_mx(domain: str, host: str, ip: str) -> dict[str, Any]:
    return {domain: {"MX": [f"10 {host}."]}, host: {"A": [ip]}}


def verify_net(
    src: Path,
    dns: str,
    port: int,
    *extra: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> Any:
    return run_cli(
        "verify",
        str(src),
        "-o",
        "-",
        "--nameserver",
        dns,
        "--helo",
        "probe.lab.test",
        "--smtp-port",
        str(port),
        "--allow-test-domains",
        "--allow-private-mx",
        "--smtp-timeout",
        "5",
        "--greylist-delay",
        "0.2",
        *extra,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def one_line_error(proc: Any) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]
