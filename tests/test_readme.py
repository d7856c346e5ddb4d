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
