from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GUARD = Path(__file__).resolve().parent / "guard"

sys.path.insert(0, str(GUARD))
import loopback_guard  # noqa: E402

loopback_guard.install()  # in-process tests: loopback only
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(GUARD), *filter(None, [os.environ.get("PYTHONPATH")])]
)  # every subprocess a test starts loads tests/guard/sitecustomize.py


@pytest.fixture(autouse=True)
def _home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own LISTCLEAN_HOME: nothing leaks between tests or into ~."""
    home = tmp_path_factory.mktemp("lchome")
    monkeypatch.setenv("LISTCLEAN_HOME", str(home))
    return home


def run_cli(
    *args: str,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run the real console entry point in a subprocess."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "listclean", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )


def read_csv(data: bytes | str | Path, delimiter: str = ",") -> list[list[str]]:
    if isinstance(data, Path):
        data = data.read_bytes()
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return list(csv.reader(io.StringIO(data, newline=""), delimiter=delimiter))


@pytest.fixture(scope="session")
def testbed() -> str:
    """Start the real Unbound/Postfix testbed once per session; returns the DNS address."""
    from .testbed import DNS, start_testbed

    start_testbed()
    return DNS


def lab_args(dns: str) -> list[str]:
    """The options every networked run against a lab on loopback needs."""
    return [
        "--allow-test-domains",
        "--allow-private-mx",
        "--nameserver",
        dns,
        "--helo",
        "probe.lab.test",
    ]


def without_checked_at(rows: list[list[str]]) -> list[list[str]]:
    """Every cell but lc_checked_at: a verdict reused from the cache keeps its probe's time,
    so resume/re-run properties compare everything else (#13)."""
    at = rows[0].index("lc_checked_at")
    return [r[:at] + r[at + 1 :] for r in rows]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that takes the real-server testbed is marked `testbed` (pyproject's markers):
    `pytest -m "not testbed"` runs everything else where Unbound and Postfix cannot run."""
    for item in items:
        if "testbed" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.testbed)


def invoke(
    *args: str,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run the console entry point in this process (Typer's CliRunner isolation): for CLI tests
    where a separate process is not the point. Same result shape as ``run_cli``."""
    from typer.testing import CliRunner

    from listclean.cli import main

    old_argv = sys.argv
    code: int = 0
    with CliRunner().isolation(input=stdin, env=env) as (out, err, *_):
        sys.argv = ["listclean", *args]
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv = old_argv
        stdout, stderr = out.getvalue(), err.getvalue()
    return subprocess.CompletedProcess(list(args), code, stdout, stderr)
