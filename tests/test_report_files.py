"""The reports (#20 item 7): every reason and a flags section in the HTML report, and the
same file mode for the CSV and both reports."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from .conftest import run_cli


def test_html_shows_every_reason_and_the_flags(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    cells = ["info@example.com", "ann@gmail.com", "x@", "a@mailinator.com", "ann@gmail.com"]
    src.write_text("email\n" + "\n".join(cells) + "\n")
    proc = run_cli("verify", str(src), "--offline")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "l.verified.report.json").read_text())
    html = (tmp_path / "l.verified.report.html").read_text()
    for reason in report["counts"]["reason"]:
        assert f">{reason}<" in html, reason
    flags_part = html.split("<h2>Flags</h2>", 1)[1].split("<h2>", 1)[0]
    for flag in ("role", "free", "disposable", "duplicate"):
        assert f">{flag}<" in flags_part, flag


def test_outputs_share_one_file_mode(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    src.write_text("email\nann@example.com\n")
    old = os.umask(0o022)
    try:
        assert run_cli("verify", str(src), "--offline").returncode == 0
    finally:
        os.umask(old)
    modes = {
        p.name: stat.S_IMODE(p.stat().st_mode)
        for p in tmp_path.iterdir()
        if p.name.startswith("l.verified")
    }
    assert len(modes) == 3 and set(modes.values()) == {0o644}, modes
