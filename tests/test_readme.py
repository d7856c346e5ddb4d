"""The README's commands work as written (#20): the lab example runs against the bundled
testbed and probes nothing outside it; CI runs the Quick start line itself (.ci/run)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from .conftest import ROOT, read_csv, run_cli


def _sh_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def test_quick_start_order() -> None:
    blocks = _sh_blocks()
    assert blocks[0].strip().endswith("listclean verify examples/contacts.csv --offline")
    # .ci/run runs blocks[0], then the block with the test command, in this order
    tests = [i for i, b in enumerate(blocks) if "pytest" in b]
    assert len(tests) == 1 and tests[0] > 0


def test_lab_example_as_written(testbed: str, tmp_path: Path) -> None:
    lab = next(b for b in _sh_blocks() if "examples/lab.csv" in b)
    line = next(ln for ln in lab.splitlines() if ln.startswith("listclean verify"))
    args = shlex.split(line)[1:]
    assert "--nameserver" in args and args[args.index("--nameserver") + 1] == testbed
    proc = run_cli(*args, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    rows = {r[2]: (r[3], r[4]) for r in read_csv(proc.stdout)[1:]}
    assert rows["ann@good.lab.test"] == ("deliverable", "accepted")
    assert rows["nobody@good.lab.test"] == ("undeliverable", "mailbox_not_found")
    assert rows["anyone@catchall.lab.test"] == ("risky", "accept_all")
    assert rows["x@nullmx.lab.test"] == ("undeliverable", "null_mx")
    # every domain of the example is in the reserved lab zone, or never resolved at all
    for address, (_, reason) in rows.items():
        assert address.endswith(".lab.test") or reason in ("disposable", "invalid_syntax")
    assert not list((ROOT / "examples").glob("lab.verified*"))


def _exit_codes() -> dict[int, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("\n## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| (.*) \|$", table, re.M)}


def test_exit_code_table(tmp_path: Path) -> None:
    """Every code in the README's table is what listclean returns in that case."""
    import os
    import signal
    import subprocess
    import sys
    import time

    table = _exit_codes()
    assert set(table) == {0, 1, 2, 130}
    src = tmp_path / "l.csv"
    src.write_text("email\nann@example.com\n")
    assert run_cli("verify", str(src), "--offline", "-o", "-").returncode == 0
    assert run_cli("verify", str(tmp_path / "missing.csv"), "--offline").returncode == 1
    assert run_cli("verify", str(src), "--no-such-flag").returncode == 2
    assert run_cli("verify", str(src), "--smtp-timeout", "nan").returncode == 2
    assert run_cli("verify", str(src), "--resume").returncode == 2  # nothing to resume
    # 130: interrupted (SIGINT or SIGTERM) while reading a list from a pipe that stays open
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen(
            [sys.executable, "-m", "listclean", "verify", "-", "--offline", "-o", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ),
        )
        assert proc.stdin is not None
        proc.stdin.write(b"email\nann@example.com\n")
        proc.stdin.flush()
        time.sleep(1.5)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, (sig, err)
        assert out == b"" and b"Traceback" not in err


def test_testbed_marker_selects_the_testbed_tests() -> None:
    """`-m "not testbed"` (README) leaves out exactly the tests that use the testbed."""
    import subprocess
    import sys

    def collected(*args: str) -> set[str]:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--collect-only",
                "-q",
                *args,
                "tests/test_testbed_smtp.py",
                "tests/test_learn.py",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        return {line.split("::")[0] for line in proc.stdout.splitlines() if "::" in line}

    assert collected("-m", "testbed") == {"tests/test_testbed_smtp.py"}
    assert collected("-m", "not testbed") == {"tests/test_learn.py"}
